# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The SGD step against the sharpest directions
#
# *{cite:t}`jastrzebski2019relation`, §3.2–3.3, Figs. 5–7 and 14–18.*
#
# **What the paper found.** Once the largest Hessian eigenvalue $\lambda_1$ has grown to the
# order of $1/\eta$ (previous chapter), SGD's step is *too long* along the top eigenvectors
# $e_1, e_2, \dots$ of the Hessian:
#
# 1. the mini-batch gradient $g$ is **well aligned with the top directions**: its mean
#    $|\cos(g, e_i)|$ over the top 5 reaches 0.2–0.4, far above a random direction (Fig. 5);
# 2. along $e_1$, the component $\tilde g_1 = \langle g, e_1\rangle e_1$ of the step is longer
#    than the curvature allows: **a step $\alpha\eta\tilde g_1$ with $\alpha > 1$ raises the
#    loss on average, $\alpha < 1$ lowers it**, and the loss along $e_1$ is a bowl whose
#    minimum the step crosses (Fig. 6, with Figs. 14–18 as variations);
# 3. along lower eigenvectors the surface is **much flatter** (Figs. 15–16);
# 4. SGD that follows **only** the projection on $e_1$ finds flatter regions at a higher
#    loss; SGD **without** it finds sharper regions at a similar loss (Fig. 7).
#
# On a quadratic with curvature $\lambda$ along $e$, a step of length $s$ along $e$ from a
# point at distance $d$ from the minimum lands at $|d - s|$; with the step $s = \alpha\eta
# \lambda d$ of gradient descent, the loss rises iff $\alpha\eta\lambda > 2$. The claims below
# are checked in the *edge phase* of each run, the points where $\eta\lambda_1 \ge 1$: that is
# where the paper's runs are ("early on", after the growth of $\lambda_1$), and a run that never
# gets there leaves them *not reached*.
#
# **What this run found** is in the table below, computed from the numbers of this execution.

# %% tags=["parameters", "hide-cell"]
# Parameters (Papermill: `-p name value`; `make reproduce FIG=6 PARAMS="lr=0.02"`).
figures = ""            # figures of this chapter to compute, e.g. 6,7 (empty: all of them)
profile = "default"     # smoke (seconds, tests) | default (minutes on 2 CPU cores) | paper (GPU)
output_dir = ""         # "" → data/results/<profile>/ (with params: …/params/<them>/)
# Overrides applied to every run of the selected figures (None keeps the figure's value; a
# figure's own sweep axis is never overridden: use lr_grid for Fig. 5's η).
model = None            # simplecnn | resnet32
lr = None               # η
batch_size = None       # S
epochs = None
width = None            # width multiplier of the network
top_k = None            # eigenvectors computed at each point (the cosines use the top 5)
seed = None
device = None           # auto | cpu | cuda
lr_grid = None          # e.g. "0.001,0.01,0.1": replaces the η sweep of Fig. 5
# Any other run parameter, as space-separated name=value pairs, for example
# n_gradients=20 alphas=0.5,1,2 n_loss=1024 refresh_every=5:
params = ""
progress = True         # progress lines on stderr (the terminal; never shown in the book)

# %% tags=["remove-cell"]
import companion  # noqa: F401  (first: sets the OpenMP wait policy before torch loads)
from IPython.display import HTML, Markdown, display
from myst_nb import glue

from companion.chapters.step_vs_curvature import key_numbers, paper_vs_ours
from companion.report import quote, summary_html
from companion.plan import notebook_plan

plan = notebook_plan("step_vs_curvature", figures, profile, output_dir, params, progress,
                     grids=dict(lr=lr_grid), model=model, lr=lr, batch_size=batch_size,
                     epochs=epochs, width=width, top_k=top_k, seed=seed,
                     device=device)  # validates every run before any training
outcomes = plan.run_all()
glue("fig6_quote", Markdown(quote(  # the sentence that quotes this execution's numbers
    r"Here the mean $\Delta L$ over the edge-phase points was {fig6_simplecnn_dl2:+.2f}% at "
    r"$\alpha=2$ and {fig6_simplecnn_dl4:+.2f}% at $\alpha = 4$ for SimpleCNN (paper: +2.1% "
    r"and +11.1%), and {fig6_resnet32_dl2:+.2f}% and {fig6_resnet32_dl4:+.2f}% for ResNet-32 "
    r"(paper: +3% and +13.1%).", key_numbers(outcomes), "6",
    missing="*This execution has no mean $\\Delta L$ over edge-phase points of both networks "
            "to quote here (the table above lists what it has).*")), display=False)

# %% tags=["remove-input"]
display(HTML(summary_html(list(outcomes.values()))))


# %% [markdown]
# ## The paper's numbers beside this run's
#
# The paper quotes a few numbers for these figures (§3.2: the mean change of the loss for
# steps $\alpha\eta\tilde g_1$ over the first epochs; the authors' scripts average the last
# 25 measurements, here every edge-phase point is used).

# %% tags=["remove-input"]
display(HTML(paper_vs_ours(outcomes)))

# %% [markdown]
# ## Fig. 5 — is the gradient aligned with the sharpest directions?
#
# At each measurement point, 10 mini-batch gradients (augmented, batches of $S = 128$, drawn
# once and reused by every quantity of this chapter) against the top 5 eigenvectors from
# Lanczos; the mean $|\cos|$ is plotted against the training accuracy reached (eval mode, first
# training images). The dotted line is the mean $|\cos|$ of a random direction,
# $\sqrt{2/(\pi D)}$ for the model's own number of parameters $D$ (the authors drew it for
# $D = 350{,}000$).

# %% tags=["remove-input"]
plan.show("5")

# %% [markdown]
# ## Fig. 6 — is SGD's step too long along $e_1$?
#
# Left: $\Delta L(\alpha) = \mathbb{E}[L(\theta - \alpha\eta\tilde g_1)] - L(\theta)$ in % of
# $L(\theta)$, the mean over the 10 gradients, for $\alpha \in \{0.25, 0.5, 1, 2, 4\}$; filled
# points are in the edge phase ($\eta\lambda_1 \ge 1$). The paper's caption and the authors'
# code disagree on the colours; here, as in the code, $\alpha = 2$ is red. Right: the loss
# along $e_1$ in units of the expected step, $L(\theta + k\,e_1\Delta\theta_1)$ with
# $\Delta\theta_1 = \eta\,\mathbb{E}|\langle g, e_1\rangle|$, one curve per point coloured by
# $\lambda_1$ (the paper draws the same curves in 3-D against the epoch).
# {glue:md}`fig6_quote:myst`

# %% tags=["remove-input"]
plan.show("6")

# %% [markdown]
# ## Fig. 14 — how far did the Fig. 6 runs train?
#
# The paper gives the learning curves of the Fig. 6 runs for reference; it makes no claim
# about them. Accuracy is measured in eval mode on the first training images and on test
# images (the authors use a 5,000-image validation split).

# %% tags=["remove-input"]
plan.show("14")

# %% [markdown]
# ## Figs. 15 and 16 — is the surface flatter along $e_3$ and $e_5$?
#
# The same measurements along the third and the fifth eigenvector (Fig. 16's caption says
# "fourth"; the text and the authors' code use the fifth). The step unit $k$ is each
# direction's own expected step $\Delta\theta_i$, and the vertical axes keep Fig. 6's scale,
# as in the paper.

# %% tags=["remove-input"]
plan.show("15")

# %% tags=["remove-input"]
plan.show("16")

# %% [markdown]
# ## Fig. 17 — and with a five times larger learning rate?
#
# Fig. 6 at $\eta = 0.05$; the cross-sections span $|k| \le 4$, as the authors plot them.

# %% tags=["remove-input"]
plan.show("17")

# %% [markdown]
# ## Fig. 18 — does it last?
#
# Fig. 6 along a longer run, where the training accuracy approaches its final value.

# %% tags=["remove-input"]
plan.show("18")

# %% [markdown]
# ## Fig. 7 — what if SGD follows only, or never, the sharpest direction?
#
# From one SimpleCNN checkpoint, SGD variants whose update is restricted by the top
# eigenvector $e_1$ (refreshed along the way by Lanczos, warm-started):
# **top** follows only $\langle g, e_1\rangle e_1$; **const-top** only the projection on the
# first $e_1$, kept fixed; **no-top** follows $g - \langle g, e_1\rangle e_1$; the bottom pair
# (the authors' code, not described in the paper) scales the part along $e_1$ by $f$ and keeps
# the rest. All are one optimizer, `companion.optim.NudgedSGD`, which also serves Nudged-SGD.
# The paper starts from the η = 0.005 run of its Fig. 1 (the caption and the authors' code;
# the text says the §3.2 run at epoch 4).

# %% tags=["remove-input"]
plan.show("7")

# %% [markdown]
# ## Where the paper, its captions and the authors' code disagree
#
# Following the experiment specification, this chapter uses:
#
# - **ResNet-32's L2**: the paper says 0.005; the authors' Fig. 6 runs use $10^{-4}$ (Keras
#   units, weight decay $2\cdot10^{-4}$ here), their Fig. 5 runs none. The paper profile
#   follows the code.
# - **SimpleCNN**: the authors' code uses 'valid' padding on the second and fourth
#   convolutions, the paper's appendix 'same'; this book builds the paper's network.
# - **Fig. 6's colours** are reversed between the caption and the code (here $\alpha = 2$ is
#   red, as in the code); the authors' $\alpha$ grid also holds 0.33 and 3, and their
#   cross-sections go to $k = \pm 16$ (plotted to $\pm 8$).
# - **Fig. 6's horizon**: 550 pseudo-epochs are 6.3 epochs for SimpleCNN but 25 for ResNet-32.
# - **Fig. 7's start**: the text says the §3.2 run at epoch 4; the caption and the code the
#   η = 0.005 run of Fig. 1 (followed by the paper profile), for 1,000 iterations.
# - **Fig. 18** runs 300 epochs in the code, "200" in the caption.
# - **Hessian estimates**: the authors' Lanczos has no warm start and runs to machine
#   precision on 2,560 freshly augmented images; here Lanczos is warm-started from the
#   previous point's eigenvectors, on a fixed augmented subset, to a relative residual of
#   $3\cdot10^{-3}$ at the default profile.
#
# ## Re-run it
#
# ```bash
# make reproduce FIG=6 PROFILE=default PARAMS="lr=0.02 n_gradients=20"
# make reproduce FIG=7 PARAMS="refresh_every=5"
# jupytext --to notebook notebooks/step_vs_curvature.py -o svc.ipynb
# papermill svc.ipynb out.ipynb -p figures 5 -p lr_grid 0.005,0.05
# ```
