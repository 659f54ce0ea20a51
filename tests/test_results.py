import json

import pytest

from companion.config import RunConfig
from companion.results import ResultsCache, atomic_write_json, run_key


def test_key_depends_on_every_numeric_parameter():
    base = RunConfig()
    assert run_key(base) == run_key(RunConfig())
    assert run_key(base) != run_key(base.with_overrides(lr=0.05))
    assert run_key(base) != run_key(base.with_overrides(seed=1))
    assert run_key(base) == run_key(base.with_overrides(device="cpu"))


def test_save_load_and_read_only_roots(tmp_path):
    cache = ResultsCache(tmp_path / "cache", read_only_roots=[tmp_path / "paper"])
    config = RunConfig(lr=0.3)
    assert cache.load(config) is None
    cache.save(config, {"history": [1]})
    assert cache.load(config) == {"history": [1]}
    committed = tmp_path / "paper" / f"{config.model}-{run_key(RunConfig(lr=0.4))}"
    committed.mkdir(parents=True)
    (committed / "result.json").write_text(json.dumps({"history": [2]}))
    assert cache.load(RunConfig(lr=0.4)) == {"history": [2]}


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "x.json"
    atomic_write_json(path, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
