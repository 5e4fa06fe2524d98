"""Displays of week 1: weight and effect plots have titles, labels and units; rules read well."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from xaikit.display import format_one_r, format_rule, interval_labels, plot_effects, plot_weights

matplotlib.use("Agg")


def test_weight_plot_has_title_labels_and_intervals():
    ax = plot_weights([1.0, -2.0], ["a [°C]", "b"], lower=[0.5, -3.0], upper=[1.5, -1.0],
                      xlabel="weight [rentals per °C]", title="weights")
    assert ax.get_title() == "weights" and "rentals" in ax.get_xlabel() and ax.get_ylabel()
    positions = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    assert positions["a [°C]"] > positions["b"]  # the first feature on top
    odds = plot_weights([0.5, 2.0], ["a", "b"], reference=1.0, log=True)
    assert odds.get_xscale() == "log"


def test_weight_plot_rejects_mismatched_names():
    with pytest.raises(ValueError, match="one entry per name"):
        plot_weights([1.0, 2.0, 3.0], ["a", "b"])


def test_effect_plot_draws_one_box_per_feature_and_the_instance():
    effects = np.random.default_rng(0).normal(size=(30, 3))
    ax = plot_effects(effects, ["a", "b", "c"], instance=effects[0], xlabel="effect [rentals per day]")
    assert ax.get_title() and ax.get_xlabel() == "effect [rentals per day]" and ax.get_ylabel()
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="shape"):
        plot_effects(effects, ["a", "b"])


def test_rules_as_text():
    assert format_rule([("temp", ">", 13.556), ("humidity", "<=", 87.5)], "high") == \
        "IF temp > 13.56 AND humidity <= 87.50 THEN high"
    assert format_rule([], "high") == "ALWAYS high"
    text = format_one_r("Size", {"big": "high", "small": "low"}, target="Price", order=["small", "big"])
    assert text.splitlines() == ["IF Size=small THEN Price=low", "ELSE IF Size=big THEN Price=high"]
    coded = format_one_r("temp", {0: 0, 1: 1}, value_labels=interval_labels([0.0, 10.0, 20.0]))
    assert coded.splitlines()[1] == "ELSE IF temp=[10.0, 20.0] THEN class=1"
