# %% [markdown]
# # Lab 4 — Example-based explanations: counterfactuals, prototypes and influential instances
#
# Example-based methods explain with data points instead of feature weights: *what would have
# to be different* for another prediction (a counterfactual), *which instances represent* the
# data and which do not (prototypes and criticisms), and *which training instances* shaped
# the model (influential instances). In this lab you write them yourself:
#
# | part | you write | points |
# |---|---|---|
# | 1 | `wachter_counterfactual` — a gradient search with a growing λ, for any differentiable model | 4 |
# | 1 | `minimal_counterfactual` — the exact cheapest counterfactual of a logistic model | 3 |
# | 2 | `dpp_diversity` — DiCE's diversity of a set of counterfactuals | 2 |
# | 3 | `mmd2`, `greedy_prototypes`, `criticisms` — MMD-critic on handwritten digits | 2 + 3 + 2 |
# | 4 | `dfbeta` — leave-one-out influence in linear regression, without refitting | 3 |
# | 4 | `influence_on_test_loss` — the influence function of an L2-regularised logistic regression | 3 |
# | | four written answers, graded by hand | 8 |
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each function: a green ✓ means
# the visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden
# tests compare your functions with exact references on data and models you have not seen: the
# cheapest counterfactual found by linear programming, a reference MMD-critic, explicit refits,
# statsmodels and captum. Use NumPy and PyTorch; do not import `captum`, `statsmodels`, `alibi`
# or `dice_ml` in your answers (they contain what you are asked to write), and do not hand a
# counterfactual to `scipy.optimize`. Write each answer on its own, without calling another of
# your functions: a slip in one would otherwise cost you twice.
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit.

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy.stats import median_abs_deviation, spearmanr
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from xaikit import load_bike_daily, load_bike_demand
from xaikit.checks import week04 as check
from xaikit.tabular_models import LogisticNet, fit_tabular_mlp, predict_positive

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # the models are tiny: one thread is faster than two taking turns
torch.manual_seed(0);

# %% [markdown]
# ## 0. High demand for bikes: the data and two classifiers
#
# The bike-rental hours of 2011 again, now as a classification task: was demand **high** in
# this hour (at least 200 bikes rented)? Five numeric features: the hour of the day, whether
# it is a working day, the temperature (°C), the humidity (%) and the wind speed (km/h).
# We fit two classifiers on three quarters of the hours: a small neural network (`TabularMLP`,
# which standardizes its input itself, so it takes the features in their own units) and a
# logistic regression (scikit-learn). Both give the probability of high demand.

# %%
demand = load_bike_demand()
names = demand.feature_names
X_train, X_test, y_train, y_test = train_test_split(demand.data, demand.target, test_size=0.25, random_state=42)
mlp = fit_tabular_mlp(X_train, y_train)
logreg = LogisticRegression(max_iter=5000).fit(X_train, y_train)
for label, p in [("neural network", predict_positive(mlp, X_test)), ("logistic regression", logreg.predict_proba(X_test)[:, 1])]:
    print(f"{label:>20}: test accuracy {np.mean((p > 0.5) == y_test):.3f}")

# %% [markdown]
# The hour to explain: a working day at 19 h, 10.8 °C, 94 % humidity, a light wind. Both
# models predict low demand (and they are right: 137 bikes were rented, fewer than the 200 of a
# busy hour).

# %%
x = X_test[797]
print(dict(zip(names, x.tolist())))
print(f"P(high demand): network {predict_positive(mlp, x)[0]:.3f}, logistic {logreg.predict_proba(x[None])[0, 1]:.3f}")

# %% [markdown]
# ## 1. Counterfactual explanations
#
# A counterfactual explanation answers *"what is the smallest change to this hour that would
# have made the model predict high demand?"*. Wachter, Mittelstadt & Russell (2017) find it by
# minimising
#
# $$L(x', \lambda) = \lambda\,\big(\hat f(x') - y'\big)^2 + d(x, x'), \qquad
#   d(x, x') = \sum_j \frac{|x'_j - x_j|}{\mathrm{MAD}_j},$$
#
# where $y'$ is the target probability and $\mathrm{MAD}_j$ the median absolute deviation of
# feature $j$ in the training data. Dividing by the MAD makes a change of one "typical spread"
# cost the same in every feature (6 hours, 7.5 °C, 16 % humidity); the L1 norm makes it cheaper
# to change few features than many (sparsity). The weight $\lambda$ trades the two terms: start
# small and **increase λ until the prediction is within ε of the target**.
#
# Some features cannot change (the day of the week): a boolean `mutable` mask says which may.
# The working-day flag is binary, so its MAD is 0; we give it 1 and keep it fixed anyway.

# %%
mad = median_abs_deviation(X_train, axis=0)
mad[names.index("workingday")] = 1.0  # binary: MAD 0; it is never changed below
weather_and_hour = np.array([name != "workingday" for name in names])
print(dict(zip(names, mad.tolist())))

# %% [markdown]
# Write `wachter_counterfactual(model, x, target, mad, *, mutable=None, eps=0.05, lam=0.1,
# lam_factor=2.0, max_rounds=20, n_steps=100, lr=0.05)`. The model is a PyTorch module that maps
# a float32 tensor of shape `(n, n_features)` to probabilities of shape `(n,)`.
#
# *Recipe.* Optimise the change **in MAD units**, $u_j = (x'_j - x_j)/\mathrm{MAD}_j$, so that
# one step moves every feature by the same share of its spread:
#
# 1. `u = torch.zeros(n_features, requires_grad=True)`, an Adam optimiser on `[u]` with `lr`;
#    fixed features get no change (multiply `u` by the mask as floats);
# 2. for each round (at most `max_rounds`): `n_steps` Adam steps on
#    `lam * (model(x_cf[None])[0] - target) ** 2 + (mask * u).abs().sum()`, with
#    `x_cf = x + mask * u * mad`; take gradients with respect to `u` only
#    (`u.grad, = torch.autograd.grad(loss, [u])`, then `optimizer.step()`), never the model's;
# 3. after the round, stop if $|\hat f(x') - y'| \le \varepsilon$; otherwise `lam *= lam_factor`
#    and continue from where you are;
# 4. return $x'$ as a NumPy array of floats (in the features' own units).
#
# Do not modify `x`, `mad` or the model.

# %% nbgrader={"grade": false, "grade_id": "wachter", "locked": false, "schema_version": 3, "solution": true, "task": false}
def wachter_counterfactual(model, x, target, mad, *, mutable=None, eps=0.05, lam=0.1, lam_factor=2.0,
                           max_rounds=20, n_steps=100, lr=0.05):
    """Counterfactual of Wachter et al. (2017) by gradient descent with a growing lambda.

    Parameters
    ----------
    model : torch.nn.Module, float32 tensor (n, n_features) -> probabilities (n,)
    x : ndarray of shape (n_features,), the instance to explain
    target : float, the desired probability y'
    mad : ndarray of shape (n_features,), the scale of each feature
    mutable : boolean ndarray of shape (n_features,) or None (every feature may change)
    eps, lam, lam_factor, max_rounds, n_steps, lr : see the recipe

    Returns
    -------
    ndarray of shape (n_features,), the counterfactual x'
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    mad = np.asarray(mad, dtype=float)
    free = np.ones(len(x)) if mutable is None else np.asarray(mutable, dtype=float)
    x0 = torch.tensor(x, dtype=torch.float32)
    mask = torch.tensor(free, dtype=torch.float32)
    step = torch.tensor(free * mad, dtype=torch.float32)  # one unit of u is one MAD
    u = torch.zeros_like(x0, requires_grad=True)  # the change, in MAD units
    optimizer = torch.optim.Adam([u], lr=lr)
    for _ in range(max_rounds):
        for _ in range(n_steps):
            prediction = model((x0 + u * step)[None])[0]
            loss = lam * (prediction - target) ** 2 + (mask * u).abs().sum()
            u.grad, = torch.autograd.grad(loss, [u])
            optimizer.step()
        with torch.no_grad():
            prediction = float(model((x0 + u * step)[None])[0])
        if abs(prediction - target) <= eps:
            break
        lam *= lam_factor
    return x + free * mad * u.detach().double().numpy()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "wachter_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check.wachter_counterfactual(wachter_counterfactual)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.wachter_counterfactual(wachter_counterfactual)
### END HIDDEN TESTS

# %% [markdown]
# What would have made our hour a high-demand hour for the neural network (target probability
# 0.6)? Once with everything but the working-day flag free to change, once with the weather
# only (the hour is what it is).

# %%
def describe(x_cf, model_probability):
    """A row of the original and counterfactual values, the prediction and the cost in MADs."""
    row = {name: f"{a:.1f} → {b:.1f}" if abs(b - a) > 0.05 * m else f"{a:.1f}" for name, a, b, m in zip(names, x, x_cf, mad)}
    return {**row, "P(high)": round(float(model_probability(x_cf)), 3), "cost [MAD]": round(float(np.sum(np.abs(x_cf - x) / mad)), 2)}


weather_only = np.isin(names, ["temp", "humidity", "windspeed"])
mlp_probability = lambda z: predict_positive(mlp, z)[0]  # noqa: E731
cf_free = wachter_counterfactual(mlp, x, 0.6, mad, mutable=weather_and_hour)
cf_weather = wachter_counterfactual(mlp, x, 0.6, mad, mutable=weather_only)
pd.DataFrame([describe(cf_free, mlp_probability), describe(cf_weather, mlp_probability)],
             index=["hour and weather may change", "weather only"])

# %% [markdown]
# ### The exact counterfactual of a logistic model
#
# For a logistic model, "probability $y'$" is the hyperplane $w^\top x' + b = \operatorname{logit}(y')$.
# With the change in MAD units, $x'_j = x_j + \mathrm{MAD}_j\,u_j$, the problem becomes
#
# $$\min_u \sum_j |u_j| \quad\text{subject to}\quad \sum_j (w_j\,\mathrm{MAD}_j)\,u_j = \operatorname{logit}(y') - w^\top x - b,$$
#
# a linear programme with a single constraint. Think about which $u$ spends the least L1 budget
# on reaching the right-hand side: the answer changes one feature, and you can write it down.
#
# Write `minimal_counterfactual(model, x, target, mad, *, mutable=None)` for a fitted binary
# scikit-learn `LogisticRegression` (`model.coef_[0]`, `model.intercept_[0]`): it returns the
# exact cheapest counterfactual $x'$ with probability exactly `target`, changing only mutable
# features. No optimiser: a closed form.

# %% nbgrader={"grade": false, "grade_id": "minimal_cf", "locked": false, "schema_version": 3, "solution": true, "task": false}
def minimal_counterfactual(model, x, target, mad, *, mutable=None):
    """Cheapest counterfactual (MAD-weighted L1) of a binary logistic regression, in closed form.

    Returns
    -------
    ndarray of shape (n_features,): x' with model.predict_proba(x'[None])[0, 1] == target
    """
    ### BEGIN SOLUTION
    w = np.asarray(model.coef_, dtype=float)[0]
    b = float(np.ravel(model.intercept_)[0])
    x = np.asarray(x, dtype=float)
    gap = np.log(target / (1 - target)) - (w @ x + b)
    usefulness = np.abs(w) * np.asarray(mad, dtype=float)  # logit change per MAD of each feature
    if mutable is not None:
        usefulness = np.where(np.asarray(mutable, dtype=bool), usefulness, -1.0)
    j = int(np.argmax(usefulness))
    x_cf = x.copy()
    x_cf[j] += gap / w[j]
    return x_cf
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "minimal_cf_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.minimal_counterfactual(minimal_counterfactual)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.minimal_counterfactual(minimal_counterfactual)
### END HIDDEN TESTS

# %% [markdown]
# The logistic model's exact answer, and your gradient search on the same model (turned into a
# PyTorch module by `LogisticNet.from_sklearn`) with a tight ε = 0.01: the two should agree up to
# that tolerance (the search stops as soon as it is within ε of the target, so it can even be a
# little cheaper than the exact counterfactual at exactly 0.6).

# %%
logistic_probability = lambda z: logreg.predict_proba(np.atleast_2d(z))[0, 1]  # noqa: E731
cf_exact = minimal_counterfactual(logreg, x, 0.6, mad, mutable=weather_and_hour)
cf_search = wachter_counterfactual(LogisticNet.from_sklearn(logreg), x, 0.6, mad, mutable=weather_and_hour, eps=0.01)
pd.DataFrame([describe(cf_exact, logistic_probability), describe(cf_search, logistic_probability)],
             index=["logistic: closed form", "logistic: gradient search"])

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_counterfactuals", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** Compare the counterfactuals of the two models for the same hour.
# Which one would you show a fleet manager, and why? Is the logistic model's counterfactual
# plausible? What does that tell you about what a counterfactual explains: the model or the world?
#
# ### BEGIN SOLUTION
# *Model answer.* For the network a small change suffices: half an hour earlier (18.6 h) and
# 1.8 °C warmer (cost 0.33 MAD), or, with the hour fixed, 3 °C warmer and a point less humid
# (0.49 MAD); both describe ordinary evenings. The logistic model moves the logit most per MAD
# through the temperature, so its exact counterfactual puts the whole change there: 33.6 °C
# instead of 10.8 °C (3 MADs), a 94 %-humid evening at 34 °C that hardly ever occurs, and your
# search finds the same point. Both are correct explanations *of their model* (the least
# costly change that flips it); the logistic one only shows that this model is linear in the
# temperature and needs a huge change because it predicts badly here (77 % accuracy). I would
# show the network's weather-only counterfactual to a fleet manager: sparse, plausible, and
# about what could really have been different. A counterfactual explains the model, not the
# world; it says something about the world only when the model is good.
# ### END SOLUTION

# %% [markdown]
# ## 2. Many counterfactuals: the Rashomon effect
#
# There is rarely one counterfactual. Different feature subsets, starting points or distance
# weights give different, equally valid answers (the *Rashomon effect*), and the cheapest one
# may not be the most useful one. DiCE (Mothilal, Sharma & Tan, 2020) therefore asks for a
# *set* of counterfactuals $c_1, \dots, c_k$ that are valid, close to $x$, sparse **and
# diverse**. It measures diversity as the determinant of a similarity matrix (a determinantal
# point process),
#
# $$\mathrm{dpp}(c_1, \dots, c_k) = \det K, \qquad K_{ij} = \frac{1}{1 + d(c_i, c_j)}, \qquad
#   d(c_i, c_j) = \sum_f \frac{|c_{if} - c_{jf}|}{\mathrm{MAD}_f}.$$
#
# $K$ has ones on its diagonal; the determinant is 1 when all counterfactuals are infinitely far
# apart and 0 when two of them coincide. (DiCE adds $10^{-4}$ to the diagonal for numerical
# safety; we do not.)
#
# Write `dpp_diversity(C, mad)` for an array `C` of shape `(k, n_features)`, one counterfactual
# per row.

# %% nbgrader={"grade": false, "grade_id": "dpp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dpp_diversity(C, mad):
    """DiCE's diversity of a set of counterfactuals: det of 1 / (1 + MAD-weighted L1 distance).

    Returns
    -------
    float
    """
    ### BEGIN SOLUTION
    C = np.asarray(C, dtype=float)
    distances = (np.abs(C[:, None, :] - C[None, :, :]) / np.asarray(mad, dtype=float)).sum(axis=2)
    return float(np.linalg.det(1.0 / (1.0 + distances)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "dpp_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.dpp_diversity(dpp_diversity)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.dpp_diversity(dpp_diversity)
### END HIDDEN TESTS

# %% [markdown]
# Now a set of candidates from your `wachter_counterfactual`: one search per subset of features
# allowed to change (target 0.6, the working day fixed, at most 12 rounds so that a subset that
# cannot reach the target gives up early). Only the valid ones (probability at least 0.55) are
# kept. For each we also measure how far it is from the data: the distance (in MADs) to the
# nearest *training* hour that the network predicts as high demand. A counterfactual that no real
# hour resembles is hard to believe or to act on.

# %%
subsets = {
    "hour": ["hour"],
    "temperature": ["temp"],
    "humidity": ["humidity"],
    "temperature + humidity": ["temp", "humidity"],
    "hour + weather": ["hour", "temp", "humidity", "windspeed"],
}
high = X_train[predict_positive(mlp, X_train) >= 0.55]


def distance_to_data(z):
    """MAD-weighted L1 distance to the nearest high-demand training hour (other than z itself)."""
    d = np.sum(np.abs(high - z) / mad, axis=1)
    return float(np.min(d[d > 0]))


rows, candidates = [], []
for label, features in subsets.items():
    cf = wachter_counterfactual(mlp, x, 0.6, mad, mutable=np.isin(names, features), max_rounds=12)
    probability = float(predict_positive(mlp, cf)[0])
    if probability < 0.55:
        print(f"no valid counterfactual changing {label} only: the search ends at P(high) = {probability:.3f}")
        continue
    change = np.abs(cf - x) / mad
    rows.append([label, *np.round(cf, 1), round(probability, 3), round(float(change.sum()), 2),
                 int(np.sum(change > 0.05)), round(distance_to_data(cf), 2)])
    candidates.append(cf)
diverse = pd.DataFrame(rows, columns=["subset", *names, "P(high)", "cost [MAD]", "changed", "to data [MAD]"])
typical = np.median([distance_to_data(z) for z in high[:300]])
print(f"typical distance of a high-demand hour to its nearest high-demand neighbour: {typical:.2f} MAD")
diverse

# %% [markdown]
# Which three of them form the most diverse set, by DiCE's measure? And how diverse are the three
# cheapest?

# %%
triples = list(itertools.combinations(range(len(candidates)), 3))
scores = [dpp_diversity(np.array([candidates[i] for i in t]), mad) for t in triples]
cheapest = tuple(np.argsort(diverse["cost [MAD]"].to_numpy())[:3].tolist())
print(f"the three cheapest: {[diverse['subset'][i] for i in sorted(cheapest)]}, "
      f"dpp = {scores[triples.index(tuple(sorted(cheapest)))]:.3f}")
best = triples[int(np.argmax(scores))]
print(f"the most diverse three: {[diverse['subset'][i] for i in best]}, dpp = {max(scores):.3f}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_diverse", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** Which subsets gave valid counterfactuals, and which did not? What
# does the failure of the hour alone say about the model? Compare the three cheapest
# counterfactuals with the most diverse three: which set would you report, and why (cost,
# sparsity, distance to the data)?
#
# ### BEGIN SOLUTION
# *Model answer.* Valid: temperature alone (15.1 °C; 0.57 MAD; 0.36 MAD from the nearest busy
# hour), humidity alone (79 %; 0.94 MAD; 0.68), temperature + humidity (13.7 °C and 93 %; 0.46;
# 0.25) and hour + weather (18.6 h and 12.6 °C; 0.33; 0.24). The hour alone fails: the search
# ends at P = 0.38 near 18 h, so on a cold, saturated evening even the commuter peak is not busy
# for the network: it has learned an interaction of hour and weather. The three cheapest
# (temperature, temperature + humidity, hour + weather; dpp 0.14) tell one story three times,
# "a little warmer". The most diverse three (dpp 0.39) swap the pair for humidity alone and offer
# three levers: warmer, drier, earlier. I would report the diverse set but flag the humidity
# answer as the least plausible: it is the most expensive and 0.68 MAD from any busy hour,
# farther than the typical 0.44 between busy hours. Cost alone hides alternatives, diversity
# alone can favour far-fetched ones: DiCE balances proximity and diversity, and a check
# against real data guards plausibility.
# ### END SOLUTION

# %% [markdown]
# ## 3. Prototypes and criticisms (MMD-critic)
#
# Kim, Khanna & Koyejo (2016) summarise a data set by **prototypes**, a few real instances whose
# distribution is as close as possible to the data's, and **criticisms**, instances that the
# prototypes represent badly. "Close" is measured by the squared maximum mean discrepancy with
# a kernel $k$ (here the RBF kernel $k(a, b) = \exp(-\gamma\,\lVert a - b\rVert^2)$):
#
# $$\mathrm{MMD}^2(X, Z) = \frac{1}{n^2}\sum_{i,j} k(x_i, x_j) - \frac{2}{nm}\sum_{i,j} k(x_i, z_j)
#   + \frac{1}{m^2}\sum_{i,j} k(z_i, z_j),$$
#
# for the data $x_1..x_n$ and the prototypes $z_1..z_m$. It is 0 when the two samples are the same.
#
# Write `mmd2(X, Z, *, gamma)`: the number above for two arrays of shape `(n, d)` and `(m, d)`.

# %% nbgrader={"grade": false, "grade_id": "mmd2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mmd2(X, Z, *, gamma):
    """Squared maximum mean discrepancy (biased estimate) of X and Z with an RBF kernel.

    Returns
    -------
    float
    """
    ### BEGIN SOLUTION
    def kernel(A, B):
        squared = (A**2).sum(axis=1)[:, None] + (B**2).sum(axis=1)[None, :] - 2 * A @ B.T
        return np.exp(-gamma * np.maximum(squared, 0.0))

    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    return float(kernel(X, X).mean() - 2 * kernel(X, Z).mean() + kernel(Z, Z).mean())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mmd2_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.mmd2(mmd2)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.mmd2(mmd2)
### END HIDDEN TESTS

# %% [markdown]
# **Greedy prototypes.** MMD-critic chooses the prototypes one at a time: at each step, add the
# data point that makes $\mathrm{MMD}^2$(data, prototypes chosen so far + that point) smallest.
# Work with the kernel matrix of the data, $K_{ij} = k(x_i, x_j)$ (`sklearn.metrics.pairwise.rbf_kernel`
# computes it), so that every term of MMD² is a mean over a block of $K$. Candidates are the
# points not chosen yet; on a tie, take the lowest index.
#
# Write `greedy_prototypes(K, n_prototypes)` returning the chosen row indices in the order they
# were chosen. *Hint:* the first term of MMD² does not depend on the prototypes; for speed, compute
# the objective of all candidates at once with NumPy rather than looping over them.

# %% nbgrader={"grade": false, "grade_id": "greedy", "locked": false, "schema_version": 3, "solution": true, "task": false}
def greedy_prototypes(K, n_prototypes):
    """Greedy MMD-critic prototypes from the kernel matrix K of the data.

    Parameters
    ----------
    K : ndarray of shape (n, n), symmetric
    n_prototypes : int

    Returns
    -------
    ndarray of int, shape (n_prototypes,), in the order of selection
    """
    ### BEGIN SOLUTION
    K = np.asarray(K, dtype=float)
    data_term = K.mean(axis=0)  # (1/n) sum_i k(x_i, c) for every candidate c
    chosen = []
    for _ in range(n_prototypes):
        m = len(chosen) + 1
        cross = 2 * (data_term[chosen].sum() + data_term) / m
        within = (K[np.ix_(chosen, chosen)].sum() + 2 * K[chosen].sum(axis=0) + np.diag(K)) / m**2
        objective = within - cross  # MMD² of chosen + [c], minus the constant data term
        objective[chosen] = np.inf
        chosen.append(int(np.argmin(objective)))
    return np.array(chosen)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "greedy_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.greedy_prototypes(greedy_prototypes)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.greedy_prototypes(greedy_prototypes)
### END HIDDEN TESTS

# %% [markdown]
# **Criticisms** are where the prototypes fail. The *witness function*
#
# $$\mathrm{witness}(x) = \frac1n\sum_i k(x, x_i) - \frac1m \sum_j k(x, z_j)$$
#
# is positive where the data are denser than the prototypes and negative where the prototypes
# over-represent the data. Criticisms are the non-prototype points with the **largest absolute
# witness value**.
#
# Write `criticisms(K, prototypes, n_criticisms)` returning the indices of those points, largest
# $|\mathrm{witness}|$ first (ties: lowest index first).

# %% nbgrader={"grade": false, "grade_id": "criticisms", "locked": false, "schema_version": 3, "solution": true, "task": false}
def criticisms(K, prototypes, n_criticisms):
    """Indices of the non-prototypes with the largest absolute witness value.

    Returns
    -------
    ndarray of int, shape (n_criticisms,)
    """
    ### BEGIN SOLUTION
    K = np.asarray(K, dtype=float)
    prototypes = np.asarray(prototypes, dtype=int)
    witness = K.mean(axis=0) - K[prototypes].mean(axis=0)
    score = np.abs(witness)
    score[prototypes] = -np.inf
    return np.argsort(-score, kind="stable")[:n_criticisms]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "criticisms_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.criticisms(criticisms)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.criticisms(criticisms)
### END HIDDEN TESTS

# %% [markdown]
# Now on 1,797 handwritten digits (8 × 8 pixels, scikit-learn's `load_digits`), with the
# kernel width set by the median heuristic ($\gamma$ = 1 / median squared distance).

# %%
digits = load_digits()
images = digits.data / 16.0
sample = np.random.default_rng(0).choice(len(images), 300, replace=False)
gamma = 1.0 / np.median(np.sum((images[sample, None] - images[None, sample]) ** 2, axis=2))
K_digits = rbf_kernel(images, gamma=gamma)
prototypes = greedy_prototypes(K_digits, 20)
critics = criticisms(K_digits, prototypes, 10)
print(f"gamma = {gamma:.4f}; classes among the prototypes: {sorted(digits.target[prototypes].tolist())}")


def show_digits(indices, title):
    fig, axes = plt.subplots(1, len(indices), figsize=(1.1 * len(indices), 1.6))
    for ax, i in zip(axes, indices):
        ax.imshow(digits.images[i], cmap="gray_r")
        ax.set_title(str(digits.target[i]), fontsize=10)
        ax.axis("off")
    fig.suptitle(title)


show_digits(prototypes, "20 MMD-critic prototypes (label above each)")
show_digits(critics, "10 criticisms: the digits the prototypes represent worst")

# %% [markdown]
# Does the greedy choice beat chance? MMD² of the first $m$ greedy prototypes against $m$ digits
# picked at random (mean of 3 draws).

# %%
sizes = [2, 5, 10, 20]
rng = np.random.default_rng(1)
greedy_curve = [mmd2(images, images[prototypes[:m]], gamma=gamma) for m in sizes]
random_curve = [np.mean([mmd2(images, images[rng.choice(len(images), m, replace=False)], gamma=gamma) for _ in range(3)])
                for m in sizes]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(sizes, greedy_curve, "o-", label="greedy MMD-critic prototypes")
ax.plot(sizes, random_curve, "s--", label="random digits (mean of 3 draws)")
ax.set(xlabel="number of prototypes m", ylabel="MMD²(all digits, prototypes)", yscale="log", xticks=sizes,
       title="How well do m digits represent all 1,797?")
ax.legend();

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_prototypes", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (2 points).** Which classes are over- or under-represented among the 20
# prototypes, and why can that happen although MMD-critic never looks at the labels? What do the
# ten criticisms have in common, and what is unsatisfying about them? How would you use
# prototypes and criticisms to check a digit classifier?
#
# ### BEGIN SOLUTION
# *Model answer.* 4 and 5 get three prototypes each, 3 and 6 only one, the other classes two.
# MMD-critic matches the *distribution of images*, not the labels: a class written in several
# styles (open and closed 4s, 5s with a straight or a curved top) needs several prototypes,
# while a compact class is covered by one, and a class whose images resemble another's can
# borrow that one's prototypes. All ten criticisms are the same kind of 7, written in one
# particular style (a crossbar, almost identical images): a dense little group that no
# prototype resembles, so the witness is large for all its members at once. That is
# unsatisfying: ten criticisms show one problem ten times. Kim et al. therefore add a
# diversity regulariser (a log-determinant) when choosing criticisms, or one can take the
# criticisms one at a time and skip points close to those already chosen. To check a
# classifier: look at its predictions on the criticisms (does it fail on that style of 7?),
# inspect prototypes per class to see what it should find easy, and collect more data where
# criticisms cluster.
# ### END SOLUTION

# %% [markdown]
# ## 4. Influential instances
#
# ### Deletion diagnostics for linear regression: DFBETA
#
# How much does the fitted coefficient vector $\hat\beta$ of a least-squares regression change
# when observation $i$ is deleted? $\mathrm{DFBETA}_i = \hat\beta - \hat\beta_{(-i)}$. Refitting
# $n$ times is not necessary: with the residual $e_i = y_i - x_i^\top\hat\beta$ and the leverage
# $h_{ii} = x_i^\top (X^\top X)^{-1} x_i$ (the diagonal of the hat matrix),
#
# $$\hat\beta - \hat\beta_{(-i)} = \frac{(X^\top X)^{-1} x_i\, e_i}{1 - h_{ii}}.$$
#
# Write `dfbeta(X, y)` for a design matrix `X` of shape `(n, p)` (the intercept, if any, is a
# column of ones in `X`): return the `(n, p)` array whose row $i$ is $\hat\beta - \hat\beta_{(-i)}$,
# **without refitting**.

# %% nbgrader={"grade": false, "grade_id": "dfbeta", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dfbeta(X, y):
    """Change of the least-squares coefficients when each observation is deleted.

    Returns
    -------
    ndarray of shape (n, p): row i is beta(all rows) - beta(without row i)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    XtX_inv = np.linalg.inv(X.T @ X)
    beta = XtX_inv @ X.T @ y
    residuals = y - X @ beta
    leverage = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
    return (X @ XtX_inv) * (residuals / (1 - leverage))[:, None]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "dfbeta_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.dfbeta(dfbeta)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.dfbeta(dfbeta)
### END HIDDEN TESTS

# %% [markdown]
# Which days of 2011 pull the daily regression "rentals ~ temperature + humidity + wind +
# working day" the most? The effect of one degree on the daily rentals, and the five days whose
# deletion would change it most.

# %%
daily = load_bike_daily()
columns = ["temp", "humidity", "windspeed", "workingday"]
X_daily = np.column_stack([np.ones(len(daily.data))] + [daily.frame[c].to_numpy(dtype=float) for c in columns])
y_daily = daily.target
influence_daily = dfbeta(X_daily, y_daily)
beta_daily = np.linalg.lstsq(X_daily, y_daily, rcond=None)[0]
j_temp = 1 + columns.index("temp")
print(f"slope of the temperature: {beta_daily[j_temp]:.1f} rentals per day and °C")
top = np.argsort(-np.abs(influence_daily[:, j_temp]))[:5]
table = daily.frame.iloc[top][["date", "weather", "temp", "humidity", "windspeed", "count"]].copy()
table["DFBETA of temp"] = influence_daily[top, j_temp].round(2)
fig, ax = plt.subplots(figsize=(9, 3))
ax.vlines(daily.frame["date"], 0, influence_daily[:, j_temp], linewidth=1)
ax.set(xlabel="day of 2011", ylabel="DFBETA of temp [rentals/°C]",
       title="Change of the temperature slope when each day is deleted")
table

# %% [markdown]
# ### Influence functions
#
# Refitting is cheap for linear regression; for other models Koh & Liang (2017) approximate it.
# Take an L2-regularised logistic regression with parameters $\theta$ (the intercept is a
# column of ones and is penalised like the rest):
#
# $$\hat\theta = \arg\min_\theta \sum_{i=1}^n \ell(z_i, \theta) + \frac{\lambda}{2}\lVert\theta\rVert^2,
#   \qquad \ell(z, \theta) = \log\big(1 + e^{x^\top\theta}\big) - y\,x^\top\theta .$$
#
# Deleting $z_i$ moves the optimum by about $\hat\theta_{(-i)} - \hat\theta \approx H^{-1}\nabla_\theta \ell(z_i, \hat\theta)$,
# where $H = \sum_j \nabla^2_\theta \ell(z_j, \hat\theta) + \lambda I$ is the Hessian of the whole
# objective. So the loss on a test point $z_{\text{test}}$ changes by about
#
# $$\ell(z_{\text{test}}, \hat\theta_{(-i)}) - \ell(z_{\text{test}}, \hat\theta) \approx
#   \nabla_\theta \ell(z_{\text{test}}, \hat\theta)^\top H^{-1} \nabla_\theta \ell(z_i, \hat\theta).$$
#
# Positive: removing $z_i$ would *raise* the test loss, so $z_i$ helps this prediction (a
# proponent). The pieces: $\nabla_\theta \ell(z, \theta) = (\sigma(x^\top\theta) - y)\,x$ and
# $\nabla^2_\theta \ell(z, \theta) = \sigma(x^\top\theta)(1 - \sigma(x^\top\theta))\,x x^\top$.
#
# Write `influence_on_test_loss(X, y, theta, lam, x_test, y_test)` returning this estimate for
# every training point, an array of shape `(n,)`.

# %% nbgrader={"grade": false, "grade_id": "influence", "locked": false, "schema_version": 3, "solution": true, "task": false}
def influence_on_test_loss(X, y, theta, lam, x_test, y_test):
    """Influence-function estimate of the change in the test loss when each training point is removed.

    Parameters
    ----------
    X : ndarray (n, p), y : ndarray (n,) of 0/1, theta : ndarray (p,), the fitted parameters
    lam : float, the L2 strength; x_test : ndarray (p,); y_test : 0 or 1

    Returns
    -------
    ndarray of shape (n,)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    p = 1 / (1 + np.exp(-X @ theta))
    gradients = X * (p - y)[:, None]
    hessian = (X * (p * (1 - p))[:, None]).T @ X + lam * np.eye(X.shape[1])
    gradient_test = x_test * (1 / (1 + np.exp(-x_test @ theta)) - y_test)
    return gradients @ np.linalg.solve(hessian, gradient_test)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "influence_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.influence_on_test_loss(influence_on_test_loss)
### BEGIN HIDDEN TESTS
from xaigrader import week04
week04.influence_on_test_loss(influence_on_test_loss)
### END HIDDEN TESTS

# %% [markdown]
# On the bike hours: a logistic regression on 300 training hours (standardized features and an
# intercept column, λ = 1; scikit-learn's `C` is $1/\lambda$), explaining the prediction for our
# evening hour. We compare your estimates with the exact answer: 300 refits, each without one hour.

# %%
scaler = StandardScaler().fit(X_train)
design = lambda A: np.column_stack([scaler.transform(np.atleast_2d(A)), np.ones(len(np.atleast_2d(A)))])  # noqa: E731
small = np.random.default_rng(2).choice(len(X_train), 300, replace=False)
X_small, y_small, lam = design(X_train[small]), y_train[small].astype(float), 1.0


def fit_l2(Xs, ys):
    return LogisticRegression(C=1 / lam, fit_intercept=False, tol=1e-10, max_iter=10_000).fit(Xs, ys).coef_[0]


def log_loss(theta, z, label):
    s = float(z @ theta)
    return np.logaddexp(0.0, s) - label * s


theta = fit_l2(X_small, y_small)
z_test, label_test = design(x)[0], float(y_test[797])
estimate = influence_on_test_loss(X_small, y_small, theta, lam, z_test, label_test)
keep = np.ones(len(X_small), bool)
exact = np.empty(len(X_small))
for i in range(len(X_small)):
    keep[i] = False
    exact[i] = log_loss(fit_l2(X_small[keep], y_small[keep]), z_test, label_test) - log_loss(theta, z_test, label_test)
    keep[i] = True
fig, ax = plt.subplots(figsize=(5.5, 4.5))
ax.scatter(exact, estimate, s=8)
ax.locator_params(nbins=5)
lims = [min(exact.min(), estimate.min()), max(exact.max(), estimate.max())]
ax.plot(lims, lims, color="grey", linewidth=1)
ax.set(xlabel="exact change of the test loss (refit without the hour)", ylabel="influence-function estimate",
       title=f"Influence function vs. leave-one-out (Spearman {spearmanr(exact, estimate)[0]:.3f})");

# %%
order = np.argsort(estimate)
hours = pd.DataFrame(X_train[small], columns=names).assign(label=y_small.astype(int), influence=estimate.round(4))
print("Most helpful training hours (removing them raises the test loss most):")
display(hours.iloc[order[::-1][:4]])
print("Most harmful training hours (removing them lowers the test loss most):")
display(hours.iloc[order[:4]])

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_influence", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 4 (2 points).** How well does the influence function approximate the refits, and
# why is it so good here? Describe the most helpful and the most harmful hours for our evening
# hour. Name one situation in which you would not trust influence functions, and what the
# DFBETA table of the daily data tells you about the hurricane weekend of late August 2011.
#
# ### BEGIN SOLUTION
# *Model answer.* The estimates lie on the diagonal (Spearman 1.000): the objective is strictly
# convex (λ > 0) and removing one of 300 hours moves θ̂ very little, so the quadratic
# approximation around θ̂ is excellent. The most helpful hours are quiet, humid late evenings
# (22–23 h, 84–94 % humidity, low demand): they teach the model that humid evenings are quiet,
# which is right for ours. The most harmful are busy 8 am working-day hours that were just as
# cool and humid (93–100 %): a logistic model cannot represent the two commuting peaks of the
# hour, so these hours pull the humidity and temperature coefficients towards "humid, cool hours
# can be busy" and raise the loss on our quiet evening. (Two training hours are exact duplicates
# and get the same influence.) I would not trust influence functions for a deep network
# (non-convex loss, a Hessian that is not positive definite, training stopped far from an
# optimum) or for deleting a whole group of points at once. In the daily regression the largest
# DFBETAs of the temperature slope belong to the heat wave of 22–29 July (32 °C, fewer rentals
# than the straight line predicts) and to 27 August, the day hurricane Irene arrived (1,115
# rentals on a 24 °C day): each pulls the slope down. They are real but exceptional days, to
# be reported or modelled (a non-linear temperature effect, a storm indicator) rather than
# silently deleted.
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - A **counterfactual** is the smallest change that flips a prediction: Wachter's loss with a
#   MAD-weighted L1 distance gives sparse answers; for a logistic model the optimum changes one
#   feature and has a closed form. Many counterfactuals exist (Rashomon): report a small, diverse
#   and plausible set, and remember that it explains the model, not the world.
# - **MMD-critic** picks prototypes that match the data distribution (MMD²) and criticisms where
#   the witness function is large; both are real instances a person can look at.
# - **Influential instances**: DFBETA is exact leave-one-out for least squares without refitting;
#   influence functions approximate it for smooth, convex models through the Hessian.
#
# Next week: pixel attribution for neural networks.
