"""Claims of the barriers chapter about the dynamics around the walk (Xing et al. 2018):
B1–B3 (batch size and learning rate against the cosine and distance, Figs. 4, 22–24),
H1–H2 (λ_max along training, Figs. 3, 7), N1–N6 (GD with isotropic noise, Figs. 5, 25, 26),
S1–S2 (schedules, Figs. 6, 27) and Q1 (Fig. 28, on a simulated quadratic)."""

from __future__ import annotations

import numpy as np

from .. import landscape as L
from ..claims import NOT_REACHED, Claim, curvature_records
from .barriers_claims import (T_FROM, _median, cosines, final_loss, find, gd_runs, trace,
                              val_acc)

SWEEP_FROM = 50  # B1: the mean cosine over iterations 50 … T


def sweep_labels(runs, field: str) -> list:
    """(value, label) of the runs of one sweep ("batch_size" or "lr"), the other field at
    its most common value, sorted by value."""
    found = find(runs, "B=", "η=")
    other = "lr" if field == "batch_size" else "batch_size"
    values = [getattr(c, other) for _, c, _ in found]
    base = max(set(values), key=values.count) if values else None
    return sorted((getattr(c, field), label) for label, c, _ in found if getattr(c, other) == base)


def _sweep(runs, field: str) -> list:
    """(value, mean cos over 50..T, final distance) of the runs of one sweep, sorted; the mean
    is None for a run that stopped before iteration 50."""
    out = []
    for value, label in sweep_labels(runs, field):
        r = runs[label][1]
        late = cosines(r)[SWEEP_FROM - 1:]
        mean = float(np.nanmean(late)) if np.isfinite(late).any() else None
        out.append((value, mean, trace(r)["distance"][-1]))
    return out


def _too_short(*sweeps) -> str:
    """Why the cosine claims are not reached, or '' when every run passed iteration 50."""
    if any(c is None for rows in sweeps for _, c, _ in rows):
        return f"needs the cosines from iteration {SWEEP_FROM} on (a run stopped before it)"
    return ""


def b1_batch_sets_cosine() -> Claim:
    def check(runs):
        rows = _sweep(runs, "batch_size")
        if len(rows) < 2:
            return NOT_REACHED, "needs two batch sizes"
        if short := _too_short(rows):
            return NOT_REACHED, short
        cos = [c for _, c, _ in rows]
        falls = all(b < a for a, b in zip(cos, cos[1:]))
        return falls and cos[-1] - cos[0] <= -0.1, (
            "mean cos over iterations 50…T: " + ", ".join(f"B={b} {c:.3f}" for b, c, _ in rows)
            + " (holds if it falls strictly with B and by ≥ 0.1 overall)")
    return Claim("B1: a larger batch makes consecutive gradients more opposed (Figs. 4, "
                 "22–24).", check)


def b2_lr_does_not() -> Claim:
    def check(runs):
        by_b, by_lr = _sweep(runs, "batch_size"), _sweep(runs, "lr")
        if len(by_b) < 2 or len(by_lr) < 2:
            return NOT_REACHED, "needs two batch sizes and two learning rates"
        if short := _too_short(by_b, by_lr):
            return NOT_REACHED, short
        spread_b = np.ptp([c for _, c, _ in by_b])
        spread_lr = np.ptp([c for _, c, _ in by_lr])
        return spread_lr <= 0.5 * spread_b, (
            "mean cos: " + ", ".join(f"η={v:g} {c:.3f}" for v, c, _ in by_lr)
            + f"; spread across η {spread_lr:.3f}, across B {spread_b:.3f} (holds if the "
            "first ≤ half the second)")
    return Claim("B2: the learning rate has no comparable effect on the angle.", check)


def b3_distance_falls_with_batch() -> Claim:
    def check(runs):
        rows = _sweep(runs, "batch_size")
        if len(rows) < 2:
            return NOT_REACHED, "needs two batch sizes"
        d = [x for _, _, x in rows]
        lr_rows = _sweep(runs, "lr")
        return all(b < a for a, b in zip(d, d[1:])), (
            "distance from initialization after T steps: " + ", ".join(
                f"B={b} {x:.3g}" for b, _, x in rows) + "; against η: " + ", ".join(
                f"η={v:g} {x:.3g}" for v, _, x in lr_rows)
            + " (holds if it falls strictly with B)")
    return Claim("B3: a larger batch travels less far from the initialization in as many "
                 "steps (§3.2).", check)


# ------------------------------------------------------------------ λ_max along training
UNRESOLVED = 0.25  # a λ_max whose Lanczos residual exceeds this fraction of it is unresolved


def lambda_residuals(result: dict, phases=("init", "epoch")) -> tuple:
    """(epochs, λ_max, its Lanczos residual ‖Hv − θv‖) at init and every epoch: an eigenvalue
    of H lies within the residual of each value."""
    records = curvature_records(result, phases)
    return ([x["epoch"] for x in records], [x["eigenvalues"][0] for x in records],
            [x["residuals"][0] if x.get("residuals") else 0.0 for x in records])


def unresolved(lam: float, residual: float) -> bool:
    """Whether Lanczos left λ_max unresolved: its residual is above UNRESOLVED·|λ_max|, so it
    may lie far from any eigenvalue (ResNet-56 ×1/4 at epoch 1: 7.9e-05)."""
    return residual > UNRESOLVED * abs(lam)


def _lambda(result) -> list:
    """(epoch, λ_max) at the end of every tracked epoch whose λ_max Lanczos resolved: the
    claims do not read an unresolved one (named above Figs. 3 and 7)."""
    return [(e, v) for e, v, d in zip(*lambda_residuals(result, ("epoch",)))
            if not unresolved(v, d)]


def _skipped(result) -> str:
    """The evidence's note on the epochs whose λ_max the claims leave out (or nothing)."""
    left = [e for e, v, d in zip(*lambda_residuals(result, ("epoch",))) if unresolved(v, d)]
    return (f"; epoch {', '.join(f'{e:g}' for e in left)} left out: Lanczos residual > "
            f"{UNRESOLVED:g} |λ_max|") if left else ""


def h1_flatter() -> Claim:
    def check(runs):
        label, series, r = next(((k, s, r) for k, _, r in find(runs, "SGD")
                                 if (s := _lambda(r))), (None, [], None))
        if len(series) < 3:
            return NOT_REACHED, "needs a resolved λ_max at three or more epochs"
        epochs, lam = map(np.array, zip(*series))
        return bool(lam.min() <= 0.5 * lam[0] and lam[-1] < lam[0]), (
            f"{label}: λ_max epoch {epochs[0]:g} {lam[0]:.3g}, min {lam.min():.3g} (epoch "
            f"{epochs[lam.argmin()]:g}), last {lam[-1]:.3g} (epoch {epochs[-1]:g}){_skipped(r)}"
            f"; late rise last/min = {lam[-1] / lam.min():.2f} (report only; the paper: "
            "'slightly') (holds if min ≤ half the first and last < first)")
    return Claim("H1: λ_max falls along training (Figs. 3, 7).", check)


def h2_inverse() -> Claim:
    def check(runs):
        from scipy.stats import spearmanr

        for label, _, r in find(runs, "SGD"):
            lam = dict(_lambda(r))
            acc = {e: a for e, a in val_acc(r) if e in lam}
            if len(acc) >= 3:
                rho = float(spearmanr([lam[e] for e in acc], list(acc.values()))[0])
                return rho < 0, (f"{label}: Spearman ρ(λ_max, held-out accuracy) = {rho:.2f} "
                                 f"over {len(acc)} epochs{_skipped(r)} (holds if < 0)")
        return NOT_REACHED, "needs a resolved λ_max and accuracy at three or more epochs"
    return Claim("H2: λ_max and the held-out accuracy move in opposite directions.", check)


# ------------------------------------------------------------------ isotropic noise
def _noise_claim(text: str, decide, needs: str = "the GD run and a noise run") -> Claim:
    """A claim on the GD, GD-with-noise and SGD runs of a figure: ``decide(gd, noisy, sgd)``
    gets the GD result, the (label, config, result) of the noise runs and the SGD result
    (or None); the claim is not reached without the runs that ``needs`` names."""
    def check(runs):
        gd, noisy, sgd = gd_runs(runs), find(runs, "noise"), find(runs, "SGD")
        wanted = [gd, noisy] if "noise" in needs else [gd]
        if "SGD" in needs:
            wanted.append(sgd)
        if not all(wanted):
            return NOT_REACHED, f"needs {needs}"
        return decide(gd[0][2], noisy, sgd[0][2] if sgd else None)
    return Claim(text, check)


def n1_loss_higher() -> Claim:
    def decide(gd, noisy, _):
        base = final_loss(gd)
        ratios = {k: final_loss(r) / base for k, _, r in noisy}
        return min(ratios.values()) >= 1.2, (
            f"final training loss GD {base:.4g}; noise / GD " + ", ".join(
                f"{k}: {v:.2f}" for k, v in ratios.items()) + " (holds if every ratio ≥ 1.2)")
    return _noise_claim("N1: GD with isotropic noise ends at a higher training loss than GD "
                        "(Fig. 5).", decide)


def n2_stuck() -> Claim:
    def decide(gd, noisy, _):
        drops = {}
        for k, _, r in noisy:
            losses = np.array([s[1] for s in r["step_log"]])
            cut = losses[int(0.75 * len(losses))]
            drops[k] = (cut - losses[-1]) / cut
        return max(drops.values()) < 0.05, ("relative loss decrease over the last quarter: "
                                            + ", ".join(f"{k}: {v:.1%}" for k, v in drops.items())
                                            + " (holds if every one < 5%)")
    return _noise_claim("N2: the noise runs get stuck.", decide)


def n3_accuracy_lower() -> Claim:
    def decide(gd, noisy, _):
        base = val_acc(gd)[-1][1]
        accs = {k: val_acc(r)[-1][1] for k, _, r in noisy}
        return max(accs.values()) < base, (f"final held-out accuracy GD {base:.3f}; " + ", ".join(
            f"{k}: {v:.3f}" for k, v in accs.items()) + " (holds if every one is lower)")
    return _noise_claim("N3: and at a lower held-out accuracy.", decide)


def n4_noise_travels() -> Claim:
    def decide(gd, noisy, sgd):
        d = lambda r: trace(r)["distance"][-1]  # noqa: E731
        ok = all(d(r) > d(gd) and d(r) > d(sgd) for _, _, r in noisy)
        return ok, (f"distance after the last step: GD {d(gd):.3g}, SGD {d(sgd):.3g}, "
                    + ", ".join(f"{k} {d(r):.3g}" for k, _, r in noisy)
                    + " (holds if every noise run is farthest)")
    return _noise_claim("N4: the noise runs travel farther than GD and SGD.", decide,
                        needs="the GD, SGD and noise runs")


def n5_norm_grows() -> Claim:
    def decide(gd, noisy, sgd):
        n = lambda r: trace(r)["norm"][-1]  # noqa: E731
        ratios = {k: n(r) / n(gd) for k, _, r in noisy}
        sgd_text = f", SGD {n(sgd):.4g} (report only)" if sgd else ""
        return min(ratios.values()) >= 1.5, (
            f"final ‖θ‖: GD {n(gd):.4g}{sgd_text}; noise / GD " + ", ".join(
                f"{k}: {v:.2f}" for k, v in ratios.items())
            + " (holds if ≥ 1.5; the paper: 4.2 and 5.1 after ≥ 1,500 steps)")
    return _noise_claim("N5: the noise inflates the parameter norm (§4: 369 and 443 against "
                        "87).", decide)


def n6_gd_opposed() -> Claim:
    def decide(gd, _, __):
        med = _median(cosines(gd)[T_FROM - 1:])
        if np.isnan(med):
            return NOT_REACHED, f"the GD run stopped before step {T_FROM}"
        return med <= -0.8, f"GD median cos over steps 20…T {med:.2f} (holds if ≤ −0.8)"
    return _noise_claim("N6: GD's consecutive gradients stay almost opposite.", decide,
                        needs="the GD run")


# ------------------------------------------------------------------ schedules
def _best(runs, name):
    found = find(runs, name)
    return max(a for _, a in val_acc(found[0][2])) if found else None


def s1_trapezoid() -> Claim:
    def check(runs):
        trap, clr = _best(runs, "trapezoid"), _best(runs, "clr")
        if trap is None or clr is None:
            return NOT_REACHED, "needs the trapezoid and CLR runs"
        return trap >= clr - 0.005, (f"best held-out accuracy: trapezoid {trap:.3f}, CLR "
                                     f"{clr:.3f} (holds if ≥ CLR − 0.5 points)")
    return Claim("S1: a single rise, a plateau and a decay do as well as cycling (App. C).",
                 check)


def s2_rise_helps() -> Claim:
    def check(runs):
        trap, clr, step = (_best(runs, n) for n in ("trapezoid", "clr", "step"))
        if None in (trap, clr, step):
            return NOT_REACHED, "needs the step, CLR and trapezoid runs"
        return max(trap, clr) >= step - 0.005, (
            f"best held-out accuracy: trapezoid {trap:.3f}, CLR {clr:.3f}, step {step:.3f} "
            "(holds if the better of the first two ≥ step − 0.5 points)")
    return Claim("S2: schedules that raise the learning rate are at least as good as step "
                 "annealing.", check)


# ------------------------------------------------------------------ Fig. 28
def quadratic_walk(eta_lambda=(1.95, 0.05), steps: int = 60, points: int = 10) -> tuple:
    """GD on L = ½(λ₁x² + λ₂y²) with η = 1: (loss rows of every segment, cosines)."""
    lam = np.array(eta_lambda, float)
    theta, rows, deltas = np.array([1.0, 1.0]), [], []
    loss = lambda t: 0.5 * float((lam * t * t).sum())  # noqa: E731
    for _ in range(steps):
        new = theta - lam * theta
        rows.append([loss(theta + a * (new - theta)) for a in np.linspace(0, 1, points + 1)])
        deltas.append(new - theta)
        theta = new
    cos = [float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(deltas, deltas[1:])]
    return np.array(rows), np.array(cos)


def q1_underdamped() -> Claim:
    def check(runs):
        rows, cos = quadratic_walk()
        late = slice(10, None)
        valley, crossed = L.valleys(rows[late]).mean(), int(L.barriers(rows, 0).sum())
        monotone = 1 - L.floor_rises(rows[late]).mean()
        ok = valley >= 0.95 and crossed == 0 and monotone == 1 and cos[late].max() < -0.9
        return ok, (f"GD on ½(λ₁x² + λ₂y²), ηλ₁ = 1.95, ηλ₂ = 0.05, after 10 steps: "
                    f"{valley:.0%} valleys, {crossed} barriers, {monotone:.0%} of floors not "
                    f"rising, cos ≤ {cos[late].max():.3f} (holds if ≥ 95%, 0, 100%, < −0.9)")
    return Claim("Q1: with 1/λ_max < η < 2/λ_max GD bounces across a valley along the top "
                 "direction while creeping along the flat one (Fig. 28, §6).", check)
