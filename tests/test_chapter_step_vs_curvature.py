"""The step-vs-curvature chapter's registry entries: shared runs, profiles, bad input."""

import pytest

from companion import registry
from companion.chapters import step_vs_curvature as svc
from companion.config import ParameterError
from companion.results import run_key

IDS = ("5", "6", "7", "14", "15", "16", "17", "18")


@pytest.mark.parametrize("profile", registry.PROFILES)
def test_every_figure_resolves_and_runs_a_and_b_are_shared(profile):
    keys = {fid: {label: run_key(c) for label, c in registry.resolve(fid, profile)}
            for fid in IDS}
    for fid in ("14", "15", "16"):
        assert keys[fid] == keys["6"]  # one cache entry serves four figures
    if profile == "default":  # run A is Fig. 5's η = 0.01 SimpleCNN arm, run B its η = 0.1 ResNet
        assert keys["5"]["simplecnn/lr=0.01"] == keys["6"]["simplecnn"]
        assert keys["5"]["resnet32/lr=0.1"] == keys["6"]["resnet32"]
        assert "resnet32/lr=0.001" not in keys["5"] and set(keys["17"]) == {"simplecnn"}
    assert set(keys["7"]) == set(svc.FIG7_VARIANTS)


def test_fig7_variants_start_from_one_checkpoint_that_follows_user_overrides():
    runs = dict(registry.resolve("7", "default", {"width": 0.25, "lr": 0.02}))
    parents = {run_key(c.start_from) for c in runs.values()}
    assert len(parents) == 1
    sgd = runs["sgd"]
    assert sgd.width == sgd.start_from.width == 0.25 and sgd.lr == 0.02
    assert sgd.start_from.lr == 0.01  # the checkpoint keeps its own training
    assert runs["no-top"].flat()["gamma"] == 0.0 and runs["top"].flat()["rest_scale"] == 0.0


def test_bad_parameters_fail_before_anything_runs():
    with pytest.raises(ParameterError, match="step_directions must be eigenvector indices"):
        registry.resolve("6", "default", {"step_directions": "1,9"})
    with pytest.raises(ParameterError, match="unknown parameter 'alpha'"):
        registry.resolve("6", "default", {"alpha": 2})
    with pytest.raises(ParameterError, match="refresh_every must be an integer"):
        registry.resolve("7", "default", {"refresh_every": -1})
    resolved = dict(registry.resolve("6", "smoke", {"alphas": "0.5,2"}))
    assert resolved["simplecnn"].probe("directions").alphas == (0.5, 2.0)
