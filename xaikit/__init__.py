"""xaikit: the helper package of the open Explainable-AI course."""
from .data import BIKE_FEATURES, DEMAND_FEATURES, dataset_path, load_bike_daily, load_bike_demand, load_bike_hourly

__version__ = "0.1.0"
