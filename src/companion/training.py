"""Training with Hessian tracking: SGD (optionally with momentum) or full-batch GD,
recording the top-k Hessian eigenvalues, loss and accuracy along the way.

One call, :func:`train`, runs (or resumes, or loads) one :class:`RunConfig`:

* the data live on the device as tensors; augmentation is a tensor op per batch;
* every ``track_every`` epochs (and every ``zoom_every`` steps during the first
  ``zoom_steps`` steps) the top-``top_k`` eigenvalues of the Hessian of the mean
  training loss on a fixed subset (``n_hessian`` examples, augmented once and held
  fixed, dropout masks fixed) are computed with Lanczos — as in Jastrzębski et al.
  2019, §2;
* a checkpoint is written atomically after every epoch, so an interrupted run
  resumes where it stopped and ends with the same numbers;
* a non-finite or exploding loss is recorded as divergence and ends the run
  cleanly instead of crashing;
* the final history is stored in the results cache with its provenance.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch
from torch import nn

from . import data as data_lib
from .config import RunConfig, validate
from .hessian import HessianOperator, lanczos
from .models import build_model, cross_entropy
from .results import ResultsCache, atomic_torch_save, provenance

DIVERGENCE_FACTOR = 1e3  # a batch loss this many times the initial loss counts as divergence


@dataclass
class Task:
    """What training needs from a data set, independent of the model family."""

    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    epoch_batches: Callable[[torch.Generator], Iterator[tuple]]
    hessian_batches: list
    evaluate: Callable[[nn.Module], dict]
    steps_per_epoch: int
    build_options: dict
    data_source: str


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when available. On CUDA, TF32 is switched off: Hessian-vector products
    and Lanczos need true float32 (TF32 convolutions err by ~1e-3 relative)."""
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but no CUDA device is available; "
                           "use device='auto' or 'cpu'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return device


# ----------------------------------------------------------------------------- tasks
def _chunks(x: torch.Tensor, y: torch.Tensor, size: int) -> list:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


@torch.no_grad()
def _evaluate_chunks(model: nn.Module, chunks: list) -> dict:
    """Mean loss and accuracy (per example, per token for sequences) in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for inputs, targets in chunks:
        outputs = model(inputs)
        n = targets.numel()
        total_loss += cross_entropy(outputs, targets).item() * n
        correct += (outputs.argmax(-1) == targets).sum().item()
        count += n
    model.train(was_training)
    return {"loss": total_loss / count, "acc": correct / count}


def image_task(config: RunConfig, device: torch.device) -> Task:
    """CIFAR-10 on the device: a training subset, a fixed Hessian subset, eval sets."""
    train, test = data_lib.load_cifar10("train"), data_lib.load_cifar10("test")
    n_train = min(config.n_train or len(train.y), len(train.y))
    x = data_lib.normalize_images(train.x[:n_train], device)
    y = train.y[:n_train].to(device)
    n_test = min(config.n_test or len(test.y), len(test.y))
    x_test = data_lib.normalize_images(test.x[:n_test], device)
    y_test = test.y[:n_test].to(device)
    augment = data_lib.augment_crop_flip if config.augment else None

    # The Hessian subset: fixed examples, augmented once (paper: same regularization as training).
    idx = data_lib.fixed_subset(n_train, min(config.n_hessian, n_train), seed=config.seed).to(device)
    x_h, y_h = x[idx], y[idx]
    if augment is not None:
        x_h = augment(x_h, _generator(device, config.seed + 7919))
    hessian_batches = _chunks(x_h, y_h, config.hessian_batch_size)
    eval_train = _chunks(x[:config.n_eval], y[:config.n_eval], 1000)
    eval_test = _chunks(x_test, y_test, 1000)

    if config.optimizer == "gd":
        def epoch_batches(gen):
            inputs = augment(x, gen) if augment is not None else x
            yield inputs, y
        steps = 1
    else:
        def epoch_batches(gen):
            return data_lib.iterate_minibatches(x, y, config.batch_size, gen, augment=augment)
        steps = math.ceil(n_train / config.batch_size)

    def evaluate(model):
        tr, te = _evaluate_chunks(model, eval_train), _evaluate_chunks(model, eval_test)
        return {"train_loss": tr["loss"], "train_acc": tr["acc"],
                "test_loss": te["loss"], "test_acc": te["acc"]}

    options = {"num_classes": 10, "width": config.width}
    if config.model == "resnet32":
        options["batch_norm"] = config.batch_norm
    return Task(cross_entropy, epoch_batches, hessian_batches, evaluate, steps, options,
                f"{train.source}, {n_train} train / {n_test} test images")


def language_task(config: RunConfig, device: torch.device) -> Task:
    """Word-level PTB. Offline only valid/test exist: train on valid, evaluate on test."""
    train_ids, vocab = data_lib.load_ptb("valid")
    test_ids, _ = data_lib.load_ptb("test")
    train_ids = train_ids[:config.n_train] if config.n_train else train_ids
    test_ids = test_ids[:config.n_test] if config.n_test else test_ids
    stream = data_lib.lm_batchify(train_ids, config.batch_size).to(device)
    windows = list(data_lib.lm_windows(stream, config.bptt))

    def sequences(ids, n_tokens):
        usable = (min(n_tokens, len(ids) - 1) // config.bptt) * config.bptt
        inputs = ids[:usable].view(-1, config.bptt).to(device)
        targets = ids[1:usable + 1].view(-1, config.bptt).to(device)
        return inputs, targets

    x_h, y_h = sequences(train_ids, config.n_hessian)
    hessian_batches = _chunks(x_h, y_h, config.hessian_batch_size)
    eval_train = _chunks(*sequences(train_ids, config.n_eval), 200)
    eval_test = _chunks(*sequences(test_ids, len(test_ids)), 200)

    def epoch_batches(gen):
        if config.optimizer == "gd":
            yield sequences(train_ids, len(train_ids))
            return
        yield from windows  # truncated BPTT windows in order (Zaremba et al. 2014)

    def evaluate(model):
        tr, te = _evaluate_chunks(model, eval_train), _evaluate_chunks(model, eval_test)
        return {"train_loss": tr["loss"], "train_acc": tr["acc"],
                "test_loss": te["loss"], "test_acc": te["acc"]}

    steps = 1 if config.optimizer == "gd" else len(windows)
    return Task(cross_entropy, epoch_batches, hessian_batches, evaluate, steps,
                {"vocab_size": len(vocab), "embed_dim": max(1, round(200 * config.width)),
                 "hidden_dim": max(1, round(200 * config.width))},
                f"PTB word-level: trained on the valid split ({len(train_ids)} tokens), "
                f"evaluated on test ({len(test_ids)} tokens); no training split offline")


def build_task(config: RunConfig, device: torch.device) -> Task:
    return language_task(config, device) if config.dataset == "ptb" else image_task(config, device)


def _generator(device: torch.device, seed: int) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


# ----------------------------------------------------------------------------- tracking
def measure(model: nn.Module, task: Task, config: RunConfig, step: int, epoch: float,
            phase: str) -> dict:
    """One tracking record: top-k Hessian eigenvalues plus loss and accuracy."""
    start = time.perf_counter()
    op = HessianOperator(model, task.loss_fn, task.hessian_batches,
                         weight_decay=config.weight_decay,
                         bn_mode="train" if config.batch_norm else None, seed=config.seed)
    k = min(config.top_k, op.dim)
    result = lanczos(op, k=k, which="LA", tol=config.lanczos_tol, seed=config.seed + step)
    record = {
        "step": step,
        "epoch": round(epoch, 6),
        "phase": phase,
        "eigenvalues": [float(v) for v in result[0].cpu()],
        "residuals": [float(r) for r in result.residuals.cpu()],
        "lanczos_matvecs": int(result.num_matvecs),
        "hessian_seconds": round(time.perf_counter() - start, 3),
    }
    record.update(task.evaluate(model))
    return record


# ----------------------------------------------------------------------------- training
def train(config: RunConfig, cache: Optional[ResultsCache] = None, progress: bool = True,
          stop_after_epochs: Optional[int] = None, deadline: Optional[float] = None) -> dict:
    """Run ``config`` (or load its cached result, or resume its checkpoint).

    ``stop_after_epochs`` stops after that many epochs *of this call*, and ``deadline``
    (a ``time.monotonic()`` value) after the first epoch that ends past it, without storing
    a final result, as an interruption would: the checkpoint lets a later call resume.
    """
    validate(config)
    cache = cache or ResultsCache()
    cached = cache.load(config)
    if cached is not None:
        return cached

    device = resolve_device(config.device)
    task = build_task(config, device)
    torch.manual_seed(config.seed)
    model = build_model(config.model, **task.build_options).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    gen = _generator(device, config.seed + 1)
    state = {"epoch": 0, "step": 0, "history": [], "diverged_at_step": None,
             "initial_loss": None, "elapsed_s": 0.0}

    checkpoint = cache.checkpoint_path(config)
    if checkpoint.exists():
        state = _restore(checkpoint, model, optimizer, gen, device)
    elif not state["history"]:
        state["history"].append(measure(model, task, config, 0, 0.0, "init"))
        state["initial_loss"] = state["history"][0]["train_loss"]

    bar = _progress(config, progress, state["epoch"])
    epochs_this_call = 0
    while state["epoch"] < config.epochs and state["diverged_at_step"] is None:
        start = time.perf_counter()
        _train_one_epoch(model, optimizer, task, config, gen, state)
        state["epoch"] += 1
        if state["diverged_at_step"] is None and (state["epoch"] % config.track_every == 0
                                                  or state["epoch"] == config.epochs):
            state["history"].append(measure(model, task, config, state["step"],
                                            float(state["epoch"]), "epoch"))
        state["elapsed_s"] += time.perf_counter() - start
        _save_checkpoint(checkpoint, model, optimizer, gen, state)
        _update_progress(bar, state)
        epochs_this_call += 1
        out_of_time = deadline is not None and time.monotonic() > deadline
        if out_of_time or (stop_after_epochs is not None and epochs_this_call >= stop_after_epochs):
            if bar is not None:
                bar.close()
            return {"interrupted": True, "history": state["history"]}
    if bar is not None:
        bar.close()

    result = {
        "history": state["history"],
        "diverged_at_step": state["diverged_at_step"],
        "steps_per_epoch": task.steps_per_epoch,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "data": task.data_source,
        "provenance": provenance(config, device, state["elapsed_s"]),
    }
    cache.save(config, result)
    checkpoint.unlink(missing_ok=True)
    return result


def _train_one_epoch(model, optimizer, task, config, gen, state) -> None:
    model.train()
    steps_per_epoch = task.steps_per_epoch
    for inputs, targets in task.epoch_batches(gen):
        loss = _step(model, optimizer, task.loss_fn, inputs, targets, config)
        state["step"] += 1
        if state["initial_loss"] is None:
            state["initial_loss"] = loss
        if not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * max(state["initial_loss"], 1e-3):
            state["diverged_at_step"] = state["step"]
            state["history"].append({"step": state["step"], "phase": "diverged",
                                     "epoch": round(state["step"] / steps_per_epoch, 6),
                                     "batch_loss": loss})
            return
        if state["step"] <= config.zoom_steps and state["step"] % config.zoom_every == 0:
            state["history"].append(measure(model, task, config, state["step"],
                                            state["step"] / steps_per_epoch, "zoom"))
            model.train()


def _step(model, optimizer, loss_fn, inputs, targets, config) -> float:
    """One (mini- or full-) batch step; full batches are accumulated in chunks of 512."""
    optimizer.zero_grad(set_to_none=True)
    chunk = 512 if config.optimizer == "gd" else len(inputs)
    total = 0.0
    for start in range(0, len(inputs), chunk):
        xb, yb = inputs[start:start + chunk], targets[start:start + chunk]
        loss = loss_fn(model(xb), yb) * (len(xb) / len(inputs))
        loss.backward()
        total += loss.item()
    optimizer.step()
    return total


def _save_checkpoint(path, model, optimizer, gen, state) -> None:
    atomic_torch_save(path, {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "generator": gen.get_state(), "cpu_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "state": state,
    })


def _restore(path, model, optimizer, gen, device) -> dict:
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])  # moves momentum buffers to the params' device
    gen.set_state(saved["generator"])
    torch.set_rng_state(saved["cpu_rng"])
    if saved["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    return saved["state"]


def _progress(config: RunConfig, enabled: bool, initial: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs, initial=initial, unit="epoch", leave=False,
                desc=f"{config.model} η={config.lr} S={config.batch_size}")


def _update_progress(bar, state) -> None:
    if bar is None:
        return
    last = next((r for r in reversed(state["history"]) if "eigenvalues" in r), None)
    if last is not None:
        bar.set_postfix(lam1=f"{last['eigenvalues'][0]:.3g}", loss=f"{last['train_loss']:.3g}")
    bar.update(1)
