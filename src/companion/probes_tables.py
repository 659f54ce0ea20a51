"""Probes behind the NSGD tables (Jastrzębski et al. 2019, §4, Tables 1–7): validation
accuracy, estimators of the Hessian's Frobenius norm, and the distance travelled from the
starting point. See :mod:`companion.probes` for the probe protocol.

The tables' ‖H‖_F column is defined three ways (spec E4), and the companion records all
three so they can be compared:

* ``F_top``: √Σ_{i≤K} λ_i² over the top eigenvalues the run tracks (the paper's formula,
  with K = 50 in the paper; computed from the eigenvalues, see :mod:`companion.nsgd_analysis`);
* ``frobenius_hutch`` (here): √(mean_m ‖H z_m‖²) with Gaussian z_m, an unbiased estimate of
  ‖H‖_F² under the square root (Hutchinson);
* ``frobenius_code`` (here): √(mean_m ‖H z_m‖), what the authors' ``evaluate_FN`` returns (the
  norm is not squared, so it estimates roughly √‖H‖_F).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from .hessian import HessianOperator
from .probes import _evaluate, _positive_int, bn_mode


@dataclass(frozen=True)
class Validation:
    """Loss and accuracy (eval mode) on a validation split: the last ``n_val`` examples of
    the training split, which training never sees (the authors' 45k/5k CIFAR split)."""

    name: ClassVar[str] = "val"
    n_val: int = 5000

    def problems(self) -> list:
        return [] if _positive_int(self.n_val) else [f"n_val must be a positive integer, "
                                                      f"got {self.n_val!r}"]

    def prepare(self, task, config, device):
        if task.val_chunks is None:
            raise ValueError(f"data set {config.dataset!r} has no validation split")
        return task.loss_fn, task.val_chunks(self.n_val)

    def measure(self, model, prepared, state, config, step) -> dict:
        loss, acc = _evaluate(model, prepared[0], prepared[1])
        return {"val_loss": loss, "val_acc": acc}


@dataclass(frozen=True)
class HessianNorms:
    """Hutchinson's and the authors' estimators of ‖H‖_F with ``n_probes`` Gaussian vectors,
    on ``n_hessian`` fixed training examples (augmented once), plus the distance
    ‖θ − θ_start‖ from the run's starting parameters (at every measurement). The norms are
    estimated every ``every_epochs`` epochs and at the end (they cost ``n_probes`` Hessian
    products each)."""

    name: ClassVar[str] = "norms"
    n_probes: int = 8
    n_hessian: int = 2560
    hessian_batch_size: int = 256
    every_epochs: int = 1

    def problems(self) -> list:
        return [f"{n} must be a positive integer, got {getattr(self, n)!r}"
                for n in ("n_probes", "n_hessian", "hessian_batch_size", "every_epochs")
                if not _positive_int(getattr(self, n))]

    def prepare(self, task, config, device):
        # the seed differs from the eigenvalue probe's subset: an independent estimate
        return task.loss_fn, task.hessian_batches(self.n_hessian, self.hessian_batch_size,
                                                  config.seed + 101), task.steps_per_epoch

    def measure(self, model, prepared, state, config, step) -> dict:
        loss_fn, batches, steps_per_epoch = prepared
        params = [p for p in model.parameters() if p.requires_grad]
        theta = torch.nn.utils.parameters_to_vector(params).detach().cpu()
        if "start" not in state:
            state["start"] = theta.clone()
        distance = float((theta - state["start"]).double().norm())
        due = step % (self.every_epochs * steps_per_epoch) == 0 \
            or step >= config.epochs * steps_per_epoch
        if not due:
            return {"distance": distance}
        op = HessianOperator(model, loss_fn, batches, weight_decay=config.weight_decay,
                             bn_mode=bn_mode(model, config), seed=config.seed)
        gen = torch.Generator().manual_seed(config.seed + 7 + step)
        norms = []
        for _ in range(self.n_probes):
            z = torch.randn(op.dim, generator=gen).to(op.device, op.dtype)
            norms.append(float(op.matvec(z).double().norm()))
        norms = torch.tensor(norms, dtype=torch.float64)
        return {"frobenius_hutch": float(norms.pow(2).mean().sqrt()),
                "frobenius_code": float(norms.mean().sqrt()), "distance": distance}
