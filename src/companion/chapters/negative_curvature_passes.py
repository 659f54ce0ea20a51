"""The chapter's claims on the paper's number of passes: every analysis of Figs. 3–6, §3's cost
and App. B replayed on ``alain-passes``' trajectory (MNIST-10k for 6.4 passes instead of the
paper's 10,000 steps), and the table that sets each claim's status there against its status on
the 10,000-step trajectory. It tells which failures are the memorization's (they fail on 40
passes and hold on 6.4) and which are not (they fail on both).

The replay is the figure with overrides, as ``make reproduce FIG=alain-3 PARAMS=…`` would run
it: the 6.4-pass run's steps, snapshots and learning-rate period, and every analysis step of
the figure scaled by the same factor (1,600 / 10,000 = 0.16 at the default and paper profiles;
1 at smoke, whose two runs both stop at step 60). The claims read the steps on the run's own
schedule (:func:`negative_curvature_claims.at`).
"""

from __future__ import annotations

import html
from pathlib import Path

from ..claims import FAILS, HOLDS
from ..registry import register_replays, resolve
from ..report import badge
from .negative_curvature import scaled
from .negative_curvature_claims import loss_rows, spectrum_rows

PASSES_ID = "alain-passes"
REPLAYED = ("alain-3", "alain-4", "alain-5", "alain-6", "alain-cost", "alain-subset")
# the claims' groups, by (status on 10,000 steps, status on 6.4 passes)
GROUPS = {(FAILS, HOLDS): "the memorization's: they fail on 40 passes and hold on 6.4",
          (FAILS, FAILS): "not the data's: they fail in both regimes",
          (HOLDS, FAILS): "they hold on 40 passes and fail on 6.4",
          (HOLDS, HOLDS): "they hold in both regimes"}
UNDECIDED = "not reached in one regime or both"


def replay_params(fid: str, profile: str, overrides=None) -> dict:
    """The overrides that run figure ``fid``'s analysis on ``alain-passes``' trajectory (as
    the user's ``overrides`` make it): its schedule, and the figure's steps mapped onto it
    by the profile's ratio of the two schedules."""
    (_, base), = resolve(fid, profile)
    (_, passes), = resolve(PASSES_ID, profile)
    ratio = passes.max_steps / base.max_steps
    (_, passes), = resolve(PASSES_ID, profile, overrides)
    out = {"max_steps": passes.max_steps, "snapshot_steps": passes.snapshot_steps,
           "lr_decay_steps": dict(passes.optimizer_options)["lr_decay_steps"]}
    probe = base.probes[-1]
    if getattr(probe, "steps", ()):
        out["steps"] = scaled(probe.steps, ratio)
    if hasattr(probe, "step"):
        out["step"], = scaled((probe.step,), ratio)
    return out


def _replayed(figure_ids, profile: str, overrides) -> dict:
    """figure id → the overrides of its replay, for the replayed figures among ``figure_ids``
    (none unless ``alain-passes`` is among them)."""
    if PASSES_ID not in figure_ids:
        return {}
    return {fid: {**overrides, **replay_params(fid, profile, overrides)} for fid in REPLAYED
            if fid in figure_ids}


@register_replays
def replay_runs(figure_ids, profile: str, overrides) -> list:
    """(name, label, config) of the replays (for ``compute``: on a GPU, then committed)."""
    return [(f"{fid} on the passes trajectory", label, config)
            for fid, params in _replayed(figure_ids, profile, overrides).items()
            for label, config in resolve(fid, profile, params)]


def replay(plan, output_dir: Path) -> dict:
    """figure id → its outcome on the 6.4-pass trajectory, for the replayed figures of the
    notebook's ``plan`` (its overrides too), when the plan runs ``alain-passes``; outputs
    under ``output_dir``."""
    from ..reproduce import Plan

    return {fid: Plan(fid, plan.profile, params, {}, output_dir, progress=plan.progress).run(fid)
            for fid, params in _replayed(plan.figure_ids, plan.profile, plan.overrides).items()}


def _key(claim) -> str:
    return claim.claim.split(":")[0]


def regime_rows(outcomes: dict, replayed: dict) -> list:
    """(claim key, claim text, status on 10,000 steps, status on 6.4 passes) for every claim
    that both trajectories graded, in the chapter's order."""
    long = {_key(c): c for fid, o in outcomes.items() if fid.startswith("alain-")
            and fid not in ("alain-regime", PASSES_ID) for c in o.claims}
    short = {_key(c): c for o in [outcomes.get(PASSES_ID), *replayed.values()] if o
             for c in o.claims}
    return [(k, c.claim, c.status, short[k].status) for k, c in long.items() if k in short]


def _steps(outcome) -> str:
    """' (N steps)' of a figure's MNIST run, or nothing where there is none."""
    runs = getattr(outcome, "runs", None) or {}
    return next((f" ({c.max_steps:,} steps)" for c, _ in runs.values() if c.max_steps), "")


def regime_table(outcomes: dict, replayed: dict) -> str:
    """The HTML table of :func:`regime_rows`, then the claims grouped by their two statuses."""
    rows = regime_rows(outcomes, replayed)
    if not rows:
        return "<p>No claim was graded on both trajectories in this execution.</p>"
    body = "".join(f"<tr><td>{html.escape(text)}</td><td>{badge(a)}</td><td>{badge(b)}</td></tr>"
                   for _, text, a, b in rows)
    group = {k: GROUPS.get((a, b), UNDECIDED) for k, _, a, b in rows}
    groups = "".join(f"<li><strong>{', '.join(k for k in group if group[k] == why)}</strong>: "
                     f"{why}.</li>" for why in [*GROUPS.values(), UNDECIDED]
                     if why in group.values())
    heads = [_steps(o) for o in (outcomes.get("alain-2") or outcomes.get("alain-1"),
                                  outcomes.get(PASSES_ID) or next(iter(replayed.values()), None))]
    return ("<table class='claims-table table'><thead><tr><th>claim</th><th>the chapter's "
            f"trajectory{heads[0]}</th><th>the passes check{heads[1]}</th></tr></thead>"
            f"<tbody>{body}</tbody></table><ul>{groups}</ul>")


def memorization_numbers(outcome, prefix: str) -> dict:
    """Fig. 1's MNIST run in numbers, named ``<prefix>_…``: the training loss at its last
    snapshot, λ1's largest value and its last (how far the network memorizes its 8,000
    images); {} when the outcome lacks that run."""
    if outcome is None or "MNIST" not in outcome.runs:
        return {}
    _, result = outcome.runs["MNIST"]
    _, top, _ = spectrum_rows(result)
    _, losses = loss_rows(result)
    return {f"{prefix}_loss_end": float(losses[-1]), f"{prefix}_lam1_max": float(top.max()),
            f"{prefix}_lam1_end": float(top[-1])}
