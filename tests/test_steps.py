"""The training step: eager on any device; on a GPU, replayed CUDA graphs must give the eager
step's numbers (TF32 off for the comparison), with the warm-up that capture needs leaving no
trace. The GPU tests are skipped where there is no GPU (CI); run them on one."""

import pytest
import torch

from companion import steps
from companion.models import build_model, cross_entropy

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _setup(model_name, device, momentum=0.9, seed=0):
    torch.manual_seed(seed)
    model = build_model(model_name, width=0.25).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=momentum, weight_decay=1e-3)
    gen = torch.Generator(device=device).manual_seed(1)
    batches = [(torch.randn(16, 3, 32, 32, generator=gen, device=device),
                torch.randint(0, 10, (16,), generator=gen, device=device)) for _ in range(5)]
    batches.append((batches[0][0][:6], batches[0][1][:6]))  # a short last batch
    return model, opt, batches


def test_eager_step_returns_device_tensors_and_matches_a_plain_step():
    model, opt, batches = _setup("simplecnn", torch.device("cpu"))
    twin, twin_opt, _ = _setup("simplecnn", torch.device("cpu"))
    for x, y in batches:
        loss, correct, norm = steps.eager_step(model, opt, cross_entropy, x, y, len(x), True)
        twin_opt.zero_grad()
        out = twin(x)
        plain = cross_entropy(out, y)
        plain.backward()
        twin_opt.step()
        assert torch.is_tensor(loss) and float(loss) == plain.item()
        assert float(correct) == float((out.argmax(-1) == y).sum()) and norm > 0
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)


def test_graphs_only_where_they_are_safe():
    model, opt, _ = _setup("simplecnn", torch.device("cpu"))
    assert not steps.graphable(model, opt, torch.device("cpu"), False, False)
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        assert steps.graphable(model, opt, gpu, False, False)
        assert not steps.graphable(model, opt, gpu, True, False)  # full-batch chunks
        assert not steps.graphable(model, opt, gpu, False, True)  # grad norm per step


@cuda
@pytest.mark.parametrize("model_name,momentum", [("simplecnn", 0.0), ("resnet32", 0.9)])
def test_graphed_steps_equal_eager_steps(model_name, momentum, monkeypatch):
    monkeypatch.setattr(steps, "TRAIN_TF32", False)
    device = torch.device("cuda")
    model, opt, batches = _setup(model_name, device, momentum)
    twin, twin_opt, _ = _setup(model_name, device, momentum)
    graphed = steps.GraphedStep(model, opt, cross_entropy)
    for epoch in range(2):
        if epoch == 1:  # a learning-rate change is a new graph
            for o in (opt, twin_opt):
                o.param_groups[0]["lr"] = 0.01
        for x, y in batches:
            with torch.backends.cudnn.flags(deterministic=True, benchmark=False):
                loss, correct, _ = graphed(x, y)
                ref, ref_correct, _ = steps.eager_step(twin, twin_opt, cross_entropy, x, y,
                                                       len(x), False)
            torch.testing.assert_close(loss, ref, rtol=1e-5, atol=1e-6)
            assert float(correct) == float(ref_correct)
    assert graphed.captures == 4  # (full, short batch) × two learning rates
    for a, b in zip(model.state_dict().values(), twin.state_dict().values()):
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-4, atol=1e-5)
