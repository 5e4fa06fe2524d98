"""Visible checks and hidden tests of lab 8, called directly on the lab's own answers (fast; no notebook).

The answer cells of ``solutions/lab08_llm/lab08_llm.py`` are executed into a namespace, so these
tests grade the real solution, every plausible wrong answer of ``tests/wrong_answers/`` and a
blank answer, in seconds. The hidden tests need TransformerLens (a dev dependency).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from wrong_answers import for_lab

from xaikit import checks
from xaikit.checks import week08 as visible
from xaikit.tiny_transformer import run_with_cache
from xaigrader import week08 as hidden
from weekly import executed_answers, one_thread  # noqa: F401 - one_thread: autouse fixture
from weekly import run as _run

LAB = "lab08_llm"
CHECKED = [
    "logit_lens",
    "residual_components",
    "direct_logit_attribution",
    "previous_token_score",
    "induction_score",
    "patch_residual",
    "patch_heads",
    "ablate_heads",
]


def _namespace() -> dict:
    return dict(np=np, torch=torch, run_with_cache=run_with_cache)


@pytest.fixture(scope="module")
def solution(root) -> dict:
    """The lab's answer cells, executed."""
    return executed_answers(root, LAB, CHECKED, _namespace())


@pytest.mark.parametrize("name", CHECKED)
def test_solution_passes_visible_and_hidden(solution, name):
    assert "✓" in _run(getattr(visible, name), solution[name])
    assert "✓" in _run(getattr(hidden, name), solution[name])


@pytest.mark.parametrize("wrong", for_lab(LAB), ids=lambda w: w.label)
def test_each_wrong_answer_fails_in_one_sentence(wrong):
    namespace = _namespace()
    exec(wrong.source, namespace)
    with pytest.raises(checks.CheckFailed) as info:
        _run(getattr(visible, wrong.grade_id), namespace[wrong.grade_id])
        _run(getattr(hidden, wrong.grade_id), namespace[wrong.grade_id])
    lines = info.value._render_traceback_()
    assert len(lines) == 1 and wrong.message in lines[0]


@pytest.mark.parametrize("wrong", for_lab(LAB), ids=lambda w: w.label)
def test_the_hidden_test_alone_catches_each_wrong_answer(wrong):
    """Even a student who skips the visible checks loses the points of a wrong answer."""
    namespace = _namespace()
    exec(wrong.source, namespace)
    with pytest.raises(checks.CheckFailed):
        _run(getattr(hidden, wrong.grade_id), namespace[wrong.grade_id])


@pytest.mark.parametrize("name", CHECKED)
def test_every_check_reports_a_blank_answer_as_not_attempted(name):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    for check in (getattr(visible, name), getattr(hidden, name)):
        with pytest.raises(checks.NotAttempted, match="not written yet"):
            check(blank)


def test_numpy_results_are_graded_by_value_and_attached_tensors_only_warned_visibly(solution):
    def as_numpy(model, tokens):
        return solution["logit_lens"](model, tokens).numpy()

    def attached(model, tokens):
        return solution["logit_lens"](model, tokens).requires_grad_(True) * 1.0

    for answer, fragment in [(as_numpy, "return a torch tensor"), (attached, "requires grad")]:
        with pytest.raises(checks.CheckFailed, match=fragment):
            _run(visible.logit_lens, answer)
        assert "✓" in _run(hidden.logit_lens, answer)


def test_modifying_inputs_or_weights_is_caught(solution):
    def scribbles_on_tokens(model, clean_tokens, corrupted_tokens, layer, positions=None):
        out = solution["patch_residual"](model, clean_tokens, corrupted_tokens, layer, positions)
        corrupted_tokens[:, 0] = 0
        return out

    def scales_weights(model, tokens, heads, kind="zero"):
        with torch.no_grad():
            model.unembed.weight.mul_(1.0)
            model.unembed.bias.add_(1.0)
        return solution["ablate_heads"](model, tokens, heads, kind)

    for check, answer, fragment in [(visible.patch_residual, scribbles_on_tokens, "changed the tokens"),
                                    (hidden.patch_residual, scribbles_on_tokens, "modified the tensors"),
                                    (visible.ablate_heads, scales_weights, "changed the model's weights"),
                                    (hidden.ablate_heads, scales_weights, "changed the model's weights")]:
        with pytest.raises(checks.CheckFailed, match=fragment):
            _run(check, answer)


def test_a_nan_is_named(solution):
    def with_nan(pattern, tokens):
        out = solution["induction_score"](pattern, tokens)
        out[0] = np.nan
        return out

    for check in (visible.induction_score, hidden.induction_score):
        with pytest.raises(checks.CheckFailed, match="NaN"):
            _run(check, with_nan)


def test_hidden_models_differ_from_the_visible_ones_and_the_lab():
    """Fresh sizes: 3 layers x 3 heads and 1 layer x 2 heads, none of them 2 x 2 (visible) or 2 x 4 (lab)."""
    shapes = {(c["n_layers"], c["n_heads"], c["d_model"], c["d_vocab"]) for c in hidden.CONFIGS}
    assert shapes == {(3, 3, 24, 23), (1, 2, 16, 11)}
    model, hooked, tokens = hidden._problem(8101, hidden.CONFIGS[0], 5, 14)
    with torch.no_grad():  # the TransformerLens twin computes the same function
        torch.testing.assert_close(hooked(tokens), model(tokens), rtol=1e-4, atol=1e-4)
        _, cache = run_with_cache(model, tokens)
    patterns = cache["blocks.0.attn.pattern"]
    assert float(patterns.max()) > 0.9 and float(patterns[:, :, -1].max(dim=-1).values.min()) > 0.2  # not uniform


def test_transformer_lens_detection_patterns_are_the_labs_definitions():
    """The hidden references use TransformerLens's masks; an explicit loop over the lab's definition agrees."""
    rng = np.random.default_rng(0)
    for tokens in (rng.integers(0, 3, size=(4, 9)), rng.integers(0, 30, size=(3, 12))):
        pattern = hidden._random_patterns(1, len(tokens), 3, tokens.shape[1])
        np.testing.assert_allclose(hidden._score_reference(pattern, hidden._detection_masks("induction", tokens)),
                                   hidden._induction_reference(pattern, tokens), rtol=1e-12)
        previous = np.mean([pattern[:, :, t, t - 1] for t in range(1, tokens.shape[1])], axis=(0, 1))
        np.testing.assert_allclose(hidden._score_reference(pattern, hidden._detection_masks("previous", tokens)),
                                   previous, rtol=1e-12)


def test_hidden_tests_use_seeds_the_lab_does_not(root):
    lab = (root / "solutions" / LAB / f"{LAB}.py").read_text()
    grader = (root / "grader" / "xaigrader" / "week08.py").read_text()
    for seed in ("8101", "8201", "8301", "8401", "8501", "8601", "8701", "8801"):
        assert seed in grader and seed not in lab


def test_grader_declares_its_forbidden_modules_and_budgets():
    assert hidden.FORBIDDEN == ("transformer_lens",)
    assert set(hidden.BUDGET_S) == set(CHECKED)


def test_the_lab_answers_do_not_use_transformer_lens(solution, root):
    lab = (root / "solutions" / LAB / f"{LAB}.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+transformer_lens", lab, flags=re.M)
