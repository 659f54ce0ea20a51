"""The loss along single eigenvectors (Figs. 3–6 of Alain et al. 2019): float64 losses and
their quadratic model against a dense Hessian, and the line search."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from companion.hessian import HessianOperator
from companion.probes_directions import fitted_curvature, line_search, losses_along, quadratic_model
from companion.snapshot_curvature import curvature_along


def _tiny():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x, y = torch.randn(20, 4, dtype=torch.float64), torch.randint(0, 3, (20,))
    return model, x, y


def test_loss_at_and_the_quadratic_model_against_the_dense_hessian():
    model, x, y = _tiny()
    op = HessianOperator(model, nn.functional.cross_entropy, [(x[:12], y[:12]), (x[12:], y[12:])])
    params = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    delta = 1e-2 * torch.randn(op.dim, dtype=torch.float64)
    ref = copy.deepcopy(model)
    nn.utils.vector_to_parameters(params + delta, ref.parameters())
    with torch.no_grad():
        expected = float(nn.functional.cross_entropy(ref(x), y))
    assert op.loss_at(delta) == pytest.approx(expected, rel=1e-12)
    assert op.loss_at(None) == pytest.approx(op.loss(), rel=1e-12)
    # along a dense eigenvector the loss is quadratic to third order: y → λ as α → 0
    H = torch.stack([op @ e for e in torch.eye(op.dim, dtype=torch.float64)], 1)
    lam, vecs = torch.linalg.eigh((H + H.T) / 2)
    v, g = vecs[:, -1], op.gradient()
    c = float(g @ v)
    alphas = np.linspace(-1e-2, 1e-2, 11) / abs(c)
    deltas = losses_along(op, c * v, alphas)
    assert fitted_curvature(alphas, deltas, c) == pytest.approx(float(lam[-1]), rel=1e-3)
    np.testing.assert_allclose(deltas, quadratic_model(alphas, c, float(lam[-1])),
                               rtol=2e-2, atol=1e-12)
    assert curvature_along(op, v) == pytest.approx(float(lam[-1]), rel=1e-9)


def test_line_search_finds_minima_and_flags_unbounded_directions():
    out = line_search(lambda a: (a - 3.0) ** 2 - 9.0)
    assert out["alpha"] == pytest.approx(3.0, rel=2e-3) and not out["unbounded"]
    assert out["evals"] < 40
    assert line_search(lambda a: -a, cap=100)["unbounded"]
    rising = line_search(lambda a: a)  # no descent even at alpha0: stays in [0, alpha0]
    assert rising["alpha"] <= 1e-3 and rising["delta"] <= 1e-3


def test_every_point_along_a_direction_costs_one_forward_pass(tmp_path, monkeypatch):
    from companion.analyses import attach_analyses
    from companion.config import RunConfig
    from companion.probes import Metrics
    from companion.probes_snapshots import DirectionFits
    from companion.results import ResultsCache
    from companion.training import train

    probe = DirectionFits(n_hessian=64, steps=(20,), la=1, sa=1, n_fit=5, n_slice=5,
                          search_rtol=1e-2)
    config = RunConfig(model="lenet_small", dataset="mnist10k", augment=False,
                       optimizer="rmsprop", lr=3.6e-4, momentum=0.22, batch_size=32,
                       n_train=256, n_test=64, max_steps=20, snapshot_steps=(0, 20),
                       device="cpu", probes=(Metrics(n_eval=256), probe))
    cache = ResultsCache(tmp_path / "runs", read_only_roots=[])
    result = train(config, cache)
    calls, loss_at = [], HessianOperator.loss_at

    def counted(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("delta"))
        return loss_at(self, *args, **kwargs)

    monkeypatch.setattr(HessianOperator, "loss_at", counted)
    rows = attach_analyses(config, result, cache)["fits"]["steps"][0]["directions"]
    searched = sum(r["evals"] for r in rows)
    fitted = len(rows) * len(probe.ranges) * probe.n_fit
    sliced = sum(len(r["slices"]) * probe.n_slice for r in rows if "slices" in r)
    assert sum(d is None for d in calls) == 1          # the loss at the step, once
    assert len(calls) == 1 + searched + fitted + sliced and searched >= 2 * len(rows)
