"""Hidden tests of lab 2: PDP, ICE, ALE and permutation importance.

Oracles: ``sklearn.inspection.partial_dependence`` (``method='brute'``, same grid)
for PDP and ICE; for ALE the exact centred shape function of an additive model and the
``PyALE`` package on a model with interactions and correlated features; for permutation
importance exact properties (an ignored feature scores exactly 0 in every repeat, the same
``random_state`` gives the same values) and an **exact** comparison with a reference that
follows the random recipe the lab pins (one ``np.random.default_rng(random_state)``; feature by
feature, ``n_repeats`` draws of ``rng.permutation(n_samples)`` each), with two metrics and the
default ``n_repeats``/``random_state``. No statistical comparison is left: the lab fixes every
random draw. ``tests/test_checks_week02.py`` checks that reference against scikit-learn's
``permutation_importance`` (statistical agreement, which is all a different random recipe allows).

Tolerances: 1e-6 relative to the largest reference value (float32 answers pass: their rounding
is 6e-8; the lab never asks for float64).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.inspection import partial_dependence as sk_partial_dependence
from sklearn.metrics import r2_score

from .core import CheckFailed, as_array, call, expect_close, grading, passed, rng, unchanged

# The libraries the lab forbids in answers (they are the references).
FORBIDDEN = ("sklearn.inspection", "PyALE")

# Wall-clock budget per call of the student's function, in seconds: about 10x the lab's solution
# on a busy 2-core machine with one thread, at least 5 s.
BUDGET_S = {"partial_dependence_1d": 5, "partial_dependence_2d": 5, "ice_curves": 5, "ale_1d": 5,
            "permutation_importance": 10}

RTOL = 1e-6  # relative to the largest reference value: float32 answers pass

REFERENCE_PD = "sklearn's partial_dependence(method='brute')"
# Visible checks whose sentence the feedback cannot reuse: the check records the matrices the model predicts by a callback,
# which runs in the worker and records nothing here (the hidden test's sentence is shown).
NO_VISIBLE_FEEDBACK = ("permutation_importance",)
PRELOAD = ("pandas", "sklearn.base", "sklearn.ensemble", "sklearn.metrics")  # what the worker imports up front


def _close(got, expected, *, name: str, reference: str) -> float:
    expected = np.asarray(expected, dtype=float)
    scale = float(np.abs(expected).max()) or 1.0
    return expect_close(got, expected, name=name, reference=reference, rtol=RTOL, atol=RTOL * scale)


def _problem(seed: int, n: int = 300):
    """Correlated features, an interaction and a discrete feature; a boosted-tree model."""
    g = rng(seed)
    X = g.normal(size=(n, 4))
    X[:, 1] = 0.8 * X[:, 0] + 0.6 * g.normal(size=n)
    X[:, 3] = g.integers(0, 5, size=n)
    y = 2 * np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3] + 0.1 * g.normal(size=n)
    model = HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, y)
    return X, y, model


def partial_dependence_1d(func) -> None:
    """PDP of a continuous and a discrete feature against scikit-learn."""
    name = "partial_dependence_1d"
    with grading(name):
        X, _, model = _problem(9101)
        worst = 0.0
        for feature in (0, 3):
            ref = sk_partial_dependence(model, X, [feature], method="brute", kind="average", grid_resolution=11)
            grid = ref["grid_values"][0]
            X_given = X.copy()
            got = as_array(call(func, model, X_given, feature, grid.copy(), name=name), name=name, shape=grid.shape)
            unchanged(X_given, X, name)
            worst = max(worst, _close(got, ref["average"][0], name=name, reference=REFERENCE_PD))
    passed(f"{name} matches {REFERENCE_PD} on a fresh model (largest difference {worst:.1e}).")


def partial_dependence_2d(func) -> None:
    """Two-feature PDP against scikit-learn, with grids of different lengths."""
    name = "partial_dependence_2d"
    with grading(name):
        X, _, model = _problem(9202, n=200)
        ref = sk_partial_dependence(model, X, [(0, 2)], method="brute", kind="average", grid_resolution=7)
        grids = (ref["grid_values"][0].copy(), ref["grid_values"][1][1:].copy())
        expected = ref["average"][0][:, 1:]
        X_given = X.copy()
        got = as_array(call(func, model, X_given, (0, 2), grids, name=name), name=name, shape=expected.shape,
                       what="rows follow the first feature's grid, columns the second's")
        unchanged(X_given, X, name)
        worst = _close(got, expected, name=name, reference=REFERENCE_PD)
    passed(f"{name} matches {REFERENCE_PD} for a feature pair (largest difference {worst:.1e}).")


def ice_curves(func) -> None:
    """ICE curves (plain and centred) against scikit-learn's kind='individual'."""
    name = "ice_curves"
    with grading(name):
        X, _, model = _problem(9303, n=150)
        ref = sk_partial_dependence(model, X, [2], method="brute", kind="both", grid_resolution=9)
        grid, individual = ref["grid_values"][0], ref["individual"][0]
        X_given = X.copy()
        got = as_array(call(func, model, X_given, 2, grid.copy(), name=name), name=name, shape=individual.shape)
        unchanged(X_given, X, name)
        worst = _close(got, individual, name=name, reference="sklearn's partial_dependence(kind='individual')")
        centred = as_array(call(func, model, X.copy(), 2, grid.copy(), centered=True, name=name),
                           name=name, shape=individual.shape)
        worst = max(worst, _close(centred, individual - individual[:, :1], name=f"{name}(centered=True)",
                                  reference="the individual curves minus their value at the first grid point"))
        if not np.allclose(got.mean(axis=0), ref["average"][0], rtol=RTOL, atol=RTOL * np.abs(individual).max()):
            raise CheckFailed("the mean of your ICE curves is not the partial dependence.")
    passed(f"{name} matches sklearn's individual curves, plain and centred (largest difference {worst:.1e}).")


class _Additive:
    """f(x) = g0(x0) + x1 * x2 + cos(x3): ALE of x0 must be the centred g0 at the edges."""

    @staticmethod
    def g0(x):
        return x**3 - 2 * np.sin(3 * x)

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return self.g0(X[:, 0]) + X[:, 1] * X[:, 2] + np.cos(X[:, 3])


class _PandasModel:
    """PyALE passes DataFrames; the student's function gets the numpy array."""

    def __init__(self, model):
        self.model = model

    def predict(self, X):
        return self.model.predict(np.asarray(X, dtype=float))


def ale_1d(func) -> None:
    """ALE: exact on an additive model; equal to PyALE on a model with interactions."""
    name = "ale_1d"
    with grading(name):
        # 1. Exact case: with f additive in x0, each bin's mean difference is g0(z_k) - g0(z_{k-1}),
        #    so the ALE at the edges is g0(edges) centred by the count-weighted mean of bin midpoints.
        g = rng(9404)
        n = 500
        X = g.normal(size=(n, 4))
        X[:, 1] = 0.9 * X[:, 0] + 0.3 * g.normal(size=n)
        edges = np.unique(np.quantile(X[:, 0], np.linspace(0, 1, 9)))
        X_given = X.copy()
        got = as_array(call(func, _Additive(), X_given, 0, edges.copy(), name=name), name=name, shape=edges.shape,
                       what="one value per bin edge")
        unchanged(X_given, X, name)
        shape = _Additive.g0(edges)
        bins = np.clip(np.searchsorted(edges, X[:, 0], side="left"), 1, len(edges) - 1)
        counts = np.bincount(bins, minlength=len(edges))[1:]
        expected = shape - np.sum(counts * (shape[:-1] + shape[1:]) / 2) / n
        _close(got, expected, name=name, reference="the exact centred shape function of an additive model")
        # 2. Interactions and correlation: compare with PyALE on its own quantile grid.
        import logging

        from PyALE import ale as pyale

        logging.getLogger("PyALE._ALE_generic").setLevel(logging.WARNING)

        X2, _, model = _problem(9405, n=400)
        frame = pd.DataFrame(X2, columns=["x0", "x1", "x2", "x3"])
        ref = pyale(X=frame, model=_PandasModel(model), feature=["x1"], grid_size=12, include_CI=False, plot=False)
        edges2 = ref.index.to_numpy(dtype=float)
        got2 = as_array(call(func, model, X2.copy(), 1, edges2.copy(), name=name), name=name, shape=edges2.shape)
        worst = _close(got2, ref["eff"].to_numpy(dtype=float), name=name, reference="PyALE's ALE on a boosted-tree model")
    passed(f"{name} is exact on an additive model and matches PyALE with interactions (largest difference {worst:.1e}).")


def _negative_mean_absolute_error(y_true, y_pred):
    """A second score (higher is better) to hand to permutation_importance."""
    return -float(np.mean(np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float))))


def _permutation_reference(model, X, y, *, metric, n_repeats=5, random_state=0):
    """The lab's recipe: one generator; for each feature in turn, n_repeats permutations of that column."""
    rng = np.random.default_rng(random_state)
    baseline = metric(y, model.predict(X))
    importances = np.empty((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            permuted = X.copy()
            permuted[:, j] = X[rng.permutation(len(X)), j]
            importances[j, r] = baseline - metric(y, model.predict(permuted))
    return importances


RECIPE = ("the lab's recipe (one np.random.default_rng(random_state); feature by feature, n_repeats draws of "
          "rng.permutation(n_samples); importance = baseline score - permuted score)")


def permutation_importance(func) -> None:
    """Permutation importance: exact properties and an exact comparison with the lab's random recipe."""
    name = "permutation_importance"
    with grading(name):
        g = rng(9505)
        n = 500
        X = g.normal(size=(n, 5))
        X[:, 1] = 0.7 * X[:, 0] + 0.7 * g.normal(size=n)
        y = 3 * X[:, 0] + 2 * X[:, 1] ** 2 + X[:, 2] + 0.5 * g.normal(size=n)
        model = HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X[:, :4], y)
        ignores_last = _IgnoreLast(model)
        n_repeats = 6
        X_given = X.copy()
        got = as_array(
            call(func, ignores_last, X_given, y.copy(), metric=r2_score, n_repeats=n_repeats, random_state=3, name=name),
            name=name, shape=(5, n_repeats), what="one row per feature, one column per repeat",
        )
        unchanged(X_given, X, name)
        if np.any(got[4] != 0):
            raise CheckFailed(f"`{name}` gives a feature the model ignores a non-zero importance; "
                              "restore each column before permuting the next one.")
        if np.any(np.ptp(got[:3], axis=1) == 0):
            raise CheckFailed(f"`{name}` returns identical repeats; draw a new permutation for every repeat.")
        again = as_array(call(func, ignores_last, X.copy(), y.copy(), metric=r2_score, n_repeats=n_repeats,
                              random_state=3, name=name), name=name, shape=got.shape)
        if not np.array_equal(got, again):
            raise CheckFailed(f"`{name}` is not reproducible: the same random_state must give the same importances.")
        expected = _permutation_reference(ignores_last, X, y, metric=r2_score, n_repeats=n_repeats, random_state=3)
        worst = _close(got, expected, name=name, reference=RECIPE)
        # Another score, and the defaults n_repeats=5, random_state=0.
        label = f"{name}(..., metric=negative mean absolute error)"
        got = as_array(call(func, ignores_last, X.copy(), y.copy(), metric=_negative_mean_absolute_error, name=name),
                       name=label, shape=(5, 5), what="one row per feature, n_repeats=5 columns by default")
        expected = _permutation_reference(ignores_last, X, y, metric=_negative_mean_absolute_error)
        worst = max(worst, _close(got, expected, name=label, reference=RECIPE + " with the metric it is given"))
    passed(f"{name} draws exactly the lab's permutations (largest difference {worst:.1e}), for two metrics, and gives "
           "an ignored feature exactly 0.")


class _IgnoreLast(RegressorMixin, BaseEstimator):
    """A fitted regressor that reads only the first four columns (importance of column 4 is exactly 0)."""

    def __init__(self, model):
        self.model = model

    def fit(self, X, y):  # pragma: no cover - sklearn's API check only
        return self

    def predict(self, X):
        return self.model.predict(np.asarray(X, dtype=float)[:, :4])
