"""Sections 1 and 2 of ``make bench``: the Hessian-vector product against a gradient, and
the top eigenpairs of SimpleCNN by the companion's Lanczos, curvlinops + ``eigsh`` and the
real PyHessian, on the same model and data."""

from __future__ import annotations

import time

import numpy as np
import torch

from . import data as data_lib
from .bench_system import _sync, _timed
from .hessian import HessianOperator, lanczos
from .models import build_model, cross_entropy


def cifar_batch(n: int, device: torch.device) -> tuple:
    train = data_lib.load_cifar10("train")
    return data_lib.normalize_images(train.x[:n], device), train.y[:n].to(device)


def hvp_over_gradient(device: torch.device, n_images: int = 512) -> dict:
    torch.manual_seed(0)
    model = build_model("simplecnn").to(device)
    x, y = cifar_batch(n_images, device)
    op = HessianOperator(model, cross_entropy, [(x, y)])
    v = torch.randn(op.dim, device=device)

    def gradient():
        model.zero_grad(set_to_none=True)
        cross_entropy(model(x), y).backward()

    t_grad, t_hvp = _timed(gradient, device), _timed(lambda: op @ v, device)
    return {"images": n_images, "gradient_s": t_grad, "hvp_s": t_hvp, "ratio": t_hvp / t_grad}


def eigensolvers(device: torch.device, n_images: int = 128, k: int = 10) -> dict:
    """Top-k of a SimpleCNN Hessian after a few SGD steps, three ways."""
    from curvlinops import HessianLinearOperator
    from scipy.sparse.linalg import LinearOperator, eigsh

    torch.manual_seed(0)
    model = build_model("simplecnn").to(device)
    x, y = cifar_batch(max(n_images, 512), device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for start in range(0, 512, 128):  # leave the initialization's degenerate spectrum
        optimizer.zero_grad()
        cross_entropy(model(x[start:start + 128]), y[start:start + 128]).backward()
        optimizer.step()
    batches = [(x[:n_images], y[:n_images])]

    rows = {}
    reference = HessianLinearOperator(model, torch.nn.CrossEntropyLoss(),
                                      [p for p in model.parameters()], batches).to_scipy()
    counter = {"n": 0}

    def counted(v):
        counter["n"] += 1
        return reference @ v
    scipy_op = LinearOperator(reference.shape, matvec=counted, dtype=reference.dtype)
    start = time.perf_counter()
    ref_vals = np.sort(eigsh(scipy_op, k=k, which="LA", tol=1e-6)[0])[::-1]
    rows[EIGSH] = {"seconds": time.perf_counter() - start,
                                             "products": counter["n"], "max_rel_error": 0.0}
    op = HessianOperator(model, cross_entropy, batches)
    for name, solve in ((COMPANION, lambda: _lanczos_counted(op, k)),
                        (PYHESSIAN, lambda: _pyhessian(model, batches[0], k, device))):
        _sync(device)
        start = time.perf_counter()
        values, products = solve()
        _sync(device)
        vals = np.sort(np.asarray(values, dtype=np.float64))[::-1]
        rows[name] = {"seconds": time.perf_counter() - start, "products": products,
                      "max_rel_error": float(np.max(np.abs(vals - ref_vals) / np.abs(ref_vals)))}
    return {"images": n_images, "k": k, "eigenvalues": ref_vals.tolist(), "solvers": rows}


COMPANION = "companion lanczos (tol 1e-5)"
PYHESSIAN = "pyhessian 0.1 eigenvalues (power iteration, tol 1e-3, ≤100/pair)"
EIGSH = "curvlinops + eigsh (tol 1e-6)"


def _lanczos_counted(op, k: int) -> tuple:
    result = lanczos(op, k=k, which="LA")
    return result.vals.double().cpu().numpy(), result.num_matvecs


def _pyhessian(model, data: tuple, k: int, device: torch.device) -> tuple:
    """The real PyHessian (Yao et al. 2020) on the same model and data; its products are
    counted by wrapping the function it calls for each Hessian-vector product."""
    import importlib

    ph = importlib.import_module("pyhessian.hessian")  # the module (the package re-exports the class)

    counter = {"n": 0}
    original = ph.hessian_vector_product

    def counted(*args, **kwargs):
        counter["n"] += 1
        return original(*args, **kwargs)

    ph.hessian_vector_product = counted
    try:
        torch.manual_seed(0)
        values, _ = ph.hessian(model, torch.nn.CrossEntropyLoss(), data=data,
                               cuda=device.type == "cuda").eigenvalues(top_n=k)
        model.train()  # PyHessian leaves the model in eval mode
    finally:
        ph.hessian_vector_product = original
        model.zero_grad(set_to_none=True)
    return values, counter["n"]
