"""paper_status: which figures have committed paper-profile results, for the book."""

import json

from companion import paper_status, registry, training
from companion.paper_status import (COMMITTED, NOT_YET, PARTIAL, STALE, committed_cache,
                                    figure_status, status_table)
from companion.results import ResultsCache
from companion.analyses import attach_analyses
from companion.step_split import commit_part, splittable, step_config


def test_each_figure_is_committed_in_part_stale_or_not_yet(tmp_path, monkeypatch, capsys):
    smoke = registry.resolve
    monkeypatch.setattr(registry, "resolve", lambda fid, profile="default", *a, **k:
                        smoke(fid, "smoke"))   # "paper" stands for smoke here: seconds
    committed = tmp_path / "committed"
    cache = ResultsCache(tmp_path / "cache", read_only_roots=[committed])
    for _, config in smoke("sagun-1", "smoke"):
        attach_analyses(config, training.train(config, cache), cache)
        cache.export(config, committed)
    (_, fits), = smoke("alain-3", "smoke")
    step_run = step_config(fits, splittable(fits), 30)   # one of its two steps
    result = training.train(step_run, cache)
    attach_analyses(step_run, result, cache)
    commit_part(step_run, fits, cache, committed, result)
    cache.export(fits, committed)

    reader = committed_cache(committed)
    assert figure_status("sagun-1", reader)[0] == COMMITTED
    assert figure_status("alain-3", reader) == (PARTIAL, 0, 1)
    assert figure_status("walk-1", reader)[0] == NOT_YET
    table = status_table(reader)
    assert "| {doc}`outlier_counts` | `sagun-1` |" in table
    assert "| {doc}`negative_curvature` | — | `alain-3`, `alain-4`, `alain-5`, `alain-6` |" in table
    monkeypatch.setattr(paper_status, "committed_cache", lambda: reader)
    assert paper_status.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert "sagun-1  committed" in "\n".join(lines) and "alain-3  partial" in "\n".join(lines)
    n = len(lines) - 1   # one line per figure with runs, then the totals
    assert lines[-1] == (f"of {n} figures and tables with runs: 1 committed, 4 in part, "
                         f"0 made by earlier code, {n - 5} not yet")
    assert f"Of the {n} figures and tables with runs, 1 have committed" in table

    for path in committed.glob("*/result.json"):   # results made by other code
        stale = json.loads(path.read_text())
        stale["provenance"]["code_version"] = "0ld"
        path.write_text(json.dumps(stale))
    assert figure_status("sagun-1", reader)[0] == STALE
    assert paper_status.MARKER in (paper_status.REPO_ROOT / "book" / "intro.md").read_text()
