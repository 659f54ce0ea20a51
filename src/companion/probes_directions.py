r"""Figs. 3–6 of Alain, Le Roux & Manzagol (2019): the loss along single eigenvectors of the
Hessian at a saved step, against its quadratic model.

Along an eigenvector :math:`v_i` with eigenvalue :math:`\lambda_i` and
:math:`c_i = g^\top v_i`, the paper's Eq. (1) moves to :math:`\theta - \alpha c_i v_i`; its
quadratic model is :math:`L - \alpha c_i^2 + \tfrac12 \lambda_i c_i^2 \alpha^2`, whose
minimizer for :math:`\lambda_i > 0` is :math:`\alpha^* = 1/\lambda_i` (Eq. 2).
:func:`fitted_curvature` fits a quadratic to the true loss, :func:`line_search` finds
:math:`\alpha^*` on the descent side (α > 0) by doubling then golden-section search, and
:func:`analyze_directions` does all of it for
:class:`~companion.probes_snapshots.DirectionFits` (whose analysis version hashes this
module: a change here leaves the other post-hoc analyses current).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from .hessian import HessianOperator


def losses_along(op: HessianOperator, direction: torch.Tensor, alphas,
                 base: Optional[float] = None) -> np.ndarray:
    """``L(θ − α·direction) − L(θ)`` for each α, in float64 (``base``: L(θ) if known)."""
    direction = direction.to(op.device, torch.float64)
    base = op.loss_at(None) if base is None else base
    return np.array([op.loss_at(-float(a) * direction) - base for a in alphas])


def quadratic_model(alphas, c: float, lam: float) -> np.ndarray:
    """The second-order change ``−α c² + ½ λ c² α²`` along ``θ − α c v``."""
    a = np.asarray(alphas, dtype=float)
    return -a * c * c + 0.5 * lam * c * c * a * a


def fitted_curvature(alphas, deltas, c: float) -> float:
    """``y = 2 a₂ / c²``: a₂ the α² coefficient of a least-squares quadratic through
    (α, ΔL); y equals λ when the loss is exactly quadratic along the direction."""
    a2 = np.polyfit(np.asarray(alphas, float), np.asarray(deltas, float), 2)[0]
    return 2.0 * a2 / (c * c) if c else float("nan")


def line_search(f, alpha0: float = 1e-3, cap: float = 1e4, rtol: float = 1e-3,
                max_evals: int = 80) -> dict:
    """Minimize f(α) over α > 0 (f(0) = 0 is the starting loss change): double α from
    ``alpha0`` while f decreases, then golden-section search between the last two
    doublings to relative width ``rtol``. ``unbounded`` when f still decreases at ``cap``;
    α* = 0 when even ``alpha0`` does not decrease f (then searched in [0, alpha0])."""
    evals = {0.0: 0.0}

    def F(a):
        if a not in evals:
            evals[a] = float(f(a))
        return evals[a]

    lo, mid = 0.0, alpha0
    if F(mid) >= 0.0:
        hi, mid = alpha0, None
    else:
        hi = 2 * mid
        while F(hi) < F(mid):
            if hi >= cap:
                return {"alpha": hi, "delta": F(hi), "unbounded": True, "evals": len(evals) - 1}
            lo, mid, hi = mid, hi, 2 * hi
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    x1, x2 = b - ratio * (b - a), a + ratio * (b - a)
    f1, f2 = F(x1), F(x2)
    while b - a > rtol * max(b, 1e-12) and len(evals) < max_evals:
        if f1 <= f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - ratio * (b - a)
            f1 = F(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + ratio * (b - a)
            f2 = F(x2)
    best = min(evals, key=evals.get)
    return {"alpha": best, "delta": evals[best], "unbounded": False, "evals": len(evals) - 1}


def analyze_directions(probe, snaps, config) -> dict:
    """:class:`~companion.probes_snapshots.DirectionFits`'s analysis: at each of its steps,
    along each of LA(la) ∪ SA(sa), the line search, the fitted curvatures and (for v₁ and
    v_d) the slices of the true loss against its quadratic model. The loss at the step is
    computed once, so every point along a direction costs one forward pass over the subset
    (two before: the CPU default's analysis took 391 s then, 253 s now, measured)."""
    out = []
    for t in probe._steps(config):
        top, bottom = probe._pairs(snaps, t)
        op = snaps.operator(t, probe.n_hessian)
        g = op.gradient().double().cpu()
        loss = op.loss_at(None)
        directions = []
        for which, pair in (("LA", top), ("SA", bottom)):
            for i in range(pair["vecs"].shape[1]):
                v = pair["vecs"][:, i].double()
                lam, c = float(pair["vals"][i]), float(g @ v)
                along = (lambda a, v=v, c=c: losses_along(op, c * v, [a], loss)[0])
                row = {"which": which, "index": i, "lam": lam, "c": c,
                       **line_search(along, rtol=probe.search_rtol)}
                row["fitted"] = []
                for A in probe.ranges:
                    alphas = np.linspace(-A, A, probe.n_fit)
                    row["fitted"].append(fitted_curvature(
                        alphas, losses_along(op, c * v, alphas, loss), c))
                if i == 0:
                    row["slices"] = slices(probe, op, v, c, lam, row["alpha"], loss)
                directions.append(row)
        snaps.num_matvecs += op.num_matvecs
        out.append({"step": t, "loss": loss, "grad_norm": float(g.norm()),
                    "directions": directions})
    return {"ranges": list(probe.ranges), "steps": out}


def slices(probe, op, v, c, lam, alpha_star, base: float) -> list:
    """Fig. 3: the true loss change and its quadratic model at ``n_slice`` points over each
    range and over [−2α*, 2α*] (``base``: the loss at the step)."""
    wide = 2 * alpha_star if alpha_star > 0 else 2 * max(probe.ranges)
    out = []
    for A in (*probe.ranges, wide):
        alphas = np.linspace(-A, A, probe.n_slice)
        out.append({"range": float(A), "alphas": alphas.tolist(),
                    "true": losses_along(op, c * v, alphas, base).tolist(),
                    "quadratic": quadratic_model(alphas, c, lam).tolist()})
    return out
