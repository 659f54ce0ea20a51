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
        return self._eigenpairs(model, prepared, state, config, step)[1]

    def _eigenpairs(self, model, prepared, state, config, step) -> tuple:
        """(LanczosResult, record); the eigenvectors stay in ``state`` for the warm start."""
        start = time.perf_counter()
        loss_fn, batches = prepared
        previous = state.get("vecs") if self.warm_start else None
        result = top_eigenpairs(model, loss_fn, batches, config, self.top_k, self.lanczos_tol,
                                seed=config.seed + step, previous=previous)
        if self.warm_start:
            state["vecs"] = result.vecs.detach().to("cpu")
        return result, {"eigenvalues": [float(v) for v in result.vals.cpu()],
                        "residuals": [float(r) for r in result.residuals.cpu()],
                        "lanczos_matvecs": int(result.num_matvecs),
                        "hessian_seconds": round(time.perf_counter() - start, 3)}


def top_eigenpairs(model, loss_fn, batches, config, k: int, tol: float, seed: int,
                   previous=None):
    """The top-``k`` (algebraic) Hessian eigenpairs of the training objective (loss on
    ``batches`` + weight decay) by Lanczos; ``previous`` (dim × k' eigenvectors of an
    earlier point) warm-starts it: v0 = their sum plus 10% random part."""
    op = HessianOperator(model, loss_fn, batches, weight_decay=config.weight_decay,
                         bn_mode=bn_mode(model, config), seed=config.seed)
    v0 = None
    if previous is not None:
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(op.dim, generator=gen).to(op.dtype).to(op.device)
        previous = previous.to(op.device, op.dtype)
        v0 = previous.sum(dim=1) + 0.1 * noise / noise.norm() * previous.shape[1] ** 0.5
    return lanczos(op, k=min(k, op.dim), which="LA", tol=tol, seed=seed, v0=v0)


# The expected-step multiples k of the cross-sections (the authors' grid; they plot |k| ≤ 8).
SECTION_K = (-8.0, -4.0, -2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class SharpestDirections(TopEigen):
    """The SGD step against the top Hessian eigenvectors e_i (Jastrzębski et al. 2019, §3.2).

    At a measurement point: the top-``top_k`` eigenpairs (as :class:`TopEigen`), and
    ``n_gradients`` mini-batch gradients g_j drawn once (batches of the run's size, augmented
    as training sees them) and reused for

    * ``cosines``: mean_j |cos(g_j, e_i)| for every i ≤ top_k (Fig. 5);
    * ``step_change``: for each i in ``step_directions``, ΔL(α) = mean_j L(θ − αη g̃_ij) − L(θ)
      with g̃_ij = ⟨g_j, e_i⟩ e_i, in % of L(θ), for every α in ``alphas`` (Fig. 6 left);
    * ``sections``: for each i in ``section_directions``, L(θ + k Δθ_i e_i) for k in
      ``section_k``, with Δθ_i = η mean_j |⟨g_j, e_i⟩| the expected step along e_i (Fig. 6 right).

    L is the training objective (weight decay included) on the first ``n_loss`` training
    examples, unaugmented, in eval mode. Everything is computed on the training device with
    its own random generator; the run's parameters are restored exactly afterwards.
    """

    name: ClassVar[str] = "directions"
    top_k: int = 5
    n_gradients: int = 10
    alphas: tuple = (0.25, 0.5, 1.0, 2.0, 4.0)
    step_directions: tuple = (1,)
    section_directions: tuple = (1,)
    section_k: tuple = SECTION_K
    n_loss: int = 2560

    def problems(self) -> list:
        out = super().problems()
        if not _positive_int(self.n_gradients) or not _positive_int(self.n_loss):
            out.append("n_gradients and n_loss must be positive integers")
        for name in ("step_directions", "section_directions"):
            bad = [i for i in getattr(self, name) if not (_positive_int(i) and i <= self.top_k)]
            if bad:
                out.append(f"{name} must be eigenvector indices in 1..top_k={self.top_k}, "
                           f"got {getattr(self, name)!r}")
        if not self.alphas or not self.section_k:
            out.append("alphas and section_k must not be empty")
        return out

    def prepare(self, task, config, device):
        return (*super().prepare(task, config, device), task.epoch_batches,
                task.eval_chunks(self.n_loss)[0])

    def measure(self, model, prepared, state, config, step) -> dict:
        loss_fn, batches, epoch_batches, loss_chunks = prepared
        eig, record = self._eigenpairs(model, (loss_fn, batches), state, config, step)
        start = time.perf_counter()
        vecs, vals = eig.vecs, eig.vals
        params = [p for p in model.parameters() if p.requires_grad]
        theta = torch.nn.utils.parameters_to_vector(params).detach().clone()
        grads = _minibatch_gradients(model, params, loss_fn, epoch_batches, self.n_gradients,
                                     config, step)                      # (n, D)
        coef = grads @ vecs.to(grads)                                   # (n, K): ⟨g_j, e_i⟩
        cos = coef / grads.norm(dim=1, keepdim=True)
        record.update(num_parameters=int(theta.numel()), n_gradients=len(grads),
                      gradient_norm=float(grads.norm(dim=1).mean()),
                      cosines=[float(c) for c in cos.abs().mean(0)],
                      expected_steps=[float(config.lr * c) for c in coef.abs().mean(0)])

        def loss_at(direction: torch.Tensor, t: float) -> float:
            _set_flat(params, theta + t * direction)
            value = _evaluate(model, loss_fn, loss_chunks)[0]
            if config.weight_decay:
                value += 0.5 * config.weight_decay * float((theta + t * direction).double()
                                                           .pow(2).sum())
            return value

        try:
            with torch.no_grad():
                base = loss_at(theta, 0.0)
                change, sections = {}, {}
                for i in self.step_directions:
                    e = vecs[:, i - 1].to(theta)
                    change[str(i)] = [
                        100.0 * (sum(loss_at(e, -a * config.lr * float(c))
                                     for c in coef[:, i - 1]) / len(coef) / base - 1.0)
                        for a in self.alphas]
                for i in self.section_directions:
                    e, dtheta = vecs[:, i - 1].to(theta), record["expected_steps"][i - 1]
                    sections[str(i)] = [loss_at(e, k * dtheta) for k in self.section_k]
        finally:
            _set_flat(params, theta)
        record.update(loss=base, step_change=change, sections=sections,
                      step_eigenvalues=[float(v) for v in vals.cpu()],
                      directions_seconds=round(time.perf_counter() - start, 3))
        return record


@torch.no_grad()
def _set_flat(params: list, vector: torch.Tensor) -> None:
    """Copy a flat vector into the parameters (in place: no parameter aliases it)."""
    offset = 0
    for p in params:
        p.copy_(vector[offset:offset + p.numel()].view_as(p))
        offset += p.numel()


def _minibatch_gradients(model, params, loss_fn, epoch_batches, n, config, step) -> torch.Tensor:
    """``n`` gradients of the training objective on mini-batches drawn (and augmented) as
    training draws them, from a generator of their own; dropout masks seeded, the global
    RNG restored."""
    device = params[0].device
    gen = torch.Generator(device=device)
    gen.manual_seed(config.seed + 1_000_003 + step)
    out = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed + step)
        model.train()
        for inputs, targets in epoch_batches(gen):
            loss = loss_fn(model(inputs), targets)
            grads = torch.autograd.grad(loss, params)
            flat = torch.cat([g.reshape(-1) for g in grads])
            if config.weight_decay:
                flat = flat + config.weight_decay * torch.cat([p.detach().reshape(-1)
                                                               for p in params])
            out.append(flat.detach())
            if len(out) == n:
                break
    return torch.stack(out)





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


def bn_mode(model, config):
    """BatchNorm in train mode (batch statistics, as SGD sees them) for a model that has it."""
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    return "train" if config.batch_norm or has_bn else None


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


# the NSGD tables' probes live in companion.probes_tables (imported last: they use helpers above)
from .probes_tables import HessianNorms, Validation  # noqa: E402
# post-hoc probes: analyses of a run's saved snapshots after training (Alain et al. 2019)
from .probes_snapshots import POST_HOC  # noqa: E402
from .probes_spectra import POST_HOC_SPECTRA  # noqa: E402  (Sagun et al. 2017)
from .probes_walk import Walk  # noqa: E402  (Xing et al. 2018)

PROBES = {p.name: p for p in (Metrics, TopEigen, SharpestDirections, Validation, HessianNorms,
                              *POST_HOC, *POST_HOC_SPECTRA, Walk)}
