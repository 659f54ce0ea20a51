"""Chapter 3 — Nudged-SGD (Jastrzębski et al. 2019, §4, Appendices C, E, F): Figs. 8 and
19–22, Tables 1–7 and the Newton example of App. E.

Every table row is a run of :class:`~companion.optim.NudgedSGD` (``optimizer="nudged"``;
γ = 1 is plain SGD, so the baselines share the code path and record the same curvature):
its directions are refreshed once per epoch by warm-started Lanczos, and each refresh logs
the top ``tracked`` eigenvalues, from which λ_max and ‖H‖_F (top-K formula) come. The probes
of :mod:`companion.probes_tables` add the validation split, Hutchinson's and the authors'
‖H‖_F estimators and the distance from the start. Runs are shared wherever the settings
coincide (Fig. 8's K = 5 run is Table 1's γ = 0.01 row at the default profile; Fig. 19
draws Tables 3 and 4; Fig. 22 is Table 7; Fig. 20's SGD arm is chapter 2's run A).
Numbers and claims: :mod:`companion.nsgd_analysis`; plots: :mod:`.nsgd_plots`.
"""

from __future__ import annotations

from functools import partial

from .. import nsgd_claims as A
from ..claims import peak_smaller
from ..config import RunConfig
from ..probes import Metrics, TopEigen
from ..probes_tables import HessianNorms, Validation
from ..registry import Figure, RunSpec, register
from . import nsgd_plots as P
from . import step_vs_curvature as SVC
from .nsgd_tables import TABLE_CAPTIONS

CHAPTER = "nsgd"
PAPER = "jastrzebski2019relation"

# ----------------------------------------------------------------------------- paper bases
# The authors' csgd/*.sh: constant η, S = 128, μ = 0, L2 = 0, augmentation, the 45k/5k split;
# directions refreshed each epoch from Lanczos on 2,560 augmented images; ‖H‖_F evaluated
# on 5,120 images with 50 probes; test accuracy at the best-validation checkpoint. Their
# runs last up to 2,000 epochs with ReduceLROnPlateau(100) and EarlyStopping(200); the
# companion's paper profile runs 200 epochs at constant η (no plateau schedule, stated).
# Each refresh stops when every residual ‖Hu − θu‖ is at most 10⁻² θ₁ (the spec's rule, §5;
# the authors' eigsh runs to machine precision, without a warm start). `make bench` measures
# what it costs and how close its directions come to a tight solve (section 6).
REFRESH_TOL = 1e-2
TABLE_PROBES = (Metrics(n_eval=10000), Validation(n_val=5000),
                HessianNorms(n_probes=50, n_hessian=5120, every_epochs=10))
RESNET = RunConfig(model="resnet32", lr=0.01, batch_size=128, n_train=45000, epochs=200,
                   optimizer="nudged", probes=TABLE_PROBES).with_overrides(
    gamma=1.0, directions=5, tracked=10, refresh_every=0, refresh_examples=2560,
    refresh_tol=REFRESH_TOL)
SCNN = RESNET.with_overrides(model="simplecnn")
FMNIST = SCNN.with_overrides(dataset="fmnist", n_train=50000, n_val=10000)
TEXT = RunConfig(model="textcnn", dataset="imdb", width=2.0, lr=0.01, batch_size=8,
                 n_train=22500, epochs=120, augment=False, optimizer="nudged",
                 probes=(Metrics(n_eval=10000), Validation(n_val=2500),
                         HessianNorms(n_probes=50, n_hessian=5120, every_epochs=10))
                 ).with_overrides(gamma=1.0, directions=1, tracked=5, refresh_every=0,
                                  refresh_examples=2560, refresh_tol=REFRESH_TOL)

# Default: SimpleCNN at half width on the first 9,600 CIFAR-10 images (75 steps an epoch),
# 6 epochs; directions refreshed each epoch on 256 fixed images; validation on the last
# 2,000 training images, test on 2,000; ‖H‖_F by 8 probes on 256 images each epoch.
SHRINK = dict(model="simplecnn", width=0.5, n_train=9600, n_test=2000, epochs=6, tracked=5,
              refresh_examples=256, n_eval=2000, n_val=2000, n_probes=8, n_hessian=256,
              every_epochs=1)  # at the table's own η (Tables 3 and 4)
GRID = dict(SHRINK, lr=0.05)
GRID_SHRUNK = ("SimpleCNN at half width on the first 9,600 images for 6 epochs (450 steps; "
               "paper: up to 2,000 epochs of 45,000), η = 0.05 (paper 0.01: at 0.01 SGD needs "
               "≳ 2,000 steps to reach its λ1 ≈ 2/η cap, chapter 2), one seed (paper: 2); top "
               "5 eigenpairs (paper: K_track = 10) each epoch on 256 fixed images (paper: "
               "2,560 fresh); ‖H‖_F = √Σλ_i² over those 5, Hutchinson with 8 probes on 256 "
               "images; validation on the last 2,000 training images, test on 2,000; "
               "'Val. acc. (50)' is the epoch-3 value")
SMOKE = dict(width=0.125, n_train=256, n_test=64, epochs=2, refresh_examples=32, n_eval=64,
             n_val=64, n_probes=2, n_hessian=32, hessian_batch_size=32, every_epochs=1)
SMOKE_IMG = dict(SMOKE, model="simplecnn")
SMOKE_TEXT = dict(SMOKE, width=0.25, batch_size=32)
SMOKE_SHRUNK = "tiny widths, 256 examples, 2 epochs, some rows left out (tests only)"


def nudged(base: RunConfig, gamma: float, **options) -> RunConfig:
    return base.with_overrides(gamma=gamma, **options)


BASELINE_FACTORS = {"η/2": 0.5, "5η": 5.0, "10η": 10.0}  # SGD baseline rows: η × factor


def table_runs(base: RunConfig, gammas, baselines=(), seeds=(0,)) -> tuple:
    """Rows 'γ=…' (plus '/seed=N' for extra seeds) and SGD baselines 'SGD(η/2)' etc.
    (``baselines``: keys of BASELINE_FACTORS), which are γ = 1 at that multiple of η."""
    out = [RunSpec(f"γ={g:g}" + (f"/seed={s}" if s else ""), nudged(base, g, seed=s),
                   keeps=("gamma",) + (("seed",) if s else ())) for g in gammas for s in seeds]
    out += [RunSpec(f"SGD({name})", base.with_overrides(lr=base.lr * BASELINE_FACTORS[name]),
                    keeps=("gamma",), scales=(("lr", BASELINE_FACTORS[name]),))
            for name in baselines]
    return tuple(out)


def table_profiles(runs, default: dict, smoke: dict, keep_smoke, per_label=None) -> dict:
    """One seed and the shared default settings (baselines at their multiple of the
    default η); the smoke profile keeps two rows."""
    model = runs[0].base.model
    drop_seeds = {s.label: None for s in runs if "/seed=" in s.label}
    baselines = {s.label: dict(lr=default["lr"] * BASELINE_FACTORS[s.label[4:-1]])
                 for s in runs if s.label.startswith("SGD(") and "lr" in default}
    smoke_drop = {s.label: None for s in runs if s.label not in keep_smoke}
    return {"paper": {}, "default": {model: default, **drop_seeds, **baselines, **(per_label or {})},
            "smoke": {model: smoke, **smoke_drop}}


def register_table(number: int, runs: tuple, default: dict, shrunk: str, claims: tuple,
                   title: str, smoke: dict = None, per_label=None, keep_smoke=("γ=0.01", "γ=1")):
    register(Figure(
        id=f"table-{number}", title=title, notebook=CHAPTER, paper=PAPER,
        caption=TABLE_CAPTIONS[number], runs=runs,
        profiles=table_profiles(runs, default, smoke or SMOKE_IMG, keep_smoke, per_label),
        shrunk={"default": shrunk, "smoke": SMOKE_SHRUNK}, claims=claims,
        plot=partial(P.plot_table, number=number)))


# ----------------------------------------------------------------------------- Fig. 8, Tables 1–2
K_VALUES = (1, 3, 5, 7, 10, 20)
FIG8_RUNS = tuple(RunSpec(f"K={k}" + (f"/seed={s}" if s else ""),
                          nudged(RESNET, 0.01, directions=k, tracked=k, seed=s),
                          keeps=("directions", "tracked") + (("seed",) if s else ()))
                  for k in K_VALUES for s in (0, 1)) + (
    RunSpec("SGD", RESNET, keeps=("gamma",)),)  # Nudged-SGD at γ = 1 (SGD) tracks its λ_max
register(Figure(
    id="8", title="Nudged-SGD against K: validation accuracy, λ_max and ‖H‖_F (ResNet-32)",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_k_sweep,
    caption=("Nudged-SGD for an increasing K (color) on Resnet-32. Left: validation accuracy. "
             "Center: λ_max (solid) and ‖H‖_F (dashed). Right: test accuracy (red) and ‖H‖_F "
             "(blue) of the final model against K; the horizontal lines are SGD's. With "
             "γ = 0.01, η = 0.01 and S = 128; the black lines are SGD with the same η."),
    runs=FIG8_RUNS,
    profiles={"paper": {},
              "default": {"resnet32": GRID, **{f"K={k}": None for k in (3, 7, 20)},
                          **{s.label: None for s in FIG8_RUNS if "/seed=" in s.label}},
              "smoke": {"resnet32": SMOKE_IMG,
                        **{s.label: None for s in FIG8_RUNS
                           if s.label not in ("K=1", "K=5", "K=10", "SGD")}}},
    shrunk={"default": "K ∈ {1, 5, 10} and SGD (paper: K ∈ {1, 3, 5, 7, 10, 20}, 2 seeds); "
                       + GRID_SHRUNK + "; K_track = max(K, 5) (paper: K)",
            "smoke": SMOKE_SHRUNK},
    claims=A.fig8_claims(50),
))

T1_RUNS = table_runs(RESNET, (0.01, 0.1, 1, 5), ("η/2", "10η"), seeds=(0, 1))
register_table(1, T1_RUNS, GRID, "ResNet-32 is replaced by the shared SimpleCNN grid (the "
               "default profile's Table 1 and Table 2 are the same runs): " + GRID_SHRUNK
               + "; baseline SGD(η/2) kept, SGD(10η) = 0.5 left out (it diverges on SimpleCNN)",
               A.table_claims(50) + (A.converges_claim(),),
               "Table 1: NSGD on ResNet-32, CIFAR-10, η = 0.01",
               per_label={"SGD(10η)": None})
T2_RUNS = table_runs(SCNN.with_overrides(directions=10), (0.01, 0.1, 1, 5),
                     ("η/2", "5η"), seeds=(0, 1))
register_table(2, T2_RUNS, dict(GRID, directions=5),
               "the authors' 'medium' SimpleCNN (5×5 kernels, 100/200 filters, 2.4 M "
               "parameters) is replaced by the paper's App. D SimpleCNN at half width, K = 5 "
               "(paper: 10), so the runs are Table 1's: " + GRID_SHRUNK + "; baseline "
               "SGD(η/2) kept, SGD(5η) = 0.25 left out", A.table_claims(50),
               "Table 2: NSGD on SimpleCNN, CIFAR-10, η = 0.01",
               per_label={"SGD(5η)": None})

# ----------------------------------------------------------------------------- Tables 3–4, Fig. 19
T3_RUNS = table_runs(RESNET.with_overrides(lr=0.1), (0.01, 0.1, 1), seeds=(0, 1))
register_table(3, T3_RUNS, SHRINK, "as the grid (" + GRID_SHRUNK + ") at the "
               "paper's η = 0.1", A.table_claims(50, low_lr=False, gamma_5=False),
               "Table 3: NSGD at a high learning rate, η = 0.1")
T4_RUNS = table_runs(RESNET.with_overrides(momentum=0.9, tracked=5), (0.01, 0.1, 1, 5))
register_table(4, T4_RUNS, SHRINK, "as the grid (" + GRID_SHRUNK + ") at the "
               "paper's η = 0.01 with μ = 0.9 (the authors' correct_v momentum); γ = 0.1 left out",
               A.table_claims(50, low_lr=False), "Table 4: NSGD with momentum μ = 0.9",
               per_label={"γ=0.1": None})

FIG19_RUNS = tuple(RunSpec(f"{group}: {s.label}", s.base, keeps=s.keeps + (field,),
                           scales=s.scales)
                   for group, field, runs in (("η=0.1", "lr", T3_RUNS),
                                              ("μ=0.9", "momentum", T4_RUNS))
                   for s in runs if "/seed" not in s.label)
register(Figure(
    id="19", title="NSGD at a high learning rate and with momentum: λ_max and ‖H‖_F",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_curvature_groups,
    caption=("Nudged-SGD for an increasing γ (color) on Resnet-32. High learning rate "
             "(η = 0.1) on the left, and momentum (μ = 0.9) on the right. λ_max (solid) and "
             "‖H‖_F (dashed) along training. (App. C's text calls this Fig. 22.)"),
    runs=FIG19_RUNS,
    profiles={"paper": {}, "default": {"resnet32": SHRINK, "μ=0.9: γ=0.1": None},
              "smoke": {"resnet32": SMOKE_IMG, **{f"{g}: γ={x}": None for g in ("η=0.1", "μ=0.9")
                                              for x in ("0.1", "5")}}},
    shrunk={"default": "the runs of Tables 3 and 4 (" + GRID_SHRUNK + ")", "smoke": SMOKE_SHRUNK},
    claims=(A.early_sharpening_claim("η=0.1"), A.early_sharpening_claim("μ=0.9")),
))

# ----------------------------------------------------------------------------- Tables 5–6
T5_RUNS = table_runs(FMNIST, (0.01, 0.1, 1, 5))
register_table(5, T5_RUNS, GRID,
               "Fashion-MNIST with the paper's App. D SimpleCNN at half width (the authors' "
               "'medium_fmnist' SimpleCNN is not CPU-feasible), otherwise the grid: "
               + GRID_SHRUNK, A.table_claims(50), "Table 5: NSGD on SimpleCNN, Fashion-MNIST")
T6_RUNS = table_runs(RESNET.with_overrides(dataset="cifar100"), (0.01, 0.1, 1, 5))
register_table(6, T6_RUNS, GRID, "CIFAR-100 is not in the offline mirror: without it the "
               "table shows the paper's numbers only; with the data (a download or "
               "data/downloads/cifar-100-python) the default profile runs the grid on "
               "CIFAR-100 (" + GRID_SHRUNK + ")", A.table_claims(50),
               "Table 6: NSGD on ResNet-32, CIFAR-100")

# ----------------------------------------------------------------------------- IMDB: Figs. 21–22, Table 7
# A Hessian-vector product of the IMDB CNN on 256 reviews takes ~2.6 s on 2 CPU cores
# (measured; the embedding makes it ~30× a training step), so the default profile's Hessians
# use 64 fixed reviews and only the tracked λ_max (K = 1).
# At η = 0.01 and S = 8 the CNN stayed at chance (50.6% validation accuracy) through 4 epochs
# of 5,000 reviews (measured); at η = 0.05 it leaves chance in the second epoch.
TEXT_DEFAULT = dict(width=1.0, n_train=5000, n_test=2000, epochs=6, lr=0.05, refresh_examples=64,
                    tracked=1, n_eval=2000, n_val=1000, n_probes=4, n_hessian=64,
                    hessian_batch_size=64, every_epochs=1)
TEXT_SHRUNK = ("the authors' IMDB CNN at its base width (paper: 'cnn_big', twice as wide) on "
               "the first 5,000 reviews for 6 epochs at η = 0.05 (paper: η = 0.01, 22,500 "
               "reviews, up to 1,000 epochs; at η = 0.01 the network stayed at chance for 4 "
               "epochs here), one seed (paper: 3); directions and λ_max "
               "each epoch on 64 fixed reviews (paper: top 5 on 2,560; ‖H‖_F by 4 probes on "
               "64 reviews); validation on "
               "the last 1,000 training reviews, test on 2,000; 'Val. acc. (10)' is the "
               "epoch-3 value. The vocabulary is rebuilt from the train split (Keras' index "
               "is not available offline)")
T7_RUNS = table_runs(TEXT, (0.1, 1, 5), seeds=(0, 1, 2))
register_table(7, T7_RUNS, TEXT_DEFAULT, TEXT_SHRUNK,
               A.table_claims(10, imdb=True, gamma_5=True), "Table 7: NSGD on IMDB (K = 1)",
               smoke=SMOKE_TEXT, keep_smoke=("γ=0.1", "γ=1"))
register(Figure(
    id="22", title="NSGD on IMDB: validation accuracy and λ_max",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_imdb_nsgd,
    caption=("Nudged-SGD for an increasing γ (color) on IMDB (with K = 1). Validation "
             "accuracy (left) and λ_max (right) along training."),
    runs=T7_RUNS,
    profiles=table_profiles(T7_RUNS, TEXT_DEFAULT, SMOKE_TEXT, ("γ=0.1", "γ=1")),
    shrunk={"default": TEXT_SHRUNK, "smoke": SMOKE_SHRUNK},
    claims=(A.imdb_nsgd_claim(10),),
))

IMDB_SGD = RunConfig(model="textcnn", dataset="imdb", lr=0.01, batch_size=32, n_train=22500,
                     epochs=100, augment=False,
                     probes=(Metrics(n_eval=2500), TopEigen(top_k=2, n_hessian=2560,
                                                             hessian_batch_size=256)))
register(Figure(
    id="21", title="IMDB: the top two eigenvalues for different η and S",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_imdb_sweeps,
    caption=("Top eigenvalues (λ1 solid, λ2 dash-dot) along training on IMDB for different "
             "learning rates (left, S = 32) and batch sizes (right, η = 0.01)."),
    runs=tuple(RunSpec(f"textcnn/lr={lr:g}", IMDB_SGD.with_overrides(lr=lr), ("lr",))
               for lr in (0.025, 0.05, 0.1))
    + tuple(RunSpec(f"textcnn/S={s}", IMDB_SGD.with_overrides(batch_size=s), ("batch_size",))
            for s in (2, 8, 32)),
    profiles={"paper": {},
              "default": {"textcnn": dict(n_train=2500, n_test=2000, epochs=6, lr=0.05,
                                          n_eval=2000, n_hessian=64, hessian_batch_size=64,
                                          lanczos_tol=1e-3)},
              "smoke": {"textcnn": dict(width=0.25, n_train=128, n_test=64, epochs=2,
                                        n_eval=64, n_hessian=32, hessian_batch_size=32),
                        "textcnn/lr=0.05": None, "textcnn/S=2": None, "textcnn/S=8": None}},
    grids={"default": {"textcnn": {"lr": (0.125, 0.25, 0.5)}}},
    shrunk={"default": "every η five times the paper's (η ∈ {0.125, 0.25, 0.5} at S = 32; "
                       "the S sweep at η = 0.05), as Table 7's default: at the paper's η the "
                       "network stays at chance through a CPU budget; the first 2,500 reviews "
                       "for 6 epochs (paper: 22,500, 100 epochs plotted); top 2 each epoch on "
                       "64 fixed reviews (paper: 2,560; a Hessian product on 256 reviews takes "
                       "~2.6 s here), Lanczos stopped at residuals ≤ 10⁻³ λ1 (10⁻⁴ elsewhere: "
                       "it halves the products, ~35 → ~18). "
                       "Vocabulary rebuilt from the train split", "smoke": SMOKE_SHRUNK},
    # C21: fully ordered at the paper's 22,500 reviews, the extreme pairs only when shrunk
    claims=tuple(peak_smaller(field, "textcnn", ends_below=IMDB_SGD.n_train)
                 for field in ("lr", "batch_size")),
))

# ----------------------------------------------------------------------------- Fig. 20
FIG20_NSGD = SVC.SCNN_A.with_overrides(optimizer="nudged", **SVC.E1).with_overrides(
    gamma=0.01, directions=5, refresh_every=4, refresh_examples=2560)
register(Figure(
    id="20", title="Fig. 6 under Nudged-SGD (γ = 0.01, K = 5)",
    notebook=CHAPTER, paper=PAPER, plot=partial(SVC.P.plot_step, direction=1),
    caption=("Same as Fig. 6, but for Nudged-SGD with γ = 0.01, K = 5 and η = 0.01 on "
             "SimpleCNN. The loss change and the cross-sections use the plain step η."),
    runs=(RunSpec("sgd", SVC.SCNN_A), RunSpec("nsgd", FIG20_NSGD)),
    profiles={"paper": {},
              "default": {"sgd": SVC.RUN_A, "nsgd": dict(SVC.RUN_A, refresh_every=150,
                                                          refresh_examples=256)},
              "smoke": {"sgd": SVC.SMOKE_RUN, "nsgd": dict(SVC.SMOKE_RUN, refresh_every=2,
                                                          refresh_examples=32)}},
    shrunk={"default": "chapter 2's run A (" + SVC.SHRUNK_AB.split(";")[0] + ") beside the "
                       "same run under NSGD, whose directions are refreshed at the "
                       "measurement points (every 150 steps; paper: every 4 steps on 2,560 "
                       "images) on 256 fixed images, ΔL along e1 only", "smoke": SMOKE_SHRUNK},
    claims=(SVC.S.longer_steps_raise_loss("paper: Fig. 20 shows the same picture as Fig. 6",
                                          runs=("nsgd",)),
            SVC.S.doubled_step_raises_loss(runs=("nsgd",)),
            SVC.S.quadratic_predicts_sign(runs=("nsgd",)),
            SVC.S.step_crosses_bowl(runs=("nsgd",)), A.nsgd_sharper_claim()),
))

# ----------------------------------------------------------------------------- App. E
register(Figure(
    id="newton", title="App. E: Nudged-SGD takes Newton's step on a diagonal example",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_newton, runs=(),
    caption=("Appendix E: with diag(H) = [100, 100, 100, 100, 100, 1, 1] and λ = 0, NSGD with "
             "γ = 0.01 and K = 5 gives the same update as Newton's method, "
             "θ(t+1) = θ(t) − η(H + λI)⁻¹g."),
    profiles={"paper": {}, "default": {}, "smoke": {}},
    shrunk={"default": "the paper's example (no data), rotated by a random orthogonal matrix "
                       "so the eigenvectors are not the coordinate axes",
            "smoke": "the paper's example"},
    claims=(A.newton_claim(),),
))
