# %% [markdown]
# # Lab 3 — Local explanations: LIME and SHAP for bikes and shapes
#
# Last week you described the bike model *globally*: how the average prediction moves with
# each feature. This week you explain **single predictions**: why does the model expect 540
# rentals for *this* hour, and which parts of *this* image make a classifier say "triangle"?
# You write the two families of local methods of the week-3 lecture yourself, each as a plain
# function on NumPy arrays:
#
# | part | you write | points |
# |---|---|---|
# | 1 | `lime_tabular` — LIME for a row of a table | 4 |
# | 2 | `lime_image` — LIME on the superpixels of an image | 3 |
# | 3 | `shapley_values` — exact Shapley values by enumerating every coalition | 4 |
# | 4 | `kernel_shap` — KernelSHAP: sampled coalitions, Shapley kernel, constrained regression | 4 |
# | 5 | the `shap` library: TreeSHAP; force, waterfall, beeswarm and dependence plots (not graded) | |
# | | four written answers, graded by hand | 8 |
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each function: a green ✓ means
# the visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden
# tests compare each function with the `lime` and `shap` libraries (or an exact mathematical
# property) on models and data you have not seen, so make your function general, not tuned to
# the bike data. Use NumPy and, where the text says so, scikit-learn's `Ridge`; do not call
# `lime` or `shap` in your answers.
#
# **Stuck?** Each check has a one-line hint: `check.lime_tabular.hint()` names the lecture section
# to reread and the usual trap. The last cell of the lab, `check.summary(globals())`, lists
# every autograded part as ✓ (visible checks pass), ✗ (one sentence on what is wrong) or …
# (not written yet), with its points.
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit; it
# takes about half a minute.

# %%
from math import comb, factorial

import matplotlib.pyplot as plt
import numpy as np
import shap
from skimage.segmentation import slic
from sklearn.inspection import permutation_importance
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from xaikit import load_bike_hourly
from xaikit.checks import week03 as check
from xaikit.image_models import fit_shapes_classifier
from xaikit.images import make_shapes
from xaikit.local_plots import plot_local_weights, plot_segments, plot_superpixel_weights
from xaikit.models import fit_bike_model

plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 0. The black box and the hour we explain
#
# The same data and model as in lab 2: hourly rentals of 2011 and 300 boosted trees (Poisson
# loss). We explain one hour of the test set: a warm working-day afternoon at 17 h.

# %%
bike = load_bike_hourly()
names = bike.feature_names
X_train, X_test, y_train, y_test = train_test_split(bike.data, bike.target, test_size=0.25, random_state=42)
model = fit_bike_model(X_train, y_train)

j_hour, j_work, j_temp = names.index("hour"), names.index("workingday"), names.index("temp")
hour_17 = np.flatnonzero((X_test[:, j_hour] == 17) & (X_test[:, j_work] == 1) & (X_test[:, j_temp] > 20))[0]
x = X_test[hour_17]
print(f"the hour we explain: {dict(zip(names, x.tolist()))}")
print(f"predicted rentals: {model.predict(x[None])[0]:.0f}   observed: {y_test[hour_17]:.0f}   "
      f"average prediction over the training hours: {model.predict(X_train).mean():.0f}")

# %% [markdown]
# ## 1. LIME for tabular data
#
# LIME (Ribeiro et al., 2016) explains one prediction $f(x)$ with a linear model that imitates
# $f$ *near* $x$. It needs three ingredients: samples around $x$, a proximity weight for each
# sample, and a weighted linear fit. Follow this recipe exactly (it is the one of the `lime`
# package with `discretize_continuous=False`, so the hidden test can compare with it):
#
# 1. **Sample.** With $\mu_j$ and $\sigma_j$ the mean and standard deviation of column $j$ of
#    `X_train` (NumPy's default `std`, `ddof=0`), draw `num_samples` rows
#    $z = \mu + \sigma \odot \varepsilon$ with standard-normal $\varepsilon$:
#    `rng = np.random.RandomState(random_state)` and **one** call
#    `rng.normal(size=(num_samples, n_features))`. (The old `RandomState` generator, because it
#    is what `lime` uses: same seed, same samples.) Replace the first sample by $x$ itself.
# 2. **Standardize** every sample, $z' = (z - \mu) / \sigma$, and compute its Euclidean distance
#    $d$ to the standardized $x$ (the first row).
# 3. **Weigh** each sample with the exponential kernel
#    $\pi(z) = \exp\!\big(-d^2 / (2 w^2)\big)$, where $w$ is `kernel_width`
#    (default $0.75\sqrt{\text{n\_features}}$). Close samples count, far ones hardly do.
# 4. **Fit** `Ridge(alpha=alpha)` (an intercept is included) to the predictions `predict(z)` of
#    the **unstandardized** samples, with the standardized samples as inputs and
#    `sample_weight=` $\pi$. Return its `coef_`.
#
# Because the inputs are standardized, a weight reads "change of the prediction per standard
# deviation of the feature, near $x$".

# %% nbgrader={"grade": false, "grade_id": "lime_tabular", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lime_tabular(predict, X_train, x, *, num_samples=5000, kernel_width=None, alpha=1.0, random_state=0):
    """LIME weights of the prediction `predict(x)` (tabular data, continuous features).

    Parameters
    ----------
    predict : callable, maps an array (n, n_features) to predictions (n,)
    X_train : ndarray of shape (n_train, n_features), gives the mean and standard deviation per feature
    x : ndarray of shape (n_features,), the instance to explain
    num_samples : int, the number of samples (the first one is x itself)
    kernel_width : float or None, the kernel width w (None: 0.75 * sqrt(n_features))
    alpha : float, the penalty of the ridge regression
    random_state : int, the seed of np.random.RandomState

    Returns
    -------
    ndarray of shape (n_features,), the weights of the surrogate in standardized units
    """
    ### BEGIN SOLUTION
    X_train = np.asarray(X_train, dtype=float)
    n_features = X_train.shape[1]
    if kernel_width is None:
        kernel_width = 0.75 * np.sqrt(n_features)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    rng = np.random.RandomState(random_state)
    samples = mean + std * rng.normal(size=(num_samples, n_features))
    samples[0] = x
    standardized = (samples - mean) / std
    distances = np.linalg.norm(standardized - standardized[0], axis=1)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    predictions = np.asarray(predict(samples), dtype=float)
    surrogate = Ridge(alpha=alpha).fit(standardized, predictions, sample_weight=weights)
    return surrogate.coef_
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "lime_tabular_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check.lime_tabular(lime_tabular)
### BEGIN HIDDEN TESTS
from xaigrader import week03
week03.lime_tabular(lime_tabular)
### END HIDDEN TESTS

# %% [markdown]
# The LIME explanation of our hour, with the default kernel width and 5000 samples:

# %%
lime_weights = lime_tabular(model.predict, X_train, x, num_samples=5000, random_state=0)
plot_local_weights(lime_weights, names, values=x, title="LIME explanation of the 17 h hour",
                   xlabel="LIME weight [rentals per hour per standard deviation]");

# %% [markdown]
# LIME is random: another seed draws other samples. It also depends on what "near" means, the
# kernel width. Here are the weights of three features over 10 seeds for three settings
# (a progress bar shows the 30 runs).

# %%
settings = {"500 samples, w = 2.49": dict(num_samples=500),
            "5000 samples, w = 2.49": dict(num_samples=5000),
            "5000 samples, w = 1": dict(num_samples=5000, kernel_width=1.0)}
shown = [j_hour, j_temp, j_work]
runs = {label: np.array([lime_tabular(model.predict, X_train, x, random_state=seed, **options)[shown]
                         for seed in range(10)])
        for label, options in tqdm(settings.items(), desc="LIME settings")}

fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), sharey=False)
for ax, (k, j) in zip(axes, enumerate(shown)):
    ax.boxplot([runs[label][:, k] for label in settings], orientation="horizontal", tick_labels=list(settings))
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set(title=f"{names[j]}: 10 seeds", xlabel="LIME weight [rentals per hour per std]")
axes[0].set_ylabel("sampling setting")
fig.suptitle("How stable is LIME? The same hour explained with different seeds and kernel widths")
fig.tight_layout()
for label, weights in runs.items():
    print(f"{label:24s}", "   ".join(f"{names[j]} {weights[:, k].min():5.1f} .. {weights[:, k].max():5.1f}"
                                       for k, j in enumerate(shown)))

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_lime", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** What does LIME say about this hour (name the two largest weights
# and what they mean in rentals)? How stable is the explanation across seeds and kernel widths,
# and what does that tell you about trusting a single LIME explanation?
#
# ### BEGIN SOLUTION
# *Model answer.* The largest weights are the hour (about +38 rentals per hour per standard
# deviation of the hour, i.e. per 7 hours) and the temperature (about +23 per standard
# deviation, i.e. per 9 °C); humidity lowers the prediction (about −15 per 20 %). Near this
# hour, later, warmer and drier hours are predicted to have more rentals. With 500 samples the
# weights change a lot from seed to seed (hour 33 to 47, temperature 20 to 33, and the
# working-day weight even changes sign, −4 to +14); 5000 samples narrow this (hour 36 to 42,
# temperature 22 to 27), but a narrower kernel (w = 1, so only the closest samples count)
# shifts the temperature weight to 30–44 and spreads the hour weight from 25 to 56. A single
# LIME explanation therefore depends on the seed and, above all, on the arbitrary width of the
# neighbourhood: report the settings, repeat with several seeds, and do not read anything into
# small weights or their signs.
# ### END SOLUTION

# %% [markdown]
# ## 2. LIME for images: superpixels on and off
#
# The second black box classifies synthetic images of circles, squares and triangles (a
# logistic regression on edge-direction features that the helper trains in a second). For an
# image, LIME's interpretable features are **superpixels**: patches of similar, neighbouring
# pixels, found here by scikit-image's SLIC algorithm.

# %%
shapes = make_shapes(700, random_state=11)
images = shapes.images.transpose(0, 2, 3, 1).astype(float)  # channels last: (n, 32, 32, 3)
classifier = fit_shapes_classifier(images[:600], shapes.labels[:600])
print(f"test accuracy: {np.mean(classifier.predict(images[600:]) == shapes.labels[600:]):.3f}")

image, label = images[601], shapes.labels[601]
segments = slic(image, n_segments=25, compactness=10, start_label=0)
probabilities = classifier.predict_proba(image[None])[0]
ax = plot_segments(image, segments, title=f"{segments.max() + 1} superpixels of a {shapes.class_names[label]}")
print("predicted probabilities:", {name: round(float(p), 3) for name, p in zip(shapes.class_names, probabilities)})

# %% [markdown]
# With $M$ superpixels, a perturbed image is described by a mask $z \in \{0, 1\}^M$: $z_m = 1$
# keeps superpixel $m$, $z_m = 0$ switches it off. The surrogate is linear in the mask,
# $g(z) = w_0 + w_1 z_1 + \dots + w_M z_M$: $w_m > 0$ means superpixel $m$ speaks for the class,
# $w_m < 0$ against it, $w_m \approx 0$ that it does not matter. The recipe (that of
# `lime_image.LimeImageExplainer`):
#
# 1. `segments` labels every pixel with its superpixel, $0, \dots, M-1$. Draw the masks with
#    `rng = np.random.RandomState(random_state)` and **one** call
#    `rng.randint(0, 2, size=(num_samples, M))`; set the first mask to all ones (the image itself).
# 2. Build each perturbed image: a pixel keeps its value if its superpixel is on; otherwise it
#    takes the *fill* colour. With `hide_color=None` the fill of superpixel $m$ is the **mean
#    colour of superpixel $m$** in the original image (lime's default); otherwise every
#    switched-off pixel takes `hide_color` (a number or an RGB triple).
# 3. Predict the probability of class `label` for all perturbed images in one call.
# 4. Weigh each mask by its cosine distance to the all-ones mask. For a mask with $k$
#    superpixels on, that distance is $d = 1 - \sqrt{k / M}$; the weight is
#    $\exp\!\big(-d^2 / (2 w^2)\big)$ with $w$ = `kernel_width` (0.25 by default, lime's value).
# 5. Fit `Ridge(alpha=1.0)` on the masks (0/1, not standardized) with these sample weights and
#    return `coef_`, one weight per superpixel.
#
# *Hint:* `masks[:, segments]` has shape `(num_samples, height, width)`: for every sample, the
# on/off state of the superpixel of every pixel. `np.where` then builds all images at once.

# %% nbgrader={"grade": false, "grade_id": "lime_image", "locked": false, "schema_version": 3, "solution": true, "task": false}
def lime_image(predict_proba, image, segments, *, label, num_samples=1000, hide_color=None, kernel_width=0.25,
               random_state=0):
    """LIME weights of the superpixels of `image` for the probability of class `label`.

    Parameters
    ----------
    predict_proba : callable, maps images (n, height, width, 3) to probabilities (n, n_classes)
    image : ndarray of shape (height, width, 3)
    segments : int ndarray of shape (height, width), superpixel labels 0 .. M-1
    label : int, the class whose probability is explained
    num_samples : int, the number of masks (the first one keeps every superpixel)
    hide_color : None (each superpixel's own mean colour) or a number or RGB triple
    kernel_width : float, the width of the kernel on the cosine distance
    random_state : int, the seed of np.random.RandomState

    Returns
    -------
    ndarray of shape (M,), one weight per superpixel
    """
    ### BEGIN SOLUTION
    image = np.asarray(image, dtype=float)
    segments = np.asarray(segments)
    n_segments = int(segments.max()) + 1
    if hide_color is None:
        fill = np.zeros_like(image)
        for s in range(n_segments):
            fill[segments == s] = image[segments == s].mean(axis=0)
    else:
        fill = np.broadcast_to(np.asarray(hide_color, dtype=float), image.shape)
    rng = np.random.RandomState(random_state)
    masks = rng.randint(0, 2, size=(num_samples, n_segments))
    masks[0] = 1
    kept = masks[:, segments].astype(bool)
    perturbed = np.where(kept[..., None], image, fill)
    probabilities = np.asarray(predict_proba(perturbed), dtype=float)[:, label]
    distances = 1 - np.sqrt(masks.sum(axis=1) / n_segments)
    weights = np.exp(-distances**2 / (2 * kernel_width**2))
    return Ridge(alpha=1.0).fit(masks, probabilities, sample_weight=weights).coef_
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "lime_image_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.lime_image(lime_image)
### BEGIN HIDDEN TESTS
from xaigrader import week03
week03.lime_image(lime_image)
### END HIDDEN TESTS

# %% [markdown]
# What does "switching a superpixel off" mean? Compare lime's default (each superpixel's own
# mean colour) with filling every switched-off superpixel with the mean colour of the whole
# image, for the class the classifier predicts.

# %%
image_mean = image.mean(axis=(0, 1))
fills = {"own mean colour (hide_color=None)": None, "mean colour of the image": image_mean}
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (fill_name, hide_color) in zip(axes, fills.items()):
    weights = lime_image(classifier.predict_proba, image, segments, label=label, hide_color=hide_color)
    plot_superpixel_weights(image, segments, weights, title=f"fill: {fill_name}", ax=ax,
                            label=f"weight [change in P({shapes.class_names[label]})]")
fig.suptitle(f"Image LIME for the class '{shapes.class_names[label]}' with two ways of switching superpixels off")
fig.tight_layout()

# %% [markdown]
# The images come with the true object masks, so we can *score* the explanations: for 12 test
# images, does the superpixel with the largest weight lie (mostly) on the object?

# %%
def top_superpixel_on_object(weights, segments, object_mask):
    """Whether the superpixel with the largest weight lies mostly on the object."""
    return object_mask[segments == np.argmax(weights)].mean() > 0.5


hits = {fill_name: [] for fill_name in fills}
chance = []  # the share of superpixels on the object: the hit rate of a random guess
for i in tqdm(range(600, 612), desc="images"):
    segs = slic(images[i], n_segments=25, compactness=10, start_label=0)
    chance.append(np.mean([shapes.masks[i][segs == s].mean() > 0.5 for s in range(segs.max() + 1)]))
    predicted = int(classifier.predict(images[i][None])[0])
    for fill_name, hide_color in fills.items():
        fill = None if hide_color is None else images[i].mean(axis=(0, 1))
        weights = lime_image(classifier.predict_proba, images[i], segs, label=predicted, num_samples=300,
                             hide_color=fill)
        hits[fill_name].append(top_superpixel_on_object(weights, segs, shapes.masks[i]))
for fill_name, values in hits.items():
    print(f"fill {fill_name:34s}: the top superpixel is on the object in {sum(values)} of 12 images")
print(f"a superpixel drawn at random would be on the object in {np.mean(chance):.0%} of the cases")

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_lime_image", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** Compare the two fills. Why does lime's default (each superpixel's
# own mean colour) give almost no signal on these images, and what does the explanation with
# the image-mean fill show about what the classifier looks at?
#
# ### BEGIN SOLUTION
# *Model answer.* With the superpixel's own mean colour the weights are tiny (at most about
# 0.002) and scattered: the shapes are flat-coloured and SLIC's superpixels follow their edges
# (the triangle is a single superpixel), so a switched-off superpixel is replaced by almost the
# same colour, the image hardly changes, and the classifier, which reads edge directions, keeps
# its probability. LIME can only measure what the perturbation removes; the top superpixel lies
# on the object in only 4 of 12 images. With the mean colour of the image, a switched-off
# object superpixel really disappears: the triangle's superpixel gets a weight of about +0.4 (its
# probability drops by 40 points without it), its neighbours along the edges small positive
# weights, the background about 0; the top superpixel lies on the object in 12 of 12 images
# (against 14 % for a random guess). So the classifier relies on the shape itself, not on the
# background or the coloured corner patch, and the choice of "off" is part of the explanation.
# ### END SOLUTION

# %% [markdown]
# ## 3. Exact Shapley values
#
# Shapley values share the prediction among the features fairly, like a payout among players.
# For a coalition $S$ of features, the **value** $v(S)$ is the average prediction when the
# features in $S$ keep the values of $x$ and the others take the values of the rows $b$ of a
# **background** data set (the *interventional* value used by shap):
#
# $$v(S) = \frac{1}{n_b}\sum_{b} f\big(x_S, b_{\bar S}\big).$$
#
# So $v(\emptyset)$ is the average prediction over the background and $v(\{1,\dots,M\}) = f(x)$.
# The Shapley value of feature $j$ is its average marginal contribution over all coalitions
# without it, weighted by how many orderings of the players produce each coalition:
#
# $$\phi_j = \sum_{S \subseteq \{1..M\} \setminus \{j\}} \frac{|S|!\,(M - |S| - 1)!}{M!}\,
#   \big[v(S \cup \{j\}) - v(S)\big].$$
#
# Write `shapley_values(predict, x, background)`:
#
# - enumerate all $2^M$ coalitions as the integers $0 \dots 2^M - 1$, bit $j$ of the integer
#   saying whether feature $j$ is in the coalition:
#   `masks = (codes[:, None] >> np.arange(M)) & 1`;
# - compute every $v(S)$ with as few calls to `predict` as possible (one call on a stacked array
#   of shape $(2^M \cdot n_b, M)$ is fastest; $2^M$ calls are fine too);
# - the coalition $S \cup \{j\}$ of the code `c` is the code `c | (1 << j)`.

# %% nbgrader={"grade": false, "grade_id": "shapley", "locked": false, "schema_version": 3, "solution": true, "task": false}
def shapley_values(predict, x, background):
    """Exact interventional Shapley values of `predict` at `x`, by enumerating all coalitions.

    Parameters
    ----------
    predict : callable, maps an array (n, M) to predictions (n,)
    x : ndarray of shape (M,), the instance to explain
    background : ndarray of shape (n_background, M), replaces the features outside a coalition

    Returns
    -------
    ndarray of shape (M,), one Shapley value per feature
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    background = np.asarray(background, dtype=float)
    M = len(x)
    codes = np.arange(2**M)
    masks = (codes[:, None] >> np.arange(M)) & 1
    inputs = np.where(masks[:, None, :] == 1, x, background[None, :, :])
    values = np.asarray(predict(inputs.reshape(-1, M)), dtype=float).reshape(2**M, len(background)).mean(axis=1)
    sizes = masks.sum(axis=1)
    phi = np.zeros(M)
    for j in range(M):
        without_j = codes[masks[:, j] == 0]
        k = sizes[without_j]
        weights = np.array([factorial(s) * factorial(M - s - 1) / factorial(M) for s in k])
        phi[j] = np.sum(weights * (values[without_j | (1 << j)] - values[without_j]))
    return phi
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "shapley_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check.shapley_values(shapley_values)
### BEGIN HIDDEN TESTS
from xaigrader import week03
week03.shapley_values(shapley_values)
### END HIDDEN TESTS

# %% [markdown]
# Our hour has $M = 11$ features, so 2048 coalitions. As background we take 50 random training
# hours: about 100,000 predictions, a second of work.

# %%
background = X_train[np.random.default_rng(0).choice(len(X_train), size=50, replace=False)]
phi = shapley_values(model.predict, x, background)
base = model.predict(background).mean()
print(f"average prediction over the background: {base:.1f}, prediction for the hour: {model.predict(x[None])[0]:.1f}")
print(f"sum of the Shapley values: {phi.sum():.1f} (efficiency: equals the difference, {model.predict(x[None])[0] - base:.1f})")
plot_local_weights(phi, names, values=x, title="Exact Shapley values of the 17 h hour (50 background hours)",
                   xlabel="Shapley value [rentals per hour]");

# %% [markdown]
# ## 4. KernelSHAP
#
# $2^M$ coalitions are too many for more than about 20 features. Lundberg & Lee (2017) showed
# that the Shapley values are also the solution of a **weighted linear regression** over
# coalitions: regress $v(z) - v(\emptyset)$ on the mask $z \in \{0,1\}^M$, weighting a coalition
# with $k$ members by the **Shapley kernel**
#
# $$\pi(z) = \frac{M - 1}{\binom{M}{k}\, k\, (M - k)}, \qquad 0 < k < M,$$
#
# under the constraint that the values add up to the prediction,
# $\sum_j \phi_j = f(x) - v(\emptyset)$ (the empty and the full coalition have infinite weight:
# they become the intercept and this constraint). With every coalition the regression gives the
# exact Shapley values; with a sample of coalitions, an estimate. Write
# `kernel_shap(predict, x, background, *, n_samples=2048, random_state=0)`:
#
# 1. The candidate coalitions are the codes $1 \dots 2^M - 2$ (neither empty nor full). If
#    `n_samples >= 2**M - 2`, use all of them; otherwise draw `n_samples` distinct codes with
#    `rng = np.random.default_rng(random_state)` and
#    `rng.choice(np.arange(1, 2**M - 1), size=n_samples, replace=False)` (exactly this call: the
#    hidden test draws the same coalitions and compares your values exactly).
# 2. Turn the codes into masks $Z$ (as in part 3), compute their values $v(z)$ with the
#    background, the base value $v(\emptyset)$ (mean prediction over the background), $f(x)$, and
#    the kernel weights $\pi(z)$ (`comb` is imported).
# 3. Solve the constrained weighted least squares. A simple way: eliminate the last value with
#    the constraint, $\phi_M = \Delta - \sum_{j<M} \phi_j$ where $\Delta = f(x) - v(\emptyset)$.
#    Then $v(z) - v(\emptyset) - z_M \Delta = \sum_{j<M} \phi_j (z_j - z_M)$: an ordinary weighted
#    least-squares problem without intercept. Multiply rows and targets by $\sqrt{\pi}$ and use
#    `np.linalg.lstsq`; append $\phi_M$.

# %% nbgrader={"grade": false, "grade_id": "kernel_shap", "locked": false, "schema_version": 3, "solution": true, "task": false}
def kernel_shap(predict, x, background, *, n_samples=2048, random_state=0):
    """KernelSHAP estimate of the interventional Shapley values of `predict` at `x`.

    Parameters
    ----------
    predict : callable, maps an array (n, M) to predictions (n,)
    x : ndarray of shape (M,)
    background : ndarray of shape (n_background, M)
    n_samples : int, the number of coalitions (all 2**M - 2 of them when n_samples >= 2**M - 2)
    random_state : int, the seed of np.random.default_rng

    Returns
    -------
    ndarray of shape (M,), the estimated Shapley values; they add up to f(x) - mean f(background)
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    background = np.asarray(background, dtype=float)
    M = len(x)
    n_coalitions = 2**M - 2
    if n_samples >= n_coalitions:
        codes = np.arange(1, n_coalitions + 1)
    else:
        rng = np.random.default_rng(random_state)
        codes = rng.choice(np.arange(1, n_coalitions + 1), size=n_samples, replace=False)
    Z = (codes[:, None] >> np.arange(M)) & 1
    k = Z.sum(axis=1)
    weights = (M - 1) / (np.array([comb(M, int(s)) for s in k]) * k * (M - k))
    inputs = np.where(Z[:, None, :] == 1, x, background[None, :, :])
    values = np.asarray(predict(inputs.reshape(-1, M)), dtype=float).reshape(len(Z), len(background)).mean(axis=1)
    base = float(np.mean(predict(background)))
    gap = float(np.asarray(predict(x[None]))[0]) - base
    targets = values - base - Z[:, -1] * gap
    design = Z[:, :-1] - Z[:, [-1]]
    root = np.sqrt(weights)
    phi_rest = np.linalg.lstsq(design * root[:, None], targets * root, rcond=None)[0]
    return np.append(phi_rest, gap - phi_rest.sum())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "kernel_shap_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check.kernel_shap(kernel_shap)
### BEGIN HIDDEN TESTS
from xaigrader import week03
week03.kernel_shap(kernel_shap)
### END HIDDEN TESTS

# %% [markdown]
# How many coalitions does KernelSHAP need? We compare your estimates for growing budgets with
# the exact values of part 3, next to `shap.KernelExplainer` with the same background and budget
# (note: its `l1_reg` option, which silently drops features when there are more than 10, is an
# argument of `shap_values`, not of the constructor).

# %%
budgets = [32, 64, 128, 256, 512, 1024, 2046]
explainer = shap.KernelExplainer(model.predict, background)
errors = {"your kernel_shap": [], "shap.KernelExplainer": []}
np.random.seed(0)  # shap's KernelExplainer draws from NumPy's global generator
for n in tqdm(budgets, desc="budgets"):
    errors["your kernel_shap"].append(np.abs(kernel_shap(model.predict, x, background, n_samples=n) - phi).max())
    estimate = explainer.shap_values(x[None], nsamples=n, l1_reg=False, silent=True)[0]
    errors["shap.KernelExplainer"].append(np.abs(estimate - phi).max())

fig, ax = plt.subplots(figsize=(7, 4))
for method, values in errors.items():
    ax.plot(budgets[:-1], values[:-1], "-o", label=method)
ax.set(xscale="log", yscale="log", xlabel="number of coalitions evaluated (of 2046)",
       ylabel="largest error [rentals per hour]", title="KernelSHAP converges to the exact Shapley values")
ax.legend(title="with all 2046 coalitions: " + ", ".join(f"{v[-1]:.0e}" for v in errors.values()))
for method, values in errors.items():
    print(f"{method:22s}", "  ".join(f"{n}: {e:.2g}" for n, e in zip(budgets, values)))

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_kernel_shap", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (2 points).** How does the error of your KernelSHAP change with the budget, and
# why does it drop to (numerically) zero at 2046 coalitions? `shap.KernelExplainer` reaches a
# small error with far fewer coalitions: which property of the Shapley kernel does its sampler
# exploit (compare the weights of a coalition of size 1 and of size 5)?
#
# ### BEGIN SOLUTION
# *Model answer.* The largest error of my estimate falls slowly and unevenly: about 70 rentals
# per hour with 32 coalitions, 42 with 128, 17–20 with 256–512 and 9 with 1024 (the hour's own
# Shapley value is 234). With all 2046 coalitions it is zero up to rounding (5e-13): then every
# coalition enters the regression with its exact Shapley-kernel weight, and the constrained
# weighted least squares *is* the Shapley formula, not an approximation. shap's estimate is 6 to
# 20 times closer at every budget (11 with 32 coalitions, 0.4 with 1024). The kernel puts almost
# all its weight on the smallest and largest coalitions: for M = 11 a coalition of size 1 weighs
# 10 / (11 · 1 · 10) ≈ 0.091, one of size 5 only 10 / (462 · 5 · 6) ≈ 0.0007, 126 times less.
# shap enumerates the heavy coalitions first (sizes 1 and 10, then 2 and 9, ...), pairs every
# sample with its complement, and samples only the light middle; uniform sampling like mine
# often misses heavy coalitions, and each one missed shifts the answer.
# ### END SOLUTION

# %% [markdown]
# ## 5. The `shap` library: TreeSHAP and its plots
#
# For tree ensembles, **TreeSHAP** computes Shapley values exactly in polynomial time by walking
# the trees. `shap.TreeExplainer` explains the model's **raw output**: for our Poisson model
# that is the *logarithm* of the expected rentals, so its values add up to
# $\log f(x) - E[\log f]$ and a value of $+0.7$ multiplies the prediction by $e^{0.7} \approx 2$.
#
# With a background data set it computes the same interventional values as your
# `shapley_values` — check it on the log scale:

# %%
def log_predict(X):
    return np.log(model.predict(X))


tree_interventional = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
tree_phi = tree_interventional(x[None]).values[0]
own_phi = shapley_values(log_predict, x, background)
print(f"largest difference between TreeSHAP and your exact Shapley values: {np.abs(tree_phi - own_phi).max():.1e}")

fig, ax = plt.subplots(figsize=(5, 4.5))
ax.scatter(own_phi, tree_phi)
for j in np.argsort(np.abs(own_phi))[-3:]:
    ax.annotate(names[j], (own_phi[j], tree_phi[j]), textcoords="offset points", xytext=(5, -10))
limits = [min(own_phi.min(), tree_phi.min()), max(own_phi.max(), tree_phi.max())]
ax.plot(limits, limits, "--", color="grey", label="identity")
ax.set(xlabel="your shapley_values [log rentals per hour]", ylabel="shap.TreeExplainer [log rentals per hour]",
       title="Exact Shapley values: yours and TreeSHAP's")
ax.legend();

# %% [markdown]
# Without a background, `TreeExplainer` uses the trees' own record of how many training rows
# went each way (*tree path dependent*), which is fast enough to explain 500 test hours in a
# second. The **force** and **waterfall** plots show one explanation: they start at the average
# log prediction $E[f(X)]$ and let every feature push the prediction up (red) or down (blue)
# until it reaches $f(x)$.

# %%
tree = shap.TreeExplainer(model, feature_names=names)
explanation = tree(X_test[:500])
shap.plots.force(explanation[hour_17], matplotlib=True, show=False, contribution_threshold=0.03, text_rotation=15,
                 figsize=(14, 3))
plt.gca().set_xlabel("model output: log of the expected rentals per hour")
plt.title("Force plot of the 17 h hour (TreeSHAP)", y=1.5)
plt.show()

plt.figure()  # shap draws into the current figure: start a new one
shap.plots.waterfall(explanation[hour_17], show=False)  # show=False: we add labels, then plt.show()
ax = plt.gcf().axes[0]
ax.set_xlabel("model output: log of the expected rentals per hour", labelpad=20)
ax.set_title("Waterfall plot of the 17 h hour (TreeSHAP)")
plt.show()

# %% [markdown]
# The **beeswarm** (summary) plot shows all 500 explanations at once: one dot per hour and
# feature, placed at its SHAP value and coloured by the feature's value; features are sorted by
# their mean absolute SHAP value. Next to it, last week's permutation importance on the same
# hours.

# %%
plt.figure()  # shap draws into the current figure: start a new one
shap.plots.beeswarm(explanation, max_display=11, show=False)
ax = plt.gcf().axes[0]
ax.set_xlabel("SHAP value [log rentals per hour]")
ax.set_title("Beeswarm plot: 500 test hours (TreeSHAP)")
plt.show()

importance = permutation_importance(model, X_test[:500], y_test[:500], scoring="r2", n_repeats=5, random_state=0)
order = np.argsort(importance.importances_mean)
fig, ax = plt.subplots(figsize=(6, 4))
ax.barh([names[j] for j in order], importance.importances_mean[order])
ax.set(xlabel="drop in R² when the feature is permuted", ylabel="feature",
       title="Permutation importance (week 2), same 500 hours")
plt.show()

# %% [markdown]
# A **dependence** plot draws, for one feature, its SHAP value against its value (one dot per
# hour), coloured by a second feature. Compare with the ICE curves and the two-feature PDP of
# lab 2.

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
shap.plots.scatter(explanation[:, "hour"], color=explanation[:, "workingday"], ax=axes[0], show=False)
shap.plots.scatter(explanation[:, "temp"], color=explanation[:, "humidity"], ax=axes[1], show=False)
axes[0].set(xlabel="hour of the day", ylabel="SHAP value of hour [log rentals per hour]",
            title="Dependence plot: hour, coloured by working day")
axes[1].set(xlabel="temperature [°C]", ylabel="SHAP value of temp [log rentals per hour]",
            title="Dependence plot: temperature, coloured by humidity")
fig.tight_layout()
plt.show()

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_shap_plots", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 4 (2 points).** Which features does the beeswarm plot rank highest, and does the
# ranking agree with the permutation importance? What does the dependence plot of the hour show
# that a PDP hides, and where did you see the same pattern in lab 2? Remember the unit of the
# SHAP values.
#
# ### BEGIN SOLUTION
# *Model answer.* The beeswarm ranks the hour far ahead of everything else, then the
# temperature, the working-day indicator, the season, the month and humidity; holiday, wind
# speed and weather matter least. Permutation importance gives the same order except that the
# working day and the temperature swap places (it measures the loss of R² when a feature is
# scrambled, not the size of its contributions, so the two need not agree in the details). The
# hour's SHAP values range from about −2.8 to +1.5 log rentals, a factor of e^4.3 ≈ 75 between
# the night and the rush hour. The dependence plot of the hour splits into two bands by the
# working day: on working days sharp peaks at 8 h (+1.3) and 17–18 h (+1.4) with a dip around
# 10–15 h, on other days a broad midday plateau (about +0.9) and higher values at night. A PDP
# averages the two into one curve; it is the interaction we saw in lab 2 with the centred ICE
# curves and the two-feature PDP of hour and working day. The temperature's SHAP value rises
# from about −0.35 near 0 °C to +0.15 around 20–25 °C and levels off, like its PDP.
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - **LIME** fits a weighted linear surrogate to predictions on perturbed samples. It works for
#   tables (normal samples around the training statistics) and images (superpixels on and off),
#   but its answer depends on the seed, the kernel width and on what "switched off" means.
# - **Shapley values** share $f(x) - E[f]$ among the features; computed exactly by enumerating
#   the coalitions they satisfy efficiency, symmetry and the dummy property.
# - **KernelSHAP** obtains them from a weighted regression with the Shapley kernel; with every
#   coalition it is exact, with a sample an estimate whose quality depends on the sampler.
# - **TreeSHAP** computes them exactly and fast for tree ensembles, and shap's plots turn many
#   local explanations into global pictures (beeswarm, dependence).

# %% [markdown]
# ## Your progress
#
# The visible checks of every autograded part, rerun on your current functions. They are not
# the grade: hidden tests on other data decide it.

# %%
check.summary(globals())
