"""Correct answers of lab 8 written differently from the solution."""

from . import Right

RIGHT = [
    Right("logit_lens", "lens-forward-by-hand", '''
def logit_lens(model, tokens):
    with torch.no_grad():
        x = model.embed(tokens) + model.pos_embed(torch.arange(tokens.shape[1]))
        out = [model.unembed(model.ln_final(x))]
        for block in model.blocks:
            x = block(x)
            out.append(model.unembed(model.ln_final(x)))
    return torch.stack(out)
'''),
    Right("logit_lens", "lens-own-hooks-functional-layer-norm", '''
def logit_lens(model, tokens):
    streams = []
    handles = [model.get_submodule(f"blocks.{l}.resid_pre").register_forward_hook(
        lambda m, i, o: streams.append(o.detach())) for l in range(model.n_layers)]
    handles.append(model.resid_final.register_forward_hook(lambda m, i, o: streams.append(o.detach())))
    try:
        with torch.no_grad():
            model(tokens)
    finally:
        for h in handles:
            h.remove()
    ln = model.ln_final
    normed = [torch.nn.functional.layer_norm(r, (model.d_model,), ln.weight, ln.bias, ln.eps) for r in streams]
    return torch.stack([model.unembed(r) for r in normed]).detach()
'''),
    Right("residual_components", "components-einsum", '''
def residual_components(model, tokens):
    _, cache = run_with_cache(model, tokens)
    batch, n_pos = tokens.shape
    rows = []
    for layer, block in enumerate(model.blocks):
        W_O = block.attn.o.weight.detach().T.reshape(model.n_heads, model.d_head, model.d_model)
        rows.append(torch.einsum("bphd,hdm->hbpm", cache[f"blocks.{layer}.attn.z"], W_O))
    rest = torch.stack([cache["embed"], cache["pos_embed"].expand(batch, -1, -1),
                        torch.stack([b.attn.o.bias.detach() for b in model.blocks]).sum(0).expand(batch, n_pos, -1)])
    return torch.cat(rows + [rest])
'''),
    Right("direct_logit_attribution", "dla-einsum-std", '''
def direct_logit_attribution(model, components, targets):
    with torch.no_grad():
        ln, W_U = model.ln_final, model.unembed.weight
        total = components.sum(0)
        scale = (total.var(-1, unbiased=False, keepdim=True) + ln.eps).sqrt()
        centred = components - components.mean(-1, keepdim=True)
        directions = W_U[targets] * ln.weight  # (batch, pos, d_model)
        terms = torch.einsum("cbpm,bpm->cbp", centred / scale, directions)
        constant = torch.einsum("m,bpm->bp", ln.bias, W_U[targets]) + model.unembed.bias[targets]
        return torch.cat([terms, constant[None]])
'''),
    Right("previous_token_score", "previous-loop", '''
def previous_token_score(pattern):
    batch, n_heads, n_pos, _ = pattern.shape
    scores = np.zeros(n_heads)
    for h in range(n_heads):
        scores[h] = np.mean([pattern[b, h, t, t - 1] for b in range(batch) for t in range(1, n_pos)])
    return scores
'''),
    Right("induction_score", "induction-loop", '''
def induction_score(pattern, tokens):
    total, count = np.zeros(pattern.shape[1]), 0
    for b in range(len(tokens)):
        for t in range(tokens.shape[1]):
            keys = [j for j in range(1, t + 1) if tokens[b, j - 1] == tokens[b, t]]
            if keys:
                total += pattern[b][:, t, keys].sum(axis=-1)
                count += 1
    return total / count
'''),
    Right("patch_residual", "patch-resid-pre-hook-on-next-module", '''
def patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None):
    reader = model.ln_final if layer == model.n_layers else model.blocks[layer]
    seen = {}
    handle = reader.register_forward_pre_hook(lambda m, args: seen.setdefault("clean", args[0].detach()))
    try:
        with torch.no_grad():
            model(clean_tokens)
    finally:
        handle.remove()
    index = slice(None) if positions is None else list(positions)

    def swap(module, args):
        x = args[0].clone()
        x[:, index] = seen["clean"][:, index]
        return (x,)

    handle = reader.register_forward_pre_hook(swap)
    try:
        with torch.no_grad():
            return model(corrupted_tokens).detach()
    finally:
        handle.remove()
'''),
    Right("patch_heads", "patch-heads-pre-hook-on-output-projection", '''
def patch_heads(model, clean_tokens, corrupted_tokens, heads, positions=None):
    d = model.d_head
    layers = sorted({layer for layer, _ in heads})
    _, cache = run_with_cache(model, clean_tokens, names=[f"blocks.{l}.attn.z" for l in layers])
    index = slice(None) if positions is None else list(positions)
    handles = []

    def make(layer):
        clean = cache[f"blocks.{layer}.attn.z"].flatten(2)  # (batch, pos, n_heads * d_head), as attn.o reads it
        def swap(module, args):
            x = args[0].clone()
            for l, h in heads:
                if l == layer:
                    x[:, index, h * d:(h + 1) * d] = clean[:, index, h * d:(h + 1) * d]
            return (x,)
        return swap

    try:
        for layer in layers:
            handles.append(model.blocks[layer].attn.o.register_forward_pre_hook(make(layer)))
        with torch.no_grad():
            return model(corrupted_tokens)
    finally:
        for handle in handles:
            handle.remove()
'''),
    Right("ablate_heads", "ablate-one-hook-per-head", '''
def ablate_heads(model, tokens, heads, kind="zero"):
    _, cache = run_with_cache(model, tokens, names=[f"blocks.{l}.attn.z" for l, _ in heads])
    handles = []

    def make(layer, head):
        value = 0.0 if kind == "zero" else cache[f"blocks.{layer}.attn.z"][:, :, head].mean(dim=0)
        def hook(module, inputs, output):
            out = output.clone()
            out[:, :, head] = value
            return out
        return hook

    try:
        for layer, head in heads:
            handles.append(model.get_submodule(f"blocks.{layer}.attn.z").register_forward_hook(make(layer, head)))
        with torch.no_grad():
            return model(tokens).detach()
    finally:
        for handle in handles:
            handle.remove()
'''),
]
