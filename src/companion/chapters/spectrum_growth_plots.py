"""Plots of the spectrum-growth chapter (Figs. 1–3, and Fig. 9 of the appendix)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..claims import curvature_records
from ..plotting import eigen_matrix, footer, plot_top_k


def plot_eigenvalue_evolution(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 1: every tracked eigenvalue along training, red (largest) to blue."""
    fig, axes = plt.subplots(1, len(runs), figsize=(6.4 * len(runs), 4.2), squeeze=False)
    for ax, (label, (config, result)) in zip(axes[0], runs.items()):
        records = curvature_records(result, ("init", "epoch"))
        values = eigen_matrix(records)
        plot_top_k(ax, [r["epoch"] for r in records], values)
        ax.axhline(1 / config.lr, color="k", ls=":", lw=1, label="1/η")
        ax.axhline(2 / config.lr, color="0.5", ls="--", lw=1, label="2/η")
        ax.set(xlabel="epoch", ylabel="eigenvalue", title=f"{label}: top {values.shape[1]}")
        ax.legend(loc="upper left")
    footer(fig, footer_text)
    return fig


def plot_spectrum_and_accuracy(runs: dict, footer_text: str = "") -> plt.Figure:
    """Figs. 2–3: top-k eigenvalues (per epoch, and per step in the zoom) with accuracy."""
    has_zoom = any(r["phase"] == "zoom" for _, res in runs.values() for r in res["history"])
    rows = 3 if has_zoom else 2
    fig, axes = plt.subplots(rows, len(runs), figsize=(5.6 * len(runs), 3.1 * rows),
                             squeeze=False)
    for col, (label, (config, result)) in enumerate(runs.items()):
        records = curvature_records(result, ("init", "epoch"))
        gd = config.optimizer == "gd"
        unit = "step (full batch)" if gd else "epoch"
        plot_top_k(axes[0, col], [r["epoch"] for r in records], eigen_matrix(records))
        if gd:
            axes[0, col].axhline(2 / config.lr, color="k", ls=":", lw=1, label="2/η")
            axes[0, col].legend(loc="lower right")
        axes[0, col].set(title=label, xlabel=unit, ylabel="top eigenvalues")
        if has_zoom:
            zoom = curvature_records(result, ("init", "zoom"))
            plot_top_k(axes[1, col], [r["step"] for r in zoom], eigen_matrix(zoom), marker=".")
            axes[1, col].set(xlabel="iteration (zoom on the start)", ylabel="top eigenvalues")
        acc = axes[-1, col]
        if gd and result.get("step_log"):
            steps = [s for s, _, _ in result["step_log"]]
            acc.plot(steps, [a for _, _, a in result["step_log"]], color="tab:orange", lw=0.9,
                     label="train (every step)")
        else:
            everything = curvature_records(result)
            acc.plot([r["epoch"] for r in everything], [r["train_acc"] for r in everything],
                     label="train", color="tab:orange")
        tracked = curvature_records(result)
        acc.plot([r["epoch"] for r in tracked], [r["test_acc"] for r in tracked], label="test",
                 color="tab:purple")
        if result.get("diverged_at_step") is not None:
            acc.axvline(result["diverged_at_step"] / result["steps_per_epoch"], color="k",
                        ls="--", label="diverged")
        acc.set(xlabel=unit, ylabel="accuracy", ylim=(0, 1))
        acc.legend(loc="upper left", ncols=3, fontsize=8)
    footer(fig, footer_text)
    return fig
