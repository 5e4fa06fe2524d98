"""Visible checks of lab 5 (pixel attribution for CNNs).

Each check runs the student's class or function on a tiny model (a linear model, whose
gradient is its weight, or a small CNN) and reports shape, type, NaN, modified inputs and
obvious mistakes in one sentence. They rely on properties of the toy problems, never on an
implementation of the method. The hidden tests compare with captum, pytorch-grad-cam and
independent references on models and images the student never sees.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..cnn import ShapesCNN, forward_with_activations, predict_proba
from . import CheckFailed, as_array, call, passed

__all__ = [
    "FGSM",
    "GradCAM",
    "GradCAMPlusPlus",
    "GradientXInput",
    "IntegratedGradients",
    "Occlusion",
    "SmoothGrad",
    "VanillaGradient",
    "as_result",
    "deletion_curve",
    "model_randomization_test",
    "pointing_game",
    "relevance_mass",
]


def as_result(value, *, name: str, shape: tuple[int, ...], what: str = "", strict: bool = True) -> np.ndarray:
    """Convert what an attribution method returned into a float array, checking it on the way.

    With ``strict`` (the visible checks) the result must be a detached ``torch.Tensor``, as
    captum returns; otherwise (the hidden tests) a NumPy array or a tensor still attached to
    the graph is accepted too.
    """
    if isinstance(value, torch.Tensor):
        if strict and value.requires_grad:
            raise CheckFailed(f"`{name}` returned a tensor that still requires grad; "
                              "return `.detach()`ed values, as captum does.")
        if value.is_complex():
            raise CheckFailed(f"`{name}` returned a complex tensor; return real numbers.")
        value = value.detach().cpu().numpy()
    elif strict and value is not None:
        raise CheckFailed(f"`{name}` returned a {type(value).__name__}; return a torch tensor, as captum does.")
    return as_array(value, name=name, shape=shape, what=what)


# --- toy problems -----------------------------------------------------------------------

_C, _H, _W = 2, 6, 6


def _linear_model() -> nn.Module:
    """f(x) = W x + b on 2 x 6 x 6 images, 3 classes; the top-left 2 x 2 pixels are ignored."""
    torch.manual_seed(11)
    model = nn.Sequential(nn.Flatten(), nn.Linear(_C * _H * _W, 3))
    with torch.no_grad():
        weight = model[1].weight.view(3, _C, _H, _W)
        weight.normal_()
        weight[:, :, :2, :2] = 0.0
    return model.eval()


def _weight(model: nn.Module, target) -> torch.Tensor:
    return model[1].weight.detach().view(3, _C, _H, _W)[target]


def _smooth_model() -> nn.Module:
    """A small tanh network: smooth, so a 64-step path integral is accurate to well below 1 %."""
    torch.manual_seed(17)
    return nn.Sequential(nn.Flatten(), nn.Linear(_C * _H * _W, 8), nn.Tanh(), nn.Linear(8, 3)).eval()


def _images(n: int = 3, seed: int = 12, channels: int = _C, size: int = _H) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


def _toy_cnn() -> ShapesCNN:
    torch.manual_seed(13)
    model = ShapesCNN(n_classes=3, in_channels=_C, width=3)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.normal_(module.bias, std=0.1)
    return model.eval()


_TARGET = torch.tensor([0, 2, 1])


def _explainer(cls, *args, name: str):
    return call(cls, *args, name=name)


def _unchanged(inputs: torch.Tensor, before: torch.Tensor, name: str) -> None:
    if not torch.equal(inputs, before):
        raise CheckFailed(f"`{name}` changed the images it was given; work on a copy (`inputs.detach().clone()`).")


def _attribution(cls, *, name: str, model: nn.Module, inputs: torch.Tensor, target, shape=None, **kwargs) -> np.ndarray:
    explainer = _explainer(cls, model, name=name.split(".")[0])
    before = inputs.clone()
    out = as_result(call(explainer.attribute, inputs, target, name=name, **kwargs), name=name,
                    shape=shape or tuple(inputs.shape), what="one value per input element, like the input")
    _unchanged(inputs, before, name)
    return out


def _close(a, b, tol: float = 1e-5) -> bool:
    # detach: an answer may have set requires_grad on the check's own images
    a, b = (np.asarray(v.detach() if isinstance(v, torch.Tensor) else v, dtype=float) for v in (a, b))
    return bool(np.allclose(a, b, rtol=1e-4, atol=tol * max(1.0, float(np.abs(b).max()))))


# --- gradients ----------------------------------------------------------------------------

def VanillaGradient(cls) -> None:  # noqa: N802 - named after the class it checks
    """Check ``VanillaGradient(model).attribute(inputs, target, abs=True)`` on a linear model."""
    name = "VanillaGradient.attribute"
    model, x = _linear_model(), _images()
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET)
    if np.any(out < 0):
        raise CheckFailed(f"`{name}` returned negative values; with `abs=True` (the default) return the absolute gradient.")
    if not _close(out, _weight(model, _TARGET).abs()):
        raise CheckFailed(f"`{name}`: for a linear model f(x) = w·x + b the gradient of a class score is that class's "
                          "weights, whatever the input; take the gradient of each image's target score with respect to the image.")
    signed = _attribution(cls, name=name, model=model, inputs=x, target=2, abs=False)
    if not np.any(signed < 0):
        raise CheckFailed(f"`{name}(..., abs=False)` should keep the sign of the gradient.")
    if not _close(signed, _weight(model, 2).expand_as(x)):
        raise CheckFailed(f"`{name}` with an integer target should explain that class for every image.")
    passed(f"{name}: shape {out.shape}, detached, inputs untouched, the weights of a linear model, signed with abs=False.")


def GradientXInput(cls) -> None:  # noqa: N802
    """Check ``GradientXInput(model).attribute(inputs, target)`` on a linear model."""
    name = "GradientXInput.attribute"
    model, x = _linear_model(), _images()
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET)
    if _close(out, np.abs(out)) and not _close(out, _weight(model, _TARGET) * x):
        raise CheckFailed(f"`{name}` returned only non-negative values; multiply the signed gradient by the input.")
    if not _close(out, _weight(model, _TARGET) * x):
        raise CheckFailed(f"`{name}`: for a linear model the result should be weight × input, element by element.")
    passed(f"{name}: shape {out.shape}, detached, inputs untouched, weight × input for a linear model.")


def SmoothGrad(cls) -> None:  # noqa: N802
    """Check ``SmoothGrad(model).attribute(inputs, target, noise=...)``: shape, averaging, use of the noise."""
    name = "SmoothGrad.attribute"
    noise = 0.5 * torch.randn((4, 3, _C, _H, _W), generator=torch.Generator().manual_seed(14))
    model, x = _linear_model(), _images()
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET, noise=noise)
    if not _close(out, _weight(model, _TARGET).abs()):
        raise CheckFailed(f"`{name}`: a linear model has the same gradient everywhere, so SmoothGrad should return "
                          "|weights| whatever the noise; average (do not sum) the absolute gradients over the noise samples.")
    cnn, xc = _toy_cnn(), _images(channels=_C, size=8)
    noise = 0.3 * torch.randn((3, 3, _C, 8, 8), generator=torch.Generator().manual_seed(15))
    full = _attribution(cls, name=name, model=cnn, inputs=xc, target=_TARGET, noise=noise)
    singles = [_attribution(cls, name=name, model=cnn, inputs=xc, target=_TARGET, noise=noise[k:k + 1]) for k in range(3)]
    if not _close(full, np.mean(singles, axis=0)):
        raise CheckFailed(f"`{name}` with three noise samples should be the mean of the maps with each sample alone.")
    if _close(singles[0], singles[1]):
        raise CheckFailed(f"`{name}` gives the same map for different noise; add `noise[k]` to the images before each gradient.")
    passed(f"{name}: shape {out.shape}, averages over the noise samples, |weights| for a linear model.")


def IntegratedGradients(cls) -> None:  # noqa: N802
    """Check ``IntegratedGradients(model).attribute(inputs, target, baselines=None, n_steps=50)``."""
    name = "IntegratedGradients.attribute"
    model, x = _linear_model(), _images()
    baseline = torch.full_like(x, 0.25)
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET, n_steps=8)
    if not _close(out, _weight(model, _TARGET) * x):
        raise CheckFailed(f"`{name}`: for a linear model and the zero baseline IG is weight × input; "
                          "average the gradients along the path and multiply by (inputs - baselines).")
    shifted = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET, baselines=baseline, n_steps=8)
    if not _close(shifted, _weight(model, _TARGET) * (x - baseline)):
        raise CheckFailed(f"`{name}` ignores `baselines`; the path starts at the baseline and the factor is (inputs - baselines).")
    same = _attribution(cls, name=name, model=_toy_cnn(), inputs=_images(size=8), target=_TARGET,
                        baselines=_images(size=8), n_steps=8)
    if np.any(same != 0):
        raise CheckFailed(f"`{name}` should be exactly zero when the baseline equals the input.")
    smooth, xs = _smooth_model(), _images()
    ig = _attribution(cls, name=name, model=smooth, inputs=xs, target=_TARGET, n_steps=64)
    with torch.no_grad():
        gap = (smooth(xs) - smooth(torch.zeros_like(xs)))[torch.arange(3), _TARGET].numpy()
    total = ig.reshape(3, -1).sum(axis=1)
    if not np.allclose(total, gap, rtol=0.01, atol=1e-6):
        raise CheckFailed(f"`{name}` is not complete on a small smooth network: the attributions sum to "
                          f"{np.round(total, 4).tolist()}, f(x) - f(baseline) is {np.round(gap, 4).tolist()}.")
    passed(f"{name}: shape {out.shape}, weight × (input - baseline) for a linear model, complete on a smooth network.")


def Occlusion(cls) -> None:  # noqa: N802
    """Check ``Occlusion(model).attribute(inputs, target, window=..., stride=..., baseline=0.0)``."""
    name = "Occlusion.attribute"
    model, x = _linear_model(), _images()
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET, window=(1, 1), stride=1)
    per_pixel = (_weight(model, _TARGET) * x).sum(dim=1, keepdim=True).expand_as(x)
    if np.allclose(out, -per_pixel.numpy(), atol=1e-6) and not np.allclose(per_pixel.numpy(), 0):
        raise CheckFailed(f"`{name}` has the wrong sign: the attribution is score(original) - score(occluded).")
    if not _close(out, per_pixel):
        raise CheckFailed(f"`{name}`: with a 1x1 window on a linear model, each pixel should get the drop in score "
                          "when all its channels are set to the baseline (the same value in every channel).")
    blocks = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET, window=(2, 2), stride=2)
    block_view = blocks.reshape(3, _C, _H // 2, 2, _W // 2, 2)
    if not np.allclose(block_view, block_view[:, :, :, :1, :, :1], atol=1e-6):
        raise CheckFailed(f"`{name}` with a 2x2 window and stride 2 should give one value per (non-overlapping) window.")
    passed(f"{name}: shape {out.shape}, score drop per occluded window, one value per window without overlap.")


# --- class activation maps ----------------------------------------------------------------

def _cam_check(cls, name: str) -> np.ndarray:
    cnn, x = _toy_cnn(), _images(size=8)
    explainer = call(cls, cnn, cnn.relu4, name=name.split(".")[0])
    before = x.clone()
    shape = (3, 1, 8, 8)
    out = as_result(call(explainer.attribute, x, _TARGET, name=name), name=name, shape=shape,
                    what="one map per image, upsampled to the input's height and width")
    _unchanged(x, before, name)
    if np.any(out < 0):
        raise CheckFailed(f"`{name}` returned negative values; apply a ReLU to the weighted sum of the feature maps.")
    other = as_result(call(explainer.attribute, x, torch.tensor([1, 0, 2]), name=name), name=name, shape=shape)
    if np.allclose(out, other):
        raise CheckFailed(f"`{name}` gives the same map for different target classes; weight the feature maps by the "
                          "gradient of the target class's score.")
    if np.allclose(out[:, :, ::2, ::2], out[:, :, 1::2, 1::2]) and np.ptp(out) > 0:
        raise CheckFailed(f"`{name}` looks upsampled by repeating pixels; use "
                          "`F.interpolate(..., mode=\"bilinear\", align_corners=False)`.")
    return out


def GradCAM(cls) -> None:  # noqa: N802
    """Check ``GradCAM(model, layer).attribute(inputs, target)`` on a small CNN."""
    name = "GradCAM.attribute"
    out = _cam_check(cls, name)
    passed(f"{name}: shape {out.shape}, detached, non-negative, depends on the target class.")


def GradCAMPlusPlus(cls) -> None:  # noqa: N802
    """Check ``GradCAMPlusPlus(model, layer).attribute(inputs, target)`` on a small CNN."""
    name = "GradCAMPlusPlus.attribute"
    out = _cam_check(cls, name)
    passed(f"{name}: shape {out.shape}, detached, non-negative, depends on the target class.")


# --- adversarial examples -----------------------------------------------------------------

def FGSM(cls) -> None:  # noqa: N802
    """Check ``FGSM(model).perturb(inputs, target, epsilon=...)`` on a small CNN."""
    name = "FGSM.perturb"
    cnn, x = _toy_cnn(), _images(size=8)
    attack = call(cls, cnn, name="FGSM")
    before = x.clone()
    epsilon = 0.05
    adv = as_result(call(attack.perturb, x, _TARGET, epsilon=epsilon, name=name), name=name, shape=tuple(x.shape),
                    what="perturbed images shaped like the input")
    _unchanged(x, before, name)
    step = np.abs(adv - x.numpy())
    if step.max() > epsilon + 1e-6:
        raise CheckFailed(f"`{name}` moved a pixel by {step.max():.3g}, more than epsilon = {epsilon}.")
    if adv.min() < 0 or adv.max() > 1:
        raise CheckFailed(f"`{name}` returned pixel values outside [0, 1]; clamp the perturbed images.")
    if step.max() < epsilon / 2:
        raise CheckFailed(f"`{name}` hardly changes the images; add epsilon × sign(gradient of the loss).")
    loss = nn.CrossEntropyLoss()
    with torch.no_grad():
        before_loss, after_loss = float(loss(cnn(x), _TARGET)), float(loss(cnn(torch.as_tensor(adv, dtype=torch.float32)), _TARGET))
    if after_loss <= before_loss:
        raise CheckFailed(f"`{name}` lowers the loss ({before_loss:.3f} -> {after_loss:.3f}); step in the direction that "
                          "increases the loss of the true class.")
    passed(f"{name}: shape {adv.shape}, steps of at most epsilon, values in [0, 1], the loss goes up.")


# --- evaluation ---------------------------------------------------------------------------

def _first_layer_map(model, inputs, target):
    """A 'map' that depends on conv1 only: the summed first-layer activations (not a lab method)."""
    with torch.no_grad():
        return forward_with_activations(model, model.relu1, inputs)[1].sum(dim=1).numpy()


def model_randomization_test(func) -> None:
    """Check ``model_randomization_test(model, explain, inputs, target, layers=..., seed=0)``."""
    name = "model_randomization_test"
    cnn, x = _toy_cnn(), _images(size=8)
    state = {k: v.clone() for k, v in cnn.state_dict().items()}
    layers = ["fc", "conv4", "conv1"]
    out = as_array(call(func, cnn, _first_layer_map, x, _TARGET, layers=layers, seed=0, name=name), name=name,
                   shape=(len(layers), len(x)), what="one row per randomized layer, one column per image")
    if any(not torch.equal(state[k], v) for k, v in cnn.state_dict().items()):
        raise CheckFailed(f"`{name}` changed the weights of the model it was given; randomize a copy (`copy.deepcopy(model)`).")
    if np.any(np.abs(out) > 1 + 1e-9):
        raise CheckFailed(f"`{name}` returned values outside [-1, 1]; return rank correlations.")
    if not np.allclose(out[:2], 1.0):
        raise CheckFailed(f"`{name}`: the test map depends on conv1 only, so randomizing fc and conv4 should leave the "
                          "correlation at 1; compare each randomized map with the map of the original model.")
    if np.all(out[2] > 0.999):
        raise CheckFailed(f"`{name}`: randomizing conv1 did not change the map; call `reset_parameters()` on the named "
                          "layer of your copy and explain the copy.")
    passed(f"{name}: shape {out.shape}, the original model untouched, 1 for layers the map ignores, < 1 after conv1.")


def deletion_curve(func) -> None:
    """Check ``deletion_curve(model, images, target, saliency, pixels_per_step=..., baseline=0.0)``."""
    name = "deletion_curve"
    cnn, x = _toy_cnn(), _images(size=8)
    saliency = np.random.default_rng(16).random((3, 8, 8))
    before = x.clone()
    out = as_array(call(func, cnn, x, _TARGET, saliency, pixels_per_step=10, name=name), name=name, shape=(3, 8),
                   what="one row per image, n_steps + 1 = ceil(64 / 10) + 1 = 8 columns")
    _unchanged(x, before, name)
    if np.any(out < 0) or np.any(out > 1):
        raise CheckFailed(f"`{name}` returned values outside [0, 1]; record the softmax probability of the target class.")
    start = predict_proba(cnn, x)[np.arange(3), _TARGET.numpy()]
    end = predict_proba(cnn, torch.zeros_like(x))[np.arange(3), _TARGET.numpy()]
    if not np.allclose(out[:, 0], start, atol=1e-5):
        raise CheckFailed(f"`{name}`: the first point should be the probability of the target class for the intact image.")
    if not np.allclose(out[:, -1], end, atol=1e-5):
        raise CheckFailed(f"`{name}`: the last point should be the probability once every pixel is set to the baseline.")
    passed(f"{name}: shape {out.shape}, starts at the intact image's probability and ends at the baseline image's.")


def pointing_game(func) -> None:
    """Check ``pointing_game(saliency, masks, tolerance=0)`` on hand-made maps."""
    name = "pointing_game"
    masks = np.zeros((3, 6, 6), dtype=bool)
    masks[:, 2:4, 2:4] = True
    maps = np.zeros((3, 6, 6))
    maps[0, 3, 3] = 1.0  # peak inside
    maps[1, 0, 5] = 1.0  # peak far outside
    maps[2, 2, 4] = 1.0  # peak next to the mask
    out = as_array(call(func, maps, masks, name=name), name=name, shape=(3,), what="one value per image")
    if not np.array_equal(out, [1.0, 0.0, 0.0]):
        raise CheckFailed(f"`{name}` returned {out.tolist()}; expected [1, 0, 0]: a hit when the map's maximum lies in the mask.")
    tolerant = as_array(call(func, maps, masks, tolerance=1, name=name), name=name, shape=(3,))
    if not np.array_equal(tolerant, [1.0, 0.0, 1.0]):
        raise CheckFailed(f"`{name}(..., tolerance=1)` returned {tolerant.tolist()}; expected [1, 0, 1]: a maximum one "
                          "pixel away from the mask is a hit.")
    passed(f"{name}: shape {out.shape}, hits inside the mask, misses outside, tolerance in pixels.")


def relevance_mass(func) -> None:
    """Check ``relevance_mass(saliency, masks)`` on hand-made maps."""
    name = "relevance_mass"
    masks = np.zeros((3, 4, 4), dtype=bool)
    masks[:, :2, :] = True
    mask = masks[0]
    maps = np.stack([mask * 2.0, (~mask) * 1.0, mask * 1.0 - 3.0 * ~mask])
    maps[1, 0, 0] = 1.0
    out = as_array(call(func, maps, masks, name=name), name=name, shape=(3,), what="one value per image")
    expected = np.array([1.0, 1 / 9, 1.0])
    if np.allclose(out[:2], expected[:2]) and not np.isclose(out[2], 1.0):
        raise CheckFailed(f"`{name}` counts negative attributions; only the positive part of a map is relevance (clip at 0).")
    if not np.allclose(out, expected):
        raise CheckFailed(f"`{name}` returned {np.round(out, 3).tolist()}; expected {np.round(expected, 3).tolist()}: "
                          "the share of the positive attribution that falls inside the mask.")
    passed(f"{name}: shape {out.shape}, 1 for a map inside the mask, the positive share otherwise.")
