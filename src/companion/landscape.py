r"""The loss on the straight line between two parameter vectors, and what Xing et al. (2018)
read off it along training: valleys and their floors, heights above the floor, barriers.

:func:`interpolate_losses` (public API) evaluates

.. math:: L\big((1-\alpha)\theta_a + \alpha\theta_b\big)

for every α of a grid, the mean loss over fixed batches weighted by their sizes, with
BatchNorm in train mode (batch statistics: "what SGD experiences", the paper's footnote 5)
on a separate copy of the model whose BatchNorm keeps no running statistics, so the
training model's parameters, buffers and flags are never touched. The α points of a
segment are evaluated in one batched pass on a GPU: ``torch.func.vmap`` of
``functional_call`` over the stacked parameter vectors, which removes the per-call overhead
of a loop over α. On a CPU the loop is kept: there ``vmap`` turns each convolution into a
grouped one, 1.4–2.7× slower for the convnets (``make bench``, section 9, measures both).

The metrics work on the loss arrays alone: a row ``L[t] = (L_t^0, …, L_t^P)`` holds the
losses at α = k/P of segment t (θ_t → θ_{t+1}); the spec's definitions (§1):

* valley: min of the interior points < min of the two ends; its floor is that minimum;
* height: [L(θ_t) + L(θ_{t+1}) − 2 min_α L(θ_t^α)] / 2 (Table 2);
* barrier: max of the interior points > max of the two ends + τ (Table 1, Fig. 8).
"""

from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, replace_all_batch_norm_modules_, vmap

ALPHA_POINTS = 10       # α = k/10, k = 0 … 10 (the paper's "10 samples" per segment)
BARRIER_TOL = 1e-6      # τ of the claims, relative to L(θ_t): rules out float ties


class Interpolator:
    """Losses along straight lines in the parameter space of ``model`` on fixed ``batches``.

    The model is copied once (BatchNorm made to use batch statistics only); each call
    evaluates a stack of parameter vectors in one vmapped pass per batch."""

    def __init__(self, model: nn.Module, loss_fn, batches: Sequence[tuple], max_stack: int = 11,
                 batched: bool | None = None):
        self.model = copy.deepcopy(model)
        replace_all_batch_norm_modules_(self.model)
        self.model.train()
        self.names = [n for n, p in self.model.named_parameters() if p.requires_grad]
        self.shapes = [p.shape for n, p in self.model.named_parameters() if p.requires_grad]
        self.buffers = {n: b for n, b in self.model.named_buffers()}
        self.loss_fn, self.batches, self.max_stack = loss_fn, list(batches), max_stack
        self.count = sum(len(y) for _, y in self.batches)
        first = next(self.model.parameters())
        self.batched = first.is_cuda if batched is None else batched  # see the module's text

        def loss(params, x, y):
            return self.loss_fn(functional_call(self.model, (params, self.buffers), (x,)), y)
        self._vmapped = vmap(loss, in_dims=(0, None, None), randomness="different")
        self._single = loss

    def _unflatten(self, thetas: torch.Tensor) -> dict:
        out, start = {}, 0
        for name, shape in zip(self.names, self.shapes):
            size = shape.numel()
            out[name] = thetas[:, start:start + size].view(-1, *shape)
            start += size
        return out

    @torch.no_grad()
    def losses_at(self, thetas: torch.Tensor, batched: bool | None = None) -> torch.Tensor:
        """Mean loss (float64) at each row of ``thetas`` (n × dim): vmapped over the rows
        (``batched``), or row by row; None: the interpolator's choice for its device."""
        batched = self.batched if batched is None else batched
        total = torch.zeros(len(thetas), dtype=torch.float64)
        for start in range(0, len(thetas), self.max_stack):
            block = thetas[start:start + self.max_stack]
            params = self._unflatten(block)
            for x, y in self.batches:
                if batched:
                    values = self._vmapped(params, x, y)
                else:
                    values = torch.stack([self._single({k: v[i] for k, v in params.items()}, x, y)
                                          for i in range(len(block))])
                total[start:start + len(block)] += values.double().cpu() * len(y)
        return total / self.count

    def line(self, theta_a: torch.Tensor, theta_b: torch.Tensor, alphas,
             batched: bool | None = None) -> torch.Tensor:
        """Losses at (1 − α)θ_a + αθ_b for every α (float64, on the CPU)."""
        alphas = torch.as_tensor(alphas, dtype=theta_a.dtype, device=theta_a.device)
        thetas = torch.lerp(theta_a.unsqueeze(0), theta_b.unsqueeze(0), alphas.unsqueeze(1))
        return self.losses_at(thetas, batched)


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """The trainable parameters in ``named_parameters()`` order, as one detached vector."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters() if p.requires_grad])


def interpolate_losses(model: nn.Module, loss_fn, batches, theta_a: torch.Tensor,
                       theta_b: torch.Tensor, alphas) -> np.ndarray:
    """Mean loss over ``batches`` (weighted by their sizes) at (1 − α)θ_a + αθ_b for each α.

    ``theta_a``/``theta_b`` are flat over the trainable parameters in ``named_parameters()``
    order; BatchNorm uses the statistics of each batch; ``model`` is left unchanged.
    Returns a float64 array of len(alphas)."""
    return Interpolator(model, loss_fn, batches).line(theta_a, theta_b, alphas).numpy()


# ------------------------------------------------------------------ metrics of loss arrays
def valleys(L: np.ndarray) -> np.ndarray:
    """Segments whose interior minimum is below both ends (the paper's valley)."""
    L = np.atleast_2d(L)
    return L[:, 1:-1].min(1) < np.minimum(L[:, 0], L[:, -1])


def floors(L: np.ndarray) -> tuple:
    """(floor, position): min of the interior losses and its α, for every segment."""
    L = np.atleast_2d(L)
    k = L[:, 1:-1].argmin(1) + 1
    return L[np.arange(len(L)), k], k / (L.shape[1] - 1)


def heights(L: np.ndarray) -> np.ndarray:
    """[L(θ_t) + L(θ_{t+1}) − 2 min_α L(θ_t^α)] / 2 for every segment (Table 2)."""
    L = np.atleast_2d(L)
    return (L[:, 0] + L[:, -1] - 2 * L.min(1)) / 2


def barrier_heights(L: np.ndarray) -> np.ndarray:
    """max of the interior losses − max of the two ends (> 0: a barrier)."""
    L = np.atleast_2d(L)
    return L[:, 1:-1].max(1) - np.maximum(L[:, 0], L[:, -1])


def barriers(L: np.ndarray, tol: float = BARRIER_TOL) -> np.ndarray:
    """Segments crossing a barrier higher than ``tol``·L(θ_t) (0: the paper's literal rule)."""
    L = np.atleast_2d(L)
    return barrier_heights(L) > tol * np.abs(L[:, 0])


def floor_rises(L: np.ndarray) -> np.ndarray:
    """For consecutive valley segments (in the order given): did the floor go up?"""
    L = np.atleast_2d(L)
    f = floors(L)[0][valleys(L)]
    return np.diff(f) > 0
