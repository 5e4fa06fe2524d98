# %% [markdown]
# # Lab 5 — Pixel attribution: saliency maps, Grad-CAM and their sanity checks
#
# A convolutional network classifies an image: *which pixels* made it decide? In this lab you
# write the pixel-attribution methods of the week-5 lecture yourself, in PyTorch, and then
# check whether their maps can be trusted, using images whose ground truth we know.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `VanillaGradient` — the gradient of a class score with respect to the pixels | 2 |
# | 1 | `GradientXInput` — gradient × input | 1 |
# | 2 | `SmoothGrad` — gradients averaged over noisy copies | 2 |
# | 3 | `IntegratedGradients` — gradients integrated along a path from a baseline | 3 |
# | 4 | `Occlusion` — the score drop when a window is hidden | 3 |
# | 5 | `GradCAM` and `GradCAMPlusPlus` — class activation maps from the last convolution | 3 + 2 |
# | 6 | `FGSM` — an adversarial example | 2 |
# | 7 | `model_randomization_test` — the sanity check of Adebayo et al. | 3 |
# | 8 | `deletion_curve` — delete the most important pixels first | 3 |
# | 9 | `pointing_game` and `relevance_mass` — score maps against ground-truth masks | 2 + 2 |
# | | five written answers, graded by hand | 10 |
#
# **Conventions (as in captum).** Each method is a class built around the model, whose
# `attribute(inputs, target, ...)` takes a batch of images `inputs` of shape
# `(N, C, H, W)` and `target`, the class to explain: an `int` (the same class for every image)
# or a tensor of `N` class indices. It returns a tensor **detached** from the autograd graph
# (`.detach()`), shaped like `inputs` (the class activation maps: `(N, 1, H, W)`). The models
# return logits, and "the score of class c" is the logit of c. Leave the model as it is given:
# do not switch it to training mode (`model.train()`: batch normalization and dropout layers then
# compute other outputs) and do not change its weights; and leave `inputs` untouched, so that
# calling a method twice gives the same result. Images need not be square: height `H` and width
# `W` may differ. The evaluation functions of parts 7–9 are plain functions on NumPy arrays.
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each answer: a green ✓ means the
# visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden
# tests compare your classes with captum (and the other reference libraries) on models and
# images you have not seen, so write general code, not code tuned to these images. Use
# PyTorch's autograd (`torch.autograd.grad`); do not import captum in your answers. Write each
# answer on its own, without calling another of your classes: a slip in one would otherwise
# cost you twice (copying a few lines is fine).
#
# **Stuck?** Each check has a one-line hint: `check.VanillaGradient.hint()` names the lecture section
# to reread and the usual trap. The last cell of the lab, `check.summary(globals())`, lists
# every autograded part as ✓ (visible checks pass), ✗ (one sentence on what is wrong) or …
# (not written yet), with its points.
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit.

# %%
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt
from scipy.stats import spearmanr

from xaikit.checks import week05 as check
from xaikit.cnn import accuracy, forward_with_activations, load_mnist_digits, load_model, predict_proba
from xaikit.heatmaps import plot_attribution_grid, show_image, to_heatmap
from xaikit.images import make_shapes

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # the networks are tiny: one thread is faster than two taking turns
torch.manual_seed(0);

# %% [markdown]
# ## 0. Two data sets and three trained networks
#
# **Digits.** 5,000 handwritten MNIST digits (28 × 28 pixels, ink = 1, background = 0) and a
# small LeNet-style network, `DigitsCNN`, trained on 4,000 of them. Its weights ship with the
# course helper, so nothing is trained here.

# %%
digits = load_mnist_digits()
digit_model = load_model("digits")
print(f"digits: test accuracy {accuracy(digit_model, digits.images[digits.test], digits.labels[digits.test]):.3f}")
pick = [int(digits.test[digits.labels[digits.test] == c][0]) for c in (0, 1, 2, 3, 5, 7)]
x_digits, y_digits = digits.images[pick], digits.labels[pick]
digit_titles = [f"label {int(y)}" for y in y_digits]

# %% [markdown]
# **Shapes with known ground truth.** Synthetic 32 × 32 images of a circle, a square or a
# triangle on a textured background. Every image comes with the pixel **mask** of its object,
# and with a 4 × 4 coloured patch in a corner, the **cue**, with its own mask. Two networks with
# the same architecture (`ShapesCNN`: four convolutions, global average pooling, one linear
# layer) were trained on different data:
#
# - `shapes_clean`: the cue's colour was random, so only the shape tells the class;
# - `shapes_spurious`: the cue was red for circles, green for squares and blue for triangles,
#   every time: a perfect shortcut, like the foxes that were always photographed on snow.
#
# Both look perfect on images like those they were trained on.

# %%
shapes = make_shapes(300, cue_strength=1.0, random_state=2024)  # cue coloured by class
x_shapes, y_shapes = torch.from_numpy(shapes.images), torch.from_numpy(shapes.labels)
clean_model, spurious_model = load_model("shapes_clean"), load_model("shapes_spurious")
for name, model in [("clean", clean_model), ("spurious", spurious_model)]:
    print(f"{name:>8} model: accuracy {accuracy(model, x_shapes, y_shapes):.3f}")
shape_titles = [shapes.class_names[int(y)] for y in y_shapes[:6]]
fig, axes = plt.subplots(1, 6, figsize=(12, 2.4), layout="constrained")
for i, ax in enumerate(axes):
    show_image(x_shapes[i], ax, title=shape_titles[i], mask=shapes.masks[i])
fig.suptitle("Shapes with their object mask (white outline); the cue patch sits in a corner");

# %% [markdown]
# ## 1. Vanilla gradient and gradient × input
#
# Simonyan et al. (2013): how much does the score $S_c$ of class $c$ change when a pixel
# changes a little? That is the gradient
#
# $$E(x) = \frac{\partial S_c}{\partial x}\Big|_{x},$$
#
# one value per input element. Like captum's `Saliency`, return its absolute value by default
# (`abs=True`) and the signed gradient with `abs=False`.
#
# *Recipe.* Make a copy of the images that requires gradients
# (`x = inputs.detach().clone().requires_grad_(True)`), compute the logits, pick each image's
# target score with `logits[torch.arange(len(x)), target]` (this works for an `int` and for a
# tensor `target`), and take `torch.autograd.grad(scores.sum(), x)[0]`. The sum is fine: image
# $i$'s score depends only on image $i$.

# %% nbgrader={"grade": false, "grade_id": "vanilla_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
class VanillaGradient:
    """Vanilla gradient (saliency map) of Simonyan et al. (2013), like captum's ``Saliency``."""

    def __init__(self, model):
        self.model = model

    def attribute(self, inputs, target, *, abs=True):
        """Gradient of each image's target score with respect to its pixels.

        Parameters
        ----------
        inputs : Tensor of shape (N, C, H, W)
        target : int or LongTensor of shape (N,)
        abs : bool
            Return the absolute value of the gradient.

        Returns
        -------
        Tensor of shape (N, C, H, W), detached
        """
        ### BEGIN SOLUTION
        x = inputs.detach().clone().requires_grad_(True)
        scores = self.model(x)[torch.arange(len(x)), target]
        grads = torch.autograd.grad(scores.sum(), x)[0]
        return grads.abs() if abs else grads
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "vanilla_gradient_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.VanillaGradient(VanillaGradient)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.VanillaGradient(VanillaGradient)
### END HIDDEN TESTS

# %% [markdown]
# **Gradient × input** multiplies the signed gradient by the input, element by element:
# $E(x) = x \odot \partial S_c / \partial x$ (captum's `InputXGradient`). For a linear model
# $S_c = w^\top x + b$ it gives each pixel's share $w_j x_j$ of the score.

# %% nbgrader={"grade": false, "grade_id": "gradient_x_input", "locked": false, "schema_version": 3, "solution": true, "task": false}
class GradientXInput:
    """Gradient × input, like captum's ``InputXGradient``."""

    def __init__(self, model):
        self.model = model

    def attribute(self, inputs, target):
        """Signed gradient of each image's target score, times the image.

        Returns
        -------
        Tensor of shape (N, C, H, W), detached
        """
        ### BEGIN SOLUTION
        x = inputs.detach().clone().requires_grad_(True)
        scores = self.model(x)[torch.arange(len(x)), target]
        grads = torch.autograd.grad(scores.sum(), x)[0]
        return grads * inputs.detach()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gradient_x_input_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check.GradientXInput(GradientXInput)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.GradientXInput(GradientXInput)
### END HIDDEN TESTS

# %% [markdown]
# Both maps for six test digits, each explaining the true class. Each panel is scaled to its
# own largest value (the colour bar is relative).

# %%
maps_vg = VanillaGradient(digit_model).attribute(x_digits, y_digits)
maps_gxi = GradientXInput(digit_model).attribute(x_digits, y_digits)
plot_attribution_grid(x_digits, {"|gradient|": to_heatmap(maps_vg), "gradient × input": to_heatmap(maps_gxi, reduce="sum")},
                      titles=digit_titles, title="Vanilla gradient and gradient × input (digits model; red: for the class, blue: against)");

# %% [markdown]
# ## 2. SmoothGrad
#
# Gradients of a ReLU network jump from pixel to pixel. Smilkov et al. (2017) average the
# gradient over noisy copies of the image,
#
# $$\hat E(x) = \frac{1}{n}\sum_{k=1}^{n} \Big|\frac{\partial S_c}{\partial x}\Big|_{x + \varepsilon_k}\Big|,
# \qquad \varepsilon_k \sim \mathcal N(0, \sigma^2),$$
#
# the mean of the **absolute** gradients, as captum's `NoiseTunnel(Saliency(model))` computes by
# default (`Saliency` returns $|\nabla|$ unless `abs=False`). Smilkov et al. define SmoothGrad as
# the mean of the **signed** gradients, $\frac1n\sum_k \partial S_c/\partial x|_{x+\varepsilon_k}$
# (their eq. 2), and take absolute values only to display the map; with
# `NoiseTunnel(Saliency(model))` and `abs=False` captum gives that version. The two differ
# wherever the gradient changes sign under the noise. This lab uses captum's default. To make
# the result reproducible and testable, the caller draws the noise: `noise` is a tensor of
# shape `(n, N, C, H, W)`, and `noise[k]` is added to the whole batch for sample $k$.

# %% nbgrader={"grade": false, "grade_id": "smooth_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SmoothGrad:
    """SmoothGrad of Smilkov et al. (2017), like captum's ``NoiseTunnel(Saliency(model))``."""

    def __init__(self, model):
        self.model = model

    def attribute(self, inputs, target, *, noise):
        """Mean absolute gradient over the noisy copies ``inputs + noise[k]``.

        Parameters
        ----------
        noise : Tensor of shape (n_samples, N, C, H, W)

        Returns
        -------
        Tensor of shape (N, C, H, W), detached
        """
        ### BEGIN SOLUTION
        total = torch.zeros_like(inputs)
        for epsilon in noise:
            x = (inputs.detach() + epsilon).requires_grad_(True)
            scores = self.model(x)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), x)[0].abs()
        return total / len(noise)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "smooth_grad_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.SmoothGrad(SmoothGrad)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.SmoothGrad(SmoothGrad)
### END HIDDEN TESTS

# %% [markdown]
# More noise, smoother maps: 25 noisy copies at three noise levels (pixel values are in [0, 1]).

# %%
generator = torch.Generator().manual_seed(1)
smooth_maps = {}
for sigma in (0.05, 0.15, 0.3):
    noise = sigma * torch.randn((25, *x_digits.shape), generator=generator)
    smooth_maps[f"σ = {sigma}"] = to_heatmap(SmoothGrad(digit_model).attribute(x_digits, y_digits, noise=noise))
plot_attribution_grid(x_digits, {"|gradient|": to_heatmap(maps_vg), **smooth_maps}, titles=digit_titles,
                      title="SmoothGrad with 25 samples: the vanilla gradient (top row) and three noise levels");

# %% [markdown]
# ## 3. Integrated Gradients
#
# Sundararajan et al. (2017) integrate the gradient along the straight path from a baseline
# $x'$ (a black image by default) to the input:
#
# $$\mathrm{IG}_j(x) = (x_j - x'_j)\int_0^1 \frac{\partial S_c}{\partial x_j}\Big|_{x' + \alpha (x - x')}\, d\alpha
# \;\approx\; (x_j - x'_j)\,\frac{1}{m}\sum_{k=0}^{m-1} \frac{\partial S_c}{\partial x_j}\Big|_{x' + \alpha_k (x - x')},
# \qquad \alpha_k = \frac{k + 1/2}{m}.$$
#
# This is the midpoint rule with $m$ = `n_steps` points, captum's `method="riemann_middle"`. IG is
# **complete**: the attributions add up to $S_c(x) - S_c(x')$. `baselines` is `None` (zeros) or a
# tensor shaped like `inputs`.

# %% nbgrader={"grade": false, "grade_id": "integrated_gradients", "locked": false, "schema_version": 3, "solution": true, "task": false}
class IntegratedGradients:
    """Integrated Gradients (Sundararajan et al., 2017), like captum's with ``method="riemann_middle"``."""

    def __init__(self, model):
        self.model = model

    def attribute(self, inputs, target, *, baselines=None, n_steps=50):
        """IG of each image's target score along the straight path from the baseline.

        Parameters
        ----------
        baselines : None or Tensor of shape (N, C, H, W)
            None means a black image (zeros).
        n_steps : int
            Points of the midpoint rule.

        Returns
        -------
        Tensor of shape (N, C, H, W), detached
        """
        ### BEGIN SOLUTION
        x = inputs.detach()
        base = torch.zeros_like(x) if baselines is None else torch.as_tensor(baselines, dtype=x.dtype).expand_as(x)
        total = torch.zeros_like(x)
        for k in range(n_steps):
            point = (base + (k + 0.5) / n_steps * (x - base)).requires_grad_(True)
            scores = self.model(point)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return (x - base) * total / n_steps
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "integrated_gradients_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.IntegratedGradients(IntegratedGradients)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.IntegratedGradients(IntegratedGradients)
### END HIDDEN TESTS

# %% [markdown]
# Completeness on the six digits: the sum of the attributions against the change of the score
# from the black image to the digit.

# %%
maps_ig = IntegratedGradients(digit_model).attribute(x_digits, y_digits, n_steps=50)
with torch.no_grad():
    score_gap = (digit_model(x_digits) - digit_model(torch.zeros_like(x_digits)))[torch.arange(6), y_digits]
for label, total, gap in zip(digit_titles, maps_ig.sum(dim=(1, 2, 3)), score_gap):
    print(f"{label}: sum of IG = {total:7.3f}   S(x) - S(black) = {gap:7.3f}")
plot_attribution_grid(x_digits, {"|gradient|": to_heatmap(maps_vg), "gradient × input": to_heatmap(maps_gxi, reduce="sum"),
                                 "SmoothGrad σ = 0.15": smooth_maps["σ = 0.15"], "Integrated Gradients": to_heatmap(maps_ig, reduce="sum")},
                      titles=digit_titles, title="Four gradient methods on the digits (red: for the class, blue: against)");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_gradients", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** Compare the four maps. Which is the noisiest? Gradient × input and
# IG are exactly zero on every background pixel: why, and what can these two methods therefore
# never tell you about a digit (think of what distinguishes a 0 from an 8)?
#
# ### BEGIN SOLUTION
# *Model answer.* The absolute gradient is the noisiest: speckles and horizontal stripes
# spread over the whole 28 × 28 square, background included, with isolated bright pixels.
# SmoothGrad (σ = 0.15) is a blurred version of it, still covering the background. Gradient ×
# input and IG are almost identical here and follow the strokes, red along most of the ink with
# a few blue (against the class) pixels. They are exactly zero on the background because each
# attribution is multiplied by the pixel's value minus the baseline, and a background pixel
# *is* the black baseline (0 − 0 = 0). So these two methods can never credit the absence of
# ink: that the centre of a 0 is empty (which separates it from an 8) gets no attribution,
# although the gradient shows that the score is sensitive there.
# ### END SOLUTION

# %% [markdown]
# ## 4. Occlusion
#
# A perturbation method needs no gradient (Zeiler & Fergus, 2014): slide a window over the
# image, set the window's pixels (all channels) to a `baseline` value, and record how much the
# target score drops, $S_c(x) - S_c(x_{\text{occluded}})$. Every pixel gets the **average** drop
# over all the windows that cover it, in every channel (as captum's `Occlusion` with a window
# spanning all channels). Windows start at rows and columns $0, s, 2s, \dots$ as long as they fit
# in the image (you may assume that $H - h$ and $W - w$ are multiples of the stride $s$).

# %% nbgrader={"grade": false, "grade_id": "occlusion", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Occlusion:
    """Occlusion (Zeiler & Fergus, 2014), like captum's ``Occlusion`` with a window spanning all channels."""

    def __init__(self, model):
        self.model = model

    def attribute(self, inputs, target, *, window=(4, 4), stride=2, baseline=0.0):
        """Average drop of each image's target score over the windows covering each pixel.

        Parameters
        ----------
        window : (int, int)
            Height and width of the occluding window.
        stride : int
            Step between window positions, in both directions.
        baseline : float
            Value the occluded pixels are set to.

        Returns
        -------
        Tensor of shape (N, C, H, W), detached (the same map in every channel)
        """
        ### BEGIN SOLUTION
        x = inputs.detach()
        n, _, height, width = x.shape
        h, w = window
        rows = torch.arange(n)
        with torch.no_grad():
            reference = self.model(x)[rows, target]
            total = torch.zeros(n, 1, height, width)
            count = torch.zeros(1, 1, height, width)
            for top in range(0, height - h + 1, stride):
                for left in range(0, width - w + 1, stride):
                    occluded = x.clone()
                    occluded[:, :, top:top + h, left:left + w] = baseline
                    drop = reference - self.model(occluded)[rows, target]
                    total[:, :, top:top + h, left:left + w] += drop.view(n, 1, 1, 1)
                    count[:, :, top:top + h, left:left + w] += 1
        return (total / count.clamp(min=1)).expand_as(x).clone()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "occlusion_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.Occlusion(Occlusion)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.Occlusion(Occlusion)
### END HIDDEN TESTS

# %% [markdown]
# Occlusion of the shapes for the clean model, with a grey window (0.5, close to the
# background), against the gradient. The object outline is drawn in cyan.

# %%
x6, y6, masks6 = x_shapes[:6], y_shapes[:6], shapes.masks[:6]
maps_occ = Occlusion(clean_model).attribute(x6, y6, window=(6, 6), stride=2, baseline=0.5)
maps_vg_shapes = VanillaGradient(clean_model).attribute(x6, y6)
plot_attribution_grid(x6, {"|gradient|": to_heatmap(maps_vg_shapes), "occlusion 6×6": maps_occ[:, 0]},
                      titles=shape_titles, masks=masks6,
                      title="Clean shapes model: gradient and occlusion (red: hiding it lowers the score)");

# %% [markdown]
# ## 5. Grad-CAM and Grad-CAM++
#
# Class activation maps explain with the feature maps $A^k$ ($k = 1..K$, each $h \times w$) of a
# late convolutional layer instead of the pixels. **Grad-CAM** (Selvaraju et al., 2017) weights
# each feature map by the average gradient of the class score over its positions and keeps the
# positive part of the weighted sum:
#
# $$\alpha_k = \frac{1}{hw}\sum_{i,j}\frac{\partial S_c}{\partial A^k_{ij}}, \qquad
# L = \mathrm{ReLU}\Big(\sum_k \alpha_k A^k\Big).$$
#
# The $h \times w$ map is then upsampled to the image size with
# `F.interpolate(L, size=(H, W), mode="bilinear", align_corners=False)`; return shape `(N, 1, H, W)`.
# This equals captum's `LayerGradCam(model, layer)` with `relu_attributions=True`, upsampled
# bilinearly.
#
# `forward_with_activations(model, layer, inputs)` from the helper returns the logits and the
# output $A$ of `layer` (shape `(N, K, h, w)`), still in the graph, so
# `torch.autograd.grad(scores.sum(), A)[0]` gives $\partial S_c / \partial A$.

# %% nbgrader={"grade": false, "grade_id": "grad_cam", "locked": false, "schema_version": 3, "solution": true, "task": false}
class GradCAM:
    """Grad-CAM (Selvaraju et al., 2017) at ``layer``, upsampled to the input size."""

    def __init__(self, model, layer):
        self.model = model
        self.layer = layer

    def attribute(self, inputs, target):
        """Grad-CAM of each image's target class.

        Returns
        -------
        Tensor of shape (N, 1, H, W), detached, non-negative
        """
        ### BEGIN SOLUTION
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        grads = torch.autograd.grad(scores.sum(), A)[0]
        weights = grads.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * A).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)
        return cam.detach()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "grad_cam_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.GradCAM(GradCAM)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.GradCAM(GradCAM)
### END HIDDEN TESTS

# %% [markdown]
# **Grad-CAM++** (Chattopadhay et al., 2018) replaces the plain average by a weighted sum
# that favours positions with a positive gradient. With $g_{ij} = \partial S_c / \partial A^k_{ij}$
# and $\Sigma_k = \sum_{a,b} A^k_{ab}$ (per image and feature map),
#
# $$a_{ij} = \frac{g_{ij}^2}{2 g_{ij}^2 + \Sigma_k\, g_{ij}^3 + 10^{-6}}\ \ (\text{and } a_{ij} = 0 \text{ where } g_{ij} = 0),
# \qquad \alpha_k = \sum_{i,j} a_{ij}\,\mathrm{ReLU}(g_{ij}),$$
#
# then $L = \mathrm{ReLU}(\sum_k \alpha_k A^k)$, upsampled as before. The $10^{-6}$ and the zero
# where $g_{ij} = 0$ are those of the pytorch-grad-cam library, the reference of the hidden test
# (which compares the maps after scaling each to [0, 1]).

# %% nbgrader={"grade": false, "grade_id": "grad_cam_pp", "locked": false, "schema_version": 3, "solution": true, "task": false}
class GradCAMPlusPlus:
    """Grad-CAM++ (Chattopadhay et al., 2018) at ``layer``, upsampled to the input size."""

    def __init__(self, model, layer):
        self.model = model
        self.layer = layer

    def attribute(self, inputs, target):
        """Grad-CAM++ of each image's target class.

        Returns
        -------
        Tensor of shape (N, 1, H, W), detached, non-negative
        """
        ### BEGIN SOLUTION
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        g = torch.autograd.grad(scores.sum(), A)[0]
        A = A.detach()
        a = g**2 / (2 * g**2 + A.sum(dim=(2, 3), keepdim=True) * g**3 + 1e-6)
        a = torch.where(g != 0, a, torch.zeros_like(a))
        weights = (a * torch.relu(g)).sum(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * A).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "grad_cam_pp_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.GradCAMPlusPlus(GradCAMPlusPlus)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.GradCAMPlusPlus(GradCAMPlusPlus)
### END HIDDEN TESTS

# %% [markdown]
# Both maps at `relu4`, the last convolutional layer (16 × 16), for the clean model:

# %%
maps_gc = GradCAM(clean_model, clean_model.relu4).attribute(x6, y6)
maps_gcpp = GradCAMPlusPlus(clean_model, clean_model.relu4).attribute(x6, y6)
plot_attribution_grid(x6, {"Grad-CAM": maps_gc, "Grad-CAM++": maps_gcpp}, titles=shape_titles, masks=masks6,
                      title="Clean shapes model: Grad-CAM and Grad-CAM++ at the last convolution");

# %% [markdown]
# ## 6. Adversarial examples: FGSM
#
# Gradients also show how to *fool* a network. The fast gradient sign method (Goodfellow et
# al., 2015) moves every pixel by $\pm\epsilon$ in the direction that increases the loss of the
# true class $y$, and keeps the pixels in [0, 1]:
#
# $$x_{\text{adv}} = \mathrm{clip}_{[0, 1]}\Big(x + \epsilon\,\mathrm{sign}\big(\nabla_x\, \mathrm{CE}(f(x), y)\big)\Big),$$
#
# where CE is the cross-entropy of the logits (`F.cross_entropy`). `target` holds the true
# labels, a tensor of `N` class indices. Return the adversarial images, detached.

# %% nbgrader={"grade": false, "grade_id": "fgsm", "locked": false, "schema_version": 3, "solution": true, "task": false}
class FGSM:
    """Fast gradient sign method (Goodfellow et al., 2015), like captum's ``robust.FGSM``."""

    def __init__(self, model):
        self.model = model

    def perturb(self, inputs, target, *, epsilon):
        """One signed-gradient step of size ``epsilon`` that increases the loss of ``target``.

        Returns
        -------
        Tensor of shape (N, C, H, W), detached, values in [0, 1]
        """
        ### BEGIN SOLUTION
        x = inputs.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(self.model(x), target, reduction="sum")
        grad = torch.autograd.grad(loss, x)[0]
        return (inputs.detach() + epsilon * grad.sign()).clamp(0, 1)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "fgsm_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.FGSM(FGSM)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.FGSM(FGSM)
### END HIDDEN TESTS

# %% [markdown]
# Accuracy on the 1,000 test digits as $\epsilon$ grows, and one digit before and after.

# %%
x_test, y_test = digits.images[digits.test], digits.labels[digits.test]
epsilons = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2]
attack = FGSM(digit_model)
adversarial = {eps: attack.perturb(x_test, y_test, epsilon=eps) for eps in epsilons}
robust_accuracy = [accuracy(digit_model, adversarial[eps], y_test) for eps in epsilons]

fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), layout="constrained", width_ratios=[1.6, 1, 1, 1])
axes[0].plot(epsilons, robust_accuracy, "-o")
axes[0].set(xlabel="ε (change of each pixel, in units of the [0, 1] intensity)", ylabel="test accuracy",
            title="Accuracy under FGSM", ylim=(0, 1))
eps = 0.1
fooled = (predict_proba(digit_model, adversarial[eps]).argmax(axis=1) != y_test.numpy()) & \
         (predict_proba(digit_model, x_test).argmax(axis=1) == y_test.numpy())
i = int(np.flatnonzero(fooled)[0])  # the first test digit that FGSM turns from right to wrong
p_before = predict_proba(digit_model, x_test[i:i + 1])[0]
p_after = predict_proba(digit_model, adversarial[eps][i:i + 1])[0]
show_image(x_test[i], axes[1], title=f"original: {p_before.argmax()} ({p_before.max():.0%})")
show_image(adversarial[eps][i], axes[2], title=f"ε = {eps}: {p_after.argmax()} ({p_after.max():.0%})")
delta = axes[3].imshow((adversarial[eps][i] - x_test[i])[0], cmap="RdBu_r", vmin=-eps, vmax=eps)
axes[3].set(title="perturbation", xlabel="pixel column", ylabel="pixel row")
fig.colorbar(delta, ax=axes[3], label="change of intensity")
fig.suptitle("FGSM on the digits model");
for eps, acc in zip(epsilons, robust_accuracy):
    print(f"ε = {eps:4}: accuracy {acc:.3f}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_fgsm", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** How large must $\epsilon$ be to bring the accuracy below 50 %?
# Would a person still read the perturbed digit correctly? What does this say about what the
# gradient-based maps of part 1 describe, and how can training be changed to resist it?
#
# ### BEGIN SOLUTION
# *Model answer.* Accuracy falls from 0.97 to 0.90 at ε = 0.05, 0.71 at ε = 0.1 and below
# one half, 0.41, at ε = 0.15 (0.18 at ε = 0.2). A person still reads every perturbed digit
# correctly: the example 0 only gains a faint grey speckle on the background and a slightly
# darker stroke, yet the model calls it an 8 with 85 % confidence. The gradient maps of part 1
# describe how the score reacts to tiny changes of each pixel, and that reaction is large and
# scattered over the background: the model is sensitive to directions of the input that mean
# nothing to us, so a gradient map is not an explanation a human would give. Adversarial
# training (augmenting every training batch with FGSM or PGD examples carrying the true label)
# makes the model more robust, at some cost in clean accuracy; random noise or geometric
# augmentation alone helps much less.
# ### END SOLUTION

# %% [markdown]
# ## 7. Sanity check: model-parameter randomization
#
# Adebayo et al. (2018) ask whether a map depends on what the model has learned at all. The
# **cascading randomization** test re-initialises the layers one after the other, from the
# output layer down to the input, and after each step compares the new map with the map of the
# trained model. A method whose maps stay the same is explaining the input (e.g. its edges),
# not the model.
#
# Write `model_randomization_test(model, explain, inputs, target, *, layers, seed=0)`:
#
# - `explain(model, inputs, target)` returns the maps as a NumPy array of shape `(N, ...)`;
# - compute the maps of the original model; then work on a **deep copy**,
#   `randomized = copy.deepcopy(model)`, so that `model` itself is never changed;
# - call `torch.manual_seed(seed)` **once**, then for each name in `layers` (in that order, each
#   randomization adding to the previous ones) call `reset_parameters()` on that layer of the
#   copy (`dict(randomized.named_modules())[name]`) and explain the copy;
# - compare each image's new map with its original map by the Spearman rank correlation of the
#   flattened maps (`scipy.stats.spearmanr(a, b).statistic`).
#
# Return an array of shape `(len(layers), N)`.

# %% nbgrader={"grade": false, "grade_id": "randomization", "locked": false, "schema_version": 3, "solution": true, "task": false}
def model_randomization_test(model, explain, inputs, target, *, layers, seed=0):
    """Cascading model-parameter randomization (Adebayo et al., 2018).

    Parameters
    ----------
    model : nn.Module, not modified
    explain : callable (model, inputs, target) -> ndarray of shape (N, ...)
    inputs : Tensor of shape (N, C, H, W)
    target : int or LongTensor of shape (N,)
    layers : list of str
        Names of the layers to re-initialise, in order (top layer first).
    seed : int

    Returns
    -------
    ndarray of shape (len(layers), N)
        Spearman correlation between each image's original map and its map after randomizing
        the layers up to and including that row's layer.
    """
    ### BEGIN SOLUTION
    original = np.asarray(explain(model, inputs, target), dtype=float)
    randomized = copy.deepcopy(model)
    modules = dict(randomized.named_modules())
    torch.manual_seed(seed)
    result = np.empty((len(layers), len(inputs)))
    for row, name in enumerate(layers):
        modules[name].reset_parameters()
        maps = np.asarray(explain(randomized, inputs, target), dtype=float)
        for i in range(len(inputs)):
            result[row, i] = spearmanr(original[i].ravel(), maps[i].ravel()).statistic
    return result
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "randomization_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.model_randomization_test(model_randomization_test)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.model_randomization_test(model_randomization_test)
### END HIDDEN TESTS

# %% [markdown]
# The test on 24 shapes and the clean model, for the absolute gradient, the signed gradient
# (channels added up) and Grad-CAM++. Each `explain` turns a method into maps of shape
# `(N, 32, 32)`.

# %%
layers = ["fc", "conv4", "conv3", "conv2", "conv1"]
explainers = {
    "|gradient|": lambda m, x, t: to_heatmap(VanillaGradient(m).attribute(x, t)),
    "gradient (signed)": lambda m, x, t: to_heatmap(VanillaGradient(m).attribute(x, t, abs=False), reduce="sum"),
    "Grad-CAM++": lambda m, x, t: GradCAMPlusPlus(m, m.relu4).attribute(x, t)[:, 0].numpy(),
}
x24, y24 = x_shapes[:24], y_shapes[:24]
fig, ax = plt.subplots(figsize=(7, 4))
for label, explain in explainers.items():
    rho = model_randomization_test(clean_model, explain, x24, y24, layers=layers, seed=0)
    ax.plot(range(len(layers) + 1), [1.0, *np.median(rho, axis=1)], "-o", label=label)
    print(f"{label:>17}: median correlation after each layer {np.round(np.median(rho, axis=1), 2)}")
ax.axhline(0, color="grey", linewidth=0.8)
ax.set_xticks(range(len(layers) + 1), ["trained", *[f"+ {name}" for name in layers]])
ax.set(xlabel="layers re-initialised (cumulative, from the output down)",
       ylabel="Spearman correlation with\nthe trained model's map (median of 24)",
       title="Cascading randomization of the clean shapes model")
ax.legend();

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_sanity", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (2 points).** Which maps still look like those of the trained model after the
# output layer and the last two convolutions have been re-initialised, and which change at
# once? What do the maps that survive show, if not what the trained top of the network has
# learned? Why does taking the absolute value matter here?
#
# ### BEGIN SOLUTION
# *Model answer.* The signed gradient changes at once: its median correlation with the
# trained maps drops to 0.31 after re-initialising the output layer and to about 0 after conv4,
# so it passes. The absolute gradient fails for the top of the network: it keeps a correlation
# of 0.97–0.98 after fc, conv4 and conv3 are random, and only changes when conv2 (0.43) and
# conv1 (0.07) are reset. Grad-CAM++ also keeps about 0.7 until conv3. What survives is the
# structure that the input and the early layers produce (where the object's edges are, where
# the feature maps are active), not the evidence for the class that the trained top layers
# encode: such maps would look the same for an untrained classifier. The absolute value
# matters because randomizing the output layer mostly flips *signs* (a pixel that argued for
# the class now argues against it); |gradient| throws the sign away and with it most of what
# depends on the learned top layers.
# ### END SOLUTION

# %% [markdown]
# ## 8. Deletion curve
#
# If a map is faithful, deleting the pixels it ranks highest should destroy the prediction
# fastest (Petsiuk et al., 2018, RISE). Write
# `deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0)`:
#
# - `saliency` has shape `(N, H, W)`: order each image's pixels by **decreasing** saliency;
# - with `n_steps = ceil(H * W / pixels_per_step)`, column $k = 0, 1, \dots,$ `n_steps` of the
#   result is the softmax probability of the target class after setting the first
#   $\min(k \cdot$ `pixels_per_step`$,\ HW)$ pixels of that order, all channels, to `baseline`
#   (column 0 is the intact image, the last column the fully deleted one);
# - `target` is a tensor of `N` class indices; do not modify `images`.
#
# The area under the curve (AUC, with the x axis running from 0 to 1) summarises it: lower is better.

# %% nbgrader={"grade": false, "grade_id": "deletion", "locked": false, "schema_version": 3, "solution": true, "task": false}
def deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0):
    """Probability of the target class as the most salient pixels are deleted.

    Returns
    -------
    ndarray of shape (N, n_steps + 1)
    """
    ### BEGIN SOLUTION
    images = images.detach()
    n, channels, height, width = images.shape
    n_steps = -(-height * width // pixels_per_step)
    curves = np.empty((n, n_steps + 1))
    with torch.no_grad():
        for i in range(n):
            order = torch.from_numpy(np.argsort(-np.asarray(saliency[i]).ravel(), kind="stable").copy())
            batch = images[i].reshape(1, channels, -1).repeat(n_steps + 1, 1, 1)
            for k in range(1, n_steps + 1):
                batch[k, :, order[:k * pixels_per_step]] = baseline
            probs = torch.softmax(model(batch.reshape(n_steps + 1, channels, height, width)), dim=1)
            curves[i] = probs[:, int(target[i])].numpy()
    return curves
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "deletion_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.deletion_curve(deletion_curve)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.deletion_curve(deletion_curve)
### END HIDDEN TESTS

# %% [markdown]
# Deletion curves of the clean model on 40 shapes, deleting to the background grey (0.5), for
# three maps and for a random order of the pixels.

# %%
x40, y40 = x_shapes[:40], y_shapes[:40]
rng = np.random.default_rng(0)
orders = {
    "Grad-CAM": GradCAM(clean_model, clean_model.relu4).attribute(x40, y40)[:, 0].numpy(),
    "|gradient|": to_heatmap(VanillaGradient(clean_model).attribute(x40, y40)),
    "occlusion 6×6": Occlusion(clean_model).attribute(x40, y40, window=(6, 6), stride=2, baseline=0.5)[:, 0].numpy(),
    "random order": rng.random((40, 32, 32)),
}
fig, ax = plt.subplots(figsize=(7, 4))
for label, saliency in orders.items():
    curves = deletion_curve(clean_model, x40, y40, saliency, pixels_per_step=32, baseline=0.5)
    fraction = np.linspace(0, 1, curves.shape[1])
    auc = np.trapezoid(curves.mean(axis=0), fraction)
    ax.plot(fraction, curves.mean(axis=0), label=f"{label} (AUC {auc:.2f})")
ax.set(xlabel="fraction of pixels deleted (most important first)", ylabel="probability of the true class (mean of 40)",
       title="Deletion curves of the clean shapes model", ylim=(0, 1.02))
ax.legend();

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_deletion", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 4 (2 points).** Rank the maps by their deletion AUC. Does the best one agree with
# what the maps of parts 4 and 5 looked like? Name one reason why a deletion curve can be
# unfair to a map even if the map is right.
#
# ### BEGIN SOLUTION
# *Model answer.* Occlusion has the lowest AUC (0.27), then Grad-CAM (0.29) and the absolute
# gradient (0.34); a random order is far worse (0.71): after deleting 40 % of the pixels in
# random order the model is still fairly sure, while deleting the top 10 % of any map already
# brings the probability from 1 to about 0.3–0.6. This matches the maps: occlusion and Grad-CAM
# cover the object and its border, the gradient only a few edge pixels. But the metric is not
# neutral: deleted pixels are set to grey, so the images become patchy inputs the model never
# saw, and part of the drop may come from these artefacts rather than from removing evidence;
# and occlusion is favoured because it was computed with the very same grey perturbation the
# deletion curve uses (a coarse or blurred map can also be penalised by the pixel order).
# ### END SOLUTION

# %% [markdown]
# ## 9. Maps against ground truth: the pointing game and relevance mass
#
# The shapes come with masks, so we can *score* where a map points.
#
# **Pointing game** (Zhang et al., 2018): a hit if the map's maximum (the first one,
# `np.argmax` of the flattened map) lies in the mask or at most `tolerance` pixels away from it
# (Euclidean distance to the nearest mask pixel; `scipy.ndimage.distance_transform_edt` gives,
# for every pixel, that distance to the nearest zero of its input). Return 1.0 for a hit and 0.0
# for a miss, per image.

# %% nbgrader={"grade": false, "grade_id": "pointing", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pointing_game(saliency, masks, *, tolerance=0):
    """Whether each map's maximum falls within ``tolerance`` pixels of the mask.

    Parameters
    ----------
    saliency : ndarray of shape (N, H, W)
    masks : bool ndarray of shape (N, H, W), none of them empty
    tolerance : float, in pixels

    Returns
    -------
    ndarray of shape (N,) with 1.0 (hit) or 0.0 (miss)
    """
    ### BEGIN SOLUTION
    hits = np.empty(len(saliency))
    for i, (s, m) in enumerate(zip(np.asarray(saliency), np.asarray(masks, dtype=bool))):
        row, col = np.unravel_index(np.argmax(s), s.shape)
        hits[i] = distance_transform_edt(~m)[row, col] <= tolerance
    return hits
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "pointing_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.pointing_game(pointing_game)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.pointing_game(pointing_game)
### END HIDDEN TESTS

# %% [markdown]
# **Relevance mass** (Arras et al., 2022): the share of the map's positive attribution that
# lies inside the mask, $\sum_{p \in \text{mask}} R_p^+ / \sum_p R_p^+$ with $R^+ = \max(R, 0)$.
# (You may assume every map has some positive value.)

# %% nbgrader={"grade": false, "grade_id": "relevance", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relevance_mass(saliency, masks):
    """Share of each map's positive attribution inside its mask.

    Returns
    -------
    ndarray of shape (N,), values in [0, 1]
    """
    ### BEGIN SOLUTION
    positive = np.clip(np.asarray(saliency, dtype=float), 0, None)
    return (positive * np.asarray(masks)).sum(axis=(1, 2)) / positive.sum(axis=(1, 2))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "relevance_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.relevance_mass(relevance_mass)
### BEGIN HIDDEN TESTS
from xaigrader import week05
week05.relevance_mass(relevance_mass)
### END HIDDEN TESTS

# %% [markdown]
# **Detecting the shortcut.** Both shapes models are accurate on images like their training
# data. Where do their Grad-CAM maps point, on 300 such images: at the object or at the cue?
# The object covers about 15 % of an image, the cue 1.6 %. Then the behavioural test: the same
# shapes with a cue of random colour.

# %%
results = {}
for name, model in [("clean", clean_model), ("spurious", spurious_model)]:
    predicted = model(x_shapes).argmax(dim=1)
    cam = GradCAM(model, model.relu4).attribute(x_shapes, predicted)[:, 0].numpy()
    on_cue = pointing_game(cam, shapes.cue_masks, tolerance=2)
    results[name] = {
        "pointing: object": pointing_game(cam, shapes.masks, tolerance=2).mean(),
        "pointing: cue": on_cue.mean(),
        "relevance mass: object": relevance_mass(cam, shapes.masks).mean(),
        "relevance mass: cue": relevance_mass(cam, shapes.cue_masks).mean(),
    }
    per_class = ", ".join(f"{c} {on_cue[shapes.labels == k].mean():.2f}" for k, c in enumerate(shapes.class_names))
    print(f"{name:>8} model: Grad-CAM peak on the cue, by class: {per_class}")
random_cue = make_shapes(300, cue_strength=0.0, random_state=2025)
for name, model in [("clean", clean_model), ("spurious", spurious_model)]:
    acc = accuracy(model, torch.from_numpy(random_cue.images), random_cue.labels)
    print(f"{name:>8} model: accuracy {accuracy(model, x_shapes, y_shapes):.3f} with the cue, {acc:.3f} with a random cue")

metrics = list(results["clean"])
fig, ax = plt.subplots(figsize=(9, 4))
width = 0.38
for k, name in enumerate(results):
    bars = ax.bar(np.arange(len(metrics)) + (k - 0.5) * width, [results[name][m] for m in metrics], width, label=f"{name} model")
    ax.bar_label(bars, fmt="%.2f", fontsize="small")
ax.set_xticks(np.arange(len(metrics)), metrics)
ax.set(ylabel="mean over 300 images (share)", ylim=(0, 1.05), xlabel="score of the Grad-CAM maps against a mask",
       title="Where does Grad-CAM point? Object versus cue, clean versus spurious model")
ax.legend();

# %% [markdown]
# A few of the maps, for a closer look:

# %%
plot_attribution_grid(x6, {f"{name} model": GradCAM(model, model.relu4).attribute(x6, model(x6).argmax(dim=1))
                           for name, model in [("clean", clean_model), ("spurious", spurious_model)]},
                      titles=shape_titles, masks=masks6, title="Grad-CAM of the predicted class, clean versus spurious model");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q5_shortcut", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 5 (2 points).** What does the spurious model look at, and for which classes? Could
# you have found the shortcut from the accuracy on images like the training data? Propose one
# change to the data or the training that would remove the shortcut.
#
# ### BEGIN SOLUTION
# *Model answer.* The clean model's Grad-CAM peaks on or next to the object in 98 % of the
# images and never on the cue; 44 % of its positive relevance lies on the object (15 % of the
# image). The spurious model points at the coloured corner patch for every square and every
# triangle (peak on the cue for 100 % of them, 67 % of all images, 18 % of the relevance in
# 1.6 % of the image), and at the object only for circles, so it seems to call a shape a
# circle when there is no green or blue patch. Accuracy on images like the training data
# (0.997) does not reveal the shortcut; the maps do, and the behavioural test confirms it:
# with a cue of random colour its accuracy drops to 0.39, near chance, while the clean model
# keeps 1.00. Remedies: remove the correlation from the training data (randomise or remove the
# patch, as for the clean model), or augment the training images by painting the corner patch
# in a random colour or cropping the corners, and validate on data where the cue is random.
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - **Gradients** (vanilla, × input, SmoothGrad, Integrated Gradients) explain a prediction in
#   one or a few backward passes; IG is complete, SmoothGrad is less noisy, gradient × input
#   and IG with a black baseline cannot credit black pixels.
# - **Occlusion** needs only forward passes, one per window position, and its resolution is
#   the window's.
# - **Grad-CAM** and **Grad-CAM++** explain at the resolution of the last convolution: coarse,
#   but class-specific and cheap.
# - The same gradients build **adversarial examples** (FGSM).
# - Maps must be **checked**: the randomization test rejects maps that ignore the model; deletion
#   curves measure faithfulness; the pointing game and relevance mass compare with ground truth,
#   and exposed the shortcut of the spurious model.

# %% [markdown]
# ## Your progress
#
# The visible checks of every autograded part, rerun on your current functions. They are not
# the grade: hidden tests on other data decide it.

# %%
check.summary(globals())
