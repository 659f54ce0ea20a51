"""HessianOperator vs a dense reference Hessian built independently with
``torch.autograd.functional.hessian`` (double backward through the same weighted
mean loss), on tiny float64 models: MLP, CNN with max-pool, dropout, BatchNorm in
both modes and an nn.LSTM language model."""

import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from companion.hessian import HessianOperator, lanczos

DT = torch.float64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny problems: one intra-op thread avoids oversubscription on shared CPUs."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
V_LM = 5


class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.lstm, self.out = nn.Embedding(V_LM, 3), nn.LSTM(3, 3, batch_first=True), nn.Linear(3, V_LM)

    def forward(self, x):
        return self.out(self.lstm(self.emb(x))[0])


def lm_loss(out, y):
    return F.cross_entropy(out.reshape(-1, V_LM), y.reshape(-1))


def _vec_batches(sizes, d=4, c=3):
    return [(torch.randn(n, d, dtype=DT), torch.randint(0, c, (n,))) for n in sizes]


def _mlp():
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)), F.cross_entropy, _vec_batches([5, 3])


def _mse_mlp():
    m = nn.Sequential(nn.Linear(4, 5), nn.Sigmoid(), nn.Linear(5, 2))
    return m, F.mse_loss, [(torch.randn(n, 4, dtype=DT), torch.randn(n, 2, dtype=DT)) for n in (4, 1, 2)]


def _cnn():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 3))
    return m, F.cross_entropy, [(torch.randn(n, 1, 8, 8, dtype=DT), torch.randint(0, 3, (n,))) for n in (4, 2)]


def _dropout():
    m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 3))
    return m, F.cross_entropy, _vec_batches([6, 4])


def _bn():
    m = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 3))
    with torch.no_grad():  # non-trivial running statistics
        m[1].running_mean.uniform_(-1, 1)
        m[1].running_var.uniform_(0.5, 2.0)
    return m, F.cross_entropy, _vec_batches([5, 3])


def _lstm():
    return TinyLM(), lm_loss, [(torch.randint(0, V_LM, (n, 4)), torch.randint(0, V_LM, (n, 4))) for n in (3, 2)]


# name, builder, HessianOperator keyword arguments
CASES = [
    ("mlp", _mlp, {}),
    ("mlp_mse_wd", _mse_mlp, {"weight_decay": 0.1}),
    ("cnn_maxpool", _cnn, {"weight_decay": 5e-4}),
    ("dropout", _dropout, {"seed": 3}),
    ("bn_train", _bn, {"bn_mode": "train"}),
    ("bn_eval", _bn, {"bn_mode": "eval"}),
    ("lstm_lm", _lstm, {}),
]


def build(name):
    _, builder, kwargs = next(c for c in CASES if c[0] == name)
    torch.manual_seed(sum(map(ord, name)))
    model, loss_fn, batches = builder()
    return model.to(DT), loss_fn, batches, dict(kwargs)


def dense_hessian(model, loss_fn, batches, weight_decay=0.0, bn_mode=None, train_mode=True, seed=0):
    """Reference: autograd double backward of the weighted-mean loss over flat params."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    theta0 = torch.cat([p.detach().reshape(-1) for _, p in named])
    total = sum(x.shape[0] for x, _ in batches)
    flags = [(m, m.training) for m in model.modules()]

    def loss(theta):
        chunks = theta.split([p.numel() for _, p in named])
        params = {n: c.view(p.shape) for (n, p), c in zip(named, chunks)}
        out = 0.5 * weight_decay * theta.pow(2).sum()
        for b, (x, y) in enumerate(batches):
            bufs = {n: t.clone() for n, t in model.named_buffers()}
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed + b)
                pred = functional_call(model, {**params, **bufs}, (x,))
            out = out + x.shape[0] / total * loss_fn(pred, y)
        return out

    model.train(train_mode)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.train(bn_mode == "train")
    try:
        H = torch.autograd.functional.hessian(loss, theta0)
        theta = theta0.clone().requires_grad_(True)
        L = loss(theta)
        (g,) = torch.autograd.grad(L, theta)
    finally:
        for m, t in flags:
            m.training = t
    return H, float(L.detach()), g


@functools.lru_cache(maxsize=None)
def reference(name):
    model, loss_fn, batches, kw = build(name)
    return dense_hessian(model, loss_fn, batches, **kw)


@pytest.fixture(params=[c[0] for c in CASES])
def case(request):
    model, loss_fn, batches, kw = build(request.param)
    H, L, g = reference(request.param)
    op = HessianOperator(model, loss_fn, batches, **kw)
    return dict(name=request.param, model=model, loss_fn=loss_fn, batches=batches, kw=kw,
                op=op, H=H, L=L, g=g)


def test_dense_reference_is_symmetric_and_nontrivial(case):
    H = case["H"]
    assert torch.allclose(H, H.T, atol=1e-10)
    assert H.abs().max() > 1e-3


def test_matvec_matches_dense(case):
    op, H = case["op"], case["H"]
    assert op.shape == (op.dim, op.dim) == tuple(H.shape)
    assert op.dtype == DT and op.device.type == "cpu"
    gen = torch.Generator().manual_seed(1)
    V = torch.randn(op.dim, 3, generator=gen, dtype=DT)
    hv = op @ V[:, 0]
    torch.testing.assert_close(hv, H @ V[:, 0], rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(op.matvec(V), H @ V, rtol=1e-8, atol=1e-10)
    assert op.num_matvecs == 4
    # RNNs start in reverse-over-reverse (no forward-mode LSTM kernels); others need no fallback
    expected = "reverse-over-reverse" if op._has_rnn else "forward-over-reverse"
    assert op.hvp_mode == expected


def test_loss_and_gradient_match_reference(case):
    op = case["op"]
    assert op.loss() == pytest.approx(case["L"], rel=1e-10)
    torch.testing.assert_close(op.gradient(), case["g"], rtol=1e-8, atol=1e-12)


def test_repeated_products_are_bit_identical(case):
    op = case["op"]
    v = torch.randn(op.dim, dtype=DT)
    a, b = op @ v, op @ v
    assert torch.equal(a, b)


@pytest.mark.parametrize("mode", ["reverse-over-reverse", "double-backward"])
def test_other_hvp_modes_agree(case, mode):
    op, H = case["op"], case["H"]
    op.hvp_mode = mode
    v = torch.randn(op.dim, dtype=DT)
    hv = op @ v
    torch.testing.assert_close(hv, H @ v, rtol=1e-8, atol=1e-10)
    assert torch.equal(hv, op @ v) and op.hvp_mode == mode


def test_model_state_untouched(case):
    model, op = case["model"], case["op"]
    model.eval()
    model[0].train() if isinstance(model, nn.Sequential) else None
    flags = [m.training for m in model.modules()]
    state = {k: t.clone() for k, t in model.state_dict().items()}
    tracking = [getattr(m, "track_running_stats", None) for m in model.modules()]
    op @ torch.randn(op.dim, dtype=DT)
    op.loss(), op.gradient()
    assert [m.training for m in model.modules()] == flags
    assert [getattr(m, "track_running_stats", None) for m in model.modules()] == tracking
    for k, t in model.state_dict().items():
        assert torch.equal(t, state[k]), k


def test_dropout_is_active_and_seeded():
    model, loss_fn, batches, kw = build("dropout")
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DT)
    a = HessianOperator(model, loss_fn, batches, seed=3) @ v
    b = HessianOperator(model, loss_fn, batches, seed=4) @ v
    c = HessianOperator(model, loss_fn, batches, train_mode=False) @ v
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_bn_modes_differ_and_mode_is_required():
    model, loss_fn, batches, _ = build("bn_train")
    with pytest.raises(ValueError, match="bn_mode='train'"):
        HessianOperator(model, loss_fn, batches)
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DT)
    a = HessianOperator(model, loss_fn, batches, bn_mode="train") @ v
    b = HessianOperator(model, loss_fn, batches, bn_mode="eval") @ v
    assert not torch.allclose(a, b)


def test_weight_decay_adds_identity():
    model, loss_fn, batches, _ = build("mlp")
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DT)
    a = HessianOperator(model, loss_fn, batches) @ v
    b = HessianOperator(model, loss_fn, batches, weight_decay=0.3) @ v
    torch.testing.assert_close(b - a, 0.3 * v, rtol=1e-10, atol=1e-12)


def test_unequal_batches_equal_one_big_batch():
    model, loss_fn, batches, _ = build("mlp")
    joined = [(torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches]))]
    v = torch.randn(sum(p.numel() for p in model.parameters()), dtype=DT)
    a = HessianOperator(model, loss_fn, batches) @ v
    b = HessianOperator(model, loss_fn, joined) @ v
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_frozen_parameters_are_excluded():
    model, loss_fn, batches, _ = build("mlp")
    model[0].weight.requires_grad_(False)
    op = HessianOperator(model, loss_fn, batches)
    assert op.dim == sum(p.numel() for p in model.parameters() if p.requires_grad)
    H, _, _ = dense_hessian(model, loss_fn, batches)
    v = torch.randn(op.dim, dtype=DT)
    torch.testing.assert_close(op @ v, H @ v, rtol=1e-8, atol=1e-10)


def test_to_scipy_matches_torch():
    model, loss_fn, batches, kw = build("cnn_maxpool")
    op = HessianOperator(model, loss_fn, batches, **kw)
    x = np.random.default_rng(0).standard_normal(op.dim)
    y = op.to_scipy() @ x
    assert y.dtype == np.float64 and y.shape == (op.dim,)
    np.testing.assert_allclose(y, (op @ torch.from_numpy(x)).numpy(), rtol=1e-12)


def test_float32_model_keeps_dtype():
    model, loss_fn, batches, _ = build("mlp")
    model = model.float()
    op = HessianOperator(model, loss_fn, batches)
    assert op.dtype == torch.float32
    hv = op @ torch.randn(op.dim)
    assert hv.dtype == torch.float32
    vals, vecs = lanczos(op, k=2)
    assert vals.dtype == vecs.dtype == torch.float32 and vecs.shape == (op.dim, 2)


@pytest.mark.parametrize("kwargs, batches, match", [
    ({}, [], "empty"),
    ({}, "zero", "non-positive size"),
    ({"weight_decay": -1.0}, None, "weight_decay"),
    ({"bn_mode": "running"}, None, "bn_mode"),
])
def test_input_validation(kwargs, batches, match):
    model, loss_fn, good, _ = build("mlp")
    if batches is None:
        batches = good
    elif batches == "zero":
        batches = [good[0], (torch.zeros(0, 4, dtype=DT), torch.zeros(0, dtype=torch.long))]
    with pytest.raises(ValueError, match=match):
        HessianOperator(model, loss_fn, batches, **kwargs)


def test_bad_vector_shape():
    model, loss_fn, batches, _ = build("mlp")
    op = HessianOperator(model, loss_fn, batches)
    with pytest.raises(ValueError, match="shape"):
        op @ torch.zeros(op.dim + 1, dtype=DT)


class _Cube(torch.autograd.Function):
    """x**3 / 3 with a (differentiable) backward but no jvp: forward-mode AD fails."""

    @staticmethod
    def forward(x):
        return x ** 3 / 3

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x ** 2


class _CubeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.b(_Cube.apply(self.a(x)))


def test_falls_back_to_reverse_over_reverse():
    torch.manual_seed(0)
    model = _CubeNet().to(DT)
    batches = [(torch.randn(5, 3, dtype=DT), torch.randint(0, 2, (5,)))]
    op = HessianOperator(model, F.cross_entropy, batches)
    v = torch.randn(op.dim, dtype=DT)
    with pytest.warns(UserWarning, match="reverse-over-reverse"):
        hv = op @ v
    assert op.hvp_mode == "reverse-over-reverse" and op.num_matvecs == 1
    H, _, _ = dense_hessian(model, F.cross_entropy, batches)
    torch.testing.assert_close(hv, H @ v, rtol=1e-8, atol=1e-10)
