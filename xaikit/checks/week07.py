"""Visible checks of lab 7 (attention in transformers).

Each check runs the student's function or class on a tiny input and reports shape, type,
NaN, modified inputs and the common mistakes in one sentence: a mask applied after the
softmax, a missing 1/sqrt(d), heads split the wrong way, a rollout without the residual, an
attribution without (input - baseline). They use properties of toy problems (one-hot tokens,
identity attention, a bag-of-embeddings classifier whose gradient is known), never a
reference implementation. The hidden tests compare with PyTorch, MiniLM, captum and
independent references on inputs the student never sees.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..text_models import tiny_bert, tiny_text_classifier
from . import CheckFailed, as_array, call, passed
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


def multi_head_attention(func) -> None:
    """Check ``multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask)``."""
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
    values = (x @ weights[4].T + weights[5]).view(2, 5, n_heads, dim // n_heads).transpose(1, 2).numpy()
    mixed = np.einsum("nhij,nhjd->nihd", attn, values).reshape(2, 5, dim)
    if not _close(output, mixed):
        raise CheckFailed(f"`{name}`: the output should be each head's attention-weighted sum of its values, "
                          "with the heads concatenated back in order (head h in dimensions h·d to (h+1)·d - 1).")
    # One-hot tokens and W_Q = W_K = 2 I: head 0 sees q_i · k_j = 4 if i = j else 0; head 1 sees zeros.
    eye, zero = 2 * torch.eye(dim), torch.zeros(dim)
    onehot = torch.eye(dim)[None, :2]
    _, attn = _mha(func, name, onehot, [eye, zero, eye, zero, torch.eye(dim), zero], n_heads, None)
    if not np.allclose(attn[0, 1], 0.5, atol=1e-5):
        raise CheckFailed(f"`{name}`: head 1 should only see dimensions {dim // 2} to {dim - 1}; split the D dimensions "
                          "into n_heads consecutive chunks (reshape to (N, T, H, d), then move the head axis forward).")
    self_weight = float(attn[0, 0, 0, 0])
    expected = float(np.exp(2) / (np.exp(2) + 1))  # 4 / sqrt(d) with d = 4
    if not np.isclose(self_weight, expected, atol=1e-4):
        raise CheckFailed(f"`{name}`: a token attends to itself with weight {self_weight:.3f} where the scaled "
                          f"dot product gives {expected:.3f}; divide the scores by sqrt(d), d = D / n_heads "
                          "being the size of one head.")
    passed(f"{name}: {shapes}, rows sum to 1, padded keys get exactly 0, "
           "heads split in chunks, scores scaled by 1/sqrt(d).")


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


def extract_attention(func) -> None:
    """Check ``extract_attention(encoder, input_ids, attention_mask)`` on a tiny BERT."""
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
    expected = 0.5 * one[0].mean(axis=0) + 0.5 * np.eye(4)
    if _close(out, one[0].mean(axis=0), atol=1e-4):
        raise CheckFailed(f"`{name}`: with one layer you return the averaged attention itself; add the residual "
                          "0.5·I (0.5·A + 0.5·I) and renormalise the rows.")
    if not _close(out, expected, atol=1e-4):
        raise CheckFailed(f"`{name}`: with one layer the result should be 0.5·A + 0.5·I, with A the attention "
                          "averaged over the heads (rows normalised).")


def attention_rollout(func) -> None:
    """Check ``attention_rollout(attentions)`` with exact properties."""
    name = "attention_rollout"
    _aggregate_properties(func, name)
    passed(f"{name}: (T, T), rows sum to 1, identity attention gives the identity, one layer gives 0.5·A + 0.5·I.")


def attention_flow(func) -> None:
    """Check ``attention_flow(attentions)`` with exact properties."""
    name = "attention_flow"
    _aggregate_properties(func, name)
    passed(f"{name}: (T, T), rows sum to 1, identity attention gives the identity, one layer gives 0.5·A + 0.5·I "
           "(a single edge carries its capacity).")


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


def GradientXInput(cls) -> None:  # noqa: N802 - named after the class it checks
    """Check ``GradientXInput(model).attribute(input_ids, target, attention_mask=...)`` on a linear model."""
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
    passed(f"{name}: shape {out.shape}, detached, signed, embedding × gradient summed per token.")


def IntegratedGradients(cls) -> None:  # noqa: N802
    """Check ``IntegratedGradients(model).attribute(input_ids, target, baseline_ids=..., ...)``."""
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
    tiny = tiny_text_classifier(80, n_classes=3)
    ids2, mask2 = _padded_batch(81, [7, 5])
    base2 = torch.where(ids2 > 2, torch.zeros_like(ids2), ids2)
    target2 = torch.tensor([1, 2])
    ig = _explain(cls, name, tiny, ids2, target2, baseline_ids=base2, attention_mask=mask2, n_steps=64)
    with torch.no_grad():
        gap = (tiny(ids2, mask2) - tiny(base2, mask2))[torch.arange(2), target2].numpy()
    if not np.allclose(ig.sum(axis=1), gap, rtol=0.01, atol=1e-4):
        raise CheckFailed(f"`{name}` is not complete on a tiny BERT: the scores sum to {np.round(ig.sum(axis=1).astype(float), 4).tolist()}, "
                          f"f(x) - f(baseline) is {np.round(gap.astype(float), 4).tolist()}; use the midpoint rule alpha = (s + 1/2) / m.")
    passed(f"{name}: shape {out.shape}, (e - e') × gradient for a linear model, zero at the baseline, complete on a tiny BERT.")


def TokenOcclusion(cls) -> None:  # noqa: N802
    """Check ``TokenOcclusion(model).attribute(input_ids, target, replacement_id=..., window=...)``."""
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
    passed(f"{name}: shape {out.shape}, leave-one-token-out drops for window=1, window averages for window=2.")


# --- part 8: evaluation ----------------------------------------------------------------------------

def pointing_game(func) -> None:
    """Check ``pointing_game(scores, deciding, candidates)`` on a hand-made example."""
    name = "pointing_game"
    scores = np.array([[9.0, 0.1, 0.8, 0.3, 5.0], [9.0, 0.9, 0.1, 0.3, 5.0], [0.0, -1.0, -3.0, -2.0, 0.0]])
    candidates = np.array([[0, 1, 1, 1, 0]] * 3, dtype=bool)
    deciding = np.array([2, 2, 1])
    given = scores.copy()
    out = as_array(call(func, given, deciding.copy(), candidates.copy(), name=name), name=name, shape=(3,),
                   what="one value per sentence")
    if not np.array_equal(given, scores):
        raise CheckFailed(f"`{name}` modified the scores it was given.")
    if np.array_equal(out, [0.0, 0.0, 0.0]):
        raise CheckFailed(f"`{name}` returned [0, 0, 0]; expected [1, 0, 1]: look for the maximum among the candidate "
                          "tokens only ([CLS] and [SEP] carry the largest scores here).")
    if not np.array_equal(out, [1.0, 0.0, 1.0]):
        raise CheckFailed(f"`{name}` returned {out.tolist()}; expected [1, 0, 1]: a hit when the highest-scoring "
                          "candidate is the deciding token (negative scores included).")
    passed(f"{name}: shape {out.shape}, maximum over the candidate tokens only, hits and misses right.")


def rank_agreement(func) -> None:
    """Check ``rank_agreement(scores_a, scores_b, candidates)`` on hand-made rankings."""
    name = "rank_agreement"
    a = np.array([[50.0, 1, 2, 3, 4, -50], [50.0, 1, 2, 3, 4, -50], [50.0, 1, 2, 3, 100, -50]])
    b = np.array([[-9.0, 10, 20, 30, 40, 9], [9.0, 40, 30, 20, 10, -9], [0.0, 1, 2, 3, 4, 7]])
    candidates = np.array([[0, 1, 1, 1, 1, 0]] * 3, dtype=bool)
    out = as_array(call(func, a.copy(), b.copy(), candidates.copy(), name=name), name=name, shape=(3,),
                   what="one correlation per sentence")
    if np.allclose(out[:2], [1.0, -1.0], atol=1e-9) and not np.isclose(out[2], 1.0, atol=1e-9):
        raise CheckFailed(f"`{name}` returned {out[2]:.3f} for two scores that rank the tokens in the same order; "
                          "a rank correlation depends on the order only, not on the values (use Kendall's tau).")
    if not np.allclose(out, [1.0, -1.0, 1.0], atol=1e-9):
        raise CheckFailed(f"`{name}` returned {np.round(out, 3).tolist()}; expected [1, -1, 1]: the same order of the "
                          "candidate tokens gives +1, the reverse order -1 (ignore the other tokens).")
    passed(f"{name}: shape {out.shape}, +1 for the same ranking, -1 for the reverse, candidates only.")
