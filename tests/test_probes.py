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


@needs_cifar
def test_sharpest_directions_match_direct_computations():
    """Cosines, ΔL(α) and cross-sections recomputed by hand from the probe's eigenvectors
    and the same mini-batches (float64); parameters and the global RNG are left untouched."""
    from companion.probes import SharpestDirections
    from companion.tasks import generator

    config = TINY.with_overrides(lr=0.05, weight_decay=0.01, batch_size=16).with_overrides(
        probes=(SharpestDirections(top_k=3, n_hessian=16, hessian_batch_size=8,
                                   lanczos_tol=1e-8, n_gradients=3, n_loss=32,
                                   alphas=(0.5, 2.0), step_directions=(1, 2),
                                   section_directions=(1, 3), section_k=(-1.0, 0.0, 2.0)),))
    _, model = _setup()
    task = build_task(config, torch.device("cpu"))
    probe = config.probe("directions")
    prepared = probe.prepare(task, config, torch.device("cpu"))
    loss_fn, batches, epoch_batches, loss_chunks = prepared
    def double_batches(gen):
        return ((x.double(), y) for x, y in epoch_batches(gen))

    prepared = (loss_fn, [(x.double(), y) for x, y in batches], double_batches,
                [(x.double(), y) for x, y in loss_chunks])
    theta = torch.nn.utils.parameters_to_vector(model.parameters()).detach().clone()
    rng, state = torch.get_rng_state(), {}
    record = probe.measure(model, prepared, state, config, step=7)
    assert torch.equal(theta, torch.nn.utils.parameters_to_vector(model.parameters()))
    assert torch.equal(rng, torch.get_rng_state())
    vecs = state["vecs"]

    def objective(vector, chunks):
        torch.nn.utils.vector_to_parameters(vector, model.parameters())
        model.eval()
        n = sum(len(y) for _, y in chunks)
        value = sum(loss_fn(model(x), y) * len(y) / n for x, y in chunks)
        return value + 0.005 * vector.pow(2).sum()

    grads = []
    for x, y in epoch_batches(generator(torch.device("cpu"), config.seed + 1_000_003 + 7)):
        model.train()
        params = list(model.parameters())
        loss = loss_fn(model(x.double()), y)
        flat = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])
        grads.append(flat + 0.01 * theta)
        if len(grads) == 3:
            break
    torch.nn.utils.vector_to_parameters(theta, model.parameters())
    g = torch.stack(grads)
    coef = g @ vecs
    cos = (coef / g.norm(dim=1, keepdim=True)).abs().mean(0)
    assert torch.allclose(torch.tensor(record["cosines"], dtype=torch.float64), cos, atol=1e-8)
    with torch.no_grad():
        base = float(objective(theta, prepared[3]))
        for i in (1, 2):
            e = vecs[:, i - 1]
            for a, got in zip((0.5, 2.0), record["step_change"][str(i)]):
                after = sum(float(objective(theta - a * 0.05 * c * e, prepared[3]))
                            for c in coef[:, i - 1]) / len(coef)
                assert abs(got - 100 * (after / base - 1)) < 1e-7, (got, after, base, record["loss"])
        for i in (1, 3):
            step = 0.05 * coef[:, i - 1].abs().mean()
            expected = [float(objective(theta + k * step * vecs[:, i - 1], prepared[3]))
                        for k in (-1.0, 0.0, 2.0)]
            assert torch.allclose(torch.tensor(record["sections"][str(i)]),
                                  torch.tensor(expected), atol=1e-9)
    torch.nn.utils.vector_to_parameters(theta, model.parameters())
    assert len(coef) == record["n_gradients"] == 3
    assert record["num_parameters"] == theta.numel() and abs(record["loss"] - base) < 1e-9
