"""Visible checks of lab 3 (local explanations: LIME and SHAP).

Each check runs the student's function on one small visible example and compares it with the
library the lab forbids in answers, called inside the check with the lab's settings (lime's
``LimeTabularExplainer`` and ``LimeImageExplainer`` with the same seed, shap's
``KernelExplainer`` over every coalition, which is exact), plus exact properties (efficiency,
dummy, a linear model, reproducibility). A failure says in one sentence which aspect is off,
found by comparing with the library run with the usual slips (no kernel, the mean row as
background, ...). The hidden tests compare with the same libraries on other data and models.

Ask for a hint with ``check.<function>.hint()``; ``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

import numpy as np

from unittest import mock
import warnings

from . import CheckFailed, Summary, as_array, call, fmt, graded, install_not_written_handler, passed

__all__ = ["kernel_shap", "lime_image", "lime_tabular", "shapley_values", "summary"]


def _unchanged(array: np.ndarray, before: np.ndarray, name: str, what: str = "X") -> None:
    if not np.array_equal(array, before):
        raise CheckFailed(f"`{name}` changed the {what} it was given; work on a copy so the data stay intact.")


def _toy_model(X):
    """f(x) = 2 x0 + x1 x2 + x0 x1 x2; ignores x3 (a three-way interaction: Shapley differs from Banzhaf)."""
    X = np.asarray(X, dtype=float)
    return 2 * X[:, 0] + X[:, 1] * X[:, 2] + X[:, 0] * X[:, 1] * X[:, 2]


def _toy_game():
    rng = np.random.default_rng(31)
    background = np.round(rng.normal(size=(6, 4)), 2)
    x = np.array([1.0, 2.0, -1.0, 0.5])  # no background value equals x's: a row shows its coalition
    return x, background


# --- LIME ----------------------------------------------------------------------------------------


def _lime_tabular(predict, X_train, x, *, num_samples, kernel_width=None, seed, kernel=None):
    from lime.lime_tabular import LimeTabularExplainer

    explainer = LimeTabularExplainer(X_train, mode="regression", discretize_continuous=False, kernel=kernel,
                                     kernel_width=kernel_width, feature_selection="none", random_state=seed)
    explanation = explainer.explain_instance(x, predict, num_features=X_train.shape[1], num_samples=num_samples)
    weights = np.zeros(X_train.shape[1])
    for feature, weight in explanation.local_exp[1]:
        weights[feature] = weight
    return weights


def _near(a, b, rel: float = 1e-6) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.allclose(a, b, rtol=rel, atol=rel * max(1e-12, float(np.abs(b).max()))))


@graded(answer="lime_tabular", part="1", points=4,
        hint="lecture 3, §2 'LIME for tabular data': one rng.normal call, first sample = x, distances and the Ridge fit on the "
             "STANDARDIZED samples, kernel exp(-d²/(2w²)) passed as sample_weight, predictions of the raw samples.")
def lime_tabular(func) -> None:
    """Check ``lime_tabular(predict, X_train, x, ...)`` against lime's ``LimeTabularExplainer`` (same seed)."""
    name = "lime_tabular"
    rng = np.random.default_rng(32)
    scales = np.array([1.0, 10.0, 0.1])
    X_train = rng.normal(size=(200, 3)) * scales + [0.0, 50.0, 1.0]
    x = X_train[0] + [0.5, -3.0, 0.02]

    def curved(X):  # nonlinear, so the kernel and the scaling matter
        X = np.asarray(X, dtype=float)
        return np.sin(X[:, 0]) * 3.0 - 0.02 * (X[:, 1] - 50.0) ** 2 + 0.0 * X[:, 2]

    def linear(X):
        X = np.asarray(X, dtype=float)
        return 2.0 * X[:, 0] - 0.3 * X[:, 1]

    X_before, x_before = X_train.copy(), x.copy()
    weights = as_array(call(func, curved, X_train, x, num_samples=400, random_state=0, name=name), name=name,
                       shape=(3,), what="one weight per feature")
    _unchanged(X_train, X_before, name, "X_train")
    _unchanged(x, x_before, name, "x")
    again = as_array(call(func, curved, X_train, x, num_samples=400, random_state=0, name=name), name=name, shape=(3,))
    if not np.array_equal(weights, again):
        raise CheckFailed(f"`{name}` gives different weights for the same random_state; draw every sample from "
                          "one generator, np.random.RandomState(random_state).")
    exact = as_array(call(func, linear, X_train.copy(), x.copy(), num_samples=300, alpha=0.0, random_state=1,
                          name=name), name=name, shape=(3,))
    if _near(exact[:2], [2.0, -0.3], 1e-4):
        raise CheckFailed(f"`{name}` returns the weights in the features' own units; fit the surrogate on the "
                          "standardized samples, so a weight is per standard deviation.")
    if not _near(exact, np.array([2.0, -0.3, 0.0]) * X_train.std(axis=0), 1e-6):
        raise CheckFailed(f"`{name}(..., alpha=0)` does not recover a linear model exactly (coefficient × standard "
                          "deviation); fit the predictions of the samples on the standardized samples.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = _lime_tabular(curved, X_train, x, num_samples=400, seed=0)
        if _near(weights, reference):
            wide = as_array(call(func, curved, X_train.copy(), x.copy(), num_samples=400, kernel_width=0.8,
                                 random_state=3, name=name), name=name, shape=(3,))
            if not _near(wide, _lime_tabular(curved, X_train, x, num_samples=400, kernel_width=0.8, seed=3)):
                raise CheckFailed(f"`{name}` ignores `kernel_width` or `random_state`; use both.")
            passed(f"{name}: matches lime's LimeTabularExplainer with the same seed, exact for a linear model.")
            return
        flat = _lime_tabular(curved, X_train, x, num_samples=400, seed=0, kernel=lambda d, kernel_width: np.ones_like(d))
    if _near(weights, flat):
        raise CheckFailed(f"`{name}` gives every sample the same weight; weigh each by the kernel of its distance to x.")
    raise CheckFailed(f"`{name}` differs from lime's LimeTabularExplainer with the same seed on a nonlinear toy model; "
                      "check the distances (standardized samples, Euclidean) and the kernel exp(-d²/(2w²)).")


def _quadrant_segments(size: int = 8) -> np.ndarray:
    half = size // 2
    rows, cols = np.mgrid[0:size, 0:size]
    return (rows >= half) * 2 + (cols >= half)  # 0 1 / 2 3


def _lime_image(predict_proba, image, segments, *, label, num_samples, hide_color, seed, kernel=None):
    from lime import lime_image as lime_image_module
    from lime.lime_image import LimeImageExplainer

    explainer = LimeImageExplainer(kernel_width=0.25, kernel=kernel, feature_selection="none", random_state=seed)
    with mock.patch.object(lime_image_module, "tqdm", lambda rows, **_: rows):
        explanation = explainer.explain_instance(
            image, predict_proba, labels=(label,), top_labels=None, hide_color=hide_color, num_features=100000,
            num_samples=num_samples, batch_size=num_samples, segmentation_fn=lambda _: segments, random_seed=0)
    weights = np.zeros(int(segments.max()) + 1)
    for segment, weight in explanation.local_exp[label]:
        weights[segment] = weight
    return weights


@graded(answer="lime_image", part="2", points=3,
        hint="lecture 3, §3 'LIME for images': masks from ONE rng.randint call, first mask all ones; hide_color=None "
             "fills each superpixel with its OWN mean colour; weight = kernel of the cosine distance 1 - sqrt(k/M).")
def lime_image(func) -> None:
    """Check ``lime_image(predict_proba, image, segments, ...)`` against lime's ``LimeImageExplainer``."""
    name = "lime_image"
    segments = np.zeros((8, 10), dtype=int)  # six superpixels on a non-square image
    segments[:, 4:] = 1
    segments[4:, :4] = 2
    segments[4:, 4:7] = 3
    segments[:2, 7:] = 4
    segments[6:, 7:] = 5
    rng = np.random.default_rng(33)
    image = 0.3 + 0.4 * rng.random((8, 10, 3))
    image[segments == 2] = [0.9, 0.8, 0.7]

    def classifier(images):  # class 1 when segment 2 is bright and segment 3 is dark-ish
        images = np.asarray(images, dtype=float)
        bright = images[:, segments == 2].mean(axis=(1, 2))
        dark = images[:, segments == 3].mean(axis=(1, 2))
        p1 = 1 / (1 + np.exp(-(8 * (bright - 0.5) - 3 * dark)))
        return np.column_stack([1 - p1, p1])

    image_before, segments_before = image.copy(), segments.copy()
    weights = as_array(call(func, classifier, image, segments, label=1, num_samples=150, hide_color=None,
                            random_state=0, name=name), name=name, shape=(6,), what="one weight per superpixel")
    _unchanged(image, image_before, name, "image")
    _unchanged(segments, segments_before, name, "segments")
    again = as_array(call(func, classifier, image, segments, label=1, num_samples=150, hide_color=None,
                          random_state=0, name=name), name=name, shape=(6,))
    if not np.array_equal(weights, again):
        raise CheckFailed(f"`{name}` gives different weights for the same random_state; draw the masks from "
                          "np.random.RandomState(random_state).")
    reference = _lime_image(classifier, image, segments, label=1, num_samples=150, hide_color=None, seed=0)
    if not _near(weights, reference):
        if _near(weights, _lime_image(classifier, image, segments, label=1, num_samples=150, hide_color=0.0, seed=0)):
            raise CheckFailed(f"`{name}` with hide_color=None fills switched-off superpixels with 0; fill each with its "
                              "own mean colour in the original image.")
        if _near(weights, _lime_image(classifier, image, segments, label=1, num_samples=150, hide_color=None, seed=0,
                                      kernel=lambda d, kernel_width: np.ones_like(d))):
            raise CheckFailed(f"`{name}` gives every mask the same weight; weigh each by the kernel of its distance "
                              "to the all-ones mask.")
        raise CheckFailed(f"`{name}` differs from lime's LimeImageExplainer with the same seed and segments; check the "
                          "masks (first one all ones), the cosine distance 1 - sqrt(k/M) and the kernel.")
    grey = as_array(call(func, classifier, image.copy(), segments.copy(), label=0, num_samples=120,
                         hide_color=(0.1, 0.2, 0.3), random_state=4, name=name), name=name, shape=(6,))
    if not _near(grey, _lime_image(classifier, image, segments, label=0, num_samples=120, hide_color=(0.1, 0.2, 0.3),
                                   seed=4)):
        raise CheckFailed(f"`{name}` with an RGB hide_color or another label differs from lime; fill every switched-off "
                          "pixel with hide_color and explain the probability of `label`.")
    passed(f"{name}: matches lime's LimeImageExplainer with the same seed, for the mean-colour and an RGB fill.")


# --- Shapley values ------------------------------------------------------------------------------

def _exact_shap(predict, x, background) -> np.ndarray:
    """Exact interventional Shapley values: shap's KernelExplainer over every coalition."""
    import shap

    M = len(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.KernelExplainer(predict, background)
        values = explainer.shap_values(np.asarray(x, dtype=float)[None], nsamples=2**M - 2, l1_reg=False, silent=True)
    return np.asarray(values, dtype=float).reshape(M)


@graded(answer="shapley_values", part="3", points=4,
        hint="lecture 3, §4 'Shapley values': v(S) is the MEAN prediction over the background rows with x's values in "
             "S (not the prediction at the mean row); weight each marginal contribution by |S|!(M-|S|-1)!/M!.")
def shapley_values(func) -> None:
    """Check ``shapley_values(predict, x, background)`` against shap (every coalition) on a 4-feature toy game."""
    name = "shapley_values"
    x, background = _toy_game()
    x_before, background_before = x.copy(), background.copy()
    phi = as_array(call(func, _toy_model, x, background, name=name), name=name, shape=(4,),
                   what="one value per feature")
    _unchanged(x, x_before, name, "x")
    _unchanged(background, background_before, name, "background")
    if abs(phi[3]) > 1e-9:
        raise CheckFailed(f"`{name}` gives {fmt(phi[3])} to a feature the model ignores; its marginal contribution "
                          "is 0 in every coalition, so its Shapley value must be 0.")
    gap = _toy_model(x[None])[0] - _toy_model(background).mean()
    if _near(phi, _exact_shap(_toy_model, x, background.mean(axis=0, keepdims=True))) and not _near(
            phi, _exact_shap(_toy_model, x, background)):
        raise CheckFailed(f"`{name}` replaces absent features by the mean row of the background; average the "
                          "predictions over every background row instead.")
    if abs(phi.sum() - gap) > 1e-8:
        raise CheckFailed(f"`{name}`: the values add up to {fmt(phi.sum())}, but they should add up to f(x) minus the "
                          f"average prediction over the background, {fmt(gap)} (efficiency).")
    if not _near(phi, _exact_shap(_toy_model, x, background), 1e-7):
        raise CheckFailed(f"`{name}` differs from shap's exact Shapley values on a game with a three-way interaction; "
                          "weight each coalition by |S|!(M-|S|-1)!/M! (a plain average is not the Shapley value).")
    passed(f"{name}: matches shap's exact Shapley values (every coalition, same background); 0 for an ignored feature.")


@graded(answer="kernel_shap", part="4", points=4,
        hint="lecture 3, §5 'KernelSHAP': codes 1..2^M-2 (all of them when n_samples allows), kernel (M-1)/(C(M,k) k (M-k)), "
             "a weighted fit WITHOUT intercept under the constraint sum(phi) = f(x) - v(∅).")
def kernel_shap(func) -> None:
    """Check ``kernel_shap(predict, x, background, *, n_samples, random_state)`` on a 4-feature toy game."""
    name = "kernel_shap"
    x, background = _toy_game()
    x_before, background_before = x.copy(), background.copy()
    phi = as_array(call(func, _toy_model, x, background, n_samples=100, random_state=0, name=name), name=name,
                   shape=(4,), what="one value per feature")
    _unchanged(x, x_before, name, "x")
    _unchanged(background, background_before, name, "background")
    gap = _toy_model(x[None])[0] - _toy_model(background).mean()
    sampled = as_array(call(func, _toy_model, x, background, n_samples=8, random_state=3, name=name), name=name,
                       shape=(4,))
    for values in (phi, sampled):
        if abs(values.sum() - gap) > 1e-8:
            raise CheckFailed(f"`{name}`: the values add up to {fmt(values.sum())} instead of f(x) minus the average "
                              f"prediction over the background, {fmt(gap)}; impose the efficiency constraint.")
    again = as_array(call(func, _toy_model, x, background, n_samples=8, random_state=3, name=name), name=name,
                     shape=(4,))
    if not np.array_equal(sampled, again):
        raise CheckFailed(f"`{name}` gives different values for the same random_state; draw the coalitions from "
                          "np.random.default_rng(random_state).")
    seen: list[np.ndarray] = []

    def recording(X):
        X = np.asarray(X, dtype=float)
        seen.append(X)
        return _toy_model(X)

    call(func, recording, x.copy(), background.copy(), n_samples=8, random_state=3, name=name)
    rows = np.vstack([X.reshape(-1, 4) for X in seen if X.size and X.shape[-1] == 4])
    codes = {int(c) for c in (np.isclose(rows, x).astype(int) << np.arange(4)).sum(axis=1)} - {0, 15}
    drawn = set(np.random.default_rng(3).choice(np.arange(1, 15), size=8, replace=False).tolist())
    if codes != drawn:
        raise CheckFailed(f"`{name}` with n_samples=8 evaluates other coalitions than the lab's recipe: 8 distinct "
                          "codes from rng.choice(np.arange(1, 2**M - 1), size=n_samples, replace=False).")
    if not _near(phi, _exact_shap(_toy_model, x, background), 1e-7):
        raise CheckFailed(f"`{name}` with every coalition differs from shap's exact Shapley values on a game with a "
                          "three-way interaction; check the Shapley kernel weights (binomial coefficient included).")
    w = np.array([1.5, -2.0, 0.0, 0.5])
    rng = np.random.default_rng(34)
    x5, background5 = rng.normal(size=4) + 1.0, rng.normal(size=(5, 4))
    linear = as_array(call(func, lambda X: np.asarray(X, dtype=float) @ w + 1.0, x5, background5, n_samples=6,
                           random_state=2, name=name), name=name, shape=(4,))
    if not _near(linear, w * (x5 - background5.mean(axis=0)), 1e-6):
        raise CheckFailed(f"`{name}` with 6 sampled coalitions does not recover a linear model exactly (w times x minus "
                          "the background mean); draw distinct codes with rng.choice(..., replace=False).")
    passed(f"{name}: exact with every coalition (shap), exact for a linear model from few coalitions, efficient, "
           "reproducible.")


summary = Summary("Lab 3", lime_tabular, lime_image, shapley_values, kernel_shap, written_points=8)
hint = summary.hint
install_not_written_handler(summary)
