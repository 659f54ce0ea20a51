"""What a run's eigen-solvers and probes will hold, checked before any training against the
network's size and the machine's memory, and what it takes of the data set's splits.

A Lanczos solve of k eigenpairs keeps a basis of up to ~20k (the training probes, NSGD's
refresh) or ~30k (the snapshot probes of Alain et al.) vectors of the network's size; a
dense spectrum (Sagun et al.) forms the d × d Hessian in float64; the walk stacks its
``points + 1`` interpolated parameter vectors. A parameter that asks for more eigenpairs
than the network has parameters, or for more memory than the machine has, would otherwise
be clamped silently or run for hours and then fail: :func:`size_problems` says so at once.
So does an ``n_train``, ``n_test`` or ``n_val`` beyond the data set's split as loaded here
(the tasks would take the whole split silently, or fail when the run starts).

:func:`registry.resolve` calls it only for the runs whose size-setting parameters the user
changed (:func:`sets_sizes`): the network is then built on PyTorch's ``meta`` device, which
needs the data set's shapes (for PTB its vocabulary), not its arrays on the device. The
figures' own settings are checked by ``tests/test_run_sizes.py``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Mapping

import torch

from .config import DATA_OPTIONS, MODEL_OPTIONS, RunConfig

# option → (Krylov vectors per wanted pair, the least basis), as each solver caps its basis
# (probes.top_eigenpairs and NSGD's refresh: lanczos' default; snapshot_curvature: MAX_KRYLOV)
EIGENPAIR_OPTIONS = {"top_k": (20, 100), "la": (30, 600), "sa": (30, 600), "top": (4, 600)}
STEERING_OPTIONS = ("directions", "tracked")  # NSGD refreshes max(directions, tracked)
# the user's parameters that change the network (and so its size) or what is solved for
NETWORK_FIELDS = ("model", "dataset", "width", "batch_norm")
SPLIT_FIELDS = ("n_train", "n_test", "n_val")  # how much of the data set's splits a run takes
# the probes' options that take the first (or fixed) n of the run's training examples; 0,
# where allowed, means all of them (probes_spectra.DenseSpectrum, SubsetAgreement)
SUBSET_OPTIONS = ("n_eval", "n_hessian", "n_loss", "n_large")
BUILD_EXAMPLES = 2  # the network's shapes need the data set's, not its examples
GIB = 2 ** 30


def sets_sizes(overrides: Mapping) -> bool:
    """Whether the user's parameters change a network's size, what its solvers ask for or
    how much of the data set a run takes (a probe's option may be named ``probe.option``)."""
    options = {n for table in (MODEL_OPTIONS, DATA_OPTIONS) for o in table.values() for n in o}
    names = {str(k).split(".")[-1] for k in overrides}
    return bool(names & ({*EIGENPAIR_OPTIONS, *STEERING_OPTIONS, "points", "method", "ggn",
                          *NETWORK_FIELDS, *SPLIT_FIELDS} | options))


@lru_cache(maxsize=64)
def _count(model: str, dataset: str, width: float, batch_norm: bool, model_options: tuple,
           data_options: tuple) -> int:
    from .models import build_model
    from .tasks import build_task

    config = RunConfig(model=model, dataset=dataset, width=width, batch_norm=batch_norm,
                       model_options=model_options, data_options=data_options,
                       n_train=BUILD_EXAMPLES, n_test=BUILD_EXAMPLES, batch_size=1)
    task = build_task(config, torch.device("meta"))
    with torch.device("meta"):
        network = build_model(config.model, **task.build_options)
    return sum(p.numel() for p in network.parameters() if p.requires_grad)


def parameter_count(config: RunConfig) -> int:
    """The number of trainable parameters of the run's network (d, the Hessian's side)."""
    return _count(config.model, config.dataset, config.width, config.batch_norm,
                  tuple(config.model_options), tuple(config.data_options))


def _solves(config: RunConfig, d: int) -> list:
    """(what the user wrote, k or None, bytes held, what holds them) for the network and
    for each solve."""
    out = [("training the network", None, 3 * 4 * d,
            f"at least its {d:,} parameters, their gradients and the optimizer's state")]
    for probe in config.probes:
        for option, (per_pair, least) in EIGENPAIR_OPTIONS.items():
            k = getattr(probe, option, None)
            if not isinstance(k, int) or (option == "top"
                                          and getattr(probe, "method", "") != "lanczos"):
                continue
            size = 8 if option == "top" else 4  # Sagun et al.'s spectra solve in float64
            out.append(_basis(f"{probe.name}.{option}={k}", k, d, per_pair, least, size))
        if probe.name == "spectrum" and probe.method == "dense":  # H (and G, R) and eigh's copy
            matrices = 4 if probe.ggn else 2
            out.append((f"spectrum.method=dense{' with ggn' if probe.ggn else ''}", None,
                        8 * matrices * d * d, f"{matrices} float64 matrices of {d:,} × {d:,}"))
        if probe.name == "walk":
            out.append((f"walk.points={probe.points}", None, 4 * (probe.points + 1) * d,
                        f"{probe.points + 1:,} copies of the network's {d:,} parameters"))
    options = dict(config.optimizer_options)
    steering = [(options[name], name) for name in STEERING_OPTIONS if name in options]
    if steering:  # NSGD's refresh solves for max(directions, tracked) eigenpairs
        k, name = max(steering)
        out.append(_basis(f"the optimizer's {name}={k}", k, d, *EIGENPAIR_OPTIONS["top_k"], 4))
    return out


def _basis(what: str, k: int, d: int, per_pair: int, least: int, size: int) -> tuple:
    """The Lanczos basis a solve for ``k`` eigenpairs keeps, as ``_solves`` lists it."""
    vectors = min(d, max(per_pair * k, least))
    return (what, k, size * vectors * d,
            f"a Lanczos basis of up to {vectors:,} vectors of the network's {d:,} parameters")


def _blobs_bytes(config: RunConfig) -> int:
    """The bytes make_blobs holds at once (float64 centres or points, and their copies)."""
    if config.dataset != "blobs":
        return 0
    from .tasks import BLOBS_N, data_options

    options = data_options(config)
    points = (config.n_train or BLOBS_N) + (config.n_test or config.n_train or BLOBS_N)
    return 8 * 3 * max(points, options["classes"]) * options["dim"]


@lru_cache(maxsize=16)
def split_sizes(dataset: str) -> tuple:
    """(training, test) examples of the data set as loaded here (PTB: tokens of the valid
    and test splits, which it trains and tests on offline); () for drawn data (blobs)."""
    from . import data as data_lib
    from .tasks import IMAGE_SETS

    if dataset == "ptb":
        return tuple(len(data_lib.load_ptb(split)[0]) for split in ("valid", "test"))
    if dataset in IMAGE_SETS or dataset == "imdb":
        load = IMAGE_SETS[dataset][0] if dataset in IMAGE_SETS else data_lib.load_imdb
        return tuple(len(load(split).y) for split in ("train", "test"))
    return ()


def split_problems(config: RunConfig) -> list:
    """``n_train``, ``n_test`` or (with a validation probe) ``n_train + n_val`` beyond the
    data set's splits (the validation split is the tail of the training split)."""
    sizes = split_sizes(config.dataset)
    if not sizes:
        return []
    (train, test), out = sizes, []
    unit = "tokens" if config.dataset == "ptb" else "examples"
    for name, asked, total, split in (("n_train", config.n_train, train, "training"),
                                      ("n_test", config.n_test, test, "test")):
        if asked and asked > total:
            out.append(f"{name}={asked} is more than the {total:,} {split} {unit} of "
                       f"{config.dataset} here: ask for at most {total:,}, or leave {name} "
                       f"out for all of them")
    val = next((p.n_val for p in config.probes if p.name == "val"), None)
    used = config.n_train or train
    if val and used <= train < used + val:
        out.append(f"a validation split of n_val={val} (the tail of the training split) "
                   f"overlaps the {used:,} training examples: {config.dataset} has {train:,}, "
                   f"so lower n_val or n_train until they sum to at most {train:,}")
    return out


def subset_problems(config: RunConfig, asked: Mapping) -> list:
    """A probe's subset of the training examples that the user asked (``asked``: the names
    the run takes, ``walk.n_eval`` or ``n_hessian``) to be larger than the run's training
    set: the tasks would take all of it silently, under a key and a footer that say more.
    Only the user's: a figure's own subsets are cut to a training set the user shrank."""
    named = [str(w) for w in asked if str(w).rpartition(".")[2] in SUBSET_OPTIONS]
    if not named or config.dataset == "ptb":  # PTB's n_train counts tokens, not sequences
        return []  # (and nothing is loaded for the split's size unless it is needed)
    from .tasks import BLOBS_N

    try:
        sizes = split_sizes(config.dataset)
    except OSError:  # no data set offline: loading it is the run's to report
        return []
    used = config.n_train or (sizes[0] if sizes else BLOBS_N)
    if sizes:
        used = min(used, sizes[0])
    out = []
    for written in named:
        owner, _, option = written.rpartition(".")
        for probe in config.probes:
            n = getattr(probe, option, None)
            if owner in ("", probe.name) and isinstance(n, int) and n > used:
                out.append(f"{written}={n} is more than the run's {used:,} training examples "
                           f"(its probe {probe.name!r} takes a subset of them): ask for at "
                           f"most {used:,}, or raise n_train")
    return out


def asked_beyond(config: RunConfig, overrides: Mapping, taken: Mapping) -> list:
    """What the user's parameters (``overrides``; ``taken``: those the run takes) ask of the
    run beyond its network, its data or the machine: :func:`size_problems` where they set a
    size (:func:`sets_sizes`: the network is built on the meta device), and
    :func:`subset_problems`, which builds nothing."""
    return (size_problems(config) if sets_sizes(overrides) else []) + subset_problems(
        config, taken)


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def machine_memory(device: str) -> tuple:
    """(bytes, words) of the memory the run's solvers use: the GPU's, or the host's."""
    if device in ("cuda", "auto") and torch.cuda.is_available():
        total = torch.cuda.get_device_properties(0).total_memory
        return total, f"the GPU's {total / GIB:.0f} GiB"
    return host_memory(), f"this machine's {host_memory() / GIB:.0f} GiB of memory"


def size_problems(config: RunConfig) -> list:
    """What the run, or a run it starts from, asks for beyond its network or its machine
    (empty when nothing, or when the data set is not at hand: the run says that itself)."""
    problems = [] if config.start_from is None else size_problems(config.start_from)
    blobs = _blobs_bytes(config)
    if blobs > host_memory():  # drawn on the host, whatever the device
        return problems + [f"the Gaussian blobs would hold {blobs / GIB:,.0f} GiB, more than "
                           f"this machine's {host_memory() / GIB:.0f} GiB of memory: lower "
                           f"dim, classes or n_train"]
    try:
        problems += split_problems(config)
        d = parameter_count(config)
    except OSError:  # no data set offline: loading it is the run's to report
        return problems
    except (RuntimeError, TypeError, ValueError, OverflowError) as error:  # width=1e8: a
        # tensor beyond any storage; init_value=none: an option the model cannot take
        first = (str(error).strip() or type(error).__name__).splitlines()[0]  # not C++ frames
        return problems + [f"the network cannot be built, even without memory ({first}): "
                           f"lower width or the model's sizes, or fix its options"]
    total, words = machine_memory(config.device)
    for what, k, size, held in _solves(config, d):
        if k is not None and k > d:
            problems.append(f"{what} asks for more eigenpairs than the network has parameters "
                            f"({d:,}, the Hessian's side): ask for at most {d:,}")
        elif size > total:
            problems.append(f"{what} would hold {size / GIB:,.0f} GiB ({held}), more than "
                            f"{words}: ask for less, or for a smaller network")
    return problems
