import json

import pytest

from companion import results
from companion.config import RunConfig
from companion.results import ResultsCache, atomic_write_json, code_version, run_key


def test_key_depends_on_every_numeric_parameter():
    base = RunConfig()
    assert run_key(base) == run_key(RunConfig())
    assert run_key(base) != run_key(base.with_overrides(lr=0.05))
    assert run_key(base) != run_key(base.with_overrides(seed=1))
    assert run_key(base) != run_key(base.with_overrides(top_k=3))  # probe options count
    assert run_key(base) == run_key(base.with_overrides(device="cpu"))


def made_by(version):
    return {"history": [version], "provenance": {"code_version": version}}


def test_save_load_and_read_only_roots(tmp_path):
    cache = ResultsCache(tmp_path / "cache", read_only_roots=[tmp_path / "paper"])
    config = RunConfig(lr=0.3)
    assert cache.load(config) is None
    cache.save(config, made_by(code_version(config)))
    assert cache.load(config) == made_by(code_version(config))
    committed = tmp_path / "paper" / f"{config.model}-{run_key(RunConfig(lr=0.4))}"
    committed.mkdir(parents=True)
    (committed / "result.json").write_text(json.dumps(made_by(code_version(config))))
    assert cache.load(RunConfig(lr=0.4)) == made_by(code_version(config))


def test_results_of_other_code_are_never_served_as_current(tmp_path):
    cache = ResultsCache(tmp_path / "cache", read_only_roots=[tmp_path / "paper"])
    config = RunConfig(lr=0.3)
    cache.save(config, made_by("0ld"))
    assert cache.load(config) is None  # the writable cache recomputes
    committed = tmp_path / "paper" / cache.run_dir(config).name
    committed.mkdir(parents=True)
    (committed / "result.json").write_text(json.dumps(made_by("0ld")))
    stale = cache.load(config)  # a committed paper result is shown, marked with its version
    assert stale["stale"] == {"made_by": "0ld", "current": code_version(config)}
    assert cache.load(config, accept_stale=False) is None


def test_code_version_hashes_the_numeric_modules(monkeypatch, tmp_path):
    assert len(code_version()) == 12
    for name in results.NUMERIC_MODULES:
        (tmp_path / name).write_bytes((results.PACKAGE / name).read_bytes())
    monkeypatch.setattr(results, "PACKAGE", tmp_path)
    monkeypatch.setattr(results, "_CODE_VERSIONS", {})
    same = results.code_version()
    (tmp_path / "training.py").write_text("# changed\n")
    monkeypatch.setattr(results, "_CODE_VERSIONS", {})
    assert results.code_version() != same
    assert "plotting.py" not in results.NUMERIC_MODULES  # a plot change never recomputes


def test_a_run_is_versioned_by_the_modules_it_uses(monkeypatch, tmp_path):
    """A change to the walk probe stales the runs that interpolate, not the others (such as
    the committed Sagun et al. results); a run started from another counts that one's code."""
    from companion.probes import Metrics
    from companion.probes_walk import Walk

    for name in results.NUMERIC_MODULES:
        (tmp_path / name).write_bytes((results.PACKAGE / name).read_bytes())
    monkeypatch.setattr(results, "PACKAGE", tmp_path)
    monkeypatch.setattr(results, "_CODE_VERSIONS", {})
    plain = RunConfig(probes=(Metrics(),))
    walk = RunConfig(model="mlp_bn", dataset="mnist10k", probes=(Metrics(), Walk()))
    child = plain.with_overrides(start_from=walk)
    assert "probes_walk.py" not in results.numeric_modules(plain)
    assert {"probes_walk.py", "landscape.py", "models_walk.py"} <= set(
        results.numeric_modules(walk)) <= set(results.numeric_modules(child))
    before = {c: results.code_version(c) for c in (plain, walk, child)}
    assert before[plain] != before[walk]
    (tmp_path / "probes_walk.py").write_text("# changed\n")
    monkeypatch.setattr(results, "_CODE_VERSIONS", {})
    after = {c: results.code_version(c) for c in (plain, walk, child)}
    assert after[plain] == before[plain] and after[walk] != before[walk]
    assert after[child] != before[child]
    (tmp_path / "training.py").write_text("# changed\n")   # a core module: every run
    monkeypatch.setattr(results, "_CODE_VERSIONS", {})
    assert results.code_version(plain) != after[plain]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_export_copies_result_and_analyses_and_thins_a_long_step_log(tmp_path):
    import json

    from companion.config import RunConfig
    from companion.results import STEP_LOG_KEPT, ResultsCache

    from companion.probes_spectra import DenseSpectrum
    from companion.analyses import analysis_key

    cache = ResultsCache(tmp_path / "cache", read_only_roots=[tmp_path / "paper"])
    config = RunConfig(seed=7, probes=(DenseSpectrum(),))
    name = f"spectrum-{analysis_key(config, config.probes[0])}.json"
    log = [[i + 1, 0.5, 0.5] for i in range(2 * STEP_LOG_KEPT + 3)]
    cache.save(config, {"history": [{"step": 0}], "step_log": log, "provenance": {}})
    (cache.run_dir(config) / name).write_text(json.dumps({"end": 1}))
    (cache.run_dir(config) / "spectrum-0ld0ptions.json").write_text("{}")  # other options
    (cache.run_dir(config) / "weights.pt").write_bytes(b"weights")
    target = cache.export(config)
    assert target.parent == tmp_path / "paper"
    copied = json.loads((target / "result.json").read_text())
    assert copied["step_log_every"] == 3 and copied["step_log"][-1] == log[-1]
    assert len(copied["step_log"]) <= STEP_LOG_KEPT + 1
    assert json.loads((target / name).read_text()) == {"end": 1}
    assert not (target / "weights.pt").exists() and not (target / "spectrum-0ld0ptions.json").exists()
    short = RunConfig(seed=8)
    cache.save(short, {"history": [], "step_log": log[:10], "provenance": {}})
    assert json.loads((cache.export(short) / "result.json").read_text())["step_log"] == log[:10]


def test_results_stamped_by_the_earlier_scheme_stay_current_while_the_code_is_unchanged(
        monkeypatch, tmp_path):
    cache = ResultsCache(tmp_path / "cache")
    config = RunConfig(lr=0.3)
    legacy = results.current_versions(config)[1]
    assert legacy != code_version(config)
    cache.save(config, made_by(legacy))
    assert cache.load(config) == made_by(legacy)
    for name in results.NUMERIC_MODULES:
        (tmp_path / name).write_bytes((results.PACKAGE / name).read_bytes())
    monkeypatch.setattr(results, "PACKAGE", tmp_path)
    (tmp_path / "models_walk.py").write_text("# changed\n")   # any numeric module
    monkeypatch.setattr(results, "_CODE_VERSIONS", {})
    assert cache.load(config) is None


def test_results_figures_and_checkpoints_get_the_mode_open_would_give(tmp_path):
    """mkstemp makes 0600 files, and the rename kept that mode: results, checkpoints and
    figures could not be served or shared. They now get 0666 less the umask."""
    import os
    import stat

    import matplotlib.pyplot as plt

    from companion.plotting import save_figure
    from companion.results import atomic_torch_save

    old = os.umask(0o022)
    try:
        atomic_write_json(tmp_path / "a.json", {"a": 1})
        atomic_torch_save(tmp_path / "w.pt", {"a": 1})
        save_figure(plt.figure(), tmp_path / "f.png")
        os.umask(0o077)
        atomic_write_json(tmp_path / "private.json", {"a": 1})
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"a.json": 0o644, "w.pt": 0o644, "f.png": 0o644, "private.json": 0o600}
