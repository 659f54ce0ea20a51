"""The negative-curvature chapter (Alain et al. 2019): every id at every profile, one shared
trajectory, bad input, and the smoke figures with their claims."""

import json

import pytest

from companion import registry
from companion.config import ParameterError
from companion.reproduce import Plan
from companion.results import run_key

IDS = tuple(f"alain-{i}" for i in range(1, 7)) + ("alain-cost", "alain-subset")


@pytest.mark.parametrize("profile", registry.PROFILES)
def test_every_id_resolves_to_one_shared_trajectory(profile):
    keys = {fid: {label: run_key(c) for label, c in registry.resolve(fid, profile)}
            for fid in IDS}
    assert len({k["MNIST"] for k in keys.values()}) == 1  # analyses differ, training is shared
    assert set(keys["alain-1"]) == {"MNIST", "CIFAR-10"}
    config = dict(registry.resolve("alain-1", profile))["MNIST"]
    assert config.optimizer == "rmsprop" and config.batch_size == 32
    assert config.model == ("lenet" if profile == "paper" else "lenet_small")


def test_bad_input_fails_before_anything_runs():
    with pytest.raises(ParameterError, match="no snapshot"):
        Plan("alain-2", "default", {"t0s": "2001"})
    with pytest.raises(ParameterError, match="impl"):
        Plan("alain-1", "smoke", {"impl": "keras"})
    with pytest.raises(ParameterError, match="unknown parameter"):
        Plan("alain-3", "smoke", {"n_hesian": "10"})


def test_smoke_figures_and_claims(tmp_path):
    plan = Plan(",".join(IDS), "smoke", {}, {}, tmp_path, progress=False)
    outcomes = plan.run_all()
    statuses = []
    for fid in IDS:
        out = tmp_path / f"fig-{fid}"
        assert (out / f"fig-{fid}.png").stat().st_size > 10_000
        claims = json.loads((out / "claims.json").read_text())
        assert len(claims) == len(registry.get_figure(fid).claims)
        statuses += [c["status"] for c in claims]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["runs"]["MNIST"]["provenance"]["key"]
        analyses = summary["runs"]["MNIST"]["analyses"]
        assert len(analyses) == 1 and next(iter(analyses.values()))["analysis_version"]
    assert set(statuses) <= {"holds", "fails", "not reached"}
    fits = outcomes["alain-5"].runs["MNIST"][1]["fits"]
    assert fits["provenance"]["options"]["la"] == 2


def test_regime_check_runs_the_trajectory_on_fashion_mnist(tmp_path):
    """alain-regime: the same trajectory on 60k Fashion-MNIST images; Fig. 1's claims read
    λ1(t) and λd(t) from Fig. 2's analysis, which is the run's only one."""
    mnist = dict(registry.resolve("alain-2", "default"))["MNIST"]
    (label, config), = registry.resolve("alain-regime", "default")
    assert label == "Fashion-MNIST" and config.dataset == "fmnist"
    assert config.with_overrides(dataset=mnist.dataset).identity() == mnist.identity()
    plan = Plan("alain-regime", "smoke", {}, {}, tmp_path, progress=False)
    outcome = plan.run("alain-regime")
    assert (tmp_path / "fig-alain-regime" / "fig-alain-regime.png").stat().st_size > 10_000
    kept = outcome.runs["Fashion-MNIST"][1]["kept"]
    assert len(kept["lam_top"]) == len(kept["steps"]) == 4
    assert len(outcome.claims) == 5
    assert outcome.claims[0].status in ("holds", "fails") and "Fashion-MNIST:" in \
        outcome.claims[0].evidence


def test_claims_read_steps_on_the_runs_own_schedule():
    """The spec's option (b), 6.4 passes over MNIST-10k (max_steps=1600, lr_decay_steps=250),
    is graded at the same points of training as the paper's 10,000 steps: every threshold
    in steps is scaled by the run's decay period over the paper's epoch (1,562.5 steps)."""
    from companion.chapters import negative_curvature_claims as C
    from companion.chapters import negative_curvature_direction_claims as D

    (_, paper_steps), = registry.resolve("alain-2", "default")
    snaps = (0, 2, 4, 8, 16, 40, 80, 160, 240, 320, 400, 480, 640, 800, 960, 1120, 1280, 1440,
             1600)   # the default's snapshot steps × 0.16
    (_, matched), = registry.resolve("alain-2", "default", {
        "max_steps": 1600, "lr_decay_steps": 250, "snapshot_steps": snaps,
        "t0s": (320, 400, 640, 1280)})
    assert [C.at(t, paper_steps) for t in (10, 500, 2500, 4000)] == [10, 500, 2500, 4000]
    assert [C.at(t, matched) for t in (10, 500, 2500, 4000)] == [2, 80, 400, 640]
    # Fig. 2's claims: t0 = 2500 is step 400 on the short schedule; "trained" is t ≥ 80
    steps = [0, 40, 80, 320, 400, 640, 1280]
    kept = {"steps": steps, "t0s": [320, 400], "lam_top": [1, 5, 9, 8, 8, 7, 6],
            "lam_bottom": [-1, -0.5, -0.4, -0.3, -0.3, -0.2, -0.2],
            "q_top": {str(t): [1, 5, 9, 8, 8, 7, 6] for t in (320, 400)},
            "q_bottom": {str(t): [0.1, 0.2, 0.3, -0.3, -0.3, 0.4, 0.5] for t in (320, 400)}}
    for config, t0, status in ((matched, 400, "holds"), (paper_steps, 2500, "not reached")):
        c6 = C.c6_bottom_not_kept().evaluate({"MNIST": (config, {"kept": kept})})
        assert c6.status == status and f"t0 = {t0}" in c6.evidence
    # Fig. 6's early/late split: fits at t = 8 and 1280 are early and late on the short one
    fits = {"fits": {"steps": [{"step": t, "directions": [
        {"which": w, "delta": d} for w, d in (("LA", -0.1 / (1 + t)), ("SA", -0.05))]}
        for t in (8, 1280)]}}
    assert D.c14_negative_gain_stable().evaluate({"MNIST": (paper_steps, fits)}).status \
        == "not reached"
    assert D.c14_negative_gain_stable().evaluate({"MNIST": (matched, fits)}).status == "holds"


def test_passes_check_trains_mnist_10k_for_the_papers_passes_not_its_steps():
    """alain-passes: Fig. 2's run on the same 8,000 images, 6.4 passes (1,600 steps, the lr
    decayed per 250): the paper's steps × 0.16, snapshots and t0s included."""
    (_, fig2), = registry.resolve("alain-2", "default")
    (label, passes), = registry.resolve("alain-passes", "default")
    assert (passes.max_steps, dict(passes.optimizer_options)["lr_decay_steps"]) == (1600, 250)
    assert passes.probe("kept").t0s == (320, 400, 640, 1280)
    assert passes.snapshot_steps == tuple(round(t * 0.16) for t in fig2.snapshot_steps)
    same = ("model", "dataset", "n_train", "lr", "batch_size", "seed", "momentum")
    assert all(getattr(passes, n) == getattr(fig2, n) for n in same)
    assert [p.name for p in passes.probes] == [p.name for p in fig2.probes]


@pytest.mark.parametrize("profile", registry.PROFILES)
def test_the_replay_runs_each_analysis_on_the_passes_trajectory(profile):
    """Figs. 3–6, the cost and the subset analyses, replayed with their steps scaled to the
    6.4-pass run, train nothing new: the same run key as alain-passes, steps among its
    snapshots."""
    from companion.chapters.negative_curvature_passes import REPLAYED, replay_params

    (_, passes), = registry.resolve("alain-passes", profile)
    for fid in REPLAYED:
        (_, config), = registry.resolve(fid, profile, replay_params(fid, profile))
        assert run_key(config) == run_key(passes), fid
        probe = config.probes[-1]
        steps = getattr(probe, "steps", ()) or (probe.step,)
        assert set(steps) <= set(passes.snapshot_steps), fid
    scaled = replay_params("alain-3", profile)["steps"]
    assert scaled == ((30, 60) if profile == "smoke" else
                      tuple(round(t * 0.16) for t in registry.resolve("alain-3", profile)[0][1]
                            .probes[-1].steps))


@pytest.mark.parametrize("params", [{"lr_decay_steps": 500}, {"max_steps": 3200}, {"seed": 3}])
def test_the_replay_follows_the_passes_run_the_users_parameters_make(params):
    """PARAMS that change the 6.4-pass trajectory change the replays' run with it."""
    from companion.chapters.negative_curvature_passes import replay_runs

    (_, passes), = registry.resolve("alain-passes", "default", params)
    replays = replay_runs(["alain-3", "alain-cost", "alain-passes"], "default", params)
    assert len(replays) == 2
    assert {run_key(config) for _, _, config in replays} == {run_key(passes)}


def test_the_regime_table_sets_each_claims_two_statuses_side_by_side():
    from types import SimpleNamespace

    from companion.chapters.negative_curvature_passes import regime_rows, regime_table
    from companion.claims import ClaimOutcome

    def outcome(**status):
        return SimpleNamespace(claims=[ClaimOutcome(f"{k}: text", s, "") for k, s in
                                       status.items()])
    long = {"alain-1": outcome(C1="fails", C3="holds"), "alain-3": outcome(C8="fails"),
            "alain-cost": outcome(C4="holds"), "alain-regime": outcome(C1="holds")}
    long["alain-passes"] = outcome(C1="holds", C3="not reached")
    short = {"alain-3": outcome(C8="fails"), "alain-cost": outcome(C4="fails")}
    rows = regime_rows(long, short)
    assert [(k, a, b) for k, _, a, b in rows] == [
        ("C1", "fails", "holds"), ("C3", "holds", "not reached"), ("C8", "fails", "fails"),
        ("C4", "holds", "fails")]
    table = regime_table(long, short)
    assert "<strong>C1</strong>: the memorization's" in table
    assert "<strong>C8</strong>: not the data's" in table
    assert "<strong>C3</strong>: not reached in one regime" in table
    assert regime_table({}, {}).startswith("<p>No claim")


def test_the_replay_at_smoke_grades_every_replayed_claim(tmp_path):
    from companion.chapters.negative_curvature_passes import REPLAYED, regime_rows, replay

    plan = Plan("alain-3,alain-cost,alain-passes", "smoke", {}, {}, tmp_path, progress=False)
    outcomes = plan.run_all()
    replayed = replay(plan, tmp_path / "passes")
    assert set(replayed) == {"alain-3", "alain-cost"}
    assert (tmp_path / "passes" / "fig-alain-3" / "fig-alain-3.png").exists()
    # alain-1/2 are not in the plan: their claims (graded by alain-passes) have no row
    assert [k for k, *_ in regime_rows(outcomes, replayed)] == ["C7a", "C7b", "C8", "C4"]
    assert replay(Plan("alain-3", "smoke", {}, {}, tmp_path, progress=False), tmp_path) == {}
    assert set(REPLAYED) < set(registry.chapter_figures("negative_curvature"))


def test_compute_includes_the_replays_so_a_gpu_can_make_and_commit_them():
    from companion.compute import unique_runs

    names = [fid for fid, _, _ in unique_runs(Plan(",".join(IDS + ("alain-passes",)), "paper",
                                                    {}, {}))]
    assert names[-3:] == ["alain-3 on the passes trajectory",   # Figs. 3-6: one analysis
                          "alain-cost on the passes trajectory",
                          "alain-subset on the passes trajectory"]
    assert not any("passes trajectory" in n
                   for n, _, _ in unique_runs(Plan(",".join(IDS), "paper", {}, {})))


def _kept(config, t0s, lam_top, lam_bottom):
    """A Fig. 2 analysis over the run's snapshots: q of every t0 follows λ at 0.9 (v1) and
    sits at a tenth of |λd| above zero (vd)."""
    steps = list(config.snapshot_steps)
    return {"steps": steps, "t0s": list(t0s), "lam_top": [lam_top] * len(steps),
            "lam_bottom": [lam_bottom] * len(steps),
            "q_top": {str(t): [0.9 * lam_top] * len(steps) for t in t0s},
            "q_bottom": {str(t): [-0.1 * lam_bottom] * len(steps) for t in t0s}}


def test_fig2_draws_the_papers_panels_and_summarizes_every_other_t0():
    """The paper profile follows 18 t0s: Fig. 2 draws the paper's four (on the run's own
    schedule) and one column of the medians over every t0, not 18 columns."""
    from companion.chapters.negative_curvature_plots import plot_kept

    def titles(config, t0s, lam_top=1e-4):
        fig = plot_kept({"MNIST": (config, {"kept": _kept(config, t0s, lam_top, -1e-6)})})
        return [ax.get_title() for ax in fig.axes], fig.axes[0]

    (_, paper), = registry.resolve("alain-2", "paper")
    got, top_left = titles(paper, paper.probes[-1].t0s)
    assert len(paper.probes[-1].t0s) == 18 and len(got) == 10
    assert got[:4] == [f"v1 of t0 = {t}" for t in (2000, 2500, 4000, 8000)]
    assert "every t0" in got[4]
    # λ1 ≈ 1e-4 late in a memorizing run: the linear band reaches down to it, and nothing
    # below zero is drawn when q1 stays positive
    assert top_left.get_yscale() == "symlog" and top_left.get_ylim()[0] >= -1e-4
    (_, passes), = registry.resolve("alain-passes", "paper")
    got, _ = titles(passes, passes.probes[-1].t0s)
    assert got[:4] == [f"v1 of t0 = {t}" for t in (320, 400, 640, 1280)]
    (_, default), = registry.resolve("alain-2", "default")
    got, _ = titles(default, default.probes[-1].t0s, lam_top=30.0)
    assert len(got) == 8 and not any("every" in t for t in got)  # its four t0s are the panels


def test_memorization_numbers_read_fig1s_mnist_run():
    from types import SimpleNamespace

    from companion.chapters.negative_curvature_passes import memorization_numbers

    rows = [{"step": t, "top": {"vals": [v]}, "bottom": {"vals": [-0.1]}}
            for t, v in ((0, 2.0), (500, 40.0), (10000, 1e-3))]
    history = [{"phase": "init", "step": 0, "train_loss": 2.3},
               {"phase": "epoch", "step": 250, "train_loss": 0.5},
               {"phase": "snapshot", "step": 10000, "train_loss": 1e-6},
               {"phase": "end", "step": 10000, "train_loss": 0.7}]
    outcome = SimpleNamespace(runs={"MNIST": (None, {"extremes": {"rows": rows},
                                                      "history": history})})
    assert memorization_numbers(outcome, "paper") == {
        "paper_loss_end": 1e-6, "paper_lam1_max": 40.0, "paper_lam1_end": 1e-3}
    assert memorization_numbers(None, "run") == {}
    assert memorization_numbers(SimpleNamespace(runs={"CIFAR-10": None}), "run") == {}
