"""Run configuration: one frozen dataclass that fully describes a training run, what is
measured along it (its probes) and the validation that runs before any computation starts.

A run is identified by *all* of its fields, its probes' options and its optimizer's options
(the results cache hashes them), so a figure's profiles are written as overrides of one
base configuration (see :mod:`companion.registry`), never as copies.

Overrides are flat ``name=value`` pairs. A name that is not a field of :class:`RunConfig`
goes to the probe that has an option of that name (``top_k=5`` sets the eigenvalue probe's
``top_k``; ``eigen.top_k=5`` says so explicitly), or to the optimizer's options.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Optional

from .models import MODEL_DATASETS, MODEL_OPTIONS
from .optim import OPTIMIZERS, option_problems
from .probes import Metrics, PROBES, TopEigen
from .tasks import DATA_OPTIONS

DEVICES = ("auto", "cpu", "cuda")


class ParameterError(ValueError):
    """A parameter is invalid; raised before any data is loaded or training starts."""


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run and what is measured along it.

    Defaults are the paper's SimpleCNN setting (Jastrzębski et al. 2019, §2):
    plain SGD (no momentum), η = 0.1, S = 128, standard CIFAR-10 augmentation.
    """

    # --- model and data
    model: str = "simplecnn"          # simplecnn | resnet32 | vgg11 | lstm | textcnn
    dataset: str = "cifar10"          # cifar10 | cifar100 | fmnist | imdb | ptb (see MODEL_DATASETS)
    width: float = 1.0                # width multiplier; 1.0 is the paper's network
    batch_norm: bool = False          # ResNet-32 (the paper omits BN, §2 fn. 2) and VGG-11
    n_train: Optional[int] = None     # first n training examples (LSTM: tokens); None = all
    n_test: Optional[int] = None      # first n test examples (LSTM: tokens); None = all
    augment: bool = True              # pad-4 random crop + horizontal flip (CIFAR-10)
    bptt: int = 20                    # LSTM: unrolled steps per window (Zaremba et al. 2014)
    model_options: tuple = ()         # (name, value) pairs, defaults in models.MODEL_OPTIONS
    data_options: tuple = ()          # (name, value) pairs, defaults in tasks.DATA_OPTIONS
    # --- optimization
    optimizer: str = "sgd"            # a key of companion.optim.OPTIMIZERS (gd = full batch)
    optimizer_options: tuple = ()     # (name, value) pairs, validated against the optimizer
    lr: float = 0.1                   # η
    batch_size: int = 128             # S (ignored by gd, which uses all n_train examples)
    momentum: float = 0.0             # the paper uses plain SGD unless stated
    weight_decay: float = 0.0         # torch convention: gradient += wd·θ (Keras L2(c) is wd = 2c)
    epochs: int = 10                  # with gd: one epoch = one full-batch step
    max_steps: Optional[int] = None   # end after this many steps instead of `epochs` epochs
    stop_grad_norm: Optional[float] = None  # end once a step's (mini)batch gradient norm is ≤ it
    lr_drop_epoch: Optional[int] = None  # from this epoch on, η × lr_drop_factor (App. A.2)
    lr_drop_factor: float = 0.1
    # --- what is measured, and when
    probes: tuple = (Metrics(), TopEigen())  # see companion.probes
    track_every: int = 1              # epochs between probe evaluations
    zoom_steps: int = 0               # also probe every `zoom_every` steps for the first zoom_steps
    zoom_every: int = 10
    snapshot_steps: tuple = ()        # after these steps (0 = init) the weights are saved and
                                      # the probes measure: analyses revisit them after training
    # --- where training starts: None = a fresh initialization; a RunConfig = the final
    # weights of that run (trained first if it is not cached), e.g. Fig. 7's variants
    start_from: Optional["RunConfig"] = None
    # --- reproducibility
    seed: int = 0
    device: str = "auto"              # auto | cpu | cuda (does not change the cache key)

    def probe(self, name: str):
        """The probe called ``name`` (e.g. "eigen"), or None."""
        return next((p for p in self.probes if p.name == name), None)

    def with_overrides(self, **overrides: Any) -> "RunConfig":
        """A copy with the given fields, probe options or optimizer options replaced."""
        own = {f.name for f in fields(self)}
        direct = {k: _coerce(getattr(self, k), k, v) for k, v in overrides.items() if k in own}
        config = replace(self, **direct)
        for name, value in overrides.items():
            if name not in own:
                config = config._route(name, value)
        return config

    def _route(self, name: str, value: Any) -> "RunConfig":
        probe_name, _, option = name.rpartition(".")
        owners = [i for i, p in enumerate(self.probes)
                  if option in {f.name for f in fields(p)} and probe_name in ("", p.name)]
        if len(owners) == 1:
            probes = list(self.probes)
            old = probes[owners[0]]
            probes[owners[0]] = replace(old, **{option: _coerce(getattr(old, option), option, value)})
            return replace(self, probes=tuple(probes))
        opt_defaults = dict(OPTIMIZERS[self.optimizer].options) if self.optimizer in OPTIMIZERS else {}
        owned = (("optimizer_options", opt_defaults),
                 ("model_options", MODEL_OPTIONS.get(self.model, {})),
                 ("data_options", DATA_OPTIONS.get(self.dataset, {})))
        for field_name, defaults in owned:
            if not probe_name and name in defaults:
                options = dict(getattr(self, field_name))
                options[name] = _coerce(defaults[name], name, value)
                return replace(self, **{field_name: tuple(sorted(options.items()))})
        valid = sorted({f.name for f in fields(self)} - {"probes", "optimizer_options",
                                                         "model_options", "data_options"}
                       | {f.name for p in self.probes for f in fields(p)}
                       | {n for _, defaults in owned for n in defaults})
        raise ParameterError(f"unknown parameter {name!r}; valid: {valid}")

    def identity(self) -> dict:
        """The values that define the run's numbers (device excluded: it only picks hardware)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("device", "probes", "optimizer_options", "start_from")}
        data["optimizer_options"] = dict(self.optimizer_options)
        for name in ("model_options", "data_options"):
            data[name] = dict(getattr(self, name))
        if self.start_from is not None:  # absent otherwise: earlier runs keep their keys
            data["start_from"] = self.start_from.identity()
        for name in ("max_steps", "snapshot_steps", "model_options", "data_options",
                     "stop_grad_norm"):  # likewise
            if not getattr(self, name):
                data.pop(name)
        # post-hoc probes analyse the saved snapshots after training: not part of the run
        data["probes"] = [{"probe": p.name, **asdict(p)} for p in self.probes
                          if not getattr(p, "post_hoc", False)]
        return data

    def flat(self) -> dict:
        """identity() with the probes' options flattened in (for tables)."""
        data = self.identity()
        for probe in data.pop("probes"):
            data.update({k: v for k, v in probe.items() if k != "probe"})
        data.update(data.pop("optimizer_options"))
        for name in ("model_options", "data_options"):
            data.update(data.pop(name, {}))
        if "start_from" in data:
            from .results import run_key
            data["start_from"] = f"run {run_key(self.start_from)}"
        return data


# fields whose default None stands for "unset" and whose values are integers
OPTIONAL_INTS = {f.name for f in fields(RunConfig) if f.type == "Optional[int]"}
OPTIONAL_FLOATS = {f.name for f in fields(RunConfig) if f.type == "Optional[float]"}


def _coerce(current: Any, name: str, value: Any) -> Any:
    """Convert papermill/CLI strings to the current value's type ('0.05' → 0.05, 'none' → None)."""
    integer = isinstance(current, int) and not isinstance(current, bool) or name in OPTIONAL_INTS
    if not isinstance(value, str):
        if name in OPTIONAL_FLOATS and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(current, tuple) and isinstance(value, list):
            return tuple(value)
        if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if integer and isinstance(value, float) and value.is_integer():
            return int(value)  # grids arrive as floats: S = 256.0 → 256
        return value
    text = value.strip()
    if text.lower() in ("none", "null", ""):
        return None
    if isinstance(current, tuple):  # "0.5,1,2" → (0.5, 1.0, 2.0); "" → ()
        items = [t for t in text.replace(" ", ",").split(",") if t]
        kinds = {type(c) for c in current} or (  # an empty default: whole numbers are ints
            {int} if all(t.lstrip("-").isdigit() for t in items) else {float})
        kind = int if kinds == {int} else float
        try:
            return tuple(kind(t) for t in items)
        except ValueError:
            raise ParameterError(f"{name} must be comma-separated {kind.__name__}s, "
                                 f"got {value!r}") from None
    if isinstance(current, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ParameterError(f"{name} must be true or false, got {value!r}")
    if isinstance(current, float) or name in OPTIONAL_FLOATS:
        try:
            return float(text)
        except ValueError:
            raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if integer:
        try:
            return int(text)
        except ValueError:
            raise ParameterError(f"{name} must be an integer, got {value!r}") from None
    return text


def validate(config: RunConfig) -> RunConfig:
    """Check every field; raise ParameterError saying what is wrong and what is valid."""
    problems = []
    if config.model not in MODEL_DATASETS:
        problems.append(f"unknown model {config.model!r}; valid: {sorted(MODEL_DATASETS)}")
    elif config.dataset not in MODEL_DATASETS[config.model]:
        problems.append(f"model {config.model!r} trains on {MODEL_DATASETS[config.model]}, "
                        f"not dataset {config.dataset!r}")
    if config.optimizer not in OPTIMIZERS:
        problems.append(f"unknown optimizer {config.optimizer!r}; valid: {sorted(OPTIMIZERS)}")
    else:
        extra = set(dict(config.optimizer_options)) - set(OPTIMIZERS[config.optimizer].options)
        if extra:
            problems.append(f"optimizer {config.optimizer!r} has no option(s) {sorted(extra)}")
        else:
            problems.extend(f"optimizer {config.optimizer!r}: {p}" for p in option_problems(config))
    for field_name, table, owner in (("model_options", MODEL_OPTIONS, config.model),
                                     ("data_options", DATA_OPTIONS, config.dataset)):
        extra = set(dict(getattr(config, field_name))) - set(table.get(owner, {}))
        if extra:
            problems.append(f"{owner!r} has no option(s) {sorted(extra)}; valid: "
                            f"{sorted(table.get(owner, {}))}")
    problems.extend(option_value_problems(config))
    if config.stop_grad_norm is not None and not (isinstance(config.stop_grad_norm, float)
                                                  and config.stop_grad_norm > 0):
        problems.append(f"stop_grad_norm must be a positive number or None, "
                        f"got {config.stop_grad_norm!r}")
    if config.device not in DEVICES:
        problems.append(f"unknown device {config.device!r}; valid: {list(DEVICES)}")
    _positive(problems, config, "lr", "batch_size", "epochs", "track_every", "zoom_every",
              "width", "bptt")
    for name in ("n_train", "n_test"):
        value = getattr(config, name)
        if value is not None and (not isinstance(value, int) or value <= 0):
            problems.append(f"{name} must be a positive integer or None, got {value!r}")
    if not 0.0 <= config.momentum < 1.0:
        problems.append(f"momentum must be in [0, 1), got {config.momentum!r}")
    if config.weight_decay < 0:
        problems.append(f"weight_decay must be >= 0, got {config.weight_decay!r}")
    if config.max_steps is not None:
        if not isinstance(config.max_steps, int) or config.max_steps < 1:
            problems.append(f"max_steps must be a positive integer or None, "
                            f"got {config.max_steps!r}")
    steps = config.snapshot_steps
    if not all(isinstance(t, int) and t >= 0 for t in steps) or list(steps) != sorted(set(steps)):
        problems.append(f"snapshot_steps must be increasing integers >= 0, got {steps!r}")
    elif steps and config.max_steps is not None and steps[-1] > config.max_steps:
        problems.append(f"snapshot_steps go to {steps[-1]}, past max_steps={config.max_steps}")
    if config.zoom_steps < 0:
        problems.append(f"zoom_steps must be >= 0, got {config.zoom_steps!r}")
    if config.batch_norm and config.model not in ("resnet32", "vgg11"):
        problems.append("batch_norm=True is only available for models 'resnet32' and 'vgg11'")
    if config.lr_drop_epoch is not None and (not isinstance(config.lr_drop_epoch, int)
                                             or config.lr_drop_epoch < 1):
        problems.append(f"lr_drop_epoch must be a positive integer or None, "
                        f"got {config.lr_drop_epoch!r}")
    if not config.lr_drop_factor > 0:
        problems.append(f"lr_drop_factor must be positive, got {config.lr_drop_factor!r}")
    names = [p.name for p in config.probes]
    if len(set(names)) != len(names) or any(n not in PROBES for n in names):
        problems.append(f"probes must be distinct instances of {sorted(PROBES)}, got {names}")
    for probe in config.probes:
        problems.extend(f"{probe.name}.{p}" for p in probe.problems())
        if getattr(probe, "post_hoc", False):  # it analyses saved snapshots: they must exist
            problems.extend(f"{probe.name}.{p}"
                            for p in probe.snapshot_problems(config.snapshot_steps))
    if config.start_from is not None:
        try:
            validate(config.start_from)
        except ParameterError as err:
            problems.append(f"start_from: {err}")
        same = ("model", "width", "batch_norm")
        if any(getattr(config, n) != getattr(config.start_from, n) for n in same):
            problems.append(f"start_from must train the same network ({', '.join(same)} equal)")
    if problems:
        raise ParameterError("invalid run parameters:\n  - " + "\n  - ".join(problems))
    return config


def option_value_problems(config: RunConfig) -> list:
    """What is wrong with the values of the run's model and data options."""
    from .models_small import ACTIVATIONS

    model, data, out = dict(config.model_options), dict(config.data_options), []
    if model.get("activation", "relu") not in ACTIVATIONS:
        out.append(f"activation must be one of {sorted(ACTIVATIONS)}, got {model['activation']!r}")
    if not all(isinstance(h, int) and h > 0 for h in model.get("hidden", (1,))):
        out.append(f"hidden must be positive integer widths, got {model['hidden']!r}")
    if model.get("init_std", 0.0) < 0:
        out.append(f"init_std must be >= 0 (0: PyTorch's initialization), got {model['init_std']!r}")
    for name in ("classes", "dim", "pool"):
        if name in data and not (isinstance(data[name], int) and data[name] > 0):
            out.append(f"{name} must be a positive integer, got {data[name]!r}")
    if "pool" in data and 28 % data["pool"]:
        out.append(f"pool must divide 28 (the MNIST side), got {data['pool']!r}")
    if "std" in data and not data["std"] > 0:
        out.append(f"std must be positive, got {data['std']!r}")
    classes = {**DATA_OPTIONS.get(config.dataset, {}), **data}.get("classes", 2)
    if config.model == "mlp" and classes < 2:
        out.append("the mlp needs classes >= 2 (one class leaves nothing to learn; the "
                   "logistic model takes one blob)")
    return out


def _positive(problems: list, obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            problems.append(f"{name} must be a positive number, got {value!r}")
