"""compute: jobs side by side in worker processes; a job that runs out of GPU memory beside
the others is run again once they are done, alone."""

import time
from pathlib import Path

import torch

from companion import compute, registry
from companion.compute import _pooled


def _log(root, text: str) -> None:
    with open(Path(root) / "log", "a") as f:
        f.write(text + "\n")


def _out_of_memory_once(index, total, fid, label, config, root, committed, end, commit,
                        whole=None) -> tuple:
    """Odd jobs run out of memory on their first attempt; every attempt is logged."""
    first = not (Path(root) / f"tried-{index}").exists()
    (Path(root) / f"tried-{index}").touch()
    _log(root, f"start {index}")
    time.sleep(0.3)
    _log(root, f"end {index}")
    if first and index % 2:
        return False, f"job {index}: FAILED (OutOfMemoryError)", True
    return True, f"job {index}: done", False


def test_a_job_out_of_gpu_memory_runs_again_alone_after_the_others(tmp_path, capsys):
    runs = [c for _, c in registry.resolve("sagun-10", "smoke")][:2] + \
        [c for _, c in registry.resolve("alain-1", "smoke")][:2]
    jobs = [(i, len(runs), "x", f"run {i}", config, str(tmp_path), None, None, False, None)
            for i, config in enumerate(runs, 1)]
    lines = _pooled(jobs, workers=4, run=_out_of_memory_once)
    assert sorted(lines) == [(True, f"job {i}: done") for i in range(1, 5)]
    assert capsys.readouterr().out.count("run again alone") == 2
    log = (tmp_path / "log").read_text().split("\n")[:-1]
    firsts = len(log) - 4          # the two retries come last, each alone
    assert sorted(log[:firsts]) == sorted(f"{e} {i}" for e in ("start", "end") for i in range(1, 5))
    assert log[firsts:] in (["start 1", "end 1", "start 3", "end 3"],
                            ["start 3", "end 3", "start 1", "end 1"])


def test_a_failed_job_says_whether_it_ran_out_of_gpu_memory(monkeypatch, capsys):
    (_, config), *_ = registry.resolve("sagun-10", "smoke")
    job = (1, 1, "sagun-10", "blobs", config, "root", "committed", None, False, None)
    for error, out_of_memory in ((torch.OutOfMemoryError("CUDA out of memory"), True),
                                 (ValueError("bad"), False)):
        def fail(*job, error=error):
            raise error
        monkeypatch.setattr(compute, "_train_one", fail)
        finished, line, flag = compute._one_run(*job)
        assert not finished and flag is out_of_memory
        assert line.startswith(f"Fig. sagun-10 blobs: FAILED ({type(error).__name__}")
