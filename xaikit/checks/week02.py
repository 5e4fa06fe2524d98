"""Visible checks of lab 2 (global model-agnostic methods).

Each check runs the student's function on one small visible example and compares it with a
reference computed inside the check by the library the lab forbids in answers
(``sklearn.inspection.partial_dependence``, PyALE) or with an exact property of the toy model
(a feature the model ignores, a linear effect, the predictions the function asked for). A
failure says in one sentence which aspect is off. The hidden tests compare with the same
libraries on other data and models.

Ask for a hint with ``check.<function>.hint()``; ``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

import numpy as np

from . import CheckFailed, Summary, as_array, call, graded, install_not_written_handler, passed

__all__ = ["ale_1d", "ice_curves", "partial_dependence_1d", "partial_dependence_2d", "permutation_importance",
           "summary"]


def _toy_data(n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(7)
    X = np.round(rng.normal(size=(n, 4)), 2)
    X[:, 3] = rng.integers(0, 3, size=n)  # a discrete feature, ignored by the model
    return X


def _toy_model(X: np.ndarray):
    """A fitted scikit-learn model of f(x) = 2 x0 + x1 * x2 (exact; feature 3 ignored)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    rng = np.random.default_rng(8)
    Z = rng.normal(size=(60, 4))
    y = 2 * Z[:, 0] + Z[:, 1] * Z[:, 2]
    model = make_pipeline(PolynomialFeatures(2, interaction_only=True, include_bias=False),
                          LinearRegression()).fit(Z, y)
    return model


def _sklearn_pd(model, X, features, values, kind="average"):
    from sklearn.inspection import partial_dependence

    result = partial_dependence(model, X, features, custom_values={f: v for f, v in zip(features, values)},
                                method="brute", kind=kind)
    return result


def _unchanged(X: np.ndarray, X_before: np.ndarray, name: str) -> None:
    if not np.array_equal(X, X_before):
        raise CheckFailed(f"`{name}` changed the X it was given; work on a copy (`X.copy()`) so the data stay intact.")


def _close(a, b, tol: float = 1e-8) -> bool:
    return bool(np.allclose(a, b, rtol=1e-6, atol=tol))


@graded(answer="partial_dependence_1d", part="1", points=3,
        hint="lecture 2, §3 'Partial dependence plots': set the column of EVERY row to the grid value (on a copy), "
             "predict all rows, take the mean; one value per grid point.")
def partial_dependence_1d(func) -> None:
    """Check ``partial_dependence_1d(model, X, feature, grid)`` against scikit-learn on a toy model."""
    name = "partial_dependence_1d"
    X, grid = _toy_data(), np.array([-1.0, 0.0, 0.5, 2.0])
    model = _toy_model(X)
    X_before = X.copy()
    out = as_array(call(func, model, X, 1, grid, name=name), name=name, shape=(len(grid),),
                   what="one value per grid point, averaged over the rows of X")
    _unchanged(X, X_before, name)
    linear = as_array(call(func, model, X.copy(), 0, grid, name=name), name=name, shape=(len(grid),))
    slope = np.diff(linear) / np.diff(grid)
    if _close(slope, 2.0 * len(X)):
        raise CheckFailed(f"`{name}` adds the predictions up; average them (np.mean) over the rows.")
    if not _close(slope, 2.0):
        raise CheckFailed(f"`{name}`: for a model with the term 2·x0 the PDP of x0 must rise by exactly 2 per unit; "
                          "set the column of every row of a copy of X to the grid value, not just one row.")
    flat = as_array(call(func, model, X.copy(), 3, np.array([0.0, 1.0, 2.0]), name=name), name=name, shape=(3,))
    if not _close(flat, model.predict(X).mean()):
        raise CheckFailed(f"`{name}` should equal the average prediction everywhere for a feature the model ignores.")
    for feature, values, got in [(1, grid, out), (0, grid, linear)]:
        if not _close(got, _sklearn_pd(model, X, [feature], [values])["average"][0]):
            raise CheckFailed(f"`{name}` differs from scikit-learn's partial dependence on the toy model; "
                              "for each grid value, change only column `feature` and average the predictions.")
    passed(f"{name}: matches scikit-learn's partial dependence on a toy model; X untouched.")


@graded(answer="partial_dependence_2d", part="3", points=2,
        hint="lecture 2, §3 and lab part 3: set BOTH columns at once for every row, entry [p, q] pairs grid_a[p] "
             "with grid_b[q]; it is not the sum of two 1-D PDPs.")
def partial_dependence_2d(func) -> None:
    """Check ``partial_dependence_2d(model, X, features, grids)`` against scikit-learn on a toy model."""
    name = "partial_dependence_2d"
    X = _toy_data()
    model = _toy_model(X)
    grids = (np.array([-1.0, 0.0, 1.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    X_before = X.copy()
    out = as_array(call(func, model, X, (1, 2), grids, name=name), name=name, shape=(3, 4),
                   what="rows follow the grid of the first feature, columns the grid of the second")
    _unchanged(X, X_before, name)
    reference = _sklearn_pd(model, X, [1, 2], list(grids))["average"][0]
    interaction = out - out[:, :1] - out[:1, :] + out[0, 0]
    if np.max(np.abs(interaction)) < 1e-9:
        raise CheckFailed(f"`{name}` shows no interaction for the model x1·x2: set both columns at once in every row "
                          "before predicting (a sum of two 1-D PDPs cannot show an interaction).")
    if not _close(out, reference):
        raise CheckFailed(f"`{name}` differs from scikit-learn's two-feature partial dependence on the toy model; "
                          "entry [p, q] is the mean prediction with column a = grids[0][p] and column b = grids[1][q].")
    passed(f"{name}: shape {out.shape}, matches scikit-learn's two-feature partial dependence; X untouched.")


@graded(answer="ice_curves", part="2", points=3,
        hint="lecture 2, §4 'ICE': one row per instance, one column per grid value; centred curves subtract each "
             "curve's OWN value at the first grid point (not its mean).")
def ice_curves(func) -> None:
    """Check ``ice_curves(model, X, feature, grid, centered=False)`` against scikit-learn's individual curves."""
    name = "ice_curves"
    X, grid = _toy_data(), np.array([-1.0, 0.0, 0.5, 2.0])
    model = _toy_model(X)
    X_before = X.copy()
    ice = as_array(call(func, model, X, 1, grid, name=name), name=name, shape=(len(X), len(grid)),
                   what="one row per row of X, one column per grid point")
    _unchanged(X, X_before, name)
    reference = _sklearn_pd(model, X, [1], [grid], kind="individual")["individual"][0]
    if np.max(np.ptp(ice, axis=0)) == 0:
        raise CheckFailed(f"`{name}` gives every row the same curve; each row keeps its own values of the other features.")
    if not _close(ice, reference):
        raise CheckFailed(f"`{name}` differs from scikit-learn's individual curves on the toy model; row i is the "
                          "prediction for row i of X with only column `feature` set to each grid value.")
    centred = as_array(call(func, model, X.copy(), 1, grid, centered=True, name=name), name=name, shape=ice.shape)
    if not _close(centred[:, 0], 0.0):
        raise CheckFailed(f"`{name}(..., centered=True)` should start every curve at 0 at the first grid point.")
    if not _close(centred, reference - reference[:, :1]):
        raise CheckFailed(f"`{name}(..., centered=True)`: subtract from each curve its own value at the first grid "
                          "point, and nothing else.")
    passed(f"{name}: shape {ice.shape}, matches scikit-learn's individual curves, plain and centred; X untouched.")


class _PandasModel:
    """PyALE hands a DataFrame to predict; the toy model takes the numbers."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict(np.asarray(X, dtype=float))


def _pyale(model, X, feature, grid_size):
    import logging

    import pandas as pd
    from PyALE import ale as pyale

    logging.getLogger("PyALE._ALE_generic").setLevel(logging.WARNING)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    ref = pyale(X=frame, model=_PandasModel(model), feature=[f"x{feature}"], grid_size=grid_size,
                include_CI=False, plot=False)
    return ref.index.to_numpy(dtype=float), ref["eff"].to_numpy(dtype=float)


def _ale_data() -> np.ndarray:
    rng = np.random.default_rng(21)
    X = np.round(rng.normal(size=(40, 4)), 1)  # rounded: values repeat and some sit on the bin edges
    X[:, 1] = np.round(0.8 * X[:, 0] + 0.6 * X[:, 1], 1)  # correlated with x0
    return X


@graded(answer="ale_1d", part="4", points=4,
        hint="lecture 2, §5 'From PDP to ALE': a row with z[k-1] < x <= z[k] belongs to bin k (searchsorted side='left'), average "
             "the differences per bin, accumulate, then centre by the COUNT-weighted mean of each bin's two edge values.")
def ale_1d(func) -> None:
    """Check ``ale_1d(model, X, feature, edges)`` against PyALE and an exact property on a toy model."""
    name = "ale_1d"
    X = _ale_data()
    model = _toy_model(X)
    edges, reference = _pyale(model, X, 1, grid_size=5)
    X_before = X.copy()
    out = as_array(call(func, model, X, 1, edges.copy(), name=name), name=name, shape=(len(edges),),
                   what="one value per bin edge")
    _unchanged(X, X_before, name)
    edges0, _ = _pyale(model, X, 0, grid_size=4)
    linear = as_array(call(func, model, X.copy(), 0, edges0.copy(), name=name), name=name, shape=(len(edges0),))
    if not _close(np.diff(linear), 2.0 * np.diff(edges0)):
        raise CheckFailed(f"`{name}`: for a model with the term 2·x0 the ALE of x0 must rise by 2 per unit between "
                          "edges; average f(upper edge) - f(lower edge) over the rows of each bin and accumulate.")
    ignored = as_array(call(func, model, X.copy(), 3, np.array([0.0, 1.0, 2.0]), name=name), name=name, shape=(3,))
    if not _close(ignored, 0.0):
        raise CheckFailed(f"`{name}` should be 0 everywhere for a feature the model ignores.")
    if _close(out - out[0], reference - reference[0]) and not _close(out, reference):
        raise CheckFailed(f"`{name}` has the right shape of curve but the wrong centring: subtract the mean of each "
                          "bin's two edge values weighted by the number of rows in the bin (so the mean over the data is 0).")
    if not _close(out, reference):
        raise CheckFailed(f"`{name}` differs from PyALE on the toy model (values repeat and sit on edges): a row with "
                          "edges[k-1] < x <= edges[k] belongs to bin k, and rows equal to edges[0] to bin 1.")
    passed(f"{name}: matches PyALE on a toy model with correlated features, exact for a linear effect, 0 for an "
           "ignored feature.")


class _Recorder:
    """The toy model of f(x) = 2 x0 + x1 x2 that remembers every row it was asked to predict."""

    def __init__(self):
        self.seen: list[np.ndarray] = []

    def predict(self, X):
        X = np.array(X, dtype=float)
        self.seen.append(X)
        return 2 * X[:, 0] + X[:, 1] * X[:, 2]


def _neg_mse(y_true, y_pred) -> float:
    return -float(np.mean((np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)) ** 2))


@graded(answer="permutation_importance", part="5", points=3,
        hint="lecture 2, §6 'Permutation feature importance': baseline score minus the score with ONE column permuted, "
             "starting from the original X each time; one generator default_rng(random_state) for all permutations.")
def permutation_importance(func) -> None:
    """Check ``permutation_importance(model, X, y, metric=..., n_repeats=..., random_state=...)``.

    The toy model records what it is asked to predict: every permuted matrix must differ from X
    in one column only, hold a permutation of that column, and its importance must be the
    baseline score minus that matrix's score. Three repeats per feature, each a new permutation.
    """
    name = "permutation_importance"
    X = _toy_data(30)
    X[:, :3] = np.random.default_rng(10).normal(size=(30, 3))  # distinct values: each permutation is visible
    y = 2 * X[:, 0] + X[:, 1] * X[:, 2] + np.random.default_rng(9).normal(scale=0.3, size=len(X))
    n, p, repeats = X.shape[0], X.shape[1], 3
    X_before = X.copy()
    model = _Recorder()
    out = as_array(call(func, model, X, y, metric=_neg_mse, n_repeats=repeats, random_state=0, name=name),
                   name=name, shape=(p, repeats), what="one row per feature, one column per repeat")
    _unchanged(X, X_before, name)
    baseline = _neg_mse(y, 2 * X[:, 0] + X[:, 1] * X[:, 2])
    scores: dict[int, list[float]] = {j: [] for j in range(p)}
    orders: dict[int, list[tuple]] = {j: [] for j in range(p)}  # the order of each permuted column
    for batch in model.seen:
        if batch.ndim != 2 or batch.shape[1] != p or len(batch) % n:
            continue
        for block in batch.reshape(-1, n, p):
            changed = np.flatnonzero(np.any(block != X, axis=0))
            if len(changed) > 1:
                raise CheckFailed(f"`{name}` permuted {len(changed)} columns at once; restore each column (or start "
                                  "from the original X) before permuting the next one.")
            if len(changed) == 1:
                j = int(changed[0])
                if not np.array_equal(np.sort(block[:, j]), np.sort(X[:, j])):
                    raise CheckFailed(f"`{name}` changed the values of column {j} instead of permuting them; "
                                      "use X[rng.permutation(n_samples), j].")
                scores[j].append(_neg_mse(y, 2 * block[:, 0] + block[:, 1] * block[:, 2]))
                rank = np.argsort(X[:, j])
                orders[j].append(tuple(rank[np.searchsorted(X[rank, j], block[:, j])]))
    if np.mean(out[:3]) < 0:
        raise CheckFailed(f"`{name}` is negative for important features: importance = baseline score - permuted score.")
    for j in range(p):
        candidates = [baseline - s for s in scores[j]] or [0.0]
        for r in range(repeats):
            if not any(abs(out[j, r] - c) <= 1e-9 * max(1.0, abs(c)) for c in candidates):
                raise CheckFailed(f"`{name}`: an importance of feature {j} is not the baseline score minus the score of "
                                  "one of the matrices it predicted with that column permuted (higher score = better).")
    if any(orders[0] == orders[j] for j in range(1, 3)):
        raise CheckFailed(f"`{name}` uses the same permutations for every feature; create ONE generator before the loops "
                          "and draw every permutation from it.")
    if np.any(np.ptp(out[:3], axis=1) == 0):
        raise CheckFailed(f"`{name}` returns identical repeats; draw a new permutation for every repeat.")
    again = as_array(call(func, _Recorder(), X, y, metric=_neg_mse, n_repeats=repeats, random_state=0, name=name),
                     name=name, shape=out.shape)
    if not np.array_equal(out, again):
        raise CheckFailed(f"`{name}` gives different results for the same random_state; draw all permutations from "
                          "one generator, np.random.default_rng(random_state).")
    other = as_array(call(func, _Recorder(), X, y, metric=_neg_mse, n_repeats=repeats, random_state=1, name=name),
                     name=name, shape=out.shape)
    if np.array_equal(out, other):
        raise CheckFailed(f"`{name}` ignores random_state; seed the generator with it.")
    passed(f"{name}: shape {out.shape}, one column permuted at a time, baseline minus permuted score, 0 for an "
           "ignored feature, reproducible.")


summary = Summary("Lab 2", partial_dependence_1d, ice_curves, partial_dependence_2d, ale_1d, permutation_importance,
                  written_points=8)
hint = summary.hint
install_not_written_handler(summary)
