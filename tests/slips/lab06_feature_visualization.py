"""Slips in lab06_feature_visualization the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong
from wrong_answers.lab06_feature_visualization import _FOURIER_INIT, _MAXIMIZE_HEAD, _SIGNIFICANCE_HEAD

_MAXIMIZE_TAIL = '''
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
'''

_TOP_K_SCORES = '''
def top_k_examples(model, layer, images, channel, k, *, reduce="max", batch_size=64):
    scores = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            _, activations = forward_with_activations(model, layer, images[start:start + batch_size])
            maps = activations[:, channel].reshape(len(activations), -1)
            scores.append(maps.max(dim=1).values if reduce == "max" else maps.mean(dim=1))
    scores = torch.cat(scores).numpy()
'''

EXTRA = [
    Wrong("total_variation", "tv-roll-wraps-around", '''
def total_variation(images):
    down = (torch.roll(images, 1, dims=2) - images).abs().sum(dim=(1, 2, 3))
    across = (torch.roll(images, 1, dims=3) - images).abs().sum(dim=(1, 2, 3))
    return down + across
'''),
    Wrong("total_variation", "tv-mean", '''
def total_variation(images):
    down = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().mean(dim=(1, 2, 3))
    across = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().mean(dim=(1, 2, 3))
    return down + across
'''),
    Wrong("total_variation", "tv-whole-batch-per-image", '''
def total_variation(images):
    down = (images[:, :, 1:, :] - images[:, :, :-1, :]).abs().sum()
    across = (images[:, :, :, 1:] - images[:, :, :, :-1]).abs().sum()
    return (down + across).expand(len(images))
'''),
    Wrong("fourier", "fourier-decay-ignored", '''
class FourierParameterization:
    def __init__(self, height, width, *, decay=1.0):
        self.height, self.width = height, width
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        self.scale = 1.0 / torch.clamp(torch.sqrt(fy ** 2 + fx ** 2), min=1.0 / max(height, width))

    def to_image(self, spectrum):
        return torch.fft.irfft2(torch.view_as_complex(spectrum) * self.scale, s=(self.height, self.width), norm="ortho")

    def from_image(self, image):
        return torch.view_as_real(torch.fft.rfft2(image, norm="ortho") / self.scale)
'''),
    Wrong("fourier", "fourier-clamp-min-side", '''
class FourierParameterization:
    def __init__(self, height, width, *, decay=1.0):
        self.height, self.width = height, width
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        self.scale = 1.0 / torch.clamp(torch.sqrt(fy ** 2 + fx ** 2), min=1.0 / min(height, width)) ** decay

    def to_image(self, spectrum):
        return torch.fft.irfft2(torch.view_as_complex(spectrum) * self.scale, s=(self.height, self.width), norm="ortho")

    def from_image(self, image):
        return torch.view_as_real(torch.fft.rfft2(image, norm="ortho") / self.scale)
'''),
    Wrong("fourier", "fourier-manhattan-frequency", '''
class FourierParameterization:
    def __init__(self, height, width, *, decay=1.0):
        self.height, self.width = height, width
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        self.scale = 1.0 / torch.clamp(fy.abs() + fx, min=1.0 / max(height, width)) ** decay

    def to_image(self, spectrum):
        return torch.fft.irfft2(torch.view_as_complex(spectrum) * self.scale, s=(self.height, self.width), norm="ortho")

    def from_image(self, image):
        return torch.view_as_real(torch.fft.rfft2(image, norm="ortho") / self.scale)
'''),
    Wrong("maximize", "maximize-generator-in-loop", '''
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    z = param.from_image(torch.logit(init.detach())).detach().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        x = torch.sigmoid(param.to_image(z))
        generator = torch.Generator().manual_seed(seed)
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
''' + _MAXIMIZE_TAIL),
    Wrong("maximize", "maximize-randint-excludes-jitter", '''
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    z = param.from_image(torch.logit(init.detach())).detach().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.sigmoid(param.to_image(z))
        dy, dx = torch.randint(-jitter, jitter, (2,), generator=generator).tolist()
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
''' + _MAXIMIZE_TAIL),
    Wrong("maximize", "maximize-roll-dims-swapped", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(3, 2)))
''' + _MAXIMIZE_TAIL),
    Wrong("maximize", "maximize-roll-backwards", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(-dy, -dx), dims=(2, 3)))
''' + _MAXIMIZE_TAIL),
    Wrong("maximize", "maximize-whole-layer", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations.mean() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
'''),
    Wrong("maximize", "maximize-sgd", '''
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    z = param.from_image(torch.logit(init.detach())).detach().requires_grad_(True)
    optimizer = torch.optim.SGD([z], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.sigmoid(param.to_image(z))
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
''' + _MAXIMIZE_TAIL),
    Wrong("maximize", "maximize-pixels-not-param", '''
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    z = torch.logit(init.detach()).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.sigmoid(z)
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(z).detach()
'''),
    Wrong("maximize", "maximize-tv-per-channel-area", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv / (x.shape[2] * x.shape[3])
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
'''),
    Wrong("maximize", "maximize-tv-not-normalized", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
'''),
    Wrong("top_k", "topk-reduce-ignored", _TOP_K_SCORES.replace(
        'maps.max(dim=1).values if reduce == "max" else maps.mean(dim=1)', "maps.max(dim=1).values") + '''
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order]
'''),
    Wrong("top_k", "topk-scores-of-first-images", _TOP_K_SCORES + '''
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[:k]
'''),
    Wrong("top_k", "topk-quicksort-ties", _TOP_K_SCORES + '''
    order = np.argsort(-scores, kind="quicksort")[:k]
    order = order[np.lexsort((-order, -scores[order]))]
    return order, scores[order]
'''),
    Wrong("dissection", "dissect-threshold-per-image", '''
def dissection_iou(activations, masks, *, top=0.005):
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    thresholds = np.quantile(activations.reshape(*activations.shape[:2], -1), 1 - top, axis=2)
    upsampled = F.interpolate(torch.from_numpy(activations), size=masks.shape[-2:], mode="bilinear",
                              align_corners=False).numpy()
    on = (upsampled > thresholds[:, :, None, None]).astype(float)
    inside = masks.astype(float)
    intersection = np.einsum("nuhw,nkhw->uk", on, inside)
    union = on.sum(axis=(0, 2, 3))[:, None] + inside.sum(axis=(0, 2, 3))[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
'''),
    Wrong("dissection", "dissect-greater-or-equal", '''
def dissection_iou(activations, masks, *, top=0.005):
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    units = activations.shape[1]
    thresholds = np.quantile(activations.transpose(1, 0, 2, 3).reshape(units, -1), 1 - top, axis=1)
    upsampled = F.interpolate(torch.from_numpy(activations), size=masks.shape[-2:], mode="bilinear",
                              align_corners=False).numpy()
    on = (upsampled >= thresholds[None, :, None, None]).astype(float)
    inside = masks.astype(float)
    intersection = np.einsum("nuhw,nkhw->uk", on, inside)
    union = on.sum(axis=(0, 2, 3))[:, None] + inside.sum(axis=(0, 2, 3))[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
'''),
    Wrong("dissection", "dissect-align-corners", '''
def dissection_iou(activations, masks, *, top=0.005):
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    units = activations.shape[1]
    thresholds = np.quantile(activations.transpose(1, 0, 2, 3).reshape(units, -1), 1 - top, axis=1)
    upsampled = F.interpolate(torch.from_numpy(activations), size=masks.shape[-2:], mode="bilinear",
                              align_corners=True).numpy()
    on = (upsampled > thresholds[None, :, None, None]).astype(float)
    inside = masks.astype(float)
    intersection = np.einsum("nuhw,nkhw->uk", on, inside)
    union = on.sum(axis=(0, 2, 3))[:, None] + inside.sum(axis=(0, 2, 3))[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
'''),
    Wrong("dissection", "dissect-concepts-by-units", '''
def dissection_iou(activations, masks, *, top=0.005):
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    units = activations.shape[1]
    thresholds = np.quantile(activations.transpose(1, 0, 2, 3).reshape(units, -1), 1 - top, axis=1)
    upsampled = F.interpolate(torch.from_numpy(activations), size=masks.shape[-2:], mode="bilinear",
                              align_corners=False).numpy()
    on = (upsampled > thresholds[None, :, None, None]).astype(float)
    inside = masks.astype(float)
    intersection = np.einsum("nuhw,nkhw->ku", on, inside)
    union = on.sum(axis=(0, 2, 3))[None, :] + inside.sum(axis=(0, 2, 3))[:, None] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
'''),
    Wrong("train_cav", "cav-random-state-ignored", '''
def train_cav(concept_activations, random_activations, *, random_state=0):
    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    random = np.asarray(random_activations).reshape(len(random_activations), -1)
    X = np.concatenate([concept, random])
    y = np.concatenate([np.ones(len(concept)), np.zeros(len(random))])
    classifier = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=0).fit(X, y)
    return classifier.coef_[0] / np.linalg.norm(classifier.coef_[0])
'''),
    Wrong("train_cav", "cav-logistic-regression", '''
from sklearn.linear_model import LogisticRegression

def train_cav(concept_activations, random_activations, *, random_state=0):
    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    random = np.asarray(random_activations).reshape(len(random_activations), -1)
    X = np.concatenate([concept, random])
    y = np.concatenate([np.ones(len(concept)), np.zeros(len(random))])
    coef = LogisticRegression(random_state=random_state).fit(X, y).coef_[0]
    return coef / np.linalg.norm(coef)
'''),
    Wrong("tcav_score", "tcav-predicted-class", '''
def tcav_score(model, layer, inputs, target, cav):
    outputs, activations = forward_with_activations(model, layer, inputs.detach().clone())
    predicted = outputs.argmax(dim=1)
    gradients = torch.autograd.grad(outputs[torch.arange(len(inputs)), predicted].sum(), activations)[0]
    derivatives = (gradients.reshape(len(inputs), -1) @ torch.as_tensor(cav, dtype=gradients.dtype)).detach().numpy()
    return float(np.mean(derivatives > 0)), derivatives
'''),
    Wrong("tcav_score", "tcav-gradient-times-activation", '''
def tcav_score(model, layer, inputs, target, cav):
    outputs, activations = forward_with_activations(model, layer, inputs.detach().clone())
    gradients = torch.autograd.grad(outputs[:, target].sum(), activations)[0] * activations
    derivatives = (gradients.reshape(len(inputs), -1) @ torch.as_tensor(cav, dtype=gradients.dtype)).detach().numpy()
    return float(np.mean(derivatives > 0)), derivatives
'''),
    Wrong("significance", "signif-previous-random-set", _SIGNIFICANCE_HEAD + '''
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(concept_sets[i], random_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[i - 1]) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_ind(concept_scores, random_scores).pvalue)
    p_value = 1.0 if np.isnan(p_value) else p_value
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": p_value < alpha}
'''),
    Wrong("significance", "signif-arguments-swapped", _SIGNIFICANCE_HEAD + '''
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(random_sets[i], concept_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[(i + 1) % n_runs]) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_ind(concept_scores, random_scores).pvalue)
    p_value = 1.0 if np.isnan(p_value) else p_value
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": p_value < alpha}
'''),
    Wrong("significance", "signif-one-sided", _SIGNIFICANCE_HEAD + '''
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(concept_sets[i], random_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[(i + 1) % n_runs]) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_ind(concept_scores, random_scores, alternative="greater").pvalue)
    p_value = 1.0 if np.isnan(p_value) else p_value
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": p_value < alpha}
'''),
    Wrong("significance", "signif-nan-kept", _SIGNIFICANCE_HEAD + '''
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(concept_sets[i], random_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[(i + 1) % n_runs]) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_ind(concept_scores, random_scores).pvalue)
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": p_value < alpha}
'''),
    Wrong("nmf", "nmf-reshape-without-moveaxis", '''
def neuron_groups(activations, n_groups, *, random_state=0):
    activations = np.asarray(activations)
    n, channels, height, width = activations.shape
    rows = activations.transpose(0, 2, 3, 1).reshape(-1, channels)
    nmf = NMF(n_components=n_groups, init="nndsvda", max_iter=500, random_state=random_state)
    weights = nmf.fit_transform(rows)
    return weights.reshape(n, n_groups, height, width), nmf.components_
'''),
    Wrong("nmf", "nmf-default-iterations", '''
def neuron_groups(activations, n_groups, *, random_state=0):
    activations = np.asarray(activations)
    n, channels, height, width = activations.shape
    rows = activations.transpose(0, 2, 3, 1).reshape(-1, channels)
    nmf = NMF(n_components=n_groups, init="nndsvda", max_iter=20, random_state=random_state)
    weights = nmf.fit_transform(rows)
    return weights.reshape(n, height, width, n_groups).transpose(0, 3, 1, 2), nmf.components_
'''),
]
