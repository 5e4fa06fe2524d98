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
| ``model_randomization_test`` | a reference cascade (deepcopy, ``reset_parameters`` after one seed) with ``scipy.stats.spearmanr`` | 1e-6 |
| ``deletion_curve``           | a reference built from pixel ranks (independent of a loop over steps) | 1e-5 |
| ``pointing_game``            | brute-force distances from the peak to every mask pixel               | exact |
| ``relevance_mass``           | the definition on random signed maps (Arras et al. 2022)              | 1e-9 |

Models are small CNNs of :mod:`xaikit.cnn` with fresh, seeded He initialisation (never the
shipped weights) and the images are random, from seeds the lab does not use.
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

RELATIVE = 1e-4  # float32 arithmetic in a different order


def _fresh(cls, seed: int, **kwargs) -> nn.Module:
    """A model with seeded He-initialised weights (larger signals than PyTorch's default)."""
    torch.manual_seed(seed)
    model = cls(**kwargs)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.normal_(module.bias, std=0.1)
    return model.eval()


def _images(seed: int, n: int, channels: int, size: int) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


def _problems(seed: int):
    """A colour GAP network on 16 x 16 images and a grey LeNet on 28 x 28 digits-sized images."""
    shapes = _fresh(ShapesCNN, seed, n_classes=4, in_channels=3, width=6)
    digits = _fresh(DigitsCNN, seed + 1)
    return [
        (shapes, _images(seed + 2, 4, 3, 16), torch.tensor([0, 3, 1, 2])),
        (digits, _images(seed + 3, 3, 1, 28), torch.tensor([7, 1, 4])),
    ]


def unchanged(given: np.ndarray, original: np.ndarray, name: str, what: str = "images") -> None:
    """Fail if the student's code modified its input in place."""
    if not np.array_equal(given, original):
        raise CheckFailed(f"`{name}` modified the {what} it was given in place; work on a copy.")


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


def _attribute(explainer, inputs, target, *, name: str, shape=None, what: str = "", **kwargs) -> np.ndarray:
    given = inputs.clone()
    out = as_result(call(explainer.attribute, given, target, name=name, **kwargs), name=name,
                    shape=shape or tuple(inputs.shape), what=what or "one value per input element, like captum", strict=False)
    unchanged(given.numpy(), inputs.numpy(), name)
    return out


# --- gradients ----------------------------------------------------------------------------

def VanillaGradient(cls) -> None:  # noqa: N802 - named after the class it grades
    from captum.attr import Saliency

    name = "VanillaGradient.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for model, x, target in _problems(9511):
            explainer = call(cls, model, name="VanillaGradient")
            got = _attribute(explainer, x, target, name=name)
            worst = max(worst, _close(got, Saliency(model).attribute(x, target=target), name=name,
                                      reference="captum's Saliency"))
            got = _attribute(explainer, x, 1, name=f"{name}(..., abs=False)", abs=False)
            worst = max(worst, _close(got, Saliency(model).attribute(x, target=1, abs=False),
                                      name=f"{name}(..., abs=False)", reference="captum's Saliency(abs=False)"))
    passed(f"{name} matches captum's Saliency on two fresh CNNs, with and without abs (largest difference {worst:.1e}).")


def GradientXInput(cls) -> None:  # noqa: N802
    from captum.attr import InputXGradient

    name = "GradientXInput.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for model, x, target in _problems(9521):
            got = _attribute(call(cls, model, name="GradientXInput"), x, target, name=name)
            worst = max(worst, _close(got, InputXGradient(model).attribute(x, target=target), name=name,
                                      reference="captum's InputXGradient"))
    passed(f"{name} matches captum's InputXGradient on two fresh CNNs (largest difference {worst:.1e}).")


class _Recorder(nn.Module):
    """Passes inputs to the model and keeps a copy: reveals the noisy images captum draws."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.model(x)


def SmoothGrad(cls) -> None:  # noqa: N802
    from captum.attr import NoiseTunnel, Saliency

    name = "SmoothGrad.attribute"
    n_samples, stdev = 6, 0.2
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for seed, (model, x, target) in zip((9531, 9532), _problems(9533)):
            torch.manual_seed(seed)
            recorder = _Recorder(model)
            expected = NoiseTunnel(Saliency(recorder)).attribute(x, nt_type="smoothgrad", nt_samples=n_samples,
                                                                 stdevs=stdev, target=target)
            noisy = torch.cat(recorder.seen)  # captum's layout: image i, sample k at row i * n_samples + k
            noise = (noisy.view(len(x), n_samples, *x.shape[1:]) - x[:, None]).transpose(0, 1).contiguous()
            got = _attribute(call(cls, model, name="SmoothGrad"), x, target, name=name, noise=noise)
            worst = max(worst, _close(got, expected, name=name,
                                      reference=f"captum's NoiseTunnel(Saliency) with the same {n_samples} noise samples"))
    passed(f"{name} matches captum's NoiseTunnel smoothgrad given the same noise (largest difference {worst:.1e}).")


def IntegratedGradients(cls) -> None:  # noqa: N802
    from captum.attr import IntegratedGradients as CaptumIG

    name = "IntegratedGradients.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for k, (model, x, target) in enumerate(_problems(9541)):
            explainer = call(cls, model, name="IntegratedGradients")
            oracle = CaptumIG(model)
            got = _attribute(explainer, x, target, name=name, n_steps=12)
            worst = max(worst, _close(got, oracle.attribute(x, target=target, n_steps=12, method="riemann_middle"),
                                      name=name, reference="captum's IntegratedGradients(method='riemann_middle', n_steps=12)"))
            baselines = _images(9543 + k, len(x), x.shape[1], x.shape[-1])
            got = _attribute(explainer, x, target, name=f"{name}(..., baselines=...)", baselines=baselines.clone(), n_steps=10)
            worst = max(worst, _close(got, oracle.attribute(x, baselines=baselines, target=target, n_steps=10,
                                                            method="riemann_middle"),
                                      name=f"{name}(..., baselines=...)",
                                      reference="captum's IntegratedGradients with the same random baselines"))
        # Completeness: the attributions add up to f(x) - f(baseline). On a smooth network the
        # midpoint rule converges fast: 64 steps are accurate to far better than 0.5 %.
        model, x, target = _smooth_problem(9544)
        baselines = _images(9545, len(x), x.shape[1], x.shape[-1])
        total = _attribute(call(cls, model, name="IntegratedGradients"), x, target, name=name,
                           baselines=baselines.clone(), n_steps=64)
        total = total.reshape(len(x), -1).sum(axis=1)
        with torch.no_grad():
            gap = (model(x) - model(baselines))[torch.arange(len(x)), target].numpy()
        if np.any(np.abs(total - gap) > 0.005 * np.abs(gap) + 1e-6):
            i = int(np.argmax(np.abs(total - gap)))
            raise CheckFailed(f"`{name}` is not complete: for a fresh image the attributions sum to {total[i]:.4f}, "
                              f"but f(x) - f(baseline) = {gap[i]:.4f} (tolerance 0.5 %).")
    passed(f"{name} matches captum's riemann_middle rule, with zero and random baselines, and is complete within 0.5 % "
           f"(largest difference {worst:.1e}).")


def Occlusion(cls) -> None:  # noqa: N802
    from captum.attr import Occlusion as CaptumOcclusion

    name = "Occlusion.attribute"
    with grading(name):
        worst = 0.0
        model, x, target = _problems(9551)[0]
        small = _images(9552, 2, 3, 10)
        explainer = call(cls, model, name="Occlusion")
        oracle = CaptumOcclusion(model)
        for window, stride, baseline, images, targets in [((4, 4), 2, 0.0, x, target), ((2, 4), 2, 0.0, x, target),
                                                          ((3, 3), 1, 0.5, small, target[:2])]:
            label = f"{name}(..., window={window}, stride={stride}, baseline={baseline})"
            got = _attribute(explainer, images, targets, name=label, window=window, stride=stride, baseline=baseline)
            expected = oracle.attribute(images, sliding_window_shapes=(images.shape[1], *window),
                                        strides=(1, stride, stride), baselines=baseline, target=targets,
                                        perturbations_per_eval=32)
            worst = max(worst, _close(got, expected, name=label, reference="captum's Occlusion with the same window"))
    passed(f"{name} matches captum's Occlusion for three windows, strides and baselines (largest difference {worst:.1e}).")


# --- class activation maps ----------------------------------------------------------------

def _cam_problems(seed: int):
    (shapes, xs, ts), (digits, xd, td) = _problems(seed)
    return [(shapes, shapes.relu4, xs, ts), (digits, digits.relu2, xd, td)]


def _cam(explainer, x, target, name: str) -> np.ndarray:
    return _attribute(explainer, x, target, name=name, shape=(len(x), 1, *x.shape[-2:]),
                      what="one map per image, upsampled to the input's height and width")


def GradCAM(cls) -> None:  # noqa: N802
    from captum.attr import LayerAttribution, LayerGradCam

    name = "GradCAM.attribute"
    with grading(name):
        worst = 0.0
        for model, layer, x, target in _cam_problems(9561):
            got = _cam(call(cls, model, layer, name="GradCAM"), x, target, name)
            raw = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
            expected = LayerAttribution.interpolate(raw, tuple(x.shape[-2:]), interpolate_mode="bilinear")
            worst = max(worst, _close(got, expected, name=name, reference="captum's LayerGradCam(relu_attributions=True) "
                                      "upsampled bilinearly"))
        # Known structure: with global average pooling and a linear layer, Grad-CAM is the CAM
        # relu(sum_k w_ck A_k) / (h w) of Zhou et al. (2016).
        model, layer, x, target = _cam_problems(9562)[0]
        with torch.no_grad():
            _, A = forward_with_activations(model, layer, x)
            cam = torch.einsum("nk,nkhw->nhw", model.fc.weight[target], A)[:, None] / (A.shape[-2] * A.shape[-1])
            cam = F.interpolate(torch.relu(cam), size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
        got = _cam(call(cls, model, layer, name="GradCAM"), x, target, name)
        _close(got, cam, name=name, reference="the class activation map of a global-average-pooling network")
    passed(f"{name} matches captum's LayerGradCam + bilinear upsampling on two CNNs and equals the CAM of a "
           f"GAP network (largest difference {worst:.1e}).")


def GradCAMPlusPlus(cls) -> None:  # noqa: N802
    name = "GradCAMPlusPlus.attribute"
    with grading(name):
        from pytorch_grad_cam import GradCAMPlusPlus as Reference
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        worst = 0.0
        for model, layer, x, target in _cam_problems(9571):
            got = _cam(call(cls, model, layer, name="GradCAMPlusPlus"), x, target, name)[:, 0]
            with Reference(model=model, target_layers=[layer]) as reference:
                expected = reference(input_tensor=x.clone(), targets=[ClassifierOutputTarget(int(t)) for t in target])
            if np.any(got.max(axis=(1, 2)) <= 0) and np.all(expected.max(axis=(1, 2)) > 0):
                raise CheckFailed(f"`{name}` returned an all-zero map where pytorch-grad-cam's Grad-CAM++ is not zero.")
            low = got.min(axis=(1, 2), keepdims=True)
            normalized = (got - low) / (1e-7 + got.max(axis=(1, 2), keepdims=True) - low)
            worst = max(worst, expect_close(normalized, expected, name=f"{name} (scaled to [0, 1])",
                                            reference="pytorch-grad-cam's GradCAMPlusPlus", rtol=0, atol=0.01))
    passed(f"{name} matches pytorch-grad-cam's Grad-CAM++ on two CNNs after min-max scaling "
           f"(largest difference {worst:.1e}, tolerance 0.01).")


# --- adversarial examples -----------------------------------------------------------------

def FGSM(cls) -> None:  # noqa: N802
    from captum.robust import FGSM as CaptumFGSM

    name = "FGSM.perturb"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (model, x, target), epsilon in zip(_problems(9581), (0.1, 0.03)):
            attack = call(cls, model, name="FGSM")
            given = x.clone()
            got = as_result(call(attack.perturb, given, target.clone(), epsilon=epsilon, name=name), name=name,
                            shape=tuple(x.shape), what="perturbed images shaped like the input", strict=False)
            unchanged(given.numpy(), x.numpy(), name)
            oracle = CaptumFGSM(model, loss_func=lambda out, y: F.cross_entropy(out, y, reduction="none"),
                                lower_bound=0.0, upper_bound=1.0)
            oracle.zero_thresh = 0.0  # perturb every pixel whose gradient is not exactly zero
            expected = oracle.perturb(x.clone(), epsilon, target)
            expect_close(got, expected.detach().numpy(), name=f"{name}(..., epsilon={epsilon})",
                         reference="captum's FGSM (cross-entropy, bounds [0, 1])", rtol=0, atol=1e-6)
    passed(f"{name} matches captum's robust.FGSM on two fresh CNNs.")


# --- evaluation ---------------------------------------------------------------------------

def _saliency_map(model, inputs, target):
    """The explanation the hidden test randomizes: captum's Saliency summed over channels."""
    from captum.attr import Saliency

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Saliency(model).attribute(inputs.clone(), target=target).sum(dim=1).numpy()


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
        model, x, target = _problems(9591)[0]
        state = copy.deepcopy(model.state_dict())
        layers = ["fc", "conv4", "conv3", "conv2", "conv1"]
        got = as_array(call(func, model, _saliency_map, x.clone(), target.clone(), layers=list(layers), seed=123,
                            name=name), name=name, shape=(len(layers), len(x)),
                       what="one row per randomized layer, one column per image")
        if any(not torch.equal(state[k], v) for k, v in model.state_dict().items()):
            raise CheckFailed(f"`{name}` changed the weights of the model it was given; randomize a deep copy.")
        expected = _reference_cascade(model, _saliency_map, x, target, layers, seed=123)
        worst = expect_close(got, expected, name=name, rtol=0, atol=1e-6,
                             reference="a cascading randomization (top layer first, one seed, Spearman correlation)")
    passed(f"{name} reproduces the cascading randomization of a fresh CNN (largest difference {worst:.1e}).")


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
                got = as_array(call(func, model, given, target.clone(), saliency.copy(), pixels_per_step=pixels_per_step,
                                    baseline=baseline, name=name), name=label, shape=(len(x), n_steps + 1),
                               what="one row per image, one column per step including the intact image")
                unchanged(given.numpy(), x.numpy(), name)
                expected = _reference_deletion(model, x, target, saliency, pixels_per_step, baseline)
                worst = max(worst, expect_close(got, expected, name=label, rtol=0, atol=1e-5,
                                                reference="a reference deletion curve"))
    passed(f"{name} matches a reference deletion curve on two CNNs, step sizes and baselines "
           f"(largest difference {worst:.1e}).")


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
        n, size = 40, 20
        yy, xx = np.mgrid[:size, :size]
        centres, radii = rng.uniform(4, 16, size=(n, 2)), rng.uniform(2, 5, size=n)
        masks = (yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2 <= radii[:, None, None] ** 2
        saliency = rng.normal(size=(n, size, size))
        for tolerance in (0, 2, 3.5):
            label = f"{name}(..., tolerance={tolerance})"
            given = saliency.copy()
            got = as_array(call(func, given, masks.copy(), tolerance=tolerance, name=name), name=label, shape=(n,),
                           what="one value (1 hit, 0 miss) per image")
            unchanged(given, saliency, name, what="maps")
            expected = _reference_pointing(saliency, masks, tolerance)
            expect_close(got, expected, name=label, rtol=0, atol=1e-9,
                         reference="the distance from each map's maximum to the nearest mask pixel")
    passed(f"{name} agrees with brute-force distances on {n} random maps and masks, for three tolerances.")


def relevance_mass(func) -> None:
    name = "relevance_mass"
    with grading(name):
        rng = np.random.default_rng(9621)
        saliency = rng.normal(size=(30, 12, 12)) + 0.2
        masks = rng.random((30, 12, 12)) < 0.3
        given = saliency.copy()
        got = as_array(call(func, given, masks.copy(), name=name), name=name, shape=(30,), what="one share per image")
        unchanged(given, saliency, name, what="maps")
        positive = np.clip(saliency, 0, None)
        expected = (positive * masks).sum(axis=(1, 2)) / positive.sum(axis=(1, 2))
        expect_close(got, expected, name=name, rtol=1e-9, atol=1e-12,
                     reference="the positive relevance inside the mask divided by all positive relevance")
    passed(f"{name} matches the relevance mass accuracy of Arras et al. on 30 random signed maps.")
