"""The landscape probe: interpolated losses against a direct evaluation, the training model
untouched, batched against per-α evaluation, and the metrics on known landscapes."""

import copy

import numpy as np
import pytest
import torch

from companion import landscape as L
from companion.chapters.barriers_dynamics_claims import quadratic_walk
from companion.models import build_model, cross_entropy


@pytest.mark.parametrize("name,shape", [("mlp_bn", (1, 28, 28)), ("vgg11_walk", (3, 32, 32))])
def test_interpolate_losses_matches_a_direct_evaluation_and_leaves_the_model(name, shape):
    torch.manual_seed(0)
    model = build_model(name, width=0.125, in_channels=shape[0], image_size=shape[1]).double()
    model.eval()  # a flag the probe must restore: train-mode BN is used on a copy
    x, y = torch.randn(60, *shape, dtype=torch.float64), torch.randint(0, 10, (60,))
    batches = [(x[:25], y[:25]), (x[25:], y[25:])]   # unequal sizes: a weighted mean
    a = L.flat_parameters(model)
    b = a + 0.1 * torch.randn_like(a)
    before = copy.deepcopy(model.state_dict())
    alphas = [0.0, 0.3, 1.0]
    got = L.interpolate_losses(model, cross_entropy, batches, a, b, alphas)
    for alpha, value in zip(alphas, got):
        ref = copy.deepcopy(model).train()
        torch.nn.utils.vector_to_parameters((1 - alpha) * a + alpha * b, ref.parameters())
        with torch.no_grad():
            want = sum(float(cross_entropy(ref(xb), yb)) * len(yb) for xb, yb in batches) / 60
        assert value == pytest.approx(want, rel=1e-10)
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    interp = L.Interpolator(model, cross_entropy, batches)
    looped = interp.line(a, b, alphas, batched=False).numpy()
    vmapped = interp.line(a, b, alphas, batched=True).numpy()
    np.testing.assert_allclose(looped, vmapped, rtol=1e-10)


def test_metrics_of_a_quadratic_under_gd():
    rows, cos = quadratic_walk((1.95, 0.05), steps=40)
    late = rows[10:]
    assert L.valleys(late).mean() >= 0.95
    assert L.barriers(rows, 0).sum() == 0
    assert not L.floor_rises(late).any()
    assert cos[10:].max() < -0.9
    h = L.heights(rows)
    assert np.all(h >= 0) and h[-1] < h[0]


def test_a_double_well_segment_crosses_a_barrier():
    x = np.linspace(-1, 1, 11)
    row = (x ** 2 - 1) ** 2            # from one minimum over the bump to the other
    assert L.barriers(row[None]).tolist() == [True]
    assert L.barrier_heights(row[None])[0] == pytest.approx(1.0)
    assert not L.valleys(row[None])[0]
    descent = np.linspace(2, 1, 11)     # a monotone segment: neither
    assert not L.barriers(descent[None])[0] and not L.valleys(descent[None])[0]
    assert L.heights(descent[None])[0] == pytest.approx(0.5)
    tie = np.array([[1.0, 1.0 + 1e-9, 1.0]])   # float ties are no barrier at τ = 1e-6·L
    assert not L.barriers(tie)[0] and L.barriers(tie, 0)[0]


def test_the_walk_probe_resumes_to_the_same_trace(tmp_path):
    from companion.config import RunConfig
    from companion.probes import Metrics
    from companion.probes_walk import Walk
    from companion.results import ResultsCache
    from companion.training import train

    config = RunConfig(model="mlp_bn", dataset="mnist10k", width=0.1, n_train=300, n_test=100,
                       augment=False, batch_size=50, epochs=3, seed=3,
                       probes=(Metrics(n_eval=100), Walk(n_eval=60, eval_batch=25,
                                                         epochs=(2, 3), every=2)))
    whole = train(config, ResultsCache(tmp_path / "a"))
    cache = ResultsCache(tmp_path / "b")
    assert train(config, cache, stop_after_epochs=2)["interrupted"]
    resumed = train(config, cache)
    walk, again = whole["trace"]["walk"], resumed["trace"]["walk"]
    for key in ("cos", "distance", "norm", "segments"):   # (not the seconds it took)
        assert again[key] == walk[key]
    assert [row[0] for row in walk["segments"]] == [6, 8, 10, 12, 14, 16]
    assert len(walk["cos"]) == 18 and walk["cos"][0] is None
