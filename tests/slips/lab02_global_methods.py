"""Slips in lab02_global_methods the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong
EXTRA = [
 Wrong("pdp_1d","pdp-one-row",'''
def partial_dependence_1d(model, X, feature, grid):
    out=[]
    for v in grid:
        X_mod = X.copy(); X_mod[0, feature] = v
        out.append(model.predict(X_mod).mean())
    return np.array(out)
'''),
 Wrong("ale","ale-right-side",'''
def ale_1d(model, X, feature, edges):
    n_bins = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, X[:, feature], side="right"), 1, n_bins)
    X_low, X_high = X.copy(), X.copy()
    X_low[:, feature] = edges[bins - 1]; X_high[:, feature] = edges[bins]
    diff = model.predict(X_high) - model.predict(X_low)
    counts = np.bincount(bins, minlength=n_bins + 1)[1:]
    sums = np.bincount(bins, weights=diff, minlength=n_bins + 1)[1:]
    ale = np.concatenate([[0.0], np.cumsum(np.divide(sums, counts, out=np.zeros(n_bins), where=counts>0))])
    return ale - np.sum(counts * (ale[:-1] + ale[1:]) / 2) / counts.sum()
'''),
 Wrong("ale","ale-unweighted-centre",'''
def ale_1d(model, X, feature, edges):
    n_bins = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, X[:, feature], side="left"), 1, n_bins)
    X_low, X_high = X.copy(), X.copy()
    X_low[:, feature] = edges[bins - 1]; X_high[:, feature] = edges[bins]
    diff = model.predict(X_high) - model.predict(X_low)
    counts = np.bincount(bins, minlength=n_bins + 1)[1:]
    sums = np.bincount(bins, weights=diff, minlength=n_bins + 1)[1:]
    ale = np.concatenate([[0.0], np.cumsum(np.divide(sums, counts, out=np.zeros(n_bins), where=counts>0))])
    return ale - ale.mean()
'''),
 Wrong("ale","ale-midpoint-centre-unweighted",'''
def ale_1d(model, X, feature, edges):
    n_bins = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, X[:, feature], side="left"), 1, n_bins)
    X_low, X_high = X.copy(), X.copy()
    X_low[:, feature] = edges[bins - 1]; X_high[:, feature] = edges[bins]
    diff = model.predict(X_high) - model.predict(X_low)
    counts = np.bincount(bins, minlength=n_bins + 1)[1:]
    sums = np.bincount(bins, weights=diff, minlength=n_bins + 1)[1:]
    ale = np.concatenate([[0.0], np.cumsum(np.divide(sums, counts, out=np.zeros(n_bins), where=counts>0))])
    return ale - np.mean((ale[:-1] + ale[1:]) / 2)
'''),
 Wrong("pfi","pfi-same-perm-all-repeats",'''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    baseline = metric(y, model.predict(X))
    out = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        rng = np.random.default_rng(random_state)
        for r in range(n_repeats):
            X_perm = X.copy(); X_perm[:, j] = X[rng.permutation(len(X)), j]
            out[j, r] = baseline - metric(y, model.predict(X_perm))
    return out
'''),
 Wrong("pfi","pfi-ratio",'''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    rng = np.random.default_rng(random_state)
    baseline = metric(y, model.predict(X))
    out = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            X_perm = X.copy(); X_perm[:, j] = X[rng.permutation(len(X)), j]
            out[j, r] = metric(y, model.predict(X_perm)) / baseline
    return out
'''),
 Wrong("ice","ice-centre-last",'''
def ice_curves(model, X, feature, grid, centered=False):
    X_mod = X.copy(); curves = np.empty((len(X), len(grid)))
    for k, v in enumerate(grid):
        X_mod[:, feature] = v; curves[:, k] = model.predict(X_mod)
    return curves - curves[:, -1:] if centered else curves
'''),
]
