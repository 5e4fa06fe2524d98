# %% [markdown]
# # Probe lab — the grading machinery under test
#
# A two-question lab used only by the test suite (`tests/test_cheating.py`): small enough to
# grade in seconds, graded by two of lab 2's real hidden tests, so the cheating and broken
# submissions of the corpus can each be autograded on their own.

# %%
import numpy as np

from xaikit.checks import week02 as check

# %% [markdown]
# ## 1. Partial dependence

# %% nbgrader={"grade": false, "grade_id": "pdp_1d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def partial_dependence_1d(model, X, feature, grid):
    """Average prediction with column `feature` set to each grid value."""
    ### BEGIN SOLUTION
    X_mod = np.array(X, dtype=float, copy=True)
    average = np.empty(len(grid))
    for k, value in enumerate(grid):
        X_mod[:, feature] = value
        average[k] = model.predict(X_mod).mean()
    return average
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "pdp_1d_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.partial_dependence_1d(partial_dependence_1d)
### BEGIN HIDDEN TESTS
from xaigrader import week02
week02.partial_dependence_1d(partial_dependence_1d)
### END HIDDEN TESTS

# %% [markdown]
# ## 2. ICE curves

# %% nbgrader={"grade": false, "grade_id": "ice", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ice_curves(model, X, feature, grid, centered=False):
    """One curve per row; centred curves start at 0."""
    ### BEGIN SOLUTION
    X_mod = np.array(X, dtype=float, copy=True)
    curves = np.empty((X_mod.shape[0], len(grid)))
    for k, value in enumerate(grid):
        X_mod[:, feature] = value
        curves[:, k] = model.predict(X_mod)
    if centered:
        curves = curves - curves[:, :1]
    return curves
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ice_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.ice_curves(ice_curves)
### BEGIN HIDDEN TESTS
from xaigrader import week02
week02.ice_curves(ice_curves)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# **Question.** What does a PDP average over?
#
# ### BEGIN SOLUTION
# The model's predictions over the observed values of the other features.
# ### END SOLUTION

# %%
print("end of the notebook")
