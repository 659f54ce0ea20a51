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


class RMSPropTF(torch.optim.Optimizer):
    """RMSProp as TensorFlow 1's ``RMSPropOptimizer`` computes it (Alain et al. 2019, §2.1),
    with ``tf.train.exponential_decay`` of the learning rate at every step::

        lr_t = lr · lr_decay^(t / lr_decay_steps)
        ms  ← ρ·ms + (1 − ρ)·g²                (ms₀ = 1)
        mom ← μ·mom + lr_t · g / √(ms + ε)
        θ   ← θ − mom

    ``impl="torch"`` follows ``torch.optim.RMSprop`` instead (ms₀ = 0, ``g/(√ms + ε)`` in the
    momentum buffer and ``lr_t`` outside it). ``t`` counts this optimizer's steps.
    """

    IMPLS = ("tf", "torch")

    def __init__(self, params, lr: float, decay: float = 0.95, momentum: float = 0.0,
                 eps: float = 1e-10, impl: str = "tf", lr_decay: float = 1.0,
                 lr_decay_steps: float = 1.0):
        if impl not in self.IMPLS:
            raise ValueError(f"impl must be one of {self.IMPLS}, got {impl!r}")
        if not (lr > 0 and 0 <= decay < 1 and 0 <= momentum < 1 and eps >= 0
                and lr_decay > 0 and lr_decay_steps > 0):
            raise ValueError("RMSPropTF needs lr > 0, 0 <= decay < 1, 0 <= momentum < 1, "
                             "eps >= 0, lr_decay > 0, lr_decay_steps > 0")
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, eps=eps))
        self.impl, self.lr_decay, self.lr_decay_steps = impl, lr_decay, lr_decay_steps

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            rho, mu, eps = group["decay"], group["momentum"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["t"] = 0
                    state["ms"] = torch.ones_like(p) if self.impl == "tf" else torch.zeros_like(p)
                    state["mom"] = torch.zeros_like(p)
                lr = group["lr"] * self.lr_decay ** (state["t"] / self.lr_decay_steps)
                state["t"] += 1
                ms, mom, g = state["ms"], state["mom"], p.grad
                ms.mul_(rho).addcmul_(g, g, value=1 - rho)
                if self.impl == "tf":
                    mom.mul_(mu).addcdiv_(g, (ms + eps).sqrt(), value=lr)
                    p.sub_(mom)
                else:
                    mom.mul_(mu).addcdiv_(g, ms.sqrt().add_(eps))
                    p.sub_(mom, alpha=lr)
        return loss


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


def _rmsprop(params, config, options):
    return RMSPropTF(params, lr=config.lr, momentum=config.momentum, **options)


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
    "rmsprop": OptimizerSpec(
        _rmsprop, options={"decay": 0.95, "eps": 1e-10, "impl": "tf", "lr_decay": 1.0,
                           "lr_decay_steps": 1.0},
        description="RMSProp as TensorFlow 1 computes it (impl=torch: PyTorch's), learning "
                    "rate × lr_decay^(step / lr_decay_steps) (Alain et al. 2019)"),
}


# Xing et al. (2018): GD with isotropic noise, SGD under a learning-rate schedule
from .optim_walk import build_noisy_gd, build_scheduled, walk_option_problems  # noqa: E402

OPTIMIZERS["gd_noise"] = OptimizerSpec(
    build_noisy_gd, full_batch=True,
    options={"noise": 0.1, "noise_chunks": 9, "noise_is_std": True},
    description="full-batch GD plus isotropic Gaussian noise of std noise·v_max (v_max: the "
                "largest per-coordinate gradient variance at θ₀, from noise_chunks chunks)")
OPTIMIZERS["scheduled"] = OptimizerSpec(
    build_scheduled, options={"schedule": "step", "lr_min": 0.01, "lr_max": 0.2, "cycles": 3},
    description="SGD with η by schedule: step (×0.1 at 50% and 75%), clr (triangular "
                "lr_min↔lr_max, `cycles` cycles) or trapezoid (up over 1/6, flat, down to 0)")


def optimizer_spec(name: str) -> OptimizerSpec:
    if name not in OPTIMIZERS:
        raise KeyError(f"unknown optimizer {name!r}; valid: {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def optimizer_options(config) -> dict:
    """The run's optimizer options, defaults filled in."""
    return {**optimizer_spec(config.optimizer).options, **dict(config.optimizer_options)}


def option_problems(config) -> list:
    """What is wrong with the run's optimizer options (checked before anything runs)."""
    if config.optimizer == "rmsprop":
        return _rmsprop_problems(optimizer_options(config))
    if config.optimizer in ("gd_noise", "scheduled"):
        return walk_option_problems(config, optimizer_options(config))
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


def _rmsprop_problems(o: dict) -> list:
    out = [] if o["impl"] in RMSPropTF.IMPLS else [
        f"impl must be one of {RMSPropTF.IMPLS}, got {o['impl']!r}"]
    if not 0 <= o["decay"] < 1:
        out.append(f"decay must be in [0, 1), got {o['decay']!r}")
    out += [f"{n} must be positive, got {o[n]!r}" for n in ("lr_decay", "lr_decay_steps")
            if not o[n] > 0]
    return out + ([] if o["eps"] >= 0 else [f"eps must be >= 0, got {o['eps']!r}"])


def build_optimizer(model: torch.nn.Module, config) -> torch.optim.Optimizer:
    return optimizer_spec(config.optimizer).build(model.parameters(), config,
                                                   optimizer_options(config))
