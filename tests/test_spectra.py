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


# ----------------------------------------------------------------------------- outliers
from companion.spectra import count_negative, count_outliers  # noqa: E402


def _outliers_and_bulk(k: int, bulk: int = 300, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    top = 1.0 + torch.rand(k, generator=gen)              # k outliers in [1, 2]
    rest = 1e-3 * torch.rand(bulk, generator=gen)         # a bulk near zero
    return torch.cat([rest, top, -1e-4 * torch.rand(20, generator=gen)])[torch.randperm(
        bulk + k + 20, generator=gen)]


@pytest.mark.parametrize("k", [1, 2, 5, 10, 50])
@pytest.mark.parametrize("method", ["gap", "ratio", "elbow"])
def test_count_outliers_finds_a_clear_gap(k, method):
    assert count_outliers(_outliers_and_bulk(k), method) == k


def test_count_outliers_methods_differ_on_a_staircase():
    lam = torch.tensor([10.0, 9.0, 3.0, 2.9, 2.8, 1e-3, 1e-3, 8e-4, 5e-4] + [1e-4] * 50)
    assert count_outliers(lam, "gap") == 2          # the largest step: 9 → 3
    assert count_outliers(lam, "ratio") == 5        # the largest ratio: 2.8 / 1e-3
    # the log scree flattens only at the 1e-4 floor: the 1e-3 tier counts as outliers too
    assert count_outliers(lam, "elbow") == 9


def test_count_outliers_window_and_bad_input():
    lam = torch.cat([torch.tensor([5.0, 4.0]), torch.linspace(1.0, 0.5, 200)])
    assert count_outliers(lam, "gap", window=120) == 2
    with pytest.raises(ValueError, match="method"):
        count_outliers(lam, "knee")
    with pytest.raises(ValueError, match="largest eigenvalue"):
        count_outliers(-lam, "gap")
    with pytest.raises(ValueError, match="nan"):
        count_outliers(torch.tensor([1.0, float("nan"), 0.0]), "gap")
    with pytest.raises(ValueError, match="window"):
        count_outliers(lam, "gap", window=2)


def test_count_negative_ignores_the_rounding_haze():
    lam = torch.tensor([2.0, 1.0, 0.0, -1e-13, -1e-7, -0.5])
    assert count_negative(lam) == 1
    assert count_negative(lam, tol=1e-8) == 2
