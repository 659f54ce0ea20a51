"""Optimizers by name. Each entry builds a ``torch.optim.Optimizer`` for a run and says
whether one step sees a mini-batch or the whole training set, and whether it steers by the
top Hessian eigenvectors (the training loop then refreshes them, see
:mod:`companion.training`).

Adding an optimizer is one entry here: a builder ``(params, config, options) -> Optimizer``
and the defaults of its own options. A run names it with ``RunConfig.optimizer`` and sets
its options with ``RunConfig.optimizer_options`` (both part of the run's cache key); the
options are validated against the defaults declared here before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch

MOMENTUM_VARIANTS = ("correct_v", "correct_both")


@dataclass(frozen=True)
class OptimizerSpec:
    build: Callable  # (params, config, options: dict) -> torch.optim.Optimizer
    full_batch: bool = False                  # one step = one pass over all n_train examples
    options: Mapping = field(default_factory=dict)  # name -> default value
    description: str = ""
    steers: bool = False  # needs set_directions(): the loop refreshes top-K eigenvectors


class NudgedSGD(torch.optim.Optimizer):
    """SGD with its own step size along given directions (Nudged-SGD, Jastrzębski et al.
    2019, §4; the authors' ``src/optimizers.py``).

    With ``P = E Eᵀ`` for the orthonormal directions ``E`` (``set_directions``)::

        θ ← θ − η [rest_scale · (I − P) g + γ · P g]

    ``γ < 1`` damps the step along the sharpest directions (NSGD), ``rest_scale = 0`` keeps
    only the part along them (SGD-top, Fig. 7), ``γ = 0`` removes it (SGD-no-top), and
    ``γ = rest_scale = 1`` is plain SGD. Weight decay is part of ``g``.

    With momentum μ the authors' default ``correct_v``: ``v = μm − ηg``,
    ``θ ← θ + nudge(v)``, ``m ← v`` (the buffer keeps the un-nudged velocity);
    ``correct_both`` also nudges ``g`` before it enters ``v``. Without directions set,
    ``P = 0``.
    """

    def __init__(self, params, lr: float, gamma: float = 1.0, momentum: float = 0.0,
                 weight_decay: float = 0.0, rest_scale: float = 1.0,
                 variant: str = "correct_v"):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if variant not in MOMENTUM_VARIANTS:
            raise ValueError(f"variant must be one of {MOMENTUM_VARIANTS}, got {variant!r}")
        super().__init__(params, dict(lr=lr, gamma=gamma, momentum=momentum,
                                      weight_decay=weight_decay, rest_scale=rest_scale))
        self.variant = variant
        self.directions = None

    def _params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def dim(self) -> int:
        return sum(p.numel() for p in self._params())

    def set_directions(self, vecs) -> None:
        """``vecs``: (dim, K) orthonormal columns over the parameters flattened in order."""
        vecs = torch.as_tensor(vecs)
        if vecs.ndim == 1:
            vecs = vecs[:, None]
        if vecs.ndim != 2 or vecs.shape[0] != self.dim:
            raise ValueError(f"directions must have shape ({self.dim}, K), got {tuple(vecs.shape)}")
        first = self._params()[0]
        self.directions = vecs.detach().to(device=first.device, dtype=first.dtype).contiguous()

    def _nudge(self, v: torch.Tensor, gamma: float, rest: float) -> torch.Tensor:
        if self.directions is None:
            return rest * v
        return rest * v + (gamma - rest) * (self.directions @ (self.directions.T @ v))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        group = self.param_groups[0]  # one group: the projection couples all parameters
        if len(self.param_groups) != 1:
            raise ValueError("NudgedSGD takes one parameter group")
        params = group["params"]
        g = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                       for p in params])
        if group["weight_decay"]:
            g = g + group["weight_decay"] * torch.cat([p.reshape(-1) for p in params])
        gamma, rest, lr, mu = group["gamma"], group["rest_scale"], group["lr"], group["momentum"]
        if self.variant == "correct_both":
            g = self._nudge(g, gamma, rest)
        v = -lr * g
        if mu:
            state = self.state[params[0]]
            buf = state.get("velocity")
            if buf is not None:
                v = v + mu * buf
            state["velocity"] = v.clone()
        _add_flat(params, self._nudge(v, gamma, rest))
        return loss

    def state_dict(self):
        out = super().state_dict()
        out["directions"] = None if self.directions is None else self.directions.cpu()
        return out

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        directions = state_dict.pop("directions", None)
        super().load_state_dict(state_dict)
        self.directions = None
        if directions is not None:
            self.set_directions(directions)


def _add_flat(params: list, delta: torch.Tensor) -> None:
    offset = 0
    for p in params:
        n = p.numel()
        p.add_(delta[offset:offset + n].view_as(p))
        offset += n


def _sgd(params, config, options):
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay)


def _nudged(params, config, options):
    return NudgedSGD(params, lr=config.lr, gamma=options["gamma"], momentum=config.momentum,
                     weight_decay=config.weight_decay, rest_scale=options["rest_scale"],
                     variant=options["variant"])


# Options of the steering optimizers: how its directions are refreshed (top-K Hessian
# eigenvectors by warm-started Lanczos on a fixed subset of training examples).
# ``tracked``: how many top eigenpairs each refresh computes and logs (the authors'
# K_track, e.g. 10 while steering by 5); 0 = as many as ``directions``.
STEERING = {"directions": 5, "tracked": 0, "refresh_every": 0, "refresh_once": False,
            "refresh_examples": 256, "refresh_tol": 1e-3}

OPTIMIZERS = {
    "sgd": OptimizerSpec(_sgd, description="mini-batch SGD (momentum optional)"),
    "gd": OptimizerSpec(_sgd, full_batch=True,
                        description="full-batch gradient descent on the n_train examples"),
    "nudged": OptimizerSpec(
        _nudged, steers=True,
        options={"gamma": 1.0, "rest_scale": 1.0, "variant": "correct_v", **STEERING},
        description="SGD with step γη along the top-`directions` Hessian eigenvectors and "
                    "rest_scale·η elsewhere (NSGD; SGD-top/no-top of Fig. 7), refreshed every "
                    "`refresh_every` steps (0: every epoch); refresh_once keeps the first "
                    "directions (SGD-const-top) and only measures λ at later refreshes"),
}


def optimizer_spec(name: str) -> OptimizerSpec:
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; valid: {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def optimizer_options(config) -> dict:
    """The run's optimizer options, defaults filled in."""
    return {**optimizer_spec(config.optimizer).options, **dict(config.optimizer_options)}


def option_problems(config) -> list:
    """What is wrong with the run's optimizer options (checked before anything runs)."""
    if config.optimizer != "nudged":
        return []
    o, out = optimizer_options(config), []
    if o["variant"] not in MOMENTUM_VARIANTS:
        out.append(f"variant must be one of {MOMENTUM_VARIANTS}, got {o['variant']!r}")
    for name in ("directions", "refresh_examples"):
        if not (isinstance(o[name], int) and o[name] > 0):
            out.append(f"{name} must be a positive integer, got {o[name]!r}")
    if not (isinstance(o["tracked"], int) and o["tracked"] >= 0):
        out.append(f"tracked must be an integer >= 0, got {o['tracked']!r}")
    if not (isinstance(o["refresh_every"], int) and o["refresh_every"] >= 0):
        out.append(f"refresh_every must be an integer >= 0, got {o['refresh_every']!r}")
    if not o["refresh_tol"] > 0:
        out.append(f"refresh_tol must be positive, got {o['refresh_tol']!r}")
    return out


def build_optimizer(model: torch.nn.Module, config) -> torch.optim.Optimizer:
    return optimizer_spec(config.optimizer).build(model.parameters(), config,
                                                   optimizer_options(config))
