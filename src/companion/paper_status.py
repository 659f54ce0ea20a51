"""Which figures have committed paper-profile results, computed from ``data/paper/runs``.

The paper profile runs on a GPU, a few figures per session; the book's introduction shows
where that stands (``book.stage_sources`` fills its ``{paper-status}`` line when the book is
built), and ``python -m companion.paper_status`` prints it figure by figure. A run counts as
committed when its result and every post-hoc analysis are there and made by today's code;
a long analysis committed step by step counts as partial until every step is in.

    python -m companion.paper_status            # one line per figure
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

from . import registry
from .outcomes import analyses_stored
from .results import REPO_ROOT, ResultsCache
from .step_split import partial_analysis, splittable

COMMITTED, PARTIAL, STALE, NOT_YET = "committed", "partial", "made by earlier code", "not yet"
MARKER = "{paper-status}"   # the line of book/intro.md that the table replaces


def committed_cache(committed: Optional[Path] = None) -> ResultsCache:
    """A cache that sees the committed results only (its own root is never written)."""
    committed = Path(committed or REPO_ROOT / "data" / "paper" / "runs")
    return ResultsCache(committed / ".none", read_only_roots=[committed])


def run_status(config, cache: ResultsCache) -> str:
    result = cache.load(config)
    if result is None:
        return NOT_YET
    if result.get("stale"):
        return STALE
    if analyses_stored(config, cache, current=True):
        return COMMITTED
    if analyses_stored(config, cache):
        return STALE
    committed = cache.read_only_roots[0]
    if splittable(config) and partial_analysis(config, cache, committed, current=False):
        return PARTIAL
    return NOT_YET


def figure_status(fig_id: str, cache: ResultsCache) -> tuple:
    """(status, how many of its runs are committed, how many it has); status None for a
    figure without runs at the paper profile."""
    states = [run_status(config, cache) for _, config in registry.resolve(fig_id, "paper")]
    if not states:
        return None, 0, 0
    done = states.count(COMMITTED)
    status = (COMMITTED if done == len(states) else
              NOT_YET if states.count(NOT_YET) == len(states) else
              STALE if STALE in states and PARTIAL not in states and not done else PARTIAL)
    return status, done, len(states)


def statuses(cache: ResultsCache) -> dict:
    """fid → (status, runs committed, runs) for every figure with runs at the paper profile."""
    out = {fid: figure_status(fid, cache) for fid in registry.figures()}
    return {fid: state for fid, state in out.items() if state[0] is not None}


def totals(found: dict) -> dict:
    """How many figures of ``found`` (:func:`statuses`) have each status."""
    return {k: sum(state[0] == k for state in found.values())
            for k in (COMMITTED, PARTIAL, STALE, NOT_YET)}


def status_table(cache: Optional[ResultsCache] = None) -> str:
    """A Markdown table, one row per chapter: its figures committed, partly committed, made
    by earlier code, and not yet computed at the paper profile."""
    found = statuses(cache or committed_cache())
    by_chapter: dict = {}
    for fid, (status, _, _) in found.items():
        by_chapter.setdefault(registry.get_figure(fid).notebook, {}) \
            .setdefault(status, []).append(fid)
    names = lambda ids: ", ".join(f"`{i}`" for i in ids) if ids else "—"  # noqa: E731
    rows = [f"| {{doc}}`{chapter}` | {names(s.get(COMMITTED))} | {names(s.get(PARTIAL))} | "
            f"{names(s.get(STALE))} | {len(s.get(NOT_YET, []))} |"
            for chapter, s in by_chapter.items()]
    total = totals(found)
    return "\n".join([
        f"Of the {len(found)} figures and tables with runs, {total[COMMITTED]} have "
        f"committed paper-profile results, {total[PARTIAL]} in part, {total[STALE]} made by "
        f"earlier code, and {total[NOT_YET]} none yet (counted from `data/paper/runs` when "
        "this book was built; `python -m companion.paper_status` lists them).", "",
        "| chapter | committed | in part | made by earlier code | not yet |",
        "|---|---|---|---|---|", *rows])


def main(argv: Optional[list] = None) -> int:
    found = statuses(committed_cache())
    for fid, (status, done, runs) in found.items():
        print(f"{fid:>16}  {status:<22} {done} of {runs} run(s)")
    total = totals(found)
    print(f"of {len(found)} figures and tables with runs: {total[COMMITTED]} committed, "
          f"{total[PARTIAL]} in part, {total[STALE]} made by earlier code, "
          f"{total[NOT_YET]} not yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
