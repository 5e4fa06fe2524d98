"""Small tables of week 1: the classification variant of the bike data, the design
matrix of the linear models, and the ten apartments of the OneR example.

Data only: nothing here fits or explains a model. Defined in week 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .data import load_bike_daily

__all__ = ["bike_design_matrix", "design_labels", "load_apartments", "load_bike_high_demand"]

#: Reference categories of the one-hot columns of :func:`bike_design_matrix`.
REFERENCE = {"season": "winter", "weather": "clear"}
#: Units of the measured columns of :func:`bike_design_matrix`; the other columns are 0/1.
UNITS = {"temp": "°C", "humidity": "%", "windspeed": "km/h"}


def load_apartments() -> pd.DataFrame:
    """The ten apartments of the OneR example in the week-1 lecture.

    Three categorical features (Location, Size, Pets) and the price class (low, medium, high).
    OneR reaches 4, 3 and 4 errors out of 10 with Location, Size and Pets, and picks Size.

    Returns
    -------
    DataFrame of shape (10, 4)
        Columns ``Location`` (good, bad), ``Size`` (small, medium, big),
        ``Pets`` (yes, no, only cats) and ``Price`` (low, medium, high), as strings.

    Examples
    --------
    >>> load_apartments().shape
    (10, 4)
    """
    rows = [
        ("good", "small", "yes", "high"),
        ("good", "big", "no", "high"),
        ("good", "big", "no", "high"),
        ("bad", "medium", "no", "medium"),
        ("good", "medium", "only cats", "medium"),
        ("good", "small", "only cats", "medium"),
        ("bad", "medium", "yes", "medium"),
        ("bad", "small", "yes", "low"),
        ("bad", "medium", "yes", "low"),
        ("bad", "small", "no", "low"),
    ]
    return pd.DataFrame(rows, columns=["Location", "Size", "Pets", "Price"])


def load_bike_high_demand() -> Bunch:
    """The daily bike data as a classification task: was a day a high-demand day?

    A day is a *high-demand day* (class 1) when its rentals exceed the median of the
    365 days of 2011, so the two classes are about equally frequent.

    Returns
    -------
    Bunch
        The fields of :func:`xaikit.load_bike_daily` (``frame``, ``data``,
        ``feature_names``, ``categories``, ``DESCR``), with ``target``: int array (365,)
        of 0 (normal day) and 1 (high-demand day), ``target_names``: their labels,
        ``threshold``: the median daily count that separates them; ``frame`` gains the
        column ``high_demand``.

    Examples
    --------
    >>> days = load_bike_high_demand()
    >>> days.data.shape, int(days.target.sum())
    ((365, 10), 182)
    """
    daily = load_bike_daily()
    threshold = float(np.median(daily.target))
    target = (daily.target > threshold).astype(int)
    frame = daily.frame.copy()
    frame["high_demand"] = target.astype(bool)
    descr = daily.DESCR + (
        f"\nClassification variant: target 1 (high demand) when the day's count exceeds the median, "
        f"{threshold:.0f} rentals; 0 otherwise."
    )
    return Bunch(
        frame=frame,
        data=daily.data,
        target=target,
        target_names=["normal day", "high-demand day"],
        threshold=threshold,
        feature_names=daily.feature_names,
        categories=daily.categories,
        DESCR=descr,
    )


def bike_design_matrix(frame: pd.DataFrame, *, season: bool = True) -> pd.DataFrame:
    """Numeric design matrix of the linear models of week 1, from a daily (or hourly) frame.

    Weather measurements stay in their units; ``workingday`` and ``holiday`` become 0/1;
    the categorical ``weather`` and ``season`` become one 0/1 column per category except
    the reference category (clear weather, winter), so each weight compares a category
    with its reference.

    Parameters
    ----------
    frame : DataFrame
        ``load_bike_daily().frame`` or ``load_bike_hourly().frame``.
    season : bool
        Include the season indicators (leave them out when a model cannot estimate them,
        e.g. a logistic regression where no winter day is a high-demand day).

    Returns
    -------
    DataFrame of float
        Columns ``temp`` [°C], ``humidity`` [%], ``windspeed`` [km/h], ``workingday``,
        ``holiday``, ``weather=misty``, ``weather=rain/snow`` and, with ``season``,
        ``season=spring``, ``season=summer``, ``season=fall``.

    Examples
    --------
    >>> from xaikit import load_bike_daily
    >>> list(bike_design_matrix(load_bike_daily().frame, season=False).columns)[-2:]
    ['weather=misty', 'weather=rain/snow']
    """
    missing = {"temp", "humidity", "windspeed", "workingday", "holiday", "weather", "season"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks the columns {sorted(missing)}; pass load_bike_daily().frame")
    design = pd.DataFrame(
        {
            "temp": frame["temp"].astype(float),
            "humidity": frame["humidity"].astype(float),
            "windspeed": frame["windspeed"].astype(float),
            "workingday": frame["workingday"].astype(float),
            "holiday": frame["holiday"].astype(float),
        },
        index=frame.index,
    )
    for name in ["weather", "season"] if season else ["weather"]:
        categories = list(frame[name].cat.categories)
        for category in categories:
            if category != REFERENCE[name]:
                design[f"{name}={category}"] = (frame[name] == category).astype(float)
    return design


def design_labels(columns) -> list[str]:
    """Plot labels with units for the columns of :func:`bike_design_matrix`.

    Examples
    --------
    >>> design_labels(["temp", "holiday"])
    ['temp [°C]', 'holiday (0/1)']
    """
    return [f"{c} [{UNITS[c]}]" if c in UNITS else f"{c} (0/1)" for c in columns]
