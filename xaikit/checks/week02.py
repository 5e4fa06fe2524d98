"""Visible checks of lab 2 (global model-agnostic methods).

Each check runs the student's function on a tiny toy problem and reports shape,
type and obvious mistakes in one sentence. The hidden tests compare with
scikit-learn and exact properties on inputs the student never sees.
"""

from __future__ import annotations

import numpy as np

from . import CheckFailed, as_array, call, passed

__all__ = ["ale_1d", "ice_curves", "partial_dependence_1d", "partial_dependence_2d", "permutation_importance"]


class _ToyModel:
    """f(x) = 2 x0 + x1 * x2; ignores feature 3."""

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return 2 * X[:, 0] + X[:, 1] * X[:, 2]


def _toy_data(n: int = 12) -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.round(rng.normal(size=(n, 4)), 2)


def _unchanged(X: np.ndarray, X_before: np.ndarray, name: str) -> None:
    if not np.array_equal(X, X_before):
        raise CheckFailed(f"`{name}` changed the X it was given; work on a copy (`X.copy()`) so the data stay intact.")


def partial_dependence_1d(func) -> None:
    """Check ``partial_dependence_1d(model, X, feature, grid)`` on a toy model."""
    name = "partial_dependence_1d"
    X, grid = _toy_data(), np.array([-1.0, 0.0, 0.5, 2.0])
    X_before = X.copy()
    out = as_array(call(func, _ToyModel(), X, 1, grid, name=name), name=name, shape=(len(grid),),
                   what="one value per grid point, averaged over the rows of X")
    _unchanged(X, X_before, name)
    flat = as_array(call(func, _ToyModel(), X, 3, grid, name=name), name=name, shape=(len(grid),))
    if not np.allclose(flat, _ToyModel().predict(X).mean()):
        raise CheckFailed(f"`{name}` should equal the average prediction everywhere for a feature the model ignores; "
                          "set the column to the grid value and average (not sum) the predictions.")
    if np.ptp(out) == 0:
        raise CheckFailed(f"`{name}` is flat for a feature the model uses; did you replace the column `feature` by each grid value?")
    passed(f"{name}: shape {out.shape}, finite, X untouched, the average prediction for an ignored feature.")


def partial_dependence_2d(func) -> None:
    """Check ``partial_dependence_2d(model, X, features, grids)`` on a toy model."""
    name = "partial_dependence_2d"
    X = _toy_data()
    grids = (np.array([-1.0, 0.0, 1.0]), np.array([0.0, 1.0, 2.0, 3.0]))
    X_before = X.copy()
    out = as_array(call(func, _ToyModel(), X, (1, 2), grids, name=name), name=name, shape=(3, 4),
                   what="rows follow the grid of the first feature, columns the grid of the second")
    _unchanged(X, X_before, name)
    ignored = as_array(call(func, _ToyModel(), X, (0, 3), grids, name=name), name=name, shape=(3, 4))
    if np.max(np.ptp(ignored, axis=1)) > 1e-9:
        raise CheckFailed(f"`{name}` varies along a feature the model ignores (the second one); check which grid goes with which feature.")
    passed(f"{name}: shape {out.shape}, finite, X untouched.")


def ice_curves(func) -> None:
    """Check ``ice_curves(model, X, feature, grid, centered=False)`` on a toy model."""
    name = "ice_curves"
    X, grid = _toy_data(), np.array([-1.0, 0.0, 0.5, 2.0])
    X_before = X.copy()
    ice = as_array(call(func, _ToyModel(), X, 1, grid, name=name), name=name, shape=(len(X), len(grid)),
                   what="one row per row of X, one column per grid point")
    _unchanged(X, X_before, name)
    if np.max(np.ptp(ice, axis=0)) == 0:
        raise CheckFailed(f"`{name}` gives every row the same curve; each row should keep its own values of the other features.")
    ignored = as_array(call(func, _ToyModel(), X, 3, grid, name=name), name=name, shape=ice.shape)
    if not np.allclose(ignored, _ToyModel().predict(X)[:, None]):
        raise CheckFailed(f"`{name}` should give each row a flat line at its own prediction for a feature the model ignores.")
    centred = as_array(call(func, _ToyModel(), X, 1, grid, centered=True, name=name), name=name, shape=ice.shape)
    if np.max(np.abs(centred[:, 0])) > 1e-9:
        raise CheckFailed(f"`{name}(..., centered=True)` should start every curve at 0 at the first grid point.")
    passed(f"{name}: shape {ice.shape}, finite, X untouched, centred curves start at 0.")


def ale_1d(func) -> None:
    """Check ``ale_1d(model, X, feature, edges)`` on a toy model."""
    name = "ale_1d"
    X = _toy_data(40)
    edges = np.quantile(X[:, 0], np.linspace(0, 1, 5))
    X_before = X.copy()
    out = as_array(call(func, _ToyModel(), X, 0, edges, name=name), name=name, shape=(len(edges),),
                   what="one value per bin edge")
    _unchanged(X, X_before, name)
    flat = as_array(call(func, _ToyModel(), X, 3, np.quantile(X[:, 3], np.linspace(0, 1, 5)), name=name),
                    name=name, shape=(len(edges),))
    if np.max(np.abs(flat)) > 1e-9:
        raise CheckFailed(f"`{name}` should be 0 everywhere for a feature the model ignores.")
    if np.all(np.diff(out) <= 0):
        raise CheckFailed(f"`{name}` decreases for a feature whose effect is 2 x (increasing); accumulate the differences f(upper edge) - f(lower edge).")
    passed(f"{name}: shape {out.shape}, finite, X untouched, zero for an ignored feature.")


def permutation_importance(func) -> None:
    """Check ``permutation_importance(model, X, y, metric=..., n_repeats=..., random_state=...)``."""
    name = "permutation_importance"
    X = _toy_data(30)
    y = _ToyModel().predict(X)
    X_before = X.copy()

    def neg_mse(y_true, y_pred):
        return -float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))

    out = as_array(call(func, _ToyModel(), X, y, metric=neg_mse, n_repeats=3, random_state=0, name=name),
                   name=name, shape=(X.shape[1], 3), what="one row per feature, one column per repeat")
    _unchanged(X, X_before, name)
    if np.any(out[3] != 0):
        raise CheckFailed(f"`{name}` gives a non-zero importance to a feature the model ignores; restore each column after permuting it.")
    if np.mean(out[0]) <= 0:
        raise CheckFailed(f"`{name}` should be positive for an important feature: importance = baseline score - permuted score.")
    again = as_array(call(func, _ToyModel(), X, y, metric=neg_mse, n_repeats=3, random_state=0, name=name), name=name, shape=out.shape)
    if not np.array_equal(out, again):
        raise CheckFailed(f"`{name}` gives different results for the same random_state; draw all permutations from one generator seeded with it.")
    passed(f"{name}: shape {out.shape}, finite, X untouched, reproducible, zero for an ignored feature.")
