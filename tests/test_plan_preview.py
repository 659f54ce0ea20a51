"""`make plan`: what a command would do, per run, without training anything."""

import pytest

from companion import reproduce, training
from companion.plan import Plan
from companion.plan_preview import describe, run_status


def test_the_preview_says_what_would_train_and_what_is_served(tmp_path, monkeypatch, capsys):
    from companion import results

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(results, "REPO_ROOT", tmp_path / "repo")   # no committed results
    plan = Plan("sagun-10", "smoke", {"seed": "1"}, progress=False)
    text = describe(plan)
    assert f"outputs in {plan.output_dir / 'fig-sagun-10'}" in text
    assert "shared: " in text and "seed=1" in text and "classes=2 dim=200" in text
    assert text.count(": trains") == 6 and text.endswith("runs (each counted per figure): 6 trains")

    label, config = plan.runs["sagun-10"][0]
    plan.cache.checkpoint_path(config).parent.mkdir(parents=True)
    plan.cache.checkpoint_path(config).write_bytes(b"")
    assert run_status(config, plan.cache)[0] == "resumes"
    plan.cache.checkpoint_path(config).unlink()

    assert reproduce.main(["claims", "sagun-10", "--profile", "smoke", "--param", "seed=1"]) == 0
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("the preview trained"))
    capsys.readouterr()
    assert reproduce.main(["plan", "sagun-10", "--profile", "smoke", "--param", "seed=1"]) == 0
    out = capsys.readouterr().out
    assert out.count(": stored (") == 6 and "6 stored" in out and "on CPU" in out


def test_the_preview_of_committed_paper_results(monkeypatch, tmp_path):
    """sagun-5 at the paper profile: four committed runs, the widest without its spectrum."""
    import torch

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("the preview trained"))
    text = describe(Plan("sagun-5", "paper", progress=False))
    assert text.count(": committed (") == 4 and "NVIDIA H200" in text
    assert "h = 70: committed" in text and "then analyses spectrum" in text.split("h = 70")[1]
    assert ("no CUDA device: 1 distinct" in text) != torch.cuda.is_available()
    with pytest.raises(Exception, match="unknown figure"):
        Plan("sagun-99", "paper")


def test_a_parameter_goes_to_the_selected_figures_that_take_it(tmp_path, monkeypatch):
    """Like a grid: `la` (Alain et al.'s fits) and `line.n_eval` (Sagun et al.'s line) in one
    command; each figure takes its own, the preview says which it leaves, and shows the
    post-hoc analyses' options. A parameter no selected figure takes is an error."""
    from companion.config import ParameterError

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    plan = Plan("alain-3,sagun-8", "default", {"la": "10", "line.n_eval": "50"},
                progress=False)
    (_, alain), = plan.runs["alain-3"]
    assert alain.probe("fits").la == 10
    assert dict(plan.runs["sagun-8"])["II: small batch"].probe("line").n_eval == 50
    assert plan.unused == {"alain-3": {"line.n_eval": plan.unused["alain-3"]["line.n_eval"]},
                           "sagun-8": {"la": plan.unused["sagun-8"]["la"]}}
    text = describe(plan)
    assert "not used here (no run has a place for it): line.n_eval" in text.split("Sagun")[0]
    assert "not used here (no run has a place for it): la" in text.split("Sagun")[1]
    assert "analysis fits: n_hessian=1000 la=10 sa=6" in text
    assert "analysis line: alphas=-0.5,…,1.5 (21 values) n_eval=50" in text
    assert " steps=()\n" in describe(Plan("alain-passes", "default", progress=False))
    with pytest.raises(ParameterError, match="unknown parameter 'lien.n_eval'"):
        Plan("alain-3,sagun-8", "default", {"lien.n_eval": "50"}, progress=False)
