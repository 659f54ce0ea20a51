"""What a command would do, before it does it (``make plan FIG=4 PARAMS="lr=0.05"``).

For each selected figure: where its outputs go, the parameters its runs share, the ones
it leaves (several figures' parameters go to those that take them), and per run the
parameters that set it apart, its post-hoc analyses' options, and what would happen to it:
served from the local cache or from the committed paper-profile results (with the device
and wall time that made it), resumed from a checkpoint, or trained (unless its data set is
missing), and which post-hoc analyses would be computed. Nothing trains: stored results
are read as JSON, and only a run to train has its data set looked up (through the data
cache).
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict

from . import registry
from .analyses import post_hoc, stored_analysis
from .compute import missing_data, paper_on_cpu
from .report import short_value, table_parameters
from .results import ResultsCache

WIDTH = 100


def run_status(config, cache) -> tuple:
    """(state, detail) of one run: "stored" (local cache), "committed", "committed,
    earlier code" (served marked stale; `compute` recomputes it), "resumes", "trains" or
    "data missing" (shown as at every profile: the paper's numbers, and why); the detail
    names the device and wall time that made a stored result, and the post-hoc analyses
    still to compute."""
    result = cache.load(config)
    todo = [p.name for p in post_hoc(config) if stored_analysis(config, p, cache) is None]
    analyses = f"; then analyses {', '.join(todo)}" if todo else ""
    if result is None:
        why = missing_data(config.dataset)
        if why is not None:
            return "data missing", why
        if cache.checkpoint_path(config).exists():
            return "resumes", "from its checkpoint" + analyses
        return "trains", analyses.lstrip("; ")
    made = result.get("provenance", {})
    detail = f"{made.get('wall_time_s', 0):,.0f} s on {made.get('device', '?')}"
    local = ResultsCache(cache.root, read_only_roots=[]).load(config, accept_stale=False)
    state = "stored" if local is not None else "committed"
    if result.get("stale"):
        state, detail = "committed, earlier code", detail + " (shown marked as such)"
    return state, detail + analyses


def describe(plan) -> str:
    """The preview of every figure of ``plan``, and the totals."""
    lines, counts = [], {}
    for fid in plan.figure_ids:
        runs = plan.runs[fid]
        lines.append(f"{registry.display_name(fid)} at profile {plan.profile}: "
                     f"{len(runs)} run(s); outputs in {plan.output_dir / f'fig-{fid}'}")
        if plan.unused.get(fid):
            lines.append(f"  not used here (no run has a place for it): "
                         f"{', '.join(plan.unused[fid])}")
        if not runs:
            continue
        tables = [table_parameters(config) for _, config in runs]
        shared = {k: v for k, v in tables[0].items() if all(t.get(k) == v for t in tables)}
        lines += _wrapped("shared: " + _pairs(shared), "  ", "          ")
        for (label, config), table in zip(runs, tables):
            state, detail = run_status(config, plan.cache)
            counts[state] = counts.get(state, 0) + 1
            own = _pairs({k: v for k, v in table.items() if k not in shared})
            lines.append(f"  {label}: {state}" + (f" ({detail})" if detail else ""))
            if own:
                lines += _wrapped(own, "      ", "      ")
            for probe in post_hoc(config):  # not part of the run's identity: shown apart
                lines += _wrapped(f"analysis {probe.name}: " + _pairs(asdict(probe)),
                                  "      ", "        ")
    total = ", ".join(f"{n} {state}" for state, n in counts.items()) or "no runs"
    lines.append(f"runs (each counted per figure): {total}")
    refused = paper_on_cpu(plan)
    if refused:
        lines.append(f"this machine has no CUDA device: {len(refused)} distinct paper-profile "
                     "run(s) or analyses to compute would be refused here unless --allow-cpu "
                     "(make: ALLOW_CPU=1); `claims` and the book show the committed ones")
    return "\n".join(lines)


def _pairs(table: dict) -> str:
    return " ".join(f"{k}={short_value(v)}" for k, v in table.items())


def _wrapped(text: str, first: str, rest: str) -> list:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False)
