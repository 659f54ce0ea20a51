"""How the user's parameters reach a figure's runs (companion.user_params, through
registry.resolve)."""

import pytest

from companion import registry
from companion.config import ParameterError


def test_a_probe_option_goes_to_the_runs_that_have_that_probe():
    # Sagun et al.'s Fig. 8: only part II has the line probe (line.n_eval, alphas)
    runs = dict(registry.resolve("sagun-8", "smoke", {"line.n_eval": 50, "alphas": "0,0.5,1"}))
    one, two = runs["I: large batch"], runs["II: small batch"]
    assert one.probe("line") is None and one == dict(registry.resolve("sagun-8", "smoke"))[
        "I: large batch"]
    assert (two.probe("line").n_eval, two.probe("line").alphas) == (50, (0.0, 0.5, 1.0))
    with pytest.raises(ParameterError, match="unknown parameter 'lien.n_eval'"):
        registry.resolve("sagun-8", "smoke", {"lien.n_eval": 50})   # no run has that probe


def test_an_option_of_two_probes_of_a_run_asks_which():
    with pytest.raises(ParameterError, match=r"'n_eval' is an option of 2 probes of figure "
                       r"sagun-8's run 'II: small batch' \(metrics, line\): name the one you "
                       r"mean, as metrics.n_eval=100 or line.n_eval=100"):
        registry.resolve("sagun-8", "smoke", {"n_eval": 100})


def test_part_two_goes_on_from_the_part_one_it_is_shown_with():
    # Sagun et al.: "everything else, including the constant learning rate, is kept the same"
    from companion.results import run_key
    for params in ({}, {"lr": 0.02}, {"seed": 3, "metrics.n_eval": 100}, {"width": 0.25}):
        for fig in ("sagun-8", "sagun-9"):
            two = dict(registry.resolve(fig, "smoke", params))["II: small batch"]
            one = dict(registry.resolve("sagun-8", "smoke", params))["I: large batch"]
            assert run_key(two.start_from) == run_key(one), (fig, params)
            assert (two.batch_size, one.batch_size) == (16, 64)
    with pytest.raises(ParameterError, match="batch_size sets the run 'II: small batch' apart"):
        registry.resolve("sagun-8", "smoke", {"batch_size": 8})
    # Fig. 7's variants start from another experiment's checkpoint: it keeps its own lr
    fig7 = registry.resolve("7", "smoke", {"lr": 0.02})
    assert {c.lr for _, c in fig7} == {0.02} and {c.start_from.lr for _, c in fig7} == {0.005}


def test_a_model_the_profile_leaves_out_is_named_with_where_it_runs():
    with pytest.raises(ParameterError, match=r"figure 17 leaves resnet32 out at profile "
                       r"'default' \(its runs there train simplecnn\); drop model=resnet32, "
                       r"or run it at profile paper"):
        registry.resolve("17", "default", {"model": "resnet32"})


@pytest.mark.parametrize("fig, name, value", [("sagun-1", "hidden", 50),
                                               ("alain-1", "snapshot_steps", 10),
                                               ("alain-2", "t0s", 30)])
def test_one_number_for_a_list_is_a_parameter_error_not_a_crash(fig, name, value):
    # from Python (Plan, resolve) a number stays a number; config.validate iterated over it
    with pytest.raises(ParameterError, match=rf"{name} takes a list, got {value}: write "
                                             rf"{name}=\[{value}\] \(on the command line"):
        registry.resolve(fig, "smoke", {name: value})
    registry.resolve(fig, "smoke", {name: [value] if name != "snapshot_steps" else [0, 10]})


def test_a_pool_of_zero_is_a_parameter_error_not_a_crash():
    with pytest.raises(ParameterError, match="pool must be a positive integer that divides 28"):
        registry.resolve("sagun-3", "smoke", {"pool": "0"})


@pytest.mark.parametrize("fig, name, value", [("1", "lr", "inf"), ("1", "weight_decay", "nan"),
                                               ("sagun-1", "init_std", "nan"),
                                               ("table-1", "rest_scale", "-inf"),
                                               ("5", "alphas", "0.1,nan"),
                                               ("1", "lr", float("inf")),
                                               ("alain-1", "eps", "1e400")])
def test_a_value_that_is_not_finite_is_refused(fig, name, value):
    # inf passed the checks written as value > 0 and nan those written as value < 0: lr=inf
    # and weight_decay=nan were accepted and trained to nan
    with pytest.raises(ParameterError, match=rf"{name}={value} is not a finite number"):
        registry.resolve(fig, "smoke", {name: value})


@pytest.mark.parametrize("fig, name, value", [("sagun-1", "epochs", 2.5),
                                               ("sagun-1", "batch_size", 16.5),
                                               ("sagun-1", "seed", 0.5),
                                               ("1", "track_every", 2.5)])
def test_a_fractional_count_from_python_is_refused_as_the_command_line_refuses_it(
        fig, name, value):
    # Papermill's -p epochs 2.5 arrives as a float: it trained 3 epochs labelled 2.5, and
    # seed=0.5 crashed drawing the blobs after the plan had started
    with pytest.raises(ParameterError, match=rf"{name} takes a whole number, got {value}"):
        registry.resolve(fig, "smoke", {name: value})
    with pytest.raises(ParameterError, match=name):
        registry.resolve(fig, "smoke", {name: str(value)})
    registry.resolve(fig, "smoke", {name: float(int(value) + 1)})  # 3.0 is 3


def test_a_negative_seed_and_a_negative_gamma_are_refused():
    with pytest.raises(ParameterError, match=r"seed must be a whole number >= 0, got -1"):
        registry.resolve("sagun-1", "smoke", {"seed": "-1"})
    with pytest.raises(ParameterError, match=r"gamma must be >= 0 \(it scales the step along "
                                             r"the top directions.*got -0.1"):
        registry.resolve("8", "smoke", {"gamma": "-0.1"})
    assert all(dict(c.optimizer_options)["gamma"] == 0.0
               for label, c in registry.resolve("8", "smoke", {"gamma": "0"}) if label != "SGD")
