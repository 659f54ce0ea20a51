"""Where computations run: the device, and how many CPU threads torch uses.

Thread policy (measured on a 2-core machine, quarter-width ResNet-32, one Hessian-vector
product on 128 images, one other busy process): 1 thread 1.25 s; 2 threads with OpenMP's
default busy-waiting 11.2 s; 2 threads with ``OMP_WAIT_POLICY=PASSIVE`` 1.8 s. The package
sets PASSIVE on import (see ``companion/__init__``) and uses as many threads as cores, at
most ``COMPANION_THREADS`` when that is set.
"""

from __future__ import annotations

import os

import torch


def configure_threads() -> int:
    """Set torch's intra-op threads from ``COMPANION_THREADS`` (default: the cores we may use)."""
    wanted = os.environ.get("COMPANION_THREADS")
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    threads = max(1, int(wanted)) if wanted else cores
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def resolve_device(name: str) -> torch.device:
    """'auto' → CUDA when available. On CUDA, TF32 is switched off: Hessian-vector products
    and Lanczos need true float32 (TF32 convolutions err by ~1e-3 relative)."""
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but no CUDA device is available; "
                           "use device='auto' or 'cpu'")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    else:
        configure_threads()
    return device
