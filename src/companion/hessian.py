r"""The Hessian of the mean training loss as a matrix-free linear operator.

Jastrzębski et al. (2019, §2) track the top eigenvalues of the Hessian of the training
loss along SGD, estimated with Lanczos (Lanczos, 1950; Dauphin et al., 2014) on a
fixed ~5% subset of the training set.  This module provides the operator
:math:`v \mapsto Hv` for

.. math::
    L(\theta) = \sum_b \frac{n_b}{N}\, \ell_b(\theta) + \frac{\lambda}{2}\|\theta\|^2,
    \qquad H = \nabla^2 L(\theta) = \sum_b \frac{n_b}{N} \nabla^2 \ell_b(\theta) + \lambda I,

where :math:`\ell_b` is the *mean* loss ``loss_fn(model(x_b), y_b)`` of batch ``b``
of size :math:`n_b`, :math:`N = \sum_b n_b`, and :math:`\lambda` is the weight decay
in the ``torch.optim.SGD`` convention (gradient :math:`+= \lambda\theta`).  Only
parameters with ``requires_grad=True`` count, flattened in ``named_parameters()`` order.

Each product costs one Hessian-vector product per batch (Pearlmutter's trick) with
:mod:`torch.func`: forward-over-reverse ``jvp(grad(f))`` by default, falling back
to reverse-over-reverse ``vjp(grad(f))`` if forward-mode AD is not implemented for
some layer (e.g. nn.LSTM with cuDNN disabled on CUDA).  Set ``op.hvp_mode =
"double-backward"`` for plain ``torch.autograd`` double backward: same numbers, less
Python overhead per batch (faster with many small batches on a GPU).

Products are deterministic: the RNG is forked and re-seeded with ``seed +
batch_index`` before each batch, so dropout masks are identical across products
(the same function is differentiated every time), and on CUDA cuDNN runs in
deterministic mode (disabled for models with RNNs, whose cuDNN kernels are not
twice differentiable); repeated products are bit-identical.  BatchNorm must be
chosen explicitly: ``bn_mode="train"`` (batch statistics, as SGD sees them; running
statistics are neither used nor updated) or ``"eval"`` (running statistics).
Products never change the model's parameters, buffers or train/eval flags.

The operator is evaluated at the parameter (and buffer) values at construction time.

Usage::

    from companion.hessian import HessianOperator, lanczos
    op = HessianOperator(model, loss_fn, batches)
    vals, vecs = lanczos(op, k=5, which="LA")
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vjp

from companion.lanczos import LanczosResult, lanczos, power_iteration

__all__ = ["HessianOperator", "lanczos", "power_iteration", "LanczosResult"]

_BN_MODES = (None, "train", "eval")
FORWARD_OVER_REVERSE = "forward-over-reverse"  # torch.func jvp(grad(f)), the default
REVERSE_OVER_REVERSE = "reverse-over-reverse"  # torch.func vjp(grad(f)), the fallback
DOUBLE_BACKWARD = "double-backward"  # plain torch.autograd, opt-in (less Python overhead)
HVP_MODES = (FORWARD_OVER_REVERSE, REVERSE_OVER_REVERSE, DOUBLE_BACKWARD)


def _check_batches(batches) -> list:
    batches = list(batches)
    if not batches:
        raise ValueError("batches is empty: pass a non-empty list of (inputs, targets)")
    for i, item in enumerate(batches):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"batch {i} must be a pair (inputs, targets), got {type(item)}")
        x, y = item
        if not (torch.is_tensor(x) and torch.is_tensor(y)):
            raise ValueError(f"batch {i}: inputs and targets must be tensors")
        if x.ndim == 0 or x.shape[0] < 1:
            raise ValueError(f"batch {i} has non-positive size (inputs shape {tuple(x.shape)})")
    return batches


def _to(t: torch.Tensor, dtype, device) -> torch.Tensor:
    return t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)


class HessianOperator:
    """Hessian of the (weighted) mean loss over fixed ``batches``; see module docstring.

    Args:
        model: the network; its parameters with ``requires_grad`` are the variables.
        loss_fn: ``loss_fn(outputs, targets)`` returning the batch *mean* loss.
        batches: list of ``(inputs, targets)``; batch ``b`` gets weight ``n_b / N``.
        weight_decay: adds ``weight_decay * I`` (``(wd/2)||theta||^2`` to the loss).
        bn_mode: required if the model has BatchNorm: ``"train"`` or ``"eval"``.
        train_mode: run the model (dropout etc.) in train mode.
        seed: dropout masks of batch ``b`` are drawn from seed ``seed + b``.
    """

    def __init__(self, model: nn.Module, loss_fn, batches, *, weight_decay: float = 0.0,
                 bn_mode: str | None = None, train_mode: bool = True, seed: int = 0):
        batches = _check_batches(batches)
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if bn_mode not in _BN_MODES:
            raise ValueError(f"bn_mode must be one of {_BN_MODES}, got {bn_mode!r}")
        self._bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if self._bns and bn_mode is None:
            raise ValueError(
                "the model contains BatchNorm: pass bn_mode='train' (batch statistics, as "
                "SGD sees them) or bn_mode='eval' (running statistics)")
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError("the model has no parameters with requires_grad=True")

        self.model, self.loss_fn = model, loss_fn
        self.weight_decay, self.bn_mode = float(weight_decay), bn_mode
        self.train_mode, self.seed = bool(train_mode), int(seed)
        self.dtype, self.device = named[0][1].dtype, named[0][1].device
        self._names = [n for n, _ in named]
        self._shapes = [p.shape for _, p in named]
        self._numels = [p.numel() for _, p in named]
        self._params = {n: p.detach().clone() for n, p in named}
        self._buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
        self.dim = int(sum(self._numels))
        self.shape = (self.dim, self.dim)
        sizes = [int(x.shape[0]) for x, _ in batches]
        total = float(sum(sizes))
        self._batches = [(_to(x, self.dtype, self.device), _to(y, self.dtype, self.device),
                          n_b / total) for (x, y), n_b in zip(batches, sizes)]
        self.num_data = int(total)
        self._has_rnn = any(isinstance(m, nn.RNNBase) for m in model.modules())
        self._grad_fn = grad(self._batch_loss)
        # RNN kernels lack forward-mode AD (cuDNN-less CUDA LSTM; CPU float32 mkldnn LSTM):
        # start in reverse-over-reverse instead of failing once per operator.
        self.hvp_mode = REVERSE_OVER_REVERSE if self._has_rnn else FORWARD_OVER_REVERSE
        self._mode_confirmed = False
        self.num_matvecs = 0

    # ------------------------------------------------------------------ helpers
    def _batch_loss(self, params: dict, x, y, weight: float) -> torch.Tensor:
        out = functional_call(self.model, {**params, **self._buffers}, (x,))
        return self.loss_fn(out, y) * weight

    @contextmanager
    def _modes(self):
        """Set train/eval flags (BN per ``bn_mode``), restore them afterwards."""
        flags = [(m, m.training) for m in self.model.modules()]
        tracking = [(m, m.track_running_stats) for m in self._bns]
        cuda = self.device.type == "cuda"
        try:
            self.model.train(self.train_mode)
            for m in self._bns:
                m.train(self.bn_mode == "train")
                if self.bn_mode == "train":
                    m.track_running_stats = False  # batch stats, no running-stat update
            with self._cudnn() if cuda else nullcontext():
                yield
        finally:
            for m, t in flags:
                m.training = t
            for m, t in tracking:
                m.track_running_stats = t

    def _cudnn(self):
        """Deterministic cuDNN (bit-identical products); off for RNNs, whose cuDNN
        kernels are not twice differentiable."""
        c = torch.backends.cudnn
        return c.flags(enabled=c.enabled and not self._has_rnn, benchmark=False,
                       benchmark_limit=c.benchmark_limit, deterministic=True,
                       allow_tf32=c.allow_tf32)

    @contextmanager
    def _rng(self, b: int):
        """Fork the RNG and seed it with ``seed + b`` (fixed dropout masks)."""
        cuda = self.device.type == "cuda"
        with torch.random.fork_rng(devices=[self.device] if cuda else []):
            torch.default_generator.manual_seed(self.seed + b)
            if cuda:
                with torch.cuda.device(self.device):
                    torch.cuda.manual_seed(self.seed + b)
            yield

    def _unflatten(self, v: torch.Tensor) -> dict:
        return {n: t.view(s) for n, t, s in
                zip(self._names, v.split(self._numels), self._shapes)}

    def _flatten(self, d: dict) -> torch.Tensor:
        return torch.cat([d[n].reshape(-1) for n in self._names])

    def _double_backward(self, x, y, w, v: dict) -> dict:
        ps = {n: p.detach().requires_grad_(True) for n, p in self._params.items()}
        with torch.enable_grad():
            gs = torch.autograd.grad(self._batch_loss(ps, x, y, w), list(ps.values()),
                                     create_graph=True, allow_unused=True, materialize_grads=True)
            live = [i for i, g in enumerate(gs) if g.requires_grad]
            hv = torch.autograd.grad([gs[i] for i in live], list(ps.values()),
                                     [v[self._names[i]] for i in live], allow_unused=True,
                                     materialize_grads=True) if live else None
        return {n: (hv[i].detach() if hv else torch.zeros_like(p))
                for i, (n, p) in enumerate(ps.items())}

    def _hvp_batch(self, x, y, w, v: dict) -> dict:
        if self.hvp_mode not in HVP_MODES:
            raise ValueError(f"hvp_mode must be one of {HVP_MODES}, got {self.hvp_mode!r}")
        if self.hvp_mode == DOUBLE_BACKWARD:
            return self._double_backward(x, y, w, v)
        if self.hvp_mode == FORWARD_OVER_REVERSE:
            if y.is_floating_point():
                # Floating targets get an explicit (materialized) zero tangent: with
                # the implicit ZeroTensor one, e.g. mse_loss fails under jvp(grad).
                def gy(p, yy):
                    return self._grad_fn(p, x, yy, w)
                return jvp(gy, (self._params, y), (v, torch.zeros_like(y)))[1]
            return jvp(lambda p: self._grad_fn(p, x, y, w), (self._params,), (v,))[1]
        return vjp(lambda p: self._grad_fn(p, x, y, w), self._params)[1](v)[0]

    def _product(self, v: torch.Tensor) -> torch.Tensor:
        vd = self._unflatten(v)
        acc = None
        with self._modes():
            for b, (x, y, w) in enumerate(self._batches):
                with self._rng(b):
                    hv = self._hvp_batch(x, y, w, vd)
                acc = hv if acc is None else {n: acc[n] + hv[n] for n in self._names}
        out = self._flatten(acc)
        return out + self.weight_decay * v if self.weight_decay else out

    def _matvec1(self, v: torch.Tensor) -> torch.Tensor:
        try:
            out = self._product(v)
        except (NotImplementedError, RuntimeError) as err:
            if self._mode_confirmed or self.hvp_mode != FORWARD_OVER_REVERSE:
                raise
            warnings.warn(f"forward-mode AD failed ({err}); using reverse-over-reverse HVPs")
            self.hvp_mode = REVERSE_OVER_REVERSE
            out = self._product(v)
        self._mode_confirmed = True
        self.num_matvecs += 1
        return out

    # ------------------------------------------------------------------ public API
    def matvec(self, v) -> torch.Tensor:
        """``H @ v`` for ``v`` of shape ``(dim,)`` or ``(dim, m)`` (columns one by one)."""
        v = torch.as_tensor(v).to(dtype=self.dtype, device=self.device)
        if v.ndim == 2 and v.shape[0] == self.dim:
            return torch.stack([self._matvec1(c) for c in v.unbind(1)], dim=1)
        if v.shape != (self.dim,):
            raise ValueError(f"expected shape ({self.dim},) or ({self.dim}, m), "
                             f"got {tuple(v.shape)}")
        return self._matvec1(v)

    __matmul__ = matvec

    def _decay_loss(self) -> float:
        sq = sum(float((p.double() ** 2).sum()) for p in self._params.values())
        return 0.5 * self.weight_decay * sq

    def loss(self) -> float:
        """The mean loss ``L(theta)`` (weight decay term included) as a float."""
        total = 0.0
        with torch.no_grad(), self._modes():
            for b, (x, y, w) in enumerate(self._batches):
                with self._rng(b):
                    total += float(self._batch_loss(self._params, x, y, w))
        return total + self._decay_loss()

    def loss_at(self, delta=None, dtype=torch.float64) -> float:
        """``L(theta + delta)`` (weight decay included) computed in ``dtype`` (float64 by
        default: loss differences along a direction are resolved below float32's 1e-7)."""
        params = {n: p.to(dtype) for n, p in self._params.items()}
        if delta is not None:
            delta = self._unflatten(torch.as_tensor(delta).to(self.device, dtype).reshape(-1))
            params = {n: p + delta[n] for n, p in params.items()}
        buffers = {n: b.to(dtype) if b.is_floating_point() else b for n, b in self._buffers.items()}
        total = 0.0
        with torch.no_grad(), self._modes():
            for b, (x, y, w) in enumerate(self._batches):
                with self._rng(b):
                    out = functional_call(self.model, {**params, **buffers}, (_to(x, dtype, x.device),))
                    total += float(self.loss_fn(out, y)) * w
        sq = sum(float((p ** 2).sum()) for p in params.values())
        return total + 0.5 * self.weight_decay * sq

    def gradient(self) -> torch.Tensor:
        """The flat gradient ``grad L(theta)`` (weight decay term included)."""
        acc = None
        with self._modes():
            for b, (x, y, w) in enumerate(self._batches):
                with self._rng(b):
                    g = self._grad_fn(self._params, x, y, w)
                acc = g if acc is None else {n: acc[n] + g[n] for n in self._names}
        out = self._flatten(acc)
        if self.weight_decay:
            out = out + self.weight_decay * self._flatten(self._params)
        return out

    def to_scipy(self):
        """A ``scipy.sparse.linalg.LinearOperator`` acting on float64 numpy vectors."""
        from scipy.sparse.linalg import LinearOperator

        def mv(x):
            x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))
            return self.matvec(x).detach().to("cpu", torch.float64).numpy()

        def mm(X):
            return np.stack([mv(c) for c in np.asarray(X).T], axis=1)

        return LinearOperator(self.shape, matvec=mv, rmatvec=mv, matmat=mm, dtype=np.float64)

    def __repr__(self) -> str:
        return (f"HessianOperator(dim={self.dim}, batches={len(self._batches)}, "
                f"N={self.num_data}, weight_decay={self.weight_decay}, "
                f"bn_mode={self.bn_mode!r}, dtype={self.dtype}, device={self.device})")


def __getattr__(name: str):
    """``from companion.hessian import GGNOperator`` (defined in :mod:`companion.ggn`)."""
    if name == "GGNOperator":
        from companion.ggn import GGNOperator

        return GGNOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
