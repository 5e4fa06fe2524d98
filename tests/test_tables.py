"""The tables of week 1: apartments, high-demand days and the design matrix."""

from __future__ import annotations

import numpy as np
import pytest

from xaikit import load_bike_daily
from xaikit.tables import bike_design_matrix, design_labels, load_apartments, load_bike_high_demand


def test_apartments_are_the_ten_of_the_slides():
    apartments = load_apartments()
    assert apartments.shape == (10, 4)
    assert list(apartments.columns) == ["Location", "Size", "Pets", "Price"]
    counts = apartments.groupby(["Size", "Price"]).size()
    assert counts[("big", "high")] == 2 and counts[("medium", "medium")] == 3 and counts[("small", "low")] == 2
    assert set(apartments["Pets"]) == {"yes", "no", "only cats"}


def test_high_demand_days_split_the_year_at_the_median():
    days, daily = load_bike_high_demand(), load_bike_daily()
    assert days.threshold == np.median(daily.target) == 3740
    np.testing.assert_array_equal(days.target, (daily.target > 3740).astype(int))
    assert days.target.sum() == 182 and days.data.shape == (365, 10)
    assert (days.frame["high_demand"] == days.target.astype(bool)).all()
    assert days.target_names == ["normal day", "high-demand day"]


def test_design_matrix_codes_categories_against_a_reference():
    frame = load_bike_daily().frame
    design = bike_design_matrix(frame)
    assert list(design.columns) == ["temp", "humidity", "windspeed", "workingday", "holiday", "weather=misty",
                                    "weather=rain/snow", "season=spring", "season=summer", "season=fall"]
    assert design.dtypes.eq(float).all() and len(design) == 365
    winter_clear = (frame["season"] == "winter") & (frame["weather"] == "clear")
    assert (design.loc[winter_clear, [c for c in design if "=" in c]] == 0).all().all()
    assert (design[[c for c in design if c.startswith("season=")]].sum(axis=1) == (frame["season"] != "winter")).all()
    assert "season=fall" not in bike_design_matrix(frame, season=False)


def test_design_matrix_names_missing_columns():
    with pytest.raises(ValueError, match="lacks the columns"):
        bike_design_matrix(load_bike_daily().frame.drop(columns="weather"))


def test_design_labels_carry_units():
    assert design_labels(["temp", "humidity", "windspeed", "holiday"]) == [
        "temp [°C]", "humidity [%]", "windspeed [km/h]", "holiday (0/1)"]
