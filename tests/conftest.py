"""Shared test settings: use the offline mirror beside the checkout when there is one."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_MIRROR = REPO.parent / "shared" / "data"
if "COMPANION_MIRROR" not in os.environ and _MIRROR.is_dir():
    os.environ["COMPANION_MIRROR"] = str(_MIRROR)


def cifar_available() -> bool:
    from companion.data import cache_dir

    return bool(os.environ.get("COMPANION_MIRROR")) or (cache_dir() / "cifar10_train.npz").exists()


needs_cifar = pytest.mark.skipif(not cifar_available(),
                                 reason="CIFAR-10 not available: set COMPANION_MIRROR")


def pytest_configure(config):
    # torch's forward-mode AD scripts its own decompositions on first use (torch.func.jvp in
    # every Hessian-vector product) and warns that torch.jit.script is deprecated: a note
    # about torch's internals, not about this package.
    config.addinivalue_line("filterwarnings",
                            "ignore:`torch.jit.script` is deprecated:FutureWarning")
