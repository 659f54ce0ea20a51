"""Frobenius norm from eigenvalues and Hutchinson estimators vs dense values."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.hessian import HessianOperator
from companion.spectra import frobenius_norm_top, hutchinson_frobenius, hutchinson_trace

DT = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny problems: one intra-op thread avoids oversubscription on shared CPUs."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def mlp_hessian():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).to(DT)
    batches = [(torch.randn(n, 4, dtype=DT), torch.randint(0, 3, (n,))) for n in (8, 5)]
    op = HessianOperator(model, F.cross_entropy, batches, weight_decay=0.05)
    H = torch.stack([op @ e for e in torch.eye(op.dim, dtype=DT)], dim=1)
    return op, H


def test_frobenius_norm_top_with_all_eigenvalues_is_exact(mlp_hessian):
    _, H = mlp_hessian
    lam = torch.linalg.eigvalsh(H)
    exact = float(torch.linalg.matrix_norm(H, "fro"))
    assert frobenius_norm_top(lam, k=H.shape[0]) == pytest.approx(exact, rel=1e-10)
    assert frobenius_norm_top(lam, k=5) < exact


def test_frobenius_norm_top_picks_largest_magnitudes():
    assert frobenius_norm_top([1.0, -4.0, 3.0, 0.5], k=2) == pytest.approx(5.0)
    assert frobenius_norm_top(torch.tensor([3.0, 4.0])) == pytest.approx(5.0)
    with pytest.raises(ValueError):
        frobenius_norm_top([1.0], k=0)


def test_hutchinson_on_hessian_within_stderr(mlp_hessian):
    op, H = mlp_hessian
    fro, fro_se = hutchinson_frobenius(op, num_samples=40, seed=1)
    tr, tr_se = hutchinson_trace(op, num_samples=40, seed=1)
    assert fro_se > 0 and tr_se > 0
    assert abs(fro - float(torch.linalg.matrix_norm(H, "fro"))) < 4 * fro_se
    assert abs(tr - float(torch.trace(H))) < 4 * tr_se


def test_hutchinson_dense_matrix_is_accurate_and_seeded():
    gen = torch.Generator().manual_seed(0)
    B = torch.randn(30, 30, generator=gen, dtype=DT)
    A = B + B.T + 10 * torch.eye(30, dtype=DT)
    tr, se = hutchinson_trace(A, num_samples=200, seed=3)
    assert abs(tr - float(torch.trace(A))) < 4 * se
    fro, fse = hutchinson_frobenius(A, num_samples=200, seed=3)
    assert abs(fro - float(torch.linalg.matrix_norm(A, "fro"))) < 4 * fse
    assert hutchinson_trace(A, num_samples=5, seed=3) == hutchinson_trace(A, num_samples=5, seed=3)
    # Rademacher probes are exact for diagonal matrices
    D = torch.diag(torch.arange(1.0, 6.0, dtype=DT))
    assert hutchinson_trace(D, num_samples=3) == (pytest.approx(15.0), pytest.approx(0.0))
    with pytest.raises(ValueError):
        hutchinson_trace(A, num_samples=1)
