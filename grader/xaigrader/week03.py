"""Hidden tests of lab 3: tabular LIME, image LIME, exact Shapley values, KernelSHAP.

The lab pins every random recipe (``np.random.RandomState(random_state)`` for both LIMEs,
``np.random.default_rng(random_state).choice(..., replace=False)`` for KernelSHAP's coalitions),
so every comparison is **exact** up to floating-point tolerance; no statistical test is left.

Oracles and properties:

- tabular LIME: lime's ``LimeTabularExplainer`` in regression mode with the options the lab
  specifies (``discretize_continuous=False``, all features, Ridge(alpha=1), the same seed, so
  both draw the same neighbourhood); and the exact linear case (no penalty): the weights of a
  linear model are its coefficients times the standard deviations.
- image LIME: lime's ``LimeImageExplainer`` with a fixed segmentation and seed, the superpixel-
  mean fill and a constant fill, on a non-square image and with a kernel width other than the
  default; and a synthetic classifier decided by a single superpixel, which must get by far the
  largest weight.
- exact Shapley values: shap's ``KernelExplainer`` enumerating every coalition
  (``nsamples = 2**M - 2``, ``l1_reg=False`` given to ``shap_values``), which is exact and equal
  to shap's Exact explainer with the same background (``tests/test_checks_week03.py`` proves it;
  the Exact explainer itself costs 8-15 s of numba compilation in every fresh kernel); the
  axioms efficiency, dummy and symmetry; and phi = w (x - mean) for a linear model.
- KernelSHAP: exact once every coalition is used, compared with the same oracle; exact for a
  linear model with few samples; with sampled coalitions, efficiency, reproducibility and an
  exact comparison with :func:`_kernel_shap_reference`, which draws the lab's coalitions and
  solves the constrained weighted least squares another way (its KKT system); the defaults
  (``n_samples=2048``, ``random_state=0``) are exercised on 12 features (4094 coalitions).

Tolerances accept float32 answers (the lab never asks for float64), relative to the largest
reference value: 1e-5 for the Shapley values, 1e-4 for the two LIMEs and KernelSHAP, whose
weighted regressions can lose more digits in float32 (answers computed entirely in float32 are
off by at most 3e-6 here, ``tests/test_checks_week03.py``). Every plausible mistake is off by far
more (``tests/wrong_answers``).

The callables handed to the answers (models, games) are defined at module level, in NumPy only.
"""

from __future__ import annotations

import warnings
from math import comb
from unittest import mock

import numpy as np

from .core import CheckFailed, as_array, call, expect_close, grading, passed, rng, unchanged

# The libraries the lab forbids in answers (they are the references).
FORBIDDEN = ("lime", "shap")
# Visible checks whose sentence the feedback cannot reuse: the check records the coalitions the model is asked about by a callback,
# which runs in the worker and records nothing here (the hidden test's sentence is shown).
NO_VISIBLE_FEEDBACK = ("kernel_shap",)
PRELOAD = ("sklearn.linear_model", "skimage.segmentation")  # what the worker imports before student code

# Wall-clock budget per call of the student's function, in seconds: about 10x the lab's solution
# on a busy 2-core machine with one thread, at least 5 s.
BUDGET_S = {"lime_tabular": 5, "lime_image": 5, "shapley_values": 5, "kernel_shap": 5}

RTOL_SHAPLEY = 1e-5  # relative to the largest reference value
RTOL_REGRESSION = 1e-4  # LIME and KernelSHAP: weighted least squares in float32 lose a few more digits


def _close(got, expected, *, name: str, reference: str, rtol: float) -> float:
    expected = np.asarray(expected, dtype=float)
    scale = float(np.abs(expected).max()) or 1.0
    return expect_close(got, expected, name=name, reference=reference, rtol=rtol, atol=rtol * scale)


class _Linear:
    """A linear model ``X @ w + b`` as a plain callable."""

    def __init__(self, w, b: float):
        self.w, self.b = np.asarray(w, dtype=float), float(b)

    def __call__(self, X):
        return np.asarray(X, dtype=float) @ self.w + self.b


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


def _tabular_model(X):
    """The black box of the tabular LIME test: nonlinear in every feature."""
    X = np.asarray(X, dtype=float)
    return np.sin(X[:, 0]) * X[:, 1] + 5 * X[:, 2] ** 2 + np.abs(X[:, 3] - 3)


def lime_tabular(func) -> None:
    """Tabular LIME against lime's explainer (same seed) and the exact linear case."""
    name = "lime_tabular"
    with grading(name):
        g = rng(9301)
        p = 4
        X_train = g.normal(size=(300, p)) * [1.0, 4.0, 0.3, 2.0] + [0.0, 10.0, -1.0, 3.0]
        x = X_train[17] + 0.3
        worst = 0.0
        for num_samples, kernel_width, seed in [(2000, None, 3), (700, 1.2, 17)]:
            expected = _lime_tabular_reference(_tabular_model, X_train, x, num_samples=num_samples,
                                                kernel_width=kernel_width, seed=seed)
            X_given, x_given = X_train.copy(), x.copy()
            got = as_array(call(func, _tabular_model, X_given, x_given, num_samples=num_samples,
                                kernel_width=kernel_width, random_state=seed, name=name),
                           name=name, shape=(p,), what="one weight per feature")
            unchanged(X_given, X_train, name)
            unchanged(x_given, x, name)
            worst = max(worst, _close(got, expected, name=name, reference=LIME_TABULAR, rtol=RTOL_REGRESSION))

        # Exact case: without a penalty the weighted fit reproduces a linear model, in standardized units.
        w = np.array([1.5, -0.25, 4.0, 0.0, 0.8])
        X_lin = g.normal(size=(200, 5)) * [2.0, 8.0, 0.5, 1.0, 3.0] + 1.0
        got = as_array(call(func, _Linear(w, 7.0), X_lin.copy(), X_lin[3].copy(), num_samples=300, alpha=0.0,
                            random_state=5, name=name),
                       name=name, shape=(5,), what="one weight per feature")
        _close(got, w * X_lin.std(axis=0), name=f"{name}(..., alpha=0)",
               reference="coefficient x standard deviation for a linear model", rtol=RTOL_REGRESSION)
    passed(f"{name} matches {LIME_TABULAR} (largest difference {worst:.1e}) and is exact for a linear model.")


# --- image LIME ----------------------------------------------------------------------------------

LIME_IMAGE = "lime's LimeImageExplainer (same segments, fill and seed)"


def _lime_image_reference(predict_proba, image, segments, *, label, num_samples, hide_color, seed,
                          kernel_width=0.25) -> np.ndarray:
    from lime import lime_image as lime_image_module
    from lime.lime_image import LimeImageExplainer

    explainer = LimeImageExplainer(kernel_width=kernel_width, feature_selection="none", random_state=seed)
    with mock.patch.object(lime_image_module, "tqdm", lambda rows, **_: rows):  # no progress bar in the feedback
        explanation = explainer.explain_instance(
            image, predict_proba, labels=(label,), top_labels=None, hide_color=hide_color, num_features=100000,
            num_samples=num_samples, batch_size=num_samples, segmentation_fn=lambda _: segments, random_seed=0,
        )
    weights = np.zeros(int(segments.max()) + 1)
    for segment, weight in explanation.local_exp[label]:
        weights[segment] = weight
    return weights


def _segments_of(seed: int, height: int, n_segments: int, width: int | None = None) -> np.ndarray:
    """A Voronoi partition of a height x width image into ``n_segments`` labelled 0..n_segments-1."""
    width = height if width is None else width
    g = rng(seed)
    centres = g.uniform(0, 1, size=(n_segments, 2)) * [height, width]
    yy, xx = np.mgrid[0:height, 0:width] + 0.5
    distances = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    labels = distances.argmin(axis=-1)
    _, labels = np.unique(labels, return_inverse=True)  # no empty label
    return labels.reshape(height, width)


def _softmax_classifier(images):
    """Three classes scored from colour statistics of regions of the image."""
    images = np.asarray(images, dtype=float)
    red_left = images[:, :, :8, 0].mean(axis=(1, 2))
    green_top = images[:, :6, :, 1].mean(axis=(1, 2))
    contrast = images.std(axis=(1, 2, 3))
    scores = np.column_stack([3 * red_left - green_top, 4 * green_top * red_left, 6 * contrast - 0.5])
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


class _DecidedBySegment:
    """A classifier that looks only at one superpixel (red there means class 1)."""

    def __init__(self, segments: np.ndarray, decisive: int):
        self.inside = np.asarray(segments) == decisive

    def __call__(self, images):
        images = np.asarray(images, dtype=float)
        redness = images[:, self.inside, 0].mean(axis=1)
        p1 = 1 / (1 + np.exp(-10 * (redness - 0.5)))
        return np.column_stack([1 - p1, p1])


def lime_image(func) -> None:
    """Image LIME against lime's explainer and on a classifier decided by one superpixel."""
    name = "lime_image"
    with grading(name):
        g = rng(9311)
        height, width = 14, 19  # not square
        image = np.clip(g.uniform(0.1, 0.9, size=(height, width, 3))
                        + 0.2 * np.sin(np.arange(width) / 3)[None, :, None], 0, 1)
        segments = _segments_of(9312, height, 11, width)
        worst = 0.0
        for label, num_samples, hide_color, kernel_width, seed in [(0, 300, None, None, 5),
                                                                   (2, 250, (0.1, 0.2, 0.3), 0.4, 8)]:
            options = {} if kernel_width is None else {"kernel_width": kernel_width}
            expected = _lime_image_reference(_softmax_classifier, image, segments, label=label,
                                             num_samples=num_samples, hide_color=hide_color, seed=seed,
                                             kernel_width=kernel_width or 0.25)
            image_given, segments_given = image.copy(), segments.copy()
            label_text = name if kernel_width is None else f"{name}(..., kernel_width={kernel_width})"
            got = as_array(call(func, _softmax_classifier, image_given, segments_given, label=label,
                                num_samples=num_samples, hide_color=hide_color, random_state=seed, name=name,
                                **options),
                           name=label_text, shape=expected.shape, what="one weight per superpixel")
            unchanged(image_given, image, name)
            unchanged(segments_given, segments, name)
            worst = max(worst, _close(got, expected, name=label_text, reference=LIME_IMAGE, rtol=RTOL_REGRESSION))

        # A classifier that looks only at superpixel `decisive` (red there means class 1).
        segments2 = _segments_of(9313, 20, 14)
        decisive = 9
        picture = np.full((20, 20, 3), 0.4) + 0.05 * rng(9314).normal(size=(20, 20, 3))
        picture[segments2 == decisive] = [0.95, 0.1, 0.1]
        got = as_array(call(func, _DecidedBySegment(segments2, decisive), picture, segments2.copy(), label=1,
                            num_samples=400, hide_color=0.0, random_state=2, name=name),
                       name=name, shape=(14,), what="one weight per superpixel")
        others = np.abs(np.delete(got, decisive)).max()
        if int(np.argmax(got)) != decisive or got[decisive] < 5 * others:
            raise CheckFailed(
                f"`{name}`: for a classifier decided by superpixel {decisive} alone, that superpixel should get by far "
                f"the largest weight; you give it {got[decisive]:.3g} and another one {others:.3g}."
            )
    passed(f"{name} matches {LIME_IMAGE} on a non-square image, for two fills and kernel widths (largest difference "
           f"{worst:.1e}), and finds the superpixel that decides.")


# --- exact Shapley values ------------------------------------------------------------------------

SHAP_EXACT = "shap's exact Shapley values (all coalitions, same background)"


def _game(X):
    """A game on 7 features, symmetric in features 3 and 4, that ignores feature 6."""
    X = np.asarray(X, dtype=float)
    return np.cos(X[:, 0]) * X[:, 1] + X[:, 3] * X[:, 4] * X[:, 2] + (X[:, 3] + X[:, 4]) ** 2 + X[:, 5]


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
        worst = _close(got, expected, name=name, reference=SHAP_EXACT, rtol=RTOL_SHAPLEY)

        # 2. Axioms on a fresh game: efficiency, dummy (feature 6 ignored), symmetry (features 3 and 4).
        x, background = _problem(9322, 7, 20)
        x[4] = x[3]
        background = np.vstack([background, background[:, [0, 1, 2, 4, 3, 5, 6]]])  # symmetric in 3 and 4
        got = as_array(call(func, _game, x.copy(), background.copy(), name=name), name=name, shape=(7,))
        gap = _game(x[None])[0] - _game(background).mean()
        scale = max(np.abs(got).max(), abs(gap), 1.0)
        if abs(got.sum() - gap) > RTOL_SHAPLEY * scale:
            raise CheckFailed(f"`{name}` breaks efficiency: your values add up to {got.sum():.6g}, but f(x) minus the "
                              f"average prediction over the background is {gap:.6g}.")
        if abs(got[6]) > RTOL_SHAPLEY * scale:
            raise CheckFailed(f"`{name}` breaks the dummy axiom: a feature the model ignores gets {got[6]:.3g} instead of 0.")
        if abs(got[3] - got[4]) > RTOL_SHAPLEY * scale:
            raise CheckFailed(f"`{name}` breaks symmetry: two interchangeable features get {got[3]:.6g} and {got[4]:.6g}.")

        # 3. A linear model: phi_j = w_j (x_j - mean of the background).
        w = np.array([2.0, -1.0, 0.5, 0.0, 3.0])
        x, background = _problem(9323, 5, 15)
        got = as_array(call(func, _Linear(w, -4.0), x.copy(), background.copy(), name=name), name=name, shape=(5,))
        _close(got, w * (x - background.mean(axis=0)), name=name,
               reference="w (x - mean of the background) for a linear model", rtol=RTOL_SHAPLEY)
    passed(f"{name} matches {SHAP_EXACT} (largest difference {worst:.1e}) and satisfies efficiency, dummy and symmetry.")


# --- KernelSHAP ----------------------------------------------------------------------------------

def _kernel_shap_reference(predict, x, background, *, n_samples=2048, random_state=0) -> np.ndarray:
    """The lab's coalitions, drawn with its recipe; the constrained weighted least squares solved via its KKT system."""
    x, background = np.asarray(x, dtype=float), np.asarray(background, dtype=float)
    M = len(x)
    codes = np.arange(1, 2**M - 1)
    if n_samples < len(codes):
        codes = np.random.default_rng(random_state).choice(codes, size=n_samples, replace=False)
    Z = (codes[:, None] >> np.arange(M)) & 1
    k = Z.sum(axis=1)
    pi = (M - 1) / (np.array([comb(M, int(s)) for s in k]) * k * (M - k))
    values = np.asarray(predict(np.where(Z[:, None, :] == 1, x, background[None]).reshape(-1, M)), dtype=float)
    values = values.reshape(len(Z), len(background)).mean(axis=1)
    base = float(np.mean(predict(background)))
    gap = float(np.asarray(predict(x[None]))[0]) - base
    kkt = np.block([[Z.T @ (pi[:, None] * Z), np.ones((M, 1))], [np.ones((1, M)), np.zeros((1, 1))]])
    rhs = np.append(Z.T @ (pi * (values - base)), gap)
    return np.linalg.solve(kkt, rhs)[:M]


KERNEL_RECIPE = ("the lab's KernelSHAP recipe (the same coalitions from np.random.default_rng(random_state)"
                 ".choice(..., replace=False), Shapley-kernel weights, the efficiency constraint)")


def kernel_shap(func) -> None:
    """KernelSHAP: exact with every coalition, exact for linear models, and exactly the lab's sampling recipe."""
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
        worst = _close(got, expected, name=f"{name}(..., n_samples=2**M - 2)",
                       reference="shap.KernelExplainer with every coalition (the exact Shapley values)",
                       rtol=RTOL_REGRESSION)

        # 2. A linear model is recovered exactly even from a few coalitions.
        w = np.array([1.0, -2.0, 0.0, 0.5, 3.0, -1.5, 0.25])
        x, background = _problem(9332, 7, 12)
        got = as_array(call(func, _Linear(w, 1.0), x.copy(), background.copy(), n_samples=40, random_state=1,
                            name=name), name=name, shape=(7,))
        _close(got, w * (x - background.mean(axis=0)), name=f"{name}(..., n_samples=40)",
               reference="w (x - mean of the background) for a linear model", rtol=RTOL_REGRESSION)

        # 3. Sampled coalitions: the efficiency constraint holds; the same seed gives the same values;
        #    the values are those of the lab's recipe.
        x, background = _problem(9333, 8, 15)
        got = as_array(call(func, _nonlinear, x.copy(), background.copy(), n_samples=60, random_state=4, name=name),
                       name=name, shape=(8,))
        gap = _nonlinear(x[None])[0] - _nonlinear(background).mean()
        if abs(got.sum() - gap) > RTOL_REGRESSION * max(np.abs(got).max(), abs(gap), 1.0):
            raise CheckFailed(f"`{name}` with sampled coalitions breaks efficiency: the values add up to "
                              f"{got.sum():.6g} instead of f(x) - E f = {gap:.6g}; impose the constraint.")
        again = as_array(call(func, _nonlinear, x.copy(), background.copy(), n_samples=60, random_state=4, name=name),
                         name=name, shape=(8,))
        if not np.array_equal(got, again):
            raise CheckFailed(f"`{name}` is not reproducible: the same random_state must give the same values.")
        expected = _kernel_shap_reference(_nonlinear, x, background, n_samples=60, random_state=4)
        worst = max(worst, _close(got, expected, name=f"{name}(..., n_samples=60)", reference=KERNEL_RECIPE,
                                  rtol=RTOL_REGRESSION))

        # 4. 800 of 1022 coalitions, and the defaults (n_samples=2048 of 4094 coalitions, random_state=0).
        for M, n_background, options in [(10, 20, dict(n_samples=800, random_state=7)), (12, 6, {})]:
            x, background = _problem(9324 + M, M, n_background)
            label = f"{name}(..., n_samples=800)" if options else f"{name} with its default n_samples and random_state"
            got = as_array(call(func, _nonlinear, x.copy(), background.copy(), name=name, **options), name=label,
                           shape=(M,), what="one value per feature")
            expected = _kernel_shap_reference(_nonlinear, x, background, **options)
            worst = max(worst, _close(got, expected, name=label, reference=KERNEL_RECIPE, rtol=RTOL_REGRESSION))
    passed(f"{name} is exact with every coalition, exact for a linear model, and draws exactly the lab's coalitions "
           f"(largest difference {worst:.1e}).")
