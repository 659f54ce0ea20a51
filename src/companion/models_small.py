"""Small networks whose Hessian is computed whole (Sagun et al. 2017): a fully connected
net, logistic regression and a two-layer convnet on pooled MNIST.

Their options (``RunConfig.model_options``, defaults in :data:`MODEL_OPTIONS`) are part of
the run's identity. Inputs are flattened; ``in_features`` (vectors, e.g. Gaussian blobs)
or ``in_channels × image_size²`` (images) fixes the input size.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
MODEL_OPTIONS = {  # model → option → default
    # the authors' blob net: 100-30-30-k, ReLU, every weight and bias N(0, 0.1²)
    "mlp": {"hidden": (30, 30), "activation": "relu", "init_std": 0.1},
    # the paper's single sigmoid neuron, no bias, w₀ = 0.01·1 (the authors' code)
    "logistic": {"init_value": 0.01},
    "pooledcnn": {},
}


def _inputs(in_features, in_channels: int, image_size: int) -> int:
    return int(in_features) if in_features else in_channels * image_size * image_size


class MLP(nn.Module):
    """Fully connected: inputs → ``hidden`` widths (``activation``) → ``num_classes`` logits.
    ``init_std`` > 0 draws every weight and bias from N(0, init_std²) (the authors' blob
    code); 0 keeps PyTorch's default initialization."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 1,
                 image_size: int = 28, in_features: int = 0, hidden=(30, 30),
                 activation: str = "relu", init_std: float = 0.1):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [_inputs(in_features, in_channels, image_size), *[int(h) for h in hidden],
                 num_classes]
        layers = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        if init_std > 0:
            with torch.no_grad():
                for p in self.parameters():
                    p.normal_(0.0, init_std)

    def forward(self, x):
        return self.net(x.flatten(1))


class LogisticRegression(nn.Module):
    """One sigmoid neuron without bias, ``w₀ = init_value·1``. It returns the logits
    ``[0, wᵀx]``: their softmax is ``[1 − σ(wᵀx), σ(wᵀx)]``, so the companion's cross-entropy
    is exactly the log-loss of the sigmoid and accuracy is argmax as usual."""

    def __init__(self, num_classes: int = 2, width: float = 1.0, in_channels: int = 1,
                 image_size: int = 28, in_features: int = 0, init_value: float = 0.01):
        super().__init__()
        self.linear = nn.Linear(_inputs(in_features, in_channels, image_size), 1, bias=False)
        with torch.no_grad():
            self.linear.weight.fill_(init_value)

    def forward(self, x):
        z = self.linear(x.flatten(1))
        return torch.cat([torch.zeros_like(z), z], dim=1)


class PooledCNN(nn.Module):
    """Sagun et al.'s Fig. 4 "2 convolution layers with relu-maxpool followed by two
    fully-connected layers", small enough for a dense Hessian: 3×3 convolutions 1→4 and
    4→8 channels (padding 1, ReLU, 2×2 max-pool each), dense 8·(s/4)² → 16 → classes.
    On 14×14 inputs: 1,674 parameters."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 1,
                 image_size: int = 14):
        super().__init__()
        side = image_size // 4
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(8 * side * side, 16), nn.ReLU(),
                                        nn.Linear(16, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
