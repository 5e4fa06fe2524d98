"""Hidden tests of lab 1: linear effects, odds ratios, decision paths, discretization, OneR.

Oracles:

- effects: the fitted scikit-learn model's own ``coef_`` times the values, and the exact
  property that the effects of a row plus ``intercept_`` equal ``model.predict``;
- odds ratios: ``exp(coef_ * step)`` and the exact property that the odds computed from
  ``predict_proba`` change by that factor when one feature increases by its step;
- decision paths: scikit-learn's ``decision_path`` (the nodes an instance visits) read
  with the ``tree_`` arrays, on data where some instances sit exactly on a threshold;
- discretization: ``sklearn.preprocessing.KBinsDiscretizer(strategy="uniform")``;
- OneR: mlxtend's ``OneRClassifier`` (``resolve_ties="first"``) on tables without ties,
  an independent pandas cross-table reference on tables built to contain ties (rule:
  class tie -> smallest label, feature tie -> lowest column), and the 10-apartment
  example of the lecture slides (errors 4, 3, 4; rules on Size).

Nothing in this lab is random, so every comparison is exact up to a tolerance: float32 answers
pass (the lab never asks for float64): effects, odds ratios, thresholds and bin edges are
compared with a relative tolerance of 1e-6 (float32 rounding is 6e-8), bins, paths and OneR's
choices exactly.

Edge case of the decision paths: scikit-learn rounds an instance's features to float32 before it
compares them with the (float64) thresholds, so an instance exactly on a threshold that float32
rounds upwards goes **right** in ``tree.predict`` / ``decision_path`` / ``apply``. The lab text
says so, the reference is ``decision_path`` itself, and the hidden instances include such cases
(on every threshold of a tree fitted to continuous data).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.preprocessing import KBinsDiscretizer
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from xaikit.checks.week01 import as_conditions
from xaikit.tables import load_apartments

from .core import CheckFailed, as_array, call, expect_close, grading, passed, rng, unchanged

# mlxtend is the reference of one_r. KBinsDiscretizer lives in sklearn.preprocessing, which
# scikit-learn's own estimators import (the models handed to the answers need it), and
# decision_path is a method of the tree: those two stay forbidden by the lab text only.
FORBIDDEN = ("mlxtend",)
PRELOAD = ("pandas", "sklearn.tree", "sklearn.linear_model", "sklearn.preprocessing")  # what the worker imports before student code

# Wall-clock budget per call of the student's function, in seconds: about 10x the lab's solution
# on a busy 2-core machine (each call takes milliseconds), at least 5 s.
BUDGET_S = {"linear_effects": 5, "odds_ratios": 5, "decision_path_rules": 5, "discretize": 5, "one_r": 5}

RTOL = 1e-6  # relative tolerance of real-valued answers: float32 results pass

# --- linear effects --------------------------------------------------------------------------


def linear_effects(func) -> None:
    """Effects of fresh linear models (least squares and ridge) against coef_ x value."""
    name = "linear_effects"
    with grading(name):
        g = rng(9111)
        worst = 0.0
        for model_class, n, p in [(LinearRegression, 90, 5), (Ridge, 60, 7)]:
            X = g.normal(size=(n, p)) * g.uniform(0.5, 20, size=p) + g.uniform(-10, 10, size=p)
            y = X @ g.normal(size=p) + 3.0 + g.normal(size=n)
            model = model_class().fit(X, y)
            X_given = X.copy()
            got = as_array(call(func, model, X_given, name=name), name=name, shape=X.shape,
                           what="one row per instance, one column per feature")
            unchanged(X_given, X, name)
            expected = X * model.coef_
            scale = np.abs(expected).sum(axis=1).max() + abs(model.intercept_)  # float32 rounding is relative to it
            if not np.allclose(got.sum(axis=1) + model.intercept_, model.predict(X), rtol=0, atol=RTOL * scale):
                raise CheckFailed(f"`{name}`: on a fresh {model_class.__name__} the effects of a row plus the "
                                  "intercept do not add up to the model's prediction.")
            worst = max(worst, expect_close(got, expected, name=name, reference="weight x value",
                                            rtol=RTOL, atol=RTOL * np.abs(expected).max()))
    passed(f"{name} matches weight x value on fresh LinearRegression and Ridge models (largest difference {worst:.1e}).")


# --- odds ratios ------------------------------------------------------------------------------


def odds_ratios(func) -> None:
    """Odds ratios of a fresh logistic regression: exp(coef * step) and the odds of predict_proba."""
    name = "odds_ratios"
    with grading(name):
        g = rng(9212)
        n, p = 400, 4
        X = g.normal(size=(n, p)) * [1.0, 3.0, 0.5, 2.0]
        logits = 0.8 * X[:, 0] - 0.3 * X[:, 1] + 1.5 * X[:, 2] + 0.1 * X[:, 3] - 0.2
        y = (g.uniform(size=n) < 1 / (1 + np.exp(-logits))).astype(int)
        model = LogisticRegression(C=10.0, max_iter=1000).fit(X, y)
        weights = model.coef_.ravel()
        for step in (1.0, np.array([0.5, 2.0, -1.0, 3.0])):
            got = as_array(call(func, model, step=step, name=name), name=name, shape=(p,),
                           what="one odds ratio per feature")
            # exact property: the model's own odds change by the odds ratio when feature j moves by its step
            x = X[:5]
            odds = _odds(model, x)
            for j in range(p):
                shifted = x.copy()
                shifted[:, j] += np.broadcast_to(step, (p,))[j]
                expected = _odds(model, shifted) / odds
                if not np.allclose(expected, got[j], rtol=RTOL):
                    raise CheckFailed(
                        f"`{name}`: on a fresh model, increasing feature {j} by {np.broadcast_to(step, (p,))[j]:g} "
                        f"multiplies the predicted odds by {expected[0]:.4g}, but you return {got[j]:.4g}."
                    )
            expect_close(got, np.exp(weights * step), name=name, reference="exp(weight x step)", rtol=RTOL)
        default = as_array(call(func, model, name=name), name=name, shape=(p,))
        expect_close(default, np.exp(weights), name=f"{name}(model)", reference="the odds ratio per unit step",
                     rtol=RTOL)
    passed(f"{name} changes the model's predicted odds by the right factor, for unit and per-feature steps.")


def _odds(model, X):
    probability = model.predict_proba(X)[:, 1]
    return probability / (1 - probability)


# --- decision path ----------------------------------------------------------------------------


def _path_reference(tree, x, names):
    """The tests on the path of x, read from sklearn's decision_path (visited nodes) and tree_.

    ``decision_path`` rounds x to float32 before comparing it with the float64 thresholds, as
    ``predict`` and ``apply`` do; the operator says which child the path really took.
    """
    nodes = tree.tree_
    visited = tree.decision_path(x[None, :]).indices  # node ids increase from root to leaf
    conditions = []
    for node, child in zip(visited[:-1], visited[1:]):
        operator = "<=" if child == nodes.children_left[node] else ">"
        conditions.append((names[nodes.feature[node]], operator, float(nodes.threshold[node])))
    return conditions


def _show(condition) -> str:
    feature, operator, threshold = condition
    return f"{feature} {operator} {threshold:.4g}"


def _on_thresholds(tree, instances) -> list[np.ndarray]:
    """One instance exactly on the threshold of each internal node of ``tree``."""
    nodes = tree.tree_
    out = []
    for node in range(nodes.node_count):
        if nodes.children_left[node] != -1:
            x = instances[len(out) % len(instances)].copy()
            x[nodes.feature[node]] = nodes.threshold[node]
            out.append(x)
    return out


def _rounds_across(value: float, threshold: float) -> bool:
    """Whether float32 rounding moves ``value`` to the other side of ``threshold``."""
    return bool((np.float64(np.float32(value)) <= threshold) != (value <= threshold))


def _path_problems(seed: int):
    """(tree, instance) pairs: whole-number data (exact thresholds) and continuous data (float32 edge cases)."""
    g = rng(seed)
    # classifier on whole numbers: thresholds are halves, exactly representable, so some
    # instances can sit exactly on a threshold (they must go left)
    X = g.integers(0, 10, size=(300, 5)).astype(float)
    y = ((X[:, 0] > 4) ^ (X[:, 2] + X[:, 3] > 9)).astype(int)
    y[g.uniform(size=300) < 0.1] ^= 1
    classifier = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    instances = g.integers(0, 10, size=(12, 5)).astype(float)
    cases = [(classifier, x) for x in np.vstack([instances, _on_thresholds(classifier, instances)])]
    # regressor on continuous data: its thresholds are midpoints that float32 cannot represent, so an
    # instance exactly on one is rounded to float32 and goes right whenever the rounding is upwards
    Xr = g.normal(size=(250, 5))
    yr = np.sin(2 * Xr[:, 1]) + Xr[:, 4] ** 2 + 0.1 * g.normal(size=250)
    regressor = DecisionTreeRegressor(max_depth=5, random_state=0).fit(Xr, yr)
    instances = g.normal(size=(12, 5))
    cases += [(regressor, x) for x in np.vstack([instances, _on_thresholds(regressor, instances)])]
    return cases


def decision_path_rules(func) -> None:
    """Paths of fresh instances through fresh trees, including instances exactly on a threshold."""
    name = "decision_path_rules"
    with grading(name):
        names = ["alpha", "beta", "gamma", "delta", "epsilon"]
        for tree, x in _path_problems(9313):
            x_given = x.copy()
            got = as_conditions(call(func, tree, x_given, feature_names=list(names), name=name), name)
            unchanged(x_given, x, name)
            expected = _path_reference(tree, x, names)
            kind = type(tree).__name__
            for m, (mine, ref) in enumerate(zip(got, expected)):
                if mine[0] != ref[0] or mine[1] != ref[1] or not np.isclose(mine[2], ref[2], rtol=RTOL, atol=1e-12):
                    value = x[names.index(ref[0])]
                    hint = ""
                    if mine[0] == ref[0] and mine[1] != ref[1] and _rounds_across(value, ref[2]):
                        hint = (f" (the instance has {ref[0]} = {value!r}, exactly on the threshold: scikit-learn "
                                "rounds the feature to float32 before comparing, as the lab says)")
                    raise CheckFailed(
                        f"`{name}`: for an instance of a fresh {kind}, test {m + 1} on the path is "
                        f"'{_show(ref)}' but you return '{_show(mine)}'{hint}."
                    )
            if len(got) != len(expected):
                raise CheckFailed(
                    f"`{name}`: for an instance of a fresh {kind}, you return {len(got)} tests; the instance "
                    f"passes {len(expected)} on its way from the root to its leaf."
                )
    passed(f"{name} follows sklearn's decision_path on fresh trees, also for instances exactly on a threshold "
           "(float32 rounding included).")


# --- discretize -------------------------------------------------------------------------------


def discretize(func) -> None:
    """Equal-width bins against KBinsDiscretizer(strategy='uniform'), also for values on an edge."""
    name = "discretize"
    with grading(name):
        g = rng(9414)
        cases = [
            (g.lognormal(mean=1.0, sigma=0.8, size=250), 6),  # skewed, continuous
            (g.integers(0, 21, size=120).astype(float), 4),  # whole numbers: values on the inner edges 5, 10, 15
            (g.normal(loc=-3.0, scale=2.0, size=80), 3),  # negative values
        ]
        cases[1][0][:2] = [0.0, 20.0]  # make sure min and max are 0 and 20
        for x, n_bins in cases:
            reference = KBinsDiscretizer(n_bins=n_bins, encode="ordinal", strategy="uniform")
            expected_codes = reference.fit_transform(x[:, None]).ravel()
            expected_edges = reference.bin_edges_[0]
            x_given = x.copy()
            result = call(func, x_given, n_bins=n_bins, name=name)
            if not isinstance(result, tuple) or len(result) != 2:
                raise CheckFailed(f"`{name}` should return two things, `codes, edges`.")
            codes = as_array(result[0], name=name, shape=x.shape, what="one bin per value")
            edges = as_array(result[1], name=name, shape=expected_edges.shape, what="n_bins + 1 edges")
            unchanged(x_given, x, name)
            expect_close(edges, expected_edges, name=f"{name} (edges)", reference="KBinsDiscretizer(strategy='uniform')",
                         rtol=RTOL, atol=RTOL * np.abs(expected_edges).max())
            wrong = np.flatnonzero(codes != expected_codes)
            if wrong.size:
                i = wrong[0]
                raise CheckFailed(
                    f"`{name}` puts the value {x[i]:.6g} in bin {codes[i]:g}, KBinsDiscretizer(strategy='uniform') "
                    f"in bin {expected_codes[i]:g} (edges {np.round(expected_edges, 4).tolist()}); "
                    "bin k holds edges[k] <= x < edges[k+1], and the maximum goes to the last bin."
                )
    passed(f"{name} matches KBinsDiscretizer(strategy='uniform') on fresh data, also for values on an edge.")


# --- OneR -------------------------------------------------------------------------------------


def _one_r_reference(X, y):
    """Independent OneR with the documented tie rule, from pandas cross tables."""
    errors, all_rules = [], []
    for j in range(X.shape[1]):
        table = pd.crosstab(pd.Series(X[:, j], name="value"), pd.Series(y, name="class"))
        table = table.sort_index(axis=0).sort_index(axis=1)
        predicted = {}
        for value, counts in table.iterrows():
            top = counts.to_numpy().max()
            predicted[value] = min(c for c, k in counts.items() if k == top)  # class tie -> smallest label
        all_rules.append(predicted)
        errors.append(int(table.to_numpy().sum() - table.max(axis=1).sum()))
    errors = np.array(errors)
    feature = int(min(j for j in range(len(errors)) if errors[j] == errors.min()))  # feature tie -> lowest column
    return feature, all_rules[feature], errors


def _mlxtend_reference(X, y):
    """mlxtend's OneRClassifier (labels coded 0..k-1); per-feature errors from one-column fits."""
    from mlxtend.classifier import OneRClassifier

    classes, codes = np.unique(y, return_inverse=True)
    model = OneRClassifier(resolve_ties="first").fit(X, codes)
    rules = {value: classes[c] for value, c in model.prediction_dict_["rules (value: class)"].items()}
    errors = np.array([OneRClassifier(resolve_ties="first").fit(X[:, [j]], codes).prediction_dict_["total error"]
                       for j in range(X.shape[1])])
    return int(model.feature_idx_), rules, errors


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _unpack(result, n_features: int, name: str):
    if not isinstance(result, tuple) or len(result) != 3:
        raise CheckFailed(f"`{name}` should return three things, `feature, rules, errors`.")
    feature, rules, errors = result
    errors = as_array(errors, name=name, shape=(n_features,), what="one total error per feature")
    try:
        feature = int(feature)
    except (TypeError, ValueError):
        raise CheckFailed(f"`{name}`: `feature` should be a column index (an int), got {feature!r}.") from None
    if not isinstance(rules, Mapping):
        raise CheckFailed(f"`{name}`: `rules` should be a dict mapping each value of the chosen feature to a class.")
    return feature, {_plain(k): _plain(v) for k, v in rules.items()}, errors


def _compare(got, expected, *, name: str, case: str) -> None:
    feature, rules, errors = got
    ref_feature, ref_rules, ref_errors = expected
    ref_rules = {_plain(k): _plain(v) for k, v in ref_rules.items()}
    if not np.array_equal(errors, ref_errors):
        raise CheckFailed(f"`{name}` on {case}: you return the errors {errors.astype(int).tolist()}, the reference "
                          f"{np.asarray(ref_errors).tolist()}; a feature's error counts the instances its rules misclassify.")
    if feature != ref_feature:
        raise CheckFailed(f"`{name}` on {case}: you choose feature {feature}, the reference chooses {ref_feature} "
                          f"(errors {np.asarray(ref_errors).tolist()}); keep the smallest error, on a tie the lowest column.")
    if set(rules) != set(ref_rules):
        raise CheckFailed(f"`{name}` on {case}: your rules cover the values {sorted(map(str, rules))}, but feature "
                          f"{feature} takes the values {sorted(map(str, ref_rules))}.")
    for value, predicted in ref_rules.items():
        if rules[value] != predicted:
            raise CheckFailed(f"`{name}` on {case}: for the value {value!r} you predict {rules[value]!r}, the "
                              f"reference {predicted!r}; predict the most frequent class, on a tie the smallest label.")


def _random_table(g, n, levels, n_classes, informative):
    X = np.column_stack([g.integers(0, k, size=n) for k in levels])
    y = (X[:, informative] + g.integers(0, 2, size=n) * g.integers(0, n_classes, size=n)) % n_classes
    return X, y


def _tie_table():
    """String table where features 1 and 3 tie for the smallest error, with class ties inside."""
    g = rng(9516)
    n = 40
    x1 = g.choice(["p", "q", "r", "s"], size=n)
    y = np.where(np.isin(x1, ["p", "q"]), "yes", "maybe")
    flip = g.permutation(n)[:9]
    y[flip] = g.choice(["no", "yes", "maybe"], size=flip.size)
    # a value of feature 1 where "yes" and "maybe" are equally frequent, "yes" seen first
    x1[:4], y[:4] = "t", ["yes", "yes", "maybe", "maybe"]
    relabel = {"p": "P", "q": "Q", "r": "R", "s": "S", "t": "T"}
    x3 = np.array([relabel[v] for v in x1])  # same partition as feature 1: same error
    x0 = g.choice(["u", "v"], size=n)
    x2 = g.choice(["k", "l", "m"], size=n)
    return np.column_stack([x0, x1, x2, x3]).astype(object), y.astype(object)


def one_r(func) -> None:
    """OneR against mlxtend (no ties), a pandas reference (ties) and the slide example."""
    name = "one_r"
    with grading(name):
        g = rng(9515)
        cases = []
        for levels, n_classes, informative in [([2, 3, 4, 6, 3], 3, 2), ([5, 2, 7], 2, 0), ([3, 3, 3, 8], 4, 3)]:
            X, y = _random_table(g, 90, levels, n_classes, informative)
            cases.append((X, y, _mlxtend_reference(X, y), "a fresh random table (mlxtend's OneRClassifier)"))
        X, y = _tie_table()
        cases.append((X, y, _one_r_reference(X, y), "a fresh table with ties"))
        apartments = load_apartments()
        X = apartments[["Location", "Size", "Pets"]].to_numpy()
        y = apartments["Price"].to_numpy()
        slide = (1, {"small": "low", "medium": "medium", "big": "high"}, np.array([4, 3, 4]))
        cases.append((X, y, slide, "the ten apartments of the lecture"))
        for X, y, expected, case in cases:
            X_given, y_given = X.copy(), y.copy()
            got = _unpack(call(func, X_given, y_given, name=name), X.shape[1], name)
            unchanged(X_given, X, name)
            _compare(got, expected, name=name, case=case)
    passed(f"{name} matches mlxtend's OneRClassifier, breaks ties as documented and reproduces the lecture's example.")
