"""``make bench`` section 6: what Nudged-SGD costs over SGD, and how good its directions are.

SGD and Nudged-SGD (γ = 0.01, K = 5) train the same network on the same images side by side
in one process, with the chapter's refresh settings (top-5 Hessian eigenvectors once per
epoch, on a fixed subset of 256 training images, by Lanczos warm-started from the previous
directions and stopped when every residual is at most 10⁻² θ₁, the spec's rule). Measured:

* seconds per epoch of each, and their ratio over the whole run (the end point's extra
  refresh, which only measures, left out);
* the steady-state ratio: the same, with every refresh charged at the mean cost of those in
  the run's second half (the first, cold one and the early ones, which follow a subspace
  that turns fast, cost more);
* products per refresh, cold (the first) against warm (the later ones);
* the overlap ‖E_prevᵀE_new‖²_F / K of consecutive nudged subspaces (how far the directions
  turn between refreshes), per refresh and its median over the second half;
* the accuracy of the directions at the end point: the refresh's tolerance against a tight
  one (10⁻⁴) on the same images, and 256 images against an independent 2,560 (the authors'
  sample size), as subspace overlaps.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import torch

K, GAMMA, LR = 5, 0.01, 0.05


def _overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.T @ b).pow(2).sum()) / a.shape[1]


def nsgd_overhead(device: torch.device, n_train: int = 45000, epochs: int = 6,
                  examples: int = 256, tol: float = 1e-2, reference: int = 2560) -> dict:
    from .config import RunConfig
    from .models import build_model
    from .probes import Metrics, top_eigenpairs
    from .results import ResultsCache
    from .tasks import build_task
    from .training import train

    sgd = RunConfig(model="simplecnn", width=0.5, n_train=n_train, n_test=100, epochs=epochs,
                    lr=LR, track_every=epochs, device=str(device),
                    probes=(Metrics(n_eval=100),))
    nsgd = sgd.with_overrides(optimizer="nudged").with_overrides(
        gamma=GAMMA, directions=K, refresh_examples=examples, refresh_tol=tol)
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="bench-nsgd-") as tmp:
        cache = ResultsCache(tmp)
        for name, config in (("sgd", sgd), ("nsgd", nsgd)):
            start = time.perf_counter()
            result = train(config, cache, need_weights=name == "nsgd")
            seconds[name] = time.perf_counter() - start
        refreshes = result["refreshes"]
        final = [r for r in refreshes if r.get("final")]
        training = [r for r in refreshes if not r.get("final")]
        seconds["nsgd"] -= sum(r["seconds"] for r in final)
        warm = training[1:]
        late = warm[len(warm) // 2:] or warm
        sgd_epoch = seconds["sgd"] / epochs

        # The directions at the end point: tolerance and sample size against tight references.
        task = build_task(nsgd, device)
        model = build_model(nsgd.model, **task.build_options).to(device)
        model.load_state_dict(torch.load(cache.weights_path(nsgd), map_location=device))

        def top(n, seed, t):
            batches = task.hessian_batches(n, min(n, 256), seed)
            return top_eigenpairs(model, task.loss_fn, batches, nsgd, K, t, seed=1).vecs[:, :K]

        run_seed = nsgd.seed + 3                     # the run's own refresh images
        loose, tight = top(examples, run_seed, tol), top(examples, run_seed, 1e-4)
        other = top(reference, nsgd.seed + 1000, 1e-4)   # an independent, larger sample
    return {"epochs": epochs, "examples": examples, "tol": tol, "reference": reference,
            "sgd_s_per_epoch": sgd_epoch, "nsgd_s_per_epoch": seconds["nsgd"] / epochs,
            "ratio": seconds["nsgd"] / seconds["sgd"],
            "steady_ratio": (seconds["nsgd"] - sum(r["seconds"] for r in training)
                             + len(training) * statistics.mean(r["seconds"] for r in late))
                            / seconds["sgd"],
            "cold_products": training[0]["lanczos_matvecs"],
            "warm_products": statistics.mean(r["lanczos_matvecs"] for r in warm),
            "refresh_s": statistics.mean(r["seconds"] for r in training),
            "overlaps": [round(r["overlap"], 3) for r in warm],
            "min_overlap": min(r["overlap"] for r in warm),
            "steady_overlap": statistics.median(r["overlap"] for r in late),
            "tol_vs_tight": _overlap(loose, tight),
            "sample_vs_reference": _overlap(tight, other),
            "lambda_1": training[-1]["eigenvalues"][0]}


def report_nsgd(cost: dict) -> None:
    print(f"\n6. Nudged-SGD vs SGD (SimpleCNN-½, {cost['epochs']} epochs of the paper's 45,000 "
          f"images, γ = {GAMMA}, K = {K}, refreshed each epoch on {cost['examples']} images to "
          f"residual ≤ {cost['tol']:g}·θ1): {cost['nsgd_s_per_epoch']:.1f} s / "
          f"{cost['sgd_s_per_epoch']:.1f} s per epoch = ×{cost['ratio']:.2f} over the run, "
          f"×{cost['steady_ratio']:.2f} in steady state (second half; paper: 2–3×)")
    print(f"   products per refresh: cold {cost['cold_products']}, warm "
          f"{cost['warm_products']:.1f}; {cost['refresh_s']:.2f} s per refresh; λ1 at the last "
          f"training refresh {cost['lambda_1']:.4g}")
    print(f"   overlap of consecutive nudged subspaces: {cost['overlaps']} (second-half median "
          f"{cost['steady_overlap']:.3f})")
    print(f"   directions at the end point: tol {cost['tol']:g} vs 1e-4 on the same images "
          f"{cost['tol_vs_tight']:.3f}; {cost['examples']} images vs an independent "
          f"{cost['reference']} {cost['sample_vs_reference']:.3f}")
