r"""Summaries of a Hessian spectrum: Frobenius norm and trace.

Jastrzębski et al. (2019, §3-4) report the spectral norm :math:`\lambda_1` and the
Frobenius norm :math:`\|H\|_F = \sqrt{\sum_i \lambda_i^2}` of the Hessian, the latter
approximated by the top :math:`K = 50` eigenvalues found by Lanczos
(:func:`frobenius_norm_top`).  For a symmetric :math:`H` the full-spectrum value
can also be estimated without eigenvalues, by Hutchinson's (1989) randomized method:
for Rademacher vectors :math:`v` (i.i.d. :math:`\pm 1` entries),

.. math::
    \mathbb E[v^\top H v] = \operatorname{tr} H, \qquad
    \mathbb E[\|Hv\|^2] = \operatorname{tr}(H^2) = \|H\|_F^2 .

Both estimators return ``(estimate, stderr)``.  The Frobenius estimate is the square
root of the sample mean :math:`\bar s` of :math:`s_j = \|Hv_j\|^2`; its standard error
follows from the delta method, :math:`\mathrm{se}(\sqrt{\bar s}) \approx
\mathrm{se}(\bar s) / (2\sqrt{\bar s})`.
"""

from __future__ import annotations

import math

import torch

__all__ = ["frobenius_norm_top", "hutchinson_frobenius", "hutchinson_trace"]


def frobenius_norm_top(eigenvalues, k: int = 50) -> float:
    r"""The paper's Frobenius norm: :math:`\sqrt{\sum_{i\le k} \lambda_i^2}` over the
    top-``k`` (by magnitude) of the given eigenvalues.

    Jastrzębski et al. (2019) approximate :math:`\|H\|_F` with the top 50 eigenvalues
    found by Lanczos; given *all* eigenvalues (and ``k >= n``) this is exactly
    :math:`\|H\|_F`.  With fewer, it is a lower bound.
    """
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if lam.numel() == 0:
        raise ValueError("eigenvalues is empty")
    top = lam.abs().sort(descending=True).values[:k]
    return float(top.pow(2).sum().sqrt())


def _dim_dtype_device(op):
    n = int(op.shape[0])
    dtype = getattr(op, "dtype", None) or torch.float64
    device = getattr(op, "device", None) or "cpu"
    return n, dtype, torch.device(device)


def _rademacher(n: int, gen: torch.Generator, dtype, device) -> torch.Tensor:
    signs = torch.randint(0, 2, (n,), generator=gen, dtype=torch.int8) * 2 - 1
    return signs.to(dtype=dtype, device=device)


def _samples(op, num_samples: int, seed: int, stat) -> torch.Tensor:
    if num_samples < 2:
        raise ValueError(f"num_samples must be >= 2 (for a standard error), got {num_samples}")
    n, dtype, device = _dim_dtype_device(op)
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(num_samples):
        v = _rademacher(n, gen, dtype, device)
        out.append(float(stat(v, op @ v)))
    return torch.tensor(out, dtype=torch.float64)


def hutchinson_trace(op, num_samples: int = 20, seed: int = 0) -> tuple[float, float]:
    """Hutchinson estimate of ``tr H`` = mean of ``v^T H v``; returns ``(estimate, stderr)``."""
    s = _samples(op, num_samples, seed, lambda v, hv: v @ hv)
    return float(s.mean()), float(s.std() / math.sqrt(num_samples))


def hutchinson_frobenius(op, num_samples: int = 20, seed: int = 0) -> tuple[float, float]:
    """Hutchinson estimate of ``||H||_F = sqrt(E ||H v||^2)``; returns ``(estimate, stderr)``.

    The standard error is the delta-method one, ``se(mean) / (2 sqrt(mean))``.
    """
    s = _samples(op, num_samples, seed, lambda v, hv: hv @ hv)
    mean = float(s.mean())
    est = math.sqrt(max(mean, 0.0))
    se_mean = float(s.std() / math.sqrt(num_samples))
    return est, (se_mean / (2 * est) if est > 0 else 0.0)
