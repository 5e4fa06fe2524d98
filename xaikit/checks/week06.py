"""Visible checks of lab 6 (feature visualization, dataset examples, dissection, TCAV, neuron groups).

Each check runs the student's function on one tiny visible example whose answer is known by
construction, or compares it with a library that computes the reference inside the check:

- ``total_variation``: a checkerboard, a constant image, a ramp (closed forms) and NumPy's
  ``diff`` on a random non-square image;
- ``FourierParameterization``: the round trip, a constant image, the brightness of the
  zero frequency, low against high frequencies, and ``torch.fft`` with the lab's scale on a
  7 × 10 image with another decay;
- ``maximize_activation``: a "layer" that reads one pixel, so the pixels the optimiser moves
  show the shifts it drew, the channel it read and the size of Adam's first step; a sharp
  peak that the TV penalty must smooth away (or not, for a small ``tv_weight``); a tiny
  convolution whose channel must rise;
- ``top_k_examples``: images whose channel maxima and means are known, with ties;
- ``dissection_iou``: activations that copy the masks (IoU 1), a dead unit, an image without
  the concept, and a unit that fires at one position of a 4 × 4 map, whose bilinear
  upsampling to 8 × 8 covers a known footprint;
- ``train_cav``: scikit-learn's ``SGDClassifier`` with the lab's settings, concept rows first;
- ``tcav_score``: a linear model (the gradient is a weight row) and captum's layer gradients
  on a small CNN whose black images have a derivative of exactly 0;
- ``tcav_significance``: a ``train_cav`` handed in by the check, whose CAV for every pair of
  sets has a known score, compared with scipy's ``ttest_ind``;
- ``neuron_groups``: two known groups in their places, and scikit-learn's ``NMF``.

A failure says in one sentence which aspect is off, never the expected values. None of the
checks contains the method it checks in a form a student could call; the hidden tests compare
with captum, scikit-learn, scikit-image and reference runs on data the student never sees.

Ask for a hint with ``check.<name>.hint()``; ``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from . import CheckFailed, Summary, as_array, call, graded, install_not_written_handler, passed

__all__ = [
    "FourierParameterization",
    "dissection_iou",
    "hint",
    "maximize_activation",
    "neuron_groups",
    "summary",
    "tcav_score",
    "tcav_significance",
    "top_k_examples",
    "total_variation",
    "train_cav",
]


def _array(value, *, name: str, shape, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise CheckFailed(f"`{name}` returned a complex tensor; return real numbers (torch.view_as_real).")
        value = value.detach().cpu().numpy()
    return as_array(value, name=name, shape=shape, what=what)


def _unchanged(given, original, name: str, what: str = "input") -> None:
    same = torch.equal(given, original) if isinstance(given, torch.Tensor) else np.array_equal(given, original)
    if not same:
        raise CheckFailed(f"`{name}` modified the {what} it was given in place; work on a copy.")


def _same(a, b, tol: float) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max(initial=0)))))


# --- 1. feature visualization ------------------------------------------------------------------

@graded(answer="total_variation", part="1a", points=1,
        hint="lecture 6, §3 'Activation maximization' (total variation), and lab part 1a: ABSOLUTE differences (not "
             "squared) down the rows AND across the columns, only between neighbours inside the image (no wrap-around), "
             "SUMMED over channels and positions; one value per image, with torch operations so it stays differentiable.")
def total_variation(func) -> None:
    """Check ``total_variation(images)``: a checkerboard, a constant image, a ramp and a random image."""
    name = "total_variation"
    rows, cols = np.mgrid[:4, :6]
    checker = torch.tensor(((rows + cols) % 2).astype(np.float32)).expand(2, 4, 6)
    images = torch.stack([checker, torch.full((2, 4, 6), 0.3)]).clone().requires_grad_(True)
    before = images.detach().clone()
    out = call(func, images, name=name)
    got = _array(out, name=name, shape=(2,), what="one value per image")
    _unchanged(images.detach(), before, name, "images")
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise CheckFailed(f"`{name}` returned a result without a gradient; compute it with torch operations on the "
                          "images (no .detach(), no NumPy) so that the optimiser can use it.")
    if got[1] != 0:
        raise CheckFailed(f"`{name}` of a constant image is not 0; only differences between neighbours count.")
    pairs = 2 * (3 * 6 + 4 * 5)  # channels x (vertical + horizontal neighbour pairs), each differing by 1
    if np.isclose(got[0], pairs / (2 * 4 * 6)) or np.isclose(got[0], pairs / (2 * (3 * 6 + 4 * 5))):
        raise CheckFailed(f"`{name}` averages the differences; sum them over channels and positions.")
    if np.isclose(got[0], 2 * 3 * 6) or np.isclose(got[0], 2 * 4 * 5):
        raise CheckFailed(f"`{name}` counts only one direction; add the differences down the rows and across the columns.")
    if np.isclose(got[0], pairs + 2 * (4 + 6)) or np.isclose(got[0], pairs + 2 * 4) or np.isclose(got[0], pairs + 2 * 6):
        raise CheckFailed(f"`{name}` also compares the last row (or column) with the first, as torch.roll does; only "
                          "neighbours inside the image count.")
    if not np.isclose(got[0], pairs):
        raise CheckFailed(f"`{name}` of a 2 x 4 x 6 checkerboard of 0s and 1s should count 1 for every pair of "
                          "neighbours (down and across) in every channel: sum the differences, do not average them.")
    # a ramp: every difference down is 0.1, every difference across -0.2
    height, width, channels = 5, 7, 3
    ramp = torch.tensor(0.1 * np.mgrid[:height, :width][0] - 0.2 * np.mgrid[:height, :width][1]).expand(1, channels,
                                                                                                         height, width)
    value = float(_array(call(func, ramp.clone(), name=name), name=name, shape=(1,), what="one value per image")[0])
    down, across = channels * (height - 1) * width, channels * height * (width - 1)
    if np.isclose(value, 0.01 * down + 0.04 * across, rtol=1e-4):
        raise CheckFailed(f"`{name}` squares the differences; the total variation sums their absolute values.")
    if not np.isclose(value, 0.1 * down + 0.2 * across, rtol=1e-4):
        raise CheckFailed(f"`{name}` of a ramp (steps of 0.1 down, -0.2 across) is off; sum the absolute differences "
                          "of neighbours, down and across, over all channels and positions.")
    x = torch.tensor(np.random.default_rng(61).random((3, 2, 5, 7)))  # float64, not square
    got = _array(call(func, x.clone(), name=name), name=name, shape=(3,), what="one value per image")
    a = x.numpy()
    expected = np.abs(np.diff(a, axis=2)).sum(axis=(1, 2, 3)) + np.abs(np.diff(a, axis=3)).sum(axis=(1, 2, 3))
    if not _same(got, expected, 1e-5):
        raise CheckFailed(f"`{name}` differs from the sum of absolute neighbour differences (NumPy's diff) on random "
                          "2 x 5 x 7 images; sum per image over channels, rows and columns (dimensions 1, 2, 3).")
    passed(f"{name}: one value per image, 0 for a constant image, closed forms for a checkerboard and a ramp, NumPy's "
           "diff on random non-square images, differentiable.")


@graded(answer="FourierParameterization", part="1b", points=2,
        hint="lecture 6, §3 (a decorrelated parameterisation), and lab part 1b: scale = 1 / max(f, 1 / max(H, W)) ** decay "
             "with f_y = fftfreq(H) for the rows and f_x = rfftfreq(W) for the columns; norm='ortho' in BOTH transforms; "
             "multiply by the scale in to_image, divide in from_image.")
def FourierParameterization(cls) -> None:  # noqa: N802 - named after the class it checks
    """Check ``FourierParameterization(height, width, decay=1.0)``: round trip, brightness, scaling, torch.fft."""
    name = "FourierParameterization"
    height, width = 6, 8
    param = call(cls, height, width, name=name)
    image = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(1))
    before = image.clone()
    spectrum = call(param.from_image, image, name=f"{name}.from_image")
    got = _array(spectrum, name=f"{name}.from_image", shape=(2, 3, height, width // 2 + 1, 2),
                 what="(..., H, W // 2 + 1, 2): real and imaginary parts in the last axis")
    _unchanged(image, before, f"{name}.from_image", "image")
    back = _array(call(param.to_image, torch.as_tensor(got, dtype=torch.float32), name=f"{name}.to_image"),
                  name=f"{name}.to_image", shape=(2, 3, height, width), what="(..., H, W)")
    if not np.allclose(back, image.numpy(), atol=1e-5):
        raise CheckFailed(f"`{name}.to_image(from_image(x))` does not give back x; divide by the scale in from_image "
                          "and multiply in to_image, and use norm='ortho' in both transforms.")
    constant = _array(call(param.from_image, torch.full((height, width), 0.5), name=f"{name}.from_image"),
                      name=f"{name}.from_image", shape=(height, width // 2 + 1, 2), what="(H, W // 2 + 1, 2)")
    if np.abs(constant).sum() - np.abs(constant[0, 0]).sum() > 1e-5:
        raise CheckFailed(f"`{name}.from_image` of a constant image should have only the zero-frequency coefficient.")

    def unit_image(row: int, col: int) -> np.ndarray:
        unit = torch.zeros(height, width // 2 + 1, 2)
        unit[row, col, 0] = 1.0
        return _array(call(param.to_image, unit, name=f"{name}.to_image"), name=f"{name}.to_image",
                      shape=(height, width), what="(H, W)")

    amplitudes = [np.abs(unit_image(0, col)).max() for col in (1, 3)]  # a low and a high horizontal frequency
    if np.isclose(amplitudes[0], amplitudes[1]):
        raise CheckFailed(f"`{name}.to_image` gives the same amplitude to a low and a high frequency; multiply the "
                          "spectrum by the scale 1 / max(f, 1 / max(H, W)) ** decay.")
    if amplitudes[0] < amplitudes[1]:
        raise CheckFailed(f"`{name}.to_image` makes high frequencies stronger than low ones; the scale is "
                          "1 / max(f, 1 / max(H, W)) ** decay, largest at low frequencies.")
    # the zero frequency alone: a constant image of brightness scale(0) / sqrt(H W) with norm="ortho"
    flat = unit_image(0, 0)
    if np.ptp(flat) > 1e-5:
        raise CheckFailed(f"`{name}.to_image` of the zero-frequency coefficient alone is not a constant image.")
    zero_scale = max(height, width)  # f = 0 is clamped to 1 / max(H, W); decay = 1
    if np.isclose(flat.mean(), zero_scale / (height * width), rtol=1e-4):
        raise CheckFailed(f"`{name}.to_image` divides by H·W (torch.fft's default norm='backward'); use norm='ortho' in "
                          "irfft2 and rfft2, so that both transforms keep the image's energy.")
    if not np.isclose(flat.mean(), zero_scale / np.sqrt(height * width), rtol=1e-4):
        raise CheckFailed(f"`{name}.to_image` gives the zero frequency the wrong brightness; its frequency 0 is clamped to "
                          "1 / max(H, W) before the power -decay, and the transforms use norm='ortho'.")
    # torch.fft with the lab's scale on an odd, non-square size with another decay
    height, width, decay = 7, 10, 0.5
    param = call(cls, height, width, decay=decay, name=name)
    fy, fx = torch.fft.fftfreq(height)[:, None], torch.fft.rfftfreq(width)[None, :]
    scale = 1.0 / torch.clamp(torch.sqrt(fy ** 2 + fx ** 2), min=1.0 / max(height, width)) ** decay
    spectrum = torch.randn(2, height, width // 2 + 1, 2, generator=torch.Generator().manual_seed(2))
    label = f"{name}({height}, {width}, decay={decay}).to_image"
    got = _array(call(param.to_image, spectrum.clone(), name=label), name=label, shape=(2, height, width),
                 what="(..., H, W)")
    expected = torch.fft.irfft2(torch.view_as_complex(spectrum) * scale, s=(height, width), norm="ortho").numpy()
    if not _same(got, expected, 1e-4):
        unscaled = torch.fft.irfft2(torch.view_as_complex(spectrum) * scale ** (1 / decay), s=(height, width),
                                    norm="ortho").numpy()
        if _same(got, unscaled, 1e-4):
            raise CheckFailed(f"`{label}` ignores `decay`; raise max(f, 1 / max(H, W)) to the power decay.")
        raise CheckFailed(f"`{label}` differs from torch.fft.irfft2(spectrum · scale, s=(H, W), norm='ortho'); check the "
                          "scale's frequency f = sqrt(f_y² + f_x²), f_y = fftfreq(H) for the rows, f_x = rfftfreq(W) for the "
                          "columns.")
    image = torch.rand(height, width, generator=torch.Generator().manual_seed(3))
    label = f"{name}({height}, {width}, decay={decay}).from_image"
    got = _array(call(param.from_image, image.clone(), name=label), name=label, shape=(height, width // 2 + 1, 2),
                 what="(H, W // 2 + 1, 2)")
    if not _same(got, torch.view_as_real(torch.fft.rfft2(image, norm="ortho") / scale).numpy(), 1e-4):
        raise CheckFailed(f"`{label}` differs from torch.fft.rfft2(image, norm='ortho') divided by the scale.")
    passed(f"{name}: spectra of shape (..., H, W // 2 + 1, 2), the round trip gives the image back, low frequencies "
           "are scaled up, norm='ortho', and torch.fft with the lab's scale on a 7 x 10 image with decay 0.5.")


class _Identity:
    """The pixel parameterisation of the lab (its variables are the pixels)."""

    def to_image(self, pixels):
        return pixels

    def from_image(self, image):
        return image.clone()


class _Double:
    """A parameterisation whose image is twice its variables: an optimiser step on z moves the image's logit twice as far."""

    def to_image(self, z):
        return 2.0 * z

    def from_image(self, image):
        return image / 2.0


class _Mask(nn.Module):
    """A "layer" that multiplies the image by a fixed mask: its channel mean reads only the masked pixels."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, x):
        return x * self.mask


def _toy_detector() -> nn.Sequential:
    """One 3x3 convolution + ReLU on 2-channel images: channel 0 likes bright channel-0 pixels."""
    torch.manual_seed(21)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    with torch.no_grad():
        model[0].weight.normal_(0, 0.3)
        model[0].weight[0] = torch.tensor([1.0, -1.0])[:, None, None]
        model[0].bias.fill_(0.1)
    return model.eval()


@graded(answer="maximize_activation", part="1c", points=3,
        hint="lecture 6, §3 'Activation maximization', and lab part 1c: follow the recipe exactly: z = param.from_image("
             "logit(init)), x = sigmoid(param.to_image(z)); ONE torch.Generator().manual_seed(seed) for all shifts, "
             "torch.roll(x, (dy, dx), dims=(2, 3)) before the model; objective = the channel's MEAN - tv_weight · TV(x) / "
             "x.numel() of the UNSHIFTED x; Adam on the gradient of -objective.")
def maximize_activation(func) -> None:
    """Check ``maximize_activation(model, layer, channel, param, init, ...)`` with layers whose answer is known."""
    name = "maximize_activation"
    height, width = 6, 8
    init = torch.sigmoid(0.3 * torch.randn(1, 2, height, width, generator=torch.Generator().manual_seed(22)))
    logit0 = torch.logit(init).numpy()[0]

    def run(model, layer, channel, param=None, start=init, **settings):
        given = start.clone()
        state = {k: v.clone() for k, v in model.state_dict().items()}
        out = call(func, model, layer, channel, param or _Identity(), given, name=name, **settings)
        result = _array(out, name=name, shape=tuple(start.shape), what="one image shaped like the start image")
        _unchanged(given, start, name, "start image")
        if any(not torch.equal(state[k], v) for k, v in model.state_dict().items()):
            raise CheckFailed(f"`{name}` changed the model's weights; optimise only the image's variables z.")
        if result.min() <= 0 or result.max() >= 1:
            raise CheckFailed(f"`{name}` returned values outside (0, 1); the image is torch.sigmoid(param.to_image(z)).")
        return result

    def moved(result, start_logit=logit0):
        return np.log(result[0] / (1 - result[0])) - start_logit  # the change of each pixel's logit

    # a layer that reads one pixel per channel: channel 1 at (3, 4), channel 0 at (1, 1)
    mask = torch.zeros(2, height, width)
    mask[1, 3, 4] = mask[0, 1, 1] = 1.0
    watch = nn.Sequential(_Mask(mask)).eval()
    if not np.allclose(run(watch, watch[0], 1, steps=0, jitter=0), init.numpy(), atol=1e-5):
        raise CheckFailed(f"`{name}` with steps=0 should return the start image: start from "
                          "param.from_image(torch.logit(init)) and return torch.sigmoid(param.to_image(z)).")
    steps, lr, jitter, seed = 4, 0.1, 2, 5
    delta = moved(run(watch, watch[0], 1, steps=steps, lr=lr, jitter=jitter, tv_weight=0.0, seed=seed))
    if np.abs(delta[0]).max() > 1e-4:
        raise CheckFailed(f"`{name}` changes a channel the objective does not read; maximize the mean of "
                          "activations[:, channel] only.")
    changed = delta[1] > 1e-4
    if np.any(delta[1] < -1e-4) and not changed.any():
        raise CheckFailed(f"`{name}` lowers the channel's activation; step in the direction that increases the objective "
                          "(minimize its negative).")
    if not changed.any():
        raise CheckFailed(f"`{name}` does not change the image; take an Adam step on z with the gradient of -objective "
                          "at every step.")
    generator = torch.Generator().manual_seed(seed)
    shifts = [torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist() for _ in range(steps)]

    def pixels(sign: int, swap: bool = False) -> np.ndarray:
        where = np.zeros((height, width), dtype=bool)
        for dy, dx in shifts:
            dy, dx = (dx, dy) if swap else (dy, dx)
            where[(3 - sign * dy) % height, (4 - sign * dx) % width] = True
        return where

    if not np.array_equal(changed, pixels(1)):
        if changed.sum() == 1 and changed[3, 4]:
            raise CheckFailed(f"`{name}` ignores the jitter: shift the image by a random (dy, dx) with torch.roll "
                              "before every forward pass.")
        if np.array_equal(changed, pixels(-1)):
            raise CheckFailed(f"`{name}` shifts the image the wrong way: torch.roll(x, shifts=(dy, dx), dims=(2, 3)).")
        if np.array_equal(changed, pixels(1, swap=True)):
            raise CheckFailed(f"`{name}` shifts the rows by dx and the columns by dy: torch.roll(x, shifts=(dy, dx), "
                              "dims=(2, 3)).")
        raise CheckFailed(f"`{name}` shows the model other shifts than the recipe's: create ONE "
                          "torch.Generator().manual_seed(seed) before the loop and draw (dy, dx) = torch.randint(-jitter, "
                          "jitter + 1, (2,), generator=generator) at every step.")
    # one step without jitter: Adam moves z by lr at the pixel the layer reads (2 lr in the image's logit for _Double)
    first = moved(run(watch, watch[0], 1, steps=1, lr=lr, jitter=0, seed=seed))[1, 3, 4]
    if not np.isclose(first, lr, rtol=1e-3):
        raise CheckFailed(f"`{name}`: the first step does not move the variable by lr, as Adam's first step does; use "
                          "torch.optim.Adam([z], lr=lr) with z.grad set to the gradient of -objective.")
    doubled = moved(run(watch, watch[0], 1, param=_Double(), steps=1, lr=lr, jitter=0, seed=seed))[1, 3, 4]
    if not np.isclose(doubled, 2 * lr, rtol=1e-3):
        raise CheckFailed(f"`{name}` does not optimise through `param`: z = param.from_image(torch.logit(init)) is "
                          "the variable, and the image is torch.sigmoid(param.to_image(z)).")
    # a sharp peak in both channels of a grey image; the "layer" is the image itself
    peak = torch.full((1, 2, height, width), 0.5)
    peak[0, :, 2, 3] = 0.8
    plain = nn.Sequential(_Mask(torch.ones(2, height, width))).eval()
    for tv_weight in (1.0, 0.25):
        change = moved(run(plain, plain[0], 1, start=peak, steps=1, lr=lr, jitter=0, tv_weight=tv_weight),
                       torch.logit(peak).numpy()[0])
        if change[0, 2, 3] > -lr / 2:
            raise CheckFailed(f"`{name}` with tv_weight > 0 makes a sharp peak sharper, not smoother; subtract "
                              "tv_weight * TV(x) / x.numel() from the objective.")
        if tv_weight == 1.0 and change[1, 2, 3] > -lr / 2:
            raise CheckFailed(f"`{name}` with tv_weight=1 lets the channel's activation outweigh the TV penalty on a sharp "
                              "peak; the objective is the channel's MEAN activation (not its sum) - tv_weight * TV(x) / "
                              "x.numel().")
        if tv_weight == 0.25 and change[1, 2, 3] < lr / 2:
            raise CheckFailed(f"`{name}` with tv_weight=0.25 lets the TV penalty outweigh the channel's activation; divide "
                              "TV(x) by x.numel(), the number of values of the whole image.")
    # a tiny convolution: 20 steps must raise the channel's mean activation
    model = _toy_detector()
    start = torch.sigmoid(0.2 * torch.randn(1, 2, 8, 9, generator=torch.Generator().manual_seed(23)))
    result = run(model, model[1], 0, start=start, steps=20, lr=0.1, jitter=1, seed=0)
    with torch.no_grad():
        start_value = float(model(start)[0, 0].mean())
        value = float(model(torch.as_tensor(result, dtype=torch.float32))[0, 0].mean())
    if value < start_value + 0.5:
        raise CheckFailed(f"`{name}` hardly raises a convolution channel's mean activation in 20 steps; take an Adam "
                          "step on z with the gradient of -objective each time.")
    passed(f"{name}: steps=0 returns the start, the recipe's shifts and channel, Adam's step through `param`, a TV "
           f"penalty per pixel value against the channel's mean, and a rising activation ({start_value:.2f} -> "
           f"{value:.2f}).")


# --- 2. dataset examples -----------------------------------------------------------------------

@graded(answer="top_k_examples", part="2", points=2,
        hint="lecture 6, §5 'Dataset examples', and lab part 2: score each image by the max (or mean) of activations[:, "
             "channel] over its positions, in batches without gradients; the k highest first, ties by the LOWER index "
             "(np.argsort(-scores, kind='stable')), and return their scores too.")
def top_k_examples(func) -> None:
    """Check ``top_k_examples(model, layer, images, channel, k, reduce=..., batch_size=...)`` on known maxima."""
    name = "top_k_examples"
    model = nn.Sequential(nn.ReLU())  # the "layer" shows the images themselves
    images = torch.zeros(7, 2, 3, 3)
    peaks = [0.2, 0.9, 0.0, 0.5, 0.9, 0.1, 0.0]  # channel 1's maximum of each image
    for i, peak in enumerate(peaks):
        images[i, 1, i % 3, (2 * i) % 3] = peak
        images[i, 0] = 1.0 - i / 10  # channel 0 ranks the images in index order
    images[6, 1] = 0.15  # image 6: a low maximum but the highest mean
    before = images.clone()
    out = call(func, model, model[0], images, 1, 4, reduce="max", batch_size=3, name=name)
    _unchanged(images, before, name, "images")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"`{name}` should return two arrays, (indices, scores).")
    indices = as_array(out[0], name=name, shape=(4,), what="the indices of the k best images")
    scores = as_array(out[1], name=name, shape=(4,), what="their scores")
    maxima = np.array(peaks[:6] + [0.15])
    if not np.all(np.isin(indices, np.arange(len(images)))):
        raise CheckFailed(f"`{name}` should return the indices of images, whole numbers from 0 to N - 1.")
    if indices.tolist() == [0, 1, 2, 3]:
        raise CheckFailed(f"`{name}` ranks by the wrong channel; read activations[:, channel].")
    chosen = maxima[indices.astype(int)]
    if np.all(np.diff(chosen) >= 0) and chosen[0] < chosen[-1]:
        raise CheckFailed(f"`{name}` returns the lowest scores first; sort by decreasing score.")
    best = np.argsort(-maxima, kind="stable")[:4]
    if indices.tolist() != best.tolist():
        if sorted(indices.tolist()) == sorted(best.tolist()):
            raise CheckFailed(f"`{name}` orders two images with the same score the wrong way; ties go to the lower "
                              "index first (np.argsort(-scores, kind='stable')).")
        raise CheckFailed(f"`{name}` with reduce='max' does not pick the images with the highest maximum of the channel's "
                          "map; score every image (all batches) by the maximum over its positions.")
    if not np.allclose(scores, maxima[best]):
        raise CheckFailed(f"`{name}` returns the right images but not their scores (the maximum of the channel's map).")
    mean_indices = as_array(call(func, model, model[0], images, 1, 1, reduce="mean", name=name)[0], name=name,
                            shape=(1,), what="one index")
    if mean_indices.tolist() != [6]:
        raise CheckFailed(f"`{name}` with reduce='mean' should score each image by the mean of the channel's map.")
    passed(f"{name}: (indices, scores) of the k best images, highest first, ties by index, max and mean.")


# --- 3. network dissection ---------------------------------------------------------------------

@graded(answer="dissection_iou", part="3", points=3,
        hint="lecture 6, §6 'Network dissection', and lab part 3: the threshold is the quantile 1 - top of the unit's RAW "
             "activations over ALL images and positions; THEN upsample bilinearly (align_corners=False) and keep values "
             "> threshold; sum intersections and unions over the whole data set before dividing.")
def dissection_iou(func) -> None:
    """Check ``dissection_iou(activations, masks, top=...)`` with activations that copy the masks and a known footprint."""
    name = "dissection_iou"
    rng = np.random.default_rng(31)
    masks = np.zeros((7, 4, 8, 8), dtype=bool)  # 3 units, 4 concepts: rows and columns cannot be swapped unnoticed
    for i in range(6):  # concept 0: a square of 2, 3 or 4 pixels a side; concept 1: the rest
        side = 2 + i % 3
        top, left = rng.integers(0, 9 - side, size=2)
        masks[i, 0, top:top + side, left:left + side] = True
    masks[:, 1] = ~masks[:, 0]  # image 6 has no concept 0 at all
    masks[:, 2, :4] = True  # the top half
    masks[:, 3, :, :4] = True  # the left half
    activations = np.stack([masks[:, 0] * (1 + rng.random((7, 8, 8))), masks[:, 1] * (1 + rng.random((7, 8, 8))),
                            np.zeros((7, 8, 8))], axis=1)  # unit 0 = concept 0, unit 1 = concept 1, unit 2 dead
    given_a, given_m = activations.copy(), masks.copy()
    area = masks[:, 0].mean()
    iou = as_array(call(func, given_a, given_m, top=area, name=name), name=name, shape=(3, 4),
                   what="one IoU per unit (row) and concept (column)")
    _unchanged(given_a, activations, name, "activations")
    _unchanged(given_m, masks, name, "masks")
    if np.any(iou < 0) or np.any(iou > 1):
        raise CheckFailed(f"`{name}` returned values outside [0, 1]; the IoU is intersection / union.")
    if iou[2].max() > 0:
        raise CheckFailed(f"`{name}` gives a dead unit (all activations 0) an IoU above 0; a unit is on where its "
                          "activation is strictly greater than its threshold.")
    if np.isclose(iou[0, 0], 6 / 7, atol=0.02):
        raise CheckFailed(f"`{name}` averages per-image IoUs (an image without the concept counts as 0); sum the "
                          "intersections and the unions over all images first, then divide.")
    if not np.isclose(iou[0, 0], 1.0, atol=0.02):
        raise CheckFailed(f"`{name}`: a unit whose activations are positive exactly on a concept's pixels, with `top` "
                          "equal to that concept's share of the pixels, should have an IoU of 1 with it; the threshold is "
                          "the quantile 1 - top of the unit's activations over ALL images and positions.")
    if iou[0, 1] > 0.01:
        raise CheckFailed(f"`{name}`: a unit that is never on where a concept is should get IoU 0 with it.")
    # a unit that fires at one position of a 4 x 4 map; bilinear upsampling to 8 x 8 lifts the 4 x 4 block around it
    # (weights 3/4 and 1/4 per axis) to 0.5625 (2 x 2 core), 0.1875 (its 8 edge neighbours) and 0.0625 (4 corners).
    # The raw activations' quantile 1 - 0.0615 is 0.1255 (between 1/16 and 3/16): the unit is on at core + edges.
    hot = np.zeros((4, 1, 4, 4))
    footprint = np.zeros((4, 2, 8, 8), dtype=bool)
    for i, (r, c) in enumerate([(1, 1), (2, 1), (1, 2), (2, 2)]):
        hot[i, 0, r, c] = 1.0
        footprint[i, 0, 2 * r - 1:2 * r + 3, 2 * c - 1:2 * c + 3] = True
        footprint[i, 0, [2 * r - 1, 2 * r - 1, 2 * r + 2, 2 * r + 2], [2 * c - 1, 2 * c + 2, 2 * c - 1, 2 * c + 2]] = False
        footprint[i, 1, 2 * r:2 * r + 2, 2 * c:2 * c + 2] = True  # the 2 x 2 core alone
    small = as_array(call(func, hot.copy(), footprint.copy(), top=0.0615, name=name), name=name, shape=(1, 2),
                     what="one IoU per unit and concept, after upsampling the activations to the masks' size")
    if not np.isclose(small[0, 0], 1.0, atol=1e-6):
        raise CheckFailed(f"`{name}` with 4 x 4 activations and 8 x 8 masks marks the wrong pixels as on: take each "
                          "unit's threshold from its raw activations, then upsample them bilinearly "
                          "(F.interpolate(..., mode='bilinear', align_corners=False)) and keep the values above it.")
    passed(f"{name}: IoU 1 for a unit that copies its concept (also across images without it), 0 for a dead unit, "
           "the raw threshold and bilinear upsampling across resolutions.")


# --- 4. TCAV ------------------------------------------------------------------------------------

@graded(answer="train_cav", part="4a", points=2,
        hint="lecture 6, §7 'Concepts with TCAV', and lab part 4a: flatten each example, stack the CONCEPT rows first, "
             "labels 1 (concept) and 0 (random), SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, "
             "random_state=random_state), then coef_[0] divided by its norm.")
def train_cav(func) -> None:
    """Check ``train_cav(concept_activations, random_activations, random_state=0)`` against scikit-learn."""
    from sklearn.linear_model import SGDClassifier

    name = "train_cav"
    rng = np.random.default_rng(41)
    concept = rng.normal(size=(20, 2, 2, 2)) + 2.0
    rand = rng.normal(size=(25, 2, 2, 2))
    given, given_r = concept.copy(), rand.copy()
    cav = as_array(call(func, given, given_r, name=name), name=name, shape=(8,),
                   what="one value per flattened activation (2 x 2 x 2 = 8)")
    _unchanged(given, concept, name, "concept activations")
    _unchanged(given_r, rand, name, "random activations")
    if not np.isclose(np.linalg.norm(cav), 1.0, atol=1e-6):
        raise CheckFailed(f"`{name}` returned a vector that does not have length 1; divide by its norm.")
    towards = (concept.mean(axis=0) - rand.mean(axis=0)).ravel()
    if cav @ towards < 0:
        raise CheckFailed(f"`{name}` points away from the concept; label the concept examples 1 and the random ones 0.")

    def sgd(first, second, labels, random_state):
        X = np.concatenate([first.reshape(len(first), -1), second.reshape(len(second), -1)])
        y = np.concatenate([np.full(len(first), labels[0]), np.full(len(second), labels[1])])
        coef = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state).fit(X, y).coef_[0]
        return coef / np.linalg.norm(coef)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for random_state in (0, 3):
            got = cav if random_state == 0 else as_array(call(func, concept.copy(), rand.copy(), random_state=3,
                                                              name=name), name=name, shape=(8,), what="the CAV")
            if _same(got, sgd(concept, rand, (1, 0), random_state), 1e-6):
                continue
            if _same(got, sgd(rand, concept, (0, 1), random_state), 1e-6):
                raise CheckFailed(f"`{name}` stacks the random rows first; SGD visits the rows in order, so the lab's "
                                  "recipe puts the concept rows first.")
            if random_state and _same(got, sgd(concept, rand, (1, 0), 0), 1e-6):
                raise CheckFailed(f"`{name}` ignores `random_state`; pass it to SGDClassifier.")
            raise CheckFailed(f"`{name}` differs from the normalized coefficients of SGDClassifier(alpha=0.01, "
                              "max_iter=1000, tol=1e-3, random_state=random_state) fitted on the concept rows, then the "
                              f"random rows (random_state={random_state}).")
    passed(f"{name}: a unit vector towards the concept, equal to scikit-learn's SGDClassifier with the lab's settings "
           "for two random states.")


def _linear_problem():
    """1x1 convolution -> Flatten -> Linear: the gradient of class k at the Flatten layer is the weight row k."""
    torch.manual_seed(42)
    model = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Flatten(), nn.Linear(12, 3))
    return model.eval(), torch.rand(5, 3, 2, 2, generator=torch.Generator().manual_seed(43))


def _zero_gradient_problem():
    """Conv - ReLU - pooling - linear with a negative bias: black images get exactly zero layer gradients."""
    torch.manual_seed(44)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(4, 3))
    nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")
    with torch.no_grad():
        model[0].bias.fill_(-0.3)
    inputs = torch.cat([torch.rand(5, 2, 5, 6, generator=torch.Generator().manual_seed(45)), torch.zeros(2, 2, 5, 6)])
    return model.eval(), inputs


@graded(answer="tcav_score", part="4b", points=2,
        hint="lecture 6, §7 'Concepts with TCAV', and lab part 4b: the gradient of the class LOGIT (not a probability) "
             "with respect to the layer's activations, flattened per input, dotted with the CAV; the score is the share "
             "of STRICTLY positive derivatives.")
def tcav_score(func) -> None:
    """Check ``tcav_score(model, layer, inputs, target, cav)`` on a linear model and against captum's layer gradients."""
    from captum.attr import LayerGradientXActivation

    name = "tcav_score"
    model, inputs = _linear_problem()
    weight = model[2].weight.detach()[2].numpy().astype(float)
    with torch.no_grad():
        activations = model[1](model[0](inputs)).numpy()
    before = inputs.clone()
    out = call(func, model, model[1], inputs, 2, weight / np.linalg.norm(weight), name=name)
    _unchanged(inputs, before, name, "inputs")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"`{name}` should return two values, (score, derivatives).")
    score = float(as_array(out[0], name=name, shape=(), what="one number, the share of positive derivatives"))
    derivatives = as_array(out[1], name=name, shape=(5,), what="one directional derivative per input")
    if np.allclose(derivatives, activations @ (weight / np.linalg.norm(weight))):
        raise CheckFailed(f"`{name}` dots the activations with the CAV; use the gradient of the class output with "
                          "respect to the layer's activations.")
    if not np.allclose(derivatives, np.linalg.norm(weight), rtol=1e-4):
        raise CheckFailed(f"`{name}`: for a linear model the gradient of class 2's logit with respect to the layer is its "
                          "weight row, the same for every input; differentiate the target's logit (not a probability) "
                          "with respect to the layer's activations and dot it with the CAV.")
    if score != 1.0:
        raise CheckFailed(f"`{name}` should return the share of inputs with a positive derivative, as a number in [0, 1].")
    flipped = call(func, model, model[1], inputs, 2, -weight / np.linalg.norm(weight), name=name)
    if float(as_array(flipped[0], name=name, shape=(), what="one number")) != 0.0:
        raise CheckFailed(f"`{name}` with the opposite CAV should give the score 0.")
    # captum's layer gradients on a small CNN; two black images have a derivative of exactly 0
    model, inputs = _zero_gradient_problem()
    cav = np.random.default_rng(46).normal(size=4 * 5 * 6)
    out = call(func, model, model[0], inputs.clone(), 1, cav.copy(), name=name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradients = LayerGradientXActivation(model, model[0], multiply_by_inputs=False).attribute(inputs, target=1)
    expected = gradients.reshape(len(inputs), -1).double().numpy() @ cav
    derivatives = as_array(out[1], name=name, shape=(len(inputs),), what="one directional derivative per input")
    if not _same(derivatives, expected, 1e-4):
        raise CheckFailed(f"`{name}` differs from captum's layer gradients (LayerGradientXActivation with "
                          "multiply_by_inputs=False) dotted with the CAV on a small CNN, at a layer followed by a ReLU.")
    score = float(as_array(out[0], name=name, shape=(), what="one number"))
    if np.isclose(score, np.mean(expected >= 0)) and not np.isclose(score, np.mean(expected > 0)):
        raise CheckFailed(f"`{name}` counts a directional derivative of exactly 0 (a black image) as positive; only "
                          "strictly positive derivatives count.")
    if not np.isclose(score, np.mean(expected > 0)):
        raise CheckFailed(f"`{name}` returns a score that is not the share of its strictly positive derivatives.")
    passed(f"{name}: the weight row of a linear model, captum's layer gradients on a small CNN, scores 1 and 0 for "
           "opposite CAVs, and only strictly positive derivatives count.")


@graded(answer="tcav_significance", part="4c", points=2,
        hint="lecture 6, §7 'Concepts with TCAV', and lab part 4c: run i scores train_cav(concept_sets[i], random_sets[i]) "
             "and train_cav(random_sets[i], random_sets[(i + 1) % R]) by the share of gradients @ cav > 0; "
             "scipy.stats.ttest_ind with EQUAL variances, two-sided; a NaN p-value counts as 1; significant = p < alpha.")
def tcav_significance(func) -> None:
    """Check ``tcav_significance(concept_sets, random_sets, gradients, train_cav=..., alpha=0.05)``.

    The check hands in its own ``train_cav``: every set is filled with its id, and the CAV of a
    pair of sets is a column of the gradients' space whose sign count is known by construction.
    """
    from scipy.stats import ttest_ind

    name = "tcav_significance"
    runs = 5
    concept_scores = [0.8, 0.9, 0.9, 1.0, 0.9]  # concept_sets[i] against random_sets[i]
    random_scores = [0.1, 0.7, 0.3, 0.6, 0.2]  # random_sets[i] against random_sets[(i + 1) % runs]
    other = 0.5  # any other pair of sets
    wanted = concept_scores + random_scores + [other]
    gradients = -np.ones((10, len(wanted)))
    for column, share in enumerate(wanted):
        gradients[:round(10 * share), column] = 1.0  # the sign count of column `column` is `share`
    dim = len(wanted)  # the CAVs live in the gradients' space
    concept_sets = [np.full((3, dim), 100.0 + i) for i in range(runs)]
    random_sets = [np.full((3, dim), 200.0 + i) for i in range(runs)]
    pairs = {(100 + i, 200 + i): i for i in range(runs)}
    pairs.update({(200 + i, 200 + (i + 1) % runs): runs + i for i in range(runs)})

    def known_cav(a, b, *, random_state=0):
        column = pairs.get((round(float(np.ravel(a)[0])), round(float(np.ravel(b)[0]))), len(wanted) - 1)
        return np.eye(len(wanted))[column]

    def constant_cav(a, b, *, random_state=0):
        return np.eye(len(wanted))[len(wanted) - 1]

    def result(train_cav, alpha):
        out = call(func, [c.copy() for c in concept_sets], [r.copy() for r in random_sets], gradients.copy(),
                   train_cav=train_cav, alpha=alpha, name=name)
        if not isinstance(out, dict) or not {"concept_scores", "random_scores", "p_value", "significant"} <= set(out):
            raise CheckFailed(f"`{name}` should return a dict with the keys 'concept_scores', 'random_scores', 'p_value' "
                              "and 'significant'.")
        if not isinstance(out["significant"], (bool, np.bool_)):
            raise CheckFailed(f"`{name}`: 'significant' should be True or False (p_value < alpha).")
        return out

    out = result(known_cav, 0.05)
    concept = as_array(out["concept_scores"], name=name, shape=(runs,), what="one concept score per run")
    rand = as_array(out["random_scores"], name=name, shape=(runs,), what="one random score per run")
    if np.any((concept < 0) | (concept > 1)) or np.any((rand < 0) | (rand > 1)):
        raise CheckFailed(f"`{name}`: TCAV scores are shares of inputs, between 0 and 1.")
    if not np.allclose(concept, concept_scores):
        raise CheckFailed(f"`{name}`: the concept score of run i is the share of gradients with a positive dot product "
                          "with train_cav(concept_sets[i], random_sets[i]) (in that order).")
    if not np.allclose(rand, random_scores):
        raise CheckFailed(f"`{name}`: the random score of run i is the share of gradients with a positive dot product "
                          "with train_cav(random_sets[i], random_sets[(i + 1) % R]).")
    p_value = float(as_array(out["p_value"], name=name, shape=(), what="one p-value"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tests = {"student": ttest_ind(concept_scores, random_scores).pvalue,
                 "welch": ttest_ind(concept_scores, random_scores, equal_var=False).pvalue,
                 "greater": ttest_ind(concept_scores, random_scores, alternative="greater").pvalue}
    if not np.isclose(p_value, tests["student"], rtol=1e-6):
        if np.isclose(p_value, tests["welch"], rtol=1e-6):
            raise CheckFailed(f"`{name}` uses Welch's t-test (equal_var=False); the lab's test assumes equal variances, "
                              "ttest_ind's default.")
        if np.isclose(p_value, tests["greater"], rtol=1e-6):
            raise CheckFailed(f"`{name}` uses a one-sided test; the lab's t-test is two-sided, ttest_ind's default.")
        raise CheckFailed(f"`{name}` returns a p-value that is not scipy.stats.ttest_ind(concept_scores, random_scores)'s "
                          "(a two-sample t-test of the concept scores against the random scores).")
    if not bool(out["significant"]):
        raise CheckFailed(f"`{name}` calls a small p-value not significant; significant means p_value < alpha.")
    if bool(result(known_cav, 0.0)["significant"]):
        raise CheckFailed(f"`{name}` calls a result significant with alpha = 0; significant means p_value < alpha.")
    flat = result(constant_cav, 0.5)  # every score is the same: the t-test gives NaN
    p_flat = float(as_array(flat["p_value"], name=name, shape=(), what="one p-value", allow_nan=True))
    if np.isnan(p_flat) or bool(flat["significant"]):
        raise CheckFailed(f"`{name}`: when all scores are equal, ttest_ind returns a NaN p-value, which counts as 1 "
                          "(not significant).")
    if p_flat != 1.0:
        raise CheckFailed(f"`{name}`: a NaN p-value from ttest_ind (all scores equal) should be returned as 1.")
    passed(f"{name}: R concept and random scores paired as in the recipe, scipy's two-sample t-test with equal variances, "
           "significance as p < alpha, and a NaN p-value counted as 1.")


# --- 5. neuron groups ---------------------------------------------------------------------------

@graded(answer="neuron_groups", part="5", points=2,
        hint="lecture 6, §8 'Neuron groups (Building Blocks)', and lab part 5: move the channels LAST before reshaping to "
             "(N·h·w, C); NMF(n_components=n_groups, init='nndsvda', max_iter=500, random_state=random_state); maps = "
             "fit_transform reshaped to (N, h, w, G), then groups moved to axis 1; groups = components_.")
def neuron_groups(func) -> None:
    """Check ``neuron_groups(activations, n_groups, random_state=0)`` on two known groups and against scikit-learn's NMF."""
    from sklearn.decomposition import NMF

    name = "neuron_groups"
    maps = np.zeros((2, 2, 3, 4))
    maps[:, 0, :, :2] = 1.0  # group A on the left half of each image
    maps[:, 1, :, 2:] = 1.0  # group B on the right half
    maps[1] *= 2.0
    groups = np.array([[1.0, 1.0, 0.0, 0.0, 0.5], [0.0, 0.0, 1.0, 1.0, 0.0]])
    activations = np.einsum("ngyx,gc->ncyx", maps, groups)
    given = activations.copy()
    out = call(func, given, 2, name=name)
    _unchanged(given, activations, name, "activations")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"`{name}` should return two arrays, (maps, groups).")
    got_maps = as_array(out[0], name=name, shape=(2, 2, 3, 4), what="(N, n_groups, h, w)")
    got_groups = as_array(out[1], name=name, shape=(2, 5), what="(n_groups, C)")
    if got_maps.min() < 0 or got_groups.min() < 0:
        raise CheckFailed(f"`{name}` returned negative values; NMF's factors are non-negative.")
    error = np.linalg.norm(np.einsum("ngyx,gc->ncyx", got_maps, got_groups) - activations) / np.linalg.norm(activations)
    if error > 0.05:
        raise CheckFailed(f"`{name}`: maps x groups should rebuild activations made of exactly two groups; put the "
                          "channels last before reshaping to (N * h * w, C), and reshape the weights back the same way.")
    left = got_maps[:, :, :, :2].sum(axis=(0, 2, 3))
    if not np.all(np.sort(left / got_maps.sum(axis=(0, 2, 3))) > [-1e-9, 0.95]):
        raise CheckFailed(f"`{name}`: one group should cover exactly the left half of the images; the maps are in the "
                          "wrong layout (reshape the weights to (N, h, w, n_groups), then move the groups forward).")
    # scikit-learn's NMF with the lab's settings on activations that are not exactly of low rank
    rng = np.random.default_rng(51)
    activations = np.maximum(rng.normal(size=(3, 5, 4, 6)), 0)
    n, channels, h, w = activations.shape
    out = call(func, activations.copy(), 3, random_state=2, name=name)
    got_maps = as_array(out[0], name=name, shape=(n, 3, h, w), what="(N, n_groups, h, w)")
    got_groups = as_array(out[1], name=name, shape=(3, channels), what="(n_groups, C)")
    rows = activations.transpose(0, 2, 3, 1).reshape(-1, channels)

    def nmf(**settings):
        model = NMF(n_components=3, max_iter=500, random_state=2, **settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            weights = model.fit_transform(rows)
        return weights.reshape(n, h, w, 3).transpose(0, 3, 1, 2), model.components_

    expected_maps, expected_groups = nmf(init="nndsvda")
    if not (_same(got_maps, expected_maps, 1e-5) and _same(got_groups, expected_groups, 1e-5)):
        random_maps, random_groups = nmf(init="random")
        if _same(got_maps, random_maps, 1e-5) and _same(got_groups, random_groups, 1e-5):
            raise CheckFailed(f"`{name}` starts NMF from a random initialisation; the lab's recipe uses init='nndsvda' "
                              "(deterministic, so the groups can be compared).")
        raise CheckFailed(f"`{name}` differs from scikit-learn's NMF(n_components=n_groups, init='nndsvda', max_iter=500, "
                          "random_state=random_state) on 3 x 5 x 4 x 6 random activations (fit_transform gives the maps, "
                          "components_ the groups).")
    passed(f"{name}: maps (N, G, h, w) and groups (G, C), non-negative, two known groups in their places, and "
           "scikit-learn's NMF with the lab's settings.")


summary = Summary("Lab 6", total_variation, FourierParameterization, maximize_activation, top_k_examples,
                  dissection_iou, train_cav, tcav_score, tcav_significance, neuron_groups, written_points=8)
hint = summary.hint
install_not_written_handler(summary)
