"""Tests for companion.batching: token-stream batching, mini-batches, subsets, augmentation."""

import pytest
import torch

from companion.batching import (augment_crop_flip, fixed_subset, iterate_minibatches,
                                lm_batchify, lm_windows)


def test_lm_batchify_and_windows():
    ids = torch.arange(103)
    d = lm_batchify(ids, 4)
    assert d.shape == (4, 25) and d[1, 0] == 25
    wins = list(lm_windows(d, 10))
    assert [w[0].shape[1] for w in wins] == [10, 10, 4]
    for inp, tgt in wins:
        assert inp.shape == tgt.shape and torch.equal(tgt, inp + 1)


# ------------------------------------------------------- batches and augmentation
def test_iterate_minibatches():
    x, y = torch.arange(10).float().view(10, 1), torch.arange(10)
    g = torch.Generator().manual_seed(0)
    batches = list(iterate_minibatches(x, y, 4, g))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for xb, yb in batches:
        assert torch.equal(xb.view(-1).long(), yb)
    assert len(list(iterate_minibatches(x, y, 4, g, drop_last=True))) == 2
    plain = list(iterate_minibatches(x, y, 5, None, shuffle=False))
    assert plain[0][1].tolist() == [0, 1, 2, 3, 4]
    again = list(iterate_minibatches(x, y, 4, torch.Generator().manual_seed(0)))
    assert torch.equal(again[0][1], batches[0][1])
    aug = list(iterate_minibatches(x, y, 4, g, augment=lambda xb, gen: xb * 0))
    assert all((b[0] == 0).all() for b in aug)


def test_fixed_subset():
    a, b = fixed_subset(50000, 2500), fixed_subset(50000, 2500)
    assert torch.equal(a, b) and a.dtype == torch.long and len(set(a.tolist())) == 2500
    assert not torch.equal(a, fixed_subset(50000, 2500, seed=1))
    with pytest.raises(ValueError):
        fixed_subset(10, 11)


def test_augment_crop_flip_is_a_shifted_or_flipped_crop():
    b, pad = 16, 4
    x = torch.arange(1, b * 3 * 32 * 32 + 1, dtype=torch.float32).view(b, 3, 32, 32)
    out = augment_crop_flip(x, torch.Generator().manual_seed(0), pad=pad)
    assert out.shape == x.shape and out.dtype == x.dtype
    again = augment_crop_flip(x, torch.Generator().manual_seed(0), pad=pad)
    assert torch.equal(out, again)
    padded = torch.nn.functional.pad(x, (pad,) * 4)
    flips, offsets = [], []
    for i in range(b):
        match = [(dy, dx, f) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
                 for f in (False, True)
                 if torch.equal(out[i], (lambda c: torch.flip(c, [-1]) if f else c)(
                     padded[i, :, dy:dy + 32, dx:dx + 32]))]
        assert len(match) == 1, (i, match)
        offsets.append(match[0][:2])
        flips.append(match[0][2])
    assert any(flips) and not all(flips)
    assert len(set(offsets)) > 1


def test_augment_uint8_and_device_generator():
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    out = augment_crop_flip(x, torch.Generator().manual_seed(1))
    assert out.dtype == torch.uint8 and out.shape == x.shape
