r"""Dense Hessians (and Gauss-Newton parts) of small networks, exact to rounding.

Sagun et al. (2017, §2.1): "the exact full Hessian is computed via the Hessian-vector
products (Pearlmutter, 1994) up to the machine precision". :func:`dense_matrix` applies an
operator (:class:`~companion.hessian.HessianOperator` or
:class:`~companion.ggn.GGNOperator`) to the identity in blocks of ``block`` columns at once
(``torch.func.vmap`` over the products), so memory stays at the matrix plus one block of
intermediates: the 5,510-parameter blob net on 1,000 points needs a few hundred MB, where
``torch.func.hessian`` (all M tangents at once, :func:`functorch_hessian`) needs ~10 GB.
``block=0`` loops over single products instead (the same numbers, more Python overhead).

Build in float64: the bulk sits 1e-6 to 1e-8 below λ_max, where float32 rounding would
decide the signs. :func:`symmetrized` checks ‖H − Hᵀ‖/‖H‖ before averaging the two.
"""

from __future__ import annotations

import time

import torch
from torch.func import functional_call, vmap

__all__ = ["dense_matrix", "functorch_hessian", "symmetrized", "eigenvalues"]


def dense_matrix(op, block: int = 256) -> torch.Tensor:
    """The operator as a dense (dim × dim) matrix, column block by column block."""
    n = op.dim
    out = torch.empty(n, n, dtype=op.dtype, device=op.device)
    if not block:
        for i in range(n):
            e = torch.zeros(n, dtype=op.dtype, device=op.device)
            e[i] = 1.0
            out[:, i] = op @ e
        return out
    batched = vmap(op._product, in_dims=1, out_dims=1, randomness="same")
    for start in range(0, n, block):
        stop = min(n, start + block)
        eye = torch.zeros(n, stop - start, dtype=op.dtype, device=op.device)
        eye[torch.arange(start, stop), torch.arange(stop - start)] = 1.0
        with op._modes():
            out[:, start:stop] = batched(eye)
        op.num_matvecs += stop - start
    return out


def functorch_hessian(op) -> torch.Tensor:
    """The Hessian by ``torch.func.hessian`` of the operator's loss over flat parameters
    (a reference for small nets: it pushes all dim tangents at once)."""
    flat0 = op._flatten(op._params)

    def loss(flat):
        params = op._unflatten(flat)
        total = sum(op.loss_fn(functional_call(op.model, {**params, **op._buffers}, (x,)), y) * w
                    for x, y, w in op._batches)
        return total + 0.5 * op.weight_decay * flat.pow(2).sum()

    with op._modes():
        return torch.func.hessian(loss)(flat0)


def symmetrized(matrix: torch.Tensor, block: int = 2048) -> tuple:
    """(M made symmetric, ‖M − Mᵀ‖_F / ‖M‖_F): M ← (M + Mᵀ)/2 **in place**, by row blocks,
    so a 25 GB matrix needs no second copy."""
    n = matrix.shape[0]
    diff2 = norm2 = 0.0
    for s in range(0, n, block):
        rows = matrix[s:s + block]
        diff2 += float((rows - matrix[:, s:s + block].T).pow(2).sum())
        norm2 += float(rows.pow(2).sum())
    for s in range(0, n, block):
        mean = 0.5 * (matrix[s:s + block] + matrix[:, s:s + block].T)
        matrix[s:s + block] = mean
        matrix[:, s:s + block] = mean.T
    return matrix, (diff2 ** 0.5 / norm2 ** 0.5 if norm2 else 0.0)


def eigenvalues(matrix: torch.Tensor) -> tuple:
    """(all eigenvalues of a symmetric matrix, descending, float64 on the CPU; seconds),
    computed on the matrix's own device (cuSOLVER on a GPU)."""
    start = time.perf_counter()
    vals = torch.linalg.eigvalsh(matrix.to(torch.float64)).flip(0).cpu()
    return vals, time.perf_counter() - start
