"""The barriers chapter's figures about the dynamics around the walk (Xing et al. 2018):
λ_max along training (Figs. 3, 7), the cosine of consecutive steps against batch size and
learning rate (Figs. 4, 22–24), GD with isotropic noise (Figs. 5, 25, 26), learning-rate
schedules (Figs. 6, 27) and the |1 − ηλ| picture (Fig. 28)."""

from __future__ import annotations

from ..probes_walk import Walk
from ..registry import Figure, register
from . import barriers_dynamics_claims as D
from . import barriers_plots as P
from .barriers import (CHAPTER, OVERRIDES, PAPER, RES_HESS, SHRUNK, VGG_HESS, gd,
                       profiles, run)

register(Figure(
    id="walk-3", title="VGG-11: λ_max falls as the held-out accuracy rises", notebook=CHAPTER,
    paper=PAPER, caption=("Spectral norm (max eigenvalue) of the Hessian and validation "
                          "accuracy along training, VGG-11 on CIFAR-10, η = 0.1, B = 100."),
    runs=(VGG_HESS,), profiles=profiles((VGG_HESS,)), shrunk=SHRUNK,
    claims=(D.h1_flatter(), D.h2_inverse()), plot=P.lambda_plot))
register(Figure(
    id="walk-7", title="ResNet-56: λ_max and the held-out accuracy", notebook=CHAPTER,
    paper=PAPER, caption="As Fig. 3, for Resnet-56 trained with η = 0.3.",
    runs=(RES_HESS,), profiles=profiles((RES_HESS,)), shrunk=SHRUNK,
    claims=(D.h1_flatter(), D.h2_inverse()), plot=P.lambda_plot))

# ------------------------------------------------------------------ Figs. 4, 22–24
SWEEPS = {  # figure → arch, paper (B grid, η grid, steps), default (B grid, η grid, steps)
    "walk-4": ("VGG-11", ((50, 100, 500, 1000), (0.05, 0.2), 1000),
               ((25, 100, 400), (0.05, 0.2), 300), 10_000),
    "walk-22": ("ResNet-56", ((50, 100, 500, 1000), (0.05, 0.2), 1000),
                ((25, 100, 250), (0.05, 0.3), 120), 1500),
    "walk-23": ("MLP", ((50, 100, 500, 1000), (0.05, 0.2), 1000),
                ((25, 100, 400, 1000), (0.05, 0.2), 500), 8000),
    "walk-24": ("VGG-11 (F-MNIST)", ((50, 100, 500, 1000), (0.05, 0.2), 1000),
                ((25, 100, 400), (0.05, 0.2), 300), 10_000),
}
NAMES = {"walk-4": "VGG-11 on CIFAR-10", "walk-22": "Resnet-56 on CIFAR-10",
         "walk-23": "the MLP on MNIST", "walk-24": "VGG-11 on Tiny ImageNet (here: Fashion-MNIST)"}


def sweep_runs(fid: str) -> tuple:
    arch, (pb, pl, psteps), (db, dl, dsteps), n_train = SWEEPS[fid]
    grid = [(b, 0.1) for b in sorted(set(pb) | set(db))] + [(100, lr) for lr in sorted(set(pl) | set(dl))]
    runs = []
    for b, lr in grid:
        in_paper, in_default = (b in pb and lr == 0.1) or (b == 100 and lr in pl), \
            (b in db and lr == 0.1) or (b == 100 and lr in dl)
        runs.append(run(f"{arch} SGD B={b} η={lr:g}", arch, batch_size=b, lr=lr,
                        max_steps=psteps, track_every=10 ** 6, walk=Walk(),
                        sweep=("batch_size", "lr"),
                        default={"max_steps": dsteps, "n_train": n_train},
                        smoke={"max_steps": 20, "epochs": 1000},
                        absent=[p for p, keep in (("paper", in_paper), ("default", in_default),
                                                  ("smoke", in_default)) if not keep]))
    return tuple(runs)


for fid in SWEEPS:
    runs = sweep_runs(fid)
    register(Figure(
        id=fid, title=f"Consecutive-step cosines against batch size and learning rate "
                      f"({NAMES[fid]})", notebook=CHAPTER, paper=PAPER,
        caption=(f"cos(g_(t-1), g_t) along training for several batch sizes at a fixed "
                 f"learning rate and several learning rates at a fixed batch size, "
                 f"{NAMES[fid]} (smoothed)."),
        runs=runs, profiles=profiles(runs),
        shrunk={**SHRUNK, "paper": "B ∈ {50, 100, 500, 1000} at η = 0.1 and η ∈ {0.05, 0.1, "
                "0.2} at B = 100, 1,000 iterations (the paper's grids are only in its images)"},
        claims=(D.b1_batch_sets_cosine(), D.b2_lr_does_not(), D.b3_distance_falls_with_batch()),
        plot=P.cosine_sweep))

# ------------------------------------------------------------------ Figs. 5, 25, 26
NOISE = {"walk-5": ("VGG-11", 250, 150), "walk-25": ("ResNet-56", 256, 100),
         "walk-26": ("MLP", 2000, 400)}
# The SGD baseline's held-out accuracy every 4 epochs of 3 steps on 250 images, about as
# often as GD's (every 10 steps), not every 3 steps: the 2,000 validation images cost more
# than the steps (the MLP's 20 epochs keep every epoch, as at the paper profile)
SGD_TRACK = 4


def noise_runs(fid: str) -> tuple:
    arch, n_train, steps = NOISE[fid]
    prefix = f"{arch} noise-study"
    common = {"n_train": n_train, "epochs": steps}
    runs = [gd(arch, f"{prefix} GD", steps=1500, upto=0, default=common,
               smoke={"epochs": 20, "walk.first": 0}),
            *[gd(arch, f"{prefix} GD + noise {a:g}", optimizer="gd_noise", steps=1500, upto=0,
                 noise=a, default={**common, "noise_chunks": 10},
                 smoke={"epochs": 20, "noise_chunks": 4, "walk.first": 0}) for a in (0.05, 0.1)],
            run(f"{prefix} SGD", arch, max_steps=1500, track_every=1, walk=Walk(),
                default={"n_train": n_train, "max_steps": steps, "epochs": 10 ** 6,
                         **({} if arch == "MLP" else {"track_every": SGD_TRACK})},
                smoke={"max_steps": 20, "epochs": 10 ** 6, "walk.first": 0})]
    return tuple(runs)


def _gd_lr_note(gd_run) -> str:
    """GD's η at the default profile, as :func:`.barriers.gd` sets it for the network."""
    lr = OVERRIDES[gd_run.label]["default"].get("lr", gd_run.base.lr)
    if lr == gd_run.base.lr:
        return (f"GD at the code's η = {lr:g}, as at the paper profile (the network keeps "
                "its width)")
    return f"GD at η = {lr:g} (see the text)"


for fid, what in (("walk-5", "VGG-11"), ("walk-25", "Resnet-56"), ("walk-26", "the MLP")):
    runs = noise_runs(fid)
    register(Figure(
        id=fid, title=f"GD with isotropic noise gets stuck ({what})", notebook=CHAPTER,
        paper=PAPER, caption=(f"{what}: training loss, validation accuracy, cosine of "
                              "consecutive gradients and distance from initialization for "
                              "GD, and GD with isotropic noise of 0.05 and 0.1 × the maximum "
                              "gradient variance at initialization (and SGD)."),
        runs=runs, profiles=profiles(runs),
        shrunk={**SHRUNK, "default": f"{NOISE[fid][1]} training examples, {NOISE[fid][2]} "
                f"steps each, v_max from 10 chunks; {_gd_lr_note(runs[0])}",
                "paper": "45k images, 1,500 steps each (the paper: until the loss saturates)"},
        claims=(D.n1_loss_higher(), D.n2_stuck(), D.n3_accuracy_lower(), D.n4_noise_travels(),
                D.n5_norm_grows(), D.n6_gd_opposed()),
        plot=P.noise_plot))

# ------------------------------------------------------------------ Figs. 6, 27
SCHEDULE_OPTIONS = {"step": {"schedule": "step"},
                    "clr": {"schedule": "clr", "lr_min": 0.01, "lr_max": 0.2, "cycles": 3},
                    "trapezoid": {"schedule": "trapezoid", "lr_min": 0.01, "lr_max": 0.2}}


def schedule_runs(arch: str) -> tuple:
    return tuple(run(f"{arch} schedule {name}", arch, optimizer="scheduled", walk=Walk(),
                     default={"epochs": 15, **({"n_train": 2500} if arch == "VGG-11" else {})},
                     smoke={"epochs": 2, "walk.first": 0}, **options)
                 for name, options in SCHEDULE_OPTIONS.items())


for fid, arch, what in (("walk-6", "VGG-11", "VGG-11"), ("walk-27", "ResNet-56", "Resnet-56")):
    runs = schedule_runs(arch)
    register(Figure(
        id=fid, title=f"Learning-rate schedules ({what})", notebook=CHAPTER, paper=PAPER,
        caption=(f"{what} on CIFAR-10: validation accuracy along training with cyclical "
                 "learning rates (CLR), step annealing, and a single rise, plateau and "
                 "linear decay (trapezoid), B = 100."),
        runs=runs, profiles=profiles(runs),
        shrunk={**SHRUNK, "default": SHRUNK["default"].split(";")[0] + "; 15 epochs"},
        claims=(D.s1_trapezoid(), D.s2_rise_helps()), plot=P.schedule_plot))

register(Figure(
    id="walk-28", title="|1 − ηλ|: under- and over-damped directions", notebook=CHAPTER,
    paper=PAPER, caption=("abs(λ_i η − 1) against the learning rate η for the smallest and "
                          "largest eigenvalue; in the blue band 1/λ_max < η < 2/λ_max the "
                          "top direction is under-damped (iterates bounce across the valley) "
                          "while flat directions are over-damped."),
    runs=(), profiles={"smoke": {}, "default": {}, "paper": {}},
    shrunk={p: "nothing to shrink: analytic, and GD simulated on a 2-D quadratic"
            for p in ("smoke", "default", "paper")},
    claims=(D.q1_underdamped(),), plot=P.damping_plot))
