"""Matplotlib figures for attention and token attributions (static, so they show on any page).

- :func:`plot_attention`: one attention matrix as a heatmap, queries down, keys across;
- :func:`plot_head_grid`: one number per layer and head (e.g. how much a head attends to [SEP]);
- :func:`plot_token_scores`: a sentence's tokens coloured by one or more explanations.

They draw what they are given; they never compute attention statistics or attributions.
Defined in week 7.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm

__all__ = ["plot_attention", "plot_head_grid", "plot_token_scores"]


def _numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def plot_attention(weights, tokens, *, ax=None, title: str | None = None, colorbar: bool = True, vmax: float | None = None):
    """Heatmap of a (T, T) attention matrix: row i is how token i distributes its attention.

    Parameters
    ----------
    weights : array (T, T)
    tokens : list of T str
    ax : matplotlib Axes, optional
    title : str, optional
    vmax : float, optional
        Top of the colour scale (default: the largest weight).
    """
    weights = _numpy(weights)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"weights should be a square (T, T) matrix; got shape {weights.shape}.")
    if len(tokens) != len(weights):
        raise ValueError(f"{len(tokens)} tokens for a {len(weights)} x {len(weights)} attention matrix.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.42 * len(tokens) + 2, 0.36 * len(tokens) + 1.2), layout="constrained")
    image = ax.imshow(weights, cmap="Blues", vmin=0, vmax=vmax or max(float(weights.max()), 1e-12))
    ax.set_xticks(range(len(tokens)), tokens, rotation=90)
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set(xlabel="attended token (key)", ylabel="attending token (query)")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    return ax


def plot_head_grid(values, *, ax=None, title: str = "", label: str = "", cmap: str = "viridis", fmt: str = ".2f",
                   vmin: float | None = None, vmax: float | None = None):
    """One value per layer (rows) and head (columns), written in each cell.

    Parameters
    ----------
    values : array (layers, heads)
    label : str
        Colour-bar label (what the value is, with its unit).
    """
    values = _numpy(values)
    if values.ndim != 2:
        raise ValueError(f"values should have shape (layers, heads); got {values.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.55 * values.shape[1] + 2.2, 0.45 * values.shape[0] + 1.4), layout="constrained")
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        shade = image.norm(v) if np.isfinite(v) else 0.0
        ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7, color="white" if shade < 0.6 else "black")
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    ax.set(xlabel="head", ylabel="layer", title=title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=label)
    return ax


def plot_token_scores(tokens, scores: dict, *, title: str = "", highlight: int | None = None, signed: bool = True,
                      ax=None):
    """A sentence's tokens, one row per explanation, each token coloured by its score.

    Each row is scaled to its own largest absolute value (the colours are relative within a
    row). With ``signed`` red is *for* the explained class and blue *against*; otherwise the
    scores are shown as magnitudes (white to red).

    Parameters
    ----------
    tokens : list of T str
    scores : dict of name -> array (T,)
    title : str
    highlight : int, optional
        Position of a token to frame (e.g. the deciding word).
    """
    rows = {name: _numpy(s).ravel() for name, s in scores.items()}
    for name, s in rows.items():
        if len(s) != len(tokens):
            raise ValueError(f"scores {name!r} has {len(s)} values for {len(tokens)} tokens.")
    widths = np.array([max(len(t), 3) * 0.11 + 0.25 for t in tokens])
    starts = np.concatenate([[0.0], np.cumsum(widths)[:-1]])
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6 + widths.sum(), 0.45 * len(rows) + 0.9), layout="constrained")
    cmap = plt.get_cmap("RdBu_r" if signed else "Reds")
    for r, (name, s) in enumerate(rows.items()):
        scale = float(np.abs(s).max()) or 1.0
        norm = TwoSlopeNorm(vmin=-scale, vcenter=0.0, vmax=scale) if signed else plt.Normalize(0, scale)
        for t, (token, value) in enumerate(zip(tokens, s)):
            ax.add_patch(plt.Rectangle((starts[t], -r - 0.42), widths[t] - 0.04, 0.84, facecolor=cmap(norm(value)),
                                       edgecolor="black" if t == highlight else "none", linewidth=1.6))
            shade = abs(float(norm(value)) - 0.5) * 2 if signed else float(norm(value))
            ax.text(starts[t] + widths[t] / 2 - 0.02, -r, token, ha="center", va="center", fontsize=8,
                    color="white" if shade > 0.6 else "black")
    ax.set_xlim(-0.05, widths.sum())
    ax.set_ylim(-len(rows) + 0.45, 0.55)
    ax.set_yticks([-r for r in range(len(rows))], list(rows))
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    note = "red: for the class, blue: against" if signed else "darker: larger"
    ax.set_title(f"{title} ({note}; each row scaled to its largest value)" if title else note, fontsize=10)
    return ax
