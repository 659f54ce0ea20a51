import pytest

from companion import claims as C
from companion.config import RunConfig


def result(lams, accs=None, step_log=None):
    accs = accs or [0.5] * len(lams)
    history = [{"epoch": float(i), "step": i, "phase": "epoch", "eigenvalues": [l, l / 2],
                "train_acc": a} for i, (l, a) in enumerate(zip(lams, accs))]
    return {"history": history, "step_log": step_log or []}


def test_smoothing_and_peak_rule():
    assert C.smoothed([0, 3, 6, 3]) == [1.5, 3.0, 4.0, 4.5]
    plateau = C.peak(result([1, 10, 12, 11, 12, 11, 12, 11, 12]))
    assert plateau.settled and plateau.epoch <= 2
    growing = C.peak(result([1, 2, 3, 4, 5, 6, 7, 8, 9]))
    assert not growing.settled and growing.epoch == 7  # smoothed max 8.5, first ≥ 7.65
    assert "still growing" in growing.describe()


def sweep(peaks_by_lr):
    return {f"simplecnn/lr={lr}": (RunConfig(lr=lr), result(lams)) for lr, lams in peaks_by_lr}


def test_sweep_claims_hold_fail_or_are_not_reached():
    good = sweep([(0.01, [1, 10, 30, 40, 40, 40, 40, 40, 40]),
                  (0.03, [1, 20, 20, 20, 20, 20, 20, 20, 20]),
                  (0.1, [8, 8, 8, 8, 8, 8, 8, 8, 8])])
    smaller, earlier = C.peak_smaller("lr", "simplecnn"), C.peak_earlier("lr", "simplecnn")
    assert smaller.evaluate(good).status == C.HOLDS and earlier.evaluate(good).status == C.HOLDS
    inverted = sweep([(0.01, [1, 5, 5, 5, 5, 5, 5, 5, 5]), (0.1, [1, 20, 20, 20, 20, 20, 20, 20, 20])])
    assert smaller.evaluate(inverted).status == C.FAILS
    still_growing = sweep([(0.01, [1, 2, 3, 4, 5, 6, 7, 8, 90]), (0.1, [1, 20, 20, 20, 20, 20, 20, 20, 20])])
    outcome = smaller.evaluate(still_growing)
    assert outcome.status == C.NOT_REACHED and not outcome.holds
    assert "still growing" in outcome.evidence and "first 75%" in outcome.evidence
    assert earlier.evaluate(still_growing).status == C.NOT_REACHED
    assert not C.peak_smaller("lr", "lstm").applies(good)


def test_outcome_dict_keeps_holds_and_adds_status():
    outcome = C.Claim("x", lambda runs: (C.NOT_REACHED, "because")).evaluate({}, "4")
    assert outcome.as_dict() == {"claim": "x", "holds": False, "status": "not reached",
                                 "evidence": "because", "figure": "4"}
    assert C.Claim("y", lambda runs: (True, "")).evaluate({}).status == C.HOLDS
    with pytest.raises(ValueError, match="valid"):
        C.Claim("z", lambda runs: ("maybe", "")).evaluate({})


def test_combine():
    assert C.combine([C.HOLDS, C.HOLDS]) == C.HOLDS
    assert C.combine([C.HOLDS, C.NOT_REACHED]) == C.NOT_REACHED
    assert C.combine([C.NOT_REACHED, C.FAILS]) == C.FAILS
    assert C.combine([]) == C.FAILS
