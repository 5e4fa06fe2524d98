"""Correct answers of lab 7 written differently from the solution."""

from . import Right

_INIT = '''
    def __init__(self, model):
        self.model = model
'''

RIGHT = [
    Right("mha", "mha-einsum-finfo-min", '''
def multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask=None):
    n, t, dim = x.shape
    d = dim // n_heads
    q = torch.nn.functional.linear(x, w_q, b_q).view(n, t, n_heads, d)
    k = torch.nn.functional.linear(x, w_k, b_k).view(n, t, n_heads, d)
    v = torch.nn.functional.linear(x, w_v, b_v).view(n, t, n_heads, d)
    scores = torch.einsum("nihd,njhd->nhij", q, k) * d**-0.5
    if attention_mask is not None:
        scores = scores.masked_fill(~attention_mask.bool()[:, None, None, :], torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    return torch.einsum("nhij,njhd->nihd", weights, v).reshape(n, t, dim), weights
'''),
    Right("mha", "mha-loop-over-heads", '''
def multi_head_attention(x, w_q, b_q, w_k, b_k, w_v, b_v, n_heads, attention_mask=None):
    d = x.shape[-1] // n_heads
    q, k, v = x @ w_q.T + b_q, x @ w_k.T + b_k, x @ w_v.T + b_v
    outputs, weights = [], []
    for h in range(n_heads):
        part = slice(h * d, (h + 1) * d)
        scores = q[..., part] @ k[..., part].transpose(1, 2) / math.sqrt(d)
        if attention_mask is not None:
            scores = scores + torch.where(attention_mask[:, None, :] == 0, float("-inf"), 0.0)
        w = torch.softmax(scores, dim=-1)
        weights.append(w)
        outputs.append(w @ v[..., part])
    return torch.cat(outputs, dim=-1), torch.stack(weights, dim=1)
'''),
    Right("extract", "extract-each-sentence-alone", '''
def extract_attention(encoder, input_ids, attention_mask):
    result = []
    with torch.no_grad():
        for ids, mask in zip(input_ids, attention_mask):
            real = ids[mask.bool()][None]
            result.append(torch.cat(encoder(input_ids=real, output_attentions=True).attentions))
    return result
'''),
    Right("extract", "extract-index-select", '''
def extract_attention(encoder, input_ids, attention_mask):
    with torch.no_grad():
        attentions = encoder(input_ids=input_ids, attention_mask=attention_mask, output_attentions=True).attentions
    out = []
    for i in range(len(input_ids)):
        keep = torch.nonzero(attention_mask[i]).flatten()
        a = torch.stack([layer[i] for layer in attentions])
        out.append(a.index_select(2, keep).index_select(3, keep))
    return out
'''),
    Right("rollout", "rollout-joint-attention-recursion", '''
def attention_rollout(attentions):
    heads_mean = np.mean(attentions, axis=1)
    augmented = heads_mean + np.eye(heads_mean.shape[-1])
    augmented = augmented / augmented.sum(axis=-1, keepdims=True)
    joint = augmented[0]
    for layer in augmented[1:]:
        joint = layer.dot(joint)
    return joint
'''),
    Right("rollout", "rollout-multi-dot-float32", '''
def attention_rollout(attentions):
    a = np.asarray(attentions, dtype=np.float32).mean(axis=1)
    eye = np.eye(a.shape[-1], dtype=np.float32)
    layers = [(0.5 * m + 0.5 * eye) / (0.5 * m + 0.5 * eye).sum(axis=1, keepdims=True) for m in a]
    return layers[0] if len(layers) == 1 else np.linalg.multi_dot(layers[::-1])
'''),
    Right("flow", "flow-networkx", '''
import networkx as nx

def attention_flow(attentions):
    a = np.asarray(attentions, dtype=float).mean(axis=1)
    n_layers, t = a.shape[0], a.shape[-1]
    graph = nx.DiGraph()
    for layer in range(1, n_layers + 1):
        cap = 0.5 * a[layer - 1] + 0.5 * np.eye(t)
        cap = cap / cap.sum(axis=1, keepdims=True)
        for i in range(t):
            for j in range(t):
                graph.add_edge(layer * t + i, (layer - 1) * t + j, capacity=cap[i, j])
    flow = np.array([[nx.maximum_flow_value(graph, n_layers * t + i, j) for j in range(t)] for i in range(t)])
    return flow / flow.sum(axis=1, keepdims=True)
'''),
    Right("gxi", "gxi-backward-einsum", '''
class GradientXInput:''' + _INIT + '''
    def attribute(self, input_ids, target, *, attention_mask=None):
        e = self.model.word_embeddings(input_ids).detach().clone().requires_grad_(True)
        logits = self.model(inputs_embeds=e, attention_mask=attention_mask)
        chosen = logits.gather(1, torch.as_tensor(target).expand(len(e)).view(-1, 1))
        chosen.sum().backward()
        return torch.einsum("ntd,ntd->nt", e.grad, e).detach()
'''),
    Right("ig", "ig-one-batch", '''
class IntegratedGradients:''' + _INIT + '''
    def attribute(self, input_ids, target, *, baseline_ids, attention_mask=None, n_steps=32):
        emb = self.model.word_embeddings
        x, base = emb(input_ids).detach(), emb(baseline_ids).detach()
        n = len(x)
        alphas = (torch.arange(n_steps, dtype=x.dtype) + 0.5) / n_steps
        path = (base[None] + alphas.view(-1, 1, 1, 1) * (x - base)[None]).reshape(n_steps * n, *x.shape[1:])
        path.requires_grad_(True)
        mask = None if attention_mask is None else attention_mask.repeat(n_steps, 1)
        t = torch.as_tensor(target).expand(n).repeat(n_steps)
        scores = self.model(inputs_embeds=path, attention_mask=mask)[torch.arange(n_steps * n), t]
        grads = torch.autograd.grad(scores.sum(), path)[0].view(n_steps, *x.shape).mean(dim=0)
        return ((x - base) * grads).sum(dim=-1).detach()
'''),
    Right("occlusion", "occlusion-one-batch", '''
class TokenOcclusion:''' + _INIT + '''
    @torch.no_grad()
    def attribute(self, input_ids, target, *, replacement_id, attention_mask=None, window=1):
        n, t = input_ids.shape
        starts = range(t - window + 1)
        batch = input_ids.repeat(len(starts), 1)
        covered = torch.zeros(len(starts), t)
        for k, s in enumerate(starts):
            batch[k * n:(k + 1) * n, s:s + window] = replacement_id
            covered[k, s:s + window] = 1.0
        mask = None if attention_mask is None else attention_mask.repeat(len(starts), 1)
        targets = torch.as_tensor(target).expand(n)
        original = self.model(input_ids, attention_mask)[torch.arange(n), targets]
        occluded = self.model(batch, mask)[torch.arange(len(batch)), targets.repeat(len(starts))].view(len(starts), n)
        drops = original[None] - occluded  # (windows, sentences)
        return (drops.T @ covered) / covered.sum(dim=0)
'''),
    Right("pointing", "pointing-loop", '''
def pointing_game(scores, deciding, candidates):
    hits = []
    for row, d, cand in zip(np.asarray(scores), deciding, np.asarray(candidates)):
        positions = np.flatnonzero(cand)
        hits.append(1.0 if positions[np.argmax(row[positions])] == d else 0.0)
    return np.array(hits)
'''),
    Right("agreement", "agreement-pandas-kendall", '''
import pandas as pd

def rank_agreement(scores_a, scores_b, candidates):
    out = []
    for a, b, keep in zip(scores_a, scores_b, np.asarray(candidates, dtype=bool)):
        out.append(pd.Series(a[keep]).corr(pd.Series(b[keep]), method="kendall"))
    return np.array(out)
'''),
]
