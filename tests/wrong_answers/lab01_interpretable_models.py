"""Plausible mistakes in lab 1, one or more per graded function."""

from . import Wrong

WRONG = [
    Wrong("effects", "effects-weights-only", '''
def linear_effects(model, X):
    return np.tile(model.coef_, (len(X), 1))
''', "gives every row the same effects"),
    Wrong("effects", "effects-intercept-shared-out", '''
def linear_effects(model, X):
    return X * model.coef_ + model.intercept_ / X.shape[1]
'''),
    Wrong("effects", "effects-centred", '''
def linear_effects(model, X):
    return (X - X.mean(axis=0)) * model.coef_
'''),
    Wrong("odds", "odds-are-weights", '''
def odds_ratios(model, *, step=1.0):
    return np.ravel(model.coef_) * step
'''),
    Wrong("odds", "odds-step-outside-exp", '''
def odds_ratios(model, *, step=1.0):
    return np.exp(np.ravel(model.coef_)) * step
'''),
    Wrong("odds", "odds-not-flattened", '''
def odds_ratios(model, *, step=1.0):
    return np.exp(model.coef_ * step)
''', "returned shape (1, 3), expected (3,)"),
    Wrong("path", "path-strict-less", '''
def decision_path_rules(tree, x, *, feature_names):
    t = tree.tree_
    node, out = 0, []
    while t.children_left[node] != -1:
        j, thr = t.feature[node], t.threshold[node]
        if x[j] < thr:
            out.append((feature_names[j], "<=", thr))
            node = t.children_left[node]
        else:
            out.append((feature_names[j], ">", thr))
            node = t.children_right[node]
    return out
''', "exactly on a threshold"),
    Wrong("path", "path-includes-leaf", '''
def decision_path_rules(tree, x, *, feature_names):
    t = tree.tree_
    node, out = 0, []
    while True:
        j, thr = t.feature[node], t.threshold[node]
        went_left = x[j] <= thr
        out.append((feature_names[j], "<=" if went_left else ">", thr))
        if t.children_left[node] == -1:
            return out
        node = t.children_left[node] if went_left else t.children_right[node]
'''),
    Wrong("path", "path-column-index", '''
def decision_path_rules(tree, x, *, feature_names):
    t = tree.tree_
    node, out = 0, []
    while t.children_left[node] != -1:
        j, thr = t.feature[node], t.threshold[node]
        left = x[j] <= thr
        out.append((j, "<=" if left else ">", thr))
        node = t.children_left[node] if left else t.children_right[node]
    return out
'''),
    Wrong("discretize", "discretize-right-closed", '''
def discretize(x, *, n_bins=4):
    codes = pd.cut(x, n_bins, labels=False)
    edges = np.linspace(x.min(), x.max(), n_bins + 1)
    return codes, edges
''', "bin k holds edges[k] <= x < edges[k+1]"),
    Wrong("discretize", "discretize-max-overflows", '''
def discretize(x, *, n_bins=4):
    edges = np.linspace(x.min(), x.max(), n_bins + 1)
    codes = np.floor((x - x.min()) / (edges[1] - edges[0])).astype(int)
    return codes, edges
'''),
    Wrong("discretize", "discretize-quantile-bins", '''
def discretize(x, *, n_bins=4):
    edges = np.quantile(x, np.linspace(0, 1, n_bins + 1))
    codes = np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, n_bins - 1)
    return codes, edges
'''),
    Wrong("one_r", "one_r-counts-correct", '''
def one_r(X, y):
    X, y = np.asarray(X), np.asarray(y)
    scores, all_rules = [], []
    for j in range(X.shape[1]):
        table = pd.crosstab(X[:, j], y)
        all_rules.append(table.idxmax(axis=1).to_dict())
        scores.append(int(table.max(axis=1).sum()))
    best = int(np.argmin(scores))
    return best, all_rules[best], np.array(scores)
'''),
    Wrong("one_r", "one_r-largest-error", '''
def one_r(X, y):
    X, y = np.asarray(X), np.asarray(y)
    errors, all_rules = [], []
    for j in range(X.shape[1]):
        table = pd.crosstab(X[:, j], y)
        all_rules.append(table.idxmax(axis=1).to_dict())
        errors.append(int((table.sum(axis=1) - table.max(axis=1)).sum()))
    best = int(np.argmax(errors))
    return best, all_rules[best], np.array(errors)
'''),
    Wrong("one_r", "one_r-ties-last-column", '''
def one_r(X, y):
    X, y = np.asarray(X), np.asarray(y)
    errors, all_rules = [], []
    for j in range(X.shape[1]):
        table = pd.crosstab(X[:, j], y)
        all_rules.append(table.idxmax(axis=1).to_dict())
        errors.append(int((table.sum(axis=1) - table.max(axis=1)).sum()))
    best = 0
    for j in range(len(errors)):
        if errors[j] <= errors[best]:
            best = j
    return best, all_rules[best], np.array(errors)
''', "lowest column"),
    Wrong("one_r", "one_r-class-tie-first-seen", '''
from collections import Counter

def one_r(X, y):
    X, y = np.asarray(X), np.asarray(y)
    errors, all_rules = [], []
    for j in range(X.shape[1]):
        rules, error = {}, 0
        for value in np.unique(X[:, j]):
            counts = Counter(y[X[:, j] == value]).most_common()
            rules[value] = counts[0][0]
            error += sum(c for _, c in counts[1:])
        all_rules.append(rules)
        errors.append(error)
    best = int(np.argmin(errors))
    return best, all_rules[best], np.array(errors)
''', "smallest label"),
    # --- blind spot closed in issue 8: this one got full marks from the earlier hidden tests ---
    Wrong("path", "path-float64-comparison", '''
def decision_path_rules(tree, x, *, feature_names):
    nodes = tree.tree_
    x = np.asarray(x, dtype=float)
    conditions = []
    node = 0
    while nodes.children_left[node] != -1:
        j, threshold = nodes.feature[node], float(nodes.threshold[node])
        if x[j] <= threshold:
            conditions.append((feature_names[j], "<=", threshold))
            node = nodes.children_left[node]
        else:
            conditions.append((feature_names[j], ">", threshold))
            node = nodes.children_right[node]
    return conditions
''', 'compares the value cast to float32'),
]
