"""Run figures: resolve and validate their runs, train or load them, plot, check the
paper's claims, and write figure images, ``claims.json`` and a summary.

Used two ways:

* from a chapter notebook: ``plan = Plan("1,2", "default", overrides); plan.run("1")``;
* from the command line (``make reproduce FIG=4``)::

      python -m companion.reproduce fig 4 --profile default --param lr=0.05
      python -m companion.reproduce chapter spectrum_growth --profile smoke --out book/x.ipynb
      python -m companion.reproduce claims barriers --profile default
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
import time
from pathlib import Path
from typing import Any, Mapping, Optional

from . import registry, training
from .compute import ALLOW_CPU, check_device, check_paper_on_cpu, print_claims
from .config import ParameterError
from .data import DataNotFoundError
from .progress import Reporter
from .outcomes import (assemble, committed_outcome, load_committed, same_as_paper,
                       show_with_paper)
from .report import FigureOutcome
from .notebooks import execute_notebook, notebook_parameters
from .results import ResultsCache, data_root
from .analyses import attach_analyses


def results_root(profile: str) -> Path:
    return data_root() / "results" / profile


def parse_figures(figures: Any) -> list:
    """'1,2' or ['1', 2] or 4 → validated figure ids."""
    if isinstance(figures, (list, tuple)):
        items = [str(f) for f in figures]
    else:
        items = [f for f in str(figures).replace(" ", ",").split(",") if f]
    if not items:
        raise ParameterError(f"no figure selected; valid ids: {list(registry.figures())}")
    return [registry.get_figure(f).id for f in items]


def parse_grid(text: Any) -> Optional[list]:
    """'0.01,0.1' → [0.01, 0.1]; None/'' → None."""
    if text is None or text == "":
        return None
    values = text if isinstance(text, (list, tuple)) else str(text).split(",")
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        raise ParameterError(f"a grid must be comma-separated numbers, got {text!r}") from None
    if any(v <= 0 for v in numbers):
        raise ParameterError(f"grid values must be positive, got {text!r}")
    return numbers


class Plan:
    """The figures a notebook execution will produce, validated up front."""

    def __init__(self, figures: Any = "", profile: str = "default",
                 overrides: Optional[Mapping] = None, grids: Optional[Mapping] = None,
                 output_dir: Any = None, progress: bool = True, chapter: Optional[str] = None):
        self.profile = registry.check_profile(profile)
        if chapter is not None and chapter not in registry.chapters():
            raise ParameterError(f"unknown chapter {chapter!r}; valid: {registry.chapters()}")
        if not str(figures or "").strip() and chapter is not None:
            figures = registry.chapter_figures(chapter)
        self.figure_ids = parse_figures(figures)
        if chapter is not None:
            self.figure_ids = [f for f in self.figure_ids
                               if registry.get_figure(f).notebook == chapter]
        self.overrides = {k: v for k, v in dict(overrides or {}).items() if v is not None}
        self.grids = {k: parse_grid(v) for k, v in dict(grids or {}).items() if parse_grid(v)}
        self.output_dir = Path(output_dir) if output_dir else results_root(profile)
        self.progress = str(progress).strip().lower() not in ("false", "0", "no", "none", "")
        self.cache = ResultsCache()
        # `make book PROFILE=paper` on any machine: committed results only, nothing trained
        self.committed_only = os.environ.get("COMPANION_COMMITTED_ONLY") == "1"
        # Validate every run of every selected figure now, before any training.
        self.runs = {fid: registry.resolve(fid, profile, self.overrides, self.grids)
                     for fid in self.figure_ids}
        check_device(self.overrides)
        for name in self.grids:
            if not any(name in spec.sweep for fid in self.figure_ids
                       for spec in registry.get_figure(fid).runs):
                raise ParameterError(f"{name}_grid given, but no selected figure sweeps {name}")
        self.outcomes: dict = {}

    def selected(self, fig_id: str) -> bool:
        return str(fig_id) in self.runs

    def run(self, fig_id: str) -> Optional[FigureOutcome]:
        """Train (or load) the figure's runs, plot, check claims and save outputs."""
        fig_id = registry.get_figure(fig_id).id
        if not self.selected(fig_id):
            return None
        if fig_id in self.outcomes:
            return self.outcomes[fig_id]
        start = time.perf_counter()
        runs, missing = load_committed(self.runs[fig_id], self.cache) \
            if self.committed_only else self._load_or_train(fig_id)
        outcome = assemble(fig_id, self.profile, runs, missing,
                           {label: c.identity() for label, c in self.runs[fig_id]},
                           self.output_dir, time.perf_counter() - start)
        self.outcomes[fig_id] = outcome
        return outcome

    def _load_or_train(self, fig_id: str) -> tuple:
        """(runs, missing): each run of the figure from the cache, else trained (the paper
        profile on a machine without CUDA only where allowed: checked before any trains)."""
        check_paper_on_cpu(self, [(fig_id, *run) for run in self.runs[fig_id]])
        reporter = Reporter(enabled=self.progress)
        runs, missing = {}, {}
        for index, (label, config) in enumerate(self.runs[fig_id], 1):
            reporter.context(fig_id, index, len(self.runs[fig_id]), label)
            result = self.cache.load(config)
            if result is None:
                try:
                    result = training.train(config, self.cache, reporter)
                except DataNotFoundError as error:  # e.g. CIFAR-100 offline: say so, go on
                    missing[label] = str(error).splitlines()[0]
                    continue
            else:
                reporter.cached()
            runs[label] = (config, attach_analyses(config, result, self.cache, reporter))
        return runs, missing

    def run_all(self) -> dict:
        """Every selected figure, in order: id -> FigureOutcome."""
        return {fid: self.run(fid) for fid in self.figure_ids}

    def show(self, fig_id: str) -> None:
        """In a notebook: the figure with its caption, claims and parameters, or a line
        saying it was not selected in this execution."""
        from IPython.display import HTML, display

        if fig_id in self.outcomes:
            beside = (self.profile == "default"  # the book's profile: the GPU's results too
                      and not same_as_paper(fig_id, self.runs[fig_id]))
            show_with_paper(self.outcomes[fig_id],
                            committed_outcome(fig_id, self.cache) if beside else None, beside)
        else:
            display(HTML(f"<p><em>{registry.display_name(fig_id)} was not selected in this execution "
                         f"(figures: {', '.join(self.figure_ids)}).</em></p>"))


def notebook_plan(chapter: str, figures: Any, profile: str, output_dir: Any, params: str = "",
                  progress: Any = True, grids: Optional[Mapping] = None, **overrides) -> Plan:
    """The Plan of a chapter notebook's parameters cell: ``params`` ('n_hessian=512
    lr_grid=0.01,0.1') plus the named overrides and grids that are not None."""
    parsed, parsed_grids = split_param_string(params)
    parsed.update({k: v for k, v in overrides.items() if v is not None})
    parsed_grids.update({k: v for k, v in dict(grids or {}).items() if v})
    return Plan(figures, profile, parsed, parsed_grids, output_dir or None, chapter=chapter,
                progress=progress)


def _parse_params(items: list) -> dict:
    params = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"parameters are name=value, got {item!r}")
        name, value = item.split("=", 1)
        params[name.strip()] = value.strip()
    return params


def _split_params(params: dict) -> tuple:
    grids = {k[:-5]: params.pop(k) for k in list(params) if k.endswith("_grid")}
    return params, grids


def split_param_string(text: str) -> tuple:
    """'lr=0.05 lr_grid=0.01,0.1' → ({'lr': '0.05'}, {'lr': '0.01,0.1'})."""
    return _split_params(_parse_params(str(text or "").split()))


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
                       help="where figure outputs go (default data/results/<profile>)")
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
    for p in (fig, chap, comp, claims):
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
