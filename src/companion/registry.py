"""The figure registry: every figure id → its notebook, its runs (the paper's settings),
the overrides that make each profile, the paper's caption and the claims to check.

Profiles are overrides of one base (the paper's own settings), never copies:

* ``paper``   — the paper's settings (Jastrzębski et al. 2019 §2 and the authors'
  released experiment scripts), meant for a GPU;
* ``default`` — shrunk so each figure runs in minutes on a 2-core CPU while the
  phenomenon stays measurable; ``Figure.shrunk`` says exactly what was shrunk;
* ``smoke``   — seconds, for the tests.

Main-paper figures use plain numbers ("1" … "4"); figures of the other papers will
be prefixed ("walk-1", "sagun-2", "alain-5").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from . import claims as C
from .config import ParameterError, RunConfig, validate

PROFILES = ("smoke", "default", "paper")


class UnknownFigureError(ParameterError):
    """An unknown figure id or profile."""


@dataclass(frozen=True)
class RunSpec:
    """One training run of a figure: its label, its paper settings, the fields it sweeps."""

    label: str
    base: RunConfig
    sweep: tuple = ()  # fields set by the figure itself: user overrides do not replace them


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    notebook: str                    # Jupytext source under notebooks/
    paper: str
    caption: str                     # the paper's caption
    runs: tuple                      # RunSpec, paper settings
    profiles: Mapping[str, Mapping[str, Mapping[str, Any]]]  # profile → model → overrides
    shrunk: Mapping[str, str]        # profile → what it changes relative to the paper
    claims: tuple = ()
    plot: str = ""                   # name of the function in companion.plotting


# ----------------------------------------------------------------------------- paper bases
# SimpleCNN and ResNet-32 on CIFAR-10, plain SGD (§2). The authors' scripts train on
# 45k images, estimate the Hessian on N = 2250–2560 of them (~5%), and run 200–400 epochs.
SIMPLECNN = RunConfig(model="simplecnn", dataset="cifar10", lr=0.1, batch_size=128,
                      epochs=200, n_train=45000, n_hessian=2560, hessian_batch_size=256,
                      top_k=10, n_eval=5000)
# ResNet-32 without BN, L2 0.005 in Keras units (0.005·||w||²) = weight decay 0.01 here.
RESNET32 = SIMPLECNN.with_overrides(model="resnet32", weight_decay=0.01)
# Zaremba "small" LSTM on PTB with dropout 0.1 (keep_prob 0.9 in the scripts); η = 1, S = 20.
LSTM = RunConfig(model="lstm", dataset="ptb", lr=1.0, batch_size=20, bptt=20, epochs=50,
                 augment=False, n_hessian=4000, hessian_batch_size=50, top_k=5, n_eval=8000)

# Per-model shrinking, shared by figures unless a figure says otherwise.
SMOKE = {  # seconds per run: only the machinery is exercised, not the phenomena
    "simplecnn": dict(width=0.125, n_train=128, n_test=128, epochs=2, n_hessian=32,
                      hessian_batch_size=32, top_k=2, n_eval=128, lanczos_tol=1e-2),
    "resnet32": dict(width=0.125, n_train=128, n_test=128, epochs=2, n_hessian=32,
                     hessian_batch_size=32, top_k=2, n_eval=128, lanczos_tol=1e-2),
    "lstm": dict(width=0.05, n_train=1000, n_test=400, epochs=2, n_hessian=100,
                 hessian_batch_size=10, top_k=2, n_eval=200, bptt=10, lanczos_tol=1e-2),
}
DEFAULT = {  # Fig. 2: measured ~0.34 s (SimpleCNN ½ width) / ~0.5 s (ResNet-32 ¼ width, 128
    # images) per Hessian-vector product on 2 CPU cores, so few eigenvalues on few images.
    "simplecnn": dict(width=0.5, n_train=5000, n_test=2000, epochs=10, n_hessian=256,
                      hessian_batch_size=256, n_eval=2000, top_k=3, lanczos_tol=1e-3),
    "resnet32": dict(width=0.25, n_train=5000, n_test=2000, epochs=10, n_hessian=128,
                     hessian_batch_size=128, n_eval=2000, top_k=3, lanczos_tol=1e-3),
}
DEFAULT_SHRUNK = ("SimpleCNN at half width and ResNet-32 at quarter width, trained on the first "
                  "5,000 CIFAR-10 images for 10 epochs (paper: 45,000 for 200–400), top 3 (not "
                  "10) eigenvalues on 256 / 128 fixed images (paper: 2,560), test on 2,000 images, "
                  "Lanczos tolerance 1e-3")
SMOKE_SHRUNK = "tiny widths, 128 images / 1,000 tokens, 2 epochs, top-2 eigenvalues (tests only)"


def _same_for_all(per_model: dict) -> dict:
    return {"smoke": SMOKE, "default": per_model, "paper": {}}


# ----------------------------------------------------------------------------- figures
FIGURES: dict = {}


def _register(figure: Figure) -> Figure:
    FIGURES[figure.id] = figure
    return figure


_register(Figure(
    id="1", title="Top-30 eigenvalues of SimpleCNN along training (η = 0.005)",
    notebook="spectrum_growth", paper="jastrzebski2019", plot="plot_eigenvalue_evolution",
    caption=("Representative example of the evolution of the top 30 (decreasing, red to blue) "
             "eigenvalues of the Hessian for a SimpleCNN model during training (with η = 0.005, "
             "note that η is close to 1/λ_max)."),
    # The paper does not say how often it evaluated the spectrum; every 2 epochs here.
    runs=(RunSpec("simplecnn", SIMPLECNN.with_overrides(lr=0.005, top_k=30, track_every=2)),),
    profiles={"smoke": SMOKE, "paper": {},
              "default": {"simplecnn": {**DEFAULT["simplecnn"], "top_k": 10, "epochs": 24,
                                        "track_every": 2, "n_hessian": 128,
                                        "hessian_batch_size": 128}}},
    shrunk={"default": "SimpleCNN at half width on the first 5,000 images for 24 epochs (paper: "
                       "45,000 for 200), top 10 (not 30) eigenvalues every 2 epochs on 128 fixed "
                       "images (paper: 2,560), Lanczos tolerance 1e-3",
            "smoke": SMOKE_SHRUNK},
    claims=(C.lambda_max_of_order_inverse_lr(),),
))

_register(Figure(
    id="2", title="Top-10 eigenvalues of SimpleCNN and ResNet-32, η = 0.1, S = 128",
    notebook="spectrum_growth", paper="jastrzebski2019", plot="plot_spectrum_and_accuracy",
    caption=("Top: Evolution of the top 10 eigenvalues of the Hessian for SimpleCNN and Resnet-32 "
             "trained on the CIFAR-10 dataset with η = 0.1 and S = 128. Bottom: Zoom on the "
             "evolution of the top 10 eigenvalues in the beginning of training. A sharp initial "
             "growth of the largest eigenvalues followed by an oscillatory-like evolution is "
             "visible. Training and test accuracy of the corresponding models are provided for "
             "reference."),
    runs=(RunSpec("simplecnn", SIMPLECNN.with_overrides(zoom_steps=352, zoom_every=1)),
          RunSpec("resnet32", RESNET32.with_overrides(zoom_steps=352, zoom_every=1))),
    profiles={"smoke": {m: {**o, "zoom_steps": 2, "zoom_every": 1} for m, o in SMOKE.items()},
              "paper": {},
              "default": {m: {**DEFAULT[m], "zoom_steps": 32, "zoom_every": 8}
                          for m in ("simplecnn", "resnet32")}},
    shrunk={"default": DEFAULT_SHRUNK + "; the zoom tracks every 8th step of the first 32 "
                       "(paper: every step of the first epoch)",
            "smoke": SMOKE_SHRUNK},
    claims=(C.grows_then_decreases_or_stabilizes(),),
))

_register(Figure(
    id="3", title="Full-batch GD of ResNet-32 (no BN) on 2,560 images, η = 0.01 and 0.05",
    notebook="spectrum_growth", paper="jastrzebski2019", plot="plot_spectrum_and_accuracy",
    caption=("Full batch-size training of Resnet-32 for η = 0.01 (left) and η = 0.05 (right) on "
             "CIFAR-10. Evolution of the top 10 eigenvalues of the Hessian and accuracy are shown "
             "in each case. The training is unstable; an initial growth of curvature scale is "
             "followed by a sudden drop in accuracy. The CIFAR-10 dataset was subsampled to 2500 "
             "points."),
    runs=tuple(RunSpec(f"resnet32/lr={lr}",
                       RESNET32.with_overrides(optimizer="gd", lr=lr, n_train=2560, augment=False,
                                               epochs=500, track_every=10, n_hessian=2560,
                                               n_eval=2560), ("lr",))
               for lr in (0.01, 0.05)),
    profiles={"smoke": SMOKE, "paper": {},
              "default": {"resnet32": dict(width=0.25, n_train=640, n_hessian=128, n_eval=640,
                                           n_test=1000, epochs=150, track_every=15, top_k=3,
                                           hessian_batch_size=128, lanczos_tol=1e-3)}},
    shrunk={"default": "ResNet-32 at quarter width, full-batch GD on the first 640 (not 2,560) "
                       "images for 150 steps (paper profile: 500), top 3 (not 10) eigenvalues every 15 "
                       "steps on 128 of them, Lanczos tolerance 1e-3",
            "smoke": SMOKE_SHRUNK},
    claims=(C.curvature_grows_then_accuracy_drops(),),
))


def _fig4_runs() -> tuple:
    runs = []
    grids = {  # the authors' noise-grid scripts: η at S=128, S at η=0.05 (LSTM: η=1)
        "resnet32": (RESNET32.with_overrides(weight_decay=0.0), (0.001, 0.01, 0.1), 0.05),
        "simplecnn": (SIMPLECNN, (0.001, 0.01, 0.1), 0.05),
        "lstm": (LSTM, (0.1, 0.3, 1.0), 1.0),
    }
    batch_grids = {"resnet32": (1024, 128, 8), "simplecnn": (1024, 128, 8), "lstm": (256, 64, 20)}
    for model, (base, lrs, lr_for_bs) in grids.items():
        for lr in lrs:
            runs.append(RunSpec(f"{model}/lr={lr:g}", base.with_overrides(lr=lr, top_k=5),
                                ("lr",)))
        for bs in batch_grids[model]:
            runs.append(RunSpec(f"{model}/S={bs}",
                                base.with_overrides(lr=lr_for_bs, batch_size=bs, top_k=5),
                                ("batch_size",)))
    return tuple(runs)


_FIG4_DEFAULT = {
    "simplecnn": dict(width=0.25, n_train=2560, n_test=1000, epochs=8, n_hessian=256,
                      hessian_batch_size=256, n_eval=1000, top_k=2, lanczos_tol=1e-3),
    "resnet32": dict(width=0.25, n_train=2560, n_test=1000, epochs=8, n_hessian=128,
                     hessian_batch_size=128, n_eval=1000, top_k=2, lanczos_tol=1e-3),
    "lstm": dict(width=0.25, n_train=12000, n_test=5000, epochs=5, n_hessian=400,
                 hessian_batch_size=20, n_eval=2000, top_k=2, lanczos_tol=1e-3),
}
_register(Figure(
    id="4", title="λ1 and λ2 for three learning rates and three batch sizes",
    notebook="spectrum_growth", paper="jastrzebski2019", plot="plot_sweeps",
    caption=("Evolution of the two largest eigenvalues (solid and dashed line) of the Hessian for "
             "Resnet-32, SimpleCNN, and LSTM (trained on the PTB dataset) models on a log-scale "
             "for different learning rates (top) and batch-sizes (bottom). Blue/green/red "
             "correspond to increasing η and decreasing S in each figure. Left side of the "
             "vertical blue bar in each plot corresponds to the early phase of training. Larger "
             "learning rate or a smaller batch-size correlates with a smaller and earlier peak of "
             "the spectral norm and the next largest eigenvalue."),
    runs=_fig4_runs(),
    profiles={"smoke": SMOKE, "paper": {}, "default": _FIG4_DEFAULT},
    shrunk={"default": "CNNs at quarter width on the first 2,560 images for 8 epochs (paper: "
                       "45,000 for 200), LSTM at quarter width on 12,000 PTB tokens for 5 epochs; "
                       "top 2 (not 5) eigenvalues on 256 (SimpleCNN) / 128 (ResNet-32) images / "
                       "400 tokens (paper: 2,250 images), Lanczos tolerance 1e-3",
            "smoke": SMOKE_SHRUNK},
    claims=tuple(claim for model in ("resnet32", "simplecnn", "lstm") for claim in (
        C.peak_ordered("lr", "increasing", model),
        C.peak_ordered("batch_size", "decreasing", model),
        C.peak_earlier("lr", "increasing", model),
        C.peak_earlier("batch_size", "decreasing", model))),
))


# ----------------------------------------------------------------------------- resolution
def get_figure(fig_id: Any) -> Figure:
    key = str(fig_id).strip()
    if key.lower().startswith("fig"):
        key = key.lstrip("Ffig-. ")
    if key not in FIGURES:
        raise UnknownFigureError(f"unknown figure id {fig_id!r}; valid ids: {list(FIGURES)}")
    return FIGURES[key]


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise UnknownFigureError(f"unknown profile {profile!r}; valid profiles: {list(PROFILES)}")
    return profile


def resolve(fig_id: Any, profile: str = "default", overrides: Optional[Mapping] = None,
            grids: Optional[Mapping] = None) -> list:
    """The validated (label, RunConfig) pairs of one figure at one profile.

    ``overrides`` (user parameters such as lr, model, epochs) apply to every run except
    the fields a run sweeps itself; ``grids`` ({"lr": [...], "batch_size": [...]})
    replace a figure's sweep values. Everything is validated here, before any training.
    """
    figure, profile = get_figure(fig_id), check_profile(profile)
    overrides = {k: v for k, v in dict(overrides or {}).items() if v is not None}
    resolved, labels = [], set()
    for spec in _apply_grids(figure.runs, grids or {}):
        config, label = spec.base, spec.label
        if "model" in overrides:  # every run uses that model; runs that become equal collapse
            config = config.with_overrides(model=overrides["model"])
            config = config.with_overrides(dataset=_dataset_for(config.model))
            label = config.model + label[len(label.split("/")[0]):]
            if label in labels:
                continue
        labels.add(label)
        config = config.with_overrides(**figure.profiles[profile].get(config.model, {}))
        user = {k: v for k, v in overrides.items() if k != "model"}
        validate(config.with_overrides(**user))  # a bad value is an error even where a sweep wins
        config = config.with_overrides(**{k: v for k, v in user.items() if k not in spec.sweep})
        resolved.append((label, validate(config)))
    return resolved


def _dataset_for(model: str) -> str:
    from .config import MODEL_DATASETS
    if model not in MODEL_DATASETS:
        raise ParameterError(f"unknown model {model!r}; valid: {sorted(MODEL_DATASETS)}")
    return MODEL_DATASETS[model][0]


def _apply_grids(runs: tuple, grids: Mapping) -> list:
    """Replace the sweep values of a figure by user grids (e.g. lr=[0.01, 0.1])."""
    unknown = sorted(set(grids) - {"lr", "batch_size"})
    if unknown:
        raise ParameterError(f"unknown grid(s) {unknown}; valid: ['lr', 'batch_size']")
    out = []
    for field_name in ("lr", "batch_size"):
        values = grids.get(field_name)
        if not values:
            continue
        swept = [s for s in runs if s.sweep == (field_name,)]
        by_model = {}
        for spec in swept:
            by_model.setdefault(spec.label.split("/")[0], spec)
        prefix = "lr=" if field_name == "lr" else "S="
        replacement = [RunSpec(f"{model}/{prefix}{v:g}", spec.base.with_overrides(**{field_name: v}),
                               spec.sweep)
                       for model, spec in by_model.items() for v in values]
        runs = tuple(s for s in runs if s.sweep != (field_name,)) + tuple(replacement)
    out.extend(runs)
    return out
