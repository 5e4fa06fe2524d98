"""Displays of intrinsically interpretable models: weight plot, effect plot, rules as text.

These functions draw or print what was computed elsewhere (by a library in the lecture,
by the student in the lab); they never compute weights, effects, paths or rules
themselves. Every figure has a title, axis labels and units. Defined in week 1.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["format_one_r", "format_rule", "interval_labels", "plot_effects", "plot_weights"]


def _axes(ax, height: float):
    if ax is None:
        _, ax = plt.subplots(figsize=(7, height))
    return ax


def plot_weights(
    weights: Sequence[float],
    names: Sequence[str],
    *,
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
    xlabel: str = "weight",
    title: str = "Weight plot",
    reference: float = 0.0,
    log: bool = False,
    ax=None,
):
    """Dot plot of model weights, one row per feature, optionally with confidence intervals.

    Parameters
    ----------
    weights : array of shape (n_features,)
        Estimated weights (or odds ratios with ``log=True`` and ``reference=1``).
    names : list of str
        Feature names, best with their unit ("temp [°C]").
    lower, upper : array of shape (n_features,), optional
        Bounds of a confidence interval, drawn as horizontal bars.
    xlabel, title : str
        Axis label (say the unit: "rentals per day per unit of the feature") and title.
    reference : float
        Where the vertical line of "no effect" is drawn (0 for weights, 1 for odds ratios).
    log : bool
        Logarithmic x axis (for odds ratios).

    Returns
    -------
    matplotlib Axes
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1 or len(weights) != len(names):
        raise ValueError(f"weights must be 1-D with one entry per name; got {weights.shape} for {len(names)} names")
    ax = _axes(ax, 0.4 * len(names) + 1.2)
    rows = np.arange(len(names))[::-1]  # first feature on top
    if lower is not None and upper is not None:
        lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        ax.hlines(rows, lower, upper, color="tab:blue", linewidth=2, alpha=0.6, label="95% confidence interval")
    ax.plot(weights, rows, "o", color="tab:blue", label="estimate")
    ax.axvline(reference, color="grey", linewidth=0.8)
    if log:
        ax.set_xscale("log")
    ax.set_yticks(rows, list(names))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("feature")
    ax.set_title(title)
    if lower is not None:
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_effects(
    effects: np.ndarray,
    names: Sequence[str],
    *,
    instance: Sequence[float] | None = None,
    xlabel: str = "feature effect",
    title: str = "Effect plot",
    ax=None,
):
    """Effect plot: the distribution of each feature's effect over the data, one box per feature.

    Parameters
    ----------
    effects : array of shape (n_samples, n_features)
        Effect of each feature on each prediction (for a linear model, weight x value).
    names : list of str
        Feature names.
    instance : array of shape (n_features,), optional
        The effects of one instance, drawn as red crosses over the boxes.
    xlabel, title : str
        Axis label with the unit of the prediction ("effect on rentals per day") and title.

    Returns
    -------
    matplotlib Axes
    """
    effects = np.asarray(effects, dtype=float)
    if effects.ndim != 2 or effects.shape[1] != len(names):
        raise ValueError(f"effects must have shape (n_samples, {len(names)}); got {effects.shape}")
    ax = _axes(ax, 0.4 * len(names) + 1.2)
    rows = np.arange(1, len(names) + 1)[::-1]
    ax.boxplot(effects, positions=rows, orientation="horizontal", tick_labels=list(names), widths=0.6,
               flierprops={"markersize": 3, "alpha": 0.5})
    if instance is not None:
        ax.plot(np.asarray(instance, dtype=float), rows, "x", color="tab:red", markersize=9, markeredgewidth=2,
                label="the instance explained")
        ax.legend(loc="lower right", fontsize="small")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("feature")
    ax.set_title(title)
    return ax


def _number(value: float) -> str:
    return f"{value:.2f}"


def format_rule(conditions: Sequence[tuple[str, str, float]], prediction: str) -> str:
    """A decision path as one readable rule: ``IF temp > 13.56 AND ... THEN high demand``.

    Parameters
    ----------
    conditions : list of (feature name, operator, threshold)
        The tests along the path, root first; the operator is ``"<="`` or ``">"``.
    prediction : str
        What the leaf predicts.

    Examples
    --------
    >>> format_rule([("temp", ">", 13.56), ("humidity", "<=", 87.5)], "high demand")
    'IF temp > 13.56 AND humidity <= 87.50 THEN high demand'
    """
    if not conditions:
        return f"ALWAYS {prediction}"
    parts = [f"{name} {operator} {_number(float(threshold))}" for name, operator, threshold in conditions]
    return "IF " + " AND ".join(parts) + f" THEN {prediction}"


def format_one_r(
    feature: str,
    rules: Mapping,
    *,
    target: str = "class",
    value_labels: Mapping | Sequence[str] | None = None,
    order: Sequence | None = None,
) -> str:
    """A OneR model as a rule list: ``IF Size=small THEN Price=low`` / ``ELSE IF ...``.

    Parameters
    ----------
    feature : str
        Name of the feature the rules test.
    rules : mapping value -> class
        The class predicted for each value of the feature.
    target : str
        Name of the predicted variable.
    value_labels : mapping or list, optional
        Readable labels of coded values (e.g. the intervals of a discretized feature).
    order : list, optional
        Order of the values in the list (default: the order of ``rules``).

    Examples
    --------
    >>> print(format_one_r("Size", {"small": "low", "big": "high"}, target="Price"))
    IF Size=small THEN Price=low
    ELSE IF Size=big THEN Price=high
    """
    values = list(order) if order is not None else list(rules)
    lines = []
    for k, value in enumerate(values):
        label = value_labels[value] if value_labels is not None else value
        lines.append(f"{'IF' if k == 0 else 'ELSE IF'} {feature}={label} THEN {target}={rules[value]}")
    return "\n".join(lines)


def interval_labels(edges: Sequence[float], *, decimals: int = 1) -> list[str]:
    """Readable labels of the bins between ``edges``: ``[a, b)`` and, for the last one, ``[a, b]``.

    Examples
    --------
    >>> interval_labels([0, 5, 10])
    ['[0.0, 5.0)', '[5.0, 10.0]']
    """
    edges = np.asarray(edges, dtype=float)
    labels = [f"[{a:.{decimals}f}, {b:.{decimals}f})" for a, b in zip(edges[:-1], edges[1:])]
    if labels:
        labels[-1] = labels[-1][:-1] + "]"
    return labels
