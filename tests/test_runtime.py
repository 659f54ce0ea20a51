import os
import subprocess
import sys

import torch

from companion import runtime


def test_importing_the_package_sets_a_passive_openmp_wait_policy():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", "import companion, os; print(os.environ['OMP_WAIT_POLICY'])"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # an explicit choice is kept
    out = subprocess.run([sys.executable, "-c", "import companion, os; print(os.environ['OMP_WAIT_POLICY'])"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "ACTIVE"


def test_thread_count_follows_the_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("COMPANION_THREADS", "1")
        assert runtime.configure_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.delenv("COMPANION_THREADS")
        assert runtime.configure_threads() == len(os.sched_getaffinity(0))
    finally:
        torch.set_num_threads(before)


def test_cpu_device_and_missing_cuda():
    assert runtime.resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        import pytest
        with pytest.raises(RuntimeError, match="no CUDA device"):
            runtime.resolve_device("cuda")
