"""Plausible mistakes in lab 6, one or more per graded function or class."""

from . import Wrong

_FOURIER_INIT = '''
    def __init__(self, height, width, *, decay=1.0):
        self.height, self.width = height, width
        fy = torch.fft.fftfreq(height)[:, None]
        fx = torch.fft.rfftfreq(width)[None, :]
        self.scale = 1.0 / torch.clamp(torch.sqrt(fy ** 2 + fx ** 2), min=1.0 / max(height, width)) ** decay
'''

_MAXIMIZE_HEAD = '''
def maximize_activation(model, layer, channel, param, init, *, steps=64, lr=0.05, jitter=2, tv_weight=0.0, seed=0):
    z = param.from_image(torch.logit(init.detach())).detach().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = torch.sigmoid(param.to_image(z))
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
'''

_DISSECTION_TAIL = '''
    inside = masks.astype(float)
    intersection = np.einsum("nuhw,nkhw->uk", on, inside)
    union = on.sum(axis=(0, 2, 3))[:, None] + inside.sum(axis=(0, 2, 3))[None, :] - intersection
    return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
'''

_SIGNIFICANCE_HEAD = '''
def tcav_significance(concept_sets, random_sets, gradients, *, train_cav, alpha=0.05):
    gradients = np.asarray(gradients)
    n_runs = len(random_sets)
    concept_scores, random_scores = np.empty(n_runs), np.empty(n_runs)
'''

WRONG = [
    Wrong("total_variation", "tv-squared", '''
def total_variation(images):
    down = ((images[:, :, 1:, :] - images[:, :, :-1, :]) ** 2).sum(dim=(1, 2, 3))
    across = ((images[:, :, :, 1:] - images[:, :, :, :-1]) ** 2).sum(dim=(1, 2, 3))
    return down + across
''', "closed form on a checkerboard and a ramp"),
    Wrong("total_variation", "tv-detached-numpy", '''
def total_variation(images):
    x = images.detach().numpy()
    return torch.tensor(np.abs(np.diff(x, axis=2)).sum(axis=(1, 2, 3)) + np.abs(np.diff(x, axis=3)).sum(axis=(1, 2, 3)))
''', "without a gradient"),
    Wrong("fourier", "fourier-no-scale", '''
class FourierParameterization:''' + _FOURIER_INIT + '''
    def to_image(self, spectrum):
        return torch.fft.irfft2(torch.view_as_complex(spectrum), s=(self.height, self.width), norm="ortho")

    def from_image(self, image):
        return torch.view_as_real(torch.fft.rfft2(image, norm="ortho"))
''', "same amplitude to a low and a high frequency"),
    Wrong("fourier", "fourier-default-norm", '''
class FourierParameterization:''' + _FOURIER_INIT + '''
    def to_image(self, spectrum):
        return torch.fft.irfft2(torch.view_as_complex(spectrum) * self.scale, s=(self.height, self.width))

    def from_image(self, image):
        return torch.view_as_real(torch.fft.rfft2(image) / self.scale)
'''),
    Wrong("maximize", "maximize-descends", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
''', "lowers the channel's activation"),
    Wrong("maximize", "maximize-no-jitter", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, x)
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
''', "ignores the jitter"),
    Wrong("maximize", "maximize-tv-rewarded", _MAXIMIZE_HEAD + '''
        _, activations = forward_with_activations(model, layer, torch.roll(x, shifts=(dy, dx), dims=(2, 3)))
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].mean() + tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
''', "not smoother"),
    Wrong("maximize", "maximize-sum-not-mean", _MAXIMIZE_HEAD + '''
        shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        _, activations = forward_with_activations(model, layer, shifted)
        tv = (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().sum() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().sum()
        objective = activations[:, channel].sum() - tv_weight * tv / x.numel()
        z.grad = torch.autograd.grad(-objective, z)[0]
        optimizer.step()
    return torch.sigmoid(param.to_image(z)).detach()
'''),
    Wrong("top_k", "topk-ascending", '''
def top_k_examples(model, layer, images, channel, k, *, reduce="max", batch_size=64):
    scores = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            _, activations = forward_with_activations(model, layer, images[start:start + batch_size])
            maps = activations[:, channel].reshape(len(activations), -1)
            scores.append(maps.max(dim=1).values if reduce == "max" else maps.mean(dim=1))
    scores = torch.cat(scores).numpy()
    order = np.argsort(scores, kind="stable")[:k]
    return order, scores[order]
''', "lowest scores first"),
    Wrong("top_k", "topk-unstable-ties", '''
def top_k_examples(model, layer, images, channel, k, *, reduce="max", batch_size=64):
    scores = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            _, activations = forward_with_activations(model, layer, images[start:start + batch_size])
            maps = activations[:, channel].reshape(len(activations), -1)
            scores.append(maps.max(dim=1).values if reduce == "max" else maps.mean(dim=1))
    scores = torch.cat(scores).numpy()
    order = np.argsort(scores, kind="stable")[::-1][:k]
    return order.copy(), scores[order]
''', "ties by the lower index"),
    Wrong("dissection", "dissect-threshold-after-upsampling", '''
def dissection_iou(activations, masks, *, top=0.005):
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    upsampled = F.interpolate(torch.from_numpy(activations), size=masks.shape[-2:], mode="bilinear",
                              align_corners=False).numpy()
    units = activations.shape[1]
    thresholds = np.quantile(upsampled.transpose(1, 0, 2, 3).reshape(units, -1), 1 - top, axis=1)
    on = (upsampled > thresholds[None, :, None, None]).astype(float)
''' + _DISSECTION_TAIL, "a reference dissection"),
    Wrong("dissection", "dissect-mean-of-per-image-iou", '''
def dissection_iou(activations, masks, *, top=0.005):
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    n, units = activations.shape[:2]
    thresholds = np.quantile(activations.transpose(1, 0, 2, 3).reshape(units, -1), 1 - top, axis=1)
    upsampled = F.interpolate(torch.from_numpy(activations), size=masks.shape[-2:], mode="bilinear",
                              align_corners=False).numpy()
    on = upsampled > thresholds[None, :, None, None]
    intersection = np.einsum("nuhw,nkhw->nuk", on.astype(float), masks.astype(float))
    union = on.sum(axis=(2, 3))[:, :, None] + masks.sum(axis=(2, 3))[:, None, :] - intersection
    per_image = np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)
    return per_image.mean(axis=0)
'''),
    Wrong("dissection", "dissect-no-upsampling", '''
def dissection_iou(activations, masks, *, top=0.005):
    activations = np.asarray(activations, dtype=float)
    masks = np.asarray(masks, dtype=bool)
    n, units = activations.shape[:2]
    thresholds = np.quantile(activations.transpose(1, 0, 2, 3).reshape(units, -1), 1 - top, axis=1)
    repeat = (masks.shape[-2] // activations.shape[-2], masks.shape[-1] // activations.shape[-1])
    upsampled = np.kron(activations, np.ones(repeat))
    upsampled = np.pad(upsampled, [(0, 0), (0, 0), (0, masks.shape[-2] - upsampled.shape[-2]),
                                   (0, masks.shape[-1] - upsampled.shape[-1])], mode="edge")
    on = (upsampled > thresholds[None, :, None, None]).astype(float)
''' + _DISSECTION_TAIL, "a reference dissection"),
    Wrong("train_cav", "cav-labels-swapped", '''
def train_cav(concept_activations, random_activations, *, random_state=0):
    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    random = np.asarray(random_activations).reshape(len(random_activations), -1)
    X = np.concatenate([concept, random])
    y = np.concatenate([np.zeros(len(concept)), np.ones(len(random))])
    classifier = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state).fit(X, y)
    return classifier.coef_[0] / np.linalg.norm(classifier.coef_[0])
''', "points away from the concept"),
    Wrong("train_cav", "cav-random-rows-first", '''
def train_cav(concept_activations, random_activations, *, random_state=0):
    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    random = np.asarray(random_activations).reshape(len(random_activations), -1)
    X = np.concatenate([random, concept])
    y = np.concatenate([np.zeros(len(random)), np.ones(len(concept))])
    classifier = SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state).fit(X, y)
    return classifier.coef_[0] / np.linalg.norm(classifier.coef_[0])
'''),
    Wrong("train_cav", "cav-not-normalized", '''
def train_cav(concept_activations, random_activations, *, random_state=0):
    concept = np.asarray(concept_activations).reshape(len(concept_activations), -1)
    random = np.asarray(random_activations).reshape(len(random_activations), -1)
    X = np.concatenate([concept, random])
    y = np.concatenate([np.ones(len(concept)), np.zeros(len(random))])
    return SGDClassifier(alpha=0.01, max_iter=1000, tol=1e-3, random_state=random_state).fit(X, y).coef_[0]
''', "divide by its norm"),
    Wrong("tcav_score", "tcav-activations-not-gradients", '''
def tcav_score(model, layer, inputs, target, cav):
    with torch.no_grad():
        _, activations = forward_with_activations(model, layer, inputs)
    derivatives = activations.reshape(len(inputs), -1).double().numpy() @ np.asarray(cav, dtype=float)
    return float(np.mean(derivatives > 0)), derivatives
''', "dots the activations with the CAV"),
    Wrong("tcav_score", "tcav-nonnegative-counts", '''
def tcav_score(model, layer, inputs, target, cav):
    outputs, activations = forward_with_activations(model, layer, inputs.detach().clone())
    gradients = torch.autograd.grad(outputs[:, target].sum(), activations)[0].reshape(len(inputs), -1)
    derivatives = (gradients @ torch.as_tensor(cav, dtype=gradients.dtype)).detach().numpy()
    return float(np.mean(derivatives >= 0)), derivatives
''', "only strictly positive"),
    Wrong("tcav_score", "tcav-probability-output", '''
def tcav_score(model, layer, inputs, target, cav):
    outputs, activations = forward_with_activations(model, layer, inputs.detach().clone())
    probabilities = torch.softmax(outputs, dim=1)
    gradients = torch.autograd.grad(probabilities[:, target].sum(), activations)[0].reshape(len(inputs), -1)
    derivatives = (gradients @ torch.as_tensor(cav, dtype=gradients.dtype)).detach().numpy()
    return float(np.mean(derivatives > 0)), derivatives
'''),
    Wrong("significance", "signif-welch", _SIGNIFICANCE_HEAD + '''
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(concept_sets[i], random_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[(i + 1) % n_runs]) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_ind(concept_scores, random_scores, equal_var=False).pvalue)
    p_value = 1.0 if np.isnan(p_value) else p_value
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": p_value < alpha}
'''),
    Wrong("significance", "signif-one-sample-half", _SIGNIFICANCE_HEAD + '''
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(concept_sets[i], random_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[(i + 1) % n_runs]) > 0)
    from scipy.stats import ttest_1samp
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_1samp(concept_scores, 0.5).pvalue)
    p_value = 1.0 if np.isnan(p_value) else p_value
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": p_value < alpha}
'''),
    Wrong("significance", "signif-nan-is-significant", _SIGNIFICANCE_HEAD + '''
    for i in range(n_runs):
        concept_scores[i] = np.mean(gradients @ train_cav(concept_sets[i], random_sets[i]) > 0)
        random_scores[i] = np.mean(gradients @ train_cav(random_sets[i], random_sets[(i + 1) % n_runs]) > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_value = float(ttest_ind(concept_scores, random_scores).pvalue)
    return {"concept_scores": concept_scores, "random_scores": random_scores, "p_value": p_value,
            "significant": not p_value >= alpha}
'''),
    Wrong("nmf", "nmf-no-transpose", '''
def neuron_groups(activations, n_groups, *, random_state=0):
    activations = np.asarray(activations)
    n, channels, height, width = activations.shape
    rows = activations.reshape(-1, channels)
    nmf = NMF(n_components=n_groups, init="nndsvda", max_iter=500, random_state=random_state)
    weights = nmf.fit_transform(rows)
    return weights.reshape(n, n_groups, height, width), nmf.components_
''', "put the channels last"),
    Wrong("nmf", "nmf-random-init", '''
def neuron_groups(activations, n_groups, *, random_state=0):
    activations = np.asarray(activations)
    n, channels, height, width = activations.shape
    rows = activations.transpose(0, 2, 3, 1).reshape(-1, channels)
    nmf = NMF(n_components=n_groups, init="random", max_iter=500, random_state=random_state)
    weights = nmf.fit_transform(rows)
    return weights.reshape(n, height, width, n_groups).transpose(0, 3, 1, 2), nmf.components_
'''),
]
