"""Plots of local explanations (one prediction at a time): every figure has a title, axis labels and units.

The functions draw weights or attributions that the lectures or the students computed;
they never compute an explanation themselves. Defined in week 3 (LIME and SHAP).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

__all__ = ["plot_local_weights", "plot_segments", "plot_superpixel_weights"]

POSITIVE, NEGATIVE = "tab:red", "tab:blue"  # shap's convention: red raises the prediction, blue lowers it


def _axes(ax, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _value_text(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"


def plot_local_weights(
    weights: np.ndarray,
    feature_names: Sequence[str],
    *,
    values: np.ndarray | None = None,
    xlabel: str = "local weight",
    title: str = "Local explanation",
    max_features: int | None = None,
    ax=None,
):
    """Horizontal bars of one explanation, the largest absolute weight on top.

    Parameters
    ----------
    weights : ndarray of shape (n_features,)
        LIME weights, Shapley values, ... of one instance.
    feature_names : list of str
    values : ndarray of shape (n_features,), optional
        The instance's feature values, shown next to the names ("temp = 21.1").
    xlabel : str
        What a weight means, with its unit (e.g. "Shapley value [rentals per hour]").
    title : str
    max_features : int, optional
        Show only the largest ones.

    Returns
    -------
    matplotlib Axes
    """
    weights = np.asarray(weights, dtype=float).ravel()
    if len(weights) != len(feature_names):
        raise ValueError(f"got {len(weights)} weights for {len(feature_names)} feature names")
    order = np.argsort(np.abs(weights))[::-1][:max_features]
    labels = [feature_names[j] if values is None else f"{feature_names[j]} = {_value_text(values[j])}" for j in order]
    ax = _axes(ax, figsize=(7, 0.35 * len(order) + 1.2))
    ax.barh(np.arange(len(order)), weights[order], color=[POSITIVE if w > 0 else NEGATIVE for w in weights[order]])
    ax.set_yticks(np.arange(len(order)), labels)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("feature (value of this instance)" if values is not None else "feature")
    ax.set_title(title)
    return ax


def _segment_edges(segments: np.ndarray) -> list:
    """Line segments along the pixel edges that separate two different superpixels."""
    rows, cols = np.nonzero(segments[:, 1:] != segments[:, :-1])  # between (r, c) and (r, c + 1)
    vertical = [((c + 1, r), (c + 1, r + 1)) for r, c in zip(rows, cols)]
    rows, cols = np.nonzero(segments[1:, :] != segments[:-1, :])  # between (r, c) and (r + 1, c)
    horizontal = [((c, r + 1), (c + 1, r + 1)) for r, c in zip(rows, cols)]
    return vertical + horizontal


def _draw_edges(ax, segments, colour):
    ax.add_collection(LineCollection(_segment_edges(np.asarray(segments)), colors=colour, linewidths=0.8))


def _show_image(ax, image, title):
    image = np.asarray(image, dtype=float)
    height, width = image.shape[:2]
    ax.imshow(image, extent=(0, width, height, 0))
    ax.set_xlabel("x [pixel]")
    ax.set_ylabel("y [pixel]")
    ax.set_title(title)


def plot_segments(image: np.ndarray, segments: np.ndarray, *, title: str = "Superpixels", numbers: bool = True, ax=None):
    """An RGB image (height, width, 3) with the boundaries of its superpixels and their numbers."""
    segments = np.asarray(segments)
    ax = _axes(ax, figsize=(4, 4))
    _show_image(ax, image, title)
    _draw_edges(ax, segments, "yellow")
    if numbers:
        for label in np.unique(segments):
            rows, cols = np.nonzero(segments == label)
            ax.text(cols.mean() + 0.5, rows.mean() + 0.5, str(label), ha="center", va="center", fontsize=7,
                    color="black", bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "alpha": 0.6, "linewidth": 0})
    return ax


def plot_superpixel_weights(
    image: np.ndarray,
    segments: np.ndarray,
    weights: np.ndarray,
    *,
    title: str = "Superpixel weights",
    label: str = "weight [change in class probability]",
    ax=None,
):
    """Colour each superpixel by its weight (red raises the class score, blue lowers it) over the image."""
    segments = np.asarray(segments)
    weights = np.asarray(weights, dtype=float).ravel()
    if segments.max() + 1 != len(weights):
        raise ValueError(f"got {len(weights)} weights for superpixels labelled 0..{segments.max()}")
    ax = _axes(ax, figsize=(4.6, 4))
    grey = np.repeat(np.asarray(image, dtype=float).mean(axis=-1, keepdims=True), 3, axis=-1)
    _show_image(ax, grey, title)
    height, width = segments.shape
    limit = float(np.abs(weights).max()) or 1.0
    heat = ax.imshow(weights[segments], cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.65, extent=(0, width, height, 0))
    _draw_edges(ax, segments, "black")
    ax.figure.colorbar(heat, ax=ax, label=label, fraction=0.046, pad=0.04)
    return ax
