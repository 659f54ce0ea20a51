"""The claims of Alain, Le Roux & Manzagol (2019) about the loss along each eigenvector
(Figs. 4–6, C9–C14 of the spec): the curvature of a quadratic fit of the true loss, the
line-search step and the best loss improvement, each against the Hessian's eigenvalue λ_i,
computed from the run's ``fits`` analysis. Thresholds as in :mod:`.negative_curvature_claims`.
"""

from __future__ import annotations

import numpy as np

from ..claims import NOT_REACHED, Claim
from ..nsgd_analysis import spearman
from .negative_curvature_claims import EARLY, LATE, at, first_run, fit_rows


def c9_above_line() -> Claim:
    def check(runs):
        result = first_run(runs)[1]
        ranges = result["fits"]["ranges"]
        ok, parts = True, []
        for j, A in enumerate(ranges):
            rel = {w: np.array([(d["fitted"][j] - d["lam"]) / abs(d["lam"])
                                for d in fit_rows(result, w)]) for w in ("LA", "SA")}
            allrel = np.concatenate(list(rel.values()))
            above = float((allrel > 0).mean())
            sharper = float(np.median(rel["SA"])) > float(np.median(rel["LA"]))
            ok &= above >= 0.9 and sharper
            parts.append(f"|α| = {A:g}: {above:.0%} of points above y = λ; median relative "
                         f"excess SA {np.median(rel['SA']):.2f} vs LA {np.median(rel['LA']):.2f}")
        return ok, "; ".join(parts) + (" (holds if ≥ 90% lie above and the excess is larger for "
                                       "negative eigenvalues, at every |α|)")
    return Claim("C9: the fitted curvature lies above the Hessian's (all points above y = x), "
                 "more so for negative eigenvalues (Fig. 4).", check)


def c10_inverse_step() -> Claim:
    def check(runs):
        rows = [d for d in fit_rows(first_run(runs)[1], "LA") if d["lam"] > 0]
        if not rows:
            return NOT_REACHED, "no direction with λ > 0"
        prod = np.array([d["lam"] * d["alpha"] for d in rows])
        med = float(np.median(np.abs(np.log10(np.clip(prod, 1e-12, None)))))
        within = float(np.mean((prod >= 0.5) & (prod <= 2)))
        return med <= 0.3 and within >= 0.7, (
            f"λ·α* over {len(rows)} directions: {prod.min():.3g} … {prod.max():.3g}, median "
            f"|log10 λα*| = {med:.3f}, {within:.0%} within 2× (holds if ≤ 0.3 and ≥ 70%)")
    return Claim("C10: for λ > 0 the best step is α* ≈ 1/λ (Fig. 5).", check)


def c11_negative_steps() -> Claim:
    def check(runs):
        rows = [d for d in fit_rows(first_run(runs)[1], "SA") if d["lam"] < 0]
        if not rows:
            return NOT_REACHED, "no direction with λ < 0"
        lam = np.abs([d["lam"] for d in rows])
        alpha = np.array([d["alpha"] for d in rows])
        med = float(np.median(lam * alpha))
        span = float(np.log10(lam.max() / lam.min()))
        rho = spearman(np.log(alpha), np.log(lam))
        unbounded = sum(d["unbounded"] for d in rows)
        detail = (f"|λ|·α* median {med:.3g} over {len(rows)} directions ({unbounded} unbounded "
                  f"at the cap); |λ| spans {span:.2f} decade, Spearman(log α*, log|λ|) = {rho:.2f}")
        if span < 0.5:
            return med >= 3, detail + (" (holds if the median ≥ 3; decorrelation not graded: "
                                       "|λ| spans < 0.5 decade)")
        return med >= 3 and abs(rho) <= 0.3, detail + " (holds if median ≥ 3 and |ρ| ≤ 0.3)"
    return Claim("C11: for λ < 0 the best step is much larger than 1/|λ| and unrelated to it "
                 "(Fig. 5).", check)


def _gains(result: dict, which: str, step: int) -> np.ndarray:
    return np.array([-d["delta"] for d in fit_rows(result, which) if d["step"] == step])


def c12_negative_gain_more() -> Claim:
    def check(runs):
        result = first_run(runs)[1]
        steps = [s["step"] for s in result["fits"]["steps"]]
        wins = [np.median(_gains(result, "SA", t)) > np.median(_gains(result, "LA", t))
                for t in steps]
        detail = "; ".join(f"t = {t}: SA {np.median(_gains(result, 'SA', t)):.3g} vs LA "
                           f"{np.median(_gains(result, 'LA', t)):.3g}" for t in steps)
        return sum(wins) >= 2 / 3 * len(steps), "median improvement −ΔL*, " + detail + (
            " (holds if SA's median exceeds LA's at ≥ 2/3 of the checkpoints)")
    return Claim("C12: the most improvement is obtained along directions of negative "
                 "curvature (Fig. 6).", check)


def _early_late(config, result: dict, which: str, stat) -> tuple:
    steps = [s["step"] for s in result["fits"]["steps"]]
    early = [t for t in steps if t <= at(EARLY, config)]
    late = [t for t in steps if t >= at(LATE, config)]
    if not early or not late:
        return None
    pick = lambda ts: np.concatenate([_gains(result, which, t) for t in ts])  # noqa: E731
    return float(stat(pick(early))), float(stat(pick(late)))


def c13_positive_gain_fades() -> Claim:
    def check(runs):
        config, result = first_run(runs)
        pair = _early_late(config, result, "LA", np.mean)
        if pair is None:
            return NOT_REACHED, (f"needs fits at t ≤ {at(EARLY, config)} and at t ≥ "
                                 f"{at(LATE, config)}")
        return pair[0] >= 2 * pair[1], (f"mean −ΔL* along LA: early {pair[0]:.3g}, late "
                                        f"{pair[1]:.3g} (holds if early ≥ 2 × late)")
    return Claim("C13: along positive directions there is less improvement to be had later "
                 "(Fig. 6).", check)


def c14_negative_gain_stable() -> Claim:
    def check(runs):
        config, result = first_run(runs)
        sa, la = (_early_late(config, result, side, np.median) for side in ("SA", "LA"))
        if sa is None:
            return NOT_REACHED, (f"needs fits at t ≤ {at(EARLY, config)} and at t ≥ "
                                 f"{at(LATE, config)}")
        r_sa, r_la = sa[0] / max(sa[1], 1e-300), la[0] / max(la[1], 1e-300)
        ok = abs(np.log10(r_sa)) <= 0.5 and r_la >= 2 * r_sa
        return ok, (f"median −ΔL* early/late: SA {sa[0]:.3g}/{sa[1]:.3g} = ×{r_sa:.3g}, LA "
                    f"×{r_la:.3g} (holds if SA's ratio is within half a decade of 1 and LA's "
                    "is ≥ 2× SA's)")
    return Claim("C14: along negative directions the improvement remains stable throughout "
                 "training (Fig. 6).", check)

