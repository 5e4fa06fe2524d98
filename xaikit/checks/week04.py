"""Visible checks of lab 4 (example-based explanations).

Each check runs the student's function on a tiny problem whose answer has a property we
know without computing the method: a counterfactual must reach its target and, under an
L1 cost in MAD units, change mostly one feature; MMD² of a sample with itself is 0; two
separate clusters get one prototype each; a group that no prototype covers holds the
criticisms; row i of DFBETA is what one refit without row i changes; influence estimates
rank points like a few explicit refits. The hidden tests compare with exact optima
(linear programming), reference implementations, statsmodels and captum on fresh data.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression

from ..tabular_models import LogisticNet, predict_positive
from . import CheckFailed, as_array, call, passed

__all__ = [
    "criticisms",
    "dfbeta",
    "dpp_diversity",
    "greedy_prototypes",
    "influence_on_test_loss",
    "minimal_counterfactual",
    "mmd2",
    "wachter_counterfactual",
]


def _unchanged(given, before, name: str, what: str = "x") -> None:
    if not np.array_equal(np.asarray(given), np.asarray(before)):
        raise CheckFailed(f"`{name}` changed the {what} it was given; work on a copy so the data stay intact.")


# --- counterfactuals ----------------------------------------------------------------------

# Three features on different scales. Per MAD, feature 0 moves the logit most (3 per MAD, vs 1
# and 1); per raw unit, feature 1 does (10 vs 0.3 and 1).
_MAD = np.array([10.0, 0.1, 1.0])
_COEF = np.array([3.0, 1.0, 1.0]) / _MAD
_X = np.array([20.0, 0.5, -1.0])
_INTERCEPT = float(-2.0 - _COEF @ _X)  # logit -2 at _X: probability 0.12


def _counterfactual(func, model, target, *, name: str, **kwargs) -> np.ndarray:
    x, mad = _X.copy(), _MAD.copy()
    out = as_array(call(func, model, x, target, mad, name=name, **kwargs), name=name, shape=_X.shape,
                   what="one counterfactual: a value per feature")
    _unchanged(x, _X, name)
    _unchanged(mad, _MAD, name, "mad")
    return out


def wachter_counterfactual(func) -> None:
    """Check ``wachter_counterfactual(model, x, target, mad, *, mutable=None, eps=0.05, ...)``."""
    name = "wachter_counterfactual"
    model = LogisticNet(_COEF, _INTERCEPT)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    mutable = np.array([True, True, False])
    x_cf = _counterfactual(func, model, 0.7, name=name, mutable=mutable.copy())
    if any(not torch.equal(state[k], v) for k, v in model.state_dict().items()) or model.training:
        raise CheckFailed(f"`{name}` changed the model; optimise the counterfactual only (the model stays as it is).")
    p_cf = float(predict_positive(model, x_cf)[0])
    if abs(p_cf - 0.7) > 0.05 + 1e-4:
        raise CheckFailed(f"`{name}` does not reach the target: the model gives {p_cf:.3f} at your counterfactual, "
                          "the target is 0.7 ± 0.05; multiply lambda by lam_factor after each round that misses it.")
    if x_cf[2] != _X[2]:
        raise CheckFailed(f"`{name}` changed a feature that `mutable` marks as fixed.")
    change = np.abs(x_cf - _X) / _MAD
    if change[0] < 0.8 * change.sum():
        raise CheckFailed(f"`{name}` spreads the change over several features or moves the wrong one; the cost is the "
                          "L1 distance in MAD units, sum |x'_j - x_j| / MAD_j, which favours changing one feature.")
    passed(f"{name}: reaches the target, changes mainly one feature, respects `mutable`, leaves x and the model intact.")


def _toy_logistic() -> LogisticRegression:
    model = LogisticRegression()
    model.coef_, model.intercept_, model.classes_ = _COEF[None].copy(), np.array([_INTERCEPT]), np.array([0, 1])
    return model


def minimal_counterfactual(func) -> None:
    """Check ``minimal_counterfactual(model, x, target, mad, *, mutable=None)``."""
    name = "minimal_counterfactual"
    model = _toy_logistic()
    for target, mutable in [(0.7, None), (0.05, np.array([False, True, True]))]:
        kwargs = {} if mutable is None else {"mutable": mutable}
        x_cf = _counterfactual(func, model, target, name=name, **kwargs)
        p_cf = float(model.predict_proba(x_cf[None])[0, 1])
        if abs(p_cf - target) > 1e-6:
            raise CheckFailed(f"`{name}` does not land on the target probability {target}: the model gives {p_cf:.4f}; "
                              "solve w·x' + b = logit(target) for the feature you change.")
        changed = np.flatnonzero(np.abs(x_cf - _X) > 1e-12)
        if len(changed) != 1:
            raise CheckFailed(f"`{name}` changes {len(changed)} features; under an L1 cost in MAD units the cheapest "
                              "counterfactual of a linear model changes exactly one.")
        if mutable is not None and not mutable[changed[0]]:
            raise CheckFailed(f"`{name}` changed a feature that `mutable` marks as fixed.")
    passed(f"{name}: lands exactly on the target probability, changes a single feature, respects `mutable`.")


def dpp_diversity(func) -> None:
    """Check ``dpp_diversity(C, mad)`` by properties of a determinant of similarities."""
    name = "dpp_diversity"
    C = np.array([[20.0, 0.5, -1.0], [25.0, 0.4, -1.0], [20.0, 0.5, 1.0]])
    C_before, mad = C.copy(), _MAD.copy()

    def value(rows, scale=_MAD):
        return float(as_array(call(func, rows, scale.copy(), name=name), name=name, shape=(), what="one number"))

    base = value(C)
    _unchanged(C, C_before, name, "counterfactuals")
    if not 0 < base < 1:
        raise CheckFailed(f"`{name}` is {base:.3g} for three different counterfactuals; a determinant of "
                          "similarities between 0 and 1 with ones on the diagonal lies between 0 and 1.")
    if abs(value(C[:1]) - 1) > 1e-12:
        raise CheckFailed(f"`{name}` of a single counterfactual should be 1 (the similarity of a point with itself).")
    if abs(value(np.vstack([C, C[:1]]))) > 1e-9:
        raise CheckFailed(f"`{name}` is not 0 when the same counterfactual appears twice; use the determinant.")
    farther = C.copy()
    farther[2, 2] = 3.0
    if not value(farther) > base:
        raise CheckFailed(f"`{name}` does not grow when one counterfactual moves away from the others.")
    rescaled = C * np.array([100.0, 1.0, 1.0])
    if abs(value(rescaled, _MAD * np.array([100.0, 1.0, 1.0])) - base) > 1e-9:
        raise CheckFailed(f"`{name}` changes when a feature and its MAD are expressed in other units; divide each "
                          "difference by the feature's MAD.")
    passed(f"{name}: a number in (0, 1), 1 for one counterfactual, 0 for a repeated one, larger when they spread, "
           "independent of units.")


# --- prototypes and criticisms ------------------------------------------------------------

def _toy_sample(seed: int, n: int, centre: float, spread: float = 0.5) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(size=(n, 2)) * spread + centre, 2)


def mmd2(func) -> None:
    """Check ``mmd2(X, Z, *, gamma)``."""
    name = "mmd2"
    X, Z = _toy_sample(1, 12, 0.0), _toy_sample(2, 4, 1.0)
    X_before, Z_before = X.copy(), Z.copy()
    value = float(as_array(call(func, X, Z, gamma=0.5, name=name), name=name, shape=(), what="one number"))
    _unchanged(X, X_before, name, "X")
    _unchanged(Z, Z_before, name, "Z")
    same = float(as_array(call(func, X, X.copy(), gamma=0.5, name=name), name=name, shape=()))
    if abs(same) > 1e-9:
        raise CheckFailed(f"`{name}` of a sample with itself is {same:.3g}, not 0; MMD² has three terms "
                          "(within X, within Z, and twice the cross term between them).")
    if value <= 0:
        raise CheckFailed(f"`{name}` is {value:.3g} for two different samples; MMD² is positive when they differ.")
    swapped = float(as_array(call(func, Z, X, gamma=0.5, name=name), name=name, shape=()))
    if not np.isclose(swapped, value, rtol=1e-9, atol=1e-12):
        raise CheckFailed(f"`{name}` is not symmetric: MMD²(X, Z) = {value:.4g} but MMD²(Z, X) = {swapped:.4g}.")
    passed(f"{name}: a number, 0 for identical samples, positive and symmetric for different ones.")


def _two_clusters() -> np.ndarray:
    X = np.concatenate([_toy_sample(3, 10, 0.0), _toy_sample(4, 5, 6.0)])
    sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-0.5 * sq)


def _indices(value, *, name: str, length: int, n: int) -> list[int]:
    values = as_array(value, name=name, shape=(length,), what="one row index per selected point")
    if np.any(values != np.round(values)) or np.any(values < 0) or np.any(values >= n):
        raise CheckFailed(f"`{name}` should return integer row indices between 0 and {n - 1}.")
    return [int(v) for v in values]


def greedy_prototypes(func) -> None:
    """Check ``greedy_prototypes(K, n_prototypes)``."""
    name = "greedy_prototypes"
    K = _two_clusters()
    K_before = K.copy()
    chosen = _indices(call(func, K, 4, name=name), name=name, length=4, n=len(K))
    _unchanged(K, K_before, name, "kernel matrix")
    if len(set(chosen)) != 4:
        raise CheckFailed(f"`{name}` picks the same point twice; choose each new prototype among the points not chosen yet.")
    two = _indices(call(func, K, 2, name=name), name=name, length=2, n=len(K))
    if two != chosen[:2]:
        raise CheckFailed(f"`{name}` is not greedy: the first two of four prototypes should be the two prototypes you "
                          "pick when asked for two.")
    if (two[0] < 10) == (two[1] < 10):
        raise CheckFailed(f"`{name}` puts both of two prototypes into the same one of two separate clusters; each step "
                          "should minimise the MMD² of the whole prototype set, which rewards covering the other cluster.")
    passed(f"{name}: distinct indices, greedy (nested) choices, one prototype per cluster for two clusters.")


def criticisms(func) -> None:
    """Check ``criticisms(K, prototypes, n_criticisms)``."""
    name = "criticisms"
    # 12 points in a wide cluster, 3 in a tight one far away; the prototypes are 10 points of the wide cluster.
    X = np.concatenate([_toy_sample(5, 12, 0.0, 0.7), _toy_sample(6, 3, 5.0, 0.1)])
    K = np.exp(-0.5 * ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    prototypes = np.arange(2, 12)
    K_before = K.copy()
    found = _indices(call(func, K, prototypes.copy(), 3, name=name), name=name, length=3, n=len(K))
    _unchanged(K, K_before, name, "kernel matrix")
    if set(found) & set(prototypes.tolist()):
        raise CheckFailed(f"`{name}` returns a prototype as a criticism; criticisms are chosen among the other points.")
    if set(found) != {12, 13, 14}:
        raise CheckFailed(f"`{name}` misses the small cluster that no prototype covers; the witness function "
                          "(data similarity minus prototype similarity) is largest in magnitude there.")
    passed(f"{name}: integer indices, no prototypes, the uncovered cluster comes first.")


# --- influential instances ----------------------------------------------------------------

def _toy_regression():
    rng = np.random.default_rng(8)
    X = np.column_stack([np.ones(15), np.round(rng.normal(size=(15, 2)), 2)])
    X[3, 1:] = [3.0, -2.5]  # far from the others: high leverage
    y = np.round(X @ np.array([1.0, 2.0, -1.0]) + rng.normal(size=15), 2)
    y[3] += 4.0
    return X, y


def dfbeta(func) -> None:
    """Check ``dfbeta(X, y)`` against one explicit refit."""
    name = "dfbeta"
    X, y = _toy_regression()
    X_before, y_before = X.copy(), y.copy()
    out = as_array(call(func, X, y, name=name), name=name, shape=X.shape,
                   what="one row per observation, one column per coefficient")
    _unchanged(X, X_before, name, "X")
    _unchanged(y, y_before, name, "y")
    keep = np.arange(len(X)) != 3
    refit = np.linalg.lstsq(X, y, rcond=None)[0] - np.linalg.lstsq(X[keep], y[keep], rcond=None)[0]
    if np.allclose(out[3], -refit, rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"`{name}` has the wrong sign: row i is beta(all rows) - beta(without row i).")
    if not np.allclose(out[3], refit, rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"`{name}`: row 3 of a small example is not what refitting without row 3 changes; "
                          "for a high-leverage point the factor 1 / (1 - h_ii) matters.")
    passed(f"{name}: shape {out.shape}, X and y untouched, agrees with a refit for a high-leverage point.")


def _toy_classification():
    rng = np.random.default_rng(9)
    X = np.column_stack([rng.normal(size=(30, 2)), np.ones(30)])
    y = (X[:, 0] - X[:, 1] + rng.normal(size=30) > 0).astype(float)
    return X, y


def _fit(X, y, lam):
    return LogisticRegression(C=1 / lam, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, y).coef_[0]


def influence_on_test_loss(func) -> None:
    """Check ``influence_on_test_loss(X, y, theta, lam, x_test, y_test)`` against a few refits."""
    name = "influence_on_test_loss"
    X, y = _toy_classification()
    lam = 1.0
    theta = _fit(X, y, lam)
    x_test, y_test = np.array([1.0, 1.0, 1.0]), 1.0
    X_before, theta_before = X.copy(), theta.copy()
    out = as_array(call(func, X, y, theta, lam, x_test, y_test, name=name), name=name, shape=(len(X),),
                   what="one value per training point")
    _unchanged(X, X_before, name, "X")
    _unchanged(theta, theta_before, name, "theta")

    def test_loss(t):
        z = float(x_test @ t)
        return np.logaddexp(0.0, z) - y_test * z

    exact = np.array([test_loss(_fit(np.delete(X, i, 0), np.delete(y, i), lam)) for i in range(len(X))]) - test_loss(theta)
    rho = float(spearmanr(out, exact)[0])
    if rho < 0:
        raise CheckFailed(f"`{name}` has the wrong sign: a positive value should mean that removing the point "
                          f"raises the test loss (your ranking correlates {rho:.2f} with refits).")
    if rho < 0.9:
        raise CheckFailed(f"`{name}` does not rank the training points like refitting without each of them "
                          f"(rank correlation {rho:.2f}); use the Hessian of the whole objective, L2 term included.")
    passed(f"{name}: one value per training point, inputs untouched, ranks points like refits (Spearman {rho:.2f}).")
