"""Probes measured on a real (tiny) CIFAR-10 task, checked against dense float64 references."""

import torch

from companion.config import RunConfig
from companion.models import build_model
from companion.probes import Metrics, TopEigen
from companion.tasks import build_task

from conftest import needs_cifar

TINY = RunConfig(model="simplecnn", width=0.05, n_train=64, n_test=32, device="cpu",
                 probes=(Metrics(n_eval=64), TopEigen(top_k=3, n_hessian=16,
                                                      hessian_batch_size=8, lanczos_tol=1e-6)))


def _setup():
    task = build_task(TINY, torch.device("cpu"))
    torch.manual_seed(0)
    model = build_model("simplecnn", **task.build_options).double()
    return task, model


@needs_cifar
def test_top_eigen_matches_dense_hessian_and_warm_start_saves_products():
    task, model = _setup()
    probe = TINY.probe("eigen")
    loss_fn, batches = probe.prepare(task, TINY, torch.device("cpu"))
    batches = [(x.double(), y) for x, y in batches]
    params = [p for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in params])

    def loss_of(vector):
        chunks, offset = {}, 0
        for (name, p) in model.named_parameters():
            chunks[name] = vector[offset:offset + p.numel()].view_as(p)
            offset += p.numel()
        total = 0.0
        for x, y in batches:
            out = torch.func.functional_call(model, chunks, (x,))
            total = total + loss_fn(out, y) * len(x) / 16
        return total

    dense = torch.autograd.functional.hessian(loss_of, flat)
    reference = torch.linalg.eigvalsh(dense).flip(0)[:3]
    state = {}
    cold = probe.measure(model, (loss_fn, batches), state, TINY, step=0)
    assert torch.allclose(torch.tensor(cold["eigenvalues"], dtype=torch.float64), reference,
                          rtol=1e-6, atol=1e-8)
    assert state["vecs"].shape == (flat.numel(), 3)
    warm = probe.measure(model, (loss_fn, batches), state, TINY, step=1)
    assert warm["lanczos_matvecs"] < cold["lanczos_matvecs"]
    assert torch.allclose(torch.tensor(warm["eigenvalues"]), torch.tensor(cold["eigenvalues"]),
                          rtol=1e-6)


@needs_cifar
def test_metrics_match_a_direct_evaluation_and_probes_leave_the_rng_alone():
    task, model = _setup()
    model = model.float()
    metrics = TINY.probe("metrics")
    prepared = metrics.prepare(task, TINY, torch.device("cpu"))
    rng = torch.get_rng_state()
    record = metrics.measure(model, prepared, {}, TINY, step=0)
    eigen = TINY.probe("eigen")
    eigen.measure(model, eigen.prepare(task, TINY, torch.device("cpu")), {}, TINY, step=0)
    assert torch.equal(rng, torch.get_rng_state())
    _, train_chunks, _ = prepared
    x, y = train_chunks[0]
    model.eval()
    with torch.no_grad():
        out = model(x)
    assert abs(record["train_acc"] - (out.argmax(1) == y).float().mean().item()) < 1e-9
    assert abs(record["train_loss"] - torch.nn.functional.cross_entropy(out, y).item()) < 1e-5
