"""Visible checks of lab 3 (local explanations: LIME and SHAP).

Each check runs the student's function on a tiny toy problem and reports shape, type,
in-place modification, reproducibility and obvious mistakes in one sentence. The hidden
tests compare with lime and shap and with exact properties on inputs the student never sees.
"""

from __future__ import annotations

import numpy as np

from . import CheckFailed, as_array, call, fmt, passed

__all__ = ["kernel_shap", "lime_image", "lime_tabular", "shapley_values"]


def _unchanged(array: np.ndarray, before: np.ndarray, name: str, what: str = "X") -> None:
    if not np.array_equal(array, before):
        raise CheckFailed(f"`{name}` changed the {what} it was given; work on a copy so the data stay intact.")


def _toy_model(X):
    """f(x) = 2 x0 + x1 * x2; ignores x3."""
    X = np.asarray(X, dtype=float)
    return 2 * X[:, 0] + X[:, 1] * X[:, 2]


def _toy_game():
    rng = np.random.default_rng(31)
    background = np.round(rng.normal(size=(6, 4)), 2)
    x = np.array([1.0, 2.0, -1.0, 0.5])
    return x, background


# --- LIME ----------------------------------------------------------------------------------------

def lime_tabular(func) -> None:
    """Check ``lime_tabular(predict, X_train, x, *, num_samples, kernel_width, alpha, random_state)``."""
    name = "lime_tabular"
    rng = np.random.default_rng(32)
    scales = np.array([1.0, 10.0, 0.1])
    X_train = rng.normal(size=(200, 3)) * scales + [0.0, 50.0, 1.0]
    x = X_train[0] + [0.5, -3.0, 0.02]

    def linear(X):  # ignores feature 2
        X = np.asarray(X, dtype=float)
        return 2.0 * X[:, 0] - 0.3 * X[:, 1]

    X_before, x_before = X_train.copy(), x.copy()
    weights = as_array(call(func, linear, X_train, x, num_samples=400, random_state=0, name=name), name=name,
                       shape=(3,), what="one weight per feature")
    _unchanged(X_train, X_before, name, "X_train")
    _unchanged(x, x_before, name, "x")
    again = as_array(call(func, linear, X_train, x, num_samples=400, random_state=0, name=name), name=name, shape=(3,))
    if not np.array_equal(weights, again):
        raise CheckFailed(f"`{name}` gives different weights for the same random_state; draw every sample from "
                          "one generator, np.random.RandomState(random_state).")
    standardized = np.array([2.0, -0.3, 0.0]) * X_train.std(axis=0)
    if np.allclose(weights[:2], [2.0, -0.3], rtol=0.05):
        raise CheckFailed(f"`{name}` returns the weights in the features' own units ({fmt(weights[0])}, "
                          f"{fmt(weights[1])}); fit the surrogate on the standardized samples instead.")
    if not np.allclose(weights, standardized, rtol=0.05, atol=0.02):
        raise CheckFailed(f"`{name}`: for the linear model 2 x0 - 0.3 x1 the weights should be close to "
                          f"coefficient x standard deviation, but you return {np.round(weights, 3).tolist()}.")
    passed(f"{name}: shape {weights.shape}, finite, inputs untouched, reproducible, recovers a linear model.")


def _quadrant_segments(size: int = 8) -> np.ndarray:
    half = size // 2
    rows, cols = np.mgrid[0:size, 0:size]
    return (rows >= half) * 2 + (cols >= half)  # 0 1 / 2 3


def lime_image(func) -> None:
    """Check ``lime_image(predict_proba, image, segments, *, label, num_samples, hide_color, random_state)``."""
    name = "lime_image"
    segments = _quadrant_segments()
    rng = np.random.default_rng(33)
    image = 0.4 + 0.1 * rng.random((8, 8, 3))
    image[segments == 2] = [0.9, 0.9, 0.9]

    def bright_bottom_left(images):  # class 1 when the bottom-left quadrant (segment 2) is bright
        images = np.asarray(images, dtype=float)
        brightness = images[:, 4:, :4].mean(axis=(1, 2, 3))
        p1 = 1 / (1 + np.exp(-12 * (brightness - 0.5)))
        return np.column_stack([1 - p1, p1])

    image_before, segments_before = image.copy(), segments.copy()
    weights = as_array(call(func, bright_bottom_left, image, segments, label=1, num_samples=200, hide_color=0.0,
                            random_state=0, name=name), name=name, shape=(4,), what="one weight per superpixel")
    _unchanged(image, image_before, name, "image")
    _unchanged(segments, segments_before, name, "segments")
    again = as_array(call(func, bright_bottom_left, image, segments, label=1, num_samples=200, hide_color=0.0,
                          random_state=0, name=name), name=name, shape=(4,))
    if not np.array_equal(weights, again):
        raise CheckFailed(f"`{name}` gives different weights for the same random_state; draw the masks from "
                          "np.random.RandomState(random_state).")
    if int(np.argmax(weights)) != 2:
        raise CheckFailed(f"`{name}`: the toy classifier looks only at superpixel 2, which should get the largest "
                          f"weight; you return {np.round(weights, 3).tolist()}.")
    flat = as_array(call(func, bright_bottom_left, image, segments, label=1, num_samples=200, hide_color=None,
                         random_state=0, name=name), name=name, shape=(4,))
    if np.abs(flat[2]) > 0.5 * np.abs(weights[2]):
        raise CheckFailed(f"`{name}` with hide_color=None should fill a switched-off superpixel with its own mean "
                          "colour, which leaves the uniform superpixel 2 unchanged (so its weight is small).")
    passed(f"{name}: shape {weights.shape}, finite, inputs untouched, reproducible, finds the deciding superpixel.")


# --- Shapley values ------------------------------------------------------------------------------

def shapley_values(func) -> None:
    """Check ``shapley_values(predict, x, background)`` on a 4-feature toy game."""
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
    if abs(phi.sum() - gap) > 1e-8:
        raise CheckFailed(f"`{name}`: the values add up to {fmt(phi.sum())}, but they should add up to f(x) minus the "
                          f"average prediction over the background, {fmt(gap)} (efficiency).")
    passed(f"{name}: shape {phi.shape}, finite, inputs untouched, 0 for an ignored feature, efficient.")


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
    if abs(phi[3]) > 1e-8:
        raise CheckFailed(f"`{name}` with every coalition gives {fmt(phi[3])} to a feature the model ignores; "
                          "with all 14 coalitions and the Shapley kernel weights it must be 0.")
    passed(f"{name}: shape {phi.shape}, finite, inputs untouched, efficient, reproducible, 0 for an ignored feature.")
