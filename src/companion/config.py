"""Run configuration: one frozen dataclass that fully describes a training run with
Hessian tracking, and the validation that runs before any computation starts.

A run is identified by *all* of its fields (the results cache hashes them), so a
figure's profiles are written as overrides of one base configuration
(see :mod:`companion.registry`), never as copies.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import Any, Optional


class ParameterError(ValueError):
    """A parameter is invalid; raised before any data is loaded or training starts."""


MODEL_DATASETS = {  # which data set each model trains on
    "simplecnn": ("cifar10",),
    "resnet32": ("cifar10",),
    "lstm": ("ptb",),
}
OPTIMIZERS = ("sgd", "gd")  # gd = full-batch gradient descent on the n_train examples
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one training run and its curvature tracking.

    Defaults are the paper's SimpleCNN setting (Jastrzębski et al. 2019, §2):
    plain SGD (no momentum), η = 0.1, S = 128, standard CIFAR-10 augmentation.
    """

    # --- model and data
    model: str = "simplecnn"          # simplecnn | resnet32 | lstm
    dataset: str = "cifar10"          # cifar10 | ptb (must match the model)
    width: float = 1.0                # width multiplier; 1.0 is the paper's network
    batch_norm: bool = False          # ResNet-32 only; the paper omits BN (§2, footnote 2)
    n_train: Optional[int] = None     # first n training examples (LSTM: tokens); None = all
    n_test: Optional[int] = None      # first n test examples (LSTM: tokens); None = all
    augment: bool = True              # pad-4 random crop + horizontal flip (CIFAR-10)
    bptt: int = 20                    # LSTM: unrolled steps per window (Zaremba et al. 2014)
    # --- optimization
    optimizer: str = "sgd"            # sgd | gd (full batch)
    lr: float = 0.1                   # η
    batch_size: int = 128             # S (ignored by gd, which uses all n_train examples)
    momentum: float = 0.0             # the paper uses plain SGD unless stated
    weight_decay: float = 0.0         # torch convention: gradient += wd·θ (Keras L2(c) is wd = 2c)
    epochs: int = 10                  # with gd: one epoch = one full-batch step
    # --- curvature tracking
    top_k: int = 10                   # eigenvalues tracked (paper: 10, Fig. 1: 30)
    n_hessian: int = 2500             # examples the Hessian is estimated on (~5% of CIFAR-10)
    hessian_batch_size: int = 250     # batches the Hessian operator sums over
    track_every: int = 1              # epochs between eigenvalue evaluations
    zoom_steps: int = 0               # also track every `zoom_every` steps for the first zoom_steps steps
    zoom_every: int = 10
    lanczos_tol: float = 1e-4         # relative residual tolerance of the Lanczos solver
    n_eval: int = 2500                # training examples used for train loss/accuracy
    # --- reproducibility
    seed: int = 0
    device: str = "auto"              # auto | cpu | cuda (does not change the cache key)

    def with_overrides(self, **overrides: Any) -> "RunConfig":
        """A copy with the given fields replaced (unknown names → ParameterError)."""
        unknown = sorted(set(overrides) - {f.name for f in fields(self)})
        if unknown:
            raise ParameterError(
                f"unknown parameter(s) {unknown}; valid: {sorted(f.name for f in fields(self))}")
        return replace(self, **{k: _coerce(self, k, v) for k, v in overrides.items()})

    def identity(self) -> dict:
        """The fields that define the run's numbers (device excluded: it only picks hardware)."""
        data = dataclasses.asdict(self)
        data.pop("device")
        return data


def _coerce(config: RunConfig, name: str, value: Any) -> Any:
    """Convert papermill/CLI strings to the field's type ('0.05' → 0.05, 'none' → None)."""
    current = getattr(config, name)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("none", "null", ""):
            return None
        if isinstance(current, bool) or name in ("augment", "batch_norm"):
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ParameterError(f"{name} must be true or false, got {value!r}")
        if isinstance(current, float) or name in ("lr", "width", "momentum", "weight_decay",
                                                    "lanczos_tol"):
            try:
                return float(text)
            except ValueError:
                raise ParameterError(f"{name} must be a number, got {value!r}") from None
        if isinstance(current, int) or current is None and name.startswith("n_"):
            try:
                return int(text)
            except ValueError:
                raise ParameterError(f"{name} must be an integer, got {value!r}") from None
        return text
    if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def validate(config: RunConfig) -> RunConfig:
    """Check every field; raise ParameterError saying what is wrong and what is valid."""
    problems = []
    if config.model not in MODEL_DATASETS:
        problems.append(f"unknown model {config.model!r}; valid: {sorted(MODEL_DATASETS)}")
    elif config.dataset not in MODEL_DATASETS[config.model]:
        problems.append(f"model {config.model!r} trains on {MODEL_DATASETS[config.model]}, "
                        f"not dataset {config.dataset!r}")
    if config.optimizer not in OPTIMIZERS:
        problems.append(f"unknown optimizer {config.optimizer!r}; valid: {list(OPTIMIZERS)}")
    if config.device not in DEVICES:
        problems.append(f"unknown device {config.device!r}; valid: {list(DEVICES)}")
    _positive(problems, config, "lr", "batch_size", "epochs", "top_k", "n_hessian",
              "hessian_batch_size", "track_every", "zoom_every", "lanczos_tol", "n_eval",
              "width", "bptt")
    for name in ("n_train", "n_test"):
        value = getattr(config, name)
        if value is not None and (not isinstance(value, int) or value <= 0):
            problems.append(f"{name} must be a positive integer or None, got {value!r}")
    if not 0.0 <= config.momentum < 1.0:
        problems.append(f"momentum must be in [0, 1), got {config.momentum!r}")
    if config.weight_decay < 0:
        problems.append(f"weight_decay must be >= 0, got {config.weight_decay!r}")
    if config.zoom_steps < 0:
        problems.append(f"zoom_steps must be >= 0, got {config.zoom_steps!r}")
    if config.batch_norm and config.model != "resnet32":
        problems.append("batch_norm=True is only available for model 'resnet32'")
    if problems:
        raise ParameterError("invalid run parameters:\n  - " + "\n  - ".join(problems))
    return config


def _positive(problems: list, config: RunConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            problems.append(f"{name} must be a positive number, got {value!r}")
