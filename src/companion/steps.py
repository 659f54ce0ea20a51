"""One training step, eager or replayed from a CUDA graph, and the precision it runs in.

:func:`eager_step` is the reference: forward, backward (full batches accumulated in chunks of
``chunk`` examples) and the optimizer's step. It returns the batch's loss and number of correct
predictions as *device* tensors, so the loop reads them back in groups rather than
synchronising the host with the GPU after every step.

On a GPU, two fast paths that do not change the experiment (issue: "the paper profile on one
GPU"), both on by default and recorded in every result's provenance:

* **TF32 for training** (``COMPANION_TRAIN_TF32=0`` turns it off): convolutions and matrix
  products of the training step use TF32 tensor cores and cuDNN's autotuner. Everything
  else — Hessian-vector products, Lanczos, evaluation — keeps true float32
  (:func:`companion.runtime.resolve_device` switches TF32 off globally; the Hessian operator
  also forces deterministic cuDNN).
* **CUDA graphs** (``COMPANION_CUDA_GRAPHS=0`` turns them off): :class:`GraphedStep` captures
  forward, backward and a plain ``torch.optim.SGD`` step once per batch shape and learning
  rate and replays them, one launch instead of hundreds per step. The gradients are
  ordinary tensors that every graph zeroes and fills. The warm-up iterations
  that capture needs run on a copy of the weights and optimizer state, which are then put
  back, so the run's first step is still its first step.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch

CUDA_GRAPHS = os.environ.get("COMPANION_CUDA_GRAPHS", "1") != "0"
TRAIN_TF32 = os.environ.get("COMPANION_TRAIN_TF32", "1") != "0"


def fast_paths(device: torch.device) -> dict:
    """What the training steps on ``device`` use (for provenance)."""
    cuda = device.type == "cuda"
    return {"train_tf32": cuda and TRAIN_TF32, "cuda_graphs": cuda and CUDA_GRAPHS}


@contextmanager
def training_precision(device: torch.device):
    """TF32 and cuDNN autotuning for the training step on a GPU (when enabled); else nothing."""
    if device.type != "cuda" or not TRAIN_TF32:
        yield
        return
    matmul = torch.backends.cuda.matmul
    before = matmul.allow_tf32
    matmul.allow_tf32 = True
    try:
        with torch.backends.cudnn.flags(enabled=True, benchmark=True, deterministic=False,
                                        allow_tf32=True):
            yield
    finally:
        matmul.allow_tf32 = before


def eager_step(model, optimizer, loss_fn, inputs, targets, chunk: int, want_grad_norm: bool):
    """(loss, correct, grad norm) of one step, the first two as device tensors."""
    optimizer.zero_grad(set_to_none=False)
    total = torch.zeros((), device=inputs.device)
    correct = torch.zeros((), device=inputs.device)
    for start in range(0, len(inputs), chunk):
        xb, yb = inputs[start:start + chunk], targets[start:start + chunk]
        outputs = model(xb)
        loss = loss_fn(outputs, yb) * (len(xb) / len(inputs))
        loss.backward()
        total += loss.detach()
        correct += (outputs.detach().argmax(-1) == yb).sum()
    grad_norm = float("nan")
    if want_grad_norm:
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        grad_norm = float(torch.sqrt(sum(g.double().pow(2).sum() for g in grads)))
    optimizer.step()
    return total, correct, grad_norm


def graphable(model, optimizer, device: torch.device, full_batch: bool,
              want_grad_norm: bool) -> bool:
    """Whether :class:`GraphedStep` may replace :func:`eager_step` for this run."""
    return (device.type == "cuda" and CUDA_GRAPHS and not full_batch and not want_grad_norm
            and type(optimizer) is torch.optim.SGD
            and not any(isinstance(m, torch.nn.RNNBase) for m in model.modules()))


class GraphedStep:
    """Forward, backward and SGD step replayed from a CUDA graph, one per (batch shape, η)."""

    def __init__(self, model, optimizer, loss_fn):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.graphs: dict = {}
        self.captures = 0

    def __call__(self, inputs, targets):
        key = (tuple(inputs.shape), tuple(targets.shape),
               tuple(g["lr"] for g in self.optimizer.param_groups))
        if key not in self.graphs:
            self.graphs[key] = self._capture(inputs, targets)
        graph, x, y, loss, correct = self.graphs[key]
        x.copy_(inputs)
        y.copy_(targets)
        graph.replay()
        return loss.clone(), correct.clone(), float("nan")

    def _step_body(self, x, y):
        self.optimizer.zero_grad(set_to_none=False)  # the grads live outside the graphs
        outputs = self.model(x)
        loss = self.loss_fn(outputs, y)
        loss.backward()
        self.optimizer.step()
        return loss.detach(), (outputs.detach().argmax(-1) == y).sum().float()

    def _capture(self, inputs, targets) -> tuple:
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        for p in params:  # SGD's momentum buffer: zeros act as its lazy first-step init
            state = self.optimizer.state[p]
            if self.optimizer.defaults["momentum"] and state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(p)
        saved = self._save()
        x, y = inputs.clone(), targets.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up: cuDNN autotuning, autograd's buffers
            for _ in range(3):
                self._step_body(x, y)
        torch.cuda.current_stream().wait_stream(side)
        self._restore(saved)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loss, correct = self._step_body(x, y)
        self.captures += 1
        return graph, x, y, loss, correct

    def _save(self) -> dict:
        tensors = {f"m.{k}": v.detach().clone() for k, v in self.model.state_dict().items()}
        for i, (p, state) in enumerate(self.optimizer.state.items()):
            for name, value in state.items():
                if torch.is_tensor(value):
                    tensors[f"o.{i}.{name}"] = (p, name, value.detach().clone())
        return {"tensors": tensors, "rng": torch.cuda.get_rng_state()}

    def _restore(self, saved: dict) -> None:
        with torch.no_grad():
            current = self.model.state_dict()
            for key, value in saved["tensors"].items():
                if key.startswith("m."):
                    current[key[2:]].copy_(value)
                else:
                    p, name, value = value
                    self.optimizer.state[p][name].copy_(value)
        torch.cuda.set_rng_state(saved["rng"])


class Stepper:
    """The training step of a run: a CUDA graph where :func:`graphable` allows it (one per
    batch shape, so a short last batch gets its own), else :func:`eager_step`. ``chunk``:
    full-batch steps accumulate gradients over chunks of that many examples."""

    def __init__(self, model, optimizer, loss_fn, device: torch.device, chunk=None,
                 want_grad_norm: bool = False):
        self.device, self.chunk, self.want_grad_norm = device, chunk, want_grad_norm
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.graphed = (GraphedStep(model, optimizer, loss_fn)
                        if graphable(model, optimizer, device, chunk is not None, want_grad_norm)
                        else None)

    def __call__(self, inputs, targets) -> tuple:
        with training_precision(self.device):
            if self.graphed is not None:
                return self.graphed(inputs, targets)
            return eager_step(self.model, self.optimizer, self.loss_fn, inputs, targets,
                              self.chunk or len(inputs), self.want_grad_norm)
