"""The helper package: grids, models, plots and the instant-feedback checks."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from sklearn.inspection import partial_dependence

from xaikit import checks, load_bike_hourly
from xaikit.grids import grid_values, quantile_edges
from xaikit.models import FunctionRegressor, fit_bike_model

matplotlib.use("Agg")


def test_grid_values_is_sklearns_grid():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200), rng.integers(0, 4, 200)])
    model = FunctionRegressor(lambda X: X[:, 0] * X[:, 1])
    for feature in (0, 1):
        ref = partial_dependence(model, X, [feature], method="brute", grid_resolution=15)["grid_values"][0]
        np.testing.assert_array_equal(grid_values(X[:, feature], grid_resolution=15), ref)


def test_grids_reject_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        grid_values(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="n_bins"):
        quantile_edges(np.arange(5.0), n_bins=0)


def test_quantile_edges_cover_the_data():
    x = np.random.default_rng(1).exponential(size=500)
    edges = quantile_edges(x, n_bins=10)
    assert edges[0] == x.min() and edges[-1] == x.max() and np.all(np.diff(edges) > 0)


def test_bike_model_is_accurate_and_deterministic():
    bike = load_bike_hourly()
    a = fit_bike_model(bike.data[:6000], bike.target[:6000])
    b = fit_bike_model(bike.data[:6000], bike.target[:6000])
    assert a.score(bike.data[6000:], bike.target[6000:]) > 0.8
    np.testing.assert_array_equal(a.predict(bike.data[:50]), b.predict(bike.data[:50]))


def test_fit_bike_model_names_the_bad_argument():
    with pytest.raises(ValueError, match="X must be 2-D"):
        fit_bike_model(np.zeros(5), np.zeros(5))


def test_plots_have_titles_and_labels():
    from xaikit.plotting import plot_ale, plot_importance, plot_pdp, plot_pdp_2d

    grid = np.linspace(0, 30, 5)
    for ax in [plot_pdp(grid, grid, ice=np.tile(grid, (3, 1)), feature="temp", rug=grid),
               plot_ale(grid, grid - grid.mean(), feature="temp"),
               plot_importance(np.ones((3, 2)), ["a", "b", "c"]),
               plot_pdp_2d(grid, grid[:3], np.ones((5, 3)), features=("temp", "hour"))]:
        assert ax.get_title() and ax.get_xlabel()
    assert "°C" in plot_pdp(grid, grid, feature="temp").get_xlabel()


# --- instant-feedback checks ---------------------------------------------------------------

def _one_line(exc: checks.CheckFailed) -> str:
    lines = exc._render_traceback_()
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize("value, fragment", [
    (None, "forget the `return`"),
    (["a", "b"], "not a numeric array"),
    (np.zeros(3), "returned shape (3,), expected (4,)"),
    (np.array([1.0, np.nan, 2.0, 3.0]), "NaN"),
])
def test_as_array_explains_bad_output_in_one_line(value, fragment):
    with pytest.raises(checks.CheckFailed) as info:
        checks.as_array(value, name="f", shape=(4,))
    assert fragment in _one_line(info.value)


def test_call_separates_not_attempted_from_errors():
    def blank(*_):
        raise NotImplementedError()

    def buggy(*_):
        return 1 / 0

    with pytest.raises(checks.NotAttempted, match="not written yet"):
        checks.call(blank)
    with pytest.raises(checks.CheckFailed, match="ZeroDivisionError"):
        checks.call(buggy)
    with pytest.raises(checks.CheckFailed, match="should be a function"):
        checks.call(3, name="f")


def test_array_like_with_tricky_eq_is_not_trusted():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(checks.CheckFailed):
        checks.as_array(AlwaysEqual(), name="f", shape=(4,))


def test_synthetic_shapes_have_ground_truth_masks():
    from xaikit.images import CUE_COLOURS, make_shapes

    data = make_shapes(30, cue_strength=1.0, random_state=3)
    assert data.images.shape == (30, 3, 32, 32) and data.images.dtype == np.float32
    assert 0 <= data.images.min() and data.images.max() <= 1
    assert np.bincount(data.labels).tolist() == [10, 10, 10]
    assert data.masks.sum(axis=(1, 2)).min() > 20 and (data.cue_masks.sum(axis=(1, 2)) == 16).all()
    assert not (data.masks & data.cue_masks).any()
    cue_colour = np.array([data.images[i][:, data.cue_masks[i]].mean(axis=1) for i in range(30)])
    np.testing.assert_allclose(cue_colour, CUE_COLOURS[data.labels], atol=1e-6)  # perfect shortcut
    again = make_shapes(30, cue_strength=1.0, random_state=3)
    np.testing.assert_array_equal(again.images, data.images)
