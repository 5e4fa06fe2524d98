"""The tiny transformer, its data, the shipped weights and the mechanism those weights implement.

The mechanism is established here with TransformerLens (the model converted to a
``HookedTransformer``), independently of the lab's code: the heads the lab names as
previous-token and induction heads are those, by attention and by ablation.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from functools import partial

import numpy as np
import pytest
import torch

from xaikit.tiny_transformer import (
    RECIPE,
    TinyTransformer,
    _train_shipped,
    component_labels,
    evaluate,
    hook_names,
    load_tiny_transformer,
    make_repeated_tokens,
    next_token_loss,
    run_with_cache,
    to_hooked_transformer,
    train_transformer,
    weights_path,
)

PREVIOUS_TOKEN_HEADS = {(0, 0), (0, 3)}
INDUCTION_HEADS = {(1, 0), (1, 1), (1, 2), (1, 3)}

from weekly import one_thread  # noqa: E402,F401 - autouse fixture: torch on one thread


@pytest.fixture(scope="module")
def shipped():
    model = load_tiny_transformer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hooked = to_hooked_transformer(model)
    return model, hooked


def _readme(root) -> str:
    return (root / "xaikit" / "weights" / "README.md").read_text()


def test_readme_states_the_checksum_and_the_loss(root):
    readme = _readme(root)
    digest = re.search(r"^\| `induction\.pt` \| `([0-9a-f]{64})` \|$", readme, flags=re.M).group(1)
    assert hashlib.sha256(weights_path().read_bytes()).hexdigest() == digest
    row = re.search(r"^\| `induction` \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", readme, flags=re.M)
    stated = [float(v) for v in row.groups()]
    measured = evaluate(load_tiny_transformer())
    assert [round(measured[k], 3) for k in ("loss", "loss_predictable", "accuracy_predictable")] == stated
    assert 200 * 1024 < weights_path().stat().st_size < 250 * 1024  # "208 KB"


def test_shipped_model_predicts_repeats_and_only_repeats():
    result = evaluate(load_tiny_transformer(), random_state=321)
    assert result["loss_predictable"] < 0.1 and result["accuracy_predictable"] > 0.98
    data = make_repeated_tokens(200, random_state=322)
    with torch.no_grad():
        loss = next_token_loss(load_tiny_transformer()(data.tokens), data.tokens).numpy()
    assert abs(loss[~data.predictable[:, :-1]].mean() - np.log(100)) < 0.3  # before the repeat: guessing


def _scores(hooked, tokens: torch.Tensor) -> dict[str, np.ndarray]:
    """Previous-token and induction scores from TransformerLens's detection patterns (layers x heads)."""
    from transformer_lens import head_detector

    _, cache = hooked.run_with_cache(tokens)
    out = {}
    for kind, make in [("previous", head_detector.get_previous_token_head_detection_pattern),
                       ("induction", head_detector.get_induction_head_detection_pattern)]:
        masks = torch.stack([make(row[None]) for row in tokens]).bool()  # (batch, query, key)
        queries = masks.any(dim=-1)
        out[kind] = np.array([[(cache["pattern", layer][:, head] * masks).sum(-1)[queries].mean().item()
                               for head in range(hooked.cfg.n_heads)] for layer in range(hooked.cfg.n_layers)])
    return out


def test_the_heads_the_lab_names_are_previous_token_and_induction_heads(shipped, root):
    _, hooked = shipped
    scores = _scores(hooked, make_repeated_tokens(100, random_state=323).tokens)
    for (layer, head), value in np.ndenumerate(scores["previous"]):
        assert (value > 0.35) == ((layer, head) in PREVIOUS_TOKEN_HEADS), (layer, head, value)
    for (layer, head), value in np.ndenumerate(scores["induction"]):
        assert (value > 0.9) == ((layer, head) in INDUCTION_HEADS), (layer, head, value)
    assert scores["induction"][0].max() < 0.3 and scores["previous"][1].max() < 0.1
    # The lab's conclusion (its model answer) names exactly these heads.
    lab = (root / "solutions" / "lab08_llm" / "lab08_llm.py").read_text()
    assert "**L0H0 and L0H3**" in lab and "**L1H0, L1H1, L1H2 and L1H3**" in lab


def _loss_with_heads_zeroed(hooked, tokens, predictable, heads) -> float:
    def zero(z, hook, heads):
        z = z.clone()
        z[:, :, heads] = 0.0
        return z

    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        by_layer.setdefault(layer, []).append(head)
    hooks = [(f"blocks.{layer}.attn.hook_z", partial(zero, heads=hs)) for layer, hs in by_layer.items()]
    with torch.no_grad():
        logits = hooked.run_with_hooks(tokens, fwd_hooks=hooks)
    return float(next_token_loss(logits, tokens).numpy()[predictable[:, :-1]].mean())


def test_ablation_confirms_the_circuit(shipped):
    """Zero-ablating the previous-token heads or the induction heads breaks the prediction; the other heads do not."""
    _, hooked = shipped
    data = make_repeated_tokens(150, random_state=324)
    loss = partial(_loss_with_heads_zeroed, hooked, data.tokens, data.predictable)
    other_layer0 = {(0, h) for h in range(4)} - PREVIOUS_TOKEN_HEADS
    assert loss([]) < 0.1
    assert loss(sorted(PREVIOUS_TOKEN_HEADS)) > 3.5
    assert loss(sorted(INDUCTION_HEADS)) > 3.5
    assert loss(sorted(other_layer0)) < 0.5
    assert max(loss([head]) for head in INDUCTION_HEADS) < 0.3  # redundancy: any three suffice


def test_transformer_lens_twin_computes_the_same_function(shipped):
    model, hooked = shipped
    tokens = make_repeated_tokens(8, random_state=325).tokens
    with torch.no_grad():
        torch.testing.assert_close(hooked(tokens), model(tokens), rtol=1e-4, atol=1e-4)
        folded = to_hooked_transformer(model, fold_ln=True)
        torch.testing.assert_close(folded(tokens), model(tokens), rtol=1e-4, atol=1e-4)
    _, cache = run_with_cache(model, tokens)
    _, tl_cache = hooked.run_with_cache(tokens)
    for layer in range(model.n_layers):
        torch.testing.assert_close(cache[f"blocks.{layer}.attn.pattern"], tl_cache["pattern", layer], rtol=1e-4,
                                   atol=1e-5)
        torch.testing.assert_close(cache[f"blocks.{layer}.attn.z"], tl_cache["z", layer], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(cache[f"blocks.{layer}.resid_pre"], tl_cache["resid_pre", layer])
    _, labels = tl_cache.get_full_resid_decomposition(expand_neurons=False, return_labels=True)
    assert labels == component_labels(model)


def test_cache_names_shapes_and_hooks_removed():
    model = TinyTransformer(d_vocab=10, n_ctx=8, d_model=12, n_heads=3, n_layers=2)
    tokens = torch.zeros(2, 5, dtype=torch.long)
    logits, cache = run_with_cache(model, tokens)
    assert set(cache) == set(hook_names(model))
    assert cache["blocks.1.attn.pattern"].shape == (2, 3, 5, 5) and cache["blocks.0.attn.z"].shape == (2, 5, 3, 4)
    assert cache["pos_embed"].shape == (5, 12) and cache["unembed"].shape == logits.shape == (2, 5, 10)
    torch.testing.assert_close(cache["unembed"], logits)
    assert not any(m._forward_hooks for m in model.modules())
    # causal: each row of a pattern sums to 1 and never looks ahead
    pattern = cache["blocks.0.attn.pattern"]
    torch.testing.assert_close(pattern.sum(-1), torch.ones(2, 3, 5))
    assert float(pattern.triu(1).abs().max()) == 0.0


def test_bad_inputs_are_refused_in_one_sentence():
    model = TinyTransformer(d_vocab=10, n_ctx=8, d_model=12, n_heads=3)
    with pytest.raises(ValueError, match="integer tensor of shape"):
        model(torch.zeros(5))
    with pytest.raises(ValueError, match="at most n_ctx=8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="multiple of n_heads"):
        TinyTransformer(d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="shorter than n_pos"):
        make_repeated_tokens(2, n_pos=10, period=(4, 8))
    with pytest.raises(ValueError, match="d_vocab=5 is too small"):
        make_repeated_tokens(2, n_pos=30, d_vocab=5)
    with pytest.raises(ValueError, match="unknown model"):
        weights_path("gpt2")


def test_repeated_tokens_follow_their_recipe():
    data = make_repeated_tokens(50, n_pos=30, d_vocab=40, period=(3, 7), offset=(0, 5), random_state=1)
    tokens = data.tokens.numpy()
    for row, p, o, predictable in zip(tokens, data.periods, data.offsets, data.predictable):
        assert len(set(row[: o + p])) == o + p  # prefix and block: distinct tokens
        assert np.array_equal(row[o + p:], row[o:len(row) - p])  # the block repeats to the end
        assert np.array_equal(np.flatnonzero(predictable), np.arange(o + p, 29))
    assert set(data.periods) <= set(range(3, 8)) and set(data.offsets) <= set(range(0, 6))
    again = make_repeated_tokens(50, n_pos=30, d_vocab=40, period=(3, 7), offset=(0, 5), random_state=1)
    assert torch.equal(again.tokens, data.tokens)


def test_training_is_seeded_and_the_loss_falls():
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = TinyTransformer(d_vocab=20, n_ctx=16, d_model=16, n_heads=2)
        runs.append(train_transformer(model, steps=30, batch_size=16, lr=3e-3, period=(2, 4), offset=(0, 3),
                                      random_state=3, progress=False))
    assert runs[0] == runs[1] and np.mean(runs[0][-5:]) < np.mean(runs[0][:5])
    assert not model.training


@pytest.mark.slow
def test_the_recipe_reproduces_the_shipped_model():
    model, history = _train_shipped(progress=False)
    result = evaluate(model)
    assert result["loss_predictable"] < 0.1 and result["accuracy_predictable"] > 0.98
    assert RECIPE["steps"] == len(history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = _scores(to_hooked_transformer(model), make_repeated_tokens(100, random_state=323).tokens)
    assert scores["induction"][1].min() > 0.9
