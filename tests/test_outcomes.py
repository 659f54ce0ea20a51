"""The paper profile beside the default one: built from committed results only, never trained."""

from pathlib import Path

import pytest

from companion import outcomes, registry
from companion.results import ResultsCache

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "paper" / "runs"


@pytest.fixture
def cache(tmp_path):
    return ResultsCache(tmp_path / "cache", read_only_roots=[COMMITTED])


def test_committed_outcome_plots_and_grades_the_committed_runs_without_training(cache, tmp_path,
                                                                              monkeypatch):
    from companion import training

    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("must not train"))
    paper = outcomes.committed_outcome("sagun-4", cache, tmp_path / "out")
    assert paper is not None and paper.profile == "paper" and paper.image.exists()
    assert "H200" in paper.hardware and len(paper.claims) == len(registry.get_figure("sagun-4").claims)
    assert outcomes.committed_outcome("1", cache, tmp_path / "out") is None  # none committed yet
    partial = outcomes.committed_outcome("sagun-3", cache, tmp_path / "out")
    if partial is not None and partial.missing:  # some widths still need a GPU: no claims yet
        assert partial.claims == [] and "Not yet at the paper profile" in partial._claims_html()


def test_the_paper_figure_is_shown_beside_the_default_one_or_said_missing(cache, tmp_path,
                                                                          monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    paper = outcomes.committed_outcome("sagun-4", cache, tmp_path / "out")
    outcomes.show_with_paper(paper, paper)
    page = "".join(getattr(o, "data", "") or "" for o in shown)
    assert page.count("data:image/png;base64,") == 2 and "profile paper (committed results)" in page
    assert "claims hold" in page
    shown.clear()
    outcomes.show_with_paper(paper, None)
    page = "".join(getattr(o, "data", "") or "" for o in shown if isinstance(o.data, str))
    assert "No paper-profile results are committed" in page and "PROFILE=paper" in page


def test_a_paper_book_replots_committed_results_and_trains_nothing(tmp_path, monkeypatch):
    from companion import training
    from companion.reproduce import Plan

    monkeypatch.setenv("COMPANION_COMMITTED_ONLY", "1")
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("must not train"))
    for fid in ("1", "sagun-4"):
        outcome = Plan(fid, "paper", output_dir=tmp_path, progress=False).run(fid)
        assert outcome.image.exists()
    assert outcome.claims and not outcome.missing         # sagun-4: committed, graded
    fig1 = Plan("1", "paper", output_dir=tmp_path, progress=False).run("1")
    assert fig1.missing and not fig1.claims and "needs a GPU" in fig1._claims_html()


def test_a_figure_whose_paper_profile_is_its_default_is_not_shown_twice():
    assert outcomes.same_as_paper("sagun-4", registry.resolve("sagun-4", "default"))
    assert not outcomes.same_as_paper("1", registry.resolve("1", "default"))


def test_a_figure_made_with_the_users_parameters_says_so_in_its_footer(tmp_path, monkeypatch):
    # the footer said only 'profile smoke': a saved image with gamma=0.5 looked like the
    # profile's own figure
    seen, real = [], outcomes._plot
    monkeypatch.setattr(outcomes, "_plot", lambda figure, runs, missing, footer:
                        seen.append(footer) or real(figure, runs, missing, footer))
    outcomes.assemble("walk-28", "smoke", {}, {}, {}, tmp_path, user="lr=0.5 lr_grid=0.1,0.2")
    outcomes.assemble("walk-28", "smoke", {}, {}, {}, tmp_path)
    assert "Xing Fig. 28 · profile smoke with lr=0.5 lr_grid=0.1,0.2 · " in seen[0]
    assert "Xing Fig. 28 · profile smoke · " in seen[1]


def test_a_figure_without_any_result_yet_says_so_instead_of_drawing_empty_axes():
    # Fig. 12 at the paper profile (nothing committed) drew three empty panels, with
    # matplotlib's 'No artists with labels' warnings; Table 6 (no CIFAR-100 offline) still
    # shows the paper's numbers
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = outcomes._plot(registry.get_figure("12"), {}, {"resnet32/L=20": "no result yet"},
                             "Fig. 12 · profile paper")
    assert len(fig.axes) == 1
    assert [t.get_text() for t in fig.axes[0].texts] == ["No results yet for 1 run(s): no result "
                                                         "yet"]
    table = outcomes._plot(registry.get_figure("table-6"), {}, {"γ=1": "no CIFAR-100"}, "")
    assert len(table.axes) > 1 and any(ax.patches for ax in table.axes)
