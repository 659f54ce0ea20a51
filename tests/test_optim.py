import pytest
import torch

from companion import optim
from companion.config import ParameterError, RunConfig, validate


def test_registry_builds_torch_optimizers():
    model = torch.nn.Linear(3, 2)
    for name in optim.OPTIMIZERS:
        opt = optim.build_optimizer(model, RunConfig(optimizer=name, lr=0.3, momentum=0.5))
        assert isinstance(opt, torch.optim.Optimizer) and opt.param_groups[0]["lr"] == 0.3
    assert optim.optimizer_spec("gd").full_batch and not optim.optimizer_spec("sgd").full_batch


def test_optimizer_options_are_declared_validated_and_part_of_identity(monkeypatch):
    monkeypatch.setitem(optim.OPTIMIZERS, "scaled", optim.OptimizerSpec(
        lambda params, config, options: torch.optim.SGD(params, lr=config.lr * options["scale"]),
        options={"scale": 1.0}))
    config = RunConfig(optimizer="scaled").with_overrides(scale="0.5")
    assert config.optimizer_options == (("scale", 0.5),)
    assert config.identity()["optimizer_options"] == {"scale": 0.5}
    assert optim.build_optimizer(torch.nn.Linear(2, 2), config).param_groups[0]["lr"] == 0.05
    with pytest.raises(ParameterError, match="has no option"):
        validate(RunConfig(optimizer="sgd", optimizer_options=(("scale", 2.0),)))
    with pytest.raises(KeyError, match="unknown optimizer"):
        optim.optimizer_spec("adam")


def _net_and_directions(k=3, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    dim = sum(p.numel() for p in model.parameters())
    vecs, _ = torch.linalg.qr(torch.randn(dim, k))
    return model, vecs


def _grad(model, x, y):
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("gamma,rest", [(0.1, 1.0), (1.0, 0.0), (0.0, 1.0), (4.0, 1.0)])
def test_nudged_step_is_the_projected_formula(gamma, rest):
    model, vecs = _net_and_directions()
    x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
    opt = optim.NudgedSGD(model.parameters(), lr=0.3, gamma=gamma, rest_scale=rest,
                          weight_decay=0.01)
    opt.set_directions(vecs)
    theta = _flat(model)
    g = _grad(model, x, y) + 0.01 * theta
    proj = vecs @ (vecs.T @ g)
    opt.step()
    expected = theta - 0.3 * (rest * (g - proj) + gamma * proj)
    assert torch.allclose(_flat(model), expected, atol=1e-6)


def test_nudged_momentum_variants_follow_the_authors_code():
    """correct_v: v = μm − ηg, θ += nudge(v), m ← v; correct_both nudges g first too."""
    for variant in ("correct_v", "correct_both"):
        model, vecs = _net_and_directions()
        opt = optim.NudgedSGD(model.parameters(), lr=0.2, gamma=0.1, momentum=0.9,
                              variant=variant)
        opt.set_directions(vecs)
        nudge = lambda v: v + (0.1 - 1.0) * (vecs @ (vecs.T @ v))  # noqa: E731
        theta, m = _flat(model), torch.zeros_like(_flat(model))
        for step in range(3):
            x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
            g = _grad(model, x, y)
            if variant == "correct_both":
                g = nudge(g)
            v = 0.9 * m - 0.2 * g
            theta, m = theta + nudge(v), v
            opt.step()
            assert torch.allclose(_flat(model), theta, atol=1e-6), (variant, step)


def test_nudged_with_unit_scales_is_torch_sgd_and_checkpoints_its_directions():
    model_a, vecs = _net_and_directions()
    model_b, _ = _net_and_directions()
    a = optim.NudgedSGD(model_a.parameters(), lr=0.1, momentum=0.5, weight_decay=0.02)
    a.set_directions(vecs)
    b = torch.optim.SGD(model_b.parameters(), lr=0.1, momentum=0.5, weight_decay=0.02)
    for _ in range(4):
        x, y = torch.randn(8, 4), torch.randint(0, 2, (8,))
        _grad(model_a, x, y), _grad(model_b, x, y)
        a.step(), b.step()
    assert torch.allclose(_flat(model_a), _flat(model_b), atol=1e-6)
    restored = optim.NudgedSGD(model_a.parameters(), lr=0.1, momentum=0.5)
    restored.load_state_dict(a.state_dict())
    assert torch.equal(restored.directions, a.directions)
    with pytest.raises(ValueError, match="directions must have shape"):
        a.set_directions(torch.randn(5, 2))


def test_nudged_options_are_validated_before_anything_runs():
    with pytest.raises(ParameterError, match="variant must be one of"):
        validate(RunConfig(optimizer="nudged").with_overrides(variant="correct_g"))
    with pytest.raises(ParameterError, match="directions must be a positive integer"):
        validate(RunConfig(optimizer="nudged").with_overrides(directions=0))
    with pytest.raises(ParameterError, match="unknown parameter 'gamma'"):
        RunConfig(optimizer="sgd").with_overrides(gamma=0.1)
