r"""Curvature at the weights a run saved along training (``RunConfig.snapshot_steps``): what
Alain, Le Roux & Manzagol (2019) measure, shared by every post-hoc probe.

:class:`Snapshots` rebuilds a run's data and network once, and gives, at any saved step,
the Hessian operator of the mean loss on a fixed subset of training examples (the same
examples at every step, so curvature changes only with θ) and its extreme eigenpairs by the
companion's Lanczos with the per-eigenvalue stopping test (cached on disk: the figures share
them). The loss along single directions (Figs. 3–6) is :mod:`companion.probes_directions`;
running and caching the analyses is :mod:`companion.analyses`.
"""

from __future__ import annotations

import hashlib
import json
import time

import torch

from .hessian import HessianOperator
from .lanczos import lanczos
from .models import build_model
from .results import atomic_torch_save, code_version, run_key
from .runtime import resolve_device
from .tasks import build_task

HESSIAN_BATCH = 500      # examples per Hessian-vector-product chunk
SUBSET_SEED = 3          # the fixed Hessian subset: seed config.seed + SUBSET_SEED
MAX_KRYLOV = 600         # Lanczos basis cap (memory: MAX_KRYLOV × d floats)


class Snapshots:
    """A run's saved weights, with the operators and eigenpairs at each of them."""

    def __init__(self, config, cache, device=None):
        self.config, self.cache = config, cache
        self.device = resolve_device(device or config.device)
        self.task = build_task(config, self.device)
        self.model = build_model(config.model, **self.task.build_options).to(self.device)
        self.num_matvecs = 0

    def load(self, step) -> None:
        """The weights after ``step`` (a snapshot), or the final weights for "end"."""
        path = (self.cache.weights_path(self.config) if step == "end"
                else self.cache.snapshot_path(self.config, step))
        if not path.exists():
            raise FileNotFoundError(f"no snapshot at step {step} ({path}); snapshot_steps of "
                                    f"this run: {list(self.config.snapshot_steps)}")
        self.model.load_state_dict(torch.load(path, map_location=self.device))

    def operator(self, step: int, n_hessian: int, seed_offset: int = 0) -> HessianOperator:
        """The Hessian of the mean loss on ``n_hessian`` fixed training examples at ``step``."""
        self.load(step)
        batches = self.task.hessian_batches(n_hessian, HESSIAN_BATCH,
                                            self.config.seed + SUBSET_SEED + seed_offset)
        return HessianOperator(self.model, self.task.loss_fn, batches, seed=self.config.seed)

    def eigenpairs(self, step: int, which: str, k: int, tol: float, n_hessian: int) -> dict:
        """The ``k`` extreme eigenpairs (``which`` "LA" or "SA") at ``step``, from the disk
        cache or by Lanczos (relative per-eigenvalue test): vals, vecs (d × k, float32,
        CPU), residuals, matvecs and seconds of the solve."""
        ident = {"run": run_key(self.config), "step": step, "which": which, "k": k,
                 "tol": tol, "n": n_hessian, "code": code_version(self.config)}
        key = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
        path = self.cache.run_dir(self.config) / "eigen" / f"{step:07d}-{which}-{key}.pt"
        if path.exists():
            return torch.load(path, map_location="cpu")
        op = self.operator(step, n_hessian)
        start = time.perf_counter()
        result = lanczos(op, k=min(k, op.dim), which=which, tol=tol, criterion="relative",
                         max_iter=min(op.dim, max(MAX_KRYLOV, 30 * k)), seed=step + 1)
        self.num_matvecs += result.num_matvecs
        out = {"vals": result.vals.double().cpu(), "vecs": result.vecs.float().cpu(),
               "residuals": result.residuals.double().cpu(), "matvecs": result.num_matvecs,
               "converged": result.converged, "seconds": time.perf_counter() - start,
               "examples": op.num_data}
        atomic_torch_save(path, out)
        return out


# ------------------------------------------------------------------ along one direction
def curvature_along(op: HessianOperator, v: torch.Tensor) -> float:
    """vᵀ H v for a unit vector v (one Hessian-vector product)."""
    v = v.to(op.device, op.dtype)
    return float(v @ (op @ v))


def principal_cosines(a: torch.Tensor, b: torch.Tensor) -> list:
    """Cosines of the principal angles between the column spaces of ``a`` and ``b``
    (orthonormal columns), largest first."""
    qa, _ = torch.linalg.qr(a.double())
    qb, _ = torch.linalg.qr(b.double())
    return [float(s) for s in torch.linalg.svdvals(qa.T @ qb).clamp(max=1.0)]
