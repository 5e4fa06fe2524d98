"""Hidden tests of lab 5: pixel attribution for CNNs and its evaluation.

Oracles, each called with the settings pinned in ``shared/xai-oracles.md``:

| student's                    | reference                                                            | tolerance |
|------------------------------|----------------------------------------------------------------------|-----------|
| ``VanillaGradient``          | captum ``Saliency`` (abs=True and abs=False)                         | 1e-4 relative |
| ``GradientXInput``           | captum ``InputXGradient``                                            | 1e-4 relative |
| ``SmoothGrad``               | captum ``NoiseTunnel(Saliency)``, smoothgrad; its noise is recorded and handed to the student | 1e-4 relative |
| ``IntegratedGradients``      | captum ``IntegratedGradients(method="riemann_middle")``, same n_steps; completeness on a smooth CNN | 1e-4 relative; 0.5 % |
| ``Occlusion``                | captum ``Occlusion`` with the window spanning all channels            | 1e-4 relative |
| ``GradCAM``                  | captum ``LayerGradCam(relu_attributions=True)`` + bilinear ``LayerAttribution.interpolate``; CAM of a GAP network | 1e-4 relative |
| ``GradCAMPlusPlus``          | pytorch-grad-cam ``GradCAMPlusPlus`` (min-max normalized maps)        | 0.01 absolute on [0, 1] |
| ``FGSM``                     | captum ``robust.FGSM`` with the cross-entropy loss, bounds [0, 1], zero threshold 0 | 1e-6 |
| ``model_randomization_test`` | a reference cascade (deepcopy, ``reset_parameters`` after one seed) with ``scipy.stats.spearmanr``, explaining with a signed gradient map | 1e-6 |
| ``deletion_curve``           | a reference built from pixel ranks (independent of a loop over steps) | 1e-5 |
| ``pointing_game``            | brute-force distances from the peak to every mask pixel               | exact |
| ``relevance_mass``           | the definition on random signed maps (Arras et al. 2022)              | 1e-6 relative |

All tolerances accept float32 answers (the models compute in float32; the lab never asks for
float64). Nothing in this lab is random except SmoothGrad's noise, which the caller draws, so
every comparison is exact up to those tolerances; no statistical test is needed.

Inputs the student never saw: three small CNNs with fresh, seeded weights (never the shipped
ones), each in evaluation mode: :class:`~xaikit.cnn.ShapesCNN` on **non-square** 14 x 22 colour
images, :class:`~xaikit.cnn.DigitsCNN` on 28 x 28 grey images, and :class:`_NormCNN`, with
**batch normalization and dropout**, on 12 x 20 images. Every call must leave the model's
train/eval mode (and that of each submodule) as it was; each class is also called twice on one
images tensor and twice on one that already requires grad (gradients must not accumulate),
with an ``int`` target as well as a tensor of targets, and the class activation maps on a batch
of one image.

The explanation that ``model_randomization_test`` receives is :func:`_signed_gradient_map`, a
module-level function in plain PyTorch (captum is blocked while the student's code runs), signed
so that a test comparing absolute maps is caught.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from torch import nn

from xaikit.checks.week05 import as_result
from xaikit.cnn import DigitsCNN, ShapesCNN, forward_with_activations

from .core import CheckFailed, as_array, call, expect_close, grading, passed

# The libraries the lab forbids in answers (they are the references).
FORBIDDEN = ("captum", "pytorch_grad_cam")
PRELOAD = ("torch", "scipy.stats", "xaikit.cnn")  # what the worker imports before student code

# Wall-clock budget per call of the student's code, in seconds: about 10x the lab's solution
# measured on a busy 2-core machine with one thread (the largest call of each check), at least 5 s.
BUDGET_S = {
    "VanillaGradient": 5,
    "GradientXInput": 5,
    "SmoothGrad": 5,
    "IntegratedGradients": 5,
    "Occlusion": 10,
    "GradCAM": 5,
    "GradCAMPlusPlus": 5,
    "FGSM": 5,
    "model_randomization_test": 10,
    "deletion_curve": 5,
    "pointing_game": 5,
    "relevance_mass": 5,
}

RELATIVE = 1e-4  # float32 arithmetic in a different order


class _NormCNN(nn.Module):
    """A small CNN with batch normalization and dropout (the tests use it in evaluation mode).

    ``conv1`` - ``bn1`` - ``relu1`` - ``pool`` - ``conv2`` - ``bn2`` - ``relu2`` - ``drop`` -
    ``gap`` - ``flatten`` - ``fc``. In training mode the batch statistics replace the running
    ones and dropout zeroes half of the activations, so an answer that calls ``model.train()``
    gets other values.
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 5, width: int = 6):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(width, 2 * width, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.relu2 = nn.ReLU()
        self.drop = nn.Dropout(0.5)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2 * width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu1(self.bn1(self.conv1(x))))
        x = self.drop(self.relu2(self.bn2(self.conv2(x))))
        return self.fc(self.flatten(self.gap(x)))


def _fresh(cls, seed: int, **kwargs) -> nn.Module:
    """A model with seeded He-initialised weights (larger signals than PyTorch's default), in eval mode.

    Batch-normalization layers get random running statistics and affine parameters, so that
    training mode (batch statistics) gives clearly different outputs.
    """
    torch.manual_seed(seed)
    model = cls(**kwargs)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.normal_(module.bias, std=0.1)
        elif isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                module.running_mean.normal_(0.0, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)
    return model.eval()


def _images(seed: int, n: int, channels: int, height: int, width: int | None = None) -> torch.Tensor:
    width = height if width is None else width
    return torch.rand(n, channels, height, width, generator=torch.Generator().manual_seed(seed))


def _problems(seed: int):
    """Three fresh CNNs in eval mode with their images and targets.

    A colour GAP network on non-square 14 x 22 images, a grey LeNet on 28 x 28 digits-sized
    images, and a network with batch normalization and dropout on non-square 12 x 20 images.
    """
    shapes = _fresh(ShapesCNN, seed, n_classes=4, in_channels=3, width=6)
    digits = _fresh(DigitsCNN, seed + 1)
    norm = _fresh(_NormCNN, seed + 4)
    return [
        (shapes, _images(seed + 2, 4, 3, 14, 22), torch.tensor([0, 3, 1, 2])),
        (digits, _images(seed + 3, 3, 1, 28), torch.tensor([7, 1, 4])),
        (norm, _images(seed + 5, 3, 3, 12, 20), torch.tensor([4, 0, 2])),
    ]


def unchanged(given: np.ndarray, original: np.ndarray, name: str, what: str = "images") -> None:
    """Fail if the student's code modified its input in place."""
    if not np.array_equal(given, original):
        raise CheckFailed(f"`{name}` modified the {what} it was given in place; work on a copy.")


def _modes(model: nn.Module) -> list[bool]:
    return [module.training for module in model.modules()]


def _same_mode(model: nn.Module, before: list[bool], name: str) -> None:
    """Fail if the student's code switched the model or one of its layers between train and eval mode."""
    if _modes(model) != before:
        raise CheckFailed(f"`{name}` changed the train/eval mode of the model (e.g. with `model.train()`); leave the "
                          "model as it is given: batch normalization and dropout compute differently in training mode.")


def _smooth_problem(seed: int):
    """A CNN with softplus activations (smooth, so path integrals converge quickly)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.Softplus(), nn.Conv2d(6, 8, 3, stride=2), nn.Softplus(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4)).eval()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, std=3.0 / np.sqrt(module.weight[0].numel()))
    return model, _images(seed + 10, 4, 3, 12), torch.tensor([2, 0, 3, 1])


def _close(got, expected, *, name: str, reference: str, relative: float = RELATIVE) -> float:
    expected = np.asarray(expected.detach() if isinstance(expected, torch.Tensor) else expected, dtype=float)
    scale = float(np.abs(expected).max()) or 1.0
    return expect_close(got, expected, name=name, reference=reference, rtol=relative, atol=relative * scale)


def _attribute(explainer, model, inputs, target, *, name: str, shape=None, what: str = "", method: str = "attribute",
               **kwargs) -> np.ndarray:
    """One call on a copy of ``inputs``: shape, NaN, the images and the model's mode untouched."""
    given = inputs.clone()
    modes = _modes(model)
    result = call(getattr(explainer, method), given, target, name=name, **kwargs)
    _same_mode(model, modes, name)
    out = as_result(result, name=name, shape=shape or tuple(inputs.shape),
                    what=what or "one value per input element, like captum", strict=False)
    unchanged(given.detach().numpy(), inputs.numpy(), name)
    return out


def _repeated(explainer, model, inputs, target, expected, *, name: str, reference: str, shape=None, what: str = "",
              method: str = "attribute", relative: float = RELATIVE, **kwargs) -> float:
    """Two calls on one images tensor, then two on one that already requires grad; each must match ``expected``.

    Catches gradients accumulated in ``inputs.grad`` (the second call differs) and copies that stay
    in the graph when the images require grad (``inputs.clone()`` is then not a leaf).
    """
    worst = 0.0
    for requires_grad in (False, True):
        given = inputs.clone().requires_grad_(requires_grad)  # a leaf, as a caller would pass it
        label = f"{name} (on images that require grad)" if requires_grad else name
        for repeat in range(2):
            modes = _modes(model)
            result = call(getattr(explainer, method), given, target, name=label, **kwargs)
            _same_mode(model, modes, name)
            out = as_result(result, name=label, shape=shape or tuple(inputs.shape),
                            what=what or "one value per input element, like captum", strict=False)
            unchanged(given.detach().numpy(), inputs.numpy(), name)
            try:
                worst = max(worst, _close(out, expected, name=label, reference=reference, relative=relative))
            except CheckFailed:
                if repeat == 0:
                    raise
                raise CheckFailed(
                    f"`{name}` returns other values when it is called a second time on the same images tensor; "
                    "take the gradient of a detached copy (`inputs.detach().clone().requires_grad_(True)`) with "
                    "`torch.autograd.grad` instead of accumulating it in `inputs.grad`."
                ) from None
    return worst


# --- gradients ----------------------------------------------------------------------------

def VanillaGradient(cls) -> None:  # noqa: N802 - named after the class it grades
    from captum.attr import Saliency

    name = "VanillaGradient.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for k, (model, x, target) in enumerate(_problems(9511)):
            explainer = call(cls, model, name="VanillaGradient")
            expected = Saliency(model).attribute(x, target=target)
            if k == 0:
                worst = _repeated(explainer, model, x, target, expected, name=name, reference="captum's Saliency")
            else:
                got = _attribute(explainer, model, x, target, name=name)
                worst = max(worst, _close(got, expected, name=name, reference="captum's Saliency"))
            got = _attribute(explainer, model, x, 1, name=f"{name}(..., abs=False)", abs=False)
            worst = max(worst, _close(got, Saliency(model).attribute(x, target=1, abs=False),
                                      name=f"{name}(..., abs=False)", reference="captum's Saliency(abs=False)"))
        got = _attribute(explainer, model, x[:1], 3, name=name)  # a batch of one image
        worst = max(worst, _close(got, Saliency(model).attribute(x[:1], target=3), name=name,
                                  reference="captum's Saliency for a batch of one image"))
    passed(f"{name} matches captum's Saliency on three fresh CNNs (batch normalization and dropout included), "
           f"with and without abs, also when called twice (largest difference {worst:.1e}).")


def GradientXInput(cls) -> None:  # noqa: N802
    from captum.attr import InputXGradient

    name = "GradientXInput.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for k, (model, x, target) in enumerate(_problems(9521)):
            explainer = call(cls, model, name="GradientXInput")
            expected = InputXGradient(model).attribute(x, target=target)
            if k == 0:
                worst = _repeated(explainer, model, x, target, expected, name=name, reference="captum's InputXGradient")
            else:
                got = _attribute(explainer, model, x, target, name=name)
                worst = max(worst, _close(got, expected, name=name, reference="captum's InputXGradient"))
        got = _attribute(explainer, model, x, 2, name=f"{name}(..., target=2)")  # an int target
        worst = max(worst, _close(got, InputXGradient(model).attribute(x, target=2), name=f"{name}(..., target=2)",
                                  reference="captum's InputXGradient with an int target"))
    passed(f"{name} matches captum's InputXGradient on three fresh CNNs, for tensor and int targets, "
           f"also when called twice (largest difference {worst:.1e}).")


class _Recorder(nn.Module):
    """Passes inputs to the model and keeps a copy: reveals the noisy images captum draws."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.model(x)


def _captum_smoothgrad(model, x, target, *, n_samples: int, stdev: float, seed: int):
    """captum's NoiseTunnel(Saliency) smoothgrad and the noise it drew, shaped (n_samples, N, C, H, W)."""
    from captum.attr import NoiseTunnel, Saliency

    torch.manual_seed(seed)
    recorder = _Recorder(model)
    expected = NoiseTunnel(Saliency(recorder)).attribute(x, nt_type="smoothgrad", nt_samples=n_samples,
                                                         stdevs=stdev, target=target)
    noisy = torch.cat(recorder.seen)  # captum's layout: image i, sample k at row i * n_samples + k
    noise = (noisy.view(len(x), n_samples, *x.shape[1:]) - x[:, None]).transpose(0, 1).contiguous()
    return expected, noise


def SmoothGrad(cls) -> None:  # noqa: N802
    name = "SmoothGrad.attribute"
    n_samples, stdev = 6, 0.2
    reference = f"captum's NoiseTunnel(Saliency) with the same {n_samples} noise samples"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for k, (model, x, target) in enumerate(_problems(9533)):
            expected, noise = _captum_smoothgrad(model, x, target, n_samples=n_samples, stdev=stdev, seed=9531 + k)
            explainer = call(cls, model, name="SmoothGrad")
            if k == 0:
                worst = _repeated(explainer, model, x, target, expected, name=name, reference=reference, noise=noise)
            else:
                got = _attribute(explainer, model, x, target, name=name, noise=noise)
                worst = max(worst, _close(got, expected, name=name, reference=reference))
        expected, noise = _captum_smoothgrad(model, x, 1, n_samples=n_samples, stdev=stdev, seed=9535)
        got = _attribute(explainer, model, x, 1, name=f"{name}(..., target=1)", noise=noise)  # an int target
        worst = max(worst, _close(got, expected, name=f"{name}(..., target=1)", reference=f"{reference}, int target"))
    passed(f"{name} matches captum's NoiseTunnel smoothgrad given the same noise, on three fresh CNNs, for tensor "
           f"and int targets, also when called twice (largest difference {worst:.1e}).")


def IntegratedGradients(cls) -> None:  # noqa: N802
    from captum.attr import IntegratedGradients as CaptumIG

    name = "IntegratedGradients.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for k, (model, x, target) in enumerate(_problems(9541)):
            explainer = call(cls, model, name="IntegratedGradients")
            oracle = CaptumIG(model)
            expected = oracle.attribute(x, target=target, n_steps=12, method="riemann_middle")
            reference = "captum's IntegratedGradients(method='riemann_middle', n_steps=12)"
            if k == 0:
                worst = _repeated(explainer, model, x, target, expected, name=name, reference=reference, n_steps=12)
            else:
                got = _attribute(explainer, model, x, target, name=name, n_steps=12)
                worst = max(worst, _close(got, expected, name=name, reference=reference))
            baselines = _images(9543 + k, len(x), x.shape[1], *x.shape[-2:])
            label = f"{name}(..., baselines=...)"
            target_k = 1 if k == 2 else target  # an int target on the last network
            got = _attribute(explainer, model, x, target_k, name=label, baselines=baselines.clone(), n_steps=10)
            worst = max(worst, _close(got, oracle.attribute(x, baselines=baselines, target=target_k, n_steps=10,
                                                            method="riemann_middle"),
                                      name=label, reference="captum's IntegratedGradients with the same random baselines"))
        # Completeness: the attributions add up to f(x) - f(baseline). On a smooth network the
        # midpoint rule converges fast: 64 steps are accurate to far better than 0.5 %.
        model, x, target = _smooth_problem(9544)
        baselines = _images(9545, len(x), x.shape[1], x.shape[-1])
        total = _attribute(call(cls, model, name="IntegratedGradients"), model, x, target, name=name,
                           baselines=baselines.clone(), n_steps=64)
        total = total.reshape(len(x), -1).sum(axis=1)
        with torch.no_grad():
            gap = (model(x) - model(baselines))[torch.arange(len(x)), target].numpy()
        if np.any(np.abs(total - gap) > 0.005 * np.abs(gap) + 1e-6):
            i = int(np.argmax(np.abs(total - gap)))
            raise CheckFailed(f"`{name}` is not complete: for a fresh image the attributions sum to {total[i]:.4f}, "
                              f"but f(x) - f(baseline) = {gap[i]:.4f} (tolerance 0.5 %).")
    passed(f"{name} matches captum's riemann_middle rule, with zero and random baselines, on three fresh CNNs, "
           f"and is complete within 0.5 % (largest difference {worst:.1e}).")


def Occlusion(cls) -> None:  # noqa: N802
    from captum.attr import Occlusion as CaptumOcclusion

    name = "Occlusion.attribute"
    with grading(name):
        worst = 0.0
        (shapes, x, target), _, (norm, xn, _) = _problems(9551)
        small = _images(9552, 2, 3, 9, 12)
        cases = [(shapes, (4, 4), 2, 0.0, x, target), (shapes, (2, 4), 2, 0.0, x, target),
                 (norm, (4, 4), 4, 0.2, xn, 3), (shapes, (3, 3), 1, 0.5, small, target[:2])]
        for k, (model, window, stride, baseline, images, targets) in enumerate(cases):
            explainer = call(cls, model, name="Occlusion")
            label = f"{name}(..., window={window}, stride={stride}, baseline={baseline})"
            expected = CaptumOcclusion(model).attribute(images, sliding_window_shapes=(images.shape[1], *window),
                                                        strides=(1, stride, stride), baselines=baseline,
                                                        target=targets, perturbations_per_eval=32)
            reference = "captum's Occlusion with the same window"
            options = dict(window=window, stride=stride, baseline=baseline)
            if k == len(cases) - 1:
                worst = max(worst, _repeated(explainer, model, images, targets, expected, name=label,
                                             reference=reference, **options))
            else:
                got = _attribute(explainer, model, images, targets, name=label, **options)
                worst = max(worst, _close(got, expected, name=label, reference=reference))
    passed(f"{name} matches captum's Occlusion for four windows, strides and baselines on non-square images "
           f"(largest difference {worst:.1e}).")


# --- class activation maps ----------------------------------------------------------------

def _cam_problems(seed: int):
    (shapes, xs, ts), (digits, xd, td), (norm, xn, tn) = _problems(seed)
    return [(shapes, shapes.relu4, xs, ts), (digits, digits.relu2, xd, td), (norm, norm.relu2, xn, tn)]


_CAM_SHAPE = "one map per image, upsampled to the input's height and width"


def _cam_shape(x) -> tuple[int, ...]:
    return (len(x), 1, *x.shape[-2:])


def GradCAM(cls) -> None:  # noqa: N802
    from captum.attr import LayerAttribution, LayerGradCam

    def reference(model, layer, x, target):
        raw = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
        return LayerAttribution.interpolate(raw, tuple(x.shape[-2:]), interpolate_mode="bilinear")

    name = "GradCAM.attribute"
    label = "captum's LayerGradCam(relu_attributions=True) upsampled bilinearly"
    with grading(name):
        worst = 0.0
        for k, (model, layer, x, target) in enumerate(_cam_problems(9561)):
            explainer = call(cls, model, layer, name="GradCAM")
            expected = reference(model, layer, x, target)
            if k == 0:
                worst = _repeated(explainer, model, x, target, expected, name=name, reference=label,
                                  shape=_cam_shape(x), what=_CAM_SHAPE)
            else:
                got = _attribute(explainer, model, x, target, name=name, shape=_cam_shape(x), what=_CAM_SHAPE)
                worst = max(worst, _close(got, expected, name=name, reference=label))
        # A batch of one image, with an int target, on the network with batch normalization.
        one = x[:1]
        got = _attribute(explainer, model, one, 4, name=f"{name} (one image)", shape=_cam_shape(one), what=_CAM_SHAPE)
        worst = max(worst, _close(got, reference(model, layer, one, 4), name=f"{name} (one image)", reference=label))
        # Known structure: with global average pooling and a linear layer, Grad-CAM is the CAM
        # relu(sum_k w_ck A_k) / (h w) of Zhou et al. (2016).
        model, layer, x, target = _cam_problems(9562)[0]
        with torch.no_grad():
            _, A = forward_with_activations(model, layer, x)
            cam = torch.einsum("nk,nkhw->nhw", model.fc.weight[target], A)[:, None] / (A.shape[-2] * A.shape[-1])
            cam = F.interpolate(torch.relu(cam), size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
        got = _attribute(call(cls, model, layer, name="GradCAM"), model, x, target, name=name, shape=_cam_shape(x),
                         what=_CAM_SHAPE)
        _close(got, cam, name=name, reference="the class activation map of a global-average-pooling network")
    passed(f"{name} matches captum's LayerGradCam + bilinear upsampling on three CNNs and non-square images, "
           f"and equals the CAM of a GAP network (largest difference {worst:.1e}).")


def GradCAMPlusPlus(cls) -> None:  # noqa: N802
    name = "GradCAMPlusPlus.attribute"
    with grading(name):
        from pytorch_grad_cam import GradCAMPlusPlus as Reference
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        def compare(got, model, layer, x, target, label):
            targets = [int(target)] * len(x) if isinstance(target, int) else [int(t) for t in target]
            with Reference(model=model, target_layers=[layer]) as reference:
                expected = reference(input_tensor=x.clone(), targets=[ClassifierOutputTarget(t) for t in targets])
            got = got[:, 0]
            if np.any(got.max(axis=(1, 2)) <= 0) and np.all(expected.max(axis=(1, 2)) > 0):
                raise CheckFailed(f"`{label}` returned an all-zero map where pytorch-grad-cam's Grad-CAM++ is not zero.")
            low = got.min(axis=(1, 2), keepdims=True)
            normalized = (got - low) / (1e-7 + got.max(axis=(1, 2), keepdims=True) - low)
            return expect_close(normalized, expected, name=f"{label} (scaled to [0, 1])",
                                reference="pytorch-grad-cam's GradCAMPlusPlus", rtol=0, atol=0.01)

        worst = 0.0
        for k, (model, layer, x, target) in enumerate(_cam_problems(9571)):
            explainer = call(cls, model, layer, name="GradCAMPlusPlus")
            calls = 2 if k == 0 else 1  # the first network twice on the same images tensor
            given = x.clone()
            for repeat in range(calls):
                modes = _modes(model)
                result = call(explainer.attribute, given, target, name=name)
                _same_mode(model, modes, name)
                got = as_result(result, name=name, shape=_cam_shape(x), what=_CAM_SHAPE, strict=False)
                unchanged(given.detach().numpy(), x.numpy(), name)
                try:
                    worst = max(worst, compare(got, model, layer, x, target, name))
                except CheckFailed:
                    if repeat == 0:
                        raise
                    raise CheckFailed(f"`{name}` returns other values when it is called a second time on the same "
                                      "images tensor.") from None
        one = x[:1]  # a batch of one image, with an int target, on the network with batch normalization
        got = _attribute(explainer, model, one, 3, name=f"{name} (one image)", shape=_cam_shape(one), what=_CAM_SHAPE)
        worst = max(worst, compare(got, model, layer, one, 3, f"{name} (one image)"))
    passed(f"{name} matches pytorch-grad-cam's Grad-CAM++ on three CNNs and non-square images after min-max scaling "
           f"(largest difference {worst:.1e}, tolerance 0.01).")


# --- adversarial examples -----------------------------------------------------------------

def FGSM(cls) -> None:  # noqa: N802
    from captum.robust import FGSM as CaptumFGSM

    name = "FGSM.perturb"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, ((model, x, target), epsilon) in enumerate(zip(_problems(9581), (0.1, 0.03, 0.05))):
            attack = call(cls, model, name="FGSM")
            oracle = CaptumFGSM(model, loss_func=lambda out, y: F.cross_entropy(out, y, reduction="none"),
                                lower_bound=0.0, upper_bound=1.0)
            oracle.zero_thresh = 0.0  # perturb every pixel whose gradient is not exactly zero
            expected = oracle.perturb(x.clone(), epsilon, target).detach()
            label = f"{name}(..., epsilon={epsilon})"
            what = "perturbed images shaped like the input"
            reference = "captum's FGSM (cross-entropy, bounds [0, 1])"
            if k == 0:
                _repeated(attack, model, x, target.clone(), expected, name=label, reference=reference, what=what,
                          method="perturb", relative=1e-6, epsilon=epsilon)
            else:
                got = _attribute(attack, model, x, target.clone(), name=label, what=what, method="perturb",
                                 epsilon=epsilon)
                expect_close(got, expected.numpy(), name=label, reference=reference, rtol=0, atol=1e-6)
    passed(f"{name} matches captum's robust.FGSM on three fresh CNNs (batch normalization and dropout included).")


# --- evaluation ---------------------------------------------------------------------------

def _signed_gradient_map(model, inputs, target):
    """The explanation the hidden test randomizes: the signed gradient of the target score, summed over channels.

    Plain PyTorch, defined at module level (it runs inside the student's code, where captum is
    blocked); signed, so that comparing absolute maps is not the same as comparing the maps.
    """
    x = inputs.detach().clone().requires_grad_(True)
    scores = model(x)[torch.arange(len(x)), target]
    return torch.autograd.grad(scores.sum(), x)[0].sum(dim=1).numpy()


def _reference_cascade(model, explain, inputs, target, layers, seed):
    original = explain(model, inputs, target).reshape(len(inputs), -1)
    randomized = copy.deepcopy(model)
    modules = dict(randomized.named_modules())
    torch.manual_seed(seed)
    rows = []
    for layer in layers:
        modules[layer].reset_parameters()
        maps = explain(randomized, inputs, target).reshape(len(inputs), -1)
        rows.append([spearmanr(a, b).statistic for a, b in zip(original, maps)])
    return np.array(rows)


def model_randomization_test(func) -> None:
    name = "model_randomization_test"
    with grading(name):
        worst = 0.0
        (shapes, x, target), _, (norm, xn, tn) = _problems(9591)
        for model, images, targets, layers, seed in [(shapes, x, target, ["fc", "conv4", "conv3", "conv2", "conv1"], 123),
                                                     (norm, xn, tn, ["fc", "bn2", "conv2"], 7)]:
            state = copy.deepcopy(model.state_dict())
            modes = _modes(model)
            given = images.clone()
            got = as_array(call(func, model, _signed_gradient_map, given, targets.clone(), layers=list(layers),
                                seed=seed, name=name), name=name, shape=(len(layers), len(images)),
                           what="one row per randomized layer, one column per image")
            if any(not torch.equal(state[k], v) for k, v in model.state_dict().items()):
                raise CheckFailed(f"`{name}` changed the weights of the model it was given; randomize a deep copy.")
            _same_mode(model, modes, name)
            unchanged(given.numpy(), images.numpy(), name)
            expected = _reference_cascade(model, _signed_gradient_map, images, targets, layers, seed=seed)
            worst = max(worst, expect_close(got, expected, name=name, rtol=0, atol=1e-6,
                                            reference="a cascading randomization of signed gradient maps "
                                                      "(top layer first, one seed, Spearman correlation of the maps)"))
    passed(f"{name} reproduces the cascading randomization of two fresh CNNs with signed maps "
           f"(largest difference {worst:.1e}).")


def _reference_deletion(model, images, target, saliency, pixels_per_step, baseline):
    n, channels, height, width = images.shape
    n_steps = int(np.ceil(height * width / pixels_per_step))
    ranks = np.argsort(np.argsort(-saliency.reshape(n, -1), axis=1, kind="stable"), axis=1)  # 0 = most salient
    curves = []
    for k in range(n_steps + 1):
        deleted = torch.from_numpy(ranks < k * pixels_per_step).view(n, 1, height, width)
        with torch.no_grad():
            probs = torch.softmax(model(torch.where(deleted, torch.tensor(baseline), images)), dim=1)
        curves.append(probs[torch.arange(n), target].numpy())
    return np.stack(curves, axis=1)


def deletion_curve(func) -> None:
    name = "deletion_curve"
    with grading(name):
        worst = 0.0
        for k, (model, x, target) in enumerate(_problems(9601)):
            rng = np.random.default_rng(9602 + k)
            saliency = rng.random((len(x), *x.shape[-2:]))
            for pixels_per_step, baseline in [(20, 0.0), (64, 0.5)]:
                given = x.clone()
                n_steps = int(np.ceil(x.shape[-2] * x.shape[-1] / pixels_per_step))
                label = f"{name}(..., pixels_per_step={pixels_per_step}, baseline={baseline})"
                modes = _modes(model)
                got = call(func, model, given, target.clone(), saliency.copy(), pixels_per_step=pixels_per_step,
                           baseline=baseline, name=name)
                _same_mode(model, modes, name)
                got = as_array(got, name=label, shape=(len(x), n_steps + 1),
                               what="one row per image, one column per step including the intact image")
                unchanged(given.numpy(), x.numpy(), name)
                expected = _reference_deletion(model, x, target, saliency, pixels_per_step, baseline)
                worst = max(worst, expect_close(got, expected, name=label, rtol=0, atol=1e-5,
                                                reference="a reference deletion curve"))
    passed(f"{name} matches a reference deletion curve on three CNNs (non-square images included), step sizes "
           f"and baselines (largest difference {worst:.1e}).")


def _reference_pointing(saliency, masks, tolerance):
    hits = []
    for s, m in zip(saliency, masks):
        peak = np.array(np.unravel_index(np.argmax(s), s.shape))
        inside = np.argwhere(m)
        hits.append(float(np.min(np.hypot(*(inside - peak).T)) <= tolerance))
    return np.array(hits)


def pointing_game(func) -> None:
    name = "pointing_game"
    with grading(name):
        rng = np.random.default_rng(9611)
        cases = []
        for n, height, width in [(40, 18, 25), (1, 12, 7)]:  # non-square maps; a batch of one
            yy, xx = np.mgrid[:height, :width]
            centres = rng.uniform([3, 3], [height - 3, width - 3], size=(n, 2))
            radii = rng.uniform(1.5, 4, size=n)
            masks = (yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2 <= radii[:, None, None] ** 2
            masks[~masks.any(axis=(1, 2)), height // 2, width // 2] = True  # never an empty mask
            cases.append((rng.normal(size=(n, height, width)), masks))
        for saliency, masks in cases:
            for tolerance in (0, 2, 3.5):
                label = f"{name}(..., tolerance={tolerance})"
                given = saliency.copy()
                got = as_array(call(func, given, masks.copy(), tolerance=tolerance, name=name), name=label,
                               shape=(len(saliency),), what="one value (1 hit, 0 miss) per image")
                unchanged(given, saliency, name, what="maps")
                expected = _reference_pointing(saliency, masks, tolerance)
                expect_close(got, expected, name=label, rtol=0, atol=1e-9,
                             reference="the distance from each map's maximum to the nearest mask pixel")
    passed(f"{name} agrees with brute-force distances on 41 random non-square maps and masks, for three tolerances.")


def relevance_mass(func) -> None:
    name = "relevance_mass"
    with grading(name):
        rng = np.random.default_rng(9621)
        saliency = rng.normal(size=(30, 12, 17)) + 0.2
        masks = rng.random((30, 12, 17)) < 0.3
        given = saliency.copy()
        got = as_array(call(func, given, masks.copy(), name=name), name=name, shape=(30,), what="one share per image")
        unchanged(given, saliency, name, what="maps")
        positive = np.clip(saliency, 0, None)
        expected = (positive * masks).sum(axis=(1, 2)) / positive.sum(axis=(1, 2))
        expect_close(got, expected, name=name, rtol=1e-6, atol=1e-7,
                     reference="the positive relevance inside the mask divided by all positive relevance")
    passed(f"{name} matches the relevance mass accuracy of Arras et al. on 30 random signed maps.")
