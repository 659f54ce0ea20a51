"""Chapter 2 — the SGD step against the sharpest directions (Jastrzębski et al. 2019,
§3.2–3.3, Figs. 5–7 and 14–18).

Two shared runs carry most figures, as the spec proposes: run A (SimpleCNN) and run B
(ResNet-32) are measured by :class:`~companion.probes.SharpestDirections` at regular points
and serve Figs. 6, 14, 15 and 16 (and one arm of Fig. 5) from one cache entry each. Fig. 7
starts its SGD variants from the weights of a SimpleCNN run (``start_from``). Claims and
numbers come from :mod:`companion.step_analysis`; plots live in
:mod:`companion.chapters.step_plots`.
"""

from __future__ import annotations

from functools import partial


from .. import step_analysis as S
from ..claims import Claim
from ..config import RunConfig
from ..probes import Metrics, SharpestDirections
from ..registry import Figure, RunSpec, register
from . import step_plots as P

CHAPTER = "step_vs_curvature"
PAPER = "jastrzebski2019relation"
E135 = dict(step_directions=(1, 3, 5), section_directions=(1, 3, 5))
E1 = dict(step_directions=(1,), section_directions=(1,))
COSINES_ONLY = dict(step_directions=(), section_directions=())

# ----------------------------------------------------------------------------- paper bases
# The authors' `sharp_analysis_early.sh`: η = 0.01, S = 128, μ = 0, augmentation, top-5
# Lanczos on 2,560 images, ΔL every 20 iterations (5 pseudo-epochs of 512 images) for
# SimpleCNN and every 80 (of 2,048) for ResNet-32, up to pseudo-epoch 550; loss on the first
# 2,560 unaugmented training images. ResNet-32: no BN, Keras L2 1e-4 (= weight decay 2e-4).
SCNN_A = RunConfig(model="simplecnn", lr=0.01, batch_size=128, n_train=45000, epochs=7,
                   track_every=1, zoom_steps=2200, zoom_every=20,
                   probes=(Metrics(n_eval=5000),
                           SharpestDirections(top_k=5, n_hessian=2560, hessian_batch_size=256,
                                              n_loss=2560, **E135)))
RESNET_B = SCNN_A.with_overrides(model="resnet32", weight_decay=2e-4, epochs=25,
                                 zoom_steps=8800, zoom_every=80)

SMOKE_RUN = dict(width=0.125, n_train=256, n_test=128, epochs=2, track_every=1, zoom_steps=0,
                 n_eval=128, n_hessian=32, hessian_batch_size=32, top_k=5, n_gradients=2,
                 n_loss=64, lanczos_tol=1e-2)
SMOKE = {"simplecnn": SMOKE_RUN, "resnet32": SMOKE_RUN}
SMOKE_SHRUNK = ("tiny widths, 256 images, 2 epochs, 2 gradients per point, some runs left "
                "out (tests only)")
# Default: SimpleCNN at half width on 9,600 images (75 steps per epoch), a point every
# 150 steps; λ1 passes 1/η = 100 after ~450 steps (measured). ResNet-32 at quarter width
# starts at λ1 ≈ 0.7 and at η = 0.01 still had λ1 = 1.6 after 150 steps (measured): it
# cannot reach η·λ1 ≥ 1 on a CPU budget, so run B uses η = 0.1, where it gets there in
# ~150 steps (chapter 1, Fig. 2).
EIG = dict(n_hessian=256, hessian_batch_size=256, lanczos_tol=3e-3)
RUN_A = dict(width=0.5, n_train=9600, n_test=2000, epochs=16, track_every=2, zoom_steps=0,
             n_eval=2000, n_loss=384, **EIG)
RUN_B = dict(width=0.25, lr=0.1, n_train=9600, n_test=2000, epochs=5, track_every=1,
             zoom_steps=0, n_eval=2000, n_loss=256, n_hessian=128, hessian_batch_size=128,
             lanczos_tol=3e-3, weight_decay=0.0, step_directions=(1,))
DEFAULT = {"simplecnn": RUN_A, "resnet32": RUN_B}
SHRUNK_AB = ("run A: SimpleCNN at half width on the first 9,600 CIFAR-10 images, η = 0.01, "
             "1,200 steps (paper: 45,000 images, ~2,200 steps), a point every 150 steps; "
             "run B: ResNet-32 at quarter width, η = 0.1 (paper 0.01: from its small "
             "depth-scaled initial curvature, λ1 was still 1.6 after 150 steps at η = 0.01, "
             "far from 1/η), without L2 (as in the authors' Fig. 5 runs, so that run B serves both; their Fig. 6 uses 1e-4), 375 steps, a point every 75, ΔL along e1 only. Top 5 by Lanczos "
             "on 256 / 128 fixed images (paper: 2,560), loss on the first 384 / 256 "
             "unaugmented images (paper: 2,560), 10 gradients per point as in the paper")


def both(base_a=SCNN_A, base_b=RESNET_B) -> tuple:
    return RunSpec("simplecnn", base_a), RunSpec("resnet32", base_b)


def profiles(default: dict, smoke: dict = SMOKE, paper: dict = None) -> dict:
    return {"smoke": smoke, "default": default, "paper": paper or {}}


# ----------------------------------------------------------------------------- claims
PAPER_DL = {"simplecnn": "paper: +2.1% at α = 2, +11.1% at α = 4, ≈ −2% at α ≤ 0.5",
            "resnet32": "paper: +3% at α = 2, +13.1% at α = 4, ≈ −0.5% at α ≤ 0.5"}


def step_claims(models=("simplecnn", "resnet32"), sections: bool = True) -> tuple:
    out = []
    for model in models:
        out += [_for(model, S.longer_steps_raise_loss(PAPER_DL[model], runs=(model,))),
                _for(model, S.doubled_step_raises_loss(runs=(model,))),
                _for(model, S.quadratic_predicts_sign(runs=(model,)))]
        if sections:
            out.append(_for(model, S.step_crosses_bowl(runs=(model,))))
    return tuple(out)


def _for(model: str, claim: Claim) -> Claim:
    return Claim(f"{model}: {claim.text}", claim.check, model=model)


def key_numbers(outcomes: dict) -> dict:
    """Numbers the prose quotes (glue names → values)."""
    out = {}
    if "6" in outcomes:
        for label, (config, result) in outcomes["6"].runs.items():
            edge = S.edge_records(config, result)
            means = S.mean_step_changes(config, edge)
            for a in config.probe("directions").alphas:
                out[f"fig6_{label}_dl{a:g}".replace(".", "_")] = means.get(a, float("nan"))
            out[f"fig6_{label}_edge"] = len(edge)
    return out


PAPER_QUOTES = {  # §3.2–3.3 of the paper; ΔL in % of L(θ), α → value
    "simplecnn": {0.25: "≈ −2", 0.5: "≈ −2", 2.0: "+2.1", 4.0: "+11.1"},
    "resnet32": {0.25: "≈ −0.5", 0.5: "≈ −0.5", 2.0: "+3", 4.0: "+13.1"},
}


def paper_vs_ours(outcomes: dict) -> str:
    """An HTML table of the numbers the paper quotes beside this execution's."""
    import html

    rows = []
    if "5" in outcomes:
        for label, (_, result) in outcomes["5"].runs.items():
            rows.append(("5", f"{label}: max top-5 mean |cos|", "0.2–0.4",
                         f"{S.max_top5_cosine(result):.3f}"))
    for fid in ("6", "17", "18"):
        for label, (config, result) in outcomes[fid].runs.items() if fid in outcomes else ():
            means = S.mean_step_changes(config, S.edge_records(config, result))
            for a in (0.25, 0.5, 2.0, 4.0):
                paper = PAPER_QUOTES[label][a] + "%" if fid == "6" else "—"
                ours = f"{means[a]:+.2f}%" if a in means else "no edge-phase point"
                rows.append((fid, f"{label}: mean ΔL at α = {a:g}", paper, ours))
    if "7" in outcomes and {"sgd", "top", "no-top"} <= set(outcomes["7"].runs):
        said = ("lower λ1, higher loss than SGD", "higher λ1, similar loss to SGD")
        for claim, paper in zip(outcomes["7"].claims[:2], said):
            rows.append(("7", claim.claim.split(" (")[0], paper, claim.evidence.split(": ", 1)[-1]))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return ("<table class='table paper-vs-ours'><thead><tr><th>Fig.</th><th>quantity</th>"
            "<th>paper</th><th>this run</th></tr></thead><tbody>" + body + "</tbody></table>")


# ----------------------------------------------------------------------------- figures
register(Figure(
    id="5", title="Alignment of the mini-batch gradient with the top-5 Hessian directions",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_alignment,
    caption=("Average cosine between mini-batch gradient (y axis) and top sharpest directions "
             "(averaged over top 5) for different η (color) evaluated at different level of "
             "accuracies, during training (x axis). For comparison, the horizontal purple line "
             "is alignment with a random vector in the parameter space. Curves were smoothed "
             "for clarity."),
    runs=tuple(RunSpec(f"{m}/lr={lr:g}", base.with_overrides(lr=lr, weight_decay=0.0), ("lr",))
               for m, base in (("simplecnn", SCNN_A), ("resnet32", RESNET_B))
               for lr in (0.001, 0.01, 0.1)),
    profiles={"smoke": {**SMOKE, **{f"{m}/lr={lr:g}": dict(epochs=1, **COSINES_ONLY)
                                    for m, lr in (("simplecnn", 0.1), ("resnet32", 0.01))},
                        "simplecnn/lr=0.001": None, "resnet32/lr=0.001": None},
              # the authors' noise_grid/*_alig.sh: 500 pseudo-epochs of 45,000/{25, 5, 1}
              # images for η = 0.1/0.01/0.001, a point each, L2 = 0, top 5 on 2,250 images
              "paper": {m: dict(n_hessian=2250, **COSINES_ONLY) for m in ("simplecnn", "resnet32")}
              | {f"{m}/lr={lr:g}": dict(epochs=ep, zoom_steps=ep * 352, zoom_every=z,
                                          track_every=ep)
                 for m in ("simplecnn", "resnet32")
                 for lr, ep, z in ((0.1, 20, 14), (0.01, 100, 70), (0.001, 500, 352))},
              "default": {**DEFAULT,
                          "simplecnn/lr=0.1": dict(epochs=8, **COSINES_ONLY),
                          "simplecnn/lr=0.001": dict(epochs=8, **COSINES_ONLY),
                          "resnet32/lr=0.01": dict(epochs=3, **COSINES_ONLY),
                          "resnet32/lr=0.001": None}},
    shrunk={"default": "the η = 0.01 SimpleCNN arm is run A and the η = 0.1 ResNet arm is "
                       "run B (" + SHRUNK_AB + "); the other arms are 600 steps (SimpleCNN) "
                       "and 225 steps (ResNet, η = 0.01); ResNet at η = 0.001 is left out "
                       "(it hardly moves in a CPU budget). Paper: 20/100/500 epochs of 45,000 "
                       "images for η = 0.1/0.01/0.001",
            "smoke": SMOKE_SHRUNK},
    claims=(S.cosine_of_paper_order(), S.cosine_far_above_random()),
))

register(Figure(
    id="6", title="The SGD step along e1: loss change ΔL(α) and cross-sections",
    notebook=CHAPTER, paper=PAPER, plot=partial(P.plot_step, direction=1),
    caption=("Early on in training, SGD finds a region such that in the sharpest direction, the "
             "SGD step length is often too large compared to curvature. Experiments on "
             "SimpleCNN and Resnet-32, trained with η = 0.01, S = 128, learning curves are "
             "provided in the Appendix. Left two: Average change in loss E[L(θ(t) − αηg1(t))] − "
             "L(θ(t)), for α = 0.5, 1, 2 correspondingto red, green, and blue, respectively. On "
             "average, the SGD step length in the direction of the sharpest direction does not "
             "minimize the loss. The red points further show that increasing the step size by "
             "a factor of two leads to increasing loss (on average). Right two: Qualitative "
             "visualization of the surface along the top eigenvectors for SimpleCNN and "
             "Resnet-32 support that SGD step length is large compared to the curvature along "
             "the top eigenvector. At iteration t we plot the loss L(θ(t) + k e1 Δθ1(t)), "
             "around the current parameters θ(t), where Δθ1(t) is the expected norm of the SGD "
             "step along the top eigenvector e1. The x-axis represents the interpolation "
             "parameter k, the y-axis the epoch, and the z-axis the loss value, the color "
             "indicated spectral norm in the given epoch (increasing from blue to red)."),
    runs=both(), profiles=profiles(DEFAULT),
    shrunk={"default": SHRUNK_AB, "smoke": SMOKE_SHRUNK},
    claims=step_claims(),
))

register(Figure(
    id="14", title="Training and test accuracy of the Fig. 6 runs",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_accuracies,
    caption=("Training and validation accuracy for experiments in Fig 6. Left corresponds to "
             "SimpleCNN. Right corresponds to Resnet-32."),
    runs=both(), profiles=profiles(DEFAULT),
    shrunk={"default": SHRUNK_AB + "; accuracy on the first 2,000 training and 2,000 test "
                       "images (the paper: a 5,000-image validation split)",
            "smoke": SMOKE_SHRUNK},
    no_claims="the paper shows these learning curves for reference and claims nothing about them",
))

for fig_id, index, word in (("15", 3, "third"), ("16", 5, "fifth")):
    register(Figure(
        id=fig_id, title=f"Fig. 6 along the {word} eigenvector e{index}",
        notebook=CHAPTER, paper=PAPER, plot=partial(P.plot_step, direction=index),
        caption=(f"Similar to Fig 6 but computed for the {word} eigenvector of the Hessian. We "
                 "see that the loss surface is much flatter in this direction. To facilitate a "
                 "direct comparison, scale of each axis is kept the same as in Fig. 6."
                 + (" (The paper's caption says 'fourth'; the text and the authors' code use "
                    "the fifth.)" if index == 5 else "")),
        runs=both(), profiles=profiles(DEFAULT),
        shrunk={"default": SHRUNK_AB + "; ResNet's ΔL is measured along e1 only, so its "
                           f"e{index} panel shows the cross-sections", "smoke": SMOKE_SHRUNK},
        claims=tuple(_for(m, S.flatter_than_top(index, runs=(m,)))
                     for m in ("simplecnn", "resnet32")),
    ))

SECTION_K4 = tuple(k for k in SharpestDirections.section_k if abs(k) <= 4)
register(Figure(
    id="17", title="Fig. 6 at η = 0.05",
    notebook=CHAPTER, paper=PAPER, plot=partial(P.plot_step, direction=1),
    caption="Similar to Fig 6 but for Resnet-32 (top) and SimpleCNN (bottom) with η = 0.05.",
    runs=both(SCNN_A.with_overrides(lr=0.05, section_k=SECTION_K4),
              RESNET_B.with_overrides(lr=0.05, section_k=SECTION_K4)),
    profiles=profiles({"simplecnn": {**RUN_A, "epochs": 8, **E1}, "resnet32": None},
                      smoke={"simplecnn": dict(SMOKE_RUN, **E1), "resnet32": None}),
    shrunk={"default": "SimpleCNN only (ResNet-32 at η = 0.05 is optional in the spec and "
                       "would take ~5 more minutes), as run A but 600 steps with a point every "
                       "150 and e1 only; cross-sections over |k| ≤ 4 as the authors plot them",
            "smoke": SMOKE_SHRUNK},
    claims=step_claims(),
))

register(Figure(
    id="18", title="Fig. 6 over a long run",
    notebook=CHAPTER, paper=PAPER, plot=partial(P.plot_step, direction=1),
    caption="Similar to Fig 6 but for Resnet-32 (top) and SimpleCNN (bottom) run for 200 epochs.",
    # the authors' sharp_analysis_late.sh: 300 epochs, a point every 5
    runs=both(SCNN_A.with_overrides(epochs=300, zoom_steps=0, track_every=5, **E1),
              RESNET_B.with_overrides(epochs=300, zoom_steps=0, track_every=5, **E1)),
    profiles=profiles({"simplecnn": dict(RUN_A, n_train=5120, epochs=30, track_every=4,
                                         **E1), "resnet32": None},
                      smoke={"simplecnn": dict(SMOKE_RUN, **E1), "resnet32": None}),
    shrunk={"default": "SimpleCNN only, at half width on the first 5,120 images for 30 epochs "
                       "(1,200 steps; paper: 300 epochs of 45,000), a point every 4 epochs, e1 "
                       "only: a late-phase proxy in which the training accuracy approaches "
                       "that of the paper's long runs. ResNet-32 would take ~6 more minutes",
            "smoke": SMOKE_SHRUNK},
    claims=step_claims(),
))

# Fig. 7: SGD variants from a SimpleCNN checkpoint. Paper (caption; the authors'
# escaping_ablation.py): the Fig. 1 run (η = 0.005) at its checkpoint 395, then 1,000
# iterations on unaugmented mini-batches, e1 from a fresh top-5 Lanczos at every iteration,
# loss on the first 2,250 training images.
FIG7_PARENT = RunConfig(model="simplecnn", lr=0.005, n_train=45000, epochs=4,
                        probes=(Metrics(n_eval=2250),))
FIG7_BASE = RunConfig(model="simplecnn", lr=0.005, n_train=12800, epochs=10, augment=False,
                      optimizer="nudged", start_from=FIG7_PARENT, zoom_steps=1000, zoom_every=1,
                      track_every=10, probes=(Metrics(n_eval=2250),)).with_overrides(
    directions=1, refresh_every=1, refresh_examples=2250)
FIG7_VARIANTS = {"sgd": dict(gamma=1.0, rest_scale=1.0), "top": dict(gamma=1.0, rest_scale=0.0),
                 "const-top": dict(gamma=1.0, rest_scale=0.0, refresh_once=True),
                 "no-top": dict(gamma=0.0, rest_scale=1.0),
                 **{f"top×{f:g}": dict(gamma=f, rest_scale=1.0) for f in (0.25, 0.5, 2, 4)}}
FIG7_DEFAULT_PARENT = FIG7_PARENT.with_overrides(
    lr=0.01, width=0.5, n_train=9600, n_test=500, epochs=8, track_every=8, n_eval=1000)
register(Figure(
    id="7", title="SGD restricted to, or away from, the sharpest direction",
    notebook=CHAPTER, paper=PAPER, plot=P.plot_variants,
    caption=("Evolution of the loss and the top eigenvalue during training with variations of "
             "SGD with parameter updates restricted to certain subspaces. All variants are "
             "initialized at the last iteration in Fig. 1. An SGD variant (orange) that follows "
             "at each iteration only the projection of the gradient on the top eigenvector of H "
             "effectively finds a region with lower λmax but increases the loss, while a "
             "variant subtracting this projection from the gradient (red), finds a sharper "
             "region while achieving a similar loss level as vanilla SGD (blue)."),
    runs=tuple(RunSpec(label, FIG7_BASE.with_overrides(**o), keeps=tuple(o))
               for label, o in FIG7_VARIANTS.items()),
    profiles={"paper": {},
              "smoke": {"simplecnn": dict(width=0.125, n_train=256, n_test=64, epochs=1,
                                          zoom_steps=2, zoom_every=1, n_eval=64,
                                          refresh_every=1, refresh_examples=32,
                                          start_from=FIG7_PARENT.with_overrides(
                                              width=0.125, n_train=256, n_test=64, epochs=1,
                                              n_eval=64))},
              "default": {"simplecnn": dict(
                  lr=0.01, width=0.5, n_train=6400, n_test=500, epochs=2, zoom_steps=100,
                  zoom_every=10, track_every=2, n_eval=1024, refresh_every=10,
                  refresh_examples=256, start_from=FIG7_DEFAULT_PARENT)}},
    shrunk={"default": "the variants start from SimpleCNN at half width after 600 SGD steps at "
                       "η = 0.01 on 9,600 images (run A's settings; paper: the η = 0.005 run of "
                       "Fig. 1) and run 100 iterations (paper: 1,000) at η = 0.01 on 6,400 "
                       "unaugmented images; e1 is refreshed every 10 iterations by Lanczos "
                       "warm-started on 256 fixed images (paper: every iteration on 2,250) and "
                       "the loss is measured every 10 iterations on the first 1,024 images "
                       "(paper: every iteration on 2,250)",
            "smoke": SMOKE_SHRUNK},
    claims=S.variant_claims(),
))
