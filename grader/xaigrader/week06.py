"""Hidden tests of lab 6: feature visualization, dataset examples, network dissection, TCAV, neuron groups.

Oracles and properties, on fresh models and data from seeds the lab never uses:

| student's                 | reference                                                              | tolerance |
|---------------------------|------------------------------------------------------------------------|-----------|
| ``total_variation``       | known images (a checkerboard and a ramp: closed forms) and NumPy ``np.diff`` on random images; the result must stay differentiable | 1e-5 relative |
| ``FourierParameterization`` | ``torch.fft`` with the lab's scaling, non-square and odd sizes, three decays; the round trip image -> spectrum -> image | 1e-5 relative |
| ``maximize_activation``   | a reference run of the same recipe (5 Adam steps, Fourier and pixel parameterisations, with jitter and TV); after 48 steps the image's objective is at least 1.5 times that of its start and of the best of 20 random images | 1e-4 absolute |
| ``top_k_examples``        | NumPy ``argsort(kind="stable")`` of max / mean activations, with exact ties | exact indices, 1e-5 scores |
| ``dissection_iou``        | an independent implementation with scikit-image's bilinear ``resize`` (equal to torch's ``align_corners=False``), with a dead unit and an empty concept | 1e-9 |
| ``train_cav``             | scikit-learn ``SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3)``, concept rows first | 1e-6 |
| ``tcav_score``            | captum ``TCAV`` (fresh save directory) sign count for captum's own CAV; derivatives from captum ``LayerGradientXActivation(multiply_by_inputs=False)``; inputs with a zero derivative | exact score, 1e-4 relative |
| ``tcav_significance``     | a reference loop with ``scipy.stats.ttest_ind``; constant scores; and the known answer: on the shipped spurious shapes model the blue patch is significant for triangles, a random "concept" is not | 1e-9 |
| ``neuron_groups``         | scikit-learn ``NMF`` with the same settings: the same maps, groups and reconstruction error | 1e-6 relative |

The student's code is only called (through :func:`xaigrader.core.call`) with data, models and the
module-level helpers below (pickled by value); results are compared as plain arrays.
"""

from __future__ import annotations

import random
import tempfile
import warnings

import numpy as np
import torch
from torch import nn

from xaikit.cnn import DigitsCNN, ShapesCNN, forward_with_activations, load_model
from xaikit.images import make_shapes

from .core import CheckFailed, as_array, call, expect_close, grading, passed, unchanged

#: Top-level modules the lab forbids in answers (blocked in the worker while student code runs).
FORBIDDEN = ("captum",)
#: What the worker imports before student code (the lab's own imports).
PRELOAD = ("torch", "scipy.stats", "sklearn.decomposition", "sklearn.linear_model", "xaikit.cnn")
#: Generous time budget per check, in seconds (about 10 x the reference on a 2-core CPU).
BUDGET_S = {
    "total_variation": 10,
    "FourierParameterization": 10,
    "maximize_activation": 40,
    "top_k_examples": 10,
    "dissection_iou": 10,
    "train_cav": 10,
    "tcav_score": 30,
    "tcav_significance": 60,
    "neuron_groups": 20,
}


# --- shared plumbing -----------------------------------------------------------------------------

def _fresh(cls, seed: int, **kwargs) -> nn.Module:
    """A model with seeded He-initialised weights (larger signals than PyTorch's default)."""
    torch.manual_seed(seed)
    model = cls(**kwargs)
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            nn.init.normal_(module.bias, std=0.1)
    return model.eval()


def _images(seed: int, n: int, channels: int, height: int, width: int) -> torch.Tensor:
    return torch.rand(n, channels, height, width, generator=torch.Generator().manual_seed(seed))


def _tensor_result(value, *, name: str, shape, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise CheckFailed(f"`{name}` returned a complex tensor; return real numbers.")
        value = value.detach().cpu().numpy()
    return as_array(value, name=name, shape=shape, what=what)


def _close(got, expected, *, name: str, reference: str, relative: float) -> float:
    expected = np.asarray(expected.detach() if isinstance(expected, torch.Tensor) else expected, dtype=float)
    scale = float(np.abs(expected).max()) or 1.0
    return expect_close(got, expected, name=name, reference=reference, rtol=relative, atol=relative * scale)


def _same_weights(model: nn.Module, state: dict, name: str) -> None:
    if any(not torch.equal(state[k], v) for k, v in model.state_dict().items()):
        raise CheckFailed(f"`{name}` changed the weights of the model it was given.")


# --- 1a. total variation ------------------------------------------------------------------------

def total_variation(func) -> None:
    name = "total_variation"
    with grading(name):
        height, width, channels = 5, 7, 3
        rows, cols = np.mgrid[:height, :width]
        checker = np.broadcast_to(((rows + cols) % 2).astype(float), (channels, height, width))
        ramp = np.broadcast_to(0.1 * rows - 0.2 * cols, (channels, height, width))
        known = torch.tensor(np.stack([checker, ramp]), dtype=torch.float64)
        expected = np.array([channels * ((height - 1) * width + height * (width - 1)),
                             channels * (0.1 * (height - 1) * width + 0.2 * height * (width - 1))])
        given = known.clone()
        got = _tensor_result(call(func, given, name=name), name=name, shape=(2,), what="one value per image")
        unchanged(given.numpy(), known.numpy(), name)
        expect_close(got, expected, name=name, reference="the closed form on a checkerboard and a ramp",
                     rtol=1e-5, atol=1e-9)
        x = torch.tensor(np.random.default_rng(9601).random((4, 2, 6, 9)), requires_grad=True)
        out = call(func, x, name=name)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            raise CheckFailed(f"`{name}` returned a result without a gradient; keep it a torch tensor computed from the "
                              "images (no .detach(), no NumPy), the optimiser differentiates it.")
        got = _tensor_result(out, name=name, shape=(4,), what="one value per image")
        a = x.detach().numpy()
        reference = np.abs(np.diff(a, axis=2)).sum(axis=(1, 2, 3)) + np.abs(np.diff(a, axis=3)).sum(axis=(1, 2, 3))
        expect_close(got, reference, name=name, reference="the sum of absolute differences of neighbours (NumPy diff)",
                     rtol=1e-5, atol=1e-9)
    passed(f"{name} matches closed forms on a checkerboard and a ramp and NumPy on random images, and stays "
           "differentiable.")


# --- 1b. Fourier parameterisation ---------------------------------------------------------------

class ReferenceFourier:
    """The lab's Fourier parameterisation (the grader's own, handed to ``maximize_activation``)."""

    def __init__(self, height, width, *, decay=1.0):
        self.height, self.width = height, width
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        self.scale = 1.0 / torch.clamp(torch.sqrt(fy ** 2 + fx ** 2), min=1.0 / max(height, width)) ** decay

    def to_image(self, spectrum):
        return torch.fft.irfft2(torch.view_as_complex(spectrum) * self.scale, s=(self.height, self.width), norm="ortho")

    def from_image(self, image):
        return torch.view_as_real(torch.fft.rfft2(image, norm="ortho") / self.scale)


class ReferencePixels:
    """The identity parameterisation."""

    def to_image(self, pixels):
        return pixels

    def from_image(self, image):
        return image.clone()


def FourierParameterization(cls) -> None:  # noqa: N802 - named after the class it grades
    name = "FourierParameterization"
    with grading(name):
        worst = 0.0
        for k, (height, width, decay, lead) in enumerate([(6, 9, 1.0, (2, 3)), (7, 4, 0.5, (1, 2)), (5, 5, 2.0, ())]):
            param = call(cls, height, width, decay=decay, name=name)
            reference = ReferenceFourier(height, width, decay=decay)
            generator = torch.Generator().manual_seed(9611 + k)
            spectrum = torch.randn(*lead, height, width // 2 + 1, 2, generator=generator)
            label = f"{name}({height}, {width}, decay={decay}).to_image"
            got = _tensor_result(call(param.to_image, spectrum.clone(), name=label), name=label,
                                 shape=(*lead, height, width), what="an image of the parameterisation's height and width")
            worst = max(worst, _close(got, reference.to_image(spectrum), name=label, relative=1e-5,
                                      reference="the scaled inverse real FFT (torch.fft.irfft2, norm='ortho')"))
            image = torch.rand(*lead, height, width, generator=generator)
            label = f"{name}({height}, {width}, decay={decay}).from_image"
            out = call(param.from_image, image.clone(), name=label)
            got = _tensor_result(out, name=label, shape=(*lead, height, width // 2 + 1, 2),
                                 what="real and imaginary parts in the last axis")
            worst = max(worst, _close(got, reference.from_image(image), name=label, relative=1e-5,
                                      reference="torch.fft.rfft2(image, norm='ortho') divided by the scale"))
            back = _tensor_result(call(param.to_image, torch.as_tensor(got, dtype=torch.float32), name=label),
                                  name=f"{name}.to_image(from_image(x))", shape=tuple(image.shape), what="the image")
            expect_close(back, image.numpy(), name=f"{name}.to_image(from_image(x))", reference="the image itself",
                         rtol=0, atol=1e-5)
        out = call(param.to_image, torch.randn(height, width // 2 + 1, 2).requires_grad_(True), name=name)
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            raise CheckFailed(f"`{name}.to_image` returned a result without a gradient; keep it a torch tensor.")
    passed(f"{name} matches the scaled torch.fft transforms for three sizes and decays and round-trips images "
           f"(largest difference {worst:.1e}).")


# --- 1c. activation maximization ----------------------------------------------------------------

def _reference_maximize(model, layer, channel, param, init, *, steps, lr, jitter, tv_weight, seed):
    z = param.from_image(torch.logit(init)).detach().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.sigmoid(param.to_image(z))
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:] - x[:, :, :-1]).abs().sum() + (x[..., 1:] - x[..., :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()


def _objective(model, layer, channel, images) -> np.ndarray:
    with torch.no_grad():
        _, activations = forward_with_activations(model, layer, images)
    return activations[:, channel].reshape(len(images), -1).mean(dim=1).numpy()


def _maximize(func, model, layer, channel, param, init, name, **settings) -> np.ndarray:
    given = init.clone()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    got = _tensor_result(call(func, model, layer, channel, param, given, name=name, **settings), name=name,
                         shape=tuple(init.shape), what="one image shaped like the start image")
    unchanged(given.numpy(), init.numpy(), name)
    _same_weights(model, state, name)
    return got


def maximize_activation(func) -> None:
    name = "maximize_activation"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shapes = _fresh(ShapesCNN, 9621, n_classes=4, width=6)
        digits = _fresh(DigitsCNN, 9622)
        start = lambda seed, c, h, w: torch.sigmoid(0.3 * torch.randn(1, c, h, w, generator=torch.Generator().manual_seed(seed)))
        cases = [  # exact: a few steps of the recipe, compared with a reference run
            (shapes, shapes.relu3, 3, ReferenceFourier(14, 18), start(9623, 3, 14, 18), dict(jitter=2, tv_weight=0.5, seed=3)),
            (shapes, shapes.fc, 1, ReferencePixels(), start(9624, 3, 12, 10), dict(jitter=1, tv_weight=0.2, seed=5)),
            (digits, digits.relu2, 4, ReferenceFourier(28, 28, decay=0.7), start(9625, 1, 28, 28), dict(jitter=3, tv_weight=0.0, seed=7)),
        ]
        worst = 0.0
        for model, layer, channel, param, init, settings in cases:
            label = f"{name}(..., jitter={settings['jitter']}, tv_weight={settings['tv_weight']})"
            got = _maximize(func, model, layer, channel, param, init, label, steps=5, lr=0.05, **settings)
            expected = _reference_maximize(model, layer, channel, param, init, steps=5, lr=0.05, **settings)
            worst = max(worst, expect_close(got, expected.numpy(), name=label, rtol=0, atol=1e-4,
                                            reference="a reference run of the recipe (5 Adam steps, same seed)"))
        # property: the optimised image clearly beats its start and random images
        for model, layer, channel, (c, h, w), seed in [(shapes, shapes.relu3, 2, (3, 16, 20), 9626),
                                                        (digits, digits.relu2, 9, (1, 28, 28), 9627)]:
            init = start(seed, c, h, w)
            got = _maximize(func, model, layer, channel, ReferenceFourier(h, w), init, name, steps=48, lr=0.05,
                            jitter=1, tv_weight=0.05, seed=1)
            reached = float(_objective(model, layer, channel, torch.as_tensor(got, dtype=torch.float32))[0])
            baseline = max(float(_objective(model, layer, channel, init)[0]),
                           float(_objective(model, layer, channel, _images(seed + 10, 20, c, h, w)).max()))
            if not reached >= 1.5 * baseline:
                raise CheckFailed(f"`{name}` does not climb: after 48 steps the channel's mean activation is "
                                  f"{reached:.3f}, but the start or a random image already reaches {baseline:.3f} "
                                  "(expected at least 1.5 times as much).")
    passed(f"{name} reproduces 5 steps of the recipe (Fourier and pixels, jitter, TV; largest difference {worst:.1e}) "
           "and after 48 steps beats its start and 20 random images by at least 1.5 times.")


# --- 2. dataset examples ------------------------------------------------------------------------

def _ties_model(seed: int) -> nn.Sequential:
    """Conv + ReLU whose channel 1 is dead for many images: their scores are exactly 0 (ties)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")
    with torch.no_grad():
        model[0].bias.copy_(torch.tensor([0.1, -1.6, 0.0, 0.2]))
    return model.eval()


def _reference_top_k(model, layer, images, channel, k, reduce):
    with torch.no_grad():
        _, activations = forward_with_activations(model, layer, images)
    maps = activations[:, channel].reshape(len(images), -1)
    scores = (maps.max(dim=1).values if reduce == "max" else maps.mean(dim=1)).numpy()
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order]


def top_k_examples(func) -> None:
    name = "top_k_examples"
    with grading(name):
        model = _ties_model(9631)
        images = _images(9632, 25, 3, 10, 13)
        shapes = _fresh(ShapesCNN, 9633, n_classes=3, width=5)
        for mdl, layer, x, channel, k, reduce in [(model, model[1], images, 1, 25, "max"), (model, model[1], images, 3, 6, "mean"),
                                                   (shapes, shapes.relu4, _images(9634, 18, 3, 12, 16), 7, 5, "max")]:
            label = f"{name}(..., channel={channel}, k={k}, reduce={reduce!r})"
            given = x.clone()
            out = call(func, mdl, layer, given, channel, k, reduce=reduce, batch_size=7, name=name)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise CheckFailed(f"`{name}` should return two arrays, (indices, scores).")
            unchanged(given.numpy(), x.numpy(), name)
            indices = as_array(out[0], name=label, shape=(k,), what="the indices of the k best images")
            scores = as_array(out[1], name=label, shape=(k,), what="their scores")
            expected_indices, expected_scores = _reference_top_k(mdl, layer, x, channel, k, reduce)
            if not np.array_equal(indices, expected_indices):
                raise CheckFailed(f"`{label}` returned the indices {indices.astype(int).tolist()}, expected "
                                  f"{expected_indices.tolist()} (highest score first, ties by the lower index).")
            expect_close(scores, expected_scores, name=label, reference=f"the {reduce} activation of the channel",
                         rtol=1e-5, atol=1e-6)
    passed(f"{name} ranks images like a stable sort of the max and mean activations, ties included, on two fresh "
           "models.")


# --- 3. network dissection ----------------------------------------------------------------------

def _reference_dissection(activations, masks, top):
    from skimage.transform import resize

    n, units = activations.shape[:2]
    height, width = masks.shape[-2:]
    iou = np.zeros((units, masks.shape[1]))
    for u in range(units):
        threshold = np.quantile(activations[:, u].ravel(), 1 - top)
        upsampled = resize(activations[:, u], (n, height, width), order=1, mode="edge", anti_aliasing=False)
        on = upsampled > threshold
        for k in range(masks.shape[1]):
            intersection = np.sum(on & masks[:, k])
            union = np.sum(on | masks[:, k])
            iou[u, k] = intersection / union if union else 0.0
    return iou


def dissection_iou(func) -> None:
    name = "dissection_iou"
    with grading(name):
        rng = np.random.default_rng(9641)
        n, units, h, w, height, width = 12, 5, 5, 7, 15, 21
        activations = np.maximum(rng.normal(size=(n, units, h, w)) + np.linspace(-0.5, 0.5, w), 0)
        activations[:, 3] = 0.0  # a dead unit
        yy, xx = np.mgrid[:height, :width]
        centres, radii = rng.uniform([3, 3], [12, 18], size=(n, 2)), rng.uniform(2, 5, size=n)
        disks = (yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2 <= radii[:, None, None] ** 2
        masks = np.stack([disks, rng.random((n, height, width)) < 0.3, np.zeros((n, height, width), bool), ~disks], axis=1)
        worst = 0.0
        for top in (0.005, 0.1, 0.3):
            label = f"{name}(..., top={top})"
            given_a, given_m = activations.copy(), masks.copy()
            got = as_array(call(func, given_a, given_m, top=top, name=name), name=label, shape=(units, masks.shape[1]),
                           what="one IoU per unit and concept")
            unchanged(given_a, activations, name)
            expected = _reference_dissection(activations, masks, top)
            worst = max(worst, expect_close(got, expected, name=label, rtol=0, atol=1e-9,
                                            reference="a reference dissection (quantile threshold of the raw activations, "
                                                      "bilinear upsampling, data-set-wide IoU)"))
    passed(f"{name} matches an independent dissection (scikit-image upsampling) for three thresholds, with a dead "
           f"unit and an empty concept (largest difference {worst:.1e}).")


# --- 4. TCAV -------------------------------------------------------------------------------------

def reference_train_cav(concept_activations, random_activations, *, random_state=0):
    """The lab's CAV recipe (handed to ``tcav_significance`` as its ``train_cav``)."""
    from sklearn.linear_model import SGDClassifier

    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    rand = np.asarray(random_activations).reshape(len(random_activations), -1)
    X = np.concatenate([concept, rand])
    y = np.concatenate([np.ones(len(concept)), np.zeros(len(rand))])
    classifier = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state).fit(X, y)
    return classifier.coef_[0] / np.linalg.norm(classifier.coef_[0])


def constant_cav(concept_activations, random_activations, *, random_state=0):
    """The same direction whatever the data: every run gets the same score."""
    return np.ones(np.asarray(concept_activations)[0].size) / np.sqrt(np.asarray(concept_activations)[0].size)


def train_cav(func) -> None:
    name = "train_cav"
    with grading(name):
        rng = np.random.default_rng(9651)
        direction = rng.normal(size=(4, 3, 3))
        concept = rng.normal(size=(30, 4, 3, 3)) + 0.8 * direction
        rand = rng.normal(size=(40, 4, 3, 3))
        for kwargs in ({}, {"random_state": 7}):
            label = f"{name}(..., random_state={kwargs.get('random_state', 0)})"
            given_c, given_r = concept.copy(), rand.copy()
            got = as_array(call(func, given_c, given_r, name=name, **kwargs), name=label, shape=(36,),
                           what="one value per flattened activation")
            unchanged(given_c, concept, name)
            if got @ (concept.reshape(30, -1).mean(axis=0) - rand.reshape(40, -1).mean(axis=0)) < 0:
                raise CheckFailed(f"`{name}` points away from the concept: label the concept examples 1 and the random ones 0.")
            expected = reference_train_cav(concept, rand, **kwargs)
            expect_close(got, expected, name=label, rtol=0, atol=1e-6,
                         reference="scikit-learn's SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3) on the concept rows "
                                   "then the random rows, normalized to length 1")
    passed(f"{name} equals the normalized SGDClassifier weights on fresh activations, for two random states.")


def _captum_tcav(model, layer_name, inputs, target, concept_x, random_x):
    """captum's TCAV sign count and its CAV for the concept, computed in a fresh save directory."""
    from captum.attr import LayerGradientXActivation
    from captum.concept import TCAV, Concept
    from torch.utils.data import DataLoader

    random.seed(0)  # captum shuffles the CAV's train/test split with the random module
    concept = Concept(0, "concept", DataLoader(list(concept_x), batch_size=len(concept_x)))
    other = Concept(1, "random", DataLoader(list(random_x), batch_size=len(random_x)))
    with tempfile.TemporaryDirectory() as save_path, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tcav = TCAV(model, layers=[layer_name], save_path=save_path,
                    layer_attr_method=LayerGradientXActivation(model, None, multiply_by_inputs=False))
        scores = tcav.interpret(inputs, experimental_sets=[[concept, other]], target=target)
        stats = tcav.cavs["0-1"][layer_name].stats
    row = list(stats["classes"]).index(0)
    cav = stats["weights"][row].double().numpy()
    return float(scores["0-1"][layer_name]["sign_count"][0]), cav


def _reference_derivatives(model, layer, inputs, target, cav):
    from captum.attr import LayerGradientXActivation

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gradients = LayerGradientXActivation(model, layer, multiply_by_inputs=False).attribute(inputs, target=target)
    return gradients.reshape(len(inputs), -1).double().numpy() @ cav


def _zero_gradient_problem(seed: int):
    """Conv - ReLU - pooling - linear with negative biases: black images get exactly zero gradients."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 3))
    nn.init.kaiming_normal_(model[0].weight, nonlinearity="relu")
    with torch.no_grad():
        model[0].bias.fill_(-0.3)
    inputs = torch.cat([_images(seed + 1, 7, 3, 9, 11), torch.zeros(3, 3, 9, 11)])
    return model.eval(), inputs


def tcav_score(func) -> None:
    name = "tcav_score"
    with grading(name):
        shapes = _fresh(ShapesCNN, 9661, n_classes=4, width=5)
        digits = _fresh(DigitsCNN, 9662)
        problems = [
            (shapes, "relu3", shapes.relu3, _images(9663, 10, 3, 12, 14), 2,
             0.5 + 0.5 * _images(9664, 16, 3, 12, 14), _images(9665, 16, 3, 12, 14)),
            (digits, "conv2", digits.conv2, _images(9666, 8, 1, 28, 28), 7,
             _images(9667, 12, 1, 28, 28) ** 3, _images(9668, 12, 1, 28, 28)),
        ]
        worst = 0.0
        for model, layer_name, layer, inputs, target, concept_x, random_x in problems:
            expected_score, cav = _captum_tcav(model, layer_name, inputs, target, concept_x, random_x)
            label = f"{name}(..., layer=model.{layer_name}, target={target})"
            given = inputs.clone()
            out = call(func, model, layer, given, target, cav.copy(), name=name)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise CheckFailed(f"`{name}` should return two values, (score, derivatives).")
            unchanged(given.numpy(), inputs.numpy(), name)
            derivatives = as_array(out[1], name=label, shape=(len(inputs),), what="one directional derivative per input")
            worst = max(worst, _close(derivatives, _reference_derivatives(model, layer, inputs, target, cav), name=label,
                                      relative=1e-4, reference="captum's layer gradients dotted with the CAV"))
            score = float(as_array(out[0], name=label, shape=(), what="one number, the share of positive derivatives"))
            if abs(score - expected_score) > 1e-6:  # captum counts in float32
                raise CheckFailed(f"`{label}` returned the score {score:.3f}; captum's TCAV gives {expected_score:.3f} "
                                  "for the same CAV and layer.")
        model, inputs = _zero_gradient_problem(9669)
        cav = np.random.default_rng(9670).normal(size=5 * 9 * 11)
        out = call(func, model, model[0], inputs.clone(), 1, cav.copy(), name=name)
        expected = _reference_derivatives(model, model[0], inputs, 1, cav)
        score = float(as_array(out[0], name=name, shape=(), what="one number"))
        if abs(score - float(np.mean(expected > 0))) > 1e-6:
            raise CheckFailed(f"`{name}` returned the score {score:.3f} where {float(np.mean(expected > 0)):.3f} is expected: "
                              "only strictly positive directional derivatives count (three inputs have a derivative of 0).")
    passed(f"{name} gives captum's TCAV sign count for captum's own CAV on two fresh CNNs and counts only positive "
           f"derivatives (largest difference of the derivatives {worst:.1e}).")


def _reference_significance(concept_sets, random_sets, gradients, cav_fn, alpha):
    from scipy.stats import ttest_ind

    runs = len(random_sets)
    concept_scores = np.array([np.mean(gradients @ cav_fn(concept_sets[i], random_sets[i]) > 0) for i in range(runs)])
    random_scores = np.array([np.mean(gradients @ cav_fn(random_sets[i], random_sets[(i + 1) % runs]) > 0)
                              for i in range(runs)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_value = float(ttest_ind(concept_scores, random_scores).pvalue)
    p_value = 1.0 if np.isnan(p_value) else p_value
    return concept_scores, random_scores, p_value, p_value < alpha


def _significance(func, concept_sets, random_sets, gradients, cav_fn, alpha, label):
    out = call(func, [c.copy() for c in concept_sets], [r.copy() for r in random_sets], gradients.copy(),
               train_cav=cav_fn, alpha=alpha, name="tcav_significance")
    if not isinstance(out, dict) or not {"concept_scores", "random_scores", "p_value", "significant"} <= set(out):
        raise CheckFailed("`tcav_significance` should return a dict with the keys 'concept_scores', 'random_scores', "
                          "'p_value' and 'significant'.")
    runs = len(random_sets)
    concept = as_array(out["concept_scores"], name=label, shape=(runs,), what="one concept score per run")
    rand = as_array(out["random_scores"], name=label, shape=(runs,), what="one random score per run")
    p_value = float(as_array(out["p_value"], name=label, shape=(), what="one p-value"))
    if not isinstance(out["significant"], (bool, np.bool_)):
        raise CheckFailed(f"`{label}`: 'significant' should be True or False, got a {type(out['significant']).__name__}.")
    return concept, rand, p_value, bool(out["significant"])


def _shapes_experiment(model, concept, seed):
    """Activations of relu3 for a concept of the shapes pool and random pool images; gradients of log p(triangle)."""
    pool = make_shapes(500, cue_strength=0.0, random_state=seed)
    test = make_shapes(150, cue_strength=1.0, random_state=seed + 1)
    with torch.no_grad():
        acts = forward_with_activations(model, model.relu3, torch.from_numpy(pool.images))[1]
    acts = acts.reshape(len(acts), -1).numpy().astype(np.float64)
    triangles = torch.from_numpy(test.images[test.labels == 2][:50])
    outputs, activations = forward_with_activations(nn.Sequential(model, nn.LogSoftmax(dim=1)), model.relu3, triangles)
    gradients = torch.autograd.grad(outputs[:, 2].sum(), activations)[0].reshape(len(triangles), -1).double().numpy()
    rng = np.random.default_rng(seed + 2)
    members = np.flatnonzero(pool.cue_labels == 2) if concept == "blue patch" else rng.permutation(len(acts))[:150]
    concept_sets = [acts[rng.choice(members, 30, replace=False)] for _ in range(10)]
    random_sets = [acts[rng.choice(len(acts), 30, replace=False)] for _ in range(10)]
    return concept_sets, random_sets, gradients


def tcav_significance(func) -> None:
    name = "tcav_significance"
    with grading(name):
        rng = np.random.default_rng(9671)
        dim, runs = 20, 6
        shift = rng.normal(size=dim)
        concept_sets = [rng.normal(size=(15, dim)) + shift for _ in range(runs)]
        random_sets = [rng.normal(size=(15, dim)) for _ in range(runs)]
        gradients = rng.normal(size=(25, dim)) + 0.3 * shift
        for alpha, cav_fn in [(0.05, reference_train_cav), (0.01, reference_train_cav), (0.05, constant_cav)]:
            label = f"{name}(..., alpha={alpha}, train_cav={cav_fn.__name__})"
            got = _significance(func, concept_sets, random_sets, gradients, cav_fn, alpha, label)
            expected = _reference_significance(concept_sets, random_sets, gradients, cav_fn, alpha)
            for part, g, e in zip(("concept_scores", "random_scores", "p_value"), got, expected):
                expect_close(g, e, name=f"{label}['{part}']", rtol=1e-9, atol=1e-12,
                             reference="TCAV runs against each random set and random CAVs, compared by scipy's ttest_ind")
            if got[3] != expected[3]:
                raise CheckFailed(f"`{label}` says significant = {got[3]} for p = {got[2]:.4f}; it should be p < alpha.")
        # The known answer: the spurious shapes model uses the blue patch for triangles; a random set is no concept.
        spurious = load_model("shapes_spurious")
        for concept, significant in [("blue patch", True), ("random images", False)]:
            sets = _shapes_experiment(spurious, concept, 9672)
            label = f"{name} on the spurious shapes model with the concept '{concept}'"
            scores, _, p_value, decision = _significance(func, *sets, reference_train_cav, 0.05, label)
            if decision != significant:
                raise CheckFailed(f"`{name}` calls the concept '{concept}' {'' if decision else 'not '}significant "
                                  f"(p = {p_value:.3g}) for the triangles of the spurious shapes model, where the answer "
                                  f"is known to be {'yes' if significant else 'no'}.")
            if significant and scores.mean() < 0.8:
                raise CheckFailed(f"`{name}` gives the blue patch a mean TCAV score of {scores.mean():.2f} for the spurious "
                                  "model's triangles, which it is known to push up (above 0.8).")
    passed(f"{name} matches a reference t-test of concept against random CAVs, and on the spurious shapes model finds "
           "the blue patch significant for triangles and a random set not.")


# --- 5. neuron groups ----------------------------------------------------------------------------

def neuron_groups(func) -> None:
    from sklearn.decomposition import NMF

    name = "neuron_groups"
    with grading(name):
        rng = np.random.default_rng(9681)
        problems = [(np.maximum(rng.normal(size=(6, 5, 4, 7)), 0), 3, 0),
                    (np.einsum("ngyx,gc->ncyx", rng.random((3, 2, 6, 5)), rng.random((2, 8))), 2, 4)]
        for activations, groups, seed in problems:
            n, channels, h, w = activations.shape
            label = f"{name}(..., n_groups={groups}, random_state={seed})"
            given = activations.copy()
            out = call(func, given, groups, random_state=seed, name=name)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise CheckFailed(f"`{name}` should return two arrays, (maps, groups).")
            unchanged(given, activations, name)
            maps = as_array(out[0], name=label, shape=(n, groups, h, w), what="one map per image and group")
            components = as_array(out[1], name=label, shape=(groups, channels), what="one row of channel weights per group")
            nmf = NMF(n_components=groups, init="nndsvda", max_iter=500, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                weights = nmf.fit_transform(activations.transpose(0, 2, 3, 1).reshape(-1, channels))
            reconstruction = np.einsum("ngyx,gc->ncyx", maps, components)
            error = np.linalg.norm(reconstruction - activations)
            if abs(error - nmf.reconstruction_err_) > 1e-6 * max(1.0, nmf.reconstruction_err_):
                raise CheckFailed(f"`{label}`: your maps and groups reconstruct the activations with error {error:.4f}, "
                                  f"scikit-learn's NMF with the same settings with {nmf.reconstruction_err_:.4f}.")
            expected_maps = weights.reshape(n, h, w, groups).transpose(0, 3, 1, 2)
            expect_close(maps, expected_maps, name=label, rtol=1e-6, atol=1e-9,
                         reference="scikit-learn's NMF weights in image layout")
            expect_close(components, nmf.components_, name=label, rtol=1e-6, atol=1e-9,
                         reference="scikit-learn's NMF components")
    passed(f"{name} equals scikit-learn's NMF (same maps, groups and reconstruction error) on two fresh activation "
           "tensors, one of them exactly of rank 2.")
