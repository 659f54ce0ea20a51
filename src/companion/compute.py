"""Compute figures' runs without notebooks: one after another, or side by side.

``python -m companion.reproduce compute 1,2,3,4 --profile paper --workers 8 --budget-s 540``
trains every run of the figures (a run shared by two figures once), each in its own process
when ``workers`` > 1: on one GPU, small networks leave most of it idle, so several runs side
by side make progress together. Each run stops, resumably, after the first epoch that ends
past the budget (its checkpoint is in the cache), and the next call continues it; with
``--commit`` each finished run's result is copied into ``data/paper/runs`` to be committed.
A long analysis of a run's snapshots (Figs. 3–6 of Alain et al.) is a job per step, merged
by the job that finishes last (:mod:`companion.step_split`).
``python -m companion.reproduce claims …`` (:func:`print_claims`) prints what those runs say.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from functools import lru_cache
from typing import Optional

import torch

from . import training
from .config import ParameterError
from .data import DATASETS, DataNotFoundError, load_dataset
from .progress import Reporter
from .registry import replay_runs
from .results import ResultsCache, run_key
from .outcomes import analyses_stored
from .analyses import analysis_key, attach_analyses, post_hoc
from .step_split import commit_part, drop_parts, merge_steps, split_by_step


def unique_runs(plan) -> list:
    """(figure, label, config) for every run of the plan's figures, each run once with each
    set of post-hoc analyses: figures that share one training run but analyse its snapshots
    differently (post-hoc probes are not part of the run key) each keep their entry; then
    the chapters' replays of these figures (:func:`registry.replay_runs`)."""
    seen, out = set(), []
    runs = [(fid, *run) for fid in plan.figure_ids for run in plan.runs[fid]]
    for fid, label, config in runs + replay_runs(plan.figure_ids, plan.profile, plan.overrides):
        if _job_key(config) not in seen:
            seen.add(_job_key(config))
            out.append((fid, label, config))
    return out


def _job_key(config) -> tuple:
    return (run_key(config), *sorted(analysis_key(config, p) for p in post_hoc(config)))


# The paper profile uses the paper's settings, sized for a GPU: on a machine without CUDA it
# trains only where this is "1" (``--allow-cpu``, ``make … ALLOW_CPU=1``).
ALLOW_CPU = "COMPANION_ALLOW_CPU"


def paper_on_cpu(plan, runs: Optional[list] = None, current: bool = False) -> list:
    """(figure, label) of the paper-profile runs this machine would train or analyse on its
    CPU: those of ``runs`` ((figure, label, config); default: :func:`unique_runs`) without
    a stored result or analysis (with ``current``: none made by today's code, as
    :func:`compute_runs` requires), and whose data set is here (a run whose data is missing
    trains nowhere: it is reported as missing, as at every profile). Empty at other
    profiles, with committed results only, on a CUDA machine, and where
    ``COMPANION_ALLOW_CPU=1``."""
    if (plan.profile != "paper" or plan.committed_only or torch.cuda.is_available()
            or os.environ.get(ALLOW_CPU) == "1"):
        return []
    return [(fid, label) for fid, label, config in (unique_runs(plan) if runs is None else runs)
            if (plan.cache.load(config, accept_stale=not current) is None
                or not analyses_stored(config, plan.cache, current=current))
            and missing_data(config.dataset) is None]


@lru_cache(maxsize=None)
def missing_data(dataset: str) -> Optional[str]:
    """Why ``dataset``'s training data cannot be had (e.g. CIFAR-100 offline), or None when
    it loads: from the data cache, the mirror or a download (generated sets always load)."""
    if dataset not in DATASETS:
        return None
    try:
        load_dataset(dataset, "valid" if dataset == "ptb" else "train")  # PTB: no train offline
    except DataNotFoundError as error:
        name = str(error).splitlines()[0].split(" not found")[0]
        return f"{name}: not in the data cache or the mirror, and no download"
    return None


def check_device(overrides: dict) -> None:
    """``device=cuda`` on a machine without CUDA fails before anything loads."""
    if overrides.get("device") == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device=cuda was asked for, but this machine has no CUDA device; "
                             "use device=auto (the default) or device=cpu")


def check_paper_on_cpu(plan, runs: Optional[list] = None, current: bool = False) -> None:
    """Refuse, before anything trains, to train the paper profile on a CPU unasked."""
    pending = paper_on_cpu(plan, runs, current)
    if pending:
        named = "; ".join(f"Fig. {fid} {label}" for fid, label in pending[:5])
        more = f"; and {len(pending) - 5} more" if len(pending) > 5 else ""
        raise ParameterError(
            f"the paper profile would train {len(pending)} run(s) on this machine's CPU (no "
            f"CUDA device): {named}{more}. They use the papers' settings, sized for a GPU; "
            f"most take hours on a CPU. Instead: PROFILE=default (minutes on a CPU), or "
            f"`make claims FIG=… PROFILE=paper` and `make book PROFILE=paper`, which show "
            f"the committed paper-profile results without training. To train them here "
            f"anyway: --allow-cpu (make: ALLOW_CPU=1).")


def compute_runs(plan, budget_s: Optional[float] = None, workers: int = 1,
                 commit: bool = False) -> int:
    """Train the plan's runs; the number left unfinished (0 when all are done)."""
    root, committed = plan.cache.root, plan.cache.read_only_roots[0]
    # a long analysis: a job per step not committed yet (step_split)
    runs = split_by_step(unique_runs(plan), plan.cache, committed, commit)
    end = time.time() + budget_s if budget_s else None
    jobs = [(i, len(runs), fid, label, config, root, committed, end, commit, whole)
            for i, (fid, label, config, whole) in enumerate(runs, 1)]
    if workers <= 1:
        lines = []
        for job in jobs:
            lines.append(_one_run(*job)[:2])
            print(lines[-1][1], flush=True)
    else:
        lines = _pooled(jobs, workers)
    unfinished = sum(not done for done, _ in lines)
    print(f"{unfinished} of {len(runs)} run(s) unfinished" if unfinished
          else f"all {len(runs)} runs finished")
    return unfinished


def _pooled(jobs: list, workers: int, run=None) -> list:
    """Run the jobs in ``workers`` processes; a run that starts from another run of the list
    (``start_from``), or that analyses a run another job trains, is submitted once that one
    is done, so no run is trained twice (the analyses of one run then go side by side). A
    job that runs out of GPU memory beside the others is run again once they are done,
    alone (measured: nineteen of Alain et al.'s Figs. 3–6 steps side by side on an H200,
    each eigensolve holding an 18 GiB Lanczos basis, left twelve of them out of memory)."""
    run = run or _one_run
    trainer = {}
    for job in jobs:
        trainer.setdefault(run_key(job[4]), job)

    def parent(job):
        if trainer[run_key(job[4])] is not job:
            return run_key(job[4])
        return job[4].start_from and run_key(job[4].start_from)

    keys = set(trainer)
    waiting = [job for job in jobs if parent(job) in keys]
    threads = max(1, (os.cpu_count() or 1) // workers)
    lines, deferred, retried = [], [], set()
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(threads,),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {pool.submit(run, *job): job for job in jobs if job not in waiting}
        while running or deferred:
            if not running:   # the jobs that ran out of GPU memory: one at a time, alone
                job = deferred.pop(0)
                running[pool.submit(run, *job)] = job
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                finished, line, out_of_memory = future.result()
                if out_of_memory and job[0] not in retried:
                    retried.add(job[0])
                    deferred.append(job)
                    print(f"{line[:160]} … run again alone once the others are done",
                          flush=True)
                    continue
                lines.append((finished, line))
                print(line, flush=True)
                key = run_key(job[4])
                if trainer[key] is not job:
                    continue  # only the job that trains a run releases those waiting for it
                for waiter in [j for j in waiting if parent(j) == key]:
                    waiting.remove(waiter)
                    running[pool.submit(run, *waiter)] = waiter
    return lines


def _init_worker(threads: int) -> None:
    os.environ["COMPANION_THREADS"] = str(threads)


def _one_run(*job) -> tuple:
    """Train (or resume) one run; (finished?, a line saying where it stands, whether it ran
    out of GPU memory). A run that fails is reported and leaves the rest going."""
    try:
        return (*_train_one(*job), False)
    except Exception as error:  # noqa: BLE001 — reported, counted unfinished
        traceback.print_exc()
        return (False, f"Fig. {job[2]} {job[3]}: FAILED ({type(error).__name__}: {error})"[:400],
                isinstance(error, torch.OutOfMemoryError))
    finally:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the next run in this worker process gets the memory


def _train_one(index, total, fid, label, config, root, committed, end, commit,
               whole=None) -> tuple:
    stored = ResultsCache(committed, read_only_roots=[])
    if stored.load(config) is not None and analyses_stored(config, stored, current=True):
        return True, f"Fig. {fid} {label}: committed, made by the current code"
    # committed results made by other code are recomputed, not served (they would be stale)
    cache = ResultsCache(root, read_only_roots=[])
    if end is not None and time.time() > end:
        return False, f"Fig. {fid} {label}: not started (budget spent)"
    reporter = Reporter().context(fid, index, total, label)
    deadline = None if end is None else time.monotonic() + (end - time.time())
    result = training.train(config, cache, reporter, deadline=deadline)
    done = not result.get("interrupted")
    note = ""
    if done:  # post-hoc probes analyse the saved snapshots (committed with the result)
        attach_analyses(config, result, cache, reporter)
        # one step of a split analysis is committed as a part; the job that merges the
        # steps commits the whole analysis (and drops the parts)
        if commit and whole is not None:
            commit_part(config, whole, cache, committed, result)
        merged = whole is None or merge_steps(whole, cache, committed)
        if commit and merged:
            note = f"; committed copy in {cache.export(whole or config, committed)}"
            if whole is not None:
                drop_parts(whole, cache, committed)
    last = result["history"][-1]
    curvature = [r for r in result["history"] if "eigenvalues" in r]
    lam = f"λ1={curvature[-1]['eigenvalues'][0]:.4g}, " if curvature else ""
    return done, (f"Fig. {fid} {label}: {'done' if done else 'interrupted'} at epoch "
                  f"{last['epoch']:g}, {lam}train acc {last.get('train_acc', float('nan')):.3f}"
                  f" → {cache.run_dir(config)}{note}")


def print_claims(plan, evidence: bool = False) -> dict:
    """Every selected figure's claims as this machine computes them now: each figure's runs
    are loaded from the cache or trained, then one line per claim and the figure's wall
    time, then the totals. A note that quotes a tally quotes this (results are keyed by the
    package's code, not by the torch build, so a tally measured elsewhere can differ).
    Returns the counts by status. The paper profile on a machine without CUDA reads the
    committed results only, unless allowed (:func:`paper_on_cpu`)."""
    from .claims import FAILS, HOLDS, NOT_REACHED
    from .report import NO_RESULT_YET

    pending = paper_on_cpu(plan)
    if pending:  # show what is committed rather than train for hours
        plan.committed_only = True
        print(f"No CUDA device: the paper profile's claims from the committed results only; "
              f"{len(pending)} run(s) without one are reported missing (--allow-cpu trains "
              f"them here).", file=sys.stderr)
    counts = {HOLDS: 0, FAILS: 0, NOT_REACHED: 0}
    start = time.perf_counter()
    for fid in plan.figure_ids:
        began = time.perf_counter()
        outcome = plan.run(fid)
        if outcome is not None and outcome.missing:
            named = [label if why == NO_RESULT_YET else f"{label} ({why})"
                     for label, why in list(outcome.missing.items())[:3]]
            print(f"  {fid:>13}  {'missing':<12} {len(outcome.missing)} run(s) without a "
                  f"result: {', '.join(named)}" + (", …" if len(outcome.missing) > 3 else ""))
        for claim in (outcome.claims if outcome is not None else []):
            counts[claim.status] += 1
            print(f"  {fid:>13}  {claim.status:<12} {claim.claim}")
            if evidence:
                print(f"  {'':>13}  {'':<12} {claim.evidence}")
        print(f"  {fid:>13}  ({time.perf_counter() - began:.0f} s)", flush=True)
    total = sum(counts.values())
    share = f" ({counts[HOLDS] / total:.0%} hold)" if total else ""
    print(f"profile {plan.profile}: " + ", ".join(f"{n} {s}" for s, n in counts.items())
          + f" of {total} claims{share}; {time.perf_counter() - start:.0f} s")
    return counts
