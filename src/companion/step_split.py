"""A long post-hoc analysis computed one snapshot step per job, then merged.

Figs. 3–6 of Alain et al. fit and line-search the loss along LA(50) ∪ SA(50) at nine steps:
about 40 minutes in one process on an H200, longer than one call of a lent GPU machine, and
a process stopped half-way keeps nothing. ``reproduce compute`` therefore gives each step of
such an analysis its own job (side by side with ``--workers``; resumable step by step
either way, since each step's analysis is cached as soon as it is done), and the job that
finds every step done merges them into the analysis one process would have written: the
same file, key and code version, so the book, the claims and ``--commit`` cannot tell the
difference. The steps are independent (eigenpairs are cached per step, each solve is seeded
by its step), so the merged numbers are the single process's (tested).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace

from .outcomes import analyses_stored
from .results import atomic_write_json
from .snapshot_curvature import analysis_key, analysis_version

# probe name → the key of its analysis that lists one entry per step, in step order
SPLIT = {"fits": "steps"}


def splittable(config):
    """The run's post-hoc probe that :data:`SPLIT` names and that analyses more than one
    step, or None."""
    found = [p for p in config.probes if getattr(p, "post_hoc", False) and p.name in SPLIT
             and len(getattr(p, "steps", ())) > 1]
    return found[0] if found else None


def step_config(config, probe, step: int):
    """The run with ``probe`` analysing ``step`` alone (the same run key: probes that
    analyse snapshots are not part of it)."""
    return replace(config, probes=tuple(_at_step(p, step) if p is probe else p
                                        for p in config.probes))


def _at_step(probe, step: int):
    return replace(probe, steps=(step,))


def split_by_step(runs: list, cache) -> list:
    """(figure, label, config, whole) per job: a run whose splittable analysis is not stored
    yet becomes one job per step (``whole`` = the run to merge into), others stay whole
    (``whole`` None)."""
    out = []
    for fid, label, config in runs:
        probe = splittable(config)
        if probe is None or analyses_stored(config, cache, current=True):
            out.append((fid, label, config, None))
            continue
        out += [(fid, f"{label} · step {t}", step_config(config, probe, t), config)
                for t in probe.steps]
    return out


def merge_steps(whole, cache) -> bool:
    """Write ``whole``'s analysis from its per-step analyses (when each is stored and made
    by today's code); whether it is written."""
    probe = splittable(whole)
    listed, run_dir, version = SPLIT[probe.name], cache.run_dir(whole), analysis_version(whole)
    parts = []
    for t in probe.steps:
        path = run_dir / f"{probe.name}-{analysis_key(whole, _at_step(probe, t))}.json"
        part = json.loads(path.read_text()) if path.exists() else None
        if part is None or part["provenance"]["analysis_version"] != version:
            return False
        parts.append(part)
    shared = {k: v for k, v in parts[0].items() if k not in (listed, "provenance")}
    if any({k: v for k, v in p.items() if k not in (listed, "provenance")} != shared
           for p in parts):
        raise ValueError(f"the per-step {probe.name} analyses of {run_dir.name} disagree "
                         "outside their steps; delete them and compute again")
    first = parts[0]["provenance"]
    merged = {**shared, listed: [entry for p in parts for entry in p[listed]],
              "provenance": {**first, "options": asdict(probe),
                             "matvecs": sum(p["provenance"]["matvecs"] for p in parts),
                             "wall_time_s": round(sum(p["provenance"]["wall_time_s"]
                                                      for p in parts), 2),
                             "split_by_step": list(probe.steps)}}
    atomic_write_json(run_dir / f"{probe.name}-{analysis_key(whole, probe)}.json", merged)
    return True
