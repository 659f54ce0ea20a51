"""Plots of the step-vs-curvature chapter (Figs. 5–7, 14–18); Fig. 20 of the NSGD chapter
reuses :func:`plot_step`. Each takes the figure's runs (label → (RunConfig, result)) and a
footer line, and returns a matplotlib figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import step_analysis as S
from ..plotting import footer, sweep_colors

ETA_COLORS = {0.001: "#d62728", 0.01: "#2ca02c", 0.1: "#1f77b4"}  # the authors' Fig. 5
ALPHA_COLORS = {0.25: "#6baed6", 0.5: "#1f77b4", 1.0: "#2ca02c", 2.0: "#d62728", 4.0: "#7f0000"}


def _model(label: str) -> str:
    return label.split("/")[0]


def plot_alignment(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 5: top-5 mean |cos(g, e_i)| against the training accuracy, one panel per model,
    red/green/blue for η = 0.001/0.01/0.1 (the authors' colours); dotted: random baseline."""
    models = list(dict.fromkeys(_model(label) for label in runs))
    fig, axes = plt.subplots(1, len(models), figsize=(5.8 * len(models), 4.0), squeeze=False)
    for ax, model in zip(axes[0], models):
        mine = sorted(((c.lr, label, r) for label, (c, r) in runs.items()
                       if _model(label) == model), key=lambda t: t[0])
        others = iter(sweep_colors(len(mine)))
        for lr, label, result in mine:
            records = S.direction_records(result)
            acc = [r["train_acc"] for r in records]
            cos = [float(np.mean(r["cosines"][:5])) for r in records]
            color = ETA_COLORS.get(lr) or next(others)
            ax.plot(acc, cos, "o-", color=color, ms=4, lw=1.2, label=f"η = {lr:g}")
        dim = S.direction_records(mine[0][2])[0]["num_parameters"]
        ax.axhline(S.random_cosine(dim), color="purple", ls=":", lw=1.2,
                   label=f"random, D = {dim:,}")
        ax.set(yscale="log", xlabel="training accuracy", ylabel="mean |cos(g, e_i)|, i ≤ 5",
               title=model)
        ax.legend(fontsize=8)
    footer(fig, footer_text)
    return fig


def plot_step(runs: dict, footer_text: str = "", direction: int = 1) -> plt.Figure:
    """Figs. 6, 15–18: per run, ΔL(α) in % against the epoch (symlog axis; edge-phase
    points, η·λ1 ≥ 1, filled, earlier ones hollow), and the cross-sections
    L(θ + k Δθ_i e_i) − L(θ) over |k| ≤ 4 (the range the claims fit), one curve per point
    coloured by λ1 (blue → red). Axes keep e1's scale (Figs. 15–16 keep Fig. 6's, as the
    paper does)."""
    fig, axes = plt.subplots(len(runs), 2, figsize=(11.5, 3.7 * len(runs)), squeeze=False)
    for row, (label, (config, result)) in zip(axes, runs.items()):
        records = S.direction_records(result)
        alphas = config.probe("directions").alphas
        ks = np.array(config.probe("directions").section_k)
        key = str(direction)
        left, right = row
        shown = key if key in records[0]["step_change"] else "1"
        epochs = np.array([r["epoch"] for r in records])
        edge = np.array([config.lr * r["eigenvalues"][0] >= S.EDGE for r in records])
        if records[0]["step_change"]:
            changes = S.step_changes(records, alphas, int(shown))
            for j, a in enumerate(alphas):
                color = ALPHA_COLORS.get(a, "0.4")
                left.plot(epochs, changes[:, j], color=color, lw=0.8, alpha=0.6)
                left.scatter(epochs[edge], changes[edge, j], color=color, s=18, label=f"α = {a:g}")
                left.scatter(epochs[~edge], changes[~edge, j], facecolor="none",
                             edgecolor=color, s=18)
            reference = S.step_changes(records, alphas, 1)  # e1's scale on every panel
            span = np.nanmax(np.abs(reference)) * 1.3 or 1.0
            left.set_yscale("symlog", linthresh=1.0)  # ±1% linear, logarithmic beyond
            left.set_ylim(-span, span)
        left.axhline(0, color="k", lw=0.6)
        left.set(xlabel="epoch", ylabel=f"ΔL along e{shown} (% of L)",
                 title=f"{label}: step α·ηg̃{shown}" + (f" (ΔL along e{key} not measured)"
                                                        if shown != key else ""))
        left.legend(fontsize=7, ncols=len(alphas), loc="upper left")
        lams = np.array([r["eigenvalues"][0] for r in records])
        cmap = plt.get_cmap("coolwarm")
        norm = plt.Normalize(lams.min(), lams.max())
        shown_k = np.abs(ks) <= S.SECTION_FIT_K
        e1 = [np.array(r["sections"]["1"])[shown_k] - r["loss"] for r in records
              if "1" in r["sections"]]
        for r, lam in zip(records, lams):
            if key in r["sections"]:
                losses = np.array(r["sections"][key])
                right.plot(ks, losses - r["loss"], color=cmap(norm(lam)), lw=1.2,
                           marker="." if config.lr * lam >= S.EDGE else None)
        right.set_xlim(-S.SECTION_FIT_K - 0.3, S.SECTION_FIT_K + 0.3)
        right.set(xlabel=f"k (multiples of the expected step Δθ{key} along e{key})",
                  ylabel="L(θ + k Δθ e) − L(θ)", title=f"{label}: loss along e{key}")
        if e1:  # e1's range on every panel (Figs. 15–16 keep Fig. 6's scale)
            low, high = min(c.min() for c in e1), max(c.max() for c in e1)
            pad = 0.05 * (high - low) or 1e-3
            right.set_ylim(low - pad, high + pad)
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=right, label="λ1 at that point")
    footer(fig, footer_text)
    return fig


def plot_accuracies(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 14: training and test accuracy along the runs of Fig. 6."""
    fig, axes = plt.subplots(1, len(runs), figsize=(5.4 * len(runs), 3.6), squeeze=False)
    for ax, (label, (config, result)) in zip(axes[0], runs.items()):
        records = [r for r in result["history"] if "train_acc" in r]
        epochs = [r["epoch"] for r in records]
        ax.plot(epochs, [r["train_acc"] for r in records], "o-", label="train", color="tab:orange")
        ax.plot(epochs, [r["test_acc"] for r in records], "s-", label="test", color="tab:purple")
        ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1), title=f"{label}, η = {config.lr:g}")
        ax.legend()
    footer(fig, footer_text)
    return fig


VARIANT_COLORS = {"sgd": "#1f77b4", "top": "#ff7f0e", "const-top": "#2ca02c", "no-top": "#d62728"}


def plot_variants(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 7: loss and λ1 by iteration; top pair: SGD, top, const-top, no-top (the
    paper's colours); bottom pair: SGD with the step along e1 scaled by f (a pair a row,
    so that the figure stays legible at the book's column width)."""
    groups = [[l for l in runs if not l.startswith("top×")],
              ["sgd"] * ("sgd" in runs) + [l for l in runs if l.startswith("top×")]]
    groups = [g for g in groups if g]
    fig, axes = plt.subplots(len(groups), 2, figsize=(10, 3.7 * len(groups)), squeeze=False)
    for g, labels in enumerate(groups):
        loss_ax, lam_ax = axes[g]
        scaled = sweep_colors(len(labels)) if g == 1 else None
        for i, label in enumerate(labels):
            config, result = runs[label]
            color = VARIANT_COLORS.get(label, "0.3") if g == 0 else scaled[i]
            name = label if g == 0 else ("f = 1 (SGD)" if label == "sgd" else
                                         "f = " + label.split("×")[1])
            records = [r for r in result["history"] if "train_loss" in r]
            loss_ax.plot([r["step"] for r in records], [r["train_loss"] for r in records],
                         color=color, label=name)
            lam_ax.plot([r["step"] for r in result["refreshes"]],
                        [r["eigenvalues"][0] for r in result["refreshes"]], color=color,
                        label=name)
        loss_ax.set(xlabel="iteration", ylabel="training loss",
                    title="variants" if g == 0 else "top-scaled by f")
        lam_ax.set(xlabel="iteration", ylabel="λ1 (every refresh)")
        loss_ax.legend(fontsize=8)
    footer(fig, footer_text)
    return fig
