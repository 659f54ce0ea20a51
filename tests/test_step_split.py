"""A long post-hoc analysis computed one step per job and merged (``compute``): the merged
analysis is the one a single process writes, under the same key."""

from companion import registry, training
from companion.results import ResultsCache
from companion.snapshot_curvature import analysis_version, attach_analyses
from companion.step_split import merge_steps, split_by_step, splittable


def test_a_split_analysis_merges_into_what_one_process_writes(tmp_path):
    (_, config), = registry.resolve("alain-3", "smoke")   # Figs. 3–6: fits at steps 30, 60
    assert splittable(config).steps == (30, 60)
    whole = ResultsCache(tmp_path / "whole", read_only_roots=[])
    one = attach_analyses(config, training.train(config, whole), whole)["fits"]

    cache = ResultsCache(tmp_path / "split", read_only_roots=[])
    jobs = split_by_step([("alain-3", "MNIST", config)], cache)
    assert [label for _, label, _, _ in jobs] == ["MNIST · step 30", "MNIST · step 60"]
    assert all(w is config and c.probes[-1].name == "fits" and c.probes[-1].steps == (t,)
               for (_, _, c, w), t in zip(jobs, (30, 60)))
    merged = []
    for _, _, step_config, _ in jobs:
        attach_analyses(step_config, training.train(step_config, cache), cache)
        merged.append(merge_steps(config, cache))
    assert merged == [False, True]   # only the job that finds every step done merges

    two = attach_analyses(config, training.train(config, cache), cache)["fits"]  # loaded
    assert two["steps"] == one["steps"] and two["ranges"] == one["ranges"]
    assert two["provenance"]["split_by_step"] == [30, 60]
    assert two["provenance"]["analysis_version"] == analysis_version(config)
    assert two["provenance"]["options"] == one["provenance"]["options"]
    assert split_by_step([("alain-3", "MNIST", config)], cache) == [
        ("alain-3", "MNIST", config, None)]   # stored now: one job, which loads it


def test_only_long_analyses_of_several_steps_are_split(tmp_path):
    cache = ResultsCache(tmp_path, read_only_roots=[])
    (_, fig1), = [r for r in registry.resolve("alain-1", "smoke") if r[0] == "MNIST"]
    assert splittable(fig1) is None   # Fig. 1's spectra: cheap, whole
    one_step = registry.resolve("alain-3", "smoke", {"steps": "30"})
    assert splittable(one_step[0][1]) is None
    assert len(split_by_step([("1", "MNIST", fig1)], cache)) == 1
