"""Visible checks and hidden tests of lab 3, called directly (fast; no notebook)."""

from __future__ import annotations

from math import comb, factorial

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from wrong_answers import for_lab

from xaikit import checks
from xaikit.checks import week03 as visible
from xaigrader import week03 as hidden

# --- reference answers (the lab's recipe, written independently of the solution notebook) -------


def lime_tabular(predict, X_train, x, *, num_samples=5000, kernel_width=None, alpha=1.0, random_state=0):
    X_train = np.asarray(X_train, dtype=float)
    p = X_train.shape[1]
    width = 0.75 * np.sqrt(p) if kernel_width is None else kernel_width
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    Z = np.random.RandomState(random_state).normal(size=(num_samples, p))
    Z[0] = (np.asarray(x, dtype=float) - mean) / std
    weights = np.exp(-np.sum((Z - Z[0]) ** 2, axis=1) / (2 * width**2))
    return Ridge(alpha=alpha).fit(Z, predict(mean + std * Z), sample_weight=weights).coef_


def lime_image(predict_proba, image, segments, *, label, num_samples=1000, hide_color=None, kernel_width=0.25,
               random_state=0):
    image = np.asarray(image, dtype=float)
    M = int(segments.max()) + 1
    if hide_color is None:
        fill = np.stack([image[segments == s].mean(axis=0) for s in range(M)])[segments]
    else:
        fill = np.broadcast_to(np.asarray(hide_color, dtype=float), image.shape)
    masks = np.random.RandomState(random_state).randint(0, 2, size=(num_samples, M))
    masks[0] = 1
    y = predict_proba(np.where(masks[:, segments][..., None] == 1, image, fill))[:, label]
    weights = np.exp(-(1 - np.sqrt(masks.sum(axis=1) / M)) ** 2 / (2 * kernel_width**2))
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=weights).coef_


def _values(predict, x, background, masks):
    inputs = np.where(masks[:, None, :] == 1, x, background[None])
    return predict(inputs.reshape(-1, len(x))).reshape(len(masks), len(background)).mean(axis=1)


def shapley_values(predict, x, background):
    M = len(x)
    masks = (np.arange(2**M)[:, None] >> np.arange(M)) & 1
    v = _values(predict, np.asarray(x, float), np.asarray(background, float), masks)
    phi = np.zeros(M)
    for code, mask in enumerate(masks):
        k = mask.sum()
        for j in np.flatnonzero(mask == 0):
            phi[j] += factorial(k) * factorial(M - k - 1) / factorial(M) * (v[code | (1 << j)] - v[code])
    return phi


def kernel_shap(predict, x, background, *, n_samples=2048, random_state=0):
    x, background = np.asarray(x, float), np.asarray(background, float)
    M = len(x)
    codes = np.arange(1, 2**M - 1)
    if n_samples < len(codes):
        codes = np.random.default_rng(random_state).choice(codes, size=n_samples, replace=False)
    Z = (codes[:, None] >> np.arange(M)) & 1
    k = Z.sum(axis=1)
    pi = (M - 1) / (np.array([comb(M, int(s)) for s in k]) * k * (M - k))
    base = predict(background).mean()
    gap = predict(x[None])[0] - base
    # KKT system of the equality-constrained weighted least squares (another route than the lab's)
    kkt = np.block([[Z.T @ (pi[:, None] * Z), np.ones((M, 1))], [np.ones((1, M)), np.zeros((1, 1))]])
    rhs = np.append(Z.T @ (pi * (_values(predict, x, background, Z) - base)), gap)
    return np.linalg.lstsq(kkt, rhs, rcond=None)[0][:M]


REFERENCE = {"lime_tabular": lime_tabular, "lime_image": lime_image, "shapley_values": shapley_values,
             "kernel_shap": kernel_shap}
GRADE_IDS = {"lime_tabular": "lime_tabular", "lime_image": "lime_image", "shapley": "shapley_values",
             "kernel_shap": "kernel_shap"}


@pytest.mark.parametrize("name", list(REFERENCE))
def test_reference_answer_passes_visible_and_hidden(name, capsys):
    getattr(visible, name)(REFERENCE[name])
    getattr(hidden, name)(REFERENCE[name])
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("check", [getattr(module, name) for module in (visible, hidden) for name in REFERENCE],
                         ids=[f"{module.__name__.split('.')[0]}-{name}" for module in (visible, hidden) for name in REFERENCE])
def test_every_check_reports_a_blank_answer_as_not_attempted(check):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(checks.NotAttempted):
        check(blank)


@pytest.mark.parametrize("wrong", for_lab("lab03_local_methods"), ids=lambda w: w.label)
def test_every_plausible_mistake_is_caught(wrong):
    namespace = {"np": np, "Ridge": Ridge, "comb": comb, "factorial": factorial}
    exec(wrong.source, namespace)
    name = GRADE_IDS[wrong.grade_id]
    with pytest.raises(checks.CheckFailed) as info:
        getattr(visible, name)(namespace[name])
        getattr(hidden, name)(namespace[name])
    assert len(info.value._render_traceback_()) == 1
    assert wrong.message in str(info.value)


@pytest.mark.parametrize("check", [visible.shapley_values, hidden.shapley_values])
def test_modifying_the_background_in_place_is_caught(check):
    def centring_in_place(predict, x, background):
        background -= background.mean(axis=0)
        return shapley_values(predict, x, background)

    with pytest.raises(checks.CheckFailed, match="changed the background|in place"):
        check(centring_in_place)


def test_nan_and_wrong_shape_get_one_sentence():
    with pytest.raises(checks.CheckFailed, match="NaN"):
        hidden.kernel_shap(lambda predict, x, background, **_: np.full(len(x), np.nan))
    with pytest.raises(checks.CheckFailed, match="shape"):
        visible.lime_image(lambda *args, **kwargs: np.zeros(3))


def test_oracle_is_exact_by_brute_force():
    x, background = hidden._problem(9321, 6, 25)
    np.testing.assert_allclose(hidden._oracle_shapley(hidden._nonlinear, x, background),
                               shapley_values(hidden._nonlinear, x, background), rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # shap's Exact explainer spends 8-15 s compiling with numba in every fresh process
def test_oracle_equals_shaps_exact_explainer():
    import shap

    for seed, M, n in [(9321, 6, 25), (9334, 10, 20)]:
        x, background = hidden._problem(seed, M, n)
        exact = shap.explainers.Exact(hidden._nonlinear, shap.maskers.Independent(background, max_samples=n))
        np.testing.assert_allclose(hidden._oracle_shapley(hidden._nonlinear, x, background),
                                   exact(x[None]).values[0], rtol=1e-9, atol=1e-12)


# --- blind spots closed in issue 8 ------------------------------------------------------------

import ast  # noqa: E402
from pathlib import Path  # noqa: E402

LAB = "lab03_local_methods"


@pytest.fixture(scope="module")
def solution() -> dict:
    """The lab's own answers, taken from the lab source."""
    tree = ast.parse((Path(__file__).resolve().parents[1] / "solutions" / LAB / f"{LAB}.py").read_text())
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in REFERENCE]
    assert {f.name for f in functions} == set(REFERENCE)
    namespace = {"np": np, "Ridge": Ridge, "comb": comb, "factorial": factorial}
    exec("\n\n".join(ast.unparse(f) for f in functions), namespace)
    return namespace


def test_module_declares_forbidden_libraries_and_a_budget_per_check():
    assert set(hidden.FORBIDDEN) == {"lime", "shap"}
    assert set(hidden.BUDGET_S) == set(REFERENCE)


@pytest.mark.parametrize("name", list(REFERENCE))
def test_lab_solution_passes_hidden(name, solution, capsys):
    getattr(hidden, name)(solution[name])
    assert capsys.readouterr().out.count("✓") == 1


# Answers computed entirely in single precision: the lab never asks for float64.
f32 = np.float32


def lime_tabular_32(predict, X_train, x, *, num_samples=5000, kernel_width=None, alpha=1.0, random_state=0):
    X_train = np.asarray(X_train, dtype=f32)
    p = X_train.shape[1]
    width = f32(0.75 * np.sqrt(p)) if kernel_width is None else f32(kernel_width)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    samples = mean + std * np.random.RandomState(random_state).normal(size=(num_samples, p)).astype(f32)
    samples[0] = x
    z = (samples - mean) / std
    weights = np.exp(-np.sum((z - z[0]) ** 2, axis=1) / (2 * width**2))
    return Ridge(alpha=alpha).fit(z, np.asarray(predict(samples), dtype=f32), sample_weight=weights).coef_


def lime_image_32(predict_proba, image, segments, *, label, num_samples=1000, hide_color=None, kernel_width=0.25,
                  random_state=0):
    image = np.asarray(image, dtype=f32)
    M = int(segments.max()) + 1
    if hide_color is None:
        fill = np.stack([image[segments == s].mean(axis=0) for s in range(M)])[segments]
    else:
        fill = np.broadcast_to(np.asarray(hide_color, dtype=f32), image.shape)
    masks = np.random.RandomState(random_state).randint(0, 2, size=(num_samples, M)).astype(f32)
    masks[0] = 1
    y = np.asarray(predict_proba(np.where(masks[:, segments][..., None] == 1, image, fill)), dtype=f32)[:, label]
    weights = np.exp(-(1 - np.sqrt(masks.sum(axis=1) / M)) ** 2 / (2 * f32(kernel_width) ** 2))
    return Ridge(alpha=1.0).fit(masks, y, sample_weight=weights).coef_


def _values_32(predict, x, background, masks):
    inputs = np.where(masks[:, None, :] == 1, x, background[None]).astype(f32)
    return np.asarray(predict(inputs.reshape(-1, len(x))), dtype=f32).reshape(len(masks), len(background)).mean(axis=1)


def shapley_values_32(predict, x, background):
    x, background = np.asarray(x, f32), np.asarray(background, f32)
    M = len(x)
    masks = (np.arange(2**M)[:, None] >> np.arange(M)) & 1
    v = _values_32(predict, x, background, masks)
    phi = np.zeros(M, dtype=f32)
    for code, mask in enumerate(masks):
        k = mask.sum()
        for j in np.flatnonzero(mask == 0):
            phi[j] += f32(factorial(k) * factorial(M - k - 1) / factorial(M)) * (v[code | (1 << j)] - v[code])
    return phi


def kernel_shap_32(predict, x, background, *, n_samples=2048, random_state=0):
    x, background = np.asarray(x, f32), np.asarray(background, f32)
    M = len(x)
    codes = np.arange(1, 2**M - 1)
    if n_samples < len(codes):
        codes = np.random.default_rng(random_state).choice(codes, size=n_samples, replace=False)
    Z = ((codes[:, None] >> np.arange(M)) & 1).astype(f32)
    k = Z.sum(axis=1)
    pi = ((M - 1) / (np.array([comb(M, int(s)) for s in k]) * k * (M - k))).astype(f32)
    v = _values_32(predict, x, background, Z)
    base = f32(np.asarray(predict(background), dtype=f32).mean())
    gap = f32(np.asarray(predict(x[None]), dtype=f32)[0]) - base
    A = Z[:, :-1] - Z[:, [-1]]
    root = np.sqrt(pi)
    rest = np.linalg.lstsq(A * root[:, None], (v - base - Z[:, -1] * gap) * root, rcond=None)[0]
    return np.append(rest, gap - rest.sum()).astype(f32)


@pytest.mark.parametrize("answer", [lime_tabular_32, lime_image_32, shapley_values_32, kernel_shap_32],
                         ids=lambda f: f.__name__)
def test_float32_answers_pass(answer, capsys):
    name = answer.__name__.removesuffix("_32")
    answer.__name__ = name
    getattr(hidden, name)(answer)
    assert capsys.readouterr().out.count("✓") == 1


def test_kernel_shap_reference_is_the_labs_recipe_and_exact_with_every_coalition(solution):
    """The KKT reference equals the lab's own (elimination + lstsq) answer on sampled coalitions,
    and shap's exact values once every coalition is used."""
    for seed, M, n, n_samples in [(1, 6, 10, 20), (2, 8, 15, 60), (3, 10, 20, 800)]:
        x, background = hidden._problem(seed, M, n)
        np.testing.assert_allclose(hidden._kernel_shap_reference(hidden._nonlinear, x, background, n_samples=n_samples,
                                                                 random_state=seed),
                                   solution["kernel_shap"](hidden._nonlinear, x, background, n_samples=n_samples,
                                                           random_state=seed), rtol=1e-9, atol=1e-10)
    x, background = hidden._problem(9331, 6, 25)
    np.testing.assert_allclose(hidden._kernel_shap_reference(hidden._nonlinear, x, background),
                               hidden._oracle_shapley(hidden._nonlinear, x, background), rtol=1e-9, atol=1e-10)


def test_callables_handed_to_the_answers_are_module_level():
    """They are pickled by value into the sandboxed worker: no closures or lambdas."""
    import inspect

    for name in REFERENCE:
        source = inspect.getsource(getattr(hidden, name))
        assert "lambda" not in source and "\n        def " not in source, name
