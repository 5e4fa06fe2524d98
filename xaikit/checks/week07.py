"""Visible checks of lab 7 (attention in transformers).

Each check runs the student's function or class on one small visible example and compares it
with a reference computed inside the check: PyTorch's ``nn.MultiheadAttention`` (which the lab
forbids in answers) for self-attention, the same tiny BERT run on each sentence alone for the
extraction, the layered product and networkx's maximum flow for rollout and flow, captum
(``LayerGradientXActivation``, ``LayerIntegratedGradients`` with the midpoint rule,
``Occlusion``) for the attributions and ``scipy.stats.kendalltau`` for the agreement; and with
exact properties of toy problems (one-hot tokens, identity attention, a bag-of-embeddings
classifier whose gradient is known). A failure says in one sentence which aspect is off (the
mask, the scaling, the order of the layers, the Riemann rule ...), never the expected values.
The hidden tests compare with the same kind of references on other models and inputs.

Ask for a hint with ``check.<name>.hint()``; ``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..text_models import tiny_bert, tiny_text_classifier
from . import CheckFailed, Summary, as_array, call, graded, install_not_written_handler, passed
from .week05 import as_result

__all__ = [
    "BagOfEmbeddings",
    "GradientXInput",
    "IntegratedGradients",
    "TokenOcclusion",
    "attention_flow",
    "attention_rollout",
    "extract_attention",
    "multi_head_attention",
    "pointing_game",
    "rank_agreement",
    "summary",
]


class BagOfEmbeddings(nn.Module):
    """A linear text classifier: the mean of the word embeddings of the real tokens, then a linear layer.

    Its class score is linear in each token's embedding, ``S_c = w_c · mean_t(e_t) + b_c``, so
    its gradient with respect to ``e_t`` is ``w_c / n`` (n real tokens): the toy on which the
    attribution checks know the answer. Same interface as :class:`xaikit.text_models.TextClassifier`.
    """

    def __init__(self, vocab_size: int = 30, dim: int = 6, n_classes: int = 3, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.embedding = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, n_classes)

    @property
    def word_embeddings(self) -> nn.Embedding:
        return self.embedding

    def forward(self, input_ids=None, attention_mask=None, *, inputs_embeds=None):
        e = self.embedding(input_ids) if inputs_embeds is None else inputs_embeds
        if attention_mask is None:
            attention_mask = torch.ones(e.shape[:2])
        m = attention_mask[..., None].to(e.dtype)
        return self.head((e * m).sum(dim=1) / m.sum(dim=1))


def _close(a, b, *, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(np.abs(b).max(initial=0)))))


def _tensor(value, *, name: str, shape, what: str) -> np.ndarray:
    return as_result(value, name=name, shape=tuple(shape), what=what)


# --- part 1: multi-head attention ---------------------------------------------------------------

def _linear(dim: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(dim, dim, generator=g) / dim**0.5, 0.1 * torch.randn(dim, generator=g)


def _mha(func, name, x, weights, n_heads, mask):
    given = [x.clone(), *[w.clone() for w in weights]]
    result = call(func, *given[:1], *given[1:], n_heads, None if mask is None else mask.clone(), name=name)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"`{name}` should return two tensors, (output, weights).")
    n, t, dim = x.shape
    output = as_result(result[0], name=f"{name} (output)", shape=(n, t, dim), what="the heads' outputs concatenated",
                       strict=False)
    attn = as_result(result[1], name=f"{name} (weights)", shape=(n, n_heads, t, t), what="one T x T matrix per head",
                     strict=False)
    if not torch.equal(given[0], x) or any(not torch.equal(g, w) for g, w in zip(given[1:], weights)):
        raise CheckFailed(f"`{name}` modified its inputs in place; compute new tensors instead.")
    return output, attn


@graded(answer="multi_head_attention", part="1", points=4,
        hint="lecture 7, §3 'Scaled dot-product attention' and §4 'Multi-head attention': q = x @ w_q.T + b_q; split D "
             "into n_heads CONSECUTIVE chunks (reshape to (N, T, H, d), then transpose); divide by sqrt(d) of ONE head; "
             "padded keys get -inf BEFORE the softmax over the keys.")
def multi_head_attention(func) -> None:
    """Check ``multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask)``.

    Exact properties first (rows sum to 1, padded keys get 0, one-hot tokens whose scaled
    scores are known), then PyTorch's ``nn.MultiheadAttention`` with an identity output
    projection on a small padded batch.
    """
    def torch_attention(x, weights, n_heads, mask):
        """PyTorch's own multi-head attention with the output projection set to the identity: (output, weights)."""
        wq, bq, wk, bk, wv, bv = weights
        dim = x.shape[-1]
        mha = nn.MultiheadAttention(dim, n_heads, batch_first=True)
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([wq, wk, wv]))
            mha.in_proj_bias.copy_(torch.cat([bq, bk, bv]))
            mha.out_proj.weight.copy_(torch.eye(dim))
            mha.out_proj.bias.zero_()
            output, attn = mha(x, x, x, key_padding_mask=None if mask is None else mask == 0, need_weights=True,
                               average_attn_weights=False)
        return output.numpy(), attn.numpy()

    name = "multi_head_attention"
    g = torch.Generator().manual_seed(71)
    dim, n_heads = 8, 2
    x = torch.randn(2, 5, dim, generator=g)
    weights = [*_linear(dim, 72), *_linear(dim, 73), *_linear(dim, 74)]
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    output, attn = _mha(func, name, x, weights, n_heads, None)
    shapes = f"shapes {tuple(output.shape)} and {tuple(attn.shape)}"
    if not np.allclose(attn.sum(axis=-1), 1.0, atol=1e-5):
        raise CheckFailed(f"`{name}`: each row of the attention weights should sum to 1; take the softmax over the "
                          "keys (the last dimension).")
    output, attn = _mha(func, name, x, weights, n_heads, mask)
    if np.any(attn[1, :, :, 3:] != 0):
        raise CheckFailed(f"`{name}`: padded tokens (attention_mask 0) receive attention; set their scores to -inf "
                          "before the softmax.")
    if not np.allclose(attn.sum(axis=-1), 1.0, atol=1e-5):
        raise CheckFailed(f"`{name}`: with padding, the rows no longer sum to 1; mask the scores before the softmax "
                          "(not the weights after it), so the softmax renormalises over the real tokens.")
    # One-hot tokens and W_Q = W_K = 2 I: head 0 sees q_i · k_j = 4 if i = j else 0; head 1 sees zeros.
    eye, zero = 2 * torch.eye(dim), torch.zeros(dim)
    onehot = torch.eye(dim)[None, :2]
    _, one_hot_attn = _mha(func, name, onehot, [eye, zero, eye, zero, torch.eye(dim), zero], n_heads, None)
    if not np.allclose(one_hot_attn[0, 1], 0.5, atol=1e-5):
        raise CheckFailed(f"`{name}`: head 1 should only see dimensions {dim // 2} to {dim - 1}; split the D dimensions "
                          "into n_heads consecutive chunks (reshape to (N, T, H, d), then move the head axis forward).")
    if not np.isclose(float(one_hot_attn[0, 0, 0, 0]), np.exp(2) / (np.exp(2) + 1), atol=1e-4):
        raise CheckFailed(f"`{name}`: a token attends to itself with the wrong weight when its scaled dot product is "
                          "known; divide the scores by sqrt(d), d = D / n_heads being the size of one head.")
    expected_out, expected_attn = torch_attention(x, weights, n_heads, mask)
    if not _close(attn, expected_attn):
        transposed = [w.T.contiguous() if w.ndim == 2 else w for w in weights]
        if _close(attn, torch_attention(x, transposed, n_heads, mask)[1]):
            raise CheckFailed(f"`{name}` multiplies by the weights without transposing them; they are stored like "
                              "nn.Linear's, so q = x @ w_q.T + b_q.")
        unbiased = [w if w.ndim == 2 else torch.zeros_like(w) for w in weights]
        if _close(attn, torch_attention(x, unbiased, n_heads, mask)[1]):
            raise CheckFailed(f"`{name}` leaves out the biases of the projections: q = x @ w_q.T + b_q (and likewise "
                              "k and v).")
        raise CheckFailed(f"`{name}`: the attention weights differ from PyTorch's nn.MultiheadAttention on a small padded "
                          "batch; project q and k with their own weights and biases.")
    if not _close(output, expected_out):
        raise CheckFailed(f"`{name}`: the output should be each head's attention-weighted sum of its values "
                          "(v = x @ w_v.T + b_v), with the heads concatenated back in order (head h in dimensions h·d "
                          "to (h+1)·d - 1); it differs from PyTorch's nn.MultiheadAttention with an identity output "
                          "projection.")
    passed(f"{name}: {shapes}, rows sum to 1, padded keys get exactly 0, heads split in chunks, scores scaled by "
           "1/sqrt(d), equal to PyTorch's nn.MultiheadAttention.")


# --- part 2: extraction ------------------------------------------------------------------------

def _padded_batch(seed: int, lengths, vocab: int = 40):
    g = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.randint(3, vocab, (len(lengths), width), generator=g)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, 0], ids[i, n - 1], ids[i, n:] = 1, 2, 0
        mask[i, :n] = 1
    return ids, mask


@graded(answer="extract_attention", part="2", points=2,
        hint="lecture 7, §5 'Reading MiniLM's heads with BertViz': output_attentions=True gives one (N, H, T, T) tensor "
             "per layer; for sentence i keep ALL layers (in order) and heads, and only the rows AND columns where "
             "attention_mask[i] is 1.")
def extract_attention(func) -> None:
    """Check ``extract_attention(encoder, input_ids, attention_mask)`` on a tiny BERT (each sentence run alone)."""
    name = "extract_attention"
    encoder = tiny_bert(75, n_layers=2, n_heads=2)
    lengths = [6, 4, 5]
    ids, mask = _padded_batch(76, lengths)
    ids_before, mask_before = ids.clone(), mask.clone()
    out = call(func, encoder, ids, mask, name=name)
    if not isinstance(out, (list, tuple)) or len(out) != len(lengths):
        raise CheckFailed(f"`{name}` should return a list with one tensor per sentence ({len(lengths)} here).")
    if not (torch.equal(ids, ids_before) and torch.equal(mask, mask_before)):
        raise CheckFailed(f"`{name}` modified input_ids or attention_mask in place.")
    for i, (a, n) in enumerate(zip(out, lengths)):
        got = as_result(a, name=f"{name}(...)[{i}]", shape=(2, 2, n, n), strict=False,
                        what="(layers, heads, T_i, T_i): all layers and heads, padding removed")
        with torch.no_grad():
            alone = torch.stack(encoder(input_ids=ids[i:i + 1, :n], output_attentions=True).attentions)[:, 0]
        if not _close(got, alone.numpy(), atol=1e-5):
            raise CheckFailed(f"`{name}`: sentence {i} does not match the attention of that sentence run on its own; "
                              "keep its own rows, all layers in order, and only its real tokens.")
    passed(f"{name}: one (layers, heads, T_i, T_i) tensor per sentence, padding removed, same as each sentence alone.")


# --- parts 3 and 4: rollout and flow -----------------------------------------------------------

def _random_attention(seed: int, n_layers: int, n_heads: int, t: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.random((n_layers, n_heads, t, t)) ** 3
    return a / a.sum(axis=-1, keepdims=True)


def _aggregate_properties(func, name: str) -> None:
    def augmented(attentions: np.ndarray) -> np.ndarray:
        """Abnar & Zuidema's A + I per layer (heads averaged), rows normalised: (L, T, T)."""
        aug = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
        return aug / aug.sum(axis=-1, keepdims=True)

    attn = _random_attention(77, 3, 2, 4)
    given = attn.copy()
    out = as_array(call(func, given, name=name), name=name, shape=(4, 4), what="one row per output token")
    if not np.array_equal(given, attn):
        raise CheckFailed(f"`{name}` modified the attention array it was given.")
    if np.any(out < -1e-9) or not np.allclose(out.sum(axis=1), 1.0, atol=1e-4):
        raise CheckFailed(f"`{name}`: every row of the result should be non-negative and sum to 1.")
    identity = np.broadcast_to(np.eye(5), (2, 3, 5, 5)).copy()
    out = as_array(call(func, identity, name=name), name=name, shape=(5, 5))
    if not np.allclose(out, np.eye(5), atol=1e-4):
        raise CheckFailed(f"`{name}`: if every head attends only to its own token, the result should be the identity.")
    one = attn[:1]
    out = as_array(call(func, one.copy(), name=name), name=name, shape=(4, 4))
    if _close(out, one[0].mean(axis=0), atol=1e-4):
        raise CheckFailed(f"`{name}`: with one layer you return the averaged attention itself; add the residual "
                          "0.5·I (0.5·A + 0.5·I) and renormalise the rows.")
    if not _close(out, augmented(one)[0], atol=1e-4):
        raise CheckFailed(f"`{name}`: with one layer the result should be 0.5·A + 0.5·I, with A the attention "
                          "averaged over the heads (rows normalised).")


@graded(answer="attention_rollout", part="3", points=3,
        hint="lecture 7, §7 'Attention rollout and attention flow': per layer the MEAN over heads, 0.5·A + 0.5·I, rows "
             "renormalised; multiply from the LAST layer down, Â_L ⋯ Â_1 (each new layer on the left).")
def attention_rollout(func) -> None:
    """Check ``attention_rollout(attentions)`` with exact properties and the product of three layers."""
    def augmented(attentions: np.ndarray) -> np.ndarray:
        """Abnar & Zuidema's A + I per layer (heads averaged), rows normalised: (L, T, T)."""
        aug = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
        return aug / aug.sum(axis=-1, keepdims=True)

    name = "attention_rollout"
    _aggregate_properties(func, name)
    attn = _random_attention(78, 3, 2, 5)
    got = as_array(call(func, attn.copy(), name=name), name=name, shape=(5, 5))
    aug = augmented(attn)
    if not _close(got, aug[2] @ aug[1] @ aug[0], atol=1e-6):
        if _close(got, aug[0] @ aug[1] @ aug[2], atol=1e-6):
            raise CheckFailed(f"`{name}` multiplies the layers in the wrong order; the rollout is Â_L ⋯ Â_2 Â_1, each "
                              "later layer multiplied from the left.")
        raise CheckFailed(f"`{name}` differs from the product of the three layers' matrices Â_l = rownorm(0.5·mean_h "
                          "A_l + 0.5·I), last layer on the left.")
    passed(f"{name}: (T, T), rows sum to 1, identity attention gives the identity, one layer gives 0.5·A + 0.5·I, three "
           "layers multiplied in the right order.")


@graded(answer="attention_flow", part="4", points=3,
        hint="lecture 7, §7: the rollout's Â_l as capacities from node i of row l to node j of row l-1 (node l·T + j); "
             "the maximum flow from output token i (row L) to input token j (row 0); integer capacities for scipy "
             "(scale by 1e6, round, divide back); normalise each row.")
def attention_flow(func) -> None:
    """Check ``attention_flow(attentions)`` with exact properties and networkx's maximum flow on two layers."""
    import networkx as nx

    def augmented(attentions: np.ndarray) -> np.ndarray:
        """Abnar & Zuidema's A + I per layer (heads averaged), rows normalised: (L, T, T)."""
        aug = attentions.mean(axis=1) + np.eye(attentions.shape[-1])
        return aug / aug.sum(axis=-1, keepdims=True)

    name = "attention_flow"
    _aggregate_properties(func, name)
    attn = _random_attention(79, 2, 2, 4)
    got = as_array(call(func, attn.copy(), name=name), name=name, shape=(4, 4))
    aug = augmented(attn)
    graph = nx.DiGraph()
    for layer in range(len(aug)):
        for i in range(4):
            for j in range(4):
                graph.add_edge((layer + 1, i), (layer, j), capacity=float(aug[layer, i, j]))
    flow = np.array([[nx.maximum_flow_value(graph, (len(aug), i), (0, j)) for j in range(4)] for i in range(4)])
    if not _close(got, flow / flow.sum(axis=1, keepdims=True), rtol=0, atol=1e-4):
        raise CheckFailed(f"`{name}` differs from the maximum flow (networkx) on a small two-layer graph: edges of "
                          "capacity Â_l[i, j] from node i of row l to node j of row l-1, the flow from output token i "
                          "(row L) to input token j (row 0), rows normalised.")
    passed(f"{name}: (T, T), rows sum to 1, identity attention gives the identity, one layer gives 0.5·A + 0.5·I "
           "(a single edge carries its capacity), the maximum flow of networkx on two layers.")


# --- parts 5 to 7: attributions ------------------------------------------------------------------

def _toy_batch():
    ids = torch.tensor([[1, 5, 9, 12, 2], [1, 7, 3, 2, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])
    return ids, mask, torch.tensor([2, 0])


def _linear_terms(model: BagOfEmbeddings, ids, mask, target, baseline_ids=None) -> np.ndarray:
    """w_c · (e_t - e'_t) / n for the bag of embeddings (zero at padding)."""
    with torch.no_grad():
        e = model.embedding(ids)
        if baseline_ids is not None:
            e = e - model.embedding(baseline_ids)
        w = model.head.weight[target]
        return ((e * w[:, None, :]).sum(-1) * mask / mask.sum(dim=1, keepdim=True)).numpy()


def _explain(cls, name, model, ids, target, **kwargs) -> np.ndarray:
    explainer = call(cls, model, name=name.split(".")[0])
    before = ids.clone()
    out = _tensor(call(explainer.attribute, ids, target, name=name, **kwargs), name=name, shape=ids.shape,
                  what="one score per token, like input_ids")
    if not torch.equal(ids, before):
        raise CheckFailed(f"`{name}` modified input_ids in place; work on a copy.")
    return out


def _tiny_problem():
    """A tiny BERT classifier (2 layers, 2 heads, 3 classes) and a padded batch of two sentences."""
    model = tiny_text_classifier(80, n_classes=3)
    ids, mask = _padded_batch(81, [7, 5])
    return model, ids, mask, torch.tensor([1, 2])


def _captum(method: str):
    import captum.attr

    return getattr(captum.attr, method)


def _quiet():
    import warnings

    context = warnings.catch_warnings()
    context.__enter__()
    warnings.simplefilter("ignore")
    return context


@graded(answer="GradientXInput", part="5", points=2,
        hint="lecture 7, §8 'Gradient × input and Integrated Gradients on token embeddings': the gradient of each "
             "sentence's target logit w.r.t. model.word_embeddings(input_ids), passed as inputs_embeds WITH the "
             "attention_mask; times the embeddings, summed over the embedding dimension; keep the sign.")
def GradientXInput(cls) -> None:  # noqa: N802 - named after the class it checks
    """Check ``GradientXInput(model).attribute(input_ids, target, attention_mask=...)``.

    On a linear bag of embeddings (exact answer), then against captum's ``LayerGradientXActivation``
    on the word embeddings of a tiny BERT, with a tensor and an integer target.
    """
    name = "GradientXInput.attribute"
    model, (ids, mask, target) = BagOfEmbeddings(seed=78), _toy_batch()
    out = _explain(cls, name, model, ids, target, attention_mask=mask)
    expected = _linear_terms(model, ids, mask, target)
    if _close(out, np.abs(expected)) and not _close(out, expected):
        raise CheckFailed(f"`{name}` returned only non-negative values; keep the sign of gradient × embedding.")
    if not _close(out, expected):
        raise CheckFailed(f"`{name}`: for a classifier that averages the word embeddings, each token's score should be "
                          "its embedding times the gradient, summed over the embedding dimension; take the gradient "
                          "with respect to model.word_embeddings(input_ids), passed as inputs_embeds.")
    tiny, ids2, mask2, target2 = _tiny_problem()
    oracle = _captum("LayerGradientXActivation")(tiny, tiny.word_embeddings)
    for t in (target2, 1):
        got = _explain(cls, name, tiny, ids2, t, attention_mask=mask2)
        context = _quiet()
        try:
            reference = oracle.attribute(ids2, target=t, additional_forward_args=(mask2,)).sum(dim=-1).detach().numpy()
        finally:
            context.__exit__(None, None, None)
        if not _close(got, reference):
            which = "an integer target (the same class for every sentence)" if isinstance(t, int) else "a tensor target"
            raise CheckFailed(f"`{name}` differs from captum's LayerGradientXActivation on the word embeddings of a tiny "
                              f"BERT with padding and {which}; pass the attention_mask and differentiate each "
                              "sentence's own target logit.")
    passed(f"{name}: shape {out.shape}, detached, signed, embedding × gradient summed per token; captum's "
           "LayerGradientXActivation on a tiny BERT.")


@graded(answer="IntegratedGradients", part="6", points=3,
        hint="lecture 7, §8: the path from the baseline's embeddings e' to e at alpha = (s + 1/2)/m (midpoint rule), the "
             "MEAN of the gradients, times (e - e'), summed over the embedding dimension; pass the attention_mask.")
def IntegratedGradients(cls) -> None:  # noqa: N802
    """Check ``IntegratedGradients(model).attribute(input_ids, target, baseline_ids=..., ...)``.

    On a linear bag of embeddings (exact answer whatever the rule), then against captum's
    ``LayerIntegratedGradients`` (``method="riemann_middle"``) on a tiny BERT.
    """
    name = "IntegratedGradients.attribute"
    model, (ids, mask, target) = BagOfEmbeddings(seed=79), _toy_batch()
    pad = torch.where(mask.bool() & (ids > 2), torch.zeros_like(ids), ids)
    out = _explain(cls, name, model, ids, target, baseline_ids=pad, attention_mask=mask, n_steps=8)
    expected = _linear_terms(model, ids, mask, target, pad)
    if _close(out, _linear_terms(model, ids, mask, target)) and not _close(out, expected):
        raise CheckFailed(f"`{name}` multiplies by the input embedding; multiply by (input - baseline) embeddings.")
    if not _close(out, expected):
        raise CheckFailed(f"`{name}`: for a linear model IG is (e - e') times the gradient, summed per token, "
                          "whatever the number of steps; average the gradients along the path from the baseline's "
                          "embeddings to the input's.")
    other = torch.tensor([[1, 4, 4, 4, 2], [1, 8, 8, 2, 0]])
    out = _explain(cls, name, model, ids, target, baseline_ids=other, attention_mask=mask, n_steps=8)
    if not _close(out, _linear_terms(model, ids, mask, target, other)):
        raise CheckFailed(f"`{name}` ignores baseline_ids; the path starts at model.word_embeddings(baseline_ids).")
    same = _explain(cls, name, model, ids, target, baseline_ids=ids.clone(), attention_mask=mask, n_steps=4)
    if np.any(same != 0):
        raise CheckFailed(f"`{name}` should be exactly zero when the baseline equals the input.")
    tiny, ids2, mask2, target2 = _tiny_problem()
    base2 = torch.where(ids2 > 2, torch.zeros_like(ids2), ids2)
    got = _explain(cls, name, tiny, ids2, target2, baseline_ids=base2, attention_mask=mask2, n_steps=8)
    oracle = _captum("LayerIntegratedGradients")(tiny, tiny.word_embeddings)

    def reference(method: str) -> np.ndarray:
        context = _quiet()
        try:
            return oracle.attribute(ids2, baselines=base2, target=target2, additional_forward_args=(mask2,), n_steps=8,
                                    method=method).sum(dim=-1).detach().numpy()
        finally:
            context.__exit__(None, None, None)

    if not _close(got, reference("riemann_middle")):
        if any(_close(got, reference(rule)) for rule in ("riemann_right", "riemann_left", "riemann_trapezoid")):
            raise CheckFailed(f"`{name}` uses another Riemann rule; this lab uses the midpoint rule alpha = (s + 1/2) / m "
                              "for s = 0 ... m - 1 (captum's riemann_middle).")
        raise CheckFailed(f"`{name}` differs from captum's LayerIntegratedGradients (riemann_middle) on the word "
                          "embeddings of a tiny BERT with padding; pass the attention_mask at every step of the path.")
    passed(f"{name}: shape {out.shape}, (e - e') × gradient for a linear model, zero at the baseline, captum's "
           "LayerIntegratedGradients (midpoint rule) on a tiny BERT.")


@graded(answer="TokenOcclusion", part="7", points=2,
        hint="lecture 7, §9 'Occlusion': drop = S(original) - S(occluded) for the windows starting at 0 … T - w (stride "
             "1, every position, padding too); each token gets the AVERAGE drop of the windows covering it; keep the "
             "attention_mask as it is.")
def TokenOcclusion(cls) -> None:  # noqa: N802
    """Check ``TokenOcclusion(model).attribute(input_ids, target, replacement_id=..., window=...)``.

    Leave-one-token-out drops on a linear bag of embeddings (exact), then captum's ``Occlusion``
    over the token ids with windows of 2 and 3 tokens, on the bag and on a tiny BERT.
    """
    name = "TokenOcclusion.attribute"
    model, (ids, mask, target) = BagOfEmbeddings(seed=82), _toy_batch()
    replacement = torch.full_like(ids, 4)
    drops = _linear_terms(model, ids, mask, target, replacement)  # score drop when one token is replaced
    out = _explain(cls, name, model, ids, target, replacement_id=4, attention_mask=mask)
    if _close(out, -drops):
        raise CheckFailed(f"`{name}` has the wrong sign: the score is S(original) - S(occluded).")
    if not _close(out, drops):
        raise CheckFailed(f"`{name}`: with window=1 each token should get the drop of the target score when it alone "
                          "is replaced by replacement_id.")
    out = _explain(cls, name, model, ids, target, replacement_id=4, attention_mask=mask, window=2)
    if not (_close(out[:, 0], drops[:, 0] + drops[:, 1]) and _close(out[:, -1], drops[:, -2] + drops[:, -1])):
        raise CheckFailed(f"`{name}` with window=2: the first and the last token are each covered by one window only, "
                          "so they should get that window's drop; average the drops over the windows covering each token.")
    tiny, ids2, mask2, target2 = _tiny_problem()
    occlusion = _captum("Occlusion")
    for net, x, m, t, window in [(model, ids, mask, target, 3), (tiny, ids2, mask2, target2, 2)]:
        got = _explain(cls, name, net, x, t, replacement_id=5, attention_mask=m, window=window)
        context = _quiet()
        try:
            reference = occlusion(net).attribute(x, sliding_window_shapes=(window,), strides=1, baselines=5, target=t,
                                                 additional_forward_args=(m,)).detach().numpy()
        finally:
            context.__exit__(None, None, None)
        if not _close(got, reference):
            raise CheckFailed(f"`{name}` with window={window} differs from captum's Occlusion over the token ids (stride "
                              "1): slide the window over every start 0 … T - window, keep the attention_mask, and give "
                              "each token the average drop of the windows that cover it.")
    passed(f"{name}: shape {out.shape}, leave-one-token-out drops for window=1, window averages equal to captum's "
           "Occlusion for windows of 2 and 3 tokens.")


# --- part 8: evaluation ----------------------------------------------------------------------------

@graded(answer="pointing_game", part="8", points=2,
        hint="lecture 7, §10 'All methods on the task with a known answer': the first maximum (np.argmax) among the "
             "CANDIDATE tokens only (the others set to -inf, not 0: scores can be negative) is a hit when it sits on "
             "the deciding position.")
def pointing_game(func) -> None:
    """Check ``pointing_game(scores, deciding, candidates)`` on hand-made sentences and a loop over random ones."""
    name = "pointing_game"
    scores = np.array([[9.0, 0.1, 0.8, 0.3, 5.0], [9.0, 0.9, 0.1, 0.3, 5.0], [0.0, -1.0, -3.0, -2.0, 0.0]])
    candidates = np.array([[0, 1, 1, 1, 0]] * 3, dtype=bool)
    deciding = np.array([2, 2, 1])
    given = scores.copy()
    out = as_array(call(func, given, deciding.copy(), candidates.copy(), name=name), name=name, shape=(3,),
                   what="one value per sentence")
    if not np.array_equal(given, scores):
        raise CheckFailed(f"`{name}` modified the scores it was given.")
    if not np.all((out == 0) | (out == 1)):
        raise CheckFailed(f"`{name}` should return 1.0 for a hit and 0.0 for a miss.")
    if out[0] == 0:
        raise CheckFailed(f"`{name}` misses a sentence whose deciding token has the highest score among the candidate "
                          "tokens; look for the maximum among the candidate tokens only ([CLS] and [SEP] carry the "
                          "largest scores here).")
    if out[1] == 1:
        raise CheckFailed(f"`{name}` counts a hit where another candidate scores higher than the deciding token.")
    if out[2] == 0:
        raise CheckFailed(f"`{name}` misses a hit when every score is negative: exclude the other tokens with -inf, "
                          "not by multiplying the scores by 0.")
    rng = np.random.default_rng(85)
    n, t = 30, 9
    candidates = rng.random((n, t)) < 0.6
    candidates[:, 1:3] = True
    deciding = np.array([rng.choice(np.flatnonzero(row)) for row in candidates])
    scores = np.round(rng.normal(size=(n, t)), 1)  # rounded: ties among the candidates
    scores[::3] += 5.0 * ~candidates[::3]
    scores[1::4] -= 10.0
    for i in range(0, n, 2):  # the deciding token is the best candidate in half of the sentences
        scores[i, deciding[i]] = scores[i][candidates[i]].max()
    expected = np.empty(n)
    for i in range(n):  # the first candidate with the highest score
        best = max(scores[i, j] for j in range(t) if candidates[i, j])
        expected[i] = float(next(j for j in range(t) if candidates[i, j] and scores[i, j] == best) == deciding[i])
    got = as_array(call(func, scores.copy(), deciding.copy(), candidates.copy(), name=name), name=name, shape=(n,))
    if not np.array_equal(got, expected):
        raise CheckFailed(f"`{name}` disagrees with a loop over {n} random sentences: the first maximum among the "
                          "candidate tokens (np.argmax on ties) is a hit when it is the deciding position.")
    passed(f"{name}: shape {out.shape}, maximum over the candidate tokens only, negative scores, the first maximum on "
           "ties.")


@graded(answer="rank_agreement", part="8", points=2,
        hint="lecture 7, §10 and lab part 8: per sentence, scipy.stats.kendalltau (tau-b, which handles ties) between "
             "a[i] and b[i] restricted to the candidate tokens: not Pearson, not Spearman, not all tokens.")
def rank_agreement(func) -> None:
    """Check ``rank_agreement(scores_a, scores_b, candidates)`` on hand-made rankings and scipy's Kendall tau-b."""
    from scipy.stats import kendalltau, spearmanr

    name = "rank_agreement"
    a = np.array([[50.0, 1, 2, 3, 4, -50], [50.0, 1, 2, 3, 4, -50], [50.0, 1, 2, 3, 100, -50]])
    b = np.array([[-9.0, 10, 20, 30, 40, 9], [9.0, 40, 30, 20, 10, -9], [0.0, 1, 2, 3, 4, 7]])
    candidates = np.array([[0, 1, 1, 1, 1, 0]] * 3, dtype=bool)
    out = as_array(call(func, a.copy(), b.copy(), candidates.copy(), name=name), name=name, shape=(3,),
                   what="one correlation per sentence")
    if np.allclose(out[:2], [1.0, -1.0], atol=1e-9) and not np.isclose(out[2], 1.0, atol=1e-9):
        raise CheckFailed(f"`{name}` does not give +1 for two scores that rank the tokens in the same order; "
                          "a rank correlation depends on the order only, not on the values (use Kendall's tau).")
    if not np.allclose(out, [1.0, -1.0, 1.0], atol=1e-9):
        raise CheckFailed(f"`{name}` should give +1 when the candidate tokens are ranked in the same order and -1 in "
                          "the reverse order, whatever the scores of the other tokens; use only the candidates.")
    rng = np.random.default_rng(86)
    n, t = 12, 8
    candidates = rng.random((n, t)) < 0.7
    candidates[:, :3] = True
    a = rng.normal(size=(n, t))
    b = np.round(0.5 * a + rng.normal(size=(n, t)))  # rounded: ties
    a[:, -1] = 50.0
    got = as_array(call(func, a.copy(), b.copy(), candidates.copy(), name=name), name=name, shape=(n,))
    expected = np.array([kendalltau(a[i][candidates[i]], b[i][candidates[i]]).statistic for i in range(n)])
    if not np.allclose(got, expected, rtol=0, atol=1e-9):
        spearman = np.array([spearmanr(a[i][candidates[i]], b[i][candidates[i]]).statistic for i in range(n)])
        if np.allclose(got, spearman, rtol=0, atol=1e-9):
            raise CheckFailed(f"`{name}` computes Spearman's rank correlation; this lab measures the agreement with "
                              "Kendall's tau-b (scipy.stats.kendalltau).")
        raise CheckFailed(f"`{name}` differs from Kendall's tau-b (scipy.stats.kendalltau) over the candidate tokens "
                          f"of {n} random sentences with tied scores; tau-b corrects for ties.")
    passed(f"{name}: shape {out.shape}, +1 for the same ranking, -1 for the reverse, candidates only, Kendall's tau-b "
           "with ties.")


summary = Summary("Lab 7", multi_head_attention, extract_attention, attention_rollout, attention_flow, GradientXInput,
                  IntegratedGradients, TokenOcclusion, pointing_game, rank_agreement, written_points=7)
hint = summary.hint
install_not_written_handler(summary)
