"""``make bench`` section 8: whole Hessians of Sagun et al.'s blob net (2017, Table 1).

The 100-30-30-k network on k Gaussian blobs (1,000 points), briefly trained by GD, in
float64. The dense Hessian three ways, on the same operator:

* column blocks of vectorized Hessian-vector products (``companion.dense.dense_matrix``);
* a Python loop of single products (``block=0``);
* ``torch.func.hessian`` (all M tangents at once), only where its estimated memory fits;

then ``eigvalsh`` of the matrix, and Lanczos top-120 on the products beside it: time,
products, the outlier counts of both routes and their largest relative difference.
"""

from __future__ import annotations

import tempfile
import time

import torch

FUNCTORCH_LIMIT_GB = 4.0   # torch.func.hessian is skipped beyond this estimated peak


def _operator(k: int, n: int, steps: int, device):
    from .config import RunConfig
    from .hessian import HessianOperator
    from .models import build_model
    from .probes import Metrics
    from .results import ResultsCache
    from .tasks import build_task
    from .training import train

    config = RunConfig(model="mlp", dataset="blobs", augment=False, optimizer="gd", lr=0.1,
                       max_steps=steps, n_train=n, track_every=steps, device=str(device),
                       probes=(Metrics(n_eval=n),)).with_overrides(classes=k)
    task = build_task(config, device)
    model = build_model(config.model, **task.build_options).to(device)
    with tempfile.TemporaryDirectory(prefix="bench-dense-") as folder:  # the weights only
        cache = ResultsCache(folder)
        train(config, cache)
        model.load_state_dict(torch.load(cache.weights_path(config), map_location=device))
    model.double()
    batches = [(x.double(), y) for x, y in task.hessian_batches(n, n, 0)]
    return HessianOperator(model, task.loss_fn, batches)


def _functorch_gb(op, k: int) -> float:
    """Rough peak of torch.func.hessian: M tangents of every activation, float64."""
    widths = 100 + 30 + 30 + k   # the input, both hidden layers, the logits
    return 3 * op.dim * op.num_data * widths * 8 / 1e9


def dense_builds(device=None, k: int = 50, n: int = 1000, steps: int = 2000,
                 block: int = 32, top: int = 120) -> dict:
    from .dense import dense_matrix, eigenvalues, functorch_hessian, symmetrized
    from .lanczos import lanczos
    from .spectra import OUTLIER_METHODS, count_outliers

    device = torch.device(device or "cpu")
    op = _operator(k, n, steps, device)
    rows = {}
    start = time.perf_counter()
    dense, asym = symmetrized(dense_matrix(op, block))
    rows[f"vectorized blocks of {block} products"] = {"seconds": time.perf_counter() - start,
                                                      "max_abs_diff": 0.0}
    start = time.perf_counter()
    looped = dense_matrix(op, 0)
    rows["loop of single products"] = {"seconds": time.perf_counter() - start,
                                       "max_abs_diff": float((looped - dense).abs().max())}
    need = _functorch_gb(op, k)
    name = "torch.func.hessian"
    if need <= FUNCTORCH_LIMIT_GB:
        start = time.perf_counter()
        ref = functorch_hessian(op)
        rows[name] = {"seconds": time.perf_counter() - start,
                      "max_abs_diff": float((ref - dense).abs().max())}
    else:
        rows[name] = {"seconds": None, "skipped": f"needs ~{need:.0f} GB"}
    vals, eig_s = eigenvalues(dense)
    start, before = time.perf_counter(), op.num_matvecs
    res = lanczos(op, k=top, which="LA", tol=1e-6, max_iter=min(op.dim, 600), seed=1)
    lanczos_s = time.perf_counter() - start
    top_dense = vals[:top]
    return {"k": k, "n": n, "dim": op.dim, "asymmetry": asym, "builds": rows,
            "eigvalsh_s": eig_s, "lanczos_s": lanczos_s,
            "lanczos_products": op.num_matvecs - before, "lanczos_converged": bool(res.converged),
            "max_rel_diff_top": float(((res.vals.cpu() - top_dense).abs() / top_dense.abs()
                                       .clamp(min=1e-300))[:k + 10].max()),
            "counts_dense": {m: count_outliers(vals, m) for m in OUTLIER_METHODS},
            "counts_lanczos": {m: count_outliers(res.vals, m) for m in OUTLIER_METHODS}}


def report(out: dict) -> None:
    print(f"\n8. The dense Hessian of the blob net (k = {out['k']}, M = {out['dim']:,}, "
          f"{out['n']:,} points, float64; symmetric to {out['asymmetry']:.0e}):")
    for name, row in out["builds"].items():
        if row["seconds"] is None:
            print(f"   {name:<40} skipped ({row['skipped']})")
        else:
            print(f"   {name:<40} {row['seconds']:7.1f} s   max |difference| "
                  f"{row['max_abs_diff']:.1e}")
    print(f"   eigvalsh of the matrix {out['eigvalsh_s']:.1f} s; Lanczos top-120 "
          f"{out['lanczos_s']:.1f} s, {out['lanczos_products']} products, top k + 10 "
          f"within {out['max_rel_diff_top']:.1e}")
    print(f"   outlier counts, dense {out['counts_dense']} / Lanczos {out['counts_lanczos']}")
