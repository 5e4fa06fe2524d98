"""The shipped bike data: provenance checksum, readable units, hourly and daily views."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from xaikit import BIKE_FEATURES, dataset_path, load_bike_daily, load_bike_hourly


def test_csv_matches_the_checksum_in_its_readme(root):
    readme = (root / "datasets" / "bike" / "README.md").read_text()
    stated = re.search(r"sha256[^`]*`([0-9a-f]{64})`", readme).group(1)
    actual = hashlib.sha256(dataset_path("bike", "bikeshare_hourly_2011.csv").read_bytes()).hexdigest()
    assert actual == stated


def test_hourly_data_has_readable_units_and_categories():
    bike = load_bike_hourly()
    frame = bike.frame
    assert bike.data.shape == (8645, len(BIKE_FEATURES)) and bike.target.shape == (8645,)
    assert bike.feature_names == BIKE_FEATURES
    assert frame["date"].min().strftime("%Y-%m-%d") == "2011-01-01"
    assert frame["date"].max().strftime("%Y-%m-%d") == "2011-12-31"
    assert -10 < frame["temp"].min() < 0 and 35 < frame["temp"].max() < 40  # degrees Celsius
    assert frame["humidity"].between(0, 100).all()
    assert set(frame["season"].cat.categories) == {"winter", "spring", "summer", "fall"}
    assert frame.loc[0, "season"] == "winter" and frame.loc[0, "weekday"] == "Saturday"  # 1 Jan 2011
    assert (frame["count"] == frame["casual"] + frame["registered"]).all()
    # coded columns of `data` index into `categories`
    j = BIKE_FEATURES.index("weather")
    labels = np.array(bike.categories["weather"])[bike.data[:, j].astype(int)]
    assert (labels == frame["weather"].astype(str).to_numpy()).all()


def test_daily_aggregate_sums_the_hours():
    hourly, daily = load_bike_hourly(), load_bike_daily()
    assert daily.data.shape == (365, len(BIKE_FEATURES) - 1)
    assert daily.target.sum() == hourly.target.sum()
    first = hourly.frame[hourly.frame["date"] == "2011-01-01"]
    assert daily.frame.loc[0, "count"] == first["count"].sum() == 985  # UCI day.csv, 2011-01-01
    assert np.isclose(daily.frame.loc[0, "temp"], first["temp"].mean(), atol=0.01)
