import html.parser

from companion.claims import ClaimOutcome
from companion.report import badge, claims_table, summary_html, tally


class _Rows(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.badges = 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("class") == "claim-row":
            self.rows += 1
        if tag == "span" and "claim-status" in attrs.get("class", ""):
            self.badges.append(attrs["data-status"])


CLAIMS = [ClaimOutcome("λ1 grows <fast>", "holds", "1 → 5", "2"),
          ClaimOutcome("peak earlier", "not reached", "still growing", "4"),
          ClaimOutcome("peak smaller", "fails", "5 < 6", "4")]


def test_claims_table_is_a_real_table_with_one_badge_per_claim():
    parser = _Rows()
    table = claims_table(CLAIMS)
    parser.feed(table)
    assert parser.rows == 3 and parser.badges == ["holds", "not reached", "fails"]
    assert "&lt;fast&gt;" in table and "<fast>" not in table  # text is escaped
    assert "sd-bg-warning" in badge("not reached") and ">not reached</span>" in badge("not reached")


def test_summary_and_tally():
    assert tally(CLAIMS) == "1 holds, 1 fails, 1 not reached"

    class Outcome:
        claims, profile = CLAIMS, "smoke"
    text = summary_html([Outcome()])
    assert "Fig. 4" in text and "profile smoke" in text and "evidence" not in text
    assert "No figure" in summary_html([])


def test_the_books_own_checks_are_not_labelled_as_the_papers():
    from companion.registry import display_name, figures
    from companion.report import _caption_source
    own = {k for k, f in figures().items() if f.caption.startswith("(No figure in the paper")}
    assert {"walk-fidelity", "alain-regime", "sagun-ggn"} <= own
    assert all(_caption_source(figures()[k]) == "this book's caption" for k in own)
    assert _caption_source(figures()["4"]) == "the paper's caption"
    assert display_name("walk-fidelity") == "Xing fidelity check"
    assert display_name("alain-regime") == "Alain regime check"
    assert display_name("alain-passes") == "Alain passes check"
    assert display_name("alain-2") == "Alain Fig. 2"


def test_quote_fills_a_sentence_or_says_the_figure_has_no_result():
    """The prose quotes this execution's numbers; a figure without complete runs (a subset
    of figures, or the paper profile before its GPU results) says so instead of "nan"."""
    from companion.report import quote

    sentence = r"$\lambda_1$ peaked at {peak:.3g}, so $\eta\lambda_1 =$ {ratio:.2f}; {tally}."
    numbers = {"peak": 61.234, "ratio": 0.306, "tally": "3 holds"}
    assert quote(sentence, numbers, "1") == (r"$\lambda_1$ peaked at 61.2, so "
                                             r"$\eta\lambda_1 =$ 0.31; 3 holds.")
    for absent in ({"ratio": 0.3, "tally": "x"}, {**numbers, "peak": float("nan")},
                   {**numbers, "tally": None}):
        assert quote(sentence, absent, "1") == ("*This execution has no result for Fig. 1 to "
                                                "quote here.*")
    assert quote(sentence, {}, "sagun-3", missing="none") == "none"


def test_parameter_tables_name_a_probe_option_that_shares_a_run_fields_name():
    """The walk probe's epoch list and the run's epochs (and two probes' n_eval) both show:
    before, the probe's value silently replaced the run's in the table."""
    from companion import registry
    from companion.report import table_parameters

    runs = dict(registry.resolve("walk-17", "paper"))
    sgd = table_parameters(runs["MLP SGD η=0.1"])
    assert sgd["epochs"] == 40 and sgd["walk.epochs"] == (1, 2, 10, 25)
    assert sgd["metrics.n_eval"] == 1000 and sgd["walk.n_eval"] == 5000
    assert "n_eval" not in sgd
    plain = dict(registry.resolve("1", "default"))["simplecnn"]
    assert table_parameters(plain) == plain.flat()      # nothing clashes: as before


def test_parameter_tables_give_each_post_hoc_analysis_its_options():
    """A post-hoc analysis (Sagun et al.'s line, Alain et al.'s fits) is not part of a run's
    parameters, so its options had no place in the figure's table."""
    from pathlib import Path

    from companion import registry
    from companion.report import FigureOutcome

    def table(fid, params=None):
        runs = {label: (config, {"provenance": {"wall_time_s": 1.0}})
                for label, config in registry.resolve(fid, "smoke", params)}
        return FigureOutcome(registry.get_figure(fid), "smoke", runs, [], Path("x.png"),
                             Path("."), "CPU", 1.0).parameters_table()

    line = table("sagun-8", {"line.n_eval": 50})
    assert ("The line analysis of II: small batch: alphas=-0.5,…,1.5 (21 values), "
            "n_eval=50.") in line
    assert line.count("analysis of") == 1                 # part I has none
    assert "The fits analysis of MNIST: n_hessian=" in table("alain-3")
    assert "analysis of" not in table("1")
