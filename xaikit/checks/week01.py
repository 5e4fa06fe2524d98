"""Visible checks of lab 1 (intrinsically interpretable models).

Each check runs the student's function on one small visible example and compares it with
what scikit-learn or mlxtend compute inside the check (the fitted model's ``coef_``, its
predicted odds, ``decision_path``, ``KBinsDiscretizer``, ``OneRClassifier``) or with an exact
property of a table built to contain ties. A failure says in one sentence which aspect is
off. The hidden tests compare with the same references on other data and models.

Ask for a hint with ``check.<function>.hint()``; ``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from . import CheckFailed, Summary, as_array, call, graded, install_not_written_handler, passed

__all__ = ["decision_path_rules", "discretize", "linear_effects", "odds_ratios", "one_r", "summary"]


def _toy_regression(n: int = 20):
    rng = np.random.default_rng(11)
    X = np.round(rng.normal(size=(n, 3)) * [1.0, 5.0, 0.5] + [0.0, 10.0, 0.0], 2)
    y = 3.0 * X[:, 0] - 0.5 * X[:, 1] + 2.0 * X[:, 2] + 4.0 + rng.normal(scale=0.1, size=n)
    return X, LinearRegression().fit(X, y)


def _unchanged(X: np.ndarray, X_before: np.ndarray, name: str) -> None:
    if not np.array_equal(X, X_before):
        raise CheckFailed(f"`{name}` changed the array it was given; work on a copy so the data stay intact.")


@graded(answer="linear_effects", part="1", points=3,
        hint="lecture 1, §5 'Linear regression': the effect of feature j in row i is weight_j × x_ij, nothing more; "
             "the intercept is not shared out and the features are not centred.")
def linear_effects(func) -> None:
    """Check ``linear_effects(model, X)`` on a toy linear regression against its own ``coef_``."""
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
    if not np.allclose(effects, X * model.coef_, rtol=1e-9, atol=1e-9):
        raise CheckFailed(f"`{name}`: each entry should be the feature's weight times the row's value of that feature; "
                          "keep the intercept out of the effects.")
    passed(f"{name}: shape {effects.shape}, weight × value for every row and feature, X untouched.")


def _odds(model, X):
    p = model.predict_proba(X)[:, 1]
    return p / (1 - p)


@graded(answer="odds_ratios", part="2", points=2,
        hint="lecture 1, §6 'Logistic regression': the odds are multiplied by exp(w_j × step) — the step goes INSIDE "
             "the exponential; coef_ has shape (1, p), so flatten it.")
def odds_ratios(func) -> None:
    """Check ``odds_ratios(model, *, step=1.0)`` against the odds the toy model predicts."""
    name = "odds_ratios"
    rng = np.random.default_rng(12)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=60) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    ratios = as_array(call(func, model, name=name), name=name, shape=(3,), what="one odds ratio per feature")
    if np.any(ratios <= 0):
        raise CheckFailed(f"`{name}` returned a negative or zero odds ratio; an odds ratio is a factor on the odds, "
                          "always positive (did you forget the exponential?).")
    for step in (1.0, 2.0, np.array([0.5, -1.0, 3.0])):
        got = ratios if np.isscalar(step) and step == 1.0 else as_array(call(func, model, step=step, name=name),
                                                                        name=name, shape=(3,))
        for j in range(3):
            shifted = X[:4].copy()
            shifted[:, j] += np.broadcast_to(step, (3,))[j]
            expected = _odds(model, shifted) / _odds(model, X[:4])
            if not np.allclose(expected, got[j], rtol=1e-6):
                what = "a step per feature" if np.ndim(step) else f"step={step:g}"
                raise CheckFailed(f"`{name}` with {what}: the model's predicted odds change by another factor when "
                                  f"feature {j} grows by its step; the factor is exp(weight × step).")
    none = as_array(call(func, model, step=0.0, name=name), name=name, shape=(3,))
    if not np.allclose(none, 1.0):
        raise CheckFailed(f"`{name}(model, step=0)` should be 1 for every feature: no change, same odds.")
    passed(f"{name}: shape {ratios.shape}, the factor by which the model's own odds change, for scalar and per-feature steps.")


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


def _reference_path(tree, x, names):
    """The tests on x's path, read from scikit-learn's own decision_path (it compares float32 values)."""
    nodes = tree.tree_
    visited = tree.decision_path(np.asarray(x, dtype=float)[None, :]).indices
    return [(names[nodes.feature[node]], "<=" if child == nodes.children_left[node] else ">", float(nodes.threshold[node]))
            for node, child in zip(visited[:-1], visited[1:])]


@graded(answer="decision_path_rules", part="3", points=3,
        hint="lecture 1, §7 'Decision trees', and lab part 3: go left when x[j] <= threshold (equal goes left), stop at a "
             "leaf (children_left == -1), report feature NAMES; scikit-learn compares x[j] cast to float32.")
def decision_path_rules(func) -> None:
    """Check ``decision_path_rules(tree, x, *, feature_names)`` against scikit-learn's ``decision_path``.

    The instances include values exactly on a threshold and a value just above a threshold in
    float64 that equals it once cast to float32, as scikit-learn compares.
    """
    name = "decision_path_rules"
    X, tree = _toy_tree()
    names = ["a", "b", "c"]
    x = X[0].copy()
    x_before = x.copy()
    conditions = as_conditions(call(func, tree, x, feature_names=names, name=name), name)
    _unchanged(x, x_before, name)
    nodes = tree.tree_
    instances = [row for row in X[:8]]
    on_threshold, float32_edge = [], []
    for node in range(nodes.node_count):
        if nodes.children_left[node] != -1:
            row = X[node % len(X)].copy()
            row[nodes.feature[node]] = nodes.threshold[node]
            on_threshold.append(row)
            row = row.copy()
            row[nodes.feature[node]] = np.nextafter(nodes.threshold[node], np.inf)
            float32_edge.append(row)
    for kind, rows in [("an instance", instances), ("an instance exactly on a threshold", on_threshold),
                       ("an instance just above a threshold in float64, on it in float32", float32_edge)]:
        for row in rows:
            got = as_conditions(call(func, tree, row.copy(), feature_names=list(names), name=name), name)
            expected = _reference_path(tree, row, names)
            for feature, _, _ in got:
                if feature not in names:
                    raise CheckFailed(f"`{name}`: {feature!r} is not one of the feature_names; report the name of the "
                                      "feature tested at each node.")
            if [(f, o) for f, o, _ in got] == [(f, o) for f, o, _ in expected] and all(
                    np.isclose(a[2], b[2], rtol=1e-9, atol=1e-12) for a, b in zip(got, expected)):
                continue
            if "float32" in kind:
                raise CheckFailed(f"`{name}` sends {kind} to the other side than scikit-learn, which compares the value "
                                  "cast to float32 with the threshold (np.float32(x[j]) <= threshold).")
            if len(got) != len(expected):
                raise CheckFailed(f"`{name}` returns {len(got)} tests for {kind} that passes {len(expected)} on its way "
                                  "to its leaf; there is one test per internal node on the path, and leaves test nothing.")
            raise CheckFailed(f"`{name}` leaves the path scikit-learn's decision_path takes for {kind}; go left when its "
                              "value is <= the threshold, right otherwise, and report that test.")
    passed(f"{name}: the path of scikit-learn's decision_path, also on a threshold and at float32 precision.")


@graded(answer="discretize", part="4", points=2,
        hint="lecture 1, §8 and lab part 4a: edges = np.linspace(min, max, n_bins + 1); bin k holds edges[k] <= x < edges[k+1] "
             "(a value ON an inner edge goes to the upper bin) and the maximum goes to the last bin.")
def discretize(func) -> None:
    """Check ``discretize(x, *, n_bins)`` against ``KBinsDiscretizer(strategy='uniform')``."""
    from sklearn.preprocessing import KBinsDiscretizer

    name = "discretize"
    x = np.array([3.2, -1.0, 0.4, 7.5, 2.2, 5.1, 6.0, -0.3, 4.4, 1.8])
    x_before = x.copy()
    result = call(func, x, n_bins=3, name=name)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailed(f"`{name}` should return two things, `codes, edges`.")
    codes = as_array(result[0], name=name, shape=x.shape, what="one bin per value")
    edges = as_array(result[1], name=name, shape=(4,), what="n_bins + 1 edges")
    _unchanged(x, x_before, name)
    on_edges = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 1.0, 7.0, 3.0])  # inner edges 2, 4, 6 hold values
    for values, n_bins in [(x, 3), (on_edges, 4)]:
        result = call(func, values.copy(), n_bins=n_bins, name=name)
        if not isinstance(result, tuple) or len(result) != 2:
            raise CheckFailed(f"`{name}` should return two things, `codes, edges`.")
        codes = as_array(result[0], name=name, shape=values.shape, what="one bin per value")
        edges = as_array(result[1], name=name, shape=(n_bins + 1,), what="n_bins + 1 edges")
        reference = KBinsDiscretizer(n_bins=n_bins, encode="ordinal", strategy="uniform", subsample=None)
        expected = reference.fit_transform(values[:, None]).ravel()
        if not np.allclose(edges, reference.bin_edges_[0], rtol=1e-12, atol=1e-12):
            raise CheckFailed(f"`{name}`: the edges should be n_bins + 1 equally spaced values from min(x) to max(x).")
        if not np.array_equal(codes, np.round(codes)) or codes.min() < 0 or codes.max() > n_bins - 1:
            raise CheckFailed(f"`{name}`: codes should be whole numbers 0 ... n_bins - 1; with n_bins={n_bins} you "
                              f"returned values from {codes.min():g} to {codes.max():g}.")
        if not np.array_equal(codes, expected):
            raise CheckFailed(f"`{name}` puts some values in another bin than KBinsDiscretizer(strategy='uniform'): "
                              "bin k holds edges[k] <= x < edges[k+1] (a value on an inner edge goes up), the maximum "
                              "goes to the last bin.")
    passed(f"{name}: codes and edges of KBinsDiscretizer(strategy='uniform'), also for values on an edge.")


def _tie_table():
    """Columns 1 and 3 tie for the smallest error; value "t" of column 1 has a class tie."""
    X = np.array([["u", "p", "k", "P"], ["v", "p", "l", "P"], ["u", "q", "m", "Q"], ["v", "q", "k", "Q"],
                  ["u", "r", "l", "R"], ["v", "r", "m", "R"], ["u", "t", "k", "T"], ["v", "t", "l", "T"],
                  ["u", "p", "m", "P"], ["v", "r", "k", "R"]], dtype=object)
    y = np.array(["yes", "yes", "no", "no", "maybe", "maybe", "yes", "maybe", "no", "maybe"], dtype=object)
    # errors: column 0 -> 5, column 1 -> 2 (p: yes yes no; t: yes maybe), column 2 -> 4, column 3 -> 2 (a copy)
    return X, y, {"p": "yes", "q": "no", "r": "maybe", "t": "maybe"}


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _one_r_result(result, n_features: int, name: str):
    if not isinstance(result, tuple) or len(result) != 3:
        raise CheckFailed(f"`{name}` should return three things, `feature, rules, errors`.")
    feature, rules, errors = result
    errors = as_array(errors, name=name, shape=(n_features,), what="one total error per feature")
    try:
        feature = int(feature)
    except (TypeError, ValueError):
        raise CheckFailed(f"`{name}`: `feature` should be a column index (an int), got {feature!r}.") from None
    if not 0 <= feature < n_features:
        raise CheckFailed(f"`{name}`: `feature` should be a column index between 0 and {n_features - 1}, got {feature}.")
    if not isinstance(rules, Mapping):
        raise CheckFailed(f"`{name}`: `rules` should be a dict mapping each value of the chosen feature to a class.")
    return feature, {_plain(k): _plain(v) for k, v in rules.items()}, errors


@graded(answer="one_r", part="5", points=4,
        hint="lecture 1, §8 'Decision rules and OneR': a feature's error counts the MISclassified instances; keep the SMALLEST error; "
             "ties: the smallest class label for a value, the lowest column for features (pd.crosstab sorts both).")
def one_r(func) -> None:
    """Check ``one_r(X, y)`` against mlxtend's ``OneRClassifier`` and on a table with ties."""
    from mlxtend.classifier import OneRClassifier

    name = "one_r"
    X = np.array([["red", "s", "a"], ["red", "m", "b"], ["blue", "s", "a"], ["blue", "l", "b"],
                  ["red", "l", "a"], ["blue", "m", "b"], ["red", "s", "a"], ["blue", "s", "b"]])
    y = np.array(["yes", "no", "yes", "no", "yes", "no", "yes", "no"])
    X_before = X.copy()
    feature, rules, errors = _one_r_result(call(func, X, y, name=name), X.shape[1], name)
    _unchanged(X, X_before, name)
    if not np.array_equal(errors, np.round(errors)) or errors.min() < 0 or errors.max() > len(y):
        raise CheckFailed(f"`{name}`: errors count misclassified instances, whole numbers between 0 and {len(y)}.")
    # mlxtend on a random table without ties (labels coded 0..k-1 for mlxtend)
    rng = np.random.default_rng(14)
    R = np.column_stack([rng.integers(0, k, size=40) for k in (2, 3, 4)])
    r = (R[:, 1] + rng.integers(0, 2, size=40) * rng.integers(0, 3, size=40)) % 3
    model = OneRClassifier(resolve_ties="first").fit(R, r)
    ref_errors = np.array([OneRClassifier(resolve_ties="first").fit(R[:, [j]], r).prediction_dict_["total error"]
                           for j in range(3)])
    feature, rules, errors = _one_r_result(call(func, R.copy(), r.copy(), name=name), 3, name)
    if not np.array_equal(errors, ref_errors):
        if np.array_equal(errors, len(r) - ref_errors):
            raise CheckFailed(f"`{name}` counts the correctly classified instances; the error counts the misclassified ones.")
        raise CheckFailed(f"`{name}`: the errors differ from mlxtend's OneRClassifier; a feature's error is the number "
                          "of instances whose class differs from its value's majority class.")
    if feature != int(model.feature_idx_):
        raise CheckFailed(f"`{name}` chose feature {feature}, but another feature has a smaller total error; OneR keeps "
                          "the feature with the smallest error.")
    expected_rules = {_plain(k): int(v) for k, v in model.prediction_dict_["rules (value: class)"].items()}
    if set(rules) != set(expected_rules) or any(int(rules[k]) != v for k, v in expected_rules.items()):
        raise CheckFailed(f"`{name}`: the rules should map every value of the chosen feature to its most frequent class.")
    # ties, by construction
    T, t, tie_rules = _tie_table()
    feature, rules, errors = _one_r_result(call(func, T.copy(), t.copy(), name=name), 4, name)
    if not np.array_equal(errors, [5, 2, 4, 2]):
        raise CheckFailed(f"`{name}`: on a table with string values the errors are wrong; count, per feature, the "
                          "instances whose class differs from the majority class of their value.")
    if feature != 1:
        raise CheckFailed(f"`{name}`: two features tie for the smallest error; choose the lowest column index.")
    if rules != tie_rules:
        raise CheckFailed(f"`{name}`: for a value where two classes are equally frequent, predict the smallest label "
                          "in sorted order.")
    passed(f"{name}: the errors, feature and rules of mlxtend's OneRClassifier, and the documented tie rules.")


summary = Summary("Lab 1", linear_effects, odds_ratios, decision_path_rules, discretize, one_r, written_points=8)
hint = summary.hint
install_not_written_handler(summary)
