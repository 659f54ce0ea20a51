"""Sagun et al. (2017) on MNIST-1k: wider networks (Figs. 3, 5) and large against small
batches (Figs. 4, 6): the figure entries and the claims S3–S6 (the blob figures are in
:mod:`.outlier_counts`, the CIFAR-10 switch of Figs. 8–9 in :mod:`.outlier_counts_switch`).
"""

from __future__ import annotations

import numpy as np

from ..claims import NOT_REACHED, Claim, every
from ..config import RunConfig
from ..probes import Metrics
from ..probes_spectra import DenseSpectrum
from ..registry import Figure, RunSpec, register
from ..spectra import NEGATIVE_TOL, count_negative, count_outliers
from . import outlier_counts_plots as P
from .outlier_counts import CHAPTER, MNIST_SMOKE, PAPER
from .outlier_counts_claims import negative_fraction, spectrum


def _complete(runs: dict, point: str = "end") -> bool:
    return all(r["spectrum"][point]["H"]["complete"] for _, r in runs.values())


# ----------------------------------------------------------------------------- Fig. 3
def _losses(runs: dict) -> list:
    return [r["spectrum"]["end"]["loss"] for _, r in runs.values()]


def s3_top_unchanged() -> Claim:
    def check(runs):
        losses = _losses(runs)
        top = np.array([spectrum(r)[:10] for _, r in runs.values()])
        spread = top.max(0) / top.min(0)
        evidence = (f"max/min over widths of λ1…λ10: {np.round(spread, 2).tolist()}; final "
                    f"training losses {[f'{v:.3g}' for v in losses]}")
        if max(losses) > 10 * min(losses):
            return NOT_REACHED, evidence + " (void: the losses differ by more than 10×)"
        return bool(np.all(spread <= 2) and np.all(top > 0)), evidence + \
            " (holds if every ratio ≤ 2)"
    return Claim("S3.1: a wider network does not change the size of the large eigenvalues "
                 "(Fig. 3).", check)


def s3_same_count() -> Claim:
    def check(runs):
        ns = {label: count_outliers(spectrum(r), "elbow") for label, (_, r) in runs.items()}
        return max(ns.values()) - min(ns.values()) <= 1, (
            f"elbow counts {ns} (holds if they differ by at most 1)")
    return Claim("S3.2: nor their number (Fig. 3).", check)


# ----------------------------------------------------------------------------- Figs. 4–6
def _lb_sb(runs: dict) -> tuple:
    lb = next(r for label, (_, r) in runs.items() if label.startswith("LB"))
    sb = next(r for label, (_, r) in runs.items() if label.startswith("SB"))
    return spectrum(lb), spectrum(sb)


def s4_lb_larger() -> Claim:
    def check(runs):
        lb, sb = _lb_sb(runs)
        wins = int(np.sum(lb[:10] > sb[:10]))
        return wins >= 8 and lb[0] > sb[0], (
            f"λ_i(LB) > λ_i(SB) for {wins} of i = 1…10; λ1 {lb[0]:.4g} (LB) vs {sb[0]:.4g} (SB) "
            "(holds if ≥ 8 and λ1(LB) > λ1(SB))")
    return Claim("S4.1: the large batch method locates points with larger positive "
                 "eigenvalues (Fig. 4).", check)


def s4_same_count() -> Claim:
    def check(runs):
        lb, sb = _lb_sb(runs)
        a, b = count_outliers(lb, "elbow"), count_outliers(sb, "elbow")
        return abs(a - b) <= 1, f"elbow counts LB {a}, SB {b} (holds if they differ by ≤ 1)"
    return Claim("S4.2: large batch methods produce the same number of outliers (§1.2).", check)


def s5_same_fraction() -> Claim:
    def check(runs):
        if not _complete(runs):
            return NOT_REACHED, "needs complete spectra (method=dense)"
        fr = {label: negative_fraction(spectrum(r)) for label, (_, r) in runs.items()}
        listing = ", ".join(f"{k}: {v:.2%}" for k, v in fr.items())
        ok = min(fr.values()) > 0 and max(fr.values()) <= 1.5 * min(fr.values())
        return ok, f"negative eigenvalues {listing} (holds if within a factor 1.5)"
    return Claim("S5.1: the ratio of negative eigenvalues remains the same across widths "
                 "(Fig. 5).", check)


def s5_negatives_small() -> Claim:
    def items(runs):
        for label, (_, result) in runs.items():
            lam = spectrum(result)
            n, ratio = count_negative(lam), abs(min(lam.min(), 0.0)) / lam.max()
            yield n >= 1 and ratio <= 0.05, (f"{label}: {n} negative, |λ_min|/λ_max = "
                                             f"{ratio:.2g}{' (≤ 1e-2)' if ratio <= 1e-2 else ''}")

    def check(runs):
        if not _complete(runs):
            return NOT_REACHED, "needs complete spectra (method=dense)"
        return every(items(runs), f"negative: below −{NEGATIVE_TOL:g}·λ_max; holds if every "
                                  "run has one and |λ_min| ≤ 0.05·λ_max")
    return Claim("S5.2: after training there are negative eigenvalues, small beside the "
                 "large ones (Figs. 5–6).", check)


# ------------------------------------------------------------------ MNIST-1k (Figs. 3–6)
WIDTHS = (10, 30, 50, 70)


def width_run(h: int, pool: int, probe) -> RunSpec:
    return RunSpec(f"h = {h}", RunConfig(
        model="mlp", dataset="mnist1k", data_options=(("pool", pool),) if pool > 1 else (),
        augment=False, model_options=(("hidden", (h,)), ("init_std", 0.0)), optimizer="gd",
        lr=0.1, max_steps=20_000, track_every=500, snapshot_steps=(0,),
        probes=(Metrics(n_eval=1000), probe)), keeps=("hidden",))


MNIST_SHRUNK = {"default": "2,000 GD steps (paper profile: 20,000; the paper gives neither)",
                "smoke": "100 images, 20 steps (tests)",
                "paper": "20,000 GD steps at η = 0.1 (the paper: \"the same step size and the "
                         "same number of iterations\", unstated)"}
WIDTH_PROFILES = lambda runs, smoke, default, paper: {  # noqa: E731
    "smoke": {r.label: {**MNIST_SMOKE, **smoke} for r in runs},
    "default": {r.label: {"max_steps": 2000, **default} for r in runs},
    "paper": {r.label: paper for r in runs}}

FIG3_RUNS = tuple(width_run(h, 1, DenseSpectrum(at_init=False, method="lanczos")) for h in WIDTHS)
FIG3_PROFILES = WIDTH_PROFILES(FIG3_RUNS, {"top": 20}, {}, {"method": "dense"})
# h = 70 (M = 55,660): the dense eigvalsh does not fit one H200 (139 GiB measured); Fig. 3
# needs only the top 120, which Lanczos gives (checked on h = 50 against the dense spectrum)
FIG3_PROFILES["paper"]["h = 70"] = {"method": "lanczos"}
register(Figure(
    id="sagun-3", title="The top 120 eigenvalues for hidden widths 10 to 70 (MNIST-1k)",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_widths_top,
    caption=("The largest 120 eigenvalues of each of the four Hessians ranked in an increasing "
             "order: fully connected networks with 10, 30, 50 and 70 hidden units trained "
             "with the same step size and the same number of iterations on 1K MNIST examples."),
    runs=FIG3_RUNS, profiles=FIG3_PROFILES,
    shrunk={**MNIST_SHRUNK, "default": MNIST_SHRUNK["default"] + "; the top 120 by Lanczos "
            "(paper profile: dense, on a GPU)", "paper": MNIST_SHRUNK["paper"] + "; h = 70's "
            "top 120 by Lanczos (tol 1e-6): its dense spectrum does not fit one H200"},
    claims=(s3_top_unchanged(), s3_same_count()),
))

FIG5_RUNS = tuple(width_run(h, 1, DenseSpectrum(at_init=False)) for h in WIDTHS)
register(Figure(
    id="sagun-5", title="Negative eigenvalues in percent of the spectrum, widths 10 to 70",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_negative_tail,
    caption=("Negative eigenvalues at the bottom when increasing the number of hidden nodes "
             "(compare with Figure 3). x-axis indicates the order of the eigenvalue in "
             "percentages."),
    runs=FIG5_RUNS, profiles=WIDTH_PROFILES(FIG5_RUNS, {"pool": 4}, {"pool": 4}, {}),
    shrunk={**MNIST_SHRUNK, "default": MNIST_SHRUNK["default"] + "; 7×7 mean-pooled MNIST "
            "(49 inputs, 610–4,210 parameters) so that every spectrum is complete on a CPU; "
            "h = 10 has fewer parameters than examples"},
    claims=(s5_same_fraction(), s5_negatives_small()),
))


def batch_run(label: str, batch_size: int) -> RunSpec:
    return RunSpec(label, RunConfig(
        model="pooledcnn", dataset="mnist1k", data_options=(("pool", 2),), augment=False,
        optimizer="sgd", lr=0.05, batch_size=batch_size, max_steps=2000,
        track_every=max(1, 200 * batch_size // 1000), snapshot_steps=(0,),
        probes=(Metrics(n_eval=1000), DenseSpectrum(at_init=False, chunk=100))),
        keeps=("batch_size",))


LB_SB = (batch_run("LB (S = 512)", 512), batch_run("SB (S = 10)", 10))
LB_SB_PROFILES = {"smoke": {r.label: {**MNIST_SMOKE, "track_every": 1} for r in LB_SB},
                  "default": {}, "paper": {}}
LB_SB_SHRUNK = {"default": "a 1,674-parameter convnet on 14×14 mean-pooled MNIST-1k (the "
                "paper's convnet is unspecified), η = 0.05, 2,000 steps (the paper: unstated)",
                "smoke": MNIST_SHRUNK["smoke"], "paper": "as the default profile"}
register(Figure(
    id="sagun-4", title="Large batch against small batch: the outliers",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_lb_sb_top,
    caption="Outlier eigenvalues of LB (bs = 512) vs SB (bs = 10).",
    runs=LB_SB, profiles=LB_SB_PROFILES, shrunk=LB_SB_SHRUNK,
    claims=(s4_lb_larger(), s4_same_count()),
))

register(Figure(
    id="sagun-6", title="Large batch against small batch: the negative eigenvalues",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_lb_sb_bottom,
    caption=("Negative eigenvalues at the bottom for LB-SB experiment on MNIST (compare with "
             "Figure 4)."),
    runs=LB_SB, profiles=LB_SB_PROFILES, shrunk=LB_SB_SHRUNK,
    claims=(s5_negatives_small(),),
))
