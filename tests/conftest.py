"""Shared test settings: use the offline mirror beside the checkout when there is one."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_MIRROR = REPO.parent / "shared" / "data"
if "COMPANION_MIRROR" not in os.environ and _MIRROR.is_dir():
    os.environ["COMPANION_MIRROR"] = str(_MIRROR)

# `make test` runs two pytest-xdist workers: each gets an equal share of the cores (two
# processes that each use every core slow both down many times over).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1 and "COMPANION_THREADS" not in os.environ:
    _CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else (os.cpu_count() or 1)   # as companion.runtime counts them (no affinity on macOS)
    _SHARE = str(max(1, _CORES // _WORKERS))
    os.environ["COMPANION_THREADS"] = _SHARE
    os.environ.setdefault("OMP_NUM_THREADS", _SHARE)

# The smoke book and the chapter tests read the same smoke runs from the shared cache: under
# `--dist loadgroup` one worker runs them all, book first, so each run is trained once.
SMOKE_RUNS_GROUP = "smoke-runs"


def cifar_available() -> bool:
    from companion.data import cache_dir

    return bool(os.environ.get("COMPANION_MIRROR")) or (cache_dir() / "cifar10_train.npz").exists()


needs_cifar = pytest.mark.skipif(not cifar_available(),
                                 reason="CIFAR-10 not available: set COMPANION_MIRROR")


def _reads_the_smoke_runs(item) -> bool:
    return item.path.name == "test_book.py" or item.path.name.startswith("test_chapter_")


_GROUP_LOST = []


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Marks the tests that read the smoke runs before pytest-xdist writes the groups into the
    test ids, and then checks that the group took effect: with pytest 9.2, pytest-xdist 3.8
    drops it silently (pytest-xdist#1386) and both workers would build the smoke book."""
    for item in items:
        if _reads_the_smoke_runs(item):
            item.add_marker(pytest.mark.xdist_group(SMOKE_RUNS_GROUP))
    result = yield
    if getattr(config.option, "loadgroup", False):   # set in pytest-xdist's workers
        _GROUP_LOST[:] = [i.nodeid for i in items if _reads_the_smoke_runs(i)
                          and not i.nodeid.endswith("@" + SMOKE_RUNS_GROUP)]
    return result


def pytest_runtest_setup(item):
    if _GROUP_LOST and _reads_the_smoke_runs(item):
        pytest.fail("pytest-xdist's --dist loadgroup did not group the smoke-book tests (this "
                    "pytest and pytest-xdist do not work together: pytest-xdist#1386); install "
                    "the versions pyproject.toml names (pip install -e '.[dev]') or run without "
                    "-n", pytrace=False)


def pytest_configure(config):
    config.addinivalue_line("markers", "xdist_group(name): run in one pytest-xdist worker")
    # torch's forward-mode AD scripts its own decompositions on first use (torch.func.jvp in
    # every Hessian-vector product) and warns that torch.jit.script is deprecated: a note
    # about torch's internals, not about this package.
    config.addinivalue_line("filterwarnings",
                            "ignore:`torch.jit.script` is deprecated:FutureWarning")
