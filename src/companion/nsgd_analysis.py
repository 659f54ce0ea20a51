"""Numbers and claims of the Nudged-SGD chapter (Jastrzębski et al. 2019, §4, App. C, E, F).

A run of the NSGD tables records, along training, the refreshes of its directions (the top
eigenvalues: λ_max and F_top = √Σλ_i² come from there, spec E4), and at each measurement
point the validation and test accuracy, the training loss (first examples, unaugmented, no
L2), the two ‖H‖_F estimators of :class:`~companion.probes_tables.HessianNorms` and the
distance from the start. :func:`table_row` turns one run into the paper's table columns;
rows of several seeds are averaged (the authors group by γ and η). The claims built on
them are in :mod:`companion.nsgd_claims`.
"""

from __future__ import annotations

import math
from statistics import mean

import numpy as np

from .optim import optimizer_options

COLUMNS = ("F_best", "F_final", "test_acc", "val_early", "loss", "distance")
SLACK_PP = 0.5  # CT (i): "non-increasing in γ" allows 0.5 percentage points of noise


# ----------------------------------------------------------------------------- series
def gamma(config) -> float:
    return optimizer_options(config)["gamma"] if config.optimizer == "nudged" else 1.0


def eigen_series(result: dict) -> tuple:
    """(epochs, eigenvalue matrix) from the refreshes of a steered run, otherwise from the
    eigenvalue probe's records."""
    spe = result.get("steps_per_epoch", 1)
    rows = [(r["step"] / spe, r["eigenvalues"]) for r in result.get("refreshes") or []]
    if not rows:
        rows = [(r["epoch"], r["eigenvalues"]) for r in result["history"]
                if "eigenvalues" in r and r["phase"] in ("init", "epoch")]
    k = min(len(v) for _, v in rows)
    return np.array([e for e, _ in rows]), np.array([v[:k] for _, v in rows])


def frobenius_top(values: np.ndarray) -> np.ndarray:
    """√Σ λ_i² over the tracked eigenvalues (the paper's formula with K = 50)."""
    return np.sqrt((np.asarray(values) ** 2).sum(axis=-1))


def settled(result: dict) -> bool:
    """λ_max has stopped growing: chapter 1's peak rule (:data:`companion.claims.PEAK_RULE`)
    on the refreshes' λ_max."""
    from .claims import peak_of

    epochs, values = eigen_series(result)
    return peak_of(list(epochs), [float(v) for v in values[:, 0]]).settled


SETTLED_RULE = ("a claim about the final curvature needs every run's λ_max to have stopped "
                "growing: its running mean over 3 refreshes first comes within 90% of its "
                "maximum (after the bottom of an initial fall, if it first falls) in the first "
                "75% of the run (chapter 1's peak rule)")
AT_START_RULE = ("validation accuracy never rose above its value at initialization, so the "
                 "best-validation point is the untrained network (distance 0, its initial "
                 "‖H‖_F and test accuracy)")


def measured(result: dict, key: str) -> list:
    return [r for r in result["history"] if key in r and r["phase"] in ("init", "epoch")]


def value_at(result: dict, key: str, epoch: float) -> float:
    """``key`` at the measurement nearest to ``epoch``."""
    records = measured(result, key)
    return min(records, key=lambda r: abs(r["epoch"] - epoch))[key] if records else math.nan


def table_row(config, result: dict, epoch: float) -> dict:
    """The paper's table columns for one run: ‖H‖_F (top-K formula) and λ_max at the
    best-validation point and at the end, test accuracy at the best-validation point, the
    validation accuracy at ``epoch``, the final training loss and the distance from
    the start at the best-validation point; plus both Hutchinson-type estimators."""
    records = measured(result, "val_acc")
    best = max(records, key=lambda r: r["val_acc"])
    epochs, values = eigen_series(result)
    at_best = int(np.argmin(np.abs(epochs - best["epoch"])))
    F = frobenius_top(values)
    return {"F_best": float(F[at_best]), "F_final": float(F[-1]),
            "lam_best": float(values[at_best, 0]), "lam_final": float(values[-1, 0]),
            "test_acc": 100 * best["test_acc"], "val_early": 100 * value_at(result, "val_acc", epoch),
            "loss": records[-1]["train_loss"], "distance": value_at(result, "distance", best["epoch"]),
            "hutch_best": value_at(result, "frobenius_hutch", best["epoch"]),
            "hutch_final": measured(result, "frobenius_hutch")[-1]["frobenius_hutch"]
            if measured(result, "frobenius_hutch") else math.nan,
            "code_best": value_at(result, "frobenius_code", best["epoch"]),
            "best_epoch": best["epoch"], "lr": config.lr, "gamma": gamma(config),
            "best_at_start": best is records[0] and records[0]["phase"] == "init",
            "settled": settled(result),
            "diverged": result.get("diverged_at_step") is not None}


def row_name(label: str) -> str:
    """'γ=0.01/seed=1' → 'γ=0.01' (seeds of one row are averaged)."""
    return label.split("/seed=")[0]


def early_epoch(runs: dict, paper_epoch: float) -> float:
    """The paper's "Val. acc. (50)" epoch, or half the shortest run when the runs are
    shorter (the default profile's runs last a few epochs)."""
    return min(paper_epoch, min(c.epochs for c, _ in runs.values()) / 2)


def table_rows(runs: dict, epoch: float) -> dict:
    """Row name → the mean over its seeds of :func:`table_row` (runs that diverged are
    reported with their row marked, as the paper's γ = 5 rows are)."""
    grouped = {}
    for label, (config, result) in runs.items():
        grouped.setdefault(row_name(label), []).append(table_row(config, result, epoch))
    return {name: {k: (mean(r[k] for r in rows) if not isinstance(rows[0][k], bool)
                       else any(r[k] for r in rows)) for k in rows[0]} | {"seeds": len(rows)}
            for name, rows in grouped.items()}


def gamma_rows(rows: dict) -> dict:
    """γ → row, for the NSGD rows ('γ=…')."""
    return {r["gamma"]: r for name, r in rows.items() if name.startswith("γ=")}


# ----------------------------------------------------------------------------- Fig. 8
def k_runs(runs: dict) -> tuple:
    """([(K, result)] sorted by K for the NSGD runs, the SGD run)."""
    nsgd = sorted((optimizer_options(c)["directions"], c, r) for label, (c, r) in runs.items()
                  if label.startswith("K="))
    sgd = next((c, r) for label, (c, r) in runs.items() if label == "SGD")
    return nsgd, sgd


def spearman(x, y) -> float:
    from scipy.stats import spearmanr

    if len(x) <= 2 or len(set(x)) == 1 or len(set(y)) == 1:   # undefined: no ranks to compare
        return math.nan
    return float(spearmanr(x, y).statistic)


# ----------------------------------------------------------------------------- App. E
def newton_example(gamma_: float = 0.01, k: int = 5, lr: float = 0.1, seed: int = 0,
                   rotate: bool = True) -> dict:
    """App. E: diag(H) = [100×5, 1, 1], λ = 0. NSGD (γ = 0.01, K = 5) and Newton
    θ ← θ − η (H + λI)⁻¹ g take the same step when γ = λ_small/λ_big. ``rotate`` hides the
    eigenbasis behind a random rotation. Returns the relative difference with exact
    eigenvectors and with Lanczos eigenvectors."""
    import torch

    from .lanczos import lanczos
    from .optim import NudgedSGD

    gen = torch.Generator().manual_seed(seed)
    diag = torch.tensor([100.0] * 5 + [1.0, 1.0], dtype=torch.float64)
    q = torch.linalg.qr(torch.randn(7, 7, generator=gen, dtype=torch.float64))[0] if rotate \
        else torch.eye(7, dtype=torch.float64)
    H = q @ torch.diag(diag) @ q.T
    g = torch.randn(7, generator=gen, dtype=torch.float64)
    newton = -lr * torch.linalg.solve(H, g)  # λ = 0

    def nsgd_step(vecs):
        p = torch.zeros(7, dtype=torch.float64, requires_grad=True)
        opt = NudgedSGD([p], lr=lr, gamma=gamma_)
        opt.set_directions(vecs)
        p.grad = g.clone()
        opt.step()
        return p.detach()

    exact = nsgd_step(q[:, :k])
    lz = lanczos(H, k=k, which="LA", tol=1e-12, seed=seed)
    approx = nsgd_step(lz.vecs)
    rel = lambda d: float((d - newton).norm() / newton.norm())  # noqa: E731
    return {"newton": newton.tolist(), "nsgd_exact": exact.tolist(), "nsgd_lanczos": approx.tolist(),
            "rel_exact": rel(exact), "rel_lanczos": rel(approx),
            "lanczos_matvecs": int(lz.num_matvecs), "eigenvalues": lz.vals.tolist()}
