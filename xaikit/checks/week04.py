"""Visible checks of lab 4 (example-based explanations).

Each check runs the student's function on one small visible example and compares it with a
reference computed inside the check, by a library the lab forbids in answers or by an exact
property of the toy problem:

- counterfactuals: the cheapest counterfactual of a logistic model by linear programming
  (``scipy.optimize.linprog``, which the lab forbids for counterfactuals); DiCE's diversity
  of two counterfactuals, 1 - 1 / (1 + d)², and of a repeated one, 0;
- MMD-critic: MMD² of one point against another, 2 - 2 k(a, b); MMD² unchanged when every
  point is repeated; the greedy choice by recomputing MMD² of every candidate set; the
  criticisms by the witness function, point by point;
- influential instances: statsmodels' ``OLSInfluence.dfbeta`` and captum's
  ``NaiveInfluenceFunction``.

A failure says in one sentence which aspect is off (the kernel, the units, the sign, the
Hessian ...), never the expected values. The hidden tests compare with the same kind of
references on fresh data. Ask for a hint with ``check.<function>.hint()``;
``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from ..tabular_models import LogisticNet, predict_positive
from . import CheckFailed, Summary, as_array, call, graded, install_not_written_handler, passed

__all__ = [
    "criticisms",
    "dfbeta",
    "dpp_diversity",
    "greedy_prototypes",
    "influence_on_test_loss",
    "minimal_counterfactual",
    "mmd2",
    "summary",
    "wachter_counterfactual",
]


def _unchanged(given, before, name: str, what: str = "x") -> None:
    if not np.array_equal(np.asarray(given), np.asarray(before)):
        raise CheckFailed(f"`{name}` changed the {what} it was given; work on a copy so the data stay intact.")


# --- counterfactuals ----------------------------------------------------------------------

# Four features on different scales. Per MAD, feature 0 moves the logit most (3 per MAD, vs 1, 1
# and 1); per raw unit, feature 1 does (20 vs 3, 0.05 and 0.5); per squared MAD, feature 2 does.
# So a search in raw units, or one that divides by MAD², moves another feature than the optimum.
_MAD = np.array([1.0, 0.05, 20.0, 2.0])
_COEF = np.array([3.0, 1.0, 1.0, 1.0]) / _MAD
_X = np.array([2.0, 0.5, 30.0, 3.0])
_INTERCEPT = float(-2.0 - _COEF @ _X)  # logit -2 at _X: probability 0.12


def _counterfactual(func, model, target, *, name: str, **kwargs) -> np.ndarray:
    x, mad = _X.copy(), _MAD.copy()
    out = as_array(call(func, model, x, target, mad, name=name, **kwargs), name=name, shape=_X.shape,
                   what="one counterfactual: a value per feature")
    _unchanged(x, _X, name)
    _unchanged(mad, _MAD, name, "mad")
    return out


def _cheapest_cost(target: float, mutable=None) -> float:
    """MAD-weighted L1 cost of the cheapest x' with _COEF·x' + _INTERCEPT = logit(target), by linear programming."""
    from scipy.optimize import linprog

    p = len(_X)
    free = np.ones(p, bool) if mutable is None else np.asarray(mutable, bool)
    eye = np.eye(p)
    result = linprog(c=np.concatenate([np.zeros(p), 1 / _MAD]),  # variables: the change d and a bound t >= |d|
                     A_ub=np.block([[eye, -eye], [-eye, -eye]]), b_ub=np.zeros(2 * p),
                     A_eq=np.concatenate([_COEF, np.zeros(p)])[None],
                     b_eq=[np.log(target / (1 - target)) - _COEF @ _X - _INTERCEPT],
                     bounds=[(None, None) if free[j] else (0, 0) for j in range(p)] + [(0, None)] * p, method="highs")
    return float(result.fun)


def _cost(x_cf: np.ndarray) -> float:
    return float(np.sum(np.abs(x_cf - _X) / _MAD))


@graded(answer="wachter_counterfactual", part="1", points=4,
        hint="lecture 4, §2 'Wachter's loss and the MAD-weighted L1 distance': optimise the change u in MAD units "
             "(x' = x + mask·u·MAD) with the L1 penalty sum |u|; after every round that misses the target by more than "
             "eps multiply lambda by lam_factor; fixed features never move; gradients w.r.t. u only.")
def wachter_counterfactual(func) -> None:
    """Check ``wachter_counterfactual(model, x, target, mad, *, mutable=None, eps=0.05, ...)``.

    On a logistic model whose features live on different scales: the search must reach the
    target and cost at most 1.5 times the cheapest counterfactual (linear programming).
    """
    name = "wachter_counterfactual"
    model = LogisticNet(_COEF, _INTERCEPT)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    mutable = np.array([True, True, True, False])
    x_cf = _counterfactual(func, model, 0.7, name=name, mutable=mutable.copy())
    if any(not torch.equal(state[k], v) for k, v in model.state_dict().items()) or model.training:
        raise CheckFailed(f"`{name}` changed the model; optimise the counterfactual only (the model stays as it is).")
    p_cf = float(predict_positive(model, x_cf)[0])
    if abs(p_cf - 0.7) > 0.05 + 1e-4:
        raise CheckFailed(f"`{name}` does not reach the target: the model gives {p_cf:.3f} at your counterfactual, "
                          "the target is 0.7 ± 0.05; multiply lambda by lam_factor after each round that misses it.")
    if x_cf[3] != _X[3]:
        raise CheckFailed(f"`{name}` changed a feature that `mutable` marks as fixed.")
    ratio = _cost(x_cf) / _cheapest_cost(0.65, mutable)
    change = np.abs(x_cf - _X) / _MAD
    if ratio > 1.5 and change[0] < 0.5 * change.sum():
        raise CheckFailed(f"`{name}` moves the wrong feature: it costs {ratio:.1f} times the cheapest counterfactual; "
                          "measure the change in MAD units, sum |x'_j - x_j| / MAD_j, and optimise the change in those "
                          "units (x' = x + u·MAD).")
    if ratio > 1.5 or change[0] < 0.8 * change.sum():
        raise CheckFailed(f"`{name}` spreads the change over several features (cost {ratio:.2f} times the cheapest "
                          "counterfactual); the cost is the L1 distance in MAD units, sum |x'_j - x_j| / MAD_j, which "
                          "favours changing one feature.")
    passed(f"{name}: reaches the target at {ratio:.2f} times the cost of the cheapest counterfactual (linear programming), "
           "respects `mutable`, leaves x and the model intact.")


def _toy_logistic() -> LogisticRegression:
    model = LogisticRegression()
    model.coef_, model.intercept_, model.classes_ = _COEF[None].copy(), np.array([_INTERCEPT]), np.array([0, 1])
    return model


@graded(answer="minimal_counterfactual", part="1", points=3,
        hint="lecture 4, §2 and lab part 1: on the hyperplane w·x' + b = logit(target) the cheapest L1 change in MAD "
             "units moves ONE feature, the mutable one whose change of one MAD moves the logit most (|w_j|·MAD_j, "
             "not the largest raw |w_j|); solve for its new value.")
def minimal_counterfactual(func) -> None:
    """Check ``minimal_counterfactual(model, x, target, mad, *, mutable=None)`` against linear programming.

    Two cases: every feature free (one cheapest feature) and the cheapest one fixed (then
    three features tie: any of them is optimal).
    """
    name = "minimal_counterfactual"
    model = _toy_logistic()
    for target, mutable in [(0.7, None), (0.05, np.array([False, True, True, True]))]:
        kwargs = {} if mutable is None else {"mutable": mutable.copy()}
        x_cf = _counterfactual(func, model, target, name=name, **kwargs)
        p_cf = float(model.predict_proba(x_cf[None])[0, 1])
        if abs(p_cf - target) > 1e-6:
            raise CheckFailed(f"`{name}` does not land on the target probability {target}: the model gives {p_cf:.4f}; "
                              "solve w·x' + b = logit(target) for the feature you change.")
        changed = np.flatnonzero(np.abs(x_cf - _X) > 1e-12)
        if mutable is not None and not np.all(mutable[changed]):
            raise CheckFailed(f"`{name}` changed a feature that `mutable` marks as fixed.")
        if len(changed) != 1:
            raise CheckFailed(f"`{name}` changes {len(changed)} features; under an L1 cost in MAD units the cheapest "
                              "counterfactual of a linear model changes exactly one.")
        ratio = _cost(x_cf) / _cheapest_cost(target, mutable)
        if ratio > 1 + 1e-6:
            raise CheckFailed(f"`{name}` lands on the target but costs {ratio:.2f} times the cheapest counterfactual "
                              "(linear programming): it changes a feature that is not the cheapest to move; count the "
                              "cost of a change in MADs, |x'_j - x_j| / MAD_j.")
    passed(f"{name}: lands exactly on the target probability, as cheap as linear programming's optimum, changes a single "
           "feature, respects `mutable`.")


@graded(answer="dpp_diversity", part="2", points=2,
        hint="lecture 4, §2 'Counterfactuals from the data, the Rashomon effect and diversity': the determinant of "
             "K_ij = 1 / (1 + d_ij), d_ij the L1 distance with each feature divided by its MAD (not exp(-d), not an "
             "average similarity, not an L2 distance).")
def dpp_diversity(func) -> None:
    """Check ``dpp_diversity(C, mad)`` by exact properties of a determinant of similarities.

    For two counterfactuals at MAD-weighted L1 distance d the determinant is 1 - 1 / (1 + d)².
    """
    name = "dpp_diversity"
    mad = np.array([10.0, 0.1, 1.0])
    C = np.array([[20.0, 0.5, -1.0], [25.0, 0.4, -1.0], [20.0, 0.5, 1.0]])
    C_before = C.copy()

    def value(rows, scale=mad):
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
    rescaled = C * np.array([100.0, 1.0, 1.0])
    if abs(value(rescaled, mad * np.array([100.0, 1.0, 1.0])) - base) > 1e-9:
        raise CheckFailed(f"`{name}` changes when a feature and its MAD are expressed in other units; divide each "
                          "difference by the feature's MAD.")
    # Two counterfactuals that differ in two features by 0.5 and 1 MAD: d = 1.5 (L1), 1.118 (L2).
    pair = C[:2]
    steps = np.abs(pair[0] - pair[1]) / mad
    got = value(pair)
    if not np.isclose(got, 1 - 1 / (1 + steps.sum()) ** 2, rtol=1e-9, atol=1e-12):
        if np.isclose(got, 1 - np.exp(-2 * steps.sum()), rtol=1e-9):
            raise CheckFailed(f"`{name}` uses exp(-d) as the similarity; DiCE's inverse-distance kernel is 1 / (1 + d), "
                              "with d the MAD-weighted L1 distance.")
        if np.isclose(got, 1 - 1 / (1 + np.sqrt((steps**2).sum())) ** 2, rtol=1e-9):
            raise CheckFailed(f"`{name}` measures the distance with an L2 norm; d is the L1 distance, the sum over "
                              "features of |c_if - c_jf| / MAD_f.")
        raise CheckFailed(f"`{name}` is off for two counterfactuals that differ in two features: the similarity should "
                          "be 1 / (1 + d) with d = sum_f |c_if - c_jf| / MAD_f, and the diversity the determinant.")
    farther = C.copy()
    farther[2, 2] = 3.0
    if not value(farther) > base:
        raise CheckFailed(f"`{name}` does not grow when one counterfactual moves away from the others.")
    passed(f"{name}: a number in (0, 1), 1 for one counterfactual, 0 for a repeated one, the 1 / (1 + d) similarity of "
           "an L1 distance in MADs, larger when they spread, independent of units.")


# --- prototypes and criticisms ------------------------------------------------------------

def _toy_sample(seed: int, n: int, centre, spread: float = 0.5) -> np.ndarray:
    return np.round(np.random.default_rng(seed).normal(size=(n, 2)) * spread + centre, 2)


@graded(answer="mmd2", part="3", points=2,
        hint="lecture 4, §4 'Prototypes and criticisms': three MEANS of kernel values, within X, within Z and minus "
             "twice the cross term; the kernel is exp(-gamma·||a - b||²) with the SQUARED distance.")
def mmd2(func) -> None:
    """Check ``mmd2(X, Z, *, gamma)`` by exact properties of the biased MMD² with an RBF kernel."""
    from sklearn.metrics.pairwise import rbf_kernel

    name = "mmd2"
    X, Z = _toy_sample(1, 12, 0.0), _toy_sample(2, 4, 1.0)
    X_before, Z_before = X.copy(), Z.copy()

    def value(A, B, gamma=0.5):
        return float(as_array(call(func, A, B, gamma=gamma, name=name), name=name, shape=(), what="one number"))

    got = value(X, Z)
    _unchanged(X, X_before, name, "X")
    _unchanged(Z, Z_before, name, "Z")
    same = value(X, X.copy())
    if abs(same) > 1e-9:
        raise CheckFailed(f"`{name}` of a sample with itself is {same:.3g}, not 0; MMD² has three terms "
                          "(within X, within Z, and twice the cross term between them).")
    if got <= 0:
        raise CheckFailed(f"`{name}` is {got:.3g} for two different samples; MMD² is positive when they differ.")
    # One point against one point: MMD² = k(a, a) + k(b, b) - 2 k(a, b) = 2 - 2 exp(-gamma |a - b|²).
    a, b = np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]])
    for gamma in (0.5, 2.0):
        if not np.isclose(value(a, b, gamma), 2 - 2 * np.exp(-gamma * 2.0), rtol=1e-7, atol=1e-12):
            raise CheckFailed(f"`{name}` of one point against another should be 2 - 2·k(a, b); check the kernel: "
                              "exp(-gamma·||a - b||²), with the squared Euclidean distance and gamma as given.")
    if not np.isclose(value(np.repeat(X, 2, axis=0), Z), got, rtol=1e-7, atol=1e-12):
        raise CheckFailed(f"`{name}` changes when every point of X appears twice; each term is a MEAN over pairs "
                          "(divide by n², n·m and m²), not a sum.")
    reference = rbf_kernel(X, X, gamma=0.5).mean() - 2 * rbf_kernel(X, Z, gamma=0.5).mean() + \
        rbf_kernel(Z, Z, gamma=0.5).mean()
    if not np.isclose(got, reference, rtol=1e-7, atol=1e-12):
        raise CheckFailed(f"`{name}` differs from the formula on a small example: mean k(x, x') - 2 mean k(x, z) "
                          "+ mean k(z, z'), every pair counted (the diagonal too).")
    swapped = value(Z, X)
    if not np.isclose(swapped, got, rtol=1e-9, atol=1e-12):
        raise CheckFailed(f"`{name}` is not symmetric: MMD²(X, Z) = {got:.4g} but MMD²(Z, X) = {swapped:.4g}.")
    passed(f"{name}: 0 for identical samples, 2 - 2k(a, b) for two points, means not sums, the formula on a small "
           "example, symmetric.")


def _two_clusters() -> np.ndarray:
    """Kernel matrix of 16 points: a cluster of 11 (rows 0-10; rows 5 and 6 are the same point) and one of 5."""
    X = np.concatenate([_toy_sample(3, 10, 0.0), _toy_sample(4, 5, 6.0)])
    X = np.insert(X, 6, X[5], axis=0)  # a tie: the first prototype and a copy of it
    sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    return np.exp(-0.5 * sq)


def _indices(value, *, name: str, length: int, n: int) -> list[int]:
    values = as_array(value, name=name, shape=(length,), what="one row index per selected point")
    if np.any(values != np.round(values)) or np.any(values < 0) or np.any(values >= n):
        raise CheckFailed(f"`{name}` should return integer row indices between 0 and {n - 1}.")
    return [int(v) for v in values]


@graded(answer="greedy_prototypes", part="3", points=3,
        hint="lecture 4, §4: at each step add the point, among those not chosen yet, that makes MMD²(data, chosen + "
             "that point) smallest; every term is a mean over the NEW set of m + 1 prototypes; ties: lowest index.")
def greedy_prototypes(func) -> None:
    """Check ``greedy_prototypes(K, n_prototypes)`` against a greedy search that recomputes MMD² of every candidate set."""
    name = "greedy_prototypes"
    K = _two_clusters()
    n, m = len(K), 6
    K_before = K.copy()
    chosen = _indices(call(func, K, m, name=name), name=name, length=m, n=n)
    _unchanged(K, K_before, name, "kernel matrix")
    if len(set(chosen)) != m:
        raise CheckFailed(f"`{name}` picks the same point twice; choose each new prototype among the points not chosen yet.")
    two = _indices(call(func, K, 2, name=name), name=name, length=2, n=n)
    if two != chosen[:2]:
        raise CheckFailed(f"`{name}` is not greedy: the first two of {m} prototypes should be the two prototypes you "
                          "pick when asked for two.")
    if (two[0] < 11) == (two[1] < 11):
        raise CheckFailed(f"`{name}` puts both of two prototypes into the same one of two separate clusters; each step "
                          "should minimise the MMD² of the whole prototype set, which rewards covering the other cluster.")
    # The greedy choice by its definition: MMD² of the data and every candidate set, recomputed from K.
    expected: list[int] = []
    for _ in range(m):
        values = [np.inf if c in expected else
                  K.mean() - 2 * K[:, expected + [c]].mean() + K[np.ix_(expected + [c], expected + [c])].mean()
                  for c in range(n)]
        expected.append(int(np.argmin(values)))
    if chosen != expected:
        step = next(i for i, (a, b) in enumerate(zip(chosen, expected)) if a != b)
        if K[chosen[step], expected[step]] == 1.0 and chosen[step] > expected[step]:
            raise CheckFailed(f"`{name}` breaks a tie between two identical points by the higher index; take the lowest "
                              "index (np.argmin returns the first minimum).")
        raise CheckFailed(f"`{name}` departs from the greedy choice at step {step + 1} of {m}: add the point that makes "
                          "MMD²(data, chosen + point) smallest, each term a mean over the new set of prototypes.")
    passed(f"{name}: distinct indices, greedy (nested) choices, one prototype per cluster, the same {m} prototypes as "
           "recomputing MMD² for every candidate, lowest index on a tie.")


@graded(answer="criticisms", part="3", points=2,
        hint="lecture 4, §4: witness(x) = mean_i k(x, x_i) - mean_j k(x, z_j); rank the NON-prototypes by |witness| "
             "(both signs: too few prototypes nearby or too many), largest first, ties by the lowest index (stable sort).")
def criticisms(func) -> None:
    """Check ``criticisms(K, prototypes, n_criticisms)`` against the witness function computed point by point.

    20 points: a wide cluster (rows 0-11), a small one no prototype covers (12-14, positive
    witness) and one crowded with prototypes (15-19, negative witness; rows 18 and 19 are the
    same point, a tie).
    """
    name = "criticisms"
    X = np.concatenate([_toy_sample(5, 12, 0.0, 0.7), _toy_sample(6, 3, 5.0, 0.1), _toy_sample(7, 5, -4.0, 0.3)])
    X[19] = X[18]
    K = np.exp(-0.5 * ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    prototypes = np.array([1, 4, 7, 15, 16, 17])
    K_before = K.copy()
    found = _indices(call(func, K, prototypes.copy(), 4, name=name), name=name, length=4, n=len(K))
    _unchanged(K, K_before, name, "kernel matrix")
    if set(found) & set(prototypes.tolist()):
        raise CheckFailed(f"`{name}` returns a prototype as a criticism; criticisms are chosen among the other points.")
    witness = np.array([np.mean([K[x, i] for i in range(len(K))]) - np.mean([K[x, j] for j in prototypes])
                        for x in range(len(K))])
    others = [x for x in range(len(K)) if x not in prototypes]
    expected = sorted(others, key=lambda x: (-abs(witness[x]), x))[:4]
    if found != expected:
        if found == sorted(others, key=lambda x: (-witness[x], x))[:4]:
            raise CheckFailed(f"`{name}` ranks the points by the signed witness; criticisms are the non-prototypes with "
                              "the largest absolute witness value (too few prototypes nearby, or too many).")
        if found == sorted(others, key=lambda x: (-abs(witness[x]), -x))[:4]:
            raise CheckFailed(f"`{name}` puts the higher index first when two points have the same witness value; "
                              "ties go to the lowest index (a stable sort of -|witness|).")
        raise CheckFailed(f"`{name}` differs from the ranking by |witness| on a small example: witness(x) = mean_i "
                          "k(x, x_i) - mean_j k(x, z_j) over the data and the prototypes, largest |witness| first.")
    passed(f"{name}: no prototypes, the largest |witness| first (both signs), lowest index on a tie.")


# --- influential instances ----------------------------------------------------------------

def _toy_regression():
    rng = np.random.default_rng(8)
    X = np.column_stack([np.ones(15), np.round(rng.normal(size=(15, 2)), 2)])
    X[3, 1:] = [3.0, -2.5]  # far from the others: high leverage
    y = np.round(X @ np.array([1.0, 2.0, -1.0]) + rng.normal(size=15), 2)
    y[3] += 4.0
    return X, y


@graded(answer="dfbeta", part="4", points=3,
        hint="lecture 4, §5 'Deletion diagnostics': row i is beta(all) - beta(without i) = (XᵀX)⁻¹ x_i e_i / (1 - h_ii), "
             "with the residual of the full fit and the leverage correction; no division by a standard error (that is DFBETAS).")
def dfbeta(func) -> None:
    """Check ``dfbeta(X, y)`` against statsmodels' ``OLSInfluence.dfbeta`` on a small regression."""
    from statsmodels.api import OLS
    from statsmodels.stats.outliers_influence import OLSInfluence

    name = "dfbeta"
    X, y = _toy_regression()
    X_before, y_before = X.copy(), y.copy()
    out = as_array(call(func, X, y, name=name), name=name, shape=X.shape,
                   what="one row per observation, one column per coefficient")
    _unchanged(X, X_before, name, "X")
    _unchanged(y, y_before, name, "y")
    influence = OLSInfluence(OLS(y, X).fit())
    expected = influence.dfbeta
    scale = np.abs(expected).max(axis=0)

    def same(a):
        return bool(np.allclose(out, a, rtol=1e-6, atol=1e-9 * scale))

    if not same(expected):
        leverage = influence.hat_matrix_diag[:, None]
        if same(-expected):
            raise CheckFailed(f"`{name}` has the wrong sign: row i is beta(all rows) - beta(without row i).")
        if same(expected * (1 - leverage)):
            raise CheckFailed(f"`{name}` leaves out the leverage correction: for a high-leverage point the factor "
                              "1 / (1 - h_ii) matters.")
        if same(influence.dfbetas):
            raise CheckFailed(f"`{name}` returns DFBETAS, the changes divided by their standard errors; return the "
                              "changes of the coefficients themselves.")
        raise CheckFailed(f"`{name}` differs from statsmodels' OLSInfluence.dfbeta on a small regression: row i is "
                          "what deleting observation i changes in the least-squares coefficients.")
    passed(f"{name}: shape {out.shape}, X and y untouched, equal to statsmodels' OLSInfluence.dfbeta (a high-leverage "
           "point included).")


def _toy_classification():
    rng = np.random.default_rng(9)
    X = np.column_stack([rng.normal(size=(30, 2)), np.ones(30)])
    y = (X[:, 0] - X[:, 1] + rng.normal(size=30) > 0).astype(float)
    return X, y


def _fit(X, y, lam):
    return LogisticRegression(C=1 / lam, fit_intercept=False, tol=1e-12, max_iter=10_000).fit(X, y).coef_[0]


@graded(answer="influence_on_test_loss", part="4", points=3,
        hint="lecture 4, §5 'Influence functions': ∇ℓ(z_test)ᵀ H⁻¹ ∇ℓ(z_i), with H the Hessian of the SUMMED loss plus "
             "λI (the L2 term) and ∇ℓ(z) = (σ(xᵀθ) - y)·x; positive means removing z_i raises the test loss.")
def influence_on_test_loss(func) -> None:
    """Check ``influence_on_test_loss(X, y, theta, lam, x_test, y_test)`` against captum's ``NaiveInfluenceFunction``."""
    def captum_influence(X, y, theta, lam, x_test, y_test) -> np.ndarray:
        """captum's NaiveInfluenceFunction for the linear logit model (float64, all eigenvalues kept)."""
        import os
        import tempfile
        import warnings

        from captum.influence import NaiveInfluenceFunction
        from torch import nn

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

    name = "influence_on_test_loss"
    X, y = _toy_classification()
    lam = 1.0
    theta = _fit(X, y, lam)
    x_test, y_test = np.array([1.0, 1.0, 1.0]), 1.0
    X_before, y_before, theta_before = X.copy(), y.copy(), theta.copy()
    out = as_array(call(func, X, y, theta, lam, x_test.copy(), y_test, name=name), name=name, shape=(len(X),),
                   what="one value per training point")
    _unchanged(X, X_before, name, "X")
    _unchanged(y, y_before, name, "y")
    _unchanged(theta, theta_before, name, "theta")
    expected = captum_influence(X, y, theta, lam, x_test, y_test)
    scale = float(np.abs(expected).max())

    def same(a):
        return bool(np.allclose(out, a, rtol=1e-5, atol=1e-6 * scale))

    if not same(expected):
        p = 1 / (1 + np.exp(-X @ theta))
        gradients = X * (p - y)[:, None]
        g_test = x_test * (1 / (1 + np.exp(-x_test @ theta)) - y_test)
        hessian = (X * (p * (1 - p))[:, None]).T @ X
        if same(-expected):
            raise CheckFailed(f"`{name}` has the wrong sign: a positive value should mean that removing the point "
                              "raises the test loss.")
        if same(gradients @ g_test):
            raise CheckFailed(f"`{name}` multiplies the two gradients without the inverse Hessian; the influence "
                              "function is ∇ℓ(z_test)ᵀ H⁻¹ ∇ℓ(z_i).")
        if same(gradients @ np.linalg.solve(hessian, g_test)):
            raise CheckFailed(f"`{name}` leaves the L2 term out of the Hessian; use the Hessian of the whole objective, "
                              "the summed loss plus λ·I.")
        if same(gradients @ np.linalg.solve(hessian / len(X) + lam * np.eye(X.shape[1]), g_test)):
            raise CheckFailed(f"`{name}` uses the Hessian of the mean loss; the objective sums the losses "
                              "(H = Σ_j ∇²ℓ(z_j) + λI).")
        raise CheckFailed(f"`{name}` differs from captum's NaiveInfluenceFunction on a small logistic regression: "
                          "∇ℓ(z_test)ᵀ H⁻¹ ∇ℓ(z_i) with ∇ℓ(z) = (σ(xᵀθ) - y)·x.")
    passed(f"{name}: one value per training point, inputs untouched, equal to captum's NaiveInfluenceFunction "
           "(Hessian of the summed loss plus λI).")


summary = Summary("Lab 4", wachter_counterfactual, minimal_counterfactual, dpp_diversity, mmd2, greedy_prototypes,
                  criticisms, dfbeta, influence_on_test_loss, written_points=8)
hint = summary.hint
install_not_written_handler(summary)
