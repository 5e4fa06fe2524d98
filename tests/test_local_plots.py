"""Plots of local explanations (week 3): titles, labels, units, and the superpixel edges."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from xaikit.local_plots import _segment_edges, plot_local_weights, plot_segments, plot_superpixel_weights

matplotlib.use("Agg")


def test_every_plot_has_a_title_and_axis_labels():
    image = np.random.default_rng(0).random((8, 8, 3))
    segments = np.repeat(np.arange(4), 16).reshape(8, 8)
    axes = [
        plot_local_weights(np.array([1.0, -2.0, 0.5]), ["a", "b", "c"], values=np.array([1.0, 2.5, 3.0]),
                           xlabel="weight [rentals]"),
        plot_segments(image, segments),
        plot_superpixel_weights(image, segments, np.array([0.1, -0.2, 0.0, 0.3])),
    ]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert "[pixel]" in axes[1].get_xlabel()
    assert axes[2].figure.axes[-1].get_ylabel().startswith("weight")  # the colour bar says what the colours mean


def test_local_weights_are_sorted_by_size_and_labelled_with_values():
    ax = plot_local_weights(np.array([1.0, -3.0, 2.0]), ["a", "b", "c"], values=np.array([1.0, 2.5, 3.0]))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b = 2.5", "c = 3", "a = 1"]


def test_segment_edges_follow_pixel_borders():
    segments = np.array([[0, 0, 1],
                         [0, 0, 1],
                         [2, 2, 2]])
    edges = sorted(_segment_edges(segments))
    # a vertical edge at x = 2 for the two top rows, a horizontal edge at y = 2 across the image
    assert edges == sorted([((2, 0), (2, 1)), ((2, 1), (2, 2)), ((0, 2), (1, 2)), ((1, 2), (2, 2)), ((2, 2), (3, 2))])


def test_plots_reject_mismatched_inputs():
    with pytest.raises(ValueError, match="feature names"):
        plot_local_weights(np.ones(3), ["a", "b"])
    with pytest.raises(ValueError, match="superpixels"):
        plot_superpixel_weights(np.zeros((4, 4, 3)), np.zeros((4, 4), dtype=int), np.ones(2))
