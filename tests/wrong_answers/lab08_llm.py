"""Plausible mistakes in lab 8, one or more per graded function."""

from . import Wrong

WRONG = [
    # --- logit lens
    Wrong("logit_lens", "lens-without-final-ln", '''
def logit_lens(model, tokens):
    _, cache = run_with_cache(model, tokens)
    names = [f"blocks.{layer}.resid_pre" for layer in range(model.n_layers)] + ["resid_final"]
    with torch.no_grad():
        return torch.stack([model.unembed(cache[name]) for name in names])
''', "decode `resid_final` with `model.ln_final`"),
    Wrong("logit_lens", "lens-frozen-final-scale", '''
def logit_lens(model, tokens):
    _, cache = run_with_cache(model, tokens)
    names = [f"blocks.{layer}.resid_pre" for layer in range(model.n_layers)] + ["resid_final"]
    final = cache["resid_final"]
    scale = torch.sqrt(final.var(dim=-1, unbiased=False, keepdim=True) + model.ln_final.eps)
    out = []
    with torch.no_grad():
        for name in names:
            r = cache[name]
            normed = (r - r.mean(dim=-1, keepdim=True)) / scale * model.ln_final.weight + model.ln_final.bias
            out.append(model.unembed(normed))
    return torch.stack(out)
''', "does not depend on the other tokens"),
    # --- residual decomposition
    Wrong("residual_components", "components-rows-of-W_O", '''
def residual_components(model, tokens):
    _, cache = run_with_cache(model, tokens)
    batch, n_pos = tokens.shape
    d_head = model.d_head
    parts = []
    with torch.no_grad():
        for layer, block in enumerate(model.blocks):
            z = cache[f"blocks.{layer}.attn.z"]
            for head in range(model.n_heads):
                parts.append(z[:, :, head] @ block.attn.o.weight[head * d_head:(head + 1) * d_head, :])
        parts.append(cache["embed"])
        parts.append(cache["pos_embed"].expand(batch, n_pos, -1))
        parts.append(sum(block.attn.o.bias for block in model.blocks).expand(batch, n_pos, -1))
        return torch.stack(parts)
''', "should be what that head alone writes"),
    Wrong("residual_components", "components-last-bias-only", '''
def residual_components(model, tokens):
    _, cache = run_with_cache(model, tokens)
    batch, n_pos = tokens.shape
    d_head = model.d_head
    parts = []
    with torch.no_grad():
        for layer, block in enumerate(model.blocks):
            z = cache[f"blocks.{layer}.attn.z"]
            for head in range(model.n_heads):
                W_O = block.attn.o.weight[:, head * d_head:(head + 1) * d_head].T
                parts.append(z[:, :, head] @ W_O)
        parts.append(cache["embed"])
        parts.append(cache["pos_embed"].expand(batch, n_pos, -1))
        parts.append(model.blocks[-1].attn.o.bias.expand(batch, n_pos, -1))
        return torch.stack(parts)
''', "the sum of every layer's `attn.o.bias`"),
    # --- direct logit attribution
    Wrong("direct_logit_attribution", "dla-layernorm-per-component", '''
def direct_logit_attribution(model, components, targets):
    with torch.no_grad():
        ln = model.ln_final
        directions = model.unembed.weight[targets]
        normed = torch.nn.functional.layer_norm(components, (model.d_model,), ln.weight, None, ln.eps)
        terms = (normed * directions).sum(dim=-1)
        constant = (ln.bias * directions).sum(dim=-1) + model.unembed.bias[targets]
        return torch.cat([terms, constant[None]])
''', "should add up to the logit of each target token"),
    Wrong("direct_logit_attribution", "dla-not-centred", '''
def direct_logit_attribution(model, components, targets):
    with torch.no_grad():
        ln = model.ln_final
        resid = components.sum(dim=0)
        scale = torch.sqrt(resid.var(dim=-1, unbiased=False, keepdim=True) + ln.eps)
        directions = model.unembed.weight[targets]
        terms = (components / scale * ln.weight * directions).sum(dim=-1)
        constant = (ln.bias * directions).sum(dim=-1) + model.unembed.bias[targets]
        return torch.cat([terms, constant[None]])
''', "centre every component"),
    # --- attention scores
    Wrong("previous_token_score", "previous-includes-position-0", '''
def previous_token_score(pattern):
    pattern = np.asarray(pattern, dtype=float)
    n_pos = pattern.shape[-1]
    values = [pattern[:, :, t, t - 1] for t in range(n_pos)]
    return np.mean(values, axis=(0, 1))
''', "average only over the queries t >= 1"),
    Wrong("induction_score", "induction-duplicate-token", '''
def induction_score(pattern, tokens):
    pattern, tokens = np.asarray(pattern, dtype=float), np.asarray(tokens)
    n_pos = tokens.shape[1]
    targets = (tokens[:, :, None] == tokens[:, None, :]) & np.tril(np.ones((n_pos, n_pos), dtype=bool), k=-1)
    queries = targets.any(axis=2)
    on_targets = (pattern * targets[:, None]).sum(axis=3)
    return on_targets.transpose(1, 0, 2)[:, queries].mean(axis=1)
''', "the induction targets are the positions right after them"),
    Wrong("induction_score", "induction-every-query", '''
def induction_score(pattern, tokens):
    pattern, tokens = np.asarray(pattern, dtype=float), np.asarray(tokens)
    n_pos = tokens.shape[1]
    targets = np.zeros((len(tokens), n_pos, n_pos), dtype=bool)
    targets[:, :, 1:] = tokens[:, :, None] == tokens[:, None, :-1]
    targets &= np.tril(np.ones((n_pos, n_pos), dtype=bool))
    return (pattern * targets[:, None]).sum(axis=3).mean(axis=(0, 2))
''', "average only over queries that have a target"),
    # --- activation patching
    Wrong("patch_residual", "patch-resid-batch-axis", '''
def patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None):
    name = "resid_final" if layer == model.n_layers else f"blocks.{layer}.resid_pre"
    _, cache = run_with_cache(model, clean_tokens, names=[name])
    clean = cache[name]
    index = slice(None) if positions is None else list(positions)

    def hook(module, inputs, output):
        patched = output.clone()
        patched[index] = clean[index]
        return patched

    handle = model.get_submodule(name).register_forward_hook(hook)
    try:
        with torch.no_grad():
            return model(corrupted_tokens)
    finally:
        handle.remove()
''', "patch the positions (axis 1)"),
    Wrong("patch_residual", "patch-resid-block-output", '''
def patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None):
    name = "resid_final" if layer == model.n_layers else f"blocks.{layer}"
    _, cache = run_with_cache(model, clean_tokens, names=[name])
    clean = cache[name]
    index = slice(None) if positions is None else list(positions)

    def hook(module, inputs, output):
        patched = output.clone()
        patched[:, index] = clean[:, index]
        return patched

    handle = model.get_submodule(name).register_forward_hook(hook)
    try:
        with torch.no_grad():
            return model(corrupted_tokens)
    finally:
        handle.remove()
''', "the stream entering block 0"),
    Wrong("patch_residual", "patch-resid-hook-left", '''
def patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None):
    name = "resid_final" if layer == model.n_layers else f"blocks.{layer}.resid_pre"
    _, cache = run_with_cache(model, clean_tokens, names=[name])
    clean = cache[name]
    index = slice(None) if positions is None else list(positions)

    def hook(module, inputs, output):
        patched = output.clone()
        patched[:, index] = clean[:, index]
        return patched

    model.get_submodule(name).register_forward_hook(hook)
    with torch.no_grad():
        return model(corrupted_tokens)
''', "left a hook on the model", feedback="should patch nothing"),
    Wrong("patch_heads", "patch-heads-whole-layer", '''
def patch_heads(model, clean_tokens, corrupted_tokens, heads, positions=None):
    names = {layer: f"blocks.{layer}.attn.o" for layer, _ in heads}
    _, cache = run_with_cache(model, clean_tokens, names=list(names.values()))
    index = slice(None) if positions is None else list(positions)

    def make_hook(layer):
        def hook(module, inputs, output):
            patched = output.clone()
            patched[:, index] = cache[names[layer]][:, index]
            return patched
        return hook

    handles = [model.get_submodule(name).register_forward_hook(make_hook(layer)) for layer, name in names.items()]
    try:
        with torch.no_grad():
            return model(corrupted_tokens)
    finally:
        for handle in handles:
            handle.remove()
''', "restores every head of layer 1"),
    # --- ablation
    Wrong("ablate_heads", "ablate-position-axis", '''
def ablate_heads(model, tokens, heads, kind="zero"):
    names = {layer: f"blocks.{layer}.attn.z" for layer, _ in heads}
    _, cache = run_with_cache(model, tokens, names=list(names.values()))

    def make_hook(layer):
        def hook(module, inputs, output):
            ablated = output.clone()
            for head_layer, head in heads:
                if head_layer == layer:
                    if kind == "zero":
                        ablated[:, head] = 0.0
                    else:
                        ablated[:, head] = cache[names[layer]][:, head].mean(dim=0)
            return ablated
        return hook

    handles = [model.get_submodule(name).register_forward_hook(make_hook(layer)) for layer, name in names.items()]
    try:
        with torch.no_grad():
            return model(tokens)
    finally:
        for handle in handles:
            handle.remove()
''', "including position 0"),
    Wrong("ablate_heads", "ablate-mean-over-positions", '''
def ablate_heads(model, tokens, heads, kind="zero"):
    names = {layer: f"blocks.{layer}.attn.z" for layer, _ in heads}
    _, cache = run_with_cache(model, tokens, names=list(names.values()))

    def make_hook(layer):
        def hook(module, inputs, output):
            ablated = output.clone()
            for head_layer, head in heads:
                if head_layer == layer:
                    if kind == "zero":
                        ablated[:, :, head] = 0.0
                    else:
                        ablated[:, :, head] = cache[names[layer]][:, :, head].mean(dim=(0, 1))
            return ablated
        return hook

    handles = [model.get_submodule(name).register_forward_hook(make_hook(layer)) for layer, name in names.items()]
    try:
        with torch.no_grad():
            return model(tokens)
    finally:
        for handle in handles:
            handle.remove()
''', "average over the batch only, position by position"),
]
