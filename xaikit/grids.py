"""Grids of feature values on which global effects are evaluated.

These build *inputs* for the methods of week 2; the methods themselves are the
students' to write. Defined in week 2.
"""

from __future__ import annotations

import numpy as np
from scipy.stats.mstats import mquantiles

__all__ = ["grid_values", "quantile_edges"]


def grid_values(x: np.ndarray, *, grid_resolution: int = 20, percentiles: tuple[float, float] = (0.05, 0.95)) -> np.ndarray:
    """Evaluation grid for a PDP or ICE plot, as ``sklearn.inspection.partial_dependence`` builds it.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
        Values of one feature.
    grid_resolution : int
        Number of equally spaced points; features with fewer distinct values use
        those values instead.
    percentiles : (float, float)
        The grid spans these quantiles of ``x``, so that rare extremes do not stretch it.

    Returns
    -------
    ndarray of shape (n_points,)

    Examples
    --------
    >>> grid_values(np.arange(5.0))
    array([0., 1., 2., 3., 4.])
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D (one feature), got shape {x.shape}")
    if grid_resolution < 2:
        raise ValueError(f"grid_resolution must be at least 2, got {grid_resolution}")
    low, high = percentiles
    if not 0 <= low < high <= 1:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 1, got {percentiles}")
    unique = np.unique(x)
    if unique.size < grid_resolution:
        return unique
    lo, hi = mquantiles(x, prob=percentiles, axis=0)
    if np.isclose(lo, hi):
        raise ValueError("the percentiles are too close to each other; widen `percentiles`")
    return np.linspace(lo, hi, num=grid_resolution, endpoint=True)


def quantile_edges(x: np.ndarray, *, n_bins: int = 10) -> np.ndarray:
    """Bin edges for ALE: quantiles of ``x`` from its minimum to its maximum.

    Each bin then holds about the same number of data points; repeated quantiles
    (ties in ``x``) are merged, so there may be fewer than ``n_bins`` bins.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
    n_bins : int

    Returns
    -------
    ndarray of shape (n_edges,)
        Sorted, unique edges; the first is ``min(x)``, the last ``max(x)``.

    Examples
    --------
    >>> quantile_edges(np.arange(11.0), n_bins=2)
    array([ 0.,  5., 10.])
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D (one feature), got shape {x.shape}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be positive, got {n_bins}")
    return np.unique(np.quantile(x, np.linspace(0, 1, n_bins + 1)))
