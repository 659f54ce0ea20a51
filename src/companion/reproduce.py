"""Run figures: resolve and validate their runs, train or load them, plot, check the
paper's claims, and write figure images, ``claims.json`` and a summary.

Used two ways:

* from a chapter notebook: ``plan = Plan("1,2", "default", overrides); plan.run("1")``
  (:mod:`companion.plan`, named here too);
* from the command line (``make reproduce FIG=4``)::

      python -m companion.reproduce fig 4 --profile default --param lr=0.05
      python -m companion.reproduce chapter spectrum_growth --profile smoke --out book/x.ipynb
      python -m companion.reproduce claims barriers --profile default
      python -m companion.reproduce plan 4 --param lr=0.05     # what would run; trains nothing
      python -m companion.reproduce list

  which executes the figure's chapter notebook with Papermill (after converting its
  Jupytext source) so the executed notebook lands beside the figure.

Everything is validated before any data is loaded or any training starts, and
outputs are written atomically, so a failed run never destroys earlier results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional

from . import registry
from .compute import ALLOW_CPU, check_paper_on_cpu, print_claims
from .config import ParameterError
from .notebooks import execute_notebook, notebook_parameters
# The notebooks', the book's and the tests' entry points live in plan.py; named here too.
from .plan import (Plan, _parse_params, _split_params, notebook_plan,  # noqa: F401
                   parse_figures, parse_grid, results_root, split_param_string)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.reproduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("fig", help="reproduce one figure through its notebook")
    fig.add_argument("figure")
    chap = sub.add_parser("chapter", help="execute a whole chapter notebook (for the book)")
    chap.add_argument("chapter")
    chap.add_argument("--out", required=True, type=Path)
    for p in (fig, chap):
        p.add_argument("--output-dir", type=Path, default=None,
                       help="where figure outputs go (default data/results/<profile>, "
                            "with --param data/results/<profile>/params/<name=value+...>)")
    comp = sub.add_parser("compute", help="train (or resume) figures' runs, no notebook")
    comp.add_argument("figure", help="ids or chapters: 4, 1,2,3,4 or negative_curvature")
    comp.add_argument("--workers", type=int, default=1,
                      help="runs side by side, each in its own process (e.g. on one GPU)")
    comp.add_argument("--budget-s", type=float, default=None,
                      help="stop (resumably) after the first epoch past this many seconds")
    comp.add_argument("--commit", action="store_true",
                      help="copy each finished run (result and analyses, no weights) into "
                           "data/paper/runs, to be committed")
    claims = sub.add_parser("claims", help="compute (or load) figures' runs and print every "
                                           "claim's outcome and the totals, no notebook")
    claims.add_argument("figure", help="ids or chapters, as for compute, or 'all'")
    claims.add_argument("--evidence", action="store_true", help="print each claim's evidence")
    preview = sub.add_parser("plan", help="what `fig`/`claims`/`compute` would do: each run's "
                                          "parameters and whether it is stored or would train; "
                                          "nothing trains")
    preview.add_argument("figure", help="ids or chapters, as for compute, or 'all'")
    for p in (fig, chap, comp, claims, preview):
        p.add_argument("--profile", default="default")
        p.add_argument("--allow-cpu", action="store_true",
                       help="train the paper profile without a GPU (refused otherwise)")
        p.add_argument("--param", action="append", default=[],
                       help="name=value, e.g. lr=0.05, model=resnet32, lr_grid=0.01,0.1")
    sub.add_parser("list", help="list figure ids and profiles")
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except ParameterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    if args.command == "list":
        for fid, figure in registry.figures().items():
            print(f"{fid:>13}  {figure.notebook:<18} {figure.title}")
        print(f"profiles: {', '.join(registry.PROFILES)}")
        return 0
    params, grids = _split_params(_parse_params(args.param))
    if args.allow_cpu:  # the notebooks' kernels inherit it
        os.environ[ALLOW_CPU] = "1"
    if args.command == "compute":
        return _compute(args, params, grids)
    if args.command == "plan":
        from .plan_preview import describe

        print(describe(Plan(",".join(_figure_ids(args.figure)), args.profile, params, grids,
                            progress=False)))
        return 0
    if args.command == "claims":
        print_claims(Plan(",".join(_figure_ids(args.figure)), args.profile, params, grids),
                     args.evidence)
        return 0
    if args.command == "fig":
        figure = registry.get_figure(args.figure)
        plan = Plan(figure.id, args.profile, params, grids, args.output_dir)  # validates first
        check_paper_on_cpu(plan)
        out_dir = plan.output_dir / f"fig-{figure.id}"
        print(f"Fig. {figure.id} at profile '{args.profile}': "
              f"{len(plan.runs[figure.id])} run(s); progress below.", file=sys.stderr)
        execute_notebook(figure.notebook, out_dir / f"{figure.notebook}.ipynb",
                         notebook_parameters(figure.id, args.profile, params, grids,
                                             plan.output_dir))
        print(f"\nFig. {figure.id} at profile '{args.profile}':")
        for path in sorted(out_dir.iterdir()):
            if not path.name.startswith("."):
                print(f"  {path}")
        print(f"  claims: {_claims_summary(out_dir / 'claims.json')}")
        return 0
    plan = Plan("", args.profile, params, grids, chapter=args.chapter)  # validate first
    check_paper_on_cpu(plan)
    execute_notebook(args.chapter, args.out,
                     notebook_parameters(",".join(plan.figure_ids), args.profile, params, grids,
                                         args.output_dir))
    print(f"executed {args.chapter} at profile '{args.profile}' → {args.out}")
    return 0


def _compute(args, params: dict, grids: dict) -> int:
    """Train figures' runs (e.g. the paper profile on a GPU) under a time budget."""
    from .compute import compute_runs

    if args.workers < 1:
        raise ParameterError(f"--workers must be at least 1, not {args.workers}")
    if args.budget_s is not None and args.budget_s <= 0:
        raise ParameterError(f"--budget-s must be positive, not {args.budget_s}")
    plan = Plan(",".join(_figure_ids(args.figure)), args.profile, params, grids)  # validates
    check_paper_on_cpu(plan, current=True)  # compute recomputes stale committed results
    unfinished = compute_runs(plan, args.budget_s, args.workers, args.commit)
    return 0 if not unfinished else 3


def _figure_ids(text: str) -> list:
    """'4', '1,2,3,4', 'negative_curvature,alain-1' or 'all' → figure ids (validated later)."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if items == ["all"]:
        return list(registry.figures())
    return [fid for item in items for fid in (registry.chapter_figures(item)
                                              if item in registry.chapters() else [item])]


def _claims_summary(path: Path) -> str:
    from .report import outcome_from_claims, tally

    return tally(outcome_from_claims(json.loads(path.read_text())))


if __name__ == "__main__":
    sys.exit(main())
