"""Visible checks of lab 8 (explaining a language model: logit lens, logit attribution, interventions).

Each check runs the student's function on one small visible example, a toy transformer (2
layers, 2 heads, a 12-token vocabulary) or hand-made attention patterns, and compares it with
a reference computed inside the check by another route than the one the lab asks for: the
logit lens is the output of the model cut after ``l`` blocks; a head's component is what its
layer writes when the other heads' output weights are zeroed; a residual patch is the rest of
the model run from the patched stream; a head patch or ablation changes the layer's output by
``Δz · W_O`` (the output projection is linear), then the rest of the model runs; the scores are
explicit loops over hand-made and random patterns. Plus exact properties (the last
logit-lens entry is the model's output; attributions add up to the logit; nothing changes
before a patched position) and the hygiene of hooks (none left behind). A failure says in one
sentence which aspect is off, never the expected values. The hidden tests compare with
TransformerLens (which the lab forbids in answers) on fresh models of other sizes.

Ask for a hint with ``check.<function>.hint()``; ``check.summary(globals())`` lists every part.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from ..tiny_transformer import TinyTransformer, component_labels, run_with_cache
from . import CheckFailed, Summary, as_array, call, graded, install_not_written_handler, passed
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
    "summary",
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


def _cache(model, tokens, names):
    return run_with_cache(model, tokens, names=names)


# --- part 1: logit lens -------------------------------------------------------------------

@graded(answer="logit_lens", part="1", points=2,
        hint="lecture 8, §4 'The logit lens': decode blocks.{l}.resid_pre for l = 0 … n_layers - 1, then resid_final, each "
             "with model.ln_final (its OWN statistics) and model.unembed: n_layers + 1 entries, detached.")
def logit_lens(func) -> None:
    """Check ``logit_lens(model, tokens)``: entry ``l`` is the output of the model cut after ``l`` blocks."""
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
    for layer in range(L):
        cut = copy.deepcopy(model)
        cut.blocks = nn.ModuleList(list(cut.blocks)[:layer])
        if not _close(out[layer], _logits(cut, tokens)):
            raise CheckFailed(f"`{name}`: entry {layer} should be what the model outputs when it stops after {layer} "
                              f"block(s): decode `blocks.{layer}.resid_pre` with `model.ln_final` (with that stream's "
                              "own statistics) and `model.unembed`.")
    passed(f"{name}: shape {out.shape}, detached, entry l equals the model cut after l blocks, the last one its logits.")


# --- part 2: residual decomposition and direct logit attribution ----------------------------

@graded(answer="residual_components", part="2", points=2,
        hint="lecture 8, §3 'The residual stream' and §5: head h of layer l writes z[:, :, h] @ W_O[h], with the COLUMNS "
             "h·d_head:(h+1)·d_head of attn.o.weight (transposed); then embed, pos_embed (expanded over the batch) and "
             "the attention biases of ALL layers summed, in the order of component_labels(model).")
def residual_components(func) -> None:
    """Check ``residual_components(model, tokens)``: each head's row is what its layer writes when every other head's
    output weights (and the bias) are zero."""
    name = "residual_components"
    model, tokens = _toy()
    labels = component_labels(model)
    shape = (len(labels), *tokens.shape, model.d_model)
    out = _run(func, model, tokens, name=name, shape=shape, model=model, token_args=[tokens],
               what="(n_layers * n_heads + 3, batch, pos, d_model), in the order of component_labels(model)")
    _, cache = _cache(model, tokens, ["embed", "pos_embed", "resid_final"])
    if not _close(out[labels.index("embed")], cache["embed"]):
        raise CheckFailed(f"`{name}`: the row labelled 'embed' should hold the token embeddings; follow the order of "
                          "`component_labels(model)` (heads first, then embed, pos_embed, bias).")
    d = model.d_head
    heads = {}
    for layer in range(model.n_layers):
        for head in range(model.n_heads):
            alone = copy.deepcopy(model)
            with torch.no_grad():
                o = alone.blocks[layer].attn.o
                keep = o.weight[:, head * d:(head + 1) * d].clone()
                o.weight.zero_()
                o.bias.zero_()
                o.weight[:, head * d:(head + 1) * d] = keep
            heads[f"L{layer}H{head}"] = _cache(alone, tokens, [f"blocks.{layer}.attn.o"])[1][f"blocks.{layer}.attn.o"]
    for label, expected in heads.items():
        row = out[labels.index(label)]
        if not _close(row, expected):
            if any(_close(row, other) for other in heads.values()):
                raise CheckFailed(f"`{name}`: the row labelled '{label}' holds another head's output; put the heads in "
                                  "the order of `component_labels(model)`, layer by layer.")
            raise CheckFailed(f"`{name}`: the row labelled '{label}' should be what that head alone writes into the "
                              "residual stream, z[:, :, h] @ W_O[h] with the columns h*d_head:(h+1)*d_head of "
                              "`attn.o.weight` (no bias).")
    bias = sum(block.attn.o.bias.detach() for block in model.blocks)
    if not (_close(out[labels.index("pos_embed")], cache["pos_embed"].expand_as(cache["embed"]))
            and _close(out[labels.index("bias")], bias.expand_as(cache["embed"]))):
        raise CheckFailed(f"`{name}`: the rows 'pos_embed' and 'bias' should hold the position embeddings (the same "
                          "for every sequence) and the sum of every layer's `attn.o.bias`.")
    if not _close(out.sum(axis=0), cache["resid_final"]):  # pragma: no cover - implied by the rows above
        raise CheckFailed(f"`{name}`: the components should add up to `resid_final`.")
    passed(f"{name}: shape {out.shape}, in the order of component_labels, each head's row what that head alone writes, "
           "adds up to resid_final.")


@graded(answer="direct_logit_attribution", part="2", points=3,
        hint="lecture 8, §5 'Direct logit attribution': centre each component, divide ALL of them by the SAME scale, "
             "that of their sum (sqrt(var + eps), frozen), multiply by ln_final.weight and W_U[target]; the last row "
             "is β · W_U[y] + b_U[y].")
def direct_logit_attribution(func) -> None:
    """Check ``direct_logit_attribution(model, components, targets)`` on a toy transformer."""
    name = "direct_logit_attribution"
    model, tokens = _toy()
    _, cache = _cache(model, tokens, ["resid_final"])
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
    with torch.no_grad():
        rows = model.unembed.weight[targets]
        constant_term = (model.ln_final.bias * rows).sum(-1) + model.unembed.bias[targets]
    if not _close(out[-1], constant_term):
        raise CheckFailed(f"`{name}`: the last row should be the constant term β · W_U[y] + b_U[y] of the final "
                          "LayerNorm's bias and the unembedding; the components' rows carry everything else.")
    if not np.allclose(out[3], 0, atol=1e-5):
        raise CheckFailed(f"`{name}`: a component that is the same in every entry of d_model contributes nothing, "
                          "because the final LayerNorm subtracts the mean; centre each component.")
    merged = torch.cat([components[:1], components[1:3].sum(0, keepdim=True), components[3:]])
    again = _run(func, model, merged, targets, name=name, shape=(len(merged) + 1, *tokens.shape), model=model,
                 token_args=[merged, targets], what="(n_components + 1, batch, pos)")
    if not (_close(again[0], out[0]) and _close(again[1], out[1] + out[2])):
        raise CheckFailed(f"`{name}`: a component's term should not depend on how the other components are split, and "
                          "two components merged should get the sum of their terms; use the scale of the total, "
                          "frozen, for every component.")
    passed(f"{name}: shape {out.shape}, the rows add up to the target logits, centred components, the constant term "
           "last, linear in each component.")


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


def _random_patterns(seed: int, batch: int, n_heads: int, n_pos: int) -> np.ndarray:
    """Causal attention patterns (batch, heads, pos, pos) with random, peaked rows."""
    rng = np.random.default_rng(seed)
    scores = np.where(np.tril(np.ones((n_pos, n_pos), dtype=bool)), 2 * rng.normal(size=(batch, n_heads, n_pos, n_pos)),
                      -np.inf)
    pattern = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return pattern / pattern.sum(axis=-1, keepdims=True)


@graded(answer="previous_token_score", part="3", points=1,
        hint="lecture 8, §6 'Attention patterns and induction heads': the mean of pattern[b, h, t, t - 1] over all "
             "sequences b and the queries t >= 1 only (position 0 has no previous token).")
def previous_token_score(func) -> None:
    """Check ``previous_token_score(pattern)`` on hand-made patterns and a loop over random ones."""
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
    random = _random_patterns(87, 3, 2, 7)
    got = as_array(call(func, random.copy(), name=name), name=name, shape=(2,))
    expected = [np.mean([random[b, h, t, t - 1] for b in range(3) for t in range(1, 7)]) for h in range(2)]
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"`{name}` disagrees with a loop over 3 random sequences: average pattern[b, h, t, t - 1] "
                          "over every sequence b and every query t >= 1, one score per head.")
    passed(f"{name}: shape {out.shape}; 1 for a previous-token head, 0 for a self-attending head, the mean over "
           "sequences and queries.")


@graded(answer="induction_score", part="3", points=2,
        hint="lecture 8, §6: the targets of query t are the keys j (1 <= j <= t) with tokens[j - 1] == tokens[t], the "
             "token AFTER an earlier occurrence; sum the attention over all of them and average over every query (of "
             "every sequence) that has at least one target.")
def induction_score(func) -> None:
    """Check ``induction_score(pattern, tokens)`` on hand-made patterns and a loop over random ones."""
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
    # Random patterns; a small vocabulary gives repeats (some right after each other, so j = t can be a target) and
    # sequences with different numbers of queries that have a target.
    random = _random_patterns(88, 3, 2, 8)
    words = np.array([[1, 1, 2, 3, 1, 2, 2, 0], [0, 1, 2, 3, 4, 5, 6, 0], [2, 2, 2, 1, 2, 1, 0, 1]])
    got = as_array(call(func, random.copy(), words.copy(), name=name), name=name, shape=(2,))
    totals, count = np.zeros(2), 0
    for b in range(3):
        for t in range(8):
            keys = [j for j in range(1, t + 1) if words[b, j - 1] == words[b, t]]
            if keys:
                totals += random[b][:, t, keys].sum(axis=1)
                count += 1
    if not np.allclose(got, totals / count, rtol=1e-6, atol=1e-9):
        raise CheckFailed(f"`{name}` disagrees with a loop over 3 random sequences with repeated tokens: the targets of "
                          "query t are the keys 1 <= j <= t with tokens[j - 1] == tokens[t] (j = t included); average "
                          "over all queries of all sequences that have a target.")
    passed(f"{name}: shape {out.shape}; 1 for an induction head (all targets), 0 for a duplicate-token head, the loop's "
           "value on random patterns.")


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


@graded(answer="patch_residual", part="4", points=3,
        hint="lecture 8, §7 'Causal interventions: activation patching and ablation': a forward hook on "
             "blocks.{layer}.resid_pre (the stream ENTERING block layer; resid_final for layer = n_layers) returning a "
             "copy with [:, positions] set to the clean values (axis 1 is the position); remove the hook in finally.")
def patch_residual(func) -> None:
    """Check ``patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None)``.

    Every position patched gives the clean logits, none the corrupted ones; one or two positions
    patched give the rest of the model run from the patched residual stream.
    """
    name = "patch_residual"

    def reference(layer: int, positions) -> np.ndarray:
        """The rest of the model run from the corrupted stream entering block ``layer``, restored at ``positions``."""
        site = "resid_final" if layer == model.n_layers else f"blocks.{layer}.resid_pre"
        resid = _cache(model, corrupted, [site])[1][site].clone()
        resid[:, list(positions)] = _cache(model, clean, [site])[1][site][:, list(positions)]
        with torch.no_grad():
            for block in model.blocks[layer:]:
                resid = block(resid)
            return model.unembed(model.ln_final(resid)).numpy()

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
    for layer, positions in [(0, [2]), (1, [2, 4]), (2, [4])]:
        out = _run(func, model, clean, corrupted, layer, positions, name=name, shape=shape, what=what, model=model,
                   token_args=[clean, corrupted])
        if not _close(out, reference(layer, positions)):
            if layer < model.n_layers and _close(out, reference(layer + 1, positions)):
                raise CheckFailed(f"`{name}` patches the residual stream leaving block {layer}; layer {layer} means "
                                  f"`blocks.{layer}.resid_pre`, the stream entering block {layer}.")
            raise CheckFailed(f"`{name}(..., layer={layer}, positions={positions})` differs from running the rest of "
                              "the model from the corrupted residual stream with those positions restored from the "
                              "clean run.")
    passed(f"{name}: shape {out.shape}, detached, hooks removed; all positions give the clean logits, none the "
           "corrupted ones, nothing changes before a patched position, the rest of the model run from the patched "
           "stream at every layer.")


@graded(answer="patch_heads", part="4", points=2,
        hint="lecture 8, §7: a hook on blocks.{layer}.attn.z that replaces z[:, positions, head] of the listed heads only "
             "(one hook per layer, all its listed heads at once); the other heads and attn.o untouched; remove the hooks.")
def patch_heads(func) -> None:
    """Check ``patch_heads(model, clean_tokens, corrupted_tokens, heads, positions=None)``.

    No heads give the corrupted logits; heads of one layer restored at some positions change that
    layer's output by Δz · W_O, from where the rest of the model runs.
    """
    name = "patch_heads"

    def replaced(tokens, layer: int, new_z: dict, positions=None) -> np.ndarray:
        """Logits when heads of one layer get other values z at ``positions``: the layer's output changes by
        Δz · W_O (the output projection is linear), then the rest of the model runs."""
        names = [f"blocks.{layer}.resid_pre", f"blocks.{layer}.attn.o", f"blocks.{layer}.attn.z"]
        cache = _cache(model, tokens, names)[1]
        out = cache[names[0]] + cache[names[1]]
        index = slice(None) if positions is None else list(positions)
        d = model.d_head
        with torch.no_grad():
            for head, z in new_z.items():
                delta = torch.zeros_like(cache[names[2]][:, :, head])
                delta[:, index] = z[:, index] - cache[names[2]][:, index, head]
                out = out + delta @ model.blocks[layer].attn.o.weight[:, head * d:(head + 1) * d].T
            for block in model.blocks[layer + 1:]:
                out = block(out)
            return model.unembed(model.ln_final(out)).numpy()

    def reference(layer: int, heads: list[int], positions) -> np.ndarray:
        z_clean = _cache(model, clean, [f"blocks.{layer}.attn.z"])[1][f"blocks.{layer}.attn.z"]
        return replaced(corrupted, layer, {h: z_clean[:, :, h] for h in heads}, positions)

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
    across = _run(func, model, clean, corrupted, [(0, 1), (1, 0)], [4, 5], name=name, shape=shape, what=what,
                  model=model, token_args=[clean, corrupted])
    _causal(across, corrupted_logits, 4, name)
    for heads, positions in [([(1, 0)], None), ([(0, 1)], [4, 5]), ([(1, 0), (1, 1)], [6])]:
        out = _run(func, model, clean, corrupted, heads, positions, name=name, shape=shape, what=what, model=model,
                   token_args=[clean, corrupted])
        layer = heads[0][0]
        if not _close(out, reference(layer, [h for _, h in heads], positions)):
            every = reference(layer, list(range(model.n_heads)), positions)
            if _close(out, every):
                raise CheckFailed(f"`{name}` restores every head of layer {layer} when asked for {heads}; replace only "
                                  "`z[:, positions, head]` of the listed heads.")
            raise CheckFailed(f"`{name}(..., heads={heads}, positions={positions})` differs from the corrupted run with "
                              "those heads' z restored from the clean run at those positions (the layer's output "
                              "changes by Δz · W_O).")
    # Heads in two layers: a copy of the model whose z modules hand on the clean values of the listed heads.
    z_clean = _cache(model, clean, ["blocks.0.attn.z", "blocks.1.attn.z"])[1]

    class Restored(nn.Module):
        def __init__(self, layer: int, head: int):
            super().__init__()
            self.layer, self.head = layer, head

        def forward(self, z):
            z = z.clone()
            z[:, [4, 5], self.head] = z_clean[f"blocks.{self.layer}.attn.z"][:, [4, 5], self.head]
            return z

    both = copy.deepcopy(model)
    both.blocks[0].attn.z, both.blocks[1].attn.z = Restored(0, 1), Restored(1, 0)
    if not _close(across, _logits(both, corrupted)):
        raise CheckFailed(f"`{name}(..., heads=[(0, 1), (1, 0)], positions=[4, 5])` differs from the corrupted run with "
                          "both heads restored, each in its own layer; register a hook on every layer that has a "
                          "listed head.")
    passed(f"{name}: shape {out.shape}, detached, hooks removed; no heads give the corrupted logits, nothing changes "
           "before a patched position, only the listed heads are restored.")


# --- part 5: ablation -----------------------------------------------------------------------

@graded(answer="ablate_heads", part="5", points=3,
        hint="lecture 8, §7: replace z[:, :, head] at EVERY position by 0, or by its mean over the batch at each "
             "position (z[:, t, head].mean(0) of an unablated run on the same tokens); never touch the weights; "
             "remove the hooks.")
def ablate_heads(func) -> None:
    """Check ``ablate_heads(model, tokens, heads, kind="zero")``."""
    name = "ablate_heads"

    def replaced(tokens, layer: int, new_z: dict, positions=None) -> np.ndarray:
        """Logits when heads of one layer get other values z at ``positions``: the layer's output changes by
        Δz · W_O (the output projection is linear), then the rest of the model runs."""
        names = [f"blocks.{layer}.resid_pre", f"blocks.{layer}.attn.o", f"blocks.{layer}.attn.z"]
        cache = _cache(model, tokens, names)[1]
        out = cache[names[0]] + cache[names[1]]
        index = slice(None) if positions is None else list(positions)
        d = model.d_head
        with torch.no_grad():
            for head, z in new_z.items():
                delta = torch.zeros_like(cache[names[2]][:, :, head])
                delta[:, index] = z[:, index] - cache[names[2]][:, index, head]
                out = out + delta @ model.blocks[layer].attn.o.weight[:, head * d:(head + 1) * d].T
            for block in model.blocks[layer + 1:]:
                out = block(out)
            return model.unembed(model.ln_final(out)).numpy()

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
    for kind in ("zero", "mean"):
        for layer, heads in [(0, [1]), (1, [0, 1])]:
            z = _cache(model, tokens, [f"blocks.{layer}.attn.z"])[1][f"blocks.{layer}.attn.z"]
            new = {h: torch.zeros_like(z[:, :, h]) if kind == "zero" else z[:, :, h].mean(0, keepdim=True).expand_as(
                z[:, :, h]) for h in heads}
            out = _run(func, model, tokens, [(layer, h) for h in heads], kind=kind, name=name, shape=shape, what=what,
                       model=model, token_args=[tokens])
            if not _close(out, replaced(tokens, layer, new)):
                raise CheckFailed(f"`{name}(..., kind={kind!r})` on heads {[(layer, h) for h in heads]} differs from "
                                  "the run in which only those heads' z is replaced (by zeros, or by its mean over the "
                                  "batch at each position) and the rest of the model runs as usual.")
    passed(f"{name}: shape {out.shape}, detached, hooks removed; ablates at every position, zero and per-position "
           "batch mean, only the listed heads.")


summary = Summary("Lab 8", logit_lens, residual_components, direct_logit_attribution, previous_token_score,
                  induction_score, patch_residual, patch_heads, ablate_heads, written_points=8)
hint = summary.hint
install_not_written_handler(summary)
