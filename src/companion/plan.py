"""The figures an execution will produce, validated before anything loads or trains.

:class:`Plan` resolves every run of the selected figures at a profile with the user's
overrides and sweep grids, checks them all up front, then trains (or loads) each figure's
runs, plots them, checks the paper's claims and writes the outputs (:func:`results_root`
says where). A chapter notebook makes one from its parameters cell with
:func:`notebook_plan`; the command line (:mod:`companion.reproduce`) and the book use it
too.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
from pathlib import Path
from typing import Any, Mapping, Optional

from . import registry, training
from .analyses import attach_analyses
from .compute import check_device, check_paper_on_cpu
from .config import ParameterError
from .data import DataNotFoundError
from .notebooks import param_pairs
from .outcomes import assemble, committed_outcome, load_committed, same_as_paper, show_with_paper
from .progress import Reporter
from .report import FigureOutcome
from .results import ResultsCache, data_root


def results_root(profile: str, overrides: Optional[Mapping] = None,
                 grids: Optional[Mapping] = None) -> Path:
    """Where figure outputs go unless told: ``data/results/<profile>``, and for a run with
    parameters a folder of its own below it (``params/epochs=12+lr=0.05``), so that
    re-running a figure with new parameters never overwrites its outputs at the profile's
    own settings (nor those of other parameters)."""
    root = data_root() / "results" / profile
    pairs = param_pairs(dict(sorted(dict(overrides or {}).items())),
                        dict(sorted(dict(grids or {}).items())))
    if not pairs:
        return root
    name = re.sub(r"[^A-Za-z0-9._,=+-]", "-", "+".join(pairs))
    if len(name) > 80:  # keep paths short; the hash keeps different parameters apart
        name = f"{name[:60]}+{hashlib.sha256(name.encode()).hexdigest()[:12]}"
    return root / "params" / name


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
    if any(v <= 0 or not math.isfinite(v) for v in numbers):
        raise ParameterError(f"grid values must be positive finite numbers, got {text!r}")
    return numbers


def check_in_chapter(figure_ids: list, chapter: str) -> None:
    """A chapter notebook computes its own figures only: an id of another chapter is an
    error naming that chapter's notebook (it used to be dropped, and a notebook given only
    such ids ran nothing and said nothing)."""
    foreign = [f for f in figure_ids if registry.get_figure(f).notebook != chapter]
    if foreign:
        homes = ", ".join(f"{f} is in notebooks/{registry.get_figure(f).notebook}.py"
                          for f in foreign)
        raise ParameterError(
            f"the {chapter} notebook has no figure {', '.join(foreign)} ({homes}): run that "
            f"notebook, or make reproduce FIG={foreign[0]}; this one's figures are "
            f"{', '.join(registry.chapter_figures(chapter))}")


def check_output_dir(path: Path) -> Path:
    """The folder, if it is one or can be made there; else an error before anything runs."""
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ParameterError(f"output_dir {str(path)!r}: {str(existing)!r} is a file, not a "
                             f"folder: give a folder (it is made if missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(f"output_dir {str(path)!r}: {str(existing)!r} cannot be written "
                             f"here: give a folder you can write to")
    return path


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
            check_in_chapter(self.figure_ids, chapter)
        self.overrides = {k: v for k, v in dict(overrides or {}).items() if v is not None}
        self.grids = {k: parse_grid(v) for k, v in dict(grids or {}).items() if parse_grid(v)}
        self.output_dir = (check_output_dir(Path(output_dir)) if output_dir
                           else results_root(profile, self.overrides, self.grids))
        self.progress = str(progress).strip().lower() not in ("false", "0", "no", "none", "")
        self.cache = ResultsCache()
        # `make book PROFILE=paper` on any machine: committed results only, nothing trained
        self.committed_only = os.environ.get("COMPANION_COMMITTED_ONLY") == "1"
        # Validate every run of every selected figure now, before any training. A parameter
        # goes to the figures whose runs have a place for it (a probe's option to those with
        # that probe), as a grid goes to the figures that sweep it; one that none takes is
        # an error. ``unused``: figure id → the parameters it does not take.
        self.unused = {fid: {} for fid in self.figure_ids}
        self.runs = {fid: registry.resolve(fid, profile, self.overrides, self.grids,
                                           untaken=self.unused[fid])
                     for fid in self.figure_ids}
        with_runs = [fid for fid in self.figure_ids if self.runs[fid]]
        for name in self.overrides:
            if with_runs and all(name in self.unused[fid] for fid in with_runs):
                raise ParameterError(self.unused[with_runs[0]][name])
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
                           self.output_dir, time.perf_counter() - start,
                           " ".join(param_pairs(self.overrides, self.grids)))
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
    for name, value in overrides.items():
        if value is not None and name in parsed:
            raise ParameterError(f"{name} is given twice (params has {name}={parsed[name]}, "
                                 f"and {name} = {value!r}): give it once")
        if value is not None:
            parsed[name] = value
    parsed_grids.update({k: v for k, v in dict(grids or {}).items() if v})
    return Plan(figures, profile, parsed, parsed_grids, output_dir or None, chapter=chapter,
                progress=progress)


def _parse_params(items: list) -> dict:
    params = {}
    for item in items or []:
        if "=" not in item:
            raise ParameterError(f"parameters are name=value, got {item!r}")
        name, value = (part.strip() for part in item.split("=", 1))
        if name in params:  # the last one used to win silently
            raise ParameterError(f"{name} is given twice ({name}={params[name]} and "
                                 f"{name}={value}): give it once")
        params[name] = value
    return params


def _split_params(params: dict) -> tuple:
    grids = {k[:-5]: params.pop(k) for k in list(params) if k.endswith("_grid")}
    return params, grids


def split_param_string(text: Any) -> tuple:
    """'lr=0.05 lr_grid=0.01,0.1' → ({'lr': '0.05'}, {'lr': '0.01,0.1'}); a mapping, as
    Papermill's Python API passes one (``parameters={"params": {"lr": 0.05}}``), is taken
    as it is."""
    if isinstance(text, Mapping):
        return _split_params({str(k).strip(): v for k, v in text.items()})
    return _split_params(_parse_params(str(text or "").split()))
