"""Plots of the barriers chapter (Xing et al. 2018). Each function takes the figure's runs
(label → (RunConfig, result with the walk probe's ``trace``)) and the provenance footer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import landscape as L
from ..plotting import footer, sweep_colors
from .barriers_claims import (DEFAULT_EPOCHS, PAPER_EPOCHS, TABLE_EPOCHS, cosines, epoch_rows,
                              segments, trace, val_acc, walk_epochs)
from .barriers_dynamics_claims import (UNRESOLVED, lambda_residuals, quadratic_walk,
                                       sweep_labels, unresolved)

DISTANCE = r"‖$\theta_t - \theta_0$‖"  # the distance axes' label
SHOWN = 40  # segments of an epoch drawn in a trajectory figure (the paper's first 40)
# the paper's Tables 1 and 2 (spec §3): row → counts or heights at epochs 1/10/25/100
PAPER_TABLE1 = {"VGG-11": (0, 0, 5, 13), "ResNet-56": (0, 0, 2, 23), "MLP": (0, 3, 5, None)}
PAPER_TABLE2 = {"VGG-11 SGD η=0.1": (0.0625, 0.0199, 0.0104, 0.0025),
                "VGG-11 SGD η=0.05": (0.0102, 0.0050, 0.0035, 0.0011),
                "ResNet-56 SGD η=0.3": (0.0380, 0.0131, 0.0094, 0.0017)}


def trajectory_plot(label: str, position: int):
    """The three stacked panels of Figs. 1, 2, 9–21 for run ``label``, at the
    ``position``-th of its selected epochs (GD runs: its first steps)."""
    def plot(runs: dict, footer_text: str = "") -> plt.Figure:
        config, result = runs[label]
        seg, rows = segments(result)
        walk = config.probe("walk")
        if walk.epochs:
            epochs = walk_epochs(config, result)
            epoch = epochs[min(position, len(epochs) - 1)]
            keep = seg // result["steps_per_epoch"] + 1 == epoch
            where = f"epoch {epoch}"
        else:
            keep, where = np.ones(len(seg), bool), f"steps 1–{min(len(seg), SHOWN)}"
        seg, rows = seg[keep][:SHOWN], rows[keep][:SHOWN]
        fig, axes = plt.subplots(3, 1, figsize=(9, 7.5), sharex=True)
        points = rows.shape[1] - 1
        x = (seg[:, None] + np.arange(points + 1)[None] / points)
        for xs, ys in zip(x, rows):
            axes[0].plot(xs, ys, color="#1f77b4", lw=1)
        for s in seg:
            axes[0].axvline(s, color="0.85", lw=0.6, zorder=0)
        valley = L.valleys(rows)
        floor, at = L.floors(rows)
        axes[0].plot((seg + at)[valley], floor[valley], "--", color="#ff7f0e", lw=1.2,
                     label="valley floor")
        crossed = L.barriers(rows)
        axes[0].plot(seg[crossed] + 0.5, rows[crossed].max(1), "v", color="#d62728",
                     label=f"barrier ({crossed.sum()})")
        axes[0].set(ylabel="training loss (interpolated)",
                    title=f"{label}: {where}; {valley.mean():.0%} valleys")
        axes[0].legend(fontsize=8, loc="upper right")
        steps = np.arange(seg[0], seg[-1] + 1) if len(seg) else np.arange(0)
        cos, dist = cosines(result), np.array(trace(result)["distance"])
        axes[1].plot(steps + 1, cos[steps], ".-", color="#2ca02c", ms=3)
        axes[1].axhline(0, color="0.7", lw=0.8)
        axes[1].set(ylabel="cos($g_{t-1}$, $g_t$)", ylim=(-1.05, 1.05))
        axes[2].plot(steps + 1, dist[steps], ".-", color="#9467bd", ms=3)
        axes[2].set(ylabel=DISTANCE, xlabel="iteration")
        footer(fig, footer_text)
        return fig
    return plot


def _arch(label: str) -> str:
    return label.split(" SGD")[0]


def _row(epochs: list, values: list) -> list:
    """``values`` of a run's selected ``epochs`` placed under the paper's epochs (the
    default profile's 1/2/3/5/20 stand for 1/2/10/25/100), blank where it has none; other
    epochs (a user's choice) in order, as the row's label lists them."""
    columns = next((c for c in (DEFAULT_EPOCHS, PAPER_EPOCHS) if set(epochs) <= set(c)),
                   tuple(epochs))
    cells = [""] * len(PAPER_EPOCHS)
    for e, v in zip(epochs, values):
        if columns.index(e) < len(cells):
            cells[columns.index(e)] = v
    return cells


COLUMNS = [f"paper epoch {e}" for e in PAPER_EPOCHS]


def barrier_table(runs: dict, footer_text: str = "") -> plt.Figure:
    """Table 1: barriers per selected epoch (count and share) beside the paper's counts."""
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.55 * 2 * len(runs)))
    cells, rows = [], []
    for label, (c, r) in runs.items():
        epochs = walk_epochs(c, r)
        counts = [f"{int(L.barriers(epoch_rows(r, e)).sum())}/{len(epoch_rows(r, e))}"
                  for e in epochs]
        rows.append(f"{label} (epochs {', '.join(map(str, epochs))})")
        cells.append(_row(epochs, counts))
        paper = PAPER_TABLE1.get(_arch(label))
        rows.append(f"  paper {_arch(label)} (epochs 1, 10, 25, 100)")
        cells.append(_row(TABLE_EPOCHS, ["—" if v is None else f"{v}/450" for v in paper]))
    _table(ax, cells, rows, COLUMNS,
           "Barriers crossed per epoch (τ = 1e-6·L): this run against the paper's Table 1")
    footer(fig, footer_text)
    return fig


def height_table(runs: dict, footer_text: str = "") -> plt.Figure:
    """Table 2: mean height above the valley floor per selected epoch, and the paper's."""
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.55 * 2 * len(runs)))
    cells, rows = [], []
    for label, (c, r) in runs.items():
        epochs = walk_epochs(c, r)
        h = [L.heights(epoch_rows(r, e)).mean() for e in epochs]
        rows.append(f"{label} (epochs {', '.join(map(str, epochs))})")
        cells.append(_row(epochs, [f"{v:.4f}" for v in h]))
        if label in PAPER_TABLE2:
            rows.append("  paper (epochs 1, 10, 25, 100)")
            cells.append(_row(TABLE_EPOCHS, [f"{v:.4f}" for v in PAPER_TABLE2[label]]))
    _table(ax, cells, rows, COLUMNS,
           "Mean height above the valley floor (all segments): this run against Table 2")
    footer(fig, footer_text)
    return fig


def _table(ax, cells, rows, columns, title) -> None:
    ax.axis("off")
    table = ax.table(cellText=cells, rowLabels=rows, colLabels=columns, loc="center",
                     cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(0.75, 1.4)
    for (i, j), cell in table.get_celld().items():
        if i > 0 and rows[i - 1].startswith("  paper"):
            cell.set_facecolor("#f2f2f2")
    ax.set_title(title, fontsize=10)


def barriers_per_epoch(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 8: barriers per epoch, and every segment's margin (max interior − max end) / L:
    above 0 a barrier, below 0 none (symmetric log scale)."""
    label, (c, r) = next(iter(runs.items()))
    epochs = walk_epochs(c, r)
    counts = [L.barriers(epoch_rows(r, e)).sum() for e in epochs]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    axes[0].bar(epochs, counts, color="#d62728")
    axes[0].set(xlabel="epoch", ylabel="barriers among the interpolated segments",
                ylim=(0, max(1, max(counts)) * 1.15),
                title=f"{label}: {_count(len(epoch_rows(r, epochs[0])), 'segment')} an epoch")
    for e in epochs:
        rows = epoch_rows(r, e)
        rel = L.barrier_heights(rows) / np.abs(rows[:, 0])
        crossed = L.barriers(rows)
        axes[1].plot(np.full((~crossed).sum(), e), rel[~crossed], ".", color="0.5", ms=3)
        axes[1].plot(np.full(crossed.sum(), e), rel[crossed], "v", color="#d62728", ms=5)
    axes[1].axhline(0, color="0.3", lw=0.8)
    axes[1].set(yscale="symlog", xlabel="epoch",
                ylabel=r"(max interior − max end) / L($\theta_t$)",
                title="every segment's margin (> 0: a barrier, red)")
    axes[1].set_yscale("symlog", linthresh=1e-4)
    footer(fig, footer_text)
    return fig


def lambda_plot(runs: dict, footer_text: str = "") -> plt.Figure:
    """Figs. 3, 7: λ_max and held-out accuracy per epoch."""
    label, (c, r) = next(iter(runs.items()))
    fig, ax = plt.subplots(figsize=(8, 4))
    epochs, lam, res = lambda_residuals(r)
    ax.errorbar(epochs, lam, yerr=res, fmt="o-", color="#d62728", capsize=3,
                label="λ_max (Lanczos; bar: residual ‖Hv − θv‖)")
    left = [e for e, v, d in zip(epochs, lam, res) if unresolved(v, d)]
    if left:  # the stopping rule scales with max|θ|: a large negative one hides λ_max
        ax.annotate(f"epoch {', '.join(f'{e:g}' for e in left)}: residual > "
                    f"{UNRESOLVED:g} |λ_max| (Lanczos stops at tol × max|θ|, and a larger "
                    "negative eigenvalue sets max|θ|)", (0.5, 1.01), xycoords="axes fraction",
                    ha="center", va="bottom", fontsize=7, color="#d62728")
    ax.set(xlabel="epoch", ylabel="λ_max of the Hessian")
    ax.set_title(label, pad=14 if left else 6)
    twin = ax.twinx()
    twin.plot(*zip(*val_acc(r)), "s-", color="#1f77b4", ms=3, label="held-out accuracy")
    twin.set_ylabel("held-out accuracy", color="#1f77b4")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper left", fontsize=8)
    footer(fig, footer_text)
    return fig


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _window(n: int, window: int = 20) -> int:
    """The running mean's width for a series of ``n`` values: ``window``, at most a fifth."""
    return max(1, min(window, n // 5 or 1))


def _cosine_label(widths: set) -> str:
    return "cos($g_{t-1}$, $g_t$), running mean of " + "/".join(map(str, sorted(widths)))


def _smooth(values: np.ndarray, window: int = 20, first_step: int = 2) -> tuple:
    """(steps, running mean) of a per-step series that starts at ``first_step`` (the cosines:
    step 2, the first with a previous gradient), each mean placed at its window's centre and
    taken over the finite values in it (a missing one is not read as 0)."""
    values = np.asarray(values, dtype=float)
    window = _window(len(values), window)
    finite = np.isfinite(values)
    kernel = np.ones(window)
    total = np.convolve(np.where(finite, values, 0.0), kernel, mode="valid")
    count = np.convolve(finite.astype(float), kernel, mode="valid")
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)
    return first_step + (window - 1) / 2 + np.arange(len(mean)), mean


def cosine_sweep(runs: dict, footer_text: str = "") -> plt.Figure:
    """Figs. 4, 22–24: smoothed cosines for the batch-size and learning-rate sweeps."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    by_b, by_lr = sweep_labels(runs, "batch_size"), sweep_labels(runs, "lr")
    for ax, group, name in ((axes[0], by_b, "B"), (axes[1], by_lr, "η")):
        widths = set()
        for color, (value, label) in zip(sweep_colors(len(group)), group):
            cos = cosines(runs[label][1])[1:]
            widths.add(_window(len(cos)))
            ax.plot(*_smooth(cos), color=color, label=f"{name} = {value:g}")
        ax.axhline(0, color="0.7", lw=0.8)
        ax.set(xlabel="iteration", ylabel=_cosine_label(widths), title=f"{name} sweep")
        ax.legend(fontsize=8)
    for color, (value, label) in zip(sweep_colors(len(by_b)), by_b):
        dist = trace(runs[label][1])["distance"]
        axes[2].plot(np.arange(1, len(dist) + 1), dist, color=color, label=f"B = {value}")
    axes[2].set(xlabel="iteration", ylabel=DISTANCE, title="distance (B sweep)")
    axes[2].legend(fontsize=8)
    footer(fig, footer_text)
    return fig


def noise_plot(runs: dict, footer_text: str = "") -> plt.Figure:
    """Figs. 5, 25, 26: GD, GD with noise and SGD: loss, accuracy, cosine, distance."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    colors = dict(zip(runs, ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c"]))
    widths = set()
    for label, (c, r) in runs.items():
        name = label.split("noise-study ")[-1]
        log = np.array(r["step_log"])
        axes[0, 0].plot(log[:, 0], log[:, 1], color=colors[label], label=name)
        epochs, acc = zip(*val_acc(r))   # SGD's epochs are several steps: plot on steps
        axes[0, 1].plot(np.array(epochs) * r["steps_per_epoch"], acc, color=colors[label],
                        label=name)
        cos = cosines(r)[1:]
        widths.add(_window(len(cos), 5))
        axes[1, 0].plot(*_smooth(cos, 5), color=colors[label], label=name)
        dist = trace(r)["distance"]
        axes[1, 1].plot(np.arange(1, len(dist) + 1), dist, color=colors[label], label=name)
    for ax, ylabel in zip(axes.flat, ("training loss (step's batch)", "held-out accuracy",
                                      _cosine_label(widths), DISTANCE)):
        ax.set(xlabel="step", ylabel=ylabel)
    axes[0, 0].set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    footer(fig, footer_text)
    return fig


def schedule_plot(runs: dict, footer_text: str = "") -> plt.Figure:
    """Figs. 6, 27: held-out accuracy per epoch under each schedule."""
    fig, ax = plt.subplots(figsize=(8, 4))
    for color, (label, (c, r)) in zip(sweep_colors(len(runs)), runs.items()):
        acc = val_acc(r)
        ax.plot(*zip(*acc), "o-", ms=3, color=color,
                label=f"{label.split('schedule ')[-1]} (best {max(a for _, a in acc):.3f})")
    ax.set(xlabel="epoch", ylabel="held-out accuracy")
    ax.legend(fontsize=8)
    footer(fig, footer_text)
    return fig


def damping_plot(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 28: |1 − ηλ| for a small and a large eigenvalue, and GD on a 2-D quadratic."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    lam_min, lam_max = 0.5, 10.0
    eta = np.linspace(0, 0.35, 400)
    ax = axes[0]
    ax.plot(eta, np.abs(1 - eta * lam_min), label=f"λ_min = {lam_min:g}")
    ax.plot(eta, np.abs(1 - eta * lam_max), label=f"λ_max = {lam_max:g}")
    ax.axvspan(1 / lam_max, 2 / lam_max, color="#1f77b4", alpha=0.15,
               label="1/λ_max < η < 2/λ_max")
    ax.axhline(1, color="0.6", lw=0.8)
    ax.set(xlabel="η", ylabel="|1 − ηλ|", title="contraction factor per step")
    ax.legend(fontsize=8)
    rows, _ = quadratic_walk()
    seg = np.arange(len(rows))[:20]
    x = seg[:, None] + np.linspace(0, 1, rows.shape[1])[None]
    for xs, ys in zip(x, rows[:20]):
        axes[1].plot(xs, ys, color="#1f77b4", lw=1)
    floor, at = L.floors(rows[:20])
    axes[1].plot(seg + at, floor, "--", color="#ff7f0e", label="valley floor")
    axes[1].set(yscale="log", xlabel="iteration", ylabel="loss on the segment",
                title="GD on ½(λ₁x² + λ₂y²), ηλ₁ = 1.95, ηλ₂ = 0.05")
    axes[1].legend(fontsize=8)
    footer(fig, footer_text)
    return fig
