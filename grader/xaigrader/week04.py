"""Hidden tests of lab 4: counterfactuals, prototypes and criticisms, influential instances.

Oracles (alibi cannot be used: Business Source Licence, TensorFlow, numpy<2; exact
references are the stronger oracle anyway):

| student's                 | reference                                                                 | tolerance |
|---------------------------|---------------------------------------------------------------------------|-----------|
| ``wachter_counterfactual``| the cheapest counterfactual of a logistic model, by ``scipy.optimize.linprog`` (HiGHS) | reaches the target within eps; cost <= 1.5 x optimum |
| ``minimal_counterfactual``| ``scipy.optimize.linprog`` on the same L1 problem                          | 1e-7 relative |
| ``dpp_diversity``         | DiCE's ``dpp_style:inverse_dist`` determinant (without its 1e-4 jitter), written out | 1e-9 relative |
| ``mmd2``                  | the biased (V-statistic) MMD^2 with kernels from ``scipy.spatial.distance.cdist`` | 1e-7 relative |
| ``greedy_prototypes``     | a reference greedy that recomputes MMD^2 of every candidate set           | exact indices |
| ``criticisms``            | the witness function, ranked by absolute value, prototypes excluded        | exact indices |
| ``dfbeta``                | explicit least-squares refits and statsmodels ``OLSInfluence.dfbeta``     | 1e-7 relative |
| ``influence_on_test_loss``| captum ``NaiveInfluenceFunction`` (float64, full rank, ``hessian_reg`` = the L2 strength); exact leave-one-out refits (Newton) | 1e-6 of the largest score; Spearman >= 0.95 and 20 % of the largest change |

Conventions (``shared/xai-oracles.md``, W4): counterfactual cost = sum |x'_j - x_j| / MAD_j;
logistic objective = sum of log-losses + lam/2 |theta|^2 (no unpenalized intercept); DFBETA and
influence are "full fit minus leave-one-out", i.e. the influence of *removing* a training point
on a test loss: g_test' H^-1 g_i with H the Hessian of the whole objective. captum's score is the
same quantity when its Hessian is that of the summed loss and ``hessian_reg`` = lam.

Problems are fresh, from seeds the lab never uses. The worker that runs student code blocks
the modules in :data:`FORBIDDEN` (what a student could call instead of writing the method).
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import torch
from scipy.optimize import linprog
from scipy.spatial.distance import cdist
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from torch import nn

from xaikit.tabular_models import LogisticNet, fit_tabular_mlp, predict_positive

from .core import CheckFailed, as_array, call, expect_close, grading, passed, rng, unchanged

#: Top-level modules the lab forbids in answers: they hold the methods students write.
FORBIDDEN = ("captum", "statsmodels", "alibi", "dice_ml")
PRELOAD = ("torch", "scipy.optimize", "sklearn.linear_model", "xaikit.tabular_models")  # what the worker imports before student code

#: Generous per-check time budgets in seconds (about 10x the reference solution).
BUDGET_S = {
    "wachter_counterfactual": 60,
    "minimal_counterfactual": 10,
    "dpp_diversity": 5,
    "mmd2": 10,
    "greedy_prototypes": 20,
    "criticisms": 10,
    "dfbeta": 10,
    "influence_on_test_loss": 20,
}

COST_FACTOR = 1.5  # a gradient search may stop this much above the exact optimum (reference: <= 1.12)
EPS_SLACK = 1e-4  # float32 models


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _cost(x_cf: np.ndarray, x: np.ndarray, mad: np.ndarray) -> float:
    return float(np.sum(np.abs(x_cf - x) / mad))


# --- counterfactuals --------------------------------------------------------------------

def cheapest_counterfactual(coef, intercept, x, target, mad, mutable=None) -> np.ndarray:
    """The x' with coef.x' + intercept = logit(target) of least MAD-weighted L1 cost (linprog)."""
    coef, x, mad = (np.asarray(a, dtype=float) for a in (coef, x, mad))
    p = len(x)
    free = np.ones(p, bool) if mutable is None else np.asarray(mutable, bool)
    eye = np.eye(p)
    result = linprog(
        c=np.concatenate([np.zeros(p), 1 / mad]),  # variables: change d, bound t >= |d|
        A_ub=np.block([[eye, -eye], [-eye, -eye]]), b_ub=np.zeros(2 * p),
        A_eq=np.concatenate([coef, np.zeros(p)])[None], b_eq=[_logit(target) - coef @ x - intercept],
        bounds=[(None, None) if free[j] else (0, 0) for j in range(p)] + [(0, None)] * p,
        method="highs", options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if result.status != 0:
        raise RuntimeError(f"linprog failed: {result.message}")
    return x + result.x[:p]


def _logistic_problem(seed: int, p: int = 12):
    """A logistic model in raw units whose features live on scales from 0.03 to 30.

    In MAD units one feature matters most (|w_j| MAD_j = 1), a second 0.6, the rest about 0.3; the
    feature with the largest raw |w_j| is one of the weak ones on a tiny scale. So the cheapest
    counterfactual changes one feature; an L2 search spreads the change (about 2x the cost) and an
    L1 search in raw units moves the wrong feature (about 3x).
    """
    g = rng(seed)
    order = g.permutation(p)
    best, second, tiny = order[:3]
    mad = 10 ** g.uniform(-0.5, 1.5, size=p)
    mad[best] = 10 ** g.uniform(0.0, 1.0)
    mad[tiny] = 10 ** g.uniform(-1.5, -1.2)
    signs = g.choice([-1.0, 1.0], size=p)
    strength = 0.3 * g.uniform(0.9, 1.0, size=p)
    strength[best], strength[second] = 1.0, 0.6
    coef = signs * strength / mad
    x = g.normal(size=p) * mad * 2
    intercept = float(-coef @ x + g.choice([-1.0, 1.0]) * g.uniform(2.0, 3.0))  # logit(x) = +-(2 .. 3)
    return coef, intercept, x, mad, best, second


def _check_counterfactual(got, model, x, target, eps, mad, mutable, optimum_cf, *, name: str) -> float:
    p_cf = float(predict_positive(model, got)[0])
    if abs(p_cf - target) > eps + EPS_SLACK:
        raise CheckFailed(
            f"`{name}` does not reach the target on a fresh model: the prediction at your counterfactual is "
            f"{p_cf:.3f}, the target is {target} ± {eps}; keep increasing lambda until the prediction is close enough."
        )
    if mutable is not None and not np.allclose(got[~mutable], x[~mutable], rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"`{name}` changed a feature that `mutable` marks as fixed; change only the mutable features.")
    ratio = _cost(got, x, mad) / _cost(optimum_cf, x, mad)
    if ratio > COST_FACTOR:
        raise CheckFailed(
            f"`{name}` flips the prediction, but its MAD-weighted L1 cost is {ratio:.2f} times that of the cheapest "
            f"counterfactual on a fresh logistic model (allowed: {COST_FACTOR}); measure the change in MAD units with an "
            "L1 norm, and optimise the change in MAD units."
        )
    return ratio


def _two_moons_mlp(seed: int):
    """A small MLP trained on fresh 4-feature data with a curved class boundary."""
    g = rng(seed)
    n = 600
    X = g.normal(size=(n, 4)) * np.array([1.0, 10.0, 0.2, 3.0]) + np.array([0.0, 50.0, 1.0, -2.0])
    z = X[:, 0] + np.sin(1.5 * X[:, 0]) + (X[:, 1] - 50) / 10 - ((X[:, 2] - 1) / 0.2) ** 2 / 2 + 0.5
    y = (z + 0.3 * g.normal(size=n) > 0).astype(float)
    with torch.random.fork_rng():
        model = fit_tabular_mlp(X, y, hidden=(16,), epochs=300, lr=0.02, random_state=seed, progress=False)
    return X, model


def wachter_counterfactual(func) -> None:
    """Valid and near-optimal on logistic models (with and without fixed features); valid on an MLP."""
    name = "wachter_counterfactual"
    with grading(name):
        worst = 0.0
        # One search towards high probability with every feature free; one towards low probability with the
        # most useful feature fixed (the seeds give one instance on each side of the boundary).
        for seed, variant in [(9405, None), (9403, "fix best")]:
            coef, intercept, x, mad, best, _ = _logistic_problem(seed)
            model = LogisticNet(coef, intercept)
            p0 = 1 / (1 + np.exp(-(coef @ x + intercept)))
            target, eps = (0.75, 0.05) if p0 < 0.5 else (0.2, 0.04)
            mutable = None
            if variant:
                mutable = np.ones(len(x), bool)
                mutable[best] = False
            goal = target - eps if target > p0 else target + eps
            optimum_cf = cheapest_counterfactual(coef, intercept, x, goal, mad, mutable)
            x_given, mad_given = x.copy(), mad.copy()
            kwargs = {"eps": eps} if mutable is None else {"eps": eps, "mutable": mutable.copy()}
            got = as_array(call(func, model, x_given, target, mad_given, name=name, **kwargs), name=name,
                           shape=x.shape, what="one counterfactual, a value per feature")
            unchanged(x_given, x, name)
            if model.training:
                raise CheckFailed(f"`{name}` left the model in training mode; do not change the model.")
            worst = max(worst, _check_counterfactual(got, model, x, target, eps, mad, mutable, optimum_cf, name=name))
        # A non-linear model: the search must still reach the target (there is no closed form to compare with).
        X, mlp = _two_moons_mlp(9404)
        state = {k: v.clone() for k, v in mlp.state_dict().items()}
        probabilities = predict_positive(mlp, X)
        x = X[int(np.argmin(np.abs(probabilities - 0.1)))]
        mad = np.median(np.abs(X - np.median(X, axis=0)), axis=0)
        got = as_array(call(func, mlp, x.copy(), 0.7, mad.copy(), eps=0.05, name=name), name=name, shape=x.shape)
        p_cf = float(predict_positive(mlp, got)[0])
        if abs(p_cf - 0.7) > 0.05 + EPS_SLACK:
            raise CheckFailed(f"`{name}` does not reach the target on a fresh neural network: the prediction at your "
                              f"counterfactual is {p_cf:.3f}, the target 0.7 ± 0.05.")
        if any(not torch.equal(state[k], v) for k, v in mlp.state_dict().items()):
            raise CheckFailed(f"`{name}` changed the model's weights; optimise the input only.")
    passed(f"{name} reaches the target on fresh logistic models and a neural network, with a cost at most "
           f"{worst:.2f} times the exact optimum (allowed {COST_FACTOR}).")


def _fitted_logistic(seed: int, p: int):
    """A scikit-learn LogisticRegression fitted on fresh data with features on different scales."""
    g = rng(seed)
    scales = 10 ** g.uniform(-1, 1.5, size=p)
    X = g.normal(size=(300, p)) * scales + g.normal(size=p) * scales
    true = g.normal(size=p) / scales
    y = (g.random(300) < 1 / (1 + np.exp(-(X - X.mean(axis=0)) @ true))).astype(int)
    model = LogisticRegression(C=10.0, max_iter=5000).fit(X, y)
    mad = np.median(np.abs(X - np.median(X, axis=0)), axis=0)
    return model, X, mad


def minimal_counterfactual(func) -> None:
    """Equal to the linear programme's solution, with and without fixed features, in both directions."""
    name = "minimal_counterfactual"
    with grading(name):
        worst = 0.0
        for seed, p, row, target, fix in [(9411, 6, 3, 0.8, 0), (9412, 9, 10, 0.3, 2), (9413, 4, 25, 0.6, 1)]:
            model, X, mad = _fitted_logistic(seed, p)
            coef, intercept = model.coef_[0], float(model.intercept_[0])
            x = X[row]
            mutable = None
            if fix:
                mutable = np.ones(p, bool)
                mutable[np.argsort(-np.abs(coef) * mad)[:fix]] = False  # fix the most useful features
            expected = cheapest_counterfactual(coef, intercept, x, target, mad, mutable)
            importance = np.abs(coef) * mad * (1 if mutable is None else mutable)
            top2 = np.sort(importance)[-2:]
            assert top2[1] > 1.01 * top2[0], "test problem has a tie"  # unique optimum
            x_given = x.copy()
            kwargs = {} if mutable is None else {"mutable": mutable.copy()}
            got = as_array(call(func, model, x_given, target, mad.copy(), name=name, **kwargs), name=name,
                           shape=x.shape, what="one counterfactual, a value per feature")
            unchanged(x_given, x, name)
            level = coef @ got + intercept
            if abs(level - _logit(target)) > 1e-6 * max(1.0, abs(_logit(target))):
                raise CheckFailed(f"`{name}` does not land on the target probability: the model gives "
                                  f"{1 / (1 + np.exp(-level)):.4f} at your counterfactual, the target is {target}.")
            worst = max(worst, expect_close(got, expected, name=name,
                                            reference="the cheapest counterfactual (MAD-weighted L1, by linear programming)",
                                            rtol=1e-7, atol=1e-7 * mad) / float(mad.min()))
    passed(f"{name} equals the exact L1 optimum from linear programming on three fresh models "
           f"(largest difference {worst:.1e} MAD).")


def reference_dpp(C: np.ndarray, mad: np.ndarray) -> float:
    """DiCE's 'dpp_style:inverse_dist' diversity without its 1e-4 diagonal jitter: det(1 / (1 + d_ij))."""
    k = len(C)
    K = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            K[i, j] = 1.0 / (1.0 + float(np.sum(np.abs(C[i] - C[j]) / mad)))
    return float(np.linalg.det(K))


def dpp_diversity(func) -> None:
    """Equal to the determinant on fresh sets of counterfactuals; 0 for a repeated one; order-free."""
    name = "dpp_diversity"
    with grading(name):
        g = rng(9471)
        worst = 0.0
        for k, p in [(3, 4), (5, 6), (2, 3), (4, 5)]:
            mad = 10 ** g.uniform(-1.5, 1.5, size=p)
            C = g.normal(size=(k, p)) * mad * g.uniform(0.2, 1.0)
            C_given, mad_given = C.copy(), mad.copy()
            got = float(as_array(call(func, C_given, mad_given, name=name), name=name, shape=(), what="one number"))
            unchanged(C_given, C, name)
            unchanged(mad_given, mad, name)
            expected = reference_dpp(C, mad)
            if abs(got - expected) > 1e-9 * max(abs(expected), 1e-3):
                raise CheckFailed(f"`{name}` gives {got:.6g} for {k} fresh counterfactuals of {p} features; the "
                                  f"determinant of 1 / (1 + MAD-weighted L1 distance) is {expected:.6g}.")
            worst = max(worst, abs(got - expected))
            shuffled = float(as_array(call(func, C[::-1].copy(), mad.copy(), name=name), name=name, shape=()))
            if abs(shuffled - got) > 1e-9 * max(abs(got), 1e-3):
                raise CheckFailed(f"`{name}` depends on the order of the counterfactuals; the determinant does not.")
        repeated = np.vstack([C, C[:1]])
        if abs(float(as_array(call(func, repeated, mad.copy(), name=name), name=name, shape=()))) > 1e-9:
            raise CheckFailed(f"`{name}` is not 0 for a set that contains the same counterfactual twice.")
    passed(f"{name} equals DiCE's determinant on fresh sets (largest difference {worst:.1e}), is order-free and 0 "
           "for a repeated counterfactual.")


# --- prototypes and criticisms ----------------------------------------------------------

def _rbf(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    return np.exp(-gamma * cdist(A, B, "sqeuclidean"))


def reference_mmd2(X: np.ndarray, Z: np.ndarray, gamma: float) -> float:
    """Biased MMD^2 between the samples X and Z with the RBF kernel exp(-gamma |a - b|^2)."""
    return float(_rbf(X, X, gamma).mean() - 2 * _rbf(X, Z, gamma).mean() + _rbf(Z, Z, gamma).mean())


def mmd2(func) -> None:
    name = "mmd2"
    with grading(name):
        worst = 0.0
        g = rng(9421)
        for n, m, d, gamma in [(40, 7, 3, 0.5), (25, 25, 5, 0.1), (60, 3, 2, 2.0)]:
            X = g.normal(size=(n, d))
            Z = g.normal(size=(m, d)) * 0.7 + 0.5
            X_given, Z_given = X.copy(), Z.copy()
            got = as_array(call(func, X_given, Z_given, gamma=gamma, name=name), name=name, shape=(),
                           what="one number")
            unchanged(X_given, X, name)
            unchanged(Z_given, Z, name)
            expected = reference_mmd2(X, Z, gamma)
            if abs(float(got) - expected) > 1e-7 * abs(expected) + 1e-10:
                raise CheckFailed(f"`{name}` gives {float(got):.6g} for two fresh samples ({n} and {m} points, gamma "
                                  f"{gamma}); the exact MMD² formula gives {expected:.6g}.")
            worst = max(worst, abs(float(got) - expected))
        same = as_array(call(func, X, X.copy(), gamma=1.0, name=name), name=name, shape=())
        if abs(same) > 1e-9:
            raise CheckFailed(f"`{name}` of a sample with itself is {float(same):.3g}, not 0.")
    passed(f"{name} equals the exact formula on fresh samples of different sizes (largest difference {worst:.1e}).")


def reference_greedy(K: np.ndarray, n_prototypes: int) -> list[int]:
    """Greedy MMD-critic: add the point whose inclusion gives the smallest MMD^2 (lowest index on ties)."""
    n = len(K)
    chosen: list[int] = []
    for _ in range(n_prototypes):
        best, best_value = -1, np.inf
        for c in range(n):
            if c in chosen:
                continue
            S = chosen + [c]
            value = K.mean() - 2 * K[:, S].mean() + K[np.ix_(S, S)].mean()
            if value < best_value - 1e-15:
                best, best_value = c, value
        chosen.append(best)
    return chosen


def _clusters(seed: int, sizes, spread=0.6, d=2):
    g = rng(seed)
    centres = g.normal(size=(len(sizes), d)) * 4
    return np.concatenate([c + spread * g.normal(size=(s, d)) for c, s in zip(centres, sizes)])


def _as_indices(got, *, name: str, length: int, n: int) -> list[int]:
    values = as_array(got, name=name, shape=(length,), what="one index per selected point")
    if np.any(values != np.round(values)) or np.any(values < 0) or np.any(values >= n):
        raise CheckFailed(f"`{name}` should return integer row indices between 0 and {n - 1}.")
    return [int(v) for v in values]


def greedy_prototypes(func) -> None:
    name = "greedy_prototypes"
    with grading(name):
        for seed, sizes, gamma, m in [(9431, (40, 25, 10, 5), 0.3, 6), (9432, (30, 30, 30), 1.0, 9)]:
            X = _clusters(seed, sizes)
            K = _rbf(X, X, gamma)
            expected = reference_greedy(K, m)
            K_given = K.copy()
            got = _as_indices(call(func, K_given, m, name=name), name=name, length=m, n=len(K))
            unchanged(K_given, K, name)
            if got != expected:
                k = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
                raise CheckFailed(
                    f"`{name}` differs from the reference greedy MMD-critic on fresh data at step {k + 1}: you pick point "
                    f"{got[k]}, the point that gives the smallest MMD² with the prototypes chosen so far is {expected[k]}."
                )
    passed(f"{name} picks the same prototypes, in the same order, as a reference greedy MMD-critic on fresh data.")


def reference_criticisms(K: np.ndarray, prototypes, n_criticisms: int) -> list[int]:
    """Non-prototypes ranked by |witness|, witness(x) = mean_i k(x, x_i) - mean_j k(x, z_j)."""
    witness = K.mean(axis=0) - K[list(prototypes)].mean(axis=0)
    candidates = [i for i in np.argsort(-np.abs(witness), kind="stable") if i not in set(prototypes)]
    return [int(i) for i in candidates[:n_criticisms]]


def _criticism_problem(seed: int):
    """Clusters with prototypes piled into a small one: large witnesses of both signs."""
    X = _clusters(seed, (50, 30, 6, 3))
    K = _rbf(X, X, 0.4)
    g = rng(seed + 1)
    prototypes = [int(g.integers(0, 50)), 80, 81, 82, 86]  # one in the big cluster, four in the small ones
    return K, prototypes


def criticisms(func) -> None:
    name = "criticisms"
    with grading(name):
        for seed, c in [(9441, 6), (9442, 10)]:
            K, prototypes = _criticism_problem(seed)
            expected = reference_criticisms(K, prototypes, c)
            K_given = K.copy()
            got = _as_indices(call(func, K_given, np.array(prototypes), c, name=name), name=name, length=c, n=len(K))
            unchanged(K_given, K, name)
            if set(got) & set(prototypes):
                raise CheckFailed(f"`{name}` returns a prototype as a criticism; criticisms are chosen among the other points.")
            if got != expected:
                k = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
                raise CheckFailed(
                    f"`{name}` differs from the witness-function ranking on fresh data at rank {k + 1}: you give point "
                    f"{got[k]}, the point with the next largest absolute witness value is {expected[k]}."
                )
    passed(f"{name} matches the ranking by the absolute witness function on fresh data, prototypes excluded.")


# --- influential instances --------------------------------------------------------------

def _regression_problem(seed: int, n: int = 60):
    g = rng(seed)
    X = np.column_stack([np.ones(n), g.normal(size=(n, 3)) * [1.0, 5.0, 0.2]])
    X[7, 1:] = [4.0, -15.0, 0.9]  # a high-leverage point
    y = X @ np.array([1.0, 2.0, -0.3, 4.0]) + g.standard_t(3, size=n)
    y[7] += 6.0
    return X, y


def refit_dfbeta(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """beta(full) - beta(without row i), by n explicit least-squares fits."""
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    keep = np.ones(len(X), bool)
    out = np.empty_like(X, dtype=float)
    for i in range(len(X)):
        keep[i] = False
        out[i] = beta - np.linalg.lstsq(X[keep], y[keep], rcond=None)[0]
        keep[i] = True
    return out


def dfbeta(func) -> None:
    name = "dfbeta"
    with grading(name):
        from statsmodels.api import OLS
        from statsmodels.stats.outliers_influence import OLSInfluence

        worst = 0.0
        for seed, n in [(9451, 60), (9452, 35)]:
            X, y = _regression_problem(seed, n)
            X_given, y_given = X.copy(), y.copy()
            got = as_array(call(func, X_given, y_given, name=name), name=name, shape=X.shape,
                           what="one row per observation, one column per coefficient")
            unchanged(X_given, X, name)
            unchanged(y_given, y, name)
            refits = refit_dfbeta(X, y)
            scale = np.abs(refits).max(axis=0)  # per coefficient: the columns live on different scales
            worst = max(worst, expect_close(got, refits, name=name,
                                            reference="explicit leave-one-out refits (full fit minus refit)",
                                            rtol=1e-7, atol=1e-8 * scale) / float(scale.min()))
            statsmodels_dfbeta = OLSInfluence(OLS(y, X).fit()).dfbeta
            worst = max(worst, expect_close(got, statsmodels_dfbeta, name=name,
                                            reference="statsmodels' OLSInfluence.dfbeta", rtol=1e-7,
                                            atol=1e-8 * scale) / float(scale.min()))
    passed(f"{name} equals explicit leave-one-out refits and statsmodels' OLSInfluence on fresh data "
           f"(largest scaled difference {worst:.1e}).")


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def fit_l2_logistic(X: np.ndarray, y: np.ndarray, lam: float, theta: np.ndarray | None = None) -> np.ndarray:
    """argmin sum_i log-loss_i + lam/2 |theta|^2 by Newton's method, to machine precision."""
    theta = np.zeros(X.shape[1]) if theta is None else theta.copy()
    for _ in range(100):
        p = _sigmoid(X @ theta)
        gradient = X.T @ (p - y) + lam * theta
        hessian = (X * (p * (1 - p))[:, None]).T @ X + lam * np.eye(X.shape[1])
        step = np.linalg.solve(hessian, gradient)
        theta = theta - step
        if np.max(np.abs(step)) < 1e-13:
            break
    return theta


def _log_loss(theta, x, y) -> float:
    z = float(x @ theta)
    return float(np.logaddexp(0.0, z) - y * z)


def loo_test_loss_change(X, y, theta, lam, x_test, y_test) -> np.ndarray:
    """Exact change of the test loss when each training point is removed and the model refitted."""
    base = _log_loss(theta, x_test, y_test)
    keep = np.ones(len(X), bool)
    out = np.empty(len(X))
    for i in range(len(X)):
        keep[i] = False
        out[i] = _log_loss(fit_l2_logistic(X[keep], y[keep], lam, theta), x_test, y_test) - base
        keep[i] = True
    return out


def captum_influence(X, y, theta, lam, x_test, y_test) -> np.ndarray:
    """captum's NaiveInfluenceFunction for the linear logit model (float64, all eigenvalues kept)."""
    from captum.influence import NaiveInfluenceFunction

    model = nn.Linear(X.shape[1], 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor(theta)[None])
    dataset = torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y, dtype=torch.float64)[:, None])
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        checkpoint = os.path.join(tmp, "model.pt")
        torch.save(model.state_dict(), checkpoint)
        influence = NaiveInfluenceFunction(model, dataset, checkpoint, loss_fn=nn.BCEWithLogitsLoss(reduction="none"),
                                           batch_size=len(X), hessian_reg=lam, projection_dim=X.shape[1],
                                           hessian_inverse_tol=1e-12)
        scores = influence.influence((torch.tensor(x_test)[None], torch.tensor([[float(y_test)]], dtype=torch.float64)))
    return scores.numpy()[0]


def _classification_problem(seed: int, n: int = 150, p: int = 5):
    g = rng(seed)
    X = np.column_stack([g.normal(size=(n, p - 1)) * g.uniform(0.5, 2.0, size=p - 1), np.ones(n)])
    y = (g.random(n) < _sigmoid(X @ g.normal(size=p))).astype(float)
    x_tests = [np.append(g.normal(size=p - 1), 1.0) for _ in range(2)]
    return X, y, x_tests


def influence_on_test_loss(func) -> None:
    name = "influence_on_test_loss"
    with grading(name):
        worst, worst_rho = 0.0, 1.0
        for seed, lam in [(9461, 1.0), (9462, 3.0)]:
            X, y, x_tests = _classification_problem(seed)
            theta = fit_l2_logistic(X, y, lam)
            for x_test in x_tests:
                y_test = float(_sigmoid(x_test @ theta) < 0.5)  # a test point the model gets wrong
                X_given, y_given, theta_given = X.copy(), y.copy(), theta.copy()
                got = as_array(call(func, X_given, y_given, theta_given, lam, x_test.copy(), y_test, name=name),
                               name=name, shape=(len(X),), what="one value per training point")
                unchanged(X_given, X, name)
                unchanged(theta_given, theta, name)
                oracle = captum_influence(X, y, theta, lam, x_test, y_test)
                scale = float(np.abs(oracle).max())
                worst = max(worst, expect_close(got, oracle, name=name,
                                                reference="captum's NaiveInfluenceFunction (Hessian of the summed loss "
                                                          "plus the L2 term)", rtol=1e-6, atol=1e-6 * scale) / scale)
                exact = loo_test_loss_change(X, y, theta, lam, x_test, y_test)
                rho = float(spearmanr(got, exact)[0])
                worst_rho = min(worst_rho, rho)
                if rho < 0.95 or np.max(np.abs(got - exact)) > 0.2 * np.abs(exact).max():
                    raise CheckFailed(f"`{name}` does not predict the exact leave-one-out changes of the test loss "
                                      f"(rank correlation {rho:.2f}).")
    passed(f"{name} matches captum's NaiveInfluenceFunction (largest difference {worst:.1e} of the largest score) "
           f"and ranks the training points like exact leave-one-out refits (Spearman >= {worst_rho:.3f}).")
