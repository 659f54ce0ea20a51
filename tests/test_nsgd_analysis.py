"""Table rows and claims of the NSGD chapter on synthetic run results, and App. E."""

import pytest

from companion import nsgd_analysis as A
from companion import nsgd_claims as C
from companion.config import RunConfig

BASE = RunConfig(optimizer="nudged", lr=0.05, epochs=6).with_overrides(directions=5)


def _result(val, test, lam, dist, loss=0.1, spe=10):
    """A run with per-epoch val/test accuracy, distance and loss, and refreshes whose
    top eigenvalue is ``lam[e]`` (two eigenvalues each: λ and λ/2)."""
    history = [{"step": e * spe, "epoch": e, "phase": "init" if e == 0 else "epoch",
                "val_acc": v, "test_acc": t, "distance": d, "train_loss": loss,
                "train_acc": 0.5, "frobenius_hutch": 2 * l, "frobenius_code": 1.0}
               for e, (v, t, d, l) in enumerate(zip(val, test, dist, lam))]
    refreshes = [{"step": e * spe, "eigenvalues": [l, l / 2]} for e, l in enumerate(lam)]
    return {"history": history, "refreshes": refreshes, "steps_per_epoch": spe,
            "diverged_at_step": None}


def test_table_row_takes_the_best_validation_point():
    r = _result(val=[.1, .5, .7, .6], test=[.1, .4, .8, .9], lam=[1, 4, 8, 6],
                dist=[0, 1, 2, 3])
    row = A.table_row(BASE, r, epoch=1)
    assert row["best_epoch"] == 2 and row["test_acc"] == pytest.approx(80)
    assert row["F_best"] == pytest.approx((8 ** 2 + 4 ** 2) ** 0.5)
    assert row["lam_final"] == 6 and row["val_early"] == pytest.approx(50)
    assert row["distance"] == 2 and row["hutch_best"] == 16 and row["gamma"] == 1.0


def _runs(**rows):
    """γ → (val curve, test curve, λ curve, distance curve)."""
    return {f"γ={g}": (BASE.with_overrides(gamma=float(g)), _result(*curves))
            for g, curves in rows.items()}


def test_table_claims_hold_on_the_paper_pattern_and_fail_on_the_reverse():
    good = {"0.01": ([.1, .6, .7], [.1, .6, .86], [1, 40, 40], [0, 2, 3]),
            "1": ([.1, .5, .7], [.1, .5, .85], [1, 10, 10], [0, 3, 4]),
            "5": ([.1, .4, .6], [.1, .4, .80], [1, 5, 5], [0, 4, 5])}
    runs = _runs(**good)
    claims = C.table_claims(50)
    statuses = [c.evaluate(runs).status for c in claims]
    assert statuses == ["holds"] * 5, [c.evaluate(runs).evidence for c in claims]
    flipped = {"0.01": good["5"], "1": good["1"], "5": good["0.01"]}
    bad = [c.evaluate(_runs(**flipped)).status for c in claims]
    assert bad.count("fails") >= 4
    missing = claims[3].evaluate(_runs(**{"0.01": good["0.01"], "1": good["1"]}))
    assert missing.status == "not reached" and "no γ=5 row" in missing.evidence


def test_fig8_claims_use_the_k_runs_and_sgd():
    sgd = _result([.1, .5, .6], [.1, .5, .8], [1, 20, 20], [0, 1, 2])
    runs = {"SGD": (BASE.with_overrides(gamma=1.0), sgd)}
    for k, lam in ((1, 50), (5, 150), (10, 300)):
        runs[f"K={k}"] = (BASE.with_overrides(gamma=0.01, directions=k),
                          _result([.1, .6 + k / 100, .8], [.1, .5, .8 + k / 1000], [1, lam, lam],
                                  [0, 1, 2]))
    outcomes = [c.evaluate(runs) for c in C.fig8_claims(50)]
    assert [o.status for o in outcomes] == ["holds"] * 4, [o.evidence for o in outcomes]
    # one test accuracy for every K (smoke runs at chance): ρ is undefined, and the reason
    # says so, not "fewer than three values of K" (there are three)
    for k in (1, 5, 10):
        runs[f"K={k}"][1]["history"][-1]["test_acc"] = 0.1
    last = C.fig8_claims(50)[3].evaluate(runs)
    assert last.status == "not reached" and "every K gives the same test accuracy" \
        in last.evidence, last.evidence
    del runs["K=10"]
    last = C.fig8_claims(50)[3].evaluate(runs)
    assert last.status == "not reached" and "fewer than three values of K" in last.evidence


def test_newton_example_is_exact():
    out = A.newton_example()
    assert out["rel_exact"] < 1e-12 and out["rel_lanczos"] < 1e-6
    assert C.newton_claim().evaluate({}).status == "holds"
    # with γ away from λ_small/λ_big the steps differ
    assert A.newton_example(gamma_=0.1)["rel_exact"] > 0.1


def test_final_curvature_claims_wait_until_lambda_stops_growing():
    growing = {"0.01": ([.1, .6, .7, .7, .7], [.1, .6, .86, .86, .86], [1, 40, 80, 120, 160], [0, 1, 2, 3, 4]),
               "1": ([.1, .5, .7, .7, .7], [.1, .5, .85, .85, .85], [1, 10, 20, 30, 40], [0, 2, 3, 4, 5])}
    claim = C.table_claims(50, low_lr=False, gamma_5=False)[2]
    out = claim.evaluate(_runs(**growing))
    assert out.status == "not reached" and "still growing" in out.evidence
    flat = {g: (v, t, [1, 30, 30, 30, 30], d) for g, (v, t, _, d) in growing.items()}
    assert claim.evaluate(_runs(**flat)).status == "holds"
    assert not A.settled(_result(*growing["1"])) and A.settled(_result(*flat["1"]))


def test_claims_on_values_at_the_best_validation_point_wait_for_a_point_after_the_start():
    """A run whose validation accuracy never rises above its initial value (smoke runs at
    chance, a run that diverged at once) has its best-validation point at initialization:
    distance 0 and the untrained network's ‖H‖_F and test accuracy. A claim comparing those
    values is not reached; one that does not read that run is still decided."""
    runs = _runs(**{"0.01": ([.1, .6, .7], [.1, .6, .86], [1, 40, 40], [0, 2, 3]),
                    "1": ([.1, .5, .7], [.1, .5, .85], [1, 10, 10], [0, 3, 4]),
                    "5": ([.1, .1, .05], [.1, .1, .1], [1, 5, 5], [0, 4, 5])})
    assert A.table_row(BASE, runs["γ=5"][1], epoch=1)["best_at_start"]
    assert not A.table_row(BASE, runs["γ=1"][1], epoch=1)["best_at_start"]
    outcomes = [c.evaluate(runs) for c in C.table_claims(50)]
    assert [o.status for o in outcomes] == ["holds", "not reached", "holds", "not reached",
                                            "holds"], [o.evidence for o in outcomes]
    for o in (outcomes[1], outcomes[3]):
        assert o.evidence.startswith("γ=5: validation accuracy never rose above its value at "
                                     "initialization, so the best-validation point is the "
                                     "untrained network"), o.evidence
    from companion.chapters.nsgd_tables import comparison_html
    table = comparison_html(2, A.table_rows(runs, 1), 1)
    assert table.count("best val. at initialization") == 1
    assert "this run (η = 0.05, best val. at initialization)" in table
    sgd = _result([.1, .5, .6], [.1, .5, .8], [1, 20, 20], [0, 1, 2])
    k_runs = {"SGD": (BASE.with_overrides(gamma=1.0), sgd)}
    for k, val in ((1, [.1, .6, .8]), (5, [.1, .1, .1]), (10, [.1, .7, .8])):
        k_runs[f"K={k}"] = (BASE.with_overrides(gamma=0.01, directions=k),
                            _result(val, [.1, .5, .8 + k / 1000], [1, 50, 50], [0, 1, 2]))
    test_with_k = C.fig8_claims(50)[3].evaluate(k_runs)
    assert test_with_k.status == "not reached" and test_with_k.evidence.startswith("K=5:")
