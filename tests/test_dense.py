"""Dense Hessians and Gauss-Newton matrices of small nets, against torch.func and closed
forms, in float64 (companion.dense, companion.ggn)."""

import pytest
import torch
from torch.func import functional_call, jacrev

from companion.dense import dense_matrix, eigenvalues, functorch_hessian, symmetrized
from companion.hessian import GGNOperator, HessianOperator
from companion.models import cross_entropy
from companion.models_small import MLP, LogisticRegression


def _tiny(activation="tanh", n=30, d=4, k=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=gen)
    torch.manual_seed(seed)
    model = MLP(num_classes=k, in_features=d, hidden=(5,), activation=activation).double()
    return model, [(x[:11], y[:11]), (x[11:], y[11:])]


@pytest.mark.parametrize("block", [0, 1, 7, 64])
def test_dense_hessian_equals_functorch_hessian(block):
    model, batches = _tiny()
    op = HessianOperator(model, cross_entropy, batches, weight_decay=0.01)
    reference = functorch_hessian(op)
    dense = dense_matrix(op, block)
    assert torch.allclose(dense, reference, rtol=1e-12, atol=1e-13)
    assert op.num_matvecs == op.dim
    sym, asym = symmetrized(dense)
    assert asym < 1e-13 and torch.equal(sym, sym.T)


def test_ggn_is_jt_hess_j_and_psd_with_bounded_rank():
    model, batches = _tiny(activation="relu")
    G = dense_matrix(GGNOperator(model, cross_entropy, batches), 8)
    x = torch.cat([b[0] for b in batches])
    names = [n for n, _ in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    sizes = [p.numel() for p in model.parameters()]
    shapes = [p.shape for p in model.parameters()]

    def f(v):
        params = {n: t.view(s) for n, t, s in zip(names, v.split(sizes), shapes)}
        return functional_call(model, params, (x,))

    J = jacrev(f)(flat)                                     # N × k × M
    p = torch.softmax(f(flat), -1)
    A = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # softmax-CE output Hessian
    reference = torch.einsum("nkm,nkl,nlq->mq", J, A, J) / len(x)
    assert torch.allclose(G, reference, rtol=1e-11, atol=1e-14)
    vals, _ = eigenvalues(G)
    assert vals.min() >= -1e-12 * vals.max()
    assert int((vals.abs() > 1e-10 * vals.max()).sum()) <= len(x) * (3 - 1)


def test_ggn_equals_hessian_for_a_linear_model_and_the_logistic_closed_form():
    """f linear in θ: R = 0, so H = G = (1/N) Σ σ'(wᵀx) x xᵀ (Sagun et al. App. B)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(40, 6, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 2, (40,), generator=gen)
    model = LogisticRegression(in_features=6, init_value=0.3).double()
    H = dense_matrix(HessianOperator(model, cross_entropy, [(x, y)]), 3)
    G = dense_matrix(GGNOperator(model, cross_entropy, [(x, y)]), 3)
    s = torch.sigmoid(x @ torch.full((6,), 0.3, dtype=torch.float64))
    closed = (x.T * (s * (1 - s))) @ x / 40
    assert torch.allclose(H, closed, atol=1e-14) and torch.allclose(G, closed, atol=1e-14)


def test_ggn_operator_keeps_the_hessian_operator_interface():
    model, batches = _tiny()
    G = GGNOperator(model, cross_entropy, batches)
    v = torch.randn(G.dim, dtype=torch.float64)
    assert (G @ v).shape == (G.dim,) and G.num_matvecs == 1
    assert G.loss() == pytest.approx(HessianOperator(model, cross_entropy, batches).loss())
    assert repr(G).startswith("GGNOperator(")


def test_dense_matrix_leaves_the_model_untouched():
    model, batches = _tiny()
    before = [p.detach().clone() for p in model.parameters()]
    model.eval()
    dense_matrix(HessianOperator(model, cross_entropy, batches), 16)
    assert not model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_symmetrized_averages_in_place_by_blocks_and_measures_the_asymmetry():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(37, 37, generator=gen, dtype=torch.float64)
    expected = 0.5 * (a + a.T)
    asym_expected = float((a - a.T).norm() / a.norm())
    out, asym = symmetrized(a, block=5)
    assert out is a and torch.allclose(out, expected, atol=1e-15)
    assert asym == pytest.approx(asym_expected, rel=1e-12)
