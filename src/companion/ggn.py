r"""The generalized Gauss-Newton part of the Hessian (Sagun et al. 2017, Eq. 5).

For a loss :math:`\ell(f(\theta; x), y)` of the network output :math:`f`,

.. math::
    \nabla^2 L = \underbrace{\frac1N \sum_n J_n^\top \nabla_f^2 \ell_n\, J_n}_{G}
               + \underbrace{\frac1N \sum_n \sum_c \partial_{f_c} \ell_n\, \nabla^2 f_{n,c}}_{R},

with :math:`J_n = \partial f(\theta; x_n)/\partial\theta`. :math:`G` is positive
semi-definite whenever ℓ is convex in f (cross-entropy, squared error) and has rank at most
N·(k − 1) for softmax cross-entropy over k classes, so "the negative eigenvalues can only
come from the second term" R = H − G.

:class:`GGNOperator` has the constructor and the products of
:class:`~companion.hessian.HessianOperator` (same batches, weights, weight decay, BatchNorm
and dropout handling); each product is a Jacobian-vector product (forward mode), the
output-space Hessian of the loss applied to it (forward over reverse), and a
vector-Jacobian product (reverse mode)::

    from companion.hessian import GGNOperator
    G = GGNOperator(model, loss_fn, batches)
    Gv = G @ v
"""

from __future__ import annotations

import torch
from torch.func import functional_call, grad, jvp, vjp

from .hessian import HessianOperator

__all__ = ["GGNOperator"]


class GGNOperator(HessianOperator):
    """``v ↦ G v``, the Gauss-Newton part of the Hessian of the mean loss over ``batches``
    (weight decay, if any, adds ``weight_decay · v`` as it does to the Hessian)."""

    def _hvp_batch(self, x, y, w, v: dict) -> dict:
        def outputs(params):
            return functional_call(self.model, {**params, **self._buffers}, (x,))

        def loss_of_outputs(out):
            return self.loss_fn(out, y) * w

        # one forward pass (one dropout mask): J v is the transpose of the pullback u ↦ Jᵀu
        out, pullback = vjp(outputs, self._params)
        _, transpose = vjp(lambda u: pullback(u)[0], torch.zeros_like(out))
        jv = transpose(v)[0]                                           # J v
        _, hjv = jvp(grad(loss_of_outputs), (out.detach(),), (jv,))    # ∇²_f ℓ · J v
        return pullback(hjv)[0]                                        # Jᵀ ∇²_f ℓ J v

    def __repr__(self) -> str:
        return "GGN" + super().__repr__()[len("Hessian"):]
