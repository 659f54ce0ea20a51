"""The one training loop: SGD (or any optimizer of :mod:`companion.optim`) with probes.

:func:`train` runs (or loads, or resumes) one :class:`~companion.config.RunConfig`:

* the data live on the device as tensors; augmentation is a tensor op per batch
  (:mod:`companion.tasks`);
* at initialization, every ``track_every`` epochs and every ``zoom_every`` steps of the first
  ``zoom_steps`` steps, each of the run's probes (:mod:`companion.probes`) records its
  numbers in the history;
* every step's loss and accuracy on its own (mini- or full) batch are kept in
  ``step_log`` (cheap: they come from the training forward pass);
* probes with an ``after_step`` method (the walk probe) run after every step, and their
  ``trace`` is kept in the result;
* after each of ``snapshot_steps`` the weights are saved (``ResultsCache.snapshot_path``)
  and the probes measure, so analyses can revisit those points after training (post-hoc
  probes, :mod:`companion.probes_snapshots`); ``max_steps`` ends a run mid-epoch;
* a checkpoint is written atomically after the first epoch and then after any epoch that
  ends ``CHECKPOINT_SECONDS`` after the last one (model, optimizer, RNG states and the
  probes' state), so an interrupted run resumes where it stopped and ends with the same
  numbers (full-batch runs of 10,000 one-step epochs are not slowed by 10,000 saves);
* an optimizer with ``calibrate`` (GD with noise) calibrates itself at θ₀, one with
  ``set_progress`` (a learning-rate schedule) is told the fraction done before each step;
* ``stop_grad_norm`` ends a run after the first step whose (mini)batch gradient norm is at
  most that value (the stopping rule of Sagun et al.'s code);
* an optimizer that steers by the top Hessian eigenvectors (``nudged``) gets them from a
  warm-started Lanczos run before the first step and every ``refresh_every`` steps (every
  epoch when 0), and once more after the last step to measure the end point; each refresh
  is logged in ``refreshes`` (eigenvalues, products, seconds, overlap with the previous
  subspace);
* a run with ``start_from`` starts from the final weights of that run (trained first);
* a non-finite or exploding loss is recorded as divergence and ends the run cleanly;
* the final history is stored in the results cache with its provenance.
"""

from __future__ import annotations

import math
import time
from typing import Optional

import torch

from .config import RunConfig, validate
from .models import build_model
from .optim import build_optimizer, optimizer_options, optimizer_spec
from .probes import top_eigenpairs
from .progress import Reporter
from .results import (ResultsCache, atomic_torch_save, provenance, restore_checkpoint,
                      save_checkpoint)
from .runtime import resolve_device
from . import steps
from .tasks import build_task, generator

DIVERGENCE_FACTOR = 1e3  # a batch loss this many times the initial loss counts as divergence
GD_CHUNK = 512           # full-batch gradients are accumulated over chunks of this many examples
CHECKPOINT_SECONDS = 30  # wall time between checkpoints (the first epoch always writes one)


def train(config: RunConfig, cache: Optional[ResultsCache] = None,
          reporter: Optional[Reporter] = None, stop_after_epochs: Optional[int] = None,
          deadline: Optional[float] = None, need_weights: bool = False) -> dict:
    """Run ``config`` (or load its cached result, or resume its checkpoint).

    ``stop_after_epochs`` stops after that many epochs *of this call*, and ``deadline``
    (a ``time.monotonic()`` value) after the first epoch that ends past it, without storing
    a final result, as an interruption would: the checkpoint lets a later call resume.
    """
    validate(config)
    cache = cache or ResultsCache()
    cached = cache.load(config)
    if cached is not None and (not need_weights or _weights_saved(cache, config)):
        return cached
    reporter = reporter or Reporter(enabled=False)

    device = resolve_device(config.device)
    parent_weights = None
    if config.start_from is not None:
        train(config.start_from, cache, reporter, need_weights=True)
        parent_weights = torch.load(cache.weights_path(config.start_from), map_location=device)
    task = build_task(config, device)
    torch.manual_seed(config.seed)
    model = build_model(config.model, **task.build_options).to(device)
    if parent_weights is not None:
        model.load_state_dict(parent_weights)
    optimizer = build_optimizer(model, config)
    steering = _Steering(task, config, device) if optimizer_spec(config.optimizer).steers else None
    gen = generator(device, config.seed + 1)
    probes = [p for p in config.probes if not getattr(p, "post_hoc", False)]
    prepared = {p.name: p.prepare(task, config, device) for p in probes}
    state = {"epoch": 0, "step": 0, "history": [], "step_log": [], "diverged_at_step": None,
             "initial_loss": None, "elapsed_s": 0.0, "refreshes": [], "directions": None,
             "probe_state": {p.name: {} for p in config.probes}}

    def measure(phase: str) -> dict:
        record = {"step": state["step"], "epoch": round(state["step"] / task.steps_per_epoch, 6),
                  "phase": phase}
        for probe in probes:
            record.update(probe.measure(model, prepared[probe.name],
                                        state["probe_state"][probe.name], config, state["step"]))
        model.train()
        state["history"].append(record)
        return record

    snapshots = set(config.snapshot_steps)
    stepwise = [p for p in probes if hasattr(p, "after_step")]  # e.g. the walk probe

    def after_step() -> None:
        for probe in stepwise:
            probe.after_step(model, prepared[probe.name], state["probe_state"][probe.name],
                             config, state["step"])
        if state["step"] in snapshots:
            atomic_torch_save(cache.snapshot_path(config, state["step"]),
                              {k: v.detach().cpu() for k, v in model.state_dict().items()})
            measure("snapshot")

    checkpoint = cache.checkpoint_path(config)
    saved = restore_checkpoint(checkpoint, model, optimizer, gen) if checkpoint.exists() else None
    if saved is None and hasattr(optimizer, "calibrate"):  # e.g. the noise of gd_noise
        state["calibration"] = optimizer.calibrate(model, task, config)
    if saved is not None:
        state = saved
        if steering is not None and state["directions"] is not None:
            optimizer.set_directions(state["directions"])
    else:
        start = time.perf_counter()
        measure("init")
        if 0 in snapshots:
            after_step()
        state["initial_loss"] = state["history"][0].get("train_loss")
        state["elapsed_s"] += time.perf_counter() - start
    reporter.start_run(config, state)

    full_batch = optimizer_spec(config.optimizer).full_batch
    stepper = steps.Stepper(model, optimizer, task.loss_fn, device,
                            chunk=GD_CHUNK if full_batch else None,
                            want_grad_norm=config.stop_grad_norm is not None)
    epochs_this_call, last_save = 0, float("-inf")
    while not _finished(config, state):
        start = time.perf_counter()
        for group in optimizer.param_groups:  # the schedule of App. A.2: one drop of η
            group["lr"] = learning_rate(config, state["epoch"])
        _train_one_epoch(model, optimizer, task, config, gen, state, measure, steering,
                         after_step, stepper)
        state["epoch"] += 1
        if state["diverged_at_step"] is None and (state["epoch"] % config.track_every == 0
                                                  or _finished(config, state)):
            measure("epoch")
        state["elapsed_s"] += time.perf_counter() - start
        epochs_this_call += 1
        out_of_time = deadline is not None and time.monotonic() > deadline
        stop = out_of_time or (stop_after_epochs is not None
                               and epochs_this_call >= stop_after_epochs)
        if stop or time.monotonic() - last_save >= CHECKPOINT_SECONDS:
            save_checkpoint(checkpoint, model, optimizer, gen, state)
            last_save = time.monotonic()
        reporter.epoch_done(config, state)
        if stop:
            return {"interrupted": True, "history": state["history"]}

    if steering is not None and state["diverged_at_step"] is None:
        steering.refresh(model, optimizer, state, final=True)  # the end point's curvature
    result = {
        "history": state["history"],
        "step_log": state["step_log"],
        "diverged_at_step": state["diverged_at_step"],
        **({"stopped_at_step": state.get("stopped_at_step")} if config.stop_grad_norm else {}),
        "refreshes": state["refreshes"],
        **({"calibration": state["calibration"]} if "calibration" in state else {}),
        **({"trace": {p.name: p.trace(state["probe_state"][p.name]) for p in stepwise}}
           if stepwise else {}),
        "steps_per_epoch": task.steps_per_epoch,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "data": task.data_source,
        "provenance": {**provenance(config, device, state["elapsed_s"]),
                       "fast_paths": steps.fast_paths(device)},
    }
    atomic_torch_save(cache.weights_path(config),
                      {k: v.detach().cpu() for k, v in model.state_dict().items()})
    cache.save(config, result)
    checkpoint.unlink(missing_ok=True)
    reporter.run_done(config, result)
    return result


def _finished(config: RunConfig, state: dict) -> bool:
    if state["diverged_at_step"] is not None or state.get("stopped_at_step") is not None:
        return True
    if config.max_steps is not None:
        return state["step"] >= config.max_steps
    return state["epoch"] >= config.epochs


def _weights_saved(cache: ResultsCache, config: RunConfig) -> bool:
    """The final weights and every snapshot are on disk."""
    return cache.weights_path(config).exists() and all(
        cache.snapshot_path(config, t).exists() for t in config.snapshot_steps)


def learning_rate(config: RunConfig, epoch: int) -> float:
    """η during ``epoch`` (0-based): ``lr``, times ``lr_drop_factor`` from ``lr_drop_epoch`` on."""
    dropped = config.lr_drop_epoch is not None and epoch >= config.lr_drop_epoch
    return config.lr * (config.lr_drop_factor if dropped else 1.0)


def _train_one_epoch(model, optimizer, task, config, gen, state, measure, steering,
                     after_step, step) -> None:
    """One epoch of ``step`` calls. Each step's loss and accuracy are read back from the device
    every ``_sync_every`` steps (one host synchronisation for the group) and then checked for
    divergence in order, so a run that diverges records the same step as a per-step check;
    on a GPU it may have taken up to that many more steps, which no probe measures."""
    model.train()
    sync_every = _sync_every(config, step.device)
    pending = []  # (step, loss, correct, batch size), still on the device

    def read_back() -> bool:
        """Log the pending steps; True if one of them diverged (the epoch then ends)."""
        if not pending:
            return False
        values = torch.stack([torch.stack((loss, correct)) for _, loss, correct, _ in pending])
        for (at, _, _, n), (loss, correct) in zip(pending, values.double().cpu().tolist()):
            state["step_log"].append([at, round(loss, 6), round(correct / n, 6)])
            if state["initial_loss"] is None:
                state["initial_loss"] = loss
            if not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(state["initial_loss"],
                                                                         1e-3):
                state["diverged_at_step"] = at
                state["history"].append({"step": at, "phase": "diverged", "batch_loss": loss,
                                         "epoch": round(at / task.steps_per_epoch, 6)})
                pending.clear()
                return True
        pending.clear()
        return False

    for index, (inputs, targets) in enumerate(task.epoch_batches(gen)):
        if config.max_steps is not None and state["step"] >= config.max_steps:
            break
        if hasattr(optimizer, "set_progress"):  # a learning-rate schedule of the step
            total = config.max_steps or config.epochs * task.steps_per_epoch
            optimizer.set_progress(state["step"] / total)
        if steering is not None and steering.due(state["step"], index):
            steering.refresh(model, optimizer, state)
            model.train()
        loss, correct, grad_norm = step(inputs, targets)
        state["step"] += 1
        pending.append((state["step"], loss, correct, targets.numel()))
        if config.stop_grad_norm is not None and grad_norm <= config.stop_grad_norm:
            state["stopped_at_step"] = state["step"]
        zoom = state["step"] <= config.zoom_steps and state["step"] % config.zoom_every == 0
        if (len(pending) >= sync_every or zoom) and read_back():
            return
        if zoom:
            measure("zoom")
        after_step()
        if state.get("stopped_at_step") is not None:
            break
    read_back()


SYNC_EVERY_CUDA = 64  # steps between host synchronisations on a GPU


def _sync_every(config: RunConfig, device: torch.device) -> int:
    """Every step on a CPU (no cost there) and wherever something acts on each step's
    numbers or weights (stopping rules, per-step probes, snapshots); else in groups."""
    per_step = (device.type != "cuda" or config.stop_grad_norm is not None
                or bool(config.snapshot_steps)
                or any(hasattr(p, "after_step") for p in config.probes))
    return 1 if per_step else SYNC_EVERY_CUDA


class _Steering:
    """Refreshes a steering optimizer's directions: the top-``directions`` eigenvectors of
    the Hessian on a fixed subset, by Lanczos warm-started from the previous ones."""

    def __init__(self, task, config, device):
        self.config, self.options = config, optimizer_options(config)
        self.batches = task.hessian_batches(self.options["refresh_examples"],
                                            self.options["refresh_examples"], config.seed + 3)
        self.loss_fn = task.loss_fn

    def due(self, step: int, index_in_epoch: int) -> bool:
        every = self.options["refresh_every"]
        return step == 0 or (step % every == 0 if every else index_in_epoch == 0)

    def refresh(self, model, optimizer, state, final: bool = False) -> None:
        """Recompute the top eigenpairs and steer by them; with ``refresh_once`` the first
        directions are kept (SGD-const-top) and later refreshes only measure λ; the
        ``final`` one, after the last step, only measures."""
        start = time.perf_counter()
        previous = state["directions"]
        k = self.options["directions"]
        result = top_eigenpairs(model, self.loss_fn, self.batches, self.config,
                                max(k, self.options["tracked"]), self.options["refresh_tol"],
                                seed=self.config.seed + 17 + state["step"],
                                previous=state.get("last_vecs", previous))
        tracked = result.vecs.detach()
        vecs = tracked[:, :k]
        overlap = None
        if previous is not None:
            overlap = float((previous.to(vecs).T @ vecs).pow(2).sum()) / vecs.shape[1]
        applied = not final and (previous is None or not self.options["refresh_once"])
        if applied:
            optimizer.set_directions(vecs)
            state["directions"] = vecs.cpu()
        state["last_vecs"] = tracked.cpu()
        state["refreshes"].append({
            "step": state["step"], "eigenvalues": [float(v) for v in result.vals.cpu()],
            "lanczos_matvecs": int(result.num_matvecs), "overlap": overlap,
            # γ·η·λ_i along the nudged directions (< 2 for a stable step along them)
            "nudged_steps": [self.options.get("gamma", 1.0) * optimizer.param_groups[0]["lr"]
                             * float(v) for v in result.vals[:k].cpu()],
            "applied": applied, "seconds": round(time.perf_counter() - start, 3),
            **({"final": True} if final else {})})
