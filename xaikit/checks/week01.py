"""Visible checks of lab 1 (intrinsically interpretable models).

Each check runs the student's function on a tiny toy problem and reports shape, type,
in-place modification and obvious mistakes in one sentence. The hidden tests compare
with scikit-learn, mlxtend and exact properties on inputs the student never sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from . import CheckFailed, as_array, call, passed

__all__ = ["decision_path_rules", "discretize", "linear_effects", "odds_ratios", "one_r"]


def _toy_regression(n: int = 20):
    rng = np.random.default_rng(11)
    X = np.round(rng.normal(size=(n, 3)) * [1.0, 5.0, 0.5] + [0.0, 10.0, 0.0], 2)
    y = 3.0 * X[:, 0] - 0.5 * X[:, 1] + 2.0 * X[:, 2] + 4.0 + rng.normal(scale=0.1, size=n)
    return X, LinearRegression().fit(X, y)


def _unchanged(X: np.ndarray, X_before: np.ndarray, name: str) -> None:
    if not np.array_equal(X, X_before):
        raise CheckFailed(f"`{name}` changed the array it was given; work on a copy so the data stay intact.")


def linear_effects(func) -> None:
    """Check ``linear_effects(model, X)`` on a toy linear regression."""
    name = "linear_effects"
    X, model = _toy_regression()
    X_before = X.copy()
    effects = as_array(call(func, model, X, name=name), name=name, shape=X.shape,
                       what="one row per instance, one column per feature")
    _unchanged(X, X_before, name)
    if np.allclose(effects, np.broadcast_to(effects[:1], effects.shape)):
        raise CheckFailed(f"`{name}` gives every row the same effects; an effect depends on the row's own feature values.")
    if not np.allclose(effects.sum(axis=1) + model.intercept_, model.predict(X), rtol=1e-6, atol=1e-6):
        raise CheckFailed(f"`{name}`: the effects of a row plus the intercept should add up to the model's prediction for that row.")
    passed(f"{name}: shape {effects.shape}, finite, X untouched, each row adds up to its prediction.")


def odds_ratios(func) -> None:
    """Check ``odds_ratios(model, *, step=1.0)`` on a toy logistic regression."""
    name = "odds_ratios"
    rng = np.random.default_rng(12)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=60) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    ratios = as_array(call(func, model, name=name), name=name, shape=(3,), what="one odds ratio per feature")
    if np.any(ratios <= 0):
        raise CheckFailed(f"`{name}` returned a negative or zero odds ratio; an odds ratio is a factor on the odds, "
                          "always positive (did you forget the exponential?).")
    if not (ratios[0] > 1 > ratios[1]):
        raise CheckFailed(f"`{name}`: a feature with a positive weight should have an odds ratio above 1, "
                          "one with a negative weight below 1.")
    none = as_array(call(func, model, step=0.0, name=name), name=name, shape=(3,))
    if not np.allclose(none, 1.0):
        raise CheckFailed(f"`{name}(model, step=0)` should be 1 for every feature: no change, same odds.")
    passed(f"{name}: shape {ratios.shape}, positive, above 1 for a positive weight, 1 for a step of 0.")


def _toy_tree():
    rng = np.random.default_rng(13)
    X = rng.integers(0, 10, size=(80, 3)).astype(float)
    y = ((X[:, 0] > 4) & (X[:, 2] < 6)).astype(int)
    return X, DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)


def as_conditions(value, name: str) -> list[tuple[str, str, float]]:
    """A decision path as (feature, "<=" or ">", float threshold) tuples, or a one-line CheckFailed."""
    if value is None:
        raise CheckFailed(f"`{name}` returned None: did you forget the `return` statement?")
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise CheckFailed(f"`{name}` should return a list of (feature name, operator, threshold) tuples, "
                          f"not a {type(value).__name__}.")
    conditions = []
    for item in value:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 3:
            raise CheckFailed(f"`{name}`: every entry should be a tuple (feature name, operator, threshold), got {item!r}.")
        feature, operator, threshold = item
        if operator not in ("<=", ">"):
            raise CheckFailed(f"`{name}`: the operator should be '<=' (went left) or '>' (went right), got {operator!r}.")
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise CheckFailed(f"`{name}`: the threshold should be a number, got {threshold!r}.") from None
        conditions.append((feature, operator, threshold))
    return conditions


def decision_path_rules(func) -> None:
    """Check ``decision_path_rules(tree, x, *, feature_names)`` on a toy tree of depth 2."""
    name = "decision_path_rules"
    X, tree = _toy_tree()
    names = ["a", "b", "c"]
    x = X[0].copy()
    x_before = x.copy()
    conditions = as_conditions(call(func, tree, x, feature_names=names, name=name), name)
    _unchanged(x, x_before, name)
    depth = tree.get_depth()
    if not 1 <= len(conditions) <= depth:
        raise CheckFailed(f"`{name}` returned {len(conditions)} conditions for a tree of depth {depth}; "
                          "there is one test per internal node on the path, and leaves test nothing.")
    for row in X[:10]:
        for feature, operator, threshold in as_conditions(call(func, tree, row, feature_names=names, name=name), name):
            if feature not in names:
                raise CheckFailed(f"`{name}`: {feature!r} is not one of the feature_names; "
                                  "report the name of the feature tested at each node.")
            value = row[names.index(feature)]
            holds = value <= threshold if operator == "<=" else value > threshold
            if not holds:
                raise CheckFailed(f"`{name}`: the instance has {feature} = {value:g}, so the condition "
                                  f"'{feature} {operator} {threshold:.2f}' is false; it goes left when its value is <= the threshold.")
    passed(f"{name}: a list of (name, operator, threshold), as many tests as the depth allows, each true for the instance.")


def discretize(func) -> None:
    """Check ``discretize(x, *, n_bins)`` on a small array."""
    name = "discretize"
    x = np.array([3.2, -1.0, 0.4, 7.5, 2.2, 5.1, 6.0, -0.3, 4.4, 1.8])
    x_before = x.copy()
    result = call(func, x, n_bins=3, name=name)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"`{name}` should return two things, `codes, edges`.")
    codes = as_array(result[0], name=name, shape=x.shape, what="one bin per value")
    edges = as_array(result[1], name=name, shape=(4,), what="n_bins + 1 edges")
    _unchanged(x, x_before, name)
    if not np.array_equal(codes, np.round(codes)) or codes.min() < 0 or codes.max() > 2:
        raise CheckFailed(f"`{name}`: codes should be whole numbers 0 ... n_bins - 1; with n_bins=3 you returned "
                          f"values from {codes.min():g} to {codes.max():g}.")
    if edges[0] != x.min() or edges[-1] != x.max():
        raise CheckFailed(f"`{name}`: the edges should run from the minimum to the maximum of x.")
    if codes[np.argmin(x)] != 0 or codes[np.argmax(x)] != 2:
        raise CheckFailed(f"`{name}`: the smallest value belongs to bin 0 and the largest to the last bin, n_bins - 1.")
    if np.any(np.diff(codes[np.argsort(x)]) < 0):
        raise CheckFailed(f"`{name}`: larger values should never get a smaller bin.")
    passed(f"{name}: codes 0 ... n_bins - 1, edges from min to max, the maximum in the last bin.")


def one_r(func) -> None:
    """Check ``one_r(X, y)`` on a toy table where one feature predicts the class perfectly."""
    name = "one_r"
    X = np.array([["red", "s", "a"], ["red", "m", "b"], ["blue", "s", "a"], ["blue", "l", "b"],
                  ["red", "l", "a"], ["blue", "m", "b"], ["red", "s", "a"], ["blue", "s", "b"]])
    y = np.array(["yes", "no", "yes", "no", "yes", "no", "yes", "no"])
    X_before = X.copy()
    result = call(func, X, y, name=name)
    if not isinstance(result, tuple) or len(result) != 3:
        raise CheckFailed(f"`{name}` should return three things, `feature, rules, errors`.")
    feature, rules, errors = result
    errors = as_array(errors, name=name, shape=(X.shape[1],), what="one total error per feature")
    _unchanged(X, X_before, name)
    if not np.array_equal(errors, np.round(errors)) or errors.min() < 0 or errors.max() > len(y):
        raise CheckFailed(f"`{name}`: errors count misclassified instances, whole numbers between 0 and {len(y)}.")
    try:
        feature = int(feature)
    except (TypeError, ValueError):
        raise CheckFailed(f"`{name}`: `feature` should be a column index (an int), got {feature!r}.") from None
    if not 0 <= feature < X.shape[1]:
        raise CheckFailed(f"`{name}`: `feature` should be a column index between 0 and {X.shape[1] - 1}, got {feature}.")
    if errors[feature] != errors.min():
        raise CheckFailed(f"`{name}` chose feature {feature} with {errors[feature]:g} errors, but another feature has "
                          f"only {errors.min():g}; OneR keeps the feature with the smallest total error.")
    if errors.min() != 0:
        raise CheckFailed(f"`{name}`: column 2 predicts the class perfectly, so its total error should be 0.")
    if not isinstance(rules, Mapping):
        raise CheckFailed(f"`{name}`: `rules` should be a dict mapping each value of the chosen feature to a class.")
    keys = {k.item() if isinstance(k, np.generic) else k for k in rules}
    if keys != set(X[:, feature].tolist()):
        raise CheckFailed(f"`{name}`: `rules` should have one entry per value of the chosen feature, "
                          f"{sorted(set(X[:, feature].tolist()))}.")
    passed(f"{name}: (feature, rules, errors) with whole-number errors, the feature with the smallest error, "
           "one rule per value.")
