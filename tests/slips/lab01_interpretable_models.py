"""Slips in lab01_interpretable_models the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong
EXTRA = [
 Wrong("effects","effects-with-intercept-col",'''
def linear_effects(model, X):
    return X * model.coef_ + model.intercept_
'''),
 Wrong("odds","odds-log",'''
def odds_ratios(model, *, step=1.0):
    return np.ravel(model.coef_) * step + 1
'''),
 Wrong("path","path-float64",'''
def decision_path_rules(tree, x, *, feature_names):
    t = tree.tree_
    node, out = 0, []
    while t.children_left[node] != -1:
        j, thr = t.feature[node], t.threshold[node]
        if float(x[j]) <= thr:
            out.append((feature_names[j], "<=", thr)); node = t.children_left[node]
        else:
            out.append((feature_names[j], ">", thr)); node = t.children_right[node]
    return out
'''),
 Wrong("one_r","one_r-class-tie-largest",'''
def one_r(X, y):
    X, y = np.asarray(X), np.asarray(y)
    errors, all_rules = [], []
    for j in range(X.shape[1]):
        table = pd.crosstab(X[:, j], y).sort_index(axis=1, ascending=False)
        all_rules.append(table.idxmax(axis=1).to_dict())
        errors.append(int((table.sum(axis=1) - table.max(axis=1)).sum()))
    best = int(np.argmin(errors))
    return best, all_rules[best], np.array(errors)
'''),
 Wrong("discretize","discretize-n-bins-plus-one",'''
def discretize(x, *, n_bins=4):
    edges = np.linspace(x.min(), x.max(), n_bins)
    return np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, n_bins - 1), edges
'''),
]
