# %% [markdown]
# # Week 4 — Example-based explanations: counterfactuals, prototypes and influential instances
#
# The methods of weeks 2 and 3 explain a model by *summaries of features*: an effect curve, an
# importance, a weight per feature. People often explain differently, with **examples**. A
# doctor who sees an unusual rash remembers a patient with the same rash years ago and orders
# the test that settled that case; an engineer facing a new failure reuses the fix of a similar
# project. The pattern is "B is like A, and A turned out to be Y, so B is probably Y too".
# Example-based methods select or create **instances** that explain a model or a data set.
# They work best when an instance means something on its own to a person (an image, a text, a
# short row of a table) and they are the natural form of a *contrastive* explanation: "why this
# prediction rather than that one?".
#
# After this lecture you can
#
# - explain a prediction by its **nearest neighbours** and say when that is faithful;
# - define a **counterfactual explanation** and its criteria (validity, proximity, sparsity,
#   plausibility, actionability, diversity), write down **Wachter's loss** with the MAD-weighted
#   L1 distance, solve it exactly for a **logistic model**, and explain the **Rashomon effect**
#   and **DiCE**'s diversity term;
# - tell a counterfactual from an **adversarial example**;
# - compute **MMD²** and the **witness function** and explain how MMD-critic picks
#   **prototypes** and **criticisms**;
# - find **influential instances** with deletion diagnostics (**DFBETA**, **Cook's distance**)
#   and approximate them with **influence functions**.
#
# In the lab you implement Wachter's search, the exact logistic counterfactual, MMD-critic,
# DFBETA and influence functions yourself.

# %%
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
import torch
import torch.nn.functional as F
from captum.influence import NaiveInfluenceFunction
from captum.robust import FGSM
from scipy.optimize import linprog, minimize
from scipy.spatial.distance import cdist
from scipy.stats import median_abs_deviation
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KernelDensity, KNeighborsClassifier, NearestNeighbors
from statsmodels.stats.outliers_influence import OLSInfluence

from xaikit import load_bike_daily, load_bike_demand
from xaikit.cnn import load_mnist_digits, load_model, predict_proba
from xaikit.heatmaps import show_image
from xaikit.tabular_models import fit_tabular_mlp, predict_positive

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # tiny models: one thread is faster than two taking turns
torch.manual_seed(0);

# %% [markdown]
# ## 1. The simplest example-based explanation: nearest neighbours
#
# A $k$-nearest-neighbour classifier *is* an example-based explanation: it predicts the
# majority label of the $k$ training instances closest to the input, so showing those $k$
# instances shows exactly why it decided. We use scikit-learn's 1,797 handwritten digits
# (8 × 8 pixels, grey levels 0–16) and a 5-nearest-neighbour classifier.

# %%
digits = load_digits()
D_train, D_test, d_train, d_test = train_test_split(digits.data / 16.0, digits.target, test_size=0.3, random_state=0)
knn = KNeighborsClassifier(n_neighbors=5).fit(D_train, d_train)
predicted = knn.predict(D_test)
print(f"5-NN test accuracy: {np.mean(predicted == d_test):.3f}")


def show_row(axes, images, titles):
    for ax, image, title in zip(axes, images, titles):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.axis("off")


right, wrong = np.flatnonzero(predicted == d_test)[0], np.flatnonzero(predicted != d_test)[0]
fig, axes = plt.subplots(2, 6, figsize=(9, 3.8), layout="constrained")
for row, i in zip(axes, [right, wrong]):
    distances, neighbours = knn.kneighbors(D_test[i:i + 1])
    show_row(row, [D_test[i], *D_train[neighbours[0]]],
             [f"input: {d_test[i]}\npredicted {predicted[i]}"]
             + [f"label {d_train[j]}\nd = {dist:.2f}" for j, dist in zip(neighbours[0], distances[0])])
fig.suptitle("A 5-NN prediction explained by its five neighbours (d: Euclidean distance, pixels scaled to [0, 1])");

# %% [markdown]
# The second row shows why the classifier erred: the neighbours really do look like the input.
# For a kNN model this explanation is perfectly faithful; for any other model, neighbours in the
# *input* space only say what the data look like, not what the model does. One can take the
# neighbours in a model's own representation (the activations of a hidden layer) instead, but
# "similar" then depends on that representation and on the distance, and in high dimensions
# all points are nearly equally far apart. The methods below select or construct examples
# *for* a given model.
#
# ## 2. Counterfactual explanations
#
# A **counterfactual explanation** describes the smallest change to an instance that changes
# the prediction to a chosen outcome: *"had the humidity been 20 points lower, the model would
# have predicted high demand"*. It is contrastive (it names the difference that matters),
# selective (a good one changes few features) and needs no access to the model's internals.
# Wachter, Mittelstadt & Russell (2017) proposed it for people affected by automated decisions
# (a refused loan: what would have to be different?). A good counterfactual is
#
# - **valid**: the model really gives the desired outcome;
# - **close** to the instance and **sparse** (changes few features);
# - **plausible**: it looks like real data (no 40 °C in January);
# - **actionable**: it changes only features that can change (not the age, not the past);
# - and since many counterfactuals exist, a *set* of them should be **diverse**.
#
# Our running example: the bike-rental hours of 2011 as a classification task (at least 200
# rentals in the hour = high demand), a small neural network and a logistic regression.

# %%
demand = load_bike_demand()
names = demand.feature_names
X_train, X_test, y_train, y_test = train_test_split(demand.data, demand.target, test_size=0.25, random_state=42)
mlp = fit_tabular_mlp(X_train, y_train)
logreg = LogisticRegression(max_iter=5000).fit(X_train, y_train)
mad = median_abs_deviation(X_train, axis=0)
mad[names.index("workingday")] = 1.0  # binary feature: MAD 0; it is never changed below
print(f"test accuracy: network {np.mean((predict_positive(mlp, X_test) > 0.5) == y_test):.3f}, "
      f"logistic {logreg.score(X_test, y_test):.3f}")
print("MAD:", dict(zip(names, mad.round(1).tolist())))
x = X_test[869]
print("instance:", dict(zip(names, x.tolist())), f"P(high): network {predict_positive(mlp, x)[0]:.2f}")

# %% [markdown]
# A weekend afternoon (14 h) at 8.9 °C and 76 % humidity: the network predicts low demand (and
# only 59 bikes were rented). What would have to change?
#
# ### Wachter's loss and the MAD-weighted L1 distance
#
# Wachter et al. search the counterfactual $x'$ that minimises
#
# $$L(x', \lambda) = \lambda\,\big(\hat f(x') - y'\big)^2 + d(x, x'), \qquad
#   d(x, x') = \sum_{j} \frac{|x'_j - x_j|}{\mathrm{MAD}_j},$$
#
# with $y'$ the desired prediction and $\lambda$ increased until $\hat f(x')$ is close enough to
# $y'$. The distance has two deliberate choices:
#
# - each feature is divided by its **median absolute deviation**, $\mathrm{MAD}_j = \mathrm{median}_i |x_{ij} - \mathrm{median}(x_j)|$,
#   so that a typical change costs the same in every unit (here 6 hours, 7.5 °C, 16 % humidity,
#   6 km/h); unlike the standard deviation, the MAD is not inflated by a few extreme values;
# - the **L1 norm** makes the optimum *sparse*: its level sets are diamonds whose corners lie on
#   the axes, so the cheapest point on a boundary is usually a corner: one feature changed.
#
# For a **linear or logistic model** the problem is a linear programme with one constraint,
# $\sum_j w_j\,\mathrm{MAD}_j\,u_j = \operatorname{logit}(y') - w^\top x - b$ in the scaled changes
# $u_j = (x'_j - x_j)/\mathrm{MAD}_j$, and it has a closed form: with the L1 cost, change only the
# feature with the largest $|w_j|\,\mathrm{MAD}_j$ (the most logit per MAD); with an L2 cost,
# move along $(w_j\,\mathrm{MAD}_j)_j$, changing every feature a little. The figure solves both
# numerically (`scipy.optimize.linprog` and `minimize`) for a logistic model of temperature and
# humidity only, in MAD units around our hour.

# %%
two = [names.index("temp"), names.index("humidity")]
logit2 = LogisticRegression(max_iter=5000).fit(X_train[:, two], y_train)
v = logit2.coef_[0] * mad[two]  # logit change per MAD of each feature
gap = -logit2.decision_function(x[two][None])[0]  # reach the decision boundary, probability 0.5
l1 = linprog(c=[0, 0, 1, 1], A_ub=[[1, 0, -1, 0], [-1, 0, -1, 0], [0, 1, 0, -1], [0, -1, 0, -1]], b_ub=[0] * 4,
             A_eq=[[v[0], v[1], 0, 0]], b_eq=[gap], bounds=[(None, None)] * 2 + [(0, None)] * 2).x[:2]
l2 = minimize(lambda u: u @ u, x0=np.zeros(2), constraints=[{"type": "eq", "fun": lambda u: v @ u - gap}]).x

r1, r2 = np.abs(l1).sum(), np.hypot(*l2)
lim = 1.3 * r1
fig, ax = plt.subplots(figsize=(6, 5.5))
grid = np.linspace(-lim, lim, 2)
ax.plot(grid, (gap - v[0] * grid) / v[1], color="black", label="P(high) = 0.5 (logistic model)")
ax.plot([r1, 0, -r1, 0, r1], [0, r1, 0, -r1, 0], color="tab:red", alpha=0.6, label=f"L1 ball, cost {r1:.2f} MAD")
angle = np.linspace(0, 2 * np.pi, 200)
ax.plot(r2 * np.cos(angle), r2 * np.sin(angle), color="tab:blue", alpha=0.6, label=f"L2 ball, radius {r2:.2f}")
ax.plot(*l1, "o", color="tab:red", markersize=9, label="L1 optimum: one feature changes")
ax.plot(*l2, "s", color="tab:blue", markersize=8, label="L2 optimum: both change")
ax.plot(0, 0, "k*", markersize=12, label="our hour")
ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="change of temperature [MAD = 7.5 °C]",
       ylabel="change of humidity [MAD = 16 %]", title="Cheapest counterfactual under L1 and L2 costs")
ax.legend(loc="lower left", fontsize="small");

# %% [markdown]
# The diamond first touches the boundary at a corner: the L1 counterfactual only warms the hour,
# by 2.8 MADs (21 °C: a 30 °C afternoon instead of a 9 °C one), the L2 one warms it less and
# also dries it. This simple model needs a large change because it fits poorly; the validity of a
# counterfactual says nothing about its plausibility. For the logistic model the exact answer is
# a formula; for the neural network there is none, and Wachter et al. minimise $L$ by gradient
# descent while increasing $\lambda$ (you write this search in the lab). Whatever the search, it
# optimises only validity and proximity: nothing keeps $x'$ near real data.
#
# ### Counterfactuals from the data, the Rashomon effect and diversity
#
# A simple way to guarantee plausibility is to take counterfactuals **from the data**: the
# training hours closest to ours (MAD-weighted L1, same type of day) that the network predicts
# as high demand, the *nearest unlike neighbours*.

# %%
j_work = names.index("workingday")
candidates = X_train[(predict_positive(mlp, X_train) >= 0.6) & (X_train[:, j_work] == x[j_work])]
finder = NearestNeighbors(n_neighbors=8, metric="manhattan").fit(candidates / mad)
distance, nearest = finder.kneighbors((x / mad)[None])
unlike = candidates[nearest[0]]


def changes(z):
    """The features that differ from our hour by more than a tenth of a MAD, with their new values."""
    return ", ".join(f"{n} {a:g} → {b:g}" for n, a, b, m in zip(names, x, z, mad) if abs(b - a) > 0.1 * m)


table = pd.DataFrame({"changes": [changes(z) for z in unlike], "cost [MAD]": distance[0].round(2),
                      "P(high)": predict_positive(mlp, unlike).round(2)})
table

# %% [markdown]
# Each row is a valid, real hour, and each tells a different story: a late morning a little
# warmer, the same afternoon 6.6 °C warmer, a drier and slightly warmer hour later in the
# afternoon. This is the **Rashomon effect** of counterfactuals: many
# different, equally true explanations, which may even contradict each other. They are
# plausible but not sparse (real hours differ in everything), and choosing the closest one
# would hide the others.
#
# **DiCE** (Mothilal, Sharma & Tan, 2020) generates a *set* of $k$ counterfactuals at once by
# minimising validity and proximity losses averaged over the set, minus a diversity term: the
# determinant of the similarity matrix $K_{ij} = 1/(1 + d(c_i, c_j))$, which is large when the
# counterfactuals are far apart from each other (a determinantal point process). You compute
# that determinant in the lab. The distances it is built from already show which of our eight
# candidates repeat each other and which tell something new:

# %%
between = cdist(unlike / mad, unlike / mad, metric="cityblock")
fig, ax = plt.subplots(figsize=(5.5, 4.5))
image_ = ax.imshow(between, cmap="viridis")
ax.set(xticks=range(len(unlike)), yticks=range(len(unlike)), xlabel="candidate (row of the table)",
       ylabel="candidate (row of the table)", title="Distances between the counterfactuals")
fig.colorbar(image_, ax=ax, label="MAD-weighted L1 distance [MAD]");

# %% [markdown]
# Two caveats hold for every counterfactual. It explains **the model, not the world**: "20
# points less humidity" is what the network needs, not a promise about real riders. And it
# depends on the cost: with another distance (or other MADs, or immutable features) the
# "smallest" change is a different one, so report the cost you used.
#
# ## 3. Adversarial examples: counterfactuals nobody would accept
#
# An adversarial example is also a minimal change that flips a prediction, but one that makes no
# sense to a person. Take the digit network of week 5 and move every pixel a little in the
# direction that raises the loss (the fast gradient sign method, FGSM, which you will write in
# week 5), with the smallest step that flips the prediction; next to it, the closest training
# digit of the new class, a counterfactual from the data.

# %%
mnist = load_mnist_digits()
cnn = load_model("digits")
attack = FGSM(cnn, loss_func=lambda out, y: F.cross_entropy(out, y, reduction="none"), lower_bound=0.0, upper_bound=1.0)
image, label = mnist.images[mnist.test[:1]], mnist.labels[mnist.test[:1]]
for epsilon in np.arange(0.01, 0.3, 0.01):
    adversarial = attack.perturb(image.clone().requires_grad_(True), float(epsilon), label)
    new_class = int(predict_proba(cnn, adversarial).argmax())
    if new_class != int(label):
        break
train_images = mnist.images[mnist.train].reshape(len(mnist.train), -1)
of_new_class = np.flatnonzero(mnist.labels[mnist.train].numpy() == new_class)
closest = of_new_class[np.argmin(((train_images[of_new_class] - image.reshape(1, -1)) ** 2).sum(axis=1))]
fig, axes = plt.subplots(1, 4, figsize=(10, 3), layout="constrained")
show_image(image[0], axes[0], title=f"input: P({int(label)}) = {predict_proba(cnn, image)[0, int(label)]:.2f}")
change = axes[1].imshow((adversarial - image)[0, 0].detach(), cmap="RdBu_r", vmin=-0.3, vmax=0.3)
axes[1].set(title=f"change: ±{epsilon:.2f} per pixel", xlabel="pixel column", ylabel="pixel row")
fig.colorbar(change, ax=axes[1], shrink=0.8, label="intensity change [0–1 scale]")
show_image(adversarial[0].detach(), axes[2], title=f"adversarial: predicted {new_class}")
show_image(mnist.images[mnist.train[closest]][0], axes[3], title=f"closest training {new_class}")
fig.suptitle("Two ways to change the prediction: an adversarial example and a counterfactual from the data");

# %% [markdown]
# Both change the prediction; only the one on the right explains it to a person. The adversarial
# change is spread over the whole image, tiny in every pixel and meaningless as a whole: a
# counterfactual search without a plausibility constraint, run on a model with thousands of
# inputs, finds exactly such changes. That is why counterfactual methods for images search in a
# latent space or among real examples, and why validity and proximity alone do not make an
# explanation.
#
# ## 4. Prototypes and criticisms
#
# A **prototype** is a real instance that represents many others; a **criticism** is an
# instance that the prototypes represent badly. Both summarise a data set (or a model's view of
# it) in a form a person can browse. **MMD-critic** (Kim, Khanna & Koyejo, 2016) chooses
# prototypes $z_1, \dots, z_m$ among the data $x_1, \dots, x_n$ so that the two samples have
# nearly the same distribution, measured by the **squared maximum mean discrepancy** with a
# kernel $k$ (we use the Gaussian/RBF kernel $k(a, b) = \exp(-\gamma \lVert a - b\rVert^2)$):
#
# $$\mathrm{MMD}^2 = \frac{1}{n^2}\sum_{i,j} k(x_i, x_j) - \frac{2}{nm}\sum_{i,j} k(x_i, z_j) + \frac{1}{m^2}\sum_{i,j} k(z_i, z_j).$$
#
# It is the squared distance between the two samples' mean embeddings, zero for identical
# samples. Prototypes are added **greedily**, each time the point that lowers MMD² most. Where
# the prototypes fall short is measured by the **witness function**
#
# $$\mathrm{witness}(x) = \frac{1}{n}\sum_i k(x, x_i) - \frac{1}{m}\sum_j k(x, z_j),$$
#
# up to a constant the difference between two kernel density estimates, of the data and of the
# prototypes. It is positive where data are denser than prototypes, negative where prototypes
# over-represent the data; the **criticisms** are the points where its absolute value is
# largest. A one-dimensional example with three groups and four prototypes placed in the two
# big ones (the densities come from scikit-learn's `KernelDensity`):

# %%
rng = np.random.default_rng(3)
data_1d = np.concatenate([rng.normal(-2, 0.6, 120), rng.normal(1.5, 0.8, 100), rng.normal(5, 0.3, 12)])[:, None]
protos_1d = np.array([[-2.3], [-1.6], [1.2], [1.9]])
grid_1d = np.linspace(-4.5, 6.5, 400)[:, None]
bandwidth = 0.5
density = {name: np.exp(KernelDensity(bandwidth=bandwidth).fit(sample).score_samples(grid_1d))
           for name, sample in [("data", data_1d), ("prototypes", protos_1d)]}
witness_1d = density["data"] - density["prototypes"]
fig, ax = plt.subplots(figsize=(9, 3.8))
ax.plot(grid_1d, density["data"], label="kernel density of the data")
ax.plot(grid_1d, density["prototypes"], label="kernel density of the 4 prototypes")
ax.plot(grid_1d, witness_1d, color="black", linewidth=2, label="witness (data − prototypes)")
ax.plot(data_1d[:, 0], np.full(len(data_1d), -0.33), "|", color="grey", alpha=0.5)
ax.plot(protos_1d[:, 0], np.full(4, -0.33), "v", color="tab:orange", markersize=10, label="prototypes")
ax.axhline(0, color="grey", linewidth=0.5)
ax.set(xlabel="feature value", ylabel="density (1 / feature unit)", title="The witness function shows where prototypes fail")
ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout();

# %% [markdown]
# The small group on the right has no prototype: the witness is positive there and its points
# are the criticisms. Around the prototypes the witness is negative: four prototypes, each
# carrying a quarter of the weight, are more peaked than the data around them. Greedy MMD-critic
# would have covered the right group, because that lowers MMD² most.
#
# On the 1,797 digits, the lab runs MMD-critic itself. As a preview with off-the-shelf tools:
# twenty "prototypes" as the real digits closest to the centres of a 20-cluster k-means (a
# common but different recipe), and the ten digits with the largest absolute witness value
# for them, computed from two Gaussian kernel density estimates in 64 dimensions.

# %%
images = digits.data / 16.0
gamma = 1.0 / np.median(np.sum((images[:300, None] - images[None, :300]) ** 2, axis=2))
centres = KMeans(n_clusters=20, n_init=3, random_state=0).fit(images).cluster_centers_
medoids = np.unique(np.argmin(((images[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=0))
h = 1 / np.sqrt(2 * gamma)  # exp(-gamma d^2) = exp(-d^2 / (2 h^2))
to_kernel_mean = images.shape[1] / 2 * np.log(2 * np.pi * h**2)  # undo the normalisation of the density
log_mean = {name: KernelDensity(bandwidth=h).fit(images[idx]).score_samples(images) + to_kernel_mean
            for name, idx in [("data", np.arange(len(images))), ("prototypes", medoids)]}
witness = np.exp(log_mean["data"]) - np.exp(log_mean["prototypes"])
witness[medoids] = 0  # a prototype is never a criticism
critics = np.argsort(-np.abs(witness))[:10]
fig, axes = plt.subplots(2, 10, figsize=(10, 3.0), layout="constrained")
for row, idx, what in [(axes[0], medoids[:10], "prototype"), (axes[1], critics, "criticism")]:
    show_row(row, images[idx], [f"{what}\n{digits.target[i]}" for i in idx])
fig.suptitle("Ten k-means medoids (top) and the ten digits with the largest |witness| for all 20 (bottom)");

# %% [markdown]
# The criticisms are digits written in styles that no medoid resembles. Prototypes and
# criticisms are useful to *look at the data* before modelling, and to check a model: a
# classifier's errors often sit among the criticisms, and a model can be made interpretable by
# design by classifying through prototypes (the nearest-prototype classifier, or networks like
# ProtoPNet whose last layer compares image parts with learned prototypes).
#
# ## 5. Influential instances
#
# A training instance is **influential** if deleting it changes the model noticeably (its
# parameters or its predictions). Finding them debugs data (a mislabelled point, a measurement
# error, a day unlike any other) and shows which training examples a prediction rests on.
#
# ### Deletion diagnostics
#
# The direct measure refits without instance $i$. For least squares, no refit is needed: with
# the residual $e_i$ and the leverage $h_{ii} = x_i^\top (X^\top X)^{-1} x_i$,
#
# $$\mathrm{DFBETA}_i = \hat\beta - \hat\beta_{(-i)} = \frac{(X^\top X)^{-1} x_i\, e_i}{1 - h_{ii}}, \qquad
#   D_i = \frac{e_i^2}{p\, s^2}\,\frac{h_{ii}}{(1 - h_{ii})^2}\quad\text{(Cook's distance)}.$$
#
# DFBETA tells how each coefficient moves; Cook's distance summarises how much all fitted values
# move, and is large for points that are far from the others (leverage) *and* badly fitted (large
# residual). statsmodels computes both; here for the daily rentals of 2011 regressed on the
# weather and the type of day.

# %%
daily = load_bike_daily()
frame = daily.frame
design = sm.add_constant(frame[["temp", "humidity", "windspeed"]].assign(workingday=frame["workingday"].astype(float)))
ols = sm.OLS(daily.target, design).fit()
influence = OLSInfluence(ols)
cooks = influence.cooks_distance[0]
top = np.argsort(-cooks)[:4]
fig, ax = plt.subplots(figsize=(9, 3.2))
ax.vlines(frame["date"], 0, cooks, linewidth=1)
for i in top:
    ax.annotate(frame["date"][i].strftime("%d %b"), (frame["date"][i], cooks[i]), fontsize=8, ha="center",
                va="bottom")
ax.set(xlabel="day of 2011", ylabel="Cook's distance", title="Which days move the daily regression most?")
frame.iloc[top][["date", "weather", "temp", "humidity", "windspeed", "count"]].assign(
    cooks=cooks[top].round(3), dfbeta_temp=influence.dfbeta[top, 1].round(1))

# %% [markdown]
# The most influential day, 10 March, is a **measurement error**: a rainy day recorded with 0 %
# humidity (the UCI data carry this value for the whole day), far from every other day and badly
# fitted. Next come genuine but exceptional days: 27 August, when hurricane Irene reached
# Washington (1,115 rentals on a 24 °C day), the heat wave of late July (32 °C, fewer rentals
# than a straight line in the temperature predicts) and a very windy October day. The error should
# be corrected; the exceptional days should be reported, or modelled (a storm indicator, a
# non-linear temperature effect), rather than silently deleted.
#
# ### Influence functions
#
# Refitting $n$ times is impossible for a large model. Koh & Liang (2017) borrowed from robust
# statistics a first-order approximation. Upweight a training point $z$ by a small $\varepsilon$;
# at the new optimum the parameters move by
# $\frac{d\hat\theta}{d\varepsilon} = -H^{-1}\nabla_\theta \ell(z, \hat\theta)$, where $H$ is
# the Hessian of the training objective at $\hat\theta$. Removing $z$ from a sum of losses is
# $\varepsilon = -1$, so the loss on a test point changes by about
#
# $$\ell(z_{\text{test}}, \hat\theta_{(-z)}) - \ell(z_{\text{test}}, \hat\theta) \approx
#   \nabla_\theta \ell(z_{\text{test}}, \hat\theta)^\top H^{-1} \nabla_\theta \ell(z, \hat\theta).$$
#
# A positive value means the point *helps* that prediction (a **proponent**: without it the test
# loss would rise), a negative one that it hurts (an **opponent**). For a convex, smooth model
# (logistic regression with an L2 penalty) the approximation is excellent; the lab checks it
# against exact refits. captum implements it (`captum.influence.NaiveInfluenceFunction`, which
# forms $H$ explicitly). A logistic regression that tells 3s from 8s, and the training digits
# that most help and most hurt one test digit:

# %%
pair = np.isin(digits.target, [3, 8])
P_train, P_test, p_train, p_test = train_test_split(digits.data[pair] / 16.0, (digits.target[pair] == 8).astype(float),
                                                    test_size=0.3, random_state=0)
lam = 1.0
linear = LogisticRegression(C=1 / lam, fit_intercept=False, tol=1e-10, max_iter=10_000).fit(P_train, p_train)
net = torch.nn.Linear(64, 1, bias=False).double()
with torch.no_grad():
    net.weight.copy_(torch.tensor(linear.coef_))
checkpoint = os.path.join(tempfile.mkdtemp(), "linear.pt")  # captum reads the parameters from a checkpoint file
torch.save(net.state_dict(), checkpoint)
train_set = torch.utils.data.TensorDataset(torch.tensor(P_train), torch.tensor(p_train)[:, None])
tracer = NaiveInfluenceFunction(net, train_set, checkpoint, loss_fn=torch.nn.BCEWithLogitsLoss(reduction="none"),
                                batch_size=len(P_train), hessian_reg=lam, projection_dim=64, hessian_inverse_tol=1e-12)
t = int(np.argmin(np.abs(linear.predict_proba(P_test)[:, 1] - 0.5)))  # the test digit the model is least sure of
scores = tracer.influence((torch.tensor(P_test[t:t + 1]), torch.tensor([[p_test[t]]]))).numpy()[0]
order = np.argsort(-scores)
fig, axes = plt.subplots(2, 5, figsize=(8, 4.0), layout="constrained")
label_of = lambda y: "8" if y else "3"  # noqa: E731
show_row(axes[0], [P_test[t], *P_train[order[:4]]],
         [f"test: {label_of(p_test[t])}\nP(8) = {linear.predict_proba(P_test[t:t + 1])[0, 1]:.2f}"]
         + [f"helps: {label_of(p_train[i])}\n{scores[i]:+.3f}" for i in order[:4]])
axes[1, 0].axis("off")
show_row(axes[1, 1:], P_train[order[::-1][:4]], [f"hurts: {label_of(p_train[i])}\n{scores[i]:+.3f}" for i in order[::-1][:4]])
fig.suptitle("Influence functions (captum): the training digits that most help and most hurt one prediction");

# %% [markdown]
# The proponents are training 3s that look like the test digit; the opponents are mostly 8s
# that resemble it, plus an oddly written 3 whose fit pulls the weights the wrong way for this
# test digit. This is how influence functions find mislabelled or
# misleading training data. For deep networks the approximation is much weaker: the loss is not
# convex, training stops far from an optimum, and $H$ must be approximated (Basu, Pope & Feizi,
# 2021). Cheaper alternatives trace the training run instead (TracIn, also in captum).
#
# ## Summary
#
# | method | question | what it returns | exact reference |
# |---|---|---|---|
# | nearest neighbours | which known cases resemble this one? | training instances | the kNN model itself |
# | counterfactual (Wachter, DiCE) | what change gives another prediction? | constructed instances | linear programme for linear/logistic models |
# | adversarial example | what tiny change fools the model? | a meaningless perturbation | — (a warning, not an explanation) |
# | prototypes and criticisms (MMD-critic) | what do the data look like, what is left out? | real instances | MMD², witness function |
# | DFBETA, Cook's distance | which points move the fit? | training instances | leave-one-out refits (exact for least squares) |
# | influence functions | which training points does this prediction rest on? | training instances, signed | refits (approximate for convex models) |
#
# - Example-based explanations are instances a person can look at; they suit images, texts and
#   short tabular rows, and they are naturally contrastive.
# - Counterfactuals should be valid, close, sparse, plausible, actionable and diverse; many
#   exist (Rashomon), they depend on the cost, and they explain the model, not the world.
# - Prototypes summarise, criticisms show what the summary misses; influential instances tie a
#   model or a prediction back to its training data.
#
# **References.** Wachter, Mittelstadt & Russell (2017), *Counterfactual explanations without
# opening the black box: automated decisions and the GDPR*. Mothilal, Sharma & Tan (2020),
# *Explaining machine learning classifiers through diverse counterfactual explanations* (DiCE).
# Goodfellow, Shlens & Szegedy (2015), *Explaining and harnessing adversarial examples*. Kim,
# Khanna & Koyejo (2016), *Examples are not enough, learn to criticize! Criticism for
# interpretability* (MMD-critic). Cook (1977), *Detection of influential observation in linear
# regression*. Koh & Liang (2017), *Understanding black-box predictions via influence functions*.
# Basu, Pope & Feizi (2021), *Influence functions in deep learning are fragile*. Pruthi et al.
# (2020), *Estimating training data influence by tracing gradient descent* (TracIn). Molnar,
# *Interpretable Machine Learning*, chapters on example-based explanations.
