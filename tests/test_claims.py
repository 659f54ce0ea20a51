from companion import claims as C
from companion.config import RunConfig


def result(lams, accs=None, diverged=None):
    accs = accs or [0.5] * len(lams)
    history = [{"epoch": float(i), "step": i, "phase": "epoch", "eigenvalues": [l, l / 2],
                "train_acc": a} for i, (l, a) in enumerate(zip(lams, accs))]
    return {"history": history, "diverged_at_step": diverged}


def test_inverse_lr_claim_computes_from_data():
    claim = C.lambda_max_of_order_inverse_lr()
    good = claim.evaluate({"r": (RunConfig(lr=0.01), result([10, 120, 90]))})
    bad = claim.evaluate({"r": (RunConfig(lr=0.01), result([10, 20, 15]))})
    assert good.holds and not bad.holds and "η·λ1=1.2" in good.evidence


def test_grow_then_settle():
    claim = C.grows_then_decreases_or_stabilizes()
    assert claim.evaluate({"r": (RunConfig(), result([1, 5, 4, 4, 3]))}).holds
    assert not claim.evaluate({"r": (RunConfig(), result([1, 2, 3, 4, 5]))}).holds  # still growing
    assert not claim.evaluate({"r": (RunConfig(), result([5, 4, 3, 2, 1]))}).holds  # never grew


def test_accuracy_drop_after_growth():
    claim = C.curvature_grows_then_accuracy_drops()
    ok = result([1, 3, 5, 2], accs=[0.1, 0.5, 0.6, 0.2])
    no_drop = result([1, 3, 5, 2], accs=[0.1, 0.5, 0.6, 0.65])
    assert claim.evaluate({"r": (RunConfig(), ok)}).holds
    assert not claim.evaluate({"r": (RunConfig(), no_drop)}).holds


def test_sweep_claims_order_runs_by_the_swept_field():
    runs = {f"simplecnn/lr={lr}": (RunConfig(lr=lr), result(lams))
            for lr, lams in [(0.001, [1, 2, 30]), (0.01, [1, 20, 10]), (0.1, [1, 5, 4])]}
    assert C.peak_ordered("lr", "increasing", "simplecnn").evaluate(runs).holds
    assert C.peak_earlier("lr", "increasing", "simplecnn").evaluate(runs).holds
    runs["simplecnn/lr=0.1"] = (RunConfig(lr=0.1), result([1, 2, 50]))
    assert not C.peak_ordered("lr", "increasing", "simplecnn").evaluate(runs).holds
    assert not C.peak_ordered("lr", "increasing", "lstm").applies(runs)
