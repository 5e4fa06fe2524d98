"""Correct answers of lab 6 written differently from the solution."""

from . import Right

RIGHT = [
    Right("total_variation", "tv-torch-diff", '''
def total_variation(images):
    return torch.diff(images, dim=-2).abs().flatten(1).sum(1) + torch.diff(images, dim=-1).abs().flatten(1).sum(1)
'''),
    Right("total_variation", "tv-loop-over-images", '''
def total_variation(images):
    values = []
    for image in images:
        values.append(torch.sum(torch.abs(image[:, 1:] - image[:, :-1])) + torch.sum(torch.abs(image[..., 1:] - image[..., :-1])))
    return torch.stack(values)
'''),
    Right("fourier", "fourier-numpy-frequencies-stacked-parts", '''
class FourierParameterization:
    def __init__(self, height, width, *, decay=1.0):
        self.height, self.width = height, width
        fy, fx = np.meshgrid(np.fft.fftfreq(height), np.fft.rfftfreq(width), indexing="ij")
        frequency = np.maximum(np.hypot(fy, fx), 1.0 / max(height, width))
        self.scale = torch.tensor(frequency ** -decay, dtype=torch.float32)

    def to_image(self, spectrum):
        complex_spectrum = torch.complex(spectrum[..., 0], spectrum[..., 1]) * self.scale
        return torch.fft.irfft2(complex_spectrum, s=(self.height, self.width), norm="ortho")

    def from_image(self, image):
        coefficients = torch.fft.rfft2(image, norm="ortho") / self.scale
        return torch.stack([coefficients.real, coefficients.imag], dim=-1)
'''),
    Right("maximize", "maximize-backward-zero-grad", '''
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    z = param.from_image(torch.logit(init.clone())).detach()
    z.requires_grad = True
    optimizer = torch.optim.Adam([z], lr=lr)
    generator = torch.Generator()
    generator.manual_seed(seed)
    for step in range(steps):
        optimizer.zero_grad()
        x = torch.sigmoid(param.to_image(z))
        dy, dx = [int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=generator)]
        _, activations = forward_with_activations(model, layer, x.roll((dy, dx), (2, 3)))
        tv = torch.diff(x, dim=2).abs().sum() + torch.diff(x, dim=3).abs().sum()
        loss = -(activations[0, channel].mean() - tv_weight * tv / x.numel())
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return torch.sigmoid(param.to_image(z))
'''),
    Right("maximize", "maximize-own-hook", '''
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    store = {}
    handle = layer.register_forward_hook(lambda module, inputs, output: store.update(a=output))
    try:
        z = param.from_image(torch.logit(init.detach())).detach().requires_grad_(True)
        optimizer = torch.optim.Adam([z], lr=lr)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            x = torch.sigmoid(param.to_image(z))
            dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
            model(torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
            tv = (x[:, :, 1:] - x[:, :, :-1]).abs().sum() + (x[..., 1:] - x[..., :-1]).abs().sum()
            objective = store["a"][:, channel].mean() - tv_weight * tv / x.numel()
            z.grad = torch.autograd.grad(-objective, z)[0]
            optimizer.step()
    finally:
        handle.remove()
    return torch.sigmoid(param.to_image(z)).detach()
'''),
    Right("top_k", "topk-whole-set-lexsort", '''
def top_k_examples(model, layer, images, channel, k, *, reduce="max", batch_size=64):
    parts = []
    with torch.no_grad():
        for batch in torch.split(images, batch_size):
            maps = forward_with_activations(model, layer, batch)[1][:, channel].flatten(1).numpy()
            parts.append(maps.max(axis=1) if reduce == "max" else maps.mean(axis=1))
    scores = np.concatenate(parts)
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return order, scores[order]
'''),
    Right("top_k", "topk-sorted-key", '''
def top_k_examples(model, layer, images, channel, k, *, reduce="max", batch_size=64):
    scores = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            _, a = forward_with_activations(model, layer, images[start:start + batch_size])
            for m in a[:, channel]:
                scores.append(float(m.max() if reduce == "max" else m.mean()))
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return np.array(order), np.array([scores[i] for i in order])
'''),
    Right("dissection", "dissect-skimage-percentile-loop", '''
from skimage.transform import resize

def dissection_iou(activations, masks, *, top=0.005):
    n, units = activations.shape[:2]
    height, width = masks.shape[-2:]
    iou = np.zeros((units, masks.shape[1]))
    for u in range(units):
        threshold = np.percentile(activations[:, u], 100 * (1 - top))
        on = resize(activations[:, u], (n, height, width), order=1, mode="edge", anti_aliasing=False) > threshold
        for k in range(masks.shape[1]):
            union = np.logical_or(on, masks[:, k]).sum()
            iou[u, k] = np.logical_and(on, masks[:, k]).sum() / union if union else 0.0
    return iou
'''),
    Right("dissection", "dissect-torch-quantile-float32", '''
def dissection_iou(activations, masks, *, top=0.005):
    a = torch.as_tensor(np.asarray(activations), dtype=torch.float32)
    units = a.shape[1]
    thresholds = torch.quantile(a.transpose(0, 1).reshape(units, -1), 1 - top, dim=1)
    on = F.interpolate(a, size=tuple(masks.shape[-2:]), mode="bilinear", align_corners=False) > thresholds.view(1, -1, 1, 1)
    m = torch.as_tensor(np.asarray(masks))
    intersection = (on[:, :, None] & m[:, None]).sum(dim=(0, 3, 4)).double()
    union = (on[:, :, None] | m[:, None]).sum(dim=(0, 3, 4)).double()
    return torch.where(union > 0, intersection / union.clamp(min=1), torch.zeros_like(union)).numpy()
'''),
    Right("train_cav", "cav-vstack-int-labels", '''
def train_cav(concept_activations, random_activations, *, random_state=0):
    n, m = len(concept_activations), len(random_activations)
    X = np.vstack([np.reshape(concept_activations, (n, -1)), np.reshape(random_activations, (m, -1))])
    y = [1] * n + [0] * m
    w = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state).fit(X, y).coef_.ravel()
    return w / np.sqrt(np.sum(w ** 2))
'''),
    Right("tcav_score", "tcav-grad-outputs", '''
def tcav_score(model, layer, inputs, target, cav):
    outputs, activations = forward_with_activations(model, layer, inputs.clone())
    (gradients,) = torch.autograd.grad(outputs[:, target], activations, grad_outputs=torch.ones(len(inputs)))
    derivatives = gradients.flatten(1).double().numpy() @ np.asarray(cav, dtype=float)
    return (derivatives > 0).mean(), derivatives
'''),
    Right("tcav_score", "tcav-backward-on-hooked-copy", '''
def tcav_score(model, layer, inputs, target, cav):
    store = {}

    def keep(module, args, output):
        output.retain_grad()
        store["a"] = output

    handle = layer.register_forward_hook(keep)
    try:
        outputs = model(inputs.detach().clone())
    finally:
        handle.remove()
    outputs[:, target].sum().backward()
    g = store["a"].grad.reshape(len(inputs), -1).detach().numpy().astype(np.float64)
    derivatives = g.dot(np.asarray(cav, dtype=np.float64))
    model.zero_grad()
    return float(np.count_nonzero(derivatives > 0) / len(derivatives)), derivatives
'''),
    Right("significance", "signif-comprehensions-nan-to-num", '''
def tcav_significance(concept_sets, random_sets, gradients, *, train_cav, alpha=0.05):
    R = len(random_sets)
    G = np.asarray(gradients, dtype=float)
    concept_scores = np.array([(G @ train_cav(concept_sets[i], random_sets[i]) > 0).mean() for i in range(R)])
    random_scores = np.array([(G @ train_cav(random_sets[i], random_sets[(i + 1) % R]) > 0).mean() for i in range(R)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_value = float(np.nan_to_num(ttest_ind(concept_scores, random_scores, equal_var=True).pvalue, nan=1.0))
    return dict(concept_scores=concept_scores, random_scores=random_scores, p_value=p_value,
                significant=bool(p_value < alpha))
'''),
    Right("nmf", "nmf-moveaxis", '''
def neuron_groups(activations, n_groups, *, random_state=0):
    a = np.asarray(activations, dtype=float)
    n, c, h, w = a.shape
    model = NMF(n_components=n_groups, init="nndsvda", max_iter=500, random_state=random_state)
    W = model.fit_transform(np.moveaxis(a, 1, -1).reshape(n * h * w, c))
    return np.moveaxis(W.reshape(n, h, w, n_groups), -1, 1), model.components_.copy()
'''),
]
