"""Lanczos / power iteration against dense eigendecompositions, and against
curvlinops' HessianLinearOperator + scipy's eigsh (ARPACK) on a tiny CNN Hessian."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import eigsh
from torch import nn

from companion.hessian import HessianOperator
from companion.lanczos import LanczosResult, lanczos, power_iteration

DT = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny problems: one intra-op thread avoids oversubscription on shared CPUs."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def sym_matrix(n=60, seed=0, spectrum=None, dtype=DT):
    """Q diag(spectrum) Q^T with a random orthogonal Q; default spectrum has both signs."""
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=DT))
    lam = torch.linspace(-3, 10, n, dtype=DT) ** 3 / 100 if spectrum is None \
        else torch.as_tensor(spectrum, dtype=DT)
    return ((Q * lam) @ Q.T).to(dtype)


class CountingOp:
    """Wraps a dense matrix; counts products; exposes no dtype/device (probe path)."""

    def __init__(self, A):
        self.A, self.shape, self.count = A, A.shape, 0

    def __matmul__(self, v):
        out = self.A @ v  # a failed dtype probe is not counted
        self.count += 1
        return out


@pytest.mark.parametrize("which", ["LA", "SA"])
@pytest.mark.parametrize("k", [1, 4])
def test_matches_dense_eigvalsh(which, k):
    A = sym_matrix()
    res = lanczos(A, k=k, which=which, tol=1e-8)
    vals, vecs = res
    ref = torch.linalg.eigvalsh(A)
    ref = ref.flip(0)[:k] if which == "LA" else ref[:k]
    torch.testing.assert_close(vals, ref, rtol=1e-10, atol=1e-10)
    assert vals.shape == (k,) and vecs.shape == (60, k)
    torch.testing.assert_close(vecs.T @ vecs, torch.eye(k, dtype=DT), atol=1e-10, rtol=0)
    true_res = (A @ vecs - vecs * vals).norm(dim=0)
    assert res.converged and res.residuals.shape == (k,)
    scale = torch.linalg.eigvalsh(A).abs().max()  # tol is relative to max|theta| ~ ||A||
    assert (true_res <= 1e-7 * scale).all()
    torch.testing.assert_close(res.residuals, true_res, atol=1e-9 * scale, rtol=0)


def test_result_is_a_tuple_with_attributes():
    A = sym_matrix(n=30)
    op = CountingOp(A)
    res = lanczos(op, k=3)
    assert isinstance(res, tuple) and isinstance(res, LanczosResult) and len(res) == 2
    vals, vecs = res
    assert res.vals is vals and res.vecs is vecs
    assert res.num_matvecs == op.count - 1  # the probe for dtype/device is not counted
    assert vals[0] >= vals[1] >= vals[2]


def test_residual_estimates_track_true_residuals_before_convergence():
    A = sym_matrix(n=200, seed=2, spectrum=torch.linspace(0, 1, 200) ** 2)
    res = lanczos(A, k=3, max_iter=12)
    assert not res.converged and res.num_matvecs == 12
    true_res = (A @ res[1] - res[1] * res[0]).norm(dim=0)
    assert (res.residuals > 1e-4).any()
    torch.testing.assert_close(res.residuals, true_res, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("which, k", [("LA", 4), ("LA", 5), ("SA", 3)])
def test_invariant_subspace_and_null_space(which, k):
    # rank-3 matrix: the Krylov space becomes invariant after 4 products
    A = sym_matrix(n=40, spectrum=[5.0, 4.0, -3.0] + [0.0] * 37)
    vals, vecs = lanczos(A, k=k, which=which)
    ref = torch.linalg.eigvalsh(A)
    ref = ref.flip(0)[:k] if which == "LA" else ref[:k]
    torch.testing.assert_close(vals, ref, atol=1e-10, rtol=0)
    torch.testing.assert_close(A @ vecs, vecs * vals, atol=1e-9, rtol=0)


def test_full_spectrum_small_matrix():
    A = sym_matrix(n=7, seed=4)
    vals, _ = lanczos(A, k=7, which="SA")
    torch.testing.assert_close(vals, torch.linalg.eigvalsh(A), atol=1e-10, rtol=0)


def test_float32_and_v0_and_seed():
    A = sym_matrix(n=50, dtype=torch.float32)
    vals, vecs = lanczos(A, k=2, v0=torch.ones(50))
    assert vals.dtype == vecs.dtype == torch.float32
    torch.testing.assert_close(vals, torch.linalg.eigvalsh(A.double()).flip(0)[:2].float(),
                               rtol=1e-4, atol=1e-4)
    a, b = lanczos(A, k=2, seed=1), lanczos(A, k=2, seed=1)
    assert torch.equal(a[0], b[0])


@pytest.mark.parametrize("kwargs, match", [
    ({"which": "LM"}, "'LA'"), ({"k": 0}, "k must"), ({"k": 31}, "k must"),
    ({"v0": torch.zeros(30)}, "v0"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lanczos(sym_matrix(n=30), **kwargs)


def test_power_iteration_top_eigenvalue_and_cost():
    A = sym_matrix(n=60, spectrum=torch.cat([torch.tensor([10.0, 6.0, 3.0]), torch.rand(57)]))
    res = power_iteration(A, k=2, tol=1e-8, max_iter=500)
    assert res.converged and isinstance(res, LanczosResult)
    assert res[0][0] == pytest.approx(10.0, rel=1e-6)
    assert res[0][1] == pytest.approx(6.0, rel=1e-6)
    assert abs(float(res[1][:, 0] @ res[1][:, 1])) < 1e-10
    lz = lanczos(A, k=2, tol=1e-8)
    assert lz.num_matvecs < res.num_matvecs


def test_power_iteration_stops_at_max_iter():
    res = power_iteration(sym_matrix(n=30), k=1, tol=0.0, max_iter=7)
    assert res.num_matvecs == 7 and not res.converged


# ---------------------------------------------------------------- Hessian of a tiny CNN
@pytest.fixture(scope="module")
def cnn_problem():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(27, 4)).to(DT)
    batches = [(torch.randn(n, 1, 8, 8, dtype=DT), torch.randint(0, 4, (n,))) for n in (6, 4)]
    op = HessianOperator(model, F.cross_entropy, batches)
    dense = torch.stack([op @ e for e in torch.eye(op.dim, dtype=DT)], dim=1)
    return model, batches, op, (dense + dense.T) / 2


@pytest.mark.parametrize("which", ["LA", "SA"])
def test_hessian_lanczos_matches_dense(cnn_problem, which):
    _, _, op, H = cnn_problem
    vals, vecs = lanczos(op, k=5, which=which, tol=1e-8)
    ref = torch.linalg.eigvalsh(H)
    ref = ref.flip(0)[:5] if which == "LA" else ref[:5]
    torch.testing.assert_close(vals, ref, rtol=1e-7, atol=1e-9)
    assert ((H @ vecs - vecs * vals).norm(dim=0) < 1e-6).all()


def test_agrees_with_curvlinops_and_eigsh(cnn_problem):
    curvlinops = pytest.importorskip("curvlinops")
    model, batches, op, _ = cnn_problem
    ref_op = curvlinops.HessianLinearOperator(
        model, nn.CrossEntropyLoss(), [p for p in model.parameters()], batches)
    v = torch.randn(op.dim, dtype=DT)
    torch.testing.assert_close(op @ v, ref_op @ v, rtol=1e-10, atol=1e-12)
    ref_vals = np.sort(eigsh(ref_op.to_scipy(), k=4, which="LA", tol=1e-10)[0])[::-1]
    start = op.num_matvecs
    ours_scipy = np.sort(eigsh(op.to_scipy(), k=4, which="LA", tol=1e-6)[0])[::-1]
    eigsh_matvecs = op.num_matvecs - start
    res = lanczos(op, k=4, which="LA")
    np.testing.assert_allclose(res[0].numpy(), ref_vals, rtol=1e-8)
    np.testing.assert_allclose(ours_scipy, ref_vals, rtol=1e-8)
    assert res.num_matvecs <= eigsh_matvecs


def test_shifted_power_iteration_with_the_residual_test_finds_the_bottom():
    from companion.lanczos import power_iteration

    gen = torch.Generator().manual_seed(3)
    q, _ = torch.linalg.qr(torch.randn(40, 40, generator=gen, dtype=torch.float64))
    vals = torch.cat([torch.tensor([10.0, 8.0]), torch.linspace(-0.5, 0.5, 36),
                      torch.tensor([-3.0, -5.0])])
    A = (q * vals) @ q.T
    out = power_iteration(A, k=2, tol=1e-8, max_iter=2000, shift=10.0, criterion="residual")
    assert out.converged and out.num_matvecs < 500
    torch.testing.assert_close(out.vals, torch.tensor([-5.0, -3.0], dtype=torch.float64))
    # unshifted, the default test is unchanged: the largest magnitudes come first
    assert abs(float(power_iteration(A, k=1, tol=1e-10, max_iter=500).vals[0]) - 10.0) < 1e-3
    with pytest.raises(ValueError, match="criterion"):
        power_iteration(A, k=1, criterion="both")
