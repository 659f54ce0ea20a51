r"""Post-hoc probes of Sagun et al. (2017): the whole Hessian spectrum of a small network at
initialization and at the end of training, its Gauss-Newton split, and the loss on the
straight line between two solutions.

* :class:`DenseSpectrum` (``spectrum``): every eigenvalue of the Hessian of the mean training
  loss, built exactly in float64 from Hessian-vector products (:mod:`companion.dense`) and
  diagonalized by ``eigvalsh``; with ``ggn=True`` also of its Gauss-Newton part G and of
  R = H − G (Eq. 5). ``method="lanczos"`` gives the top ``top`` eigenvalues instead (for
  networks too large for a dense matrix on the machine at hand).
* :class:`LineBetween` (``line``): loss and accuracy at θ(α) = (1 − α)θ_I + αθ_II, θ_I the
  final weights of the run this one starts from (``start_from``), θ_II its own (Fig. 9).

Both analyse saved weights after training (see :mod:`companion.probes_snapshots`), so
their options are not part of the run's identity.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import ClassVar

import torch

from .dense import dense_matrix, eigenvalues, symmetrized
from .ggn import GGNOperator
from .hessian import HessianOperator
from .lanczos import lanczos

METHODS = ("dense", "lanczos")
SOURCES = ("snapshot_curvature.py", "probes_spectra.py", "dense.py", "ggn.py")  # of the numbers
SIGNIFICANT = 8  # digits kept of each stored eigenvalue (the result files stay small)


def _rounded(values) -> list:
    return [float(f"{float(v):.{SIGNIFICANT}g}") for v in values]


def _pos_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


@dataclass(frozen=True)
class DenseSpectrum:
    """The spectrum of H (and of G and R = H − G with ``ggn``) on ``n_hessian`` training
    examples (0: all of them, the training loss itself), at initialization (``at_init``,
    snapshot 0) and at the end of training."""

    name: ClassVar[str] = "spectrum"
    post_hoc: ClassVar[bool] = True
    sources: ClassVar[tuple] = SOURCES
    n_hessian: int = 0
    at_init: bool = True
    ggn: bool = False
    method: str = "dense"
    top: int = 120               # lanczos: how many of the largest eigenvalues
    tol: float = 1e-6            # lanczos: residual ≤ tol · λ_max
    block: int = 32              # dense: columns built at once (vectorized products)
    chunk: int = 250             # examples per product batch (the sum is over all of them)

    def problems(self) -> list:
        out = [] if isinstance(self.n_hessian, int) and self.n_hessian >= 0 else [
            f"n_hessian must be an integer >= 0 (0: every training example), "
            f"got {self.n_hessian!r}"]
        if self.method not in METHODS:
            out.append(f"method must be one of {METHODS}, got {self.method!r}")
        if self.method == "lanczos" and self.ggn:
            out.append("ggn=True needs method=dense (R = H − G is formed from the matrices)")
        for name in ("top", "block", "chunk"):
            if not _pos_int(getattr(self, name)):
                out.append(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not (isinstance(self.tol, float) and 0 < self.tol < 1):
            out.append(f"tol must be a number in (0, 1), got {self.tol!r}")
        return out

    def snapshot_problems(self, snapshot_steps: tuple) -> list:
        return [] if not self.at_init or 0 in snapshot_steps else [
            "at_init=True needs a snapshot at step 0: add 0 to snapshot_steps"]

    def analyze(self, snaps, config, result) -> dict:
        points = ([("init", 0)] if self.at_init else []) + [("end", "end")]
        return {label: self._at(snaps, config, step) for label, step in points}

    def _at(self, snaps, config, step) -> dict:
        snaps.load(step)
        model = copy.deepcopy(snaps.model).double()
        n = self.n_hessian or 10 ** 9
        batches = [(x.double() if x.is_floating_point() else x, y)
                   for x, y in snaps.task.hessian_batches(n, self.chunk, config.seed)]
        hessian = HessianOperator(model, snaps.task.loss_fn, batches, seed=config.seed)
        out = {"loss": hessian.loss(), "grad_norm": float(hessian.gradient().norm()),
               "dim": hessian.dim, "examples": hessian.num_data}
        if self.method == "lanczos":
            start = time.perf_counter()
            res = lanczos(hessian, k=min(self.top, hessian.dim), which="LA", tol=self.tol,
                          max_iter=min(hessian.dim, max(600, 4 * self.top)), seed=1)
            out["H"] = {"eigenvalues": _rounded(res.vals), "complete": False,
                        "matvecs": res.num_matvecs, "converged": bool(res.converged),
                        "seconds": round(time.perf_counter() - start, 3)}
            snaps.num_matvecs += res.num_matvecs
            return out
        matrices = {"H": self._dense(hessian)}
        if self.ggn:
            matrices["G"] = self._dense(GGNOperator(model, snaps.task.loss_fn, batches,
                                                    seed=config.seed))
            matrices["R"] = (matrices["H"][0] - matrices["G"][0], 0.0, 0.0)
        for key, (matrix, asym, build) in matrices.items():
            vals, seconds = eigenvalues(matrix)
            out[key] = {"eigenvalues": _rounded(vals), "complete": True,
                        "trace": float(torch.trace(matrix)), "asymmetry": asym,
                        "build_seconds": round(build, 3), "eig_seconds": round(seconds, 3)}
        snaps.num_matvecs += hessian.dim * len(matrices)
        return out

    def _dense(self, op) -> tuple:
        start = time.perf_counter()
        matrix, asym = symmetrized(dense_matrix(op, self.block))
        return matrix, asym, time.perf_counter() - start


LINE_ALPHAS = tuple(round(-0.5 + 0.1 * i, 10) for i in range(21))  # −0.5 … 1.5


@dataclass(frozen=True)
class LineBetween:
    """Training and test loss and accuracy along θ(α) = (1 − α)θ_I + αθ_II (Sagun et al.
    Fig. 9): θ_I the final weights of ``start_from``, θ_II the run's own final weights;
    on the first ``n_eval`` training examples and the test set, in eval mode."""

    name: ClassVar[str] = "line"
    post_hoc: ClassVar[bool] = True
    sources: ClassVar[tuple] = SOURCES
    alphas: tuple = LINE_ALPHAS
    n_eval: int = 1000

    def problems(self) -> list:
        out = [] if _pos_int(self.n_eval) else [f"n_eval must be a positive integer, "
                                                   f"got {self.n_eval!r}"]
        if not (self.alphas and 0.0 in self.alphas and 1.0 in self.alphas):
            out.append(f"alphas must include 0 and 1 (the two solutions), got {self.alphas!r}")
        return out

    def snapshot_problems(self, snapshot_steps: tuple) -> list:
        return []

    def analyze(self, snaps, config, result) -> dict:
        from .probes import _evaluate
        from .training import train

        if config.start_from is None:
            raise ValueError("the line probe needs a run with start_from (θ_I)")
        train(config.start_from, snaps.cache, need_weights=True)
        device = snaps.device
        first = torch.load(snaps.cache.weights_path(config.start_from), map_location=device)
        snaps.load("end")
        second = {k: v.clone() for k, v in snaps.model.state_dict().items()}
        train_chunks, test_chunks = snaps.task.eval_chunks(self.n_eval)
        rows = []
        for a in self.alphas:
            snaps.model.load_state_dict({k: (1 - a) * first[k] + a * second[k]
                                         if second[k].is_floating_point() else second[k]
                                         for k in second})
            tr = _evaluate(snaps.model, snaps.task.loss_fn, train_chunks)
            te = _evaluate(snaps.model, snaps.task.loss_fn, test_chunks)
            rows.append({"alpha": a, "train_loss": tr[0], "train_acc": tr[1],
                         "test_loss": te[0], "test_acc": te[1]})
        distance = float(torch.sqrt(sum(((second[k] - first[k]).double() ** 2).sum()
                                        for k in second if second[k].is_floating_point())))
        return {"rows": rows, "distance": distance}


POST_HOC_SPECTRA = (DenseSpectrum, LineBetween)
