"""Plots of the negative-curvature chapter (Alain et al. 2019, Figs. 1–6, §3, App. B).
Every function takes the figure's runs (label → (RunConfig, result with its analyses)) and
the provenance footer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..plotting import footer
from .negative_curvature_claims import at, bottom_contrast, fit_rows, loss_rows, spectrum_rows

TOP_COLORS = ("#1f77b4", "#2ca02c", "#17becf", "#9467bd", "#8c564b")


def plot_spectrum(runs: dict, footer_text: str = "") -> plt.Figure:
    fig, axes = plt.subplots(1, max(len(runs), 1), figsize=(5.2 * max(len(runs), 1), 3.8),
                             squeeze=False)
    for ax, (label, (config, result)) in zip(axes[0], runs.items()):
        _draw_spectrum(ax, label, config, result)
    footer(fig, footer_text)
    return fig


def _draw_spectrum(ax, label: str, config, result: dict) -> None:
    steps, top, bottom = spectrum_rows(result)
    tops = (np.array([r["top"]["vals"] for r in result["extremes"]["rows"]])
            if "extremes" in result else top[:, None])   # Fig. 2's analysis keeps λ1 alone
    for i in range(tops.shape[1]):
        ax.plot(steps, np.abs(tops[:, i]), "-o", ms=3, color=TOP_COLORS[i % 5],
                label=f"λ{i + 1}" if i < 3 else None)
    ax.plot(steps, np.abs(bottom), "-o", ms=3, color="#d62728", label="|λd| (λd < 0)")
    ax.set_yscale("log")
    ax.set(xlabel="training step t", ylabel="|λ|",
           title=f"{label} ({config.model}, data set {config.dataset})")
    twin = ax.twinx()
    ls, loss = loss_rows(result)
    twin.plot(ls, loss, ":", color="black", label="training loss")
    twin.set_yscale("log")
    twin.set_ylabel("training loss (dotted)")
    ax.legend(fontsize=7, loc="lower left")


PANEL_T0S = (2000, 2500, 4000, 8000)  # the paper's panels (v1: 2000, 4000, 8000; vd: 2500)


def _panel_t0s(kept: dict, config) -> list:
    """The t0s drawn as panels: the paper's, on the run's schedule, else the first four."""
    chosen = [at(t, config) for t in PANEL_T0S if at(t, config) in kept["t0s"]]
    return chosen or list(kept["t0s"])[:len(PANEL_T0S)]


def _kept_columns(kept: dict, config) -> int:
    """Panel columns, plus one summarizing every t0 when the panels leave some out."""
    panels = len(_panel_t0s(kept, config))
    return panels + (len(kept["t0s"]) > panels)


def plot_kept(runs: dict, footer_text: str = "") -> plt.Figure:
    _, (config, result) = next(iter(runs.items()))
    n = _kept_columns(result["kept"], config)
    fig, axes = plt.subplots(2, n, figsize=(3.3 * n, 5.6), squeeze=False)
    _draw_kept(axes, result["kept"], config)
    footer(fig, footer_text)
    return fig


def _draw_kept(axes, kept: dict, config) -> None:
    """vᵀH(t)v of v1 (top row) and vd (bottom row) of each panel t0 (columns), then, when
    there are more t0s than panels, the medians over t of q/λ against t0 (the last column)."""
    steps, panels = np.array(kept["steps"]), _panel_t0s(kept, config)
    for j, t0 in enumerate(panels):
        for i, (key, lam, name) in enumerate((("q_top", "lam_top", "v1"),
                                              ("q_bottom", "lam_bottom", "vd"))):
            ax = axes[i, j]
            ax.plot(steps, kept[key][str(t0)], "-o", ms=3, color="#1f77b4" if i == 0 else "#d62728",
                    label=f"{name}(t0)ᵀH(t){name}(t0)")
            ax.plot(steps, kept[lam], "--", color="0.4", label=f"λ{'1' if i == 0 else 'd'}(t)")
            ax.axvline(t0, color="orange")
            ax.axhline(0, color="0.8", lw=0.8)
            _symlog(ax, np.concatenate([kept[key][str(t0)], kept[lam]]), kept[lam],
                    0.05 if i else 1.0)
            ax.set_title(f"{name} of t0 = {t0}", fontsize=9)
            if j == 0:
                ax.set_ylabel("curvature")
                ax.legend(fontsize=7)
            if i == 1:
                ax.set_xlabel("training step t")
    if len(kept["t0s"]) > len(panels):
        _draw_every_t0(axes[:, len(panels)], kept, config)


def _symlog(ax, values, lam, widest: float) -> None:
    """A symmetric log axis whose linear band reaches down to the decade of the smallest |λ|
    (at most ``widest``: late in a memorizing run λ1 falls to 1e-4), about four decades
    ticked."""
    small = np.abs(np.asarray(lam, float))
    small = small[np.isfinite(small) & (small > 0)]
    low = int(np.floor(np.log10(min(widest, small.min()) if small.size else widest)))
    top = np.nanmax(np.abs(values))
    high = max(int(np.ceil(np.log10(top))) if top > 0 else low, low)
    ax.set_yscale("symlog", linthresh=10.0 ** low)
    decades = np.arange(low, high + 1)
    decades = decades[::-1][::max(1, int(np.ceil(len(decades) / 3)))][::-1]
    negative = np.nanmin(values) < 0
    ticks = ([-(10.0 ** d) for d in decades[::-1]] if negative else []) + [0.0] + \
        [10.0 ** d for d in decades]
    ax.set_yticks(ticks, [f"{t:g}".replace("-", "−") for t in ticks])
    if not negative:  # nothing below zero: the axis stops just under it
        ax.set_ylim(-(10.0 ** low), 10.0 ** high * 1.5)


def _draw_every_t0(axes, kept: dict, config) -> None:
    """The statistic C6 over every t0 grades: median q1/λ1 (≥ 0.5: kept) and q_d/λ_d
    (≤ 0.25: not kept) over the trained steps, for the vectors of each t0."""
    t0s = list(kept["t0s"])
    rows = [bottom_contrast(kept, t0, config) for t0 in t0s]
    for ax, key, name, line, color in ((axes[0], "a_1", "q1/λ1", 0.5, "#1f77b4"),
                                       (axes[1], "a_d", "q_d/λ_d", 0.25, "#d62728")):
        ax.plot(t0s, [r[key] for r in rows], "-o", ms=3, color=color)
        ax.axhline(line, color="orange", ls="--", lw=1)
        ax.axhline(0, color="0.8", lw=0.8)
        ax.set_title(f"every t0: median {name}", fontsize=9)
        ax.set_xlabel("t0 (the vectors' step)")


def plot_regime(runs: dict, footer_text: str = "") -> plt.Figure:
    """Figs. 1 and 2 of one run: its extreme eigenvalues above, vᵀH(t)v of each t0 below."""
    label, (config, result) = next(iter(runs.items()))
    n = _kept_columns(result["kept"], config)
    width = max(3.3 * n, 6.5)
    fig = plt.figure(figsize=(width, 9.2))
    grid = fig.add_gridspec(3, n, height_ratios=(1.3, 1, 1), hspace=0.45, top=0.95,
                            bottom=0.07, left=1.2 / width, right=1 - 1.2 / width)  # inches:
    # room for the loss axis' labels on the right, which a narrow figure clipped
    _draw_spectrum(fig.add_subplot(grid[0, :]), label, config, result)
    axes = np.array([[fig.add_subplot(grid[i, j]) for j in range(n)] for i in (1, 2)])
    _draw_kept(axes, result["kept"], config)
    footer(fig, footer_text, tight=False)   # the grid above sets the margins
    return fig


def plot_slices(runs: dict, footer_text: str = "") -> plt.Figure:
    _, result = next(iter(runs.values()))
    first = result["fits"]["steps"][0]
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.6))
    for i, which in enumerate(("LA", "SA")):
        d = next(d for d in first["directions"] if d["which"] == which and d["index"] == 0)
        for j, sl in enumerate(d["slices"]):
            ax = axes[i, j]
            ax.plot(sl["alphas"], sl["true"], "-", color="orange", label="true loss change")
            ax.plot(sl["alphas"], sl["quadratic"], "--", color="#17becf", label="quadratic model")
            name = "v1" if which == "LA" else "vd"
            kind = "±2α*" if j == 2 else f"|α| ≤ {sl['range']:g}"
            ax.set_title(f"{name} (λ = {d['lam']:.3g}), {kind}", fontsize=9)
            ax.set_xlabel("α  (θ − α·(gᵀv)·v)")
            if j == 0:
                ax.set_ylabel(f"L − L(θ), t = {first['step']}")
                ax.legend(fontsize=7)
    footer(fig, footer_text)
    return fig


def _by_step(result: dict) -> tuple:
    steps = [s["step"] for s in result["fits"]["steps"]]
    cmap = plt.get_cmap("viridis")
    return steps, {t: cmap(k / max(len(steps) - 1, 1)) for k, t in enumerate(steps)}


def _scatter(ax, result, value, colors, xlim=None) -> None:
    for which, marker in (("LA", "o"), ("SA", "s")):
        for d in fit_rows(result, which):
            y = value(d)
            if y is not None and np.isfinite(y):
                ax.scatter(d["lam"], y, color=colors[d["step"]], marker=marker, s=22,
                           edgecolors="k" if d.get("unbounded") else "none")
    if xlim:
        ax.set_xlim(*xlim)


def _legend(ax, colors) -> None:
    for t, c in colors.items():
        ax.scatter([], [], color=c, label=f"t = {t}")
    ax.legend(fontsize=7, title="○ LA, □ SA", title_fontsize=7)


def plot_fitted(runs: dict, footer_text: str = "") -> plt.Figure:
    _, result = next(iter(runs.values()))
    _, colors = _by_step(result)
    ranges = result["fits"]["ranges"]
    fig, axes = plt.subplots(1, len(ranges), figsize=(5 * len(ranges), 4), squeeze=False)
    for j, (ax, A) in enumerate(zip(axes[0], ranges)):
        _scatter(ax, result, lambda d, j=j: d["fitted"][j], colors)
        lim = max(abs(v) for d in fit_rows(result, "LA") + fit_rows(result, "SA")
                  for v in (d["lam"], d["fitted"][j]) if np.isfinite(v))
        ax.plot([-lim, lim], [-lim, lim], "k:", lw=0.8, label="y = λ")
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set(xlabel="Hessian eigenvalue λi", ylabel="fitted curvature yi",
               title=f"quadratic fit over |α| ≤ {A:g}")
        _legend(ax, colors)
    footer(fig, footer_text)
    return fig


def _windows(runs: dict, footer_text: str, windows: tuple, value, ylabel: str,
             style) -> plt.Figure:
    """One panel per λ window: ``value(direction)`` against λ, coloured by step;
    ``style(ax, window)`` sets the axis scale and any reference line."""
    _, result = next(iter(runs.values()))
    _, colors = _by_step(result)
    fig, axes = plt.subplots(1, len(windows), figsize=(5 * len(windows), 4))
    for ax, window in zip(axes, windows):
        _scatter(ax, result, value, colors, (-window, window))
        style(ax, window)
        ax.set(xlabel="eigenvalue λi", ylabel=ylabel, title=f"λ ∈ [−{window}, {window}]")
        _legend(ax, colors)
    footer(fig, footer_text)
    return fig


def _inverse_step_axes(ax, window) -> None:
    line = np.geomspace(1e-4 * window, window, 60)
    ax.plot(line, line, "k:", lw=0.8, label="1/α* = λ")
    ax.set_yscale("log")


def plot_steps(runs: dict, footer_text: str = "") -> plt.Figure:
    return _windows(runs, footer_text, (1, 100),
                    lambda d: 1 / d["alpha"] if d["alpha"] > 0 else None,
                    "1/α*i (line search)", _inverse_step_axes)


def plot_gains(runs: dict, footer_text: str = "") -> plt.Figure:
    return _windows(runs, footer_text, (0.5, 5), lambda d: d["delta"],
                    "ΔL*i = L(θ − α*(gᵀv)v) − L(θ)",
                    lambda ax, window: ax.set_yscale("symlog", linthresh=1e-6))


def plot_cost(runs: dict, footer_text: str = "") -> plt.Figure:
    _, result = next(iter(runs.values()))
    rows = result["cost"]["rows"]
    opts = result["cost"]["provenance"]["options"]
    x = np.arange(len(rows))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, unit in ((axes[0], "matvecs", "Hessian-vector products"),
                          (axes[1], "seconds", "seconds")):
        ax.bar(x - 0.2, [r["top"][key] for r in rows], 0.4, label=f"LA({opts['la']})")
        ax.bar(x + 0.2, [r["bottom"][key] for r in rows], 0.4, color="#d62728",
               label=f"SA({opts['sa']})")
        ax.set_xticks(x, [f"t = {r['step']}" for r in rows])
        ax.set(ylabel=unit, title=f"{unit}, relative tolerance {opts['tol']:g}")
        ax.legend(fontsize=8)
    footer(fig, footer_text)
    return fig


def plot_subset(runs: dict, footer_text: str = "") -> plt.Figure:
    _, result = next(iter(runs.values()))
    sub = result["subset"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for k, (which, color) in enumerate((("LA", "#1f77b4"), ("SA", "#d62728"))):
        side = sub[which]
        n_small, n_large = side["examples"]
        axes[k].plot(side["large"], "o", color=color, label=f"{n_large} examples")
        axes[k].plot(side["small"], "x", color="k", label=f"{n_small} examples")
        twin = axes[k].twinx()
        twin.plot(side["cosines"], "s:", color="0.5", ms=3)
        twin.set(ylim=(0, 1.05), ylabel="principal-angle cosines (grey)")
        axes[k].set(xlabel="index i", ylabel="eigenvalue",
                    title=f"{which}({len(side['large'])}) at t = {sub['step']}")
        axes[k].set_xticks(range(len(side["large"])))
        axes[k].legend(fontsize=8, loc="lower left" if which == "LA" else "upper left")
    footer(fig, footer_text)
    return fig
