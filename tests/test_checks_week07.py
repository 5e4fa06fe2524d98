"""Visible checks and hidden tests of lab 7, called directly on the lab's own answers (fast; no notebook).

The answer cells of ``solutions/lab07_attention/lab07_attention.py`` are executed into a
namespace, so these tests grade the real solution, every plausible wrong answer of
``tests/wrong_answers/`` and a blank answer, in seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow
from scipy.stats import kendalltau
from wrong_answers import for_lab

from xaikit import checks
from xaikit.checks import week07 as visible
from xaigrader import week07 as hidden
from weekly import executed_answers, one_thread  # noqa: F401 - one_thread: autouse fixture
from weekly import run as _run

LAB = "lab07_attention"
CHECKED = {  # grade_id -> name of the class or function (and of its checks)
    "mha": "multi_head_attention",
    "extract": "extract_attention",
    "rollout": "attention_rollout",
    "flow": "attention_flow",
    "gxi": "GradientXInput",
    "ig": "IntegratedGradients",
    "occlusion": "TokenOcclusion",
    "pointing": "pointing_game",
    "agreement": "rank_agreement",
}


def _namespace() -> dict:
    return dict(np=np, torch=torch, math=math, csr_array=csr_array, maximum_flow=maximum_flow, kendalltau=kendalltau)


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


@pytest.mark.parametrize("wrong", for_lab(LAB), ids=lambda w: w.label)
def test_the_hidden_test_alone_catches_each_wrong_answer(wrong):
    """Even a student who skips the visible checks loses the points of a wrong answer."""
    namespace = _namespace()
    exec(wrong.source, namespace)
    with pytest.raises(checks.CheckFailed):
        _run(getattr(hidden, CHECKED[wrong.grade_id]), namespace[CHECKED[wrong.grade_id]])


def _blank_class(name: str):
    def not_written(self, *args, **kwargs):
        raise NotImplementedError()

    def init(self, model):
        self.model = model

    return type(name, (), {"__init__": init, "attribute": not_written})


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


def test_grader_declares_forbidden_modules_and_a_budget_per_check():
    assert hidden.FORBIDDEN == ("captum",)
    assert set(hidden.BUDGET_S) == set(CHECKED.values())
    assert all(seconds > 0 for seconds in hidden.BUDGET_S.values())


def test_mask_with_a_large_negative_number_is_accepted(solution):
    """Masking with -1e9 instead of -inf also gives exactly zero weight: a correct answer."""
    def large_negative(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask=None):
        mask = None if attention_mask is None else attention_mask
        n, t, dim = x.shape
        d = dim // n_heads
        q = (x @ w_q.T + b_q).view(n, t, n_heads, d).transpose(1, 2)
        k = (x @ w_k.T + b_k).view(n, t, n_heads, d).transpose(1, 2)
        v = (x @ w_v.T + b_v).view(n, t, n_heads, d).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / d**0.5
        if mask is not None:
            scores = scores + (1.0 - mask[:, None, None, :].float()) * -1e9
        weights = scores.softmax(dim=-1)
        return (weights @ v).transpose(1, 2).reshape(n, t, dim), weights

    assert "✓" in _run(visible.multi_head_attention, large_negative)
    assert "✓" in _run(hidden.multi_head_attention, large_negative)


def test_attributions_must_be_detached_tensors_for_the_visible_checks_only(solution):
    class Attached(solution["GradientXInput"]):
        def attribute(self, input_ids, target, *, attention_mask=None):
            return super().attribute(input_ids, target, attention_mask=attention_mask).requires_grad_(True) * 1.0

    class AsNumpy(solution["GradientXInput"]):
        def attribute(self, input_ids, target, *, attention_mask=None):
            return super().attribute(input_ids, target, attention_mask=attention_mask).numpy()

    for cls, fragment in [(Attached, "requires grad"), (AsNumpy, "return a torch tensor")]:
        with pytest.raises(checks.CheckFailed, match=fragment):
            _run(visible.GradientXInput, cls)
        assert "✓" in _run(hidden.GradientXInput, cls)  # the grade depends on the values only


def test_modifying_the_input_ids_in_place_is_caught(solution):
    class InPlace(solution["TokenOcclusion"]):
        def attribute(self, input_ids, target, *, replacement_id, attention_mask=None, window=1):
            out = super().attribute(input_ids, target, replacement_id=replacement_id, attention_mask=attention_mask,
                                    window=window)
            input_ids[:, 1] = replacement_id
            return out

    for check in (visible.TokenOcclusion, hidden.TokenOcclusion):
        with pytest.raises(checks.CheckFailed, match="modified"):
            _run(check, InPlace)


def test_completeness_problem_is_sharp():
    """The hidden completeness test allows 1 %; captum's own midpoint rule is within 0.3 % on its model."""
    from captum.attr import LayerIntegratedGradients

    model, ids, mask, target = hidden._text_problems(9757)[1]
    baseline = hidden.reference_input_ids(ids, keep_ids=(1, 2, 0))
    _, delta = LayerIntegratedGradients(model, model.word_embeddings).attribute(
        ids, baselines=baseline, target=target, additional_forward_args=(mask,), n_steps=64, method="riemann_middle",
        return_convergence_delta=True)
    with torch.no_grad():
        gap = (model(ids, mask) - model(baseline, mask))[torch.arange(len(ids)), target]
    assert float((delta.abs() / gap.abs()).max()) < 0.003


def test_attention_problems_are_not_nearly_uniform():
    """Peaked attention makes the comparison with PyTorch sensitive to a missing scale or mask."""
    x, weights, mask = hidden._attention_problem(9701, 3, 7, 12, [7, 4, 6])
    _, _, w = hidden._torch_references(x, weights, 3, mask)
    assert float(w.max()) > 0.6


def test_hidden_tests_use_seeds_the_lab_and_checks_do_not(root):
    lab = (root / "solutions" / LAB / f"{LAB}.py").read_text()
    grader = (root / "grader" / "xaigrader" / "week07.py").read_text()
    checks_source = (root / "xaikit" / "checks" / "week07.py").read_text()
    for seed in ("9701", "9711", "9721", "9731", "9741", "9751", "9761", "9771", "9781"):
        assert seed in grader
        assert seed not in lab and seed not in checks_source
