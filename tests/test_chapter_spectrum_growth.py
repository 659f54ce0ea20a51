"""Chapter 1's claims on hand-made histories: each status is reachable, evidence quotes numbers."""

from companion.chapters import spectrum_growth as sg
from companion.claims import FAILS, HOLDS, NOT_REACHED
from companion.config import RunConfig

from test_claims import result


def test_inverse_lr_claim():
    claim = sg.lambda_max_of_order_inverse_lr()
    plateau = [10, 90, 120, 110, 120, 110, 120, 110, 120]
    assert claim.evaluate({"r": (RunConfig(lr=0.01), result(plateau))}).status == HOLDS
    low_growing = claim.evaluate({"r": (RunConfig(lr=0.01), result([1, 2, 3, 4, 5, 6, 7, 8, 9]))})
    assert low_growing.status == NOT_REACHED and "η·λ1 = 0.0" in low_growing.evidence
    in_range_growing = [10, 20, 40, 60, 80, 100, 120, 140, 160]  # could still pass 2/η
    assert claim.evaluate({"r": (RunConfig(lr=0.01), result(in_range_growing))}).status == NOT_REACHED
    past = [10, 50, 100, 150, 200, 250, 300, 350, 400]  # already above 2/η while growing
    assert claim.evaluate({"r": (RunConfig(lr=0.01), result(past))}).status == FAILS
    too_high = [10, 900, 1200, 1100, 1200, 1100, 1200, 1100, 1200]
    assert claim.evaluate({"r": (RunConfig(lr=0.01), result(too_high))}).status == FAILS


def test_grow_then_settle():
    claim = sg.grows_then_decreases_or_stabilizes()
    assert claim.evaluate({"r": (RunConfig(), result([1, 5, 4, 4, 3, 4, 3, 4]))}).status == HOLDS
    assert claim.evaluate({"r": (RunConfig(), result([1, 2, 3, 4, 5, 6, 7, 8]))}).status == NOT_REACHED
    assert claim.evaluate({"r": (RunConfig(), result([5, 4, 3, 2, 1, 1, 1, 1]))}).status == FAILS


def test_accuracy_drop_after_growth_uses_every_step():
    claim = sg.curvature_grows_then_accuracy_drops()
    gd = RunConfig(optimizer="gd", lr=0.1)
    log = [[s, 1.0, a] for s, a in enumerate([0.1, 0.3, 0.5, 0.6, 0.2, 0.6, 0.6], 1)]
    dropped = result([1, 3, 25, 5], step_log=log)
    assert claim.evaluate({"r": (gd, dropped)}).status == HOLDS
    smooth = [[s, 1.0, 0.1 * s] for s in range(1, 8)]
    assert claim.evaluate({"r": (gd, result([1, 3, 25, 5], step_log=smooth))}).status == FAILS
    assert claim.evaluate({"r": (gd, result([1, 2, 3, 4], step_log=smooth))}).status == NOT_REACHED
    early = [[1, 1.0, 0.5], [2, 1.0, 0.1], [3, 1.0, 0.5]]  # drop before λ1 grew
    assert claim.evaluate({"r": (gd, result([1, 1, 1, 30], step_log=early))}).status == FAILS


def test_appendix_claims_batchnorm_stability_and_schedule():
    from companion.chapters import spectrum_growth_appendix as app

    claim = app.batchnorm_keeps_full_batch_training_stable()
    gd = RunConfig(optimizer="gd", lr=0.1)
    rising = [[s, 1.0, 0.1 * s] for s in range(1, 8)]
    assert claim.evaluate({"r": (gd, result([1, 3, 5, 5], step_log=rising))}).status == HOLDS
    collapse = [[1, 1.0, 0.5], [2, 1.0, 0.6], [3, 1.0, 0.2]]
    assert claim.evaluate({"r": (gd, result([1, 3, 5, 5], step_log=collapse))}).status == FAILS
    assert claim.evaluate({"r": (gd, result([1, 1, 1, 1], step_log=rising))}).status == NOT_REACHED

    growth, accuracy = app.schedule_claims()

    def run(L, after, final_acc):
        lams = [10, 20, 20, 20] + after  # epochs 0..3 at η, then the dropped stage
        res = result(lams)
        for record in res["history"]:
            record["test_acc"] = final_acc
        return RunConfig(lr=0.1, epochs=len(lams) - 1, lr_drop_epoch=L), res

    paper_like = {f"L={L}": run(L, after, acc) for L, after, acc in
                  ((1, [60, 80], 0.5), (2, [40, 45], 0.6), (3, [22, 22], 0.7))}
    assert growth.evaluate(paper_like).status == HOLDS
    assert accuracy.evaluate(paper_like).status == HOLDS
    opposite = {f"L={L}": run(L, after, acc) for L, after, acc in
                ((1, [10, 10], 0.7), (2, [30, 30], 0.6), (3, [60, 80], 0.5))}
    assert growth.evaluate(opposite).status == FAILS
    assert accuracy.evaluate(opposite).status == FAILS


def test_fig12_default_drops_the_learning_rate_after_the_early_phase():
    """Each default run of Fig. 12 drops η after ResNet-32 has left its initial curvature
    and keeps training after the drop; the earlier default (L = 5 at 8 steps an epoch)
    dropped it at step 40, before the network had started to learn."""
    from companion import registry
    from companion.chapters.spectrum_growth_appendix import RESNET_EARLY_STEPS

    runs = registry.resolve("12", "default")
    assert len(runs) >= 3  # the claims rank at least three drops
    for label, config in runs:
        steps_per_epoch = config.n_train // config.batch_size
        assert config.lr_drop_epoch * steps_per_epoch >= RESNET_EARLY_STEPS, label
        assert config.lr_drop_epoch < config.epochs, label
