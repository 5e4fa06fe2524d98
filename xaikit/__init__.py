"""xaikit: the helper package of the open Explainable-AI course."""

from __future__ import annotations

__version__ = "0.1.0"

# The data loaders, imported on first use (``from xaikit import load_bike_daily`` works as
# usual): ``import xaikit.threads`` in every grading command then costs no pandas/scikit-learn.
_DATA = ("BIKE_FEATURES", "DEMAND_FEATURES", "dataset_path", "load_bike_daily", "load_bike_demand",
         "load_bike_hourly")
__all__ = [*_DATA]


def __getattr__(name: str):
    if name in _DATA:
        from . import data

        return getattr(data, name)
    raise AttributeError(f"module 'xaikit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_DATA])
