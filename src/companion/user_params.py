"""How the user's parameters (``PARAMS``, ``--param``, a notebook's ``params``) reach a
figure's runs (:func:`companion.registry.resolve`): which run takes which, what the run a
run starts from shares, and the errors that say what to write instead.
"""

from __future__ import annotations

import math
from dataclasses import fields, replace
from typing import Any, Mapping

from .config import ParameterError, RunConfig, validate
from .models import MODEL_OPTIONS
from .optim import OPTIMIZERS, optimizer_options
from .tasks import data_options

INHERITED = ("width", "batch_norm", "seed", "device")  # user overrides a start_from run shares
# fields of a run that its figure builds, so that PARAMS cannot set them: why, and instead
FIGURE_BUILT = {
    "start_from": "the run a run goes on from is part of its figure (its parameters follow "
                  "the run's own)",
    "probes": "each figure picks what it measures; set a probe's options instead, e.g. "
              "top_k=5 or metrics.n_eval=500",
    **{f"{kind}_options": f"set the {kind}'s options by name instead, e.g. "
                          + {"optimizer": "gamma=0.1", "model": "hidden=50",
                             "data": "classes=4"}[kind]
       for kind in ("optimizer", "model", "data")}}

# fields that tell a figure's runs apart where they differ (the runs then keep their own:
# registry.keep_what_tells_runs_apart); not the learning rate (walk-1's GD takes the user's,
# its 'SGD η=0.1' keeps its own by its RunSpec), nor the data set (params="dataset=mnist" is
# Alain et al.'s MNIST run on the real training split; their CIFAR-10 run keeps its own)
NAMING_FIELDS = ("optimizer", "activation", "std", "schedule", "noise")


def field_value(config: RunConfig, name: str) -> Any:
    """A run's value of a field or of an option (defaults filled in) of its model, data set
    or optimizer; None where it has none."""
    if name in {f.name for f in fields(RunConfig)}:
        return getattr(config, name)
    for options in ({**MODEL_OPTIONS.get(config.model, {}), **dict(config.model_options)},
                    data_options(config),
                    optimizer_options(config) if config.optimizer in OPTIMIZERS else {}):
        if name in options:
            return options[name]
    return None


def keep_what_tells_runs_apart(figure):
    """The figure as registered (:func:`registry.register`): each run keeps
    (``RunSpec.keeps``) the fields of :data:`NAMING_FIELDS` in which the figure's runs
    differ, as their labels name them (Sagun et al.'s Table 1 rows 'GD tanh' and 'SGD ReLU
    cov10', Xing et al.'s 'GD + noise 0.05'); one value for all made rows into copies of one
    run (activation=tanh ran 'GD ReLU' as 'GD tanh')."""
    differ = tuple(n for n in NAMING_FIELDS
                   if len({field_value(s.base, n) for s in figure.runs}) > 1)
    if not differ:
        return figure
    return replace(figure, runs=tuple(
        replace(s, keeps=s.keeps + tuple(n for n in differ if n not in s.keeps))
        for s in figure.runs))


def user_parameters(config: RunConfig, overrides: Mapping, where: str, unknown: dict) -> dict:
    """The user's parameters (but ``model``) that the run has somewhere to put: its fields,
    and the options of its optimizer, model, data set (as the user's fields set them) and
    probes (``probe.option`` names one). A probe's option goes to the runs that have that
    probe; ``unknown`` keeps why a run has no place for one, for when no run takes it. An
    option that several of the run's probes have is an error that names them."""
    own = {f.name for f in fields(RunConfig)}
    user = {k: v for k, v in overrides.items() if k != "model"}
    try:
        target = config.with_overrides(**{k: v for k, v in user.items() if k in own})
    except ParameterError:
        target = config  # a bad value: validate() reports it with the others
    kept = {}
    for name, value in user.items():
        try:
            if name not in own:
                target.with_overrides(**{name: value})
        except ParameterError as error:
            if f"unknown parameter {name!r}" in str(error):
                owners = [p.name for p in target.probes if name in {f.name for f in fields(p)}]
                if len(owners) > 1:
                    raise ParameterError(
                        f"{name!r} is an option of {len(owners)} probes of {where} "
                        f"({', '.join(owners)}): name the one you mean, as "
                        + " or ".join(f"{owner}.{name}={value}" for owner in owners)
                        + " (both may be given)") from None
                unknown.setdefault(name, str(error))
                continue
        kept[name] = value
    return kept


def parent_of(config: RunConfig, spec, overrides: Mapping) -> RunConfig:
    """The run ``config`` starts from, with the user's parameters it shares
    (``RunSpec.parent_differs_in``)."""
    parent = config.start_from
    if "model" in overrides:
        parent = parent.with_overrides(model=config.model, dataset=config.dataset)
    if spec.parent_differs_in is None:
        shared = {k: v for k, v in overrides.items() if k in INHERITED}
    else:
        fixed = [k for k in spec.parent_differs_in if k in overrides]
        if fixed:
            raise ParameterError(
                f"{fixed[0]} sets the run {spec.label!r} apart from the run it starts from; the "
                f"figure sets it for each of them, so it cannot be one value for every run")
        shared = user_parameters(
            parent, {k: v for k, v in overrides.items() if k not in spec.parent_differs_in},
            f"the run {spec.label!r} starts from", {})
    return parent.with_overrides(**shared)


def check_distinct(figure_id: str, resolved: list, kept: dict, overrides: Mapping) -> None:
    """A user's value that makes one of a figure's runs the same as a run that kept its own
    value (``kept``: label → the user's parameters that run kept, ``RunSpec.keeps``) is an
    error: ``seed=1`` on the paper profile made 'K=1' the very run 'K=1/seed=1' is, and the
    figure would have shown one run twice, as two seeds."""
    for i, (label, config) in enumerate(resolved):
        for other, earlier in resolved[:i]:
            keeper = label if kept[label] else other
            if kept[keeper] and config.identity() == earlier.identity():
                name = kept[keeper][0]
                raise ParameterError(
                    f"{name}={overrides[name]} makes figure {figure_id}'s runs {other!r} and "
                    f"{label!r} one run ({keeper!r} keeps its {name}, as its label says): "
                    f"give another {name}")


def not_finite(value: Any) -> bool:
    """Whether a value is, or lists, a number that is not finite (nan, inf, 1e400), as a
    float or as the text the command line gives ('inf', '0.1,nan')."""
    if isinstance(value, (list, tuple)):
        return any(not_finite(v) for v in value)
    if isinstance(value, str):
        return any(not math.isfinite(_number(t)) for t in value.replace(" ", ",").split(","))
    return isinstance(value, float) and not math.isfinite(value)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0  # not a number: the parameter's own check reads it


# fields that count something: the command line reads them as whole numbers, and from
# Python or Papermill (-p epochs 2.5) a float must be one too (epochs=2.5 trained 3 epochs,
# batch_size=16.5 ran and recorded 16.5, seed=0.5 crashed drawing the blobs)
WHOLE_FIELDS = tuple(f.name for f in fields(RunConfig) if f.type in ("int", "Optional[int]"))


def value_problems(checked: RunConfig, user: Mapping) -> list:
    """What is wrong with the user's values that ``config.validate`` lets through: a
    fractional count, a negative seed (numpy's generators refuse one) and NSGD's γ < 0."""
    out = [f"{name} takes a whole number, got {getattr(checked, name)!r}"
           for name in WHOLE_FIELDS if name in user
           and isinstance(getattr(checked, name), float)]
    if "seed" in user and isinstance(checked.seed, int) and checked.seed < 0:
        out.append(f"seed must be a whole number >= 0, got {checked.seed}")
    gamma = dict(checked.optimizer_options).get("gamma")
    if "gamma" in user and isinstance(gamma, (int, float)) and gamma < 0:
        out.append(f"gamma must be >= 0 (it scales the step along the top directions: 0 "
                   f"stops it there, 1 is SGD; below 0 it would climb them), got {gamma}")
    return out


def check_finite(name: str, value: Any) -> None:
    """No parameter takes nan or ±inf: inf passes the checks written as ``value > 0`` and
    nan the ones written as ``value < 0`` (lr=inf, weight_decay=nan), and both wreck a run."""
    if not_finite(value):
        raise ParameterError(f"{name}={value} is not a finite number: every parameter takes "
                             f"finite values only")


def validated_with(config: RunConfig, user: Mapping) -> RunConfig:
    """``validate(config.with_overrides(**user))``, after refusing a value that is not finite
    (:func:`check_finite`) or that :func:`value_problems` names, and where the two ways a
    user's value crashes ``config.validate`` become errors that say what to write: a pool of
    0 (it tests ``28 % pool``) and one number where a list is expected (``hidden=50`` given
    from Python; the command line's ``hidden=50`` is read as a list)."""
    for name, value in user.items():
        check_finite(name, value)
    checked = config.with_overrides(**user)
    problems = value_problems(checked, user)
    if problems:
        raise ParameterError("invalid run parameters:\n  - " + "\n  - ".join(problems))
    for run in (checked, checked.start_from):
        pool = dict(run.data_options).get("pool") if run is not None else None
        if pool is not None and not (isinstance(pool, int) and not isinstance(pool, bool)
                                     and pool > 0):
            raise ParameterError(f"pool must be a positive integer that divides 28 (the MNIST "
                                 f"side: 1, 2, 4, 7, 14 or 28), got {pool!r}")
    try:
        return validate(checked)
    except TypeError:
        for name, value in user.items():
            try:
                validate(config.with_overrides(**{name: value}))
            except TypeError:
                raise ParameterError(f"{name} takes a list, got {value!r}: write {name}="
                                     f"[{value!r}] (on the command line, {name}={value} is "
                                     f"read as that list)") from None
            except ParameterError:
                pass
        raise
