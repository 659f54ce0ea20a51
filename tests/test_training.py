"""Training with tracking on real (tiny) CIFAR-10 / PTB subsets, with a temporary cache."""

import math

import pytest

from companion.config import RunConfig
from companion.probes import Metrics
from companion.results import ResultsCache
from companion.training import train

from conftest import needs_cifar

TINY = RunConfig(model="simplecnn", width=0.125, n_train=128, n_test=64, epochs=2, batch_size=32,
                 device="cpu").with_overrides(n_eval=64, n_hessian=32, hessian_batch_size=16,
                                              top_k=2, lanczos_tol=1e-3)


@needs_cifar
def test_run_records_curvature_and_provenance_then_loads_from_cache(tmp_path):
    cache = ResultsCache(tmp_path)
    result = train(TINY, cache)
    tracked = [r for r in result["history"] if "eigenvalues" in r]
    assert [r["epoch"] for r in tracked] == [0.0, 1.0, 2.0]
    assert [s for s, _, _ in result["step_log"]] == list(range(1, 9))  # 4 steps per epoch
    assert all(0.0 <= acc <= 1.0 and loss > 0 for _, loss, acc in result["step_log"])
    for record in tracked:
        assert len(record["eigenvalues"]) == 2 and record["eigenvalues"][0] >= record["eigenvalues"][1]
        assert 0.0 <= record["train_acc"] <= 1.0 and math.isfinite(record["test_loss"])
    prov = result["provenance"]
    assert prov["parameters"]["lr"] == TINY.lr and prov["seed"] == 0
    assert {"commit", "device", "versions", "wall_time_s", "key", "code_version"} <= set(prov)
    assert train(TINY, cache) == result  # second call: from the cache
    assert not cache.checkpoint_path(TINY).exists()


@needs_cifar
def test_interrupted_run_resumes_to_the_same_numbers(tmp_path):
    straight = train(TINY, ResultsCache(tmp_path / "a"))
    cache = ResultsCache(tmp_path / "b")
    partial = train(TINY, cache, stop_after_epochs=1)
    assert partial["interrupted"] and cache.checkpoint_path(TINY).exists()
    resumed = train(TINY, cache)
    strip = lambda h: [{k: v for k, v in r.items() if k != "hessian_seconds"} for r in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(straight["history"])


@needs_cifar
def test_divergence_is_recorded_not_raised(tmp_path):
    config = TINY.with_overrides(lr=50.0, epochs=3)
    result = train(config, ResultsCache(tmp_path))
    assert result["diverged_at_step"] is not None
    assert result["history"][-1]["phase"] == "diverged"


@needs_cifar
def test_full_batch_gd_and_resnet(tmp_path):
    config = TINY.with_overrides(model="resnet32", width=0.25, optimizer="gd", augment=False,
                                 weight_decay=0.01)
    result = train(config, ResultsCache(tmp_path))
    assert result["steps_per_epoch"] == 1 and len(result["history"]) == 3


def test_lstm_on_ptb(tmp_path):
    import os
    if not os.environ.get("COMPANION_MIRROR"):
        pytest.skip("PTB needs COMPANION_MIRROR offline")
    config = RunConfig(model="lstm", dataset="ptb", width=0.05, n_train=600, n_test=200,
                       bptt=10, batch_size=10, epochs=1, lr=1.0, augment=False,
                       device="cpu").with_overrides(n_eval=100, n_hessian=100,
                                                    hessian_batch_size=5, top_k=2,
                                                    lanczos_tol=1e-2)
    result = train(config, ResultsCache(tmp_path))
    assert "valid split" in result["data"] and len(result["history"]) == 2


@needs_cifar
def test_a_killed_run_resumes_to_the_same_numbers(tmp_path):
    """SIGKILL a training process after its first checkpoint, then run again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    config = TINY.with_overrides(epochs=4)
    straight = train(config, ResultsCache(tmp_path / "a"))
    cache = ResultsCache(tmp_path / "b")
    code = ("import companion\nfrom companion.training import train\n"
            "from companion.results import ResultsCache\nfrom companion.config import RunConfig\n"
            f"import pickle, sys\nconfig = pickle.loads({__import__('pickle').dumps(config)!r})\n"
            "train(config, ResultsCache(sys.argv[1]), stop_after_epochs=None)\n")
    process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "b")])
    checkpoint = cache.checkpoint_path(config)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert checkpoint.exists() and cache.load(config) is None, "killed before it finished"
    resumed = train(config, cache)
    strip = lambda h: [{k: v for k, v in r.items() if k != "hessian_seconds"} for r in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(straight["history"])
    assert resumed["step_log"] == straight["step_log"]


@needs_cifar
def test_checkpoint_from_other_code_is_not_resumed(tmp_path, monkeypatch):
    import torch

    from companion import results

    cache = ResultsCache(tmp_path)
    train(TINY, cache, stop_after_epochs=1)
    path = cache.checkpoint_path(TINY)
    model = torch.nn.Linear(1, 1)
    args = (model, torch.optim.SGD(model.parameters(), lr=0.1), torch.Generator())
    monkeypatch.setattr(results, "code_version", lambda: "other")
    assert results.restore_checkpoint(path, *args) is None and not path.exists()


@needs_cifar
def test_steering_optimizer_refreshes_directions_and_resumes_exactly(tmp_path):
    """nudged with γ = rest = 1 is SGD: the same numbers as plain SGD, plus a refresh log;
    refresh_once keeps the first directions; an interrupted steered run resumes exactly."""
    metrics_only = TINY.with_overrides(probes=(TINY.probe("metrics"),))
    steered = metrics_only.with_overrides(optimizer="nudged").with_overrides(
        directions=2, refresh_every=3, refresh_examples=32)
    plain = train(metrics_only, ResultsCache(tmp_path / "sgd"))
    same = train(steered, ResultsCache(tmp_path / "unit"))
    assert [round(l, 4) for _, l, _ in same["step_log"]] == \
        [round(l, 4) for _, l, _ in plain["step_log"]]
    assert [r["step"] for r in same["refreshes"]] == [0, 3, 6, 8]  # and after the last step
    assert same["refreshes"][-1]["final"] and not same["refreshes"][-1]["applied"]
    assert all(r["applied"] and len(r["eigenvalues"]) == 2 for r in same["refreshes"][:-1])
    assert same["refreshes"][1]["overlap"] is not None
    const = train(steered.with_overrides(rest_scale=0.0, refresh_once=True),
                  ResultsCache(tmp_path / "const"))
    assert [r["applied"] for r in const["refreshes"]] == [True, False, False, False]
    nudged = steered.with_overrides(gamma=0.1)
    straight = train(nudged, ResultsCache(tmp_path / "a"))
    cache = ResultsCache(tmp_path / "b")
    assert train(nudged, cache, stop_after_epochs=1)["interrupted"]
    resumed = train(nudged, cache)
    assert resumed["step_log"] == straight["step_log"]
    assert resumed["refreshes"][-1]["eigenvalues"] == straight["refreshes"][-1]["eigenvalues"]


@needs_cifar
def test_a_run_can_start_from_another_runs_final_weights(tmp_path):
    cache = ResultsCache(tmp_path)
    parent = TINY.with_overrides(probes=(TINY.probe("metrics"),), n_test=64)
    child = parent.with_overrides(start_from=parent, epochs=1, lr=0.001)
    result = train(child, cache)
    parent_result = cache.load(parent)
    assert parent_result is not None and cache.weights_path(parent).exists()
    assert result["history"][0]["train_loss"] == pytest.approx(
        parent_result["history"][-1]["train_loss"], rel=1e-6)
    assert child.identity()["start_from"] == parent.identity()
    from companion.config import ParameterError, validate
    with pytest.raises(ParameterError, match="start_from must train the same network"):
        validate(child.with_overrides(width=0.25))


def test_learning_rate_drop_schedule():
    from companion.training import learning_rate

    config = TINY.with_overrides(lr=0.1, lr_drop_epoch="2", lr_drop_factor=0.1)
    assert [round(learning_rate(config, e), 6) for e in range(4)] == [0.1, 0.1, 0.01, 0.01]
    assert learning_rate(TINY, 50) == TINY.lr
    from companion.config import ParameterError, validate
    with pytest.raises(ParameterError, match="lr_drop_epoch must be a positive integer"):
        validate(TINY.with_overrides(lr_drop_epoch=0))


@needs_cifar
def test_the_loop_applies_the_drop(tmp_path):
    """After the drop to η·1e-6, a second epoch barely moves the weights of the first."""
    import torch

    cache = ResultsCache(tmp_path)
    base = TINY.with_overrides(probes=(TINY.probe("metrics"),), epochs=1)
    dropped = base.with_overrides(epochs=2, lr_drop_epoch=1, lr_drop_factor=1e-6)
    free = base.with_overrides(epochs=2)
    weights = {}
    for name, config in (("one", base), ("dropped", dropped), ("free", free)):
        train(config, cache)
        weights[name] = torch.cat([w.reshape(-1).float() for w in
                                   torch.load(cache.weights_path(config)).values()])
    assert torch.allclose(weights["one"], weights["dropped"], atol=1e-5)
    assert not torch.allclose(weights["one"], weights["free"], atol=1e-3)


@needs_cifar
def test_refreshes_track_more_eigenvalues_than_they_steer_by_and_the_table_probes_run(tmp_path):
    from companion.probes import Metrics
    from companion.probes_tables import HessianNorms, Validation

    config = TINY.with_overrides(
        optimizer="nudged", probes=(Metrics(n_eval=64), Validation(n_val=64),
                                    HessianNorms(n_probes=2, n_hessian=32, hessian_batch_size=16))
    ).with_overrides(gamma=0.1, directions=1, tracked=3, refresh_examples=32)
    result = train(config, ResultsCache(tmp_path))
    assert [len(r["eigenvalues"]) for r in result["refreshes"]] == [3, 3, 3]  # each epoch, end
    assert result["refreshes"][1]["overlap"] is not None  # of the K = 1 steering subspace
    first = result["refreshes"][0]
    assert first["nudged_steps"] == pytest.approx([0.1 * config.lr * first["eigenvalues"][0]])
    epochs = [r for r in result["history"] if r["phase"] in ("init", "epoch")]
    assert all({"val_acc", "frobenius_hutch", "frobenius_code", "distance"} <= set(r)
               for r in epochs)
    assert epochs[0]["distance"] == 0 < epochs[-1]["distance"]


@needs_cifar
@pytest.mark.parametrize("model,dataset,options", [("simplecnn", "fmnist", {}),
                                                   ("textcnn", "imdb", {"augment": False})])
def test_the_nsgd_chapter_data_sets_train(tmp_path, model, dataset, options):
    config = TINY.with_overrides(model=model, dataset=dataset, width=0.25, **options)
    result = train(config, ResultsCache(tmp_path))
    assert math.isfinite(result["history"][-1]["eigenvalues"][0])
    assert dataset in result["data"].lower().replace("-", "").replace("fashionmnist", "fmnist")


def test_stop_grad_norm_ends_a_run_and_a_long_gd_run_checkpoints_sparingly(tmp_path, monkeypatch):
    from companion import training

    config = RunConfig(model="mlp", dataset="blobs", augment=False, optimizer="gd", lr=0.5,
                       max_steps=3000, n_train=60, track_every=1000, probes=(Metrics(n_eval=60),)
                       ).with_overrides(classes=2, dim=5, hidden=(4,))
    saves = []
    real = training.save_checkpoint
    monkeypatch.setattr(training, "save_checkpoint", lambda *a: (saves.append(1), real(*a)))
    full = train(config, ResultsCache(tmp_path / "a"))
    assert len(full["step_log"]) == 3000 and len(saves) <= 3   # not one save per 1-step epoch
    stopped = train(config.with_overrides(stop_grad_norm=0.05), ResultsCache(tmp_path / "b"))
    assert 1 <= stopped["stopped_at_step"] < 3000
    assert len(stopped["step_log"]) == stopped["stopped_at_step"]
    assert stopped["history"][-1]["step"] == stopped["stopped_at_step"]


@needs_cifar
def test_steps_read_back_in_groups_log_the_same_and_diverge_at_the_same_step(tmp_path,
                                                                             monkeypatch):
    """On a GPU the loop reads losses back every SYNC_EVERY_CUDA steps: the step log and the
    divergence step must be those of the per-step check (here forced on the CPU: groups of 3)."""
    from companion import training

    config = TINY.with_overrides(lr=50.0, epochs=3)
    per_step = train(config, ResultsCache(tmp_path / "a"))
    monkeypatch.setattr(training, "_sync_every", lambda config, device: 3)
    grouped = train(config, ResultsCache(tmp_path / "b"))
    assert grouped["diverged_at_step"] == per_step["diverged_at_step"] is not None
    assert grouped["step_log"] == per_step["step_log"]
    assert grouped["history"][-1] == per_step["history"][-1]
    fine = train(TINY, ResultsCache(tmp_path / "c"))
    monkeypatch.undo()
    assert fine["step_log"] == train(TINY, ResultsCache(tmp_path / "d"))["step_log"]
