"""Performance figures (``make bench``), each measured in one run on this machine.

1. Hessian-vector product time / gradient time on the same batch (SimpleCNN, 512 images).
2. Top-10 eigenpairs of SimpleCNN on a fixed CIFAR-10 subset: the companion's Lanczos,
   curvlinops' HessianLinearOperator + scipy ``eigsh`` (tol 1e-6, the reference), and the
   real PyHessian 0.1 (``hessian(model, criterion, data=(x, y)).eigenvalues(top_n=10)``:
   power iteration with deflation, tol 1e-3, ≤ 100 products per eigenpair), on the same
   model and data in the same run: wall time, products, and the largest relative
   eigenvalue error against ``eigsh``.
3. Training throughput (images/s) of SimpleCNN and ResNet-32, three ways on the same images:
   the training loop as it is (on a GPU: CUDA-graph steps, TF32, losses read back once per
   epoch), the eager loop it replaced (a read-back per step), and a plain
   ``torch.utils.data.DataLoader`` with torchvision transforms.
5. Warm against cold Lanczos along training (the chapters' probes): products and time per
   top-5 measurement, SimpleCNN at half width every 30 SGD steps, warm-started from the
   previous eigenvectors or from a random vector, to the same tolerance.
6. Nudged-SGD against SGD, the same network and data trained side by side in this run
   (SimpleCNN at half width, 6 of the paper's 45,000-image epochs, γ = 0.01, K = 5, the
   chapter's refresh: each epoch on 256 images to a residual of 10⁻² θ₁): seconds per epoch
   and their ratio, over the run and in steady state (the paper reports 2–3×), products per
   refresh (cold, then warm), the overlap of consecutive nudged subspaces, and the accuracy
   of the directions (:mod:`companion.bench_nsgd`).
4. (CPU) Seconds per Hessian-vector product with 1 or 2 torch threads and OpenMP's ACTIVE
   or PASSIVE wait policy: on a quiet machine, next to one busy single-threaded process,
   and next to a two-thread torch process.

    python -m companion.bench [--images 512] [--eig-images 128] [--device auto] [--only 1,2,3]
7. The bottom of the spectrum (Alain et al. 2019): SA(3) of LeNet-small after RMSProp on
   MNIST by the companion's Lanczos, scipy's eigsh and shifted power iteration
   (:mod:`companion.bench_bottom`), and LA(20) beside it.
8. Whole Hessians (Sagun et al. 2017): the dense Hessian of the 5,510-parameter blob net
   by vectorized blocks of products, a loop of single products and torch.func.hessian
   (where it fits), eigvalsh, and Lanczos top-120 with the outlier counts of both
   (:mod:`companion.bench_dense`).
9. The walk (Xing et al. 2018): one interpolated segment against one SGD step, its α
   points batched by ``vmap`` and one by one (:mod:`companion.bench_walk`).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from .models import build_model, cross_entropy
from .results import describe_device
from .bench_system import thread_policy, throughput
from .bench_bottom import bottom_eigensolvers, report as report_bottom
from .bench_dense import dense_builds, report as report_dense
from .bench_nsgd import nsgd_overhead, report_nsgd
from .bench_walk import report as report_walk, walk_costs
from .runtime import resolve_device
from .bench_eigen import COMPANION, EIGSH, PYHESSIAN, cifar_batch, eigensolvers, hvp_over_gradient


def warm_vs_cold(device: torch.device, points: int = 5, every: int = 30, k: int = 5,
                 tol: float = 3e-3) -> dict:
    from .config import RunConfig
    from .probes import top_eigenpairs

    torch.manual_seed(0)
    model = build_model("simplecnn", width=0.5).to(device)
    x, y = cifar_batch(1024, device)
    batches, config = [(x[:256], y[:256])], RunConfig(seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    rows, previous = [], None
    for point in range(points):
        for step in range(every):
            start = (step * 128) % 1024
            optimizer.zero_grad()
            cross_entropy(model(x[start:start + 128]), y[start:start + 128]).backward()
            optimizer.step()
        row = {}
        for name, prev in (("cold", None), ("warm", previous)):
            if name == "warm" and prev is None:
                continue
            t0 = time.perf_counter()
            result = top_eigenpairs(model, cross_entropy, batches, config, k, tol,
                                    seed=point, previous=prev)
            row[name] = (result.num_matvecs, time.perf_counter() - t0, result.vals.cpu())
        if "warm" in row:
            rows.append({"cold_products": row["cold"][0], "warm_products": row["warm"][0],
                         "cold_s": row["cold"][1], "warm_s": row["warm"][1],
                         "max_rel_diff": float(((row["warm"][2] - row["cold"][2]).abs()
                                                / row["cold"][2].abs()).max())})
        previous = result.vecs.detach()
    return {"k": k, "tol": tol, "every": every, "points": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=512, help="images for HVP vs gradient")
    parser.add_argument("--eig-images", type=int, default=64, help="images for the eigensolvers")
    parser.add_argument("--train-images", type=int, default=2560)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-threads", action="store_true",
                        help="skip the thread-policy measurement (CPU only, ~2 minutes)")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8,9",
                        help="the sections to run, e.g. 1,2,3 (a GPU's few minutes)")
    args = parser.parse_args(argv)
    want = set(args.only.split(","))
    device = resolve_device(args.device)
    print(f"device: {describe_device(device)}; torch {torch.__version__}\n")

    out = {"device": describe_device(device)}
    for section, (key, measure) in SECTIONS.items():
        if section in want and (section != "4" or (device.type == "cpu" and not args.skip_threads)):
            out[key] = measure(device, args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(out, handle, indent=1)
    return 0


def _hvp(device, args) -> dict:
    hv = hvp_over_gradient(device, args.images)
    print(f"1. HVP / gradient (SimpleCNN, {hv['images']} images): {hv['hvp_s'] * 1e3:.0f} ms / "
          f"{hv['gradient_s'] * 1e3:.0f} ms = {hv['ratio']:.2f}")
    return hv


def _eigensolvers(device, args) -> dict:
    eig = eigensolvers(device, args.eig_images)
    print(f"\n2. Top-{eig['k']} eigenpairs (SimpleCNN, {eig['images']} CIFAR-10 images), "
          f"λ1 = {eig['eigenvalues'][0]:.4g}:")
    print(f"   {'solver':<66} {'seconds':>8} {'products':>9} {'max rel. error':>15}")
    for name, row in eig["solvers"].items():
        print(f"   {name:<66} {row['seconds']:8.1f} {row['products']:9d} "
              f"{row['max_rel_error']:15.2e}")
    solvers = eig["solvers"]
    ours, ref = solvers[COMPANION]["products"], solvers[EIGSH]["products"]
    peer = solvers[PYHESSIAN]["products"]
    print(f"   products: companion/eigsh = {ours / ref:.2f}, pyhessian/companion = "
          f"{peer / ours:.1f}; time: pyhessian/companion = "
          f"{solvers[PYHESSIAN]['seconds'] / solvers[COMPANION]['seconds']:.1f}")
    return eig


def _throughput(device, args) -> list:
    print("\n3. Training throughput (images/s, batch 128, with augmentation; eager: the loop "
          "before CUDA graphs, TF32 and grouped read-back):")
    rows = [throughput(device, m, args.train_images) for m in ("simplecnn", "resnet32")]
    for row in rows:
        print(f"   {row['model']:<10} companion {row['companion_images_per_s']:8.0f}   "
              f"eager {row['eager_images_per_s']:8.0f} (×{row['speedup_over_eager']:.2f})   "
              f"DataLoader {row['dataloader_images_per_s']:8.0f} (×{row['speedup']:.2f})")
    return rows


def _threads(device, args) -> list:
    print("\n4. Thread settings, one HVP of quarter-width ResNet-32 on 128 images "
          "(seconds): quiet, next to a busy 1-thread process, next to a 2-thread torch one:")
    threads = thread_policy()
    for row in threads:
        print(f"   {row['setting']:<48} quiet {row['quiet_s']:6.2f}   busy "
              f"{row['busy_s']:6.2f}   torch×2 {row['torch2_s']:6.2f}")
    return threads


def _warm(device, args) -> dict:
    warm = warm_vs_cold(device)
    pts = warm["points"]
    print(f"\n5. Top-{warm['k']} Lanczos every {warm['every']} SGD steps (tol {warm['tol']:g}), "
          f"mean over {len(pts)} points: cold {np.mean([p['cold_products'] for p in pts]):.1f} "
          f"products / {np.mean([p['cold_s'] for p in pts]):.2f} s, warm "
          f"{np.mean([p['warm_products'] for p in pts]):.1f} / "
          f"{np.mean([p['warm_s'] for p in pts]):.2f} s; eigenvalues agree to "
          f"{max(p['max_rel_diff'] for p in pts):.1e}")
    return warm


def _reported(measure, report):
    def run(device, args):
        numbers = measure(device)
        report(numbers)
        return numbers
    return run


SECTIONS = {"1": ("hvp", _hvp), "2": ("eigensolvers", _eigensolvers),
            "3": ("throughput", _throughput), "5": ("warm_vs_cold", _warm),
            "6": ("nsgd", _reported(nsgd_overhead, report_nsgd)),
            "7": ("bottom", _reported(bottom_eigensolvers, report_bottom)),
            "8": ("dense", _reported(dense_builds, report_dense)),
            "9": ("walk", _reported(walk_costs, report_walk)),
            "4": ("threads", _threads)}


if __name__ == "__main__":
    raise SystemExit(main())
