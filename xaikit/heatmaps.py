"""Draw images and attribution maps: every figure has a title, axis labels and a labelled colour bar.

The functions only *draw* maps that a lecture or a student computed (with captum or their own
code); turning a (channels, height, width) attribution into one heat map per image is the
one transformation here (:func:`to_heatmap`), as in captum's ``visualization`` module.

Defined in week 5; week 6 adds :func:`plot_image_grid` (images such as feature
visualizations or dataset examples, in rows) and :func:`plot_matrix` (a labelled table of
numbers, such as IoU per unit and concept).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_attribution_grid", "plot_image_grid", "plot_matrix", "show_image", "to_heatmap", "to_numpy"]


def to_numpy(x) -> np.ndarray:
    """A tensor (detached, on the CPU) or array-like as a float NumPy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def to_heatmap(attributions, *, reduce: str = "abs_sum") -> np.ndarray:
    """Collapse the channels of attributions of shape (n, channels, height, width) into (n, height, width).

    Parameters
    ----------
    attributions : Tensor or ndarray of shape (n, channels, height, width)
        What an attribution method returned (a CAM of shape (n, 1, height, width) works too).
    reduce : {"abs_sum", "sum", "max_abs"}
        ``"abs_sum"`` adds the absolute values of the channels (how gradient maps are usually
        shown), ``"sum"`` keeps the sign, ``"max_abs"`` takes the largest absolute channel.

    Examples
    --------
    >>> to_heatmap(np.ones((2, 3, 4, 4))).shape
    (2, 4, 4)
    """
    a = to_numpy(attributions)
    if a.ndim != 4:
        raise ValueError(f"attributions must have shape (n, channels, height, width), got {a.shape}")
    if reduce == "abs_sum":
        return np.abs(a).sum(axis=1)
    if reduce == "sum":
        return a.sum(axis=1)
    if reduce == "max_abs":
        return np.abs(a).max(axis=1)
    raise ValueError(f"reduce must be 'abs_sum', 'sum' or 'max_abs', got {reduce!r}")


def show_image(image, ax=None, *, title: str | None = None, mask=None, mask_colour: str = "white"):
    """Draw one image of shape (channels, height, width) with values in [0, 1]; optionally outline a mask."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    img = to_numpy(image)
    if img.ndim == 3 and img.shape[0] == 1:
        ax.imshow(img[0], cmap="gray", vmin=0, vmax=1)
    elif img.ndim == 3:
        ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1))
    else:
        ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    if mask is not None:
        ax.contour(np.asarray(mask, dtype=float), levels=[0.5], colors=mask_colour, linewidths=0.8)
    ax.set(title=title or "", xlabel="pixel column", ylabel="pixel row")
    return ax


def plot_attribution_grid(
    images,
    maps: Mapping[str, object],
    *,
    titles: Sequence[str] | None = None,
    masks=None,
    signed: bool | None = None,
    title: str = "Attribution maps",
    panel_size: float = 1.9,
):
    """One column per image: the image on top, then one row of heat maps per method.

    Each map is divided by its own largest absolute value, so every panel uses the full colour
    range (the colour bars are relative: 1 is that image's most important pixel).

    Parameters
    ----------
    images : Tensor or ndarray of shape (n, channels, height, width), values in [0, 1]
    maps : dict
        Row label -> maps of shape (n, height, width) (use :func:`to_heatmap` first for
        channel attributions; (n, 1, height, width) is accepted).
    titles : list of str, optional
        One title per image (e.g. the label and the prediction).
    masks : array of shape (n, height, width), optional
        Outlined on the images and on every map (e.g. the object's ground-truth mask).
    signed : bool, optional
        Draw the maps with a diverging colour map (red positive, blue negative). By default a
        row is drawn signed when it has a negative value.
    title : str
        Title of the figure.

    Returns
    -------
    matplotlib Figure
    """
    images = to_numpy(images)
    n = len(images)
    rows = {label: _as_maps(value, n) for label, value in maps.items()}
    fig, axes = plt.subplots(1 + len(rows), n, figsize=(panel_size * n + 1.6, panel_size * (1 + len(rows))),
                             squeeze=False, layout="constrained")
    for i in range(n):
        show_image(images[i], axes[0, i], title=titles[i] if titles else f"image {i}",
                   mask=None if masks is None else masks[i])
    for r, (label, values) in enumerate(rows.items(), start=1):
        row_signed = bool(np.any(values < 0)) if signed is None else signed
        cmap, low = ("RdBu_r", -1) if row_signed else ("inferno", 0)
        for i in range(n):
            scale = np.abs(values[i]).max() or 1.0
            mesh = axes[r, i].imshow(values[i] / scale, cmap=cmap, vmin=low, vmax=1)
            if masks is not None:
                axes[r, i].contour(np.asarray(masks[i], dtype=float), levels=[0.5], colors="cyan", linewidths=0.6)
        bar = fig.colorbar(mesh, ax=axes[r, :].tolist(), shrink=0.85, aspect=12)
        bar.set_label("relative\nattribution", fontsize="small")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    axes[0, 0].set_ylabel("pixel row")
    for r, label in enumerate(rows, start=1):
        axes[r, 0].set_ylabel(label, fontsize="small")
    for i in range(n):
        axes[-1, i].set_xlabel("pixel column")
    fig.suptitle(title)
    return fig


def _as_maps(value, n: int) -> np.ndarray:
    maps = to_numpy(value)
    if maps.ndim == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]
    if maps.ndim != 3 or len(maps) != n:
        raise ValueError(f"each entry of maps must have shape ({n}, height, width), got {maps.shape}; "
                         "use to_heatmap() for attributions with channels")
    return maps


def plot_image_grid(
    rows: Mapping[str, object],
    *,
    titles: Mapping[str, Sequence[str]] | None = None,
    title: str = "Images",
    panel_size: float = 1.7,
):
    """Rows of images, one row per entry of ``rows``, labelled on the left.

    Parameters
    ----------
    rows : dict
        Row label -> images of shape (n, channels, height, width) with values in [0, 1]
        (tensors or arrays; rows may have different lengths and image sizes).
    titles : dict, optional
        Row label -> one title per image of that row (e.g. a score).
    title : str
        Title of the figure.

    Returns
    -------
    matplotlib Figure
    """
    images = {label: to_numpy(value) for label, value in rows.items()}
    for label, value in images.items():
        if value.ndim != 4:
            raise ValueError(f"row {label!r} must have shape (n, channels, height, width), got {value.shape}")
    n_cols = max(len(value) for value in images.values())
    fig, axes = plt.subplots(len(images), n_cols, figsize=(panel_size * n_cols + 1.2, panel_size * len(images) + 0.6),
                             squeeze=False, layout="constrained")
    for r, (label, value) in enumerate(images.items()):
        for i, ax in enumerate(axes[r]):
            if i >= len(value):
                ax.axis("off")
                continue
            show_image(value[i], ax, title=(titles or {}).get(label, [""] * len(value))[i])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel("")
            ax.set_ylabel(label if i == 0 else "", fontsize="small")
    fig.suptitle(title)
    return fig


def plot_matrix(
    values,
    *,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    colorbar_label: str,
    ax=None,
    vmin: float | None = None,
    vmax: float | None = None,
    fmt: str = "{:.2f}",
    cmap: str = "viridis",
):
    """A labelled heat map of a table (e.g. IoU per unit and concept), each cell annotated with its value.

    Parameters
    ----------
    values : array of shape (n_rows, n_columns)
    row_labels, column_labels : list of str
    title, xlabel, ylabel, colorbar_label : str
        Every figure says what it shows and in which units.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    values = to_numpy(values)
    if values.shape != (len(row_labels), len(column_labels)):
        raise ValueError(f"values has shape {values.shape}, but there are {len(row_labels)} row labels and "
                         f"{len(column_labels)} column labels")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.8 * len(column_labels) + 2.5, 0.32 * len(row_labels) + 1.6), layout="constrained")
    mesh = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    high = np.nanmax(values) if vmax is None else vmax
    for (r, c), value in np.ndenumerate(values):
        ax.text(c, r, fmt.format(value), ha="center", va="center", fontsize="x-small",
                color="black" if value > 0.6 * high else "white")
    ax.set_xticks(range(len(column_labels)), column_labels, rotation=30, ha="right")
    ax.set_yticks(range(len(row_labels)), row_labels)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.figure.colorbar(mesh, ax=ax, shrink=0.85, label=colorbar_label)
    return ax
