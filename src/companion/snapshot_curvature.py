r"""Curvature at the weights a run saved along training (``RunConfig.snapshot_steps``), and
the loss along single directions there: what Alain, Le Roux & Manzagol (2019) measure.

* :class:`Snapshots` rebuilds a run's data and network once, and gives, at any saved step,
  the Hessian operator of the mean loss on a fixed subset of training examples (the same
  examples at every step, so curvature changes only with θ), its extreme eigenpairs by the
  companion's Lanczos with the per-eigenvalue stopping test (cached on disk: the figures
  share them), and float64 losses along a direction.
* Along an eigenvector :math:`v_i` with eigenvalue :math:`\lambda_i` and
  :math:`c_i = g^\top v_i`, the paper's Eq. (1) moves to :math:`\theta - \alpha c_i v_i`;
  its quadratic model is :math:`L - \alpha c_i^2 + \tfrac12 \lambda_i c_i^2 \alpha^2`, whose
  minimizer for :math:`\lambda_i > 0` is :math:`\alpha^* = 1/\lambda_i` (Eq. 2).
  :func:`fitted_curvature` fits a quadratic to the true loss, :func:`line_search` finds
  :math:`\alpha^*` on the descent side (α > 0) by doubling then golden-section search.
"""

from __future__ import annotations

import hashlib
import json
import math
import time

import numpy as np
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


def losses_along(op: HessianOperator, direction: torch.Tensor, alphas) -> np.ndarray:
    """``L(θ − α·direction) − L(θ)`` for each α, in float64."""
    direction = direction.to(op.device, torch.float64)
    base = op.loss_at(None)
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


def principal_cosines(a: torch.Tensor, b: torch.Tensor) -> list:
    """Cosines of the principal angles between the column spaces of ``a`` and ``b``
    (orthonormal columns), largest first."""
    qa, _ = torch.linalg.qr(a.double())
    qb, _ = torch.linalg.qr(b.double())
    return [float(s) for s in torch.linalg.svdvals(qa.T @ qb).clamp(max=1.0)]


# ------------------------------------------------------------------ post-hoc probes
ANALYSIS_MODULES = ("snapshot_curvature.py", "probes_snapshots.py", "probes_spectra.py",
                    "dense.py", "ggn.py")


_ANALYSIS_VERSIONS: dict = {}


def analysis_version(config=None) -> str:
    """The code version of the analyses: the run's numeric code plus these modules."""
    from .results import PACKAGE

    code = code_version(config)
    if code not in _ANALYSIS_VERSIONS:
        digest = hashlib.sha256(code.encode())
        for name in ANALYSIS_MODULES:
            digest.update(name.encode() + b"\0" + (PACKAGE / name).read_bytes())
        _ANALYSIS_VERSIONS[code] = digest.hexdigest()[:12]
    return _ANALYSIS_VERSIONS[code]


def analysis_key(config, probe) -> str:
    from dataclasses import asdict

    ident = {"run": run_key(config), "probe": probe.name, **asdict(probe)}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]


def attach_analyses(config, result: dict, cache, reporter=None) -> dict:
    """``result`` with each post-hoc probe's analysis under its name: from the disk cache
    (made by the current code, else a committed one marked ``stale``), or computed from the
    run's snapshots (retraining the run if they are missing) and cached atomically."""
    from dataclasses import asdict

    from .results import atomic_write_json, provenance

    probes = [p for p in config.probes if getattr(p, "post_hoc", False)]
    out, snaps = dict(result), None
    for probe in probes:
        name = f"{probe.name}-{analysis_key(config, probe)}.json"
        paths = [root / cache.run_dir(config).name / name
                 for root in (cache.root, *cache.read_only_roots)]
        found = [(i, json.loads(p.read_text())) for i, p in enumerate(paths) if p.exists()]
        current = [f for _, f in found
                   if f["provenance"]["analysis_version"] == analysis_version(config)]
        committed = [f for i, f in found if i > 0]  # made by other code: shown, marked stale
        if current or committed:
            out[probe.name] = current[0] if current else {**committed[0], "stale": True}
            continue
        if snaps is None:
            from .training import train

            train(config, cache, need_weights=True)  # re-creates snapshots if missing
            snaps = Snapshots(config, cache)
        if reporter is not None:
            reporter.note(f"analysing snapshots: {probe.name}")
        start, before = time.perf_counter(), snaps.num_matvecs
        data = probe.analyze(snaps, config, result)
        wall = time.perf_counter() - start
        data["provenance"] = {**provenance(config, snaps.device, wall),
                              "analysis_version": analysis_version(config), "options": asdict(probe),
                              "matvecs": snaps.num_matvecs - before}
        atomic_write_json(paths[0], data)
        out[probe.name] = json.loads(paths[0].read_text())  # as a later load will see it
    return out
