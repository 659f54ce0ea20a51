"""The walk probe (Xing et al. 2018): after every training step, the step's direction and
length, and on chosen segments the loss on the straight line between the iterates.

It runs online, after each step (the training loop calls ``after_step``), so no iterate is
ever saved: the probe keeps θ₀, the previous iterate θ_t and the previous step θ_{t−1} − θ_t
in its checkpointed state. For every step it records

* ``cos``: cos(g_{t−1}, g_t) with g_t = (θ_t − θ_{t+1})/η (the update actually applied: the
  mini-batch gradient for SGD, the full gradient for GD, the noisy one with noise, weight
  decay included; undefined for the first step);
* ``distance``: ‖θ_{t+1} − θ₀‖ and ``norm``: ‖θ_{t+1}‖ over the trainable parameters.

On the selected segments (every step of ``epochs``, thinned by ``every`` and ``first``, and
every step before ``upto``) it records L(θ_t^α) at α = k/``points``, k = 0 … points, on a fixed
un-augmented subset of ``n_eval`` training examples in batches of ``eval_batch`` with BatchNorm
in train mode (:mod:`companion.landscape`); L(θ_{t+1}) is reused as the next segment's L^0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import torch

from .landscape import ALPHA_POINTS, Interpolator, flat_parameters


@dataclass(frozen=True)
class Walk:
    name: ClassVar[str] = "walk"
    n_eval: int = 200          # training examples the interpolated loss is the mean over
    eval_batch: int = 250      # BatchNorm batch size of that evaluation
    points: int = ALPHA_POINTS  # α = k/points
    epochs: tuple = ()         # epochs (1-based) whose segments are interpolated
    every: int = 1             # ... every n-th segment of those epochs
    first: int = 0             # ... only their first n segments (0: all)
    upto: int = 0              # and every segment before this step (GD: its first steps)

    def problems(self) -> list:
        out = [f"{n} must be a positive integer, got {getattr(self, n)!r}"
               for n in ("n_eval", "eval_batch", "points", "every")
               if not (isinstance(getattr(self, n), int) and getattr(self, n) > 0)]
        out += [f"{n} must be an integer >= 0, got {getattr(self, n)!r}"
                for n in ("first", "upto")
                if not (isinstance(getattr(self, n), int) and getattr(self, n) >= 0)]
        if not all(isinstance(e, int) and e >= 1 for e in self.epochs):
            out.append(f"epochs must be 1-based epoch numbers, got {self.epochs!r}")
        if self.points < 2:
            out.append(f"points must be >= 2 (a segment needs an interior point), got {self.points}")
        return out

    def prepare(self, task, config, device):
        train_chunks, _ = task.eval_chunks(self.n_eval)
        x = torch.cat([c[0] for c in train_chunks])[:self.n_eval]
        y = torch.cat([c[1] for c in train_chunks])[:self.n_eval]
        batches = [(x[i:i + self.eval_batch], y[i:i + self.eval_batch])
                   for i in range(0, len(y), self.eval_batch)]
        return {"loss_fn": task.loss_fn, "batches": batches, "interpolator": None,
                "steps_per_epoch": task.steps_per_epoch}

    def selected(self, segment: int, steps_per_epoch: int) -> bool:
        """Is segment ``segment`` (θ_segment → θ_segment+1, 0-based) interpolated?"""
        if segment < self.upto:
            return True
        epoch, index = divmod(segment, steps_per_epoch)
        return (epoch + 1 in self.epochs and index % self.every == 0
                and (not self.first or index < self.first))

    def measure(self, model, prepared, state, config, step) -> dict:
        if "theta0" not in state:  # initialization (or the start_from weights)
            theta = flat_parameters(model)
            state.update(theta0=theta.clone(), previous=theta.clone(), last_step=None,
                         last_end=None, cos=[], distance=[], norm=[], segments=[],
                         seconds=0.0)
        return {}

    def after_step(self, model, prepared, state, config, step) -> None:
        theta = flat_parameters(model)
        previous = state["previous"]
        delta = previous - theta  # η g_t
        last = state["last_step"]
        cos = (float(torch.dot(last, delta) / (last.norm() * delta.norm()).clamp_min(1e-30))
               if last is not None else None)
        state["cos"].append(cos)
        state["distance"].append(float((theta - state["theta0"]).norm()))
        state["norm"].append(float(theta.norm()))
        segment = step - 1
        if self.selected(segment, prepared["steps_per_epoch"]):
            start = time.perf_counter()
            if prepared["interpolator"] is None:
                prepared["interpolator"] = Interpolator(model, prepared["loss_fn"],
                                                        prepared["batches"])
            ks = range(0 if state["last_end"] is None else 1, self.points + 1)
            values = prepared["interpolator"].line(previous, theta,
                                                   [k / self.points for k in ks]).tolist()
            if state["last_end"] is not None:
                values = [state["last_end"], *values]
            state["segments"].append([segment, *values])
            state["seconds"] += time.perf_counter() - start
            state["last_end"] = values[-1]
        else:
            state["last_end"] = None
        state["last_step"], state["previous"] = delta, theta

    def trace(self, state) -> dict:
        """What the run's result keeps: per step cos, distance, norm; the segments' losses."""
        return {"cos": state["cos"], "distance": state["distance"], "norm": state["norm"],
                "segments": state["segments"], "points": self.points,
                "interpolation_seconds": round(state["seconds"], 3)}
