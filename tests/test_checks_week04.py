"""Visible checks and hidden tests of lab 4, called directly on the lab's own answers (fast; no notebook).

The answer cells of ``solutions/lab04_example_based/lab04_example_based.py`` are executed into
a namespace, so these tests grade the real solution, every plausible wrong answer of
``tests/wrong_answers/`` and a blank answer in seconds. They also prove the oracles: the
closed-form counterfactual equals linear programming, captum's influence equals the formula,
statsmodels' DFBETA equals refits, and the test problems have the structure the checks rely on.
"""

from __future__ import annotations

import importlib
import re

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from wrong_answers import for_lab

from xaikit import checks, load_bike_demand
from xaikit.checks import week04 as visible
from xaikit.tabular_models import LogisticNet, TabularMLP, fit_tabular_mlp, predict_positive
from xaigrader import week04 as hidden
from weekly import executed_answers, one_thread  # noqa: F401 - one_thread: autouse fixture
from weekly import run as _run

LAB = "lab04_example_based"
CHECKED = {  # grade_id -> name of the function (and of its checks)
    "wachter": "wachter_counterfactual",
    "minimal_cf": "minimal_counterfactual",
    "dpp": "dpp_diversity",
    "mmd2": "mmd2",
    "greedy": "greedy_prototypes",
    "criticisms": "criticisms",
    "dfbeta": "dfbeta",
    "influence": "influence_on_test_loss",
}


def _namespace() -> dict:
    return dict(np=np, torch=torch)


@pytest.fixture(scope="module")
def solution(root) -> dict:
    """The lab's graded answer cells, executed."""
    return executed_answers(root, LAB, CHECKED, _namespace())


@pytest.mark.parametrize("name", list(CHECKED.values()))
def test_solution_passes_visible_and_hidden(solution, name):
    assert "✓" in _run(getattr(visible, name), solution[name])
    assert "✓" in _run(getattr(hidden, name), solution[name])


@pytest.mark.parametrize("wrong", for_lab(LAB), ids=lambda w: w.label)
def test_each_wrong_answer_fails_in_one_sentence(wrong):
    namespace = _namespace()
    exec(wrong.source, namespace)
    name = CHECKED[wrong.grade_id]
    with pytest.raises(checks.CheckFailed) as info:
        _run(getattr(visible, name), namespace[name])
        _run(getattr(hidden, name), namespace[name])
    lines = info.value._render_traceback_()
    assert len(lines) == 1 and wrong.message in lines[0]


@pytest.mark.parametrize("name", list(CHECKED.values()))
def test_every_check_reports_a_blank_answer_as_not_attempted(name):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    for check in (getattr(visible, name), getattr(hidden, name)):
        with pytest.raises(checks.NotAttempted, match="not written yet"):
            check(blank)


def test_modifying_inputs_in_place_is_caught(solution):
    def dfbeta_in_place(X, y):
        out = solution["dfbeta"](X, y)
        y -= 1.0
        return out

    def mmd2_in_place(X, Z, *, gamma):
        value = solution["mmd2"](X, Z, gamma=gamma)
        X *= 2
        return value

    for name, answer in [("dfbeta", dfbeta_in_place), ("mmd2", mmd2_in_place)]:
        for check in (getattr(visible, name), getattr(hidden, name)):
            with pytest.raises(checks.CheckFailed, match="changed the|modified the"):
                _run(check, answer)


def test_counterfactual_returned_as_a_tensor_is_accepted(solution):
    def as_tensor(*args, **kwargs):
        return torch.tensor(solution["wachter_counterfactual"](*args, **kwargs))

    assert "✓" in _run(visible.wachter_counterfactual, as_tensor)


def test_wrong_shapes_and_nan_are_named(solution):
    def two_rows(*args, **kwargs):
        return np.tile(solution["minimal_counterfactual"](*args, **kwargs), (2, 1))

    def nan_influence(*args):
        out = solution["influence_on_test_loss"](*args)
        out[0] = np.nan
        return out

    with pytest.raises(checks.CheckFailed, match="shape"):
        _run(hidden.minimal_counterfactual, two_rows)
    with pytest.raises(checks.CheckFailed, match="NaN"):
        _run(visible.influence_on_test_loss, nan_influence)


# --- the oracles ------------------------------------------------------------------------

def test_closed_form_counterfactual_equals_linear_programming(solution):
    """The L1 optimum of a logistic model changes the feature with the largest |w_j| MAD_j (checked by HiGHS)."""
    for seed in range(5):
        coef, intercept, x, mad, best, second = hidden._logistic_problem(9000 + seed)
        model = hidden.LogisticRegression()
        model.coef_, model.intercept_, model.classes_ = coef[None], np.array([intercept]), np.array([0, 1])
        for target, mutable in [(0.7, None), (0.3, np.arange(len(x)) != best)]:
            lp = hidden.cheapest_counterfactual(coef, intercept, x, target, mad, mutable)
            closed = solution["minimal_counterfactual"](model, x, target, mad, mutable=mutable)
            np.testing.assert_allclose((closed - x) / mad, (lp - x) / mad, rtol=1e-7, atol=1e-9)
            assert np.flatnonzero(np.abs(lp - x) > 1e-9 * mad).tolist() == [best if mutable is None else second]


def test_logistic_problems_separate_the_cost_of_right_and_wrong_searches():
    """The design of the hidden problem: L1 in MAD units is 1, L2 about 2, raw-unit L1 over 3 times the optimum."""
    for seed in (9403, 9405):
        coef, intercept, x, mad, best, _ = hidden._logistic_problem(seed)
        v = np.abs(coef) * mad
        assert np.isclose(v.max(), 1.0) and np.sum(v > 0.5) == 2
        assert v[np.argmax(np.abs(coef))] <= 0.3  # raw units pick a weak feature
        assert np.sum(v) * v.max() / np.sum(v**2) > 1.9  # the cost ratio of the L2 direction


def test_criticism_problem_has_large_witnesses_of_both_signs():
    for seed in (9441, 9442):
        K, prototypes = hidden._criticism_problem(seed)
        witness = K.mean(axis=0) - K[prototypes].mean(axis=0)
        top = hidden.reference_criticisms(K, prototypes, 10)
        assert (witness[top] > 0).any() and (witness[top] < 0).any()


def test_greedy_reference_decreases_mmd_and_beats_density_ranking():
    X = hidden._clusters(9431, (40, 25, 10, 5))
    K = hidden._rbf(X, X, 0.3)
    chosen = hidden.reference_greedy(K, 6)
    values = [hidden.reference_mmd2(X, X[chosen[:m]], 0.3) for m in range(1, 7)]
    assert np.all(np.diff(values) < 0)
    densest = np.argsort(-K.mean(axis=0))[:6]
    assert hidden.reference_mmd2(X, X[densest], 0.3) > values[-1]


def test_statsmodels_dfbeta_equals_refits():
    from statsmodels.api import OLS
    from statsmodels.stats.outliers_influence import OLSInfluence

    X, y = hidden._regression_problem(9451)
    np.testing.assert_allclose(OLSInfluence(OLS(y, X).fit()).dfbeta, hidden.refit_dfbeta(X, y), rtol=1e-9, atol=1e-12)


def test_captum_influence_equals_the_formula_and_approximates_refits(solution):
    X, y, x_tests = hidden._classification_problem(9461)
    theta = hidden.fit_l2_logistic(X, y, 1.0)
    gradient = X.T @ (hidden._sigmoid(X @ theta) - y) + theta
    assert np.abs(gradient).max() < 1e-10  # theta is the optimum
    formula = solution["influence_on_test_loss"](X, y, theta, 1.0, x_tests[0], 1.0)
    np.testing.assert_allclose(hidden.captum_influence(X, y, theta, 1.0, x_tests[0], 1.0), formula,
                               rtol=1e-8, atol=1e-12)
    exact = hidden.loo_test_loss_change(X, y, theta, 1.0, x_tests[0], 1.0)
    assert spearmanr(formula, exact)[0] > 0.99
    assert np.max(np.abs(formula - exact)) < 0.1 * np.abs(exact).max()


def test_sklearn_logistic_regression_gives_the_optimum_the_lab_uses():
    """The lab fits theta with LogisticRegression(C=1/lam, fit_intercept=False): the same optimum as Newton."""
    from sklearn.linear_model import LogisticRegression

    X, y, _ = hidden._classification_problem(9462)
    theta = LogisticRegression(C=1 / 3.0, fit_intercept=False, tol=1e-10, max_iter=10_000).fit(X, y).coef_[0]
    np.testing.assert_allclose(theta, hidden.fit_l2_logistic(X, y, 3.0), rtol=1e-6, atol=1e-7)


def test_forbidden_modules_and_budgets_cover_every_check():
    assert {"captum", "statsmodels"} <= set(hidden.FORBIDDEN)
    assert set(hidden.BUDGET_S) == set(CHECKED.values())


def test_hidden_tests_use_seeds_the_lab_does_not(root):
    lab = (root / "solutions" / LAB / f"{LAB}.py").read_text()
    grader = (root / "grader" / "xaigrader" / "week04.py").read_text()
    seeds = set(re.findall(r"\b94\d\d\b", grader))
    assert len(seeds) >= 10
    assert not any(seed in lab for seed in seeds)


def test_visible_checks_import_the_forbidden_libraries_only_inside_a_check():
    """captum and statsmodels compute references inside the checks; the module never exposes them."""
    import ast

    module = importlib.import_module("xaikit.checks.week04")
    tree = ast.parse(open(module.__file__).read())
    for node in tree.body:  # module level: no forbidden import
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            assert not any(n.split(".")[0] in hidden.FORBIDDEN for n in names), ast.unparse(node)
    assert not any(getattr(value, "__module__", "").split(".")[0] in hidden.FORBIDDEN
                   for value in vars(module).values())


# --- the helper's models and data --------------------------------------------------------

def test_bike_demand_loader():
    demand = load_bike_demand()
    assert demand.data.shape == (8645, 5) and set(np.unique(demand.target)) == {0, 1}
    assert np.array_equal(demand.target, (demand.count >= 200).astype(int))
    assert load_bike_demand(threshold=100).target.mean() > demand.target.mean()
    with pytest.raises(ValueError, match="threshold"):
        load_bike_demand(threshold=0)


def test_tabular_models_are_probabilities_and_differentiable():
    net = LogisticNet([1.0, -2.0], 0.5)
    x = torch.tensor([[0.3, 0.1]], requires_grad=True)
    p = net(x)
    assert p.shape == (1,)
    (grad,) = torch.autograd.grad(p.sum(), x)
    s = torch.sigmoid(torch.tensor(0.6))
    torch.testing.assert_close(grad[0], s * (1 - s) * torch.tensor([1.0, -2.0]))
    assert TabularMLP(3)(torch.zeros(4, 3)).shape == (4,)
    with pytest.raises(ValueError, match="scale"):
        TabularMLP(2, scale=[1.0, 0.0])


def test_fit_tabular_mlp_is_deterministic_and_learns():
    g = np.random.default_rng(0)
    X = g.normal(size=(300, 2)) * [1.0, 50.0]
    y = (X[:, 0] + X[:, 1] / 50 > 0).astype(int)
    a = fit_tabular_mlp(X, y, epochs=150, progress=False)
    b = fit_tabular_mlp(X, y, epochs=150, progress=False)
    np.testing.assert_array_equal(predict_positive(a, X), predict_positive(b, X))
    assert np.mean((predict_positive(a, X) > 0.5) == y) > 0.95
    with pytest.raises(ValueError, match="labels 0 and 1"):
        fit_tabular_mlp(X, y + 1, progress=False)
