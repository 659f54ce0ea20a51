"""Fashion-MNIST and IMDB loaders (mirror or cache), and the IMDB text pipeline."""

import numpy as np
import pytest
import torch

from companion import data
from companion.data_extra import (IMDB_MAXLEN, OOV, START, build_vocabulary, encode,
                                  load_fashion_mnist, load_imdb, tokenize)
from conftest import cifar_available


def _need(name):
    if not cifar_available() and not (data.cache_dir() / name).exists():
        pytest.skip("no mirror and no cache: set COMPANION_MIRROR")


def test_tokenize_lowercases_strips_breaks_and_keeps_apostrophes():
    assert tokenize("It's GREAT.<br /><br />10/10!") == ["it's", "great", "10", "10"]


def test_vocabulary_ranks_by_frequency_and_reserves_three_ids():
    vocab = build_vocabulary(["b a a", "c a b"], num_words=5)
    assert vocab == {"a": 3, "b": 4}  # 5 - 3 reserved ids leave two words; 'c' is OOV


def test_encode_keeps_the_last_words_and_pads_at_the_front():
    vocab = {"good": 3, "film": 4}
    ids = encode("good film bad", vocab, maxlen=6)
    assert ids.tolist() == [0, 0, START, 3, 4, OOV]
    long = encode(" ".join(["good"] * 10) + " film", vocab, maxlen=4)
    assert long.tolist() == [3, 3, 3, 4]  # Keras pre-truncation: the start token is cut


def test_fashion_mnist_shapes_and_balance():
    _need("fmnist_train.npz")
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    assert train.x.shape == (60000, 1, 28, 28) and test.x.shape == (10000, 1, 28, 28)
    assert train.x.dtype == torch.uint8 and torch.bincount(train.y).tolist() == [6000] * 10


def test_imdb_shapes_balance_and_vocabulary():
    _need("imdb_train.npz")
    train, test = load_imdb("train"), load_imdb("test")
    assert train.x.shape == (25000, IMDB_MAXLEN) and test.x.shape == (25000, IMDB_MAXLEN)
    assert int(train.x.max()) < 5000 and torch.bincount(train.y).tolist() == [12500, 12500]
    # the classes are mixed in any prefix (the files are sorted by class on disk)
    assert 0.4 < train.y[:1000].float().mean() < 0.6
    # a padded (short) review starts with the start token after its padding; long ones
    # lose their beginning (Keras' pre-truncation)
    padded = train.x[train.x[:, 0] == 0]
    first = (padded != 0).int().argmax(dim=1)
    assert len(padded) > 10000 and bool((padded[torch.arange(len(first)), first] == START).all())


def test_bad_split_is_an_error():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_imdb("valid")
    assert np.all(encode("", {}, maxlen=3) == [0, 0, START])


def test_mnist_offline_is_the_test_split_cut_8000_2000():
    from companion.data_extra import load_mnist10k

    try:
        train, test = load_mnist10k("train"), load_mnist10k("test")
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"no MNIST mirror or cache: {err}")
    assert train.x.shape == (8000, 1, 28, 28) and test.x.shape == (2000, 1, 28, 28)
    assert train.x.dtype == torch.uint8 and set(train.y.unique().tolist()) == set(range(10))
    assert "t10k split 8,000/2,000" in train.source


def test_mnist1k_is_a_fixed_random_draw_with_a_disjoint_held_out_set():
    from companion.data_extra import load_mnist, load_mnist1k

    try:
        train, test, full = load_mnist1k("train"), load_mnist1k("test"), load_mnist("test")
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"no MNIST mirror or cache: {err}")
    assert train.x.shape == (1000, 1, 28, 28) and test.x.shape == (2000, 1, 28, 28)
    assert torch.equal(load_mnist1k("train").x, train.x)            # the same every time
    assert not torch.equal(train.x, full.x[:1000])                   # drawn, not the first 1k
    rows = {bytes(x.numpy()) for x in full.x}
    assert len({bytes(x.numpy()) for x in train.x} | {bytes(x.numpy()) for x in test.x}) \
        == 3000 or len(rows) < 10000                                 # disjoint (unless dupes)
    assert np.bincount(train.y.numpy(), minlength=10).min() > 60


def test_make_blobs_follows_the_authors_recipe():
    from companion.data_extra import make_blobs

    x, y = make_blobs(1003, 100, 5, 1.0, seed=3)
    assert x.shape == (1003, 100) and x.dtype == torch.float32
    assert np.bincount(y.numpy()).tolist() == [201, 201, 201, 200, 200]  # equal, remainder first
    assert torch.allclose(x.mean(0), torch.zeros(100), atol=1e-5)       # z-scored globally
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(100), atol=1e-4)
    # within-blob spread (std 1) is small beside the spread of centres in (−10, 10)
    within = torch.stack([x[y == c].std(0).mean() for c in range(5)]).mean()
    assert within < 0.3
    x10, _ = make_blobs(1003, 100, 5, 10.0, seed=3)                     # "covariance × 10"
    assert torch.stack([x10[y == c].std(0).mean() for c in range(5)]).mean() > 2 * within
    assert torch.equal(make_blobs(50, 4, 2, 1.0, seed=0)[0], make_blobs(50, 4, 2, 1.0, seed=0)[0])
