"""Small models the course explains, trained in seconds on a laptop CPU.

Defined in week 1 (bike models); later weeks add their own.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

__all__ = ["FunctionRegressor", "fit_bike_model"]


def fit_bike_model(X: np.ndarray, y: np.ndarray, *, random_state: int = 0) -> HistGradientBoostingRegressor:
    """Fit the course's black box for bike rentals: gradient-boosted trees.

    Poisson loss suits a count target; 300 shallow trees reach a test R^2 of about
    0.95 on the hourly data in well under a second.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features, e.g. ``load_bike_hourly().data``.
    y : ndarray of shape (n_samples,)
        Rentals per hour (or per day).
    random_state : int
        Seed of the booster's internal randomness.

    Returns
    -------
    HistGradientBoostingRegressor
        The fitted model; ``model.predict(X)`` gives expected rentals.

    Examples
    --------
    >>> from xaikit import load_bike_hourly
    >>> bike = load_bike_hourly()
    >>> model = fit_bike_model(bike.data, bike.target)
    >>> model.predict(bike.data[:2]).shape
    (2,)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be 2-D and y 1-D with one entry per row; got X {X.shape}, y {y.shape}")
    model = HistGradientBoostingRegressor(
        loss="poisson", max_iter=300, learning_rate=0.1, random_state=random_state
    )
    with threadpool_limits(1):  # one OpenMP thread: faster than several on a busy machine (xaikit.threads)
        return model.fit(X, y)


class FunctionRegressor(RegressorMixin, BaseEstimator):
    """A known function dressed as a fitted scikit-learn regressor.

    Lets the lectures explain models whose true behaviour we know, with the same
    tools (``sklearn.inspection``, shap, lime) as a trained black box.

    Parameters
    ----------
    func : callable
        Maps an array of shape (n_samples, n_features) to predictions of shape (n_samples,).

    Examples
    --------
    >>> model = FunctionRegressor(lambda X: X[:, 0] + 2 * X[:, 1])
    >>> model.predict(np.array([[1.0, 1.0]]))
    array([3.])
    """

    def __init__(self, func=None):
        self.func = func

    def fit(self, X=None, y=None):
        """Nothing to learn; returns self."""
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, X):
        X = np.asarray(X, dtype=float)
        return np.asarray(self.func(X), dtype=float).reshape(len(X))
