"""Models of Jastrzebski et al. 2019 (§2): SimpleCNN, ResNet-32 and the PTB LSTM.

* ``SimpleCNN``: Appendix D of the paper -- four 3x3 'same' convolutions
  (32, 32, max-pool 2, 64, 64, max-pool 2), ReLU after each, dense 128 + ReLU,
  dense 10.  591,274 parameters at ``width=1``.  Glorot-uniform weights and zero
  biases, the Keras defaults of the authors' code (PyTorch's default init is ~1.7x
  smaller per layer and trains markedly slower at small learning rates).
* ``ResNet32``: the CIFAR ResNet of He et al. 2016 in the authors' form: 3 stages x
  5 full pre-activation blocks, 16/32/64 channels, 1x1 projection shortcuts when
  downsampling, global average pool.  The paper omits batch normalization
  (footnote 2, citing Bjorck et al. 2018) and scales the initialization by depth
  (Taki 2017): every conv is He-normal with variance x 1/15 (the number of
  residual blocks), biases zero.  ``batch_norm=True`` puts BN before each ReLU
  (pre-activation), for Appendix A.1.
* ``VGG11``: configuration "A" of Simonyan & Zisserman 2014 for 32x32 inputs (8 3x3
  convolutions 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M, then dense 10), with
  batch normalization after each convolution (``batch_norm=True``, the default; the
  companion's VGG-11 of Appendix A and of the barriers chapter). 9.2 M parameters at
  ``width=1``; He-normal convolutions.
* ``LSTMLanguageModel``: Zaremba et al. 2014 "small" PTB model (2 layers of
  200 units, weights uniform in [-0.1, 0.1]) with dropout 0.1 as in the paper.
  The paper calls it bidirectional; a bidirectional next-word model would see
  its targets, so this one is unidirectional.

Every model maps ``inputs -> logits``; ``loss_fn_for`` gives the matching mean
cross-entropy.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F


def _w(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------- SimpleCNN
class SimpleCNN(nn.Module):
    """Appendix D SimpleCNN (logits out; softmax lives in the loss)."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3,
                 image_size: int = 32):
        super().__init__()
        c1, c2, d = _w(32, width), _w(64, width), _w(128, width)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        side = image_size // 4
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * side * side, d), nn.ReLU(), nn.Linear(d, num_classes))
        for module in self.modules():  # Keras defaults, as in the authors' code
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# ----------------------------------------------------------------- ResNet-32
class PreActBlock(nn.Module):
    """Full pre-activation residual block (He et al. 2016b), as in the authors' code:
    (BN)-ReLU-conv-(BN)-ReLU-conv, plus the identity, or a 1x1 projection when the block
    downsamples."""

    def __init__(self, in_planes: int, planes: int, stride: int, batch_norm: bool):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes) if batch_norm else nn.Identity()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=not batch_norm)
        self.bn2 = nn.BatchNorm2d(planes) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=not batch_norm)
        self.shortcut = (nn.Conv2d(in_planes, planes, 1, stride, bias=not batch_norm)
                         if stride > 1 or in_planes != planes else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + self.shortcut(x)


class ResNet32(nn.Module):
    """CIFAR ResNet-32: 3 stages x 5 pre-activation blocks, 16/32/64 channels x width.

    Without BN (the paper's default) the initialization is scaled by depth (Taki 2017),
    as in the authors' configuration ``cifar10_resnet32_nobn_nodrop_3``: every conv is
    He-normal with its variance multiplied by 1/15 (the number of residual blocks),
    biases are zero; the classifier is Glorot-uniform (the Keras default)."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, batch_norm: bool = False,
                 blocks_per_stage: int = 5, in_channels: int = 3):
        super().__init__()
        self.batch_norm = batch_norm
        planes = [_w(16, width), _w(32, width), _w(64, width)]
        self.conv1 = nn.Conv2d(in_channels, planes[0], 3, 1, 1, bias=not batch_norm)
        blocks, in_planes = [], planes[0]
        for stage, p in enumerate(planes):
            for i in range(blocks_per_stage):
                stride = 2 if (stage > 0 and i == 0) else 1
                blocks.append(PreActBlock(in_planes, p, stride, batch_norm))
                in_planes = p
        self.blocks = nn.Sequential(*blocks)
        self.bn_out = nn.BatchNorm2d(in_planes) if batch_norm else nn.Identity()
        self.fc = nn.Linear(in_planes, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        scale = 1.0 if self.batch_norm else 1.0 / len(self.blocks)  # variance scale
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
                nn.init.normal_(m.weight, std=math.sqrt(2.0 * scale / fan_in))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(self.conv1(x))
        out = F.relu(self.bn_out(out))
        return self.fc(out.mean(dim=(2, 3)))


# ---------------------------------------------------------------------- LSTM
class LSTMLanguageModel(nn.Module):
    """Zaremba et al. 2014 "small" PTB LSTM with dropout 0.1 (Jastrzebski et al. 2019).

    ``forward(ids (B,T)) -> logits (B,T,V)`` always starts from a zero hidden
    state: truncated-BPTT windows are treated as independent sequences (no
    state carried between calls), which keeps the loss a plain function of
    (parameters, batch) for Hessian-vector products.
    """

    def __init__(self, vocab_size: int, embed_dim: int = 200, hidden_dim: int = 200,
                 num_layers: int = 2, dropout: float = 0.1, init_scale: float = 0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden_dim, vocab_size)
        for p in self.parameters():
            nn.init.uniform_(p, -init_scale, init_scale)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.drop(self.embedding(ids)))
        return self.decoder(self.drop(h))


# ------------------------------------------------------------------ VGG-11
VGG11_LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG11(nn.Module):
    """VGG-11 for CIFAR (logits out), BN after every convolution unless ``batch_norm=False``."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, batch_norm: bool = True,
                 in_channels: int = 3):
        super().__init__()
        layers, channels = [], in_channels
        for item in VGG11_LAYERS:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            out = _w(item, width)
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=not batch_norm)]
            layers += [nn.BatchNorm2d(out)] if batch_norm else []
            layers.append(nn.ReLU())
            channels = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


# ------------------------------------------------------------------ IMDB CNN
class TextCNN(nn.Module):
    """The authors' IMDB ``cnn`` (App. F; their ``rebuttal/imdb.sh``): Embedding(5000, 50) →
    Conv1D(250, kernel 3, valid) + ReLU → global max-pool → Dense 250 + ReLU → Dense 2.
    351,002 parameters; ``width=2`` is their ``cnn_big`` (500 filters, 500 units) of
    Fig. 22 and Table 7. Keras defaults: Glorot-uniform kernels, zero biases, embeddings
    uniform in [-0.05, 0.05]."""

    def __init__(self, vocab_size: int = 5000, num_classes: int = 2, width: float = 1.0,
                 embed_dim: int = 50):
        super().__init__()
        filters, units = _w(250, width), _w(250, width)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.conv = nn.Conv1d(embed_dim, filters, 3)
        self.hidden = nn.Linear(filters, units)
        self.out = nn.Linear(units, num_classes)
        nn.init.uniform_(self.embed.weight, -0.05, 0.05)
        for module in (self.conv, self.hidden, self.out):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(self.embed(x).transpose(1, 2))).amax(dim=-1)
        return self.out(F.relu(self.hidden(h)))


# ------------------------------------------------------------------ LeNet
class LeNet(nn.Module):
    """Two 5×5 convolutions (ReLU, 2×2 max-pool each), two dense layers (Alain et al. 2019,
    §2.1: "two convolutional layers, two fully connected layers"). ``small=False`` is the
    TensorFlow "Deep MNIST" network (32 and 64 SAME filters, 1024 units: 3,274,634
    parameters on MNIST, the paper's d ≈ 3.3·10⁶); ``small=True`` is LeNet-5-like (6 and 16
    VALID filters, 180 units: 50,642 parameters), the CPU default. PyTorch default init."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3,
                 image_size: int = 32, small: bool = False):
        super().__init__()
        (c1, c2, units), pad = ((6, 16, 180), 0) if small else ((32, 64, 1024), 2)
        c1, c2, units = _w(c1, width), _w(c2, width), _w(units, width)
        side = ((image_size + 2 * pad - 4) // 2 + 2 * pad - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.classifier = nn.Sequential(nn.Linear(c2 * side * side, units), nn.ReLU(),
                                        nn.Linear(units, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def _lenet_small(**options) -> LeNet:
    return LeNet(small=True, **options)


# ------------------------------------------------------------------ registry
from .models_small import MODEL_OPTIONS, MLP, LogisticRegression, PooledCNN  # noqa: E402
from .models_walk import MLPBatchNorm, ResNet56, VGG11Walk  # noqa: E402

MODELS: dict[str, Callable[..., nn.Module]] = {
    "simplecnn": SimpleCNN,
    "resnet32": ResNet32,
    "vgg11": VGG11,
    "lstm": LSTMLanguageModel,
    "textcnn": TextCNN,
    "lenet": LeNet,
    "lenet_small": _lenet_small,
    "mlp": MLP,
    "logistic": LogisticRegression,
    "pooledcnn": PooledCNN,
    "vgg11_walk": VGG11Walk,
    "resnet56": ResNet56,
    "mlp_bn": MLPBatchNorm,
}
MODEL_DATASETS: dict[str, tuple] = {  # the data sets (keys of companion.tasks.TASKS) each trains on
    "simplecnn": ("cifar10", "fmnist", "cifar100"),
    "resnet32": ("cifar10", "cifar100"),
    "vgg11": ("cifar10", "cifar100"),
    "lstm": ("ptb",),
    "textcnn": ("imdb",),
    "lenet": ("mnist10k", "mnist", "cifar10", "fmnist"),
    "lenet_small": ("mnist10k", "mnist", "cifar10", "fmnist", "mnist1k"),
    "mlp": ("blobs", "mnist1k", "mnist10k", "fmnist"),
    "logistic": ("blobs",),
    "pooledcnn": ("mnist1k", "mnist10k", "fmnist"),
    "vgg11_walk": ("cifar10", "fmnist"),
    "resnet56": ("cifar10", "fmnist"),
    "mlp_bn": ("mnist10k", "mnist", "fmnist"),
}


def build_model(name: str, **options) -> nn.Module:
    """Instantiate model ``name`` (a key of ``MODELS``) with keyword ``options``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {sorted(MODELS)}")
    return MODELS[name](**options)


def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over all positions: (..., C) logits vs (...) targets."""
    return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1))


def loss_fn_for(model_name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Mean cross-entropy callable ``(outputs, targets) -> loss`` for ``model_name``."""
    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; valid names: {sorted(MODELS)}")
    return cross_entropy
