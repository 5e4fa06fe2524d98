"""A small image classifier for the synthetic shapes, trained in about a second on a CPU.

The classifier describes each image by its histograms of oriented gradients (HOG, from
scikit-image: the directions of the edges in each 8x8 cell) and puts a logistic regression
on top. It separates circles, squares and triangles almost perfectly, and from the outside
it is a black box that maps a batch of images to class probabilities, which is all that
image LIME needs. Defined in week 3 (image LIME).

Images are channels-last arrays ``(n, height, width, 3)`` with values in [0, 1], the layout
of scikit-image and lime; ``xaikit.images.make_shapes`` returns channels-first arrays (the
PyTorch layout), so transpose them with ``images.transpose(0, 2, 3, 1)``.
"""

from __future__ import annotations

import numpy as np
from skimage.feature import hog
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

__all__ = ["fit_shapes_classifier", "hog_features"]


def _check_images(images) -> np.ndarray:
    images = np.asarray(images, dtype=float)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(
            "images must be a channels-last batch of shape (n, height, width, 3); "
            f"got shape {images.shape} (for make_shapes output use images.transpose(0, 2, 3, 1))"
        )
    return images


def hog_features(images: np.ndarray, *, pixels_per_cell: int = 8) -> np.ndarray:
    """Histogram-of-oriented-gradients features of a batch of RGB images.

    Parameters
    ----------
    images : ndarray of shape (n, height, width, 3)
        Channels-last images with values in [0, 1].
    pixels_per_cell : int
        Side of the square cells whose gradient directions are histogrammed (9 bins, blocks of
        2 x 2 cells).

    Returns
    -------
    ndarray of shape (n, n_features)

    Examples
    --------
    >>> hog_features(np.zeros((2, 32, 32, 3))).shape
    (2, 324)
    """
    images = _check_images(images)
    cell = (pixels_per_cell, pixels_per_cell)
    return np.array([hog(image, orientations=9, pixels_per_cell=cell, cells_per_block=(2, 2), channel_axis=-1)
                     for image in images])


def fit_shapes_classifier(images: np.ndarray, labels: np.ndarray, *, C: float = 0.1) -> Pipeline:
    """Fit the course's shape classifier: HOG features, standardised, then logistic regression.

    Parameters
    ----------
    images : ndarray of shape (n, height, width, 3)
        Channels-last training images with values in [0, 1].
    labels : ndarray of shape (n,)
        Class indices (0, 1, ...).
    C : float
        Inverse strength of the L2 penalty of the logistic regression.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted; ``predict_proba(images)`` takes a channels-last batch and returns an array of
        shape (n, n_classes). The fit is deterministic (no random state is involved).

    Examples
    --------
    >>> from xaikit.images import make_shapes
    >>> shapes = make_shapes(60, random_state=0)
    >>> clf = fit_shapes_classifier(shapes.images.transpose(0, 2, 3, 1), shapes.labels)
    >>> clf.predict_proba(shapes.images[:2].transpose(0, 2, 3, 1)).shape
    (2, 3)
    """
    images = _check_images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels must have one entry per image; got {labels.shape} for {len(images)} images")
    model = Pipeline([
        ("hog", FunctionTransformer(hog_features)),
        ("scale", StandardScaler()),
        ("logreg", LogisticRegression(C=C, max_iter=2000)),
    ])
    return model.fit(images, labels)
