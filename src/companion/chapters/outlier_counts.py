"""Chapter 5 — bulk and outliers of the Hessian spectrum (Sagun, Evci, Güney, Dauphin &
Bottou 2017): Figs. 1–6, 8–10, Table 1 and the Gauss-Newton split of Eq. 5.

The blob experiments follow the authors' code (``leventsagun/hessian-for-basicDL``): k
Gaussian blobs in 100 dimensions, centres uniform in (−10, 10)^100, standard deviation 1
or 10, z-scored; a 100-30-30-k network, every weight N(0, 0.1²); (S)GD with η = 0.1
until the gradient norm is ≤ 1e-4. Spectra are exact: dense float64 Hessians built from
Hessian-vector products and diagonalized whole (:class:`~companion.probes_spectra.DenseSpectrum`),
at initialization (snapshot 0) and at the end, after training.
"""

from __future__ import annotations

from ..config import RunConfig
from ..probes import Metrics
from ..probes_spectra import DenseSpectrum
from ..registry import Figure, RunSpec, register
from . import outlier_counts_claims as C
from . import outlier_counts_plots as P

CHAPTER = "outlier_counts"
PAPER = "sagun2017empirical"
KS = (2, 5, 10, 20, 50)

BLOB = RunConfig(model="mlp", dataset="blobs", augment=False, optimizer="sgd", lr=0.1,
                 batch_size=100, max_steps=1_000_000, stop_grad_norm=1e-4, track_every=50,
                 snapshot_steps=(0,), probes=(Metrics(n_eval=1000),))
BLOB_SHRUNK = {"default": "at most 10,000 steps (the authors' code: 10⁶ or ‖g‖ ≤ 1e-4)",
               "smoke": "blobs in 20 dimensions, 100 points, a 20-8-8-k net, 50 steps (tests)",
               "paper": "the authors' code's settings: 1,000 points (N is not in the paper)"}
BLOB_SMOKE = dict(dim=20, hidden=(8, 8), n_train=100, n_test=100, max_steps=50, n_eval=100,
                  track_every=5)
BLOB_DEFAULT = dict(max_steps=10_000)


def blob_run(optimizer: str, activation: str, std: float, k: int, probe) -> RunSpec:
    """One blob experiment; its label names the Table-1 row."""
    base = BLOB.with_overrides(optimizer=optimizer, classes=k, std=std, activation=activation,
                               track_every=500 if optimizer == "gd" else 50,
                               probes=(Metrics(n_eval=1000), probe))
    name = f"{optimizer.upper()} {'ReLU' if activation == 'relu' else 'tanh'}"
    # the runs differ in k: one k for all would be one run under several labels; std=10 or
    # activation=tanh, the book's examples, apply to every row of a figure whose rows share
    # them (Table 1's rows differ in them, and keep their own: registry.register)
    return RunSpec(f"{name} cov{std:g} k={k}", base, keeps=("classes",))


def blob_profiles(runs: tuple, smoke: dict = None, default: dict = None,
                  paper: dict = None) -> dict:
    """Every run of a blob figure gets the same overrides per profile."""
    gd_smoke = {**BLOB_SMOKE, "track_every": 25}
    return {"smoke": {r.label: {**(gd_smoke if r.base.optimizer == "gd" else BLOB_SMOKE),
                                **(smoke or {})} for r in runs},
            "default": {r.label: {**BLOB_DEFAULT, **(default or {})} for r in runs},
            "paper": {r.label: dict(paper or {}) for r in runs}}


# Table 1's 19 rows, as printed: GD-tanh k ≤ 20, GD-ReLU, SGD-ReLU cov 1, SGD-ReLU cov 10
TABLE_ROWS = ([("gd", "tanh", 1.0, k) for k in KS[:4]] + [("gd", "relu", 1.0, k) for k in KS]
              + [("sgd", "relu", 1.0, k) for k in KS] + [("sgd", "relu", 10.0, k) for k in KS])
TABLE_RUNS = tuple(blob_run(*row, DenseSpectrum(at_init=False)) for row in TABLE_ROWS)

FIG1_RUNS = (blob_run("gd", "relu", 1.0, 20, DenseSpectrum()),)
register(Figure(
    id="sagun-1", title="The whole spectrum at initialization and after GD",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_full_spectrum,
    caption=("Ordered eigenvalues at a random initial point, and at the final point of GD. "
             "x-axis is the rank of the eigenvalue, and y-axis the value of the eigenvalue."),
    runs=FIG1_RUNS, profiles=blob_profiles(FIG1_RUNS),
    shrunk=BLOB_SHRUNK,
    claims=(C.s1_flat(), C.s1_few_large()),
))

FIG2_RUNS = tuple(blob_run("sgd", "relu", 1.0, k, DenseSpectrum(at_init=False)) for k in KS)
register(Figure(
    id="sagun-2", title="The top of the spectrum: a gap after k outliers, for k blobs",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_gaps,
    caption=("Ordered plot of eigenvalues with a visible gap: the number of large eigenvalues "
             "that are above the gap match exactly the number of classes (SGD on a ReLU "
             "network, k Gaussian blobs)."),
    runs=FIG2_RUNS, profiles=blob_profiles(FIG2_RUNS), shrunk=BLOB_SHRUNK,
    claims=(C.s2_elbow_matches_k(),),
))

register(Figure(
    id="sagun-table-1", title="Counting outliers against the number of blobs",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_table,
    caption=("Counting outliers for matching the number of blobs: the mean (and trace) of the "
             "spectrum and the outlier counts by the largest consecutive gap, the largest "
             "consecutive ratio and the elbow of the scree plot."),
    runs=TABLE_RUNS, profiles=blob_profiles(TABLE_RUNS),
    shrunk={**BLOB_SHRUNK, "default": BLOB_SHRUNK["default"] + "; SGD batch 100 (the paper "
            "does not say)"},
    claims=(C.s2_best_of_three(), C.s2_more_blobs_more_outliers(),
            C.s2_separability_moves_outliers()),
))

GGN_RUNS = (blob_run("gd", "relu", 1.0, 2, DenseSpectrum(ggn=True)),
            blob_run("gd", "relu", 1.0, 10, DenseSpectrum(ggn=True)),
            RunSpec("MNIST-1k 49-30-10", RunConfig(
                model="mlp", dataset="mnist1k", data_options=(("pool", 4),), augment=False,
                model_options=(("hidden", (30,)), ("init_std", 0.0)), optimizer="gd", lr=0.1,
                max_steps=20_000, track_every=500, snapshot_steps=(0,),
                probes=(Metrics(n_eval=1000), DenseSpectrum(ggn=True)))))
MNIST_SMOKE = dict(n_train=100, n_test=100, n_eval=100, max_steps=20, track_every=10)
register(Figure(
    id="sagun-ggn", title="Eq. 5: the Hessian, its Gauss-Newton part G and the rest H − G",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_ggn,
    caption=("(No figure in the paper.) §2.2, Eq. 5: the Hessian splits into a positive "
             "semi-definite Gauss-Newton part and a second term; \"the negative eigenvalues can "
             "only come from the second term\", which can be ignored as training progresses."),
    runs=GGN_RUNS,
    profiles={p: {**blob_profiles(GGN_RUNS[:2])[p],
                  "MNIST-1k 49-30-10": {"smoke": MNIST_SMOKE, "default": {"max_steps": 2000},
                                        "paper": {}}[p]} for p in ("smoke", "default", "paper")},
    shrunk={**BLOB_SHRUNK, "default": BLOB_SHRUNK["default"] + "; the MNIST net 2,000 GD "
            "steps (paper profile: 20,000)"},
    claims=(C.g1_exact(), C.g2_rank(), C.g3_second_term_fades(), C.g4_ggn_outliers()),
))

# ------------------------------------------------------------------ logistic regression
LOGISTIC_DIMS = (20, 1000, 2000)  # α = M/N = 0.02, 1, 2 with N = 1,000


def logistic_run(blobs: int, dim: int) -> RunSpec:
    return RunSpec(f"{blobs} blob{'s' if blobs > 1 else ''}, α = {dim / 1000:g}", RunConfig(
        model="logistic", dataset="blobs", data_options=(("classes", blobs), ("dim", dim)),
        augment=False, optimizer="gd", lr=0.1, max_steps=1000, track_every=100,
        snapshot_steps=(0,), probes=(Metrics(n_eval=1000), DenseSpectrum())),
        keeps=("classes", "dim"))


LOGISTIC = tuple(logistic_run(b, d) for b in (1, 2) for d in LOGISTIC_DIMS)
register(Figure(
    id="sagun-10", title="Logistic regression: a Marchenko–Pastur bulk, and one outlier per "
                         "extra blob",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_logistic,
    caption=("Spectrum of the logistic regression loss with tanh unit: when data has a single "
             "Gaussian blob (left), when data has two Gaussian blobs (right)."),
    runs=LOGISTIC,
    profiles={"smoke": {r.label: {"n_train": 100, "n_test": 100, "n_eval": 100,
                                  "max_steps": 10, "track_every": 5,
                                  "dim": r.base.flat()["dim"] // 10} for r in LOGISTIC},
              "default": {}, "paper": {}},
    shrunk={"default": "1,000 points, 1,000 GD steps (the paper: N unstated)",
            "smoke": "100 points, dimensions / 10 (tests)", "paper": "as the default profile"},
    claims=(C.s10_one_blob_bulk(), C.s10_two_blobs_one_outlier()),
))
