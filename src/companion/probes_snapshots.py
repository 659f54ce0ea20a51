r"""Post-hoc probes: analyses of the weights a run saved along training
(``RunConfig.snapshot_steps``), done after training, as Alain et al. (2019) did ("the
eigendecompositions are done after training, from checkpoints").

A post-hoc probe has ``post_hoc = True``, options as dataclass fields (validated by
``problems()`` before anything runs, set by overrides like any probe's), and
``analyze(snapshots, config, result) -> dict``. Its options are *not* part of the run's
identity: figures that analyse one trajectory differently share its training.
:func:`companion.analyses.attach_analyses` runs them (the figures' ``Plan`` calls it) and
caches each analysis on disk, keyed by the run and the probe's options, stamped with the
version of the code in the probe's ``sources`` (the modules that make its numbers).

Every probe measures on the same fixed subset of ``n_hessian`` training examples at every
step, and shares eigenpairs through :meth:`Snapshots.eigenpairs` (cached per step, side,
k, tolerance and subset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


def _pos_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x > 0


def _steps_problems(name: str, steps) -> list:
    if all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in steps):
        return []
    return [f"{name} must be integers >= 0 (steps with a snapshot), got {steps!r}"]


@dataclass(frozen=True)
class _Eigen:
    """Options shared by the probes: the Hessian subset and the extreme eigenpairs."""

    sources: ClassVar[tuple] = ("snapshot_curvature.py", "probes_snapshots.py")
    n_hessian: int = 1000
    la: int = 3                  # LA(la): the la largest eigenpairs
    sa: int = 1                  # SA(sa): the sa smallest (most negative)
    tol: float = 1e-2            # relative residual per eigenvalue

    def problems(self) -> list:
        out = [f"{n} must be a positive integer, got {getattr(self, n)!r}"
               for n in ("n_hessian", "la", "sa") if not _pos_int(getattr(self, n))]
        if not (isinstance(self.tol, float) and 0 < self.tol < 1):
            out.append(f"tol must be a number in (0, 1), got {self.tol!r}")
        out += _steps_problems("steps", getattr(self, "steps", ()))
        return out

    def needed_steps(self) -> set:
        """The steps this probe analyses (each must have a snapshot)."""
        return {*getattr(self, "steps", ()), *getattr(self, "t0s", ()),
                *([self.step] if hasattr(self, "step") else [])}

    def snapshot_problems(self, snapshot_steps: tuple) -> list:
        missing = sorted(t for t in self.needed_steps() if t not in set(snapshot_steps))
        return [f"steps {missing} have no snapshot; snapshot_steps = {list(snapshot_steps)}"] \
            if missing and all(isinstance(t, int) for t in missing) else []

    def _steps(self, config) -> tuple:
        return tuple(getattr(self, "steps", ())) or tuple(config.snapshot_steps)

    def _pairs(self, snaps, step: int) -> tuple:
        return (snaps.eigenpairs(step, "LA", self.la, self.tol, self.n_hessian),
                snaps.eigenpairs(step, "SA", self.sa, self.tol, self.n_hessian))


def _solve(pair: dict) -> dict:
    return {"vals": [float(v) for v in pair["vals"]], "matvecs": int(pair["matvecs"]),
            "seconds": round(float(pair["seconds"]), 3), "converged": bool(pair["converged"])}


@dataclass(frozen=True)
class ExtremeSpectrum(_Eigen):
    """Fig. 1: LA(la) and SA(sa) at each of ``steps`` (() = every snapshot)."""

    name: ClassVar[str] = "extremes"
    post_hoc: ClassVar[bool] = True
    steps: tuple = ()

    def analyze(self, snaps, config, result) -> dict:
        rows = []
        for t in self._steps(config):
            top, bottom = self._pairs(snaps, t)
            rows.append({"step": t, "top": _solve(top), "bottom": _solve(bottom)})
        return {"rows": rows}


@dataclass(frozen=True)
class KeptCurvature(_Eigen):
    """Fig. 2: q(t) = v(t₀)ᵀ H(t) v(t₀) at every step of ``steps`` for the top (v₁) and the
    bottom (v_d) eigenvector of each t₀, beside λ₁(t) and λ_d(t)."""

    name: ClassVar[str] = "kept"
    post_hoc: ClassVar[bool] = True
    t0s: tuple = (2000, 2500, 4000, 8000)
    steps: tuple = ()

    def problems(self) -> list:
        return super().problems() + _steps_problems("t0s", self.t0s) + (
            [] if self.t0s else ["t0s must name at least one step"])

    def analyze(self, snaps, config, result) -> dict:
        from .snapshot_curvature import curvature_along

        vectors = {}
        for t0 in self.t0s:
            top, bottom = self._pairs(snaps, t0)
            vectors[t0] = (top["vecs"][:, 0], bottom["vecs"][:, 0])
        steps, lam_top, lam_bottom = list(self._steps(config)), [], []
        q_top, q_bottom = ({t0: [] for t0 in self.t0s} for _ in range(2))
        for t in steps:
            top, bottom = self._pairs(snaps, t)
            lam_top.append(float(top["vals"][0]))
            lam_bottom.append(float(bottom["vals"][0]))
            op = snaps.operator(t, self.n_hessian)
            for t0, (v1, vd) in vectors.items():
                q_top[t0].append(curvature_along(op, v1))
                q_bottom[t0].append(curvature_along(op, vd))
            snaps.num_matvecs += op.num_matvecs
        return {"steps": steps, "lam_top": lam_top, "lam_bottom": lam_bottom,
                "t0s": list(self.t0s), "q_top": {str(k): v for k, v in q_top.items()},
                "q_bottom": {str(k): v for k, v in q_bottom.items()}}


@dataclass(frozen=True)
class DirectionFits(_Eigen):
    """Figs. 3–6 along each of LA(la) ∪ SA(sa) at ``steps``: the true loss change along
    θ − α(gᵀv)v against its quadratic model (Fig. 3: ``n_slice`` points per range for v₁
    and v_d, and over [−2α*, 2α*]), the fitted curvature y over each range (Fig. 4,
    ``n_fit`` points), the line-search step α* (Fig. 5) and its loss change ΔL* (Fig. 6)."""

    name: ClassVar[str] = "fits"
    post_hoc: ClassVar[bool] = True
    sources: ClassVar[tuple] = (*_Eigen.sources, "probes_directions.py")
    steps: tuple = (50, 2000, 8000)
    la: int = 6
    sa: int = 6
    tol: float = 1e-3
    ranges: tuple = (0.1, 1.0)
    n_fit: int = 11
    n_slice: int = 41
    search_rtol: float = 1e-3

    def problems(self) -> list:
        out = super().problems()
        if not (self.ranges and all(isinstance(a, float) and a > 0 for a in self.ranges)):
            out.append(f"ranges must be positive numbers, got {self.ranges!r}")
        out += [f"{n} must be an integer >= 3, got {getattr(self, n)!r}"
                for n in ("n_fit", "n_slice") if not (_pos_int(getattr(self, n))
                                                      and getattr(self, n) >= 3)]
        if not (isinstance(self.search_rtol, float) and 0 < self.search_rtol < 1):
            out.append(f"search_rtol must be in (0, 1), got {self.search_rtol!r}")
        return out

    def analyze(self, snaps, config, result) -> dict:
        from .probes_directions import analyze_directions

        return analyze_directions(self, snaps, config)


@dataclass(frozen=True)
class SolverCost(ExtremeSpectrum):
    """§3: Hessian-vector products and seconds of LA(la) against SA(sa) at ``steps`` (the
    same solves as Fig. 1's, at other sizes and tolerance; each solve logs its cost)."""

    name: ClassVar[str] = "cost"
    steps: tuple = (50, 2000, 8000)
    la: int = 20
    sa: int = 3
    tol: float = 1e-3


@dataclass(frozen=True)
class SubsetAgreement(_Eigen):
    """App. B: LA(la) and SA(sa) on the fixed ``n_hessian`` subset against ``n_large``
    examples (0: the whole training set) at ``step``: eigenvalues and principal angles."""

    name: ClassVar[str] = "subset"
    post_hoc: ClassVar[bool] = True
    step: int = 2000
    n_large: int = 3000
    la: int = 5
    sa: int = 3
    tol: float = 1e-3

    def problems(self) -> list:
        out = super().problems() + _steps_problems("step", (self.step,))
        if not (isinstance(self.n_large, int) and self.n_large >= 0):
            out.append(f"n_large must be an integer >= 0 (0: every training example), "
                       f"got {self.n_large!r}")
        return out

    def analyze(self, snaps, config, result) -> dict:
        from .snapshot_curvature import principal_cosines

        n_large = self.n_large or 10 ** 9
        out = {"step": self.step, "n_small": self.n_hessian}
        for which, k in (("LA", self.la), ("SA", self.sa)):
            small = snaps.eigenpairs(self.step, which, k, self.tol, self.n_hessian)
            large = snaps.eigenpairs(self.step, which, k, self.tol, n_large)
            out[which] = {"small": [float(v) for v in small["vals"]],
                          "large": [float(v) for v in large["vals"]],
                          "cosines": principal_cosines(small["vecs"], large["vecs"])}
            out[which]["examples"] = [small["examples"], large["examples"]]
        return out


POST_HOC = (ExtremeSpectrum, KeptCurvature, DirectionFits, SolverCost, SubsetAgreement)
