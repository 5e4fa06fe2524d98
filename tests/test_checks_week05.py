"""Visible checks and hidden tests of lab 5, called directly on the lab's own answers (fast; no notebook).

The answer cells of ``solutions/lab05_pixel_attribution/lab05_pixel_attribution.py`` are
executed into a namespace, so these tests grade the real solution, every plausible wrong
answer of ``tests/wrong_answers/`` and a blank answer, in seconds.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt
from scipy.stats import spearmanr
from wrong_answers import for_lab

from xaikit import checks
from xaikit.checks import week05 as visible
from xaikit.cnn import forward_with_activations
from xaigrader import week05 as hidden
from weekly import executed_answers, one_thread  # noqa: F401 - one_thread: autouse fixture
from weekly import run as _run

LAB = "lab05_pixel_attribution"
CHECKED = {  # grade_id -> name of the class or function (and of its checks)
    "vanilla_gradient": "VanillaGradient",
    "gradient_x_input": "GradientXInput",
    "smooth_grad": "SmoothGrad",
    "integrated_gradients": "IntegratedGradients",
    "occlusion": "Occlusion",
    "grad_cam": "GradCAM",
    "grad_cam_pp": "GradCAMPlusPlus",
    "fgsm": "FGSM",
    "randomization": "model_randomization_test",
    "deletion": "deletion_curve",
    "pointing": "pointing_game",
    "relevance": "relevance_mass",
}


def _namespace() -> dict:
    return dict(np=np, torch=torch, F=F, copy=copy, spearmanr=spearmanr,
                distance_transform_edt=distance_transform_edt, forward_with_activations=forward_with_activations)


@pytest.fixture(scope="module")
def solution(root) -> dict:
    """The lab's answer cells, executed."""
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


def _blank_class(name: str):
    def not_written(self, *args, **kwargs):
        raise NotImplementedError()

    def init(self, model, layer=None):
        self.model, self.layer = model, layer

    return type(name, (), {"__init__": init, "attribute": not_written, "perturb": not_written})


@pytest.mark.parametrize("name", list(CHECKED.values()))
def test_every_check_reports_a_blank_answer_as_not_attempted(name):
    if name[0].isupper():
        blank = _blank_class(name)
    else:
        def blank(*args, **kwargs):
            raise NotImplementedError()
    for check in (getattr(visible, name), getattr(hidden, name)):
        with pytest.raises(checks.NotAttempted, match="not written yet"):
            check(blank)


def test_attributions_must_be_detached_tensors_for_the_visible_checks_only(solution):
    class Attached(solution["VanillaGradient"]):
        def attribute(self, inputs, target, *, abs=True):
            return super().attribute(inputs, target, abs=abs).requires_grad_(True) * 1.0

    class AsNumpy(solution["VanillaGradient"]):
        def attribute(self, inputs, target, *, abs=True):
            return super().attribute(inputs, target, abs=abs).numpy()

    for cls, fragment in [(Attached, "requires grad"), (AsNumpy, "return a torch tensor")]:
        with pytest.raises(checks.CheckFailed, match=fragment):
            _run(visible.VanillaGradient, cls)
        assert "✓" in _run(hidden.VanillaGradient, cls)  # the grade depends on the values only


def test_nan_and_shape_mistakes_are_named(solution):
    class WithNan(solution["GradCAM"]):
        def attribute(self, inputs, target):
            out = super().attribute(inputs, target)
            out[0, 0, 0, 0] = float("nan")
            return out

    class LayerSized(solution["GradCAM"]):
        def attribute(self, inputs, target):
            return super().attribute(inputs, target)[:, :, ::2, ::2]

    with pytest.raises(checks.CheckFailed, match="NaN"):
        _run(hidden.GradCAM, WithNan)
    with pytest.raises(checks.CheckFailed, match="upsampled to the input's height and width"):
        _run(visible.GradCAM, LayerSized)


def test_modifying_the_images_in_place_is_caught(solution):
    class InPlace(solution["FGSM"]):
        def perturb(self, inputs, target, *, epsilon):
            adv = super().perturb(inputs, target, epsilon=epsilon)
            inputs.copy_(adv)
            return adv

    for check in (visible.FGSM, hidden.FGSM):
        with pytest.raises(checks.CheckFailed, match="changed the images|modified the images"):
            _run(check, InPlace)


def test_smooth_network_makes_the_completeness_test_sharp():
    """The hidden completeness test allows 0.5 %; captum's own midpoint rule is far closer on its network."""
    from captum.attr import IntegratedGradients

    model, x, target = hidden._smooth_problem(9544)
    baselines = hidden._images(9545, len(x), x.shape[1], x.shape[-1])
    attributions = IntegratedGradients(model).attribute(x, baselines=baselines, target=target, n_steps=64,
                                                        method="riemann_middle")
    with torch.no_grad():
        gap = (model(x) - model(baselines))[torch.arange(len(x)), target]
    error = (attributions.sum(dim=(1, 2, 3)) - gap).abs() / gap.abs()
    assert float(error.max()) < 0.0005


def test_hidden_tests_use_seeds_the_lab_does_not(root):
    lab = (root / "solutions" / LAB / f"{LAB}.py").read_text()
    for seed in ("9511", "9521", "9531", "9541", "9551", "9561", "9571", "9581", "9591", "9601", "9611", "9621"):
        assert seed in (root / "grader" / "xaigrader" / "week05.py").read_text()
        assert seed not in lab


# --- blind spots closed in issue 8 ------------------------------------------------------------

def test_module_declares_forbidden_libraries_and_a_budget_per_check():
    assert set(hidden.FORBIDDEN) == {"captum", "pytorch_grad_cam"}
    assert set(hidden.BUDGET_S) == set(CHECKED.values())
    assert all(0 < seconds <= 60 for seconds in hidden.BUDGET_S.values())


def test_hidden_models_include_batch_norm_and_dropout_in_eval_mode_and_non_square_images():
    problems = hidden._problems(9511)
    assert all(not any(m.training for m in model.modules()) for model, _, _ in problems)
    norm, x, target = problems[2]
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in norm.modules())
    assert any(isinstance(m, torch.nn.Dropout) for m in norm.modules())
    assert any(x.shape[-2] != x.shape[-1] for _, x, _ in problems)
    with torch.no_grad():
        evaluated = norm(x)
        norm.train()
        trained = norm(x)
        norm.eval()
    assert (evaluated - trained).abs().max() > 0.1 * evaluated.abs().max()  # train mode gives other values


def test_randomization_explains_with_a_signed_plain_torch_map():
    model, x, target = hidden._problems(9591)[0]
    maps = hidden._signed_gradient_map(model, x, target)
    assert maps.shape == (len(x), *x.shape[-2:]) and (maps < 0).any() and (maps > 0).any()
    assert set(hidden._signed_gradient_map.__code__.co_names) <= {"detach", "clone", "requires_grad_", "torch",
                                                                   "arange", "len", "autograd", "grad", "sum", "numpy"}


def test_an_answer_that_sets_requires_grad_on_the_callers_images_is_not_rejected(solution):
    """It changes no value; the earlier hidden test crashed on it ('could not be checked')."""
    class FlagOnInputs:
        def __init__(self, model):
            self.model = model

        def attribute(self, inputs, target, *, abs=True):
            inputs.requires_grad_(True)
            scores = self.model(inputs)[torch.arange(len(inputs)), target]
            grads = torch.autograd.grad(scores.sum(), inputs)[0]
            return grads.abs() if abs else grads

    assert "✓" in _run(hidden.VanillaGradient, FlagOnInputs)


def test_float32_and_float64_evaluation_answers_pass(solution):
    def relevance_mass_float32(saliency, masks):
        positive = np.clip(np.asarray(saliency, dtype=np.float32), 0, None)
        return (positive * masks).sum(axis=(1, 2)) / positive.sum(axis=(1, 2))

    class VanillaGradient64(solution["VanillaGradient"]):
        def attribute(self, inputs, target, *, abs=True):
            return super().attribute(inputs, target, abs=abs).double()

    assert "✓" in _run(hidden.relevance_mass, relevance_mass_float32)
    assert "✓" in _run(hidden.VanillaGradient, VanillaGradient64)
