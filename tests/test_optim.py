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
    monkeypatch.setitem(optim.OPTIMIZERS, "nudged", optim.OptimizerSpec(
        lambda params, config, options: torch.optim.SGD(params, lr=config.lr * options["scale"]),
        options={"scale": 1.0}))
    config = RunConfig(optimizer="nudged").with_overrides(scale="0.5")
    assert config.optimizer_options == (("scale", 0.5),)
    assert config.identity()["optimizer_options"] == {"scale": 0.5}
    assert optim.build_optimizer(torch.nn.Linear(2, 2), config).param_groups[0]["lr"] == 0.05
    with pytest.raises(ParameterError, match="has no option"):
        validate(RunConfig(optimizer="sgd", optimizer_options=(("scale", 2.0),)))
    with pytest.raises(KeyError, match="unknown optimizer"):
        optim.optimizer_spec("adam")
