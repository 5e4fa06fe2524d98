"""Visible checks of lab 6 (feature visualization, dataset examples, dissection, TCAV, neuron groups).

Each check runs the student's function on a tiny problem whose answer is known by
construction (a checkerboard, a constant image, a linear model, activations equal to the
masks, an exactly low-rank matrix ...) and reports shape, type, NaN, modified inputs and the
common mistakes in one sentence. They never contain the method they check; the hidden tests
compare with captum, scikit-learn, scikit-image and reference runs on data the student never sees.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import CheckFailed, as_array, call, passed

__all__ = [
    "FourierParameterization",
    "dissection_iou",
    "maximize_activation",
    "neuron_groups",
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


# --- 1. feature visualization ------------------------------------------------------------------

def total_variation(func) -> None:
    """Check ``total_variation(images)`` on a checkerboard, a constant image and a random image."""
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
        raise CheckFailed(f"`{name}` of a constant image should be 0, got {got[1]:.3g}.")
    pairs = 2 * (3 * 6 + 4 * 5)  # channels x (vertical + horizontal neighbour pairs), each differing by 1
    if np.isclose(got[0], pairs / (2 * 4 * 6)) or np.isclose(got[0], pairs / (2 * (3 * 6 + 4 * 5))):
        raise CheckFailed(f"`{name}` averages the differences; sum them over channels and positions.")
    if np.isclose(got[0], 2 * 3 * 6) or np.isclose(got[0], 2 * 4 * 5):
        raise CheckFailed(f"`{name}` counts only one direction; add the differences down the rows and across the columns.")
    if not np.isclose(got[0], pairs):
        raise CheckFailed(f"`{name}` of a 2 x 4 x 6 checkerboard of 0s and 1s should be {pairs} (one per neighbour pair "
                          f"and channel), got {got[0]:.4g}.")
    passed(f"{name}: one value per image, 0 for a constant image, {pairs} for a checkerboard, differentiable.")


def FourierParameterization(cls) -> None:  # noqa: N802 - named after the class it checks
    """Check ``FourierParameterization(height, width, decay=1.0)``: shapes, round trip, scaling."""
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
    amplitudes = []
    for row, col in [(0, 1), (0, 3)]:  # a low and a high horizontal frequency, one unit coefficient each
        unit = torch.zeros(height, width // 2 + 1, 2)
        unit[row, col, 0] = 1.0
        amplitudes.append(np.abs(_array(call(param.to_image, unit, name=f"{name}.to_image"), name=f"{name}.to_image",
                                        shape=(height, width), what="(H, W)")).max())
    if np.isclose(amplitudes[0], amplitudes[1]):
        raise CheckFailed(f"`{name}.to_image` gives the same amplitude to a low and a high frequency; multiply the "
                          "spectrum by the scale 1 / max(f, 1 / max(H, W)) ** decay.")
    if amplitudes[0] < amplitudes[1]:
        raise CheckFailed(f"`{name}.to_image` makes high frequencies stronger than low ones; the scale is "
                          "1 / max(f, 1 / max(H, W)) ** decay, largest at low frequencies.")
    passed(f"{name}: spectra of shape {got.shape}, the round trip gives the image back, low frequencies are scaled up.")


class _Identity:
    def to_image(self, pixels):
        return pixels

    def from_image(self, image):
        return image.clone()


def _toy_detector() -> nn.Sequential:
    """One 3x3 convolution + ReLU on 2-channel images: channel 0 likes bright channel-0 pixels."""
    torch.manual_seed(21)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    with torch.no_grad():
        model[0].weight.normal_(0, 0.3)
        model[0].weight[0] = torch.tensor([1.0, -1.0])[:, None, None]
        model[0].bias.fill_(0.1)
    return model.eval()


def maximize_activation(func) -> None:
    """Check ``maximize_activation(model, layer, channel, param, init, ...)`` on a tiny convolution."""
    name = "maximize_activation"
    model = _toy_detector()
    init = torch.sigmoid(0.2 * torch.randn(1, 2, 8, 9, generator=torch.Generator().manual_seed(22)))
    before = init.clone()

    def run(**settings):
        out = call(func, model, model[1], 0, _Identity(), init, name=name, **settings)
        return _array(out, name=name, shape=tuple(init.shape), what="one image shaped like the start image")

    unchanged = run(steps=0, jitter=0)
    _unchanged(init, before, name, "start image")
    if not np.allclose(unchanged, init.numpy(), atol=1e-5):
        raise CheckFailed(f"`{name}` with steps=0 should return the start image: start from "
                          "param.from_image(torch.logit(init)) and return torch.sigmoid(param.to_image(z)).")
    result = run(steps=20, lr=0.1, jitter=1, seed=0)
    if result.min() <= 0 or result.max() >= 1:
        raise CheckFailed(f"`{name}` returned values outside (0, 1); the image is torch.sigmoid(param.to_image(z)).")
    with torch.no_grad():
        start_value = float(model(init)[0, 0].mean())
        value = float(model(torch.as_tensor(result, dtype=torch.float32))[0, 0].mean())
    if value < start_value:
        raise CheckFailed(f"`{name}` lowers the channel's activation ({start_value:.3f} -> {value:.3f}); step in the "
                          "direction that increases the objective (minimize its negative).")
    if value < start_value + 0.5:
        raise CheckFailed(f"`{name}` hardly changes the channel's activation ({start_value:.3f} -> {value:.3f}) in 20 "
                          "steps; take an Adam step on z with the gradient of -objective each time.")
    again = run(steps=20, lr=0.1, jitter=1, seed=0)
    if not np.array_equal(result, again):
        raise CheckFailed(f"`{name}` gives different images for the same seed; draw the shifts from "
                          "torch.Generator().manual_seed(seed).")
    other = run(steps=20, lr=0.1, jitter=1, seed=1)
    if np.array_equal(result, other):
        raise CheckFailed(f"`{name}` ignores the jitter: shift the image by a random (dy, dx) with torch.roll at each step.")
    smooth = run(steps=20, lr=0.1, jitter=0, tv_weight=50.0)
    rough = run(steps=20, lr=0.1, jitter=0, tv_weight=0.0)
    tv = [np.abs(np.diff(x, axis=2)).sum() + np.abs(np.diff(x, axis=3)).sum() for x in (smooth, rough)]
    if tv[0] >= tv[1]:
        raise CheckFailed(f"`{name}` with a large tv_weight gives an image that is not smoother than without it; "
                          "subtract tv_weight * TV(x) / x.numel() from the objective.")
    passed(f"{name}: steps=0 returns the start, the activation rises ({start_value:.2f} -> {value:.2f}), "
           "seeded jitter, and the TV penalty smooths the image.")


# --- 2. dataset examples -----------------------------------------------------------------------

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
    if indices.tolist() == [0, 1, 2, 3]:
        raise CheckFailed(f"`{name}` ranks by the wrong channel; read activations[:, channel].")
    if scores[0] < scores[-1]:
        raise CheckFailed(f"`{name}` returns the lowest scores first; sort by decreasing score.")
    if indices.tolist() != [1, 4, 3, 0]:
        raise CheckFailed(f"`{name}` with reduce='max' should return the indices [1, 4, 3, 0] (ties by the lower index) "
                          f"for images whose channel maxima are {peaks[:6]} and 0.15, got {indices.astype(int).tolist()}.")
    if not np.allclose(scores, [0.9, 0.9, 0.5, 0.2]):
        raise CheckFailed(f"`{name}` should return the scores of the chosen images, [0.9, 0.9, 0.5, 0.2].")
    mean_indices = as_array(call(func, model, model[0], images, 1, 1, reduce="mean", name=name)[0], name=name,
                            shape=(1,), what="one index")
    if mean_indices.tolist() != [6]:
        raise CheckFailed(f"`{name}` with reduce='mean' should score each image by the mean of the channel's map.")
    passed(f"{name}: (indices, scores) of the k best images, highest first, ties by index, max and mean.")


# --- 3. network dissection ---------------------------------------------------------------------

def dissection_iou(func) -> None:
    """Check ``dissection_iou(activations, masks, top=...)`` with activations that copy the masks."""
    name = "dissection_iou"
    rng = np.random.default_rng(31)
    masks = np.zeros((6, 3, 8, 8), dtype=bool)
    for i in range(6):
        top, left = rng.integers(0, 5, size=2)
        masks[i, 0, top:top + 3, left:left + 3] = True
        masks[i, 1] = ~masks[i, 0]
    activations = np.stack([masks[:, 0] * (1 + rng.random((6, 8, 8))), masks[:, 1] * (1 + rng.random((6, 8, 8))),
                            np.zeros((6, 8, 8))], axis=1)  # unit 0 = concept 0, unit 1 = concept 1, unit 2 dead
    given_a, given_m = activations.copy(), masks.copy()
    area = masks[:, 0].mean()
    iou = as_array(call(func, given_a, given_m, top=area, name=name), name=name, shape=(3, 3),
                   what="one IoU per unit (row) and concept (column)")
    _unchanged(given_a, activations, name, "activations")
    if np.any(iou < 0) or np.any(iou > 1):
        raise CheckFailed(f"`{name}` returned values outside [0, 1]; the IoU is intersection / union.")
    if np.allclose(iou[:2, :2], [[0, 1], [1, 0]], atol=0.05):
        raise CheckFailed(f"`{name}` has units and concepts the wrong way round; return rows = units, columns = concepts.")
    if not np.isclose(iou[0, 0], 1.0, atol=0.02):
        raise CheckFailed(f"`{name}`: a unit whose activations are positive exactly on a concept's pixels, with `top` "
                          f"equal to that concept's area, should have an IoU of 1 with it, got {iou[0, 0]:.3f}; the "
                          "threshold is the quantile 1 - top of the unit's activations over all images and positions.")
    if iou[0, 1] > 0.01 or iou[2].max() > 0:
        raise CheckFailed(f"`{name}`: a unit that is never on where a concept is (or a dead unit) should get IoU 0.")
    small = as_array(call(func, activations[:, :, ::2, ::2].copy(), masks.copy(), top=area, name=name), name=name,
                     shape=(3, 3), what="one IoU per unit and concept, after upsampling to the masks' size")
    if not 0.3 < small[0, 0] < 1.0:
        raise CheckFailed(f"`{name}` with 4 x 4 activations and 8 x 8 masks gives IoU {small[0, 0]:.3f}; upsample the "
                          "activations bilinearly to the masks' size before thresholding.")
    passed(f"{name}: IoU 1 for a unit that copies its concept, 0 for a dead unit, works across resolutions.")


# --- 4. TCAV ------------------------------------------------------------------------------------

def train_cav(func) -> None:
    """Check ``train_cav(concept_activations, random_activations, random_state=0)`` on two separated clouds."""
    name = "train_cav"
    rng = np.random.default_rng(41)
    concept = rng.normal(size=(20, 2, 2, 2)) + 2.0
    rand = rng.normal(size=(25, 2, 2, 2))
    given = concept.copy()
    cav = as_array(call(func, given, rand, name=name), name=name, shape=(8,),
                   what="one value per flattened activation (2 x 2 x 2 = 8)")
    _unchanged(given, concept, name, "concept activations")
    if not np.isclose(np.linalg.norm(cav), 1.0, atol=1e-6):
        raise CheckFailed(f"`{name}` returned a vector of length {np.linalg.norm(cav):.3g}; divide by its norm.")
    if cav @ (concept.mean(axis=0) - rand.mean(axis=0)).ravel() < 0:
        raise CheckFailed(f"`{name}` points away from the concept; label the concept examples 1 and the random ones 0.")
    if cav @ (concept.mean(axis=0) - rand.mean(axis=0)).ravel() < 0.5 * np.linalg.norm(concept.mean(axis=0) - rand.mean(axis=0)):
        raise CheckFailed(f"`{name}` hardly separates two well-separated clouds; fit the classifier on the concept and "
                          "random activations and use its coefficients.")
    passed(f"{name}: a unit vector of length 8 that points from the random examples towards the concept.")


def _linear_problem():
    """1x1 convolution -> Flatten -> Linear: the gradient of class k at the Flatten layer is the weight row k."""
    torch.manual_seed(42)
    model = nn.Sequential(nn.Conv2d(3, 3, 1), nn.Flatten(), nn.Linear(12, 3))
    return model.eval(), torch.rand(5, 3, 2, 2, generator=torch.Generator().manual_seed(43))


def tcav_score(func) -> None:
    """Check ``tcav_score(model, layer, inputs, target, cav)`` on a linear model with known gradients."""
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
        raise CheckFailed(f"`{name}`: for a linear model the gradient of class 2 is its weight row w, so along "
                          f"v = w / |w| every derivative is |w| = {np.linalg.norm(weight):.3f}.")
    if score != 1.0:
        raise CheckFailed(f"`{name}` should return the share of inputs with a positive derivative (here 1.0), got {score}.")
    flipped = call(func, model, model[1], inputs, 2, -weight / np.linalg.norm(weight), name=name)
    if float(as_array(flipped[0], name=name, shape=(), what="one number")) != 0.0:
        raise CheckFailed(f"`{name}` with the opposite CAV should give the score 0.")
    passed(f"{name}: the directional derivatives of a linear model equal |w| along its weights; scores 1 and 0.")


def mean_difference_cav(concept_activations, random_activations):
    """A toy CAV for the check: the normalized difference of the means (not the lab's recipe)."""
    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    rand = np.asarray(random_activations).reshape(len(random_activations), -1)
    direction = concept.mean(axis=0) - rand.mean(axis=0)
    return direction / np.linalg.norm(direction)


def tcav_significance(func) -> None:
    """Check ``tcav_significance(concept_sets, random_sets, gradients, train_cav=..., alpha=0.05)``."""
    name = "tcav_significance"
    rng = np.random.default_rng(51)
    dim, runs = 6, 8
    shift = np.eye(dim)[0] * 3
    concept_sets = [rng.normal(size=(12, dim)) + shift for _ in range(runs)]
    random_sets = [rng.normal(size=(12, dim)) for _ in range(runs)]
    gradients = rng.normal(size=(20, dim)) + shift  # the class output rises along the concept
    out = call(func, concept_sets, random_sets, gradients, train_cav=mean_difference_cav, name=name)
    if not isinstance(out, dict) or not {"concept_scores", "random_scores", "p_value", "significant"} <= set(out):
        raise CheckFailed(f"`{name}` should return a dict with the keys 'concept_scores', 'random_scores', 'p_value' "
                          "and 'significant'.")
    concept = as_array(out["concept_scores"], name=name, shape=(runs,), what="one concept score per run")
    rand = as_array(out["random_scores"], name=name, shape=(runs,), what="one random score per run")
    p_value = float(as_array(out["p_value"], name=name, shape=(), what="one p-value"))
    if np.any((concept < 0) | (concept > 1)) or np.any((rand < 0) | (rand > 1)):
        raise CheckFailed(f"`{name}`: TCAV scores are shares of inputs, between 0 and 1.")
    if concept.mean() < 0.9:
        raise CheckFailed(f"`{name}` gives a concept that the class output follows a mean score of {concept.mean():.2f}; "
                          "each run's score is the share of gradients with a positive dot product with "
                          "train_cav(concept_sets[i], random_sets[i]).")
    if not 0 <= p_value <= 0.01 or not bool(out["significant"]):
        raise CheckFailed(f"`{name}` should find this concept significant (p = {p_value:.3g}): compare the concept scores "
                          "with the random-CAV scores by scipy.stats.ttest_ind.")
    null = call(func, random_sets, [r[::-1].copy() for r in concept_sets], gradients, train_cav=mean_difference_cav,
                alpha=0.0, name=name)
    if bool(null["significant"]):
        raise CheckFailed(f"`{name}` calls a result significant with alpha = 0; significant means p_value < alpha.")
    passed(f"{name}: R scores per list, a clear concept is significant (p = {p_value:.1e}), significance means p < alpha.")


# --- 5. neuron groups ---------------------------------------------------------------------------

def neuron_groups(func) -> None:
    """Check ``neuron_groups(activations, n_groups, random_state=0)`` on activations made of two known groups."""
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
        raise CheckFailed(f"`{name}`: maps x groups should rebuild activations made of exactly two groups (relative "
                          f"error {error:.2f}); put the channels last before reshaping to (N * h * w, C), and reshape "
                          "the weights back the same way.")
    left = got_maps[:, :, :, :2].sum(axis=(0, 2, 3))
    if not np.all(np.sort(left / got_maps.sum(axis=(0, 2, 3))) > [-1e-9, 0.95]):
        raise CheckFailed(f"`{name}`: one group should cover exactly the left half of the images; the maps are in the "
                          "wrong layout (reshape the weights to (N, h, w, n_groups), then move the groups forward).")
    passed(f"{name}: maps (2, 2, 3, 4) and groups (2, 5), non-negative, rebuild two known groups in their places.")
