# %% [markdown]
# # Lab 2 — Global model-agnostic methods on the bike-rental data
#
# A bike-sharing company wants to know *how* the weather and the time of day drive demand.
# Its forecasting model is a black box: 300 boosted trees. In this lab you open that box
# from the outside with the four global methods of the week-2 lecture, each written by you
# as a plain function on NumPy arrays, the way `sklearn.inspection` does it:
#
# | part | you write | points |
# |---|---|---|
# | 1 | `partial_dependence_1d` — the PDP of one feature | 3 |
# | 2 | `ice_curves` — individual and centred ICE curves | 3 |
# | 3 | `partial_dependence_2d` — the PDP of a feature pair | 2 |
# | 4 | `ale_1d` — accumulated local effects | 4 |
# | 5 | `permutation_importance` — permutation feature importance | 3 |
# | | four written answers, graded by hand | 8 |
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each function: a green ✓ means
# the visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden
# tests compare each function with scikit-learn (or an exact mathematical property) on data and
# models you have not seen, so make your function general, not tuned to the bike data.
# Use NumPy and the model's `predict` method; do not call `sklearn.inspection` in your answers.
#
# **Stuck?** Each check has a one-line hint: `check.partial_dependence_1d.hint()` names the lecture section
# to reread and the usual trap. The last cell of the lab, `check.summary(globals())`, lists
# every autograded part as ✓ (visible checks pass), ✗ (one sentence on what is wrong) or …
# (not written yet), with its points.
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit.

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from xaikit import load_bike_hourly
from xaikit.checks import week02 as check
from xaikit.grids import grid_values, quantile_edges
from xaikit.models import fit_bike_model
from xaikit.plotting import plot_ale, plot_importance, plot_pdp

plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 0. The data and the black box
#
# Each row is one hour of 2011 in Washington D.C.: calendar features, the weather, and the
# number of bikes rented (`count`). The helper gives the data both as a readable table
# (`bike.frame`) and as the numeric matrix a model needs (`bike.data`, categories coded
# 0, 1, ...; `bike.categories` holds their labels).

# %%
bike = load_bike_hourly()
names = bike.feature_names
print(bike.DESCR)
bike.frame.head()

# %% [markdown]
# We hold out a quarter of the hours, fit the black box on the rest, and check that it is worth
# explaining: an explanation of a bad model explains nothing about the world.

# %%
X_train, X_test, y_train, y_test = train_test_split(bike.data, bike.target, test_size=0.25, random_state=42)
model = fit_bike_model(X_train, y_train)
print(f"test R² = {r2_score(y_test, model.predict(X_test)):.3f}")

# %% [markdown]
# ## 1. Partial dependence
#
# The partial dependence of the prediction $\hat f$ on a feature $x_S$ averages the model over
# the observed values $x_C^{(i)}$ of all other features:
#
# $$\hat f_S(x_S) = \frac{1}{n}\sum_{i=1}^n \hat f\big(x_S, x_C^{(i)}\big).$$
#
# So for every grid value $v$: copy the data, set column `feature` of **every** row to $v$,
# predict, and average the predictions.
#
# Write `partial_dependence_1d(model, X, feature, grid)` returning an array with one value per
# grid point. Do not modify `X` itself (work on a copy).

# %% nbgrader={"grade": false, "grade_id": "pdp_1d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def partial_dependence_1d(model, X, feature, grid):
    """Partial dependence of `model.predict` on column `feature` of X.

    Parameters
    ----------
    model : fitted model with a `predict(X)` method
    X : ndarray of shape (n_samples, n_features)
    feature : int, the column index
    grid : ndarray of shape (n_points,), the feature values to evaluate

    Returns
    -------
    ndarray of shape (n_points,)
    """
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
# Now use your function on the bike model. `grid_values` builds the grid the way scikit-learn
# does (equally spaced between the 5th and 95th percentile, or the distinct values of a feature
# with few of them). The ticks at the bottom show where the training data lie.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=True)
for ax, feature_name in zip(axes, ["temp", "hour", "humidity"]):
    j = names.index(feature_name)
    grid = grid_values(X_train[:, j], grid_resolution=30)
    plot_pdp(grid, partial_dependence_1d(model, X_train, j, grid), feature=feature_name, rug=X_train[:, j], ax=ax)
fig.tight_layout()

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_pdp", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** Describe in two or three sentences what the model has learned about
# temperature, hour of the day and humidity. Quote numbers from the plots (rentals per hour).
#
# ### BEGIN SOLUTION
# *Model answer.* Predicted rentals rise with temperature, from about 105 per hour below 5 °C
# to about 165 above 22 °C, and then stay flat (no summer drop in the average). The hour of the
# day has by far the largest effect: almost no rentals at 3–5 h, a morning peak of about 265
# at 8 h and an evening peak of about 315 at 17 h (commuting). Humidity hardly matters up to
# about 65 %; above it the prediction falls to about 100 per hour at 90 % (rainy hours).
# ### END SOLUTION

# %% [markdown]
# ## 2. Individual conditional expectation (ICE)
#
# A PDP is an average, and averages hide heterogeneity. An ICE curve keeps one line per row:
# $\hat f^{(i)}(x_S) = \hat f(x_S, x_C^{(i)})$. Their mean over the rows **is** the PDP.
# When the curves start at different heights their shapes are hard to compare, so we also
# *centre* them: subtract from each curve its own value at the first grid point, so every curve
# starts at 0.
#
# Write `ice_curves(model, X, feature, grid, centered=False)` returning an array with one row
# per row of `X` and one column per grid point.

# %% nbgrader={"grade": false, "grade_id": "ice", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ice_curves(model, X, feature, grid, centered=False):
    """Individual conditional expectation curves of `model.predict` for column `feature`.

    Returns
    -------
    ndarray of shape (n_samples, n_points)
        Row i is the prediction for row i of X with the feature set to each grid value;
        with `centered=True`, each row minus its value at the first grid point.
    """
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

# %% [markdown]
# The centred ICE curves of the hour of the day, for 400 random training hours. Colour shows
# whether the hour belongs to a working day.

# %%
rng = np.random.default_rng(0)
sample = X_train[rng.choice(len(X_train), size=400, replace=False)]
j_hour, j_work = names.index("hour"), names.index("workingday")
hours = grid_values(X_train[:, j_hour], grid_resolution=30)
ice = ice_curves(model, sample, j_hour, hours, centered=True)

fig, ax = plt.subplots(figsize=(8, 4.5))
for is_working, colour, label in [(1, "tab:blue", "working day"), (0, "tab:red", "weekend or holiday")]:
    rows = sample[:, j_work] == is_working
    ax.plot(hours, ice[rows].T, color=colour, alpha=0.12, linewidth=0.8)
    ax.plot(hours, ice[rows].mean(axis=0), color=colour, linewidth=3, label=f"{label} (mean)")
ax.set(xlabel="hour of the day", ylabel="change in predicted rentals per hour since 0 h",
       title="Centred ICE curves of the hour of the day")
ax.legend();

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_ice", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** What do the centred ICE curves show that the PDP of the hour
# (part 1) hides? What does that tell you about the model?
#
# ### BEGIN SOLUTION
# *Model answer.* The curves split into two families: on working days they have two sharp
# commuting peaks (8 h and 17–18 h), on weekends and holidays a single broad hump around
# midday–afternoon. The PDP averages these into one curve that matches neither group. So the
# model has learned an interaction between the hour and the type of day; the effect of the hour
# is not the same for every row, and a PDP alone would mislead.
# ### END SOLUTION

# %% [markdown]
# ## 3. Two-feature partial dependence
#
# An interaction is a joint effect: the partial dependence on a pair $(x_a, x_b)$ fixes both
# columns at once, $\hat f_{ab}(v_a, v_b) = \frac1n\sum_i \hat f(v_a, v_b, x_C^{(i)})$.
#
# Write `partial_dependence_2d(model, X, features, grids)` where `features = (a, b)` are two
# column indices and `grids = (grid_a, grid_b)`. Entry `[p, q]` of the result is the average
# prediction with column `a` set to `grid_a[p]` and column `b` set to `grid_b[q]`.

# %% nbgrader={"grade": false, "grade_id": "pdp_2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def partial_dependence_2d(model, X, features, grids):
    """Partial dependence of `model.predict` on the pair of columns `features`.

    Returns
    -------
    ndarray of shape (len(grids[0]), len(grids[1]))
    """
    ### BEGIN SOLUTION
    a, b = features
    grid_a, grid_b = grids
    X_mod = np.array(X, dtype=float, copy=True)
    average = np.empty((len(grid_a), len(grid_b)))
    for p, value_a in enumerate(grid_a):
        X_mod[:, a] = value_a
        for q, value_b in enumerate(grid_b):
            X_mod[:, b] = value_b
            average[p, q] = model.predict(X_mod).mean()
    return average
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "pdp_2d_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.partial_dependence_2d(partial_dependence_2d)
### BEGIN HIDDEN TESTS
from xaigrader import week02
week02.partial_dependence_2d(partial_dependence_2d)
### END HIDDEN TESTS

# %% [markdown]
# The pair (hour, working day) confirms what the ICE curves suggested: the two rows of this
# PDP have different shapes, which a model without an interaction could not produce.

# %%
pd_hour_work = partial_dependence_2d(model, sample, (j_hour, j_work), (hours, np.array([0.0, 1.0])))
fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(hours, pd_hour_work[:, 1], "-o", color="tab:blue", label="working day")
ax.plot(hours, pd_hour_work[:, 0], "-o", color="tab:red", label="weekend or holiday")
ax.set(xlabel="hour of the day", ylabel="predicted rentals per hour",
       title="Two-feature partial dependence: hour × working day")
ax.legend();

# %% [markdown]
# ## 4. Accumulated local effects (ALE)
#
# `temp` and `feels_like` are almost the same measurement (correlation 0.99). To draw the PDP
# of `temp` at 30 °C, the PDP also feeds the model hours that are 30 °C but *feel* like 0 °C —
# combinations that never occur, where the model's answer means nothing:

# %%
j_temp, j_feel = names.index("temp"), names.index("feels_like")
temps = grid_values(X_train[:, j_temp], grid_resolution=20)
fig, ax = plt.subplots(figsize=(6, 4))
ax.scatter(X_train[:, j_temp], X_train[:, j_feel], s=3, alpha=0.3, label="observed hours")
ax.scatter(np.repeat(temps[-1], 200), rng.choice(X_train[:, j_feel], 200), s=6, color="tab:red",
           label=f"PDP inputs at {temps[-1]:.0f} °C")
ax.set(xlabel="temperature [°C]", ylabel="feels-like temperature [°C]",
       title=f"Correlated features: r = {np.corrcoef(X_train[:, j_temp], X_train[:, j_feel])[0, 1]:.2f}")
ax.legend();

# %% [markdown]
# ALE avoids those impossible points. Cut the feature's range at edges
# $z_0 < z_1 < \dots < z_K$ (quantiles, so each bin holds about as many rows). For each bin $k$,
# take only the rows whose value lies in it, $z_{k-1} < x_j \le z_k$ (rows with $x_j = z_0$ go
# to the first bin), and average how the prediction changes when the feature moves from the
# lower to the upper edge, other features unchanged:
#
# $$\Delta_k = \frac{1}{n_k}\sum_{i:\,x^{(i)}_j \in \text{bin } k}
#   \Big[\hat f\big(z_k, x^{(i)}_{C}\big) - \hat f\big(z_{k-1}, x^{(i)}_{C}\big)\Big].$$
#
# Accumulate: the uncentred effect at edge $z_k$ is $\tilde g(z_k) = \sum_{m \le k} \Delta_m$ (and
# $\tilde g(z_0) = 0$). Finally **centre** it so that its average over the data is 0: subtract
#
# $$c = \frac{1}{n}\sum_{k=1}^{K} n_k \,\frac{\tilde g(z_{k-1}) + \tilde g(z_k)}{2},$$
#
# the mean of each bin's two edge values weighted by the number of rows $n_k$ in the bin. This is
# the centring of R's `ALEPlot` and of `PyALE` (the hidden test's reference). Apley & Zhu's
# eq. 16 subtract instead the mean over the rows of the step function that is constant at
# $\tilde g(z_k)$ inside bin $k$; the two curves differ only by a constant (see the lecture).
#
# Write `ale_1d(model, X, feature, edges)` returning the centred ALE at each edge.
# *Hint:* `np.searchsorted(edges, x, side="left")` gives, for each value, the index $k$ of the
# upper edge of its bin (with 0 for $x = z_0$, which belongs to bin 1).

# %% nbgrader={"grade": false, "grade_id": "ale", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ale_1d(model, X, feature, edges):
    """Centred first-order ALE of `model.predict` for column `feature`.

    Parameters
    ----------
    edges : ndarray of shape (K + 1,), sorted bin edges covering the data

    Returns
    -------
    ndarray of shape (K + 1,), the centred ALE at each edge
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    edges = np.asarray(edges, dtype=float)
    n_bins = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, X[:, feature], side="left"), 1, n_bins)
    X_low, X_high = X.copy(), X.copy()
    X_low[:, feature] = edges[bins - 1]
    X_high[:, feature] = edges[bins]
    differences = model.predict(X_high) - model.predict(X_low)
    counts = np.bincount(bins, minlength=n_bins + 1)[1:]
    sums = np.bincount(bins, weights=differences, minlength=n_bins + 1)[1:]
    mean_differences = np.divide(sums, counts, out=np.zeros(n_bins), where=counts > 0)
    ale = np.concatenate([[0.0], np.cumsum(mean_differences)])
    return ale - np.sum(counts * (ale[:-1] + ale[1:]) / 2) / counts.sum()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ale_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check.ale_1d(ale_1d)
### BEGIN HIDDEN TESTS
from xaigrader import week02
week02.ale_1d(ale_1d)
### END HIDDEN TESTS

# %% [markdown]
# PDP and ALE of the temperature, side by side. The PDP is centred too (its mean over the
# data subtracted) so that the two curves share a scale.

# %%
edges = quantile_edges(X_train[:, j_temp], n_bins=20)
ale_temp = ale_1d(model, X_train, j_temp, edges)
pdp_temp = partial_dependence_1d(model, X_train, j_temp, edges)
pdp_temp -= np.interp(X_train[:, j_temp], edges, pdp_temp).mean()  # centre: mean over the data is 0
ax = plot_ale(edges, ale_temp, feature="temp", rug=X_train[:, j_temp], label="ALE")
ax.plot(edges, pdp_temp, "--", color="tab:orange", label="PDP (centred)")
ax.legend();

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_ale", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (2 points).** Where do PDP and ALE of the temperature disagree, and which one do
# you trust there? Explain with the scatter plot above.
#
# ### BEGIN SOLUTION
# *Model answer.* They agree over most of the range but part above about 30 °C: the ALE drops
# in the hottest hours, while the PDP stays high. The PDP's value at, say, 35 °C averages the
# model over hours that feel like anything from −10 to 40 °C (the red points far from the
# diagonal of the scatter plot); the model never saw such hours, so those predictions are
# extrapolations. ALE compares each hot hour only with itself moved across its own small
# temperature bin, so it stays on the data: trust the ALE there (with the caveat that the last
# bin holds few, very hot hours).
# ### END SOLUTION

# %% [markdown]
# ## 5. Permutation feature importance
#
# How much does the model rely on a feature? Shuffle that column (breaking its link with the
# target while keeping its distribution), and measure how much the test score drops:
#
# $$\text{importance}_j = \text{score}(y, \hat f(X)) - \text{score}(y, \hat f(X_{\text{column } j \text{ permuted}})).$$
#
# Repeat with new permutations to see the noise. Write
# `permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0)`:
#
# - `metric(y_true, y_pred)` is a score where higher is better (e.g. `r2_score`);
# - create **one** generator `rng = np.random.default_rng(random_state)` and draw every
#   permutation from it (`rng.permutation(n_samples)`), so the result is reproducible;
# - loop over the features in order and, for each feature, over its `n_repeats` repeats,
#   drawing one permutation per repeat in exactly this order (the hidden test redraws the same
#   permutations and compares your values exactly); permute only that column, starting from
#   the original data each time (do not modify `X`);
# - return an array of shape `(n_features, n_repeats)`.

# %% nbgrader={"grade": false, "grade_id": "pfi", "locked": false, "schema_version": 3, "solution": true, "task": false}
def permutation_importance(model, X, y, *, metric, n_repeats=5, random_state=0):
    """Drop in `metric` when each column of X is permuted, `n_repeats` times per column.

    Returns
    -------
    ndarray of shape (n_features, n_repeats)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    rng = np.random.default_rng(random_state)
    baseline = metric(y, model.predict(X))
    importances = np.empty((X.shape[1], n_repeats))
    X_perm = X.copy()
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            X_perm[:, j] = X[rng.permutation(len(X)), j]
            importances[j, r] = baseline - metric(y, model.predict(X_perm))
        X_perm[:, j] = X[:, j]
    return importances
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "pfi_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.permutation_importance(permutation_importance)
### BEGIN HIDDEN TESTS
from xaigrader import week02
week02.permutation_importance(permutation_importance)
### END HIDDEN TESTS

# %% [markdown]
# Importance on the **test** hours (importance on training data also rewards overfitting):

# %%
importances = permutation_importance(model, X_test, y_test, metric=r2_score, n_repeats=5, random_state=0)
plot_importance(importances, names, metric="test R²");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_pfi", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 4 (2 points).** Which features matter most? `temp` and `feels_like` carry almost
# the same information: what does that do to their importances, and what would happen to the
# importance of `temp` if you refitted the model without `feels_like`?
#
# ### BEGIN SOLUTION
# *Model answer.* The hour of the day is by far the most important feature (permuting it
# costs most of the R²), followed by the working-day indicator and the temperature; wind speed
# and holiday barely matter. Because temp and feels_like are near copies, the model splits its
# reliance between them, and permuting one leaves the other to carry the information, so both
# look less important than the temperature really is. Refitting without feels_like would move
# that share onto temp and its importance would rise. Permutation importance measures what
# *this model* relies on, not what matters in the world.
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - A **PDP** shows the average effect of a feature; **ICE** curves show whether that average
#   hides different behaviours (here: commuting vs. leisure days); a **2-D PDP** shows an
#   interaction directly.
# - PDPs feed the model impossible inputs when features are correlated; **ALE** stays on the
#   data by looking only at local changes.
# - **Permutation importance** tells how much the model relies on a feature, on held-out data;
#   correlated features share (and so hide) their importance.

# %% [markdown]
# ## Your progress
#
# The visible checks of every autograded part, rerun on your current functions. They are not
# the grade: hidden tests on other data decide it.

# %%
check.summary(globals())
