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
# # Spectrum growth along the SGD path
#
# *Jastrzębski, Kenton, Ballas, Fischer, Bengio & Storkey (2019), "On the relation between
# the sharpest directions of DNN loss and the SGD step length", §3.1, Figs. 1–4.*
#
# The paper tracks the largest eigenvalues $\lambda_1 \ge \lambda_2 \ge \dots$ of the Hessian
# $H$ of the training loss along the SGD trajectory, estimated with Lanczos on a fixed ~5%
# subset of the training set (with the same augmentation and dropout as training). Its
# findings in §3.1:
#
# 1. the largest eigenvalues **grow at the start of training** up to a maximum, then decrease
#    or stabilize (Figs. 1–2);
# 2. the peak of $\lambda_1$ is **of the order of $1/\eta$**, where the SGD step just fits the
#    sharpest direction (Fig. 1);
# 3. **full-batch GD** of ResNet-32 without BatchNorm grows curvature until training becomes
#    unstable and the accuracy falls (Fig. 3);
# 4. a **larger learning rate $\eta$ or a smaller batch size $S$** gives a smaller and earlier
#    peak of $\lambda_1$ and $\lambda_2$ (Fig. 4).
#
# Every figure below is computed in this execution (or loaded from the results cache, keyed by
# the full parameters of each run), and every claim is checked on the recorded numbers. Each
# figure states the profile and the hardware that made it. To re-run with other parameters:
#
# ```bash
# make reproduce FIG=4 PROFILE=default PARAMS="lr_grid=0.02,0.2 epochs=12"
# papermill notebook.ipynb out.ipynb -p figures 1 -p lr 0.01 -p model resnet32
# ```

# %% tags=["parameters"]
figures = "1,2,3,4"   # which figures of this chapter to compute
profile = "default"   # smoke (seconds, tests) | default (minutes on 2 CPU cores) | paper (GPU)
output_dir = ""       # "" → data/results/<profile>/
# Overrides applied to every run of the selected figures (None keeps the figure's value;
# a figure's own sweep axis is never overridden — use lr_grid / batch_size_grid for that).
model = None
lr = None
batch_size = None
epochs = None
width = None
momentum = None
weight_decay = None
top_k = None
n_train = None
seed = None
device = None
lr_grid = None          # e.g. "0.001,0.01,0.1": replaces the η sweep of Fig. 4
batch_size_grid = None  # e.g. "1024,128,8": replaces the S sweep of Fig. 4
progress = False        # progress bars (interactive use); off in executed notebooks

# %% tags=["hide-input"]
import warnings

from IPython.display import Markdown, display

from companion.reproduce import Plan

warnings.filterwarnings("ignore", category=FutureWarning)  # torch's own deprecation notices

overrides = dict(model=model, lr=lr, batch_size=batch_size, epochs=epochs, width=width,
                 momentum=momentum, weight_decay=weight_decay, top_k=top_k, n_train=n_train,
                 seed=seed, device=device)
plan = Plan(figures, profile, overrides, {"lr": lr_grid, "batch_size": batch_size_grid},
            output_dir or None, chapter="spectrum_growth",
            progress=progress)  # validates every run before any training
display(Markdown(plan.describe_markdown()))


def show(fig_id):
    outcome = plan.run(fig_id)
    if outcome is None:
        display(Markdown(f"*Fig. {fig_id} was not selected in this execution "
                         f"(`figures={figures!r}`).*"))
    else:
        outcome.show()
    return outcome


# %% [markdown]
# ## Fig. 1 — the peak of $\lambda_1$ sits near $1/\eta$
#
# SimpleCNN (Appendix D: four 3×3 convolutions with 32, 32, 64, 64 filters, two max-pools,
# a 128-unit dense layer; 591,274 parameters) trained with a small learning rate,
# $\eta = 0.005$. The dotted line is $1/\eta$: the paper observes that $\lambda_1$ grows
# until it is of that order, where a gradient step of length $\eta$ overshoots the minimum
# along the sharpest direction.

# %%
fig1 = show("1")

# %% [markdown]
# ## Fig. 2 — a sharp initial growth, then a decrease or a plateau
#
# SimpleCNN and ResNet-32 (no BatchNorm, initialization scaled by depth, L2 regularization)
# with $\eta = 0.1$, $S = 128$. The middle row zooms on the first iterations, where the
# eigenvalues are evaluated every few steps.

# %%
fig2 = show("2")

# %% [markdown]
# ## Fig. 3 — full-batch gradient descent is unstable
#
# ResNet-32 without BatchNorm trained by full-batch gradient descent on the first CIFAR-10
# images (one step per "epoch"). The paper sees the curvature grow until the accuracy drops
# sharply.

# %%
fig3 = show("3")

# %% [markdown]
# ## Fig. 4 — learning rate and batch size limit the peak curvature
#
# $\lambda_1$ (solid) and $\lambda_2$ (dashed) on a log scale for ResNet-32, SimpleCNN and the
# Zaremba "small" LSTM language model on PTB. Top row: three learning rates at $S = 128$
# (LSTM: $S = 20$); bottom row: three batch sizes at $\eta = 0.05$ (LSTM: $\eta = 1$), as in
# the authors' released experiment scripts. Blue, green, red: increasing $\eta$, decreasing
# $S$. Offline, PTB has no training split: the LSTM trains on the `valid` split and is
# evaluated on `test`.

# %%
fig4 = show("4")

# %% [markdown]
# ## Summary of the claims checked in this execution

# %%
rows = [f"| {o.figure.id} | {c.claim} | {'✅ holds' if c.holds else '❌ does not hold'} |"
        for o in (fig1, fig2, fig3, fig4) if o is not None for c in o.claims]
display(Markdown("| figure | claim | result |\n|---|---|---|\n" + "\n".join(rows)
                 if rows else "*No figure was computed.*"))
