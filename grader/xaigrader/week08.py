"""Hidden tests of lab 8: logit lens, direct logit attribution, attention scores, patching and ablation.

Oracles (TransformerLens 3.9 runs the same weights as a ``HookedTransformer``, converted by
:func:`xaikit.tiny_transformer.to_hooked_transformer`; its logits agree with the
``TinyTransformer``'s to float32 rounding):

| student's                  | reference                                                                      | tolerance |
|----------------------------|--------------------------------------------------------------------------------|-----------|
| ``logit_lens``             | TransformerLens ``accumulated_resid``, ``apply_ln_to_stack(recompute_ln=True)``, ``unembed``; last entry = the model's logits | 1e-4 relative |
| ``residual_components``    | TransformerLens ``get_full_resid_decomposition`` (same order); the sum is ``resid_final`` | 1e-4 relative |
| ``direct_logit_attribution`` | TransformerLens ``logit_attrs`` with the final LayerNorm folded into the unembedding, and the folded ``b_U``; the rows add up to the model's logits, for its own decomposition and for a random split | 1e-4 relative |
| ``previous_token_score``   | the attention on TransformerLens's ``get_previous_token_head_detection_pattern``, averaged over queries t >= 1 | 1e-6 relative (float32 patterns) |
| ``induction_score``        | the attention on TransformerLens's ``get_induction_head_detection_pattern``, averaged over queries with a target (an explicit loop agrees: tests/test_checks_week08.py) | 1e-6 relative (float32 patterns) |
| ``patch_residual``         | TransformerLens ``run_with_hooks`` on ``hook_resid_pre`` / ``hook_resid_post`` and ``patching.get_act_patch_resid_pre``; every position restores the clean logits, none leaves the corrupted ones | 1e-4 relative |
| ``patch_heads``            | TransformerLens ``run_with_hooks`` on ``attn.hook_z`` and ``patching.get_act_patch_attn_head_out_all_pos`` | 1e-4 relative |
| ``ablate_heads``           | TransformerLens ``run_with_hooks`` on ``attn.hook_z`` (zeros, per-position batch means of the clean run) | 1e-4 relative |

Models are fresh :class:`~xaikit.tiny_transformer.TinyTransformer`s with large random weights
(other widths, head counts, vocabularies and 1 to 3 layers), never the shipped one; tokens come
from seeds the lab does not use, both random and repeated (:func:`make_repeated_tokens`).
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from functools import partial
from typing import Iterator
from unittest import mock

import numpy as np
import torch

from xaikit.checks.week05 import as_result
from xaikit.checks.week08 import random_transformer
from xaikit.tiny_transformer import component_labels, make_repeated_tokens, to_hooked_transformer

from .core import CheckFailed, as_array, call, expect_close, grading, passed

FORBIDDEN = ("transformer_lens",)
PRELOAD = ("torch", "xaikit.tiny_transformer")  # what the worker imports before student code
BUDGET_S = {  # generous: about 10x the reference solution on a 2-core laptop
    "logit_lens": 10,
    "residual_components": 10,
    "direct_logit_attribution": 10,
    "previous_token_score": 5,
    "induction_score": 5,
    "patch_residual": 30,
    "patch_heads": 30,
    "ablate_heads": 20,
}
RELATIVE = 1e-4  # float32 arithmetic in a different order (TransformerLens's einsums)

CONFIGS = [
    dict(d_vocab=23, n_ctx=20, d_model=24, n_heads=3, n_layers=3),
    dict(d_vocab=11, n_ctx=12, d_model=16, n_heads=2, n_layers=1),
]


def _problem(seed: int, config: dict, batch: int, n_pos: int):
    """A fresh model, its TransformerLens twin and a batch of tokens (half random, half repeated)."""
    model = random_transformer(seed, **config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hooked = to_hooked_transformer(model)
    generator = torch.Generator().manual_seed(seed + 1)
    random_half = torch.randint(0, config["d_vocab"], (batch - batch // 2, n_pos), generator=generator)
    repeated = make_repeated_tokens(batch // 2, n_pos=n_pos, d_vocab=config["d_vocab"], period=(2, 4),
                                    offset=(0, 3), random_state=seed + 2).tokens
    return model, hooked, torch.cat([random_half, repeated])


def _problems(seed: int):
    return [_problem(seed + 10 * k, config, batch, n_pos)
            for k, (config, batch, n_pos) in enumerate([(CONFIGS[0], 5, 14), (CONFIGS[1], 4, 9)])]


def _close(got, expected, *, name: str, reference: str, relative: float = RELATIVE) -> float:
    expected = np.asarray(expected.detach() if isinstance(expected, torch.Tensor) else expected, dtype=float)
    scale = float(np.abs(expected).max()) or 1.0
    return expect_close(got, expected, name=name, reference=reference, rtol=relative, atol=relative * scale)


def _logits(model, tokens) -> torch.Tensor:
    with torch.no_grad():
        return model(tokens)


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _untouched(model, state, given: list[torch.Tensor], originals: list[torch.Tensor], name: str) -> None:
    if any(not torch.equal(v, model.state_dict()[k]) for k, v in state.items()):
        raise CheckFailed(f"`{name}` changed the model's weights; read them, do not modify them.")
    if any(not torch.equal(g, o) for g, o in zip(given, originals)):
        raise CheckFailed(f"`{name}` modified the tensors it was given in place; work on copies.")


def _answer(func, model, *args, name: str, shape, what: str, **kwargs) -> np.ndarray:
    """Call the student's function on copies of the tensors, check what it returns and that nothing was modified."""
    state = _state(model)
    given = [a.clone() if isinstance(a, torch.Tensor) else copy.deepcopy(a) for a in args]
    out = as_result(call(func, model, *given, name=name, **kwargs), name=name, shape=shape, what=what, strict=False)
    _untouched(model, state, [g for g in given if isinstance(g, torch.Tensor)],
               [a for a in args if isinstance(a, torch.Tensor)], name)
    return out


# --- part 1: logit lens -------------------------------------------------------------------

def logit_lens(func) -> None:
    name = "logit_lens"
    with grading(name), torch.no_grad():
        worst = 0.0
        for model, hooked, tokens in _problems(8101):
            _, cache = hooked.run_with_cache(tokens)
            resid = cache.accumulated_resid()  # (n_layers + 1, batch, pos, d_model)
            normalised = cache.apply_ln_to_stack(resid, recompute_ln=True)  # ln_final with each layer's own statistics
            expected = hooked.unembed(normalised.flatten(0, 1)).view(len(resid), *tokens.shape, -1)
            logits = _logits(model, tokens)
            shape = (model.n_layers + 1, *tokens.shape, model.d_vocab)
            got = _answer(func, model, tokens, name=name, shape=shape, what="(n_layers + 1, batch, pos, d_vocab)")
            _close(got[-1], logits, name=f"{name}(...)[-1]", reference="the model's own logits")
            worst = max(worst, _close(got, expected, name=name,
                                      reference="TransformerLens's accumulated_resid through ln_final "
                                                "(apply_ln_to_stack, recompute_ln=True) and the unembedding"))
    passed(f"{name} matches an independent unembedding of every layer's residual stream (TransformerLens) on two fresh "
           f"models with 1 and 3 layers (largest difference {worst:.1e}).")


# --- part 2: residual decomposition and direct logit attribution ----------------------------

def residual_components(func) -> None:
    name = "residual_components"
    with grading(name), torch.no_grad():
        worst = 0.0
        for model, hooked, tokens in _problems(8201):
            _, cache = hooked.run_with_cache(tokens)
            expected, labels = cache.get_full_resid_decomposition(expand_neurons=False, return_labels=True)
            if list(labels) != component_labels(model):  # a broken grader, never a student's fault
                raise RuntimeError(f"TransformerLens's labels {labels} differ from component_labels")
            shape = (len(labels), *tokens.shape, model.d_model)
            got = _answer(func, model, tokens, name=name, shape=shape,
                          what="(n_layers * n_heads + 3, batch, pos, d_model), in the order of component_labels(model)")
            _close(got.sum(axis=0), cache[f"blocks.{model.n_layers - 1}.hook_resid_post"],
                   name=f"{name}(...).sum(axis=0)", reference="the final residual stream")
            worst = max(worst, _close(got, expected, name=name,
                                      reference="TransformerLens's get_full_resid_decomposition"))
    passed(f"{name} matches TransformerLens's residual decomposition on two fresh models and adds up to the final "
           f"residual stream (largest difference {worst:.1e}).")


def direct_logit_attribution(func) -> None:
    name = "direct_logit_attribution"
    with grading(name), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = 0.0
        for k, (model, _, tokens) in enumerate(_problems(8301)):
            folded = to_hooked_transformer(model, fold_ln=True)  # ln_final's weight and bias moved into W_U, b_U
            _, cache = folded.run_with_cache(tokens)
            generator = torch.Generator().manual_seed(8302 + k)
            targets = torch.randint(0, model.d_vocab, tuple(tokens.shape), generator=generator)
            logits = _logits(model, tokens).gather(-1, targets[..., None])[..., 0]
            heads_and_more = cache.get_full_resid_decomposition(expand_neurons=False)
            resid = heads_and_more.sum(0)
            parts = torch.randn((4, *resid.shape), generator=generator)  # any split of the residual stream
            split = torch.cat([parts, (resid - parts.sum(0))[None]])
            for components, what in [(heads_and_more, "its heads, embeddings and biases"), (split, "a random split")]:
                expected = torch.cat([cache.logit_attrs(components, tokens=targets), folded.b_U[targets][None]])
                shape = (len(components) + 1, *tokens.shape)
                got = _answer(func, model, components, targets, name=name, shape=shape,
                              what="(n_components + 1, batch, pos): one row per component, then the constant term")
                _close(got.sum(axis=0), logits, name=f"{name}(...).sum(axis=0)",
                       reference=f"the target logits (components: {what})")
                worst = max(worst, _close(got, expected, name=name,
                                          reference=f"TransformerLens's logit_attrs with the final LayerNorm folded "
                                                    f"(components: {what})"))
    passed(f"{name} matches TransformerLens's logit_attrs (frozen final scale) and adds up to the logits, for the "
           f"heads of two fresh models and for random splits of the residual stream (largest difference {worst:.1e}).")


# --- part 3: attention scores ---------------------------------------------------------------

def _random_patterns(seed: int, batch: int, n_heads: int, n_pos: int, sharpness: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scores = sharpness * rng.normal(size=(batch, n_heads, n_pos, n_pos))
    scores = np.where(np.tril(np.ones((n_pos, n_pos), dtype=bool)), scores, -np.inf)
    pattern = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return pattern / pattern.sum(axis=-1, keepdims=True)


def _model_patterns(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Attention patterns of a fresh model's layers on repeated tokens, stacked over layers as 'heads'."""
    model, hooked, tokens = _problem(seed, CONFIGS[0], 6, 16)
    _, cache = hooked.run_with_cache(tokens)
    return torch.cat([cache["pattern", layer] for layer in range(model.n_layers)], dim=1).numpy(), tokens.numpy()


def _detection_masks(kind: str, tokens: np.ndarray) -> np.ndarray:
    """TransformerLens's detection pattern of each sequence (1 where a head of that kind attends), (batch, pos, pos)."""
    from transformer_lens import head_detector

    make = {"previous": head_detector.get_previous_token_head_detection_pattern,
            "induction": head_detector.get_induction_head_detection_pattern}[kind]
    return np.stack([make(torch.as_tensor(row)[None]).numpy() for row in np.asarray(tokens)]).astype(bool)


def _score_reference(pattern: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Attention on the detection pattern, averaged over the queries that have a target (one score per head)."""
    on_targets = (np.asarray(pattern, dtype=float) * masks[:, None]).sum(axis=3)  # (batch, heads, pos)
    queries = masks.any(axis=2)
    return on_targets.transpose(1, 0, 2)[:, queries].mean(axis=1)


def previous_token_score(func) -> None:
    name = "previous_token_score"
    with grading(name):
        worst = 0.0
        problems = [_random_patterns(8401, 4, 5, 11), _random_patterns(8402, 3, 2, 6, sharpness=6.0),
                    _model_patterns(8403)[0]]
        for pattern in problems:
            masks = _detection_masks("previous", np.zeros((pattern.shape[0], pattern.shape[-1]), dtype=np.int64))
            expected = _score_reference(pattern, masks)
            given = pattern.copy()
            got = as_array(call(func, given, name=name), name=name, shape=(pattern.shape[1],), what="one score per head")
            if not np.array_equal(given, pattern):
                raise CheckFailed(f"`{name}` modified the pattern it was given in place.")
            worst = max(worst, expect_close(got, expected, name=name, rtol=1e-6, atol=1e-7,
                                            reference="the mean attention on TransformerLens's previous-token "
                                                      "detection pattern"))
    passed(f"{name} matches the mean attention on TransformerLens's previous-token detection pattern, on random and "
           f"model attention patterns (largest difference {worst:.1e}).")


def _induction_reference(pattern: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The lab's definition as an explicit loop (the tests check it agrees with TransformerLens's pattern)."""
    totals, count = np.zeros(pattern.shape[1]), 0
    for b in range(tokens.shape[0]):
        for t in range(tokens.shape[1]):
            keys = [j for j in range(1, t + 1) if tokens[b, j - 1] == tokens[b, t]]
            if keys:
                totals += pattern[b][:, t, keys].sum(axis=1)
                count += 1
    return totals / count


def induction_score(func) -> None:
    name = "induction_score"
    with grading(name):
        worst = 0.0
        rng = np.random.default_rng(8501)
        repeated = make_repeated_tokens(4, n_pos=13, d_vocab=30, period=(2, 5), offset=(0, 4), random_state=8502)
        problems = [
            (_random_patterns(8503, 4, 3, 13), repeated.tokens.numpy()),
            (_random_patterns(8504, 5, 2, 10), rng.integers(0, 4, size=(5, 10))),  # small vocabulary: many repeats
            _model_patterns(8505),
        ]
        for pattern, tokens in problems:
            expected = _score_reference(pattern, _detection_masks("induction", tokens))
            given, given_tokens = pattern.copy(), tokens.copy()
            got = as_array(call(func, given, given_tokens, name=name), name=name, shape=(pattern.shape[1],),
                           what="one score per head")
            if not (np.array_equal(given, pattern) and np.array_equal(given_tokens, tokens)):
                raise CheckFailed(f"`{name}` modified the pattern or the tokens it was given in place.")
            worst = max(worst, expect_close(got, expected, name=name,
                                            reference="the mean attention on TransformerLens's induction detection "
                                                      "pattern", rtol=1e-6, atol=1e-7))
    passed(f"{name} matches the mean attention on TransformerLens's induction detection pattern, on random and model "
           f"attention patterns with repeated tokens and many accidental repeats (largest difference {worst:.1e}).")


# --- part 4: activation patching -----------------------------------------------------------

def _corrupt(tokens: torch.Tensor, d_vocab: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    corrupted = tokens.clone()
    n_pos = tokens.shape[1]
    for pos in (1, n_pos // 2):
        shift = torch.randint(1, d_vocab, (len(tokens),), generator=generator)
        corrupted[:, pos] = (corrupted[:, pos] + shift) % d_vocab
    return corrupted


def _replace(activation, hook, *, clean, index):
    patched = activation.clone()
    patched[:, index] = clean[:, index]
    return patched


@contextlib.contextmanager
def _quiet_patching() -> Iterator:
    """TransformerLens's patching module, without its progress bars (they would clutter the feedback)."""
    from transformer_lens import patching

    with mock.patch.object(patching, "tqdm", lambda iterable, *args, **kwargs: iterable):
        yield patching


def _metric(logits: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
    """Mean logit of a fixed token at the last position (a patching metric)."""
    return logits[:, -1].gather(-1, answer[:, None]).mean()


def patch_residual(func) -> None:
    name = "patch_residual"
    with grading(name), torch.no_grad():
        worst = 0.0
        for k, (model, hooked, clean) in enumerate(_problems(8601)):
            corrupted = _corrupt(clean, model.d_vocab, 8602 + k)
            _, clean_cache = hooked.run_with_cache(clean)
            shape, what = (*clean.shape, model.d_vocab), "(batch, pos, d_vocab): the logits of the patched run"
            clean_logits, corrupted_logits = _logits(model, clean), _logits(model, corrupted)
            n_pos = clean.shape[1]
            for layer in range(model.n_layers + 1):
                hook_name = (f"blocks.{layer}.hook_resid_pre" if layer < model.n_layers
                             else f"blocks.{layer - 1}.hook_resid_post")
                for positions in (None, [], [1], [0, n_pos // 2, n_pos - 1]):
                    got = _answer(func, model, clean, corrupted, layer, positions, name=name, shape=shape, what=what)
                    label = f"{name}(..., layer={layer}, positions={positions})"
                    if positions is None:
                        _close(got, clean_logits, name=label, reference="the clean logits (every position patched)")
                    elif not positions:
                        _close(got, corrupted_logits, name=label, reference="the corrupted logits (nothing patched)")
                    index = slice(None) if positions is None else positions
                    expected = hooked.run_with_hooks(corrupted, fwd_hooks=[(hook_name, partial(
                        _replace, clean=clean_cache[hook_name], index=index))])
                    worst = max(worst, _close(got, expected, name=label,
                                              reference="TransformerLens run_with_hooks on the residual stream"))
            # TransformerLens's own patching sweep over (layer, position), with a scalar metric
            answer = torch.randint(0, model.d_vocab, (len(clean),), generator=torch.Generator().manual_seed(8603 + k))
            with _quiet_patching() as patching:
                sweep = patching.get_act_patch_resid_pre(hooked, corrupted, clean_cache, partial(_metric, answer=answer))
            got = np.zeros(tuple(sweep.shape))
            for layer in range(model.n_layers):
                for pos in range(n_pos):
                    logits = _answer(func, model, clean, corrupted, layer, [pos], name=name, shape=shape, what=what)
                    got[layer, pos] = float(_metric(torch.from_numpy(logits), answer))
            worst = max(worst, _close(got, sweep, name=f"{name} (one position at a time, metric: a logit at the last "
                                      "position)", reference="TransformerLens's patching.get_act_patch_resid_pre"))
    passed(f"{name} matches TransformerLens's hooks and its patching sweep on two fresh models; every position restores "
           f"the clean logits, none leaves the corrupted ones (largest difference {worst:.1e}).")


def _replace_heads(z, hook, *, clean, heads, index):
    patched = z.clone()
    for head in heads:
        patched[:, index, head] = clean[:, index, head]
    return patched


def _hooks_for(heads, layer_fn):
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)
    return [(f"blocks.{layer}.attn.hook_z", layer_fn(layer, hs)) for layer, hs in by_layer.items()]


def patch_heads(func) -> None:
    name = "patch_heads"
    with grading(name), torch.no_grad():
        worst = 0.0
        for k, (model, hooked, clean) in enumerate(_problems(8701)):
            corrupted = _corrupt(clean, model.d_vocab, 8702 + k)
            _, clean_cache = hooked.run_with_cache(clean)
            shape, what = (*clean.shape, model.d_vocab), "(batch, pos, d_vocab): the logits of the patched run"
            corrupted_logits = _logits(model, corrupted)
            L, H, n_pos = model.n_layers, model.n_heads, clean.shape[1]
            cases = [([], None), ([(L - 1, H - 1)], None), ([(0, 0), (0, H - 1)], [n_pos // 2, n_pos - 1]),
                     ([(layer, layer % H) for layer in range(L)], [2, n_pos - 1])]
            for heads, positions in cases:
                got = _answer(func, model, clean, corrupted, heads, positions, name=name, shape=shape, what=what)
                label = f"{name}(..., heads={heads}, positions={positions})"
                if not heads:
                    _close(got, corrupted_logits, name=label, reference="the corrupted logits (nothing patched)")
                index = slice(None) if positions is None else positions
                hooks = _hooks_for(heads, lambda layer, hs: partial(
                    _replace_heads, clean=clean_cache["z", layer], heads=hs, index=index))
                expected = hooked.run_with_hooks(corrupted, fwd_hooks=hooks)
                worst = max(worst, _close(got, expected, name=label, reference="TransformerLens run_with_hooks on hook_z"))
            answer = torch.randint(0, model.d_vocab, (len(clean),), generator=torch.Generator().manual_seed(8703 + k))
            with _quiet_patching() as patching:
                sweep = patching.get_act_patch_attn_head_out_all_pos(hooked, corrupted, clean_cache,
                                                                     partial(_metric, answer=answer))
            got = np.zeros(tuple(sweep.shape))
            for layer in range(L):
                for head in range(H):
                    logits = _answer(func, model, clean, corrupted, [(layer, head)], None, name=name, shape=shape,
                                     what=what)
                    got[layer, head] = float(_metric(torch.from_numpy(logits), answer))
            worst = max(worst, _close(got, sweep, name=f"{name} (one head at a time, every position)",
                                      reference="TransformerLens's patching.get_act_patch_attn_head_out_all_pos"))
    passed(f"{name} matches TransformerLens's hooks and its head-patching sweep on two fresh models "
           f"(largest difference {worst:.1e}).")


# --- part 5: ablation -----------------------------------------------------------------------

def _ablate(z, hook, *, heads, means):
    ablated = z.clone()
    for head in heads:
        ablated[:, :, head] = 0.0 if means is None else means[:, head]
    return ablated


def ablate_heads(func) -> None:
    name = "ablate_heads"
    with grading(name), torch.no_grad():
        worst = 0.0
        for model, hooked, tokens in _problems(8801):
            _, cache = hooked.run_with_cache(tokens)
            shape, what = (*tokens.shape, model.d_vocab), "(batch, pos, d_vocab): the logits of the ablated run"
            logits = _logits(model, tokens)
            L, H = model.n_layers, model.n_heads
            head_sets = [[], [(0, 0)], [(L - 1, H - 1), (0, H - 1)], [(layer, h) for layer in range(L) for h in range(H)
                                                                       if (layer + h) % 2 == 0]]
            for kind in ("zero", "mean"):
                for heads in head_sets:
                    got = _answer(func, model, tokens, heads, kind=kind, name=name, shape=shape, what=what)
                    label = f"{name}(..., heads={heads}, kind={kind!r})"
                    if not heads:
                        _close(got, logits, name=label, reference="the model's logits (nothing ablated)")
                    hooks = _hooks_for(heads, lambda layer, hs: partial(
                        _ablate, heads=hs, means=None if kind == "zero" else cache["z", layer].mean(dim=0)))
                    expected = hooked.run_with_hooks(tokens, fwd_hooks=hooks)
                    worst = max(worst, _close(got, expected, name=label,
                                              reference="TransformerLens run_with_hooks on hook_z"))
    passed(f"{name} matches TransformerLens hooks for zero and mean ablation of single heads and groups across layers "
           f"on two fresh models (largest difference {worst:.1e}).")
