"""A tiny attention-only transformer language model whose mechanism is known.

The model reads sequences of random tokens in which a block of tokens repeats: after a
random prefix (the *offset*), a block of random tokens (the *period*) is copied again and
again until the end of the sequence. Trained to predict the next token, a two-layer
attention-only transformer solves the task with the two-head circuit of Olsson et al.
(2022): a **previous-token head** in layer 0 writes "my previous token was A" into each
position, and an **induction head** in layer 1 looks for the position whose previous token
equals the current token and copies the token found there. Because the period and the
offset are random, a positional shortcut does not work (with a fixed period the model learns
one instead).

The architecture is GPT-2's without MLPs: token and position embeddings, ``n_layers``
blocks ``x = x + attn(ln(x))`` with causal multi-head attention, a final LayerNorm and the
unembedding. Every operation is its own module, so PyTorch forward hooks can read or
replace any activation:

===========================  =============================  =========================
module (``model.get_submodule(name)``)  output of the hook              shape
===========================  =============================  =========================
``embed``                    token embeddings               (batch, pos, d_model)
``pos_embed``                position embeddings            (pos, d_model)
``blocks.L.resid_pre``       residual stream entering block L  (batch, pos, d_model)
``blocks.L.ln``              its normalised input           (batch, pos, d_model)
``blocks.L.attn.pattern``    attention pattern (softmax)    (batch, head, query, key)
``blocks.L.attn.z``          per-head weighted values       (batch, pos, head, d_head)
``blocks.L.attn.o``          attention output (with bias)   (batch, pos, d_model)
``resid_final``              residual stream after the last block  (batch, pos, d_model)
``ln_final``                 its normalised value           (batch, pos, d_model)
``unembed``                  logits                         (batch, pos, d_vocab)
===========================  =============================  =========================

The output of head ``h`` of layer ``L`` is ``z[:, :, h] @ W_O[h]`` with
``W_O[h] = attn.o.weight[:, h*d_head:(h+1)*d_head].T`` (shape (d_head, d_model)); the heads'
outputs plus ``attn.o.bias`` add up to what the layer writes into the residual stream.

The shipped model (``xaikit/weights/induction.pt``, 50,000 parameters, 200 KB) loads with
:func:`load_tiny_transformer`; ``python -m xaikit.tiny_transformer`` retrains it with
:func:`train_transformer` and the recipe :data:`RECIPE`. :func:`run_with_cache` reads every
activation of a forward pass and :func:`to_hooked_transformer` converts a model into a
TransformerLens ``HookedTransformer`` (optional; for the lecture and the tests).
This module never computes an explanation itself.

Defined in week 8.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from sklearn.utils import Bunch
from torch import nn
from tqdm.auto import tqdm

__all__ = [
    "RECIPE",
    "Attention",
    "Block",
    "TinyTransformer",
    "component_labels",
    "hook_names",
    "load_tiny_transformer",
    "make_repeated_tokens",
    "next_token_loss",
    "rebuild_weights",
    "run_with_cache",
    "to_hooked_transformer",
    "train_transformer",
    "weights_path",
]


# --- the model ---------------------------------------------------------------------------

class Attention(nn.Module):
    """Causal multi-head self-attention, one module per operation.

    ``q``, ``k``, ``v`` (linear maps d_model -> n_heads * d_head, with bias), ``pattern``
    (the softmax over the keys: its output is the attention pattern), ``z`` (an identity that
    exposes the per-head weighted values) and ``o`` (linear n_heads * d_head -> d_model).
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.pattern = nn.Softmax(dim=-1)
        self.z = nn.Identity()
        self.o = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n_pos, _ = x.shape
        split = (batch, n_pos, self.n_heads, self.d_head)
        q, k, v = self.q(x).view(split), self.k(x).view(split), self.v(x).view(split)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(self.d_head)
        future = torch.ones(n_pos, n_pos, dtype=torch.bool, device=x.device).triu(1)
        pattern = self.pattern(scores.masked_fill(future, float("-inf")))
        z = self.z(torch.einsum("bhqk,bkhd->bqhd", pattern, v))
        return self.o(z.reshape(batch, n_pos, -1))


class Block(nn.Module):
    """One pre-LayerNorm attention block: ``x + attn(ln(x))`` (no MLP)."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.resid_pre = nn.Identity()
        self.ln = nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.resid_pre(x)
        return x + self.attn(self.ln(x))


class TinyTransformer(nn.Module):
    """Attention-only transformer language model (GPT-2 style, without MLPs).

    Parameters
    ----------
    d_vocab : int
        Number of tokens (token ids are 0 ... d_vocab - 1).
    n_ctx : int
        Longest sequence the model reads (number of learned position embeddings).
    d_model : int
        Width of the residual stream.
    n_heads : int
        Attention heads per layer; each has ``d_head = d_model // n_heads`` dimensions.
    n_layers : int
        Attention blocks.

    The forward pass takes token ids of shape (batch, pos), int64, and returns the logits
    (batch, pos, d_vocab): at position t, the scores of the token that comes at t + 1.

    Examples
    --------
    >>> TinyTransformer(d_vocab=10, n_ctx=8, d_model=16, n_heads=2)(torch.zeros(3, 5, dtype=torch.long)).shape
    torch.Size([3, 5, 10])
    """

    def __init__(self, d_vocab: int = 100, n_ctx: int = 48, d_model: int = 64, n_heads: int = 4, n_layers: int = 2):
        super().__init__()
        self.config = dict(d_vocab=d_vocab, n_ctx=n_ctx, d_model=d_model, n_heads=n_heads, n_layers=n_layers)
        self.d_vocab, self.n_ctx, self.d_model, self.n_heads, self.n_layers = d_vocab, n_ctx, d_model, n_heads, n_layers
        self.d_head = d_model // n_heads
        self.embed = nn.Embedding(d_vocab, d_model)
        self.pos_embed = nn.Embedding(n_ctx, d_model)
        self.blocks = nn.ModuleList([Block(d_model, n_heads) for _ in range(n_layers)])
        self.resid_final = nn.Identity()
        self.ln_final = nn.LayerNorm(d_model)
        self.unembed = nn.Linear(d_model, d_vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = torch.as_tensor(tokens)
        if tokens.ndim != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"tokens must be an integer tensor of shape (batch, pos); got {tuple(tokens.shape)} "
                             f"of {tokens.dtype}")
        if tokens.shape[1] > self.n_ctx:
            raise ValueError(f"the model reads at most n_ctx={self.n_ctx} tokens; got sequences of {tokens.shape[1]}")
        x = self.embed(tokens) + self.pos_embed(torch.arange(tokens.shape[1], device=tokens.device))
        for block in self.blocks:
            x = block(x)
        return self.unembed(self.ln_final(self.resid_final(x)))


def hook_names(model: TinyTransformer) -> list[str]:
    """Names of the modules whose outputs :func:`run_with_cache` records, in forward order."""
    names = ["embed", "pos_embed"]
    for layer in range(model.n_layers):
        names += [f"blocks.{layer}.{part}" for part in ("resid_pre", "ln", "attn.pattern", "attn.z", "attn.o")]
    return names + ["resid_final", "ln_final", "unembed"]


def run_with_cache(model: nn.Module, tokens: torch.Tensor, *, names: list[str] | None = None):
    """Run the model and record the output of its hook modules (no gradients).

    Parameters
    ----------
    model : TinyTransformer
    tokens : LongTensor of shape (batch, pos)
    names : list of str, optional
        Modules to record (default: all of :func:`hook_names`).

    Returns
    -------
    logits : Tensor of shape (batch, pos, d_vocab)
    cache : dict
        Module name -> detached output, e.g. ``cache["blocks.1.attn.pattern"]`` of shape
        (batch, n_heads, pos, pos). The hooks are removed again.

    Examples
    --------
    >>> model = TinyTransformer(d_vocab=10, n_ctx=8, d_model=16, n_heads=2)
    >>> logits, cache = run_with_cache(model, torch.zeros(1, 5, dtype=torch.long))
    >>> tuple(cache["blocks.0.attn.z"].shape)
    (1, 5, 2, 8)
    """
    names = hook_names(model) if names is None else list(names)
    cache: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name in names:
            module = model.get_submodule(name)
            handles.append(module.register_forward_hook(
                lambda mod, inputs, output, name=name: cache.__setitem__(name, output.detach())))
        with torch.no_grad():
            logits = model(tokens)
    finally:
        for handle in handles:
            handle.remove()
    return logits, cache


def component_labels(model: TinyTransformer) -> list[str]:
    """Names of the parts of the final residual stream, in the order the week-8 lab uses.

    Every head ``"L{layer}H{head}"`` (layer by layer), then ``"embed"`` (token embeddings),
    ``"pos_embed"`` (position embeddings) and ``"bias"`` (the sum of the attention output
    biases of all layers): the order of TransformerLens's
    ``ActivationCache.get_full_resid_decomposition``.
    """
    heads = [f"L{layer}H{head}" for layer in range(model.n_layers) for head in range(model.n_heads)]
    return heads + ["embed", "pos_embed", "bias"]


# --- data --------------------------------------------------------------------------------

def make_repeated_tokens(
    n: int,
    *,
    n_pos: int = 48,
    d_vocab: int = 100,
    period: tuple[int, int] = (4, 12),
    offset: tuple[int, int] = (0, 12),
    random_state: int | np.random.Generator | None = 0,
) -> Bunch:
    """Random token sequences in which a block repeats: the data of the induction task.

    Each sequence draws its own ``offset`` o and ``period`` P (uniformly, bounds included):
    positions 0 ... o + P - 1 hold distinct random tokens (a prefix of o tokens, then the block
    of P tokens), and from position o + P on every token copies the one P positions earlier,
    so the block repeats until the end. The next token is predictable from position o + P on
    (the current token has occurred before, and so has its successor).

    Parameters
    ----------
    n : int
        Number of sequences.
    n_pos : int
        Length of each sequence.
    d_vocab : int
        Token ids are drawn from 0 ... d_vocab - 1.
    period, offset : (low, high)
        Ranges of the block length P (>= 2) and of the prefix length o.
    random_state : int or numpy Generator

    Returns
    -------
    Bunch
        ``tokens`` LongTensor (n, n_pos); ``periods`` and ``offsets`` int arrays (n,);
        ``predictable`` bool array (n, n_pos), True at positions t >= o + P whose next token
        (t + 1) is a copy (False at the last position, whose next token is unknown).

    Examples
    --------
    >>> data = make_repeated_tokens(2, n_pos=12, d_vocab=20, period=(3, 3), offset=(1, 1), random_state=0)
    >>> bool((data.tokens[:, 4:] == data.tokens[:, 1:-3]).all())
    True
    """
    (p_low, p_high), (o_low, o_high) = period, offset
    if not 2 <= p_low <= p_high or not 0 <= o_low <= o_high:
        raise ValueError(f"need 2 <= period[0] <= period[1] and 0 <= offset[0] <= offset[1]; got {period}, {offset}")
    if o_high + p_high >= n_pos:
        raise ValueError(f"offset + period (up to {o_high + p_high}) must be shorter than n_pos={n_pos}")
    if o_high + p_high > d_vocab:
        raise ValueError(f"the prefix and the block need {o_high + p_high} distinct tokens; d_vocab={d_vocab} is too small")
    rng = np.random.default_rng(random_state)
    periods = rng.integers(p_low, p_high + 1, size=n)
    offsets = rng.integers(o_low, o_high + 1, size=n)
    tokens = np.empty((n, n_pos), dtype=np.int64)
    for i, (p, o) in enumerate(zip(periods, offsets)):
        tokens[i, : o + p] = rng.choice(d_vocab, size=o + p, replace=False)
        for t in range(o + p, n_pos):
            tokens[i, t] = tokens[i, t - p]
    positions = np.arange(n_pos)
    predictable = (positions[None, :] >= (offsets + periods)[:, None]) & (positions[None, :] < n_pos - 1)
    return Bunch(tokens=torch.from_numpy(tokens), periods=periods, offsets=offsets, predictable=predictable)


def next_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicting token t + 1 at every position t: shape (batch, pos - 1)."""
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
    return -log_probs.gather(-1, tokens[:, 1:, None])[..., 0]


# --- training ----------------------------------------------------------------------------

#: How the shipped model ``induction.pt`` is built and trained.
RECIPE = dict(
    model=dict(d_vocab=100, n_ctx=48, d_model=64, n_heads=4, n_layers=2),
    data=dict(n_pos=48, period=(4, 12), offset=(0, 12)),
    steps=1000,
    batch_size=64,
    lr=2e-3,
    weight_decay=0.01,
    seed=0,
)


def train_transformer(
    model: TinyTransformer,
    *,
    steps: int = 600,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    n_pos: int | None = None,
    period: tuple[int, int] = (4, 12),
    offset: tuple[int, int] = (0, 12),
    random_state: int = 0,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` in place on fresh batches of :func:`make_repeated_tokens` (AdamW).

    The loss is the mean next-token cross-entropy over all positions. Seed the initial
    weights yourself (``torch.manual_seed`` before building the model); ``random_state``
    seeds the data.

    Returns
    -------
    list of float
        The training loss of each step. The model is left in evaluation mode.
    """
    n_pos = model.n_ctx if n_pos is None else n_pos
    rng = np.random.default_rng(random_state)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = []
    model.train()
    bar = tqdm(range(steps), desc="training", unit="step", disable=not progress)
    for _ in bar:
        batch = make_repeated_tokens(batch_size, n_pos=n_pos, d_vocab=model.d_vocab, period=period, offset=offset,
                                     random_state=rng)
        loss = next_token_loss(model(batch.tokens), batch.tokens).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
        bar.set_postfix(loss=f"{history[-1]:.3f}", refresh=False)
    model.eval()
    return history


def weights_path(name: str = "induction") -> Path:
    """Where the shipped weights are (inside the installed package)."""
    if name != "induction":
        raise ValueError(f"unknown model {name!r}; the shipped transformer is 'induction'")
    return Path(str(resources.files("xaikit"))) / "weights" / f"{name}.pt"


def load_tiny_transformer() -> TinyTransformer:
    """The shipped two-layer induction model (trained with :data:`RECIPE`), in evaluation mode.

    Examples
    --------
    >>> model = load_tiny_transformer()
    >>> model.n_layers, model.n_heads, model.d_vocab
    (2, 4, 100)
    """
    model = TinyTransformer(**RECIPE["model"])
    model.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
    return model.eval()


def _train_shipped(progress: bool = True) -> tuple[TinyTransformer, list[float]]:
    torch.manual_seed(RECIPE["seed"])
    model = TinyTransformer(**RECIPE["model"])
    history = train_transformer(model, steps=RECIPE["steps"], batch_size=RECIPE["batch_size"], lr=RECIPE["lr"],
                                weight_decay=RECIPE["weight_decay"], random_state=RECIPE["seed"], progress=progress,
                                **RECIPE["data"])
    return model, history


def evaluate(model: TinyTransformer, *, n: int = 500, random_state: int = 123) -> dict[str, float]:
    """Mean next-token loss on fresh sequences: all positions, and the predictable ones."""
    data = make_repeated_tokens(n, n_pos=model.n_ctx, d_vocab=model.d_vocab, random_state=random_state,
                                **{k: v for k, v in RECIPE["data"].items() if k != "n_pos"})
    with torch.no_grad():
        loss = next_token_loss(model(data.tokens), data.tokens).numpy()
    predictable = data.predictable[:, :-1]
    return {"loss": float(loss.mean()), "loss_predictable": float(loss[predictable].mean()),
            "accuracy_predictable": float(np.mean(loss[predictable] < math.log(2)))}


def rebuild_weights(out: Path | None = None) -> dict[str, float]:
    """Retrain the shipped model, write ``induction.pt`` and return its evaluation."""
    out = Path(out) if out is not None else Path(__file__).resolve().parent / "weights"
    out.mkdir(parents=True, exist_ok=True)
    model, history = _train_shipped()
    path = out / "induction.pt"
    torch.save(model.state_dict(), path)
    result = evaluate(model)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"induction: final training loss {history[-1]:.3f}; fresh data: {result}; {path} sha256 {digest}")
    return result


# --- TransformerLens (optional) ----------------------------------------------------------

def to_hooked_transformer(model: TinyTransformer, *, fold_ln: bool = False):
    """The same model as a TransformerLens ``HookedTransformer`` (needs ``transformer_lens``).

    Its logits equal ``model``'s (float32 rounding apart). With ``fold_ln=True`` the final
    LayerNorm's weight and bias are folded into the unembedding (TransformerLens's convention
    for direct logit attribution; the logits do not change).
    """
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    H, dh, d = model.n_heads, model.d_head, model.d_model
    cfg = HookedTransformerConfig(n_layers=model.n_layers, d_model=d, n_ctx=model.n_ctx, d_head=dh, n_heads=H,
                                  d_vocab=model.d_vocab, attn_only=True, normalization_type="LN",
                                  positional_embedding_type="standard", default_prepend_bos=False, device="cpu",
                                  seed=0)
    with warnings.catch_warnings():  # TransformerLens 3.9 announces HookedTransformer's removal in 4.0 (pinned: 3.9)
        warnings.filterwarnings("ignore", message=".*HookedTransformer is deprecated.*", category=DeprecationWarning)
        hooked = HookedTransformer(cfg)
    state = {"embed.W_E": model.embed.weight, "pos_embed.W_pos": model.pos_embed.weight,
             "ln_final.w": model.ln_final.weight, "ln_final.b": model.ln_final.bias,
             "unembed.W_U": model.unembed.weight.T, "unembed.b_U": model.unembed.bias}
    for layer, block in enumerate(model.blocks):
        attn = block.attn
        prefix = f"blocks.{layer}."
        state[prefix + "ln1.w"], state[prefix + "ln1.b"] = block.ln.weight, block.ln.bias
        for name in "qkv":
            linear = getattr(attn, name)
            state[prefix + f"attn.W_{name.upper()}"] = linear.weight.T.reshape(d, H, dh).permute(1, 0, 2)
            state[prefix + f"attn.b_{name.upper()}"] = linear.bias.reshape(H, dh)
        state[prefix + "attn.W_O"] = attn.o.weight.T.reshape(H, dh, d)
        state[prefix + "attn.b_O"] = attn.o.bias
    state = {k: v.detach().clone() for k, v in state.items()}
    hooked.load_and_process_state_dict(state, fold_ln=fold_ln, center_writing_weights=False, center_unembed=False,
                                       fold_value_biases=False, refactor_factored_attn_matrices=False)
    return hooked.eval()


if __name__ == "__main__":  # python -m xaikit.tiny_transformer: retrain and rewrite xaikit/weights/induction.pt
    parser = argparse.ArgumentParser(description="Retrain the shipped tiny transformer and rewrite its weights")
    parser.add_argument("--out", type=Path, default=None, help="folder for induction.pt (default: xaikit/weights)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the model is tiny: one thread is faster than two taking turns
    rebuild_weights(args.out)
