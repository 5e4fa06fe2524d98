"""Slips in lab07_attention the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong
from wrong_answers.lab07_attention import _INIT, _MHA_HEAD, _MHA_TAIL

_MASKED = '''
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if attention_mask is not None:
        scores = scores.masked_fill(attention_mask[:, None, None, :] == 0, float("-inf"))
'''
_MHA_PROJECTIONS = '''
def multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask=None):
    n, t, dim = x.shape
    d = dim // n_heads

    def heads(y):
        return y.reshape(n, t, n_heads, d).transpose(1, 2)

    q, k, v = PROJECTIONS
'''

_GXI = '''
class GradientXInput:''' + _INIT + '''
    def attribute(self, input_ids, target, *, attention_mask=None):
        embeddings = self.model.word_embeddings(input_ids).detach().requires_grad_(True)
        logits = self.model(FORWARD)
        grads = torch.autograd.grad(SCORE, embeddings)[0]
        return RESULT
'''
_IG = '''
class IntegratedGradients:''' + _INIT + '''
    def attribute(self, input_ids, target, *, baseline_ids, attention_mask=None, n_steps=32):
        x = self.model.word_embeddings(input_ids).detach()
        base = self.model.word_embeddings(baseline_ids).detach()
        total = torch.zeros_like(x)
        for step in range(n_steps):
            point = (base + ALPHA * (x - base)).requires_grad_(True)
            scores = self.model(FORWARD)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return ((x - base) * total / DIVISOR).sum(dim=-1)
'''
_IG_OK = dict(ALPHA="(step + 0.5) / n_steps", FORWARD="inputs_embeds=point, attention_mask=attention_mask",
              DIVISOR="n_steps")
_OCC = '''
class TokenOcclusion:''' + _INIT + '''
    def attribute(self, input_ids, target, *, replacement_id, attention_mask=None, window=1):
        n, t = input_ids.shape
        rows = torch.arange(n)
        total, count = torch.zeros(n, t), torch.zeros(t)
        with torch.no_grad():
            reference = self.model(input_ids, attention_mask)[rows, target]
            for start in range(STARTS):
                occluded = input_ids.clone()
                occluded[:, start:start + window] = replacement_id
                drop = reference - self.model(OCCLUDED)[rows, target]
                total[:, start:start + window] += drop[:, None]
                count[start:start + window] += 1
        return RESULT
'''
_OCC_OK = dict(STARTS="t - window + 1", OCCLUDED="occluded, attention_mask", RESULT="total / count")


def _fill(template: str, **parts: str) -> str:
    for key, value in parts.items():
        template = template.replace(key, value)
    return template


EXTRA = [
    # --- part 1
    Wrong("mha", "mha-softmax-over-queries", _MHA_HEAD + _MASKED + '''
    weights = torch.softmax(scores, dim=-2)
''' + _MHA_TAIL),
    Wrong("mha", "mha-mask-on-queries", _MHA_HEAD + '''
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    if attention_mask is not None:
        scores = scores.masked_fill(attention_mask[:, None, :, None] == 0, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
''' + _MHA_TAIL),
    Wrong("mha", "mha-without-biases", _fill(_MHA_PROJECTIONS, PROJECTIONS="heads(x @ w_q.T), heads(x @ w_k.T), heads(x @ w_v.T)")
          + _MASKED + "    weights = torch.softmax(scores, dim=-1)\n" + _MHA_TAIL),
    Wrong("mha", "mha-weights-not-transposed", _fill(
        _MHA_PROJECTIONS, PROJECTIONS="heads(x @ w_q + b_q), heads(x @ w_k + b_k), heads(x @ w_v + b_v)")
          + _MASKED + "    weights = torch.softmax(scores, dim=-1)\n" + _MHA_TAIL),
    # --- part 2
    Wrong("extract", "extract-last-layer-only", '''
def extract_attention(encoder, input_ids, attention_mask):
    with torch.no_grad():
        last = encoder(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True).attentions[-1]
    return [last[i][:, attention_mask[i].bool()][:, :, attention_mask[i].bool()] for i in range(len(input_ids))]
'''),
    Wrong("extract", "extract-padding-rows-kept", '''
def extract_attention(encoder, input_ids, attention_mask):
    with torch.no_grad():
        stacked = torch.stack(encoder(input_ids=input_ids, attention_mask=attention_mask,
                                      output_attentions=True).attentions, dim=1)
    return [stacked[i][..., attention_mask[i].bool()] for i in range(len(input_ids))]
'''),
    Wrong("extract", "extract-without-attention-mask", '''
def extract_attention(encoder, input_ids, attention_mask):
    with torch.no_grad():
        stacked = torch.stack(encoder(input_ids=input_ids, output_attentions=True).attentions, dim=1)
    result = []
    for i in range(len(input_ids)):
        keep = attention_mask[i].bool()
        result.append(stacked[i][:, :, keep][:, :, :, keep])
    return result
'''),
    # --- parts 3 and 4
    Wrong("rollout", "rollout-sum-over-heads", '''
def attention_rollout(attentions):
    total = np.asarray(attentions, dtype=float).sum(axis=1)
    eye = np.eye(total.shape[-1])
    rollout = eye
    for layer in total:
        augmented = 0.5 * layer + 0.5 * eye
        rollout = (augmented / augmented.sum(axis=-1, keepdims=True)) @ rollout
    return rollout
'''),
    Wrong("rollout", "rollout-not-renormalised", '''
def attention_rollout(attentions):
    mean = np.asarray(attentions, dtype=float).mean(axis=1)
    rollout = np.eye(mean.shape[-1])
    for layer in mean:
        rollout = (layer + np.eye(len(layer))) @ rollout
    return rollout
'''),
    Wrong("flow", "flow-coarse-capacities", '''
def attention_flow(attentions):
    scale = 100
    mean = np.asarray(attentions, dtype=float).mean(axis=1)
    n_layers, t = mean.shape[0], mean.shape[-1]
    eye = np.eye(t)
    rows, cols, capacity = [], [], []
    for layer, a in enumerate(mean, start=1):
        augmented = (0.5 * a + 0.5 * eye) / (0.5 * a + 0.5 * eye).sum(axis=-1, keepdims=True)
        i, j = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
        rows.append((layer * t + i).ravel())
        cols.append(((layer - 1) * t + j).ravel())
        capacity.append(np.floor(augmented * scale).astype(np.int32).ravel())
    size = (n_layers + 1) * t
    graph = csr_array((np.concatenate(capacity), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
    flow = np.array([[maximum_flow(graph, n_layers * t + i, j).flow_value for j in range(t)] for i in range(t)],
                    dtype=float)
    return flow / flow.sum(axis=1, keepdims=True)
'''),
    Wrong("flow", "flow-sum-over-heads", '''
def attention_flow(attentions):
    scale = 10**6
    total = np.asarray(attentions, dtype=float).sum(axis=1)
    n_layers, t = total.shape[0], total.shape[-1]
    eye = np.eye(t)
    rows, cols, capacity = [], [], []
    for layer, a in enumerate(total, start=1):
        augmented = (0.5 * a + 0.5 * eye) / (0.5 * a + 0.5 * eye).sum(axis=-1, keepdims=True)
        i, j = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
        rows.append((layer * t + i).ravel())
        cols.append(((layer - 1) * t + j).ravel())
        capacity.append(np.rint(augmented * scale).astype(np.int32).ravel())
    size = (n_layers + 1) * t
    graph = csr_array((np.concatenate(capacity), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
    flow = np.array([[maximum_flow(graph, n_layers * t + i, j).flow_value for j in range(t)] for i in range(t)],
                    dtype=float)
    return flow / flow.sum(axis=1, keepdims=True)
'''),
    # --- part 5
    Wrong("gxi", "gxi-without-attention-mask", _fill(
        _GXI, FORWARD="inputs_embeds=embeddings", SCORE="logits[torch.arange(len(input_ids)), target].sum()",
        RESULT="(grads * embeddings).sum(dim=-1).detach()")),
    Wrong("gxi", "gxi-norm-of-product", _fill(
        _GXI, FORWARD="inputs_embeds=embeddings, attention_mask=attention_mask",
        SCORE="logits[torch.arange(len(input_ids)), target].sum()",
        RESULT="(grads * embeddings).norm(dim=-1).detach()")),
    Wrong("gxi", "gxi-all-classes", _fill(
        _GXI, FORWARD="inputs_embeds=embeddings, attention_mask=attention_mask", SCORE="logits.sum()",
        RESULT="(grads * embeddings).sum(dim=-1).detach()")),
    # --- part 6
    Wrong("ig", "ig-sum-not-mean", _fill(_IG, **{**_IG_OK, "DIVISOR": "1"})),
    Wrong("ig", "ig-left-riemann-rule", _fill(_IG, **{**_IG_OK, "ALPHA": "step / n_steps"})),
    Wrong("ig", "ig-without-attention-mask", _fill(_IG, **{**_IG_OK, "FORWARD": "inputs_embeds=point"})),
    # --- part 7
    Wrong("occlusion", "occlusion-sum-over-windows", _fill(_OCC, **{**_OCC_OK, "RESULT": "total"})),
    Wrong("occlusion", "occlusion-misses-last-window", _fill(_OCC, **{**_OCC_OK, "STARTS": "t - window"})),
    Wrong("occlusion", "occlusion-without-attention-mask", _fill(_OCC, **{**_OCC_OK, "OCCLUDED": "occluded"})),
    # --- part 8
    Wrong("pointing", "pointing-last-maximum", '''
def pointing_game(scores, deciding, candidates):
    masked = np.where(np.asarray(candidates, dtype=bool), np.asarray(scores, dtype=float), -np.inf)
    last = masked.shape[1] - 1 - masked[:, ::-1].argmax(axis=1)
    return (last == np.asarray(deciding)).astype(float)
'''),
    Wrong("pointing", "pointing-index-among-candidates", '''
def pointing_game(scores, deciding, candidates):
    hits = []
    for row, d, cand in zip(np.asarray(scores), deciding, np.asarray(candidates, dtype=bool)):
        hits.append(float(np.argmax(row[cand]) == d))
    return np.array(hits)
'''),
    Wrong("agreement", "agreement-spearman", '''
from scipy.stats import spearmanr

def rank_agreement(scores_a, scores_b, candidates):
    keep = np.asarray(candidates, dtype=bool)
    return np.array([spearmanr(a[k], b[k]).statistic for a, b, k in zip(scores_a, scores_b, keep)])
'''),
    Wrong("agreement", "agreement-tau-a", '''
def rank_agreement(scores_a, scores_b, candidates):
    out = []
    for a, b, keep in zip(scores_a, scores_b, np.asarray(candidates, dtype=bool)):
        a, b = a[keep], b[keep]
        n = len(a)
        s = sum(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) for i in range(n) for j in range(i + 1, n))
        out.append(s / (n * (n - 1) / 2))
    return np.array(out)
'''),
]
