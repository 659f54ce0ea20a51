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

__all__ = ["frobenius_norm_top", "hutchinson_frobenius", "hutchinson_trace",
           "count_outliers", "OUTLIER_METHODS", "OUTLIER_WINDOW", "count_negative"]

OUTLIER_METHODS = ("gap", "ratio", "elbow")  # Sagun et al. (2017), Table 1's three
OUTLIER_WINDOW = 120      # outliers are searched among the top 120 (the paper plots the top 120)
RATIO_FLOOR = 1e-6        # ratios λ_i/λ_{i+1} only where λ_{i+1} > RATIO_FLOOR · λ_1
NEGATIVE_TOL = 1e-6       # "negative" means λ < −NEGATIVE_TOL · λ_max (rounding of dense builds)


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


def _top_sorted(eigenvalues, window: int) -> torch.Tensor:
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    if lam.numel() < 3:
        raise ValueError(f"need at least 3 eigenvalues to count outliers, got {lam.numel()}")
    if not torch.isfinite(lam).all():
        raise ValueError("eigenvalues contain nan or inf")
    top = lam.sort(descending=True).values[:window]
    if top[0] <= 0:
        raise ValueError("the largest eigenvalue is not positive: there is no bulk to stand "
                         "out from")
    return top


def count_outliers(eigenvalues, method: str = "gap", window: int = OUTLIER_WINDOW) -> int:
    r"""How many eigenvalues stand above the bulk (Sagun et al. 2017, Table 1), among the
    ``window`` largest, sorted :math:`\lambda_1 \ge \lambda_2 \ge \dots`:

    * ``"gap"``: the largest consecutive gap, :math:`\arg\max_i \lambda_i - \lambda_{i+1}`;
    * ``"ratio"``: the largest consecutive ratio :math:`\lambda_i / \lambda_{i+1}`, over
      :math:`\lambda_{i+1} > 10^{-6}\lambda_1` (no division by the near-zero bulk);
    * ``"elbow"``: the elbow of the scree plot, the rank whose :math:`\log_{10}\lambda` lies
      farthest below the chord from rank 1 to rank ``window``; the outliers are the ranks
      before it (eigenvalues below :math:`10^{-6}\lambda_1` count as that floor).

    The paper gives no formulas; these are the companion's, fixed before any run. The
    count ``i`` means λ_1 … λ_i are the outliers.
    """
    if method not in OUTLIER_METHODS:
        raise ValueError(f"method must be one of {OUTLIER_METHODS}, got {method!r}")
    if not (isinstance(window, int) and window >= 3):
        raise ValueError(f"window must be an integer >= 3, got {window!r}")
    top = _top_sorted(eigenvalues, window)
    if method == "gap":
        return int(torch.argmax(top[:-1] - top[1:])) + 1
    floor = RATIO_FLOOR * top[0]
    if method == "ratio":
        valid = top[1:] > floor
        if not valid.any():
            return 1
        ratios = torch.where(valid, top[:-1] / top[1:].clamp(min=floor), torch.zeros(()))
        return int(torch.argmax(ratios)) + 1
    logs = top.clamp(min=floor).log10()
    ranks = torch.arange(len(logs), dtype=torch.float64)
    chord = logs[0] + (logs[-1] - logs[0]) * ranks / (len(logs) - 1)
    return max(int(torch.argmax(chord - logs)), 1)


def count_negative(eigenvalues, tol: float = NEGATIVE_TOL) -> int:
    """How many eigenvalues are below −tol · λ_max (Sagun et al.: float rounding of a dense
    Hessian leaves a ±1e-12-relative haze around zero that must not count)."""
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    return int((lam < -tol * lam.max().clamp(min=0)).sum())
