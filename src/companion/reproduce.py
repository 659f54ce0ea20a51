"""Run figures: resolve and validate their runs, train or load them, plot, check the
paper's claims, and write figure images, ``claims.json`` and a summary.

Used two ways:

* from a chapter notebook: ``plan = Plan("1,2", "default", overrides); plan.run("1")``;
* from the command line (``make reproduce FIG=4``)::

      python -m companion.reproduce fig 4 --profile default --param lr=0.05
      python -m companion.reproduce chapter spectrum_growth --profile smoke --out book/x.ipynb
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
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from . import plotting, registry, training
from .claims import ClaimOutcome
from .config import ParameterError
from .results import REPO_ROOT, ResultsCache, atomic_write_json, data_root

NOTEBOOKS = REPO_ROOT / "notebooks"


def results_root(profile: str) -> Path:
    return data_root() / "results" / profile


def parse_figures(figures: Any) -> list:
    """'1,2' or ['1', 2] or 4 → validated figure ids."""
    if isinstance(figures, (list, tuple)):
        items = [str(f) for f in figures]
    else:
        items = [f for f in str(figures).replace(" ", ",").split(",") if f]
    if not items:
        raise ParameterError(f"no figure selected; valid ids: {list(registry.FIGURES)}")
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


@dataclass
class FigureOutcome:
    """What running one figure produced."""

    figure: registry.Figure
    profile: str
    runs: dict
    claims: list
    image: Path
    output_dir: Path
    hardware: str
    wall_time_s: float
    parameters: dict = field(default_factory=dict)

    def claims_markdown(self) -> str:
        rows = ["| claim | holds | evidence |", "|---|---|---|"]
        for outcome in self.claims:
            mark = "✅ holds" if outcome.holds else "❌ does not hold"
            rows.append(f"| {outcome.claim} | {mark} | {outcome.evidence} |")
        return "\n".join(rows)

    def parameters_markdown(self) -> str:
        """One row per run with the parameters that differ between runs or from the defaults."""
        from .config import RunConfig

        defaults = RunConfig().identity()
        configs = {label: config.identity() for label, (config, _) in self.runs.items()}
        keys = [k for k in defaults if any(c[k] != defaults[k] for c in configs.values())]
        rows = ["| run | " + " | ".join(keys) + " | wall time |",
                "|---|" + "---|" * (len(keys) + 1)]
        for label, (config, result) in self.runs.items():
            values = " | ".join(str(configs[label][k]) for k in keys)
            rows.append(f"| {label} | {values} | {result['provenance']['wall_time_s']:.0f} s |")
        return "\n".join(rows)

    def show(self) -> None:
        """Display the figure with its caption, profile, hardware, parameters and claims."""
        from IPython.display import Image, Markdown, display

        display(Image(filename=str(self.image)))
        display(Markdown(
            f"**Fig. {self.figure.id} (paper caption).** {self.figure.caption}\n\n"
            f"**Made at profile `{self.profile}` on {self.hardware}** "
            f"(compute time {self.wall_time_s:.0f} s). "
            f"Relative to the paper: {self.figure.shrunk.get(self.profile, 'the paper settings')}."
            f"\n\n{self.parameters_markdown()}\n\n**Claims, computed from this run:**\n\n"
            f"{self.claims_markdown()}"))


class Plan:
    """The figures a notebook execution will produce, validated up front."""

    def __init__(self, figures: Any = "1,2,3,4", profile: str = "default",
                 overrides: Optional[Mapping] = None, grids: Optional[Mapping] = None,
                 output_dir: Any = None, progress: bool = True, chapter: Optional[str] = None):
        self.profile = registry.check_profile(profile)
        self.figure_ids = parse_figures(figures)
        if chapter is not None:
            self.figure_ids = [f for f in self.figure_ids
                               if registry.get_figure(f).notebook == chapter]
        self.overrides = {k: v for k, v in dict(overrides or {}).items() if v is not None}
        self.grids = {k: parse_grid(v) for k, v in dict(grids or {}).items() if parse_grid(v)}
        self.output_dir = Path(output_dir) if output_dir else results_root(profile)
        self.progress = str(progress).strip().lower() not in ("false", "0", "no", "none", "")
        self.cache = ResultsCache()
        # Validate every run of every selected figure now, before any training.
        self.runs = {fid: registry.resolve(fid, profile, self.overrides, self.grids)
                     for fid in self.figure_ids}

    def selected(self, fig_id: str) -> bool:
        return str(fig_id) in self.runs

    def describe_markdown(self) -> str:
        lines = [f"Profile **`{self.profile}`**; figures selected: "
                 f"{', '.join(self.figure_ids)}; outputs under `{self.output_dir}`."]
        if self.overrides or self.grids:
            lines.append(f"User parameters: {self.overrides} {self.grids}")
        for fid, runs in self.runs.items():
            cached = sum(self.cache.load(c) is not None for _, c in runs)
            lines.append(f"- Fig. {fid}: {len(runs)} run(s), {cached} already cached")
        return "\n".join(lines)

    def run(self, fig_id: str) -> Optional[FigureOutcome]:
        """Train (or load) the figure's runs, plot, check claims and save outputs."""
        fig_id = registry.get_figure(fig_id).id
        if not self.selected(fig_id):
            return None
        start = time.perf_counter()
        figure = registry.get_figure(fig_id)
        runs = {label: (config, training.train(config, self.cache, self.progress))
                for label, config in self.runs[fig_id]}
        hardware = ", ".join(sorted({r["provenance"]["device"] for _, r in runs.values()}))
        compute = sum(r["provenance"]["wall_time_s"] for _, r in runs.values())
        commits = sorted({_short_commit(r["provenance"]["commit"]) for _, r in runs.values()})
        footer = (f"Fig. {fig_id} · profile {self.profile} · {hardware} · "
                  f"commit {', '.join(commits)} · companion")
        image = getattr(plotting, figure.plot)(runs, footer=footer)
        out = self.output_dir / f"fig-{fig_id}"
        image_path = _save_figure(image, out / f"fig-{fig_id}.png")
        claims = [c.evaluate(runs, fig_id) for c in figure.claims if c.applies(runs)]
        outcome = FigureOutcome(figure, self.profile, runs, claims, image_path, out, hardware,
                                compute, {label: c.identity() for label, c in self.runs[fig_id]})
        _write_outputs(outcome)
        print(f"Fig. {fig_id}: {sum(c.holds for c in claims)}/{len(claims)} claims hold; "
              f"outputs in {out} ({time.perf_counter() - start:.0f} s)")
        return outcome


def _short_commit(commit: str) -> str:
    """'<40 hex>+dirty' → '<12 hex>+dirty' (a run from uncommitted code must say so)."""
    head, _, rest = commit.partition("+")
    return head[:12] + (f"+{rest}" if rest else "")


def _save_figure(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".fig.", suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path


def _write_outputs(outcome: FigureOutcome) -> None:
    atomic_write_json(outcome.output_dir / "claims.json",
                      [c.as_dict() for c in outcome.claims])
    atomic_write_json(outcome.output_dir / "summary.json", {
        "figure": outcome.figure.id, "title": outcome.figure.title,
        "profile": outcome.profile, "hardware": outcome.hardware,
        "compute_time_s": outcome.wall_time_s,
        "shrunk": outcome.figure.shrunk.get(outcome.profile, "paper settings"),
        "runs": {label: {"parameters": config.identity(), "provenance": result["provenance"],
                         "diverged_at_step": result.get("diverged_at_step"),
                         "data": result.get("data")}
                 for label, (config, result) in outcome.runs.items()},
    })


# ----------------------------------------------------------------------------- notebooks
def execute_notebook(chapter: str, output: Path, parameters: dict) -> Path:
    """Convert ``notebooks/<chapter>.py`` with Jupytext and execute it with Papermill.

    The executed notebook is written next to ``output`` first and renamed only on
    success; a failed execution is kept as ``<name>.failed.ipynb`` for inspection.
    """
    import jupytext
    import papermill

    source = NOTEBOOKS / f"{chapter}.py"
    if not source.exists():
        raise ParameterError(f"no notebook {source}")
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / f"{chapter}.ipynb"
        jupytext.write(notebook, converted)
        partial = output.with_name(f".{output.stem}.partial.ipynb")
        try:
            papermill.execute_notebook(str(converted), str(partial), parameters=parameters,
                                       kernel_name="python3", cwd=str(NOTEBOOKS),
                                       progress_bar=False, log_output=True)
        except BaseException:
            if partial.exists():
                os.replace(partial, output.with_name(f"{output.stem}.failed.ipynb"))
            raise
    os.replace(partial, output)
    return output


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


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.reproduce", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("fig", help="reproduce one figure through its notebook")
    fig.add_argument("figure")
    chap = sub.add_parser("chapter", help="execute a whole chapter notebook (for the book)")
    chap.add_argument("chapter")
    chap.add_argument("--out", required=True, type=Path)
    comp = sub.add_parser("compute", help="train (or resume) a figure's runs, no notebook")
    comp.add_argument("figure")
    comp.add_argument("--budget-s", type=float, default=None,
                      help="stop (resumably) after the first epoch past this many seconds")
    for p in (fig, chap, comp):
        p.add_argument("--profile", default="default")
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
        for fid, figure in registry.FIGURES.items():
            print(f"{fid:>8}  {figure.notebook:<18} {figure.title}")
        print(f"profiles: {', '.join(registry.PROFILES)}")
        return 0
    params, grids = _split_params(_parse_params(args.param))
    if args.command == "compute":
        return _compute(args, params, grids)
    if args.command == "fig":
        figure = registry.get_figure(args.figure)
        plan = Plan(figure.id, args.profile, params, grids)  # validates before anything runs
        out_dir = plan.output_dir / f"fig-{figure.id}"
        execute_notebook(figure.notebook, out_dir / f"{figure.notebook}.ipynb",
                                    {"figures": figure.id, "profile": args.profile,
                                     "output_dir": str(plan.output_dir), **params,
                                     **{f"{k}_grid": v for k, v in grids.items()}})
        print(f"\nFig. {figure.id} at profile '{args.profile}':")
        for path in sorted(out_dir.iterdir()):
            if not path.name.startswith("."):
                print(f"  {path}")
        print(f"  claims: {json.dumps(_claims_summary(out_dir / 'claims.json'))}")
        return 0
    chapter_figures = [f for f, fig in registry.FIGURES.items() if fig.notebook == args.chapter]
    if not chapter_figures:
        chapters = sorted({fig.notebook for fig in registry.FIGURES.values()})
        raise ParameterError(f"unknown chapter {args.chapter!r}; valid: {chapters}")
    Plan(",".join(chapter_figures), args.profile, params, grids)  # validate first
    execute_notebook(args.chapter, args.out,
                     {"figures": ",".join(chapter_figures), "profile": args.profile, **params,
                      **{f"{k}_grid": v for k, v in grids.items()}})
    print(f"executed {args.chapter} at profile '{args.profile}' → {args.out}")
    return 0


def _compute(args, params: dict, grids: dict) -> int:
    """Train a figure's runs (e.g. the paper profile on a GPU) under a time budget."""
    plan = Plan(args.figure, args.profile, params, grids)
    deadline = time.monotonic() + args.budget_s if args.budget_s else None
    unfinished = 0
    for label, config in plan.runs[plan.figure_ids[0]]:
        if deadline is not None and time.monotonic() > deadline:
            unfinished += 1
            continue
        result = training.train(config, plan.cache, progress=False, deadline=deadline)
        done = not result.get("interrupted")
        unfinished += not done
        last = [r for r in result["history"] if "eigenvalues" in r][-1]
        print(f"{label}: {'done' if done else 'interrupted'} at epoch {last['epoch']:g}, "
              f"λ1={last['eigenvalues'][0]:.4g}, train acc {last['train_acc']:.3f} → "
              f"{plan.cache.run_dir(config)}", flush=True)
    print(f"{unfinished} run(s) unfinished" if unfinished else "all runs finished")
    return 0 if not unfinished else 3


def _claims_summary(path: Path) -> str:
    claims = json.loads(path.read_text())
    return f"{sum(c['holds'] for c in claims)} of {len(claims)} hold"


if __name__ == "__main__":
    sys.exit(main())
