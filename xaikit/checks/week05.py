"""Visible checks of lab 5 (pixel attribution for CNNs).

Each check runs the student's class or function on one small visible example: a linear model
(whose gradient is its weight), and a small CNN with BatchNorm and Dropout in eval mode on
non-square 6 × 8 images. It compares with captum, called inside the check with the lab's
settings (``Saliency``, ``InputXGradient``, ``NoiseTunnel`` with the same noise,
``IntegratedGradients(method="riemann_middle")``, ``Occlusion``, ``LayerGradCam``, ``robust.FGSM``),
or with exact properties (Grad-CAM++ ignores channels with negative gradients in a
global-average-pooling network; a randomization test on a map whose sign flips; a deletion
curve from the images it must delete; distances to the mask). Every check also calls the
answer twice on the same tensor (nothing may accumulate) and checks that the model stays in
eval mode. A failure says in one sentence which aspect is off. The hidden tests compare with
the same references on other models and images.

Ask for a hint with ``check.<Class>.hint()``; ``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..cnn import ShapesCNN, forward_with_activations, predict_proba
from . import CheckFailed, Summary, as_array, call, graded, install_not_written_handler, passed

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
    "summary",
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


class _BatchNormNet(nn.Module):
    """conv - BatchNorm - ReLU - Dropout - strided conv - ReLU - conv - ReLU - global average pooling - linear.

    2 channels, 3 classes; on 6 × 8 images relu2 and relu3 give 3 × 4 feature maps.
    """

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(_C, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU()
        self.drop = nn.Dropout(0.5)
        self.conv2 = nn.Conv2d(4, 5, 3, stride=2, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(5, 5, 3, padding=1)
        self.relu3 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        x = self.drop(self.relu1(self.bn1(self.conv1(x))))
        x = self.relu3(self.conv3(self.relu2(self.conv2(x))))
        return self.fc(self.flat(self.pool(x)))


def _bn_net() -> _BatchNormNet:
    """Seeded He initialisation and non-trivial running statistics, in eval mode."""
    torch.manual_seed(19)
    model = _BatchNormNet()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.normal_(module.bias, std=0.1)
    with torch.no_grad():
        model.bn1.running_mean.normal_(0.2, 0.3)
        model.bn1.running_var.uniform_(0.5, 2.0)
        model.bn1.weight.uniform_(0.5, 1.5)
        model.bn1.bias.normal_(0.0, 0.2)
    return model.eval()


def _wide_images(n: int = 3, seed: int = 21) -> torch.Tensor:
    """Non-square images (6 × 8): height and width cannot be swapped unnoticed."""
    return torch.rand(n, _C, 6, 8, generator=torch.Generator().manual_seed(seed))


def _captum(method: str):
    import captum.attr

    return getattr(captum.attr, method)


def _quiet():
    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("ignore")
    return context


def _on_cnn(cls, *, name: str, reference, shape=None, layer: str | None = None, target=_TARGET, **kwargs):
    """Run the answer twice on the BatchNorm network and 6 × 8 images; compare with ``reference(model, x)``.

    Fails on a changed train/eval mode, modified images, a second call that differs (a
    gradient that accumulates), or a difference from the reference (relative 1e-4).
    """
    model, x = _bn_net(), _wide_images()
    args = (model, getattr(model, layer)) if layer else (model,)
    explainer = call(cls, *args, name=name.split(".")[0])
    before = x.clone()
    what = "one value per input element, like the input" if shape is None else "one map per image, upsampled to the input's height and width"
    shape = shape or tuple(x.shape)
    first = as_result(call(explainer.attribute, x, target, name=name, **kwargs), name=name, shape=shape, what=what)
    if model.training:
        raise CheckFailed(f"`{name}` switched the model to training mode (BatchNorm then uses batch statistics, "
                          "Dropout drops units); leave the model's mode as it is.")
    _unchanged(x, before, name)
    second = as_result(call(explainer.attribute, x, target, name=name, **kwargs), name=name, shape=shape)
    if not np.allclose(first, second, rtol=1e-5, atol=1e-7):
        raise CheckFailed(f"`{name}` gives another result when called twice on the same images: keep the model in eval "
                          "mode and accumulate nothing (`torch.autograd.grad` on a fresh copy of the inputs).")
    context = _quiet()
    try:
        expected = reference(model, x)
    finally:
        context.__exit__(None, None, None)
    expected = np.asarray(expected.detach() if isinstance(expected, torch.Tensor) else expected, dtype=float)
    return first, expected


def _agrees(got, expected, relative: float = 1e-4) -> bool:
    scale = float(np.abs(expected).max()) or 1.0
    return bool(np.allclose(got, expected, rtol=relative, atol=relative * scale))


# --- gradients ----------------------------------------------------------------------------

@graded(answer="VanillaGradient", part="1", points=2,
        hint="lecture 5, §5 'The vanilla gradient': the gradient of EACH image's target logit (logits[arange(N), target]) w.r.t. a "
             "detached copy of the inputs; |·| only when abs=True; never change the model's mode.")
def VanillaGradient(cls) -> None:  # noqa: N802 - named after the class it checks
    """Check ``VanillaGradient(model).attribute(inputs, target, abs=True)`` against captum's ``Saliency``."""
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
    got, expected = _on_cnn(cls, name=name, abs=False,
                            reference=lambda m, x: _captum("Saliency")(m).attribute(x, target=_TARGET, abs=False))
    if not _agrees(got, expected):
        raise CheckFailed(f"`{name}(..., abs=False)` differs from captum's Saliency on a small CNN with BatchNorm and "
                          "6 × 8 images; differentiate the model's own output in eval mode.")
    passed(f"{name}: the weights of a linear model; captum's Saliency on a BatchNorm CNN (6 × 8 images), signed with "
           "abs=False; repeatable, model mode and inputs untouched.")


@graded(answer="GradientXInput", part="1", points=1,
        hint="lecture 5, §6 'Gradient × input': the SIGNED gradient (no abs) times the input, element by element.")
def GradientXInput(cls) -> None:  # noqa: N802
    """Check ``GradientXInput(model).attribute(inputs, target)`` against captum's ``InputXGradient``."""
    name = "GradientXInput.attribute"
    model, x = _linear_model(), _images()
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET)
    if _close(out, np.abs(out)) and not _close(out, _weight(model, _TARGET) * x):
        raise CheckFailed(f"`{name}` returned only non-negative values; multiply the signed gradient by the input.")
    if not _close(out, _weight(model, _TARGET) * x):
        raise CheckFailed(f"`{name}`: for a linear model the result should be weight × input, element by element.")
    got, expected = _on_cnn(cls, name=name,
                            reference=lambda m, x: _captum("InputXGradient")(m).attribute(x, target=_TARGET))
    if not _agrees(got, expected):
        raise CheckFailed(f"`{name}` differs from captum's InputXGradient on a small CNN with BatchNorm and 6 × 8 images.")
    passed(f"{name}: weight × input for a linear model; captum's InputXGradient on a BatchNorm CNN; repeatable.")


def _noise_tunnel(model, x, noise, *, absolute: bool = True):
    """captum's NoiseTunnel(Saliency) fed exactly the given noise (it adds noise to a repeated batch)."""
    n = len(noise)
    stacked = (x[None] + noise).transpose(0, 1).reshape(-1, *x.shape[1:])  # captum's row order: image-major

    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, inputs):
            return self.model(stacked.view_as(inputs) + (inputs - inputs.detach()))

    saliency = _captum("Saliency")(Fixed())
    target = _TARGET.repeat_interleave(n)
    grads = saliency.attribute(stacked.clone(), target=target, abs=absolute).view(len(x), n, *x.shape[1:])
    return grads.mean(dim=1)


@graded(answer="SmoothGrad", part="2", points=2,
        hint="lecture 5, §6 'SmoothGrad': for each k, the ABSOLUTE gradient at inputs + noise[k] (captum's default); "
             "then the MEAN over k — not the absolute value of the mean, not the sum.")
def SmoothGrad(cls) -> None:  # noqa: N802
    """Check ``SmoothGrad(model).attribute(inputs, target, noise=...)`` against captum's ``NoiseTunnel(Saliency)``."""
    name = "SmoothGrad.attribute"
    noise = 0.5 * torch.randn((4, 3, _C, _H, _W), generator=torch.Generator().manual_seed(14))
    model, x = _linear_model(), _images()
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET, noise=noise)
    if not _close(out, _weight(model, _TARGET).abs()):
        raise CheckFailed(f"`{name}`: a linear model has the same gradient everywhere, so SmoothGrad should return "
                          "|weights| whatever the noise; average (do not sum) the absolute gradients over the noise samples.")
    wide_noise = 0.3 * torch.randn((3, 3, _C, 6, 8), generator=torch.Generator().manual_seed(15))
    got, expected = _on_cnn(cls, name=name, noise=wide_noise, reference=lambda m, x: _noise_tunnel(m, x, wide_noise))
    if not _agrees(got, expected):
        signed = _noise_tunnel(_bn_net(), _wide_images(), wide_noise, absolute=False).abs().numpy()
        if _agrees(got, signed):
            raise CheckFailed(f"`{name}` takes the absolute value of the averaged signed gradients (Smilkov et al.'s "
                              "definition); this lab, like captum's default, averages the absolute gradients.")
        raise CheckFailed(f"`{name}` differs from captum's NoiseTunnel(Saliency) given the same noise on a BatchNorm "
                          "CNN; add noise[k] to the images before each gradient and average over k.")
    passed(f"{name}: |weights| for a linear model; captum's NoiseTunnel(Saliency) with the same noise on a BatchNorm "
           "CNN; repeatable.")


@graded(answer="IntegratedGradients", part="3", points=3,
        hint="lecture 5, §7 'Integrated Gradients': the midpoint rule, alphas (k + 1/2)/m for k = 0..m-1, the path from "
             "the baseline to the input, and the factor (inputs - baselines).")
def IntegratedGradients(cls) -> None:  # noqa: N802
    """Check ``IntegratedGradients(model).attribute(inputs, target, baselines=None, n_steps=50)`` against captum."""
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

    def captum_ig(method):
        return lambda m, x: _captum("IntegratedGradients")(m).attribute(x, target=_TARGET, n_steps=5, method=method)

    got, expected = _on_cnn(cls, name=name, n_steps=5, reference=captum_ig("riemann_middle"))
    if not _agrees(got, expected):
        for method, words in [("riemann_right", "the right end of each step"), ("riemann_left", "the left end of each step"),
                              ("riemann_trapezoid", "the trapezoid rule"), ("gausslegendre", "captum's default Gauss-Legendre rule")]:
            context = _quiet()
            try:
                other = captum_ig(method)(_bn_net(), _wide_images()).detach().numpy()
            finally:
                context.__exit__(None, None, None)
            if _agrees(got, other):
                raise CheckFailed(f"`{name}` uses {words}; this lab uses the midpoint rule, alphas (k + 1/2) / n_steps.")
        raise CheckFailed(f"`{name}` differs from captum's IntegratedGradients(method='riemann_middle') on a BatchNorm "
                          "CNN with 6 × 8 images.")
    passed(f"{name}: weight × (input - baseline) for a linear model; captum's riemann_middle rule on a BatchNorm CNN; "
           "repeatable.")


@graded(answer="Occlusion", part="4", points=3,
        hint="lecture 5, §4 'Occlusion': windows start at rows 0, s, 2s, ... and columns 0, s, 2s, ... (height and width "
             "may differ), all channels at once; each pixel gets the AVERAGE drop of the windows covering it.")
def Occlusion(cls) -> None:  # noqa: N802
    """Check ``Occlusion(model).attribute(inputs, target, window=..., stride=..., baseline=0.0)`` against captum."""
    name = "Occlusion.attribute"
    model, x = _linear_model(), _images()
    out = _attribution(cls, name=name, model=model, inputs=x, target=_TARGET, window=(1, 1), stride=1)
    per_pixel = (_weight(model, _TARGET) * x).sum(dim=1, keepdim=True).expand_as(x)
    if np.allclose(out, -per_pixel.numpy(), atol=1e-6) and not np.allclose(per_pixel.numpy(), 0):
        raise CheckFailed(f"`{name}` has the wrong sign: the attribution is score(original) - score(occluded).")
    if not _close(out, per_pixel):
        raise CheckFailed(f"`{name}`: with a 1x1 window on a linear model, each pixel should get the drop in score "
                          "when all its channels are set to the baseline (the same value in every channel).")
    for window, stride, baseline in [((2, 2), 2, 0.0), ((2, 4), 2, 0.5), ((3, 3), 1, 0.0)]:
        def reference(m, x, window=window, stride=stride, baseline=baseline):
            return _captum("Occlusion")(m).attribute(x, sliding_window_shapes=(x.shape[1], *window),
                                                     strides=(1, stride, stride), baselines=baseline, target=_TARGET)

        got, expected = _on_cnn(cls, name=name, window=window, stride=stride, baseline=baseline, reference=reference)
        if not _agrees(got, expected):
            raise CheckFailed(f"`{name}` with window={window}, stride={stride}, baseline={baseline} differs from captum's "
                              "Occlusion on 6 × 8 images; check where the windows start and that overlaps are averaged.")
    passed(f"{name}: the score drop for a linear model; captum's Occlusion for three windows and strides on "
           "6 × 8 images; repeatable.")


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


_CAM_TARGET = torch.tensor([1, 1, 0])  # maps that are positive in some places and negative in others


def _captum_grad_cam(model, x, *, layer: str = "relu3", relu: bool = True, mode: str = "bilinear",
                     relu_after: bool = False, target=_TARGET):
    from captum.attr import LayerAttribution, LayerGradCam

    raw = LayerGradCam(model, getattr(model, layer)).attribute(x, target=target, relu_attributions=relu)
    up = LayerAttribution.interpolate(raw, tuple(x.shape[-2:]), interpolate_mode=mode)
    return torch.relu(up) if relu_after else up


@graded(answer="GradCAM", part="5", points=3,
        hint="lecture 5, §9 'Grad-CAM': weights = the MEAN gradient over each feature map's positions, ReLU of the weighted "
             "sum BEFORE upsampling, bilinear upsampling to (H, W) with align_corners=False.")
def GradCAM(cls) -> None:  # noqa: N802
    """Check ``GradCAM(model, layer).attribute(inputs, target)`` against captum's ``LayerGradCam``."""
    name = "GradCAM.attribute"
    _cam_check(cls, name)
    # relu2 (3 × 4) is followed by a convolution: its gradients vary from position to position
    got, expected = _on_cnn(cls, name=name, layer="relu2", shape=(3, 1, 6, 8), target=_CAM_TARGET,
                            reference=lambda m, x: _captum_grad_cam(m, x, layer="relu2", target=_CAM_TARGET))
    if not _agrees(got, expected):
        context = _quiet()
        try:
            after = _captum_grad_cam(_bn_net(), _wide_images(), layer="relu2", relu=False, relu_after=True,
                                     target=_CAM_TARGET).detach().numpy()
        finally:
            context.__exit__(None, None, None)
        if _agrees(got, after):
            raise CheckFailed(f"`{name}` applies the ReLU after upsampling; apply it to the h × w map, then upsample.")
        raise CheckFailed(f"`{name}` differs from captum's LayerGradCam(relu_attributions=True) upsampled bilinearly on a "
                          "BatchNorm CNN with 6 × 8 images; weight each whole feature map by its MEAN gradient.")
    passed(f"{name}: captum's LayerGradCam + bilinear upsampling on a BatchNorm CNN with 6 × 8 images; repeatable.")


@graded(answer="GradCAMPlusPlus", part="5", points=2,
        hint="lecture 5, §9 'Grad-CAM++': alpha_k = sum over positions of a_ij · ReLU(g_ij), with "
             "a_ij = g²/(2g² + Σ_k g³ + 1e-6) and 0 where g = 0; it is not Grad-CAM's mean gradient.")
def GradCAMPlusPlus(cls) -> None:  # noqa: N802
    """Check ``GradCAMPlusPlus(model, layer).attribute(inputs, target)`` with exact properties.

    In a network with global average pooling and one linear layer, the gradient on feature map
    k is the constant w_ck / (h w): Grad-CAM++ weights a map with a negative gradient by 0, so
    zeroing those weights of the linear layer must not change the map; and with mixed signs it
    differs from Grad-CAM (captum's LayerGradCam).
    """
    name = "GradCAMPlusPlus.attribute"
    _cam_check(cls, name)
    got, gradcam = _on_cnn(cls, name=name, layer="relu3", shape=(3, 1, 6, 8), reference=_captum_grad_cam)
    if _agrees(got, gradcam):
        raise CheckFailed(f"`{name}` returns Grad-CAM; weight the positions with the a_ij of Grad-CAM++ instead of "
                          "averaging the gradient.")
    model = _bn_net()
    with torch.no_grad():
        negative = model.fc.weight < 0
        pruned = _bn_net()
        pruned.fc.weight[negative] = 0.0
    x = _wide_images()
    maps = []
    for net in (model, pruned):
        explainer = call(cls, net, net.relu3, name="GradCAMPlusPlus")
        maps.append(as_result(call(explainer.attribute, x, _TARGET, name=name), name=name, shape=(3, 1, 6, 8)))
    if not np.any(negative.numpy()[_TARGET.numpy()]):  # pragma: no cover - the toy network has negative weights
        raise CheckFailed("internal: the toy network has no negative weight")
    if not _agrees(maps[0], maps[1], 1e-4):
        raise CheckFailed(f"`{name}` lets feature maps with a negative gradient count; Grad-CAM++ weights each position "
                          "by a_ij · ReLU(g_ij), so they contribute nothing.")
    passed(f"{name}: non-negative, depends on the target, ignores feature maps with negative gradients, differs from "
           "Grad-CAM; repeatable on a BatchNorm CNN with 6 × 8 images.")


# --- adversarial examples -----------------------------------------------------------------

@graded(answer="FGSM", part="6", points=2,
        hint="lecture 5, §10 'Adversarial examples': x + epsilon · sign(gradient of the cross-entropy of the TRUE class), "
             "ascending the loss, then clamp to [0, 1]; return detached images.")
def FGSM(cls) -> None:  # noqa: N802
    """Check ``FGSM(model).perturb(inputs, target, epsilon=...)`` against captum's ``robust.FGSM``."""
    from captum.robust import FGSM as CaptumFGSM

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
    model, xw = _bn_net(), _wide_images()
    attack = call(cls, model, name="FGSM")
    got = as_result(call(attack.perturb, xw.clone(), _TARGET.clone(), epsilon=0.1, name=name), name=name,
                    shape=tuple(xw.shape))
    if model.training:
        raise CheckFailed(f"`{name}` switched the model to training mode; leave the model's mode as it is.")
    again = as_result(call(attack.perturb, xw.clone(), _TARGET.clone(), epsilon=0.1, name=name), name=name,
                      shape=tuple(xw.shape))
    oracle = CaptumFGSM(model, loss_func=lambda out, y: F.cross_entropy(out, y, reduction="none"),
                        lower_bound=0.0, upper_bound=1.0)
    oracle.zero_thresh = 0.0
    context = _quiet()
    try:
        expected = oracle.perturb(xw.clone(), 0.1, _TARGET).detach().numpy()
    finally:
        context.__exit__(None, None, None)
    if not np.allclose(got, again, atol=1e-7):
        raise CheckFailed(f"`{name}` gives another result when called twice on the same images; do not accumulate gradients.")
    if not np.allclose(got, expected, atol=1e-6):
        raise CheckFailed(f"`{name}` differs from captum's robust.FGSM on a BatchNorm CNN: move every pixel by exactly "
                          "±epsilon, the sign of the gradient of the cross-entropy, then clamp to [0, 1].")
    passed(f"{name}: steps of epsilon that raise the loss, values in [0, 1]; captum's robust.FGSM on a BatchNorm CNN.")


# --- evaluation ---------------------------------------------------------------------------

@graded(answer="model_randomization_test", part="7", points=3,
        hint="lecture 5, §11 'Sanity checks': deep-copy the model, torch.manual_seed(seed) once, reset the layers in the "
             "given order CUMULATIVELY, compare each SIGNED map with the original by Spearman correlation.")
def model_randomization_test(func) -> None:
    """Check ``model_randomization_test(model, explain, inputs, target, layers=..., seed=0)``.

    The test's explanation is built so the answer is known exactly: a fixed pattern while conv1
    keeps its trained weights, and minus its cube (same ranks, opposite sign) once conv1 is
    randomized. So, with the layers fc, conv1, conv2: correlation 1 after fc; -1 after conv1,
    and -1 after conv2 as well, because the randomization accumulates.
    """
    name = "model_randomization_test"
    model, x = _bn_net(), _wide_images()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    trained_conv1 = model.conv1.weight.detach().clone()
    pattern = np.random.default_rng(22).random((len(x), 6, 8)) + 0.1  # distinct values, positive

    def explain(m, inputs, target):
        same = torch.equal(m.conv1.weight.detach(), trained_conv1)
        return pattern.copy() if same else -(pattern**3)

    layers = ["fc", "conv1", "conv2"]
    out = as_array(call(func, model, explain, x, _TARGET, layers=list(layers), seed=0, name=name), name=name,
                   shape=(len(layers), len(x)), what="one row per randomized layer, one column per image")
    if any(not torch.equal(state[k], v) for k, v in model.state_dict().items()):
        raise CheckFailed(f"`{name}` changed the weights of the model it was given; randomize a copy (`copy.deepcopy(model)`).")
    if np.any(np.abs(out) > 1 + 1e-9):
        raise CheckFailed(f"`{name}` returned values outside [-1, 1]; return rank correlations.")
    if not np.allclose(out[0], 1.0):
        raise CheckFailed(f"`{name}`: the test map ignores fc, so randomizing fc must leave the correlation at 1; compare "
                          "each randomized map with the map of the original model.")
    if np.allclose(out[1], 1.0):
        raise CheckFailed(f"`{name}`: randomizing conv1 flips the sign of the test map, which you do not see; compare the "
                          "signed maps (no absolute values), after `reset_parameters()` on the named layer of the copy.")
    if not np.allclose(out[1], -1.0, atol=1e-9):
        raise CheckFailed(f"`{name}`: a map and minus its cube have opposite ranks; use the Spearman rank correlation "
                          "(scipy.stats.spearmanr), not Pearson's.")
    if not np.allclose(out[2], -1.0, atol=1e-9):
        raise CheckFailed(f"`{name}`: after conv1 is randomized it stays randomized; the randomization is cascading, each "
                          "layer adding to the previous ones in one copy.")
    passed(f"{name}: shape {out.shape}, the original model untouched, 1 for a layer the map ignores, cascading, "
           "signed maps, Spearman.")


@graded(answer="deletion_curve", part="8", points=3,
        hint="lecture 5, §12 'Deletion curves': order the pixels by DECREASING saliency, delete the first min(k·pixels_per_step, "
             "H·W) in every channel, record the SOFTMAX probability of the target; n_steps + 1 columns.")
def deletion_curve(func) -> None:
    """Check ``deletion_curve(model, images, target, saliency, pixels_per_step=..., baseline=0.0)``.

    Compared with the probabilities of the images it must delete, built in the check on a
    BatchNorm CNN with 6 × 8 images.
    """
    name = "deletion_curve"
    cnn, x = _toy_cnn(), _images(size=8)
    saliency = np.random.default_rng(16).random((3, 8, 8))
    before = x.clone()
    out = as_array(call(func, cnn, x, _TARGET, saliency, pixels_per_step=10, name=name), name=name, shape=(3, 8),
                   what="one row per image, n_steps + 1 = ceil(64 / 10) + 1 = 8 columns")
    _unchanged(x, before, name)
    if np.any(out < 0) or np.any(out > 1):
        raise CheckFailed(f"`{name}` returned values outside [0, 1]; record the softmax probability of the target class.")
    model, xw = _bn_net(), _wide_images()
    sal = np.random.default_rng(23).random((3, 6, 8))
    for pixels_per_step, baseline in [(10, 0.0), (16, 0.5)]:
        n_steps = int(np.ceil(48 / pixels_per_step))
        got = as_array(call(func, model, xw.clone(), _TARGET.clone(), sal.copy(), pixels_per_step=pixels_per_step,
                            baseline=baseline, name=name), name=name, shape=(3, n_steps + 1),
                       what="one row per image, one column per step including the intact image")
        if model.training:
            raise CheckFailed(f"`{name}` switched the model to training mode; leave the model's mode as it is.")

        def curve(order_sign: float, logits: bool = False):
            ranks = np.argsort(np.argsort(order_sign * sal.reshape(3, -1), axis=1, kind="stable"), axis=1)
            rows = []
            for k in range(n_steps + 1):
                deleted = torch.from_numpy(ranks < k * pixels_per_step).view(3, 1, 6, 8)
                with torch.no_grad():
                    scores = model(torch.where(deleted, torch.tensor(baseline), xw))
                    rows.append((scores if logits else torch.softmax(scores, dim=1))[torch.arange(3), _TARGET].numpy())
            return np.stack(rows, axis=1)

        if not np.allclose(got, curve(-1.0), atol=1e-5):
            if np.allclose(got, curve(1.0), atol=1e-5):
                raise CheckFailed(f"`{name}` deletes the least salient pixels first; order by decreasing saliency.")
            if np.allclose(got, curve(-1.0, logits=True), atol=1e-5):
                raise CheckFailed(f"`{name}` records logits; record the softmax probability of the target class.")
            raise CheckFailed(f"`{name}` with pixels_per_step={pixels_per_step}, baseline={baseline} on 6 × 8 images "
                              "differs from the probabilities of the images it should delete: the first k·pixels_per_step "
                              "pixels in decreasing saliency, all channels, set to the baseline.")
    passed(f"{name}: the probabilities of the images with the most salient pixels deleted, on a BatchNorm CNN with "
           "6 × 8 images, two step sizes and baselines.")


@graded(answer="pointing_game", part="9", points=2,
        hint="lecture 5, §13 'The pointing game': the FIRST maximum (np.argmax of the flattened map) is a hit when its "
             "Euclidean distance to the nearest mask pixel is <= tolerance (not a square window).")
def pointing_game(func) -> None:
    """Check ``pointing_game(saliency, masks, tolerance=0)`` on hand-made maps and brute-force distances."""
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
    rng = np.random.default_rng(24)
    n, (height, width) = 30, (9, 12)
    yy, xx = np.mgrid[:height, :width]
    centres = rng.uniform([2, 2], [7, 10], size=(n, 2))
    radii = rng.uniform(1.0, 2.5, size=n)
    discs = (yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2 <= radii[:, None, None] ** 2
    signed = rng.normal(size=(n, height, width))
    for tolerance in (0, 1.5, 3):
        got = as_array(call(func, signed.copy(), discs.copy(), tolerance=tolerance, name=name), name=name, shape=(n,))
        expected = []
        for s, m in zip(signed, discs):
            peak = np.array(np.unravel_index(np.argmax(s), s.shape))
            expected.append(float(np.min(np.hypot(*(np.argwhere(m) - peak).T)) <= tolerance))
        if not np.array_equal(got, expected):
            raise CheckFailed(f"`{name}(..., tolerance={tolerance})` disagrees with the distance from each map's maximum "
                              "to the nearest mask pixel on 9 × 12 maps; a hit is a Euclidean distance <= tolerance.")
    passed(f"{name}: shape {out.shape}, hits inside the mask, misses outside, tolerance as a Euclidean distance.")


@graded(answer="relevance_mass", part="9", points=2,
        hint="lecture 5, §13 and lab part 9, 'Relevance mass': clip the map at 0 first, then the positive part inside the mask divided by "
             "the positive part of the whole map, per image.")
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


summary = Summary("Lab 5", VanillaGradient, GradientXInput, SmoothGrad, IntegratedGradients, Occlusion, GradCAM,
                  GradCAMPlusPlus, FGSM, model_randomization_test, deletion_curve, pointing_game, relevance_mass,
                  written_points=10)
hint = summary.hint
install_not_written_handler(summary)
