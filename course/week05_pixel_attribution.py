# %% [markdown]
# # Week 5 — Pixel attribution for neural networks: saliency maps, Grad-CAM and their sanity checks
#
# Weeks 2 and 3 explained black boxes from the outside: perturb the input, watch the output.
# Those methods still work for a convolutional network, but a network is not a black box to
# its owner: we can read its layers and, above all, differentiate it. This week uses that to
# explain image classifiers pixel by pixel, and then asks the question that matters most:
# **is the explanation right?**
#
# After this lecture you can
#
# - say why neural networks get their own explanation methods and what their layers learn;
# - contrast **perturbation** (occlusion) with **gradient** attribution, and explain the
#   saturation problem of the vanilla gradient;
# - compute and read vanilla gradients, gradient × input, **SmoothGrad** and **Integrated
#   Gradients** (with its axioms), and the DeepLIFT/SHAP family, with captum;
# - explain **CAM**, **Grad-CAM** and **Grad-CAM++**;
# - build an **adversarial example** (FGSM) and say what augmentation does against it;
# - **test** a saliency map: model randomization, insertion/deletion curves, the pointing game
#   against ground-truth masks, and a model with a shortcut whose maps give it away.
#
# In the lab you implement the methods yourself and evaluate them.

# %%
import copy
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import (
    DeepLift,
    DeepLiftShap,
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from captum.robust import FGSM
from skimage import data as skdata
from skimage.filters import sobel
from skimage.metrics import structural_similarity
from torch import nn
from torchvision import transforms

from xaikit.cnn import (
    accuracy,
    forward_with_activations,
    load_mnist_digits,
    load_model,
    predict_proba,
    pretrained_resnet18,
)
from xaikit.heatmaps import plot_attribution_grid, show_image, to_heatmap, to_numpy
from xaikit.images import make_shapes

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # the networks are tiny: one thread beats two that wait for each other
torch.manual_seed(0);

# %% [markdown]
# ## 1. Why neural networks need their own methods
#
# A convolutional network maps the pixels to a class through millions of multiplications,
# several non-linear layers and many learned weights: no person can follow that mapping. The
# model-agnostic methods of the last weeks (PDP, LIME, SHAP) still apply, but they treat the
# network as a black box and pay for it: a LIME explanation of one image needs hundreds of
# forward passes. Two facts about networks let us do better:
#
# - they **learn features** in their hidden layers (edges, textures, parts), which special
#   tools can make visible;
# - they are **differentiable**: one backward pass gives the gradient of a class score with
#   respect to every pixel, the sensitivity $\Delta\text{output} / \Delta\text{input}$ of the
#   prediction, for the price of about two extra forward passes (backpropagation computes, per
#   layer, the gradients with respect to the layer's input and, unless switched off, its
#   weights: about twice the multiplications of the forward pass; Goodfellow, Bengio &
#   Courville, *Deep Learning*, section 6.5).
#
# *Pixel attribution* (also called a saliency map) assigns each input pixel a share of the
# responsibility for one prediction. Methods come in two families: **perturbation-based**
# (hide part of the image, watch the score: occlusion, LIME) and **gradient-based** (read the
# sensitivity from the network: vanilla gradient, Integrated Gradients, Grad-CAM, ...).

# %% [markdown]
# ## 2. Two data sets, three small networks
#
# **Digits**: 5,000 handwritten MNIST digits of 28 × 28 pixels, and a LeNet-style network
# (`DigitsCNN`: two convolutions with max pooling, two dense layers) trained on 4,000 of them.
# **Shapes**: synthetic 32 × 32 images of a circle, square or triangle on a textured
# background, with the pixel **mask** of the object (the ground truth we need in section 9) and a
# coloured 4 × 4 **cue** patch in a corner. `ShapesCNN` has four convolutions, then global
# average pooling and one linear layer. Two copies were trained: `shapes_clean` saw cues of
# random colour; `shapes_spurious` saw a cue whose colour always matched the class, like the
# photographs in which every fox stands on snow. All weights ship with the course helper.

# %%
digits = load_mnist_digits()
digit_model = load_model("digits")
x_test, y_test = digits.images[digits.test], digits.labels[digits.test]
print(f"digits model: test accuracy {accuracy(digit_model, x_test, y_test):.3f}")

shapes = make_shapes(200, cue_strength=1.0, random_state=31)
x_shapes, y_shapes = torch.from_numpy(shapes.images), torch.from_numpy(shapes.labels)
clean_model, spurious_model = load_model("shapes_clean"), load_model("shapes_spurious")
for name, model in [("clean", clean_model), ("spurious", spurious_model)]:
    print(f"shapes model ({name}): accuracy {accuracy(model, x_shapes, y_shapes):.3f} on images like its training data")

fig, axes = plt.subplots(1, 8, figsize=(15, 2.4), layout="constrained")
for k, ax in enumerate(axes[:4]):
    show_image(x_test[k * 100], ax, title=f"digit, label {int(y_test[k * 100])}")
for k, ax in enumerate(axes[4:]):
    show_image(x_shapes[k], ax, title=f"{shapes.class_names[int(y_shapes[k])]}", mask=shapes.masks[k])
fig.suptitle("The two data sets (object masks outlined in white; note the coloured cue in a corner)");

# %% [markdown]
# ## 3. What the layers learn
#
# The first convolution of the digits network has eight 5 × 5 filters. Each responds to a
# simple pattern (an edge of some orientation, a blob), and its output, the *activation map*,
# shows where that pattern occurs. Deeper layers combine these into parts of digits; the dense
# layers connect the parts to the ten classes. The activations become smaller, coarser and more
# abstract from layer to layer, and sparser: some second-layer maps stay empty, because the
# pattern their filter looks for is not in this digit. The network distils the pixels into
# class evidence.

# %%
digit = x_test[:1]
_, act1 = forward_with_activations(digit_model, digit_model.relu1, digit)
_, act2 = forward_with_activations(digit_model, digit_model.relu2, digit)
filters = digit_model.conv1.weight.detach()[:, 0]
fig, axes = plt.subplots(3, 8, figsize=(14, 5.6), layout="constrained")
for k in range(8):
    axes[0, k].imshow(filters[k], cmap="RdBu_r", vmin=-filters.abs().max(), vmax=filters.abs().max())
    axes[0, k].set_title(f"conv1 filter {k}", fontsize="small")
    axes[1, k].imshow(to_numpy(act1[0, k]), cmap="inferno")
    axes[1, k].set_title(f"relu1 map {k} (24×24)", fontsize="small")
    axes[2, k].imshow(to_numpy(act2[0, k]), cmap="inferno")
    axes[2, k].set_title(f"relu2 map {k} (8×8)", fontsize="small")
for ax in axes.ravel():
    ax.set(xticks=[], yticks=[])
for r, label in enumerate(["filter row", "pixel row", "position row"]):
    axes[r, 0].set_ylabel(label)
for ax in axes[-1]:
    ax.set_xlabel("column")
fig.suptitle(f"Digits network: first-layer filters (red +, blue −) and activation maps of a {int(y_test[0])}");

# %% [markdown]
# ## 4. Perturbation: occlusion
#
# The most direct attribution hides part of the image and measures how much the class score
# drops (Zeiler & Fergus, 2014). Sliding a window over the image gives a map; each pixel gets
# the average drop over the windows that cover it. It needs no access to the model's insides,
# but one forward pass per window position, and the map is as coarse as the window.

# %%
pick = [100 * k + 3 for k in range(6)]  # one test digit of each class 0-5
x6, y6 = x_test[pick], y_test[pick]
titles6 = [f"label {int(y)}" for y in y6]
occlusion = Occlusion(digit_model)
start = time.perf_counter()
maps_occlusion = occlusion.attribute(x6, target=y6, sliding_window_shapes=(1, 6, 6), strides=(1, 2, 2), baselines=0.0)
n_windows = ((28 - 6) // 2 + 1) ** 2
print(f"occlusion: {n_windows} window positions = {n_windows} forward passes per image, {time.perf_counter() - start:.2f} s")
plot_attribution_grid(x6, {"occlusion 6×6": to_heatmap(maps_occlusion, reduce="sum")}, titles=titles6,
                      title="Occlusion of the digits (red: hiding the window lowers the score of the label)");

# %% [markdown]
# ## 5. The vanilla gradient and its saturation problem
#
# Simonyan, Vedaldi and Zisserman (2013) take the gradient of the class score $S_c$ (the logit,
# before the softmax) with respect to the input,
#
# $$E_{\text{grad}}(x_0) = \frac{\partial S_c}{\partial x}\Big|_{x = x_0},
# \qquad\text{so that}\qquad S_c(x) \approx E_{\text{grad}}(x_0)^\top x + b \text{ near } x_0 .$$
#
# Recipe: one forward pass, one backward pass from the score of class $c$, and a picture of the
# gradient, usually its absolute value (captum's `Saliency` default) or with its sign. It answers
# *"which pixels would change the score fastest?"*, a question about the model's local
# sensitivity rather than about which pixels the decision rests on.
#
# The answer can be misleading. Take a score that **saturates**, $f(x) = 1 - \mathrm{ReLU}(1 - x_1 - x_2)$:
# once $x_1 + x_2 \ge 1$ the output is stuck at 1 and the gradient is 0. At $x = (1, 1)$ both
# inputs clearly made the output 1 (it is 0 at the black image), yet the gradient says that
# neither matters. Deep networks saturate all the time (ReLUs switched off, softmax near 1).

# %%
class Saturating(nn.Module):
    """f(x) = 1 - relu(1 - x1 - x2): one output, saturated once x1 + x2 >= 1."""

    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        return (1 - self.relu(1 - x.sum(dim=1, keepdim=True)))


toy = Saturating()
x_toy = torch.tensor([[1.0, 1.0]], requires_grad=True)
alphas = torch.linspace(0, 1, 101)[:, None]
path = alphas * x_toy.detach()
path.requires_grad_(True)
values = toy(path)
grads = torch.autograd.grad(values.sum(), path)[0][:, 0]
print(f"f(0, 0) = {toy(torch.zeros(1, 2)).item():.1f}, f(1, 1) = {toy(x_toy).item():.1f}")
print(f"vanilla gradient at (1, 1): {Saliency(toy).attribute(x_toy, target=0, abs=False).tolist()}")
print(f"Integrated Gradients at (1, 1): {IntegratedGradients(toy).attribute(x_toy, target=0).tolist()}")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(alphas[:, 0], to_numpy(values[:, 0]), label="f(α·x)")
ax.plot(alphas[:, 0], to_numpy(grads), "--", label="∂f/∂x₁ at α·x")
ax.axvspan(0.5, 1, color="grey", alpha=0.15, label="saturated: gradient 0")
ax.set(xlabel="α (position on the straight path from the black image to x = (1, 1))",
       ylabel="output and gradient (unitless)", title="A saturating model: the gradient vanishes where the output is made")
ax.legend();

# %% [markdown]
# Integrated Gradients (section 7) splits the output of 1 fairly, 0.5 to each input, because it
# looks at the gradient *along the whole path* from the black image, not only at the end.
#
# On the digits, the vanilla gradient is noisy: bright speckles on the background, where there
# is no ink at all.

# %%
x6.requires_grad_(True)  # captum would do it for us, with a reminder
maps_saliency = Saliency(digit_model).attribute(x6, target=y6)
maps_gxi = InputXGradient(digit_model).attribute(x6, target=y6)

# %% [markdown]
# ## 6. Gradient × input and SmoothGrad
#
# **Gradient × input** multiplies the signed gradient by the pixel values, $x \odot \partial S_c/\partial x$
# (Shrikumar et al., 2016). For a linear model $S_c = w^\top x + b$ it is exactly each pixel's
# contribution $w_j x_j$; for a network it is a first-order estimate of it. It is zero wherever
# a pixel is zero, here on the whole black background.
#
# **SmoothGrad** (Smilkov et al., 2017) averages the gradient over $n$ noisy copies of the image,
#
# $$\hat E(x) = \frac{1}{n}\sum_{k=1}^{n} E(x + \varepsilon_k),\qquad \varepsilon_k \sim \mathcal N(0, \sigma^2 I),$$
#
# which cancels the pixel-to-pixel jitter of the gradient. The paper sets $\sigma$ as a share
# of the input's range (10–20 %); captum's `NoiseTunnel` takes $\sigma$ in absolute units, which
# for pixels in [0, 1] is the same thing. With captum's `Saliency` inside, it averages
# absolute gradients.

# %%
smooth = NoiseTunnel(Saliency(digit_model))
torch.manual_seed(0)
maps_smooth = smooth.attribute(x6, nt_type="smoothgrad", nt_samples=25, stdevs=0.15, target=y6)
plot_attribution_grid(x6, {"|gradient|": to_heatmap(maps_saliency), "gradient × input": to_heatmap(maps_gxi, reduce="sum"),
                           "SmoothGrad σ=0.15": to_heatmap(maps_smooth)}, titles=titles6,
                      title="Gradient maps of the digits network (red: for the label, blue: against)");

# %% [markdown]
# ## 7. Integrated Gradients and its axioms
#
# Sundararajan, Taly and Yan (2017) ask what an attribution method *should* do, and state
# axioms that most methods above violate:
#
# - **Sensitivity**: if the input and the baseline differ in one feature and get different
#   predictions, that feature gets a non-zero attribution. The vanilla gradient fails it
#   (the saturating example).
# - **Implementation invariance**: two networks that compute the same function get the same
#   attributions, however they are built. Gradients satisfy it (the chain rule does not care
#   how the function is implemented); methods that redefine backpropagation layer by layer
#   (DeepLIFT, LRP) do not in general.
# - **Completeness**: the attributions add up to the difference between the output at the input
#   and at a baseline $x'$.
#
# Integrated Gradients satisfies all three. It integrates the gradient along the straight path
# from the baseline (a black image by default) to the input:
#
# $$\mathrm{IG}_j(x) = (x_j - x'_j)\int_0^1 \frac{\partial S_c\big(x' + \alpha(x - x')\big)}{\partial x_j}\,d\alpha ,
# \qquad \sum_j \mathrm{IG}_j(x) = S_c(x) - S_c(x').$$
#
# In practice the integral is a sum over `n_steps` points. captum reports how far the sum is
# from complete (the *convergence delta*), which shows how many steps are enough:

# %%
ig = IntegratedGradients(digit_model)
steps = [4, 8, 16, 32, 64, 128]
fig, ax = plt.subplots(figsize=(7, 3.5))
for method in ["riemann_right", "riemann_middle", "gausslegendre"]:
    deltas = [ig.attribute(x6, target=y6, n_steps=n, method=method, return_convergence_delta=True)[1].abs().mean().item()
              for n in steps]
    ax.plot(steps, deltas, "-o", label=method)
ax.set(xscale="log", yscale="log", xlabel="n_steps (points on the path)",
       ylabel="|Σ IG − (S(x) − S(black))| (logit units)", title="Completeness of Integrated Gradients on six digits")
ax.legend();
maps_ig = ig.attribute(x6, target=y6, n_steps=64)

# %% [markdown]
# The error shrinks as the path gets more points. Rules that sample inside the intervals (the
# midpoint rule and Gauss–Legendre, captum's default) do better than the right-endpoint rule:
# with 64 points they are complete to within a few hundredths of a logit, while the scores
# change by about 10 logits between the black image and a digit.

# %% [markdown]
# The **baseline** is part of the explanation: IG explains the difference from it. With a black
# baseline, a black pixel gets no attribution whatever its role (the empty centre of a 0), just
# like gradient × input. Other baselines (a blurred image, noise, an average of many images)
# answer other questions.

# %% [markdown]
# ## 8. DeepLIFT, DeepSHAP and GradientSHAP
#
# **DeepLIFT** (Shrikumar et al., 2017) propagates *differences from a reference* instead of
# gradients: each neuron's change from its reference activation is split among its inputs by
# rules (here the rescale rule), in one backward pass. Like IG it is complete, but it is not
# implementation invariant. **DeepSHAP** averages DeepLIFT over many references drawn from the
# data, which approximates Shapley values with the data as background (week 3). **GradientSHAP**
# averages gradient × (input − reference) at random points between random references and the
# input, with noise: IG, SmoothGrad and SHAP in one expectation. All three come with captum and
# need every non-linearity to be its own module (our networks have one `nn.ReLU` per layer).

# %%
background = digits.images[digits.train[:40]]
with warnings.catch_warnings():  # captum announces that it hooks the ReLUs for the duration of the call
    warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
    attributions = {
        "Integrated Gradients": maps_ig,
        "DeepLIFT (black reference)": DeepLift(digit_model).attribute(x6, target=y6),
        "DeepSHAP (40 digits)": DeepLiftShap(digit_model).attribute(x6, baselines=background, target=y6),
    }
torch.manual_seed(0)
attributions["GradientSHAP (40 digits)"] = GradientShap(digit_model).attribute(x6, baselines=background, target=y6,
                                                                               n_samples=20, stdevs=0.05)
with torch.no_grad():
    gap = (digit_model(x6) - digit_model(torch.zeros_like(x6)))[torch.arange(6), y6]
print("completeness, sum of attributions against S(x) - S(black) for the first digit:")
for label in ["Integrated Gradients", "DeepLIFT (black reference)"]:
    print(f"  {label}: {attributions[label][0].sum().item():.3f} vs {gap[0].item():.3f}")
plot_attribution_grid(x6, {k: to_heatmap(v, reduce="sum") for k, v in attributions.items()}, titles=titles6,
                      title="Reference-based attributions (red: for the label, blue: against)");

# %% [markdown]
# DeepSHAP and GradientSHAP explain the difference from *typical digits*, so the background can
# carry attribution too: ink missing where other digits have it counts against (blue) or for
# the class.

# %% [markdown]
# ## 9. Class activation maps: CAM, Grad-CAM, Grad-CAM++
#
# Pixel-level maps are noisy because single pixels matter little to a CNN. **Class activation
# maps** explain with the feature maps $A^k$ of the last convolutional layer instead: they are
# coarse (16 × 16 here) but already encode objects and parts.
#
# **CAM** (Zhou et al., 2016) needs a network that ends in global average pooling and one
# linear layer, like `ShapesCNN`: then $S_c = \sum_k w_{ck}\,\overline{A^k} + b_c$, and the map
# $\mathrm{CAM}_c = \sum_k w_{ck} A^k$ shows where the class evidence lies, position by
# position. Its drawbacks: it only exists for that architecture (others must be changed and
# retrained), and only at the last convolution.
#
# **Grad-CAM** (Selvaraju et al., 2017) generalises it to any network and layer without
# retraining: weight each feature map by the average gradient of the score over its positions,
# and keep the positive part,
#
# $$\alpha_k^c = \frac{1}{hw}\sum_{i,j}\frac{\partial S_c}{\partial A^k_{ij}},\qquad
# L^c_{\text{Grad-CAM}} = \mathrm{ReLU}\Big(\sum_k \alpha_k^c A^k\Big),$$
#
# then upsample the map to the image. For a GAP network, $\alpha_k^c = w_{ck}/(hw)$, so
# Grad-CAM *is* CAM up to that factor:

# %%
x_s, y_s = x_shapes[:6].clone(), y_shapes[:6]
titles_s = [shapes.class_names[int(y)] for y in y_s]
logits, A = forward_with_activations(clean_model, clean_model.relu4, x_s)
cam = torch.einsum("nk,nkhw->nhw", clean_model.fc.weight[y_s], A)[:, None]  # CAM, before the ReLU
grad_cam = LayerGradCam(clean_model, clean_model.relu4).attribute(x_s, target=y_s, relu_attributions=True)
h, w = A.shape[-2:]
print(f"feature maps {tuple(A.shape[1:])}; largest |Grad-CAM − ReLU(CAM)/(h·w)| = "
      f"{(grad_cam - torch.relu(cam) / (h * w)).abs().max().item():.1e}")
grad_cam_up = LayerAttribution.interpolate(grad_cam, (32, 32), interpolate_mode="bilinear")
plot_attribution_grid(x_s, {"Grad-CAM (16×16)": LayerAttribution.interpolate(grad_cam, (32, 32)),
                            "Grad-CAM, bilinear": grad_cam_up,
                            "|gradient|": to_heatmap(Saliency(clean_model).attribute(x_s.requires_grad_(True), target=y_s))},
                      titles=titles_s, masks=shapes.masks[:6], title="Clean shapes model: Grad-CAM against the vanilla gradient");

# %% [markdown]
# captum's `LayerGradCam` returns the map at the layer's resolution and applies the ReLU only
# with `relu_attributions=True`; `LayerAttribution.interpolate` upsamples it (nearest
# neighbour by default, hence the blocks in the first row).
#
# Two weaknesses: Grad-CAM inherits the gradient's problems (a saturated score gives weak
# weights), and averaging the gradient lets a feature map that is strongly relevant in a small
# region count for little. **Grad-CAM++** (Chattopadhay et al., 2018) weights the positive
# gradients position by position, $\alpha_k^c = \sum_{i,j} a^{kc}_{ij}\,\mathrm{ReLU}(\partial S_c/\partial A^k_{ij})$,
# with coefficients $a^{kc}_{ij}$ derived from higher-order derivatives; it tends to cover
# several instances of an object and their full extent (you implement it in the lab).
# **Score-CAM** (Wang et al., 2020) drops gradients altogether: it weights each feature map by
# the score the network gives the image masked with that (upsampled) map. Further reading.

# %% [markdown]
# ## 10. Adversarial examples and augmentation
#
# The gradient also tells how to change an image *as little as possible* to change the
# prediction. The **fast gradient sign method** (Goodfellow et al., 2015) moves every pixel by
# $\pm\epsilon$ in the direction that increases the loss of the true class:
# $x_{\text{adv}} = \mathrm{clip}\big(x + \epsilon\,\mathrm{sign}(\nabla_x \mathrm{CE}(f(x), y))\big)$.
# For a human the images are the same digit; for the network they can be different classes.

# %%
attack = FGSM(digit_model, loss_func=lambda out, y: F.cross_entropy(out, y, reduction="none"),
              lower_bound=0.0, upper_bound=1.0)
epsilons = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]
x_attack = x_test.clone().requires_grad_(True)
accuracies = [accuracy(digit_model, attack.perturb(x_attack, eps, y_test), y_test) for eps in epsilons]
x_adv = attack.perturb(x6, 0.15, y6)
p_clean, p_adv = predict_proba(digit_model, x6), predict_proba(digit_model, x_adv)

fig, axes = plt.subplots(2, 7, figsize=(15, 4.6), layout="constrained")
gs = axes[0, 0].get_gridspec()
for ax in axes[:, 0]:
    ax.remove()
ax_curve = fig.add_subplot(gs[:, 0])
ax_curve.plot(epsilons, accuracies, "-o")
ax_curve.set(xlabel="ε (per-pixel change, [0, 1] intensity units)", ylabel="test accuracy", title="Accuracy under FGSM",
             ylim=(0, 1))
for k in range(6):
    show_image(x6[k], axes[0, k + 1], title=f"{p_clean[k].argmax()} ({p_clean[k].max():.0%})")
    show_image(x_adv[k], axes[1, k + 1], title=f"ε=0.15: {p_adv[k].argmax()} ({p_adv[k].max():.0%})")
fig.suptitle("FGSM (captum.robust): clean digits (top) and adversarial ones (bottom), with prediction and confidence");

# %% [markdown]
# Adversarial examples show that the features a network uses are not the ones we see, a
# useful warning before reading a saliency map as "what the network looks at". The standard
# defence is **augmentation**: train on transformed copies of the images. Random rotations,
# shifts and crops make a model robust to those transformations and enlarge the data set, but
# should be chosen with care (a rotated 6 is a 9); **adversarial training** adds FGSM or PGD
# examples with their true labels to every batch. A few augmented copies of one digit:

# %%
augment = transforms.Compose([transforms.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1)),
                              transforms.GaussianBlur(3, sigma=(0.1, 1.0))])
torch.manual_seed(1)
fig, axes = plt.subplots(1, 7, figsize=(13, 2.3), layout="constrained")
show_image(x_test[3], axes[0], title="original")
for k, ax in enumerate(axes[1:]):
    show_image(augment(x_test[3].detach()), ax, title=f"augmented {k + 1}")
fig.suptitle("Augmentation: random rotation (±15°), shift (±10 %), scaling and blur");

# %% [markdown]
# ## 11. Is the map right? Sanity checks
#
# Saliency maps are easy to read and hard to verify: a map can look convincing and have little
# to do with the model. Adebayo et al. (2018) proposed **model-parameter randomization**: if the
# weights of a layer are re-initialised, a map that explains the model must change. They found
# that some popular methods produce nearly the same maps for trained and random networks, and
# that those maps resemble an **edge detector** applied to the image, which needs no model at all.
#
# Below, one layer at a time is re-initialised (the *independent* variant; in the lab you write
# the *cascading* one), and each map is compared with the trained network's map by the
# structural similarity index (SSIM, from scikit-image; 1 = identical).

# %%
def randomized_copy(model, layer_name, seed=0):
    """A copy of the model with one layer re-initialised."""
    randomized = copy.deepcopy(model)
    torch.manual_seed(seed)
    dict(randomized.named_modules())[layer_name].reset_parameters()
    return randomized


def grad_cam_map(model, x, y):
    raw = LayerGradCam(model, model.relu4).attribute(x, target=y, relu_attributions=True)
    return to_numpy(LayerAttribution.interpolate(raw, (32, 32), interpolate_mode="bilinear"))[:, 0]


def gradient_map(model, x, y):
    return to_heatmap(Saliency(model).attribute(x, target=y))


def ssim(a, b):
    a, b = a / (a.max() or 1), b / (b.max() or 1)
    return structural_similarity(a, b, data_range=1.0)


x12, y12 = x_shapes[:12].clone().requires_grad_(True), y_shapes[:12]
edges = np.stack([sobel(np.asarray(to_numpy(img).mean(axis=0))) for img in x12])
rows, scores = {}, {}
for method, explain in [("|gradient|", gradient_map), ("Grad-CAM", grad_cam_map)]:
    trained = explain(clean_model, x12, y12)
    rows[f"{method}, trained"] = trained[:4]
    for layer in ["fc", "conv4", "conv1"]:
        randomized = explain(randomized_copy(clean_model, layer), x12, y12)
        scores[(method, layer)] = np.mean([ssim(t, r) for t, r in zip(trained, randomized)])
        if layer == "fc":
            rows[f"{method}, random fc"] = randomized[:4]
    scores[(method, "edge detector")] = np.mean([ssim(t, e) for t, e in zip(trained, edges)])
rows["Sobel edges (no model)"] = edges[:4]
plot_attribution_grid(x12[:4], rows, titles=[shapes.class_names[int(y)] for y in y12[:4]],
                      title="Maps of the trained model, after re-initialising the output layer, and an edge detector");

# %%
labels = ["fc", "conv4", "conv1", "edge detector"]
fig, ax = plt.subplots(figsize=(7, 3.5))
for k, method in enumerate(["|gradient|", "Grad-CAM"]):
    bars = ax.bar(np.arange(4) + (k - 0.5) * 0.38, [scores[(method, lab)] for lab in labels], 0.38, label=method)
    ax.bar_label(bars, fmt="%.2f", fontsize="small")
ax.set_xticks(np.arange(4), ["random fc", "random conv4", "random conv1", "Sobel edges"])
ax.set(ylabel="SSIM with the trained map (mean of 12)", xlabel="comparison", ylim=(0, 1),
       title="Sanity check: how much of the map survives randomization?")
ax.legend();

# %% [markdown]
# The absolute gradient keeps much of its picture when the output layer or the last
# convolution is re-initialised (SSIM about 0.7 and 0.5): its bright pixels are where the
# input and the early layers make the network sensitive (the object's edges), whatever the top
# of the network learned. Grad-CAM changes much more (about 0.3): its map is built from the
# top layers. Re-initialising the first layer changes both completely. Neither resembles the
# model-free edge detector on this small network; on large ImageNet networks Adebayo et al.
# found methods (guided backpropagation among them) whose maps did. A method that passes the
# test is not proven right, but a map that does not depend on the model cannot explain its
# decision.

# %% [markdown]
# ## 12. Faithfulness: insertion and deletion curves
#
# A faithful map ranks pixels by how much the prediction depends on them. Petsiuk et al.
# (2018, RISE) turn this into curves: **deletion** removes the pixels from the most to the least
# important and watches the class probability fall (a small area under the curve is good);
# **insertion** starts from a blurred image and puts the pixels back in the same order (a large
# area is good). Here is the insertion curve (the lab asks you for deletion):

# %%
def insertion_curve(model, x, y, saliency, pixels_per_step=32):
    blurred = transforms.GaussianBlur(9, sigma=4.0)(x)
    order = np.argsort(-saliency.reshape(len(x), -1), axis=1)
    steps = np.arange(0, 1024 + pixels_per_step, pixels_per_step).clip(max=1024)
    probabilities = []
    for n in steps:
        keep = np.zeros((len(x), 1024), dtype=bool)
        np.put_along_axis(keep, order[:, :n], True, axis=1)
        mixed = torch.where(torch.from_numpy(keep).view(-1, 1, 32, 32), x, blurred)
        probabilities.append(predict_proba(model, mixed)[np.arange(len(x)), y.numpy()])
    return steps / 1024, np.array(probabilities).T


x40, y40 = x_shapes[:40].clone(), y_shapes[:40]
maps40 = {"Grad-CAM": grad_cam_map(clean_model, x40, y40),
          "|gradient|": gradient_map(clean_model, x40.requires_grad_(True), y40),
          "random order": np.random.default_rng(0).random((40, 32, 32))}
fig, ax = plt.subplots(figsize=(7, 3.8))
for label, saliency in maps40.items():
    fraction, curves = insertion_curve(clean_model, x40.detach(), y40, saliency)
    ax.plot(fraction, curves.mean(axis=0), label=f"{label} (AUC {np.trapezoid(curves.mean(axis=0), fraction):.2f})")
ax.set(xlabel="fraction of pixels inserted into the blurred image (most important first)",
       ylabel="probability of the true class (mean of 40)", title="Insertion curves, clean shapes model", ylim=(0, 1.02))
ax.legend();

# %% [markdown]
# All three orders beat the random one, and here the gradient wins narrowly: a few sharp edge
# pixels are enough to bring the class back into the blurred image. In the lab, the deletion
# curve of the same model ranks the gradient last. Faithfulness scores depend on the
# perturbation they use, so report more than one. And both curves have a blind spot: half
# deleted or half blurred images are unlike anything the model was trained on, so part of the
# change may come from the artefact rather than from the evidence. captum's `captum.metrics` offers two related scores, *infidelity* (does the map
# predict the effect of perturbations?) and *sensitivity* (does the map change under tiny input
# noise?).

# %% [markdown]
# ## 13. Ground truth: the pointing game and the shortcut model
#
# With synthetic images we know where the object is, so a map can be *scored*. The **pointing
# game** (Zhang et al., 2018) counts a hit when the map's maximum falls on the object (within a
# few pixels' tolerance); **relevance mass** (Arras et al., 2022) measures which share of the
# positive attribution lies on it. Both assume the model *should* look at the object; when it
# does not, the map is right to point elsewhere, and that is how a shortcut is found.
#
# The spurious model was trained with a cue whose colour always matched the class. On images
# like its training data it is as accurate as the clean model; on images whose cue colour is
# random, it collapses:

# %%
random_cue = make_shapes(200, cue_strength=0.0, random_state=32)
for name, model in [("clean", clean_model), ("spurious", spurious_model)]:
    print(f"{name:>8} model: accuracy {accuracy(model, x_shapes, y_shapes):.3f} with the matching cue, "
          f"{accuracy(model, torch.from_numpy(random_cue.images), random_cue.labels):.3f} with a random cue")

# %% [markdown]
# Its Grad-CAM maps show why. The crosses mark each map's maximum (the pointing game's guess):

# %%
fig, axes = plt.subplots(3, 6, figsize=(13, 6.6), layout="constrained")
for k in range(6):
    show_image(x_shapes[k], axes[0, k], title=shapes.class_names[int(y_shapes[k])], mask=shapes.masks[k])
for r, (name, model) in enumerate([("clean", clean_model), ("spurious", spurious_model)], start=1):
    maps = grad_cam_map(model, x_shapes[:6], model(x_shapes[:6]).argmax(dim=1))
    for k in range(6):
        mesh = axes[r, k].imshow(maps[k] / maps[k].max(), cmap="inferno", vmin=0, vmax=1)
        axes[r, k].contour(shapes.masks[k].astype(float), levels=[0.5], colors="cyan", linewidths=0.6)
        peak = np.unravel_index(maps[k].argmax(), maps[k].shape)
        axes[r, k].plot(peak[1], peak[0], "x", color="lime", markersize=10, markeredgewidth=2)
        axes[r, k].set(title=f"{name} model", xlabel="pixel column", ylabel="pixel row")
fig.colorbar(mesh, ax=axes[1:, :].ravel().tolist(), shrink=0.8, label="Grad-CAM / its maximum")
fig.suptitle("Grad-CAM of the predicted class: the clean model looks at the shape's edges, the spurious one at the corner patch");

# %% [markdown]
# Measured on all 200 images: which share of each map's 16 highest pixels (the cue's size)
# falls on the cue, and which on the object (a *top-k intersection*, yet another localisation
# score)?

# %%
def top_k_share(maps, masks, k=16):
    top = np.argsort(-maps.reshape(len(maps), -1), axis=1)[:, :k]
    return np.take_along_axis(masks.reshape(len(masks), -1), top, axis=1).mean()


fig, ax = plt.subplots(figsize=(7, 3.5))
for j, (name, model) in enumerate([("clean", clean_model), ("spurious", spurious_model)]):
    maps = grad_cam_map(model, x_shapes, model(x_shapes).argmax(dim=1))
    shares = [top_k_share(maps, shapes.masks), top_k_share(maps, shapes.cue_masks)]
    bars = ax.bar(np.arange(2) + (j - 0.5) * 0.38, shares, 0.38, label=f"{name} model")
    ax.bar_label(bars, fmt="%.2f", fontsize="small")
ax.set_xticks([0, 1], ["on the object (15 % of the image)", "on the cue (1.6 % of the image)"])
ax.set(ylabel="share of the 16 top Grad-CAM pixels", xlabel="region", ylim=(0, 1),
       title="Where the Grad-CAM maps of 200 images concentrate")
ax.legend();

# %% [markdown]
# Half of the spurious model's top pixels lie on a patch that covers 1.6 % of the image; the
# clean model never looks there. (The clean model's top pixels lie on the object's edges, half of
# them just outside the mask, which only covers the interior: hence its modest 0.38, and why
# the pointing game allows a tolerance of a few pixels.) The maps expose what accuracy on the
# training distribution hid: the spurious model recognises squares and triangles by the colour
# of the corner patch and treats a circle as a bright blob without a green or blue patch. The remedy is in the data: remove the correlation,
# randomise the cue (augmentation), and validate on data where the shortcut does not hold.

# %% [markdown]
# ## 14. Optional, online: a pretrained ImageNet network on a photograph
#
# On Google Colab (or any machine with internet access) this cell downloads torchvision's
# ResNet-18, trained on ImageNet, and explains its prediction for scikit-image's photograph of
# a cat with Grad-CAM and Integrated Gradients. Offline it is skipped; nothing in the course
# depends on it.

# %%
pretrained = pretrained_resnet18()
if pretrained is not None:
    resnet, weights = pretrained
    photo = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1)
    batch = weights.transforms()(photo)[None]
    with torch.no_grad():
        probabilities = torch.softmax(resnet(batch), dim=1)[0]
    top = int(probabilities.argmax())
    label = weights.meta["categories"][top]
    raw = LayerGradCam(resnet, resnet.layer4).attribute(batch, target=top, relu_attributions=True)
    cam_photo = LayerAttribution.interpolate(raw, tuple(batch.shape[-2:]), interpolate_mode="bilinear")[0, 0]
    ig_photo = IntegratedGradients(resnet).attribute(batch, target=top, n_steps=32, internal_batch_size=8)
    shown = (batch[0] - batch[0].min()) / (batch[0].max() - batch[0].min())
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
    show_image(shown, axes[0], title=f"{label} ({probabilities[top]:.0%})")
    axes[1].imshow(to_numpy(cam_photo), cmap="inferno")
    axes[1].set(title="Grad-CAM at layer4 (7×7, upsampled)", xlabel="pixel column", ylabel="pixel row")
    axes[2].imshow(to_heatmap(ig_photo)[0], cmap="inferno")
    axes[2].set(title="|Integrated Gradients|, channels added", xlabel="pixel column", ylabel="pixel row")
    fig.suptitle("ResNet-18 (ImageNet) on skimage's chelsea photograph")

# %% [markdown]
# ## Summary
#
# | method | idea | cost per image | watch out for |
# |---|---|---|---|
# | occlusion | score drop when a window is hidden | one forward pass per window | coarse; out-of-distribution patches |
# | vanilla gradient | local sensitivity $\partial S_c/\partial x$ | one backward pass | noisy; saturation; fails randomization for the top layers |
# | gradient × input | first-order contribution $x \odot \nabla S_c$ | one backward pass | zero wherever the input is zero |
# | SmoothGrad | gradient averaged over noisy copies | $n$ backward passes | noise level $\sigma$ |
# | Integrated Gradients | path integral from a baseline; complete | `n_steps` backward passes | the baseline defines the question |
# | DeepLIFT / DeepSHAP / GradientSHAP | differences from references | one to a few backward passes | not implementation invariant; references |
# | CAM / Grad-CAM / Grad-CAM++ | feature maps weighted by class evidence | one backward pass | resolution of the layer; gradient problems |
#
# To trust a map, test it: **randomize** the model (the map must change), measure
# **deletion/insertion** curves (faithfulness), and compare with **ground truth** where you have
# it (pointing game, relevance mass); a map that points at a shortcut is a finding, not a failure.
#
# **References.** Simonyan, Vedaldi & Zisserman (2013), *Deep inside convolutional networks*.
# Zeiler & Fergus (2014), *Visualizing and understanding convolutional networks*. Goodfellow,
# Shlens & Szegedy (2015), *Explaining and harnessing adversarial examples*. Zhou et al. (2016),
# *Learning deep features for discriminative localization* (CAM). Shrikumar, Greenside &
# Kundaje (2017), *Learning important features through propagating activation differences*
# (DeepLIFT). Smilkov et al. (2017), *SmoothGrad*. Sundararajan, Taly & Yan (2017), *Axiomatic
# attribution for deep networks* (IG). Lundberg & Lee (2017), *A unified approach to interpreting
# model predictions* (DeepSHAP, GradientSHAP). Selvaraju et al. (2017), *Grad-CAM*. Chattopadhay
# et al. (2018), *Grad-CAM++*. Adebayo et al. (2018), *Sanity checks for saliency maps*. Petsiuk,
# Das & Saenko (2018), *RISE*. Zhang et al. (2018), *Top-down neural attention by excitation
# backprop* (pointing game). Wang et al. (2020), *Score-CAM*. Arras, Osman & Samek (2022), *CLEVR-XAI*
# (relevance mass). Molnar, *Interpretable Machine Learning*, chapters on pixel attribution and
# adversarial examples. Kokhlikyan et al. (2020), *Captum*.
