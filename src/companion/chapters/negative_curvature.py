"""Chapter 6 — negative eigenvalues of the Hessian (Alain, Le Roux & Manzagol 2019):
Figs. 1–6, the LA-against-SA cost of §3 and the subset check of App. B.

One trajectory carries the whole chapter: a LeNet on MNIST trained by TensorFlow-1 RMSProp
(batch 32, η = 3.6e-4 decayed ×0.75 per epoch of 50,000 images at every step, decay 0.95,
momentum 0.22) for 10,000 steps, its weights saved at fixed steps. Each figure analyses
those snapshots with its own post-hoc probe (:mod:`companion.probes_snapshots`), so every
figure shares the one training run and the eigenpairs cached per step. Fig. 1's CIFAR-10
panel is a second run (the paper gives no model or optimizer for it: the same LeNet and
RMSProp, named so in the book).
"""

from __future__ import annotations

from dataclasses import replace

from ..config import RunConfig
from ..probes import Metrics
from ..probes_snapshots import (DirectionFits, ExtremeSpectrum, KeptCurvature, SolverCost,
                                SubsetAgreement)
from ..registry import Figure, RunSpec, register
from . import negative_curvature_claims as C
from . import negative_curvature_direction_claims as D
from . import negative_curvature_plots as P

CHAPTER = "negative_curvature"
PAPER = "alain2019negative"
PAPER_EPOCH = C.PAPER_EPOCH   # steps per epoch of the paper's 50k images: the lr decay period
SNAPSHOTS_PAPER = (0, 10, 25, 50, 100, *range(250, 10001, 250))
SNAPSHOTS_DEFAULT = (0, 10, 25, 50, 100, 250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000,
                     6000, 7000, 8000, 9000, 10000)
SNAPSHOTS_SMOKE = (0, 10, 30, 60)

MNIST = RunConfig(model="lenet", dataset="mnist10k", augment=False, optimizer="rmsprop",
                  optimizer_options=(("lr_decay", 0.75), ("lr_decay_steps", PAPER_EPOCH)),
                  lr=3.6e-4, momentum=0.22, batch_size=32, max_steps=10000, track_every=100,
                  snapshot_steps=SNAPSHOTS_PAPER, probes=(Metrics(n_eval=60000),))
CIFAR = MNIST.with_overrides(dataset="cifar10")


def _runs(probe, cifar: bool = False) -> tuple:
    out = [RunSpec("MNIST", MNIST.with_overrides(probes=(Metrics(n_eval=60000), probe)))]
    if cifar:
        # dataset=mnist (the real training split) or fmnist goes to the MNIST run only
        out.append(RunSpec("CIFAR-10", CIFAR.with_overrides(probes=(Metrics(n_eval=60000), probe)),
                           keeps=("dataset",)))
    return tuple(out)


SMOKE = dict(model="lenet_small", max_steps=60, snapshot_steps=SNAPSHOTS_SMOKE, n_train=512,
             n_test=128, n_eval=512, n_hessian=64)
DEFAULT = dict(model="lenet_small", snapshot_steps=SNAPSHOTS_DEFAULT, n_hessian=1000)
PAPER_OPTS = dict(n_hessian=2500)
CIFAR_DEFAULT = dict(model="lenet_small", max_steps=5000, n_train=20000, n_test=2000,
                     n_eval=5000, n_hessian=500,
                     snapshot_steps=(0, 10, 50, 250, 500, 1000, 2500, 5000))
SHRUNK_DEFAULT = ("LeNet-small (50,642 parameters: 6 and 16 filters, 180 units) instead of the "
                  "paper's 3.3M-parameter LeNet; Hessians on 1,000 fixed training images "
                  "(the paper: 2,500); 19 snapshots instead of one every 250 steps")
SHRUNK_SMOKE = "60 steps on 512 images, Hessians on 64 images (tests only)"
DATA_NOTE = ("MNIST offline is its 10k test split: 8,000 images train, 2,000 test (the paper: "
             "50,000 training images), so 10,000 steps are 40 passes instead of 6.4 and the "
             "network memorizes late in training")


def _profiles(smoke: dict, default: dict, paper: dict = None, cifar: bool = False) -> dict:
    profiles = {"smoke": {"MNIST": {**SMOKE, **smoke}},
                "default": {"MNIST": {**DEFAULT, **default}},
                "paper": {"MNIST": {**PAPER_OPTS, **(paper or {})}}}
    if cifar:
        profiles["smoke"]["CIFAR-10"] = {**SMOKE, **smoke, "max_steps": 30,
                                         "snapshot_steps": (0, 10, 30)}
        profiles["default"]["CIFAR-10"] = {**CIFAR_DEFAULT, **default,
                                           "snapshot_steps": CIFAR_DEFAULT["snapshot_steps"],
                                           "n_hessian": 500}
        profiles["paper"]["CIFAR-10"] = {**PAPER_OPTS, **(paper or {})}
    return profiles


def _shrunk(extra: str = "") -> dict:
    return {"default": f"{SHRUNK_DEFAULT}{extra}; {DATA_NOTE}",
            "smoke": SHRUNK_SMOKE, "paper": f"the paper's settings; {DATA_NOTE}"}


register(Figure(
    id="alain-1", title="Extreme Hessian eigenvalues along training, with the loss",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_spectrum,
    caption=("Evolution of the logarithm of the absolute eigenvalues of Hessian during training "
             "on the MNIST (left) and CIFAR-10 (right) datasets. Largest positive eigenvalues "
             "are in blue/green, largest negative eigenvalue is in red. We see that the largest "
             "positive eigenvalues stabilize after a while on both datasets. The behaviour of "
             "the largest negative eigenvalue is dataset dependent. The dotted black curve is "
             "the total training loss."),
    runs=_runs(ExtremeSpectrum(la=3, sa=1, tol=1e-2), cifar=True),
    profiles=_profiles({}, {}, {"la": 10}, cifar=True),
    shrunk=_shrunk("; CIFAR-10 (JPEG q75 mirror): LeNet-small, 5,000 steps on 20,000 images, "
                   "Hessians on 500 (the paper names no model or optimizer for it)"),
    claims=(C.c1_top_stabilizes(), C.c3_top_dominates()),
))

register(Figure(
    id="alain-2", title="Does an eigenvector keep its curvature? vᵀH(t)v for v of one t0",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_kept,
    caption=("Comparing the directions of curvature evolving over time for top eigenpair at "
             "t0 = 2000 (top left), t0 = 4000 (top right), t0 = 8000 (bottom left) and bottom "
             "eigenpair at t0 = 2500 (bottom right). For the given eigenvector v computed at "
             "those specific moments in time, we compare the values of vᵀH(t)v over the range "
             "of all Hessians in the training trajectory. Orange lines are traced to help "
             "identify the specific time t0 at which the eigenpairs were computed."),
    runs=_runs(KeptCurvature(la=3, sa=1, tol=1e-2)),
    profiles=_profiles({"t0s": (30,)}, {},
                       {"t0s": tuple(range(1000, 10000, 500)), "la": 10}),
    shrunk=_shrunk("; both v1 and vd at every t0 (the paper: v1 at three, vd at one)"),
    claims=(C.c5_top_kept(), C.c6_bottom_not_kept(), C.c6_grid()),
))

FITS = DirectionFits()
FITS_SMOKE = dict(steps=(30, 60), la=2, sa=2, n_fit=5, n_slice=7, search_rtol=1e-2)
FITS_DEFAULT = dict(n_slice=31)
FITS_PAPER = dict(steps=(50, 250, 500, 1000, 2000, 4000, 6000, 8000, 10000), la=50, sa=50,
                  n_fit=41, search_rtol=1e-4)
FITS_SHRUNK = "; LA(6) and SA(6) at t = 50, 2000, 8000 (the paper: < 327 pairs, steps unstated)"
# Figs. 3–6 share one analysis (one cache entry): the same run, probe and profiles
SHARED_FITS = dict(notebook=CHAPTER, paper=PAPER, runs=_runs(FITS),
                   profiles=_profiles(FITS_SMOKE, FITS_DEFAULT, FITS_PAPER))

register(Figure(
    id="alain-3", title="True loss against its quadratic model along v1 and vd",
    **SHARED_FITS, plot=P.plot_slices,
    caption=("Comparison between the true loss and the quadratic approximation for a deep "
             "network at small (left) and large (right) scale. We see that, in the direction "
             "of largest positive curvature, the quadratic approximation is accurate even for "
             "large values of the stepsize α. In the direction of largest negative curvature, "
             "however, the approximation is wildly inaccurate for larger values of α."),
    shrunk=_shrunk(FITS_SHRUNK + "; a third column spans ±2α* (see the text)"),
    claims=(C.c7_top_quadratic(), C.c7_top_quadratic(overestimate=True), C.c8_bottom_breaks()),
))

register(Figure(
    id="alain-4", title="Hessian eigenvalue λi against the fitted curvature yi",
    **SHARED_FITS, plot=P.plot_fitted,
    caption=("Comparison between the eigenvalues of the Hessian and the curvature computed on a "
             "larger scale (|α| = 0.1 on the left and |α| = 1 on the right). Blue points "
             "represent early stages of the optimization and green represent later stages. If "
             "the function were a true quadratic, all points would be on the y = x line. We see "
             "that the global curvature is always larger than the local one but the effect is "
             "much more pronounced for the directions associated with negative eigenvalues."),
    shrunk=_shrunk(FITS_SHRUNK), claims=(D.c9_above_line(),),
))

register(Figure(
    id="alain-5", title="Inverse line-search step 1/α* against λi",
    **SHARED_FITS, plot=P.plot_steps,
    caption=("Inverse of the optimal stepsize found through linesearch along each eigenvector "
             "v_i as a function of the associated eigenvalue λ_i. We only show eigenvalues in "
             "[-1, 1] (left) and in [-100, 100] (right). Red points correspond to early stages "
             "in training and yellow points to later stages. For a true quadratic, all points "
             "would be on the y = x line."),
    shrunk=_shrunk(FITS_SHRUNK), claims=(D.c10_inverse_step(), D.c11_negative_steps()),
))

register(Figure(
    id="alain-6", title="Best loss improvement along each eigenvector against λi",
    **SHARED_FITS, plot=P.plot_gains,
    caption=("Best loss improvement along each eigenvector v_i as a function of the "
             "corresponding eigenvalue λ_i for eigenvalues in [-0.5, 0.5] (left) and in "
             "[-5, 5] (right). Blue points correspond to early stages of training and green "
             "points to later stages."),
    shrunk=_shrunk(FITS_SHRUNK),
    claims=(D.c12_negative_gain_more(), D.c13_positive_gain_fades(),
            D.c14_negative_gain_stable()),
))

register(Figure(
    id="alain-cost", title="§3: the cost of LA(20) against SA(3)",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_cost,
    caption=("(No figure in the paper.) §3: \"LA eigenvalues have a much larger magnitude than "
             "the SA ... computing LA(20) being much cheaper than SA(3).\""),
    runs=_runs(SolverCost()),
    profiles=_profiles({"steps": (10, 60), "la": 4, "sa": 2}, {},
                       {"steps": (50, 2000, 10000)}),
    shrunk=_shrunk(), claims=(C.c4_sa_costlier(),),
))

register(Figure(
    id="alain-subset", title="App. B: a small fixed subset against the whole training set",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_subset,
    caption=("(No figure in the paper.) App. B: the top and bottom eigenpairs of the Hessian on "
             "5% of the training set against the whole training set: \"close enough\"."),
    runs=_runs(SubsetAgreement(n_large=0)),
    profiles=_profiles({"step": 60, "n_large": 256, "la": 2, "sa": 1}, {},
                       {"la": 10, "sa": 10}),
    shrunk=_shrunk("; 1,000 fixed images against all 8,000 (the paper: 2,500 = 5% against "
                   "50,000)"),
    claims=(C.c16_subset_close(),),
))


def regime_check(fid: str, title: str, question: str, label: str, config: RunConfig,
                 default: dict, paper: dict, shrunk: dict) -> Figure:
    """Figs. 1–2 replayed on another trajectory, graded by Fig. 1–2's claims: the book's
    checks of whether a failing claim is the memorization regime's."""
    return register(Figure(
        id=fid, title=title, notebook=CHAPTER, paper=PAPER, plot=P.plot_regime,
        caption=f"(No figure in the paper.) Figs. 1 and 2 again, {question}",
        runs=(RunSpec(label, config),),
        profiles={"smoke": {label: {**SMOKE, "t0s": (30,)}}, "default": {label: default},
                  "paper": {label: {**PAPER_OPTS, "la": 10, **paper}}},
        shrunk={**shrunk, "smoke": SHRUNK_SMOKE},
        claims=(C.c1_top_stabilizes(), C.c3_top_dominates(), C.c5_top_kept(),
                C.c6_bottom_not_kept(), C.c6_grid())))


# Fig. 2's analysis alone: it has λ1(t) and λd(t) at every snapshot for Fig. 1's claims.
REGIME_PROBES = (Metrics(n_eval=60000), KeptCurvature(la=3, sa=1, tol=1e-2))
# The spec's option (c): the same trajectory on 60,000 Fashion-MNIST images, 10,000 steps =
# 5.3 passes (the paper: 6.4 over 50,000 MNIST images), where MNIST-10k's 40 passes memorize.
regime_check(
    "alain-regime", "Figs. 1–2 on 60,000 Fashion-MNIST images: the memorization check",
    "on a training set of the paper's size: does a network that is not memorizing its data "
    "show what the paper shows?", "Fashion-MNIST",
    MNIST.with_overrides(dataset="fmnist", probes=REGIME_PROBES), DEFAULT,
    {"t0s": tuple(range(1000, 10000, 500))},
    {"default": f"{SHRUNK_DEFAULT}; Fashion-MNIST's 60,000 training images stand in for "
                "MNIST's 50,000, which the offline mirror lacks",
     "paper": "the paper's settings on Fashion-MNIST's 60,000 training images"})

# The spec's option (b): MNIST-10k itself for the paper's 6.4 passes (10,000 × 8,000/50,000 =
# 1,600 steps, the lr decayed per 250 steps, snapshots at the same fractions of training).
# The claims read the run's steps on its own schedule (negative_curvature_claims.at).
PASSES = 8000 / 50000


def scaled(steps, ratio: float = PASSES) -> tuple:
    """The steps × ``ratio``, rounded, each once, in order."""
    return tuple(sorted({int(round(t * ratio)) for t in steps}))


regime_check(
    "alain-passes", "Figs. 1–2 on MNIST-10k in the paper's 6.4 passes: 1,600 steps",
    "on the same 8,000 MNIST images, trained for the paper's number of passes (6.4) instead "
    "of its number of steps: which of the claims that fail on 40 passes are the "
    "memorization's?", "MNIST, 6.4 passes",
    MNIST.with_overrides(
        max_steps=int(round(MNIST.max_steps * PASSES)), snapshot_steps=scaled(SNAPSHOTS_PAPER),
        optimizer_options=(("lr_decay", 0.75), ("lr_decay_steps", PAPER_EPOCH * PASSES)),
        probes=REGIME_PROBES[:1] + (replace(REGIME_PROBES[1],
                                            t0s=scaled((2000, 2500, 4000, 8000))),)),
    {**DEFAULT, "snapshot_steps": scaled(SNAPSHOTS_DEFAULT)},
    {"t0s": scaled(range(1000, 10000, 500))},
    {"default": f"{SHRUNK_DEFAULT}; {DATA_NOTE}: here 1,600 steps instead (the spec's option "
                "(b)), every step of the paper × 0.16",
     "paper": "the paper's settings, 1,600 steps on MNIST-10k (6.4 passes)"})

from . import negative_curvature_passes  # noqa: E402,F401  (the passes check's replays)
