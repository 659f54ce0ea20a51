"""``make bench`` section 9: the cost of the walk (Xing et al. 2018) against training.

For the default profile's networks (VGG-11 ×1/8 and ResNet-56 ×1/4 on CIFAR-10, the MLP on
MNIST), one SGD step of batch 100 against one interpolated segment (10 evaluations of the
loss on the default profile's evaluation set, BatchNorm in train mode), the segment's α
points evaluated batched (``vmap`` over the stacked parameters) and one by one; both give
the same losses (their largest difference is printed)."""

from __future__ import annotations

import time

import torch

NETWORKS = (("vgg11_walk", 0.125, 3, 32, 200), ("resnet56", 0.25, 3, 32, 150),
            ("mlp_bn", 1.0, 1, 28, 2000))


def _best(fn, repeats: int) -> float:
    fn()  # warm-up (and vmap's tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def walk_costs(device: torch.device, repeats: int = 3, networks=NETWORKS) -> list:
    from .bench_system import _sync
    from .landscape import ALPHA_POINTS, Interpolator, flat_parameters
    from .models import build_model, cross_entropy

    rows = []
    for name, width, channels, side, n_eval in networks:
        torch.manual_seed(0)
        model = build_model(name, width=width, in_channels=channels, image_size=side).to(device)
        x = torch.randn(max(n_eval, 100), channels, side, side, device=device)
        y = torch.randint(0, 10, (len(x),), device=device)
        batches = [(x[i:i + 250], y[i:i + 250]) for i in range(0, n_eval, 250)]
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step():
            opt.zero_grad()
            cross_entropy(model(x[:100]), y[:100]).backward()
            opt.step()
            _sync(device)
        step_s = _best(step, repeats)
        a = flat_parameters(model)
        b = a + 1e-3 * torch.randn_like(a)
        alphas = [k / ALPHA_POINTS for k in range(1, ALPHA_POINTS + 1)]
        interp = Interpolator(model, cross_entropy, batches)
        out = {}
        for batched in (True, False):
            out[batched] = _best(lambda: (interp.line(a, b, alphas, batched), _sync(device)),
                                 repeats)
        diff = float((interp.line(a, b, alphas, True) - interp.line(a, b, alphas, False))
                     .abs().max())
        chosen = out[interp.batched]
        rows.append({"model": name, "width": width, "n_eval": n_eval, "step_s": step_s,
                     "vmap_s": out[True], "loop_s": out[False],
                     "speedup_vmap": out[False] / out[True], "overhead": chosen / step_s,
                     "default": "vmap" if interp.batched else "loop", "max_abs_diff": diff})
    return rows


def report(rows: list) -> None:
    print("\n9. The walk: one interpolated segment (10 loss evaluations) against one SGD step "
          "(batch 100):")
    print(f"   {'network':<22} {'n_eval':>6} {'step':>8} {'vmap':>8} {'loop':>8} "
          f"{'loop/vmap':>9} {'segment/step':>12}  (seconds; default route, max |diff|)")
    for r in rows:
        print(f"   {r['model'] + ' ×' + format(r['width'], 'g'):<22} {r['n_eval']:6d} "
              f"{r['step_s']:8.4f} {r['vmap_s']:8.4f} {r['loop_s']:8.4f} "
              f"{r['speedup_vmap']:9.2f} {r['overhead']:12.1f}  ({r['default']}, "
              f"{r['max_abs_diff']:.1e})")
