"""Plausible mistakes in lab 2, one or more per graded function."""

from . import Wrong

WRONG = [
    Wrong("pdp_1d", "pdp-sum", '''
def partial_dependence_1d(model, X, feature, grid):
    X_mod = X.copy()
    out = []
    for v in grid:
        X_mod[:, feature] = v
        out.append(model.predict(X_mod).sum())
    return np.array(out)
''', "average them"),
    Wrong("pdp_1d", "pdp-no-averaging", '''
def partial_dependence_1d(model, X, feature, grid):
    X_mod = X.copy()
    out = []
    for v in grid:
        X_mod[:, feature] = v
        out.append(model.predict(X_mod))
    return np.array(out)
''', "returned shape"),
    Wrong("ice", "ice-transposed", '''
def ice_curves(model, X, feature, grid, centered=False):
    X_mod = X.copy()
    curves = []
    for v in grid:
        X_mod[:, feature] = v
        curves.append(model.predict(X_mod))
    curves = np.array(curves)
    return curves - curves[:1] if centered else curves
''', "returned shape"),
    Wrong("ice", "ice-centred-on-mean", '''
def ice_curves(model, X, feature, grid, centered=False):
    X_mod = X.copy()
    curves = np.empty((len(X), len(grid)))
    for k, v in enumerate(grid):
        X_mod[:, feature] = v
        curves[:, k] = model.predict(X_mod)
    return curves - curves.mean(axis=1, keepdims=True) if centered else curves
'''),
    Wrong("pdp_2d", "pdp2d-sum-of-1d", '''
def partial_dependence_2d(model, X, features, grids):
    def pd1(feature, grid):
        X_mod = X.copy()
        out = []
        for v in grid:
            X_mod[:, feature] = v
            out.append(model.predict(X_mod).mean())
        return np.array(out)
    pd_a, pd_b = pd1(features[0], grids[0]), pd1(features[1], grids[1])
    return pd_a[:, None] + pd_b[None, :] - model.predict(X).mean()
'''),
    Wrong("ale", "ale-not-centred", '''
def ale_1d(model, X, feature, edges):
    n_bins = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, X[:, feature], side="left"), 1, n_bins)
    X_low, X_high = X.copy(), X.copy()
    X_low[:, feature] = edges[bins - 1]
    X_high[:, feature] = edges[bins]
    diff = model.predict(X_high) - model.predict(X_low)
    counts = np.bincount(bins, minlength=n_bins + 1)[1:]
    sums = np.bincount(bins, weights=diff, minlength=n_bins + 1)[1:]
    return np.concatenate([[0.0], np.cumsum(sums / np.maximum(counts, 1))])
'''),
    Wrong("ale", "ale-nan-empty-bins", '''
def ale_1d(model, X, feature, edges):
    return np.full(len(edges), np.nan)
''', "NaN"),
    Wrong("pfi", "pfi-column-not-restored", '''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    rng = np.random.default_rng(random_state)
    baseline = metric(y, model.predict(X))
    X_perm = X.copy()
    out = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            X_perm[:, j] = X_perm[rng.permutation(len(X)), j]
            out[j, r] = baseline - metric(y, model.predict(X_perm))
    return out
'''),
    Wrong("pfi", "pfi-sign-flipped", '''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    rng = np.random.default_rng(random_state)
    baseline = metric(y, model.predict(X))
    out = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            X_perm = X.copy()
            X_perm[:, j] = X[rng.permutation(len(X)), j]
            out[j, r] = metric(y, model.predict(X_perm)) - baseline
    return out
'''),
    # --- blind spots closed in issue 8: these got full marks from the earlier (statistical) hidden test ---
    Wrong("pfi", "pfi-new-generator-per-feature", '''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    baseline = metric(y, model.predict(X))
    out = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        rng = np.random.default_rng(random_state)  # every feature gets the same permutations
        for r in range(n_repeats):
            X_perm = X.copy()
            X_perm[:, j] = X[rng.permutation(len(X)), j]
            out[j, r] = baseline - metric(y, model.predict(X_perm))
    return out
''', "create ONE generator before the loops", feedback="differs from the lab's recipe (one np.random.default_rng"),
    Wrong("pfi", "pfi-ignores-the-metric", '''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    rng = np.random.default_rng(random_state)
    baseline = r2_score(y, model.predict(X))
    out = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            X_perm = X.copy()
            X_perm[:, j] = X[rng.permutation(len(X)), j]
            out[j, r] = baseline - r2_score(y, model.predict(X_perm))
    return out
''', "is not the baseline score minus the score", feedback="metric=negative mean absolute error)` differs"),
]
