"""Visible checks and hidden tests of lab 2, called directly (fast; no notebook)."""

from __future__ import annotations

import numpy as np
import pytest

from xaikit import checks
from xaikit.checks import week02 as visible
from xaigrader import week02 as hidden


def pdp(model, X, feature, grid):
    X = X.copy()
    out = []
    for v in grid:
        X[:, feature] = v
        out.append(model.predict(X).mean())
    return np.array(out)


def pdp_in_place(model, X, feature, grid):
    out = []
    for v in grid:
        X[:, feature] = v
        out.append(model.predict(X).mean())
    return np.array(out)


def test_reference_style_answer_passes_visible_and_hidden(capsys):
    visible.partial_dependence_1d(pdp)
    hidden.partial_dependence_1d(pdp)
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("check", [visible.partial_dependence_1d, hidden.partial_dependence_1d])
def test_modifying_X_in_place_is_caught(check):
    with pytest.raises(checks.CheckFailed, match="in place|changed the X"):
        check(pdp_in_place)


@pytest.mark.parametrize("check", [visible.partial_dependence_1d, visible.ice_curves, visible.partial_dependence_2d,
                                   visible.ale_1d, visible.permutation_importance, hidden.partial_dependence_1d,
                                   hidden.ice_curves, hidden.partial_dependence_2d, hidden.ale_1d,
                                   hidden.permutation_importance])
def test_every_check_reports_a_blank_answer_as_not_attempted(check):
    def blank(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(checks.NotAttempted):
        check(blank)
