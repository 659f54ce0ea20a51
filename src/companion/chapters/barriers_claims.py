"""Claims of the barriers chapter (Xing et al. 2018), computed from the walk probe's arrays:
T1–T10 (trajectories, Tables 1–2, Fig. 8), B1–B3 (batch size and learning rate against the
cosine), H1–H2 (λ_max along training), N1–N6 (isotropic noise), S1–S2 (schedules) and Q1
(the |1 − ηλ| picture of Fig. 28). Thresholds are the spec's (``specs/barriers.md`` §4).

A figure's runs are ``label → (RunConfig, result)``; labels say what a run is ("GD", "SGD",
"B=25", "noise 0.05", "clr", …), and the helpers below find runs by those words.
"""

from __future__ import annotations

import numpy as np

from .. import landscape as L
from ..claims import NOT_REACHED, Claim, every

# The paper's selected epochs, the default profile's stand-ins for them (of 20 epochs), and
# the epochs of its Tables 1 and 2.
PAPER_EPOCHS, DEFAULT_EPOCHS = (1, 2, 10, 25, 100), (1, 2, 3, 5, 20)
TABLE_EPOCHS = (1, 10, 25, 100)
T_FROM, T_TO = 20, 40           # "steps 20–40" of T1, T3
FLOOR_FROM = 15                 # T2: floors over steps 15–40


# ------------------------------------------------------------------ reading a run
def trace(result: dict) -> dict:
    return result["trace"]["walk"]


def segments(result: dict) -> tuple:
    """(segment indices, loss array S × (points+1)) of a run's interpolated segments."""
    rows = trace(result)["segments"]
    if not rows:
        return np.zeros(0, int), np.zeros((0, trace(result)["points"] + 1))
    a = np.array(rows, dtype=float)
    return a[:, 0].astype(int), a[:, 1:]


def cosines(result: dict) -> np.ndarray:
    return np.array([np.nan if c is None else c for c in trace(result)["cos"]], dtype=float)


def epoch_rows(result: dict, epoch: int) -> np.ndarray:
    """The loss rows of the interpolated segments of ``epoch`` (1-based)."""
    seg, rows = segments(result)
    return rows[seg // result["steps_per_epoch"] + 1 == epoch]


def walk_epochs(config, result) -> list:
    """The selected epochs that the run reached and interpolated."""
    return [e for e in config.probe("walk").epochs if len(epoch_rows(result, e))]


def _has(label: str, word: str) -> bool:
    """``word`` is a word of ``label`` ("GD" is not in "SGD"); "B=" matches "B=25"."""
    return any(t == word or (word.endswith("=") and t.startswith(word)) for t in label.split())


def find(runs: dict, *words: str) -> list:
    """(label, config, result) of the runs whose label has every word."""
    return [(k, c, r) for k, (c, r) in runs.items() if all(_has(k, w) for w in words)]


def val_acc(result: dict) -> list:
    """(epoch, held-out accuracy) along training: the validation split, else the test set."""
    out = []
    for rec in result["history"]:
        acc = rec.get("val_acc", rec.get("test_acc"))
        if acc is not None and rec["phase"] in ("init", "epoch"):
            out.append((rec["epoch"], acc))
    return out


def final_loss(result: dict) -> float:
    return float(result["step_log"][-1][1])


def _median(values) -> float:
    values = np.asarray(values, float)
    return float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")


# ------------------------------------------------------------------ T1–T4: GD against SGD
def _gd_window(result) -> tuple:
    seg, rows = segments(result)
    cos = cosines(result)
    return cos[T_FROM - 1:T_TO], rows[(seg >= T_FROM - 1) & (seg < T_TO)], \
        rows[(seg >= FLOOR_FROM - 1) & (seg < T_TO)]


def gd_runs(runs: dict) -> list:
    """(label, config, result) of the plain GD runs (not GD with noise)."""
    return [x for x in find(runs, "GD") if not _has(x[0], "noise")]


def t1_gd_valley() -> Claim:
    def check(runs):
        def items():
            for label, _, r in gd_runs(runs):
                cos, rows, _ = _gd_window(r)
                if len(rows) < T_TO - T_FROM:
                    yield NOT_REACHED, f"{label}: fewer than {T_TO} interpolated steps"
                    continue
                share, med = L.valleys(rows).mean(), _median(cos)
                yield med <= -0.8 and share >= 0.8, (
                    f"{label}: median cos {med:.2f}, valleys {share:.0%} over steps 20–40")
        return every(items(), "holds if median cos ≤ −0.8 and ≥ 80% valleys")
    return Claim("T1: under GD the consecutive gradients point almost opposite ways and the "
                 "loss between iterates is a valley (Figs. 1, 9, 17, 20).", check)


def t2_gd_floor_monotone() -> Claim:
    def check(runs):
        def items():
            for label, _, r in gd_runs(runs):
                rises = L.floor_rises(_gd_window(r)[2])
                if len(rises) < 5:
                    yield NOT_REACHED, f"{label}: {len(rises) + 1} valley floors in steps 15–40"
                    continue
                yield 1 - rises.mean() >= 0.9, (
                    f"{label}: {1 - rises.mean():.0%} of consecutive floors do not rise")
        return every(items(), "holds if ≥ 90% of consecutive valley floors do not rise")
    return Claim("T2: under GD the valley floor goes down almost monotonically.", check)


def _pairs(runs):
    gd, sgd = gd_runs(runs), find(runs, "SGD")
    return (gd[0], sgd[0]) if gd and sgd else None


def t3_sgd_explores() -> Claim:
    def check(runs):
        pair = _pairs(runs)
        if pair is None:
            return NOT_REACHED, "needs a GD and an SGD run"
        (_, _, gd), (_, _, sgd) = pair
        if min(len(trace(gd)["distance"]), len(trace(sgd)["distance"])) < T_TO:
            return NOT_REACHED, f"a run made fewer than {T_TO} steps"
        c_gd, c_sgd = _median(cosines(gd)[T_FROM - 1:T_TO]), _median(cosines(sgd)[T_FROM - 1:T_TO])
        d_gd, d_sgd = trace(gd)["distance"][T_TO - 1], trace(sgd)["distance"][T_TO - 1]
        return c_sgd >= c_gd + 0.3 and d_sgd / d_gd >= 1.1, (
            f"median cos over steps 20–40: SGD {c_sgd:.2f}, GD {c_gd:.2f}; distance after 40 "
            f"steps SGD {d_sgd:.3g} / GD {d_gd:.3g} = {d_sgd / d_gd:.2f} (holds if cos ≥ GD's "
            "+ 0.3 and the ratio ≥ 1.1; the paper: 1.7/1.4 = 1.21)")
    return Claim("T3: SGD's consecutive gradients are far less opposed, and SGD moves farther "
                 "from the start than GD in as many steps (Fig. 2 against Fig. 1).", check)


def t4_sgd_floor_rough() -> Claim:
    def check(runs):
        pair = _pairs(runs)
        if pair is None:
            return NOT_REACHED, "needs a GD and an SGD run"
        (_, _, gd), (_, _, sgd) = pair
        up_gd = L.floor_rises(_gd_window(gd)[2])
        seg, rows = segments(sgd)
        up_sgd = L.floor_rises(rows[seg < T_TO])
        if len(up_sgd) < 5 or len(up_gd) < 1:
            return NOT_REACHED, (f"{len(up_sgd) + 1} SGD and {len(up_gd) + 1} GD valley floors "
                                 "in the first 40 steps (needs ≥ 6 and ≥ 2)")
        return up_sgd.mean() >= 0.25 and up_sgd.mean() >= up_gd.mean() + 0.15, (
            f"consecutive floors that rise: SGD {up_sgd.mean():.0%}, GD {up_gd.mean():.0%} "
            "(holds if SGD ≥ 25% and ≥ GD + 15 points)")
    return Claim("T4: SGD's valley floor has many ups and downs (Fig. 2).", check)


# ------------------------------------------------------------------ T5–T10: tables, Fig. 8
def _sgd_runs(runs):
    return [x for x in runs.items() if "walk" in x[1][1].get("trace", {})
            and _has(x[0], "SGD") and segments(x[1][1])[1].size]


def t5_valleys_dominate() -> Claim:
    def check(runs):
        def items():
            for label, (c, r) in _sgd_runs(runs):
                shares = {e: L.valleys(epoch_rows(r, e)).mean() for e in walk_epochs(c, r)}
                yield min(shares.values()) >= 0.5, f"{label}: " + ", ".join(
                    f"epoch {e} {s:.0%}" for e, s in shares.items())
        return every(items(), "holds if ≥ 50% of the segments are valleys in every epoch")
    return Claim("T5: for most of training the loss between iterates is a valley.", check)


def t6_barriers_rare() -> Claim:
    def check(runs):
        def items():
            for label, (c, r) in _sgd_runs(runs):
                epochs = walk_epochs(c, r)
                shares = {e: L.barriers(epoch_rows(r, e)).mean() for e in epochs}
                early = L.barriers(np.vstack([epoch_rows(r, e) for e in epochs[:2]])).mean()
                yield early <= 0.02 and max(shares.values()) <= 0.06, (
                    f"{label}: early {early:.1%}; " + ", ".join(
                        f"epoch {e} {s:.1%}" for e, s in shares.items()))
        return every(items(), "holds if barriers are ≤ 2% of the segments of the first two "
                              "epochs and ≤ 6% in every epoch; τ = 1e-6·L")
    return Claim("T6: barriers are crossed rarely, hardly ever early in training (Table 1).",
                 check)


def t7_fig8() -> Claim:
    def check(runs):
        def items():
            for label, (c, r) in _sgd_runs(runs):
                epochs = walk_epochs(c, r)
                zero = np.mean([L.barriers(epoch_rows(r, e)).sum() == 0 for e in epochs])
                _, rows = segments(r)
                crossed = L.barriers(rows)
                rel = L.barrier_heights(rows)[crossed] / np.abs(rows[crossed, 0])
                worst, med = (rel.max(), np.median(rel)) if len(rel) else (0.0, 0.0)
                yield zero >= 0.5 and worst <= 0.05 and med <= 0.01, (
                    f"{label}: {zero:.0%} of {len(epochs)} epochs without a barrier; "
                    f"{crossed.sum()} barriers, height / loss max {worst:.2%}, median {med:.2%}")
        return every(items(), "holds if ≥ 50% of the epochs have none, every height ≤ 5% and "
                              "the median ≤ 1% of the loss")
    return Claim("T7: most epochs cross no barrier, and the barriers are far lower than the "
                 "loss (Fig. 8).", check)


def _by_lr(runs, arch: str) -> dict:
    return {c.lr: (c, r) for k, (c, r) in runs.items() if k.startswith(arch)
            and "SGD" in k and "walk" in r.get("trace", {}) and segments(r)[1].size}


def _heights(c, r) -> dict:
    return {e: float(L.heights(epoch_rows(r, e)).mean()) for e in walk_epochs(c, r)}


def t8_lr_sets_height(arch: str) -> Claim:
    def check(runs):
        by = _by_lr(runs, arch)
        if len(by) < 2:
            return NOT_REACHED, f"needs two {arch} learning rates"
        hi, lo = _heights(*by[max(by)]), _heights(*by[min(by)])
        common = [e for e in hi if e in lo]
        ratios = np.array([hi[e] / lo[e] for e in common])
        wins, gm = int((ratios > 1).sum()), float(np.exp(np.log(ratios).mean()))
        need = max(1, round(0.75 * len(common)))
        return wins >= need and gm >= 1.5, (
            f"{arch}: h(η={max(by):g}) / h(η={min(by):g}) per epoch "
            f"{dict(zip(common, np.round(ratios, 2).tolist()))}, geometric mean {gm:.2f} "
            f"(holds if > 1 in ≥ {need} of {len(common)} epochs and the mean ≥ 1.5)")
    return Claim(f"T8: a larger learning rate keeps SGD higher above the valley floor "
                 f"({arch}, Table 2).", check)


def t9_height_falls() -> Claim:
    def check(runs):
        def items():
            for label, (c, r) in _sgd_runs(runs):
                h = _heights(c, r)
                first, last = h[min(h)], h[max(h)]
                yield last <= 0.5 * first, (f"{label}: epoch {min(h)} {first:.3g} → epoch "
                                            f"{max(h)} {last:.3g}")
        return every(items(), "holds if the last epoch's mean height ≤ half the first's")
    return Claim("T9: the height above the valley floor falls along training (Table 2).", check)


def t10_small_lr_no_more_barriers(arch: str) -> Claim:
    def check(runs):
        by = _by_lr(runs, arch)
        if len(by) < 2:
            return NOT_REACHED, f"needs two {arch} learning rates"
        share = {lr: L.barriers(segments(r)[1]).mean() for lr, (c, r) in by.items()}
        lo, hi = min(by), max(by)
        return share[lo] <= share[hi] + 0.01, (
            f"{arch}: barrier share η={lo:g} {share[lo]:.1%}, η={hi:g} {share[hi]:.1%} "
            "(holds if the small η's ≤ the large η's + 1 point)")
    return Claim(f"T10: a smaller learning rate does not cross more barriers ({arch}, §6).",
                 check)
