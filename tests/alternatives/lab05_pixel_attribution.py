"""Correct answers of lab 5 written differently from the solution."""

from . import Right

_INIT = '''
    def __init__(self, model):
        self.model = model
'''
_INIT_LAYER = '''
    def __init__(self, model, layer):
        self.model = model
        self.layer = layer
'''

RIGHT = [
    Right("vanilla_gradient", "vg-backward-on-a-copy", '''
class VanillaGradient:''' + _INIT + '''
    def attribute(self, inputs, target, *, abs=True):
        x = inputs.clone().detach().requires_grad_()
        logits = self.model(x)
        logits.gather(1, torch.as_tensor(target).expand(len(x)).view(-1, 1)).sum().backward()
        g = x.grad.detach()
        return g.abs() if abs else g
'''),
    Right("smooth_grad", "sg-one-batch", '''
class SmoothGrad:''' + _INIT + '''
    def attribute(self, inputs, target, *, noise):
        n, N = noise.shape[:2]
        x = (inputs.detach()[None] + noise).reshape(n * N, *inputs.shape[1:]).requires_grad_(True)
        t = torch.as_tensor(target).expand(N).repeat(n)
        scores = self.model(x)[torch.arange(n * N), t]
        g = torch.autograd.grad(scores.sum(), x)[0].abs().view(n, N, *inputs.shape[1:])
        return g.mean(dim=0)
'''),
    Right("integrated_gradients", "ig-one-batch-float32", '''
class IntegratedGradients:''' + _INIT + '''
    def attribute(self, inputs, target, *, baselines=None, n_steps=50):
        x = inputs.detach().float()
        base = torch.zeros_like(x) if baselines is None else baselines.float()
        alphas = (torch.arange(n_steps, dtype=torch.float32) + 0.5) / n_steps
        path = (base[None] + alphas.view(-1, 1, 1, 1, 1) * (x - base)[None]).reshape(-1, *x.shape[1:])
        path.requires_grad_(True)
        t = torch.as_tensor(target).expand(len(x)).repeat(n_steps)
        scores = self.model(path)[torch.arange(len(path)), t]
        grads = torch.autograd.grad(scores.sum(), path)[0].view(n_steps, *x.shape)
        return ((x - base) * grads.mean(dim=0)).detach()
'''),
    Right("occlusion", "occ-unfold-count", '''
class Occlusion:''' + _INIT + '''
    @torch.no_grad()
    def attribute(self, inputs, target, *, window=(4, 4), stride=2, baseline=0.0):
        x = inputs.detach()
        n, c, H, W = x.shape
        h, w = window
        rows = torch.arange(n)
        reference = self.model(x)[rows, target]
        total, count = torch.zeros(n, H, W), torch.zeros(H, W)
        tops, lefts = range(0, H - h + 1, stride), range(0, W - w + 1, stride)
        for top in tops:
            for left in lefts:
                occluded = x.clone()
                occluded[..., top:top + h, left:left + w] = baseline
                total[:, top:top + h, left:left + w] += (reference - self.model(occluded)[rows, target]).view(n, 1, 1)
                count[top:top + h, left:left + w] += 1
        return (total / torch.where(count > 0, count, torch.ones_like(count)))[:, None].repeat(1, c, 1, 1)
'''),
    Right("grad_cam", "gradcam-hook-free-einsum", '''
class GradCAM:''' + _INIT_LAYER + '''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        g = torch.autograd.grad(logits[torch.arange(len(inputs)), target].sum(), A)[0]
        cam = torch.einsum("nk,nkhw->nhw", g.mean(dim=(2, 3)), A).clamp(min=0)[:, None]
        return F.interpolate(cam, size=tuple(inputs.shape[-2:]), mode="bilinear", align_corners=False).detach()
'''),
    Right("randomization", "mprt-rank-pearson", '''
from scipy.stats import rankdata

def model_randomization_test(model, explain, inputs, target, *, layers, seed=0):
    original = np.asarray(explain(model, inputs, target), dtype=float).reshape(len(inputs), -1)
    copy_ = copy.deepcopy(model)
    modules = dict(copy_.named_modules())
    torch.manual_seed(seed)
    rows = []
    for name in layers:
        modules[name].reset_parameters()
        maps = np.asarray(explain(copy_, inputs, target), dtype=float).reshape(len(inputs), -1)
        rows.append([np.corrcoef(rankdata(a), rankdata(b))[0, 1] for a, b in zip(original, maps)])
    return np.array(rows)
'''),
    Right("deletion", "deletion-ranks-vectorised", '''
def deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0):
    n, c, H, W = images.shape
    steps = -(-H * W // pixels_per_step)
    ranks = np.argsort(np.argsort(-np.asarray(saliency).reshape(n, -1), axis=1, kind="stable"), axis=1)
    out = np.empty((n, steps + 1))
    with torch.no_grad():
        for k in range(steps + 1):
            gone = torch.from_numpy(ranks < k * pixels_per_step).view(n, 1, H, W)
            out[:, k] = torch.softmax(model(torch.where(gone, torch.tensor(baseline), images)), 1)[torch.arange(n), target].numpy()
    return out
'''),
    Right("pointing", "pointing-brute-force", '''
def pointing_game(saliency, masks, *, tolerance=0):
    hits = []
    for s, m in zip(saliency, masks):
        peak = np.array(np.unravel_index(np.argmax(s), s.shape))
        hits.append(float(np.min(np.linalg.norm(np.argwhere(m) - peak, axis=1)) <= tolerance))
    return np.array(hits)
'''),
    Right("relevance", "relevance-float32", '''
def relevance_mass(saliency, masks):
    positive = np.maximum(np.asarray(saliency, dtype=np.float32), 0)
    return (np.where(masks, positive, 0).sum(axis=(1, 2)) / positive.sum(axis=(1, 2))).astype(np.float32)
'''),
]

RIGHT += [
    Right("pointing", "pointing-any-maximum-in-mask", '''
def pointing_game(saliency, masks, *, tolerance=0):
    out = []
    for s, m in zip(np.asarray(saliency), np.asarray(masks, dtype=bool)):
        peaks = np.argwhere(s == s.max())  # every maximum (Quantus' rule); the same as argmax when it is unique
        distance = distance_transform_edt(~m)
        out.append(float(min(distance[r, c] for r, c in peaks) <= tolerance))
    return np.array(out)
'''),
    Right("deletion", "deletion-unstable-sort", '''
def deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0):
    n, c, H, W = images.shape
    steps = -(-H * W // pixels_per_step)
    curves = np.zeros((n, steps + 1))
    for i in range(n):
        order = np.argsort(-np.asarray(saliency[i]).ravel(), kind="quicksort")  # ties may go either way
        x = images[i:i + 1].detach().clone().repeat(steps + 1, 1, 1, 1).reshape(steps + 1, c, H * W)
        for k in range(steps + 1):
            x[k, :, order[:min(k * pixels_per_step, H * W)]] = baseline
        with torch.no_grad():
            curves[i] = F.softmax(model(x.reshape(steps + 1, c, H, W)), dim=1)[:, int(target[i])].numpy()
    return curves
'''),
]
