"""The NSGD tables' probes against dense float64 references on a tiny network."""

import pytest
import torch
import torch.nn as nn

from companion.config import RunConfig
from companion.models import cross_entropy
from companion.probes_tables import HessianNorms, Validation
from companion.tasks import Task


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()


def _task(x, y, x_val, y_val):
    return Task(cross_entropy, None, 2, {}, "toy", lambda n, b, s: [(x[:n], y[:n])],
                lambda n: ([(x[:n], y[:n])], [(x, y)]), lambda n: [(x_val[-n:], y_val[-n:])])


def _dense_hessian(model, x, y, wd):
    params = list(model.parameters())
    shapes = [p.shape for p in params]
    flat0 = torch.cat([p.detach().reshape(-1) for p in params])

    def loss(flat):
        out, i = x, 0
        chunks = []
        for s in shapes:
            n = int(torch.tensor(s).prod())
            chunks.append(flat[i:i + n].view(s))
            i += n
        h = torch.tanh(out @ chunks[0].T + chunks[1])
        return cross_entropy(h @ chunks[2].T + chunks[3], y) + 0.5 * wd * flat.pow(2).sum()
    return torch.autograd.functional.hessian(loss, flat0)


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_hessian_norms_match_the_dense_hessian_with_the_same_probe_vectors(wd):
    model = _net()
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(12, 4, generator=gen, dtype=torch.float64), torch.randint(0, 3, (12,), generator=gen)
    probe = HessianNorms(n_probes=6, n_hessian=12, hessian_batch_size=12)
    config = RunConfig(weight_decay=wd, epochs=3, seed=5)
    prepared = probe.prepare(_task(x, y, x, y), config, "cpu")
    state = {}
    record = probe.measure(model, prepared, state, config, step=4)
    H = _dense_hessian(model, x, y, wd)
    zgen = torch.Generator().manual_seed(config.seed + 7 + 4)  # the probe's own vectors
    norms = torch.stack([(H @ torch.randn(H.shape[0], generator=zgen).double()).norm()
                         for _ in range(6)])
    assert record["frobenius_hutch"] == pytest.approx(float(norms.pow(2).mean().sqrt()), rel=1e-9)
    assert record["frobenius_code"] == pytest.approx(float(norms.mean().sqrt()), rel=1e-9)
    assert record["distance"] == 0.0
    with torch.no_grad():
        model[0].bias.add_(torch.tensor([3.0, 4.0, 0, 0, 0], dtype=torch.float64))
    later = probe.measure(model, prepared, state, config, step=5)  # not an epoch boundary
    assert later == {"distance": pytest.approx(5.0)}


def test_hutchinson_estimates_the_frobenius_norm():
    model = _net()
    gen = torch.Generator().manual_seed(2)
    x, y = torch.randn(20, 4, generator=gen, dtype=torch.float64), torch.randint(0, 3, (20,), generator=gen)
    probe = HessianNorms(n_probes=400, n_hessian=20, hessian_batch_size=20)
    config = RunConfig(epochs=1)
    record = probe.measure(model, probe.prepare(_task(x, y, x, y), config, "cpu"), {}, config, 0)
    exact = float(_dense_hessian(model, x, y, 0.0).norm())
    assert record["frobenius_hutch"] == pytest.approx(exact, rel=0.1)


def test_validation_measures_the_tail_split_and_refuses_an_overlap():
    model = _net()
    x = torch.randn(10, 4, dtype=torch.float64)
    y = model(x).argmax(-1)
    probe = Validation(n_val=4)
    record = probe.measure(model, probe.prepare(_task(x, y, x, y), RunConfig(), "cpu"), {},
                           RunConfig(), 0)
    assert record["val_acc"] == 1.0 and record["val_loss"] > 0
    assert Validation(n_val=0).problems()
