"""Tasks: a data set on the device, seen the way training and the probes need it.

``build_task(config, device)`` returns a :class:`Task`: the loss, the batches of one epoch,
the fixed subsets the probes measure on, the model's build options and a sentence naming
the data. Adding a data set is a function here and an entry in ``TASKS`` (and the models
that train on it list it in ``companion.models.MODEL_DATASETS``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch

from . import data as data_lib
from .batching import FMNIST_MEAN, FMNIST_STD, MNIST_MEAN, MNIST_STD
from .models import cross_entropy

FMNIST, MNIST = (FMNIST_MEAN, FMNIST_STD), (MNIST_MEAN, MNIST_STD)
GRAYSCALE = ("fmnist", "mnist", "mnist10k", "mnist1k")  # 1 × 28 × 28 images
# data set → option → default (RunConfig.data_options): Gaussian blobs as the authors of
# Sagun et al. (2017) draw them (``std`` is make_blobs' cluster_std, their "covariance
# multiplier"); MNIST-1k mean-pooled ``pool`` × ``pool`` (28 → 28/pool pixels a side)
DATA_OPTIONS = {"blobs": {"classes": 10, "std": 1.0, "dim": 100}, "mnist1k": {"pool": 1}}
BLOBS_N = 1000  # training points (and as many test points) unless n_train / n_test say

BN_MODELS = ("resnet32", "vgg11")  # models with an optional BatchNorm (RunConfig.batch_norm)
from .optim import optimizer_spec


@dataclass
class Task:
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    epoch_batches: Callable[[torch.Generator], Iterator[tuple]]
    steps_per_epoch: int
    build_options: dict
    data_source: str
    hessian_batches: Callable[[int, int, int], list]   # (n, batch size, seed) -> fixed batches
    eval_chunks: Callable[[int], tuple]                # n_eval -> (train chunks, test chunks)
    val_chunks: Optional[Callable[[int], list]] = None  # n_val -> chunks of a validation split


def _chunks(x: torch.Tensor, y: torch.Tensor, size: int) -> list:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def generator(device: torch.device, seed: int) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


def image_task(config, device: torch.device) -> Task:
    """CIFAR-10/100, Fashion-MNIST or MNIST on the device: a training subset, fixed probe subsets,
    a validation split from the tail of the training split, a test subset."""
    load, num_classes, mean, std = IMAGE_SETS[config.dataset]
    pool = data_options(config).get("pool", 1)

    def norm(x):
        x = data_lib.normalize_images(x, device, mean=mean, std=std)
        return torch.nn.functional.avg_pool2d(x, pool) if pool > 1 else x
    options = {"num_classes": num_classes, "width": config.width}
    if config.model in BN_MODELS:
        options["batch_norm"] = config.batch_norm
    if config.dataset in GRAYSCALE:
        options.update(in_channels=1, image_size=28 // pool)
    return _array_task(config, device, load("train"), load("test"), norm,
                       data_lib.augment_crop_flip if config.augment else None, options, "images")


def data_options(config) -> dict:
    """The run's data options, defaults filled in."""
    return {**DATA_OPTIONS.get(config.dataset, {}), **dict(config.data_options)}


def blobs_task(config, device: torch.device) -> Task:
    """Gaussian blobs (:func:`companion.data_extra.make_blobs`): 2N points drawn and z-scored
    together from the run's seed, the first N train and the last N test (the authors' code)."""
    from types import SimpleNamespace

    from .data_extra import make_blobs

    o = data_options(config)
    n_train, n_test = config.n_train or BLOBS_N, config.n_test or config.n_train or BLOBS_N
    x, y = make_blobs(n_train + n_test, o["dim"], o["classes"], o["std"], config.seed + 20170)
    source = (f"{o['classes']} Gaussian blob(s) in {o['dim']} dimensions, std {o['std']:g} "
              "(make_blobs, z-scored)")
    train = SimpleNamespace(x=x[:n_train], y=y[:n_train], source=source)
    test = SimpleNamespace(x=x[n_train:], y=y[n_train:], source=source)
    options = {"num_classes": max(o["classes"], 2), "width": config.width,
               "in_features": o["dim"]}
    return _array_task(config, device, train, test, lambda t: t.to(device), None, options,
                       "points")


def text_task(config, device: torch.device) -> Task:
    """IMDB reviews as 400 word ids (see :mod:`companion.data_extra`); no augmentation."""
    from .data_extra import IMDB_WORDS

    return _array_task(config, device, data_lib.load_imdb("train"), data_lib.load_imdb("test"),
                       lambda x: x.to(device), None,
                       {"vocab_size": IMDB_WORDS, "width": config.width}, "reviews")


def _array_task(config, device, train, test, prepare, augment, options, noun) -> Task:
    n_train = min(config.n_train or len(train.y), len(train.y))
    x, y = prepare(train.x[:n_train]), train.y[:n_train].to(device)
    n_test = min(config.n_test or len(test.y), len(test.y))
    x_test, y_test = prepare(test.x[:n_test]), test.y[:n_test].to(device)

    def hessian_batches(n, batch_size, seed):
        # Fixed examples, augmented once (paper: the same regularization as training).
        idx = data_lib.fixed_subset(n_train, min(n, n_train), seed=seed).to(device)
        x_h, y_h = x[idx], y[idx]
        if augment is not None:
            x_h = augment(x_h, generator(device, seed + 7919))
        return _chunks(x_h, y_h, batch_size)

    def val_chunks(n):
        # the authors' validation split: the tail of the training split, never trained on
        if n_train + n > len(train.y):
            raise ValueError(f"a validation split of {n} overlaps the first {n_train} training "
                             f"examples (the split has {len(train.y)}): lower n_val or n_train")
        return _chunks(prepare(train.x[-n:]), train.y[-n:].to(device), 1000)

    if optimizer_spec(config.optimizer).full_batch:
        def epoch_batches(gen):
            yield (augment(x, gen) if augment is not None else x), y
        steps = 1
    else:
        def epoch_batches(gen):
            return data_lib.iterate_minibatches(x, y, config.batch_size, gen, augment=augment)
        steps = math.ceil(n_train / config.batch_size)
    return Task(cross_entropy, epoch_batches, steps, options,
                f"{train.source}, {n_train} train / {n_test} test {noun}", hessian_batches,
                lambda n: (_chunks(x[:n], y[:n], 1000), _chunks(x_test, y_test, 1000)),
                val_chunks)


def language_task(config, device: torch.device) -> Task:
    """Word-level PTB. Offline only valid/test exist: train on valid, evaluate on test."""
    train_ids, vocab = data_lib.load_ptb("valid")
    test_ids, _ = data_lib.load_ptb("test")
    train_ids = train_ids[:config.n_train] if config.n_train else train_ids
    test_ids = test_ids[:config.n_test] if config.n_test else test_ids
    stream = data_lib.lm_batchify(train_ids, config.batch_size).to(device)
    windows = list(data_lib.lm_windows(stream, config.bptt))
    full_batch = optimizer_spec(config.optimizer).full_batch

    def sequences(ids, n_tokens):
        usable = (min(n_tokens, len(ids) - 1) // config.bptt) * config.bptt
        inputs = ids[:usable].view(-1, config.bptt).to(device)
        targets = ids[1:usable + 1].view(-1, config.bptt).to(device)
        return inputs, targets

    def epoch_batches(gen):
        if full_batch:
            yield sequences(train_ids, len(train_ids))
            return
        yield from windows  # truncated BPTT windows in order (Zaremba et al. 2014)

    hidden = max(1, round(200 * config.width))
    return Task(cross_entropy, epoch_batches, 1 if full_batch else len(windows),
                {"vocab_size": len(vocab), "embed_dim": hidden, "hidden_dim": hidden},
                f"PTB word-level: trained on the valid split ({len(train_ids)} tokens), "
                f"evaluated on test ({len(test_ids)} tokens); no training split offline",
                lambda n, size, seed: _chunks(*sequences(train_ids, n), size),
                lambda n: (_chunks(*sequences(train_ids, n), 200),
                           _chunks(*sequences(test_ids, len(test_ids)), 200)))


CIFAR = (data_lib.CIFAR10_MEAN, data_lib.CIFAR10_STD)
IMAGE_SETS = {"cifar10": (data_lib.load_cifar10, 10, *CIFAR),  # loader, classes, mean, std
              "cifar100": (data_lib.load_cifar100, 100, *CIFAR),
              "fmnist": (data_lib.load_fashion_mnist, 10, *FMNIST),
              "mnist": (data_lib.load_mnist, 10, *MNIST),
              "mnist10k": (data_lib.load_mnist10k, 10, *MNIST),
              "mnist1k": (data_lib.load_mnist1k, 10, *MNIST)}
TASKS = {"cifar10": image_task, "cifar100": image_task, "fmnist": image_task,
         "mnist": image_task, "mnist10k": image_task, "mnist1k": image_task,
         "blobs": blobs_task,
         "imdb": text_task, "ptb": language_task}


def build_task(config, device: torch.device) -> Task:
    """The run's task; its ``build_options`` include the run's model options."""
    from .models import MODEL_OPTIONS

    task = TASKS[config.dataset](config, device)
    task.build_options = {**task.build_options, **MODEL_OPTIONS.get(config.model, {}),
                          **dict(config.model_options)}
    return task
