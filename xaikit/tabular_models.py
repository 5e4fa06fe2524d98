"""Differentiable classifiers for tables, for the counterfactual searches of week 4.

- :class:`TabularMLP`: a small multilayer perceptron that standardizes its input itself,
  so it takes the features in their own units (°C, %, km/h) and a counterfactual found by
  gradient descent is already in those units; trained by :func:`fit_tabular_mlp`.
- :class:`LogisticNet`: a fitted logistic regression (for example scikit-learn's) as a
  PyTorch module, so that autograd can differentiate it like any network.

Both map a float tensor of shape ``(n, n_features)`` to the probabilities of class 1,
shape ``(n,)``. :func:`predict_positive` gives those probabilities for a NumPy array.
Nothing here searches for a counterfactual: that is the lab's work.

Defined in week 4.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

__all__ = ["LogisticNet", "TabularMLP", "fit_tabular_mlp", "predict_positive"]


class TabularMLP(nn.Module):
    """Binary classifier for numeric features: standardize, hidden ReLU layers, sigmoid.

    Parameters
    ----------
    n_features : int
        Number of input columns.
    hidden : sequence of int
        Width of each hidden layer.
    mean, scale : array of shape (n_features,), optional
        Standardization applied inside the model (``(x - mean) / scale``); identity if omitted.

    Examples
    --------
    >>> TabularMLP(3)(torch.zeros(4, 3)).shape
    torch.Size([4])
    """

    def __init__(self, n_features: int, hidden: Sequence[int] = (32, 16), mean=None, scale=None):
        super().__init__()
        mean = np.zeros(n_features) if mean is None else np.asarray(mean, dtype=float)
        scale = np.ones(n_features) if scale is None else np.asarray(scale, dtype=float)
        if mean.shape != (n_features,) or scale.shape != (n_features,) or np.any(scale <= 0):
            raise ValueError(f"mean and scale must have shape ({n_features},) and scale must be positive")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        layers: list[nn.Module] = []
        width = n_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        """Log-odds of class 1, shape (n,)."""
        return self.net((x - self.mean) / self.scale)[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Probability of class 1, shape (n,)."""
        return torch.sigmoid(self.logit(x))


class LogisticNet(nn.Module):
    """``sigmoid(x @ coef + intercept)`` as a PyTorch module.

    Parameters
    ----------
    coef : array of shape (n_features,)
    intercept : float

    Examples
    --------
    >>> net = LogisticNet([1.0, -2.0], 0.5)
    >>> round(float(net(torch.tensor([[0.0, 0.25]]))[0]), 3)
    0.5
    """

    def __init__(self, coef, intercept: float = 0.0):
        super().__init__()
        coef = np.asarray(coef, dtype=float).ravel()
        self.linear = nn.Linear(len(coef), 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor(coef, dtype=torch.float32)[None])
            self.linear.bias.fill_(float(intercept))
        self.eval()

    @classmethod
    def from_sklearn(cls, model) -> "LogisticNet":
        """The same model as a fitted binary ``sklearn.linear_model.LogisticRegression``."""
        coef = np.asarray(model.coef_, dtype=float)
        if coef.shape[0] != 1:
            raise ValueError(f"expected a binary classifier (one row of coefficients), got coef_ of shape {coef.shape}")
        return cls(coef[0], float(np.ravel(model.intercept_)[0]))

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        """Log-odds of class 1, shape (n,)."""
        return self.linear(x)[:, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Probability of class 1, shape (n,)."""
        return torch.sigmoid(self.logit(x))


def fit_tabular_mlp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    hidden: Sequence[int] = (32, 16),
    epochs: int = 400,
    lr: float = 0.01,
    weight_decay: float = 1e-4,
    random_state: int = 0,
    progress: bool = True,
) -> TabularMLP:
    """Train a :class:`TabularMLP` with full-batch Adam on the binary cross-entropy.

    The standardization (mean and standard deviation of each column of ``X``) is stored
    in the model. A few thousand rows train in about a second on one CPU thread.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) with labels 0 and 1
    hidden, epochs, lr, weight_decay : architecture and training settings
    random_state : int
        Seeds the initial weights.
    progress : bool
        Show a progress bar over the epochs.

    Returns
    -------
    TabularMLP
        In evaluation mode.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be 2-D and y 1-D with one entry per row; got X {X.shape}, y {y.shape}")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise ValueError("y must contain only the labels 0 and 1")
    scale = X.std(axis=0)
    torch.manual_seed(random_state)
    model = TabularMLP(X.shape[1], hidden, mean=X.mean(axis=0), scale=np.where(scale > 0, scale, 1.0))
    inputs = torch.tensor(X, dtype=torch.float32)
    labels = torch.tensor(y, dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()
    for _ in tqdm(range(epochs), desc="training", unit="epoch", disable=not progress):
        optimizer.zero_grad()
        loss = loss_fn(model.logit(inputs), labels)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def predict_positive(model: nn.Module, X) -> np.ndarray:
    """Probabilities of class 1 that ``model`` gives the rows of ``X`` (a 1-D ``X`` is one row).

    Examples
    --------
    >>> predict_positive(LogisticNet([1.0], 0.0), np.array([0.0]))
    array([0.5])
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[None]
    if X.ndim != 2:
        raise ValueError(f"X must be one row (1-D) or a table (2-D), got shape {X.shape}")
    return model(torch.tensor(X, dtype=torch.float32)).double().numpy()
