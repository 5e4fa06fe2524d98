"""Slips in lab08_llm the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong

_LENS = '''
def logit_lens(model, tokens):
    _, cache = run_with_cache(model, tokens)
    names = [f"blocks.{layer}.resid_pre" for layer in range(model.n_layers)] + ["resid_final"]
    with torch.no_grad():
        return torch.stack([DECODE for name in names])
'''
_COMPONENTS = '''
def residual_components(model, tokens):
    _, cache = run_with_cache(model, tokens)
    batch, n_pos = tokens.shape
    d_head = model.d_head
    parts = []
    with torch.no_grad():
        for OUTER:
            for INNER:
                block = model.blocks[layer]
                W_O = block.attn.o.weight[:, head * d_head:(head + 1) * d_head].T
                parts.append(cache[f"blocks.{layer}.attn.z"][:, :, head] @ W_O HEAD_BIAS)
        parts.append(cache["embed"])
        parts.append(cache["pos_embed"].expand(batch, n_pos, -1))
        parts.append(BIAS)
        return torch.stack(parts)
'''
_COMPONENTS_OK = dict(OUTER="layer in range(model.n_layers)", INNER="head in range(model.n_heads)", HEAD_BIAS="",
                      BIAS="sum(block.attn.o.bias for block in model.blocks).expand(batch, n_pos, -1)")
_DLA = '''
def direct_logit_attribution(model, components, targets):
    with torch.no_grad():
        ln = model.ln_final
        resid = components.sum(dim=0)
        scale = SCALE
        centred = components - components.mean(dim=-1, keepdim=True)
        directions = model.unembed.weight[targets]
        terms = (centred / scale * WEIGHT * directions).sum(dim=-1)
        constant = CONSTANT
        return torch.cat([terms, constant[None]])
'''
_DLA_OK = dict(SCALE="torch.sqrt(resid.var(dim=-1, unbiased=False, keepdim=True) + ln.eps)", WEIGHT="ln.weight",
               CONSTANT="(ln.bias * directions).sum(dim=-1) + model.unembed.bias[targets]")
_INDUCTION = '''
def induction_score(pattern, tokens):
    pattern, tokens = np.asarray(pattern, dtype=float), np.asarray(tokens)
    n_pos = tokens.shape[1]
    targets = np.zeros((len(tokens), n_pos, n_pos), dtype=bool)
    targets[:, :, 1:] = tokens[:, :, None] == tokens[:, None, :-1]
    targets &= np.tril(np.ones((n_pos, n_pos), dtype=bool), k=DIAGONAL)
    queries = targets.any(axis=2)
    on_targets = (pattern * targets[:, None]).sum(axis=3)
    return AVERAGE
'''
_INDUCTION_OK = dict(DIAGONAL="0", AVERAGE="on_targets.transpose(1, 0, 2)[:, queries].mean(axis=1)")
_PATCH_RESID = '''
def patch_residual(model, clean_tokens, corrupted_tokens, layer, positions=None):
    name = SITE
    _, cache = run_with_cache(model, SOURCE, names=[name])
    clean = cache[name]
    index = slice(None) if positions is None else list(positions)

    def hook(module, inputs, output):
        patched = output.clone()
        patched[:, index] = clean[:, index]
        return patched

    handle = model.get_submodule(name).register_forward_hook(hook)
    try:
        with torch.no_grad():
            return model(TARGET)
    finally:
        handle.remove()
'''
_PATCH_RESID_OK = dict(SITE='"resid_final" if layer == model.n_layers else f"blocks.{layer}.resid_pre"',
                       SOURCE="clean_tokens", TARGET="corrupted_tokens")
_PATCH_HEADS = '''
def patch_heads(model, clean_tokens, corrupted_tokens, heads, positions=None):
    names = {layer: f"blocks.{layer}.attn.z" for layer, _ in heads}
    _, cache = run_with_cache(model, clean_tokens, names=list(names.values()))
    index = slice(None) if positions is None else list(positions)

    def make_hook(layer):
        def hook(module, inputs, output):
            patched = START
            for head_layer, head in heads:
                if CONDITION:
                    patched[:, index, head] = cache[names[layer]][:, index, head]
            return patched
        return hook

    handles = [model.get_submodule(name).register_forward_hook(make_hook(layer)) for layer, name in LAYERS]
    try:
        with torch.no_grad():
            return model(corrupted_tokens)
    finally:
        for handle in handles:
            handle.remove()
'''
_PATCH_HEADS_OK = dict(START="output.clone()", CONDITION="head_layer == layer", LAYERS="names.items()")
_ABLATE = '''
def ablate_heads(model, tokens, heads, kind="zero"):
    names = {layer: f"blocks.{layer}.attn.z" for layer, _ in heads}
    _, cache = run_with_cache(model, tokens, names=list(names.values()))

    def make_hook(layer):
        def hook(module, inputs, output):
            ablated = output.clone()
            for head_layer, head in heads:
                if head_layer == layer:
                    if kind == "zero":
                        ablated[:, :, head] = ZERO
                    else:
                        ablated[:, :, head] = MEAN
            return ablated
        return hook

    handles = [model.get_submodule(name).register_forward_hook(make_hook(layer)) for layer, name in names.items()]
    try:
        with torch.no_grad():
            return model(tokens)
    finally:
        for handle in handles:
            handle.remove()
'''
_ABLATE_OK = dict(ZERO="0.0", MEAN="cache[names[layer]][:, :, head].mean(dim=0)")


def _fill(template: str, base: dict, **changes: str) -> str:
    for key, value in {**base, **changes}.items():
        template = template.replace(key, value)
    return template


EXTRA = [
    # --- part 1
    Wrong("logit_lens", "lens-layer-norm-only-at-the-end", _LENS.replace(
        "DECODE", 'model.unembed(model.ln_final(cache[name]) if name == "resid_final" else cache[name])')),
    Wrong("logit_lens", "lens-decodes-the-blocks-normalised-input", '''
def logit_lens(model, tokens):
    _, cache = run_with_cache(model, tokens)
    names = [f"blocks.{layer}.ln" for layer in range(model.n_layers)]
    with torch.no_grad():
        lens = [model.unembed(model.ln_final(cache[name])) for name in names]
        return torch.stack(lens + [model.unembed(model.ln_final(cache["resid_final"]))])
'''),
    Wrong("logit_lens", "lens-embeddings-without-positions", '''
def logit_lens(model, tokens):
    _, cache = run_with_cache(model, tokens)
    names = ["embed"] + [f"blocks.{layer}.resid_pre" for layer in range(1, model.n_layers)] + ["resid_final"]
    with torch.no_grad():
        return torch.stack([model.unembed(model.ln_final(cache[name])) for name in names])
'''),
    # --- part 2
    Wrong("residual_components", "components-head-major-order", _fill(
        _COMPONENTS, _COMPONENTS_OK, OUTER="head in range(model.n_heads)", INNER="layer in range(model.n_layers)")),
    Wrong("residual_components", "components-bias-shared-by-the-heads", _fill(
        _COMPONENTS, _COMPONENTS_OK, HEAD_BIAS="+ block.attn.o.bias / model.n_heads",
        BIAS="torch.zeros(batch, n_pos, model.d_model)")),
    Wrong("direct_logit_attribution", "dla-remainder-in-the-last-row", '''
def direct_logit_attribution(model, components, targets):
    with torch.no_grad():
        directions = model.unembed.weight[targets]
        terms = (components * directions).sum(dim=-1)
        logits = model.unembed(model.ln_final(components.sum(dim=0))).gather(-1, targets[..., None])[..., 0]
        return torch.cat([terms, (logits - terms.sum(dim=0))[None]])
'''),
    Wrong("direct_logit_attribution", "dla-unbiased-variance", _fill(
        _DLA, _DLA_OK, SCALE="torch.sqrt(resid.var(dim=-1, keepdim=True) + ln.eps)")),
    Wrong("direct_logit_attribution", "dla-without-layer-norm-weight", _fill(_DLA, _DLA_OK, WEIGHT="1.0")),
    Wrong("direct_logit_attribution", "dla-constant-without-unembedding-bias", _fill(
        _DLA, _DLA_OK, CONSTANT="(ln.bias * directions).sum(dim=-1)")),
    # --- part 3
    Wrong("previous_token_score", "previous-next-token", '''
def previous_token_score(pattern):
    return np.asarray(pattern, dtype=float).diagonal(offset=1, axis1=2, axis2=3).mean(axis=(0, 2))
'''),
    Wrong("previous_token_score", "previous-mean-of-per-sequence-sums", '''
def previous_token_score(pattern):
    pattern = np.asarray(pattern, dtype=float)
    return pattern.diagonal(offset=-1, axis1=2, axis2=3).sum(axis=2).mean(axis=0) / pattern.shape[-1]
'''),
    Wrong("induction_score", "induction-excludes-the-current-position", _fill(_INDUCTION, _INDUCTION_OK, DIAGONAL="-1")),
    Wrong("induction_score", "induction-mean-of-sequence-means", _fill(
        _INDUCTION, _INDUCTION_OK, AVERAGE="np.mean([on_targets[b][:, queries[b]].mean(axis=1) "
                                           "for b in range(len(tokens)) if queries[b].any()], axis=0)")),
    # --- part 4
    Wrong("patch_residual", "patch-resid-roles-swapped", _fill(
        _PATCH_RESID, _PATCH_RESID_OK, SOURCE="corrupted_tokens", TARGET="clean_tokens")),
    Wrong("patch_residual", "patch-resid-final-layer-missing", _fill(
        _PATCH_RESID, _PATCH_RESID_OK, SITE='f"blocks.{min(layer, model.n_layers - 1)}.resid_pre"')),
    Wrong("patch_heads", "patch-heads-only-the-first-listed-layer", _fill(
        _PATCH_HEADS, _PATCH_HEADS_OK, CONDITION="True", LAYERS="list(names.items())[:1]")),
    Wrong("patch_heads", "patch-heads-other-heads-zeroed", _fill(
        _PATCH_HEADS, _PATCH_HEADS_OK, START="torch.zeros_like(output)")),
    Wrong("patch_heads", "patch-heads-every-position", _fill(
        _PATCH_HEADS, _PATCH_HEADS_OK).replace("index = slice(None) if positions is None else list(positions)",
                                              "index = slice(None)")),
    # --- part 5
    Wrong("ablate_heads", "ablate-mean-of-the-whole-batch-and-positions", _fill(
        _ABLATE, _ABLATE_OK, MEAN="cache[names[layer]][:, :, head].mean(dim=(0, 1))")),
    Wrong("ablate_heads", "ablate-mean-over-d-head", _fill(
        _ABLATE, _ABLATE_OK, MEAN="cache[names[layer]][:, :, head].mean(dim=-1, keepdim=True)")),
    Wrong("ablate_heads", "ablate-zero-is-a-small-number", _fill(_ABLATE, _ABLATE_OK, ZERO="1e-2")),
]
