"""Plausible mistakes in lab 5, one or more per graded class or function."""

from . import Wrong

_INIT = '''
    def __init__(self, model):
        self.model = model
'''
_INIT_LAYER = '''
    def __init__(self, model, layer):
        self.model = model
        self.layer = layer
'''

WRONG = [
    Wrong("vanilla_gradient", "vg-all-logits", '''
class VanillaGradient:''' + _INIT + '''
    def attribute(self, inputs, target, *, abs=True):
        x = inputs.detach().clone().requires_grad_(True)
        grads = torch.autograd.grad(self.model(x).sum(), x)[0]
        return grads.abs() if abs else grads
''', "take the gradient of each image's target score"),
    Wrong("vanilla_gradient", "vg-ignores-abs", '''
class VanillaGradient:''' + _INIT + '''
    def attribute(self, inputs, target, *, abs=True):
        x = inputs.detach().clone().requires_grad_(True)
        scores = self.model(x)[torch.arange(len(x)), target]
        return torch.autograd.grad(scores.sum(), x)[0].abs()
'''),
    Wrong("gradient_x_input", "gxi-absolute-gradient", '''
class GradientXInput:''' + _INIT + '''
    def attribute(self, inputs, target):
        x = inputs.detach().clone().requires_grad_(True)
        scores = self.model(x)[torch.arange(len(x)), target]
        return torch.autograd.grad(scores.sum(), x)[0].abs() * inputs.detach()
''', "multiply the signed gradient by the input"),
    Wrong("smooth_grad", "sg-signed-average", '''
class SmoothGrad:''' + _INIT + '''
    def attribute(self, inputs, target, *, noise):
        total = torch.zeros_like(inputs)
        for epsilon in noise:
            x = (inputs.detach() + epsilon).requires_grad_(True)
            scores = self.model(x)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), x)[0]
        return (total / len(noise)).abs()
'''),
    Wrong("smooth_grad", "sg-sum-not-mean", '''
class SmoothGrad:''' + _INIT + '''
    def attribute(self, inputs, target, *, noise):
        total = torch.zeros_like(inputs)
        for epsilon in noise:
            x = (inputs.detach() + epsilon).requires_grad_(True)
            scores = self.model(x)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), x)[0].abs()
        return total
''', "average (do not sum)"),
    Wrong("integrated_gradients", "ig-no-difference-factor", '''
class IntegratedGradients:''' + _INIT + '''
    def attribute(self, inputs, target, *, baselines=None, n_steps=50):
        x = inputs.detach()
        base = torch.zeros_like(x) if baselines is None else baselines
        total = torch.zeros_like(x)
        for k in range(n_steps):
            point = (base + (k + 0.5) / n_steps * (x - base)).requires_grad_(True)
            scores = self.model(point)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return total / n_steps
''', "weight × input"),
    Wrong("integrated_gradients", "ig-right-riemann-rule", '''
class IntegratedGradients:''' + _INIT + '''
    def attribute(self, inputs, target, *, baselines=None, n_steps=50):
        x = inputs.detach()
        base = torch.zeros_like(x) if baselines is None else baselines
        total = torch.zeros_like(x)
        for k in range(1, n_steps + 1):
            point = (base + k / n_steps * (x - base)).requires_grad_(True)
            scores = self.model(point)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return (x - base) * total / n_steps
''', "midpoint rule"),
    Wrong("occlusion", "occ-sum-over-windows", '''
class Occlusion:''' + _INIT + '''
    @torch.no_grad()
    def attribute(self, inputs, target, *, window=(4, 4), stride=2, baseline=0.0):
        x = inputs.detach()
        n, _, height, width = x.shape
        h, w = window
        reference = self.model(x)[torch.arange(n), target]
        total = torch.zeros(n, 1, height, width)
        for top in range(0, height - h + 1, stride):
            for left in range(0, width - w + 1, stride):
                occluded = x.clone()
                occluded[:, :, top:top + h, left:left + w] = baseline
                drop = reference - self.model(occluded)[torch.arange(n), target]
                total[:, :, top:top + h, left:left + w] += drop.view(n, 1, 1, 1)
        return total.expand_as(x).clone()
''', "captum's Occlusion"),
    Wrong("occlusion", "occ-one-channel-at-a-time", '''
class Occlusion:''' + _INIT + '''
    @torch.no_grad()
    def attribute(self, inputs, target, *, window=(4, 4), stride=2, baseline=0.0):
        x = inputs.detach()
        n, channels, height, width = x.shape
        h, w = window
        reference = self.model(x)[torch.arange(n), target]
        total = torch.zeros_like(x)
        count = torch.zeros(1, 1, height, width)
        for c in range(channels):
            for top in range(0, height - h + 1, stride):
                for left in range(0, width - w + 1, stride):
                    occluded = x.clone()
                    occluded[:, c, top:top + h, left:left + w] = baseline
                    drop = reference - self.model(occluded)[torch.arange(n), target]
                    total[:, c, top:top + h, left:left + w] += drop.view(n, 1, 1)
                    if c == 0:
                        count[:, :, top:top + h, left:left + w] += 1
        return total / count.clamp(min=1)
'''),
    Wrong("grad_cam", "gradcam-no-relu", '''
class GradCAM:''' + _INIT_LAYER + '''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        grads = torch.autograd.grad(scores.sum(), A)[0]
        cam = (grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True)
        return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False).detach()
''', "apply a ReLU"),
    Wrong("grad_cam", "gradcam-weights-not-averaged", '''
class GradCAM:''' + _INIT_LAYER + '''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        grads = torch.autograd.grad(scores.sum(), A)[0]
        cam = torch.relu((grads * A).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False).detach()
''', "LayerGradCam"),
    Wrong("grad_cam", "gradcam-nearest-upsampling", '''
class GradCAM:''' + _INIT_LAYER + '''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        grads = torch.autograd.grad(scores.sum(), A)[0]
        cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=inputs.shape[-2:], mode="nearest").detach()
''', "bilinear"),
    Wrong("grad_cam_pp", "gradcampp-signed-gradient", '''
class GradCAMPlusPlus:''' + _INIT_LAYER + '''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        g = torch.autograd.grad(scores.sum(), A)[0]
        A = A.detach()
        a = g**2 / (2 * g**2 + A.sum(dim=(2, 3), keepdim=True) * g**3 + 1e-6)
        weights = (a * g).sum(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * A).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)
'''),
    Wrong("grad_cam_pp", "gradcampp-is-gradcam", '''
class GradCAMPlusPlus:''' + _INIT_LAYER + '''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        g = torch.autograd.grad(scores.sum(), A)[0]
        cam = torch.relu((g.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False).detach()
''', "returns Grad-CAM"),
    Wrong("fgsm", "fgsm-descends-the-loss", '''
class FGSM:''' + _INIT + '''
    def perturb(self, inputs, target, *, epsilon):
        x = inputs.detach().clone().requires_grad_(True)
        grad = torch.autograd.grad(F.cross_entropy(self.model(x), target), x)[0]
        return (inputs.detach() - epsilon * grad.sign()).clamp(0, 1)
''', "lowers the loss"),
    Wrong("fgsm", "fgsm-no-clamp", '''
class FGSM:''' + _INIT + '''
    def perturb(self, inputs, target, *, epsilon):
        x = inputs.detach().clone().requires_grad_(True)
        grad = torch.autograd.grad(F.cross_entropy(self.model(x), target), x)[0]
        return inputs.detach() + epsilon * grad.sign()
''', "outside [0, 1]"),
    Wrong("fgsm", "fgsm-scaled-gradient", '''
class FGSM:''' + _INIT + '''
    def perturb(self, inputs, target, *, epsilon):
        x = inputs.detach().clone().requires_grad_(True)
        grad = torch.autograd.grad(F.cross_entropy(self.model(x), target), x)[0]
        return (inputs.detach() + epsilon * grad / grad.abs().max()).clamp(0, 1)
'''),
    Wrong("randomization", "mprt-independent-not-cascading", '''
def model_randomization_test(model, explain, inputs, target, *, layers, seed=0):
    original = np.asarray(explain(model, inputs, target), dtype=float)
    torch.manual_seed(seed)
    result = np.empty((len(layers), len(inputs)))
    for row, name in enumerate(layers):
        randomized = copy.deepcopy(model)
        dict(randomized.named_modules())[name].reset_parameters()
        maps = np.asarray(explain(randomized, inputs, target), dtype=float)
        for i in range(len(inputs)):
            result[row, i] = spearmanr(original[i].ravel(), maps[i].ravel()).statistic
    return result
''', "the randomization is cascading"),
    Wrong("randomization", "mprt-randomizes-the-model-itself", '''
def model_randomization_test(model, explain, inputs, target, *, layers, seed=0):
    original = np.asarray(explain(model, inputs, target), dtype=float)
    modules = dict(model.named_modules())
    torch.manual_seed(seed)
    result = np.empty((len(layers), len(inputs)))
    for row, name in enumerate(layers):
        modules[name].reset_parameters()
        maps = np.asarray(explain(model, inputs, target), dtype=float)
        for i in range(len(inputs)):
            result[row, i] = spearmanr(original[i].ravel(), maps[i].ravel()).statistic
    return result
''', "changed the weights"),
    Wrong("randomization", "mprt-pearson", '''
def model_randomization_test(model, explain, inputs, target, *, layers, seed=0):
    original = np.asarray(explain(model, inputs, target), dtype=float)
    randomized = copy.deepcopy(model)
    modules = dict(randomized.named_modules())
    torch.manual_seed(seed)
    result = np.empty((len(layers), len(inputs)))
    for row, name in enumerate(layers):
        modules[name].reset_parameters()
        maps = np.asarray(explain(randomized, inputs, target), dtype=float)
        for i in range(len(inputs)):
            result[row, i] = np.corrcoef(original[i].ravel(), maps[i].ravel())[0, 1]
    return result
'''),
    Wrong("deletion", "deletion-least-salient-first", '''
def deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0):
    n, channels, height, width = images.shape
    n_steps = -(-height * width // pixels_per_step)
    curves = np.empty((n, n_steps + 1))
    with torch.no_grad():
        for i in range(n):
            order = torch.from_numpy(np.argsort(np.asarray(saliency[i]).ravel()).copy())
            batch = images[i].reshape(1, channels, -1).repeat(n_steps + 1, 1, 1)
            for k in range(1, n_steps + 1):
                batch[k, :, order[:k * pixels_per_step]] = baseline
            probs = torch.softmax(model(batch.reshape(n_steps + 1, channels, height, width)), dim=1)
            curves[i] = probs[:, int(target[i])].numpy()
    return curves
''', "least salient pixels first"),
    Wrong("deletion", "deletion-logits", '''
def deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0):
    n, channels, height, width = images.shape
    n_steps = -(-height * width // pixels_per_step)
    curves = np.empty((n, n_steps + 1))
    with torch.no_grad():
        for i in range(n):
            order = torch.from_numpy(np.argsort(-np.asarray(saliency[i]).ravel()).copy())
            batch = images[i].reshape(1, channels, -1).repeat(n_steps + 1, 1, 1)
            for k in range(1, n_steps + 1):
                batch[k, :, order[:k * pixels_per_step]] = baseline
            logits = model(batch.reshape(n_steps + 1, channels, height, width))
            curves[i] = logits[:, int(target[i])].numpy()
    return curves
'''),
    Wrong("pointing", "pointing-ignores-tolerance", '''
def pointing_game(saliency, masks, *, tolerance=0):
    hits = []
    for s, m in zip(saliency, masks):
        row, col = np.unravel_index(np.argmax(s), s.shape)
        hits.append(float(m[row, col]))
    return np.array(hits)
''', "tolerance=1"),
    Wrong("pointing", "pointing-square-neighbourhood", '''
def pointing_game(saliency, masks, *, tolerance=0):
    hits = []
    t = int(tolerance)
    for s, m in zip(saliency, masks):
        row, col = np.unravel_index(np.argmax(s), s.shape)
        window = m[max(row - t, 0):row + t + 1, max(col - t, 0):col + t + 1]
        hits.append(float(window.any()))
    return np.array(hits)
''', "nearest mask pixel"),
    Wrong("relevance", "relevance-counts-negatives", '''
def relevance_mass(saliency, masks):
    saliency = np.asarray(saliency, dtype=float)
    return (saliency * masks).sum(axis=(1, 2)) / saliency.sum(axis=(1, 2))
''', "clip at 0"),
    # --- blind spots closed in issue 8: each of these got full marks from the earlier hidden tests ---
    Wrong("vanilla_gradient", "vg-clone-keeps-graph", """
class VanillaGradient:""" + _INIT + """
    def attribute(self, inputs, target, *, abs=True):
        x = inputs.clone().requires_grad_(True)
        scores = self.model(x)[torch.arange(len(x)), target]
        scores.sum().backward()
        return x.grad.abs() if abs else x.grad
""", "on images that require grad"),
    Wrong("gradient_x_input", "gxi-accumulates-input-grad", """
class GradientXInput:""" + _INIT + """
    def attribute(self, inputs, target):
        inputs.requires_grad_(True)
        scores = self.model(inputs)[torch.arange(len(inputs)), target]
        scores.sum().backward()
        return (inputs.grad * inputs).detach()
""", "gives another result when called twice"),
    Wrong("smooth_grad", "sg-gather-needs-a-tensor-target", """
class SmoothGrad:""" + _INIT + """
    def attribute(self, inputs, target, *, noise):
        total = torch.zeros_like(inputs)
        for epsilon in noise:
            x = (inputs.detach() + epsilon).requires_grad_(True)
            scores = self.model(x).gather(1, target.view(-1, 1))
            total += torch.autograd.grad(scores.sum(), x)[0].abs()
        return total / len(noise)
""", "target=1"),
    Wrong("integrated_gradients", "ig-switches-to-train-mode", """
class IntegratedGradients:""" + _INIT + """
    def attribute(self, inputs, target, *, baselines=None, n_steps=50):
        self.model.train()  # "gradients need training mode"
        x = inputs.detach()
        base = torch.zeros_like(x) if baselines is None else baselines
        total = torch.zeros_like(x)
        for k in range(n_steps):
            point = (base + (k + 0.5) / n_steps * (x - base)).requires_grad_(True)
            scores = self.model(point)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), point)[0]
        return (x - base) * total / n_steps
""", "switched the model to training mode"),
    Wrong("occlusion", "occ-width-height-swapped", """
class Occlusion:""" + _INIT + """
    @torch.no_grad()
    def attribute(self, inputs, target, *, window=(4, 4), stride=2, baseline=0.0):
        x = inputs.detach()
        n, _, width, height = x.shape  # x/y taken for rows/columns
        h, w = window
        reference = self.model(x)[torch.arange(n), target]
        total = torch.zeros_like(x[:, :1])
        count = torch.zeros_like(x[:1, :1])
        for top in range(0, height - h + 1, stride):
            for left in range(0, width - w + 1, stride):
                occluded = x.clone()
                occluded[:, :, top:top + h, left:left + w] = baseline
                drop = reference - self.model(occluded)[torch.arange(n), target]
                total[:, :, top:top + h, left:left + w] += drop.view(n, 1, 1, 1)
                count[:, :, top:top + h, left:left + w] += 1
        return (total / count.clamp(min=1)).expand_as(x).clone()
""", "captum's Occlusion"),
    Wrong("grad_cam", "gradcam-width-height-swapped", """
class GradCAM:""" + _INIT_LAYER + """
    def attribute(self, inputs, target):
        n, c, w, h = inputs.shape
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(n), target]
        grads = torch.autograd.grad(scores.sum(), A)[0]
        cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=(h, w), mode="bilinear", align_corners=False).detach()
""", "upsampled to the input's height and width"),
    Wrong("grad_cam_pp", "gradcampp-squeezed-weights", """
class GradCAMPlusPlus:""" + _INIT_LAYER + """
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        scores = logits[torch.arange(len(inputs)), target]
        g = torch.autograd.grad(scores.sum(), A)[0]
        A = A.detach()
        a = g**2 / (2 * g**2 + A.sum(dim=(2, 3), keepdim=True) * g**3 + 1e-6)
        a = torch.where(g != 0, a, torch.zeros_like(a))
        weights = (a * torch.relu(g)).sum(dim=(2, 3)).squeeze()
        cam = torch.relu(torch.einsum("nk,nkhw->nhw", weights, A))[:, None]
        return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)
""", "(one image)"),
    Wrong("randomization", "mprt-absolute-maps", """
def model_randomization_test(model, explain, inputs, target, *, layers, seed=0):
    original = np.abs(np.asarray(explain(model, inputs, target), dtype=float))
    randomized = copy.deepcopy(model)
    modules = dict(randomized.named_modules())
    torch.manual_seed(seed)
    result = np.empty((len(layers), len(inputs)))
    for row, name in enumerate(layers):
        modules[name].reset_parameters()
        maps = np.abs(np.asarray(explain(randomized, inputs, target), dtype=float))
        for i in range(len(inputs)):
            result[row, i] = spearmanr(original[i].ravel(), maps[i].ravel()).statistic
    return result
""", "compare the signed maps"),
    Wrong("deletion", "deletion-width-height-swapped", """
def deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0):
    images = images.detach()
    n, channels, width, height = images.shape  # x/y taken for rows/columns
    n_steps = -(-height * width // pixels_per_step)
    curves = np.empty((n, n_steps + 1))
    with torch.no_grad():
        for i in range(n):
            order = torch.from_numpy(np.argsort(-np.asarray(saliency[i]).ravel(), kind="stable").copy())
            batch = images[i].reshape(1, channels, -1).repeat(n_steps + 1, 1, 1)
            for k in range(1, n_steps + 1):
                batch[k, :, order[:k * pixels_per_step]] = baseline
            probs = torch.softmax(model(batch.reshape(n_steps + 1, channels, height, width)), dim=1)
            curves[i] = probs[:, int(target[i])].numpy()
    return curves
""", "differs from the probabilities"),
    Wrong("pointing", "pointing-width-height-swapped", """
def pointing_game(saliency, masks, *, tolerance=0):
    hits = []
    for s, m in zip(np.asarray(saliency), np.asarray(masks, dtype=bool)):
        width, height = s.shape  # x/y taken for rows/columns
        row, col = divmod(int(np.argmax(s)), width)
        hits.append(float(distance_transform_edt(~m)[row, col] <= tolerance))
    return np.array(hits)
"""),
]
