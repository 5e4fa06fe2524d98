"""Synthetic images with known ground truth.

Objects of a few shape classes on textured backgrounds, each with a pixel mask of the
object, so an explanation can be *scored* (does the map point at the object?) and not only
looked at. Optionally a small coloured patch (the *cue*) is correlated with the label —
the "foxes photographed on snow" measurement bias — so a model can learn a shortcut that a
good saliency map must expose. Defined in week 3 (image LIME), used in week 5; the concept
masks of week 6 (:func:`concept_masks`) turn the same ground truth into per-pixel concepts.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

__all__ = ["CUE_COLOURS", "CUE_NAMES", "SHAPE_CLASSES", "SHAPE_CONCEPTS", "concept_masks", "make_shapes"]

SHAPE_CLASSES = ["circle", "square", "triangle"]
# One cue colour per class (RGB); a cue with a class's colour "votes" for that class.
CUE_COLOURS = np.array([[1.0, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.3, 1.0]])
CUE_NAMES = ["red patch", "green patch", "blue patch"]
#: The pixel concepts of :func:`concept_masks`, in its order.
SHAPE_CONCEPTS = [*SHAPE_CLASSES, *CUE_NAMES, "background"]


def _object_mask(kind: str, size: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    if kind == "circle":
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    if kind == "square":
        half = r * 0.85
        return (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
    if kind == "triangle":  # apex up
        top, bottom = cy - r, cy + r * 0.8
        inside_rows = (yy >= top) & (yy <= bottom)
        half_width = (yy - top) / (bottom - top) * r
        return inside_rows & (np.abs(xx - cx) <= half_width)
    raise ValueError(f"unknown shape {kind!r}; choose from {SHAPE_CLASSES}")


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth random texture: a few random sinusoidal stripes plus noise, muted colours."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(0.25, 0.55, size=3)
    texture = np.zeros((size, size))
    for _ in range(3):
        angle, freq, phase = rng.uniform(0, np.pi), rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)
        texture += np.sin(2 * np.pi * freq * (np.cos(angle) * xx + np.sin(angle) * yy) + phase)
    texture = 0.06 * texture / 3 + 0.03 * rng.normal(size=(size, size))
    return np.clip(base[:, None, None] + texture[None], 0, 1)


def make_shapes(
    n_samples: int = 600,
    *,
    size: int = 32,
    classes: list[str] | None = None,
    cue_strength: float = 0.0,
    random_state: int = 0,
) -> Bunch:
    """Images of shapes on textured backgrounds, with object (and cue) masks.

    Parameters
    ----------
    n_samples : int
        Number of images; labels are balanced (cycling over the classes, then shuffled).
    size : int
        Height and width in pixels.
    classes : list of str, optional
        Subset of ``SHAPE_CLASSES`` (default: all three).
    cue_strength : float in [0, 1]
        Probability that an image carries a cue patch in its own class's colour. Otherwise the
        patch colour is random, so ``0`` makes the cue useless and ``1`` a perfect shortcut.
        Every image has exactly one 4x4 cue patch in a corner, away from the object.
    random_state : int

    Returns
    -------
    Bunch
        ``images`` float32 (n, 3, size, size) in [0, 1] (channels first, as PyTorch wants),
        ``labels`` int64 (n,), ``masks`` bool (n, size, size) the object pixels,
        ``cue_masks`` bool (n, size, size) the cue pixels, ``cue_labels`` int64 (n,) the class
        whose colour the cue has (0 red, 1 green, 2 blue: see ``CUE_COLOURS``), ``class_names``.

    Examples
    --------
    >>> data = make_shapes(6, random_state=1)
    >>> data.images.shape, data.masks.shape
    ((6, 3, 32, 32), (6, 32, 32))
    """
    classes = list(classes or SHAPE_CLASSES)
    unknown = set(classes) - set(SHAPE_CLASSES)
    if unknown:
        raise ValueError(f"unknown classes {sorted(unknown)}; choose from {SHAPE_CLASSES}")
    if not 0 <= cue_strength <= 1:
        raise ValueError(f"cue_strength must be in [0, 1], got {cue_strength}")
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    rng = np.random.default_rng(random_state)
    labels = rng.permutation(np.arange(n_samples) % len(classes))
    images = np.empty((n_samples, 3, size, size), dtype=np.float32)
    masks = np.zeros((n_samples, size, size), dtype=bool)
    cue_masks = np.zeros((n_samples, size, size), dtype=bool)
    cue_labels = np.empty(n_samples, dtype=np.int64)
    patch = 4
    corners = [(1, 1), (1, size - patch - 1), (size - patch - 1, 1), (size - patch - 1, size - patch - 1)]
    for i, label in enumerate(labels):
        image = _background(rng, size)
        r = rng.uniform(0.2, 0.28) * size
        cy, cx = rng.uniform(0.38, 0.62, size=2) * size
        mask = _object_mask(classes[label], size, cy, cx, r)
        colour = rng.uniform(0.65, 1.0, size=3) * rng.permutation([1.0, 0.85, 0.7])
        image[:, mask] = colour[:, None] * (1 + 0.05 * rng.normal(size=(1, mask.sum())))
        cy0, cx0 = corners[rng.integers(len(corners))]
        cue_class = label if rng.random() < cue_strength else rng.integers(len(classes))
        cue_labels[i] = cue_class % len(CUE_COLOURS)
        image[:, cy0:cy0 + patch, cx0:cx0 + patch] = CUE_COLOURS[cue_class % len(CUE_COLOURS)][:, None, None]
        cue_masks[i, cy0:cy0 + patch, cx0:cx0 + patch] = True
        images[i] = np.clip(image, 0, 1)
        masks[i] = mask & ~cue_masks[i]
    return Bunch(images=images, labels=labels.astype(np.int64), masks=masks, cue_masks=cue_masks,
                 cue_labels=cue_labels, class_names=classes)


def concept_masks(data: Bunch) -> Bunch:
    """Per-pixel ground-truth concepts of images made by :func:`make_shapes`.

    Seven concepts: the object of each shape class (``"circle"``, ``"square"``,
    ``"triangle"``; empty in images of another class), the cue patch of each colour
    (``"red patch"``, ``"green patch"``, ``"blue patch"``) and the ``"background"`` (neither
    object nor cue). Every pixel belongs to exactly one concept. The concepts cover very
    different areas (the background about 80 % of an image, a cue patch 1.6 % of the
    images that have it), which matters for network dissection (week 6).

    Parameters
    ----------
    data : Bunch
        What :func:`make_shapes` returned (with all three classes).

    Returns
    -------
    Bunch
        ``names`` list of the 7 concept names (:data:`SHAPE_CONCEPTS`), ``masks`` bool array
        (n, 7, size, size).

    Examples
    --------
    >>> concepts = concept_masks(make_shapes(4, random_state=0))
    >>> concepts.masks.shape, int(concepts.masks.sum(axis=1).min()), int(concepts.masks.sum(axis=1).max())
    ((4, 7, 32, 32), 1, 1)
    """
    if list(data.class_names) != SHAPE_CLASSES or "cue_labels" not in data:
        raise ValueError("concept_masks needs images of make_shapes with all three classes")
    n, size = data.masks.shape[0], data.masks.shape[-1]
    masks = np.zeros((n, len(SHAPE_CONCEPTS), size, size), dtype=bool)
    for k in range(len(SHAPE_CLASSES)):
        masks[:, k] = data.masks & (data.labels == k)[:, None, None]
        masks[:, len(SHAPE_CLASSES) + k] = data.cue_masks & (data.cue_labels == k)[:, None, None]
    masks[:, -1] = ~(data.masks | data.cue_masks)
    return Bunch(names=list(SHAPE_CONCEPTS), masks=masks)
