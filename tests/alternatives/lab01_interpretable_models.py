"""Correct answers of lab 1 written differently from the solution."""

from . import Right

RIGHT = [
    Right("effects", "effects-pandas", '''
def linear_effects(model, X):
    return pd.DataFrame(X).mul(model.coef_, axis=1).to_numpy()
'''),
    Right("effects", "effects-einsum", '''
def linear_effects(model, X):
    return np.einsum("ij,j->ij", np.asarray(X, dtype=float), model.coef_)
'''),
    Right("odds", "odds-log-odds-then-exp", '''
def odds_ratios(model, *, step=1.0):
    step = np.broadcast_to(np.asarray(step, dtype=float), model.coef_.shape[1:])
    return np.exp(model.coef_[0] * step)
'''),
    Right("path", "path-recursive-float32", '''
def decision_path_rules(tree, x, *, feature_names):
    t = tree.tree_
    def walk(node):
        if t.children_left[node] == -1:
            return []
        j, thr = t.feature[node], t.threshold[node]
        if np.float32(x[j]) <= thr:
            return [(feature_names[j], "<=", thr)] + walk(t.children_left[node])
        return [(feature_names[j], ">", thr)] + walk(t.children_right[node])
    return walk(0)
'''),
    Right("discretize", "discretize-digitize", '''
def discretize(x, *, n_bins=4):
    edges = np.linspace(np.min(x), np.max(x), n_bins + 1)
    return np.clip(np.digitize(x, edges) - 1, 0, n_bins - 1), edges
'''),
    Right("discretize", "discretize-pandas-cut", '''
def discretize(x, *, n_bins=4):
    edges = np.linspace(np.min(x), np.max(x), n_bins + 1)
    codes = pd.cut(x, bins=np.r_[edges[:-1], np.inf], right=False, labels=False)
    return np.asarray(codes, dtype=int), edges
'''),
    Right("one_r", "one_r-pandas-frame", '''
def one_r(X, y):
    frame = pd.DataFrame(X)
    errors, rules = [], []
    for column in frame.columns:
        table = pd.crosstab(frame[column], pd.Series(np.asarray(y)))
        rules.append({value: table.columns[np.argmax(row)] for value, row in zip(table.index, table.to_numpy())})
        errors.append(int(table.to_numpy().sum() - table.to_numpy().max(axis=1).sum()))
    best = int(np.argmin(errors))
    return best, rules[best], np.array(errors)
'''),
    Right("one_r", "one_r-counter-sorted-ties", '''
from collections import Counter

def one_r(X, y):
    X, y = np.asarray(X), np.asarray(y)
    errors, all_rules = [], []
    for j in range(X.shape[1]):
        rules, error = {}, 0
        for value in sorted(set(X[:, j].tolist())):
            counts = Counter(y[X[:, j] == value].tolist())
            best = max(sorted(counts), key=lambda c: counts[c])  # max keeps the first (smallest) label on a tie
            rules[value] = best
            error += sum(counts.values()) - counts[best]
        all_rules.append(rules)
        errors.append(error)
    best_feature = min(range(len(errors)), key=lambda j: (errors[j], j))
    return best_feature, all_rules[best_feature], np.array(errors)
'''),
]
