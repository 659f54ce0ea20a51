"""The figure registry: every figure or table id → its notebook, its runs (the paper's
settings), the overrides that make each profile, the paper's caption, its claims and plot.

Profiles are overrides of one base (the paper's own settings), never copies:

* ``paper``   — the paper's settings (and the authors' released scripts), meant for a GPU;
* ``default`` — shrunk so each figure runs in minutes on a 2-core CPU while the phenomenon
  stays measurable; ``Figure.shrunk`` says exactly what differs from the paper and why;
* ``smoke``   — seconds, for the tests.

Ids: the main paper's figures are plain numbers ("1" … "4"), its tables ``table-N``; the
other papers' are prefixed ("walk-1", "sagun-2", "alain-5"). Each chapter module in
:mod:`companion.chapters` registers its figures with :func:`register`.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from .config import MODEL_DATASETS, ParameterError, RunConfig, validate
from .run_sizes import asked_beyond
from .user_params import (FIGURE_BUILT, check_distinct, keep_what_tells_runs_apart, parent_of,
                          user_parameters, validated_with)

PROFILES = ("smoke", "default", "paper")
# fields a figure may sweep, and their label prefix
SWEEPABLE = {"lr": "lr=", "batch_size": "S=", "momentum": "μ=", "lr_drop_epoch": "L="}
WHOLE_NUMBER_GRIDS = ("batch_size", "lr_drop_epoch")  # a count: S = 10.5 is no batch size


class UnknownFigureError(ParameterError):
    """An unknown figure id or profile."""


@dataclass(frozen=True)
class RunSpec:
    """One training run of a figure: its label, its paper settings, the fields it sweeps."""

    label: str
    base: RunConfig
    sweep: tuple = ()  # fields set by the figure itself: user overrides do not replace them
    # the run it starts from (``start_from``): None = another experiment's checkpoint, which
    # shares only the user's user_params.INHERITED (Fig. 7's); a tuple = the first part of
    # the same experiment, which shares all the user's parameters but these (Sagun et al.'s
    # large batch: all but batch_size), so that part II goes on from the part I shown with it
    parent_differs_in: Optional[tuple] = None
    # fields its label names (γ=0.01, h = 10, SGD η=0.1): the user's parameters do not replace
    # them (the profiles' shrinks still may), so that no run is shown under a label not its own
    keeps: tuple = ()
    # (field, factor) pairs its label names relative to the user's value (SGD(η/2)): the
    # user's lr=0.02 runs it at 0.01, so that the baselines stay at their multiple of η
    scales: tuple = ()
    # config → the fields its label derives from others, set last ('every epoch': the walk's
    # epochs from the run's), so that the user's epochs=30 keeps the label true
    derived: Optional[Callable[[RunConfig], dict]] = None


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    notebook: str                    # Jupytext source under notebooks/ (= the chapter)
    paper: str                       # bibliography key of the paper
    caption: str                     # the paper's caption
    runs: tuple                      # RunSpec, paper settings
    # profile → model (or a run's label, which wins over its model) → overrides; None
    # instead of overrides leaves that run out of the profile (``shrunk`` says why)
    profiles: Mapping[str, Mapping[str, Mapping[str, Any]]]
    shrunk: Mapping[str, str]        # profile → what it changes relative to the paper, and why
    grids: Mapping = field(default_factory=dict)  # profile → model ("*": all) → {field: values}
    claims: tuple = ()
    no_claims: str = ""              # why a figure has no claim (the paper makes none about it)
    plot: Optional[Callable] = field(default=None, compare=False)  # (runs, footer) -> Figure


FIGURES: dict = {}
ORIGIN: dict = {}  # figure id → (its chapter module's place in CHAPTER_MODULES, its own)
# modules of companion.chapters, in book order (a chapter's appendix shares its page)
CHAPTER_MODULES = ("spectrum_growth", "spectrum_growth_appendix", "step_vs_curvature", "nsgd",
                   "barriers", "outlier_counts", "outlier_counts_batches", "outlier_counts_switch",
                   "negative_curvature")
PAPER_PREFIXES = {"alain": "Alain", "walk": "Xing", "sagun": "Sagun"}
SECTIONS = {"cost": "§3 (cost)", "subset": "App. B (subset)", "ggn": "Eq. 5 (GGN)",
            "fidelity": "fidelity check", "regime": "regime check",
            "passes": "passes check"}  # the last three: this book's


# functions (figure ids, profile, overrides) → [(name, label, RunConfig)]: runs that a chapter's
# notebook computes beyond its figures' own (e.g. a figure's analysis replayed on another
# trajectory); ``compute`` includes them, so that they can be made on a GPU and committed
REPLAYS: list = []


def register_replays(replays: Callable) -> Callable:
    REPLAYS.append(replays)
    return replays


def replay_runs(figure_ids, profile: str, overrides: Optional[Mapping] = None) -> list:
    """(name, label, config) of every registered replay for these figures."""
    _load_chapters()
    return [run for replays in REPLAYS for run in replays(figure_ids, profile, overrides or {})]


def register(figure: Figure) -> Figure:
    if figure.id in FIGURES:
        raise ValueError(f"figure id {figure.id!r} registered twice")
    FIGURES[figure.id] = figure = keep_what_tells_runs_apart(figure)
    module = sys._getframe(1).f_globals.get("__name__", "").rpartition(".")[2]
    # the chapter module it belongs to: itself, or the one its name extends (barriers_dynamics)
    owner = max((m for m in CHAPTER_MODULES if module.startswith(m)), key=len, default=None)
    ORIGIN[figure.id] = (CHAPTER_MODULES.index(owner) if owner else len(CHAPTER_MODULES),
                         len(ORIGIN))
    return figure


def _load_chapters() -> None:
    """Every chapter module imported, and the figures in book order: a notebook that
    imports its chapter's module first registers its figures first."""
    for name in CHAPTER_MODULES:
        importlib.import_module(f"companion.chapters.{name}")
    if list(FIGURES) != sorted(FIGURES, key=ORIGIN.__getitem__):
        ordered = sorted(FIGURES.items(), key=lambda item: ORIGIN[item[0]])
        FIGURES.clear()
        FIGURES.update(ordered)


def figures() -> dict:
    """Every registered figure, id → Figure, in book order."""
    _load_chapters()
    return FIGURES


def chapters() -> list:
    return list(dict.fromkeys(f.notebook for f in figures().values()))


def chapter_figures(chapter: str) -> list:
    """The ids of a chapter's figures, in book order."""
    return [f for f, fig in figures().items() if fig.notebook == chapter]


def get_figure(fig_id: Any) -> Figure:
    key = str(fig_id).strip()
    if key.lower().startswith("fig"):
        key = key[3:].lstrip(". -")
    if key not in figures():
        raise UnknownFigureError(f"unknown figure id {fig_id!r}; " + _what_instead(key))
    return FIGURES[key]


def _what_instead(key: str) -> str:
    """What the user may have meant by an unknown figure id."""
    import difflib

    if key in chapters():
        ids = chapter_figures(key)
        return (f"{key!r} is a chapter, whose figures are {ids[0]} … {ids[-1]}: `make claims "
                f"FIG={key}` runs them all and grades their claims, `make reproduce` takes one "
                f"of them (`make list` describes them)")
    if "," in key:
        return ("`make reproduce` takes one figure; `make claims FIG=" + key + "` or `make plan "
                "FIG=" + key + "` take several")
    plain, typed = {k.replace("-", ""): k for k in FIGURES}, key.lower().replace("-", "")  # walk1
    close = [plain[typed]] if typed in plain else \
        difflib.get_close_matches(key.lower(), list(FIGURES), n=3, cutoff=0.75)
    return ((f"did you mean {' or '.join(close)}? " if close else "")
            + f"valid ids: {list(FIGURES)} (`make list` describes them)")


def display_name(fig_id: str) -> str:
    """'4' → 'Fig. 4', 'table-1' → 'Table 1', 'newton' → 'App. E (newton)'."""
    fig_id = str(fig_id)
    prefix, _, rest = fig_id.partition("-")
    if prefix in PAPER_PREFIXES and rest:  # 'alain-2' → 'Alain Fig. 2'
        return f"{PAPER_PREFIXES[prefix]} {SECTIONS.get(rest) or display_name(rest)}"
    if fig_id.startswith("table-"):
        return "Table " + fig_id[len("table-"):]
    return "App. E (newton)" if fig_id == "newton" else f"Fig. {fig_id}"


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise UnknownFigureError(f"unknown profile {profile!r}; valid profiles: {list(PROFILES)}")
    return profile


def resolve(fig_id: Any, profile: str = "default", overrides: Optional[Mapping] = None,
            grids: Optional[Mapping] = None, untaken: Optional[dict] = None) -> list:
    """The validated (label, RunConfig) pairs of one figure at one profile.

    ``overrides`` (user parameters such as lr, model, epochs) apply to every run except
    the fields a run sweeps itself; ``grids`` ({"lr": [...], "batch_size": [...]})
    replace a figure's sweep values. Everything is validated here, before any training.
    A parameter that no run has a place for is an error, or, given ``untaken``, is put
    there (name → why) for a caller that selects several figures.
    """
    figure, profile = get_figure(fig_id), check_profile(profile)
    overrides = {k: v for k, v in dict(overrides or {}).items() if v is not None}
    built = sorted(set(overrides) & set(FIGURE_BUILT))
    if built:
        raise ParameterError(f"{built[0]} is not a parameter: {FIGURE_BUILT[built[0]]}")
    resolved, labels, unknown, taken, keeping = [], set(), {}, set(), {}
    sweeps = {model: dict(values) for model, values in figure.grids.get(profile, {}).items()}
    for name, values in (grids or {}).items():  # the user's grids replace every model's
        if values:
            for per_model in [*sweeps.values(), sweeps.setdefault("*", {})]:
                per_model[name] = values
    for spec in _apply_grids(figure.runs, sweeps):
        config, label = spec.base, spec.label
        if "model" in overrides:  # every run uses that model; runs that become equal collapse
            config = config.with_overrides(model=overrides["model"])
            config = config.with_overrides(dataset=_dataset_for(config.model))
            if label.split("/")[0] == spec.base.model:  # 'simplecnn/lr=0.1' → 'vgg11/lr=0.1'
                label = config.model + label[len(label.split("/")[0]):]
            if label in labels:
                continue
        labels.add(label)
        per_profile = figure.profiles[profile]
        if _left_out(per_profile, label, config.model):
            continue
        profile_overrides = {**per_profile.get(config.model, {}), **per_profile.get(label, {})}
        config = config.with_overrides(**{k: v for k, v in profile_overrides.items()
                                          if k not in spec.sweep})
        user = user_parameters(config, overrides, f"figure {figure.id}'s run {label!r}",
                                unknown)
        own = spec.sweep + spec.keeps  # set by the run itself, as its label says
        taken.update(k for k in user if k not in own)
        for name in set(user) & set(own):  # this, not "unknown" from a run without it
            unknown[name] = _set_by_the_runs(figure, name)
        if config.start_from is not None:  # the run it starts from trains the same network
            config = config.with_overrides(start_from=parent_of(config, spec, overrides))
        # a bad value is an error even where a sweep wins; a run does not try a value it
        # keeps (optimizer=sgd on walk-5's noise runs: 'sgd' has no option 'noise')
        validated_with(config, {k: v for k, v in user.items() if k not in spec.keeps})
        mine = {k: v for k, v in user.items() if k not in own}
        config = config.with_overrides(**mine)  # then SGD(η/2) at half the user's (read) η
        config = config.with_overrides(**{k: getattr(config, k) * f for k, f in spec.scales
                                          if k in mine})
        config = config.with_overrides(**spec.derived(config)) if spec.derived else config
        resolved.append((label, validate(config)))
        keeping[label] = sorted(set(user) & set(spec.keeps))
        problems = asked_beyond(config, overrides, mine)  # say so before training
        if problems:
            raise ParameterError(f"figure {figure.id}'s run {label!r}: " + "; ".join(problems))
    if not resolved and figure.runs:
        if "model" in overrides:  # the profile leaves every run of that model out
            model = overrides["model"]
            kept = [s.base.model for s in figure.runs
                    if not _left_out(figure.profiles[profile], s.label, s.base.model)]
            where = [p for p in PROFILES if not _left_out(figure.profiles[p], "", model)]
            raise ParameterError(
                f"figure {figure.id} leaves {model} out at profile {profile!r} (its runs there "
                f"train {', '.join(dict.fromkeys(kept)) or 'nothing'}); drop model={model}"
                + (f", or run it at profile {' or '.join(where)}" if where else ""))
        raise ParameterError(f"figure {figure.id} has no run at profile {profile!r}")
    check_distinct(figure.id, resolved, keeping, overrides)
    nowhere = {name: why for name, why in unknown.items() if name not in taken}
    if nowhere and untaken is None:  # a parameter that no run of the figure has a place for
        raise ParameterError(next(iter(nowhere.values())))
    if untaken is not None:
        untaken.update(nowhere)
    return resolved


def _set_by_the_runs(figure: Figure, name: str) -> str:
    """Why a figure's runs do not take ``name``: each sets it itself, as its label says."""
    labels = [s.label for s in figure.runs if name in s.sweep + s.keeps]
    return (f"{name} is what the runs of figure {figure.id} are labelled by ("
            f"{', '.join(labels[:6])}{', …' if len(labels) > 6 else ''}): each keeps its own, "
            "so as not to run under a label that is not its"
            + (f"; choose the values with {name}_grid=…" if name in SWEEPABLE
               and any(name in s.sweep for s in figure.runs) else ""))


def _left_out(per_profile: Mapping, label: str, model: str) -> bool:
    """Whether a profile leaves a run out (None for its label or its model)."""
    return per_profile.get(label, {}) is None or per_profile.get(model, {}) is None


def _dataset_for(model: str) -> str:
    if model not in MODEL_DATASETS:
        raise ParameterError(f"unknown model {model!r}; valid: {sorted(MODEL_DATASETS)}")
    return MODEL_DATASETS[model][0]


def _apply_grids(runs: tuple, grids: Mapping) -> tuple:
    """Replace the sweep values of a figure: ``grids`` maps a model (or "*", every model)
    to {field: values}, e.g. {"*": {"lr": [0.01, 0.1]}, "lstm": {"lr": [0.3, 1]}}."""
    unknown = sorted({f for per_model in grids.values() for f in per_model} - set(SWEEPABLE))
    if unknown:
        raise ParameterError(f"unknown grid(s) {unknown}; valid: {sorted(SWEEPABLE)}")
    for name in WHOLE_NUMBER_GRIDS:
        values = [v for per_model in grids.values() for v in per_model.get(name) or ()]
        if any(float(v) != int(float(v)) for v in values):
            raise ParameterError(f"{name}_grid takes whole numbers, got "
                                 f"{','.join(f'{float(v):g}' for v in values)}")
    for field_name, prefix in SWEEPABLE.items():
        first = {}
        for spec in runs:
            if spec.sweep == (field_name,):
                first.setdefault(spec.label.split("/")[0], spec)
        replaced = {}
        for model, spec in first.items():
            values = grids.get(model, {}).get(field_name) or grids.get("*", {}).get(field_name)
            if values:
                replaced[model] = [RunSpec(f"{model}/{prefix}{v:g}",
                                           spec.base.with_overrides(**{field_name: v}), spec.sweep)
                                   for v in values]
        if replaced:
            kept = [s for s in runs
                    if not (s.sweep == (field_name,) and s.label.split("/")[0] in replaced)]
            runs = tuple(kept) + tuple(r for specs in replaced.values() for r in specs)
    return runs
