# %% [markdown]
# # Week 1 — Why interpretability, and models that explain themselves
#
# A model that predicts well is not yet a model we understand. This first week asks why
# understanding matters, what a good explanation looks like to a person, and then meets the
# models whose parameters already *are* an explanation: linear and logistic regression,
# decision trees and decision rules.
#
# After this lecture you can
#
# - say why interpretability matters (reliability, fairness, causality, trust, debugging and
#   auditing) and which questions an explanation can answer;
# - name what makes an explanation good for people: contrastive, selected, abnormal,
#   consistent with prior beliefs, general;
# - place interpretation methods in the pipeline from data to people, and tell intrinsic from
#   post-hoc interpretability;
# - read a linear regression (weights, confidence intervals, effects), a logistic regression
#   (odds ratios), a decision tree (paths, importances) and a rule learner (OneR), and say
#   which of them are linear, monotone, or capture interactions.
#
# In the lab you write the effects, the odds ratios, the decision path and OneR yourself.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap
import statsmodels.api as sm
from mlxtend.classifier import OneRClassifier
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import KBinsDiscretizer, LabelEncoder
from sklearn.tree import DecisionTreeRegressor, export_text, plot_tree

from xaikit import load_bike_daily
from xaikit.display import format_one_r, plot_effects, plot_weights
from xaikit.tables import bike_design_matrix, design_labels, load_apartments, load_bike_high_demand

plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## 1. Why interpretability?
#
# Many machine-learning models predict well and still cannot tell us *why*. When the
# prediction is all we need (which film to suggest next), that may be fine. Often it is not:
#
# - **Reliability.** A pedestrian detector in a car must have learned "person", not "upright
#   shape next to a zebra crossing". We only trust it in new situations if we can check what
#   it has learned.
# - **Fairness.** A bank that refuses a loan may be legally required to give the reasons, and
#   must be able to show that they do not include, directly or through a proxy, a protected
#   attribute.
# - **Causality.** A doctor wants to know which factors drive a patient's risk so that they can
#   act on them; a prediction alone suggests no action. (A model shows associations; turning
#   them into causes needs more than the model.)
# - **Trust and acceptance.** People accept decisions of machines more readily when they can
#   follow them, and rightly distrust them when they cannot.
# - **Debugging and auditing.** A model can only be debugged, and audited by someone else,
#   when its reasoning can be inspected. Explanations also feed back into the work: better
#   features, other data to collect, better decisions by the people who use the model.
#
# Four kinds of insight are possible, from the most global to the most local: how the
# *learning algorithm* builds a model; how the *trained model* makes its predictions; which
# *features* matter most and how each one moves the predictions on the whole; and how each
# feature contributed to *one single prediction*. This course covers all four.

# %% [markdown]
# ## 2. What makes a good explanation for people?
#
# Research in the social sciences (Miller, 2019) shows that people do not want a complete
# causal account. Good explanations are
#
# 1. **contrastive** — people ask "why this *rather than* that?". Why were only 627 bikes
#    rented on Saturday 29 October 2011, when the Saturday a week before had 4,308? A good
#    answer names the differences between the two days, not every cause of the 627;
# 2. **selected** — one to three reasons, even when the world is more complicated;
# 3. **about the abnormal** — a rare cause that mattered belongs in the explanation: on
#    29 October 2011 an early snowstorm hit Washington, something that almost never happens
#    in October;
# 4. **consistent with prior beliefs** — people discount explanations that contradict what
#    they believe (we will meet an example below: whether the day is a working day hardly
#    changes the daily total of rentals);
# 5. **general and probable** — a cause that explains many events ("warm days bring riders")
#    is a good explanation.
#
# Let us look at the data of those two Saturdays.

# %%
bike = load_bike_daily()
frame = bike.frame
two_saturdays = frame[frame["date"].isin(pd.to_datetime(["2011-10-22", "2011-10-29"]))]
two_saturdays[["date", "weekday", "weather", "temp", "humidity", "windspeed", "count"]]

# %% [markdown]
# ## 3. The interpretability pipeline
#
# A statistician usually goes straight from the data to an interpretable model and reads it;
# a machine-learning engineer often goes from the data to a black box and uses only its
# predictions. Interpretable machine learning joins both views:
#
# ```text
#   world ──► data ──► black-box model ──► interpretation method ──► people
#                 └──► interpretable model ─────────────────────────┘
# ```
#
# Two routes lead to an explanation. **Intrinsically interpretable** models (this week) are
# simple enough to be read directly. **Post-hoc** methods (from next week on) explain a
# trained black box from the outside, either for any model (**model-agnostic**: PDP, LIME,
# SHAP, ...) or using its inner workings (**model-specific**: gradients of a neural network,
# ...); either **globally** (the model as a whole) or **locally** (one prediction).

# %% [markdown]
# ## 4. Intrinsically interpretable models
#
# When an interpretable model predicts well enough, use it. The models differ in three
# properties that decide how they can be read:
#
# - **linear**: the prediction is a weighted sum of the features;
# - **monotone**: increasing a feature always moves the prediction in the same direction
#   (a *monotonicity constraint* makes this hold by construction, which makes the model much
#   easier to explain);
# - **interactions**: the effect of one feature can depend on the value of another.
#
# | model | linear | monotone | interactions | task |
# |---|---|---|---|---|
# | linear regression | yes | yes | no | regression |
# | logistic regression | no (linear in the log odds) | yes | no | classification |
# | decision tree | no | some | yes | classification, regression |
# | decision rules (OneR, RuleFit, ...) | some (RuleFit: linear in the rules) | some | yes | classification (RuleFit also regression) |
# | naive Bayes | no | yes | no | classification |
# | k-nearest neighbours | no | no | no | classification, regression |
#
# The rest of the lecture reads the first four on the bike data.

# %% [markdown]
# ## 5. Linear regression
#
# The model predicts the daily rentals as a weighted sum of the features,
#
# $$\hat y = w_0 + w_1 x_1 + \dots + w_p x_p .$$
#
# Everything it knows is in the weights. We describe the 365 days of 2011 with the weather,
# the type of day and the season. A categorical feature becomes one 0/1 column per category
# except a **reference category** (here clear weather and winter), so each of its weights
# compares a category with the reference.

# %%
design = bike_design_matrix(frame)
names = list(design.columns)
labels = design_labels(names)  # with units, for the plots
ols = sm.OLS(bike.target, sm.add_constant(design)).fit()
summary = pd.DataFrame({"weight": ols.params, "std. error": ols.bse, "|t|": ols.tvalues.abs()})
print(f"R² = {ols.rsquared:.2f}")
summary.round(2)

# %% [markdown]
# How to read a weight, all other features held fixed:
#
# - **numerical feature**: one more unit changes the prediction by $w_j$ — each extra °C adds
#   about 93 rentals per day, each extra km/h of wind removes about 36;
# - **binary feature**: switching it on changes the prediction by $w_j$ — a holiday has about
#   380 fewer rentals than a day that is no holiday but otherwise the same;
# - **category**: the difference from the reference category — a rainy or snowy day has about
#   1,260 fewer rentals than a clear one, a fall day about 1,480 more than a winter day;
# - the **intercept** $w_0$ is the prediction when every feature is 0 (0 °C, 0 % humidity, no
#   wind, winter, ...): a point that rarely makes sense by itself.
#
# The **standard error** says how precisely the data determine a weight, and the
# **t-statistic** $|\hat w_j| / \text{SE}(\hat w_j)$ how clearly it differs from zero; it is a
# simple importance measure. The **weight plot** shows the weights with their 95 % confidence
# intervals.

# %%
interval = ols.conf_int(alpha=0.05)
plot_weights(ols.params[names], labels, lower=interval.loc[names, 0], upper=interval.loc[names, 1],
             xlabel="weight [rentals per day per unit of the feature]",
             title="Weight plot of the linear model of daily rentals");

# %% [markdown]
# The weight of `workingday` is about 2 rentals, with an interval from about −140 to +150:
# on the daily total, working days and weekends look the same. That clashes with a prior
# belief (bikes are for commuting), but the data agree: commuters (registered users) ride more
# on working days, casual riders ride more on weekends, and the two almost cancel.

# %%
frame.groupby("workingday")[["casual", "registered", "count"]].mean().round(0).rename(
    index={False: "weekend or holiday", True: "working day"})

# %% [markdown]
# Weights have units, so their sizes cannot be compared across features: 93 per °C and
# −1,260 for rain say nothing about which feature matters more. What matters is weight **times
# value**, the **effect** $e_j^{(i)} = w_j x_j^{(i)}$ of feature $j$ on the prediction for day
# $i$. The effects of a day plus the intercept add up to its prediction. The **effect plot**
# shows, for each feature, the distribution of its effects over all days.
#
# (You compute the effects yourself in the lab. Here we let the `shap` library compute them:
# its `LinearExplainer` with an all-zero reference point returns exactly $w_j x_j$; week 3
# explains what it does in general. It works with scikit-learn models, so we fit the same
# least-squares model with scikit-learn.)

# %%
linear = LinearRegression().fit(design.to_numpy(), bike.target)
explainer = shap.LinearExplainer(linear, shap.maskers.Independent(np.zeros((1, len(names)))))
effects = explainer(design.to_numpy()).values
snow_day = frame.index[frame["date"] == "2011-10-29"][0]
plot_effects(effects, labels, instance=effects[snow_day], xlabel="effect on predicted rentals per day",
             title="Effect plot of the linear model (red: 29 October 2011)");

# %% [markdown]
# The temperature has a modest weight, but its effects spread over about 3,400 rentals,
# because it varies over more than 35 °C. Rain or snow has the largest weight, yet its box is
# a line at zero: on most days the indicator is 0.
#
# Back to the two Saturdays. Subtracting their effects gives a **contrastive** explanation, and
# keeping the largest differences a **selected** one:

# %%
calm_day = frame.index[frame["date"] == "2011-10-22"][0]
predicted = linear.predict(design.to_numpy()[[calm_day, snow_day]])
difference = pd.Series(effects[snow_day] - effects[calm_day], index=names)
print(f"predicted: {predicted[0]:.0f} on 22 Oct, {predicted[1]:.0f} on 29 Oct "
      f"(observed {frame.loc[calm_day, 'count']} and {frame.loc[snow_day, 'count']})")
difference[difference.abs().sort_values(ascending=False).index].round(0).head(4)

# %% [markdown]
# Rain or snow, the cold and the wind explain most of the predicted drop of about 2,900
# rentals; three reasons are enough. The model still predicts about 600 rentals too many
# (1,223 instead of 627): it does not know that this was a snowstorm, the *abnormal* cause a
# person would mention first.
#
# **Properties.** Linear, monotone, no interactions (unless we add product terms by hand).
# The explanation is exact and the weights come with confidence intervals. But a linear model
# can only draw straight lines, so it is often less accurate; correlated features make the
# weights unstable and hard to read (here, the seasons and the temperature share information);
# and every weight is to be read "all other features fixed", which may be an impossible
# situation (a hot day in winter).

# %% [markdown]
# ## 6. Logistic regression
#
# For a classification, take the **high-demand days**: the days with more rentals than the
# median day of 2011. A logistic regression makes the log **odds** of the positive class a
# linear function of the features:
#
# $$\log \frac{P(y = 1 \mid x)}{1 - P(y = 1 \mid x)} = w_0 + \sum_j w_j x_j .$$
#
# So the model is linear in the log odds, but not in the probability. We leave out the season:
# no winter day of 2011 was a high-demand day, so the winter-versus-other weights would grow
# without bound (*separation*).

# %%
days = load_bike_high_demand()
design_c = bike_design_matrix(days.frame, season=False)
names_c = list(design_c.columns)
logit = sm.Logit(days.target, sm.add_constant(design_c)).fit(disp=0)
print(f"high-demand day: more than {days.threshold:.0f} rentals ({days.target.mean():.0%} of the days)")
interval_c = logit.conf_int(alpha=0.05)
plot_weights(logit.params[names_c], design_labels(names_c), lower=interval_c.loc[names_c, 0],
             upper=interval_c.loc[names_c, 1], xlabel="weight [change in log odds per unit of the feature]",
             title="Weight plot of the logistic regression for high-demand days");

# %% [markdown]
# A weight is a change in log odds per unit, a scale nobody thinks in. Exponentiate it: when
# $x_j$ increases by one unit, the odds are **multiplied** by $e^{w_j}$, the **odds ratio**,
# whatever the other features are. The temperature's weight is about 0.29, so each extra degree
# multiplies the odds of a high-demand day by $e^{0.29} \approx 1.34$. On a logarithmic axis
# the predicted odds are therefore a straight line in the temperature, while the probability
# follows an S-shaped curve. Below: a clear, calm working day with typical humidity, at
# different temperatures (humidity and wind at their medians).

# %%
temperatures = np.linspace(-5, 32, 75)
typical = pd.DataFrame({"const": 1.0, **{name: 0.0 for name in names_c}}, index=range(len(temperatures)))
typical["temp"] = temperatures
typical["humidity"] = design_c["humidity"].median()
typical["windspeed"] = design_c["windspeed"].median()
typical["workingday"] = 1.0
probability = logit.predict(typical)
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
axes[0].semilogy(temperatures, probability / (1 - probability))
axes[0].set(xlabel="temperature [°C]", ylabel="predicted odds of a high-demand day (log scale)",
            title="Odds: a straight line on a log scale")
axes[1].plot(temperatures, probability)
axes[1].set(xlabel="temperature [°C]", ylabel="predicted probability of a high-demand day",
            title="Probability: an S-curve")
fig.suptitle("Logistic regression on a clear working day with median humidity and wind")
fig.tight_layout()

# %% [markdown]
# **Properties.** Monotone and without interactions, like linear regression, but not linear
# in the probability: the same odds ratio moves the probability a lot near 50 % and hardly at
# all near 0 % or 100 %. Odds ratios are easy to misread as ratios of probabilities; they are
# factors on the odds.

# %% [markdown]
# ## 7. Decision trees
#
# A tree splits the data again and again by a threshold on one feature, choosing each split
# so that the groups become as pure as possible (least squared error for regression, Gini
# impurity or entropy for classification; Breiman et al., 1984). A prediction is the mean (or
# the majority class) of the training instances in the leaf an instance falls into. A regression
# tree of depth 3 for the daily rentals:

# %%
tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(design, bike.target)
fig, ax = plt.subplots(figsize=(15, 6))
plot_tree(tree, feature_names=names, filled=True, impurity=False, precision=1, fontsize=8, ax=ax)
ax.set_title("Regression tree of depth 3 for the rentals per day (temp in °C, humidity in %, windspeed in km/h)");

# %% [markdown]
# Every leaf is a rule: follow the path from the root and join its tests with AND. The same
# tree as text (`sklearn.tree.export_text`):

# %%
print(export_text(tree, feature_names=names, decimals=1))

# %% [markdown]
# Read from the top: the temperature decides first, at about 13.6 °C. Below it the tree
# separates fall from the other seasons and then tests the temperature again (or, in fall,
# the humidity); above it, rain or snow and then the wind. The tests under a node depend on
# the branch taken: the tree captures **interactions** by construction.
#
# A tree's **feature importance** is the share of the total reduction of the squared error
# that the splits on each feature achieve:

# %%
order = np.argsort(tree.feature_importances_)
fig, ax = plt.subplots(figsize=(7, 4))
ax.barh(np.array(labels)[order], tree.feature_importances_[order], color="tab:blue")
ax.set(xlabel="share of the total reduction in squared error", ylabel="feature",
       title="Feature importance of the regression tree");

# %% [markdown]
# A tree is a step function. With the temperature alone, a linear model draws a line, a tree
# of depth 3 at most eight steps:

# %%
temp = design[["temp"]]
grid = pd.DataFrame({"temp": np.linspace(temp["temp"].min(), temp["temp"].max(), 300)})
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.scatter(temp["temp"], bike.target, s=8, alpha=0.4, color="grey", label="days of 2011")
ax.plot(grid["temp"], LinearRegression().fit(temp, bike.target).predict(grid), label="linear regression")
ax.plot(grid["temp"], DecisionTreeRegressor(max_depth=3, random_state=0).fit(temp, bike.target).predict(grid),
        label="tree of depth 3")
ax.set(xlabel="temperature [°C]", ylabel="rentals per day", title="One feature: a line or steps")
ax.legend();

# %% [markdown]
# The steps follow the data more closely than the line, including the fewer rentals on the
# hottest days, but they also fit accidents: the narrow dip near 20 °C is a leaf that holds a
# single day.
#
# **Properties.** Not linear; monotone only in parts (the steps can go up and down);
# interactions are built in. Each prediction comes with its rule, and a shallow tree can be read
# as a whole. But a small change in the data can change the first split and with it the whole
# tree; the steps make the prediction jump at the thresholds; and a deep tree (thousands of
# leaves) is no longer interpretable.

# %% [markdown]
# ## 8. Decision rules and OneR
#
# A decision rule is an IF-THEN statement: **IF** the conditions hold **THEN** make this
# prediction. Writing rules by hand is old; learning them from data is what machine learning
# adds. Rules come in several shapes:
#
# - a **rule list** is ordered: the first rule whose conditions hold decides
#   (IF $x_1 < 5$ THEN ... ELSE IF $x_2 < 4$ THEN ... ELSE ...);
# - a **rule set** is unordered: several rules may apply at once and need a way to combine;
# - a **rule tree** nests the conditions, like a decision tree.
#
# The simplest rule learner, **OneR** (Holte, 1993), makes all its rules from a single feature:
#
# 1. discretize the continuous features into intervals;
# 2. for each feature, cross-tabulate its values against the classes; for each value, the rule
#    predicts the most frequent class; the feature's total error is the number of instances
#    its rules misclassify;
# 3. keep the feature with the smallest total error.
#
# Ten apartments, with three categorical features and a price class:

# %%
apartments = load_apartments()
features = ["Location", "Size", "Pets"]
apartments

# %% [markdown]
# The cross table of each feature with the price:

# %%
pd.concat({f: pd.crosstab(apartments[f], apartments["Price"])[["low", "medium", "high"]] for f in features})

# %% [markdown]
# Predicting the most frequent price for each value misclassifies 2 + 2 = 4 apartments with
# Location, 1 + 2 + 0 = 3 with Size and 2 + 0 + 2 = 4 with Pets, so OneR keeps **Size**. The
# implementation of the `mlxtend` library agrees (it wants the classes coded as 0, 1, 2):

# %%
price = LabelEncoder().fit(apartments["Price"])
one_rule = OneRClassifier().fit(apartments[features].to_numpy(), price.transform(apartments["Price"]))
rules = {value: price.classes_[c] for value, c in one_rule.prediction_dict_["rules (value: class)"].items()}
print(f"chosen feature: {features[one_rule.feature_idx_]}, "
      f"total error {one_rule.prediction_dict_['total error']}/{len(apartments)}\n")
print(format_one_r(features[one_rule.feature_idx_], rules, target="Price", order=["small", "medium", "big"]))

# %% [markdown]
# On the high-demand days, with each continuous weather feature cut into 5 intervals of equal
# width:

# %%
continuous = [days.feature_names.index(name) for name in ["temp", "feels_like", "humidity", "windspeed"]]
X_rules = days.data.copy()
X_rules[:, continuous] = KBinsDiscretizer(n_bins=5, encode="ordinal", strategy="uniform").fit_transform(
    days.data[:, continuous])
one_rule_bike = OneRClassifier().fit(X_rules, days.target)
chosen = days.feature_names[one_rule_bike.feature_idx_]
values = days.categories.get(chosen)
demand = {value: ["normal", "high"][c] for value, c in one_rule_bike.prediction_dict_["rules (value: class)"].items()}
print(f"chosen feature: {chosen}, total error {one_rule_bike.prediction_dict_['total error']} of {len(days.target)} days\n")
print(format_one_r(chosen, demand, target="demand",
                   value_labels={k: values[int(k)] for k in demand} if values else None))

# %% [markdown]
# OneR chooses the month: May to October are high-demand months. A rule anyone can check,
# and a warning at once: the month has 12 values, the binned temperature 5. **OneR prefers
# features with many values**, because each value then covers few instances whose majority
# class fits them closely; a feature with a different value for every instance would make no
# error at all on the training data. On data that are pure noise, OneR still picks the feature
# with the most values (you will see it in the lab), so judge its rule on held-out data.
#
# Richer rule learners combine several features: **sequential covering** (learn a rule, remove
# the instances it covers, repeat; e.g. RIPPER), **Bayesian rule lists**, **RuleFit** (rules from
# the paths of a tree ensemble, combined by a sparse linear model) and **FIGS** (sums of small
# trees); the `imodels` package implements several.
#
# **Properties.** Rules are the easiest explanation to read and to check against domain
# knowledge; they are neither linear nor (in general) monotone; a single rule list captures
# interactions through its conditions; OneR itself uses one feature, so none. Rules struggle
# with regression, and continuous features must be cut into intervals first.

# %% [markdown]
# ## Summary
#
# | model | read it from | properties | watch out for |
# |---|---|---|---|
# | linear regression | weights (per unit, with CIs) and effects $w_j x_j$ | linear, monotone, no interactions | units, correlated features, "all else fixed" |
# | logistic regression | odds ratios $e^{w_j}$ | monotone, no interactions, linear in log odds | odds are not probabilities; separation |
# | decision tree | the path of each instance; importances | interactions, steps, not monotone | instability, depth |
# | OneR and other rules | IF-THEN rules | one feature (OneR), easy to check | bias toward many-valued features; discretization |
#
# The trade-offs to keep in mind: accuracy against interpretability (a straight line is easy
# to read and often too simple), parsimony (a model with fewer features is easier to explain
# than a black box that uses them all), and a good fit against over- or under-fitting.
# Next week: when the model is a black box, explanations from the outside.
#
# **References.** Molnar, *Interpretable Machine Learning* (chapters on interpretability,
# human-friendly explanations, linear and logistic regression, decision trees and decision
# rules). Miller (2019), *Explanation in artificial intelligence: insights from the social
# sciences*. Doshi-Velez & Kim (2017), *Towards a rigorous science of interpretable machine
# learning*. Breiman, Friedman, Olshen & Stone (1984), *Classification and Regression Trees*.
# Holte (1993), *Very simple classification rules perform well on most commonly used
# datasets*. Friedman & Popescu (2008), *Predictive learning via rule ensembles* (RuleFit).
# Fanaee-T & Gama (2013), *Event labeling combining ensemble detectors and background
# knowledge* (the bike data).
