"""The SGD step against the sharpest directions: numbers and claims computed from the
records of :class:`companion.probes.SharpestDirections` (Jastrzębski et al. 2019, §3.2).

Shared by the step-vs-curvature chapter (Figs. 5, 6, 14–18) and the NSGD chapter (Fig. 20).
A point of a run is in the *edge phase* when η·λ1 ≥ 1 there: the step along e1 is then
long compared with the curvature, which is the regime the paper's Fig. 6 describes (its
runs are there "early on", after the λ1 growth). Every claim says "not reached" for a run
without such a point.
"""

from __future__ import annotations

import math

import numpy as np

from .claims import FAILS, HOLDS, NOT_REACHED, Claim, combine

EDGE = 1.0            # a point is in the edge phase when η·λ1 ≥ EDGE
SECTION_FIT_K = 4.0   # cross-sections are fitted by a parabola over |k| ≤ 4 (spec C6b)


def random_cosine(dim: int) -> float:
    """E|cos| between a fixed and a random direction in ``dim`` dimensions, √(2/(πD))."""
    return math.sqrt(2.0 / (math.pi * dim))


def direction_records(result: dict) -> list:
    return [r for r in result["history"] if "cosines" in r]


def edge_records(config, result: dict) -> list:
    return [r for r in direction_records(result) if config.lr * r["eigenvalues"][0] >= EDGE]


def step_changes(records: list, alphas: tuple, direction: int = 1) -> np.ndarray:
    """(points × α) ΔL in % of L(θ) for a step α·(SGD's step along e_direction)."""
    return np.array([r["step_change"][str(direction)] for r in records]).reshape(-1, len(alphas))


def mean_step_changes(config, records: list, direction: int = 1) -> dict:
    """α → mean over ``records`` of ΔL(α) in %, along e_direction ({} without records)."""
    alphas = config.probe("directions").alphas
    if not records:
        return {}
    return dict(zip(alphas, step_changes(records, alphas, direction).mean(0).tolist()))


def max_top5_cosine(result: dict) -> float:
    """The largest mean |cos(g, e_i)| over i ≤ 5 along a run (Fig. 5)."""
    return float(max(np.mean(r["cosines"][:5]) for r in direction_records(result)))


def quadratic_agreement(config, records: list, alphas: tuple, direction: int = 1,
                        tested=(0.5, 2.0, 4.0)) -> float:
    """Fraction of (point, α) where sign ΔL(α) = sign(α·η·λ_i − 2): on a quadratic, a step
    along e_i raises the loss iff it overshoots the minimum by more than its own length."""
    hits = []
    for r in records:
        lam = r["eigenvalues"][direction - 1]
        for a, change in zip(alphas, r["step_change"][str(direction)]):
            if a in tested:
                hits.append(np.sign(change) == np.sign(a * config.lr * lam - 2.0))
    return float(np.mean(hits)) if hits else float("nan")


def section_fit(ks, losses, kmax: float = SECTION_FIT_K) -> tuple:
    """(curvature a, minimiser k*) of the parabola a k² + b k + c fitted over |k| ≤ kmax."""
    ks, losses = np.asarray(ks, float), np.asarray(losses, float)
    keep = np.abs(ks) <= kmax
    a, b, _ = np.polyfit(ks[keep], losses[keep], 2)
    return float(a), float(-b / (2 * a)) if a != 0 else float("inf")


def section_range(ks, losses, kmax: float = SECTION_FIT_K) -> float:
    ks, losses = np.asarray(ks, float), np.asarray(losses, float)
    inside = losses[np.abs(ks) <= kmax]
    return float(inside.max() - inside.min())


# ----------------------------------------------------------------------------- claims
def _per_run(runs, decide, says: str, rule: str) -> Claim:
    """A claim decided run by run on its edge-phase points; ``decide(config, records)``
    returns (status, detail)."""
    def check(figure_runs):
        statuses, parts = [], []
        for label, (config, result) in figure_runs.items():
            if runs is not None and label not in runs:
                continue
            records = edge_records(config, result)
            if not records:
                lam = max((r["eigenvalues"][0] for r in direction_records(result)), default=0)
                statuses.append(NOT_REACHED)
                parts.append(f"{label}: no edge-phase point (max η·λ1 = {config.lr * lam:.2f})")
                continue
            status, detail = decide(config, records)
            statuses.append(status)
            parts.append(f"{label} ({len(records)} edge-phase points): {detail}")
        full_rule = (f"{rule}; edge phase: points where η·λ1 ≥ {EDGE:g}, not reached without "
                     "one")
        return combine(statuses), "; ".join(parts) + f" ({full_rule})"
    return Claim(says, check)


def longer_steps_raise_loss(paper: str = "", runs=None) -> Claim:
    """C6a: mean ΔL(4) > mean ΔL(2) > 0 > mean ΔL(0.5), and ΔL(0.25) < 0 on average."""
    def decide(config, records):
        means = mean_step_changes(config, records)
        need = [a for a in (0.25, 0.5, 2.0, 4.0) if a in means]
        ok = (means.get(4.0, math.inf) > means.get(2.0, 0) > 0 > means.get(0.5, -1)
              and means.get(0.25, -1) < 0)
        text = ", ".join(f"α={a:g}: {means[a]:+.2f}%" for a in need)
        return (HOLDS if ok else FAILS), f"mean ΔL {text}"
    return _per_run(runs, decide,
                    "Along e1, steps longer than SGD's (α = 2, 4) raise the loss on average and "
                    "shorter ones (α = 0.25, 0.5) lower it" + (f" ({paper})" if paper else ""),
                    "holds if mean ΔL(4) > mean ΔL(2) > 0 > mean ΔL(0.5) and mean ΔL(0.25) < 0 "
                    "over the edge-phase points, ΔL in % of L(θ)")


def doubled_step_raises_loss(fraction: float = 0.6, runs=None) -> Claim:
    def decide(config, records):
        alphas = config.probe("directions").alphas
        if 2.0 not in alphas:
            return NOT_REACHED, "α = 2 not measured"
        up = float((step_changes(records, alphas)[:, alphas.index(2.0)] > 0).mean())
        return (HOLDS if up >= fraction else FAILS), f"ΔL(2) > 0 at {up:.0%} of points"
    return _per_run(runs, decide, "Doubling SGD's step along e1 raises the loss in most "
                    "iterations", f"holds if ΔL(α = 2) > 0 at ≥ {fraction:.0%} of the points")


def quadratic_predicts_sign(fraction: float = 0.7, runs=None) -> Claim:
    def decide(config, records):
        share = quadratic_agreement(config, records, config.probe("directions").alphas)
        return (HOLDS if share >= fraction else FAILS), f"sign agrees at {share:.0%}"
    return _per_run(runs, decide, "The sign of ΔL follows the quadratic model: a step along e1 "
                    "raises the loss when α·η·λ1 > 2",
                    f"holds if sign ΔL(α) = sign(α·η·λ1 − 2) for ≥ {fraction:.0%} of the "
                    "(point, α ∈ {0.5, 2, 4}) pairs")


def step_crosses_bowl(fraction: float = 0.6, runs=None) -> Claim:
    def decide(config, records):
        ks = config.probe("directions").section_k
        fits = [section_fit(ks, r["sections"]["1"]) for r in records if "1" in r["sections"]]
        if not fits:
            return NOT_REACHED, "no cross-section along e1"
        good = float(np.mean([a > 0 and abs(k) < 1 for a, k in fits]))
        kstar = np.median([abs(k) for _, k in fits])
        return (HOLDS if good >= fraction else FAILS), (
            f"bowl with |k*| < 1 at {good:.0%} of points (median |k*| = {kstar:.2f})")
    return _per_run(runs, decide, "Along e1 the loss is a bowl whose minimum lies within one "
                    "expected SGD step (the step crosses it)",
                    f"holds if a parabola fitted over |k| ≤ {SECTION_FIT_K:g} has positive "
                    f"curvature and its minimiser |k*| < 1 at ≥ {fraction:.0%} of the points")


def flatter_than_top(direction: int, ratio: float = 0.5, runs=None) -> Claim:
    def decide(config, records):
        ks = config.probe("directions").section_k
        pairs = [(section_range(ks, r["sections"][str(direction)]),
                  section_range(ks, r["sections"]["1"])) for r in records
                 if str(direction) in r["sections"] and "1" in r["sections"]]
        if not pairs:
            return NOT_REACHED, f"no cross-sections along e{direction} and e1"
        median = float(np.median([a / max(b, 1e-12) for a, b in pairs]))
        return (HOLDS if median < ratio else FAILS), (
            f"median range(e{direction}) / range(e1) = {median:.2f}")
    return _per_run(runs, decide, f"The loss is much flatter along e{direction} than along e1",
                    f"holds if the median over points of the loss range over |k| ≤ "
                    f"{SECTION_FIT_K:g} along e{direction} is < {ratio:g}× that along e1")


# ----------------------------------------------------------------------------- Figs. 5, 7
def cosine_of_paper_order(low: float = 0.1, high: float = 0.8) -> Claim:
    """C5(a): the maximum mean |cos| is "roughly between 0.2 and 0.4": within ×2 of it."""
    def check(runs):
        parts, statuses = [], []
        for label, (_, result) in runs.items():
            best = max_top5_cosine(result)
            statuses.append(HOLDS if low <= best <= high else FAILS)
            parts.append(f"{label}: max {best:.3f}")
        return combine(statuses), "; ".join(parts) + (
            f" (holds if the maximum over points of the top-5 mean |cos| lies in "
            f"[{low:g}, {high:g}], within a factor 2 of the paper's 0.2–0.4)")
    return Claim("The maximum average cosine with the top 5 directions is of the order of "
                 "0.2–0.4", check)


def cosine_far_above_random(factor: float = 20.0, share: float = 0.9) -> Claim:
    """C5(b): after the first point, the mean cosine is ≥ 20× √(2/(πD)) at ≥ 90% of points."""
    def check(runs):
        parts, statuses = [], []
        for label, (_, result) in runs.items():
            records = direction_records(result)[1:]
            if not records:
                statuses.append(NOT_REACHED)
                parts.append(f"{label}: a single point")
                continue
            base = random_cosine(records[0]["num_parameters"])
            above = float(np.mean([np.mean(r["cosines"][:5]) >= factor * base for r in records]))
            statuses.append(HOLDS if above >= share else FAILS)
            parts.append(f"{label}: ≥ {factor:g}× random ({factor * base:.3g}) at {above:.0%}")
        return combine(statuses), "; ".join(parts) + (
            f" (holds if, after the first point, the top-5 mean |cos| is ≥ {factor:g}× the "
            f"random baseline √(2/(πD)) at ≥ {share:.0%} of points)")
    return Claim("The gradient is far more aligned with the top directions than with a "
                 "random direction", check)


def variant_claims() -> tuple:
    """C7, on the final 10% of iterations against vanilla SGD."""
    def final(result, key):
        if key == "lambda":
            series = [(r["step"], r["eigenvalues"][0]) for r in result["refreshes"]]
        else:
            series = [(r["step"], r["train_loss"]) for r in result["history"] if "train_loss" in r]
        last = max(s for s, _ in series)
        return float(np.mean([v for s, v in series if s >= 0.9 * last]))

    def compare(variant, lam_rule, loss_rule, says):
        def check(runs):
            if "sgd" not in runs or variant not in runs:
                return NOT_REACHED, f"needs the runs sgd and {variant}"
            (_, sgd), (_, other) = runs["sgd"], runs[variant]
            lam = final(other, "lambda") / final(sgd, "lambda")
            loss = final(other, "loss") / final(sgd, "loss")
            ok = lam_rule(lam) and loss_rule(loss)
            return (HOLDS if ok else FAILS), (
                f"{variant} / SGD over the final 10% of iterations: λ1 ×{lam:.2f}, loss ×{loss:.2f}")
        return Claim(says, check)

    def scaled(runs):
        pairs = [(c.flat()["gamma"], final(r, "lambda")) for label, (c, r) in runs.items()
                 if label.startswith("top×") or label == "sgd"]
        if len(pairs) < 3:
            return NOT_REACHED, "fewer than 3 scaled variants"
        from scipy.stats import spearmanr
        rho = float(spearmanr(*zip(*pairs)).statistic)
        text = ", ".join(f"f={f:g}: {lam:.3g}" for f, lam in sorted(pairs))
        return (HOLDS if rho < -0.5 else FAILS), (
            f"final λ1 {text}; Spearman ρ = {rho:.2f} (holds if ρ < −0.5)")

    return (compare("top", lambda r: r <= 0.9, lambda r: r >= 1.05,
                    "Following only the gradient's projection on e1 reaches a lower λ1 "
                    "(≤ 0.9× SGD's) at a higher loss (≥ 1.05× SGD's)"),
            compare("no-top", lambda r: r >= 1.1, lambda r: r <= 1.05,
                    "Removing the projection on e1 reaches a sharper region (λ1 ≥ 1.1× SGD's) "
                    "at a similar loss (≤ 1.05× SGD's)"),
            Claim("A larger step along e1 (top-scaled, factor f) ends in a flatter region "
                  "(the authors' code; not in the paper's text)", scaled))
