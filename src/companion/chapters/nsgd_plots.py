"""Plots of the Nudged-SGD chapter (Figs. 8, 19, 21, 22, Tables 1–7, App. E). Each takes
the figure's runs (label → (RunConfig, result)) and a footer line and returns a matplotlib
figure; Fig. 20 reuses chapter 2's :func:`~companion.chapters.step_plots.plot_step`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import nsgd_analysis as A
from ..plotting import footer, ranked_colors, sweep_colors
from .nsgd_tables import COLUMNS, PAPER_TABLES, ours

GAMMA_COLORS = {0.01: "#2166ac", 0.1: "#1b9e77", 1.0: "#222222", 5.0: "#d62728"}


def _gamma_color(g: float) -> str:
    return GAMMA_COLORS.get(g, "#7570b3")


def _row_color(name: str) -> str:
    if name.startswith("γ="):
        return _gamma_color(float(name[2:]))
    return "#999999"


def plot_table(runs: dict, footer_text: str = "", number: int = 1) -> plt.Figure:
    """Tables 1–7 as bars: the paper's rows (top) above this execution's (bottom), one
    panel per column, one colour per γ (baselines grey). Scales differ between the rows of
    panels: the default profile's shrunk runs are compared by their order, not their size."""
    paper = PAPER_TABLES[number]
    rows = A.table_rows(runs, A.early_epoch(runs, 10 if number == 7 else 50)) if runs else {}
    cols = (0, 2, 3, 4, 5)
    fig, axes = plt.subplots(2, len(cols), figsize=(3.0 * len(cols), 5.6), squeeze=False)
    for line, (source, data) in enumerate((("paper", paper),
                                           ("this run", {n: ours(r, number) for n, r in rows.items()}))):
        names = list(data)
        for ax, c in zip(axes[line], cols):
            if not names:
                ax.text(0.5, 0.5, "no run\n(data not available)", ha="center", va="center",
                        transform=ax.transAxes, fontsize=9, color="#666666")
                ax.set_xticks([]), ax.set_yticks([])
            else:
                values = [data[n][c] for n in names]
                ax.bar(range(len(names)), values, color=[_row_color(n) for n in names])
                ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
                if c in (2, 3):
                    lo = min(values)
                    ax.set_ylim(max(0, lo - 0.15 * (max(values) - lo) - 1), max(values) + 0.5)
            title = COLUMNS[c].replace("best", "(best val.)")
            if number == 7 and c == 0:
                title = "λ_max (best val.)"
            ax.set_title(f"{source}: {title}", fontsize=8)
    fig.suptitle(f"Table {number}: the paper (top) and this execution (bottom)", fontsize=10)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    footer(fig, footer_text)
    return fig


def _curvature(ax, result, color, label, lw=1.6):
    epochs, values = A.eigen_series(result)
    ax.plot(epochs, values[:, 0], "-", color=color, lw=lw, label=label)
    ax.plot(epochs, A.frobenius_top(values), "--", color=color, lw=lw * 0.8)


def plot_k_sweep(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 8: validation accuracy and λ_max (solid) / ‖H‖_F (dashed) along training for
    each K (blue → red) and SGD (black); right: test accuracy and final ‖H‖_F against K,
    with SGD's as horizontal lines."""
    nsgd, (sgd_config, sgd) = A.k_runs({k: v for k, v in runs.items() if "/seed=" not in k})
    colors = ranked_colors(len(nsgd))[::-1]  # blue (small K) → red (large K), as the paper
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    for (k, _, result), color in list(zip(nsgd, colors)) + [((None, None, sgd), "black")]:
        label = f"K = {k}" if k is not None else "SGD"
        vals = A.measured(result, "val_acc")
        left.plot([r["epoch"] for r in vals], [100 * r["val_acc"] for r in vals], color=color,
                  label=label)
        _curvature(mid, result, color, label)
    left.set(xlabel="epoch", ylabel="validation accuracy (%)")
    mid.set(xlabel="epoch", ylabel="λ_max (solid), ‖H‖_F (dashed)", yscale="log")
    left.legend(fontsize=8)
    epoch = A.early_epoch(runs, 50)
    rows = [A.table_row(c, r, epoch) for _, c, r in nsgd]
    base = A.table_row(sgd_config, sgd, epoch)
    ks = [k for k, _, _ in nsgd]
    right.plot(ks, [r["test_acc"] for r in rows], "o-", color="#d62728", label="NSGD test acc.")
    right.axhline(base["test_acc"], color="#d62728", ls=":", lw=2, label="SGD test acc.")
    right.set(xlabel="K", ylabel="test accuracy (%) at the best-validation point")
    twin = right.twinx()
    twin.plot(ks, [r["F_best"] for r in rows], "s-", color="#1f77b4", label="NSGD ‖H‖_F")
    twin.axhline(base["F_best"], color="#1f77b4", ls="--", label="SGD ‖H‖_F")
    twin.set_ylabel("‖H‖_F at the best-validation point", color="#1f77b4")
    right.margins(y=0.15)   # keep the SGD lines off the frame
    twin.margins(y=0.15)
    handles = right.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    twin.legend(handles=handles, fontsize=7, loc="center right", framealpha=0.9)  # above both
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    footer(fig, footer_text)
    return fig


def plot_curvature_groups(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 19: λ_max (solid) and ‖H‖_F (dashed) along training, one panel per group of
    runs ('η=0.1: …', 'μ=0.9: …'), one colour per γ."""
    groups = list(dict.fromkeys(label.split(": ")[0] for label in runs))
    fig, axes = plt.subplots(1, len(groups), figsize=(6.2 * len(groups), 4.2), squeeze=False)
    for ax, group in zip(axes[0], groups):
        for label, (config, result) in runs.items():
            if label.startswith(group + ": "):
                g = A.gamma(config)
                _curvature(ax, result, _gamma_color(g), f"γ = {g:g}")
        ax.set(xlabel="epoch", ylabel="λ_max (solid), ‖H‖_F (dashed)", yscale="log",
               title="high learning rate" if group.startswith("η") else "momentum")
        ax.legend(fontsize=8, title=group)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    footer(fig, footer_text)
    return fig


def plot_imdb_nsgd(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 22: validation accuracy (left) and λ_max (right) along training, per γ (every
    seed drawn)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.0))
    for label, (config, result) in runs.items():
        g, seeded = A.gamma(config), "/seed=" in label
        color = _gamma_color(g)
        vals = A.measured(result, "val_acc")
        name = None if seeded else f"γ = {g:g}"
        left.plot([r["epoch"] for r in vals], [100 * r["val_acc"] for r in vals], color=color,
                  label=name, alpha=0.6 if seeded else 1)
        epochs, values = A.eigen_series(result)
        right.plot(epochs, values[:, 0], color=color, label=name, alpha=0.6 if seeded else 1)
    left.set(xlabel="epoch", ylabel="validation accuracy (%)")
    right.set(xlabel="epoch", ylabel="λ_max", yscale="log")
    left.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    footer(fig, footer_text)
    return fig


def plot_imdb_sweeps(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 21: λ1 (solid) and λ2 (dash-dot) along training, log y; left the η sweep,
    right the S sweep (blue/green/red: increasing η, decreasing S, as Fig. 4)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
    for ax, (prefix, field, symbol) in zip(axes, (("lr=", "lr", "η"), ("S=", "batch_size", "S"))):
        chosen = sorted(((getattr(c, field), r) for label, (c, r) in runs.items()
                         if label.split("/")[-1].startswith(prefix)),
                        key=lambda t: t[0], reverse=field == "batch_size")
        for (value, result), color in zip(chosen, sweep_colors(len(chosen))):
            epochs, values = A.eigen_series(result)
            ax.plot(epochs, values[:, 0], "-", color=color, label=f"{symbol} = {value:g}")
            if values.shape[1] > 1:
                ax.plot(epochs, values[:, 1], "-.", color=color)
        ax.set(xlabel="epoch", ylabel="λ1 (solid), λ2 (dash-dot)", yscale="log",
               title=f"{symbol} sweep")
        if chosen:
            ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    footer(fig, footer_text)
    return fig


def plot_newton(runs: dict, footer_text: str = "") -> plt.Figure:
    """App. E: the coordinates of Newton's step and NSGD's (exact and Lanczos directions)."""
    out = A.newton_example()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(out["newton"]))
    for shift, key, label, color in ((-0.25, "newton", "Newton, (H + λI)⁻¹g", "#222222"),
                                     (0.0, "nsgd_exact", "NSGD, exact e_i", "#2166ac"),
                                     (0.25, "nsgd_lanczos", "NSGD, Lanczos e_i", "#d62728")):
        ax.bar(x + shift, out[key], width=0.25, color=color, label=label)
    ax.set(xlabel="coordinate of Δθ (rotated example)", ylabel="Δθ",
           title=f"relative difference: {out['rel_exact']:.0e} (exact), "
                 f"{out['rel_lanczos']:.0e} (Lanczos)")
    ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    footer(fig, footer_text)
    return fig
