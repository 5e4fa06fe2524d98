"""Visible checks and hidden tests of lab 2, called directly (fast; no notebook)."""

from __future__ import annotations

import numpy as np
import pytest

from xaikit import checks
from xaikit.checks import week02 as visible
from xaigrader import week02 as hidden


def pdp(model, X, feature, grid):
    X = X.copy()
    out = []
    for v in grid:
        X[:, feature] = v
        out.append(model.predict(X).mean())
    return np.array(out)


def pdp_in_place(model, X, feature, grid):
    out = []
    for v in grid:
        X[:, feature] = v
        out.append(model.predict(X).mean())
    return np.array(out)


def test_reference_style_answer_passes_visible_and_hidden(capsys):
    visible.partial_dependence_1d(pdp)
    hidden.partial_dependence_1d(pdp)
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("check", [visible.partial_dependence_1d, hidden.partial_dependence_1d])
def test_modifying_X_in_place_is_caught(check):
    with pytest.raises(checks.CheckFailed, match="in place|changed the X"):
        check(pdp_in_place)


@pytest.mark.parametrize("check", [visible.partial_dependence_1d, visible.ice_curves, visible.partial_dependence_2d,
                                   visible.ale_1d, visible.permutation_importance, hidden.partial_dependence_1d,
                                   hidden.ice_curves, hidden.partial_dependence_2d, hidden.ale_1d,
                                   hidden.permutation_importance])
def test_every_check_reports_a_blank_answer_as_not_attempted(check):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(checks.NotAttempted):
        check(blank)


# --- the lab's own answers, its plausible mistakes, and the oracles (issue 8) ------------------

import ast  # noqa: E402
from pathlib import Path  # noqa: E402

from sklearn.metrics import r2_score  # noqa: E402
from wrong_answers import for_lab  # noqa: E402

LAB = "lab02_global_methods"
FUNCTIONS = {"pdp_1d": "partial_dependence_1d", "ice": "ice_curves", "pdp_2d": "partial_dependence_2d",
             "ale": "ale_1d", "pfi": "permutation_importance"}


def _namespace(source: str) -> dict:
    namespace = {"np": np, "r2_score": r2_score}
    exec(compile(source, "<answer>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def solution() -> dict:
    tree = ast.parse((Path(__file__).resolve().parents[1] / "solutions" / LAB / f"{LAB}.py").read_text())
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in FUNCTIONS.values()]
    assert {f.name for f in functions} == set(FUNCTIONS.values())
    return _namespace("\n\n".join(ast.unparse(f) for f in functions))


def test_module_declares_forbidden_libraries_and_a_budget_per_check():
    assert set(hidden.FORBIDDEN) == {"sklearn.inspection", "PyALE"}
    assert set(hidden.BUDGET_S) == set(FUNCTIONS.values())


@pytest.mark.parametrize("function", list(FUNCTIONS.values()))
def test_solution_passes_visible_and_hidden(function, solution, capsys):
    getattr(visible, function)(solution[function])
    getattr(hidden, function)(solution[function])
    assert capsys.readouterr().out.count("✓") == 2


WRONG = for_lab(LAB)


@pytest.mark.parametrize("wrong", WRONG, ids=[w.label for w in WRONG])
def test_each_wrong_answer_fails_in_one_sentence(wrong):
    namespace = _namespace(wrong.source)
    function = FUNCTIONS[wrong.grade_id]
    with pytest.raises(checks.CheckFailed) as info:
        getattr(visible, function)(namespace[function])
        getattr(hidden, function)(namespace[function])
    assert len(info.value._render_traceback_()) == 1
    assert wrong.message in str(info.value)


def test_float32_answers_pass(solution, capsys):
    """The lab never asks for float64: results rounded to float32 get full marks."""
    def as_float32(function):
        def answer(*args, **kwargs):
            return np.asarray(solution[function](*args, **kwargs), dtype=np.float32)
        return answer

    for function in FUNCTIONS.values():
        getattr(hidden, function)(as_float32(function))
    assert capsys.readouterr().out.count("✓") == len(FUNCTIONS)


def test_permutation_reference_agrees_with_sklearn_within_sampling_error():
    """The exact recipe reference and sklearn's permutation_importance (another random recipe) agree on average."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import make_scorer

    g = np.random.default_rng(0)
    X = g.normal(size=(400, 4))
    y = 2 * X[:, 0] + X[:, 1] ** 2 + 0.3 * g.normal(size=400)
    model = hidden._IgnoreLast(HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X[:, :4], y))
    X = np.column_stack([X, g.normal(size=400)])
    ours = hidden._permutation_reference(model, X, y, metric=r2_score, n_repeats=20, random_state=1)
    theirs = permutation_importance(model, X, y, scoring=make_scorer(r2_score), n_repeats=20, random_state=1).importances
    spread = np.sqrt(ours.var(axis=1, ddof=1) / 20 + theirs.var(axis=1, ddof=1) / 20)
    assert np.all(np.abs(ours.mean(axis=1) - theirs.mean(axis=1)) <= 4 * spread + 1e-3)
    assert np.all(ours[4] == 0) and np.all(theirs[4] == 0)


def test_permutation_test_exercises_the_defaults_and_a_second_metric():
    def defaults_differ(model, X, y, *, metric, n_repeats=7, random_state=1):
        return hidden._permutation_reference(model, X, y, metric=metric, n_repeats=n_repeats, random_state=random_state)

    with pytest.raises(checks.CheckFailed, match="n_repeats=5 columns by default"):
        hidden.permutation_importance(defaults_differ)
