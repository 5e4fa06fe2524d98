# %% [markdown]
# # Lab 6 — What the network learned: feature visualization, network dissection, TCAV and neuron groups
#
# Last week's maps answered *where* a network looked in one image. This week asks *what* its
# units respond to, across all images: you make pictures that excite a unit, find the images
# that excite it most, match units with human concepts, test whether a concept matters for a
# class, and group units that fire together. The two shapes networks of week 5 give every
# method a known answer: one of them learned the shapes, the other a coloured patch in the
# corner.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `total_variation` — how much an image changes from pixel to pixel | 1 |
# | 1 | `FourierParameterization` — an image described by its frequencies | 2 |
# | 1 | `maximize_activation` — activation maximization with jitter and a total-variation penalty | 3 |
# | 2 | `top_k_examples` — the images of a data set that excite a channel most | 2 |
# | 3 | `dissection_iou` — network dissection: IoU of every unit with every concept | 3 |
# | 4 | `train_cav` — a concept activation vector | 2 |
# | 4 | `tcav_score` — directional derivatives and the TCAV sign count | 2 |
# | 4 | `tcav_significance` — a t-test of a concept against random concepts | 2 |
# | 5 | `neuron_groups` — groups of channels by non-negative matrix factorization | 2 |
# | | four written answers, graded by hand | 8 |
#
# **Conventions.** Images are float tensors of shape `(N, C, H, W)` with values in $[0, 1]$; the
# models return logits. A *layer* is a submodule of the model (e.g. `model.relu3`), and
# `forward_with_activations(model, layer, x)` (from the course helper) returns the logits and that
# layer's output, still attached to the autograd graph. Functions on activations take NumPy
# arrays; functions that run a model take tensors.
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each answer: a green ✓ means the
# visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden tests
# compare your code with captum, scikit-learn, scikit-image or an exact property on models and
# data you have not seen, so write general code. Do not import captum in your answers. Write each
# answer on its own, without calling another of your answers (copying a line is fine): a slip
# in one would otherwise cost you twice.
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import ttest_ind
from sklearn.decomposition import NMF
from sklearn.linear_model import SGDClassifier
from torch import nn

from xaikit.checks import week06 as check
from xaikit.cnn import accuracy, forward_with_activations, load_model
from xaikit.heatmaps import plot_image_grid, plot_matrix, show_image
from xaikit.images import concept_masks, make_shapes

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # the networks are tiny: one thread is faster than two taking turns
torch.manual_seed(0);

# %% [markdown]
# ## 0. Two networks, one known answer
#
# The synthetic shapes of week 5: a circle, a square or a triangle on a striped background,
# with a 4 × 4 coloured patch, the **cue**, in one corner. Both networks (`ShapesCNN`: four
# 3 × 3 convolutions, global average pooling, one linear layer) are accurate on images like
# their training data, but they learned different things:
#
# - `shapes_clean` was trained with cues of random colour: only the shape tells the class;
# - `shapes_spurious` was trained with a red cue on every circle, green on every square and
#   blue on every triangle, and took the shortcut: with a cue of random colour it is at chance.
#
# Here the cue has a random colour, so shape and cue colour are independent (`pool`); `test` has
# the cue of its class, like the training data.

# %%
pool = make_shapes(600, cue_strength=0.0, random_state=61)
test = make_shapes(300, cue_strength=1.0, random_state=62)
x_pool, x_test = torch.from_numpy(pool.images), torch.from_numpy(test.images)
clean_model, spurious_model = load_model("shapes_clean"), load_model("shapes_spurious")
models = {"clean": clean_model, "spurious": spurious_model}
for name, model in models.items():
    print(f"{name:>8} model: accuracy {accuracy(model, x_test, test.labels):.3f} with the cue of the class, "
          f"{accuracy(model, x_pool, pool.labels):.3f} with a cue of random colour")
fig, axes = plt.subplots(1, 6, figsize=(12, 2.4), layout="constrained")
for i, ax in enumerate(axes):
    show_image(x_pool[i], ax, title=f"{pool.class_names[pool.labels[i]]}, {['red', 'green', 'blue'][pool.cue_labels[i]]} cue")
fig.suptitle("Shapes with a cue of random colour (the pool used for dissection and concepts)");

# %% [markdown]
# ## 1. Feature visualization by activation maximization
#
# Which input excites channel $k$ of a layer most? Start from an image $x_0$ and climb the
# gradient of the channel's mean activation $\bar a_k(x) = \frac{1}{hw}\sum_{i,j} a_{k,i,j}(x)$.
# Left alone, the optimiser finds high-frequency patterns that the network reacts to but that
# mean nothing to us. Three standard remedies (Olah et al., 2017, *Feature Visualization*):
#
# - a **penalty** on images that change a lot from pixel to pixel, the total variation;
# - **jitter**: shift the image by a few random pixels before each step, so that a pattern only
#   pays off if it works wherever it lands;
# - a better **parameterisation**: optimise the image's Fourier coefficients, scaled so that
#   low frequencies move faster than high ones.
#
# ### 1a. Total variation
#
# The (anisotropic) total variation of an image sums the absolute differences of neighbouring
# pixels, down and across, over all channels:
#
# $$\mathrm{TV}(x) = \sum_{c}\sum_{i,j} |x_{c,i+1,j} - x_{c,i,j}| + \sum_{c}\sum_{i,j} |x_{c,i,j+1} - x_{c,i,j}|.$$
#
# Return one value per image, as a tensor that stays differentiable (no `.detach()`, no NumPy):
# the optimiser needs its gradient.

# %% nbgrader={"grade": false, "grade_id": "total_variation", "locked": false, "schema_version": 3, "solution": true, "task": false}
def total_variation(images):
    """Anisotropic total variation of each image.

    Parameters
    ----------
    images : Tensor of shape (N, C, H, W)

    Returns
    -------
    Tensor of shape (N,), differentiable with respect to ``images``
    """
    ### BEGIN SOLUTION
    down = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().sum(dim=(1, 2, 3))
    across = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().sum(dim=(1, 2, 3))
    return down + across
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "total_variation_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check.total_variation(total_variation)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.total_variation(total_variation)
### END HIDDEN TESTS

# %% [markdown]
# ### 1b. A Fourier parameterisation
#
# Instead of the pixels, optimise the image's **spectrum**: `torch.fft.rfft2` turns an image of
# height $H$ and width $W$ into complex coefficients of shape `(H, W // 2 + 1)` (the other half
# of the spectrum of a real image is redundant). Natural images have most of their energy at low
# frequencies, so we scale each coefficient by
#
# $$s(f) = \frac{1}{\max\left(f,\ 1/\max(H, W)\right)^{d}}, \qquad
# f = \sqrt{f_y^2 + f_x^2},$$
#
# where $f_y$ is `torch.fft.fftfreq(H)` (one value per row of the spectrum), $f_x$ is
# `torch.fft.rfftfreq(W)` (one per column) and $d$ = `decay`. A step of the optimiser then
# changes the low frequencies most: the image becomes smooth.
#
# The optimiser needs real numbers, so a spectrum is stored as a real tensor whose last axis
# holds the real and imaginary parts: shape `(..., H, W // 2 + 1, 2)`
# (`torch.view_as_complex` / `torch.view_as_real` convert). Write
#
# - `to_image(spectrum)`: multiply the complex spectrum by $s$ and return
#   `torch.fft.irfft2(..., s=(H, W), norm="ortho")`, shape `(..., H, W)`;
# - `from_image(image)`: the inverse, `torch.fft.rfft2(image, norm="ortho")` divided by $s$, as
#   a real tensor `(..., H, W // 2 + 1, 2)`.
#
# Both work on any leading dimensions (e.g. `(N, C, ...)`) and stay differentiable;
# `to_image(from_image(x))` gives back `x`. Keep $s$ in `__init__` (shape `(H, W // 2 + 1)`).

# %% nbgrader={"grade": false, "grade_id": "fourier", "locked": false, "schema_version": 3, "solution": true, "task": false}
class FourierParameterization:
    """An image of height ``height`` and width ``width`` described by its scaled Fourier coefficients."""

    def __init__(self, height, width, *, decay=1.0):
        ### BEGIN SOLUTION
        self.height, self.width = height, width
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        frequency = torch.sqrt(fy ** 2 + fx ** 2)
        self.scale = 1.0 / torch.clamp(frequency, min=1.0 / max(height, width)) ** decay
        ### END SOLUTION

    def to_image(self, spectrum):
        """Real tensor (..., H, W // 2 + 1, 2) -> image (..., H, W)."""
        ### BEGIN SOLUTION
        return torch.fft.irfft2(torch.view_as_complex(spectrum) * self.scale, s=(self.height, self.width), norm="ortho")
        ### END SOLUTION

    def from_image(self, image):
        """Image (..., H, W) -> real tensor (..., H, W // 2 + 1, 2)."""
        ### BEGIN SOLUTION
        return torch.view_as_real(torch.fft.rfft2(image, norm="ortho") / self.scale)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "fourier_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.FourierParameterization(FourierParameterization)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.FourierParameterization(FourierParameterization)
### END HIDDEN TESTS

# %% [markdown]
# For comparison, the trivial parameterisation: the variables *are* the pixels.

# %%
class PixelParameterization:
    """The identity: optimise the pixels themselves."""

    def to_image(self, pixels):
        return pixels

    def from_image(self, image):
        return image.clone()


# %% [markdown]
# ### 1c. Activation maximization
#
# Write `maximize_activation(model, layer, channel, param, init, *, steps, lr, jitter, tv_weight, seed)`.
# `param` is a parameterisation (an object with `to_image` and `from_image`, such as your
# `FourierParameterization` or `PixelParameterization`); `init` is the start image, shape
# `(1, C, H, W)`, values strictly between 0 and 1. Follow this recipe exactly, so that your result
# can be compared with a reference:
#
# 1. The variables: `z = param.from_image(torch.logit(init)).detach().requires_grad_(True)`; the
#    image is always `x = torch.sigmoid(param.to_image(z))`, so its values stay in $(0, 1)$.
# 2. `optimizer = torch.optim.Adam([z], lr=lr)` and
#    `generator = torch.Generator().manual_seed(seed)`.
# 3. Repeat `steps` times:
#    - `x = torch.sigmoid(param.to_image(z))`;
#    - jitter: `dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()`,
#      then `shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))`;
#    - the objective is the mean of channel `channel` of `layer`'s output for `shifted` (over the
#      positions, or simply over `[:, channel]`: a linear layer's output `(1, classes)` has no
#      positions, and its "channel" is a class logit), minus
#      `tv_weight * TV(x) / x.numel()` (the total variation of the *unshifted* image, per pixel
#      value: copy your line from 1a);
#    - take one Adam step that **increases** the objective: set
#      `z.grad = torch.autograd.grad(-objective, z)[0]` and call `optimizer.step()` (using
#      `autograd.grad` leaves the model's own gradients alone).
# 4. Return the final image `torch.sigmoid(param.to_image(z))`, detached, shape `(1, C, H, W)`.

# %% nbgrader={"grade": false, "grade_id": "maximize", "locked": false, "schema_version": 3, "solution": true, "task": false}
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    """Image that maximizes the mean activation of one channel of a layer.

    Returns
    -------
    Tensor of shape (1, C, H, W), detached, values in (0, 1)
    """
    ### BEGIN SOLUTION
    z = param.from_image(torch.logit(init.detach())).detach().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.sigmoid(param.to_image(z))
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "maximize_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.maximize_activation(maximize_activation)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.maximize_activation(maximize_activation)
### END HIDDEN TESTS

# %% [markdown]
# **What do the class logits want to see?** For each model and class, the image that maximizes
# the class logit (`layer=model.fc`, `channel` = the class), with the Fourier parameterisation,
# jitter and a total-variation penalty, all from the same grey start.

# %%
init = torch.sigmoid(0.1 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(6)))
fourier = FourierParameterization(32, 32)
settings = dict(steps=64, lr=0.08, jitter=2, tv_weight=0.3, seed=0)
class_images = {name: torch.cat([maximize_activation(model, model.fc, k, fourier, init, **settings) for k in range(3)])
                for name, model in models.items()}
plot_image_grid({f"{name} model": images for name, images in class_images.items()},
                titles={name + " model": [f"max. {c} logit" for c in pool.class_names] for name in models},
                title="Images that maximize each class logit (Fourier, jitter 2, TV 0.3, 64 steps)");

# %% [markdown]
# **Which regularizer does what?** The square logit of the clean model under four settings.

# %%
ablation = {
    "pixels": (PixelParameterization(), 0, 0.0),
    "pixels + jitter + TV": (PixelParameterization(), 2, 0.3),
    "Fourier": (fourier, 0, 0.0),
    "Fourier + jitter + TV": (fourier, 2, 0.3),
}
images = [maximize_activation(clean_model, clean_model.fc, 1, param, init, steps=64, lr=0.08, jitter=jitter,
                              tv_weight=tv_weight, seed=0) for param, jitter, tv_weight in ablation.values()]
with torch.no_grad():
    logits = [float(clean_model(image)[0, 1]) for image in images]
plot_image_grid({"clean model": torch.cat(images)},
                titles={"clean model": [f"{label}\nlogit {logit:.1f}" for label, logit in zip(ablation, logits)]},
                title="Maximizing the square logit of the clean model: four settings", panel_size=2.2);

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_visualization", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** What do the class visualizations of the two models show, and which
# one reveals the shortcut? In the four settings of the square logit, what does each remedy
# (jitter with TV, Fourier) change in the picture, and does the highest logit come with the most
# readable image?
#
# ### BEGIN SOLUTION
# *Model answer.* The clean model's images are made of dark wedges and straight or curved edges
# against a light ground, arranged differently per class: it wants object outlines. The spurious
# model's images are fields of flat colour: red (with white) for the circle, green and blue for
# the square, blue with green for the triangle. It wants cue colours, not shapes: the shortcut is
# visible without a single data image. In the four settings of the square logit, pixel
# optimisation alone makes a grey field with a few sharp diagonal edges and speckle (logit about
# 42); adding jitter and TV in pixel space smooths almost everything away (logit about 12: the
# penalty wins); the Fourier parameterisation makes large dark wedges at once (logit about 124)
# and with jitter and TV they become cleaner, with less coloured speckle, at a slightly lower
# logit (about 105). So the highest logit is not the most readable image: the regularizers trade
# activation for structure that holds up under shifts, and the parameterisation decides which
# images are easy to reach.
# ### END SOLUTION

# %% [markdown]
# ## 2. Dataset examples
#
# A synthetic image shows what a unit *can* respond to; the images of a real data set that excite
# it most show what it *does* respond to. Write
# `top_k_examples(model, layer, images, channel, k, *, reduce="max", batch_size=64)`:
#
# - run the model on `images` in batches of `batch_size` (without gradients) and read the
#   activation map of `channel` at `layer` for every image;
# - score each image by the **maximum** (`reduce="max"`) or the **mean** (`reduce="mean"`) of
#   that map over its positions;
# - return `(indices, scores)`: the indices of the `k` highest-scoring images, highest first, and
#   their scores, as NumPy arrays; break ties by the lower index (`np.argsort(-scores, kind="stable")`).

# %% nbgrader={"grade": false, "grade_id": "top_k", "locked": false, "schema_version": 3, "solution": true, "task": false}
def top_k_examples(model, layer, images, channel, k, *, reduce="max", batch_size=64):
    """The k images that activate one channel of a layer most.

    Returns
    -------
    indices : ndarray of shape (k,), int
    scores : ndarray of shape (k,), float
    """
    ### BEGIN SOLUTION
    scores = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            _, activations = forward_with_activations(model, layer, images[start:start + batch_size])
            maps = activations[:, channel].reshape(len(activations), -1)
            scores.append(maps.max(dim=1).values if reduce == "max" else maps.mean(dim=1))
    scores = torch.cat(scores).numpy()
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "top_k_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.top_k_examples(top_k_examples)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.top_k_examples(top_k_examples)
### END HIDDEN TESTS

# %% [markdown]
# The six pool images that excite three units of layer `relu3` most, for each model (the title is
# the unit's maximum activation).

# %%
rows, titles = {}, {}
for name, model in models.items():
    for unit in (0, 2, 12):
        index, score = top_k_examples(model, model.relu3, x_pool, unit, 6)
        rows[f"{name}, relu3 unit {unit}"] = x_pool[index]
        titles[f"{name}, relu3 unit {unit}"] = [f"{s:.2f}" for s in score]
plot_image_grid(rows, titles=titles, title="Dataset examples: the pool images that excite a unit most");

# %% [markdown]
# ## 3. Network dissection
#
# Bau et al. (2017) match units with concepts that people labelled pixel by pixel. The shapes come
# with seven such concepts: the object of each class, the cue patch of each colour, and the
# background (`concept_masks` builds them; every pixel belongs to exactly one).
#
# Write `dissection_iou(activations, masks, *, top=0.005)`, with `activations` of shape
# `(N, U, h, w)` (U units) and boolean `masks` of shape `(N, K, H, W)` (K concepts), as NumPy arrays:
#
# 1. the threshold $T_u$ of unit $u$ is the quantile $1 - $ `top` of **all** its activations (all
#    images and positions): `np.quantile(activations[:, u], 1 - top)`;
# 2. upsample the activation maps to the masks' size with
#    `F.interpolate(torch.from_numpy(activations), size=(H, W), mode="bilinear", align_corners=False)`;
# 3. unit $u$ is "on" where its upsampled activation is **greater** than $T_u$;
# 4. over the whole data set,
#    $\mathrm{IoU}_{u,k} = \dfrac{\sum_n |\text{on}_{n,u} \cap \text{mask}_{n,k}|}{\sum_n |\text{on}_{n,u} \cup \text{mask}_{n,k}|}$,
#    and 0 where the union is empty.
#
# Return the IoU as an array of shape `(U, K)`. (Hint: with boolean arrays, the intersection counts
# of all pairs are one `np.einsum("nuhw,nkhw->uk", on, masks)` of float copies; the union is
# |on| + |mask| − intersection.)

# %% nbgrader={"grade": false, "grade_id": "dissection", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dissection_iou(activations, masks, *, top=0.005):
    """Data-set-wide IoU of every unit's top activations with every concept's mask.

    Returns
    -------
    ndarray of shape (U, K)
    """
    ### BEGIN SOLUTION
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    n, units = activations.shape[:2]
    thresholds = np.quantile(activations.transpose(1, 0, 2, 3).reshape(units, -1), 1 - top, axis=1)
    upsampled = F.interpolate(torch.from_numpy(activations), size=masks.shape[-2:], mode="bilinear",
                              align_corners=False).numpy()
    on = (upsampled > thresholds[None, :, None, None]).astype(float)
    inside = masks.astype(float)
    intersection = np.einsum("nuhw,nkhw->uk", on, inside)
    union = on.sum(axis=(0, 2, 3))[:, None] + inside.sum(axis=(0, 2, 3))[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "dissection_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.dissection_iou(dissection_iou)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.dissection_iou(dissection_iou)
### END HIDDEN TESTS

# %% [markdown]
# Dissect layer `relu3` of both models on the pool (random cue colours, so that shape and cue
# colour are independent), with the default top 0.5 % of each unit's activations.

# %%
concepts = concept_masks(pool)
iou, activations = {}, {}
for name, model in models.items():
    with torch.no_grad():
        activations[name] = forward_with_activations(model, model.relu3, x_pool)[1].numpy()
    iou[name] = dissection_iou(activations[name], concepts.masks)
fig, axes = plt.subplots(1, 2, figsize=(12, 6), layout="constrained")
for ax, name in zip(axes, models):
    dead = activations[name].max(axis=(0, 2, 3)) <= 0
    units = [f"unit {u}" + (" (dead)" if dead[u] else "") for u in range(len(dead))]
    plot_matrix(iou[name], row_labels=units, column_labels=concepts.names, ax=ax, vmin=0, vmax=0.7,
                title=f"{name} model, relu3", xlabel="concept", ylabel="unit", colorbar_label="IoU (top 0.5 %)")
fig.suptitle("Network dissection: IoU of each unit's top activations with each concept");

# %% [markdown]
# **The threshold matters.** A unit that is on for a fraction `top` of all pixels cannot reach an
# IoU above (area it covers) / (area of the concept) when the concept is larger, and vice versa.
# The best IoU for three concepts as the fraction grows (on 200 of the images):

# %%
tops = [0.002, 0.005, 0.02, 0.05, 0.2]
area = concepts.masks[:200].mean(axis=(0, 2, 3))
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained", sharey=True)
for ax, name in zip(axes, models):
    best = np.array([dissection_iou(activations[name][:200], concepts.masks[:200], top=t).max(axis=0) for t in tops])
    for k in (concepts.names.index("circle"), concepts.names.index("blue patch"), concepts.names.index("background")):
        ax.plot(tops, best[:, k], "-o", label=f"{concepts.names[k]} ({100 * area[k]:.1f} % of pixels)")
    ax.set(xscale="log", xlabel="top fraction of activations that counts as 'on'", ylabel="best IoU over the units",
           title=f"{name} model, relu3")
    ax.legend(fontsize="small")
fig.suptitle("The IoU a concept can reach depends on its area and on the threshold");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_dissection", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** Which concepts do the units of each model detect? How does
# dissection expose the shortcut? Name two ways in which the numbers depend on choices rather
# than on the network (look at the second figure and at the dead units).
#
# ### BEGIN SOLUTION
# *Model answer.* In the spurious model eight of the 16 relu3 units (2, 5, 6, 7, 8, 9, 11, 13)
# are blue-patch detectors with an IoU of 0.49 to 0.62: their top activations sit exactly on blue
# cues. No unit of the clean model detects a cue; its best units match shapes (circle, square,
# triangle) with IoUs of at most 0.04 at this threshold, and its dataset examples show objects
# rather than corners. So dissection points at the cue for the spurious model, as the class
# visualizations did. But the numbers depend on choices. The threshold: with the top 0.5 % of
# activations a unit covers far less than an object (3–6 % of the pixels), so a shape's IoU cannot
# exceed about 0.1 even for a perfect detector, while a 0.5 %-concept like a cue colour is matched
# well; at 5–10 % the shape units reach 0.25–0.36 and the cue units drop, and the background only
# gains at large fractions. The concept areas are unbalanced (background over 80 %). Dead units
# (four in the clean model, one in the spurious one) get an IoU of 0 and say nothing; a unit gets
# credit only for its best concept, and only positive activations count.
# ### END SOLUTION

# %% [markdown]
# ## 4. Concepts: TCAV
#
# Kim et al. (2018) ask whether a *concept* matters for a *class*, with examples of the concept
# instead of pixel labels. Three steps.
#
# ### 4a. A concept activation vector (CAV)
#
# Take a layer's activations for images of the concept and for random images, and train a linear
# classifier to tell them apart; the CAV $v_C$ is the normal of its decision boundary, pointing
# towards the concept. Write `train_cav(concept_activations, random_activations, *, random_state=0)`:
#
# - flatten each example's activations to a row (`(n, ...)` → `(n, D)`), stack the **concept rows
#   first**, then the random rows; labels 1 for the concept and 0 for random;
# - fit `SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state)` (captum's
#   default classifier for TCAV);
# - return its `coef_[0]` divided by its Euclidean norm: a unit vector of length D.

# %% nbgrader={"grade": false, "grade_id": "train_cav", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_cav(concept_activations, random_activations, *, random_state=0):
    """Unit-length concept activation vector of shape (D,), pointing towards the concept."""
    ### BEGIN SOLUTION
    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    random = np.asarray(random_activations).reshape(len(random_activations), -1)
    X = np.concatenate([concept, random])
    y = np.concatenate([np.ones(len(concept)), np.zeros(len(random))])
    classifier = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state).fit(X, y)
    return classifier.coef_[0] / np.linalg.norm(classifier.coef_[0])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "train_cav_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.train_cav(train_cav)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.train_cav(train_cav)
### END HIDDEN TESTS

# %% [markdown]
# ### 4b. Directional derivatives and the TCAV score
#
# The **directional derivative** of class $k$'s output $h_k$ along the concept, for an input $x$
# with activations $f_\ell(x)$ at layer $\ell$, is
#
# $$S_{C,k,\ell}(x) = \nabla h_{k}\big(f_\ell(x)\big) \cdot v_C,$$
#
# the gradient of the output with respect to the layer's activations (flattened per input), dotted
# with the CAV. It is positive when moving the activations towards the concept raises the output.
# The **TCAV score** is the share of inputs with a positive directional derivative (the *sign
# count*): $\mathrm{TCAV} = |\{x : S_{C,k,\ell}(x) > 0\}| / N$.
#
# Write `tcav_score(model, layer, inputs, target, cav)` for an `int` class `target`: return the
# score (a float) and the directional derivatives (an array of shape `(N,)`), like captum's `TCAV`
# with its default layer gradients.

# %% nbgrader={"grade": false, "grade_id": "tcav_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def tcav_score(model, layer, inputs, target, cav):
    """TCAV sign count of class ``target`` along ``cav`` at ``layer``.

    Returns
    -------
    score : float, in [0, 1]
    derivatives : ndarray of shape (N,)
    """
    ### BEGIN SOLUTION
    outputs, activations = forward_with_activations(model, layer, inputs.detach().clone())
    gradients = torch.autograd.grad(outputs[:, target].sum(), activations)[0].reshape(len(inputs), -1)
    derivatives = (gradients @ torch.as_tensor(cav, dtype=gradients.dtype)).detach().numpy()
    return float(np.mean(derivatives > 0)), derivatives
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "tcav_score_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.tcav_score(tcav_score)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.tcav_score(tcav_score)
### END HIDDEN TESTS

# %% [markdown]
# ### 4c. Is the concept significant?
#
# A CAV trained against one random set may point anywhere, and even a CAV between two *random*
# sets gives some score. So TCAV repeats the experiment with $R$ random sets and compares the
# concept's scores with the scores of random CAVs in a two-sided t-test. Write
# `tcav_significance(concept_sets, random_sets, gradients, *, train_cav, alpha=0.05)`:
#
# - `concept_sets` and `random_sets`: lists of $R$ arrays of activations (one array of examples
#   each); `gradients`: the layer gradients of the class output for the class's inputs, shape
#   `(N, D)`; `train_cav`: a function like yours (call it as `train_cav(a, b)`);
# - run $i = 0, \dots, R-1$: the concept score is the sign count of `gradients @ train_cav(concept_sets[i], random_sets[i])`;
#   the random score is the sign count of `gradients @ train_cav(random_sets[i], random_sets[(i + 1) % R])`;
# - the p-value is that of `scipy.stats.ttest_ind(concept_scores, random_scores)` (equal
#   variances); a NaN p-value (both lists constant and equal) counts as 1 (when the scores are
#   nearly constant, scipy warns about precision: silence it with `warnings.catch_warnings()`);
# - return a dict with `"concept_scores"` and `"random_scores"` (arrays of length R),
#   `"p_value"` (float) and `"significant"` (`p_value < alpha`).

# %% nbgrader={"grade": false, "grade_id": "significance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def tcav_significance(concept_sets, random_sets, gradients, *, train_cav, alpha=0.05):
    """TCAV scores of a concept against R random sets, compared with random CAVs by a t-test."""
    ### BEGIN SOLUTION
    gradients = np.asarray(gradients)
    n_runs = len(random_sets)
    concept_scores, random_scores = np.empty(n_runs), np.empty(n_runs)
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(concept_sets[i], random_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[(i + 1) % n_runs]) > 0)
    with warnings.catch_warnings():  # identical scores make scipy warn about precision
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_ind(concept_scores, random_scores).pvalue)
    p_value = 1.0 if np.isnan(p_value) else p_value
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": p_value < alpha}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "significance_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.tcav_significance(tcav_significance)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.tcav_significance(tcav_significance)
### END HIDDEN TESTS

# %% [markdown]
# **Which concept does the triangle class use?** Two concepts from the pool, each against random
# pool images: *blue patch* (images whose cue is blue, any shape) and *triangle* (triangles, any
# cue colour). Layer `relu3`, 10 runs, each with 30 fresh concept and random examples. The output
# is the **log-probability** of the class (the logits of these models are shifted together by a
# cue, so what decides the class is a logit relative to the others; see the lecture). The inputs
# are the test triangles, whose cue is blue as in training.

# %%
def layer_gradients(model, layer, inputs, target):
    """Gradients of the log-probability of ``target`` with respect to the layer's activations, flattened."""
    outputs, activations = forward_with_activations(nn.Sequential(model, nn.LogSoftmax(dim=1)), layer, inputs.clone())
    return torch.autograd.grad(outputs[:, target].sum(), activations)[0].reshape(len(inputs), -1).numpy()


triangle = pool.class_names.index("triangle")
x_triangles = x_test[test.labels == triangle][:60]
pools = {"blue patch": np.flatnonzero(pool.cue_labels == 2), "triangle": np.flatnonzero(pool.labels == triangle)}
rng = np.random.default_rng(6)
draws = {concept: [rng.choice(members, 30, replace=False) for _ in range(10)] for concept, members in pools.items()}
random_draws = [rng.choice(len(pool.labels), 30, replace=False) for _ in range(10)]
results = {}
for name, model in models.items():
    acts = activations[name].reshape(len(activations[name]), -1)
    gradients = layer_gradients(model, model.relu3, x_triangles, triangle)
    for concept in pools:
        results[name, concept] = tcav_significance([acts[d] for d in draws[concept]], [acts[d] for d in random_draws],
                                                   gradients, train_cav=train_cav)
        r = results[name, concept]
        print(f"{name:>8} model, {concept:>10}: TCAV {r['concept_scores'].mean():.2f} ± {r['concept_scores'].std():.2f}, "
              f"random {r['random_scores'].mean():.2f} ± {r['random_scores'].std():.2f}, p = {r['p_value']:.4f}"
              f"{'  significant' if r['significant'] else ''}")
fig, ax = plt.subplots(figsize=(8, 4))
keys = list(results)
ax.bar(np.arange(len(keys)) - 0.2, [results[k]["concept_scores"].mean() for k in keys], 0.4,
       yerr=[results[k]["concept_scores"].std() for k in keys], label="concept CAVs")
ax.bar(np.arange(len(keys)) + 0.2, [results[k]["random_scores"].mean() for k in keys], 0.4,
       yerr=[results[k]["random_scores"].std() for k in keys], label="random CAVs", color="grey")
for i, k in enumerate(keys):
    ax.text(i, 1.04, f"p = {results[k]['p_value']:.3f}", ha="center", fontsize="small")
ax.set_xticks(range(len(keys)), [f"{name} model\n'{concept}'" for name, concept in keys])
ax.set(ylim=(0, 1.12), ylabel="TCAV score (share of triangles)", xlabel="model and concept",
       title="TCAV for the class triangle at relu3 (mean ± sd over 10 runs)")
ax.legend(loc="upper left", fontsize="small");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_tcav", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (2 points).** Which concept matters for the triangle class in each model, according
# to TCAV? Does this agree with dissection and with what you know about how the models were
# trained? Why does TCAV need the random CAVs and the t-test, rather than a single score?
#
# ### BEGIN SOLUTION
# *Model answer.* For the spurious model the blue patch is significant with a score of 0.98 (the
# log-probability of "triangle" rises along the blue-patch direction for nearly every triangle,
# p < 0.001), while the triangle shape (0.63, p = 0.25) does not differ significantly from random
# directions. For the clean model it is the other way round: the triangle concept scores 1.00 and
# is significant (p = 0.001), the blue patch is not (0.41, p = 0.96). This is how the models were
# trained (the spurious model saw a blue cue on every triangle) and agrees with dissection
# (blue-patch units only in the spurious model) and the class visualizations. A single score is
# not enough because even a CAV between two random sets gives scores far from 0.5: the random
# bars have a standard deviation of 0.3–0.5, so one high score can be luck of the random set.
# Repeating with many random sets and testing against random CAVs tells a real concept from such
# accidents; the answer also depends on the layer, the concept examples and the output (logit or
# log-probability).
# ### END SOLUTION

# %% [markdown]
# ## 5. Neuron groups
#
# One unit is rarely the right unit of explanation: many units respond together. Olah et al.
# (2018, *The Building Blocks of Interpretability*) factorize a layer's activations with
# non-negative matrix factorization (NMF): every position of every image is a row of $C$
# non-negative channel values, and NMF writes the matrix of all rows as $A \approx W H$ with
# $G$ groups: $H$ (`(G, C)`) says which channels form each group, $W$ how strongly each
# group is present at each position, a spatial map per group.
#
# Write `neuron_groups(activations, n_groups, *, random_state=0)` for non-negative `activations`
# of shape `(N, C, h, w)` (a NumPy array):
#
# - reshape to rows of channels, in the order image, row, column: shape `(N * h * w, C)`
#   (move the channel axis last first);
# - fit `NMF(n_components=n_groups, init="nndsvda", max_iter=500, random_state=random_state)` with
#   `fit_transform` (the rows' weights $W$) and `components_` ($H$);
# - return `(maps, groups)`: `maps` of shape `(N, n_groups, h, w)` (the weights back in image
#   layout) and `groups` = $H$ of shape `(n_groups, C)`.

# %% nbgrader={"grade": false, "grade_id": "nmf", "locked": false, "schema_version": 3, "solution": true, "task": false}
def neuron_groups(activations, n_groups, *, random_state=0):
    """NMF of a layer's activations into groups of channels and their spatial maps.

    Returns
    -------
    maps : ndarray of shape (N, n_groups, h, w)
    groups : ndarray of shape (n_groups, C)
    """
    ### BEGIN SOLUTION
    activations = np.asarray(activations)
    n, channels, height, width = activations.shape
    rows = activations.transpose(0, 2, 3, 1).reshape(-1, channels)
    nmf = NMF(n_components=n_groups, init="nndsvda", max_iter=500, random_state=random_state)
    weights = nmf.fit_transform(rows)
    maps = weights.reshape(n, height, width, n_groups).transpose(0, 3, 1, 2)
    return maps, nmf.components_
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "nmf_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.neuron_groups(neuron_groups)
### BEGIN HIDDEN TESTS
from xaigrader import week06
week06.neuron_groups(neuron_groups)
### END HIDDEN TESTS

# %% [markdown]
# Four groups of the relu3 channels of each model, fitted on 200 pool images; the maps of four
# images, clean model left, spurious model right (each group's maps share one colour scale;
# cyan: the object's outline; the maps are 16 × 16, half the image's resolution).

# %%
show = [0, 1, 2, 3]
fig, axes = plt.subplots(5, 2 * len(show), figsize=(1.7 * 2 * len(show), 1.8 * 5), layout="constrained")
for m, (name, model) in enumerate(models.items()):
    maps, groups = neuron_groups(activations[name][:200], 4)
    reconstruction = np.einsum("ngyx,gc->ncyx", maps, groups)
    error = np.linalg.norm(reconstruction - activations[name][:200]) / np.linalg.norm(activations[name][:200])
    print(f"{name:>8} model: 4 groups reconstruct the relu3 activations with relative error {error:.2f}")
    for i, index in enumerate(show):
        column = axes[:, m * len(show) + i]
        show_image(x_pool[index], column[0], title=f"{name}: {pool.class_names[pool.labels[index]]}")
        for g in range(4):
            column[1 + g].imshow(maps[index, g], cmap="magma", vmin=0, vmax=maps[:, g].max() or 1)
            column[1 + g].contour(pool.masks[index][::2, ::2].astype(float), levels=[0.5], colors="cyan", linewidths=0.6)
            column[1 + g].set(title=f"group {g}", xticks=[], yticks=[])
for ax in axes[0]:
    ax.set(xticks=[], yticks=[], xlabel="", ylabel="")
fig.suptitle("Neuron groups (NMF of relu3, 4 groups): where each group is active");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_groups", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 4 (2 points).** What do the groups of each model respond to (object, edges,
# background, cue)? Which view — single units (dissection) or groups — describes the spurious
# model's shortcut more compactly, and what does NMF leave out that a unit-by-unit view keeps?
#
# ### BEGIN SOLUTION
# *Model answer.* The clean model's four groups are parts of the shape: the object's interior
# (group 0) and its left, bottom and right edges (groups 1–3); none follows the corner cue. In the
# spurious model two groups cover the object (0 and 2) and two light up on the cue patch in the
# corner (1 and 3), whatever the shape. The eight blue-patch units of dissection are copies of the
# same detector, and one or two NMF groups summarise them: the shortcut becomes one "part" of the
# layer, compactly, and the groups reconstruct the activations well (relative error 0.05 for the
# spurious model, 0.15 for the clean one). NMF, however, needs the number of groups to be chosen,
# its groups are not unique and have no names until we look at them (or test them with concept
# masks), it describes co-activation and not what matters for the class, and it blurs units whose
# individual behaviour differs.
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - **Feature visualization** makes an image that excites a unit, a channel or a class; without
#   regularization it finds high-frequency patterns, and jitter, total variation and a Fourier
#   parameterisation make it readable. **Dataset examples** show what excites the unit in real data.
# - **Network dissection** scores units against pixel-labelled concepts by IoU; the threshold,
#   the areas of the concepts and dead units shape the numbers.
# - **TCAV** asks whether a concept, given by examples, pushes a class up: directional
#   derivatives, a sign count, and a t-test against random concepts.
# - **NMF** groups units that fire together and shows where each group is active.
# - On the spurious model, all four views point at the same thing: the coloured cue, which is
#   what it was trained to use.
#
# Next week: explanations for transformers and attention.
