"""What a run's solvers will hold, checked before any training (companion.run_sizes, through
registry.resolve): eigenpairs beyond the network's parameters, memory beyond the machine's."""

import pytest
import torch
from conftest import needs_cifar

from companion import registry, run_sizes
from companion.config import ParameterError
from companion.models import build_model
from companion.tasks import build_task

GIB = 2 ** 30
pytestmark = needs_cifar  # the networks' shapes come from the data sets (the mirror's)


@pytest.mark.parametrize("fig", ["1", "4", "21", "walk-9", "walk-17", "sagun-1", "sagun-3",
                                 "alain-1"])
def test_the_parameter_count_is_the_built_networks(fig):
    for _, config in registry.resolve(fig, "smoke"):
        task = build_task(config, torch.device("cpu"))
        network = build_model(config.model, **task.build_options)
        assert run_sizes.parameter_count(config) == sum(
            p.numel() for p in network.parameters() if p.requires_grad), (fig, config.model)


@pytest.mark.parametrize("fig, param, what", [
    ("1", {"top_k": "100000000"}, "eigen.top_k=100000000"),
    ("1", {"eigen.top_k": "9519"}, "eigen.top_k=9519"),
    ("table-1", {"tracked": "100000000"}, "the optimizer's tracked=100000000"),
    ("table-1", {"directions": "100000000"}, "the optimizer's directions=100000000"),
    ("alain-1", {"la": "100000000"}, "extremes.la=100000000")])
def test_more_eigenpairs_than_parameters_are_refused_before_training(fig, param, what):
    # Lanczos clamps k to the Hessian's side d and then takes up to d products a solve: the
    # smoke runs hung for hours on top_k=10**8 before this check
    with pytest.raises(ParameterError, match=rf"figure {fig}'s run .*{what} asks for more "
                                             r"eigenpairs than the network has parameters"):
        registry.resolve(fig, "smoke", param)
    assert dict(registry.resolve("1", "smoke", {"top_k": "9518"}))["simplecnn"].probe(
        "eigen").top_k == 9518   # every eigenpair of the smoke network: allowed


def test_memory_beyond_the_machines_is_refused(monkeypatch):
    monkeypatch.setattr(run_sizes, "host_memory", lambda: GIB)
    monkeypatch.setattr(run_sizes, "machine_memory", lambda device: (GIB, "1 GiB here"))
    with pytest.raises(ParameterError, match=r"walk.points=2000 would hold 1 GiB \(2,001 copies "
                                             r"of the network's 154,218 parameters\), more "
                                             r"than 1 GiB here: ask for less, or for a smaller "
                                             r"network"):
        registry.resolve("walk-1", "smoke", {"points": "2000"})
    registry.resolve("walk-1", "smoke", {"points": "20"})
    with pytest.raises(ParameterError, match=r"spectrum.method=dense would hold \d+ GiB \(2 "
                                             r"float64 matrices of [\d,]+ × [\d,]+\)"):
        registry.resolve("sagun-1", "smoke", {"hidden": "300"})
    with pytest.raises(ParameterError, match=r"the Gaussian blobs would hold \d+ GiB, more than "
                                             r"this machine's 1 GiB of memory: lower dim"):
        registry.resolve("sagun-1", "smoke", {"dim": "1000000"})


def test_the_figures_own_settings_fit_their_machines(monkeypatch):
    for fig in registry.figures():
        for _, config in registry.resolve(fig, "default"):
            assert run_sizes.size_problems(config) == [], (fig, "default")
    # the paper profile on the GPU it is meant for (an H200: 139 GiB)
    monkeypatch.setattr(run_sizes, "machine_memory", lambda device: (139 * GIB, "an H200's"))
    for fig in registry.figures():
        for _, config in registry.resolve(fig, "paper"):
            assert run_sizes.size_problems(config) == [], (fig, "paper")


def test_parameters_that_set_no_size_build_no_network(monkeypatch):
    assert run_sizes.sets_sizes({"eigen.top_k": 3}) and run_sizes.sets_sizes({"hidden": "9"})
    assert not run_sizes.sets_sizes({"lr": 0.1, "seed": 3, "metrics.n_eval": 100})

    def built(*args):
        raise AssertionError("a network was built for a parameter that sets no size")
    monkeypatch.setattr(run_sizes, "_count", built)
    registry.resolve("4", "smoke", {"metrics.n_eval": "64"})   # a subset is checked unbuilt

    def loaded(*args):   # nor is a data set loaded for the split's size
        raise AssertionError("a data set was loaded for a parameter that sets no size")
    monkeypatch.setattr(run_sizes, "split_sizes", loaded)
    registry.resolve("4", "smoke", {"lr": "0.3", "seed": "2"})
    registry.resolve("walk-8", "default")


@pytest.mark.parametrize("fig, param, message", [
    ("1", {"n_train": "60000"}, r"n_train=60000 is more than the 50,000 training examples of "
                                r"cifar10 here: ask for at most 50,000, or leave n_train out"),
    ("walk-17", {"n_train": "9000"}, r"n_train=9000 is more than the 8,000 training examples "
                                     r"of mnist10k"),
    ("21", {"n_test": "30000"}, r"n_test=30000 is more than the 25,000 test examples of imdb"),
    ("table-7", {"n_train": "24990"}, r"a validation split of n_val=64 \(the tail of the "
                                      r"training split\) overlaps the 24,990 training examples"),
    ("table-7", {"n_val": "60000"}, r"n_val=60000 .* overlaps the 256 training examples: imdb "
                                    r"has 25,000")])
def test_more_examples_than_the_split_has_are_refused_before_training(fig, param, message):
    # before, the tasks took the whole split silently (the run's provenance still said
    # n_train=60000), or the validation probe failed once the run had started
    with pytest.raises(ParameterError, match=rf"figure {fig}'s run .*{message}"):
        registry.resolve(fig, "smoke", param)
    registry.resolve("1", "smoke", {"n_train": "50000"})   # the whole split: allowed
    registry.resolve("table-7", "smoke", {"n_train": "24936"})   # 24,936 + 64 = 25,000


@pytest.mark.parametrize("fig, profile, param, message", [
    ("walk-table-2", "default", {"walk.n_eval": "6000"},
     r"'VGG-11 SGD η=0.1': walk.n_eval=6000 is more than the run's 5,000 training examples"
     r" \(its probe 'walk' takes a subset of them\): ask for at most 5,000, or raise n_train"),
    ("1", "smoke", {"metrics.n_eval": "129"}, r"metrics.n_eval=129 is more than the run's 128 "),
    ("walk-3", "smoke", {"n_hessian": "201"}, r"n_hessian=201 is more than the run's 200 "),
    ("sagun-8", "smoke", {"line.n_eval": "500"}, r"line.n_eval=500 is more than the run's 256 "),
    ("1", "default", {"n_hessian": "3000", "n_train": "2000"}, r"n_hessian=3000 .* 2,000 ")])
def test_a_probes_subset_beyond_the_training_set_is_refused(fig, profile, param, message):
    # before, the tasks took every training example silently, under a run key, a footer and
    # a provenance that said more
    with pytest.raises(ParameterError, match=rf"figure {fig}'s run .*{message}"):
        registry.resolve(fig, profile, param)
    registry.resolve("1", "smoke", {"metrics.n_eval": "128"})   # all of them: allowed
    # a figure's own subsets are cut to a training set the user shrinks (Fig. 1's 2,500
    # Hessian examples), and a run that keeps its subset keeps it (the fidelity check's
    # every-training-image run: 5,000)
    registry.resolve("1", "default", {"n_train": "2000"})
    registry.resolve("walk-fidelity", "default", {"n_train": "2000"})


@pytest.mark.parametrize("fig, name, value", [("1", "width", "inf"), ("1", "width", "1e300"),
                                               ("sagun-10", "init_value", "")])
def test_a_network_that_cannot_be_built_is_a_parameter_error_not_a_crash(fig, name, value):
    # OverflowError and TypeError from building the network escaped registry.resolve
    with pytest.raises(ParameterError, match="not a finite number|the network cannot be built"):
        registry.resolve(fig, "smoke", {name: value})
