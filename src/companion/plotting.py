"""Plots of tracked curvature. Each function takes ``runs`` (label → (RunConfig, result))
and returns a matplotlib Figure; it never trains or loads anything (compute and plot are
separate, so a style change never re-runs a simulation)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .claims import curvature_records

SWEEP_COLORS = ("tab:blue", "tab:green", "tab:red")  # increasing η / decreasing S (the paper's)


def _records(result: dict, phases=("init", "epoch")) -> list:
    return [r for r in curvature_records(result) if r["phase"] in phases]


def _eigen_matrix(records: list) -> np.ndarray:
    return np.array([r["eigenvalues"] for r in records])


def plot_eigenvalue_evolution(runs: dict, footer: str = "") -> plt.Figure:
    """Fig. 1 (right): every tracked eigenvalue along training, red (largest) to blue."""
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4.2), squeeze=False)
    for ax, (label, (config, result)) in zip(axes[0], runs.items()):
        records = _records(result)
        epochs = [r["epoch"] for r in records]
        values = _eigen_matrix(records)
        colors = plt.cm.coolwarm_r(np.linspace(0, 1, values.shape[1]))
        for i in range(values.shape[1]):
            ax.plot(epochs, values[:, i], color=colors[i], lw=1.4 if i == 0 else 0.9)
        ax.axhline(1 / config.lr, color="k", ls=":", lw=1, label="1/η")
        ax.set(xlabel="epoch", ylabel="eigenvalue", title=f"{label}: top {values.shape[1]}")
        ax.legend(loc="lower right")
    _footer(fig, footer)
    return fig


def plot_spectrum_and_accuracy(runs: dict, footer: str = "") -> plt.Figure:
    """Figs. 2–3: top-k eigenvalues per epoch (and per step in the zoom) with accuracy."""
    has_zoom = any(r["phase"] == "zoom" for _, res in runs.values() for r in res["history"])
    rows = 3 if has_zoom else 2
    fig, axes = plt.subplots(rows, len(runs), figsize=(5.5 * len(runs), 3.2 * rows),
                             squeeze=False)
    for col, (label, (config, result)) in enumerate(runs.items()):
        records = _records(result)
        unit = "step (full batch)" if config.optimizer == "gd" else "epoch"
        _plot_top_k(axes[0, col], [r["epoch"] for r in records], _eigen_matrix(records))
        axes[0, col].set(title=label, xlabel=unit, ylabel="top eigenvalues")
        if has_zoom:
            zoom = _records(result, ("init", "zoom"))
            _plot_top_k(axes[1, col], [r["step"] for r in zoom], _eigen_matrix(zoom))
            axes[1, col].set(xlabel="iteration (zoom on the start)", ylabel="top eigenvalues")
        acc = axes[-1, col]
        everything = _records(result, ("init", "zoom", "epoch"))
        everything.sort(key=lambda r: r["step"])
        x = [r["epoch"] for r in everything]
        acc.plot(x, [r["train_acc"] for r in everything], label="train", color="tab:orange")
        acc.plot(x, [r["test_acc"] for r in everything], label="test", color="tab:purple")
        if result.get("diverged_at_step") is not None:
            acc.axvline(result["diverged_at_step"] / result["steps_per_epoch"], color="k", ls="--",
                        label="diverged")
        acc.set(xlabel=unit, ylabel="accuracy", ylim=(0, 1))
        acc.legend(loc="lower right")
    _footer(fig, footer)
    return fig


def _plot_top_k(ax, x, values) -> None:
    colors = plt.cm.coolwarm_r(np.linspace(0, 1, values.shape[1]))
    for i in range(values.shape[1]):
        ax.plot(x, values[:, i], color=colors[i], lw=1.4 if i == 0 else 0.8)


def plot_sweeps(runs: dict, footer: str = "") -> plt.Figure:
    """Fig. 4: λ1 (solid) and λ2 (dashed), log scale; top row η sweep, bottom row S sweep."""
    models = list(dict.fromkeys(label.split("/")[0] for label in runs))
    fig, axes = plt.subplots(2, len(models), figsize=(4.8 * len(models), 7), squeeze=False)
    for col, model in enumerate(models):
        for row, (prefix, field, reverse) in enumerate((("lr=", "lr", False),
                                                        ("S=", "batch_size", True))):
            ax = axes[row, col]
            chosen = [(lbl, c, r) for lbl, (c, r) in runs.items()
                      if lbl.startswith(model + "/" + prefix)]
            chosen.sort(key=lambda t: getattr(t[1], field), reverse=reverse)
            for (lbl, config, result), color in zip(chosen, _colors(len(chosen))):
                records = _records(result)
                epochs = [r["epoch"] for r in records]
                values = _eigen_matrix(records)
                name = f"η={config.lr:g}" if field == "lr" else f"S={config.batch_size}"
                ax.plot(epochs, values[:, 0], color=color, label=name)
                if values.shape[1] > 1:
                    ax.plot(epochs, values[:, 1], color=color, ls="--", lw=0.9)
            ax.set_yscale("log")
            ax.set(xlabel="epoch", ylabel="λ1 (solid), λ2 (dashed)",
                   title=f"{model}: {'learning rate' if field == 'lr' else 'batch size'}")
            if chosen:
                ax.legend(fontsize=8)
    _footer(fig, footer)
    return fig


def _colors(n: int) -> list:
    if n <= len(SWEEP_COLORS):
        return list(SWEEP_COLORS[:n])
    return list(plt.cm.viridis(np.linspace(0, 0.9, n)))


def _footer(fig: plt.Figure, footer: str) -> None:
    fig.tight_layout()
    if footer:
        fig.text(0.005, 0.002, footer, fontsize=7, color="0.35", ha="left", va="bottom")
        fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.1))
