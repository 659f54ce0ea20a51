"""Tensors and batches on the device: image normalization, crop+flip augmentation as one
batched tensor op, shuffled mini-batches as index slices ("airbench" style), fixed subsets,
and the batching of a token stream for truncated BPTT (Zaremba et al. 2014)."""

from __future__ import annotations

from typing import Callable, Iterator

import torch
import torch.nn.functional as F

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
FMNIST_MEAN, FMNIST_STD = (0.2860,), (0.3530,)
MNIST_MEAN, MNIST_STD = (0.1307,), (0.3081,)


def normalize_images(x_uint8: torch.Tensor, device=None,
                     dtype: torch.dtype = torch.float32, mean=CIFAR10_MEAN,
                     std=CIFAR10_STD) -> torch.Tensor:
    """uint8 (N,C,H,W) -> float on ``device``, standardized per channel (CIFAR-10's
    statistics unless ``mean``/``std`` are given)."""
    x = x_uint8.to(device=device).to(dtype).div_(255.0)
    mean = torch.tensor(mean, device=x.device, dtype=dtype).view(1, -1, 1, 1)
    std = torch.tensor(std, device=x.device, dtype=dtype).view(1, -1, 1, 1)
    return (x - mean) / std


def _randint(generator: torch.Generator, high: int, size: int, device) -> torch.Tensor:
    return torch.randint(0, high, (size,), generator=generator,
                         device=generator.device).to(device)


def augment_crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop (after zero padding by ``pad``) and horizontal flip (p=0.5).

    Each image gets independent offsets and flip; the crop and flip are one
    vectorized gather (no Python loop over images).  Random numbers come from
    ``generator`` (on x's device, or on the CPU and moved), so runs repeat.
    """
    b, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = _randint(generator, 2 * pad + 1, b, x.device)
    dx = _randint(generator, 2 * pad + 1, b, x.device)
    flip = _randint(generator, 2, b, x.device).bool()
    ar_h = torch.arange(h, device=x.device)
    ar_w = torch.arange(w, device=x.device)
    rows = dy[:, None] + ar_h[None, :]
    cols = dx[:, None] + torch.where(flip[:, None], w - 1 - ar_w[None, :], ar_w[None, :])
    bi = torch.arange(b, device=x.device)[:, None, None, None]
    ci = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[bi, ci, rows[:, None, :, None], cols[:, None, None, :]]


def iterate_minibatches(x: torch.Tensor, y: torch.Tensor, batch_size: int,
                        generator: torch.Generator | None = None, *, shuffle: bool = True,
                        augment: Callable | None = None,
                        drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (xb, yb) mini-batches of device tensors in a generator-driven order."""
    n = x.shape[0]
    if shuffle:
        gdev = generator.device if generator is not None else "cpu"
        order = torch.randperm(n, generator=generator, device=gdev).to(x.device)
    else:
        order = None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx.to(y.device)]
        if augment is not None:
            xb = augment(xb, generator)
        yield xb, yb


def fixed_subset(n_total: int, n: int, seed: int = 0) -> torch.Tensor:
    """Sorted indices of a fixed random subset (e.g. ~5% of the training set for the Hessian)."""
    if not 0 <= n <= n_total:
        raise ValueError(f"need 0 <= n <= n_total, got n={n}, n_total={n_total}")
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=g)[:n].sort().values


def lm_batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a token stream into ``batch_size`` contiguous rows: (batch_size, T)."""
    t = ids.numel() // batch_size
    return ids[: t * batch_size].view(batch_size, t)


def lm_windows(data: torch.Tensor, bptt: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Truncated-BPTT windows (inputs, targets) of width <= ``bptt``; targets shifted by one."""
    for i in range(0, data.shape[1] - 1, bptt):
        seq = min(bptt, data.shape[1] - 1 - i)
        yield data[:, i:i + seq], data[:, i + 1:i + 1 + seq]
