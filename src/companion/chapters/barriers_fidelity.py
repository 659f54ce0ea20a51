"""The barriers chapter's fidelity check (spec §5, no figure in the paper): does the small
evaluation set of the shrunk profiles stand in for the whole training set?

Table 1's VGG-11 run (SGD, η = 0.1) is trained once more, as Fig. 3's λ_max run: the same
steps (same seed, same batches: no probe touches training), with the first two segments of
each selected epoch (10 segments: epochs 1/2/3/5/20 at default, the claims' epochs)
interpolated on every training image (5,000 at default, 45,000 at the paper profile) instead
of the profile's evaluation subset (100 images at default). The check compares, segment by
segment, the valley and barrier flags and the heights (Table 2's h_t).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import landscape as L
from ..claims import NOT_REACHED, Claim
from ..plotting import footer
from ..registry import Figure, register
from .barriers import CHAPTER, PAPER, PER_EPOCH, SHRUNK, VGG1, VGG_HESS, profiles
from .barriers_claims import segments, trace

AGREE, CORRELATE = 0.9, 0.9   # flags agree on ≥ 90% of the segments; Pearson r of h_t ≥ 0.9
SUBSET, WHOLE = VGG1.label, VGG_HESS.label


def compared(runs: dict) -> dict:
    """The two runs' common segments: loss rows, flags, heights, and how far apart the two
    trajectories are (they should be one trajectory)."""
    (c_sub, r_sub), (c_all, r_all) = runs[SUBSET], runs[WHOLE]
    (seg_a, a), (seg_b, b) = segments(r_sub), segments(r_all)
    common = np.intersect1d(seg_a, seg_b)
    a, b = a[np.isin(seg_a, common)], b[np.isin(seg_b, common)]
    d_a, d_b = (np.array(trace(r)["distance"]) for r in (r_sub, r_all))
    n = min(len(d_a), len(d_b))
    apart = float(np.max(np.abs(d_a[:n] - d_b[:n]) / np.maximum(d_b[:n], 1e-12))) if n else np.inf
    sizes = [min(c.probe("walk").n_eval, c.n_train or c.probe("walk").n_eval)
             for c in (c_sub, c_all)]
    return {"segments": common, "subset": a, "whole": b, "apart": apart, "sizes": sizes,
            "valley": (L.valleys(a), L.valleys(b)), "barrier": (L.barriers(a), L.barriers(b)),
            "height": (L.heights(a), L.heights(b))}


def f1_subset_stands_in() -> Claim:
    def check(runs):
        cmp = compared(runs)
        n, (small, large) = len(cmp["segments"]), cmp["sizes"]
        if small >= large:
            return NOT_REACHED, f"both runs evaluate {small} images: nothing to compare"
        if cmp["apart"] > 1e-3:
            return NOT_REACHED, (f"the two runs took different steps (distances from θ₀ differ "
                                 f"by up to {cmp['apart']:.1e} relative)")
        if n < 3:
            return NOT_REACHED, f"{n} common segments (needs ≥ 3)"
        valley = float(np.mean(cmp["valley"][0] == cmp["valley"][1]))
        barrier = float(np.mean(cmp["barrier"][0] == cmp["barrier"][1]))
        r = float(np.corrcoef(*cmp["height"])[0, 1])
        bias = float(np.exp(np.mean(np.log(cmp["height"][0] / cmp["height"][1]))))
        ok = min(valley, barrier) >= AGREE and r >= CORRELATE
        return ok, (f"{n} segments, {small} against {large} images: valley flags agree on "
                    f"{valley:.0%}, barrier flags on {barrier:.0%}, heights correlate with "
                    f"r = {r:.3f} (holds if both flags agree on ≥ {AGREE:.0%} and r ≥ "
                    f"{CORRELATE}); report-only: the subset's heights are {bias:.2f}× the whole "
                    f"set's (geometric mean); the trajectories agree to {cmp['apart']:.0e}")
    return Claim("F1 (this book's check, not the paper's): the small evaluation set gives "
                 "the whole training set's valleys, barriers and heights.", check)


def fidelity_plot(runs: dict, footer_text: str = "") -> plt.Figure:
    """Left: the segments' interpolated loss on both sets; right: h_t against h_t."""
    cmp = compared(runs)
    seg, a, b = cmp["segments"], cmp["subset"], cmp["whole"]
    small, large = cmp["sizes"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
    x = np.arange(len(seg))[:, None] + np.arange(a.shape[1])[None] / (a.shape[1] - 1) * 0.8
    for i, (xs, ya, yb) in enumerate(zip(x, a, b)):
        axes[0].plot(xs, ya, "--", color="#ff7f0e", lw=1, label=None if i else f"{small} images")
        axes[0].plot(xs, yb, "-", color="#1f77b4", lw=1.2, label=None if i else f"{large} images")
    epoch = seg // runs[SUBSET][1]["steps_per_epoch"] + 1
    axes[0].set_xticks(np.arange(len(seg)) + 0.4,
                       [f"e{e}\nt={t}" for e, t in zip(epoch, seg)], fontsize=7)
    axes[0].set(ylabel="training loss (interpolated)",
                title=f"{len(seg)} segments ({PER_EPOCH} per selected epoch), α = 0 … 1 each")
    axes[0].legend(fontsize=8)
    ha, hb = cmp["height"]
    axes[1].plot(hb, ha, "o", color="#2ca02c")
    top = max(ha.max(initial=0), hb.max(initial=0)) * 1.1 or 1
    axes[1].plot([0, top], [0, top], color="0.6", lw=0.8)
    axes[1].set(xlabel=f"h_t on {large} images", ylabel=f"h_t on {small} images",
                title="height above the valley floor", xlim=(0, top), ylim=(0, top))
    footer(fig, footer_text)
    return fig


register(Figure(
    id="walk-fidelity", title="The evaluation subset against the whole training set",
    notebook=CHAPTER, paper=PAPER, plot=fidelity_plot,
    caption=("(No figure in the paper: the spec's fidelity check.) The first two segments of "
             "each selected epoch of Table 1's VGG-11 run, interpolated on the profile's "
             "evaluation subset and on every training image: do valleys, barriers and "
             "heights agree?"),
    runs=(VGG1, VGG_HESS), profiles=profiles((VGG1, VGG_HESS)),
    shrunk={**SHRUNK, "default": SHRUNK["default"] + "; the check: 100 against all 5,000 "
            "training images", "paper": SHRUNK["paper"] + "; the check: against all 45,000"},
    claims=(f1_subset_stands_in(),)))
