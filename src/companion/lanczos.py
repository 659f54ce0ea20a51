r"""Extreme eigenpairs of a symmetric linear operator: Lanczos and power iteration.

This module knows nothing about neural networks.  An *operator* is anything with
``.shape == (n, n)`` that maps a 1-D tensor ``v`` to ``op @ v`` (a dense symmetric
:class:`torch.Tensor`, or :class:`companion.hessian.HessianOperator`).

Lanczos (Lanczos, 1950)
-----------------------
Starting from a unit vector :math:`q_1`, the Lanczos recurrence

.. math::  \beta_j q_{j+1} = A q_j - \alpha_j q_j - \beta_{j-1} q_{j-1},
           \qquad \alpha_j = q_j^\top A q_j,

builds an orthonormal basis :math:`Q_m = [q_1,\dots,q_m]` of the Krylov subspace
:math:`\mathcal K_m(A, q_1)` in which :math:`Q_m^\top A Q_m = T_m` is tridiagonal
(diagonal :math:`\alpha`, off-diagonal :math:`\beta`).  If :math:`T_m = S\Theta S^\top`,
the Ritz pairs :math:`(\theta_i, Q_m s_i)` approximate the extreme eigenpairs of
:math:`A`, and :math:`\|A Q_m s_i - \theta_i Q_m s_i\| = |\beta_m s_{m,i}|` gives the
residual for free.  In finite precision the basis loses orthogonality and spurious
copies of converged eigenvalues appear; we therefore re-orthogonalize every new vector
against the whole basis (classical Gram-Schmidt, done twice), which keeps
:math:`Q_m` orthonormal to working precision.  Without restarts, the number of
products for the top-k eigenvalues is typically lower than ARPACK's implicitly
restarted variant (``scipy.sparse.linalg.eigsh``).  Dauphin et al. (2014) and
Jastrzębski et al. (2019, §2) use Lanczos to estimate the top eigenvalues of a
network's Hessian from Hessian-vector products.

Power iteration with deflation
------------------------------
The baseline used by PyHessian: repeat :math:`v \leftarrow Av/\|Av\|`, orthogonalized
against eigenvectors already found, until the Rayleigh quotient changes by less than
``tol`` (relative).  It converges to the eigenvalues of largest *magnitude*, at a rate
set by the ratio of consecutive eigenvalues, so it needs many more products.
"""

from __future__ import annotations

import torch

__all__ = ["LanczosResult", "lanczos", "power_iteration"]

_WHICH = ("LA", "SA")
CRITERIA = ("max", "relative")


class LanczosResult(tuple):
    """``(vals, vecs)`` with extra attributes ``residuals``, ``num_matvecs``, ``converged``.

    ``vals`` is a 1-D tensor of shape ``(k,)``; ``vecs`` has shape ``(n, k)`` with
    unit-norm columns; ``residuals[i]`` estimates ``||A vecs[:, i] - vals[i] vecs[:, i]||``.
    """

    def __new__(cls, vals, vecs, residuals, num_matvecs, converged):
        self = super().__new__(cls, (vals, vecs))
        self.residuals = residuals
        self.num_matvecs = int(num_matvecs)
        self.converged = bool(converged)
        return self

    @property
    def vals(self) -> torch.Tensor:
        return self[0]

    @property
    def vecs(self) -> torch.Tensor:
        return self[1]

    def __repr__(self) -> str:
        return (f"LanczosResult(vals={self[0]}, num_matvecs={self.num_matvecs}, "
                f"converged={self.converged})")


def _dim(op) -> int:
    shape = tuple(op.shape)
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"operator must be square with shape (n, n), got {shape}")
    return int(shape[0])


def _dtype_device(op, n: int):
    dtype, device = getattr(op, "dtype", None), getattr(op, "device", None)
    if dtype is None or device is None:
        probe = None
        for dt in (torch.get_default_dtype(), torch.float64, torch.float32):
            try:
                probe = op @ torch.zeros(n, dtype=dt)
                break
            except (RuntimeError, TypeError):
                continue
        if probe is None:
            raise ValueError("cannot infer dtype/device of op: give it .dtype and .device")
        dtype, device = dtype or probe.dtype, device or probe.device
    return dtype, torch.device(device)


def _random_unit(n, dtype, device, gen) -> torch.Tensor:
    v = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    return v / v.norm()


def _orthogonalize(w: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Classical Gram-Schmidt against the rows of ``basis``, done twice ("twice is enough")."""
    if basis.shape[0] == 0:
        return w
    for _ in range(2):
        w = w - basis.T @ (basis @ w)
    return w


def _check_k(k: int, n: int) -> None:
    if not isinstance(k, int) or k < 1 or k > n:
        raise ValueError(f"k must be an integer with 1 <= k <= n = {n}, got {k!r}")


def _ritz(alphas, betas, k: int, which: str):
    """Eigen-decompose the tridiagonal T (float64); return wanted (theta, S[:, idx])."""
    T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if len(betas):
        off = torch.tensor(betas, dtype=torch.float64)
        T = T + torch.diag(off, 1) + torch.diag(off, -1)
    theta, S = torch.linalg.eigh(T)  # ascending
    idx = torch.arange(len(alphas) - 1, len(alphas) - 1 - k, -1) if which == "LA" \
        else torch.arange(k)
    return theta, theta[idx], S[:, idx]


def lanczos(op, k: int = 6, which: str = "LA", tol: float = 1e-5, max_iter=None,
            v0=None, seed: int = 0, criterion: str = "max") -> LanczosResult:
    """k extreme eigenpairs of the symmetric operator ``op`` by Lanczos with full
    re-orthogonalization.

    Args:
        op: object with ``.shape == (n, n)`` and ``op @ v`` for 1-D tensors.
        k: number of eigenpairs wanted, ``1 <= k <= n``.
        which: ``"LA"`` (largest algebraic, returned largest first) or ``"SA"``
            (smallest algebraic, returned smallest first).
        tol: stop when every wanted Ritz pair has residual estimate
            ``|beta_m s_{m,i}| <= tol * max|theta|`` (``criterion="max"``), or
            ``<= tol * |theta_i|``, its own Ritz value (``criterion="relative"``: the
            test for small eigenvalues beside large ones, e.g. the most negative
            eigenvalues of a network's Hessian, Alain et al. 2019).
        max_iter: largest Krylov dimension (= number of products, except for
            restarts after an invariant subspace); default ``min(n, max(20k, 100))``.
        v0: starting vector (default: Gaussian from ``seed``).
        seed: seed of the starting vector / restart vectors (CPU generator).

    Returns:
        :class:`LanczosResult` ``(vals, vecs)`` with ``.residuals``,
        ``.num_matvecs`` and ``.converged``.
    """
    if which not in _WHICH:
        raise ValueError(f"which must be one of {_WHICH} ('LA': largest algebraic, "
                         f"'SA': smallest algebraic), got {which!r}")
    n = _dim(op)
    _check_k(k, n)
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    dtype, device = _dtype_device(op, n)
    max_iter = min(n, max(20 * k, 100)) if max_iter is None else min(n, max(int(max_iter), k))
    gen = torch.Generator().manual_seed(seed)
    eps = torch.finfo(dtype).eps

    if v0 is None:
        q = _random_unit(n, dtype, device, gen)
    else:
        q = torch.as_tensor(v0).to(dtype=dtype, device=device).reshape(-1)
        if q.numel() != n or not torch.isfinite(q).all() or q.norm() == 0:
            raise ValueError("v0 must be a finite non-zero vector of length n")
        q = q / q.norm()

    V = torch.empty(max_iter, n, dtype=dtype, device=device)
    alphas, betas = [], []
    anorm, num_matvecs, converged, restarts = 0.0, 0, False, 0
    for j in range(max_iter):
        V[j] = q
        w = op @ q
        num_matvecs += 1
        basis = V[: j + 1]
        h = basis @ w
        w = w - basis.T @ h
        h2 = basis @ w
        w = w - basis.T @ h2
        alpha = float(h[j] + h2[j])
        beta = float(w.norm())
        alphas.append(alpha)
        anorm = max(anorm, abs(alpha) + beta + (betas[-1] if betas else 0.0))
        invariant = beta <= 100 * eps * max(anorm, 1e-300)
        if j + 1 >= k:
            theta, wanted, S = _ritz(alphas, betas, k, which)
            resid = (beta * S[-1]).abs()
            bound = tol * (wanted.abs() if criterion == "relative" else theta.abs().max())
            converged = bool((resid <= bound).all()) or j + 1 == n
            # An invariant Krylov space holds one copy of each eigenvalue: restart (up
            # to k times) so that multiplicities among the wanted ones are found.
            if converged and (not invariant or restarts >= k or j + 1 == n):
                break
        if j + 1 == max_iter:
            break
        if invariant:
            # Continue with a fresh random direction orthogonal to the basis.
            restarts += 1
            betas.append(0.0)
            w = _orthogonalize(_random_unit(n, dtype, device, gen), V[: j + 1])
            q = w / w.norm()
        else:
            betas.append(beta)
            q = w / beta

    m = len(alphas)
    vecs = V[:m].T @ S.to(dtype=dtype, device=device)
    vecs = vecs / vecs.norm(dim=0, keepdim=True)
    vals = wanted.to(dtype=dtype, device=device)
    return LanczosResult(vals, vecs, resid.to(dtype=dtype, device=device), num_matvecs,
                         converged)


def power_iteration(op, k: int = 10, tol: float = 1e-3, max_iter: int = 100,
                    seed: int = 0, shift: float = 0.0,
                    criterion: str = "change") -> LanczosResult:
    """Top-k eigenpairs (by magnitude) by power iteration with deflation (PyHessian).

    Each eigenpair is iterated from a random start, orthogonalized against the
    eigenvectors already found, until the relative change of the Rayleigh quotient
    ``|lam_new - lam| / (|lam| + 1e-6)`` is below ``tol`` (``criterion="change"``) or
    the residual ``||A v - lam v|| <= tol * |lam|``, deflated against the pairs found
    (``criterion="residual"``; the change
    stalls long before convergence when consecutive eigenvalues are close), or
    ``max_iter`` products. With ``shift = s`` it iterates on ``A - s I`` (``s ≈ λ₁`` makes
    the most negative eigenvalues the largest in magnitude) and returns ``A``'s Rayleigh
    quotients. Eigenvalues are returned in the order found (largest magnitude first,
    typically). ``.residuals`` holds ``||A v - lam v||`` from the last product of each pair.
    """
    n = _dim(op)
    _check_k(k, n)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if criterion not in ("change", "residual"):
        raise ValueError(f"criterion must be 'change' or 'residual', got {criterion!r}")
    dtype, device = _dtype_device(op, n)
    gen = torch.Generator().manual_seed(seed)
    found = torch.empty(0, n, dtype=dtype, device=device)
    vals, resids, num_matvecs, all_conv = [], [], 0, True
    for _ in range(k):
        v = _orthogonalize(_random_unit(n, dtype, device, gen), found)
        v = v / v.norm()
        lam, conv = None, False
        for _ in range(max_iter):
            w = op @ v
            num_matvecs += 1
            new_lam = float(w @ v)
            res = float((w - new_lam * v).norm())
            # the residual of the deflated problem: the part along the pairs already found
            # reflects their errors, not this one's
            if criterion == "residual" and float(_orthogonalize(
                    w - new_lam * v, found).norm()) <= tol * abs(new_lam):
                lam, conv = new_lam, True
                break
            w = _orthogonalize(w - shift * v if shift else w, found)
            wn = w.norm()
            if wn == 0:  # v is (numerically) in the null space
                lam, conv = new_lam, True
                break
            v = w / wn
            if criterion == "change" and lam is not None \
                    and abs(new_lam - lam) / (abs(lam) + 1e-6) < tol:
                lam, conv = new_lam, True
                break
            lam = new_lam
        all_conv &= conv
        vals.append(lam)
        resids.append(res)
        found = torch.cat([found, v[None]])
    t = dict(dtype=dtype, device=device)
    return LanczosResult(torch.tensor(vals, **t), found.T.contiguous(), torch.tensor(resids, **t),
                         num_matvecs, all_conv)
