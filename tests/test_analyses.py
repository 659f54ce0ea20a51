"""Post-hoc analyses' code versions: each probe's analysis is stamped with the source of its
own modules, so a change to one probe's code leaves the others' analyses current."""

import pytest

from companion import analyses
from companion.analyses import analysis_sources, analysis_version
from companion.probes import PROBES
from companion.results import PACKAGE
from companion.registry import resolve


def _post_hoc_classes():
    return [cls for cls in PROBES.values() if getattr(cls, "post_hoc", False)]


def test_every_post_hoc_probe_names_existing_sources_including_its_own_module():
    classes = _post_hoc_classes()
    assert {c.name for c in classes} >= {"extremes", "kept", "fits", "cost", "subset",
                                         "spectrum", "line"}
    for cls in classes:
        sources = analysis_sources(cls())
        assert all((PACKAGE / name).is_file() for name in sources), cls
        assert cls.__module__.rsplit(".", 1)[-1] + ".py" in sources, cls
    assert "probes_directions.py" in analysis_sources(PROBES["fits"]())


def test_a_change_to_one_probes_module_changes_only_the_analyses_that_use_it(tmp_path,
                                                                          monkeypatch):
    (_, config), = resolve("alain-3", "smoke")
    (_, sagun), = resolve("sagun-1", "smoke")
    fits, extremes = PROBES["fits"](), PROBES["extremes"]()
    spectrum = next(p for p in sagun.probes if p.name == "spectrum")
    before = {p.name: analysis_version(c, p)
              for c, p in ((config, fits), (config, extremes), (sagun, spectrum))}
    assert len(set(before.values())) == 3
    for f in PACKAGE.glob("*.py"):   # the package as it is, with the line searches edited
        (tmp_path / f.name).write_bytes(f.read_bytes())
    edited = tmp_path / "probes_directions.py"
    edited.write_text(edited.read_text() + "\n# edited\n")
    monkeypatch.setattr(analyses, "PACKAGE", tmp_path)
    monkeypatch.setattr(analyses, "_VERSIONS", {})
    after = {p.name: analysis_version(c, p)
             for c, p in ((config, fits), (config, extremes), (sagun, spectrum))}
    assert after["fits"] != before["fits"]
    assert after["extremes"] == before["extremes"] and after["spectrum"] == before["spectrum"]


def test_a_post_hoc_probe_without_sources_is_refused():
    class Bare:
        name, post_hoc = "bare", True

    with pytest.raises(TypeError, match="sources"):
        analysis_sources(Bare())


def test_a_stale_local_analysis_counts_as_missing_and_a_stale_committed_one_as_stale(tmp_path):
    """``analyses_stored`` asks the same question as the figures do: an analysis stamped by
    other code is served (marked stale) only from a committed root; a local one would be
    recomputed, so it is not 'stored'."""
    import json

    from companion.outcomes import analyses_stored
    from companion.results import ResultsCache

    (_, config), = resolve("alain-3", "smoke")
    local, committed = tmp_path / "local", tmp_path / "committed"
    cache = ResultsCache(local, read_only_roots=[committed])
    probes = analyses.post_hoc(config)
    assert probes

    def write(root, version):
        for probe in probes:
            path = root / cache.run_dir(config).name / \
                f"{probe.name}-{analyses.analysis_key(config, probe)}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            stamp = analysis_version(config, probe) if version is None else version
            path.write_text(json.dumps({"provenance": {"analysis_version": stamp}}))

    assert not analyses_stored(config, cache)
    write(local, "other-code")
    assert not analyses_stored(config, cache) and not analyses_stored(config, cache, True)
    write(committed, "other-code")
    assert analyses_stored(config, cache) and not analyses_stored(config, cache, True)
    write(local, None)
    assert analyses_stored(config, cache) and analyses_stored(config, cache, True)
