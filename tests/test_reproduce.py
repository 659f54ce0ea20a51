"""The command line fails fast on bad input; `fig` runs a figure through its notebook."""

import json
import subprocess
import sys

import pytest

from companion import reproduce
from companion.config import ParameterError

from conftest import REPO, needs_cifar


def run_cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "companion.reproduce", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    (["fig", "99"], "unknown figure id '99'; valid ids: ['1', '2', '3', '4', '9', '10'"),
    (["fig", "4", "--profile", "huge"], "valid profiles: ['smoke', 'default', 'paper']"),
    (["fig", "1", "--param", "lr=-0.1"], "lr must be a positive number"),
    (["fig", "1", "--param", "model=vgg99"], "unknown model 'vgg99'"),
    (["fig", "1", "--param", "topk=3"], "unknown parameter 'topk'"),
    (["fig", "4", "--param", "lr_grid=a,b"], "a grid must be comma-separated numbers"),
    (["fig", "1", "--param", "lr_grid=0.1,0.2"], "no selected figure sweeps lr"),
    (["chapter", "nowhere", "--out", "x.ipynb"], "unknown chapter 'nowhere'"),
    (["fig", "4", "--param", "batch_size_grid=10.5"], "batch_size_grid takes whole numbers"),
    (["fig", "1", "--param", "lr=0.1", "--param", "lr=0.2"], "lr is given twice"),
    (["fig", "1", "--output-dir", "README.md/out"], "'README.md' is a file, not a folder"),
])
def test_bad_input_fails_at_once_with_the_valid_choices(args, message):
    done = run_cli(*args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_a_chapter_notebook_refuses_a_figure_of_another_chapter():
    # it was dropped: papermill nsgd.ipynb -p figures walk-1 ran nothing and said nothing
    with pytest.raises(ParameterError, match=r"the nsgd notebook has no figure walk-1 "
                                             r"\(walk-1 is in notebooks/barriers.py\): run "
                                             r"that notebook, or make reproduce FIG=walk-1; "
                                             r"this one's figures are 8, table-1"):
        reproduce.notebook_plan("nsgd", "8,walk-1", "smoke", "", "", False)
    assert reproduce.notebook_plan("nsgd", "8", "smoke", "", "", False).figure_ids == ["8"]


def test_list_names_every_figure():
    done = run_cli("list")
    assert done.returncode == 0 and all(f"  {i}  " in done.stdout for i in "1234")


def test_parse_helpers():
    assert reproduce.parse_figures("1, 4") == ["1", "4"]
    assert reproduce.parse_grid("0.1,1") == [0.1, 1.0]
    with pytest.raises(ParameterError, match="grid values must be positive finite numbers"):
        reproduce.parse_grid("0.1,inf")
    assert reproduce.parse_grid("0.1,1e3") == [0.1, 1000.0]
    assert reproduce.split_param_string("lr=0.1 lr_grid=0.1,1") == ({"lr": "0.1"}, {"lr": "0.1,1"})
    with pytest.raises(ParameterError):
        reproduce.parse_figures("")
    # a parameter given twice was taken at its last value, silently
    with pytest.raises(ParameterError, match=r"lr is given twice \(lr=0.05 and lr=0.1\)"):
        reproduce.split_param_string("lr=0.05 top_k=3 lr=0.1")
    with pytest.raises(ParameterError, match=r"lr is given twice \(params has lr=0.05, and "
                                             r"lr = 0.1\)"):
        reproduce.notebook_plan("spectrum_growth", "1", "smoke", "", "lr=0.05", False, lr=0.1)
    # Papermill's Python API may pass params as a mapping: it was read as the text "{'lr':"
    assert reproduce.split_param_string({"lr": 0.05, "lr_grid": [0.1, 1]}) == (
        {"lr": 0.05}, {"lr": [0.1, 1]})
    assert reproduce.notebook_plan("spectrum_growth", "1", "smoke", "", {"lr": 0.05},
                                   False).overrides == {"lr": 0.05}
    assert reproduce.notebook_parameters("4", "smoke", {"top_k": "3"}, {"lr": [0.1, 1.0]}) == {
        "figures": "4", "profile": "smoke", "params": "top_k=3 lr_grid=0.1,1"}


@needs_cifar
def test_fig_runs_the_notebook_shows_progress_and_writes_its_outputs(tmp_path):
    done = run_cli("fig", "1", "--profile", "smoke", "--output-dir", str(tmp_path),
                   "--param", "top_k=3", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[Fig. 1 · run 1/1 · simplecnn]" in done.stderr  # progress reaches the terminal
    out = tmp_path / "fig-1"
    claims = json.loads((out / "claims.json").read_text())
    assert claims and all(c["status"] in ("holds", "fails", "not reached") for c in claims)
    assert all(c["holds"] == (c["status"] == "holds") for c in claims)
    summary = json.loads((out / "summary.json").read_text())
    (run,) = summary["runs"].values()
    assert run["parameters"]["probes"][1]["top_k"] == 3 and run["provenance"]["code_version"]
    assert (out / "fig-1.png").stat().st_size > 10_000
    notebook = json.loads((out / "spectrum_growth.ipynb").read_text())
    injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and "remove-cell" in injected[0]["metadata"]["tags"]
    assert "claims:" in done.stdout and str(out / "fig-1.png") in done.stdout


def test_a_table_whose_data_is_missing_shows_the_paper_and_says_why(tmp_path, monkeypatch):
    from companion import data
    from companion.data import DataNotFoundError

    def missing(split, download=True):
        raise DataNotFoundError("CIFAR-100 not found. Looked in: (test)")

    monkeypatch.setattr(data, "load_cifar100", missing)
    monkeypatch.setitem(__import__("companion.tasks", fromlist=["IMAGE_SETS"]).IMAGE_SETS,
                        "cifar100", (missing, 100, (0.5,) * 3, (0.25,) * 3))
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    plan = reproduce.Plan("table-6", "smoke", output_dir=tmp_path / "out", progress=False)
    outcome = plan.run("table-6")
    assert outcome.runs == {} and outcome.claims == [] and outcome.image.exists()
    assert set(outcome.missing) == {"γ=0.01", "γ=1"}
    assert "CIFAR-100 not found" in outcome._repr_html_() and "paper" in outcome._repr_html_()
    newton = reproduce.Plan("newton", "smoke", output_dir=tmp_path / "out", progress=False)
    assert [c.status for c in newton.run("newton").claims] == ["holds"]


def test_the_paper_profile_on_a_cpu_reports_missing_data_instead_of_refusing(tmp_path,
                                                                             monkeypatch):
    """Table 6 at the paper profile without CUDA: its CIFAR-100 runs would train nowhere, so
    they are reported as missing data (as at every profile), not refused as 'would train'."""
    import torch

    from companion import compute, data, tasks
    from companion.data import DataNotFoundError
    from companion.plan_preview import describe

    def missing(split, download=True):
        raise DataNotFoundError("CIFAR-100 not found. Looked in:\n  - (test)")

    monkeypatch.setitem(data.DATASETS, "cifar100", missing)
    monkeypatch.setitem(tasks.IMAGE_SETS, "cifar100", (missing, 100, (0.5,) * 3, (0.25,) * 3))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv(compute.ALLOW_CPU, raising=False)
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    compute.missing_data.cache_clear()
    try:
        plan = reproduce.Plan("table-6", "paper", output_dir=tmp_path / "out", progress=False)
        assert compute.paper_on_cpu(plan) == []
        text = describe(plan)
        assert text.count("data missing (CIFAR-100: not in the data cache or the mirror") == 4
        assert "would be refused" not in text
        assert set(plan.run("table-6").missing) == {"γ=0.01", "γ=0.1", "γ=1", "γ=5"}
    finally:
        compute.missing_data.cache_clear()


def test_compute_recomputes_a_stale_committed_result(tmp_path, monkeypatch):
    import json as _json

    from companion import reproduce, results
    from companion.registry import resolve

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path / "repo")
    assert reproduce.main(["compute", "walk-28", "--profile", "smoke"]) == 0  # nothing to train
    argv = ["compute", "sagun-10", "--profile", "smoke", "--commit"]
    assert reproduce.main(argv) == 0
    (label, config), *_ = resolve("sagun-10", "smoke")
    committed = tmp_path / "repo" / "data" / "paper" / "runs" / \
        f"{config.model}-{results.run_key(config)}" / "result.json"
    stale = _json.loads(committed.read_text())
    stale["provenance"]["code_version"] = "0ld"
    committed.write_text(_json.dumps(stale))
    import shutil

    shutil.rmtree(tmp_path / "data" / "cache")   # only the committed copy is left
    assert reproduce.main(argv) == 0
    fresh = _json.loads(committed.read_text())
    assert fresh["provenance"]["code_version"] == results.code_version(config)


def test_compute_runs_side_by_side_and_checks_its_arguments(tmp_path, monkeypatch, capsys):
    from companion import reproduce, results
    from companion.registry import resolve

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path / "repo")
    assert reproduce.main(["compute", "sagun-10", "--workers", "0"]) == 2
    assert reproduce.main(["compute", "sagun-10", "--budget-s", "-1"]) == 2
    argv = ["compute", "sagun-10,sagun-10", "--profile", "smoke", "--workers", "2", "--commit"]
    assert reproduce.main(argv) == 0
    out = capsys.readouterr().out
    runs = resolve("sagun-10", "smoke")
    assert f"all {len(runs)} runs finished" in out and len(runs) >= 2   # each run once
    for _, config in runs:  # trained in worker processes, committed by them
        assert (tmp_path / "repo" / "data" / "paper" / "runs" /
                f"{config.model}-{results.run_key(config)}" / "result.json").exists()


def test_compute_analyses_every_figure_of_a_shared_run(tmp_path, monkeypatch, capsys):
    """alain-1 and alain-2 share one training run (post-hoc probes are not in its key): the
    run is trained once, and each figure's analysis is computed and committed."""
    from companion import reproduce, results
    from companion.registry import resolve
    from companion.analyses import analysis_key

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path / "repo")
    argv = ["compute", "alain-1,alain-2", "--profile", "smoke", "--workers", "2", "--commit"]
    assert reproduce.main(argv) == 0
    assert "all 3 runs finished" in capsys.readouterr().out   # MNIST twice, CIFAR-10 once
    (_, first), *_ = resolve("alain-1", "smoke")
    (_, second), *_ = resolve("alain-2", "smoke")
    assert results.run_key(first) == results.run_key(second)
    folder = tmp_path / "repo" / "data" / "paper" / "runs" / \
        f"{first.model}-{results.run_key(first)}"
    for config in (first, second):
        probe = config.probes[-1]
        assert (folder / f"{probe.name}-{analysis_key(config, probe)}.json").exists()
    assert reproduce.main(argv) == 0   # all served from the committed copies now
    assert capsys.readouterr().out.count("committed, made by the current code") == 3
    # a chapter's name stands for all its figures: 3–6 share one analysis, alain-regime
    # and alain-passes train their own runs, so 8 entries, of which the 3 above are served
    # as committed; then the passes check's 3 replays (Figs. 3–6, cost, subset). Figs. 3–6's
    # analysis, here and replayed, is a job per step (2 at smoke), merged: 13 jobs
    assert reproduce.main(["compute", "negative_curvature,alain-1", "--profile", "smoke",
                           "--commit"]) == 0
    out = capsys.readouterr().out
    assert "all 13 runs finished" in out and out.count("committed, made by") == 3
    assert out.count("on the passes trajectory") == 4 and out.count("· step ") == 4
    (_, fits), = resolve("alain-3", "smoke")
    probe = fits.probes[-1]
    assert sorted(p.name for p in folder.glob("fits-*.json")) == [
        f"fits-{analysis_key(fits, probe)}.json"]   # the merged analysis, not its steps


def test_claims_prints_every_claims_outcome_and_the_totals(tmp_path, monkeypatch, capsys):
    """`claims` computes the runs of the ids given and prints each claim's outcome (the same as
    the figure's claims.json) and the totals."""
    from companion import reproduce, results

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path / "repo")
    assert reproduce.main(["claims", "nowhere", "--profile", "smoke"]) == 2
    assert reproduce.main(["claims", "walk-28,sagun-10", "--profile", "smoke",
                           "--evidence"]) == 0
    out = capsys.readouterr().out
    written = [c for fid in ("walk-28", "sagun-10") for c in json.loads(
        (tmp_path / "data" / "results" / "smoke" / f"fig-{fid}" / "claims.json").read_text())]
    assert len(written) >= 2
    for claim in written:
        assert f"{claim['status']:<12} {claim['claim']}" in out
        assert claim["evidence"] in out
    counts = {s: sum(c["status"] == s for c in written) for s in ("holds", "fails", "not reached")}
    assert (f"profile smoke: {counts['holds']} holds, {counts['fails']} fails, "
            f"{counts['not reached']} not reached of {len(written)} claims") in out


def test_the_paper_profile_is_not_trained_on_a_cpu_unasked(tmp_path, monkeypatch, capsys):
    """Without CUDA, PROFILE=paper refuses before anything trains and says what to do;
    committed results are served; `claims` reads the committed results; --allow-cpu (or
    COMPANION_ALLOW_CPU=1) lets it train."""
    import torch

    from companion import compute, training
    from companion.reproduce import Plan

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("must not train"))
    monkeypatch.setattr(reproduce, "execute_notebook", lambda *a, **k: pytest.fail("no notebook"))
    monkeypatch.delenv(compute.ALLOW_CPU, raising=False)
    for argv in (["fig", "1"], ["chapter", "spectrum_growth", "--out", str(tmp_path / "x")],
                 ["compute", "1,2"]):
        assert reproduce.main([*argv, "--profile", "paper"]) == 2
        error = capsys.readouterr().err
        assert "would train" in error and "Fig. 1 simplecnn" in error and "--allow-cpu" in error
    with pytest.raises(ParameterError, match="no CUDA device"):   # a notebook's Plan too
        Plan("1", "paper", output_dir=tmp_path, progress=False).run("1")
    # committed and made by today's code: served, nothing to refuse
    assert compute.paper_on_cpu(Plan("sagun-4", "paper"), current=True) == []
    assert reproduce.main(["compute", "sagun-4", "--profile", "paper"]) == 0
    assert "committed, made by the current code" in capsys.readouterr().out
    assert reproduce.main(["claims", "1,sagun-4", "--profile", "paper"]) == 0
    out, err = capsys.readouterr()
    assert "from the committed results only; 1 run(s)" in err
    assert "missing      1 run(s) without a result: simplecnn" in out and "sagun-4  holds" in out
    assert compute.paper_on_cpu(Plan("1", "default")) == []          # other profiles: no gate
    monkeypatch.setenv(compute.ALLOW_CPU, "1")
    assert compute.paper_on_cpu(Plan("1", "paper")) == []
    monkeypatch.delenv(compute.ALLOW_CPU)
    monkeypatch.setattr(reproduce, "_compute", lambda *a: 0)
    assert reproduce.main(["compute", "1", "--profile", "paper", "--allow-cpu"]) == 0
    assert compute.paper_on_cpu(Plan("1", "paper")) == []            # the flag set it


def test_device_cuda_without_one_fails_at_once(monkeypatch, capsys):
    import torch

    from companion import training

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("must not train"))
    assert reproduce.main(["claims", "1", "--profile", "smoke", "--param", "device=cuda"]) == 2
    assert "no CUDA device; use device=auto" in capsys.readouterr().err


def test_outputs_with_parameters_go_to_a_folder_of_their_own(tmp_path, monkeypatch, capsys):
    """A figure re-run with parameters never overwrites its outputs at the profile's own
    settings: they go to data/results/<profile>/params/<name=value+...>/ (hashed when long)."""
    from companion import reproduce, results
    from companion.reproduce import Plan, results_root

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path / "repo")
    root = tmp_path / "data" / "results" / "smoke"
    assert Plan("1", "smoke").output_dir == root
    assert Plan("1", "smoke", {"top_k": "3", "epochs": "2"}).output_dir == (
        root / "params" / "epochs=2+top_k=3")
    assert Plan("4", "smoke", grids={"lr": "0.1,1"}).output_dir == (
        root / "params" / "lr_grid=0.1,1")
    assert Plan("1", "smoke", {"top_k": "3"}, output_dir=tmp_path / "x").output_dir == (
        tmp_path / "x")
    long_a, long_b = (results_root("smoke", {"model": "resnet32", "n_hessian": n, "lr": "0.05",
                                             "epochs": "12", "lanczos_tol": "0.001"})
                      for n in ("512", "1024"))
    assert long_a != long_b and len(long_a.name) <= 80 and long_a.parent == root / "params"
    assert results_root("smoke", {"model": "a/../b c"}).name == "model=a-..-b-c"  # no path tricks

    assert reproduce.main(["claims", "sagun-10", "--profile", "smoke"]) == 0
    own = root / "fig-sagun-10" / "claims.json"
    before = own.read_bytes()
    assert reproduce.main(["claims", "sagun-10", "--profile", "smoke", "--param", "seed=1"]) == 0
    assert (root / "params" / "seed=1" / "fig-sagun-10" / "claims.json").exists()
    assert own.read_bytes() == before and sorted(p.name for p in root.iterdir()) == [
        "fig-sagun-10", "params"]


@pytest.mark.parametrize("chapter", sorted(p.stem for p in (REPO / "notebooks").glob("*.py")))
def test_papermill_reads_every_parameter_of_each_notebook(chapter, caplog):
    """Papermill skips a parameter line with a second '=' (in its comment, say) and then
    treats what the CLI passes for it as unknown: every name the cell assigns must parse."""
    import ast

    import jupytext
    from papermill.translators import PythonTranslator

    notebook = jupytext.read(REPO / "notebooks" / f"{chapter}.py")
    cell, = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assigned = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                for t in node.targets}
    with caplog.at_level("WARNING", logger="papermill"):
        parsed = {p.name for p in PythonTranslator.inspect(cell)}
    assert parsed == assigned and {"figures", "profile", "output_dir", "params"} <= parsed
    assert "Unable to parse" not in caplog.text
