"""Hidden tests of lab 7: attention in transformers.

Oracles (settings as in ``shared/xai-oracles.md``):

| student's              | reference                                                                       | tolerance |
|------------------------|---------------------------------------------------------------------------------|-----------|
| ``multi_head_attention`` | ``torch.nn.functional.scaled_dot_product_attention`` (outputs) and ``nn.MultiheadAttention`` (outputs and per-head weights, output projection set to the identity) on random inputs with 1, 3 and 4 heads and padding; MiniLM's own ``output_attentions`` for two of its layers; padded keys must get exactly 0 | 1e-4 relative |
| ``extract_attention``  | the same encoder run on each sentence alone, without padding (a tiny BERT with 4 heads and MiniLM) | 1e-5 |
| ``attention_rollout``  | an independent port of Abnar & Zuidema's ``compute_joint_attention`` (``A + I``, rows normalised, recursion over layers); rows sum to 1, identity attention gives the identity, one layer gives 0.5 A + 0.5 I | 1e-6 |
| ``attention_flow``     | networkx ``maximum_flow_value`` (preflow-push) on the layered graph, rows normalised; same exact properties | 1e-4 |
| ``GradientXInput``     | captum ``LayerGradientXActivation`` on the word embeddings, summed over the hidden dimension | 1e-4 relative |
| ``IntegratedGradients`` | captum ``LayerIntegratedGradients`` on the word embeddings, ``method="riemann_middle"``, same n_steps, [PAD] and random baselines; completeness with 64 steps | 1e-4 relative; 1 % |
| ``TokenOcclusion``     | captum ``FeatureAblation`` on the token ids (window 1) and ``Occlusion`` with ``sliding_window_shapes=(w,)``, stride 1 | 1e-4 relative |
| ``pointing_game``      | a loop over sentences and candidate tokens                                        | exact |
| ``rank_agreement``     | ``scipy.stats.kendalltau`` (tau-b) per sentence, with ties                        | 1e-9 |

Models are tiny BERTs of :func:`xaikit.text_models.tiny_bert` with fresh seeded weights (other
sizes and head counts than the visible checks) and the pretrained MiniLM, on sentences the
lab never uses.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xaikit.checks.week05 import as_result
from xaikit.text_models import load_minilm, reference_input_ids, tiny_bert, tiny_text_classifier

from .core import CheckFailed, as_array, call, expect_close, grading, passed

# Top-level modules the lab forbids in answers (blocked in the worker that runs student code).
FORBIDDEN = ("captum",)
PRELOAD = ("torch", "transformers", "transformers.models.bert.modeling_bert", "xaikit.text_models")  # what the worker imports before student code
# Per-call time budget of each check for a correct answer, in seconds (about 10x the solution).
BUDGET_S = {
    "multi_head_attention": 10,
    "extract_attention": 20,
    "attention_rollout": 5,
    "attention_flow": 30,
    "GradientXInput": 10,
    "IntegratedGradients": 30,
    "TokenOcclusion": 15,
    "pointing_game": 5,
    "rank_agreement": 5,
}

RELATIVE = 1e-4  # float32 arithmetic in a different order
SENTENCES = ["a quiet evening at the old station", "rain again", "the lecture on sunday was long but clear"]


def _close(got, expected, *, name: str, reference: str, relative: float = RELATIVE) -> float:
    expected = np.asarray(expected.detach() if isinstance(expected, torch.Tensor) else expected, dtype=float)
    scale = float(np.abs(expected).max()) if expected.size else 1.0
    return expect_close(got, expected, name=name, reference=reference, rtol=relative, atol=relative * (scale or 1.0))


def _unchanged(given: torch.Tensor, original: torch.Tensor, name: str, what: str) -> None:
    if not torch.equal(given, original):
        raise CheckFailed(f"`{name}` modified the {what} it was given in place; work on a copy.")


def _padded_batch(seed: int, lengths, vocab: int):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (len(lengths), max(lengths)), generator=g)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, 0], ids[i, n - 1], ids[i, n:] = 1, 2, 0
        mask[i, :n] = 1
    return ids, mask


# --- part 1: multi-head attention -------------------------------------------------------------

def _attention_problem(seed: int, n: int, t: int, dim: int, lengths):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, t, dim, generator=g)
    weights = []
    for _ in range(3):  # q, k, v: large enough weights for peaked attention
        weights += [1.5 * torch.randn(dim, dim, generator=g) / dim**0.5, 0.2 * torch.randn(dim, generator=g)]
    mask = None
    if lengths is not None:
        mask = (torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]).long()
    return x, weights, mask


def _call_attention(func, name, x, weights, n_heads, mask):
    given = [x.clone(), *[w.clone() for w in weights], None if mask is None else mask.clone()]
    result = call(func, given[0], *given[1:7], n_heads, given[7], name=name)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"`{name}` should return two tensors, (output, weights).")
    n, t, dim = x.shape
    output = as_result(result[0], name=f"{name} (output)", shape=(n, t, dim), strict=False,
                       what="the heads' outputs concatenated")
    attn = as_result(result[1], name=f"{name} (weights)", shape=(n, n_heads, t, t), strict=False,
                     what="one T x T matrix per head")
    _unchanged(given[0], x, name, "input x")
    return output, attn


def _torch_references(x, weights, n_heads, mask):
    wq, bq, wk, bk, wv, bv = weights
    n, t, dim = x.shape
    mha = nn.MultiheadAttention(dim, n_heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([wq, wk, wv]))
        mha.in_proj_bias.copy_(torch.cat([bq, bk, bv]))
        mha.out_proj.weight.copy_(torch.eye(dim))
        mha.out_proj.bias.zero_()
        out_mha, w_mha = mha(x, x, x, key_padding_mask=None if mask is None else mask == 0, need_weights=True,
                             average_attn_weights=False)

        def heads(y):
            return y.view(n, t, n_heads, dim // n_heads).transpose(1, 2)

        sdpa = F.scaled_dot_product_attention(heads(x @ wq.T + bq), heads(x @ wk.T + bk), heads(x @ wv.T + bv),
                                              attn_mask=None if mask is None else mask[:, None, None, :].bool())
    return sdpa.transpose(1, 2).reshape(n, t, dim), out_mha, w_mha


def multi_head_attention(func) -> None:
    name = "multi_head_attention"
    with grading(name):
        worst = 0.0
        for seed, (n, t, dim, n_heads, lengths) in zip((9701, 9702, 9703), [(3, 7, 12, 3, [7, 4, 6]), (2, 5, 16, 4, None),
                                                                           (2, 6, 10, 1, [3, 6])]):
            x, weights, mask = _attention_problem(seed, n, t, dim, lengths)
            label = f"{name} (n_heads={n_heads}, {'with' if mask is not None else 'without'} padding)"
            output, attn = _call_attention(func, label, x, weights, n_heads, mask)
            sdpa, out_mha, w_mha = _torch_references(x, weights, n_heads, mask)
            if mask is not None:
                padded = (mask == 0)[:, None, None, :].expand(n, n_heads, t, t).numpy()
                if np.any(attn[padded] != 0):
                    raise CheckFailed(f"`{label}` gives padded keys a non-zero weight (largest "
                                      f"{np.abs(attn[padded]).max():.2g}); the mask must act before the softmax.")
            worst = max(worst, _close(attn, w_mha, name=f"{label} (weights)",
                                      reference="nn.MultiheadAttention's per-head weights"))
            worst = max(worst, _close(output, sdpa, name=f"{label} (output)",
                                      reference="F.scaled_dot_product_attention"))
            worst = max(worst, _close(output, out_mha, name=f"{label} (output)",
                                      reference="nn.MultiheadAttention with an identity output projection"))
        # MiniLM's own attention weights, at the input of two of its layers.
        tokenizer, encoder = load_minilm()
        enc = tokenizer(SENTENCES, padding=True, return_tensors="pt")
        with torch.no_grad():
            out = encoder(**enc, output_hidden_states=True, output_attentions=True)
        for layer in (1, 5):
            sa = encoder.encoder.layer[layer].attention.self
            weights = [p.detach().clone() for p in (sa.query.weight, sa.query.bias, sa.key.weight, sa.key.bias,
                                                    sa.value.weight, sa.value.bias)]
            label = f"{name} (MiniLM layer {layer})"
            _, attn = _call_attention(func, label, out.hidden_states[layer].clone(), weights,
                                      encoder.config.num_attention_heads, enc["attention_mask"])
            worst = max(worst, _close(attn, out.attentions[layer], name=label,
                                      reference="MiniLM's own output_attentions"))
    passed(f"{name} matches scaled_dot_product_attention and nn.MultiheadAttention with 1, 3 and 4 heads and padding, "
           f"padded keys get exactly 0, and it reproduces MiniLM's attention (largest difference {worst:.1e}).")


# --- part 2: extraction -----------------------------------------------------------------------

def _check_extraction(func, name, encoder, ids, mask) -> float:
    ids_given, mask_given = ids.clone(), mask.clone()
    out = call(func, encoder, ids_given, mask_given, name=name)
    _unchanged(ids_given, ids, name, "input_ids")
    if not isinstance(out, (list, tuple)) or len(out) != len(ids):
        raise CheckFailed(f"`{name}` should return a list with one tensor per sentence ({len(ids)} here).")
    worst = 0.0
    config = encoder.config
    for i in range(len(ids)):
        keep = mask[i].bool()
        n = int(keep.sum())
        got = as_result(out[i], name=f"{name}(...)[{i}]", shape=(config.num_hidden_layers, config.num_attention_heads, n, n),
                        what="(layers, heads, T_i, T_i)", strict=False)
        with torch.no_grad():
            alone = torch.stack(encoder(input_ids=ids[i:i + 1, keep], output_attentions=True).attentions)[:, 0]
        worst = max(worst, expect_close(got, alone.numpy(), name=f"{name}(...)[{i}]", rtol=0, atol=1e-5,
                                        reference="the encoder's attention for that sentence alone"))
    return worst


def extract_attention(func) -> None:
    name = "extract_attention"
    with grading(name):
        encoder = tiny_bert(9711, n_layers=3, n_heads=4, hidden_size=24, vocab_size=50)
        ids, mask = _padded_batch(9712, [5, 8, 3, 6], vocab=50)
        worst = _check_extraction(func, name, encoder, ids, mask)
        tokenizer, minilm = load_minilm()
        enc = tokenizer(SENTENCES, padding=True, return_tensors="pt")
        worst = max(worst, _check_extraction(func, name, minilm, enc["input_ids"], enc["attention_mask"]))
    passed(f"{name} returns each sentence's attention without padding, for a tiny BERT with 4 heads and for MiniLM "
           f"(largest difference {worst:.1e}).")


# --- parts 3 and 4: rollout and flow -----------------------------------------------------------

def _random_attention(seed: int, n_layers: int, n_heads: int, t: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.random((n_layers, n_heads, t, t)) ** 4
    return a / a.sum(axis=-1, keepdims=True)


def _augmented(attentions: np.ndarray) -> np.ndarray:
    """Head average + identity, rows normalised (Abnar & Zuidema's ``A + I``)."""
    mean = attentions.mean(axis=1)
    aug = mean + np.eye(mean.shape[-1])[None]
    return aug / aug.sum(axis=-1, keepdims=True)


def _reference_rollout(attentions: np.ndarray) -> np.ndarray:
    """Port of ``compute_joint_attention`` (attention_flow repository): joint[i] = aug[i] @ joint[i - 1]."""
    aug = _augmented(attentions)
    joint = aug[0]
    for i in range(1, len(aug)):
        joint = aug[i].dot(joint)
    return joint


def _reference_flow(attentions: np.ndarray) -> np.ndarray:
    import networkx as nx
    from networkx.algorithms.flow import preflow_push

    aug = _augmented(attentions)
    n_layers, t = aug.shape[0], aug.shape[-1]
    graph = nx.DiGraph()
    for layer in range(n_layers):
        for i in range(t):
            for j in range(t):
                graph.add_edge((layer + 1, i), (layer, j), capacity=float(aug[layer, i, j]))
    flow = np.array([[nx.maximum_flow_value(graph, (n_layers, i), (0, j), flow_func=preflow_push) for j in range(t)]
                     for i in range(t)])
    return flow / flow.sum(axis=1, keepdims=True)


def _minilm_attention() -> np.ndarray:
    tokenizer, encoder = load_minilm()
    enc = tokenizer("the quiet station felt strange at night", return_tensors="pt")
    with torch.no_grad():
        return torch.stack(encoder(**enc, output_attentions=True).attentions)[:, 0].double().numpy()


def _aggregate(func, name: str, reference, reference_name: str, cases, atol: float) -> float:
    worst = 0.0
    for attentions in cases:
        given = attentions.copy()
        t = attentions.shape[-1]
        got = as_array(call(func, given, name=name), name=name, shape=(t, t), what="one row per output token")
        if not np.array_equal(given, attentions):
            raise CheckFailed(f"`{name}` modified the attention array it was given.")
        if not np.allclose(got.sum(axis=1), 1.0, atol=atol):
            raise CheckFailed(f"`{name}`: the rows of the result should sum to 1.")
        worst = max(worst, expect_close(got, reference(attentions), name=name, rtol=0, atol=atol,
                                        reference=reference_name))
    # exact properties: identity attention gives the identity; one layer gives 0.5 A + 0.5 I (normalised)
    identity = np.broadcast_to(np.eye(6), (3, 4, 6, 6)).copy()
    expect_close(as_array(call(func, identity, name=name), name=name, shape=(6, 6)), np.eye(6), name=name, rtol=0,
                 atol=atol, reference="the identity (every head attends only to its own token)")
    one = _random_attention(9729, 1, 3, 7)
    expect_close(as_array(call(func, one.copy(), name=name), name=name, shape=(7, 7)), _augmented(one)[0], name=name,
                 rtol=0, atol=atol, reference="0.5·A + 0.5·I for a single layer")
    return worst


def attention_rollout(func) -> None:
    name = "attention_rollout"
    with grading(name):
        cases = [_random_attention(9721, 4, 3, 6), _random_attention(9722, 2, 5, 9), _minilm_attention()]
        worst = _aggregate(func, name, _reference_rollout, "a reference rollout (A + I, rows normalised, "
                           "multiplied from the last layer down)", cases, atol=1e-6)
    passed(f"{name} matches a port of Abnar & Zuidema's compute_joint_attention on random and MiniLM attention, and "
           f"the identity and one-layer properties hold (largest difference {worst:.1e}).")


def attention_flow(func) -> None:
    name = "attention_flow"
    with grading(name):
        cases = [_random_attention(9731, 3, 2, 5), _random_attention(9732, 2, 4, 6)]
        worst = _aggregate(func, name, _reference_flow, "networkx's maximum flow on the layered graph (rows normalised)",
                           cases, atol=1e-4)
    passed(f"{name} matches networkx's maximum flow on two random layered graphs, and the identity and one-layer "
           f"properties hold (largest difference {worst:.1e}).")


# --- parts 5 to 7: attributions -------------------------------------------------------------------

def _text_problems(seed: int):
    """Two tiny BERT classifiers of different sizes with padded batches and targets."""
    small = tiny_text_classifier(seed, n_classes=3, n_layers=2, n_heads=2, hidden_size=16, vocab_size=40)
    ids_s, mask_s = _padded_batch(seed + 1, [6, 4, 5], vocab=40)
    large = tiny_text_classifier(seed + 2, n_classes=2, n_layers=3, n_heads=4, hidden_size=24, vocab_size=50)
    ids_l, mask_l = _padded_batch(seed + 3, [7, 7, 3, 5], vocab=50)
    return [(small, ids_s, mask_s, torch.tensor([2, 0, 1])), (large, ids_l, mask_l, torch.tensor([1, 0, 0, 1]))]


def _attribute(explainer, name, ids, target, **kwargs) -> np.ndarray:
    given = ids.clone()
    out = as_result(call(explainer.attribute, given, target, name=name, **kwargs), name=name, shape=tuple(ids.shape),
                    what="one score per token, like input_ids", strict=False)
    _unchanged(given, ids, name, "input_ids")
    return out


def GradientXInput(cls) -> None:  # noqa: N802 - named after the class it grades
    from captum.attr import LayerGradientXActivation

    name = "GradientXInput.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for model, ids, mask, target in _text_problems(9741):
            explainer = call(cls, model, name="GradientXInput")
            oracle = LayerGradientXActivation(model, model.word_embeddings)
            for t in (target, 1):
                got = _attribute(explainer, name, ids, t, attention_mask=mask.clone())
                expected = oracle.attribute(ids, target=t, additional_forward_args=(mask,)).sum(dim=-1)
                worst = max(worst, _close(got, expected, name=name,
                                          reference="captum's LayerGradientXActivation on the word embeddings"))
    passed(f"{name} matches captum's LayerGradientXActivation on two fresh tiny BERTs, with tensor and integer "
           f"targets (largest difference {worst:.1e}).")


def IntegratedGradients(cls) -> None:  # noqa: N802
    from captum.attr import LayerIntegratedGradients

    name = "IntegratedGradients.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for k, (model, ids, mask, target) in enumerate(_text_problems(9751)):
            explainer = call(cls, model, name="IntegratedGradients")
            oracle = LayerIntegratedGradients(model, model.word_embeddings)
            pad = reference_input_ids(ids, keep_ids=(1, 2, 0))
            noise = _padded_batch(9755 + k, [int(n) for n in mask.sum(dim=1)], vocab=model.word_embeddings.num_embeddings)[0]
            for baseline, steps, what in [(pad, 12, "[PAD] baseline"), (noise, 20, "random baseline")]:
                label = f"{name} ({what}, n_steps={steps})"
                got = _attribute(explainer, label, ids, target, baseline_ids=baseline.clone(), attention_mask=mask.clone(),
                                 n_steps=steps)
                expected = oracle.attribute(ids, baselines=baseline, target=target, additional_forward_args=(mask,),
                                            n_steps=steps, method="riemann_middle").sum(dim=-1)
                worst = max(worst, _close(got, expected, name=label, reference="captum's LayerIntegratedGradients "
                                          f"(riemann_middle, n_steps={steps}) on the word embeddings"))
        # Completeness: the scores add up to S(x) - S(baseline); 64 midpoint steps are accurate to far below 1 %.
        model, ids, mask, target = _text_problems(9757)[1]
        pad = reference_input_ids(ids, keep_ids=(1, 2, 0))
        total = _attribute(call(cls, model, name="IntegratedGradients"), name, ids, target, baseline_ids=pad.clone(),
                           attention_mask=mask.clone(), n_steps=64).sum(axis=1)
        with torch.no_grad():
            gap = (model(ids, mask) - model(pad, mask))[torch.arange(len(ids)), target].numpy()
        if np.any(np.abs(total - gap) > 0.01 * np.abs(gap) + 1e-4):
            i = int(np.argmax(np.abs(total - gap)))
            raise CheckFailed(f"`{name}` is not complete: for a fresh sentence the scores sum to {total[i]:.4f}, but "
                              f"S(x) - S(baseline) = {gap[i]:.4f} (tolerance 1 %).")
    passed(f"{name} matches captum's LayerIntegratedGradients (riemann_middle) with [PAD] and random baselines, and "
           f"is complete within 1 % (largest difference {worst:.1e}).")


def TokenOcclusion(cls) -> None:  # noqa: N802
    from captum.attr import FeatureAblation, Occlusion

    name = "TokenOcclusion.attribute"
    with grading(name), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for model, ids, mask, target in _text_problems(9761):
            explainer = call(cls, model, name="TokenOcclusion")
            label = f"{name}(..., window=1)"
            got = _attribute(explainer, label, ids, target, replacement_id=3, attention_mask=mask.clone())
            expected = FeatureAblation(model).attribute(ids, baselines=3, target=target, additional_forward_args=(mask,))
            worst = max(worst, _close(got, expected, name=label, reference="captum's FeatureAblation over the token ids"))
            for window, replacement in [(2, 5), (3, 4)]:
                label = f"{name}(..., window={window})"
                got = _attribute(explainer, label, ids, target, replacement_id=replacement, attention_mask=mask.clone(),
                                 window=window)
                expected = Occlusion(model).attribute(ids, sliding_window_shapes=(window,), strides=1, baselines=replacement,
                                                      target=target, additional_forward_args=(mask,))
                worst = max(worst, _close(got, expected, name=label,
                                          reference=f"captum's Occlusion with a window of {window} tokens"))
    passed(f"{name} matches captum's FeatureAblation (window 1) and Occlusion (windows 2 and 3) on two fresh tiny BERTs "
           f"(largest difference {worst:.1e}).")


# --- part 8: evaluation ----------------------------------------------------------------------------

def _candidates(rng: np.random.Generator, n: int, t: int, minimum: int) -> np.ndarray:
    candidates = rng.random((n, t)) < 0.6
    for row in candidates:
        if row.sum() < minimum:
            row[rng.choice(t, minimum, replace=False)] = True
    return candidates


def pointing_game(func) -> None:
    name = "pointing_game"
    with grading(name):
        rng = np.random.default_rng(9771)
        n, t = 60, 11
        candidates = _candidates(rng, n, t, 2)
        deciding = np.array([rng.choice(np.flatnonzero(row)) for row in candidates])
        scores = rng.normal(size=(n, t))
        scores[::3] += 5.0 * ~candidates[::3]  # the overall maximum lies outside the candidates
        scores[1::4, :] -= 10.0  # all negative
        hit_rows = rng.random(n) < 0.4
        for i in np.flatnonzero(hit_rows):  # make the deciding token the best candidate in these rows
            scores[i, deciding[i]] = scores[i][candidates[i]].max() + 0.5
        expected = np.empty(n)
        for i in range(n):
            best, best_j = -np.inf, -1
            for j in range(t):
                if candidates[i, j] and scores[i, j] > best:
                    best, best_j = scores[i, j], j
            expected[i] = float(best_j == deciding[i])
        given = scores.copy()
        got = as_array(call(func, given, deciding.copy(), candidates.copy(), name=name), name=name, shape=(n,),
                       what="one value (1 hit, 0 miss) per sentence")
        if not np.array_equal(given, scores):
            raise CheckFailed(f"`{name}` modified the scores it was given.")
        expect_close(got, expected, name=name, rtol=0, atol=1e-12,
                     reference="the position of the highest-scoring candidate compared with the deciding token")
    passed(f"{name} agrees with a loop over {n} random sentences (maximum over the candidates only, negative scores).")


def rank_agreement(func) -> None:
    name = "rank_agreement"
    from scipy.stats import kendalltau

    with grading(name):
        rng = np.random.default_rng(9781)
        n, t = 40, 12
        candidates = _candidates(rng, n, t, 3)
        a = rng.normal(size=(n, t))
        b = 0.5 * a + rng.normal(size=(n, t))
        b[::2] = np.round(b[::2])  # ties
        a[:, 0] = 100.0  # a large value outside the candidates of most rows
        expected = np.array([kendalltau(a[i][candidates[i]], b[i][candidates[i]]).statistic for i in range(n)])
        got = as_array(call(func, a.copy(), b.copy(), candidates.copy(), name=name), name=name, shape=(n,),
                       what="one correlation per sentence")
        expect_close(got, expected, name=name, rtol=0, atol=1e-9,
                     reference="scipy.stats.kendalltau (tau-b) over each sentence's candidate tokens")
    passed(f"{name} matches scipy's Kendall tau-b over the candidate tokens of {n} random sentences, ties included.")
