"""Drawing attribution maps: channel reduction, titles, labels and colour bars."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from xaikit.heatmaps import plot_attribution_grid, show_image, to_heatmap

matplotlib.use("Agg")


def test_to_heatmap_reduces_channels():
    a = np.zeros((2, 3, 4, 4))
    a[0, :, 1, 1] = [1.0, -2.0, 0.5]
    assert to_heatmap(a)[0, 1, 1] == 3.5
    assert to_heatmap(torch.tensor(a), reduce="sum")[0, 1, 1] == -0.5
    assert to_heatmap(a, reduce="max_abs")[0, 1, 1] == 2.0
    with pytest.raises(ValueError, match="reduce"):
        to_heatmap(a, reduce="mean")
    with pytest.raises(ValueError, match="channels"):
        to_heatmap(np.zeros((2, 4, 4)))


def test_grid_has_title_labels_and_one_colour_bar_per_row():
    images = np.random.default_rng(0).random((3, 3, 8, 8))
    maps = {"unsigned": np.random.default_rng(1).random((3, 8, 8)),
            "signed": np.random.default_rng(2).normal(size=(3, 1, 8, 8))}
    fig = plot_attribution_grid(images, maps, titles=["a", "b", "c"], masks=np.ones((3, 8, 8), bool), title="T")
    axes = fig.axes
    panels, bars = axes[:9], axes[9:]
    assert fig._suptitle.get_text() == "T"
    assert len(bars) == 2 and all("attribution" in bar.get_ylabel() for bar in bars)
    assert panels[0].get_title() == "a" and panels[0].get_ylabel() == "pixel row"
    assert [panels[3].get_ylabel(), panels[6].get_ylabel()] == ["unsigned", "signed"]
    assert all(ax.get_xlabel() == "pixel column" for ax in panels[6:])
    assert panels[3].images[0].get_cmap().name == "inferno" and panels[6].images[0].get_cmap().name == "RdBu_r"
    with pytest.raises(ValueError, match="to_heatmap"):
        plot_attribution_grid(images, {"bad": np.zeros((3, 3, 8, 8))})


def test_show_image_handles_grey_and_colour():
    ax = show_image(np.zeros((1, 5, 5)), title="grey")
    assert ax.get_title() == "grey" and ax.get_xlabel() == "pixel column"
    show_image(torch.zeros(3, 5, 5), ax=ax, mask=np.eye(5, dtype=bool))
