# %% [markdown]
# # Week 3 — Local explanations: LIME and SHAP
#
# Last week's methods described a black box *on average*: how the mean prediction moves with a
# feature, how much the model relies on it overall. A user who gets a single prediction (a loan
# refused, a forecast of 400 bikes for tomorrow afternoon) asks a different question: **why
# this prediction?** Local methods answer it for one instance at a time.
#
# After this lecture you can
#
# - explain how **LIME** builds a local surrogate model (perturbation, proximity kernel, weighted
#   sparse linear fit) for tables and for images, and why its explanations are unstable;
# - define **Shapley values** through players, coalitions and marginal contributions, state their
#   four axioms and compute them exactly for a few features;
# - explain how **KernelSHAP** turns the Shapley values into a weighted linear regression and how
#   **TreeSHAP** computes them for tree ensembles;
# - read shap's force, waterfall, beeswarm and dependence plots and relate them to last week's
#   permutation importance and partial dependence.
#
# In the lab you implement LIME for tables and images, exact Shapley values and KernelSHAP yourself.

# %%
import time
from math import comb

import matplotlib.pyplot as plt
import numpy as np
import shap
from lime.lime_image import LimeImageExplainer
from lime.lime_tabular import LimeTabularExplainer
from skimage.segmentation import quickshift, slic
from sklearn.inspection import partial_dependence, permutation_importance
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from xaikit import load_bike_hourly
from xaikit.image_models import fit_shapes_classifier
from xaikit.images import make_shapes
from xaikit.local_plots import plot_local_weights, plot_segments, plot_superpixel_weights
from xaikit.models import FunctionRegressor, fit_bike_model
from xaikit.plotting import feature_label

plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 1. One prediction to explain
#
# The black box is last week's: 300 boosted trees with a Poisson loss that forecast the bike
# rentals of an hour from the calendar and the weather. We pick one hour of the test set, a
# warm, clear Sunday afternoon in August.

# %%
bike = load_bike_hourly()
names = bike.feature_names
X_train, X_test, y_train, y_test = train_test_split(bike.data, bike.target, test_size=0.25, random_state=42)
model = fit_bike_model(X_train, y_train)

j_hour, j_work, j_temp, j_weather = (names.index(n) for n in ("hour", "workingday", "temp", "weather"))
sunday = np.flatnonzero((X_test[:, j_hour] == 14) & (X_test[:, j_work] == 0) & (X_test[:, j_temp] > 18)
                        & (X_test[:, j_weather] == 0))[0]
x = X_test[sunday]
print({name: value for name, value in zip(names, x.tolist())})
print(f"predicted: {model.predict(x[None])[0]:.0f} rentals, observed: {y_test[sunday]:.0f}, "
      f"average prediction: {model.predict(X_train).mean():.0f}")

# %% [markdown]
# The model expects about 400 rentals, almost three times the average hour. Which of the
# eleven feature values account for the difference?
#
# ## 2. LIME: a local surrogate model
#
# A complex model is not linear, but near a single point almost any smooth function *looks*
# linear. **LIME** (*Local Interpretable Model-agnostic Explanations*, Ribeiro, Singh & Guestrin,
# 2016) exploits this:
#
# 1. **perturb** the instance: draw many samples in its neighbourhood and ask the black box for
#    their predictions;
# 2. **weigh** each sample by its proximity to the instance with a kernel,
#    $\pi_x(z) = \exp\!\big(-d(x, z)^2 / (2w^2)\big)$, where $w$ is the *kernel width*;
# 3. **fit** an interpretable model $g$, usually a sparse linear one, to the predictions,
#    weighted by $\pi_x$;
# 4. **read** $g$'s coefficients as the explanation.
#
# Formally, LIME minimizes $\mathcal{L}(f, g, \pi_x) + \Omega(g)$: the weighted disagreement
# between the model and the surrogate near $x$ plus a penalty on the surrogate's complexity
# (the number of features it may use, a ridge penalty). A one-dimensional example makes the
# idea visible; the `lime` package explains the point $x_0 = 1.2$ of a wiggly function.

# %%
def wiggly(X):
    return np.sin(2 * X[:, 0]) + 0.3 * X[:, 0]


rng = np.random.default_rng(0)
X_1d = rng.uniform(-3, 3, size=(500, 1))
x0 = np.array([1.2])
grid = np.linspace(-3, 3, 300)
fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(grid, wiggly(grid[:, None]), color="black", label="black box f")
for width, colour in [(0.25, "tab:red"), (1.5, "tab:blue")]:
    explainer = LimeTabularExplainer(X_1d, mode="regression", discretize_continuous=False, kernel_width=width,
                                     random_state=0)
    explanation = explainer.explain_instance(x0, lambda X: wiggly(np.asarray(X)), num_samples=2000)
    slope = explanation.local_exp[1][0][1] / X_1d.std()  # lime's weight is per standard deviation
    ax.plot(grid, wiggly(x0[None])[0] + slope * (grid - x0[0]), "--", color=colour,
            label=f"LIME surrogate, kernel width {width} std")
    proximity = np.exp(-((grid - x0[0]) / X_1d.std()) ** 2 / (2 * width**2))
    ax.fill_between(grid, -2.2, -2.2 + 0.6 * proximity, color=colour, alpha=0.25)
ax.plot(x0, wiggly(x0[None]), "o", color="black", markersize=8, label="instance $x_0$")
ax.set(ylim=(-2.3, 2.3), xlabel="feature $x$ (arbitrary units)", ylabel="prediction f(x)",
       title="LIME fits a weighted line near $x_0$; the shaded kernels show which samples count")
ax.legend(loc="upper left", fontsize="small");

# %% [markdown]
# With a narrow kernel the surrogate follows the local slope of $f$; with a wide one it averages
# over the hills and valleys nearby and even gets the sign of the slope wrong. **The kernel width
# defines what "local" means**, and nothing in the data tells us how to choose it.
#
# ### LIME for tabular data
#
# For a table, how `lime` samples depends on `discretize_continuous`. With
# `discretize_continuous=False` (the figure above, and the lab) it draws every feature
# independently from a normal distribution with the feature's mean and standard deviation in the
# training data. By default (`discretize_continuous=True`) it does not: each numeric feature is
# cut at its training quartiles, a sample first draws a quartile bin with the bins' training
# frequencies, and then a value inside that bin (lime's `undiscretize`, a normal truncated to the
# bin, with the bin's mean and standard deviation) — see `__data_inverse` in
# `lime/lime_tabular.py`. The surrogate's inputs are then binary indicators "the sample falls in
# the same quartile as $x$", and the explanation reads as conditions. Either way the distances
# are Euclidean on standardized data (indicators in the default case) and the kernel is the
# one above with $w = 0.75\sqrt{p}$ for $p$ features. Categorical features are sampled from their
# observed frequencies. lime's own sampler on the bike data shows the quartile bins:

# %%
sampler = LimeTabularExplainer(X_train, mode="regression", random_state=0)  # discretize_continuous=True
samples, _ = sampler._LimeTabularExplainer__data_inverse(x, 5000)  # lime's (private) sampling step
quartiles = np.quantile(X_train[:, j_temp], [0.25, 0.5, 0.75])
share = np.bincount(np.searchsorted(quartiles, samples[1:, j_temp]), minlength=4) / 5000
print("share of lime's samples in each temperature quartile of the training data:", np.round(share, 3))

# %%
categorical = [names.index(n) for n in ("season", "month", "weekday", "holiday", "workingday", "weather")]
category_names = {j: bike.categories[names[j]] for j in categorical if names[j] in bike.categories}


def lime_bike(seed, num_features=6):
    explainer = LimeTabularExplainer(X_train, mode="regression", feature_names=names,
                                     categorical_features=categorical, categorical_names=category_names,
                                     random_state=seed)
    return explainer.explain_instance(x, model.predict, num_features=num_features, num_samples=5000)


explanation = lime_bike(seed=0)
conditions, weights = zip(*explanation.as_list())
plot_local_weights(np.array(weights), list(conditions), title="LIME explanation of the Sunday 14 h hour",
                   xlabel="LIME weight [rentals per hour when the condition holds]")
print(f"surrogate at x: {explanation.local_pred[0]:.0f} rentals (model: {model.predict(x[None])[0]:.0f}); "
      f"weighted R² of the surrogate: {explanation.score:.2f}")

# %% [markdown]
# Being an afternoon hour (between 12 and 18 h) adds about 100 rentals, a temperature above
# 23 °C about 30, low humidity and clear weather a little more, strong wind takes some away.
# That reads well, but two warnings come with it:
#
# - **Fidelity.** The surrogate is a *summary* of the model near $x$, not the model: here it
#   predicts about 240 rentals for $x$ where the model says 406, and explains less than a
#   quarter of the variance of the weighted samples. `explanation.score` and
#   `explanation.local_pred` report this; look at them.
# - **What is compared.** A discretized weight compares "temperature above 23 °C" with *all other
#   quartiles* of temperature, weighted by their frequency; it is not a slope.
#
# ### LIME is unstable
#
# The samples are random, and so is the explanation. Explaining the same hour with other seeds
# keeps the two largest conditions but shuffles the rest, and their weights move:

# %%
runs = [dict(lime_bike(seed, num_features=5).as_list()) for seed in tqdm(range(8), desc="LIME runs")]
every_condition = sorted({c for run in runs for c in run}, key=lambda c: -np.mean([abs(r.get(c, 0)) for r in runs]))
table = np.array([[run.get(c, np.nan) for c in every_condition] for run in runs])
fig, ax = plt.subplots(figsize=(8, 4))
for k, condition in enumerate(every_condition):
    values = table[:, k][~np.isnan(table[:, k])]
    ax.plot(values, np.full(len(values), k), "o", alpha=0.6)
    ax.text(values.max() + 3, k, f"in {len(values)} of 8 runs", va="center", fontsize=8)
ax.set_yticks(range(len(every_condition)), every_condition)
ax.invert_yaxis()
ax.set(xlabel="LIME weight [rentals per hour]", ylabel="condition (top 5 of a run)",
       title="Eight LIME explanations of the same hour, seeds 0-7")
ax.axvline(0, color="grey", linewidth=0.8);

# %% [markdown]
# Alvarez-Melis & Jaakkola (2018) showed that LIME explanations of nearly identical inputs can
# differ a lot, and Slack et al. (2020) built classifiers that *hide* a bias from LIME because
# its perturbed samples are easy to recognize (they do not look like real data: `lime` happily
# samples a Sunday with `workingday = 1`, or 3 a.m. traffic at −5 °C in August). Use more
# samples, repeat with several seeds, and report the settings.
#
# ## 3. LIME for images: superpixels on and off
#
# Pixels are poor features for an explanation: one pixel means nothing, and switching single
# pixels off barely changes a prediction. LIME groups them into **superpixels**, patches of
# similar neighbouring pixels, and the surrogate becomes
#
# $$g(z) = w_0 + w_1 z_1 + \dots + w_M z_M, \qquad
#   z_m = \begin{cases} 1 & \text{superpixel } m \text{ is kept} \\ 0 & \text{it is switched off,} \end{cases}$$
#
# for $M$ superpixels. A positive $w_m$ says superpixel $m$ speaks for the class, a negative one
# against it, $w_m \approx 0$ that it does not matter. The samples are random on/off masks, and
# the kernel uses the cosine distance between a mask and the all-ones mask (the original image).
#
# Our black box classifies synthetic images of circles, squares and triangles: a logistic
# regression on histograms of edge directions (HOG), trained by the helper in a second.

# %%
shapes = make_shapes(700, random_state=3)
images = shapes.images.transpose(0, 2, 3, 1).astype(float)  # channels last, as scikit-image and lime expect
classifier = fit_shapes_classifier(images[:600], shapes.labels[:600])
print(f"test accuracy: {np.mean(classifier.predict(images[600:]) == shapes.labels[600:]):.3f}")

image, label = images[603], shapes.labels[603]
fig, axes = plt.subplots(1, 2, figsize=(8.5, 4))
plot_segments(image, quickshift(image, kernel_size=4, max_dist=200, ratio=0.2, rng=0), numbers=False, ax=axes[0],
              title="lime's default: quickshift(4, 200, 0.2)")
segments = slic(image, n_segments=25, compactness=10, start_label=0)
plot_segments(image, segments, ax=axes[1], title=f"SLIC: {segments.max() + 1} superpixels")
fig.suptitle(f"Superpixels of a {shapes.class_names[label]} (32 x 32 pixels)")
fig.tight_layout()

# %% [markdown]
# `lime`'s default segmentation is tuned for photos of a few hundred pixels; on our 32-pixel
# images it finds almost nothing, so we pass our own segmentation function (SLIC).
#
# What does "switched off" mean? lime replaces a superpixel by a *fill*: by default its own
# mean colour (`hide_color=None`), or any constant colour. We use the mean colour of the whole
# image (in the lab you compare it with the default). To see what the black box is shown, we
# record the images lime sends to the classifier:

# %%
shown = []


def recording_classifier(batch):
    shown.append(batch.copy())
    return classifier.predict_proba(batch)


image_explainer = LimeImageExplainer(random_state=0)
image_explanation = image_explainer.explain_instance(
    image, recording_classifier, labels=(label,), top_labels=None, hide_color=image.mean(axis=(0, 1)),
    num_samples=1000, batch_size=100, segmentation_fn=lambda _: segments, random_seed=0)
perturbed = np.concatenate(shown)
probabilities = classifier.predict_proba(perturbed)[:, label]
fig, axes = plt.subplots(1, 6, figsize=(14, 2.8))
for ax, k in zip(axes, range(6)):
    ax.imshow(perturbed[k], extent=(0, 32, 32, 0))
    ax.set(title=f"P({shapes.class_names[label]}) = {probabilities[k]:.2f}", xlabel="x [pixel]")
axes[0].set_ylabel("y [pixel]")
fig.suptitle("The first six of 1000 perturbed images (the first one is the original)")
fig.tight_layout()

# %% [markdown]
# Each perturbed image gets a weight (masks with few superpixels switched off are closer to the
# original), and the ridge regression of the probabilities on the masks gives one weight per
# superpixel:

# %%
superpixel_weights = np.zeros(segments.max() + 1)
for segment, weight in image_explanation.local_exp[label]:
    superpixel_weights[segment] = weight
fig, axes = plt.subplots(1, 2, figsize=(9.5, 4))
axes[0].imshow(image, extent=(0, 32, 32, 0))
axes[0].set(title="image", xlabel="x [pixel]", ylabel="y [pixel]")
plot_superpixel_weights(image, segments, superpixel_weights, ax=axes[1],
                        title=f"LIME weights for '{shapes.class_names[label]}'",
                        label=f"weight [change in P({shapes.class_names[label]})]")
fig.tight_layout()
on_object = [shapes.masks[603][segments == s].mean() for s in range(segments.max() + 1)]
for s in np.argsort(superpixel_weights)[::-1][:4]:
    print(f"superpixel {s:2d}: weight {superpixel_weights[s]:+.3f}, {on_object[s]:.0%} of its pixels on the object")

# %% [markdown]
# The three largest weights lie on the square. The fourth is the red patch in the corner
# (superpixel 22): its colour carries no information about the class in these images, but its
# sharp edges feed the classifier's edge-direction features, and removing it moves the
# probability a little. Background superpixels get small weights of both signs. The images come
# with the true object masks, so in the lab you can score such explanations instead of only
# looking at them.
#
# ## 4. Shapley values: a fair share of the prediction
#
# LIME's weights have no built-in meaning: they depend on the kernel, the sampling and the
# penalty. **Shapley values** (Shapley, 1953) come from cooperative game theory with a precise
# promise. Think of the features of $x$ as **players** who cooperate to produce the
# **payout** $f(x) - E[f(X)]$: how far this prediction is from the average one. How should the
# payout be shared?
#
# - A **coalition** $S$ is a subset of the players. Its **value** $v(S)$ is the prediction when
#   only the features in $S$ are known: the features in $S$ keep their values from $x$, the
#   others are *replaced by values from a background data set* and the prediction is averaged,
#   $v(S) = E_b\big[f(x_S, b_{\bar S})\big]$. So $v(\emptyset) = E[f]$ and $v(\text{all}) = f(x)$.
# - The **marginal contribution** of player $j$ to coalition $S$ is $v(S \cup \{j\}) - v(S)$.
# - Its **Shapley value** is its marginal contribution averaged over all orders in which the
#   players could join: line the $M$ players up in random order; $j$ joins the coalition of
#   those before it. A coalition of size $|S|$ precedes $j$ in $|S|!\,(M-|S|-1)!$ of the $M!$
#   orders, hence
#
# $$\phi_j = \sum_{S \subseteq \{1,\dots,M\} \setminus \{j\}}
#   \frac{|S|!\,(M-|S|-1)!}{M!}\,\big[v(S \cup \{j\}) - v(S)\big].$$
#
# **A worked example.** A rent model for flats uses three features: the flat is *large*, it is
# *near a park*, and *cats are banned*. With a single background flat (small, no park, cats
# allowed), suppose the coalitions are worth (in € per month):
#
# | coalition $S$ | $\emptyset$ | {large} | {park} | {cats} | {large, park} | {large, cats} | {park, cats} | {large, park, cats} |
# |---|---|---|---|---|---|---|---|---|
# | $v(S)$ | 1000 | 1500 | 1200 | 900 | 2000 | 1400 | 1100 | 1900 |
#
# "Large" adds 500 on its own, 800 next to the park (large flats near a park are worth extra),
# 500 to "cats" and 800 to "park, cats". With three players the weights are 1/3 for the empty
# and the two-player coalitions and 1/6 for the one-player ones:
#
# $$\phi_\text{large} = \tfrac13 \cdot 500 + \tfrac16 \cdot 800 + \tfrac16 \cdot 500 + \tfrac13 \cdot 800 = 650,$$
#
# and in the same way $\phi_\text{park} = 350$ and $\phi_\text{cats} = -100$. They add up to
# $900 = v(\text{all}) - v(\emptyset)$, and the interaction bonus of 300 is split equally between
# "large" and "park". The `shap` library finds the same numbers:

# %%
def rent(X):
    """Rent of a flat from (large, park, cats banned) indicators, in € per month."""
    X = np.asarray(X, dtype=float)
    return 1000 + 500 * X[:, 0] + 200 * X[:, 1] + 300 * X[:, 0] * X[:, 1] - 100 * X[:, 2]


flat, background_flat = np.array([1.0, 1.0, 1.0]), np.zeros((1, 3))
start = time.perf_counter()
exact_explainer = shap.explainers.Exact(rent, shap.maskers.Independent(background_flat))
rent_explanation = exact_explainer(flat[None])
print(f"Shapley values (large, park, cats): {rent_explanation.values[0]}, base value {rent_explanation.base_values[0]:.0f}"
      f"  [{time.perf_counter() - start:.1f} s, most of it compiling shap's code on the first call]")

# %% [markdown]
# ### The axioms
#
# The Shapley value is the **only** way of sharing the payout that satisfies four properties:
#
# - **Efficiency**: the values add up to the payout, $\sum_j \phi_j = f(x) - E[f]$. An explanation
#   accounts for the whole prediction, with nothing left over (LIME promises nothing of the sort).
# - **Symmetry**: two features that contribute the same to every coalition get the same value.
# - **Dummy**: a feature that never changes the value of any coalition gets 0.
# - **Additivity**: for a model $f + g$ (e.g. a sum of trees), the values are the sums of the
#   values of $f$ and of $g$; this is what makes TreeSHAP possible.
#
# The price is the **enumeration**: $2^M$ coalitions, each needing predictions for the whole
# background. For our eleven bike features that is 2048 coalitions; with 100 background hours,
# about 200,000 predictions, a second or two. (shap's maskers use at most 100 background rows by
# default, `max_samples=100`, and subsample larger backgrounds.)

# %%
background = X_train[np.random.default_rng(0).choice(len(X_train), size=100, replace=False)]
start = time.perf_counter()
bike_exact = shap.explainers.Exact(model.predict, shap.maskers.Independent(background), feature_names=names)
exact = bike_exact(x[None])[0]
print(f"exact Shapley values in {time.perf_counter() - start:.1f} s; they add up to {exact.values.sum():.1f} "
      f"= f(x) - E[f] = {model.predict(x[None])[0]:.1f} - {exact.base_values:.1f}")
plot_local_weights(exact.values, names, values=x, title="Exact Shapley values of the Sunday 14 h hour",
                   xlabel="Shapley value [rentals per hour]");

# %% [markdown]
# The afternoon hour accounts for the largest share (about 100 of the 266 rentals above the
# average), being a non-working day adds about 50 (weekend afternoons are busy), the warm
# temperature and the low humidity add 35 to 40 each, the strong wind takes a few away. Unlike
# the LIME weights, these numbers add up exactly to the difference between this prediction and
# the average one.
#
# Two caveats. The values depend on the **background**: they explain $f(x)$ relative to the
# average over the background, and a different reference (all hours, only Sundays) answers a
# different question. And replacing features *independently* of the others creates the same
# unrealistic inputs as a PDP (a Sunday with `workingday = 1`); this is the *interventional*
# Shapley value, which explains the model, not the world.
#
# ## 5. KernelSHAP: Shapley values by weighted regression
#
# Lundberg & Lee (2017) unified LIME and Shapley values. Take LIME with the masks $z \in \{0,1\}^M$
# as the surrogate's inputs, $v(z)$ as the targets, **no penalty**, and one specific kernel, the
# **Shapley kernel**
#
# $$\pi(z) = \frac{M-1}{\binom{M}{|z|}\,|z|\,(M-|z|)}.$$
#
# The empty and the full coalition get infinite weight, which pins the intercept to $E[f]$ and
# forces the coefficients to add up to $f(x) - E[f]$. Then the weighted least-squares
# coefficients are **exactly** the Shapley values. With a sample of coalitions instead of all of
# them, they are an estimate that works for any model: **KernelSHAP**.

# %%
M = 11
sizes = np.arange(1, M)
counts = np.array([comb(M, int(k)) for k in sizes])  # number of coalitions of each size
kernel = (M - 1) / (counts * sizes * (M - sizes))
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
axes[0].bar(sizes, kernel)
axes[0].set(yscale="log", xlabel="coalition size |z|", ylabel="Shapley kernel weight of one coalition",
            title=f"Weight of a single coalition (M = {M})")
axes[1].bar(sizes, kernel * counts)
axes[1].set(xlabel="coalition size |z|", ylabel="total weight of all coalitions of that size",
            title="Total weight per size: largest at the extremes")
fig.tight_layout()
total = kernel * counts
print(f"sizes 1 and {M - 1} hold {(total[0] + total[-1]) / total.sum():.0%} of the total weight")

# %% [markdown]
# *Per coalition*, those with one feature or with all but one weigh by far the most (left, a
# log scale): they isolate a single feature's effect. *In total* (right) the extreme sizes still
# have the largest share per size, but not most of the weight: for $M = 11$, sizes 1 and 10 hold
# about 38 %, the middle sizes the rest, because there are so many more of them. shap's `KernelExplainer` therefore enumerates the sizes with the
# largest weights first and samples only the rest. Its cost is (number of coalitions) x
# (background size) predictions, so it is usually run with a small or summarized background
# (`shap.sample`, `shap.kmeans`). One trap: with more than ten features its default
# `l1_reg="num_features(10)"` silently keeps only ten; pass `l1_reg=False` **to `shap_values`**
# (the constructor accepts and ignores it).

# %%
kernel_explainer = shap.KernelExplainer(model.predict, background)
budgets = [50, 100, 200, 500, 1000, 2046]
errors = []
np.random.seed(0)  # KernelExplainer samples with NumPy's global generator
for n in tqdm(budgets, desc="budgets"):
    estimate = kernel_explainer.shap_values(x[None], nsamples=n, l1_reg=False, silent=True)[0]
    errors.append(np.abs(estimate - exact.values).max())
fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(budgets[:-1], errors[:-1], "-o")
ax.set(xscale="log", yscale="log", xlabel="number of coalitions evaluated (of 2046)",
       ylabel="largest error [rentals per hour]",
       title=f"KernelSHAP against the exact values (all 2046 coalitions: error {errors[-1]:.0e})");

# %% [markdown]
# A few hundred coalitions bring KernelSHAP within a rental or two of the exact values; with all
# 2046 it is exact up to rounding. For 50 features ($2^{50}$ coalitions) only sampling is
# possible, and the estimate carries sampling noise, like LIME, but it converges to a
# well-defined target.
#
# ## 6. TreeSHAP: exact and fast for trees
#
# For tree ensembles, Lundberg et al. (2020) compute Shapley values *exactly* in time polynomial
# in the depth of the trees, by pushing all coalitions through each tree at once; by additivity,
# the values of the ensemble are the sums over its trees. `shap.TreeExplainer` does this in C++.
#
# Which output does it explain? Our model has a Poisson loss: its trees add up a *raw* score,
# and the prediction is $e^{\text{raw}}$. TreeExplainer explains the raw score, the **logarithm of
# the expected rentals** (even with `model_output="predict"`, for this model). Its values add up
# to $\log f(x) - E[\log f]$, and a SHAP value of $+0.7$ means "multiplies the prediction by
# $e^{0.7} \approx 2$" — relative to the base $e^{E[\log f]}$, the *geometric* mean of the
# predictions, which is smaller than their average $E[f]$. For a classifier it is likewise the log-odds of gradient boosting, but
# the probability for a scikit-learn random forest: always check.

# %%
tree = shap.TreeExplainer(model, feature_names=names)
start = time.perf_counter()
explanation_test = tree(X_test[:1000])
seconds = time.perf_counter() - start
row = explanation_test[sunday]
print(f"1000 hours explained in {seconds:.1f} s")
print(f"base value {row.base_values:.3f} + sum of SHAP values {row.values.sum():.3f} = {row.base_values + row.values.sum():.3f}"
      f" = log of the prediction, log({model.predict(x[None])[0]:.1f}) = {np.log(model.predict(x[None])[0]):.3f}")
print(f"the base in rentals: exp(E[log f]) = {np.exp(row.base_values):.0f} per hour, while the average prediction "
      f"E[f] over the training hours is {model.predict(X_train).mean():.0f}")

# %% [markdown]
# Without a background, TreeExplainer replaces absent features using the training rows that
# went down each branch of the trees (*tree path dependent*). With a background and
# `feature_perturbation="interventional"` it computes the same interventional values as the
# Exact explainer, on the raw (log) scale:

# %%
def log_predict(X):
    return np.log(model.predict(X))


tree_interventional = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
log_exact = shap.explainers.Exact(log_predict, shap.maskers.Independent(background))(x[None]).values[0]
print(f"TreeSHAP (interventional) vs Exact explainer on log f: largest difference "
      f"{np.abs(tree_interventional(x[None]).values[0] - log_exact).max():.1e}")

# %% [markdown]
# ## 7. Reading shap's plots
#
# **Force and waterfall plots** show one explanation: start at the base value $E[f]$ and let
# every feature push the prediction up (red) or down (blue) until it reaches $f(x)$.

# %%
shap.plots.force(row, matplotlib=True, show=False, contribution_threshold=0.07, text_rotation=15, figsize=(14, 3))
plt.gca().set_xlabel("model output: log of the expected rentals per hour")
plt.title("Force plot of the Sunday 14 h hour (TreeSHAP)", y=1.5)
plt.show()

plt.figure()  # shap draws into the current figure: start a new one
shap.plots.waterfall(row, show=False)  # shap turns interactive plotting off when show=False: end with plt.show()
plt.gcf().axes[0].set_xlabel("model output: log of the expected rentals per hour", labelpad=20)
plt.gcf().axes[0].set_title("Waterfall plot of the Sunday 14 h hour (TreeSHAP)")
plt.show()

# %% [markdown]
# **The beeswarm (summary) plot** turns 1000 local explanations into a global picture: one dot
# per hour and feature at its SHAP value, coloured by the feature's value, features sorted by
# their mean absolute SHAP value. It shows not only *how much* a feature matters but *how*:
# high humidity (red) pushes predictions down, high temperatures push them up. Next to it: last
# week's permutation importance, on the same hours.

# %%
plt.figure()  # shap draws into the current figure: start a new one
shap.plots.beeswarm(explanation_test, max_display=11, show=False)
plt.gcf().axes[0].set_xlabel("SHAP value [log rentals per hour]")
plt.gcf().axes[0].set_title("Beeswarm plot of 1000 test hours (TreeSHAP)")
plt.show()

importance = permutation_importance(model, X_test[:1000], y_test[:1000], scoring="r2", n_repeats=5, random_state=0)
mean_abs = np.abs(explanation_test.values).mean(axis=0)
order = np.argsort(mean_abs)
fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
axes[0].barh([names[j] for j in order], mean_abs[order], color="tab:purple")
axes[0].set(xlabel="mean |SHAP value| [log rentals per hour]", ylabel="feature",
            title="How much each feature moves the predictions")
axes[1].barh([names[j] for j in order], importance.importances_mean[order], color="tab:blue")
axes[1].set(xlabel="drop in R² when the feature is permuted", title="How much the model's accuracy relies on it")
fig.suptitle("Two global importances from different questions, same 1000 test hours")
fig.tight_layout()
plt.show()

# %% [markdown]
# The two rankings largely agree, but they answer different questions: mean |SHAP| measures how
# far a feature moves the predictions (no labels needed, on the log scale here), permutation
# importance how much accuracy is lost without it (it needs the true targets). A feature can
# move predictions a lot without improving them.
#
# **Dependence plots** show, for one feature, its SHAP value against its value, one dot per
# hour: a local version of the PDP, in which the vertical spread reveals interactions. We draw
# the temperature, coloured by the hour, with the centred PDP of the log prediction on top.

# %%
shap.plots.scatter(explanation_test[:, "temp"], color=explanation_test[:, "hour"], show=False)
ax = plt.gcf().axes[0]
pdp = partial_dependence(FunctionRegressor(log_predict), X_test[:1000], [j_temp], method="brute", grid_resolution=30)
temps, average = pdp["grid_values"][0], pdp["average"][0]
centred = average - np.interp(X_test[:1000, j_temp], temps, average).mean()  # mean over the data is 0, like SHAP
ax.plot(temps, centred, color="black", linewidth=2, label="PDP of log f (centred)")
ax.set(xlabel=feature_label("temp"), ylabel="SHAP value of temp [log rentals per hour]",
       title="Dependence plot of the temperature, coloured by the hour")
ax.legend(loc="upper left")
plt.show()

# %% [markdown]
# The dots follow the PDP: predicted rentals rise with the temperature up to about 23 °C and
# level off (a SHAP value of −0.3 near 0 °C multiplies the prediction by $e^{-0.3} \approx 0.74$:
# about 25 % fewer rentals than the base $e^{E[\log f]}$, not than the average prediction). At a given temperature the dots spread over 0.1 to 0.2 log units:
# the effect of the temperature is not the same in every hour, an interaction that the PDP
# averages away. (For an additive model, the interventional SHAP values of a feature lie exactly
# on its centred PDP; vertical spread comes from interactions.)
#
# ## Summary
#
# | | LIME | Shapley values (KernelSHAP, TreeSHAP) |
# |---|---|---|
# | idea | weighted local linear surrogate | fair share of $f(x) - E[f]$ among the features |
# | "absent" feature | sampled from the training distribution / superpixel filled | replaced by background values (averaged) |
# | guarantees | none; fidelity must be checked | efficiency, symmetry, dummy, additivity |
# | tuning | kernel width, sampling, discretization, number of features | background data set |
# | randomness | every run differs | exact (Exact, TreeSHAP) or converging estimate (KernelSHAP) |
# | cost | a few thousand predictions | $2^M$ coalitions x background, or polynomial for trees |
# | global view | none | beeswarm, dependence plots |
#
# - Local explanations answer "why this prediction?"; they explain the model, not the world.
# - Both families replace features by unrealistic values when features are correlated; the
#   background (SHAP) and the neighbourhood (LIME) are choices to report.
#
# **References.** Ribeiro, Singh & Guestrin (2016), *"Why should I trust you?" Explaining the
# predictions of any classifier* (LIME). Shapley (1953), *A value for n-person games*. Štrumbelj
# & Kononenko (2014), *Explaining prediction models and individual predictions with feature
# contributions*. Lundberg & Lee (2017), *A unified approach to interpreting model predictions*
# (SHAP, KernelSHAP). Lundberg et al. (2020), *From local explanations to global understanding
# with explainable AI for trees* (TreeSHAP). Alvarez-Melis & Jaakkola (2018), *On the robustness
# of interpretability methods*. Slack et al. (2020), *Fooling LIME and SHAP*. Molnar,
# *Interpretable Machine Learning*, chapters on LIME, Shapley values and SHAP.
