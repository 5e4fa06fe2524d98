"""The small CNNs, their training, the shipped weights and what those weights have learned."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest
import torch

from xaikit.cnn import (
    MODELS,
    DigitsCNN,
    ShapesCNN,
    accuracy,
    forward_with_activations,
    load_mnist_digits,
    load_model,
    model_data,
    predict_proba,
    train_classifier,
    train_model,
    weights_path,
)
from xaikit.images import make_shapes

from weekly import one_thread  # noqa: E402,F401 - autouse fixture: torch on one thread


def _stated(root) -> dict[str, tuple[float, str]]:
    """Test accuracy and sha256 of each weights file, as the README states them."""
    readme = (root / "xaikit" / "weights" / "README.md").read_text()
    accuracy_rows = dict(re.findall(r"^\| `(\w+)\.pt` \|.*\| ([01]\.\d{3}) \|$", readme, flags=re.M))
    digests = dict(re.findall(r"^\| `(\w+)\.pt` \| `([0-9a-f]{64})` \|$", readme, flags=re.M))
    return {name: (float(accuracy_rows[name]), digests[name]) for name in MODELS}


def test_readme_states_every_shipped_model_and_its_checksum(root):
    stated = _stated(root)
    for name in MODELS:
        assert hashlib.sha256(weights_path(name).read_bytes()).hexdigest() == stated[name][1], name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shipped_weights_reach_the_stated_accuracy(root, name):
    accuracy_stated = _stated(root)[name][0]
    measured = accuracy(load_model(name), *model_data(name, "test"))
    assert measured == pytest.approx(accuracy_stated, abs=0.0005)
    assert measured >= MODELS[name].min_accuracy


def test_spurious_model_relies_on_the_cue_and_the_clean_model_does_not():
    shapes = make_shapes(600, cue_strength=0.0, random_state=103)  # cue colour unrelated to the class
    images = torch.from_numpy(shapes.images)
    assert accuracy(load_model("shapes_clean"), images, shapes.labels) > 0.95
    assert accuracy(load_model("shapes_spurious"), images, shapes.labels) < 0.5


def _grad_cam(model, images):
    from captum.attr import LayerAttribution, LayerGradCam

    target = model(images).argmax(dim=1)
    raw = LayerGradCam(model, model.relu4).attribute(images, target=target, relu_attributions=True)
    return LayerAttribution.interpolate(raw, tuple(images.shape[-2:]), interpolate_mode="bilinear")[:, 0].detach().numpy()


def test_grad_cam_of_the_spurious_model_points_at_the_cue_and_of_the_clean_model_at_the_object():
    """The measured claim of week 5, with captum's Grad-CAM (not the lab's code) on fresh images."""
    shapes = make_shapes(150, cue_strength=1.0, random_state=104)
    images = torch.from_numpy(shapes.images)
    share = {}
    for name in ("shapes_clean", "shapes_spurious"):
        cam = np.clip(_grad_cam(load_model(name), images), 0, None)
        total = cam.sum(axis=(1, 2))
        peak = cam.reshape(len(cam), -1).argmax(axis=1)
        share[name] = {
            "cue": float(np.mean((cam * shapes.cue_masks).sum(axis=(1, 2)) / total)),
            "object": float(np.mean((cam * shapes.masks).sum(axis=(1, 2)) / total)),
            "peak on cue": float(shapes.cue_masks.reshape(len(cam), -1)[np.arange(len(cam)), peak].mean()),
        }
    clean, spurious = share["shapes_clean"], share["shapes_spurious"]
    cue_area = shapes.cue_masks.mean()  # 1.6 % of the pixels
    assert clean["cue"] < cue_area and clean["peak on cue"] == 0.0
    assert clean["object"] > 2.5 * shapes.masks.mean()  # the object holds well above its share of the map
    assert spurious["cue"] > 5 * cue_area and spurious["peak on cue"] > 0.5


def test_grad_cam_of_the_spurious_model_follows_the_cue_class_by_class():
    """Squares and triangles are recognised by their patch, circles by the object."""
    shapes = make_shapes(150, cue_strength=1.0, random_state=105)
    cam = _grad_cam(load_model("shapes_spurious"), torch.from_numpy(shapes.images))
    peak = cam.reshape(len(cam), -1).argmax(axis=1)
    on_cue = shapes.cue_masks.reshape(len(cam), -1)[np.arange(len(cam)), peak]
    circle = shapes.labels == shapes.class_names.index("circle")
    assert on_cue[~circle].mean() > 0.9 and on_cue[circle].mean() < 0.1


def test_mnist_digits_are_a_stratified_disjoint_split():
    digits = load_mnist_digits()
    assert digits.images.shape == (5000, 1, 28, 28) and digits.images.dtype == torch.float32
    assert 0 <= float(digits.images.min()) and float(digits.images.max()) == 1.0
    assert len(np.intersect1d(digits.train, digits.test)) == 0 and len(digits.train) + len(digits.test) == 5000
    assert np.bincount(digits.labels[digits.test].numpy()).tolist() == [100] * 10


def test_architectures_and_activations():
    model = ShapesCNN()
    x = torch.rand(2, 3, 32, 32, requires_grad=False)
    logits, A = forward_with_activations(model, model.relu4, x)
    assert logits.shape == (2, 3) and A.shape == (2, 16, 16, 16)
    # the logits are the linear layer applied to the mean of relu4 (the CAM architecture)
    torch.testing.assert_close(logits, model.fc(A.mean(dim=(2, 3))))
    grad = torch.autograd.grad(logits[:, 0].sum(), A)[0]
    torch.testing.assert_close(grad, model.fc.weight[0].view(1, -1, 1, 1).expand_as(A) / 256)
    assert DigitsCNN()(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
    with pytest.raises(ValueError, match="submodule"):
        forward_with_activations(model, DigitsCNN().conv1, x)
    assert not model.relu4._forward_hooks  # the hook is removed again


def test_every_relu_is_its_own_module_so_deeplift_works():
    from captum.attr import DeepLift

    for model in (load_model("digits"), load_model("shapes_clean")):
        relus = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
        assert len(relus) == len({id(m) for m in relus}) >= 3 and not any(m.inplace for m in relus)
        x = model_data("digits" if isinstance(model, DigitsCNN) else "shapes_clean", "test")[0][:3]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            attributions, delta = DeepLift(model).attribute(x, target=0, return_convergence_delta=True)
        assert float(delta.abs().max()) < 1e-3  # DeepLift is complete with the rescale rule


def test_training_is_seeded_and_reports_a_falling_loss():
    images, labels = model_data("shapes_clean", "test")
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ShapesCNN()
        runs.append(train_classifier(model, images[:200], labels[:200], epochs=3, lr=5e-3, progress=False))
    assert runs[0] == runs[1] and runs[0][-1] < runs[0][0]
    assert not model.training  # left in evaluation mode
    with pytest.raises(ValueError, match="images must be"):
        train_classifier(model, images[0], labels[:1], progress=False)


def test_predict_proba_rows_sum_to_one():
    proba = predict_proba(load_model("digits"), model_data("digits", "test")[0][:7])
    assert proba.shape == (7, 10) and np.allclose(proba.sum(axis=1), 1, atol=1e-6)


def test_unknown_model_names_are_refused():
    with pytest.raises(ValueError, match="unknown model"):
        load_model("resnet")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_recipe_reproduces_the_stated_accuracy(root, name):
    model = train_model(name, progress=False)
    assert accuracy(model, *model_data(name, "test")) >= MODELS[name].min_accuracy
    if name == "shapes_spurious":  # retrained, it still takes the shortcut
        shapes = make_shapes(600, cue_strength=0.0, random_state=103)
        assert accuracy(model, torch.from_numpy(shapes.images), shapes.labels) < 0.6


@pytest.mark.slow
def test_weights_ship_in_the_wheel_and_load_from_it(root, tmp_path):
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    str(root), "-w", str(out)], check=True)
    wheel = next(out.glob("xai_course-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"xaikit/weights/{name}.pt" for name in MODELS} <= set(names)
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); from xaikit.cnn import load_model, weights_path; "
            "assert str(weights_path('digits')).startswith(sys.path[0]); "
            "print(load_model('shapes_spurious').fc.weight.shape)")
    result = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torch.Size([3, 16])"


def test_pretrained_resnet_is_skipped_at_once_offline(monkeypatch, tmp_path, capsys):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no cached weights
    start = time.perf_counter()
    from xaikit.cnn import pretrained_resnet18

    assert pretrained_resnet18() is None
    assert time.perf_counter() - start < 30  # the import of torchvision.models, no network wait
    assert "online extra is skipped" in capsys.readouterr().out
