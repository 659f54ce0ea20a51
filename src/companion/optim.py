"""Optimizers by name. Each entry builds a ``torch.optim.Optimizer`` for a run and says
whether one step sees a mini-batch or the whole training set.

Adding an optimizer is one entry here: a builder ``(params, config, options) -> Optimizer``
and the defaults of its own options. A run names it with ``RunConfig.optimizer`` and sets
its options with ``RunConfig.optimizer_options`` (both part of the run's cache key); the
options are validated against the defaults declared here before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch


@dataclass(frozen=True)
class OptimizerSpec:
    build: Callable  # (params, config, options: dict) -> torch.optim.Optimizer
    full_batch: bool = False                  # one step = one pass over all n_train examples
    options: Mapping = field(default_factory=dict)  # name -> default value
    description: str = ""


def _sgd(params, config, options):
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


OPTIMIZERS = {
    "sgd": OptimizerSpec(_sgd, description="mini-batch SGD (momentum optional)"),
    "gd": OptimizerSpec(_sgd, full_batch=True,
                        description="full-batch gradient descent on the n_train examples"),
}


def optimizer_spec(name: str) -> OptimizerSpec:
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; valid: {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def build_optimizer(model: torch.nn.Module, config) -> torch.optim.Optimizer:
    spec = optimizer_spec(config.optimizer)
    options = {**spec.options, **dict(config.optimizer_options)}
    return spec.build(model.parameters(), config, options)
