"""Fashion-MNIST and IMDB, the data sets of the NSGD chapter (Jastrzębski et al. 2019,
Table 5 and Appendix F), and MNIST (Alain et al. 2019), through the same cache → mirror →
download chain as :mod:`companion.data`.

* MNIST: the canonical IDX files. The offline mirror holds the **test split only**
  (``mnist/t10k-*``); the training split comes from torchvision's download.

* Fashion-MNIST: the canonical IDX files (``fashion-mnist/*-ubyte.gz`` in the mirror, or
  torchvision's download), uint8 (N, 1, 28, 28).
* IMDB (Maas et al. 2011): the labelled ``aclImdb`` reviews. The authors used
  ``keras.datasets.imdb`` (num_words = 5000, maxlen = 400). Keras' word index cannot be
  rebuilt offline, so the vocabulary is rebuilt the way the spec says: lower-case, strip
  ``<br />``, tokens ``[a-z0-9']+``, the 4,997 most frequent words of the **train split**
  get ids 3… by frequency (0 = padding, 1 = start, 2 = out of vocabulary), and each review
  keeps its **last** 400 ids, padded at the front (Keras' defaults). Both splits are
  shuffled by one fixed permutation so any prefix mixes the classes.
"""

from __future__ import annotations

import gzip
import re
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from .data import ArrayDataset, _fetch, _save_npz_atomic, cache_dir, data_dir

IDX_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
FMNIST_FILES = IDX_FILES
IMDB_WORDS = 5000        # num_words of the authors' keras.datasets.imdb call
IMDB_MAXLEN = 400
PAD, START, OOV = 0, 1, 2
_TOKEN = re.compile(r"[a-z0-9']+")


def _split(split: str) -> str:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split


# ------------------------------------------------------------------ Fashion-MNIST
def _read_idx(path: Path) -> np.ndarray:
    raw = gzip.open(path, "rb").read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape).copy()


def _idx_arrays(folder: Path, split: str, source: str) -> dict | None:
    images, labels = (folder / f for f in IDX_FILES[split])
    if not (images.exists() and labels.exists()):
        return None
    return {"x": np.ascontiguousarray(_read_idx(images)[:, None]),
            "y": _read_idx(labels).astype(np.int64), "source": np.array(source)}


def _torchvision_download(name: str, split: str, download: bool) -> dict:
    import torchvision

    root = data_dir() / "downloads"
    ds = getattr(torchvision.datasets, name)(str(root), train=split == "train", download=download)
    return {"x": ds.data.numpy()[:, None].copy(), "y": ds.targets.numpy().astype(np.int64),
            "source": np.array(f"{name} (torchvision download)")}


def load_fashion_mnist(split: str, download: bool = True) -> ArrayDataset:
    """Fashion-MNIST ``split`` ("train" 60k / "test" 10k): uint8 (N,1,28,28), int64 (N,),
    in the canonical order (class-mixed)."""
    split = _split(split)
    arrays = _fetch("Fashion-MNIST", f"fmnist_{split}.npz",
                    lambda m: _idx_arrays(m / "fashion-mnist", split, "Fashion-MNIST (mirror)"),
                    lambda d: _torchvision_download("FashionMNIST", split, d), download,
                    "fashion-mnist/*-ubyte.gz", "torchvision.datasets.FashionMNIST")
    return ArrayDataset(torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"]),
                        str(arrays["source"]))


def load_mnist(split: str, download: bool = True) -> ArrayDataset:
    """MNIST ``split`` ("train" 60k / "test" 10k): uint8 (N,1,28,28), int64 (N,), canonical
    order. Offline, the mirror has only the test split."""
    split = _split(split)
    arrays = _fetch("MNIST", f"mnist_{split}.npz",
                    lambda m: _idx_arrays(m / "mnist", split, "MNIST (mirror)"),
                    lambda d: _torchvision_download("MNIST", split, d), download,
                    f"mnist/{IDX_FILES[split][0]}", "torchvision.datasets.MNIST")
    return ArrayDataset(torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"]),
                        str(arrays["source"]))


MNIST10K_TRAIN = 8000  # the offline MNIST: t10k's first 8,000 images train, the last 2,000 test


def load_mnist10k(split: str, download: bool = True) -> ArrayDataset:
    """The offline stand-in for MNIST: the 10k test split (all the mirror has) as a data set
    of its own, its first 8,000 images for training and its last 2,000 for testing."""
    full = load_mnist("test", download)
    part = slice(0, MNIST10K_TRAIN) if _split(split) == "train" else slice(MNIST10K_TRAIN, None)
    return ArrayDataset(full.x[part].clone(), full.y[part].clone(),
                        f"{full.source}, t10k split {MNIST10K_TRAIN:,}/{10000 - MNIST10K_TRAIN:,}")


# ------------------------------------------------------------------ IMDB
def tokenize(text: str) -> list:
    return _TOKEN.findall(text.lower().replace("<br />", " "))


def build_vocabulary(texts: list, num_words: int = IMDB_WORDS) -> dict:
    """word → id (3 … num_words−1) for the most frequent words (ties: alphabetical)."""
    counts = Counter(w for t in texts for w in tokenize(t))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:num_words - 3]
    return {w: i + 3 for i, (w, _) in enumerate(ranked)}


def encode(text: str, vocab: dict, maxlen: int = IMDB_MAXLEN) -> np.ndarray:
    """[START, ids…] (OOV = 2), the last ``maxlen`` kept, zero-padded at the front."""
    ids = [START] + [vocab.get(w, OOV) for w in tokenize(text)]
    ids = ids[-maxlen:]
    out = np.zeros(maxlen, dtype=np.int64)
    out[maxlen - len(ids):] = ids
    return out


def _imdb_reviews(tar_path: Path) -> dict:
    reviews = {"train": [], "test": []}
    with tarfile.open(tar_path, "r:gz") as tar:
        for member in tar:
            parts = member.name.strip("./").split("/")
            if member.isfile() and len(parts) == 4 and parts[1] in reviews \
                    and parts[2] in ("neg", "pos"):
                text = tar.extractfile(member).read().decode("utf-8")
                reviews[parts[1]].append((int(parts[2] == "pos"), parts[3], text))
    return reviews


def _imdb_arrays(reviews: dict, source: str) -> dict:
    """Both splits encoded with the train split's vocabulary; caches the other split."""
    for rows in reviews.values():
        rows.sort(key=lambda r: (r[0], r[1]))
    vocab = build_vocabulary([r[2] for r in reviews["train"]])
    out = {}
    for split, rows in reviews.items():
        perm = np.random.default_rng(0).permutation(len(rows))
        x = np.stack([encode(rows[i][2], vocab) for i in perm])
        y = np.array([rows[i][0] for i in perm], dtype=np.int64)
        out[split] = {"x": x, "y": y, "source": np.array(source)}
    return out


def _imdb_from_tar(split: str, tar_path: Path, source: str) -> dict | None:
    if not tar_path.exists():
        return None
    both = _imdb_arrays(_imdb_reviews(tar_path), source)
    other = "test" if split == "train" else "train"
    _save_npz_atomic(cache_dir() / f"imdb_{other}.npz", both[other])
    return both[split]


IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"


def _imdb_download(split: str, download: bool) -> dict:
    import urllib.request

    path = data_dir() / "downloads" / "aclImdb_v1.tar.gz"
    if not path.exists():
        if not download:
            raise FileNotFoundError(f"{path} missing and download=False")
        path.parent.mkdir(parents=True, exist_ok=True)
        urllib.request.urlretrieve(IMDB_URL, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
    return _imdb_from_tar(split, path, "IMDB (aclImdb download)")


def load_imdb(split: str, download: bool = True) -> ArrayDataset:
    """IMDB reviews ``split`` (25k each): int64 ids (N, 400) and labels (1 = positive)."""
    split = _split(split)
    arrays = _fetch("IMDB", f"imdb_{split}.npz",
                    lambda m: _imdb_from_tar(split, m / "aclImdb-labeled.tar.gz",
                                             "IMDB (aclImdb mirror; vocabulary rebuilt)"),
                    lambda d: _imdb_download(split, d), download,
                    "aclImdb-labeled.tar.gz", IMDB_URL)
    return ArrayDataset(torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"]),
                        str(arrays["source"]))


# ------------------------------------------------------------------ Sagun et al. (2017)
MNIST1K_TRAIN, MNIST1K_TEST, MNIST1K_SEED = 1000, 2000, 0


def load_mnist1k(split: str, download: bool = True) -> ArrayDataset:
    """Sagun et al.'s "1K examples from the MNIST dataset", offline: 1,000 images drawn at
    random (fixed seed) from the 10k test split (all the mirror has) as the training set,
    2,000 others as held-out data."""
    full = load_mnist("test", download)
    order = torch.randperm(len(full.y), generator=torch.Generator().manual_seed(MNIST1K_SEED))
    part = (order[:MNIST1K_TRAIN] if _split(split) == "train"
            else order[MNIST1K_TRAIN:MNIST1K_TRAIN + MNIST1K_TEST])
    return ArrayDataset(full.x[part].clone(), full.y[part].clone(),
                        f"{full.source}, 1k random training / 2k held-out images of t10k")


def make_blobs(n: int, dim: int, centers: int, std: float, seed: int) -> tuple:
    """Gaussian blobs as the authors' code draws them (``sklearn.datasets.make_blobs`` then
    ``preprocessing.scale``): ``centers`` centres uniform in (−10, 10)^dim, equal cluster
    sizes (the first n mod centers clusters one point more), isotropic noise of standard
    deviation ``std``, shuffled, then every feature z-scored over all n points.
    Returns float32 inputs (n, dim) and int64 labels (n,)."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10.0, 10.0, size=(centers, dim))
    sizes = [n // centers + (1 if i < n % centers else 0) for i in range(centers)]
    x = np.concatenate([rng.normal(means[i], std, size=(m, dim)) for i, m in enumerate(sizes)])
    y = np.concatenate([np.full(m, i) for i, m in enumerate(sizes)])
    order = rng.permutation(n)
    x, y = x[order], y[order]
    spread = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
