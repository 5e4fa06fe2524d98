"""Plausible mistakes in lab 7, one or more per graded function or class."""

from . import Wrong

_MHA_HEAD = '''
def multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask=None):
    n, t, dim = x.shape
    d = dim // n_heads

    def heads(y):
        return y.reshape(n, t, n_heads, d).transpose(1, 2)

    q, k, v = heads(x @ w_q.T + b_q), heads(x @ w_k.T + b_k), heads(x @ w_v.T + b_v)
'''
_MHA_TAIL = '''
    output = (weights @ v).transpose(1, 2).reshape(n, t, dim)
    return output, weights
'''
_INIT = '''
    def __init__(self, model):
        self.model = model
'''
_FLOW_GRAPH = '''
def attention_flow(attentions):
    scale = 10**6
    mean = np.asarray(attentions, dtype=float).mean(axis=1)
    n_layers, t = mean.shape[0], mean.shape[-1]
    eye = np.eye(t)
    rows, cols, capacity = [], [], []
    for layer, a in enumerate(mean, start=1):
        augmented = AUGMENT
        i, j = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
        rows.append((layer * t + i).ravel())
        cols.append(((layer - 1) * t + j).ravel())
        capacity.append(np.rint(augmented * scale).astype(np.int32).ravel())
    size = (n_layers + 1) * t
    graph = csr_array((np.concatenate(capacity), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
    flow = np.array([[maximum_flow(graph, n_layers * t + i, j).flow_value for j in range(t)] for i in range(t)],
                    dtype=float)
    return RESULT
'''
_NORMALISED = "(0.5 * a + 0.5 * eye) / (0.5 * a + 0.5 * eye).sum(axis=-1, keepdims=True)"

WRONG = [
    # --- part 1 ---
    Wrong("mha", "mha-mask-after-softmax", _MHA_HEAD + '''
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
    if attention_mask is not None:
        weights = weights * attention_mask[:, None, None, :]
''' + _MHA_TAIL, "mask the scores before the softmax"),
    Wrong("mha", "mha-no-scaling", _MHA_HEAD + '''
    scores = q @ k.transpose(-1, -2)
    if attention_mask is not None:
        scores = scores.masked_fill(attention_mask[:, None, None, :] == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
''' + _MHA_TAIL, "divide the scores by sqrt(d)"),
    Wrong("mha", "mha-scaled-by-model-dim", _MHA_HEAD + '''
    scores = q @ k.transpose(-1, -2) / math.sqrt(dim)
    if attention_mask is not None:
        scores = scores.masked_fill(attention_mask[:, None, None, :] == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
''' + _MHA_TAIL, "the size of one head"),
    Wrong("mha", "mha-heads-split-without-transpose", '''
def multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask=None):
    n, t, dim = x.shape
    d = dim // n_heads

    def heads(y):
        return y.reshape(n, n_heads, t, d)

    q, k, v = heads(x @ w_q.T + b_q), heads(x @ w_k.T + b_k), heads(x @ w_v.T + b_v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if attention_mask is not None:
        scores = scores.masked_fill(attention_mask[:, None, None, :] == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights @ v).reshape(n, t, dim), weights
'''),
    # --- part 2 ---
    Wrong("extract", "extract-keeps-padding", '''
def extract_attention(encoder, input_ids, attention_mask):
    with torch.no_grad():
        out = encoder(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
    stacked = torch.stack(out.attentions, dim=1)
    return [stacked[i] for i in range(len(input_ids))]
''', "(layers, heads, T_i, T_i)"),
    Wrong("extract", "extract-layers-and-sentences-mixed-up", '''
def extract_attention(encoder, input_ids, attention_mask):
    with torch.no_grad():
        out = encoder(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True)
    stacked = torch.stack(out.attentions, dim=0)
    result = []
    for i in range(len(input_ids)):
        n = int(attention_mask[i].sum())
        result.append(stacked[:, 0, :, :n, :n])
    return result
'''),
    # --- part 3 ---
    Wrong("rollout", "rollout-without-residual", '''
def attention_rollout(attentions):
    mean = np.asarray(attentions, dtype=float).mean(axis=1)
    rollout = np.eye(mean.shape[-1])
    for layer in mean:
        rollout = layer @ rollout
    return rollout
''', "add the residual"),
    Wrong("rollout", "rollout-reversed-order", '''
def attention_rollout(attentions):
    mean = np.asarray(attentions, dtype=float).mean(axis=1)
    eye = np.eye(mean.shape[-1])
    rollout = eye
    for layer in mean:
        augmented = 0.5 * layer + 0.5 * eye
        rollout = rollout @ (augmented / augmented.sum(axis=-1, keepdims=True))
    return rollout
'''),
    Wrong("rollout", "rollout-max-over-heads", '''
def attention_rollout(attentions):
    top = np.asarray(attentions, dtype=float).max(axis=1)
    eye = np.eye(top.shape[-1])
    rollout = eye
    for layer in top:
        augmented = 0.5 * layer + 0.5 * eye
        rollout = (augmented / augmented.sum(axis=-1, keepdims=True)) @ rollout
    return rollout
'''),
    # --- part 4 ---
    Wrong("flow", "flow-without-residual", _FLOW_GRAPH.replace("AUGMENT", "a").replace(
        "RESULT", "flow / flow.sum(axis=1, keepdims=True)"), "add the residual"),
    Wrong("flow", "flow-not-normalised", _FLOW_GRAPH.replace("AUGMENT", _NORMALISED).replace("RESULT", "flow"),
          "sum to 1"),
    Wrong("flow", "flow-edges-transposed", _FLOW_GRAPH.replace("AUGMENT", "(" + _NORMALISED + ").T").replace(
        "RESULT", "flow / flow.sum(axis=1, keepdims=True)")),
    # --- part 5 ---
    Wrong("gxi", "gxi-gradient-only", '''
class GradientXInput:''' + _INIT + '''
    def attribute(self, input_ids, target, *, attention_mask=None):
        embeddings = self.model.word_embeddings(input_ids).detach().requires_grad_(True)
        scores = self.model(inputs_embeds=embeddings, attention_mask=attention_mask)[torch.arange(len(input_ids)), target]
        return torch.autograd.grad(scores.sum(), embeddings)[0].sum(dim=-1)
''', "embedding times the gradient"),
    Wrong("gxi", "gxi-absolute", '''
class GradientXInput:''' + _INIT + '''
    def attribute(self, input_ids, target, *, attention_mask=None):
        embeddings = self.model.word_embeddings(input_ids).detach().requires_grad_(True)
        scores = self.model(inputs_embeds=embeddings, attention_mask=attention_mask)[torch.arange(len(input_ids)), target]
        grads = torch.autograd.grad(scores.sum(), embeddings)[0]
        return (grads * embeddings).sum(dim=-1).abs().detach()
''', "keep the sign"),
    # --- part 6 ---
    Wrong("ig", "ig-without-baseline-difference", '''
class IntegratedGradients:''' + _INIT + '''
    def attribute(self, input_ids, target, *, baseline_ids, attention_mask=None, n_steps=32):
        x = self.model.word_embeddings(input_ids).detach()
        base = self.model.word_embeddings(baseline_ids).detach()
        total = torch.zeros_like(x)
        for step in range(n_steps):
            point = (base + (step + 0.5) / n_steps * (x - base)).requires_grad_(True)
            scores = self.model(inputs_embeds=point, attention_mask=attention_mask)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return (x * total / n_steps).sum(dim=-1)
''', "multiply by (input - baseline)"),
    Wrong("ig", "ig-right-riemann-rule", '''
class IntegratedGradients:''' + _INIT + '''
    def attribute(self, input_ids, target, *, baseline_ids, attention_mask=None, n_steps=32):
        x = self.model.word_embeddings(input_ids).detach()
        base = self.model.word_embeddings(baseline_ids).detach()
        total = torch.zeros_like(x)
        for step in range(1, n_steps + 1):
            point = (base + step / n_steps * (x - base)).requires_grad_(True)
            scores = self.model(inputs_embeds=point, attention_mask=attention_mask)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return ((x - base) * total / n_steps).sum(dim=-1)
'''),
    # --- part 7 ---
    Wrong("occlusion", "occlusion-wrong-sign", '''
class TokenOcclusion:''' + _INIT + '''
    def attribute(self, input_ids, target, *, replacement_id, attention_mask=None, window=1):
        n, t = input_ids.shape
        rows = torch.arange(n)
        total, count = torch.zeros(n, t), torch.zeros(t)
        with torch.no_grad():
            reference = self.model(input_ids, attention_mask)[rows, target]
            for start in range(t - window + 1):
                occluded = input_ids.clone()
                occluded[:, start:start + window] = replacement_id
                change = self.model(occluded, attention_mask)[rows, target] - reference
                total[:, start:start + window] += change[:, None]
                count[start:start + window] += 1
        return total / count
''', "wrong sign"),
    Wrong("occlusion", "occlusion-window-drop-on-first-token", '''
class TokenOcclusion:''' + _INIT + '''
    def attribute(self, input_ids, target, *, replacement_id, attention_mask=None, window=1):
        n, t = input_ids.shape
        rows = torch.arange(n)
        result = torch.zeros(n, t)
        with torch.no_grad():
            reference = self.model(input_ids, attention_mask)[rows, target]
            for start in range(t - window + 1):
                occluded = input_ids.clone()
                occluded[:, start:start + window] = replacement_id
                result[:, start] = reference - self.model(occluded, attention_mask)[rows, target]
        return result
''', "window=2"),
    # --- part 8 ---
    Wrong("pointing", "pointing-ignores-candidates", '''
def pointing_game(scores, deciding, candidates):
    return (np.asarray(scores).argmax(axis=1) == np.asarray(deciding)).astype(float)
''', "candidate tokens only"),
    Wrong("pointing", "pointing-zero-outside-candidates", '''
def pointing_game(scores, deciding, candidates):
    masked = np.asarray(scores, dtype=float) * np.asarray(candidates)
    return (masked.argmax(axis=1) == np.asarray(deciding)).astype(float)
'''),
    Wrong("agreement", "agreement-pearson", '''
def rank_agreement(scores_a, scores_b, candidates):
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    keep = np.asarray(candidates, dtype=bool)
    return np.array([np.corrcoef(a[i][keep[i]], b[i][keep[i]])[0, 1] for i in range(len(a))])
''', "depends on the order only"),
    Wrong("agreement", "agreement-all-tokens", '''
def rank_agreement(scores_a, scores_b, candidates):
    a, b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    return np.array([kendalltau(a[i], b[i]).statistic for i in range(len(a))])
'''),
]
