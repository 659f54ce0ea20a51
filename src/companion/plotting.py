"""Plot helpers shared by the chapters: one theme, the paper's colours, eigenvalue curves,
the provenance footer and atomic saving. Chapter modules compose these into their figures;
nothing here trains or loads anything (compute and plot are separate, so a style change
never re-runs a simulation)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from .claims import SWEEP_DIRECTION, _value, curvature_records, peak, sweep_runs
from .results import atomic_replace

FOOTER_PT = 7  # the provenance line's font size
SWEEP_COLORS = ("#1f77b4", "#2ca02c", "#d62728")  # blue/green/red: increasing η, decreasing S


def use_theme() -> None:
    """A quiet paper-style theme (seaborn 'ticks', colour-blind palette, small fonts)."""
    import seaborn as sns

    sns.set_theme(context="paper", style="ticks", palette="colorblind", font_scale=1.15,
                  rc={"axes.spines.top": False, "axes.spines.right": False,
                      "axes.grid": True, "grid.alpha": 0.25, "legend.frameon": False,
                      "figure.dpi": 110, "savefig.dpi": 110, "axes.titleweight": "bold"})


RANKED = matplotlib.colors.LinearSegmentedColormap.from_list(
    "ranked", ["#b2182b", "#762a83", "#2166ac"])  # no pale middle: every curve stays visible


def ranked_colors(n: int) -> np.ndarray:
    """Red (largest eigenvalue) through purple to blue (smallest of the top-k), as the
    paper's Fig. 1 colours them."""
    return RANKED(np.linspace(0, 1, max(n, 1)))


def sweep_colors(n: int) -> list:
    if n <= len(SWEEP_COLORS):
        return list(SWEEP_COLORS[:n])
    return list(matplotlib.colormaps["viridis"](np.linspace(0, 0.9, n)))


def plot_top_k(ax, x, values: np.ndarray, **kwargs) -> None:
    """Every tracked eigenvalue against x, the largest thickest."""
    colors = ranked_colors(values.shape[1])
    for i in range(values.shape[1]):
        ax.plot(x, values[:, i], color=colors[i], lw=1.6 if i == 0 else 0.9, **kwargs)


def eigen_matrix(records: list) -> np.ndarray:
    return np.array([r["eigenvalues"] for r in records])


def plot_sweeps(runs: dict, footer_text: str = "") -> plt.Figure:
    """λ1 (solid) and λ2 (dashed) on a log scale for runs that sweep η, S or μ (a row each),
    one column per model, blue/green/red along the paper's order (increasing η, decreasing
    S, increasing μ); a dot marks where each run reached its peak
    (:func:`companion.claims.peak`), hollow when λ1 was still growing at the end."""
    models = list(dict.fromkeys(label.split("/")[0] for label in runs))
    fields = [f for f in SWEEP_DIRECTION if any(sweep_runs(runs, m, f) for m in models)]
    titles = {"lr": "learning rate", "batch_size": "batch size", "momentum": "momentum"}
    fig, axes = plt.subplots(len(fields), len(models), figsize=(4.9 * len(models),
                                                                 3.6 * len(fields)), squeeze=False)
    for col, model in enumerate(models):
        for row, field in enumerate(fields):
            ax = axes[row, col]
            chosen = sweep_runs(runs, model, field)
            for (config, result), color in zip(chosen, sweep_colors(len(chosen))):
                records = curvature_records(result, ("init", "epoch"))
                epochs, values = [r["epoch"] for r in records], eigen_matrix(records)
                ax.plot(epochs, values[:, 0], color=color, label=_value(config, field))
                if values.shape[1] > 1:
                    ax.plot(epochs, values[:, 1], color=color, ls="--", lw=0.9)
                p = peak(result)  # marked on the curve, where the smoothed λ1 reached it
                ax.plot([p.epoch], [values[epochs.index(p.epoch), 0]], "o", color=color, ms=5,
                        mfc=color if p.settled else "white")
            ax.set_yscale("log")
            ax.set(xlabel="epoch", ylabel="λ1 (solid), λ2 (dashed)",
                   title=f"{model}: {titles[field]}")
            if chosen:
                ax.legend(fontsize=8)
    footer(fig, footer_text)
    return fig


def footer(fig: plt.Figure, text: str, tight: bool = True) -> None:
    """Lay the figure out (``tight=False``: a figure that placed its own grid) and write its
    provenance line at the bottom."""
    if tight:
        fig.tight_layout()
    if text:
        # wrapped to the figure's width (a footer listing several commits and devices
        # would run off the right edge), the axes raised by the lines it takes beyond one
        lines = textwrap.wrap(text, max(40, int(fig.get_figwidth() * 72 / (FOOTER_PT * 0.58))),
                              break_long_words=False, break_on_hyphens=False)
        fig.text(0.005, 0.002, "\n".join(lines), fontsize=FOOTER_PT, color="0.35", ha="left",
                 va="bottom")
        extra = (len(lines) - 1) * FOOTER_PT * 1.3 / 72 / fig.get_figheight()
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.1) + extra)


def save_figure(fig: plt.Figure, path: Path) -> Path:
    """Save as PNG atomically (a failed save never replaces an earlier image) and close."""
    try:
        atomic_replace(path, fig.savefig, suffix=".png")
    finally:
        plt.close(fig)
    return path
