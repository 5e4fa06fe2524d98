"""Hidden tests of lab 3: tabular LIME, image LIME, exact Shapley values, KernelSHAP.

Oracles and properties:

- tabular LIME: lime's ``LimeTabularExplainer`` in regression mode with the options the lab
  specifies (``discretize_continuous=False``, all features, Ridge(alpha=1), the same seed, so
  both draw the same neighbourhood): equal to 1e-6 relative; and the exact linear case (no
  penalty): the weights of a linear model are its coefficients times the standard deviations.
- image LIME: lime's ``LimeImageExplainer`` with a fixed segmentation and seed, the superpixel-
  mean fill and a constant fill: equal to 1e-6 relative; and a synthetic classifier decided by
  a single superpixel, which must get by far the largest weight.
- exact Shapley values: shap's ``KernelExplainer`` enumerating every coalition
  (``nsamples = 2**M - 2``, ``l1_reg=False`` given to ``shap_values``), which is exact and equal
  to shap's Exact explainer with the same background (``tests/test_checks_week03.py`` proves it;
  the Exact explainer itself costs 8-15 s of numba compilation in every fresh kernel); the
  axioms efficiency (1e-6), dummy and symmetry; and phi = w (x - mean) for a linear model.
- KernelSHAP: exact (1e-7) once every coalition is used, compared with the same oracle and
  ``shap.KernelExplainer``; exact for a linear model with few samples; efficiency to 1e-6 and
  reproducibility when sampling; with 800 of 1022 coalitions within 25 % of the largest exact
  value (calibrated: over 200 seeds a correct answer's largest error is 6 % in the median and 15 %
  at worst) and within 30 % of ``shap.KernelExplainer`` with the same budget (whose own error is
  below 3 %).
"""

from __future__ import annotations

import warnings
from unittest import mock

import numpy as np

from .core import CheckFailed, as_array, call, expect_close, grading, passed, rng, unchanged

# --- shared problems -----------------------------------------------------------------------------


def _nonlinear(X):
    """A model with interactions of order 2 and 3 (Shapley and Banzhaf values differ)."""
    X = np.asarray(X, dtype=float)
    out = np.sin(X[:, 0]) * X[:, 1] + X[:, 0] ** 2 + np.exp(0.3 * X[:, 2])
    if X.shape[1] >= 5:
        out = out + X[:, 2] * X[:, 3] * X[:, 4]
    if X.shape[1] >= 8:
        out = out + np.tanh(X[:, 5] * X[:, 6]) * X[:, 7]
    return out


def _oracle_shapley(predict, x, background) -> np.ndarray:
    """Exact interventional Shapley values: shap's KernelExplainer over every coalition."""
    import shap

    M = len(x)
    explainer = shap.KernelExplainer(predict, background)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = explainer.shap_values(np.asarray(x, dtype=float)[None], nsamples=2**M - 2, l1_reg=False, silent=True)
    return np.asarray(values, dtype=float).reshape(M)


def _shap_kernel(predict, x, background, *, nsamples: int, seed: int) -> np.ndarray:
    """shap.KernelExplainer with a sampling budget (it draws from NumPy's global generator)."""
    import shap

    state = np.random.get_state()
    np.random.seed(seed)
    try:
        explainer = shap.KernelExplainer(predict, background)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = explainer.shap_values(np.asarray(x, dtype=float)[None], nsamples=nsamples, l1_reg=False,
                                           silent=True)
    finally:
        np.random.set_state(state)
    return np.asarray(values, dtype=float).reshape(len(x))


def _problem(seed: int, M: int, n_background: int):
    g = rng(seed)
    background = g.normal(size=(n_background, M)) * g.uniform(0.5, 2.0, size=M) + g.normal(size=M)
    x = background.mean(axis=0) + 1.5 * g.normal(size=M)
    return x, background


# --- tabular LIME --------------------------------------------------------------------------------

LIME_TABULAR = "lime's LimeTabularExplainer (regression, discretize_continuous=False, same seed)"


def _lime_tabular_reference(predict, X_train, x, *, num_samples, kernel_width, seed) -> np.ndarray:
    from lime.lime_tabular import LimeTabularExplainer

    explainer = LimeTabularExplainer(X_train, mode="regression", discretize_continuous=False,
                                     kernel_width=kernel_width, feature_selection="none", random_state=seed)
    explanation = explainer.explain_instance(x, predict, num_features=X_train.shape[1], num_samples=num_samples)
    weights = np.zeros(X_train.shape[1])
    for feature, weight in explanation.local_exp[1]:
        weights[feature] = weight
    return weights


def lime_tabular(func) -> None:
    """Tabular LIME against lime's explainer (same seed) and the exact linear case."""
    name = "lime_tabular"
    with grading(name):
        g = rng(9301)
        p = 4
        X_train = g.normal(size=(300, p)) * [1.0, 4.0, 0.3, 2.0] + [0.0, 10.0, -1.0, 3.0]

        def predict(X):
            X = np.asarray(X, dtype=float)
            return np.sin(X[:, 0]) * X[:, 1] + 5 * X[:, 2] ** 2 + np.abs(X[:, 3] - 3)

        x = X_train[17] + 0.3
        worst = 0.0
        for num_samples, kernel_width, seed in [(2000, None, 3), (700, 1.2, 17)]:
            expected = _lime_tabular_reference(predict, X_train, x, num_samples=num_samples,
                                                kernel_width=kernel_width, seed=seed)
            X_given, x_given = X_train.copy(), x.copy()
            got = as_array(call(func, predict, X_given, x_given, num_samples=num_samples, kernel_width=kernel_width,
                                random_state=seed, name=name),
                           name=name, shape=(p,), what="one weight per feature")
            unchanged(X_given, X_train, name)
            unchanged(x_given, x, name)
            scale = np.abs(expected).max()
            worst = max(worst, expect_close(got, expected, name=name, reference=LIME_TABULAR,
                                            rtol=1e-6, atol=1e-9 * scale))

        # Exact case: without a penalty the weighted fit reproduces a linear model, in standardized units.
        w = np.array([1.5, -0.25, 4.0, 0.0, 0.8])
        X_lin = g.normal(size=(200, 5)) * [2.0, 8.0, 0.5, 1.0, 3.0] + 1.0
        got = as_array(call(func, lambda X: np.asarray(X, dtype=float) @ w + 7.0, X_lin.copy(), X_lin[3].copy(),
                            num_samples=300, alpha=0.0, random_state=5, name=name),
                       name=name, shape=(5,), what="one weight per feature")
        expect_close(got, w * X_lin.std(axis=0), name=f"{name}(..., alpha=0)",
                     reference="coefficient x standard deviation for a linear model", rtol=1e-6, atol=1e-8)
    passed(f"{name} matches {LIME_TABULAR} (largest difference {worst:.1e}) and is exact for a linear model.")


# --- image LIME ----------------------------------------------------------------------------------

LIME_IMAGE = "lime's LimeImageExplainer (same segments, fill and seed)"


def _lime_image_reference(predict_proba, image, segments, *, label, num_samples, hide_color, seed) -> np.ndarray:
    from lime import lime_image as lime_image_module
    from lime.lime_image import LimeImageExplainer

    explainer = LimeImageExplainer(kernel_width=0.25, feature_selection="none", random_state=seed)
    with mock.patch.object(lime_image_module, "tqdm", lambda rows, **_: rows):  # no progress bar in the feedback
        explanation = explainer.explain_instance(
            image, predict_proba, labels=(label,), top_labels=None, hide_color=hide_color, num_features=100000,
            num_samples=num_samples, batch_size=num_samples, segmentation_fn=lambda _: segments, random_seed=0,
        )
    weights = np.zeros(int(segments.max()) + 1)
    for segment, weight in explanation.local_exp[label]:
        weights[segment] = weight
    return weights


def _segments_of(seed: int, size: int, n_segments: int) -> np.ndarray:
    """A Voronoi partition of the image into ``n_segments`` labelled 0..n_segments-1."""
    g = rng(seed)
    centres = g.uniform(0, size, size=(n_segments, 2))
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    distances = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    labels = distances.argmin(axis=-1)
    _, labels = np.unique(labels, return_inverse=True)  # no empty label
    return labels.reshape(size, size)


def _softmax_classifier(images):
    """Three classes scored from colour statistics of regions of the image."""
    images = np.asarray(images, dtype=float)
    red_left = images[:, :, :8, 0].mean(axis=(1, 2))
    green_top = images[:, :6, :, 1].mean(axis=(1, 2))
    contrast = images.std(axis=(1, 2, 3))
    scores = np.column_stack([3 * red_left - green_top, 4 * green_top * red_left, 6 * contrast - 0.5])
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


def lime_image(func) -> None:
    """Image LIME against lime's explainer and on a classifier decided by one superpixel."""
    name = "lime_image"
    with grading(name):
        g = rng(9311)
        size = 16
        image = np.clip(g.uniform(0.1, 0.9, size=(size, size, 3)) + 0.2 * np.sin(np.arange(size) / 3)[:, None, None], 0, 1)
        segments = _segments_of(9312, size, 11)
        worst = 0.0
        for label, num_samples, hide_color, seed in [(0, 300, None, 5), (2, 250, (0.1, 0.2, 0.3), 8)]:
            expected = _lime_image_reference(_softmax_classifier, image, segments, label=label,
                                             num_samples=num_samples, hide_color=hide_color, seed=seed)
            image_given, segments_given = image.copy(), segments.copy()
            got = as_array(call(func, _softmax_classifier, image_given, segments_given, label=label,
                                num_samples=num_samples, hide_color=hide_color, random_state=seed, name=name),
                           name=name, shape=expected.shape, what="one weight per superpixel")
            unchanged(image_given, image, name)
            unchanged(segments_given, segments, name)
            scale = np.abs(expected).max()
            worst = max(worst, expect_close(got, expected, name=name, reference=LIME_IMAGE,
                                            rtol=1e-6, atol=1e-7 * scale))

        # A classifier that looks only at superpixel `decisive` (red there means class 1).
        segments2 = _segments_of(9313, 20, 14)
        decisive = 9
        picture = np.full((20, 20, 3), 0.4) + 0.05 * rng(9314).normal(size=(20, 20, 3))
        picture[segments2 == decisive] = [0.95, 0.1, 0.1]

        def decided_by_one_segment(images):
            images = np.asarray(images, dtype=float)
            redness = images[:, segments2 == decisive, 0].mean(axis=1)
            p1 = 1 / (1 + np.exp(-10 * (redness - 0.5)))
            return np.column_stack([1 - p1, p1])

        got = as_array(call(func, decided_by_one_segment, picture, segments2.copy(), label=1, num_samples=400,
                            hide_color=0.0, random_state=2, name=name),
                       name=name, shape=(14,), what="one weight per superpixel")
        others = np.abs(np.delete(got, decisive)).max()
        if int(np.argmax(got)) != decisive or got[decisive] < 5 * others:
            raise CheckFailed(
                f"`{name}`: for a classifier decided by superpixel {decisive} alone, that superpixel should get by far "
                f"the largest weight; you give it {got[decisive]:.3g} and another one {others:.3g}."
            )
    passed(f"{name} matches {LIME_IMAGE} (largest difference {worst:.1e}) and finds the superpixel that decides.")


# --- exact Shapley values ------------------------------------------------------------------------

SHAP_EXACT = "shap's exact Shapley values (all coalitions, same background)"


def shapley_values(func) -> None:
    """Exact Shapley values against shap, the axioms, and a linear model."""
    name = "shapley_values"
    with grading(name):
        # 1. Against shap on a model with interactions.
        x, background = _problem(9321, 6, 25)
        expected = _oracle_shapley(_nonlinear, x, background)
        x_given, background_given = x.copy(), background.copy()
        got = as_array(call(func, _nonlinear, x_given, background_given, name=name), name=name, shape=(6,),
                       what="one value per feature")
        unchanged(x_given, x, name)
        unchanged(background_given, background, name)
        worst = expect_close(got, expected, name=name, reference=SHAP_EXACT, rtol=1e-7, atol=1e-9)

        # 2. Axioms on a fresh game: efficiency, dummy (feature 6 ignored), symmetry (features 3 and 4).
        x, background = _problem(9322, 7, 20)
        x[4] = x[3]
        background = np.vstack([background, background[:, [0, 1, 2, 4, 3, 5, 6]]])  # symmetric in 3 and 4

        def game(X):
            X = np.asarray(X, dtype=float)
            return np.cos(X[:, 0]) * X[:, 1] + X[:, 3] * X[:, 4] * X[:, 2] + (X[:, 3] + X[:, 4]) ** 2 + X[:, 5]

        got = as_array(call(func, game, x.copy(), background.copy(), name=name), name=name, shape=(7,))
        gap = game(x[None])[0] - game(background).mean()
        if abs(got.sum() - gap) > 1e-6:
            raise CheckFailed(f"`{name}` breaks efficiency: your values add up to {got.sum():.6g}, but f(x) minus the "
                              f"average prediction over the background is {gap:.6g}.")
        if abs(got[6]) > 1e-9:
            raise CheckFailed(f"`{name}` breaks the dummy axiom: a feature the model ignores gets {got[6]:.3g} instead of 0.")
        if abs(got[3] - got[4]) > 1e-9 * max(1.0, abs(got[3])):
            raise CheckFailed(f"`{name}` breaks symmetry: two interchangeable features get {got[3]:.6g} and {got[4]:.6g}.")

        # 3. A linear model: phi_j = w_j (x_j - mean of the background).
        w = np.array([2.0, -1.0, 0.5, 0.0, 3.0])
        x, background = _problem(9323, 5, 15)
        got = as_array(call(func, lambda X: np.asarray(X, dtype=float) @ w - 4.0, x.copy(), background.copy(),
                            name=name), name=name, shape=(5,))
        expect_close(got, w * (x - background.mean(axis=0)), name=name,
                     reference="w (x - mean of the background) for a linear model", rtol=1e-9, atol=1e-9)
    passed(f"{name} matches {SHAP_EXACT} (largest difference {worst:.1e}) and satisfies efficiency, dummy and symmetry.")


# --- KernelSHAP ----------------------------------------------------------------------------------

def kernel_shap(func) -> None:
    """KernelSHAP: exact with every coalition, exact for linear models, efficient, converging."""
    name = "kernel_shap"
    with grading(name):
        # 1. Every coalition: the constrained weighted regression gives the exact Shapley values.
        x, background = _problem(9331, 6, 25)
        expected = _oracle_shapley(_nonlinear, x, background)
        x_given, background_given = x.copy(), background.copy()
        got = as_array(call(func, _nonlinear, x_given, background_given, n_samples=2**6 - 2, random_state=0,
                            name=name), name=name, shape=(6,), what="one value per feature")
        unchanged(x_given, x, name)
        unchanged(background_given, background, name)
        worst = expect_close(got, expected, name=f"{name}(..., n_samples=2**M - 2)",
                             reference="shap.KernelExplainer with every coalition (the exact Shapley values)",
                             rtol=1e-7, atol=1e-9)

        # 2. A linear model is recovered exactly even from a few coalitions.
        w = np.array([1.0, -2.0, 0.0, 0.5, 3.0, -1.5, 0.25])
        x, background = _problem(9332, 7, 12)
        got = as_array(call(func, lambda X: np.asarray(X, dtype=float) @ w + 1.0, x.copy(), background.copy(),
                            n_samples=40, random_state=1, name=name), name=name, shape=(7,))
        expect_close(got, w * (x - background.mean(axis=0)), name=f"{name}(..., n_samples=40)",
                     reference="w (x - mean of the background) for a linear model", rtol=1e-6, atol=1e-8)

        # 3. Sampled coalitions: the efficiency constraint holds exactly; the same seed gives the same values.
        x, background = _problem(9333, 8, 15)
        got = as_array(call(func, _nonlinear, x.copy(), background.copy(), n_samples=60, random_state=4, name=name),
                       name=name, shape=(8,))
        gap = _nonlinear(x[None])[0] - _nonlinear(background).mean()
        if abs(got.sum() - gap) > 1e-6:
            raise CheckFailed(f"`{name}` with sampled coalitions breaks efficiency: the values add up to "
                              f"{got.sum():.6g} instead of f(x) - E f = {gap:.6g}; impose the constraint.")
        again = as_array(call(func, _nonlinear, x.copy(), background.copy(), n_samples=60, random_state=4, name=name),
                         name=name, shape=(8,))
        if not np.array_equal(got, again):
            raise CheckFailed(f"`{name}` is not reproducible: the same random_state must give the same values.")

        # 4. Convergence: 800 of the 1022 coalitions land close to the exact values and to shap's estimate.
        x, background = _problem(9334, 10, 20)
        exact = _oracle_shapley(_nonlinear, x, background)
        got = as_array(call(func, _nonlinear, x.copy(), background.copy(), n_samples=800, random_state=7, name=name),
                       name=name, shape=(10,))
        scale = np.abs(exact).max()
        error = np.abs(got - exact).max()
        if error > 0.25 * scale:
            raise CheckFailed(f"`{name}` with 800 of 1022 coalitions is {error:.3g} away from the exact Shapley values "
                              f"(tolerance {0.25 * scale:.3g}, 25 % of the largest value); check the kernel weights.")
        reference = _shap_kernel(_nonlinear, x, background, nsamples=800, seed=7)
        gap_shap = np.abs(got - reference).max()
        if gap_shap > 0.30 * scale:
            raise CheckFailed(f"`{name}` with 800 coalitions differs from shap.KernelExplainer by {gap_shap:.3g} "
                              f"(tolerance {0.30 * scale:.3g}, 30 % of the largest value).")
    passed(f"{name} is exact with every coalition (largest difference {worst:.1e}), exact for a linear model, "
           f"efficient, and with 800 of 1022 coalitions within {error / scale:.0%} of the exact values.")
