# %% [markdown]
# # Lab 8 — Explaining a language model: logit lens, logit attribution, induction heads and interventions
#
# A language model predicts the next token. *Which of its parts* made a prediction, and how? In
# this lab you open up a small transformer with PyTorch hooks and write the tools of
# mechanistic interpretability yourself. The model is tiny on purpose: it was trained on a task
# whose solution is known (Olsson et al., 2022), so at the end you can check whether your tools
# found the real mechanism.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `logit_lens` — read the prediction out of the residual stream after every layer | 2 |
# | 2 | `residual_components` — split the final residual stream into heads, embeddings and biases | 2 |
# | 2 | `direct_logit_attribution` — each component's direct share of a logit | 3 |
# | 3 | `previous_token_score` and `induction_score` — what each head attends to | 1 + 2 |
# | 4 | `patch_residual` and `patch_heads` — activation patching between a clean and a corrupted run | 3 + 2 |
# | 5 | `ablate_heads` — switch heads off (zero and mean ablation) | 3 |
# | | four written answers, graded by hand | 8 |
#
# **Conventions.** Token ids are `torch.long` tensors of shape `(batch, pos)`. The model returns
# logits of shape `(batch, pos, d_vocab)`: at position $t$ they score the token that comes at
# $t + 1$. Functions that run the model return **detached** tensors; the two attention scores of
# part 3 are plain functions on NumPy arrays. Do not change the model's weights.
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each answer: a green ✓ means the
# visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden tests
# compare your functions with TransformerLens and with reference implementations on fresh
# sequences and on freshly initialised models of other sizes (more layers, other head counts),
# so write general code: read the sizes from the model (`model.n_layers`, `model.n_heads`,
# `model.d_head`, ...). Use plain PyTorch; do not import `transformer_lens` in your answers.
# Write each answer on its own, without calling another of your functions: a slip in one would
# otherwise cost you twice (copying a few lines is fine).
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from xaikit.checks import week08 as check
from xaikit.tiny_transformer import (
    component_labels,
    load_tiny_transformer,
    make_repeated_tokens,
    next_token_loss,
    run_with_cache,
)

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # the model is tiny: one thread is faster than two taking turns
torch.manual_seed(0);

# %% [markdown]
# ## 0. The task, the model and its hooks
#
# **The task.** Each sequence consists of random tokens (ids 0–99): a prefix of random length
# (the *offset*), then a block of random length (the *period*) that repeats until the end.
# Before the first repeat the next token is unpredictable; afterwards it can be predicted
# perfectly by *looking back*: find the earlier occurrence of the current token and copy the
# token that followed it. Because the period and offset change from sequence to sequence, the
# model cannot memorise positions.
#
# **The known mechanism.** A two-layer attention-only transformer solves this with an
# *induction circuit* (Elhage et al., 2021; Olsson et al., 2022):
#
# 1. a **previous-token head** in layer 0 copies, into every position $j$, information about the
#    token at $j - 1$;
# 2. an **induction head** in layer 1, at the current position $t$, attends to the position $j$
#    whose *previous* token equals the current token (its key carries what the previous-token
#    head wrote), and copies the token found at $j$ into the prediction.
#
# The model below (2 layers × 4 heads, residual width 64, a final LayerNorm, no MLPs) was trained
# on this task; its weights ship with the course helper. Where are its previous-token and
# induction heads? You will find out.

# %%
model = load_tiny_transformer()
data = make_repeated_tokens(200, random_state=2024)
with torch.no_grad():
    loss = next_token_loss(model(data.tokens), data.tokens).numpy()
predictable = data.predictable[:, :-1]
print(model)
print(f"loss where the next token is predictable: {loss[predictable].mean():.3f}; "
      f"elsewhere: {loss[~predictable].mean():.3f} (guessing among 100 tokens: ln 100 = {np.log(100):.3f})")

# %% [markdown]
# Two sequences, with the loss of each prediction. The repeat starts at the dotted line.

# %%
fig, axes = plt.subplots(2, 1, figsize=(11, 4.2), layout="constrained", sharex=True)
for ax, i in zip(axes, (0, 1)):
    ax.bar(np.arange(loss.shape[1]), loss[i], color=np.where(predictable[i], "tab:green", "tab:grey"))
    ax.axvline(data.offsets[i] + data.periods[i] - 0.5, color="black", linestyle=":")
    ax.set(ylabel="loss [nats]", title=f"sequence {i}: offset {data.offsets[i]}, period {data.periods[i]} "
           "(green: next token predictable)")
axes[-1].set_xlabel("position t (predicting the token at t + 1)");

# %% [markdown]
# **Hooks.** Every operation of the model is its own module, so a forward hook can read (or
# replace) its output. `run_with_cache` records them all; the names are listed in the helper's
# documentation (`help(run_with_cache)`):
#
# | name | what | shape |
# |---|---|---|
# | `blocks.L.resid_pre` | residual stream entering block `L` | `(batch, pos, d_model)` |
# | `blocks.L.attn.pattern` | attention pattern (query × key) | `(batch, n_heads, pos, pos)` |
# | `blocks.L.attn.z` | each head's attention-weighted values | `(batch, pos, n_heads, d_head)` |
# | `resid_final` | residual stream after the last block | `(batch, pos, d_model)` |
# | `embed`, `pos_embed` | token and position embeddings | `(batch, pos, d_model)`, `(pos, d_model)` |
#
# Block `L` computes `x + attn(ln(x))`, and the model's output is
# `unembed(ln_final(resid_final))`: the **residual stream** is a sum that every layer adds to.

# %%
logits, cache = run_with_cache(model, data.tokens[:2])
for name in ("blocks.0.resid_pre", "blocks.1.attn.pattern", "blocks.1.attn.z", "resid_final"):
    print(f"{name:>22}: {tuple(cache[name].shape)}")

# %% [markdown]
# ## 1. The logit lens
#
# nostalgebraist (2020): the residual stream has the same shape after every layer, so decode it
# *as if the model stopped there*: apply the final LayerNorm and the unembedding to the residual
# stream entering each block, and to the final one,
#
# $$\text{lens}_\ell = \text{unembed}\big(\text{ln\_final}(r_\ell)\big),\qquad \ell = 0, \dots, L,$$
#
# where $r_\ell$ is the residual stream entering block $\ell$ (`blocks.ℓ.resid_pre`) and $r_L$ is
# `resid_final`. The LayerNorm is applied as the model applies it, with the statistics of each
# $r_\ell$. The last entry is the model's own output.

# %% nbgrader={"grade": false, "grade_id": "logit_lens", "locked": false, "schema_version": 3, "solution": true, "task": false}
def logit_lens(model, tokens):
    """Logits read out of the residual stream before every block and after the last.

    Parameters
    ----------
    model : TinyTransformer
    tokens : LongTensor of shape (batch, pos)

    Returns
    -------
    Tensor of shape (n_layers + 1, batch, pos, d_vocab), detached
        Entry ``l`` decodes the residual stream entering block ``l``; entry ``n_layers``
        decodes ``resid_final`` (the model's logits).
    """
    ### BEGIN SOLUTION
    _, cache = run_with_cache(model, tokens)
    names = [f"blocks.{layer}.resid_pre" for layer in range(model.n_layers)] + ["resid_final"]
    with torch.no_grad():
        return torch.stack([model.unembed(model.ln_final(cache[name])) for name in names])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "logit_lens_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.logit_lens(logit_lens)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.logit_lens(logit_lens)
### END HIDDEN TESTS

# %% [markdown]
# How likely is the right next token, read after each layer? Averaged over the positions
# before the repeat starts and over the predictable ones:

# %%
lens = logit_lens(model, data.tokens)
correct = torch.softmax(lens[:, :, :-1], dim=-1).gather(-1, data.tokens[None, :, 1:, None].expand(len(lens), -1, -1, 1))[..., 0].numpy()
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for mask, label in [(predictable, "next token predictable"), (~predictable, "not predictable")]:
    ax.plot(range(len(lens)), correct[:, mask].mean(axis=1), marker="o", label=label)
ax.set(xticks=range(len(lens)), xticklabels=["embeddings", "after layer 0", "after layer 1"],
       xlabel="residual stream read by the logit lens", ylabel="probability of the right token",
       ylim=(0, 1.05), title="Logit lens: when does the model know the next token?")
ax.legend();

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_logit_lens", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** After which layer can the logit lens read the right token, where
# it is predictable? What does that say about where the prediction is made, and why is layer 0
# alone not enough for this task? Why do *tuned* lenses exist for large models?
#
# ### BEGIN SOLUTION
# *Model answer.* Read from the embeddings or after layer 0, the right token gets about the
# chance probability (0.01 and 0.03 on predictable positions); only after layer 1 does it
# reach 0.99, while unpredictable positions stay at chance. So the prediction is written by
# layer 1. Layer 0 alone cannot do it: to predict, the model must compare the current token
# with the *previous* token of an earlier position, and that information only exists at the
# earlier position after a layer-0 head has moved it there; a second layer is needed to use it
# (composition of two heads). Tuned lenses: in large models the intermediate residual streams
# live in a different basis than the last one (the unembedding expects the final layer's
# representation), so the plain logit lens is biased and noisy for early layers; a tuned lens
# learns a small affine translator per layer before decoding.
# ### END SOLUTION

# %% [markdown]
# ## 2. Direct logit attribution
#
# The final residual stream is a **sum** of what each part of the model wrote into it:
#
# $$r_L = \underbrace{E[x_t]}_{\texttt{embed}} + \underbrace{P[t]}_{\texttt{pos\_embed}}
#        + \sum_{\ell, h} \underbrace{z^{\ell,h}_t W_O^{\ell,h}}_{\text{head } \ell, h}
#        + \underbrace{\textstyle\sum_\ell b_O^\ell}_{\texttt{bias}}.$$
#
# Head $h$ of layer $\ell$ writes $z^{\ell,h} W_O^{\ell,h}$, where $z^{\ell,h}$ is
# `cache["blocks.ℓ.attn.z"][:, :, h]` (shape `(batch, pos, d_head)`) and $W_O^{\ell,h}$ is the
# block of the output projection that reads it:
# `model.blocks[ℓ].attn.o.weight[:, h * d_head:(h + 1) * d_head].T` (shape `(d_head, d_model)`).
# The biases $b_O^\ell$ are `model.blocks[ℓ].attn.o.bias`.
#
# Write `residual_components`: the stack of these parts, in the order of
# `component_labels(model)` (every head, layer by layer, then `embed`, `pos_embed`, `bias`, as
# TransformerLens orders them). Their sum must equal `resid_final`.

# %%
print(component_labels(model))

# %% nbgrader={"grade": false, "grade_id": "residual_components", "locked": false, "schema_version": 3, "solution": true, "task": false}
def residual_components(model, tokens):
    """The parts that add up to the final residual stream.

    Parameters
    ----------
    model : TinyTransformer
    tokens : LongTensor of shape (batch, pos)

    Returns
    -------
    Tensor of shape (n_layers * n_heads + 3, batch, pos, d_model), detached
        In the order of ``component_labels(model)``; summed over axis 0 it is ``resid_final``.
    """
    ### BEGIN SOLUTION
    _, cache = run_with_cache(model, tokens)
    batch, n_pos = tokens.shape
    d_head = model.d_head
    parts = []
    with torch.no_grad():
        for layer, block in enumerate(model.blocks):
            z = cache[f"blocks.{layer}.attn.z"]
            for head in range(model.n_heads):
                W_O = block.attn.o.weight[:, head * d_head:(head + 1) * d_head].T
                parts.append(z[:, :, head] @ W_O)
        parts.append(cache["embed"])
        parts.append(cache["pos_embed"].expand(batch, n_pos, -1))
        parts.append(sum(block.attn.o.bias for block in model.blocks).expand(batch, n_pos, -1))
        return torch.stack(parts)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "residual_components_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.residual_components(residual_components)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.residual_components(residual_components)
### END HIDDEN TESTS

# %% [markdown]
# **From the residual stream to a logit.** The logit of token $y$ is
#
# $$\text{logit}_y = \Big(\gamma \odot \frac{r_L - \mu(r_L)}{\sigma(r_L)} + \beta\Big) \cdot W_U[y] + b_U[y],$$
#
# with the final LayerNorm's mean $\mu$ and scale $\sigma = \sqrt{\operatorname{var}(r_L) + \varepsilon}$
# (over the `d_model` entries; biased variance, $\varepsilon$ = `model.ln_final.eps`), its weight
# $\gamma$ and bias $\beta$ (`model.ln_final.weight`, `.bias`), and the unembedding
# $W_U[y]$ = `model.unembed.weight[y]`, $b_U[y]$ = `model.unembed.bias[y]`.
#
# The LayerNorm is not linear, because $\sigma$ depends on the whole sum. The usual convention
# (TransformerLens's `logit_attrs`) **freezes the scale** $\sigma(r_L)$ of the actual forward
# pass. Then centring is linear, and the logit splits exactly into one term per component $c$,
#
# $$\text{DLA}_c = \Big(\gamma \odot \frac{c - \mu(c)}{\sigma(r_L)}\Big) \cdot W_U[y],$$
#
# plus one constant term, $\beta \cdot W_U[y] + b_U[y]$, that no component wrote. Return the
# components' terms in their order, then the constant term as the last row: the rows sum to the
# logit. This is the **direct** effect of each component: what it adds to the logit through the
# residual stream alone, not through later layers that read it.

# %% nbgrader={"grade": false, "grade_id": "direct_logit_attribution", "locked": false, "schema_version": 3, "solution": true, "task": false}
def direct_logit_attribution(model, components, targets):
    """Each component's direct contribution to the logit of a target token, with the final scale frozen.

    Parameters
    ----------
    model : TinyTransformer
    components : Tensor of shape (n_components, batch, pos, d_model)
        Parts of the final residual stream (they sum to ``resid_final``).
    targets : LongTensor of shape (batch, pos)
        At each position, the token whose logit is explained.

    Returns
    -------
    Tensor of shape (n_components + 1, batch, pos), detached
        Row ``c`` is component ``c``'s term; the last row is ``β · W_U[y] + b_U[y]``.
        Summed over axis 0: the logit of ``targets``.
    """
    ### BEGIN SOLUTION
    with torch.no_grad():
        ln = model.ln_final
        resid = components.sum(dim=0)
        scale = torch.sqrt(resid.var(dim=-1, unbiased=False, keepdim=True) + ln.eps)
        centred = components - components.mean(dim=-1, keepdim=True)
        directions = model.unembed.weight[targets]  # (batch, pos, d_model)
        terms = (centred / scale * ln.weight * directions).sum(dim=-1)
        constant = (ln.bias * directions).sum(dim=-1) + model.unembed.bias[targets]
        return torch.cat([terms, constant[None]])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "direct_logit_attribution_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.direct_logit_attribution(direct_logit_attribution)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.direct_logit_attribution(direct_logit_attribution)
### END HIDDEN TESTS

# %% [markdown]
# Which components write the right next token? The mean attribution to the logit of the right
# token, on predictable positions and on the others:

# %%
components = residual_components(model, data.tokens)
dla = direct_logit_attribution(model, components, torch.roll(data.tokens, -1, dims=1))[:, :, :-1].numpy()
labels = component_labels(model) + ["LN/unembed\nbias"]
fig, ax = plt.subplots(figsize=(11, 3.8))
width = 0.4
for k, (mask, label) in enumerate([(predictable, "next token predictable"), (~predictable, "not predictable")]):
    ax.bar(np.arange(len(labels)) + (k - 0.5) * width, dla[:, mask].mean(axis=1), width, label=label)
ax.axhline(0, color="black", linewidth=0.8)
ax.set_xticks(np.arange(len(labels)), labels, fontsize="small")
ax.set(xlabel="component of the final residual stream", ylabel="mean direct logit attribution [logit]",
       title="Direct logit attribution to the right next token")
ax.legend();

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_dla", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** Which components write the right token into the logits? Do the
# layer-0 heads matter for the prediction, judging by this plot? Why can direct logit
# attribution not answer that question?
#
# ### BEGIN SOLUTION
# *Model answer.* On predictable positions the four layer-1 heads carry the logit of the right
# token (each adds about 2.8 to 3.6 logits); the layer-0 heads (below 0.1), the embeddings and
# the biases contribute almost nothing directly, and on unpredictable positions no head adds
# much. By this plot layer 0 looks useless, but DLA measures only the *direct* path (component
# → residual stream → unembedding). Layer 0 works *indirectly*: its output is read by the
# layer-1 heads (as keys), and that effect is invisible to DLA. Answering it needs an
# intervention: ablate or patch the layer-0 heads and watch the prediction (parts 4 and 5).
# ### END SOLUTION

# %% [markdown]
# ## 3. What the heads attend to: previous-token and induction scores
#
# An attention pattern `pattern[b, h, t, j]` says how much head `h`, at query position `t`,
# attends to key position `j ≤ t` (each row sums to 1). Two scores summarise a head:
#
# - **previous-token score**: the mean attention from each position to the one before it,
#   `pattern[b, h, t, t - 1]`, over all sequences `b` and all queries `t ≥ 1`;
# - **induction score**: at a query `t`, the *induction targets* are the key positions
#   `j` (`1 ≤ j ≤ t`) whose previous token equals the current one, `tokens[b, j - 1] == tokens[b, t]`:
#   the tokens that followed earlier occurrences of the current token. The score is the attention
#   on all of a query's targets together, averaged over every query (of every sequence) that
#   has at least one target.
#
# Both take the pattern of one layer and return one score per head, as NumPy arrays.

# %% nbgrader={"grade": false, "grade_id": "previous_token_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def previous_token_score(pattern):
    """Mean attention of each head to the previous position.

    Parameters
    ----------
    pattern : ndarray of shape (batch, n_heads, pos, pos)

    Returns
    -------
    ndarray of shape (n_heads,)
    """
    ### BEGIN SOLUTION
    pattern = np.asarray(pattern, dtype=float)
    return pattern.diagonal(offset=-1, axis1=2, axis2=3).mean(axis=(0, 2))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "previous_token_score_test", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
check.previous_token_score(previous_token_score)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.previous_token_score(previous_token_score)
### END HIDDEN TESTS

# %% nbgrader={"grade": false, "grade_id": "induction_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def induction_score(pattern, tokens):
    """Mean attention of each head to the tokens that followed earlier occurrences of the current token.

    Parameters
    ----------
    pattern : ndarray of shape (batch, n_heads, pos, pos)
    tokens : ndarray of shape (batch, pos)

    Returns
    -------
    ndarray of shape (n_heads,)
    """
    ### BEGIN SOLUTION
    pattern, tokens = np.asarray(pattern, dtype=float), np.asarray(tokens)
    n_pos = tokens.shape[1]
    targets = np.zeros((len(tokens), n_pos, n_pos), dtype=bool)  # [b, t, j]
    targets[:, :, 1:] = tokens[:, :, None] == tokens[:, None, :-1]
    targets &= np.tril(np.ones((n_pos, n_pos), dtype=bool))
    queries = targets.any(axis=2)  # (batch, pos)
    on_targets = (pattern * targets[:, None]).sum(axis=3)  # (batch, n_heads, pos)
    return on_targets.transpose(1, 0, 2)[:, queries].mean(axis=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "induction_score_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.induction_score(induction_score)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.induction_score(induction_score)
### END HIDDEN TESTS

# %% [markdown]
# Both scores for every head, on 200 fresh sequences:

# %%
_, cache = run_with_cache(model, data.tokens)
patterns = [cache[f"blocks.{layer}.attn.pattern"].numpy() for layer in range(model.n_layers)]
scores = {"previous-token score": np.array([previous_token_score(p) for p in patterns]),
          "induction score": np.array([induction_score(p, data.tokens.numpy()) for p in patterns])}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained")
for ax, (title, values) in zip(axes, scores.items()):
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1)
    for (layer, head), v in np.ndenumerate(values):
        ax.text(head, layer, f"{v:.2f}", ha="center", va="center", color="white" if v > 0.5 else "black")
    ax.set(xticks=range(model.n_heads), yticks=range(model.n_layers), xlabel="head", ylabel="layer", title=title)
fig.colorbar(image, ax=axes, label="mean attention (share)")
fig.suptitle("Which heads attend to the previous token, which to the token after an earlier occurrence?");

# %% [markdown]
# The attention patterns of all heads on one sequence (query position down, key position
# across). The dotted line marks where the repeat starts.

# %%
i = 0
start = data.offsets[i] + data.periods[i]
fig, axes = plt.subplots(model.n_layers, model.n_heads, figsize=(12, 6.4), layout="constrained")
for (layer, head), ax in np.ndenumerate(axes):
    ax.imshow(patterns[layer][i, head], cmap="Blues", vmin=0, vmax=1)
    ax.axhline(start - 0.5, color="tab:red", linestyle=":", linewidth=1)
    ax.set(title=f"L{layer}H{head}", xticks=[], yticks=[])
for layer in range(model.n_layers):
    axes[layer, 0].set_ylabel(f"layer {layer}\nquery position")
for ax in axes[-1]:
    ax.set_xlabel("key position")
fig.suptitle(f"Attention patterns on sequence {i} (period {data.periods[i]}; the repeat starts below the red line)");

# %% [markdown]
# ## 4. Activation patching
#
# Scores and attributions are correlations. To show that a component *causes* the prediction,
# intervene (Meng et al., 2022, "causal tracing"; Wang et al., 2022): run the model on a
# **corrupted** input, and replace one activation by its value from a **clean** run. If that
# restores the clean answer, the information needed for the answer flows through that activation.
#
# **The experiment.** Clean sequences: a prefix of 3 tokens, a block of 8 tokens, then the
# block again up to its 5th token (16 tokens). At the last position, $t = 15$, the current token
# is block token 4, which occurred before at position 7; the token that followed it, at position
# 8 (block token 5), is the clean answer $A$. The corrupted sequences replace the token at
# position 8 by a token $B$ that appears nowhere else. An induction circuit then predicts $B$.
# The metric is the logit difference $\text{logit}_A - \text{logit}_B$ at $t = 15$.

# %%
def make_patching_data(n, random_state):
    clean = make_repeated_tokens(n, n_pos=16, period=(8, 8), offset=(3, 3), random_state=random_state).tokens
    rng = np.random.default_rng(random_state + 1)
    unused = [rng.choice(np.setdiff1d(np.arange(model.d_vocab), row.numpy())) for row in clean]
    corrupted = clean.clone()
    corrupted[:, 8] = torch.tensor(unused)
    return clean, corrupted, clean[:, 8].clone(), corrupted[:, 8].clone()


def logit_difference(logits, answer, wrong):
    """Mean of logit[answer] - logit[wrong] at the last position."""
    last = logits[:, -1]
    rows = torch.arange(len(last))
    return float((last[rows, answer] - last[rows, wrong]).mean())


clean_tokens, corrupted_tokens, answer, wrong = make_patching_data(100, random_state=7)
with torch.no_grad():
    clean_diff = logit_difference(model(clean_tokens), answer, wrong)
    corrupted_diff = logit_difference(model(corrupted_tokens), answer, wrong)
print(f"logit difference A - B at the last position: clean {clean_diff:.2f}, corrupted {corrupted_diff:.2f}")

# %% [markdown]
# **Patching the residual stream.** Write `patch_residual`: run the model on
# `corrupted_tokens`, but replace the residual stream entering block `layer`
# (`blocks.{layer}.resid_pre`; for `layer == model.n_layers`, `resid_final`) at the given
# positions by its value on `clean_tokens` (`positions=None`: every position). Return the
# logits of that patched run.
#
# *Recipe.* Record the clean activation (`run_with_cache`). Then register a forward hook on the
# module, `handle = module.register_forward_hook(hook)`: a hook `hook(module, inputs, output)`
# that **returns** a tensor replaces the module's output by it (build a new tensor, e.g. with
# `output.clone()`, rather than changing `output` in place). Run the model, and remove the hook
# in a `finally:` block (`handle.remove()`), or every later run of the model is patched too.

# %% nbgrader={"grade": false, "grade_id": "patch_residual", "locked": false, "schema_version": 3, "solution": true, "task": false}
def patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None):
    """Logits of the corrupted run with the residual stream at one layer restored from the clean run.

    Parameters
    ----------
    model : TinyTransformer
    clean_tokens, corrupted_tokens : LongTensor of shape (batch, pos)
    layer : int
        0 ... n_layers: the residual stream entering block ``layer`` (``n_layers``: ``resid_final``).
    positions : list of int, optional
        Positions to patch (in every sequence); None patches all.

    Returns
    -------
    Tensor of shape (batch, pos, d_vocab), detached
    """
    ### BEGIN SOLUTION
    name = "resid_final" if layer == model.n_layers else f"blocks.{layer}.resid_pre"
    _, cache = run_with_cache(model, clean_tokens, names=[name])
    clean = cache[name]
    index = slice(None) if positions is None else list(positions)

    def hook(module, inputs, output):
        patched = output.clone()
        patched[:, index] = clean[:, index]
        return patched

    handle = model.get_submodule(name).register_forward_hook(hook)
    try:
        with torch.no_grad():
            return model(corrupted_tokens)
    finally:
        handle.remove()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "patch_residual_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.patch_residual(patch_residual)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.patch_residual(patch_residual)
### END HIDDEN TESTS

# %% [markdown]
# Patch one position at a time, at every layer. The colour is the share of the logit difference
# restored: 0 = as corrupted, 1 = as clean.

# %%
n_pos = clean_tokens.shape[1]
restored = np.zeros((model.n_layers + 1, n_pos))
for layer in range(model.n_layers + 1):
    for pos in range(n_pos):
        patched = patch_residual(model, clean_tokens, corrupted_tokens, layer, [pos])
        restored[layer, pos] = (logit_difference(patched, answer, wrong) - corrupted_diff) / (clean_diff - corrupted_diff)
fig, ax = plt.subplots(figsize=(10, 2.8))
image = ax.imshow(restored, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
ax.set(xticks=range(n_pos), yticks=range(model.n_layers + 1), yticklabels=["embeddings", "after layer 0", "after layer 1"],
       xlabel="patched position (8: the corrupted token, 15: the prediction)", ylabel="residual stream",
       title="Activation patching of the residual stream, one position at a time")
fig.colorbar(image, ax=ax, label="share of the logit difference restored");

# %% [markdown]
# **Patching heads.** Write `patch_heads`: in the corrupted run, replace the output `z` of the
# listed heads (`blocks.{layer}.attn.z[:, positions, head]`) by their clean values, all at once.
# `heads` is a list of `(layer, head)` pairs; `positions=None` patches every position.

# %% nbgrader={"grade": false, "grade_id": "patch_heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
def patch_heads(model, clean_tokens, corrupted_tokens, heads, positions=None):
    """Logits of the corrupted run with some heads' outputs restored from the clean run.

    Parameters
    ----------
    model : TinyTransformer
    clean_tokens, corrupted_tokens : LongTensor of shape (batch, pos)
    heads : list of (layer, head) pairs
    positions : list of int, optional
        Positions to patch; None patches all.

    Returns
    -------
    Tensor of shape (batch, pos, d_vocab), detached
    """
    ### BEGIN SOLUTION
    names = {layer: f"blocks.{layer}.attn.z" for layer, _ in heads}
    _, cache = run_with_cache(model, clean_tokens, names=list(names.values()))
    index = slice(None) if positions is None else list(positions)

    def make_hook(layer):
        def hook(module, inputs, output):
            patched = output.clone()
            for head_layer, head in heads:
                if head_layer == layer:
                    patched[:, index, head] = cache[names[layer]][:, index, head]
            return patched
        return hook

    handles = [model.get_submodule(name).register_forward_hook(make_hook(layer)) for layer, name in names.items()]
    try:
        with torch.no_grad():
            return model(corrupted_tokens)
    finally:
        for handle in handles:
            handle.remove()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "patch_heads_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.patch_heads(patch_heads)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.patch_heads(patch_heads)
### END HIDDEN TESTS

# %% [markdown]
# Restore each head at the last position (where the prediction is made) and at position 8
# (the corrupted token), one head at a time, then all heads of a layer together:

# %%
rows = {"at t = 15": [n_pos - 1], "at position 8": [8]}
head_list = [(layer, head) for layer in range(model.n_layers) for head in range(model.n_heads)]
columns = [f"L{l}H{h}" for l, h in head_list] + [f"all of L{l}" for l in range(model.n_layers)]
table = np.zeros((len(rows), len(columns)))
for r, positions in enumerate(rows.values()):
    groups = [[lh] for lh in head_list] + [[lh for lh in head_list if lh[0] == l] for l in range(model.n_layers)]
    for c, group in enumerate(groups):
        patched = patch_heads(model, clean_tokens, corrupted_tokens, group, positions)
        table[r, c] = (logit_difference(patched, answer, wrong) - corrupted_diff) / (clean_diff - corrupted_diff)
fig, ax = plt.subplots(figsize=(11, 2.4))
image = ax.imshow(table, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
for (r, c), v in np.ndenumerate(table):
    ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize="small")
ax.set(xticks=range(len(columns)), yticks=range(len(rows)), yticklabels=list(rows), xlabel="patched heads",
       title="Activation patching of head outputs: share of the logit difference restored")
ax.set_xticklabels(columns, fontsize="small")
fig.colorbar(image, ax=ax, label="share restored");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_patching", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (2 points).** Describe the path of the information about the answer through
# the model, from the two patching figures. Why does patching the whole residual stream of
# position 8 after layer 1 restore nothing, while patching position 8 earlier restores
# everything? Why does no single head restore the whole difference?
#
# ### BEGIN SOLUTION
# *Model answer.* Entering blocks 0 and 1, only position 8 matters: restoring its residual
# stream there restores the whole logit difference (that is where the corrupted token's
# information lives), and other positions restore nothing. In the final residual stream only
# position 15 matters: in between, the layer-1 heads moved the information from position 8 to
# position 15. After layer 1, position 8 is no longer read by anything (there is no later
# layer, and the prediction is made at 15), so patching it there has no effect. Patching the
# head outputs confirms it: each layer-1 head at t = 15 restores 0.19 to 0.26 of the
# difference, all four together restore all of it, and the layer-0 heads restore (almost)
# nothing at either position, since this corruption does not change what the layer-0 heads
# compute for the key at position 8 (its previous token is unchanged). The four induction
# heads share the work (redundancy), so none is sufficient alone.
# ### END SOLUTION

# %% [markdown]
# ## 5. Head ablation
#
# Patching asks "is this component *sufficient* to restore the answer?". Ablation asks "is it
# *necessary*?": switch the head off and see what breaks. Write `ablate_heads`: run the model
# on `tokens` with the outputs `z` of the listed heads replaced, at every position, by
#
# - `kind="zero"`: zeros;
# - `kind="mean"`: the head's mean output over the batch, position by position
#   (`z[:, t, head].mean(axis=0)` of an ordinary, unablated run on the same `tokens`), so that the
#   head still writes its average, but no information about the particular sequence.

# %% nbgrader={"grade": false, "grade_id": "ablate_heads", "locked": false, "schema_version": 3, "solution": true, "task": false}
def ablate_heads(model, tokens, heads, kind="zero"):
    """Logits with the outputs of some heads replaced by zeros or by their batch mean.

    Parameters
    ----------
    model : TinyTransformer
    tokens : LongTensor of shape (batch, pos)
    heads : list of (layer, head) pairs
    kind : {"zero", "mean"}

    Returns
    -------
    Tensor of shape (batch, pos, d_vocab), detached
    """
    ### BEGIN SOLUTION
    if kind not in ("zero", "mean"):
        raise ValueError(f"kind must be 'zero' or 'mean', got {kind!r}")
    names = {layer: f"blocks.{layer}.attn.z" for layer, _ in heads}
    _, cache = run_with_cache(model, tokens, names=list(names.values()))

    def make_hook(layer):
        def hook(module, inputs, output):
            ablated = output.clone()
            for head_layer, head in heads:
                if head_layer == layer:
                    if kind == "zero":
                        ablated[:, :, head] = 0.0
                    else:
                        ablated[:, :, head] = cache[names[layer]][:, :, head].mean(dim=0)
            return ablated
        return hook

    handles = [model.get_submodule(name).register_forward_hook(make_hook(layer)) for layer, name in names.items()]
    try:
        with torch.no_grad():
            return model(tokens)
    finally:
        for handle in handles:
            handle.remove()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ablate_heads_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.ablate_heads(ablate_heads)
### BEGIN HIDDEN TESTS
from xaigrader import week08
week08.ablate_heads(ablate_heads)
### END HIDDEN TESTS

# %% [markdown]
# The loss on predictable positions of the 200 sequences of part 0, with heads ablated one by one
# and in groups chosen from the scores of part 3:

# %%
previous_heads = [(0, h) for h in range(model.n_heads) if scores["previous-token score"][0, h] > 0.3]
other_l0 = [(0, h) for h in range(model.n_heads) if (0, h) not in previous_heads]
induction_heads = [(1, h) for h in range(model.n_heads) if scores["induction score"][1, h] > 0.5]
groups = {f"L{l}H{h}": [(l, h)] for l, h in head_list}
groups.update({"previous-token heads": previous_heads, "other L0 heads": other_l0, "induction heads": induction_heads})
ablation = {kind: [] for kind in ("zero", "mean")}
for kind in ablation:
    for group in groups.values():
        ablated = ablate_heads(model, data.tokens, group, kind=kind)
        ablation[kind].append(next_token_loss(ablated, data.tokens).numpy()[predictable].mean())
fig, ax = plt.subplots(figsize=(11, 3.8))
width = 0.4
for k, (kind, values) in enumerate(ablation.items()):
    ax.bar(np.arange(len(groups)) + (k - 0.5) * width, values, width, label=f"{kind} ablation")
ax.axhline(loss[predictable].mean(), color="black", linestyle="--", label="no ablation")
ax.axhline(np.log(100), color="tab:red", linestyle=":", label="guessing (ln 100)")
ax.set_xticks(np.arange(len(groups)), list(groups), rotation=30, ha="right", fontsize="small")
ax.set(xlabel="ablated heads", ylabel="loss on predictable positions [nats]", title="Head ablation")
ax.legend(fontsize="small");
print("previous-token heads:", previous_heads, " other layer-0 heads:", other_l0, " induction heads:", induction_heads)

# %% [markdown] nbgrader={"grade": true, "grade_id": "q4_mechanism", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 4 (2 points) — conclusion.** Which heads implement induction in this model, and
# which heads are the previous-token heads they rely on? Check your answer against the known
# mechanism with all four kinds of evidence (attention scores, direct logit attribution,
# patching, ablation). Is one kind of evidence enough on its own?
#
# ### BEGIN SOLUTION
# *Model answer.* The previous-token heads are **L0H0 and L0H3** (previous-token scores 0.48
# and 0.44; the other two layer-0 heads about 0.1). The induction heads are
# **L1H0, L1H1, L1H2 and L1H3**, all four layer-1 heads (induction scores 0.97 to 0.99). The
# evidence agrees with the two-layer induction circuit: the layer-1 heads attend from the
# current token to the token after its earlier occurrences (scores), write the right token
# directly into the logits (DLA), and move the answer from the earlier position to the
# prediction (patching: all four together restore the whole difference). Ablation shows the
# composition: zero-ablating the two previous-token heads raises the loss on predictable
# positions from 0.03 to 4.9 (about as bad as guessing), although their direct logit
# attribution is about 0, whereas ablating the other two layer-0 heads costs little (0.16);
# ablating a single induction head costs little (at most 0.14) because the other three
# compensate (redundancy), while ablating all four destroys the prediction (5.4). No single
# kind of evidence is enough: attention scores are correlational, DLA misses indirect effects
# (layer 0), patching depends on the corruption chosen (this one did not touch the keys, so the
# previous-token heads looked irrelevant), and ablating one head at a time underestimates
# redundant heads. Agreement between the methods, and with the known mechanism, is what makes
# the explanation credible.
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - The **residual stream** is a sum: the **logit lens** decodes it after every layer, and
#   **direct logit attribution** splits a logit exactly into the parts that wrote it (with the
#   final LayerNorm's scale frozen).
# - **Attention scores** find candidate heads (previous-token, induction), but attention is not
#   yet an explanation.
# - **Activation patching** (sufficiency) and **ablation** (necessity) test causal claims; they
#   reveal indirect effects that DLA cannot see, and redundancy that single-head ablation hides.
# - On a model whose mechanism is known, the tools recovered it: previous-token heads in
#   layer 0, induction heads in layer 1, composed through the keys.
