"""The outlier-counts chapter (Sagun et al. 2017): every id at every profile, shared
training between figures, bad input, and the smoke figures with their claims."""

import json

import pytest

from companion import registry
from companion.config import ParameterError
from companion.reproduce import Plan
from companion.results import run_key

IDS = ("sagun-1", "sagun-2", "sagun-table-1", "sagun-ggn", "sagun-10", "sagun-3", "sagun-5",
       "sagun-4", "sagun-6", "sagun-8", "sagun-9")


@pytest.mark.parametrize("profile", registry.PROFILES)
def test_every_id_resolves_and_figures_share_their_training(profile):
    keys = {fid: {label: run_key(c) for label, c in registry.resolve(fid, profile)}
            for fid in IDS}
    assert len(keys["sagun-table-1"]) == 19
    for label, key in keys["sagun-2"].items():   # Fig. 2 is Table 1's SGD-ReLU block
        assert keys["sagun-table-1"][label] == key
    assert keys["sagun-4"] == keys["sagun-6"]
    assert keys["sagun-9"]["II: small batch"] == keys["sagun-8"]["II: small batch"]
    two = dict(registry.resolve("sagun-8", profile))
    assert run_key(two["II: small batch"].start_from) == keys["sagun-8"]["I: large batch"]
    if profile != "smoke":
        sizes = {label: c.flat()["classes"] for label, c in registry.resolve("sagun-2", profile)}
        assert sorted(sizes.values()) == [2, 5, 10, 20, 50]


def test_bad_input_fails_before_anything_runs():
    with pytest.raises(ParameterError, match="activation must be one of"):
        Plan("sagun-2", "smoke", {"activation": "gelu"})
    with pytest.raises(ParameterError, match="method must be one of"):
        Plan("sagun-3", "smoke", {"method": "arpack"})
    with pytest.raises(ParameterError, match="ggn=True needs method=dense"):
        Plan("sagun-ggn", "smoke", {"method": "lanczos"})
    with pytest.raises(ParameterError, match="unknown parameter"):
        Plan("sagun-1", "smoke", {"clases": "3"})


def test_smoke_figures_and_claims(tmp_path):
    plan = Plan(",".join(IDS), "smoke", {}, {}, tmp_path, progress=False)
    outcomes = plan.run_all()
    for fid in IDS:
        out = tmp_path / f"fig-{fid}"
        assert (out / f"fig-{fid}.png").stat().st_size > 10_000
        claims = json.loads((out / "claims.json").read_text())
        assert len(claims) == len(registry.get_figure(fid).claims)
        assert {c["status"] for c in claims} <= {"holds", "fails", "not reached"}
    spectrum = outcomes["sagun-ggn"].runs["GD ReLU cov1 k=2"][1]["spectrum"]
    assert set(spectrum) == {"init", "end", "provenance"} and set(spectrum["end"]) >= {"H", "G", "R"}
    assert len(spectrum["end"]["H"]["eigenvalues"]) == spectrum["end"]["dim"]
    line = outcomes["sagun-9"].runs["II: small batch"][1]["line"]
    assert [r["alpha"] for r in line["rows"]][::10] == [-0.5, 0.5, 1.5]
    table = outcomes["sagun-ggn"].parameters_table()   # blob and MNIST runs set other options
    assert "stop_grad_norm" in table and "—" in table
    ggn = {c.claim[:2]: c.status for c in outcomes["sagun-ggn"].claims}
    assert ggn["G1"] == "holds"     # exact algebra: holds at any training length


def test_fig3_at_the_paper_profile_takes_the_widest_nets_top_120_by_lanczos():
    """h = 70's dense spectrum does not fit one H200: Fig. 3 (top 120) uses Lanczos there,
    the other widths and Fig. 5 (the whole spectrum) stay dense; all four are committed."""
    from pathlib import Path

    from companion.outcomes import analyses_stored
    from companion.results import ResultsCache

    fig3, fig5 = (dict(registry.resolve(f, "paper")) for f in ("sagun-3", "sagun-5"))
    assert {label: c.probe("spectrum").method for label, c in fig3.items()} == {
        "h = 10": "dense", "h = 30": "dense", "h = 50": "dense", "h = 70": "lanczos"}
    assert fig3["h = 70"].probe("spectrum").top == 120
    assert {c.probe("spectrum").method for c in fig5.values()} == {"dense"}
    assert run_key(fig3["h = 70"]) == run_key(fig5["h = 70"])   # one training run
    committed = ResultsCache(Path(__file__).parents[1] / "data" / "paper" / "runs",
                             read_only_roots=[])
    assert all(committed.load(c) is not None and analyses_stored(c, committed)
               for c in fig3.values())


def test_a_diverged_small_batch_run_leaves_figs_8_9_undecided_not_failed(tmp_path):
    """At the paper profile part II diverges (committed H200 result): the claims that need
    its end point are not reached, with the reason, instead of failing on NaN losses, and
    Fig. 9 says why it has no line. The same runs without the divergence are graded."""
    import copy
    from pathlib import Path

    from companion import outcomes
    from companion.chapters.outlier_counts_plots import plot_line
    from companion.results import ResultsCache

    committed = ResultsCache(Path(__file__).parents[1] / "data" / "paper" / "runs",
                             read_only_roots=[])
    status = {}
    for fid in ("sagun-8", "sagun-9"):
        paper = outcomes.committed_outcome(fid, committed, tmp_path)
        status.update({c.claim[:4]: (c.status, c.evidence) for c in paper.claims})
    assert status["S8.1"][0] == "fails"          # the records before the divergence decide it
    for claim in ("S8.2", "S9.1", "S9.2"):
        assert status[claim][0] == "not reached"
        assert "part II diverged" in status[claim][1] and "step 491" in status[claim][1]
    assert "α = 0 (the large-batch solution itself) included" in status["S9.1"][1]
    runs, _ = outcomes.load_committed(registry.resolve("sagun-9", "paper"), committed)
    fig = plot_line(runs)
    assert "No line to draw" in " ".join(t.get_text() for t in fig.texts)

    config, result = runs["II: small batch"]
    healed = copy.deepcopy(result)
    healed["diverged_at_step"] = None
    healed["history"] = [r for r in healed["history"] if r["phase"] != "diverged"]
    def graded(bump):
        for row in healed["line"]["rows"]:   # a made-up bowl, steeper on the LB side
            a = row["alpha"]
            row.update(train_loss=1 + (a - 0.6) ** 2 + (a < 0) * a * a + bump * (a == 0.3),
                       test_loss=2.0, train_acc=0.9, test_acc=0.7)
        return {c.text[:4]: c.evaluate({"II: small batch": (config, healed)}).status
                for c in registry.get_figure("sagun-9").claims}
    assert graded(bump=0) == {"S9.1": "holds", "S9.2": "holds"}
    assert graded(bump=1) == {"S9.1": "fails", "S9.2": "holds"}


def test_a_part_two_that_stops_before_its_first_record_leaves_s8_1_undecided():
    """Part II at η = 0.01 on the H200 blew up at step 39, before its first record (every
    100 steps): S8.1 has nothing to compare and is not reached, with the reason."""
    import copy
    from pathlib import Path

    from companion import outcomes
    from companion.results import ResultsCache

    committed = ResultsCache(Path(__file__).parents[1] / "data" / "paper" / "runs",
                             read_only_roots=[])
    runs, _ = outcomes.load_committed(registry.resolve("sagun-8", "paper"), committed)
    config, result = runs["II: small batch"]
    early = copy.deepcopy(result)
    early["history"] = [r for r in early["history"] if r["step"] == 0 or "train_loss" not in r]
    claim = next(c for c in registry.get_figure("sagun-8").claims if c.text.startswith("S8.1"))
    outcome = claim.evaluate({**runs, "II: small batch": (config, early)})
    assert outcome.status == "not reached"
    assert "no record after the switch" in outcome.evidence and "part II diverged" in outcome.evidence
