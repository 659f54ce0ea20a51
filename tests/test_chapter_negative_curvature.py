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
