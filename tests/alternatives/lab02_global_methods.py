"""Correct answers of lab 2 written differently from the solution."""

from . import Right

RIGHT = [
    Right("pdp_1d", "pdp-vectorised", '''
def partial_dependence_1d(model, X, feature, grid):
    X = np.asarray(X, dtype=float)
    stacked = np.repeat(X[None], len(grid), axis=0)
    stacked[:, :, feature] = np.asarray(grid)[:, None]
    return model.predict(stacked.reshape(-1, X.shape[1])).reshape(len(grid), len(X)).mean(axis=1)
'''),
    Right("pdp_1d", "pdp-pandas", '''
import pandas as pd

def partial_dependence_1d(model, X, feature, grid):
    frame = pd.DataFrame(X)
    averages = []
    for v in grid:
        modified = frame.copy()
        modified[feature] = v
        averages.append(model.predict(modified.to_numpy()).mean())
    return pd.Series(averages)
'''),
    Right("pdp_1d", "pdp-float32-grid", '''
def partial_dependence_1d(model, X, feature, grid):
    out = []
    for v in np.asarray(grid, dtype=np.float32):
        X_mod = X.copy()
        X_mod[:, feature] = v
        out.append(np.mean(model.predict(X_mod)))
    return np.array(out, dtype=np.float32)
'''),
    Right("ice", "ice-vectorised", '''
def ice_curves(model, X, feature, grid, centered=False):
    X = np.asarray(X, dtype=float)
    stacked = np.repeat(X[None], len(grid), axis=0)
    stacked[:, :, feature] = np.asarray(grid)[:, None]
    curves = model.predict(stacked.reshape(-1, X.shape[1])).reshape(len(grid), len(X)).T
    return curves - curves[:, [0]] if centered else curves
'''),
    Right("pdp_2d", "pdp2d-meshgrid", '''
def partial_dependence_2d(model, X, features, grids):
    a, b = features
    va, vb = np.meshgrid(grids[0], grids[1], indexing="ij")
    out = np.empty(va.shape)
    for index in np.ndindex(va.shape):
        X_mod = np.array(X, dtype=float)
        X_mod[:, a], X_mod[:, b] = va[index], vb[index]
        out[index] = model.predict(X_mod).mean()
    return out
'''),
    Right("ale", "ale-loop-over-bins", '''
def ale_1d(model, X, feature, edges):
    X = np.asarray(X, dtype=float)
    x = X[:, feature]
    K = len(edges) - 1
    effects, counts = np.zeros(K), np.zeros(K)
    for k in range(1, K + 1):
        rows = (x > edges[k - 1]) & (x <= edges[k]) if k > 1 else (x >= edges[0]) & (x <= edges[1])
        counts[k - 1] = rows.sum()
        if counts[k - 1]:
            low, high = X[rows].copy(), X[rows].copy()
            low[:, feature], high[:, feature] = edges[k - 1], edges[k]
            effects[k - 1] = np.mean(model.predict(high) - model.predict(low))
    ale = np.concatenate([[0.0], np.cumsum(effects)])
    centre = np.sum(counts * (ale[:-1] + ale[1:]) / 2) / counts.sum()
    return ale - centre
'''),
    Right("pfi", "pfi-permute-values-repeat-major", '''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    rng = np.random.default_rng(random_state)
    baseline = metric(y, model.predict(X))
    out = np.zeros((X.shape[1], n_repeats))
    for r in range(n_repeats):
        for j in range(X.shape[1]):
            X_perm = X.copy()
            X_perm[:, j] = rng.permutation(X[:, j])
            out[j, r] = baseline - metric(y, model.predict(X_perm))
    return out
'''),
    Right("pfi", "pfi-one-predict-call", '''
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    rng = np.random.default_rng(random_state)
    n, p = X.shape
    blocks = []
    for j in range(p):
        for r in range(n_repeats):
            block = X.copy()
            block[:, j] = X[rng.permutation(n), j]
            blocks.append(block)
    predictions = model.predict(np.vstack([X, *blocks])).reshape(-1, n)
    baseline = metric(y, predictions[0])
    return np.array([baseline - metric(y, p_) for p_ in predictions[1:]]).reshape(p, n_repeats)
'''),
]
