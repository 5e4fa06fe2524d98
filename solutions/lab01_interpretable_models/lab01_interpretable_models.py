# %% [markdown]
# # Lab 1 — Intrinsically interpretable models on the bike-rental data
#
# Some models need no explanation method: their parameters *are* the explanation. In this lab
# you read four of them on the daily bike rentals of 2011, and you write the code that turns
# each one into an explanation:
#
# | part | you write | points |
# |---|---|---|
# | 1 | `linear_effects` — the effect of each feature on each prediction of a linear model | 3 |
# | 2 | `odds_ratios` — a logistic regression read as odds ratios | 2 |
# | 3 | `decision_path_rules` — the path of one instance through a decision tree | 3 |
# | 4 | `discretize` — equal-width bins for a continuous feature | 2 |
# | 5 | `one_r` — the OneR rule learner, from scratch | 4 |
# | | four written answers, graded by hand | 8 |
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each function: a green ✓ means
# the visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden
# tests compare each function with scikit-learn, mlxtend or an exact mathematical property on
# data and models you have not seen, so make your function general, not tuned to the bike data.
# Use NumPy and pandas; do not call `tree.decision_path`, `KBinsDiscretizer` or mlxtend in your
# answers (they are the references).
#
# **Stuck?** Each check has a one-line hint: `check.linear_effects.hint()` names the lecture section
# to reread and the usual trap. The last cell of the lab, `check.summary(globals())`, lists
# every autograded part as ✓ (visible checks pass), ✗ (one sentence on what is wrong) or …
# (not written yet), with its points.
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier, plot_tree
from tqdm.auto import tqdm

from xaikit import load_bike_daily
from xaikit.checks import week01 as check
from xaikit.display import format_one_r, format_rule, interval_labels, plot_effects, plot_weights
from xaikit.tables import bike_design_matrix, design_labels, load_apartments, load_bike_high_demand

plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 0. The data
#
# One row per day of 2011 in Washington D.C.: the calendar, the day's weather (means over its
# hours) and the number of bikes rented. For the linear models the helper
# `bike_design_matrix` turns the table into numbers: the weather measurements stay in their
# units (°C, %, km/h), `workingday` and `holiday` become 0/1, and the categories of `weather`
# and `season` become 0/1 indicator columns, each compared with a *reference category* (clear
# weather, winter), which gets no column of its own.

# %%
bike = load_bike_daily()
design = bike_design_matrix(bike.frame)
names = list(design.columns)
labels = design_labels(names)  # names with units, for the plots
X, y = design.to_numpy(), bike.target
print(bike.DESCR)
design.head()

# %% [markdown]
# ## 1. Linear regression: weights and effects
#
# A linear model predicts $\hat y = w_0 + \sum_j w_j x_j$. The weight $w_j$ says how much the
# prediction changes when feature $j$ grows by one unit, all other features unchanged. We fit it
# on all 365 days (we want to describe the data, not forecast).

# %%
linear = LinearRegression().fit(X, y)
print(f"R² on the 365 days: {linear.score(X, y):.2f}, intercept w0 = {linear.intercept_:.0f} rentals")
plot_weights(linear.coef_, labels, xlabel="weight [rentals per day per unit of the feature]",
             title="Weights of the linear model of daily rentals");

# %% [markdown]
# A weight alone does not say how much a feature matters: it depends on the feature's unit
# and on how much the feature varies. Rain or snow has the largest weight, but few days are
# rainy; the temperature's weight looks small, but the temperature ranges over more than 30 °C.
#
# The **effect** of feature $j$ on the prediction for instance $i$ is weight times value,
#
# $$e_j^{(i)} = w_j\, x_j^{(i)}, \qquad \hat y^{(i)} = w_0 + \sum_j e_j^{(i)},$$
#
# so the effects of one instance add up, with the intercept, to its prediction. Write
# `linear_effects(model, X)` returning the matrix of effects, one row per instance and one
# column per feature. The model is any fitted scikit-learn linear regressor (it has `coef_`
# and `intercept_`). Do not modify `X`.

# %% nbgrader={"grade": false, "grade_id": "effects", "locked": false, "schema_version": 3, "solution": true, "task": false}
def linear_effects(model, X):
    """Effect of each feature on each prediction of a fitted linear model.

    Parameters
    ----------
    model : fitted linear regressor with `coef_` of shape (n_features,) and `intercept_`
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        Entry [i, j] is the weight of feature j times the value of feature j in row i.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    return X * np.asarray(model.coef_, dtype=float)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "effects_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.linear_effects(linear_effects)
### BEGIN HIDDEN TESTS
from xaigrader import week01
week01.linear_effects(linear_effects)
### END HIDDEN TESTS

# %% [markdown]
# The **effect plot** summarises the effects over all days: one box per feature, showing how
# far that feature moves the predictions. The red crosses mark the effects of one day,
# 27 August 2011.

# %%
effects = linear_effects(linear, X)
day = bike.frame.index[bike.frame["date"] == "2011-08-27"][0]
plot_effects(effects, labels, instance=effects[day], xlabel="effect on predicted rentals per day",
             title="Effect plot of the linear model (red: 27 August 2011)")
print(bike.frame.loc[day, ["date", "season", "weather", "temp", "humidity", "windspeed", "workingday", "count"]].to_string())
print(f"\nprediction = intercept {linear.intercept_:.0f} + sum of effects {effects[day].sum():.0f} "
      f"= {linear.predict(X[day:day + 1])[0]:.0f} rentals")

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_effects", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** Which feature moves the predictions the most from day to day, and
# why does the weight plot not show it? Then explain the prediction for 27 August 2011 with
# its effects, and compare it with what really happened that day.
#
# ### BEGIN SOLUTION
# *Model answer.* The temperature: its effects spread from about −480 to almost 3,000 rentals
# per day, far more than any other feature, although its weight (about 93 rentals per °C) is
# small next to rain/snow (about −1,260) or fall (about +1,480). The weight is per unit; the
# effect is weight × value, so a feature that varies over a wide range (−5 to 32 °C) moves
# the prediction a lot, and a big weight on an indicator matters only on the few days where it
# is 1. On 27 August 2011 the warm temperature (24 °C, about +2,220) and summer (about +890)
# push the prediction up, humidity (85 %, about −970) and strong wind (25 km/h, about −910)
# push it down; with the intercept (about 2,505) the model predicts about 3,570 rentals. Only
# 1,115 bikes were rented: that day Hurricane Irene reached Washington. The model only sees
# daily means of humidity and wind, so it cannot know that a storm kept people at home; a
# linear model explains its prediction exactly, but the prediction can still be wrong.
# ### END SOLUTION

# %% [markdown]
# ## 2. Logistic regression: odds ratios
#
# Now a classification task: was a day a **high-demand day**, with more rentals than the
# median day of 2011? A logistic regression models the log odds of the positive class as a
# linear function,
#
# $$\log \frac{P(y=1 \mid x)}{1 - P(y=1 \mid x)} = w_0 + \sum_j w_j x_j .$$
#
# Increasing $x_j$ by $\delta$ adds $w_j \delta$ to the log odds, so it **multiplies the odds** by
# the odds ratio
#
# $$\text{OR}_j(\delta) = \frac{\text{odds}(x_j + \delta)}{\text{odds}(x_j)} = e^{w_j \delta},$$
#
# whatever the values of the other features. We leave the season out (no winter day of 2011
# was a high-demand day, so its weight cannot be estimated) and fit the model without a
# penalty (`C=np.inf`), so that the weights are the plain maximum-likelihood estimates.

# %%
days = load_bike_high_demand()
design_c = bike_design_matrix(days.frame, season=False)
names_c = list(design_c.columns)
X_c, y_c = design_c.to_numpy(), days.target
logistic = LogisticRegression(C=np.inf, max_iter=5000).fit(X_c, y_c)
print(f"high-demand day: more than {days.threshold:.0f} rentals; {y_c.mean():.0%} of the days")
print(f"accuracy on the 365 days: {logistic.score(X_c, y_c):.2f}")

# %% [markdown]
# Write `odds_ratios(model, *, step=1.0)` for a fitted binary scikit-learn
# `LogisticRegression`. `step` is the increase $\delta$ of each feature: one number for all
# features, or an array with one entry per feature. Return one odds ratio per feature (a 1-D
# array; note that `model.coef_` has shape `(1, n_features)` for a binary classifier).

# %% nbgrader={"grade": false, "grade_id": "odds", "locked": false, "schema_version": 3, "solution": true, "task": false}
def odds_ratios(model, *, step=1.0):
    """Odds ratios of a fitted binary logistic regression.

    Parameters
    ----------
    model : fitted binary LogisticRegression
    step : float or ndarray of shape (n_features,)
        Increase of each feature.

    Returns
    -------
    ndarray of shape (n_features,)
        The factor by which the odds of the positive class are multiplied when feature j
        increases by step (or step[j]) and the other features stay the same.
    """
    ### BEGIN SOLUTION
    weights = np.ravel(model.coef_)
    return np.exp(weights * np.asarray(step, dtype=float))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "odds_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.odds_ratios(odds_ratios)
### BEGIN HIDDEN TESTS
from xaigrader import week01
week01.odds_ratios(odds_ratios)
### END HIDDEN TESTS

# %% [markdown]
# A step of 1 is not always a meaningful change (1 % of humidity is nothing, one more
# holiday is everything), so we also look at steps of a typical size: 5 °C, 10 % of humidity,
# 5 km/h of wind, and a switch from 0 to 1 for the indicators. The odds ratios are drawn on a
# logarithmic axis, where halving and doubling the odds are equally far from 1.

# %%
steps = np.array([5.0, 10.0, 5.0, 1.0, 1.0, 1.0, 1.0])
table = pd.DataFrame({"step": steps, "odds ratio per unit": odds_ratios(logistic),
                      "odds ratio per step": odds_ratios(logistic, step=steps)}, index=names_c)
print(table.round(3).to_string())
labels_c = [f"{label}, step {s:g}" for label, s in zip(design_labels(names_c), steps)]
plot_weights(odds_ratios(logistic, step=steps), labels_c, reference=1.0, log=True,
             xlabel="odds ratio of a high-demand day per step (log scale)",
             title="Logistic regression: odds ratios per typical step");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_odds", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** Interpret the odds ratios of the temperature (per 1 °C and per
# 5 °C), of humidity and of rain/snow in one sentence each. Why can you not say "5 °C more
# raises the *probability* of a high-demand day by a fixed amount"?
#
# ### BEGIN SOLUTION
# *Model answer.* Each extra degree multiplies the odds of a high-demand day by about 1.34,
# so 5 °C more multiplies them by about 1.34⁵ ≈ 4.3, whatever the other features. Humidity's
# odds ratio is about 1.00 per % (0.95 per 10 %): given the temperature, wind and weather
# situation, humidity barely changes the odds. Rain or snow multiplies the odds by about 0.02
# compared with a clear day, i.e. makes a high-demand day about fifty times less likely in
# odds. The odds ratio is constant, but the probability is a sigmoid of the log odds: the
# same factor on the odds changes the probability a lot near 50 % and hardly at all near 0 %
# or 100 %, so the change in probability depends on where the other features put the day.
# ### END SOLUTION

# %% [markdown]
# ## 3. A decision tree and the path of one instance
#
# A shallow tree splits the days by thresholds on the features. Here a tree of depth 3 learns
# the high-demand days from the design matrix of part 1, on 70 % of the days; the other 30 %
# measure how well it generalises.

# %%
train, test = train_test_split(np.arange(len(days.target)), test_size=0.3, random_state=0, stratify=days.target)
X_train, X_test, y_train, y_test = X[train], X[test], days.target[train], days.target[test]
tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X_train, y_train)
print(f"accuracy: training {tree.score(X_train, y_train):.2f}, test {tree.score(X_test, y_test):.2f}")
fig, ax = plt.subplots(figsize=(15, 6))
plot_tree(tree, feature_names=names, class_names=days.target_names, filled=True, impurity=False,
          proportion=True, fontsize=8, ax=ax)
ax.set_title("Decision tree of depth 3 for high-demand days (temp in °C, humidity in %, windspeed in km/h)");

# %% [markdown]
# To predict, an instance starts at the root and at each node goes **left if its value is
# less than or equal to the threshold** and right otherwise, until it reaches a leaf.
# scikit-learn stores the data of a tree as 32-bit floats: it casts the instance to `float32`
# before comparing (`np.float32(x[j]) <= threshold`), so a value that lies just above a
# threshold in 64-bit precision but rounds onto it goes left. Compare the same way. The
# fitted tree stores its nodes in arrays of `tree.tree_` (node 0 is the root):
#
# | array | entry for node `k` |
# |---|---|
# | `children_left[k]`, `children_right[k]` | the two children of node `k` (both `-1` for a leaf) |
# | `feature[k]` | the column index of the feature tested at node `k` |
# | `threshold[k]` | the threshold of the test |
#
# Write `decision_path_rules(tree, x, *, feature_names)` that follows one instance `x` (a
# 1-D array) from the root to its leaf and returns the tests it passed, root first, as a list
# of tuples `(feature name, operator, threshold)` with operator `"<="` (went left) or `">"`
# (went right). Walk the arrays yourself: do not call `tree.decision_path` or `tree.apply`.
#
# One detail decides the path of an instance that lies exactly on a threshold: scikit-learn
# stores the features as 32-bit floats, so it rounds the values of `x` to `np.float32` before
# comparing them with the (64-bit) thresholds. Round `x` the same way,
# `x = np.asarray(x, dtype=np.float32).astype(np.float64)`, and your path is the one
# `tree.predict` takes. (Keep the comparison in 64 bits: comparing an `np.float32` with a
# Python `float` rounds the threshold too.)

# %% [markdown]
# The float32 comparison in one line: a stump with the threshold 0.5 sends 0.5000000000000001
# (the next 64-bit number above 0.5) to the **left** leaf, because as a 32-bit float it is 0.5.

# %%
stump = DecisionTreeClassifier(max_depth=1).fit([[0.0], [1.0]], [0, 1])
just_above = np.nextafter(0.5, 1.0)
print(f"threshold {stump.tree_.threshold[0]}, x = {just_above:.17g} > 0.5: {just_above > 0.5}; "
      f"as float32: {float(np.float32(just_above))}; predicted class: {stump.predict([[just_above]])[0]} (the left leaf)")

# %% nbgrader={"grade": false, "grade_id": "path", "locked": false, "schema_version": 3, "solution": true, "task": false}
def decision_path_rules(tree, x, *, feature_names):
    """The tests one instance passes on its way from the root of a fitted tree to its leaf.

    Parameters
    ----------
    tree : fitted DecisionTreeClassifier or DecisionTreeRegressor
    x : ndarray of shape (n_features,), one instance
    feature_names : list of str, the names of the columns

    Returns
    -------
    list of tuples (str, str, float)
        (feature name, "<=" or ">", threshold) for each node on the path, root first.
    """
    ### BEGIN SOLUTION
    nodes = tree.tree_
    x = np.asarray(x, dtype=np.float32).astype(np.float64)  # the values the tree compares
    conditions = []
    node = 0
    while nodes.children_left[node] != -1:
        j, threshold = nodes.feature[node], float(nodes.threshold[node])
        if x[j] <= threshold:
            conditions.append((feature_names[j], "<=", threshold))
            node = nodes.children_left[node]
        else:
            conditions.append((feature_names[j], ">", threshold))
            node = nodes.children_right[node]
    return conditions
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "path_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.decision_path_rules(decision_path_rules)
### BEGIN HIDDEN TESTS
from xaigrader import week01
week01.decision_path_rules(decision_path_rules)
### END HIDDEN TESTS

# %% [markdown]
# The path of a day is a rule that explains its prediction. Three days of the test set:

# %%
for i in test[:3]:
    x = X[i]
    prediction = days.target_names[tree.predict(x[None, :])[0]]
    date = days.frame["date"][i].strftime("%d %b %Y")
    print(f"{date}: {format_rule(decision_path_rules(tree, x, feature_names=names), prediction)}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_tree", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (2 points).** What has the tree learned about high-demand days? Is its
# prediction monotone in the temperature, and does it use interactions? Compare with what the
# logistic regression could express.
#
# ### BEGIN SOLUTION
# *Model answer.* The first split is the temperature at about 13.9 °C. Colder days are
# normal days in every leaf but one tiny one (13.3–13.9 °C outside fall, 0.4 % of the days);
# in fall the tree splits again at 9.7 °C, but both leaves still say normal. Warmer days are
# high-demand days (their main leaf holds half of the training days, 91 % of them high-demand
# days) unless the humidity exceeds about 87.6 % (muggy or rainy days) or the temperature
# exceeds about 31.6 °C (the hottest days). So the
# prediction is not monotone in the temperature: normal below 14 °C, high demand above, normal
# again above 31.6 °C. And it uses interactions: humidity is tested only on warm days, the
# season only on cold ones. The logistic regression adds the same amount to the log odds per
# degree on every day: monotone, without interactions (unless we add such terms by hand).
# ### END SOLUTION

# %% [markdown]
# ## 4. OneR: one rule from one feature
#
# OneR ("one rule", Holte 1993) is the simplest rule learner. For **categorical** features:
#
# 1. for each feature, build the cross table of its values against the classes;
# 2. for each value, the rule predicts the most frequent class among the instances with that
#    value;
# 3. the feature's total error is the number of instances whose class differs from the rule's
#    prediction;
# 4. OneR keeps the feature with the smallest total error and its rules.
#
# Continuous features are first cut into intervals. You write both parts.
#
# ### 4a. Discretize
#
# Write `discretize(x, *, n_bins=4)` for equal-width bins: the edges are
# `np.linspace(x.min(), x.max(), n_bins + 1)`, bin $k$ holds the values with
# $\text{edges}[k] \le x < \text{edges}[k+1]$, and the maximum belongs to the last bin. Return
# the bin of each value (integers `0 ... n_bins - 1`) and the edges. *Hint:*
# `np.searchsorted` or `np.digitize` on the inner edges.

# %% nbgrader={"grade": false, "grade_id": "discretize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def discretize(x, *, n_bins=4):
    """Cut a continuous feature into equal-width bins.

    Parameters
    ----------
    x : ndarray of shape (n_samples,)
    n_bins : int

    Returns
    -------
    codes : ndarray of int, shape (n_samples,), the bin of each value (0 ... n_bins - 1)
    edges : ndarray of shape (n_bins + 1,), the bin edges from min(x) to max(x)
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=float)
    edges = np.linspace(x.min(), x.max(), n_bins + 1)
    codes = np.searchsorted(edges[1:-1], x, side="right")
    return codes, edges
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "discretize_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.discretize(discretize)
### BEGIN HIDDEN TESTS
from xaigrader import week01
week01.discretize(discretize)
### END HIDDEN TESTS

# %% [markdown]
# ### 4b. OneR
#
# Write `one_r(X, y)` for a table `X` of categorical values (numbers or strings, one column
# per feature) and class labels `y`. Return three things:
#
# - `feature`: the column index of the chosen feature;
# - `rules`: a dict mapping each value of that feature to the class it predicts;
# - `errors`: an integer array with the total error of every feature.
#
# Ties are broken by a fixed rule, so the result is unique: if two classes are equally
# frequent for a value, predict the **smallest label** (in sorted order); if two features have
# the same smallest error, choose the **lowest column index**. *Hint:* `pd.crosstab(x, y)`
# builds the cross table with sorted rows and columns.

# %% nbgrader={"grade": false, "grade_id": "one_r", "locked": false, "schema_version": 3, "solution": true, "task": false}
def one_r(X, y):
    """The OneR rule learner for categorical features.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), categorical values
    y : ndarray of shape (n_samples,), class labels

    Returns
    -------
    feature : int, the chosen column
    rules : dict, value of the chosen feature -> predicted class
    errors : ndarray of int, shape (n_features,), total error of each feature's rules
    """
    ### BEGIN SOLUTION
    X = np.asarray(X)
    y = np.asarray(y)
    errors = np.zeros(X.shape[1], dtype=int)
    all_rules = []
    for j in range(X.shape[1]):
        table = pd.crosstab(X[:, j], y).sort_index(axis=0).sort_index(axis=1)
        majority = table.idxmax(axis=1)  # first maximum = smallest label
        errors[j] = int((table.sum(axis=1) - table.max(axis=1)).sum())
        all_rules.append(majority.to_dict())
    feature = int(np.argmin(errors))  # first minimum = lowest column
    return feature, all_rules[feature], errors
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "one_r_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check.one_r(one_r)
### BEGIN HIDDEN TESTS
from xaigrader import week01
week01.one_r(one_r)
### END HIDDEN TESTS

# %% [markdown]
# ### 4c. The ten apartments of the lecture
#
# Your OneR should reproduce the example of the lecture exactly: 4, 3 and 4 errors out of 10
# for Location, Size and Pets, and the rule list on Size.

# %%
apartments = load_apartments()
features = ["Location", "Size", "Pets"]
feature, rules, errors = one_r(apartments[features].to_numpy(), apartments["Price"].to_numpy())
for name, error in zip(features, errors):
    print(f"{name:>8}: {error}/{len(apartments)} errors")
print()
print(format_one_r(features[feature], rules, target="Price", order=["small", "medium", "big"]))

# %% [markdown]
# ### 4d. OneR on the bike data
#
# Which single feature best separates high-demand days from normal days? The continuous weather
# features are cut into 5 equal-width bins (with your `discretize`); the categorical ones keep
# their categories. We learn on the training days and measure the accuracy on the test days.

# %%
continuous = ["temp", "feels_like", "humidity", "windspeed"]
columns, value_labels = [], {}
for name in days.feature_names:
    values = days.frame[name].to_numpy()
    if name in continuous:
        codes, edges = discretize(values.astype(float), n_bins=5)
        columns.append(codes)
        value_labels[name] = interval_labels(edges)
    else:
        columns.append(days.data[:, days.feature_names.index(name)].astype(int))
        value_labels[name] = days.categories.get(name, ["no", "yes"])
X_rules = np.column_stack(columns)
R_train, R_test, r_train, r_test = X_rules[train], X_rules[test], days.target[train], days.target[test]
feature, rules, errors = one_r(R_train, r_train)
chosen = days.feature_names[feature]
print(pd.Series(errors, index=days.feature_names, name=f"training errors (of {len(r_train)} days)").to_string())
print(f"\nOneR chooses {chosen}:")
demand = {value: ["normal", "high"][c] for value, c in rules.items()}
print(format_one_r(chosen, demand, target="demand", value_labels=value_labels[chosen]))
majority_class = int(np.bincount(r_train).argmax())
predicted = np.array([rules.get(value, majority_class) for value in R_test[:, feature]])
print(f"\naccuracy: training {1 - errors[feature] / len(r_train):.2f}, test {np.mean(predicted == r_test):.2f}")

# %% [markdown]
# ### 4e. OneR on pure noise
#
# A warning from the lecture: OneR prefers features with many values. To see it, we draw
# tables of **pure noise**, 100 instances with a random class (0 or 1) and five features with
# 2, 5, 10, 20 and 50 random values, none related to the class, and run OneR on each.

# %%
rng = np.random.default_rng(2024)
levels = [2, 5, 10, 20, 50]
n_tables, n_rows = 50, 100
chosen_counts = np.zeros(len(levels), dtype=int)
train_accuracy = np.zeros((n_tables, len(levels)))
new_accuracy = np.zeros(n_tables)
for t in tqdm(range(n_tables), desc="OneR on noise tables"):
    noise_y = rng.integers(0, 2, size=n_rows)
    noise_X = np.column_stack([rng.integers(0, k, size=n_rows) for k in levels])
    feature, rules, errors = one_r(noise_X, noise_y)
    chosen_counts[feature] += 1
    train_accuracy[t] = 1 - errors / n_rows
    # the chosen rules on 100 new instances of the same noise (an unseen value predicts class 0)
    new_x, new_y = rng.integers(0, levels[feature], size=n_rows), rng.integers(0, 2, size=n_rows)
    new_accuracy[t] = np.mean(np.array([rules.get(v, 0) for v in new_x]) == new_y)
print(f"accuracy of the chosen rules: {train_accuracy.max(axis=1).mean():.0%} on their own table, "
      f"{new_accuracy.mean():.0%} on new noise")

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].bar([str(k) for k in levels], chosen_counts, color="tab:blue")
axes[0].set(xlabel="number of values of the feature", ylabel=f"times chosen (of {n_tables} tables)",
            title="Which noise feature does OneR choose?")
axes[1].bar([str(k) for k in levels], 100 * train_accuracy.mean(axis=0), color="tab:orange")
axes[1].axhline(50, color="grey", linestyle="--", label="chance (50 %)")
axes[1].set(xlabel="number of values of the feature", ylabel="training accuracy of its rules [%]",
            title="Training accuracy of each feature's rules on noise")
axes[1].legend()
fig.tight_layout()

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_one_r", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 4 (2 points).** Which feature does OneR choose on the bike data, and how well does
# its rule generalise? Relate this to the noise experiment: why does OneR prefer features with
# many values, and what would you do about it?
#
# ### BEGIN SOLUTION
# *Model answer.* On the bike data OneR picks the month (12 values, 36 training errors of
# 255 days) over the feels-like temperature and the temperature in 5 bins (43 and 46 errors):
# May to October are high-demand months, the others normal. Here the rule generalises well
# (86 % accuracy on the training days, 84 % on the test days), because demand really follows
# the season and the system grew during 2011; but the month is also favoured for having more
# values than the 5-bin features. On pure noise that bias is all there is: the feature with
# 50 values is chosen in all 50 tables, its rules are right 76 % of the time on their own
# table and 50 % (chance) on new data. With many values, each value covers few instances and
# its majority class fits their noise, so the training error shrinks as the number of values
# grows (one value per instance would give zero error). Remedies: choose the feature by its
# error on held-out data (or cross-validation), use fewer bins or merge rare values, or demand
# a minimum number of instances per value or interval (Holte's original 1R does so when it
# cuts continuous features).
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - A **linear model** is explained by its weights (change per unit) and its **effects**
#   (weight × value), which add up to each prediction; the effect plot shows which features
#   move the predictions most.
# - A **logistic regression** multiplies the odds by $e^{w_j \delta}$ for a step $\delta$ in
#   feature $j$: a constant factor on the odds, not on the probability.
# - A **decision tree** explains each prediction with the rule of its path; it captures
#   thresholds and interactions but is neither linear nor monotone.
# - **OneR** picks the single feature whose majority-class rules make the fewest errors; it is
#   biased toward features with many values, so judge it on held-out data.

# %% [markdown]
# ## Your progress
#
# The visible checks of every autograded part, rerun on your current functions. They are not
# the grade: hidden tests on other data decide it.

# %%
check.summary(globals())
