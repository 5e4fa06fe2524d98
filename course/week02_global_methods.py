# %% [markdown]
# # Week 2 — Global model-agnostic methods: PDP, ICE, ALE and permutation importance
#
# Last week's models were interpretable by construction. This week the model is a black box,
# and we explain it *from the outside*: we only feed it inputs and read its predictions. Such
# **model-agnostic** methods work for any model (boosted trees, neural networks, ...), and
# **global** ones describe how the model behaves on average over the data.
#
# After this lecture you can
#
# - read and compute a **partial dependence plot** (PDP) and say what it averages over;
# - use **ICE** curves, plain and centred, to find effects that differ between instances;
# - explain why correlated features break the PDP and how **accumulated local effects** (ALE)
#   avoid the problem;
# - measure **permutation feature importance** and name its caveats.
#
# In the lab you implement all four yourself.

# %%
import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PyALE import ale
from sklearn.inspection import PartialDependenceDisplay, partial_dependence, permutation_importance
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

from xaikit import load_bike_hourly
from xaikit.models import FunctionRegressor, fit_bike_model
from xaikit.plotting import feature_label, plot_ale, plot_importance

plt.rcParams["figure.dpi"] = 90
logging.getLogger("PyALE._ALE_generic").setLevel(logging.WARNING)  # PyALE logs every call

# %% [markdown]
# ## 1. The prediction problem
#
# A bike-sharing system in Washington D.C. records every hour how many bikes were rented,
# together with the calendar and the weather (the UCI *Bike Sharing* data, 2011). The operator
# wants to forecast demand, and to understand it: which conditions drive rentals, and how?

# %%
bike = load_bike_hourly()
names = bike.feature_names
labels = [feature_label(name) for name in names]  # axis labels with units
bike.frame.sample(5, random_state=1)

# %% [markdown]
# Two views of the raw data already hint at the answers we expect from the model: a daily
# rhythm with commuting peaks, and more rentals when it is warm.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
bike.frame.groupby(["hour", "workingday"])["count"].mean().unstack().plot(ax=axes[0])
axes[0].set(xlabel="hour of the day", ylabel="mean rentals per hour", title="Rentals over the day")
axes[0].legend(["weekend or holiday", "working day"])
axes[1].scatter(bike.frame["temp"], bike.frame["count"], s=2, alpha=0.2)
axes[1].set(xlabel=feature_label("temp"), ylabel="rentals per hour", title="Rentals against temperature")
fig.tight_layout()

# %% [markdown]
# ## 2. A black box
#
# The model is a gradient-boosted ensemble of 300 trees. It predicts well, and no human can
# read 300 trees: exactly the situation the methods of this week are for.

# %%
X_train, X_test, y_train, y_test = train_test_split(bike.data, bike.target, test_size=0.25, random_state=42)
model = fit_bike_model(X_train, y_train)
print(f"test R² = {r2_score(y_test, model.predict(X_test)):.3f}")

# %% [markdown]
# ## 3. Partial dependence plots (PDP)
#
# Split the features into the ones we are interested in, $x_S$, and all the others, $x_C$.
# The **partial dependence function** is the model's prediction as a function of $x_S$,
# averaged over the distribution of $x_C$:
#
# $$\hat f_S(x_S) = \mathbb{E}_{X_C}\big[\hat f(x_S, X_C)\big]
#   \approx \frac{1}{n}\sum_{i=1}^{n} \hat f\big(x_S, x_C^{(i)}\big).$$
#
# In words: pretend every hour in the data had temperature $x_S$, predict, and average. Doing
# that for a grid of values draws the curve. Like the coefficients of a linear model, it shows
# *how* a feature moves the prediction, but it can be any shape.
#
# scikit-learn computes it with `sklearn.inspection.partial_dependence`. We ask for
# `method="brute"`, which is exactly the average above (for tree ensembles the default
# `"recursion"` shortcut gives a different answer when features are correlated).

# %%
features = [names.index(f) for f in ("temp", "hour", "humidity")]
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
PartialDependenceDisplay.from_estimator(
    model, X_train, features, feature_names=labels, method="brute", grid_resolution=30, ax=axes,
)
for ax in fig.axes:
    ax.set_ylabel("predicted rentals per hour")
fig.suptitle("Partial dependence of the bike model")
fig.tight_layout()

# %% [markdown]
# Reading these plots: predicted demand grows with temperature and saturates above about
# 22 °C; the hour of the day matters most, with peaks at 8 h and 17 h; humid hours lose riders
# above about 65 %. The tick marks on the x axis are the deciles of the data: trust the curve
# where the data are.
#
# Assumption to remember: the average over $x_C$ pairs each grid value with **all** observed
# $x_C$, as if $x_S$ were independent of the other features. Section 5 shows what happens when
# it is not.

# %% [markdown]
# ## 4. Individual conditional expectation (ICE)
#
# A PDP is an average, and an average can hide opposite behaviours. An **ICE curve** draws the
# prediction of a single instance as $x_S$ varies, $\hat f^{(i)}(x_S) = \hat f(x_S, x_C^{(i)})$:
# one line per instance, and the PDP is their mean. Where the lines are parallel, the PDP
# summarises them well; where they cross or split into groups, the feature **interacts** with
# others.
#
# Curves that start at different heights are hard to compare. The **centred ICE** plot
# subtracts from each curve its value at the left end, so every line starts at zero and only
# the shapes remain.

# %%
rng = np.random.default_rng(0)
sample = X_train[rng.choice(len(X_train), size=300, replace=False)]
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
for ax, centred in zip(axes, [False, True]):
    PartialDependenceDisplay.from_estimator(
        model, sample, [names.index("hour")], feature_names=labels, method="brute", kind="both",
        centered=centred, grid_resolution=25, ax=ax,
        ice_lines_kw={"alpha": 0.15, "linewidth": 0.6}, pd_line_kw={"color": "tab:orange", "linewidth": 3},
    )
    ax.set_title("centred ICE" if centred else "ICE")
for ax in fig.axes:
    if ax.get_ylabel():
        ax.set_ylabel("predicted rentals per hour")
fig.suptitle("ICE curves of the hour of the day (300 hours)")
fig.tight_layout()

# %% [markdown]
# Two families appear: curves with two sharp commuting peaks, and curves with one broad
# afternoon hump. The PDP runs between them and describes neither. The obvious suspect is the
# working-day indicator; a **two-feature PDP** averages over everything except the pair and
# makes the interaction visible directly.

# %%
j_hour, j_work = names.index("hour"), names.index("workingday")
pd_pair = partial_dependence(model, sample, [(j_hour, j_work)], method="brute", grid_resolution=25)
hours, work = pd_pair["grid_values"]
fig, ax = plt.subplots(figsize=(7, 4))
for k, label in zip(range(len(work)), ["weekend or holiday", "working day"]):
    ax.plot(hours, pd_pair["average"][0][:, k], "-o", markersize=3, label=label)
ax.set(xlabel="hour of the day", ylabel="predicted rentals per hour", title="Two-feature PDP: hour × working day")
ax.legend();

# %% [markdown]
# ## 5. When features are correlated: from PDP to ALE
#
# In the bike data, `temp` and `feels_like` are almost the same measurement:

# %%
j_temp, j_feel = names.index("temp"), names.index("feels_like")
print(f"correlation(temp, feels_like) = {np.corrcoef(X_train[:, j_temp], X_train[:, j_feel])[0, 1]:.3f}")

# %% [markdown]
# To compute the PDP of `temp` at 30 °C, we pair 30 °C with *every* observed `feels_like`,
# including −10 °C. The model never saw such hours; what it predicts there is an accident of
# how its trees extrapolate, yet the PDP averages it in.
#
# A clean way to see the danger: two models that give **the same predictions on the data** but
# differ away from it. Let $x_2 \approx x_1$ (correlated) and
#
# - model A: $f_A(x) = x_1 + x_2$,
# - model B: $f_B(x) = x_1 + x_2 + 20\,(x_1 - x_2)^2$ — identical wherever $x_1 \approx x_2$.

# %%
rng = np.random.default_rng(1)
x1 = rng.uniform(0, 1, 1000)
X_toy = np.column_stack([x1, x1 + rng.normal(0, 0.05, 1000)])
model_a = FunctionRegressor(lambda X: X[:, 0] + X[:, 1])
model_b = FunctionRegressor(lambda X: X[:, 0] + X[:, 1] + 20 * (X[:, 0] - X[:, 1]) ** 2)
gap = np.abs(model_a.predict(X_toy) - model_b.predict(X_toy))
print(f"on the data, the two models differ by {gap.mean():.3f} on average (predictions range 0 to 2)")

# %% [markdown]
# Their PDPs for $x_1$ disagree completely: model B's PDP is a parabola built entirely from
# points like $(x_1, x_2) = (0.9, 0.1)$ that do not exist.
#
# **Accumulated local effects** (Apley & Zhu, 2020) avoid those points. Cut the range of the
# feature into intervals $(z_{k-1}, z_k]$ holding about the same number of instances. Inside
# each interval, take only the instances that fall in it, move their feature from the lower
# to the upper edge (everything else unchanged, so they stay close to the data) and average
# the change in prediction:
#
# $$\Delta_k = \frac{1}{n_k}\sum_{i:\, x_j^{(i)} \in (z_{k-1}, z_k]}
#   \Big[\hat f\big(z_k, x^{(i)}_{C}\big) - \hat f\big(z_{k-1}, x^{(i)}_{C}\big)\Big].$$
#
# Accumulating the $\Delta_k$ from left to right gives the effect curve; it is then centred so
# that its average over the data is zero. We use the `PyALE` package here (you will write it
# yourself in the lab).

# %%
frame_toy = pd.DataFrame(X_toy, columns=["x1", "x2"])
grid = np.linspace(0.05, 0.95, 10)
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
for ax, mdl, label in [(axes[0], model_a, "model A"), (axes[1], model_b, "model B")]:
    pdp = partial_dependence(mdl, X_toy, [0], method="brute", grid_resolution=10)
    ax.plot(pdp["grid_values"][0], pdp["average"][0] - pdp["average"][0].mean(), "--", label="PDP (centred)")
    effects = ale(frame_toy, mdl, ["x1"], grid_size=10, include_CI=False, plot=False)
    plot_ale(effects.index, effects["eff"], feature="x1", target="prediction", ax=ax, label="ALE", title=label)
axes[0].set_ylabel("effect on the prediction (centred)")
fig.suptitle("Two models that agree on the data: the PDP tells them apart by their extrapolation, ALE does not")
fig.tight_layout()

# %% [markdown]
# **Which centring?** "Average over the data is zero" can be read in two ways. Apley & Zhu
# (2020, eq. 16) treat the uncentred effect as a step function, constant inside each bin at its
# upper-edge value $\tilde g(z_k)$, and subtract its mean over the instances,
# $\frac1n\sum_k n_k\, \tilde g(z_k)$. R's `ALEPlot` package, and `PyALE` which follows it (and the
# lab), draw the effect as a line through the edges and subtract the count-weighted mean of each
# bin's two edge values, $\frac1n\sum_k n_k\,\frac{\tilde g(z_{k-1}) + \tilde g(z_k)}{2}$. The two
# curves have the same shape and differ by the constant $\frac1{2n}\sum_k n_k \Delta_k$:

# %%
effects = ale(frame_toy, model_a, ["x1"], grid_size=10, include_CI=False, plot=False)
g, counts = effects["eff"].to_numpy(), effects["size"].to_numpy()[1:]  # "size": instances per bin
print(f"count-weighted mean of the bins' edge averages (ALEPlot, PyALE): {np.sum(counts * (g[:-1] + g[1:]) / 2) / counts.sum():+.1e}")
print(f"mean over the instances of the step function (Apley & Zhu, eq. 16): {np.sum(counts * g[1:]) / counts.sum():+.4f}")

# %% [markdown]
# ALE shows the same slope for both models (about 1 per unit of $x_1$: moving along the data,
# $x_2$ moves with $x_1$ and each model gains about 2 in total, split between the two
# features). The PDP of model B is dominated by predictions at impossible points.
#
# | | PDP | ALE |
# |---|---|---|
# | averages over | all observed $x_C$ (marginal distribution) | only instances near each value (conditional) |
# | correlated features | extrapolates to impossible points | stays on the data |
# | interpretation | effect of setting $x_S$ for everyone | accumulated local change of the prediction |
# | centring | absolute prediction scale | mean effect 0 |
# | cost | grid × n predictions | 2 × n predictions |
#
# On the bike data, PDP and ALE of the temperature agree where most hours lie and part in the
# hottest hours, where the PDP rests on unrealistic `feels_like` values:

# %%
frame_train = pd.DataFrame(X_train, columns=names)
bike_model = FunctionRegressor(model.predict)
effects = ale(frame_train, bike_model, ["temp"], grid_size=20, include_CI=False, plot=False)
edges = effects.index.to_numpy()
pdp_temp = partial_dependence(model, X_train, [j_temp], method="brute", grid_resolution=20)
centred_pdp = pdp_temp["average"][0] - np.interp(X_train[:, j_temp], pdp_temp["grid_values"][0], pdp_temp["average"][0]).mean()
ax = plot_ale(edges, effects["eff"], feature="temp", rug=X_train[:, j_temp])
ax.plot(pdp_temp["grid_values"][0], centred_pdp, "--", color="tab:orange", label="PDP (centred)")
ax.legend();

# %% [markdown]
# ## 6. Permutation feature importance
#
# The last question is *how much* the model relies on each feature. Breiman's idea (2001),
# made model-agnostic by Fisher, Rudin and Dominici (2019): shuffle one column, which keeps its
# distribution but breaks its link with the target, and measure how much the score drops:
#
# $$\text{importance}_j = s\big(y, \hat f(X)\big) - s\big(y, \hat f(X^{\pi_j})\big),$$
#
# where $X^{\pi_j}$ is the data with column $j$ permuted and $s$ a score such as $R^2$.
# Repeating with several permutations shows how noisy the estimate is.

# %%
result = permutation_importance(model, X_test, y_test, scoring="r2", n_repeats=5, random_state=0)
plot_importance(result.importances, names, metric="test R²");

# %% [markdown]
# Caveats that every importance plot carries:
#
# - **Test or training data?** On training data the importance also rewards overfitting; on
#   held-out data it measures what generalises. We used the test set.
# - **Correlated features share their importance.** Permuting `temp` leaves `feels_like` to
#   carry the same information, so both look less important than the temperature is; and the
#   permuted hours are again impossible combinations (hot but feeling cold).
# - **It needs the true target** and a score, unlike PDP and ALE.
# - **It is random**: different permutations give different values; report the spread.
# - **Importance of the model, not of the world**: a feature the model ignores can still be
#   causally relevant, and an important one need not be a cause.

# %% [markdown]
# ## Summary
#
# | method | question it answers | watch out for |
# |---|---|---|
# | PDP | how does the average prediction change with a feature? | correlated features, hidden heterogeneity |
# | ICE / centred ICE | does that change differ between instances? | clutter; same extrapolation issue |
# | 2-D PDP | do two features interact? | only pairs; cost grows with the grid |
# | ALE | the local effect of a feature, on the data | bins; interpretation is conditional |
# | permutation importance | how much does the model rely on a feature? | correlation, randomness, needs labels |
#
# **References.** Friedman (2001), *Greedy function approximation: a gradient boosting
# machine* (PDP). Goldstein et al. (2015), *Peeking inside the black box* (ICE). Apley & Zhu
# (2020), *Visualizing the effects of predictor variables in black box supervised learning
# models* (ALE). Fisher, Rudin & Dominici (2019), *All models are wrong, but many are useful*
# (model reliance). Molnar, *Interpretable Machine Learning*, chapters on PDP, ICE, ALE and
# permutation feature importance.
