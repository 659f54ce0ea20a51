"""The networks of Xing, Arpit, Tsirigotis & Bengio (2018), "A Walk with SGD", as the
authors' code (``LynetteXing1991/walk_with_sgd``, ``models.py``) builds them.

* ``vgg11_walk``: VGG-11 (configuration A) with BatchNorm after every convolution and the
  classifier 512-512-512-10 (ReLU, no dropout): 9,756,426 parameters at ``width=1``.
* ``resnet56``: pre-activation ResNet-56, 16/32/64 channels, 9 blocks a stage, 1×1
  projection shortcuts at the two downsampling blocks, final BN-ReLU-average pool-FC:
  855,578 parameters.
* ``mlp_bn``: 784-500-350-10 with BatchNorm1d after each hidden layer: 573,060 parameters.

Initialization as in the authors' code: convolutions He-normal with fan-out
(std √(2 / (k²·C_out))), convolution biases 0, BN γ = 1 and β = 0, linear layers PyTorch's
default. ``width`` scales every channel and hidden width (the default profile's cut: it
keeps depth and BatchNorm). Grayscale 28×28 inputs are zero-padded to 32×32 (VGG-11 on
Fashion-MNIST, standing in for Tiny ImageNet).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

VGG_LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def _w(base: int, width: float) -> int:
    return max(1, int(round(base * width)))


def _he_fan_out(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / fan_out))
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _pad_to_32(x: torch.Tensor) -> torch.Tensor:
    short = 32 - x.shape[-1]
    return F.pad(x, (short // 2, short - short // 2) * 2) if short > 0 else x


class VGG11Walk(nn.Module):
    """VGG-11 with BN and a three-layer classifier (logits out)."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3,
                 image_size: int = 32):
        super().__init__()
        layers, channels = [], in_channels
        for item in VGG_LAYERS:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            out = _w(item, width)
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU()]
            channels = out
        self.features = nn.Sequential(*layers)
        hidden = _w(512, width)
        self.classifier = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                        nn.Linear(hidden, hidden), nn.ReLU(),
                                        nn.Linear(hidden, num_classes))
        _he_fan_out(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(_pad_to_32(x)), 1))


class PreActBlock(nn.Module):
    """BN-ReLU-conv3×3-BN-ReLU-conv3×3, plus the input (a 1×1 projection when the shape
    changes), without convolution biases."""

    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(in_planes), nn.BatchNorm2d(planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = (nn.Conv2d(in_planes, planes, 1, stride, bias=False)
                         if stride != 1 or in_planes != planes else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class ResNet56(nn.Module):
    """Pre-activation ResNet-56 for 32×32 images (logits out)."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 3,
                 image_size: int = 32, blocks: int = 9):
        super().__init__()
        planes = [_w(c, width) for c in (16, 32, 64)]
        self.conv = nn.Conv2d(in_channels, planes[0], 3, 1, 1, bias=False)
        layers, current = [], planes[0]
        for stage, p in enumerate(planes):
            for b in range(blocks):
                layers.append(PreActBlock(current, p, 2 if stage > 0 and b == 0 else 1))
                current = p
        self.blocks = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(current)
        self.fc = nn.Linear(current, num_classes)
        _he_fan_out(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn(self.blocks(self.conv(_pad_to_32(x)))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))


class MLPBatchNorm(nn.Module):
    """Fully connected 784-500-350-10, Linear → BatchNorm1d → ReLU for each hidden layer."""

    def __init__(self, num_classes: int = 10, width: float = 1.0, in_channels: int = 1,
                 image_size: int = 28):
        super().__init__()
        sizes = [in_channels * image_size * image_size, _w(500, width), _w(350, width)]
        layers = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(sizes[-1], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))
