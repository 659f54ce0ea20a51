"""Chapter 1, Appendix A of Jastrzębski et al. 2019 (Figs. 9–13), on the same book page as
Figs. 1–4: BatchNorm, VGG-11, a learning-rate drop and momentum.

Settings follow the authors' scripts (``appendix/resnet_bn_noisegrid.sh``,
``noise_grid/vgg.sh``, ``appendix/lr_schedule.sh``). BatchNorm networks' Hessians are taken
in train mode (batch statistics, as SGD sees them); the paper evaluated them in inference
mode, which it says gave large eigenvalues for ResNet-32.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import claims as C
from ..claims import FAILS, HOLDS, NOT_REACHED, Claim, curvature_records
from ..plotting import footer, plot_sweeps, sweep_colors
from ..registry import Figure, RunSpec, register
from .spectrum_growth import (CHAPTER, EIG, FIG4_DEFAULT, PAPER, RESNET32, SIMPLECNN, SMOKE,
                              SMOKE_SHRUNK, _first_accuracy_drop, plot_spectrum_and_accuracy)

# The authors' noise grids: η ∈ {0.1, 0.01, 0.001} at S = 128, S ∈ {8, 128, 512} at η = 0.05,
# L2 = 0, μ = 0, 200 epochs, top 5 on 2,250 augmented images.
RESNET_BN = RESNET32.with_overrides(batch_norm=True, weight_decay=0.0, top_k=5, n_hessian=2250)
VGG11 = SIMPLECNN.with_overrides(model="vgg11", batch_norm=True, top_k=5, n_hessian=2250)
SMOKE_ALL = {**SMOKE, "vgg11": SMOKE["simplecnn"]}


def noise_grid(base, model: str) -> tuple:
    runs = [RunSpec(f"{model}/lr={lr:g}", base.with_overrides(lr=lr), ("lr",))
            for lr in (0.001, 0.01, 0.1)]
    runs += [RunSpec(f"{model}/S={bs}", base.with_overrides(lr=0.05, batch_size=bs),
                     ("batch_size",)) for bs in (512, 128, 8)]
    return tuple(runs)


def sweep_claims(model: str, fields=("lr", "batch_size")) -> tuple:
    return tuple(claim for field in fields
                 for claim in (C.peak_smaller(field, model), C.peak_earlier(field, model)))


# ----------------------------------------------------------------------------- Fig. 9
def batchnorm_keeps_full_batch_training_stable() -> Claim:
    """Fig. 9: with BN, full-batch GD grows λ1 without the accuracy collapse of Fig. 3."""
    def check(runs):
        parts, statuses = [], []
        for label, (config, result) in runs.items():
            values = [r["eigenvalues"][0] for r in curvature_records(result, ("init", "epoch"))]
            grew = max(values) >= C.GROWTH_FACTOR * values[0]
            step, drop = _first_accuracy_drop(result.get("step_log", []))
            diverged = result.get("diverged_at_step")
            stable = step is None and diverged is None
            statuses.append(HOLDS if stable and grew else FAILS if not stable else NOT_REACHED)
            parts.append(f"{label}: λ1 {values[0]:.3g} → max {max(values):.3g}; "
                         + ("no accuracy drop" if step is None else
                            f"full-batch accuracy fell {drop:.0%} at step {step}")
                         + (f", diverged at step {diverged}" if diverged else ""))
        rule = (f"holds if λ1 grows ≥ {C.GROWTH_FACTOR}× and the full-batch training accuracy "
                "never falls ≥ 10 points below its running best nor diverges; not reached if λ1 "
                "never grew (the regime of Fig. 3's instability)")
        return C.combine(statuses), "; ".join(parts) + f" ({rule})"
    return Claim("Full-batch training with BatchNorm is stable: curvature grows without the "
                 "sharp accuracy drop of Fig. 3.", check)


# ----------------------------------------------------------------------------- Fig. 12
def _after_drop_growth(config, result) -> float:
    records = curvature_records(result, ("init", "epoch"))
    at = [r["eigenvalues"][0] for r in records if r["epoch"] <= config.lr_drop_epoch][-1]
    after = [r["eigenvalues"][0] for r in records if r["epoch"] > config.lr_drop_epoch]
    return max(after) / at if after else float("nan")


def schedule_claims() -> tuple:
    """App. A.2: a shorter first stage L → λ1 grows more after the drop, lower final accuracy."""
    def ranked(runs, value):
        pairs = sorted((c.lr_drop_epoch, value(c, r)) for c, r in runs.values())
        from scipy.stats import spearmanr
        if len(pairs) < 3 or any(not np.isfinite(v) for _, v in pairs):
            return None, pairs
        return float(spearmanr(*zip(*pairs)).statistic), pairs

    def growth(runs):
        rho, pairs = ranked(runs, _after_drop_growth)
        text = ", ".join(f"L={l}: ×{v:.2f}" for l, v in pairs)
        if rho is None:
            return NOT_REACHED, f"λ1 after the drop / at the drop: {text} (needs 3 runs that drop)"
        return (HOLDS if rho < -0.5 else FAILS), (
            f"max λ1 after the drop / λ1 at the drop: {text}; Spearman ρ(L, ratio) = {rho:.2f} "
            "(holds if ρ < −0.5)")

    def accuracy(runs):
        rho, pairs = ranked(runs, lambda c, r: curvature_records(r)[-1]["test_acc"])
        text = ", ".join(f"L={l}: {v:.3f}" for l, v in pairs)
        if rho is None:
            return NOT_REACHED, f"final test accuracy {text} (needs 3 runs)"
        return (HOLDS if rho > 0.5 else FAILS), (
            f"final test accuracy {text}; Spearman ρ(L, accuracy) = {rho:.2f} (holds if ρ > 0.5)")

    return (Claim("A shorter first stage (smaller L) makes λ1 grow after the learning-rate drop.",
                  growth),
            Claim("A shorter first stage ends at a lower test accuracy.", accuracy))


def plot_schedule(runs: dict, footer_text: str = "") -> plt.Figure:
    """Fig. 12: λ1 (solid) and √Σλ_i² over the top k (dashed); accuracy; η, per L."""
    fig, (lam_ax, acc_ax, lr_ax) = plt.subplots(1, 3, figsize=(15, 4.0))
    ordered = sorted(runs.items(), key=lambda kv: kv[1][0].lr_drop_epoch)
    for (label, (config, result)), color in zip(ordered, sweep_colors(len(ordered))):
        records = curvature_records(result, ("init", "epoch"))
        epochs = [r["epoch"] for r in records]
        values = np.array([r["eigenvalues"] for r in records])
        name = f"L = {config.lr_drop_epoch}"
        lam_ax.plot(epochs, values[:, 0], color=color, label=name)
        lam_ax.plot(epochs, np.sqrt((values ** 2).sum(1)), color=color, ls="--", lw=0.9)
        acc_ax.plot(epochs, [r["train_acc"] for r in records], color=color, label=f"{name} train")
        acc_ax.plot(epochs, [r["test_acc"] for r in records], color=color, ls=":")
        steps = np.arange(config.epochs + 1)
        lr_ax.step(steps, [config.lr * (config.lr_drop_factor if e >= config.lr_drop_epoch
                                        else 1) for e in steps], color=color, where="post",
                   label=name)
    lam_ax.set(yscale="log", xlabel="epoch", ylabel="λ1 (solid), √Σλi² top-k (dashed)")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (train solid, test dotted)", ylim=(0, 1))
    lr_ax.set(xlabel="epoch", ylabel="learning rate", yscale="log")
    for ax in (lam_ax, acc_ax, lr_ax):
        ax.legend(fontsize=7)
    footer(fig, footer_text)
    return fig


# ----------------------------------------------------------------------------- figures
# Fig. 3's default runs with BN, 100 steps (BN doubles the cost of a step: 2.5 s, measured)
FIG9_DEFAULT = dict(width=0.25, n_train=256, n_hessian=128, n_eval=256, n_test=500,
                    epochs=100, track_every=10, top_k=3, hessian_batch_size=128, **EIG)
register(Figure(
    id="9", title="Full-batch GD of ResNet-32 with BatchNorm",
    notebook=CHAPTER, paper=PAPER, plot=plot_spectrum_and_accuracy,
    caption=("Full-batch training with Batch-Normalization is more stable. Evolution of the top "
             "10 eigenvalues of the Hessian, and accuracy, for Resnet-32 trained on the CIFAR-10 "
             "dataset with η = 0.01 (left) and η = 0.05 (right)."),
    runs=tuple(RunSpec(f"resnet32/lr={lr}",
                       RESNET32.with_overrides(batch_norm=True, optimizer="gd", lr=lr,
                                               n_train=2560, augment=False, epochs=500,
                                               track_every=10, n_hessian=2560, n_eval=2560),
                       ("lr",)) for lr in (0.01, 0.05)),
    profiles={"smoke": SMOKE, "paper": {}, "default": {"resnet32": FIG9_DEFAULT}},
    grids={"default": {"*": {"lr": (0.1, 0.2)}}},
    shrunk={"default": "Fig. 3's default runs with BatchNorm, for 100 steps (Fig. 3: 200): "
                       "quarter width, full-batch GD on 256 images at η = 0.1 and 0.2 (paper: "
                       "2,560 images at η = 0.01 and 0.05), top 3 on 128 of them",
            "smoke": SMOKE_SHRUNK},
    claims=(batchnorm_keeps_full_batch_training_stable(),),
))

# Both BN sweeps share one default: width ⅛ and Fig. 4's ResNet grid η ∈ {0.1, 0.2, 0.4} at
# S = 128, S ∈ {256, 128, 32} at η = 0.2, 48 epochs of 1,024 images. Measured at width ¼:
# ResNet-32 with BN learns too slowly at η ≤ 0.05 for λ1 to peak in 48 epochs; VGG-11 with
# η ∈ {0.025, 0.05, 0.1} is still growing at 48 epochs in every η run (S: 256 peaks at 57.8,
# below S = 128's 62.5 and still growing: fails). At ⅛ width, 2.5 s (ResNet) and 1 s (VGG)
# per epoch, every ResNet run peaks; VGG-11's λ1 keeps creeping up (measured at 48 and at 96
# epochs: 3 and 2 of its 4 claims left open), so Fig. 10's default leaves them not reached.
BN_SWEEP = {"*": {"lr": (0.1, 0.2, 0.4), "batch_size": (256, 128, 32)}}
BN_DEFAULT = {**FIG4_DEFAULT["simplecnn"], "width": 0.125, "lr": 0.2, "top_k": 2}
APPENDIX_DEFAULTS = {
    "10": (BN_DEFAULT, BN_SWEEP,
           "vgg11 at ⅛ width on the first 1,024 images for 48 epochs, η ∈ {0.1, 0.2, 0.4} at "
           "S = 128 and S ∈ {256, 128, 32} at η = 0.2, as for Fig. 11 (at ¼ width and η ≤ 0.1 "
           "λ1 was still growing after 48 epochs)"),
    "11": (BN_DEFAULT, BN_SWEEP,
           "resnet32 with BatchNorm at ⅛ width on the first 1,024 images for 48 epochs, "
           "η ∈ {0.1, 0.2, 0.4} at S = 128 and S ∈ {256, 128, 32} at η = 0.2 (at ¼ width and "
           "η ≤ 0.05 λ1 was still growing after 48 epochs)")}
for fig_id, model, base, caption in (
        ("10", "vgg11", VGG11, "Same as Fig. 4, but for the VGG-11 architecture."),
        ("11", "resnet32", RESNET_BN,
         "Same as Fig. 4, but for Resnet-32 architecture using Batch-Normalization layers.")):
    default, grid, text = APPENDIX_DEFAULTS[fig_id]
    register(Figure(
        id=fig_id, title=f"Fig. 4 for {'VGG-11' if model == 'vgg11' else 'ResNet-32 with BN'}",
        notebook=CHAPTER, paper=PAPER, plot=plot_sweeps, caption=caption,
        runs=noise_grid(base, model),
        profiles={"smoke": SMOKE_ALL, "paper": {}, "default": {model: default}},
        grids={"default": grid,
               "smoke": {"*": {"lr": (0.01, 0.1), "batch_size": (128, 32)}}},
        shrunk={"default": f"{text}, top 2 on 128 images (paper: η ∈ {{0.001, 0.01, 0.1}}, "
                           "S ∈ {512, 128, 8}, 200 epochs of 45,000 images, top 5 on 2,250)",
                "smoke": SMOKE_SHRUNK},
        claims=sweep_claims(model),
    ))

# Fig. 12's default: every drop of η comes after the ~140 steps ResNet-32 (no BN) needs at
# η = 0.1 to leave its small initial curvature (Fig. 4's measurement). The earlier default,
# 40 epochs with L ∈ {5, 10, 20, 30}, dropped η at steps 40 and 80, before λ1 had left its
# initial value, so it compared nets that had not started learning (measured: growth ratios
# ×1.28, ×2.95, ×1.29, ×1.13, ρ = −0.40: fails; 504 s). This one: 571 s, measured.
RESNET_EARLY_STEPS = 140  # steps at η = 0.1 before λ1 leaves its initial value (Fig. 4)
FIG12_DEFAULT = dict(width=0.25, n_train=1024, n_test=500, epochs=80, track_every=4,
                     n_hessian=64, hessian_batch_size=64, n_eval=500, top_k=3, **EIG)
register(Figure(
    id="12", title="A learning-rate drop after L epochs (η = 0.1 → 0.01)",
    notebook=CHAPTER, paper=PAPER, plot=plot_schedule,
    caption=("Depending on the length of the first stage of a learning rate schedule, spectral "
             "norm of the Hessian and generalization performance evolve differently. Left: "
             "Spectral norm of the Hessian (solid) and Frobenius norm (dashed), during training "
             "(x axis). Center: Accuracy and validation accuracy, during training (x axis). "
             "Right: Learning rate, during training (x axis)."),
    # the authors' lr_schedule.sh: ResNet-32 without BN, L ∈ {20, 40, 80, 160} (the paper's
    # text says {10, 20, 40, 80}), 200 epochs, L2 = 0, top 5 on 2,560 images
    runs=tuple(RunSpec(f"resnet32/L={L}", RESNET32.with_overrides(
        weight_decay=0.0, lr_drop_epoch=L, top_k=5), ("lr_drop_epoch",))
        for L in (20, 40, 80, 160)),
    profiles={"smoke": {"resnet32": {**SMOKE["resnet32"], "epochs": 4}}, "paper": {},
              "default": {"resnet32": FIG12_DEFAULT}},
    grids={"smoke": {"*": {"lr_drop_epoch": (1, 2, 3)}},
           "default": {"*": {"lr_drop_epoch": (20, 30, 40, 60)}}},
    shrunk={"default": "ResNet-32 at quarter width on the first 1,024 images for 80 epochs "
                       "(8 steps each) with L ∈ {20, 30, 40, 60}, every drop after the "
                       f"~{RESNET_EARLY_STEPS} steps this ResNet needs at η = 0.1 to leave its small initial "
                       "curvature (Fig. 4's measurement) (paper: 200 epochs of 45,000 images, "
                       "L ∈ {20, 40, 80, 160}), top 3 on 64 images every 4 epochs (√Σλi² over "
                       "the top 3 stands in for the Frobenius norm)", "smoke": SMOKE_SHRUNK},
    claims=schedule_claims(),
))

register(Figure(
    id="13", title="Momentum and the largest λ1 (VGG-11, η = 0.1, S = 128)",
    notebook=CHAPTER, paper=PAPER, plot=plot_sweeps,
    caption=("Momentum limits the maximum spectral norm of the Hessian throughout training. "
             "Training at η = 0.1 and S = 128 on VGG11 and CIFAR10 (left) and CIFAR100 (right)."),
    # μ values are not given in the paper; the CIFAR-100 panel needs data not available offline
    runs=tuple(RunSpec(f"vgg11/μ={m:g}", VGG11.with_overrides(lr=0.1, momentum=m), ("momentum",))
               for m in (0.0, 0.5, 0.9)),
    profiles={"smoke": SMOKE_ALL, "paper": {},
              "default": {"vgg11": {**BN_DEFAULT, "lr": 0.1}}},
    shrunk={"default": "VGG-11 at ⅛ width (as for Fig. 10) on the first 1,024 images for 48 "
                       "epochs, μ ∈ {0, 0.5, 0.9} (the paper does not list its μ), top 2 on 128 "
                       "images; "
                       "CIFAR-10 only: CIFAR-100 is not in the offline mirror",
            "smoke": SMOKE_SHRUNK},
    # the caption's claim is about the largest λ1 of the training run, not about a peak: at
    # ⅛ width every μ is still growing after 48 (and 96) epochs, so a peak claim is not reached
    claims=(C.max_smaller("momentum", "vgg11"),),
))
