"""Visible checks and hidden tests of lab 1, called directly (fast; no notebook)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from wrong_answers import for_lab

from xaikit import checks
from xaikit.checks import week01 as visible
from xaigrader import week01 as hidden

LAB = "lab01_interpretable_models"
SOLUTION = Path(__file__).resolve().parents[1] / "solutions" / LAB / f"{LAB}.py"
FUNCTIONS = ["linear_effects", "odds_ratios", "decision_path_rules", "discretize", "one_r"]


def _namespace(source: str) -> dict:
    namespace = {"np": np, "pd": pd}
    exec(compile(source, "<answer>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def solution() -> dict:
    """The lab's own solutions, taken from the lab source (so the test cannot drift from it)."""
    tree = ast.parse(SOLUTION.read_text())
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS]
    assert {f.name for f in functions} == set(FUNCTIONS)
    return _namespace("\n\n".join(ast.unparse(f) for f in functions))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_solution_passes_visible_and_hidden(function, solution, capsys):
    getattr(visible, function)(solution[function])
    getattr(hidden, function)(solution[function])
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("function", FUNCTIONS)
def test_blank_answer_is_not_attempted(function):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    for check in (getattr(visible, function), getattr(hidden, function)):
        with pytest.raises(checks.NotAttempted):
            check(blank)


WRONG = for_lab(LAB)


@pytest.mark.parametrize("wrong", WRONG, ids=[w.label for w in WRONG])
def test_each_wrong_answer_fails_its_hidden_test_in_one_sentence(wrong):
    namespace = _namespace(wrong.source)
    function = next(f for f in FUNCTIONS if f in namespace)
    with pytest.raises(checks.CheckFailed) as info:
        getattr(hidden, function)(namespace[function])
    assert len(info.value._render_traceback_()) == 1


@pytest.mark.parametrize("wrong", [w for w in WRONG if w.message], ids=[w.label for w in WRONG if w.message])
def test_wrong_answer_feedback_names_the_mistake(wrong):
    """What the test cell shows first (visible check, then hidden test) contains the expected words."""
    namespace = _namespace(wrong.source)
    function = next(f for f in FUNCTIONS if f in namespace)
    with pytest.raises(checks.CheckFailed) as info:
        getattr(visible, function)(namespace[function])
        getattr(hidden, function)(namespace[function])
    assert wrong.message in str(info.value)


def test_in_place_modification_is_caught():
    def effects_in_place(model, X):
        X *= model.coef_
        return X

    for check in (visible.linear_effects, hidden.linear_effects):
        with pytest.raises(checks.CheckFailed, match="changed the array|in place"):
            check(effects_in_place)


def test_visible_checks_explain_a_swapped_branch(solution):
    def swapped(tree, x, *, feature_names):
        t, node, out = tree.tree_, 0, []
        while t.children_left[node] != -1:
            j, thr = t.feature[node], t.threshold[node]
            if x[j] > thr:
                out.append((feature_names[j], "<=", thr))
                node = t.children_left[node]
            else:
                out.append((feature_names[j], ">", thr))
                node = t.children_right[node]
        return out

    with pytest.raises(checks.CheckFailed, match="go(es)? left when its value is <= the threshold|tests for an instance"):
        visible.decision_path_rules(swapped)


# --- the oracles themselves -------------------------------------------------------------------

def test_tie_table_has_a_feature_tie_and_a_class_tie():
    X, y = hidden._tie_table()
    feature, rules, errors = hidden._one_r_reference(X, y)
    assert errors[1] == errors[3] == errors.min() and errors[0] > errors[1] and errors[2] > errors[1]
    assert feature == 1
    mask = X[:, 1] == "t"
    assert (y[mask] == "yes").sum() == (y[mask] == "maybe").sum() and rules["t"] == "maybe"
    assert y[mask][0] == "yes"  # a first-seen rule would pick "yes"


def test_pandas_reference_agrees_with_mlxtend_on_random_tables():
    g = np.random.default_rng(0)
    for levels, n_classes, informative in [([2, 3, 4, 6, 3], 3, 2), ([5, 2, 7], 2, 0), ([3, 3, 3, 8], 4, 3)]:
        X, y = hidden._random_table(g, 90, levels, n_classes, informative)
        ours, theirs = hidden._one_r_reference(X, y), hidden._mlxtend_reference(X, y)
        assert ours[0] == theirs[0]
        assert ours[1] == {k: v for k, v in theirs[1].items()}
        np.testing.assert_array_equal(ours[2], theirs[2])


def test_pandas_reference_reproduces_the_slide_example():
    from xaikit.tables import load_apartments

    apartments = load_apartments()
    feature, rules, errors = hidden._one_r_reference(apartments[["Location", "Size", "Pets"]].to_numpy(),
                                                     apartments["Price"].to_numpy())
    assert feature == 1 and errors.tolist() == [4, 3, 4]
    assert rules == {"small": "low", "medium": "medium", "big": "high"}


def test_path_reference_visits_an_on_threshold_instance_to_the_left():
    from sklearn.tree import DecisionTreeClassifier

    X = np.arange(10.0)[:, None]
    tree = DecisionTreeClassifier(max_depth=1).fit(X, (X[:, 0] > 4).astype(int))
    on = np.array([tree.tree_.threshold[0]])
    assert hidden._path_reference(tree, on, ["x"]) == [("x", "<=", 4.5)]


# --- blind spots closed in issue 8 ------------------------------------------------------------

def test_module_declares_forbidden_libraries_and_a_budget_per_check():
    assert hidden.FORBIDDEN == ("mlxtend",)
    assert set(hidden.BUDGET_S) == set(FUNCTIONS)


def test_path_reference_matches_sklearns_apply_and_float32_rounding_on_every_hidden_instance():
    """The hidden instances include values exactly on thresholds that float32 rounds upwards."""
    names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    across = 0
    for tree, x in hidden._path_problems(9313):
        nodes, node, walked = tree.tree_, 0, []
        x32 = x.astype(np.float32).astype(np.float64)
        while nodes.children_left[node] != -1:
            left = x32[nodes.feature[node]] <= nodes.threshold[node]
            walked.append((names[nodes.feature[node]], "<=" if left else ">", float(nodes.threshold[node])))
            node = nodes.children_left[node] if left else nodes.children_right[node]
        assert node == tree.apply(x[None])[0]
        assert hidden._path_reference(tree, x, names) == walked
        across += any(hidden._rounds_across(x[names.index(f)], t) for f, _, t in walked)
    assert across >= 3  # instances that a float64 comparison sends the wrong way


def test_float32_answers_pass(solution, capsys):
    """The lab never asks for float64: results rounded to float32 get full marks."""
    def linear_effects(model, X):
        return (np.asarray(X, dtype=np.float32) * np.asarray(model.coef_, dtype=np.float32))

    def odds_ratios(model, *, step=1.0):
        return np.exp(np.ravel(model.coef_).astype(np.float32) * np.float32(step)).astype(np.float32)

    def decision_path_rules(tree, x, *, feature_names):
        return [(f, op, np.float32(t)) for f, op, t in solution["decision_path_rules"](tree, x, feature_names=feature_names)]

    def discretize(x, *, n_bins=4):
        codes, edges = solution["discretize"](x, n_bins=n_bins)
        return codes, edges.astype(np.float32)

    for answer in (linear_effects, odds_ratios, decision_path_rules, discretize):
        getattr(hidden, answer.__name__)(answer)
    assert capsys.readouterr().out.count("✓") == 4
