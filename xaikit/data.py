"""Data sets of the course, loaded offline.

The bike-rental data is the hourly 2011 part of the UCI *Bike Sharing* data set
(Fanaee-T & Gama, 2013; CC BY 4.0) as shipped by the ISLP package, stored in
``datasets/bike/``. The loaders turn its normalised columns back into readable
units (degrees Celsius, percent, km/h) and its codes into named categories.

Defined in week 1, used from week 1 onwards; :func:`load_bike_demand` (the
classification variant) is added in week 4.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = [
    "BIKE_FEATURES",
    "DEMAND_FEATURES",
    "dataset_path",
    "load_bike_daily",
    "load_bike_demand",
    "load_bike_hourly",
]

SEASONS = ["winter", "spring", "summer", "fall"]
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEATHER = ["clear", "misty", "rain/snow"]  # ISLP's single "heavy rain/snow" hour joins "rain/snow"

#: Features of the bike models, in column order of ``load_bike_hourly().data``.
BIKE_FEATURES = [
    "season", "month", "hour", "weekday", "holiday", "workingday",
    "weather", "temp", "feels_like", "humidity", "windspeed",
]
_DAILY_FEATURES = [f for f in BIKE_FEATURES if f != "hour"]
#: Features of the high-demand classification variant (week 4), in column order of ``load_bike_demand().data``.
DEMAND_FEATURES = ["hour", "workingday", "temp", "humidity", "windspeed"]
_CATEGORICAL = {"season": SEASONS, "month": MONTHS, "weekday": WEEKDAYS, "weather": WEATHER}

_BIKE_DESCR = """\
Capital Bikeshare (Washington D.C.) rentals in 2011, one row per hour (8,645 rows).
Source: UCI Machine Learning Repository, Bike Sharing data set, Fanaee-T & Gama (2013),
licence CC BY 4.0, via the ISLP package. Target: number of rented bikes (`count`).
temp and feels_like in degrees Celsius, humidity in %, windspeed in km/h.
Categorical features are coded 0..k-1 in `data`; `categories[name]` gives the labels."""


def dataset_path(*parts: str) -> Path:
    """Path of a file shipped in ``datasets/`` (inside the wheel or the repository).

    Examples
    --------
    >>> dataset_path("bike", "bikeshare_hourly_2011.csv").name
    'bikeshare_hourly_2011.csv'
    """
    candidates = [
        Path(str(resources.files("xaikit"))) / "datasets",  # installed wheel (e.g. Colab)
        Path(__file__).resolve().parent.parent / "datasets",  # repository checkout
    ]
    for base in candidates:
        path = base.joinpath(*parts)
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"dataset file {'/'.join(parts)!r} not found in {[str(c) for c in candidates]}; "
        "reinstall the course helper (see the README)"
    )


def _read_raw_bike() -> pd.DataFrame:
    return pd.read_csv(dataset_path("bike", "bikeshare_hourly_2011.csv"))


def _readable(raw: pd.DataFrame) -> pd.DataFrame:
    """Undo the UCI normalisation and name the categories."""
    date = pd.Timestamp("2011-01-01") + pd.to_timedelta(raw["day"] - 1, unit="D")
    weather = raw["weathersit"].replace(
        {"clear": "clear", "cloudy/misty": "misty", "light rain/snow": "rain/snow", "heavy rain/snow": "rain/snow"}
    )
    frame = pd.DataFrame(
        {
            "date": date,
            "season": pd.Categorical.from_codes(raw["season"] - 1, SEASONS),
            "month": pd.Categorical.from_codes(date.dt.month - 1, MONTHS),
            "hour": raw["hr"].astype(int),
            "weekday": pd.Categorical.from_codes(raw["weekday"], WEEKDAYS),
            "holiday": raw["holiday"].astype(bool),
            "workingday": raw["workingday"].astype(bool),
            "weather": pd.Categorical(weather, categories=WEATHER),
            # UCI: temp = (t + 8) / 47, atemp = (t + 16) / 66, hum = h / 100, windspeed = w / 67
            "temp": (raw["temp"] * 47 - 8).round(2),
            "feels_like": (raw["atemp"] * 66 - 16).round(2),
            "humidity": (raw["hum"] * 100).round(1),
            "windspeed": (raw["windspeed"] * 67).round(2),
            "casual": raw["casual"].astype(int),
            "registered": raw["registered"].astype(int),
            "count": raw["bikers"].astype(int),
        }
    )
    return frame


def _encode(frame: pd.DataFrame, features: list[str]) -> np.ndarray:
    columns = []
    for name in features:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            columns.append(col.cat.codes.to_numpy(dtype=float))
        else:
            columns.append(col.to_numpy(dtype=float))
    return np.column_stack(columns)


def _bunch(frame: pd.DataFrame, features: list[str], descr: str) -> Bunch:
    return Bunch(
        frame=frame,
        data=_encode(frame, features),
        target=frame["count"].to_numpy(dtype=float),
        feature_names=list(features),
        categories={k: list(v) for k, v in _CATEGORICAL.items() if k in features},
        DESCR=descr,
    )


def load_bike_hourly() -> Bunch:
    """Hourly bike rentals of 2011 with readable units and named categories.

    Returns
    -------
    Bunch
        ``frame``: DataFrame with one row per hour (date, season, month, hour, weekday,
        holiday, workingday, weather, temp [°C], feels_like [°C], humidity [%],
        windspeed [km/h], casual, registered, count).
        ``data``: float array (n_hours, 11) of the model features ``feature_names``
        (categories coded 0..k-1), ``target``: rentals per hour,
        ``categories``: labels of the coded features, ``DESCR``: provenance.

    Examples
    --------
    >>> bike = load_bike_hourly()
    >>> bike.data.shape
    (8645, 11)
    >>> bike.categories["season"]
    ['winter', 'spring', 'summer', 'fall']
    """
    return _bunch(_readable(_read_raw_bike()), BIKE_FEATURES, _BIKE_DESCR)


def load_bike_daily() -> Bunch:
    """Daily aggregate of :func:`load_bike_hourly` (365 days of 2011).

    Rentals are summed over the day; temperature, humidity and wind are daily means;
    the weather is the day's most frequent situation (the worse one on ties).

    Returns
    -------
    Bunch
        Same fields as :func:`load_bike_hourly`, one row per day, without ``hour``.

    Examples
    --------
    >>> load_bike_daily().data.shape
    (365, 10)
    """
    hourly = _readable(_read_raw_bike())
    grouped = hourly.groupby("date", observed=True)
    first = grouped[["season", "month", "weekday", "holiday", "workingday"]].first()
    means = grouped[["temp", "feels_like", "humidity", "windspeed"]].mean().round(2)
    sums = grouped[["casual", "registered", "count"]].sum()

    def worst_mode(codes: pd.Series) -> int:
        counts = np.bincount(codes, minlength=len(WEATHER))
        return int(np.flatnonzero(counts == counts.max())[-1])

    weather_code = grouped["weather"].agg(lambda s: worst_mode(s.cat.codes.to_numpy()))
    daily = pd.concat([first, means, sums], axis=1).reset_index()
    daily["weather"] = pd.Categorical.from_codes(weather_code.to_numpy(), WEATHER)
    daily = daily[["date", *_DAILY_FEATURES, "casual", "registered", "count"]]
    descr = _BIKE_DESCR.replace("one row per hour (8,645 rows)", "aggregated to one row per day (365 rows)")
    return _bunch(daily, _DAILY_FEATURES, descr)


def load_bike_demand(*, threshold: int = 200) -> Bunch:
    """The hourly bike data as a classification task: is demand high in this hour?

    An hour counts as *high demand* when at least ``threshold`` bikes were rented
    (200 by default: about 27 % of the hours of 2011). The five features are numeric, so
    a differentiable model can use them as they are and a counterfactual can move them.

    Parameters
    ----------
    threshold : int
        Rentals per hour from which an hour is labelled 1 (high demand).

    Returns
    -------
    Bunch
        ``data``: float array (8645, 5) of :data:`DEMAND_FEATURES` (hour 0-23,
        workingday 0/1, temp [°C], humidity [%], windspeed [km/h]); ``target``: 0/1 labels;
        ``count``: the rentals behind the labels; ``frame``: the readable hourly table
        (as in :func:`load_bike_hourly`); ``feature_names``, ``threshold``, ``DESCR``.

    Examples
    --------
    >>> demand = load_bike_demand()
    >>> demand.data.shape, demand.feature_names[:2]
    ((8645, 5), ['hour', 'workingday'])
    >>> round(float(demand.target.mean()), 2)
    0.27
    """
    if not isinstance(threshold, (int, np.integer)) or threshold <= 0:
        raise ValueError(f"threshold must be a positive number of rentals per hour, got {threshold!r}")
    frame = _readable(_read_raw_bike())
    count = frame["count"].to_numpy(dtype=float)
    descr = _BIKE_DESCR.replace(
        "Target: number of rented bikes (`count`).",
        f"Target: high demand (1) when at least {threshold} bikes were rented in the hour, else 0.",
    )
    return Bunch(
        frame=frame,
        data=_encode(frame, DEMAND_FEATURES),
        target=(count >= threshold).astype(int),
        count=count,
        feature_names=list(DEMAND_FEATURES),
        threshold=int(threshold),
        DESCR=descr,
    )
