"""Plots of precomputed explanations: every figure has a title, axis labels and units.

The functions draw arrays that the lectures or the students computed; they never
compute an explanation themselves. Defined in week 1 (labels), week 2 (effects).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "feature_label",
    "plot_ale",
    "plot_importance",
    "plot_pdp",
    "plot_pdp_2d",
]

#: Readable axis labels (with units) of the bike features.
FEATURE_LABELS = {
    "season": "season",
    "month": "month",
    "hour": "hour of the day",
    "weekday": "day of the week",
    "holiday": "holiday (0 = no, 1 = yes)",
    "workingday": "working day (0 = no, 1 = yes)",
    "weather": "weather situation",
    "temp": "temperature [°C]",
    "feels_like": "feels-like temperature [°C]",
    "humidity": "relative humidity [%]",
    "windspeed": "wind speed [km/h]",
}


def feature_label(name: str) -> str:
    """Axis label with unit for a feature name (the name itself if unknown)."""
    return FEATURE_LABELS.get(name, name)


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def _rug(ax, values):
    """Ticks along the bottom of the axes where the data lie."""
    values = np.asarray(values, dtype=float)
    ax.plot(values, np.full(len(values), 0.02), "|", color="black", alpha=0.1, markersize=10,
            transform=ax.get_xaxis_transform())


def _categorical_ticks(ax, grid, categories, axis="x"):
    if categories is None:
        return
    ticks = [int(g) for g in grid if float(g).is_integer() and 0 <= g < len(categories)]
    setter = ax.set_xticks if axis == "x" else ax.set_yticks
    setter(ticks, [categories[t] for t in ticks], rotation=45 if axis == "x" and len(ticks) > 4 else 0)


def plot_pdp(
    grid: np.ndarray,
    average: np.ndarray | None = None,
    *,
    ice: np.ndarray | None = None,
    feature: str = "feature",
    target: str = "predicted rentals per hour",
    categories: Sequence[str] | None = None,
    rug: np.ndarray | None = None,
    max_ice: int = 100,
    title: str | None = None,
    ax=None,
    seed: int = 0,
):
    """Draw a partial dependence curve, optionally over individual (ICE) curves.

    Parameters
    ----------
    grid : ndarray of shape (n_points,)
        Feature values of the curve.
    average : ndarray of shape (n_points,), optional
        Partial dependence (the thick line).
    ice : ndarray of shape (n_samples, n_points), optional
        Individual curves; at most ``max_ice`` of them (a fixed random subset) are drawn.
    feature, target : str
        Feature name (its label and unit are looked up) and what the model predicts.
    categories : list of str, optional
        Labels of a coded categorical feature.
    rug : ndarray, optional
        Observed values of the feature, drawn as ticks on the x axis.

    Returns
    -------
    matplotlib Axes
    """
    ax = _axes(ax)
    grid = np.asarray(grid, dtype=float)
    if ice is not None:
        ice = np.asarray(ice, dtype=float)
        rows = np.random.default_rng(seed).permutation(len(ice))[:max_ice]
        ax.plot(grid, ice[rows].T, color="tab:blue", alpha=0.15, linewidth=0.8)
        ax.plot([], [], color="tab:blue", alpha=0.5, label=f"ICE ({len(rows)} of {len(ice)} rows)")
    if average is not None:
        ax.plot(grid, np.asarray(average, dtype=float), color="tab:orange", linewidth=3, label="PDP (average)")
    if rug is not None:
        _rug(ax, rug)
    _categorical_ticks(ax, grid, categories)
    ax.set_xlabel(feature_label(feature))
    ax.set_ylabel(target)
    ax.set_title(title or f"Partial dependence on {feature_label(feature).split(' [')[0]}")
    if ice is not None or average is not None:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_pdp_2d(
    grid_a: np.ndarray,
    grid_b: np.ndarray,
    values: np.ndarray,
    *,
    features: tuple[str, str] = ("feature a", "feature b"),
    target: str = "predicted rentals per hour",
    categories: tuple[Sequence[str] | None, Sequence[str] | None] = (None, None),
    title: str | None = None,
    ax=None,
):
    """Heat map of a two-feature partial dependence ``values[i, j]`` at ``(grid_a[i], grid_b[j])``."""
    ax = _axes(ax)
    values = np.asarray(values, dtype=float)
    mesh = ax.pcolormesh(np.asarray(grid_b), np.asarray(grid_a), values, shading="nearest", cmap="viridis")
    ax.figure.colorbar(mesh, ax=ax, label=target)
    _categorical_ticks(ax, grid_b, categories[1], axis="x")
    _categorical_ticks(ax, grid_a, categories[0], axis="y")
    ax.set_xlabel(feature_label(features[1]))
    ax.set_ylabel(feature_label(features[0]))
    ax.set_title(title or f"Partial dependence on {features[0]} and {features[1]}")
    return ax


def plot_ale(
    edges: np.ndarray,
    ale: np.ndarray,
    *,
    feature: str = "feature",
    target: str = "rentals per hour",
    rug: np.ndarray | None = None,
    label: str = "ALE",
    title: str | None = None,
    ax=None,
    **line_kwargs,
):
    """Draw an accumulated local effects curve (centred, so 0 is the average prediction)."""
    ax = _axes(ax)
    ax.plot(np.asarray(edges, dtype=float), np.asarray(ale, dtype=float), marker="o", markersize=3, label=label, **line_kwargs)
    ax.axhline(0, color="grey", linewidth=0.8)
    if rug is not None:
        _rug(ax, rug)
    ax.set_xlabel(feature_label(feature))
    ax.set_ylabel(f"effect on {target} (centred)")
    ax.set_title(title or f"Accumulated local effects of {feature_label(feature).split(' [')[0]}")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_importance(
    importances: np.ndarray,
    feature_names: Sequence[str],
    *,
    metric: str = "R²",
    title: str = "Permutation feature importance",
    ax=None,
):
    """Box plot of importances (n_features, n_repeats), most important feature on top."""
    ax = _axes(ax)
    importances = np.atleast_2d(np.asarray(importances, dtype=float))
    order = np.argsort(importances.mean(axis=1))
    ax.boxplot(importances[order].T, orientation="horizontal", tick_labels=[feature_names[i] for i in order])
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(f"drop in {metric} when the feature is permuted")
    ax.set_title(title)
    return ax
