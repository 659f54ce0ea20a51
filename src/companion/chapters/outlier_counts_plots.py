"""Plots of the outlier-counts chapter (Sagun et al. 2017). Every function takes the figure's
runs (label → (RunConfig, result with its ``spectrum`` or ``line`` analysis)) and the
provenance footer."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np

from ..plotting import footer, sweep_colors
from ..spectra import OUTLIER_METHODS, OUTLIER_WINDOW, count_outliers
from .outlier_counts_claims import classes, mp_edge, spectrum

METHOD_STYLE = {"gap": ("#d62728", "--"), "ratio": ("#2ca02c", ":"), "elbow": ("#9467bd", "-.")}
# Table 1 as printed (spec §2): (mean eigenvalue, gap, ratio, heuristic); None = illegible or
# empty in the extracted text, "N/A" = the paper's own N/A
PAPER_TABLE = {
    "GD tanh cov1": {2: (1.19e-05, 2, 3, "N/A"), 5: (2.52e-05, 2, 17, "N/A"),
                     10: (3.75e-05, 2, 4, "N/A"), 20: (5.37e-05, 3, 4, "N/A")},
    "GD ReLU cov1": {2: (7.13e-06, 3, None, 2), 5: (1.55e-05, 6, 7, 5), 10: (3.04e-05, 11, 12, 10),
                     20: (5.65e-05, 4, 21, 21), 50: (1.16e-04, 50, 51, 49)},
    "SGD ReLU cov1": {2: (8.96e-06, 3, None, 2), 5: (1.62e-05, 6, 7, 7), 10: (2.97e-05, 2, 14, 15),
                      20: (4.53e-05, 2, 3, 21), 50: (6.78e-05, 50, 51, 49)},
    "SGD ReLU cov10": {2: (9.49e-05, 2, None, 2), 5: (1.68e-04, 5, 6, 5),
                       10: (1.92e-04, 2, 11, 9), 20: (3.10e-04, 20, 21, 19),
                       50: (1.67e-04, 50, 51, 49)},
}


def _mark_counts(ax, values) -> None:
    for m in OUTLIER_METHODS:
        color, style = METHOD_STYLE[m]
        n = count_outliers(values, m)
        ax.axvline(n + 0.5, color=color, ls=style, lw=1, label=f"{m}: {n}")


def plot_full_spectrum(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 1: every eigenvalue against its rank, at initialization and at the end."""
    label, (config, result) = next(iter(runs.items()))
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, point, color in zip(axes, ("init", "end"), ("#1f77b4", "#d62728")):
        lam = spectrum(result, point)
        ax.plot(np.arange(1, len(lam) + 1), lam, color=color, lw=1.2)
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set(xlabel="rank", ylabel="eigenvalue",
               title=f"{'initial point' if point == 'init' else 'end of GD'} "
                     f"(loss {result['spectrum'][point]['loss']:.3g})")
        inset = ax.inset_axes([0.45, 0.45, 0.5, 0.45])
        inset.plot(np.arange(1, 61), lam[:60], ".-", color=color, ms=3, lw=0.8)
        inset.set_title("top 60", fontsize=7)
        inset.tick_params(labelsize=6)
    fig.suptitle(f"{label}: {len(lam):,} parameters", fontsize=10)
    footer(fig, footer_text)
    return fig


def plot_gaps(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 2: the top of the ordered spectrum for each k, with the three counts; three
    panels a row, so that the figure stays legible at the book's column width."""
    cols = min(3, len(runs))
    rows = -(-len(runs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.7 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[len(runs):]:
        ax.set_visible(False)
    for ax, (label, (config, result)) in zip(axes.flat, runs.items()):
        lam = spectrum(result)
        k = classes(config)
        most = max(count_outliers(lam, m) for m in OUTLIER_METHODS)
        shown = min(len(lam), max(2 * k + 10, 30, most + 5))
        ax.plot(np.arange(1, shown + 1), lam[:shown], "o", ms=2.5, color="#1f77b4")
        _mark_counts(ax, lam)
        ax.axvline(k + 0.5, color="black", lw=0.6, alpha=0.5)
        ax.set(title=f"k = {k}", xlabel="rank")
        ax.legend(fontsize=6)
    for row in axes:
        row[0].set_ylabel("eigenvalue (end of training)")
    footer(fig, footer_text)
    return fig


def plot_table(runs: dict, footer_text: str = "") -> plt.Figure:
    """Table 1: this execution's mean eigenvalue and three counts beside the paper's."""
    header = ["row", "M", "mean λ", "gap", "ratio", "elbow", "paper mean", "gap", "ratio",
              "heur."]
    cells, colors = [], []
    for label, (config, result) in runs.items():
        lam = spectrum(result)
        k = classes(config)
        block = label.rsplit(" k=", 1)[0]
        paper = PAPER_TABLE.get(block, {}).get(k, (None,) * 4)
        ours = [count_outliers(lam, m) for m in OUTLIER_METHODS]
        cells.append([label, f"{len(lam):,}", f"{np.mean(lam):.3g}", *map(str, ours),
                      "—" if paper[0] is None else f"{paper[0]:.3g}",
                      *["?" if v is None else str(v) for v in paper[1:]]])
        paper = [None if isinstance(v, str) else v for v in paper]
        hit = ["#d9f2d9" if abs(n - k) <= 1 else "#f9d6d5" for n in ours]
        phit = ["white" if v is None else "#d9f2d9" if abs(v - k) <= 1 else "#f9d6d5"
                for v in paper[1:]]
        colors.append(["white"] * 3 + hit + ["white"] + phit)
    fig, ax = plt.subplots(figsize=(11, 0.26 * len(cells) + 1.0))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=header, cellColours=colors, loc="center",
                     cellLoc="center", colWidths=[0.19] + [0.09] * (len(header) - 1))
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 1.25)
    ax.set_title("Table 1: outlier counts (green: within k ± 1), this execution (left) and the "
                 "paper (right)", fontsize=9)
    footer(fig, footer_text)
    return fig


def plot_ggn(runs: dict, footer_text: str = "") -> plt.Figure:
    """Eq. 5: the top of H and G, and the whole spectra of H, G and R = H − G (symlog)."""
    fig, axes = plt.subplots(len(runs), 2, figsize=(11, 3.3 * len(runs)), squeeze=False)
    for row, (label, (config, result)) in zip(axes, runs.items()):
        for key, color in (("H", "#1f77b4"), ("G", "#ff7f0e"), ("R", "#2ca02c")):
            lam = spectrum(result, "end", key)
            if key != "R":
                row[0].plot(np.arange(1, 41), lam[:40], ".-", ms=3, lw=0.8, color=color,
                            label=key)
            row[1].plot(100 * np.arange(len(lam)) / len(lam), lam, lw=1.1, color=color,
                        label=key if key != "R" else "R = H − G")
        row[0].set(title=f"{label}: top 40 at the end", xlabel="rank")
        scale = np.abs(spectrum(result, "end", "H")).max()
        row[1].set_yscale("symlog", linthresh=1e-4 * scale)
        row[1].set(title="every eigenvalue at the end", xlabel="rank (% of M)")
        for ax in row:
            ax.legend(fontsize=7)
    footer(fig, footer_text)
    return fig


def plot_widths_top(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 3: the largest eigenvalues, in increasing order, per hidden width."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (label, (config, result)), color in zip(runs.items(), sweep_colors(len(runs))):
        lam = spectrum(result)[:OUTLIER_WINDOW][::-1]
        ax.plot(np.arange(1, len(lam) + 1), lam, ".-", ms=3, lw=0.8, color=color,
                label=f"{label} (M = {result['spectrum']['end']['dim']:,})")
    ax.set(xlabel="order of the largest eigenvalues (increasing)", ylabel="eigenvalue")
    ax.legend(fontsize=7)
    footer(fig, footer_text)
    return fig


LB_SB_COLORS = ("#d62728", "#1f77b4")  # large batch red, small batch blue (Figs. 4 and 6)


def _tail(ax, runs: dict, percent: float = 5.0, colors=None) -> None:
    for (label, (config, result)), color in zip(runs.items(), colors or sweep_colors(len(runs))):
        lam = spectrum(result)[::-1]   # ascending: the most negative first
        x = 100 * np.arange(1, len(lam) + 1) / len(lam)
        keep = x <= percent
        ax.plot(x[keep], lam[keep], lw=1.2, color=color, label=f"{label} (M = {len(lam):,})")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set(xlabel="order of the eigenvalue, % of M (smallest first)", ylabel="eigenvalue")
    ax.legend(fontsize=7)


def plot_negative_tail(runs: dict, footer_text: str = "", colors=None) -> plt.Figure:
    """Figs. 5 and 6: the bottom of each spectrum against its rank in percent."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    _tail(ax, runs, colors=colors)
    footer(fig, footer_text)
    return fig


def plot_lb_sb_top(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 4: the largest eigenvalues of the large- and the small-batch solution."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for (label, (config, result)), color in zip(runs.items(), LB_SB_COLORS):
        lam = spectrum(result)[:40]
        ax.plot(np.arange(1, len(lam) + 1), lam, ".-", ms=4, lw=0.8, color=color,
                label=f"{label}: {count_outliers(spectrum(result), 'elbow')} by the elbow")
    ax.set(xlabel="order of largest eigenvalues", ylabel="eigenvalue", yscale="log")
    ax.legend(fontsize=8)
    footer(fig, footer_text)
    return fig


def plot_lb_sb_bottom(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 6: Fig. 5's plot for the large- (red) and small-batch (blue) solutions."""
    return plot_negative_tail(runs, footer_text, colors=LB_SB_COLORS)


def _mp_density(x: np.ndarray, scale: float, alpha: float) -> np.ndarray:
    """Marchenko–Pastur density of eigenvalues of scale·(1/N)XᵀX, ratio α = M/N (bulk part)."""
    lo, hi = scale * (1 - alpha ** 0.5) ** 2, scale * (1 + alpha ** 0.5) ** 2
    inside = (x > lo) & (x < hi)
    out = np.zeros_like(x)
    out[inside] = np.sqrt((hi - x[inside]) * (x[inside] - lo)) / (2 * np.pi * scale * alpha * x[inside])
    return out


def plot_logistic(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 10: eigenvalue histograms at initialization with the Marchenko–Pastur density;
    one blob (top), two blobs (bottom), one column per α = M/N."""
    labels = list(runs)
    ones = [lab for lab in labels if classes(runs[lab][0]) == 1]
    twos = [lab for lab in labels if classes(runs[lab][0]) == 2]
    cols = max(len(ones), len(twos), 1)
    fig, axes = plt.subplots(2, cols, figsize=(3.6 * cols, 6), squeeze=False)
    for row, group in zip(axes, (ones, twos)):
        for ax, label in zip(row, group):
            result = runs[label][1]
            lam = spectrum(result, "init")
            edge, alpha = mp_edge(result)
            scale = edge / (1 + alpha ** 0.5) ** 2
            bulk = lam[lam <= 2 * edge]
            bins = np.linspace(min(bulk.min(), 0.0), 1.1 * edge, 41)
            heights, *_ = ax.hist(bulk, bins=bins, color="#9ecae1",  # density over all M
                                  weights=np.full(len(bulk), 1.0 / (len(lam) * (bins[1] - bins[0]))))
            x = np.linspace(1e-9, edge * 1.05, 400)
            ax.plot(x, _mp_density(x, scale, alpha), color="black", lw=1, label="MP")
            ax.set_ylim(0, 1.2 * max(heights.max(), 1e-12))  # MP diverges at 0 when α = 1
            ax.axvline(edge, color="black", ls=":", lw=0.8)
            outliers = lam[lam > 2 * edge]
            title = f"{label}"
            if len(outliers):
                title += f"\noutlier(s) {', '.join(f'{v:.3g}' for v in outliers[:3])}"
            ax.set_title(title, fontsize=8)
            ax.set_xlabel("eigenvalue (bulk)")
            ax.legend(fontsize=7)
    footer(fig, footer_text)
    return fig


def plot_switch(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 8: loss and accuracy along part I (large batch) then part II (small batch)."""
    from .outlier_counts_switch import _parts, records

    one, two = _parts(runs)
    first, second = records(one), records(two)
    offset = first[-1]["step"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, metric, name in zip(axes, ("loss", "acc"), ("loss", "accuracy")):
        for split, color in (("train", "#1f77b4"), ("test", "#d62728")):
            xs = [r["step"] for r in first] + [offset + r["step"] for r in second]
            ys = [r[f"{split}_{metric}"] for r in first] + [r[f"{split}_{metric}"] for r in second]
            ax.plot(xs, ys, "-", lw=1.2, color=color, label=split)
        ax.axvline(offset, color="0.4", ls=":", lw=1)
        if two.get("diverged_at_step") is not None:
            ax.axvline(offset + two["diverged_at_step"], color="k", ls="--", lw=1,
                       label=f"part II diverged (step {two['diverged_at_step']})")
        ax.set(xlabel="iteration (part I, then part II)", ylabel=name)
        ax.legend(fontsize=8)
    axes[0].set_title(f"batch {next(iter(runs.values()))[0].batch_size} → "
                      f"{list(runs.values())[-1][0].batch_size}", fontsize=9)
    footer(fig, footer_text)
    return fig


def plot_line(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 9: loss and accuracy at θ(α) = (1 − α)θ_LB + αθ_SB."""
    from .outlier_counts_switch import diverged, line_missing, nonfinite_alphas

    _, result = list(runs.values())[-1]
    rows = result["line"]["rows"]
    alphas = [r["alpha"] for r in rows]
    stopped = diverged(runs)
    if nonfinite_alphas(rows):   # no line: say why (line_missing's reasons)
        missing = line_missing(runs)
        fig = plt.figure(figsize=(8, 2.2))
        fig.text(0.5, 0.55, "No line to draw.\n" + textwrap.fill(missing[1][0].upper()
                                                                 + missing[1][1:] + ".", 75),
                 ha="center", va="center", fontsize=10)
        footer(fig, footer_text)
        return fig
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, metric, name in zip(axes, ("loss", "acc"), ("loss", "accuracy")):
        for split, color in (("train", "#1f77b4"), ("test", "#d62728")):
            ax.plot(alphas, [r[f"{split}_{metric}"] for r in rows], "o-", ms=3, color=color,
                    label=split)
        for a, text in ((0, "LB"), (1, "SB (stopped)" if stopped else "SB")):
            ax.axvline(a, color="0.5", ls=":", lw=1)
            ax.text(a, 1.01, text, transform=ax.get_xaxis_transform(), ha="center", fontsize=8)
        ax.set(xlabel="α", ylabel=name)
        ax.legend(fontsize=8)
    if axes[0].get_ylim()[1] > 20 * min(r["train_loss"] for r in rows):
        axes[0].set_yscale("log")
    if stopped:   # the line is finite, but its SB end is where the rule stopped part II
        fig.suptitle(textwrap.fill(stopped[0].upper() + stopped[1:] + "; α = 1 is where it "
                                   "stopped, not a solution.", 110), fontsize=9, y=1.0)
    footer(fig, footer_text)
    return fig
