"""Visible checks of lab 8 (explaining a language model: logit lens, logit attribution, interventions).

Each check runs the student's function on a toy transformer (2 layers, 2 heads, a 12-token
vocabulary) or on hand-made attention patterns, and reports shape, type, NaN, modified inputs,
hooks left behind and obvious mistakes in one sentence. They rely on properties that any
correct answer has (the last logit-lens entry is the model's output; attributions add up to
the logit; a patch of every position restores the clean run; causality: nothing changes
before a patched position), never on an implementation of the method. The hidden tests
compare with TransformerLens and reference implementations on fresh models and sequences.
"""

from __future__ import annotations

import numpy as np
import torch

from ..tiny_transformer import TinyTransformer, component_labels, run_with_cache
from . import CheckFailed, as_array, call, passed
from .week05 import as_result

__all__ = [
    "ablate_heads",
    "direct_logit_attribution",
    "induction_score",
    "logit_lens",
    "patch_heads",
    "patch_residual",
    "previous_token_score",
    "random_transformer",
    "residual_components",
]


# --- toy problems -----------------------------------------------------------------------

def random_transformer(seed: int, **config) -> TinyTransformer:
    """A TinyTransformer with large random weights: varied attention, non-trivial LayerNorms and biases.

    PyTorch's default initialisation gives nearly uniform attention, unit LayerNorm weights and
    zero LayerNorm biases, under which several mistakes go unnoticed.
    """
    torch.manual_seed(seed)
    model = TinyTransformer(**config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "ln" in name and name.endswith("weight"):
                param.copy_(1 + 0.3 * torch.randn_like(param))
            elif name.endswith("bias"):
                param.normal_(0.0, 0.3)
            elif "embed" in name and "unembed" not in name:
                param.normal_(0.0, 1.0)
            else:
                param.normal_(0.0, 1.5 / np.sqrt(param.shape[1]))
    return model.eval()


_CONFIG = dict(d_vocab=12, n_ctx=10, d_model=16, n_heads=2, n_layers=2)


def _toy() -> tuple[TinyTransformer, torch.Tensor]:
    model = random_transformer(81, **_CONFIG)
    tokens = torch.randint(0, 12, (3, 7), generator=torch.Generator().manual_seed(82))
    return model, tokens


def _logits(model, tokens) -> np.ndarray:
    with torch.no_grad():
        return model(tokens).numpy()


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _untouched(model, state, tokens: list[tuple[torch.Tensor, torch.Tensor]], name: str) -> None:
    """The weights, the token tensors and the model's hooks are as before the call."""
    if any(not torch.equal(v, model.state_dict()[k]) for k, v in state.items()):
        raise CheckFailed(f"`{name}` changed the model's weights; read them, do not modify them.")
    for given, before in tokens:
        if not torch.equal(given, before):
            raise CheckFailed(f"`{name}` changed the tokens it was given; work on a copy.")
    if any(module._forward_hooks or module._forward_pre_hooks for module in model.modules()):
        raise CheckFailed(f"`{name}` left a hook on the model; remove every hook (`handle.remove()`) in a `finally:` "
                          "block, or later runs of the model are changed too.")


def _result(value, *, name: str, shape: tuple[int, ...], what: str) -> np.ndarray:
    return as_result(value, name=name, shape=shape, what=what)


def _close(a, b, tol: float = 1e-4) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max()))))


def _run(func, *args, name: str, shape, what: str, model, token_args, **kwargs) -> np.ndarray:
    state = _state(model)
    copies = [(t, t.clone()) for t in token_args]
    out = _result(call(func, *args, name=name, **kwargs), name=name, shape=shape, what=what)
    _untouched(model, state, copies, name)
    return out


# --- part 1: logit lens -------------------------------------------------------------------

def logit_lens(func) -> None:
    """Check ``logit_lens(model, tokens)`` on a toy transformer."""
    name = "logit_lens"
    model, tokens = _toy()
    L, (B, S), V = model.n_layers, tokens.shape, model.d_vocab
    out = _run(func, model, tokens, name=name, shape=(L + 1, B, S, V), model=model, token_args=[tokens],
               what="(n_layers + 1, batch, pos, d_vocab): the embeddings, then after each block")
    if not _close(out[-1], _logits(model, tokens)):
        raise CheckFailed(f"`{name}`: the last entry should be the model's own logits: decode `resid_final` with "
                          "`model.ln_final` and then `model.unembed`.")
    changed = tokens.clone()
    changed[:, 0] = (changed[:, 0] + 1) % V
    other = as_result(call(func, model, changed, name=name), name=name, shape=out.shape)
    if not _close(other[0, :, 1:], out[0, :, 1:]):
        raise CheckFailed(f"`{name}`: the first entry should decode the residual stream entering block 0 (embeddings "
                          "only), which at a position does not depend on the other tokens.")
    if _close(out[0], out[1]):
        raise CheckFailed(f"`{name}` gives the same logits before and after block 0; decode `blocks.{{l}}.resid_pre`.")
    passed(f"{name}: shape {out.shape}, detached, starts from the embeddings, ends with the model's logits.")


# --- part 2: residual decomposition and direct logit attribution ----------------------------

def residual_components(func) -> None:
    """Check ``residual_components(model, tokens)`` on a toy transformer."""
    name = "residual_components"
    model, tokens = _toy()
    labels = component_labels(model)
    shape = (len(labels), *tokens.shape, model.d_model)
    out = _run(func, model, tokens, name=name, shape=shape, model=model, token_args=[tokens],
               what="(n_layers * n_heads + 3, batch, pos, d_model), in the order of component_labels(model)")
    _, cache = run_with_cache(model, tokens, names=["embed", "resid_final"])
    if not _close(out[labels.index("embed")], cache["embed"]):
        raise CheckFailed(f"`{name}`: the row labelled 'embed' should hold the token embeddings; follow the order of "
                          "`component_labels(model)` (heads first, then embed, pos_embed, bias).")
    total = out.sum(axis=0)
    if not _close(total, cache["resid_final"]):
        hint = ("the heads' outputs use the columns h*d_head:(h+1)*d_head of `attn.o.weight`, and every layer's "
                "`attn.o.bias` belongs in 'bias'")
        raise CheckFailed(f"`{name}`: the components should add up to `resid_final`; {hint}.")
    passed(f"{name}: shape {out.shape}, in the order of component_labels, adds up to resid_final.")


def direct_logit_attribution(func) -> None:
    """Check ``direct_logit_attribution(model, components, targets)`` on a toy transformer."""
    name = "direct_logit_attribution"
    model, tokens = _toy()
    _, cache = run_with_cache(model, tokens, names=["resid_final"])
    resid = cache["resid_final"]
    generator = torch.Generator().manual_seed(83)
    # Any split of the final residual stream: random parts, a part constant across d_model, and the rest.
    parts = torch.randn((3, *resid.shape), generator=generator)
    constant = torch.randn((*resid.shape[:2], 1), generator=generator).expand_as(resid)
    components = torch.cat([parts, constant[None], (resid - parts.sum(0) - constant)[None]])
    targets = torch.randint(0, model.d_vocab, tuple(tokens.shape), generator=generator)
    out = _run(func, model, components, targets, name=name, shape=(len(components) + 1, *tokens.shape), model=model,
               token_args=[components, targets], what="(n_components + 1, batch, pos): one row per component, "
               "then the constant term")
    logits = torch.from_numpy(_logits(model, tokens)).gather(-1, targets[..., None])[..., 0].numpy()
    if not _close(out.sum(axis=0), logits):
        raise CheckFailed(f"`{name}`: the rows should add up to the logit of each target token; centre every component, "
                          "divide all of them by the scale of their sum (the final LayerNorm's, frozen), multiply by "
                          "its weight and the target's unembedding row, and put β · W_U[y] + b_U[y] in the last row.")
    if not np.allclose(out[3], 0, atol=1e-5):
        raise CheckFailed(f"`{name}`: a component that is the same in every entry of d_model contributes nothing, "
                          "because the final LayerNorm subtracts the mean; centre each component.")
    passed(f"{name}: shape {out.shape}, the rows add up to the target logits, centred components.")


# --- part 3: attention scores ---------------------------------------------------------------

def _patterns(kinds: list[str], n_pos: int, targets: np.ndarray | None = None) -> np.ndarray:
    """Hand-made attention patterns (1, heads, pos, pos): each row sums to 1."""
    heads = []
    for kind in kinds:
        p = np.zeros((n_pos, n_pos))
        for t in range(n_pos):
            if kind == "previous":
                p[t, max(t - 1, 0)] = 1
            elif kind == "self":
                p[t, t] = 1
            elif kind == "first":
                p[t, 0] = 1
            elif kind == "induction":  # spread evenly over the targets, else on itself
                keys = np.flatnonzero(targets[t])
                p[t, keys if len(keys) else t] = 1 / max(len(keys), 1)
            elif kind == "duplicate":  # earlier occurrences of the current token (not their successors)
                keys = np.flatnonzero(np.roll(targets[t], -1)[:t])
                p[t, keys if len(keys) else t] = 1 / max(len(keys), 1)
        heads.append(p)
    return np.array(heads)[None]


def previous_token_score(func) -> None:
    """Check ``previous_token_score(pattern)`` on hand-made patterns."""
    name = "previous_token_score"
    pattern = _patterns(["previous", "self", "first"], 6)
    given = pattern.copy()
    out = as_array(call(func, given, name=name), name=name, shape=(3,), what="one score per head")
    if not np.array_equal(given, pattern):
        raise CheckFailed(f"`{name}` modified the pattern it was given.")
    if np.isclose(out[0], 5 / 6):
        raise CheckFailed(f"`{name}`: a head that always attends to the previous token should score 1; average only "
                          "over the queries t >= 1 (position 0 has no previous token).")
    if not np.isclose(out[0], 1) or not np.isclose(out[1], 0):
        raise CheckFailed(f"`{name}`: a head that always attends to the previous token should score 1 and one that "
                          "attends to the current token 0; read pattern[b, h, t, t - 1].")
    passed(f"{name}: shape {out.shape}; 1 for a previous-token head, 0 for a self-attending head.")


def induction_score(func) -> None:
    """Check ``induction_score(pattern, tokens)`` on hand-made patterns and repeated tokens."""
    name = "induction_score"
    tokens = np.array([[3, 5, 7, 3, 5, 7, 3, 5]])  # every token after position 2 has earlier occurrences
    n_pos = tokens.shape[1]
    targets = np.zeros((n_pos, n_pos), dtype=bool)
    for t in range(n_pos):
        for j in range(1, t + 1):
            targets[t, j] = tokens[0, j - 1] == tokens[0, t]
    pattern = _patterns(["induction", "duplicate", "previous"], n_pos, targets)
    given, given_tokens = pattern.copy(), tokens.copy()
    out = as_array(call(func, given, given_tokens, name=name), name=name, shape=(3,), what="one score per head")
    if not (np.array_equal(given, pattern) and np.array_equal(given_tokens, tokens)):
        raise CheckFailed(f"`{name}` modified the pattern or the tokens it was given.")
    if np.isclose(out[1], 1):
        raise CheckFailed(f"`{name}` scores the attention to earlier occurrences of the current token; the induction "
                          "targets are the positions right after them (tokens[j - 1] == tokens[t]).")
    if out[0] < 1 - 1e-6 and out[0] > 0.4:
        raise CheckFailed(f"`{name}`: a head that spreads its attention over all the targets of a query should score 1; "
                          "sum the attention over every target, not only the most recent one, and average only over "
                          "queries that have a target.")
    if not np.isclose(out[0], 1) or not np.isclose(out[1], 0):
        raise CheckFailed(f"`{name}`: a pure induction head should score 1 and a head attending to earlier copies of the "
                          "current token 0.")
    passed(f"{name}: shape {out.shape}; 1 for an induction head (all targets), 0 for a duplicate-token head.")


# --- part 4: activation patching -----------------------------------------------------------

def _pair(model) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(84)
    clean = torch.randint(0, model.d_vocab, (3, 7), generator=generator)
    corrupted = clean.clone()
    corrupted[:, 2] = (corrupted[:, 2] + 1 + torch.randint(0, model.d_vocab - 1, (3,), generator=generator)) % model.d_vocab
    corrupted[:, 4] = (corrupted[:, 4] + 3) % model.d_vocab
    return clean, corrupted


def _causal(out: np.ndarray, corrupted_logits: np.ndarray, first: int, name: str) -> None:
    """Nothing changes before the first patched position, and every sequence changes from there on."""
    unchanged_later = [_close(out[b, first:], corrupted_logits[b, first:]) for b in range(len(out))]
    if not _close(out[:, :first], corrupted_logits[:, :first]) or any(unchanged_later):
        raise CheckFailed(f"`{name}` should change every sequence from the first patched position ({first}) on and "
                          "nothing before it (attention only looks back); patch the positions (axis 1) of every "
                          "sequence, not sequences of the batch (axis 0).")


def patch_residual(func) -> None:
    """Check ``patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None)``."""
    name = "patch_residual"
    model = random_transformer(85, **_CONFIG)
    clean, corrupted = _pair(model)
    shape, what = (*clean.shape, model.d_vocab), "(batch, pos, d_vocab): the logits of the patched run"
    clean_logits, corrupted_logits = _logits(model, clean), _logits(model, corrupted)
    for layer in range(model.n_layers + 1):
        out = _run(func, model, clean, corrupted, layer, None, name=name, shape=shape, what=what, model=model,
                   token_args=[clean, corrupted])
        if not _close(out, clean_logits):
            where = "`resid_final`" if layer == model.n_layers else f"`blocks.{layer}.resid_pre`"
            raise CheckFailed(f"`{name}`: patching every position of the residual stream at layer {layer} ({where}) "
                              "should give exactly the clean logits; make the hook return the clean activation.")
    out = _run(func, model, clean, corrupted, 1, [], name=name, shape=shape, what=what, model=model,
               token_args=[clean, corrupted])
    if not _close(out, corrupted_logits):
        raise CheckFailed(f"`{name}` with `positions=[]` should patch nothing and return the corrupted logits.")
    out = _run(func, model, clean, corrupted, 0, [2], name=name, shape=shape, what=what, model=model,
               token_args=[clean, corrupted])
    _causal(out, corrupted_logits, 2, name)
    if _close(out, corrupted_logits):
        raise CheckFailed(f"`{name}`: patching the embeddings of the corrupted position 2 should change the logits.")
    passed(f"{name}: shape {out.shape}, detached, hooks removed; all positions give the clean logits, none the "
           "corrupted ones, and nothing changes before a patched position.")


def patch_heads(func) -> None:
    """Check ``patch_heads(model, clean_tokens, corrupted_tokens, heads, positions=None)``."""
    name = "patch_heads"
    model = random_transformer(86, **_CONFIG)
    clean, corrupted = _pair(model)
    shape, what = (*clean.shape, model.d_vocab), "(batch, pos, d_vocab): the logits of the patched run"
    corrupted_logits = _logits(model, corrupted)
    out = _run(func, model, clean, corrupted, [], None, name=name, shape=shape, what=what, model=model,
               token_args=[clean, corrupted])
    if not _close(out, corrupted_logits):
        raise CheckFailed(f"`{name}` with `heads=[]` should patch nothing and return the corrupted logits.")
    one = _run(func, model, clean, corrupted, [(1, 0)], None, name=name, shape=shape, what=what, model=model,
               token_args=[clean, corrupted])
    if _close(one, corrupted_logits):
        raise CheckFailed(f"`{name}`: restoring head L1H0 should change the corrupted logits; replace "
                          "`z[:, positions, head]` of `blocks.1.attn.z` by the clean value.")
    out = _run(func, model, clean, corrupted, [(0, 1), (1, 0)], [4, 5], name=name, shape=shape, what=what,
               model=model, token_args=[clean, corrupted])
    _causal(out, corrupted_logits, 4, name)
    later = _run(func, model, clean, corrupted, [(1, 0), (1, 1)], [6], name=name, shape=shape, what=what,
                 model=model, token_args=[clean, corrupted])
    _causal(later, corrupted_logits, 6, name)
    if _close(later, corrupted_logits):
        raise CheckFailed(f"`{name}`: restoring both heads of layer 1 at the last position should change its logits.")
    passed(f"{name}: shape {out.shape}, detached, hooks removed; no heads give the corrupted logits, and nothing "
           "changes before a patched position.")


# --- part 5: ablation -----------------------------------------------------------------------

def ablate_heads(func) -> None:
    """Check ``ablate_heads(model, tokens, heads, kind="zero")``."""
    name = "ablate_heads"
    model, tokens = _toy()
    shape, what = (*tokens.shape, model.d_vocab), "(batch, pos, d_vocab): the logits of the ablated run"
    logits = _logits(model, tokens)
    for kind in ("zero", "mean"):
        out = _run(func, model, tokens, [], kind=kind, name=name, shape=shape, what=what, model=model, token_args=[tokens])
        if not _close(out, logits):
            raise CheckFailed(f"`{name}` with `heads=[]` should ablate nothing and return the model's logits.")
    out = _run(func, model, tokens, [(0, 1)], kind="zero", name=name, shape=shape, what=what, model=model,
               token_args=[tokens])
    if _close(out[:, 0], logits[:, 0]):
        raise CheckFailed(f"`{name}` should ablate the head at every position, including position 0; "
                          "`z` has shape (batch, pos, n_heads, d_head): set `z[:, :, head]`.")
    silent = random_transformer(81, **_CONFIG)
    with torch.no_grad():  # head L0H1 writes nothing: zero-ablating it cannot change anything
        silent.blocks[0].attn.o.weight[:, model.d_head:2 * model.d_head] = 0
    out = _run(func, silent, tokens, [(0, 1)], kind="zero", name=name, shape=shape, what=what, model=silent,
               token_args=[tokens])
    if not _close(out, _logits(silent, tokens)):
        raise CheckFailed(f"`{name}`: zero-ablating a head whose output projection is zero should change nothing; "
                          "set that head's `z` to zero and leave the other heads and the biases alone.")
    same = tokens[:1].repeat(4, 1)
    out = _run(func, model, same, [(0, 0), (1, 1)], kind="mean", name=name, shape=(4, *shape[1:]), what=what,
               model=model, token_args=[same])
    if not _close(out, _logits(model, same)):
        raise CheckFailed(f"`{name}(..., kind='mean')`: on a batch of identical sequences the mean over the batch at "
                          "each position is the head's own output, so nothing should change; average over the batch "
                          "only, position by position.")
    passed(f"{name}: shape {out.shape}, detached, hooks removed; ablates at every position, zero and per-position "
           "batch mean.")
