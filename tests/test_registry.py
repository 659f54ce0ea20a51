import re

import pytest

from companion import registry
from companion.config import ParameterError


def test_every_figure_resolves_at_every_profile():
    for fig_id in list(registry.figures()):
        for profile in registry.PROFILES:
            runs = registry.resolve(fig_id, profile)
            figure = registry.get_figure(fig_id)
            assert (runs or not figure.runs) and len({label for label, _ in runs}) == len(runs)


def test_paper_profile_is_the_paper_settings():
    (label, config), = registry.resolve("1", "paper")
    assert (config.lr, config.width, config.model) == (0.005, 1.0, "simplecnn")
    fig3 = dict(registry.resolve("3", "paper"))
    assert {c.lr for c in fig3.values()} == {0.01, 0.05}
    assert all(c.optimizer == "gd" and c.n_train == 2560 for c in fig3.values())
    assert config.probe("eigen").top_k == 30 and config.probe("eigen").n_hessian == 2560


def test_a_profile_may_replace_a_sweep_and_says_why():
    figure = registry.get_figure("3")
    assert sorted(c.lr for _, c in registry.resolve("3", "default")) == [0.1, 0.2]
    assert "η = 0.1 and 0.2 instead of 0.01 and 0.05" in figure.shrunk["default"]
    user = registry.resolve("3", "default", grids={"lr": [0.2]})  # the user's grid wins
    assert [c.lr for _, c in user] == [0.2]


def test_every_figure_has_caption_claims_plot_and_shrunk_text():
    for fig_id, figure in registry.figures().items():
        assert figure.caption and callable(figure.plot)
        assert bool(figure.claims) != bool(figure.no_claims), fig_id  # claims, or why none
        assert set(figure.shrunk) >= {"default", "smoke"}, fig_id
        assert "TBD" not in figure.shrunk["default"], fig_id


def test_figures_are_in_book_order_whatever_was_imported_first():
    # a notebook imports its chapter's module first (the nsgd notebook: nsgd_tables), which
    # registered its figures before the others; a submodule (barriers_fidelity) belongs to
    # its chapter's place
    import subprocess
    import sys

    def listed(first: str) -> list:
        code = f"{first}from companion import registry; print(' '.join(registry.figures()))"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)
        return done.stdout.split()

    natural = listed("")
    assert natural[:6] == ["1", "2", "3", "4", "9", "10"] and natural[-1] == "alain-passes"
    assert listed("import companion.chapters.nsgd_tables; "
                  "import companion.chapters.barriers_fidelity; ") == natural


def test_unknown_figure_and_profile_list_valid_ones():
    with pytest.raises(registry.UnknownFigureError, match=r"valid ids: \['1', '2', '3', '4', '9', '10'"):
        registry.get_figure("99")
    with pytest.raises(registry.UnknownFigureError, match="valid profiles"):
        registry.resolve("4", "huge")


@pytest.mark.parametrize("typed, says", [
    ("walk1", "did you mean walk-1? valid ids"), ("TABLE1", "did you mean table-1?"),
    ("sagun-11", "did you mean sagun-1 or sagun-10"),
    ("barriers", "'barriers' is a chapter, whose figures are walk-1 … walk-fidelity: `make "
                 "claims FIG=barriers` runs them all"),
    ("1,2", "`make reproduce` takes one figure; `make claims FIG=1,2` or `make plan FIG=1,2`")])
def test_an_unknown_figure_id_says_what_was_likely_meant(typed, says):
    with pytest.raises(registry.UnknownFigureError, match=re.escape(says)):
        registry.get_figure(typed)


def test_overrides_apply_but_never_replace_the_sweep_axis():
    runs = dict(registry.resolve("4", "smoke", {"lr": 0.02, "epochs": 3}))
    lr_sweep = sorted(c.lr for label, c in runs.items() if label.startswith("simplecnn/lr="))
    assert lr_sweep == [0.001, 0.01, 0.1]
    bs_runs = [c for label, c in runs.items() if label.startswith("simplecnn/S=")]
    assert {c.lr for c in bs_runs} == {0.02} and {c.epochs for c in runs.values()} == {3}


def test_model_override_relabels_and_grids_replace_sweeps():
    runs = dict(registry.resolve("4", "smoke", {"model": "resnet32"}, {"lr": [0.2, 0.4]}))
    assert all(label.startswith("resnet32/") for label in runs)
    assert sorted(c.lr for l, c in runs.items() if "/lr=" in l) == [0.2, 0.4]


def test_bad_override_fails_before_training():
    with pytest.raises(ParameterError, match="lr must be a positive number"):
        registry.resolve("1", "smoke", {"lr": -1})
    with pytest.raises(ParameterError, match="unknown model"):
        registry.resolve("1", "smoke", {"model": "transformer"})
    # fields the figure builds: a clear error, not a coercion message or a traceback
    for name, says in (("start_from", "part of its figure"), ("probes", "top_k=5"),
                       ("optimizer_options", "gamma=0.1"), ("data_options", "classes=4")):
        with pytest.raises(ParameterError, match=f"{name} is not a parameter: .*{says}"):
            registry.resolve("1", "smoke", {name: "x"})


def test_a_run_keeps_the_values_its_label_names():
    # before, PARAMS="gamma=0.5" ran Table 1's rows γ=0.01 and γ=1 both at γ = 0.5
    for fig, param, label in (("table-1", {"gamma": 0.5}, "γ=0.01"),
                              ("sagun-3", {"hidden": "20"}, "h = 10"),
                              ("7", {"rest_scale": 0.5}, "top"),
                              ("13", {"momentum": 0.5}, "vgg11/μ=0")):
        with pytest.raises(ParameterError, match=rf"{next(iter(param))} is what the runs of "
                                                 rf"figure {fig} are labelled by \(.*{label}"):
            registry.resolve(fig, "smoke", param)
    with pytest.raises(ParameterError, match="choose the values with momentum_grid"):
        registry.resolve("13", "smoke", {"momentum": 0.5})
    # the barriers' README example: GD at the code's η, SGD's run keeps the η its label names
    runs = dict(registry.resolve("walk-1", "smoke", {"lr": 0.9}))
    assert (runs["VGG-11 GD"].lr, runs["VGG-11 SGD η=0.1"].lr) == (0.9, 0.1)
    # a figure where only some runs name it: the others take it, and no error
    runs = dict(registry.resolve("8", "smoke", {"tracked": 3}))   # Fig. 8's SGD row tracks 3
    assert [dict(runs[k].optimizer_options)["tracked"] for k in ("K=1", "SGD")] == [1, 3]
    runs = dict(registry.resolve("21", "smoke", {"lr": 0.05}))
    assert {c.lr for label, c in runs.items() if "/S=" in label} == {0.05}
    # several figures: the figure whose runs all name it leaves it, the others take it
    untaken = {}
    registry.resolve("13", "smoke", {"momentum": 0.5}, untaken=untaken)
    assert "momentum" in untaken


def test_the_sgd_rows_keep_gamma_1_and_the_extra_seeds_keep_their_seed():
    # before, gamma=0.5 ran Fig. 8's 'SGD' row (Nudged-SGD at γ = 1) at γ = 0.5, and at the
    # default and paper profiles Tables 1–2's 'SGD(η/2)' too (there it was the one row that
    # took it, so no error said so)
    runs = dict(registry.resolve("8", "smoke", {"gamma": 0.5}))
    assert [dict(runs[k].optimizer_options)["gamma"] for k in ("K=1", "SGD")] == [0.5, 1.0]
    for profile in ("default", "paper"):
        with pytest.raises(ParameterError, match=r"gamma is what the runs of figure table-1"):
            registry.resolve("table-1", profile, {"gamma": 0.5})
    # before, seed=5 ran 'K=1' and 'K=1/seed=1' both at seed 5: two seeds that were one
    runs = dict(registry.resolve("8", "paper", {"seed": "5"}))
    assert (runs["K=1"].seed, runs["K=1/seed=1"].seed) == (5, 1)
    with pytest.raises(ParameterError, match=r"seed=1 makes figure 8's runs 'K=1' and "
                                             r"'K=1/seed=1' one run \('K=1/seed=1' keeps its "
                                             r"seed, as its label says\): give another seed"):
        registry.resolve("8", "paper", {"seed": "1"})
    assert {c.seed for _, c in registry.resolve("8", "default", {"seed": 1})} == {1}


def test_the_fields_a_figures_runs_differ_in_are_each_runs_own():
    # before, activation=tanh ran Sagun et al.'s Table 1 row 'GD ReLU' as 'GD tanh' (one run
    # shown twice), std=10 the 'cov1' rows as 'cov10', dataset=mnist Alain's 'CIFAR-10' as MNIST
    # (that run keeps its data set; the MNIST run takes the user's)
    for fig, name, value, label in (("sagun-table-1", "activation", "tanh", "GD tanh cov1 k=2"),
                                    ("sagun-table-1", "std", "10", "GD tanh cov1 k=2"),
                                    ("sagun-table-1", "optimizer", "sgd", "GD ReLU cov1 k=2")):
        with pytest.raises(ParameterError, match=rf"{name} is what the runs of figure {fig} "
                                                 rf"are labelled by \(.*{label}.*not its$"):
            registry.resolve(fig, "smoke", {name: value})
    runs = dict(registry.resolve("alain-1", "smoke", {"dataset": "mnist"}))
    assert (runs["MNIST"].dataset, runs["CIFAR-10"].dataset) == ("mnist", "cifar10")
    # where every run has the same value, the user's applies to all (the book's std=10)
    assert {dict(c.data_options)["std"] for _, c in registry.resolve("sagun-2", "smoke",
                                                                    {"std": "10"})} == {10.0}
    # a grid is suggested only where the figure sweeps that field
    with pytest.raises(ParameterError, match=r"choose the values with momentum_grid"):
        registry.resolve("13", "smoke", {"momentum": 0.5})


def test_a_baseline_named_by_a_multiple_of_eta_scales_the_users_lr():
    # before, PARAMS="lr=0.02" ran Tables 1–2's SGD(η/2), SGD(10η) and SGD(5η) all at 0.02,
    # so SGD(η/2) was the γ = 1 row again
    for fig, profile, lr in (("table-1", "paper", 0.02), ("table-2", "paper", "0.02"),
                             ("table-1", "default", "0.02")):   # "0.02": the command line's
        runs = dict(registry.resolve(fig, profile, {"lr": lr}))
        assert runs["γ=1"].lr == 0.02 and runs["SGD(η/2)"].lr == pytest.approx(0.01)
        for label, factor in (("SGD(10η)", 10), ("SGD(5η)", 5)):
            if label in runs:
                assert runs[label].lr == pytest.approx(0.02 * factor)
    # without the user's lr, the tables' own η and its multiples, as before
    runs = dict(registry.resolve("table-1", "paper"))
    assert (runs["γ=1"].lr, runs["SGD(η/2)"].lr, runs["SGD(10η)"].lr) == (0.01, 0.005, 0.1)
    assert dict(registry.resolve("table-1", "default"))["SGD(η/2)"].lr == pytest.approx(0.025)
