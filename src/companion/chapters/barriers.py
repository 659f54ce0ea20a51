"""Chapter 4 — a walk with SGD: barriers and the valley floor (Xing, Arpit, Tsirigotis &
Bengio 2018): every figure (``walk-1`` … ``walk-28``) and both tables.

The runs follow the authors' code (``LynetteXing1991/walk_with_sgd``) where the paper is
silent: VGG-11 with BN and a 512-512-512-10 classifier, pre-activation ResNet-56, the
784-500-350-10 MLP with BN; CIFAR-10 45k/5k, B = 100, weight decay 1e-4, no momentum, seed
1111; GD with an effective η = 0.9 (9 chunks' gradients summed at η = 0.1, so its weight
decay is 1e-4/9 per unit of η). The walk probe (:mod:`companion.probes_walk`) interpolates
online; a run's label names it ("VGG-11 SGD η=0.1"), and figures that share a run share
its training. Profiles: ``default`` maps the paper's epochs 1/2/10/25/100 to 1/2/3/5/20 of
20 and shrinks width, data and the evaluation set (``SHRUNK``); ``paper`` keeps the
authors' settings with n_eval = 5,000 (the one knob that makes it fit a GPU budget).
"""

from __future__ import annotations

from dataclasses import replace

from ..config import RunConfig
from ..probes import Metrics, TopEigen
from ..probes_tables import Validation
from ..probes_walk import Walk
from ..registry import Figure, RunSpec, register
from . import barriers_claims as C
from . import barriers_plots as P
from .barriers_claims import DEFAULT_EPOCHS, PAPER_EPOCHS, TABLE_EPOCHS

CHAPTER, PAPER = "barriers", "xing2018walk"
GD_WD = 1e-4 / 9
ARCH = {  # label prefix → (model, data set, default width, default n_train, default n_eval)
    "VGG-11": ("vgg11_walk", "cifar10", 0.25, 5000, 100),
    "ResNet-56": ("resnet56", "cifar10", 0.25, 1500, 150),
    "MLP": ("mlp_bn", "mnist10k", 1.0, 8000, 2000),
    "VGG-11 (F-MNIST)": ("vgg11_walk", "fmnist", 0.25, 5000, 100),
}
OVERRIDES: dict = {}  # label → profile → overrides


def _held_out(dataset: str, n: int):
    return Metrics(n_eval=1000) if dataset == "mnist10k" else Validation(n_val=n)


def run(label: str, arch: str, default: dict = None, smoke: dict = None, paper: dict = None,
        walk: Walk | None = Walk(), extra=(), sweep=(), keeps=(), absent=(),
        held_out: bool = True, scales=(), derived=None, **fields) -> RunSpec:
    """One run at the paper's settings, and its default and smoke overrides (``absent``:
    the profiles that leave it out; ``walk=None``: a run without the walk probe;
    ``held_out=False``: without the held-out accuracy)."""
    model, dataset, width, n_train, n_eval = ARCH[arch]
    mlp = model == "mlp_bn"
    walks = () if walk is None else (replace(walk, n_eval=5000),)
    base = RunConfig(model=model, dataset=dataset, n_train=None if mlp else 45000,
                     augment=not mlp, batch_size=100, lr=0.1, weight_decay=1e-4,
                     epochs=40 if mlp else 100, seed=1111, track_every=1,
                     probes=(*([_held_out(dataset, 5000)] if held_out else []), *extra, *walks)
                     ).with_overrides(**fields)
    held = {} if mlp or not held_out else {"n_val": 2000}
    smoke_held = {} if not held_out else {"metrics.n_eval": 200} if mlp else {"n_val": 200}
    OVERRIDES[label] = {
        "paper": dict(paper or {}),
        "default": {"width": width, "n_train": n_train, "augment": False,
                    **({"walk.n_eval": n_eval} if walks else {}), **held, **(default or {})},
        "smoke": {"width": 0.125 if model == "vgg11_walk" else 0.25, "n_train": 200,
                  "augment": False, "epochs": 2,
                  **({"walk.n_eval": 50, "walk.first": 10} if walks else {}),
                  **smoke_held,
                  **(smoke or {})},
    }
    for profile in absent:
        OVERRIDES[label][profile] = None
    named = ("optimizer",) if {"GD", "SGD"} & set(label.split()) else ()  # its label says
    return RunSpec(label, base, sweep, keeps=keeps + named, scales=scales, derived=derived)


def sgd(arch: str, lr: float, walk_epochs: tuple = PAPER_EPOCHS, **kw) -> RunSpec:
    """SGD interpolating every segment of the selected epochs (paper 1/2/10/25/100;
    ``walk_epochs``: a subset of those, mapped to the default profile's epochs)."""
    mlp = arch == "MLP"
    paper_epochs = (1, 2, 10, 25) if mlp else walk_epochs
    mapped = tuple(DEFAULT_EPOCHS[PAPER_EPOCHS.index(e)] for e in walk_epochs)
    return run(f"{arch} SGD η={lr:g}", arch, lr=lr, walk=Walk(epochs=paper_epochs),
               keeps=("lr",),  # its label names η: PARAMS="lr=…" is GD's
               default={"epochs": 40 if mlp else 20,
                        "walk.epochs": paper_epochs if mlp else mapped,
                        **kw.pop("default", {})},
               smoke={"walk.epochs": (1, 2), **kw.pop("smoke", {})}, **kw)


def hessian_run(arch: str, lr: float, n_hessian: int, label: str = None,
                walk: Walk | None = None, default: dict = None, smoke: dict = None,
                paper: dict = None, keeps: tuple = (), derived=None) -> RunSpec:
    """SGD with λ_max (Lanczos, top 1) and the held-out accuracy each epoch: the spec's runs
    for Figs. 3 and 7 (R15, R16). The walk runs at the same η take the same steps (no probe
    touches training), so this is their λ_max; ``walk`` lets the run interpolate too."""
    return run(label or f"{arch} SGD η={lr:g} λ_max", arch, lr=lr, walk=walk,
               keeps=("lr",) + keeps,
               extra=(TopEigen(top_k=1, n_hessian=25000, hessian_batch_size=500,
                               lanczos_tol=1e-3),),
               default={"epochs": 20, "n_hessian": n_hessian, "lanczos_tol": 1e-2,
                        **(default or {})},
               smoke={"n_hessian": 100, **(smoke or {})}, paper=paper, derived=derived)


def gd(arch: str, label: str = None, optimizer: str = "gd", steps: int = 450,
       default_steps: int = 40, upto: int = 40, **kw) -> RunSpec:
    """Full-batch GD at the code's effective η = 0.9 (default profile, narrowed networks:
    0.3, see SHRUNK; the MLP keeps the paper's width and so its η)."""
    return run(label or f"{arch} GD", arch, optimizer=optimizer, lr=0.9, weight_decay=GD_WD,
               scales=(("weight_decay", 1 / 9),),  # the user's, as the code's 9 chunks have it
               epochs=steps, track_every=10, walk=Walk(upto=upto),
               default={**({} if arch == "MLP" else {"lr": 0.3}), "epochs": default_steps,
                        **({"n_train": 2000} if arch.startswith("VGG") else {}),
                        **kw.pop("default", {})},
               smoke={"epochs": 12, **kw.pop("smoke", {})}, **kw)


def profiles(runs) -> dict:
    return {p: {r.label: OVERRIDES[r.label][p] for r in runs}
            for p in ("smoke", "default", "paper")}


SHRUNK = {
    "default": ("widths ×1/4 (VGG-11, ResNet-56); 5,000 (VGG) / 1,500 (ResNet) CIFAR-10 "
                "images, no augmentation, 20 epochs with the paper's epochs 1/2/10/25/100 read "
                "as 1/2/3/5/20; the interpolated loss on 100 / 150 fixed training images (the "
                "MLP: MNIST 8k/2k, 40 epochs, 2,000 images); GD on 2,000 images (VGG) at "
                "η = 0.3 on the narrowed nets, where the code's 0.9 is past the edge of "
                "stability (the full-width MLP keeps 0.9)"),
    "smoke": "200 images, 2 epochs, 10 segments an epoch, 50 evaluation images (tests)",
    "paper": ("the authors' code's settings; the interpolated loss on 5,000 fixed training "
              "images instead of all 45,000 (the GPU budget), un-augmented, in fixed batches"),
}


def every_epoch(config) -> dict:
    """'every epoch': the walk interpolates each epoch the run trains (the user's epochs=30
    too)."""
    return {"walk.epochs": tuple(range(1, config.epochs + 1))}


def every_training_image(config) -> dict:
    """'every training image': the walk's subset is the run's whole training set."""
    return {"walk.n_eval": config.n_train}


# Held-out accuracy only where a figure shows it (Figs. 3, 5–7, 25–27): the walk runs of the
# trajectories, tables and Fig. 8 and the trajectory figures' GD runs go without (the MLP's,
# committed at the paper profile, are left as made); Table 2's second rows interpolate its
# epochs only
VGG1 = sgd("VGG-11", 0.1, held_out=False)
VGG05 = sgd("VGG-11", 0.05, walk_epochs=TABLE_EPOCHS, held_out=False)
VGG_GD = gd("VGG-11", held_out=False)
VGG_EVERY = run("VGG-11 SGD η=0.1 every epoch", "VGG-11", walk=Walk(epochs=tuple(range(1, 41))),
                keeps=("lr", "walk.epochs"), derived=every_epoch,
                default={"epochs": 20, "walk.epochs": tuple(range(1, 21)), "walk.every": 5},
                smoke={"walk.epochs": (1, 2), "walk.every": 2}, paper={"epochs": 40},
                held_out=False)
RES1 = sgd("ResNet-56", 0.1, held_out=False)
RES3 = sgd("ResNet-56", 0.3, walk_epochs=TABLE_EPOCHS, held_out=False)
# Figs. 3 and 7 (λ_max: ~0.5 s a product on 250 images for VGG-11 ×1/4, ~2 s on 300 for
# ResNet-56 ×1/4, measured; 150 images keep the chapter within its 45 minutes). Fig. 3's run
# also interpolates the fidelity check's segments on every training image (spec §5: "10 R1
# segments"): one more training of Table 1's trajectory serves both, not two.
PER_EPOCH = 2  # whole-set segments per selected epoch: 10 in all
VGG_HESS = hessian_run(
    "VGG-11", 0.1, 250, label="VGG-11 SGD η=0.1 λ_max, every training image",
    walk=Walk(epochs=PAPER_EPOCHS, first=PER_EPOCH), paper={"walk.n_eval": 45000},
    default={"walk.epochs": DEFAULT_EPOCHS, "walk.n_eval": 5000},
    smoke={"walk.epochs": (1, 2), "walk.first": PER_EPOCH, "walk.n_eval": 200},
    keeps=("n_eval", "walk.n_eval"),  # every training image, whatever the subset's size
    derived=every_training_image)
RES_HESS = hessian_run("ResNet-56", 0.3, 150)
RES_GD = gd("ResNet-56", held_out=False)
MLP1, MLP_GD = sgd("MLP", 0.1), gd("MLP")   # committed at the paper profile: left as made
FM_GD = gd("VGG-11 (F-MNIST)", held_out=False)
FM_SGD = run("VGG-11 (F-MNIST) SGD η=0.1", "VGG-11 (F-MNIST)", epochs=1, keeps=("lr",),
             walk=Walk(epochs=(1,)), smoke={"epochs": 1, "walk.epochs": (1,)})


def trajectory(fid: str, title: str, caption: str, runs: tuple, position: int, claims=()):
    register(Figure(id=fid, title=title, notebook=CHAPTER, paper=PAPER, caption=caption,
                    runs=runs, profiles=profiles(runs), shrunk=SHRUNK, claims=claims,
                    no_claims="" if claims else "The paper states no number about this panel "
                    "beyond the trends its neighbours' claims check.",
                    plot=P.trajectory_plot(runs[0].label, position)))


TRAJ_CAPTION = ("Plots for {what}. The interpolation of the training loss between "
                "consecutive iterations (10 points each), the cosine of the angle between the "
                "gradients of consecutive iterations, and the distance of the parameters from "
                "the initialization. The dashed orange line joins the valley floors.")
trajectory("walk-1", "GD: a valley between every two iterates, its floor going down",
           TRAJ_CAPTION.format(what="VGG-11 trained with full-batch gradient descent on "
                               "CIFAR-10, epoch 1"), (VGG_GD, VGG1), 0,
           (C.t1_gd_valley(), C.t2_gd_floor_monotone()))
trajectory("walk-2", "SGD: weaker anti-correlation, a rough floor, farther travel",
           TRAJ_CAPTION.format(what="VGG-11 trained with SGD on CIFAR-10, epoch 1"),
           (VGG1, VGG_GD), 0, (C.t3_sgd_explores(), C.t4_sgd_floor_rough()))
trajectory("walk-9", "ResNet-56 under GD", TRAJ_CAPTION.format(
    what="Resnet-56 trained with full-batch gradient descent, epoch 1"), (RES_GD, RES1), 0,
    (C.t1_gd_valley(), C.t2_gd_floor_monotone()))
for fid, pos, ep in (("walk-10", 0, 1), ("walk-11", 1, 2), ("walk-12", 3, 25), ("walk-13", 4, 100)):
    trajectory(fid, f"ResNet-56 under SGD, epoch {ep}", TRAJ_CAPTION.format(
        what=f"Resnet-56 trained with SGD, epoch {ep}"), (RES1, RES_GD) if pos == 0 else (RES1,),
        pos, (C.t3_sgd_explores(), C.t4_sgd_floor_rough()) if pos == 0 else ())
for fid, pos, ep in (("walk-14", 1, 2), ("walk-15", 3, 25), ("walk-16", 4, 100)):
    trajectory(fid, f"VGG-11 under SGD, epoch {ep}", TRAJ_CAPTION.format(
        what=f"VGG-11 trained with SGD, epoch {ep}"), (VGG1,), pos)
trajectory("walk-17", "The MLP under GD", TRAJ_CAPTION.format(
    what="the MLP on MNIST trained with full-batch gradient descent, epoch 1"),
    (MLP_GD, MLP1), 0, (C.t1_gd_valley(), C.t2_gd_floor_monotone()))
trajectory("walk-18", "The MLP under SGD, epoch 1", TRAJ_CAPTION.format(
    what="the MLP on MNIST trained with SGD, epoch 1"), (MLP1, MLP_GD), 0,
    (C.t3_sgd_explores(), C.t4_sgd_floor_rough()))
trajectory("walk-19", "The MLP under SGD, epoch 2", TRAJ_CAPTION.format(
    what="the MLP on MNIST trained with SGD, epoch 2"), (MLP1,), 1)
trajectory("walk-20", "GD on a second data set (Fashion-MNIST for Tiny ImageNet)",
           TRAJ_CAPTION.format(what="VGG-11 on a subset of Tiny ImageNet (here: Fashion-MNIST)"
                               " trained with full-batch gradient descent, epoch 1"),
           (FM_GD, FM_SGD), 0, (C.t1_gd_valley(), C.t2_gd_floor_monotone()))
trajectory("walk-21", "SGD on a second data set: no barrier in a whole epoch",
           TRAJ_CAPTION.format(what="VGG-11 on a subset of Tiny ImageNet (here: Fashion-MNIST)"
                               " trained with SGD, epoch 1"), (FM_SGD, FM_GD), 0,
           (C.t3_sgd_explores(), C.t6_barriers_rare()))

register(Figure(
    id="walk-table-1", title="Barriers crossed per epoch", notebook=CHAPTER, paper=PAPER,
    caption=("Number of barriers crossed during training of VGG-11, Resnet-56 and the MLP on "
             "CIFAR-10 and MNIST, per epoch (450 iterations)."),
    runs=(VGG1, RES1, MLP1), profiles=profiles((VGG1, RES1, MLP1)), shrunk=SHRUNK,
    claims=(C.t6_barriers_rare(), C.t5_valleys_dominate()), plot=P.barrier_table))
TABLE2 = (VGG1, VGG05, RES3, RES1)
register(Figure(
    id="walk-table-2", title="Height above the valley floor, against the learning rate",
    notebook=CHAPTER, paper=PAPER,
    caption=("Average height of the SGD iterates above the valley floor, "
             "[L(θ_t) + L(θ_{t+1}) − 2L(θ_t^min)]/2, per epoch, for two learning rates."),
    runs=TABLE2, profiles=profiles(TABLE2), shrunk=SHRUNK,
    claims=(C.t8_lr_sets_height("VGG-11"), C.t8_lr_sets_height("ResNet-56"),
            C.t9_height_falls(), C.t10_small_lr_no_more_barriers("VGG-11")),
    plot=P.height_table))
register(Figure(
    id="walk-8", title="Barriers per epoch, and how high they are", notebook=CHAPTER,
    paper=PAPER, caption=("Number of barriers found during training of VGG-11 on CIFAR-10 "
                          "for epochs 1 to 40, and their heights."),
    runs=(VGG_EVERY,), profiles=profiles((VGG_EVERY,)),
    shrunk={**SHRUNK, "default": SHRUNK["default"] + "; every 5th segment of every epoch"},
    claims=(C.t7_fig8(),), plot=P.barriers_per_epoch))

from . import barriers_dynamics  # noqa: E402,F401  (Figs. 3–7, 22–28)
from . import barriers_fidelity  # noqa: E402,F401  (the evaluation-set check)
