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
    # a run still growing: its peak is at least the largest smoothed value whose window is
    # complete (index 7: mean of 7, 8, 9 = 8), no earlier than its first crossing of 90% of it
    assert growing.at_least == 8 and growing.not_before == 7
    assert plateau.at_least == plateau.value and plateau.not_before == plateau.epoch


def test_peak_after_an_initial_fall():
    # BatchNorm nets in train mode: λ1 is largest at initialization, falls, then grows again
    fallen = C.peak(result([20, 15, 10, 8, 9, 12, 14, 15, 15, 15, 15, 15]))
    assert fallen.fall_until == 3 and fallen.settled and 5 <= fallen.epoch <= 6
    assert fallen.value == 15 and fallen.initial == 20
    assert "after a fall until epoch 3" in fallen.describe()
    # falling to the very end: no later peak to find, the fall is the whole run
    falling = C.peak(result([9, 8, 7, 6, 5, 4]))
    assert falling.fall_until is None and falling.epoch == 0
    assert C.peak(result([1, 10, 12, 11, 12])).fall_until is None


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
    still_growing = sweep([(0.01, [1, 2, 3, 4, 5, 6, 7, 8, 9]), (0.1, [1, 20, 20, 20, 20, 20, 20, 20, 20])])
    outcome = smaller.evaluate(still_growing)
    assert outcome.status == C.NOT_REACHED and not outcome.holds
    assert "still growing" in outcome.evidence and "first 75%" in outcome.evidence
    # still growing, but its peak (≥ 8, no earlier than epoch 7) already beats the other's
    assert earlier.evaluate(still_growing).status == C.HOLDS
    already_above = sweep([(0.01, [1, 2, 3, 4, 5, 6, 30, 40, 50]), (0.1, [1, 20, 20, 20, 20, 20, 20, 20, 20])])
    assert smaller.evaluate(already_above).status == C.HOLDS
    # the run predicted to peak lower is still growing and already above the other's peak
    overtaken = sweep([(0.01, [1, 5, 5, 5, 5, 5, 5, 5, 5]), (0.1, [1, 2, 3, 4, 5, 6, 30, 40, 50])])
    assert smaller.evaluate(overtaken).status == C.FAILS
    assert earlier.evaluate(overtaken).status == C.FAILS
    assert not C.peak_smaller("lr", "lstm").applies(good)


def test_a_shrunk_sweep_is_judged_on_its_ends():
    # the middle run is still growing below the first's peak: the full chain is open, but
    # on a shrunk profile (fewer examples than ends_below) only the ends are compared
    lams = [(0.01, [1, 10, 30, 40, 40, 40, 40, 40, 40]), (0.03, [1, 2, 3, 4, 5, 6, 7, 8, 9]),
            (0.1, [8, 8, 8, 8, 8, 8, 8, 8, 8])]
    shrunk = {f"simplecnn/lr={lr}": (RunConfig(lr=lr, n_train=1000), result(v)) for lr, v in lams}
    full = {f"simplecnn/lr={lr}": (RunConfig(lr=lr, n_train=5000), result(v)) for lr, v in lams}
    ends = C.peak_smaller("lr", "simplecnn", ends_below=5000)
    assert C.peak_smaller("lr", "simplecnn").evaluate(shrunk).status == C.NOT_REACHED
    outcome = ends.evaluate(shrunk)
    assert outcome.status == C.HOLDS and "only the ends of the sweep, η=0.01 and η=0.1" in outcome.evidence
    assert "η=0.03" in outcome.evidence  # every run is still listed
    assert ends.evaluate(full).status == C.NOT_REACHED  # the paper's size: the whole chain
    flipped = {**shrunk, "simplecnn/lr=0.1": (RunConfig(lr=0.1, n_train=1000), result([50] * 9))}
    assert ends.evaluate(flipped).status == C.FAILS


def test_largest_over_training_needs_no_peak():
    # Fig. 13's caption: the largest λ1 of the run as it was run, peaked or still growing
    runs = {f"vgg11/μ={m}": (RunConfig(model="vgg11", momentum=m), result(lams))
            for m, lams in [(0.0, [9, 5, 6, 7, 8, 9, 10, 11, 12]), (0.5, [9, 4, 5, 6, 7, 8, 9, 9, 9]),
                            (0.9, [9, 2, 2, 3, 3, 3, 3, 3, 4])]}
    claim = C.max_smaller("momentum", "vgg11")
    outcome = claim.evaluate(runs)
    assert outcome.status == C.HOLDS and "after a fall until epoch" in outcome.evidence
    assert C.peak_smaller("momentum", "vgg11").evaluate(runs).status == C.NOT_REACHED
    swapped = {**runs, "vgg11/μ=0.9": (RunConfig(model="vgg11", momentum=0.9),
                                        result([9, 2, 4, 8, 16, 20, 20, 20, 20]))}
    assert claim.evaluate(swapped).status == C.FAILS


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
