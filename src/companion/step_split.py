"""A long post-hoc analysis computed one snapshot step per job, then merged.

Figs. 3–6 of Alain et al. fit and line-search the loss along LA(50) ∪ SA(50) at nine steps:
about 40 minutes in one process on an H200 (≈ 260 s a step, measured), longer than one call
of a lent GPU machine, and a process stopped half-way keeps nothing. ``reproduce compute``
therefore gives each step of such an analysis its own job (side by side with ``--workers``;
resumable step by step either way, since each step's analysis is cached as soon as it is
done), and the job that finds every step done merges them into the analysis one process
would have written: the same file, key and code version, so the book, the claims and
``--commit`` cannot tell the difference. The steps are independent (eigenpairs are cached
per step, each solve is seeded by its step), so the merged numbers are the single
process's (tested).

Two trajectories at the paper profile needed ≈ 80 GPU-minutes (before the line searches
stopped recomputing the loss at the step: a third less on the CPU), more than one
session lends. With ``--commit`` each finished step is therefore also committed, as a
*part*, under ``data/paper/runs/<run>/steps/``, and a later session (another machine, a
fresh cache) computes only the steps without one (a part made by earlier analysis code
is shown, marked stale, and computed again). Such a session trains the run again, and GPU training
is not bit-reproducible (cuDNN picks its kernels by timing them), so parts can come from
two trainings of the same run: each part records its training's fingerprint (a hash of the
training history) and the merged analysis lists them (``provenance.trainings``). Once
merged, the parts are deleted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Optional

from .outcomes import analyses_stored
from .results import atomic_write_bytes, atomic_write_json, compact_json, run_key
from .analyses import analysis_key, analysis_version, post_hoc

# probe name → the key of its analysis that lists one entry per step, in step order
SPLIT = {"fits": "steps"}
PARTS = "steps"   # a committed run's folder of per-step parts not merged yet


def splittable(config):
    """The run's post-hoc probe that :data:`SPLIT` names and that analyses more than one
    step, or None."""
    found = [p for p in post_hoc(config) if p.name in SPLIT and len(getattr(p, "steps", ())) > 1]
    return found[0] if found else None


def step_config(config, probe, step: int):
    """The run with ``probe`` analysing ``step`` alone (the same run key: probes that
    analyse snapshots are not part of it)."""
    return replace(config, probes=tuple(_at_step(p, step) if p is probe else p
                                        for p in config.probes))


def _at_step(probe, step: int):
    return replace(probe, steps=(step,))


def training_fingerprint(result: dict) -> str:
    """Which training made a run's weights: a hash of its history (losses and accuracies
    at every evaluation), equal for two bit-identical trainings."""
    return hashlib.sha256(compact_json(result["history"])).hexdigest()[:12]


def _part_name(whole, step: int) -> str:
    probe = splittable(whole)
    return f"{probe.name}-{analysis_key(whole, _at_step(probe, step))}.json"


def _committed_dir(whole, cache, committed: Optional[Path]) -> Optional[Path]:
    return None if committed is None else Path(committed) / cache.run_dir(whole).name


def load_part(whole, step: int, cache, committed: Optional[Path] = None,
              current: bool = True) -> Optional[dict]:
    """The analysis of ``step`` alone, made by today's code, from the cache (with its
    training's fingerprint) or from the committed parts; None without one. Without
    ``current``, a committed part made by earlier code is returned too, marked ``stale``
    (for a figure to show; it is computed again all the same)."""
    own, name = cache.run_dir(whole), _part_name(whole, step)
    folder = _committed_dir(whole, cache, committed)
    version, stale = analysis_version(whole, splittable(whole)), None
    for path in (own / name, *([folder / PARTS / name] if folder else [])):
        if not path.exists():
            continue
        part = json.loads(path.read_text())
        if part["provenance"]["analysis_version"] != version:
            if not current and path.parent.name == PARTS and stale is None:
                stale = {**part, "stale": {"made_by": part["provenance"]["analysis_version"],
                                           "current": version}}
            continue
        if "training" not in part["provenance"] and (own / "result.json").exists():
            trained = json.loads((own / "result.json").read_text())
            part["provenance"]["training"] = training_fingerprint(trained)
        return part
    return stale


def commit_part(step_run, whole, cache, committed: Path, result: dict) -> Path:
    """Copy a finished step's analysis into the committed run's parts, with the
    fingerprint of the training (``result``) whose snapshots it analysed."""
    step, = next(p for p in step_run.probes if p.name in SPLIT).steps
    name = _part_name(whole, step)
    part = json.loads((cache.run_dir(step_run) / name).read_text())
    part["provenance"]["training"] = training_fingerprint(result)
    target = _committed_dir(whole, cache, committed) / PARTS / name
    atomic_write_bytes(target, compact_json(part))
    return target


def split_by_step(runs: list, cache, committed: Optional[Path] = None,
                  commit: bool = False) -> list:
    """(figure, label, config, whole) per job: a run whose splittable analysis is not stored
    yet becomes one job per step without a part (in the cache or under ``committed``;
    ``whole`` = the run to merge into); others stay whole (``whole`` None). A run whose
    every step has a part is merged here (with ``commit``, into the committed run) and
    stays whole: its job then finds the analysis stored."""
    out = []
    for fid, label, config in runs:
        probe = splittable(config)
        if probe is None or analyses_stored(config, cache, current=True):
            out.append((fid, label, config, None))
            continue
        missing = [t for t in probe.steps if load_part(config, t, cache, committed) is None]
        if not missing:
            folder = _committed_dir(config, cache, committed)
            into = folder if commit and folder and (folder / "result.json").exists() else None
            merge_steps(config, cache, committed, into=into)
            if into is not None:
                drop_parts(config, cache, committed)
            out.append((fid, label, config, None))
            continue
        out += [(fid, f"{label} · step {t}", step_config(config, probe, t), config)
                for t in missing]
    return out


def merge_steps(whole, cache, committed: Optional[Path] = None,
                into: Optional[Path] = None) -> bool:
    """Write ``whole``'s analysis from its per-step analyses (each stored in the cache or
    committed as a part, and made by today's code) into the cache's run folder (or
    ``into``); whether it is written."""
    merged = partial_analysis(whole, cache, committed)
    if merged is None or merged["provenance"].pop("steps_missing"):
        return False
    probe = splittable(whole)
    name = f"{probe.name}-{analysis_key(whole, probe)}.json"
    if into is None:
        atomic_write_json(cache.run_dir(whole) / name, merged)
    else:   # straight into the committed run, as its export would write it
        atomic_write_bytes(Path(into) / name, compact_json(merged))
    return True


def partial_analysis(whole, cache, committed: Optional[Path] = None,
                     current: bool = True) -> Optional[dict]:
    """``whole``'s analysis from the steps computed so far (``provenance.steps_missing``
    lists the others), for a figure to show before every step is in; None without any.
    Without ``current`` it includes committed steps made by earlier code, and is then
    marked ``stale`` (those steps named)."""
    probe = splittable(whole)
    if probe is None:
        return None
    parts = [load_part(whole, t, cache, committed, current) for t in probe.steps]
    if not any(parts):
        return None
    merged = _combine(whole, [p for p in parts if p is not None])
    merged["provenance"]["steps_missing"] = [t for t, p in zip(probe.steps, parts) if p is None]
    old = [(t, p["stale"]) for t, p in zip(probe.steps, parts) if p is not None and "stale" in p]
    if old:
        merged["stale"] = {**old[0][1], "steps": [t for t, _ in old]}
    return merged


def _combine(whole, parts: list) -> dict:
    """One analysis listing the parts' steps in order, as one process would write it."""
    probe = splittable(whole)
    listed = SPLIT[probe.name]
    own = (listed, "provenance", "stale")
    outside = lambda p: {k: v for k, v in p.items() if k not in own}  # noqa: E731
    if any(outside(p) != outside(parts[0]) for p in parts):
        raise ValueError(f"the per-step {probe.name} analyses of {whole.model}-{run_key(whole)} "
                         "disagree outside their steps; delete them and compute again")
    trainings = {}
    for part in parts:
        steps = [entry["step"] for entry in part[listed]]
        trainings.setdefault(part["provenance"].get("training", "unknown"), []).extend(steps)
    first = {k: v for k, v in parts[0]["provenance"].items() if k != "training"}
    return {**outside(parts[0]), listed: [entry for p in parts for entry in p[listed]],
            "provenance": {**first, "options": asdict(probe),
                           "matvecs": sum(p["provenance"]["matvecs"] for p in parts),
                           "wall_time_s": round(sum(p["provenance"]["wall_time_s"]
                                                    for p in parts), 2),
                           "split_by_step": list(probe.steps), "trainings": trainings}}


def drop_parts(whole, cache, committed: Path) -> None:
    """Delete the committed parts of ``whole``'s analysis (once merged and committed)."""
    folder = _committed_dir(whole, cache, committed) / PARTS
    for t in splittable(whole).steps:
        (folder / _part_name(whole, t)).unlink(missing_ok=True)
    if folder.exists() and not any(folder.iterdir()):
        shutil.rmtree(folder)
