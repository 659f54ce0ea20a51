"""Snapshots along training and their post-hoc analyses (Alain et al. 2019): the numerics
against dense float64 references, the training loop's snapshots, the analysis cache (the
loss along single directions: test_probes_directions.py)."""

import math

import pytest
import torch
from torch import nn

from companion import snapshot_curvature as sc
from companion.analyses import attach_analyses
from companion.config import ParameterError, RunConfig, validate
from companion.lanczos import lanczos
from companion.optim import RMSPropTF
from companion.probes import Metrics
from companion.probes_snapshots import DirectionFits, ExtremeSpectrum, KeptCurvature
from companion.results import ResultsCache, run_key


def _spectrum_matrix(seed=0, n=200):
    """Symmetric: a few large outliers, a bulk at 0 and a small negative cluster."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    vals = torch.cat([torch.tensor([60.0, 41.0, 30.0]), 1e-3 * torch.randn(n - 8, generator=gen,
                                                                           dtype=torch.float64),
                      torch.tensor([-0.62, -0.61, -0.588, -0.568, -0.562])])
    return (q * vals) @ q.T, torch.sort(vals).values


def test_relative_criterion_resolves_the_bottom_of_the_spectrum():
    A, exact = _spectrum_matrix()
    loose = lanczos(A, k=3, which="SA", tol=1e-3)
    tight = lanczos(A, k=3, which="SA", tol=1e-3, criterion="relative")
    rel = ((tight.vals - exact[:3]).abs() / exact[:3].abs()).max()
    assert rel < 1e-3 and tight.converged
    assert tight.num_matvecs >= loose.num_matvecs
    for i in range(3):  # residuals are below tol·|θ_i|, checked with the dense matrix
        v = tight.vecs[:, i]
        assert (A @ v - tight.vals[i] * v).norm() <= 2e-3 * abs(float(tight.vals[i]))
    with pytest.raises(ValueError, match="criterion"):
        lanczos(A, k=1, criterion="median")


def test_rmsprop_torch_variant_matches_torch_and_tf_variant_follows_its_formula():
    torch.manual_seed(0)
    a, b = nn.Linear(5, 3), nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    ours = RMSPropTF(a.parameters(), lr=0.01, decay=0.95, momentum=0.22, eps=1e-10, impl="torch")
    ref = torch.optim.RMSprop(b.parameters(), lr=0.01, alpha=0.95, momentum=0.22, eps=1e-10)
    for _ in range(5):
        x = torch.randn(8, 5)
        for m, opt in ((a, ours), (b, ref)):
            opt.zero_grad()
            m(x).pow(2).mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)
    # TF1: ms₀ = 1, lr inside the momentum buffer, per-step exponential decay of lr
    w = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = RMSPropTF([w], lr=0.1, decay=0.9, momentum=0.5, lr_decay=0.5, lr_decay_steps=2.0)
    ms, mom, theta = torch.ones(2), torch.zeros(2), w.detach().clone()
    for t in range(3):
        g = torch.tensor([0.3, -0.7]) * (t + 1)
        w.grad = g.clone()
        opt.step()
        ms = 0.9 * ms + 0.1 * g * g
        mom = 0.5 * mom + 0.1 * 0.5 ** (t / 2.0) * g / torch.sqrt(ms + 1e-10)
        theta = theta - mom
    torch.testing.assert_close(w.detach(), theta)


def test_principal_cosines():
    q, _ = torch.linalg.qr(torch.randn(30, 4, dtype=torch.float64))
    assert sc.principal_cosines(q, q[:, [2, 0, 3, 1]]) == pytest.approx([1.0] * 4)
    assert max(sc.principal_cosines(q[:, :2], q[:, 2:])) == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- training + probes
def _config(probe=None, **kw):
    base = RunConfig(model="lenet_small", dataset="mnist10k", augment=False, optimizer="rmsprop",
                     lr=3.6e-4, momentum=0.22, batch_size=32, n_train=256, n_test=64,
                     max_steps=20, snapshot_steps=(0, 5, 20), device="cpu",
                     probes=(Metrics(n_eval=256),) + ((probe,) if probe else ()))
    return base.with_overrides(**kw)


def test_post_hoc_probes_leave_the_run_key_alone_and_are_validated():
    a = _config(ExtremeSpectrum(la=3))
    assert run_key(a) == run_key(_config(KeptCurvature(t0s=(5,)))) == run_key(_config())
    assert run_key(a) != run_key(_config(ExtremeSpectrum(la=3), max_steps=21))
    with pytest.raises(ParameterError, match="no snapshot"):
        validate(_config(KeptCurvature(t0s=(7,))))
    with pytest.raises(ParameterError, match="increasing"):
        validate(_config(snapshot_steps=(5, 0)))
    with pytest.raises(ParameterError, match="impl"):
        validate(_config(impl="keras"))
    assert _config(ExtremeSpectrum(), steps="0,20").probes[-1].steps == (0, 20)


def test_snapshots_and_analyses_are_saved_and_reused(tmp_path):
    from companion.training import train

    cache = ResultsCache(tmp_path / "runs", read_only_roots=[])
    config = _config(KeptCurvature(n_hessian=64, t0s=(5,), la=2, sa=1, tol=1e-3))
    result = train(config, cache)
    assert [r["step"] for r in result["history"] if r["phase"] == "snapshot"] == [0, 5, 20]
    assert max(s for s, *_ in result["step_log"]) == 20
    final = torch.load(cache.weights_path(config))
    snap = torch.load(cache.snapshot_path(config, 20))
    assert all(torch.equal(final[k], snap[k]) for k in final)
    out = attach_analyses(config, result, cache)
    kept = out["kept"]
    i = kept["steps"].index(5)  # at t0 itself, vᵀHv is the eigenvalue
    assert kept["q_top"]["5"][i] == pytest.approx(kept["lam_top"][i], rel=1e-3)
    assert kept["q_bottom"]["5"][i] == pytest.approx(kept["lam_bottom"][i], rel=1e-3)
    assert kept["lam_bottom"][i] < 0 < kept["lam_top"][i]
    assert kept["provenance"]["matvecs"] > 0
    again = attach_analyses(config, result, cache)  # from the cache: no products
    assert again["kept"] == kept
    fits = attach_analyses(config.with_overrides(
        probes=(Metrics(n_eval=256), DirectionFits(n_hessian=64, steps=(20,), la=1, sa=1,
                                                   n_fit=5, n_slice=5, search_rtol=1e-2))),
        result, cache)["fits"]
    rows = fits["steps"][0]["directions"]
    assert [r["which"] for r in rows] == ["LA", "SA"]
    top = rows[0]
    assert top["lam"] * top["alpha"] == pytest.approx(1.0, rel=0.5)  # α* ≈ 1/λ along v1
    assert all(r["delta"] <= 0 and math.isfinite(r["fitted"][0]) for r in rows)
