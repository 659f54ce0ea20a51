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
