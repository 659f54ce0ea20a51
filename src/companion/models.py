"""Models of Jastrzebski et al. 2019 (§2): SimpleCNN, ResNet-32 and the PTB LSTM.

* ``SimpleCNN``: Appendix D of the paper -- four 3x3 'same' convolutions
  (32, 32, max-pool 2, 64, 64, max-pool 2), ReLU after each, dense 128 + ReLU,
  dense 10.  591,274 parameters at ``width=1``.
* ``ResNet32``: He et al. 2016 (CIFAR ResNet, 3 stages x 5 basic blocks,
  16/32/64 channels, option-A zero-padding shortcuts, global average pool).
  The paper omits batch normalization (footnote 2, citing Bjorck et al. 2018)
  and uses an initialization scaled by depth (Taki 2017).  Our choice: convs
  carry biases (zero), weights are He-normal (fan-in), and the last conv of
  every residual branch is multiplied by ``1/sqrt(num_blocks)`` (15 blocks), so
  the residual stream's variance grows by O(1) over the whole depth instead of
  doubling per block.  (The authors' Keras code instead scaled the He variance
  of every conv by 1/15 and used pre-activation blocks with 1x1 projection
  shortcuts; we keep the textbook He et al. block.)  ``batch_norm=True`` adds
  BN after each conv (no conv bias) with the standard init, for Appendix A.1.
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# ----------------------------------------------------------------- ResNet-32
class _ShortcutA(nn.Module):
    """Option A: subsample by ``stride`` and zero-pad the new channels."""

    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.stride, self.extra = stride, planes - in_planes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.extra > 0:
            lo = self.extra // 2
            x = F.pad(x, (0, 0, 0, 0, lo, self.extra - lo))
        return x


class BasicBlock(nn.Module):
    """conv-(BN)-ReLU-conv-(BN), plus shortcut, then ReLU (He et al. 2016)."""

    def __init__(self, in_planes: int, planes: int, stride: int, batch_norm: bool):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(planes) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=not batch_norm)
        self.bn2 = nn.BatchNorm2d(planes) if batch_norm else nn.Identity()
        self.shortcut = _ShortcutA(in_planes, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet32(nn.Module):
    """CIFAR ResNet-32 (He et al. 2016); no BN and depth-scaled init by default (Taki 2017)."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, batch_norm: bool = False,
                 blocks_per_stage: int = 5, in_channels: int = 3):
        super().__init__()
        self.batch_norm = batch_norm
        planes = [_w(16, width), _w(32, width), _w(64, width)]
        self.conv1 = nn.Conv2d(in_channels, planes[0], 3, 1, 1, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(planes[0]) if batch_norm else nn.Identity()
        blocks, in_planes = [], planes[0]
        for stage, p in enumerate(planes):
            for i in range(blocks_per_stage):
                stride = 2 if (stage > 0 and i == 0) else 1
                blocks.append(BasicBlock(in_planes, p, stride, batch_norm))
                in_planes = p
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(in_planes, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.fc.bias)
        if not self.batch_norm:
            scale = 1.0 / math.sqrt(len(self.blocks))
            with torch.no_grad():
                for block in self.blocks:
                    block.conv2.weight.mul_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.blocks(out)
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


# ------------------------------------------------------------------ registry
MODELS: dict[str, Callable[..., nn.Module]] = {
    "simplecnn": SimpleCNN,
    "resnet32": ResNet32,
    "lstm": LSTMLanguageModel,
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
