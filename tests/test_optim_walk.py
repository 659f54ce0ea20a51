"""GD with isotropic noise (calibrated as the authors' code does) and the schedules."""

import numpy as np
import pytest
import torch

from companion.optim_walk import NoisyGD, scheduled_lr


class _Task:
    def __init__(self, x, y):
        self.x, self.y = x, y
        self.loss_fn = torch.nn.functional.cross_entropy

    def hessian_batches(self, n, size, seed):
        return [(self.x[i:i + size], self.y[i:i + size]) for i in range(0, min(n, len(self.y)), size)]


def test_noise_std_is_the_largest_gradient_variance_times_the_factor():
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3)
    x, y = torch.randn(40, 5), torch.randint(0, 3, (40,))
    config = type("C", (), {"n_train": 40, "seed": 0})()
    opt = NoisyGD(model.parameters(), lr=0.1, weight_decay=0.0, noise=0.1, chunks=4,
                  is_std=True, seed=0)
    info = opt.calibrate(model, _Task(x, y), config)
    grads = []
    for i in range(0, 40, 10):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i:i + 10]), y[i:i + 10]).backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters()]).double())
    v_max = float((10 * torch.stack(grads).var(0, unbiased=False)).max())
    assert info["v_max"] == pytest.approx(v_max, rel=1e-6)
    assert opt.std == pytest.approx(0.1 * v_max)
    before = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()   # zero gradient: the step is -η ξ, of std η·σ
    moved = torch.cat([(b - p.detach()).reshape(-1) for b, p in zip(before, model.parameters())])
    assert moved.std().item() == pytest.approx(0.1 * opt.std, rel=0.6)


@pytest.mark.parametrize("schedule,p,want", [
    ("step", 0.2, 0.1), ("step", 0.6, 0.01), ("step", 0.8, 0.001),
    ("clr", 0.0, 0.01), ("clr", 1 / 6, 0.2), ("clr", 1 / 3 - 1e-12, 0.01),
    ("trapezoid", 0.0, 0.01), ("trapezoid", 0.5, 0.2), ("trapezoid", 0.9, 0.1)])
def test_schedules(schedule, p, want):
    assert scheduled_lr(schedule, p, 0.1, 0.01, 0.2, 3) == pytest.approx(want, abs=1e-9)
