"""Chapter 1 — the top Hessian eigenvalues along SGD (Jastrzębski et al. 2019, §3.1, Figs 1–4).

Paper bases follow §2 and the authors' released scripts; the ``default`` profile is shrunk
for a 2-core CPU so that each claim is decided: each run is long enough, in SGD steps, for
λ1 to reach the stability limit its η and S allow (≈ 2/η for GD), which is what sets the
peak. ``SHRUNK`` says what differs from the paper, and why, for every figure.
"""

from __future__ import annotations

from .. import claims as C
from ..claims import FAILS, HOLDS, NOT_REACHED, Claim, curvature_records, lambda_series, peak
from ..config import RunConfig
from ..plotting import plot_sweeps
from ..probes import Metrics, TopEigen
from ..registry import Figure, RunSpec, register
from .spectrum_growth_plots import plot_eigenvalue_evolution, plot_spectrum_and_accuracy

CHAPTER = "spectrum_growth"
PAPER = "jastrzebski2019relation"

# ----------------------------------------------------------------------------- paper bases
# SimpleCNN and ResNet-32 on CIFAR-10, plain SGD (§2). The authors' scripts train on 45k
# images, estimate the Hessian on N = 2250–2560 of them (~5%), and run 200–400 epochs.
SIMPLECNN = RunConfig(model="simplecnn", dataset="cifar10", lr=0.1, batch_size=128, epochs=200,
                      n_train=45000, probes=(Metrics(n_eval=5000),
                                             TopEigen(top_k=10, n_hessian=2560,
                                                      hessian_batch_size=256)))
# ResNet-32 without BN, L2 0.005 in Keras units (0.005·||w||²) = weight decay 0.01 here.
RESNET32 = SIMPLECNN.with_overrides(model="resnet32", weight_decay=0.01)
# Zaremba "small" LSTM on PTB with dropout 0.1 (keep_prob 0.9 in the scripts); η = 1, S = 20.
LSTM = RunConfig(model="lstm", dataset="ptb", lr=1.0, batch_size=20, bptt=20, epochs=50,
                 augment=False, probes=(Metrics(n_eval=8000),
                                        TopEigen(top_k=5, n_hessian=4000, hessian_batch_size=50)))

SMOKE = {  # seconds per run: only the machinery is exercised, not the phenomena
    "simplecnn": dict(width=0.125, n_train=128, n_test=128, epochs=2, n_hessian=32,
                      hessian_batch_size=32, top_k=2, n_eval=128, lanczos_tol=1e-2),
    "resnet32": dict(width=0.125, n_train=128, n_test=128, epochs=2, n_hessian=32,
                     hessian_batch_size=32, top_k=2, n_eval=128, lanczos_tol=1e-2),
    "lstm": dict(width=0.05, n_train=1000, n_test=400, epochs=2, n_hessian=100,
                 hessian_batch_size=10, top_k=2, n_eval=200, bptt=10, lanczos_tol=1e-2),
}
SMOKE_SHRUNK = "tiny widths, 128 images / 1,000 tokens, 2 epochs, top-2 eigenvalues (tests only)"
# Shared by the default profile: eigenvalues to 3e-3 relative residual (Ritz values are then
# accurate to ~1e-5 relative), warm-started from the previous measurement.
EIG = dict(lanczos_tol=3e-3)


# ----------------------------------------------------------------------------- claims
def lambda_max_of_order_inverse_lr(low: float = 0.5, high: float = 2.0) -> Claim:
    def check(runs):
        parts, statuses = [], []
        for label, (config, result) in runs.items():
            p = peak(result)
            ratio = config.lr * p.value
            statuses.append(FAILS if ratio > high else NOT_REACHED if not p.settled else
                            HOLDS if ratio >= low else FAILS)
            parts.append(f"{label}: {p.describe()}, η·λ1 = {ratio:.3g}")
        rule = (f"holds if η·λ1 at the peak lies in [{low}, {high}]; while λ1 is still growing "
                f"its peak is unknown, so the claim is not reached unless η·λ1 already "
                f"exceeds {high}; {C.PEAK_RULE}")
        return C.combine(statuses), "; ".join(parts) + f" ({rule})"
    return Claim("At its peak, λ1 is of the order of 1/η (η·λ1 within [0.5, 2]).", check)


def grows_then_decreases_or_stabilizes() -> Claim:
    def check(runs):
        parts, statuses = [], []
        for label, (_, result) in runs.items():
            p = peak(result)
            grew = p.value >= C.GROWTH_FACTOR * p.initial
            statuses.append(FAILS if not grew else HOLDS if p.settled else NOT_REACHED)
            parts.append(f"{label}: λ1 {p.initial:.4g} → {p.describe()} "
                         f"(×{p.value / max(p.initial, 1e-12):.2f}), final {p.final:.4g}")
        rule = (f"holds if the peak is ≥ {C.GROWTH_FACTOR}× the initial λ1 and λ1 has peaked; "
                f"fails if λ1 never grew that much; {C.PEAK_RULE}")
        return C.combine(statuses), "; ".join(parts) + f" ({rule})"
    return Claim("λ1 first grows to a maximum, then decreases or stabilizes.", check)


ACCURACY_DROP = 0.10  # "accuracy drops sharply": ≥ 10 points below its running best


def curvature_grows_then_accuracy_drops() -> Claim:
    """Full-batch GD: λ1 grows, then the (full-batch) training accuracy drops.

    The accuracy of every step's full batch is in ``step_log``, so a short-lived drop is not
    missed between curvature evaluations. GD is unstable once λ1 > 2/η; a run whose λ1
    never reached 2/η and whose accuracy never dropped did not reach the regime."""
    def check(runs):
        parts, statuses = [], []
        for label, (config, result) in runs.items():
            records = curvature_records(result, ("init", "epoch"))
            values = [r["eigenvalues"][0] for r in records]
            grown_at = next((r["step"] for r, v in zip(records, values)
                             if v >= C.GROWTH_FACTOR * values[0]), None)
            drop_step, drop = _first_accuracy_drop(result.get("step_log", []))
            diverged = result.get("diverged_at_step")
            unstable = max(values) * config.lr >= 2.0
            if drop_step is None and diverged is None:
                statuses.append(FAILS if unstable else NOT_REACHED)
            else:
                event = min(s for s in (drop_step, diverged) if s is not None)
                statuses.append(HOLDS if grown_at is not None and grown_at <= event else FAILS)
            detail = (f"full-batch train accuracy fell {drop:.0%} at step {drop_step}"
                      if drop_step is not None else "no accuracy drop")
            if diverged is not None:
                detail += f", diverged at step {diverged}"
            grown = f"grew ×{C.GROWTH_FACTOR} by step {grown_at:g}" if grown_at is not None \
                else f"never grew ×{C.GROWTH_FACTOR}"
            parts.append(f"{label}: λ1 {values[0]:.4g} → max {max(values):.4g} "
                         f"(η·λ1 up to {max(values) * config.lr:.2f}), {grown}; {detail}")
        rule = (f"holds if λ1 grows ≥ {C.GROWTH_FACTOR}× and afterwards the full-batch training "
                f"accuracy falls ≥ {ACCURACY_DROP:.0%} below its running best (or training "
                "diverges); not reached if neither happens and η·λ1 stayed below 2, the "
                "stability limit of GD")
        return C.combine(statuses), "; ".join(parts) + f" ({rule})"
    return Claim("Curvature grows, then the accuracy drops sharply.", check)


def _first_accuracy_drop(step_log: list) -> tuple:
    best = -1.0
    for step, _, acc in step_log:
        best = max(best, acc)
        if best - acc >= ACCURACY_DROP:
            return step, best - acc
    return None, 0.0


def key_numbers(outcomes: dict) -> dict:
    """The numbers the chapter's prose quotes (:func:`~companion.report.quote`), from the
    runs; a figure with no complete runs (e.g. at the paper profile before its GPU results
    are committed) gives none."""
    from ..report import tally

    out = {}
    done = {fid: o for fid, o in outcomes.items() if o is not None and o.runs and not o.missing}
    if "1" in done:
        config, result = next(iter(done["1"].runs.values()))
        out.update(fig1_peak=peak(result).value, fig1_ratio=peak(result).value * config.lr)
    if "2" in done:
        for label, (config, result) in done["2"].runs.items():
            out.update({f"fig2_{label}_init": peak(result).initial,
                        f"fig2_{label}_peak": peak(result).value, "fig2_lr": config.lr,
                        "fig2_limit": 2 / config.lr})
    if "3" in done:
        out["fig3_max_ratio"] = max(max(lambda_series(r)[1]) * c.lr
                                    for c, r in done["3"].runs.values())
    if "4" in done:
        out["fig4_tally"] = tally(done["4"].claims)
    return out


# ----------------------------------------------------------------------------- figures
register(Figure(
    id="1", title="Top-30 eigenvalues of SimpleCNN along training (η = 0.005)",
    notebook=CHAPTER, paper=PAPER, plot=plot_eigenvalue_evolution,
    caption=("Representative example of the evolution of the top 30 (decreasing, red to blue) "
             "eigenvalues of the Hessian for a SimpleCNN model during training (with η = 0.005, "
             "note that η is close to 1/λ_max)."),
    # The paper does not say how often it evaluated the spectrum; every 2 epochs here.
    runs=(RunSpec("simplecnn", SIMPLECNN.with_overrides(lr=0.005, top_k=30, track_every=2)),),
    profiles={"smoke": SMOKE, "paper": {},
              "default": {"simplecnn": dict(width=0.5, n_train=5000, n_test=1000, epochs=64,
                                            track_every=4, top_k=10, n_hessian=128,
                                            hessian_batch_size=128, n_eval=1000, **EIG)}},
    shrunk={"default": "SimpleCNN at half width on the first 5,000 images for 64 epochs (paper: "
                       "45,000 for 200), top 10 (not 30) eigenvalues every 4 epochs on 128 fixed "
                       "images (paper: 2,560). At η = 0.005, λ1 passes 1/η after ~24 epochs of "
                       "5,000 images and was still growing at epoch 40 (measured)",
            "smoke": SMOKE_SHRUNK},
    claims=(lambda_max_of_order_inverse_lr(),),
))

register(Figure(
    id="2", title="Top-10 eigenvalues of SimpleCNN and ResNet-32, η = 0.1, S = 128",
    notebook=CHAPTER, paper=PAPER, plot=plot_spectrum_and_accuracy,
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
              "default": {
                  "simplecnn": dict(width=0.5, n_train=2560, n_test=1000, epochs=30, track_every=3,
                                    top_k=3, n_hessian=256, hessian_batch_size=256, n_eval=1000,
                                    zoom_steps=40, zoom_every=8, **EIG),
                  "resnet32": dict(width=0.25, n_train=2560, n_test=1000, epochs=30,
                                   track_every=3, top_k=3, n_hessian=128, hessian_batch_size=128,
                                   n_eval=1000, zoom_steps=40, zoom_every=8, **EIG)}},
    shrunk={"default": "SimpleCNN at half width and ResNet-32 at quarter width, on the first "
                       "2,560 CIFAR-10 images for 30 epochs (600 steps; paper: 45,000 images for "
                       "200 epochs), top 3 (not 10) eigenvalues every 3 epochs on 256 / 128 fixed "
                       "images (paper: 2,560); the zoom tracks every 8th step of the first 40 "
                       "(paper: every step of the first epoch). 600 steps at η = 0.1 take both "
                       "nets through the growth and well past the peak",
            "smoke": SMOKE_SHRUNK},
    claims=(grows_then_decreases_or_stabilizes(),),
))

register(Figure(
    id="3", title="Full-batch GD of ResNet-32 (no BN) on 2,560 images, η = 0.01 and 0.05",
    notebook=CHAPTER, paper=PAPER, plot=plot_spectrum_and_accuracy,
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
              "default": {"resnet32": dict(width=0.25, n_train=256, n_hessian=128, n_eval=256,
                                           n_test=500, epochs=200, track_every=10, top_k=3,
                                           hessian_batch_size=128, **EIG)}},
    grids={"default": {"*": {"lr": (0.1, 0.2)}}},
    shrunk={"default": "ResNet-32 at quarter width, full-batch GD on the first 256 (not 2,560) "
                       "images for 200 steps, top 3 (not 10) eigenvalues every 10 steps on 128 "
                       "of them; η = 0.1 and 0.2 instead of 0.01 and 0.05. GD becomes unstable "
                       "once λ1 passes 2/η; from the small depth-scaled initial curvature "
                       "(λ1 ≈ 0.8) that takes ~140 steps at η = 0.1 (measured), while at η = 0.05 "
                       "λ1 was still 2.4 after 120 steps (2/η = 40), far beyond a CPU budget",
            "smoke": SMOKE_SHRUNK},
    claims=(curvature_grows_then_accuracy_drops(),),
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
            runs.append(RunSpec(f"{model}/lr={lr:g}", base.with_overrides(lr=lr, top_k=5), ("lr",)))
        for bs in batch_grids[model]:
            runs.append(RunSpec(f"{model}/S={bs}",
                                base.with_overrides(lr=lr_for_bs, batch_size=bs, top_k=5),
                                ("batch_size",)))
    return tuple(runs)


FIG4_DEFAULT = {  # measured: λ1 plateaus near the limit set by η and S after ~100–300 steps
    "simplecnn": dict(width=0.25, n_train=1024, n_test=256, epochs=48, track_every=3,
                      n_hessian=128, hessian_batch_size=128, n_eval=256, top_k=2, **EIG),
    "resnet32": dict(width=0.25, n_train=1024, n_test=256, epochs=40, track_every=4, lr=0.2,
                     n_hessian=64, hessian_batch_size=64, n_eval=256, top_k=2, **EIG),
    "lstm": dict(width=0.25, n_train=36000, n_test=2000, epochs=10, n_hessian=200,
                 hessian_batch_size=20, n_eval=1000, top_k=2, **EIG),
}
FIG4_GRIDS = {"*": {"lr": (0.025, 0.05, 0.1), "batch_size": (256, 128, 32)},  # SHRUNK_FIG4
              "resnet32": {"lr": (0.1, 0.2, 0.4)},
              "lstm": {"lr": (0.3, 0.6, 1.0), "batch_size": (40, 20, 10)}}
SHRUNK_FIG4 = (
    "Per SGD step, λ1 grows until it reaches the limit that η and S allow, so a sweep is "
    "decided only when its slowest run gets there; the paper's grids (η down to 0.001 for "
    "200 epochs of 45,000 images) are far beyond a 2-core CPU. SimpleCNN: quarter width, "
    "first 1,024 images, 48 epochs, η ∈ {0.025, 0.05, 0.1} at S = 128 and S ∈ {256, 128, 32} "
    "at η = 0.05 (paper: η ∈ {0.001, 0.01, 0.1}, S ∈ {1024, 128, 8}; S = 1024 would be one "
    "step per epoch on 1,024 images, and S = 8 on ResNet-32 alone costs 4 minutes). "
    "ResNet-32: quarter width, 1,024 images, 40 epochs, η ∈ {0.1, 0.2, 0.4} and "
    "S ∈ {256, 128, 32} at η = 0.2: "
    "from its small depth-scaled initial curvature (λ1 ≈ 0.7) it needs ~140 steps at η = 0.1 "
    "and more than 300 at η = 0.05 to reach its plateau (measured). LSTM: quarter width, "
    "36,000 PTB tokens (valid split), 10 epochs, η ∈ {0.3, 0.6, 1} at S = 20 and "
    "S ∈ {40, 20, 10} at η = 1 (paper: η ∈ {0.1, 0.3, 1}, S ∈ {256, 64, 20}). Top 2 (not 5) "
    "eigenvalues on 128 / 64 images / 200 tokens (paper: 2,250 images)")
register(Figure(
    id="4", title="λ1 and λ2 for three learning rates and three batch sizes",
    notebook=CHAPTER, paper=PAPER, plot=plot_sweeps,
    caption=("Evolution of the two largest eigenvalues (solid and dashed line) of the Hessian for "
             "Resnet-32, SimpleCNN, and LSTM (trained on the PTB dataset) models on a log-scale "
             "for different learning rates (top) and batch-sizes (bottom). Blue/green/red "
             "correspond to increasing η and decreasing S in each figure. Left side of the "
             "vertical blue bar in each plot corresponds to the early phase of training. Larger "
             "learning rate or a smaller batch-size correlates with a smaller and earlier peak of "
             "the spectral norm and the next largest eigenvalue."),
    runs=_fig4_runs(),
    profiles={"smoke": SMOKE, "paper": {}, "default": FIG4_DEFAULT},
    grids={"default": FIG4_GRIDS},
    shrunk={"default": SHRUNK_FIG4, "smoke": SMOKE_SHRUNK},
    claims=tuple(claim for model in ("resnet32", "simplecnn", "lstm") for claim in (
        C.peak_smaller("lr", model), C.peak_smaller("batch_size", model),
        C.peak_earlier("lr", model), C.peak_earlier("batch_size", model))),
))
