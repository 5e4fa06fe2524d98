"""Slips in lab05_pixel_attribution the visible checks catch (not graded in the round trip)."""

from wrong_answers import Wrong
from wrong_answers.lab05_pixel_attribution import _INIT, _INIT_LAYER
EXTRA = [
 Wrong("vanilla_gradient","vg-train-mode",'''
class VanillaGradient:'''+_INIT+'''
    def attribute(self, inputs, target, *, abs=True):
        self.model.train()
        x = inputs.detach().clone().requires_grad_(True)
        scores = self.model(x)[torch.arange(len(x)), target]
        g = torch.autograd.grad(scores.sum(), x)[0]
        return g.abs() if abs else g
'''),
 Wrong("vanilla_gradient","vg-accumulates",'''
class VanillaGradient:'''+_INIT+'''
    def attribute(self, inputs, target, *, abs=True):
        if not hasattr(self, "x"):
            self.x = inputs.detach().clone().requires_grad_(True)
        self.x.data = inputs.detach().clone()
        scores = self.model(self.x)[torch.arange(len(inputs)), target]
        scores.sum().backward()
        g = self.x.grad.detach().clone()
        return g.abs() if abs else g
'''),
 Wrong("occlusion","occ-swapped-hw",'''
class Occlusion:'''+_INIT+'''
    @torch.no_grad()
    def attribute(self, inputs, target, *, window=(4, 4), stride=2, baseline=0.0):
        x = inputs.detach()
        n, _, height, width = x.shape
        h, w = window
        rows = torch.arange(n)
        reference = self.model(x)[rows, target]
        total = torch.zeros(n, 1, height, width); count = torch.zeros(1, 1, height, width)
        for top in range(0, height - w + 1, stride):
            for left in range(0, width - h + 1, stride):
                occluded = x.clone()
                occluded[:, :, top:top + w, left:left + h] = baseline
                drop = reference - self.model(occluded)[rows, target]
                total[:, :, top:top + w, left:left + h] += drop.view(n, 1, 1, 1)
                count[:, :, top:top + w, left:left + h] += 1
        return (total / count.clamp(min=1)).expand_as(x).clone()
'''),
 Wrong("occlusion","occ-stride-window",'''
class Occlusion:'''+_INIT+'''
    @torch.no_grad()
    def attribute(self, inputs, target, *, window=(4, 4), stride=2, baseline=0.0):
        x = inputs.detach()
        n, _, height, width = x.shape
        h, w = window
        rows = torch.arange(n)
        reference = self.model(x)[rows, target]
        total = torch.zeros(n, 1, height, width); count = torch.zeros(1, 1, height, width)
        for top in range(0, height - h + 1, h):
            for left in range(0, width - w + 1, w):
                occluded = x.clone()
                occluded[:, :, top:top + h, left:left + w] = baseline
                drop = reference - self.model(occluded)[rows, target]
                total[:, :, top:top + h, left:left + w] += drop.view(n, 1, 1, 1)
                count[:, :, top:top + h, left:left + w] += 1
        return (total / count.clamp(min=1)).expand_as(x).clone()
'''),
 Wrong("grad_cam","gradcam-max-pooled",'''
class GradCAM:'''+_INIT_LAYER+'''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        grads = torch.autograd.grad(logits[torch.arange(len(inputs)), target].sum(), A)[0]
        cam = torch.relu((grads.amax(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))
        return F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False).detach()
'''),
 Wrong("grad_cam","gradcam-relu-after-upsampling",'''
class GradCAM:'''+_INIT_LAYER+'''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        grads = torch.autograd.grad(logits[torch.arange(len(inputs)), target].sum(), A)[0]
        cam = (grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True)
        return torch.relu(F.interpolate(cam, size=inputs.shape[-2:], mode="bilinear", align_corners=False)).detach()
'''),
 Wrong("grad_cam","gradcam-size-swapped",'''
class GradCAM:'''+_INIT_LAYER+'''
    def attribute(self, inputs, target):
        logits, A = forward_with_activations(self.model, self.layer, inputs)
        grads = torch.autograd.grad(logits[torch.arange(len(inputs)), target].sum(), A)[0]
        cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * A).sum(dim=1, keepdim=True))
        H, W = inputs.shape[-2:]
        return F.interpolate(cam, size=(W, H), mode="bilinear", align_corners=False).detach()
'''),
 Wrong("randomization","mprt-abs-maps",'''
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
'''),
 Wrong("smooth_grad","sg-train-mode",'''
class SmoothGrad:'''+_INIT+'''
    def attribute(self, inputs, target, *, noise):
        self.model.train()
        total = torch.zeros_like(inputs)
        for epsilon in noise:
            x = (inputs.detach() + epsilon).requires_grad_(True)
            scores = self.model(x)[torch.arange(len(x)), target]
            total += torch.autograd.grad(scores.sum(), x)[0].abs()
        self.model.eval()
        return total / len(noise)
'''),
 Wrong("deletion","deletion-swapped-reshape",'''
def deletion_curve(model, images, target, saliency, *, pixels_per_step=32, baseline=0.0):
    images = images.detach()
    n, channels, height, width = images.shape
    n_steps = -(-height * width // pixels_per_step)
    curves = np.empty((n, n_steps + 1))
    with torch.no_grad():
        for i in range(n):
            order = torch.from_numpy(np.argsort(-np.asarray(saliency[i]).T.ravel(), kind="stable").copy())
            batch = images[i].reshape(1, channels, -1).repeat(n_steps + 1, 1, 1)
            for k in range(1, n_steps + 1):
                batch[k, :, order[:k * pixels_per_step]] = baseline
            probs = torch.softmax(model(batch.reshape(n_steps + 1, channels, height, width)), dim=1)
            curves[i] = probs[:, int(target[i])].numpy()
    return curves
'''),
]
