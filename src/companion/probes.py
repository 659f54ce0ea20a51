"""Probes: what is measured along training, at the moments the training loop chooses
(initialization, every ``track_every`` epochs, every ``zoom_every`` steps of the zoom).

A probe is a frozen dataclass whose fields are its options (part of the run's identity and
so of its cache key) with three methods:

* ``problems()`` lists what is wrong with the options (checked before anything runs);
* ``prepare(task, config, device)`` builds what stays fixed along the run (a Hessian subset,
  evaluation batches) once;
* ``measure(model, prepared, state, config, step)`` returns the numbers recorded at that
  moment. ``state`` is the probe's own dict, kept in the checkpoint (for example the last
  eigenvectors, used to warm-start the next Lanczos run), so a resumed run measures exactly
  what an uninterrupted one would.

Adding a probe is one class here and one entry in ``PROBES``; a chapter puts it in its runs'
``probes``. Probes must not touch the global RNG (training would then depend on them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import torch

from .hessian import HessianOperator
from .lanczos import lanczos


@dataclass(frozen=True)
class Metrics:
    """Mean loss and accuracy (eval mode) on the first ``n_eval`` training examples
    (LSTM: tokens) and on the test set."""

    name: ClassVar[str] = "metrics"
    n_eval: int = 2500

    def problems(self) -> list:
        return [] if _positive_int(self.n_eval) else [f"n_eval must be a positive integer, "
                                                       f"got {self.n_eval!r}"]

    def prepare(self, task, config, device):
        return (task.loss_fn, *task.eval_chunks(self.n_eval))

    def measure(self, model, prepared, state, config, step) -> dict:
        loss_fn, train_chunks, test_chunks = prepared
        tr, te = _evaluate(model, loss_fn, train_chunks), _evaluate(model, loss_fn, test_chunks)
        return {"train_loss": tr[0], "train_acc": tr[1], "test_loss": te[0], "test_acc": te[1]}


@dataclass(frozen=True)
class TopEigen:
    """The ``top_k`` largest Hessian eigenvalues of the mean training loss on a fixed subset
    of ``n_hessian`` training examples (augmented once, dropout masks fixed), by Lanczos
    (Jastrzębski et al. 2019, §2: top 10 on ~5% of the training set).

    ``warm_start``: start Lanczos from the previous measurement's eigenvectors (plus a
    small random part) instead of a random vector; the Hessian changes little between
    measurements, so the same tolerance is met with fewer products.
    """

    name: ClassVar[str] = "eigen"
    top_k: int = 10
    n_hessian: int = 2500
    hessian_batch_size: int = 250
    lanczos_tol: float = 1e-4
    warm_start: bool = True

    def problems(self) -> list:
        out = [f"{n} must be a positive integer, got {getattr(self, n)!r}"
               for n in ("top_k", "n_hessian", "hessian_batch_size")
               if not _positive_int(getattr(self, n))]
        if not (isinstance(self.lanczos_tol, (int, float)) and self.lanczos_tol > 0):
            out.append(f"lanczos_tol must be a positive number, got {self.lanczos_tol!r}")
        return out

    def prepare(self, task, config, device):
        return task.loss_fn, task.hessian_batches(self.n_hessian, self.hessian_batch_size,
                                                  config.seed)

    def measure(self, model, prepared, state, config, step) -> dict:
        start = time.perf_counter()
        loss_fn, batches = prepared
        op = HessianOperator(model, loss_fn, batches, weight_decay=config.weight_decay,
                             bn_mode="train" if config.batch_norm else None, seed=config.seed)
        k = min(self.top_k, op.dim)
        v0 = None
        if self.warm_start and state.get("vecs") is not None:
            gen = torch.Generator().manual_seed(config.seed + step)
            noise = torch.randn(op.dim, generator=gen).to(op.dtype).to(op.device)
            previous = state["vecs"].to(op.device)
            v0 = previous.sum(dim=1) + 0.1 * noise / noise.norm() * previous.shape[1] ** 0.5
        result = lanczos(op, k=k, which="LA", tol=self.lanczos_tol, seed=config.seed + step,
                         v0=v0)
        if self.warm_start:
            state["vecs"] = result.vecs.detach().to("cpu")
        return {"eigenvalues": [float(v) for v in result.vals.cpu()],
                "residuals": [float(r) for r in result.residuals.cpu()],
                "lanczos_matvecs": int(result.num_matvecs),
                "hessian_seconds": round(time.perf_counter() - start, 3)}


PROBES = {probe.name: probe for probe in (Metrics, TopEigen)}


@torch.no_grad()
def _evaluate(model, loss_fn, chunks: list) -> tuple:
    """(mean loss, accuracy) per example (per token for sequences), in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for inputs, targets in chunks:
        outputs = model(inputs)
        n = targets.numel()
        total_loss += loss_fn(outputs, targets).item() * n
        correct += (outputs.argmax(-1) == targets).sum().item()
        count += n
    model.train(was_training)
    return total_loss / count, correct / count


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
