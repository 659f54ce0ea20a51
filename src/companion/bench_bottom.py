"""``make bench`` section 7: the bottom of the Hessian spectrum (Alain et al. 2019, §3).

SA(3), the three most negative eigenvalues, of LeNet-small trained by RMSProp on MNIST: small
negative eigenvalues in a dense cluster beside a large positive spectrum, the hard case for
Lanczos. Three solvers on the same operator, each to a relative tolerance per eigenvalue:

* the companion's Lanczos (full re-orthogonalization, ``criterion="relative"``);
* ``scipy.sparse.linalg.eigsh(which="SA")`` (ARPACK, implicitly restarted);
* power iteration with deflation on the shifted operator ``H − λ₁ I`` (the usual
  workaround, e.g. pytorch-hessian-eigenthings #11), capped at ``max_products``.

Errors are against a tight Lanczos solve (tolerance 1e-8). Also LA(20) against SA(3).
"""

from __future__ import annotations

import tempfile
import time

import numpy as np


def _config(steps: int, n_train: int):
    from .chapters.negative_curvature import MNIST
    from .probes import Metrics

    return MNIST.with_overrides(model="lenet_small", max_steps=steps, n_train=n_train,
                                snapshot_steps=(steps,), device="cpu",
                                probes=(Metrics(n_eval=min(n_train, 1000)),))


def bottom_eigensolvers(device=None, steps: int = 4000, n_train: int = 8000,
                        n_hessian: int = 1000, tol: float = 1e-3,
                        max_products: int = 1500) -> dict:
    from scipy.sparse.linalg import eigsh

    from .lanczos import lanczos, power_iteration
    from .results import ResultsCache
    from .snapshot_curvature import Snapshots
    from .training import train

    config = _config(steps, n_train)
    with tempfile.TemporaryDirectory() as tmp:
        cache = ResultsCache(tmp, read_only_roots=[])
        train(config, cache)
        op = Snapshots(config, cache, device).operator(steps, n_hessian)
        exact = lanczos(op, k=3, which="SA", tol=1e-8, criterion="relative", max_iter=1500)
        ref = exact.vals.double().cpu().numpy()
        top = lanczos(op, k=1, which="LA", tol=1e-6, criterion="relative")
        rows = {}

        def record(name, fn):
            start, before = time.perf_counter(), op.num_matvecs
            vals = np.sort(np.asarray(fn(), dtype=float))[:3]
            rows[name] = {"products": op.num_matvecs - before,
                          "seconds": time.perf_counter() - start,
                          "max_rel_error": float(np.max(np.abs(vals - ref) / np.abs(ref)))}

        record("companion Lanczos SA(3)", lambda: lanczos(
            op, k=3, which="SA", tol=tol, criterion="relative", max_iter=1500).vals.cpu())
        record("scipy eigsh(which='SA') SA(3)", lambda: eigsh(
            op.to_scipy(), k=3, which="SA", tol=tol, return_eigenvectors=False))
        shift = float(top.vals[0])
        per_pair = max_products // 3
        record(f"power iteration on H − λ1·I (≤ {per_pair} products per pair)",
               lambda: power_iteration(op, k=3, tol=tol, max_iter=per_pair, shift=shift,
                                       criterion="residual").vals.cpu())
        start, before = time.perf_counter(), op.num_matvecs
        lanczos(op, k=20, which="LA", tol=tol, criterion="relative")
        la20 = {"products": op.num_matvecs - before, "seconds": time.perf_counter() - start}
    return {"step": steps, "n_hessian": op.num_data, "lambda_1": shift,
            "bottom": [float(v) for v in ref], "tol": tol, "solvers": rows, "la20": la20}


def report(out: dict) -> None:
    print(f"\n7. SA(3) of LeNet-small's Hessian after {out['step']} RMSProp steps on MNIST "
          f"({out['n_hessian']} images; λ1 = {out['lambda_1']:.4g}, bottom "
          f"{', '.join(f'{v:.4g}' for v in out['bottom'])}), relative tolerance {out['tol']:g}:")
    print(f"   {'solver':<60} {'seconds':>8} {'products':>9} {'max rel. error':>15}")
    for name, row in out["solvers"].items():
        print(f"   {name:<60} {row['seconds']:8.1f} {row['products']:9d} "
              f"{row['max_rel_error']:15.2e}")
    print(f"   LA(20) for comparison: {out['la20']['products']} products, "
          f"{out['la20']['seconds']:.1f} s")
