"""Machine-level figures of ``make bench``: training throughput of the companion's loader
against a torchvision DataLoader, and seconds per Hessian-vector product under the thread
settings that matter on a shared CPU (quiet, next to a busy process, next to a two-thread
torch process)."""

from __future__ import annotations

import time

import torch

from . import data as data_lib
from .models import build_model, cross_entropy


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, repeats: int = 3) -> float:
    fn()  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / repeats


_HVP_SNIPPET = """
import json, os, time, torch
import companion  # noqa: F401  (keeps an explicit OMP_WAIT_POLICY, else sets PASSIVE)
from companion import data as D
from companion.hessian import HessianOperator
from companion.models import build_model, cross_entropy
torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
torch.manual_seed(0)
model = build_model("resnet32", width=0.25)
train = D.load_cifar10("train")
op = HessianOperator(model, cross_entropy, [(D.normalize_images(train.x[:128]), train.y[:128])])
v = torch.randn(op.dim)
op @ v
start = time.perf_counter()
for _ in range(3):
    op @ v
print(json.dumps((time.perf_counter() - start) / 3))
"""


NEIGHBOURS = {  # what else is running on the machine
    "busy": "import time\nend = time.time() + {t}\nwhile time.time() < end: pass",
    "torch2": ("import time, torch\ntorch.set_num_threads(2)\na = torch.randn(384, 384)\n"
               "end = time.time() + {t}\nwhile time.time() < end: a @ a"),
}


def thread_policy(seconds: float = 150.0) -> list:
    """Seconds per Hessian-vector product (quarter-width ResNet-32, 128 images, CPU) on a
    quiet machine, next to one busy single-threaded process, and next to a two-thread torch
    process (OpenMP's default policy), for the thread settings that matter."""
    import os
    import subprocess
    import sys

    settings = [("2 threads, PASSIVE (the companion's default)", 2, "PASSIVE"),
                ("2 threads, ACTIVE (OpenMP's default)", 2, "ACTIVE"),
                ("1 thread", 1, "PASSIVE")]

    def measure(threads, policy):
        env = {**os.environ, "BENCH_THREADS": str(threads), "OMP_WAIT_POLICY": policy}
        out = subprocess.run([sys.executable, "-c", _HVP_SNIPPET], env=env, capture_output=True,
                             text=True, timeout=600, check=True).stdout
        return float(out.strip().splitlines()[-1])

    rows = [{"setting": name, "quiet_s": measure(t, p)} for name, t, p in settings]
    for neighbour, code in NEIGHBOURS.items():
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        process = subprocess.Popen([sys.executable, "-c", code.format(t=seconds)], env=env)
        try:
            for row, (_, threads, policy) in zip(rows, settings):
                row[f"{neighbour}_s"] = measure(threads, policy)
        finally:
            process.kill()
            process.wait()
    return rows


class _TorchvisionDataset(torch.utils.data.Dataset):
    """The plain pipeline: per-image PIL conversion and torchvision transforms."""

    def __init__(self, x_uint8, y):
        from torchvision import transforms

        self.x, self.y = x_uint8.permute(0, 2, 3, 1).numpy(), y
        self.transform = transforms.Compose([
            transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(data_lib.CIFAR10_MEAN, data_lib.CIFAR10_STD)])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.x[i])), self.y[i]


def throughput(device: torch.device, model_name: str, n_images: int = 2560,
               batch_size: int = 128) -> dict:
    """Images/s of one training epoch, three ways, on the same images and device:

    * ``dataloader``: plain PyTorch — a ``DataLoader`` with torchvision transforms, an eager
      step, the loss read back (``.item()``) every step;
    * ``eager``: the companion's loader (data on the device, batched augmentation) with an
      eager step read back every step: the training loop before the GPU work;
    * ``companion``: the loop as it is now: :class:`companion.steps.Stepper` (on a GPU: CUDA
      graphs and TF32 for the training step) and the losses read back once per epoch.
    """
    from .steps import Stepper, eager_step

    train = data_lib.load_cifar10("train")
    x_uint8, y = train.x[:n_images], train.y[:n_images]
    x_dev, y_dev = data_lib.normalize_images(x_uint8, device), y.to(device)
    torch.manual_seed(0)
    model = build_model(model_name).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    stepper = Stepper(model, optimizer, cross_entropy, device)

    def batches(seed):
        gen = torch.Generator(device=device).manual_seed(seed)
        return data_lib.iterate_minibatches(x_dev, y_dev, batch_size, gen,
                                            augment=data_lib.augment_crop_flip)

    def eager_epoch():
        for xb, yb in batches(0):
            loss, correct, _ = eager_step(model, optimizer, cross_entropy, xb, yb, len(xb), False)
            float(loss), float(correct)

    def companion_epoch():
        out = [torch.stack(stepper(xb, yb)[:2]) for xb, yb in batches(0)]
        torch.stack(out).cpu()

    loader = torch.utils.data.DataLoader(_TorchvisionDataset(x_uint8, y), batch_size=batch_size,
                                         shuffle=True, num_workers=2,
                                         pin_memory=device.type == "cuda")

    def dataloader_epoch():
        for xb, yb in loader:
            optimizer.zero_grad(set_to_none=True)
            loss = cross_entropy(model(xb.to(device, non_blocking=True)),
                                 yb.to(device, non_blocking=True))
            loss.backward()
            optimizer.step()
            loss.item()

    times = {name: _timed(fn, device, repeats=2) for name, fn in
             (("companion", companion_epoch), ("eager", eager_epoch),
              ("dataloader", dataloader_epoch))}
    return {"model": model_name, "images": n_images, "batch_size": batch_size,
            **{f"{name}_images_per_s": n_images / t for name, t in times.items()},
            "speedup_over_eager": times["eager"] / times["companion"],
            "speedup": times["dataloader"] / times["companion"]}
