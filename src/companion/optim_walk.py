"""The optimizers of Xing et al. (2018) beyond plain (S)GD: full-batch gradient descent with
isotropic Gaussian noise (§4, Figs. 5, 25, 26) and SGD under a learning-rate schedule
(App. C, Figs. 6, 27). Registered in :data:`companion.optim.OPTIMIZERS`.

**Noise** as the authors' ``isotropic_noise.py`` draws it: at θ₀ the training set is split
into ``noise_chunks`` equal chunks, v_max = max over coordinates of (chunk size) × the
variance across chunks of the chunk-mean gradient, and every step adds ξ ~ N(0, σ²I) with
σ = ``noise`` × v_max to the full gradient: the code passes ``noise`` × v_max to
``torch.normal`` as the standard deviation, while the paper calls it a variance;
``noise_is_std=False`` follows the text instead (σ = √(noise × v_max)).

**Schedules** as functions of the fraction p of training done (set before every step):
``step`` η·0.1^(number of {0.5, 0.75} passed); ``clr`` triangular between ``lr_min`` and
``lr_max``, ``cycles`` cycles starting at the bottom (Smith & Topin); ``trapezoid`` up from
``lr_min`` to ``lr_max`` over the first sixth, flat to 80%, then linearly down to 0.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("constant", "step", "clr", "trapezoid")


class NoisyGD(torch.optim.SGD):
    """Gradient descent plus isotropic Gaussian noise of a calibrated standard deviation."""

    def __init__(self, params, lr: float, weight_decay: float, noise: float, chunks: int,
                 is_std: bool, seed: int):
        super().__init__(params, lr=lr, weight_decay=weight_decay)
        self.noise, self.chunks, self.is_std = noise, chunks, is_std
        self.std = None
        self.generator = torch.Generator().manual_seed(seed + 4242)

    def calibrate(self, model, task, config) -> dict:
        """v_max at the current (initial) parameters; sets the noise's standard deviation."""
        params = [p for g in self.param_groups for p in g["params"]]
        n = config.n_train or sum(len(y) for _, y in task.hessian_batches(10 ** 9, 10 ** 9, 0))
        size = n // self.chunks
        means = []
        for x, y in task.hessian_batches(size * self.chunks, size, config.seed + 31):
            loss = task.loss_fn(model(x), y)
            means.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
        v_max = float((size * torch.stack(means).double().var(0, unbiased=False)).max())
        scale = self.noise * v_max
        self.std = scale if self.is_std else math.sqrt(scale)
        return {"v_max": v_max, "noise_std": self.std, "chunks": self.chunks, "chunk_size": size}

    @torch.no_grad()
    def step(self, closure=None):
        if self.std is None:
            raise RuntimeError("NoisyGD.calibrate() must run before the first step")
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    noise = torch.randn(p.shape, generator=self.generator, dtype=p.dtype)
                    p.grad.add_(noise.to(p.device), alpha=self.std)
        return super().step(closure)

    def state_dict(self):
        return {**super().state_dict(), "noise_std": self.std,
                "noise_generator": self.generator.get_state()}

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        self.std = state_dict.pop("noise_std")
        self.generator.set_state(state_dict.pop("noise_generator"))
        super().load_state_dict(state_dict)


def scheduled_lr(schedule: str, p: float, lr: float, lr_min: float, lr_max: float,
                 cycles: int) -> float:
    """η at the fraction ``p`` ∈ [0, 1) of training under ``schedule``."""
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr * 0.1 ** ((p >= 0.5) + (p >= 0.75))
    if schedule == "clr":
        phase = (p * cycles) % 1.0
        return lr_min + (lr_max - lr_min) * (1 - abs(2 * phase - 1))
    if schedule == "trapezoid":
        if p < 1 / 6:
            return lr_min + (lr_max - lr_min) * 6 * p
        return lr_max if p < 0.8 else lr_max * (1 - p) / 0.2
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


class ScheduledSGD(torch.optim.SGD):
    """SGD whose η follows a schedule of the fraction of training done (``set_progress``)."""

    def __init__(self, params, lr, momentum, weight_decay, **schedule):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.base_lr, self.schedule = lr, schedule

    def set_progress(self, p: float) -> None:
        for group in self.param_groups:
            group["lr"] = scheduled_lr(self.schedule["schedule"], p, self.base_lr,
                                       self.schedule["lr_min"], self.schedule["lr_max"],
                                       self.schedule["cycles"])


def build_noisy_gd(params, config, options):
    return NoisyGD(params, config.lr, config.weight_decay, options["noise"],
                   options["noise_chunks"], options["noise_is_std"], config.seed)


def build_scheduled(params, config, options):
    return ScheduledSGD(params, config.lr, config.momentum, config.weight_decay, **options)


def walk_option_problems(config, o: dict) -> list:
    """What is wrong with the options of ``gd_noise`` and ``scheduled``."""
    out = []
    if config.optimizer == "gd_noise":
        if not o["noise"] >= 0:
            out.append(f"noise must be >= 0, got {o['noise']!r}")
        if not (isinstance(o["noise_chunks"], int) and o["noise_chunks"] >= 2):
            out.append(f"noise_chunks must be an integer >= 2, got {o['noise_chunks']!r}")
    if config.optimizer == "scheduled":
        if o["schedule"] not in SCHEDULES:
            out.append(f"schedule must be one of {SCHEDULES}, got {o['schedule']!r}")
        if not 0 < o["lr_min"] <= o["lr_max"]:
            out.append(f"need 0 < lr_min <= lr_max, got {o['lr_min']!r}, {o['lr_max']!r}")
        if not (isinstance(o["cycles"], int) and o["cycles"] >= 1):
            out.append(f"cycles must be a positive integer, got {o['cycles']!r}")
    return out
