"""Training with tracking on real (tiny) CIFAR-10 / PTB subsets, with a temporary cache."""

import math

import pytest

from companion.config import RunConfig
from companion.results import ResultsCache
from companion.training import train

from conftest import needs_cifar

TINY = RunConfig(model="simplecnn", width=0.125, n_train=128, n_test=64, n_eval=64, epochs=2,
                 batch_size=32, n_hessian=32, hessian_batch_size=16, top_k=2, lanczos_tol=1e-3,
                 device="cpu")


@needs_cifar
def test_run_records_curvature_and_provenance_then_loads_from_cache(tmp_path):
    cache = ResultsCache(tmp_path)
    result = train(TINY, cache, progress=False)
    tracked = [r for r in result["history"] if "eigenvalues" in r]
    assert [r["epoch"] for r in tracked] == [0.0, 1.0, 2.0]
    for record in tracked:
        assert len(record["eigenvalues"]) == 2 and record["eigenvalues"][0] >= record["eigenvalues"][1]
        assert 0.0 <= record["train_acc"] <= 1.0 and math.isfinite(record["test_loss"])
    prov = result["provenance"]
    assert prov["parameters"]["lr"] == TINY.lr and prov["seed"] == 0
    assert {"commit", "device", "versions", "wall_time_s", "key"} <= set(prov)
    assert train(TINY, cache, progress=False) == result  # second call: from the cache
    assert not cache.checkpoint_path(TINY).exists()


@needs_cifar
def test_interrupted_run_resumes_to_the_same_numbers(tmp_path):
    straight = train(TINY, ResultsCache(tmp_path / "a"), progress=False)
    cache = ResultsCache(tmp_path / "b")
    partial = train(TINY, cache, progress=False, stop_after_epochs=1)
    assert partial["interrupted"] and cache.checkpoint_path(TINY).exists()
    resumed = train(TINY, cache, progress=False)
    strip = lambda h: [{k: v for k, v in r.items() if k != "hessian_seconds"} for r in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(straight["history"])


@needs_cifar
def test_divergence_is_recorded_not_raised(tmp_path):
    config = TINY.with_overrides(lr=50.0, epochs=3)
    result = train(config, ResultsCache(tmp_path), progress=False)
    assert result["diverged_at_step"] is not None
    assert result["history"][-1]["phase"] == "diverged"


@needs_cifar
def test_full_batch_gd_and_resnet(tmp_path):
    config = TINY.with_overrides(model="resnet32", width=0.25, optimizer="gd", augment=False,
                                 weight_decay=0.01)
    result = train(config, ResultsCache(tmp_path), progress=False)
    assert result["steps_per_epoch"] == 1 and len(result["history"]) == 3


def test_lstm_on_ptb(tmp_path):
    import os
    if not os.environ.get("COMPANION_MIRROR"):
        pytest.skip("PTB needs COMPANION_MIRROR offline")
    config = RunConfig(model="lstm", dataset="ptb", width=0.05, n_train=600, n_test=200,
                       n_eval=100, n_hessian=100, hessian_batch_size=5, bptt=10, batch_size=10,
                       epochs=1, lr=1.0, augment=False, top_k=2, lanczos_tol=1e-2, device="cpu")
    result = train(config, ResultsCache(tmp_path), progress=False)
    assert "valid split" in result["data"] and len(result["history"]) == 2
