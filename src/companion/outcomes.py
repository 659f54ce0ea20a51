"""A figure's outcome from its runs (plot, claims, written outputs), and the paper profile's
beside the default one.

:func:`assemble` turns loaded or trained runs into a :class:`~companion.report.FigureOutcome`
and writes its image, ``claims.json`` and ``summary.json``. :func:`committed_outcome` builds
the same from the committed paper-profile results alone (``data/paper/runs``, computed on a
GPU), never training: the book, built at the default profile on any machine, shows it beside
the default figure (:func:`show_with_paper`), with its claims computed from those results, or
says that the figure has no paper-profile results yet.
"""

from __future__ import annotations

import base64
import html
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Optional

from . import registry
from .plotting import save_figure, use_theme
from .report import NO_RESULT_YET, FigureOutcome, partial_reason
from .results import ResultsCache, atomic_write_json, data_root
from .analyses import post_hoc, stored_analysis


def assemble(fig_id: str, profile: str, runs: dict, missing: dict, parameters: dict,
             output_dir: Path, elapsed_s: float = 0.0, user: str = "") -> FigureOutcome:
    """Plot the runs, evaluate the figure's claims, write the outputs. ``user``: the
    user's parameters as given ('gamma=0.5 lr_grid=0.1,0.2'), named in the footer so that
    the image says it is not the profile's own figure."""
    figure = registry.get_figure(fig_id)
    hardware = ", ".join(sorted({r["provenance"]["device"] for _, r in runs.values()})) \
        or "no training (nothing to run, or its data is missing)"
    unique = {r["provenance"]["key"]: r for _, r in runs.values()}  # sweeps may share a run
    compute = sum(r["provenance"]["wall_time_s"] for r in unique.values())
    commits = sorted({_short_commit(r["provenance"]["commit"]) for _, r in runs.values()})
    versions = sorted({r["provenance"].get("code_version", "?") for _, r in runs.values()})
    name = registry.display_name(fig_id)
    setting = f"profile {profile}" + (f" with {user}" if user else "")
    footer = (f"{name} · {setting} · {hardware} · "
              f"commit {', '.join(commits)} · code {', '.join(versions)}") if runs else \
        f"{name} · {setting} · {hardware}"
    use_theme()
    out = Path(output_dir) / f"fig-{fig_id}"
    image_path = save_figure(_plot(figure, runs, missing, footer), out / f"fig-{fig_id}.png")
    claims = [] if missing else [c.evaluate(runs, fig_id) for c in figure.claims
                                 if c.applies(runs)]
    outcome = FigureOutcome(figure, profile, runs, claims, image_path, out, hardware, compute,
                            parameters, missing)
    write_outputs(outcome)
    print(f"{name}: {sum(c.holds for c in claims)}/{len(claims)} claims hold; "
          f"outputs in {out} ({elapsed_s:.0f} s)", file=sys.stderr)
    return outcome


def _plot(figure, runs: dict, missing: dict, footer: str):
    """The figure's plot; with no run at all (e.g. no committed GPU results), a panel that
    says so where the figure's own plot fails or draws nothing (Fig. 12 drew three empty
    panels); the tables still show the paper's numbers."""
    import matplotlib.pyplot as plt

    try:
        with warnings.catch_warnings():
            if not runs:  # an empty panel's legend() warns that it has nothing to show
                warnings.simplefilter("ignore", UserWarning)
            fig = figure.plot(runs, footer)
        if runs or not missing or any(ax.lines or ax.collections or ax.images or ax.patches
                                      or ax.tables for ax in fig.axes):
            return fig
    except (ValueError, KeyError, IndexError, StopIteration, TypeError):
        if runs:
            raise
    plt.close("all")
    fig, ax = plt.subplots(figsize=(6.4, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, f"No results yet for {len(missing)} run(s): "
                      f"{'; '.join(sorted(set(missing.values())))}",
            ha="center", va="center", wrap=True)
    return fig


def committed_outcome(fig_id: str, cache: ResultsCache,
                      output_dir: Optional[Path] = None) -> Optional[FigureOutcome]:
    """The figure at the paper profile from committed (or cached) results only; None when
    none of its runs has one. Runs still without results are listed as missing, and the
    claims then wait for them."""
    runs, missing = load_committed(registry.resolve(fig_id, "paper"), cache)
    if not runs:
        return None
    return assemble(fig_id, "paper", runs, missing,
                    {label: c.identity() for label, (c, _) in runs.items()},
                    output_dir or data_root() / "results" / "paper-committed")


def load_committed(specs: list, cache: ResultsCache) -> tuple:
    """(runs, missing) of the (label, config) specs from stored results and analyses alone:
    nothing is trained or analysed; a run lacking either is missing (``NO_RESULT_YET``). A
    long analysis committed step by step (:mod:`~companion.step_split`) and not complete
    is shown from the steps so far, and its run still counts as missing."""
    from .analyses import attach_analyses
    from .step_split import SPLIT, partial_analysis, splittable

    runs, missing = {}, {}
    for label, config in specs:
        result, long = cache.load(config), splittable(config)
        others = long and replace(config, probes=tuple(p for p in config.probes if p is not long))
        partial = None if result is None or not long or analyses_stored(config, cache) \
            or not analyses_stored(others, cache) else \
            partial_analysis(config, cache, (cache.read_only_roots or [None])[0],
                             current=False)
        if partial is not None:
            runs[label] = (config, {**attach_analyses(others, result, cache), long.name: partial})
            done = [entry["step"] for entry in partial[SPLIT[long.name]]]
            missing[label] = partial_reason(done, partial["provenance"]["steps_missing"],
                                            partial.get("stale", {}).get("steps", ()))
            continue
        if result is None or not analyses_stored(config, cache):
            missing[label] = NO_RESULT_YET
            continue
        runs[label] = (config, attach_analyses(config, result, cache))
    return runs, missing


def same_as_paper(fig_id: str, runs: list) -> bool:
    """Whether the figure's paper profile is exactly these (label, config) runs."""
    from .results import run_key

    return sorted(run_key(c) for _, c in runs) == sorted(
        run_key(c) for _, c in registry.resolve(fig_id, "paper"))


def analyses_stored(config, cache: ResultsCache, current: bool = False) -> bool:
    """Every post-hoc analysis of the run would be served from the cache (so none would be
    computed: :func:`~companion.analyses.stored_analysis` decides, as for the figures); with
    ``current``, every one made by today's code as well (none marked stale)."""
    found = [stored_analysis(config, p, cache) for p in post_hoc(config)]
    return all(f is not None and not (current and "stale" in f) for f in found)


def show_with_paper(outcome: FigureOutcome, paper: Optional[FigureOutcome],
                    looked: bool = True) -> None:
    """The figure; with committed paper-profile results, their figure beside it and their
    claims below; else (when ``looked``) a line saying there are none yet."""
    from IPython.display import HTML, display

    if paper is None:
        outcome.show()
        if looked:
            fid = outcome.figure.id
            display(HTML(
                f"<p class='paper-profile-missing'><em>No paper-profile results are committed "
                f"for {html.escape(registry.display_name(fid))} yet: they need a GPU "
                f"(<code>make reproduce FIG={html.escape(fid)} PROFILE=paper</code>, or "
                f"<code>python -m companion.reproduce compute {html.escape(fid)} --profile "
                f"paper --commit</code>).</em></p>"))
        return
    wide = max(_aspect(o.image) for o in (outcome, paper)) > 1.8  # multi-panel: one above
    basis = "flex:1 1 100%" if wide else "flex:1 1 0;min-width:320px"
    cells = "".join(
        f"<figure style='{basis};margin:0'>"
        f"<img alt='{html.escape(o.figure.id)} at profile {o.profile}' style='width:100%' "
        f"src='data:image/png;base64,{base64.b64encode(o.image.read_bytes()).decode()}'/>"
        f"<figcaption><strong>{label}</strong> — {html.escape(o.hardware)}</figcaption></figure>"
        for o, label in ((outcome, f"profile {outcome.profile} (this execution)"),
                         (paper, "profile paper (committed results)")))
    display(HTML(f"<div class='paper-beside' style='display:flex;gap:1em;flex-wrap:wrap'>"
                 f"{cells}</div>"))
    display(HTML(outcome._repr_html_()))
    graded = (f"{sum(c.holds for c in paper.claims)} of {len(paper.claims)} claims hold"
              if not paper.missing else "not complete yet, claims not computed")
    display(HTML(f"<details class='paper-profile'><summary><strong>At the paper profile"
                 f"</strong> (committed results, {html.escape(paper.hardware)}): {graded}"
                 f"</summary>{paper._repr_html_()}</details>"))


def _aspect(image: Path) -> float:
    from PIL import Image

    with Image.open(image) as png:
        return png.width / png.height


def _short_commit(commit: str) -> str:
    """'<40 hex>+dirty' → '<12 hex>+dirty' (a run from uncommitted code must say so)."""
    head, _, rest = commit.partition("+")
    return head[:12] + (f"+{rest}" if rest else "")


def write_outputs(outcome: FigureOutcome) -> None:
    atomic_write_json(outcome.output_dir / "claims.json",
                      [c.as_dict() for c in outcome.claims])
    atomic_write_json(outcome.output_dir / "summary.json", {
        "figure": outcome.figure.id, "title": outcome.figure.title,
        "profile": outcome.profile, "hardware": outcome.hardware,
        "compute_time_s": outcome.wall_time_s,
        "shrunk": outcome.figure.shrunk.get(outcome.profile, "paper settings"),
        "claims": [c.as_dict() for c in outcome.claims],
        "runs": {label: {"parameters": config.identity(), "provenance": result["provenance"],
                         "diverged_at_step": result.get("diverged_at_step"),
                         "data": result.get("data"), "stale": result.get("stale"),
                         # post-hoc analyses of the run's snapshots, with their provenance
                         "analyses": {p.name: result[p.name].get("provenance")
                                      for p in post_hoc(config) if p.name in result}}
                 for label, (config, result) in outcome.runs.items()},
    })
