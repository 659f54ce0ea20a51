"""A long post-hoc analysis computed one step per job and merged (``compute``): the merged
analysis is the one a single process writes, under the same key."""

import json

from companion import registry, training
from companion.results import ResultsCache
from companion.analyses import analysis_version, attach_analyses
from companion.step_split import merge_steps, split_by_step, splittable, step_config


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
    assert two["provenance"]["analysis_version"] == analysis_version(config, splittable(config))
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


def test_committed_parts_let_a_later_session_finish_the_analysis(tmp_path, monkeypatch, capsys):
    """A session that ends after one step commits that step as a part; a later session
    (a fresh cache) computes the other step only, merges both, commits the whole analysis
    with the trainings its parts came from, and deletes the parts."""

    from companion import reproduce, results
    from companion.analyses import analysis_key
    from companion.step_split import PARTS, commit_part, load_part

    (_, config), = registry.resolve("alain-3", "smoke")
    probe = splittable(config)
    committed = tmp_path / "repo" / "data" / "paper" / "runs"
    first = ResultsCache(tmp_path / "first", read_only_roots=[committed])
    step_run = step_config(config, probe, 30)   # the first session: step 30, then stopped
    result = training.train(step_run, first)
    attach_analyses(step_run, result, first)
    part = commit_part(step_run, config, first, committed, result)
    assert part.parent.name == PARTS and json.loads(part.read_text())["provenance"]["training"]
    assert load_part(config, 60, first, committed) is None

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "later"))   # a fresh machine
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path / "repo")
    assert reproduce.main(["compute", "alain-3", "--profile", "smoke", "--commit"]) == 0
    out = capsys.readouterr().out
    assert "all 1 runs finished" in out and "step 60" in out and "step 30" not in out
    folder = committed / first.run_dir(config).name
    merged = json.loads((folder / f"fits-{analysis_key(config, probe)}.json").read_text())
    assert [s["step"] for s in merged["steps"]] == [30, 60]
    trainings = merged["provenance"]["trainings"]   # CPU training is bit-reproducible
    assert list(trainings.values()) == [[30, 60]]
    assert not (folder / PARTS).exists()             # merged: the parts are gone
    one = attach_analyses(config, training.train(config, first), first)["fits"]
    assert merged["steps"] == one["steps"]           # the numbers one process writes


def test_a_run_whose_steps_are_all_committed_is_merged_without_training(tmp_path):
    from companion.step_split import PARTS, commit_part

    (_, config), = registry.resolve("alain-3", "smoke")
    probe = splittable(config)
    committed = tmp_path / "committed"
    cache = ResultsCache(tmp_path / "cache", read_only_roots=[committed])
    for t in probe.steps:
        step_run = step_config(config, probe, t)
        result = training.train(step_run, cache)
        attach_analyses(step_run, result, cache)
        commit_part(step_run, config, cache, committed, result)
    cache.export(step_run, committed)   # the run's result is committed (by another figure)
    part = next((committed / cache.run_dir(config).name / PARTS).glob("*.json"))
    other = json.loads(part.read_text())
    other["provenance"]["training"] = "another"      # as if made by a second training
    part.write_text(json.dumps(other))
    fresh = ResultsCache(tmp_path / "fresh", read_only_roots=[committed])
    assert split_by_step([("alain-3", "MNIST", config)], fresh, committed, commit=True) == [
        ("alain-3", "MNIST", config, None)]
    assert not (fresh.root / "runs").exists()          # nothing trained, nothing cached
    merged = next((committed / cache.run_dir(config).name).glob("fits-*.json"))
    assert len(json.loads(merged.read_text())["provenance"]["trainings"]) == 2
    assert not (committed / cache.run_dir(config).name / PARTS).exists()


def test_a_partly_committed_analysis_is_shown_and_not_graded(tmp_path):
    """Before every step is in, the committed steps are plotted; the run still counts as
    missing, so no claim is computed, and the reason names the steps."""
    from companion.outcomes import assemble, load_committed
    from companion.report import pending

    config, committed, _ = _step_30_committed(tmp_path)
    reader = ResultsCache(tmp_path / "reader", read_only_roots=[committed])
    runs, missing = load_committed([("MNIST", config)], reader)
    assert [s["step"] for s in runs["MNIST"][1]["fits"]["steps"]] == [30]
    assert runs["MNIST"][1]["fits"]["provenance"]["steps_missing"] == [60]
    assert "1 of 2 steps (t = 30)" in missing["MNIST"] and pending(missing["MNIST"])
    outcome = assemble("alain-3", "paper", runs, missing, {}, tmp_path / "out")
    assert outcome.claims == [] and outcome.image.exists()
    assert "Not complete at the paper profile" in outcome._repr_html_()


def test_a_part_made_by_earlier_code_is_shown_marked_stale_and_computed_again(tmp_path):
    from companion.outcomes import assemble, load_committed
    from companion.step_split import load_part

    config, committed, part = _step_30_committed(tmp_path)
    old = json.loads(part.read_text())
    old["provenance"]["analysis_version"] = "0123456789ab"   # as earlier line searches made it
    part.write_text(json.dumps(old))
    reader = ResultsCache(tmp_path / "reader", read_only_roots=[committed])
    assert load_part(config, 30, reader, committed) is None
    assert load_part(config, 30, reader, committed, current=False)["stale"]["made_by"] == \
        "0123456789ab"
    runs, missing = load_committed([("MNIST", config)], reader)
    fits = runs["MNIST"][1]["fits"]
    assert [s["step"] for s in fits["steps"]] == [30] and fits["stale"]["steps"] == [30]
    page = assemble("alain-3", "paper", runs, missing, {}, tmp_path / "out")._repr_html_()
    assert "Made by earlier code:</strong> the fits analysis of run MNIST" in page
    assert ("t = 30 made by earlier code; these and the other steps need a GPU session"
            in missing["MNIST"])
    jobs = split_by_step([("alain-3", "MNIST", config)], reader, committed)
    assert [label for _, label, _, _ in jobs] == ["MNIST · step 30", "MNIST · step 60"]


def _step_30_committed(tmp_path) -> tuple:
    """Fig. 3's smoke run with step 30 of its two committed as a part, and the run's result
    committed (not its analysis): (config, the committed folder, the part's path)."""
    from companion.step_split import commit_part

    (_, config), = registry.resolve("alain-3", "smoke")
    committed = tmp_path / "committed"
    cache = ResultsCache(tmp_path / "cache", read_only_roots=[committed])
    step_run = step_config(config, splittable(config), 30)
    result = training.train(step_run, cache)
    attach_analyses(step_run, result, cache)
    part = commit_part(step_run, config, cache, committed, result)
    cache.export(config, committed)
    return config, committed, part
