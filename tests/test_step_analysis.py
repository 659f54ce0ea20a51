"""Step-vs-curvature numbers and claims on hand-made records: every status is reachable."""

import math

import numpy as np
import pytest

from companion import step_analysis as S
from companion.claims import FAILS, HOLDS, NOT_REACHED
from companion.config import RunConfig
from companion.probes import SharpestDirections

ALPHAS = (0.25, 0.5, 1.0, 2.0, 4.0)
KS = (-4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0)
CONFIG = RunConfig(lr=0.01, probes=(SharpestDirections(alphas=ALPHAS, section_k=KS,
                                                       section_directions=(1, 3)),))


def record(lam, changes, step=0, sec1=None, sec3=None, cos=0.3):
    sec1 = sec1 if sec1 is not None else [1 + 0.5 * k * k for k in KS]
    sec3 = sec3 if sec3 is not None else [1 + 0.05 * k * k for k in KS]
    return {"step": step, "epoch": step / 10, "eigenvalues": [lam, lam / 2, lam / 3, 1, 1],
            "cosines": [cos] * 5, "num_parameters": 10_000, "train_acc": 0.5, "loss": 1.0,
            "step_change": {"1": list(changes)}, "sections": {"1": sec1, "3": sec3}}


def runs(*records):
    return {"simplecnn": (CONFIG, {"history": list(records)})}


RAISES = [-0.5, -0.3, 0.2, 2.0, 10.0]   # the paper's pattern
LOWERS = [-0.5, -0.8, -1.0, -1.2, -0.4]


def test_geometry_helpers_against_closed_forms():
    assert S.random_cosine(350_000) == pytest.approx(math.sqrt(2 / (math.pi * 350_000)))
    a, kstar = S.section_fit(KS, [2.0 * (k - 0.3) ** 2 + 1 for k in KS])
    assert a == pytest.approx(2.0) and kstar == pytest.approx(0.3)
    assert S.section_range(KS, [k * k for k in KS], kmax=2) == pytest.approx(4.0)
    # λ1 = 150, η = 0.01: α·η·λ1 − 2 is < 0 for α = 0.5 and > 0 for α = 2, 4
    assert S.quadratic_agreement(CONFIG, [record(150, RAISES)], ALPHAS) == 1.0
    assert S.quadratic_agreement(CONFIG, [record(150, LOWERS)], ALPHAS) == pytest.approx(1 / 3)


def test_step_claims_hold_fail_and_are_not_reached_before_the_edge_phase():
    edge = [record(150, RAISES, step=s) for s in (10, 20, 30)]
    assert S.longer_steps_raise_loss().evaluate(runs(*edge)).status == HOLDS
    assert S.doubled_step_raises_loss().evaluate(runs(*edge)).status == HOLDS
    assert S.quadratic_predicts_sign().evaluate(runs(*edge)).status == HOLDS
    flat = [record(150, LOWERS, step=s) for s in (10, 20, 30)]
    outcome = S.longer_steps_raise_loss().evaluate(runs(*flat))
    assert outcome.status == FAILS and "α=2: -1.20%" in outcome.evidence
    assert S.doubled_step_raises_loss().evaluate(runs(*flat)).status == FAILS
    early = [record(50, RAISES, step=s) for s in (10, 20)]  # η·λ1 = 0.5 < 1
    outcome = S.longer_steps_raise_loss().evaluate(runs(*early))
    assert outcome.status == NOT_REACHED and "max η·λ1 = 0.50" in outcome.evidence
    # only the edge-phase points count
    mixed = runs(record(50, LOWERS), *edge)
    assert S.longer_steps_raise_loss().evaluate(mixed).status == HOLDS


def test_bowl_and_flatness_claims():
    crossed = [record(150, RAISES, sec1=[1 + (k - 0.4) ** 2 for k in KS])]
    assert S.step_crosses_bowl().evaluate(runs(*crossed)).status == HOLDS
    far = [record(150, RAISES, sec1=[1 + (k - 3) ** 2 for k in KS])]
    assert S.step_crosses_bowl().evaluate(runs(*far)).status == FAILS
    assert S.flatter_than_top(3).evaluate(runs(record(150, RAISES))).status == HOLDS
    same = record(150, RAISES, sec3=[1 + 0.5 * k * k for k in KS])
    assert S.flatter_than_top(3).evaluate(runs(same)).status == FAILS
    assert S.flatter_than_top(5).evaluate(runs(record(150, RAISES))).status == NOT_REACHED


def test_cosine_claims():
    good = runs(*[record(150, RAISES, step=s, cos=0.3) for s in range(4)])
    assert S.cosine_of_paper_order().evaluate(good).status == HOLDS
    assert S.cosine_far_above_random().evaluate(good).status == HOLDS
    weak = runs(*[record(150, RAISES, step=s, cos=0.01) for s in range(4)])
    assert S.cosine_of_paper_order().evaluate(weak).status == FAILS
    assert S.cosine_far_above_random().evaluate(weak).status == FAILS  # 20× 0.008 = 0.16
    assert S.cosine_far_above_random().evaluate(runs(record(150, RAISES))).status == NOT_REACHED


def _variant(gamma, lam, loss):
    config = RunConfig(optimizer="nudged").with_overrides(gamma=gamma)
    refreshes = [{"step": s, "eigenvalues": [lam if s >= 90 else 100.0]} for s in range(0, 101, 10)]
    history = [{"step": s, "train_loss": loss if s >= 90 else 1.0} for s in range(0, 101, 10)]
    return config, {"refreshes": refreshes, "history": history}


def test_variant_claims_compare_the_final_tenth_with_sgd():
    top, no_top, scaled = S.variant_claims()
    paper_like = {"sgd": _variant(1.0, 100, 1.0), "top": _variant(1.0, 60, 1.3),
                  "no-top": _variant(0.0, 150, 1.02), "top×0.5": _variant(0.5, 130, 1),
                  "top×2": _variant(2.0, 80, 1), "top×4": _variant(4.0, 60, 1)}
    assert top.evaluate(paper_like).status == HOLDS
    assert no_top.evaluate(paper_like).status == HOLDS
    assert scaled.evaluate(paper_like).status == HOLDS
    reversed_ = {**paper_like, "top": _variant(1.0, 120, 0.9), "no-top": _variant(0.0, 90, 1.5),
                 "top×4": _variant(4.0, 200, 1), "top×2": _variant(2.0, 150, 1)}
    assert top.evaluate(reversed_).status == FAILS
    assert no_top.evaluate(reversed_).status == FAILS
    assert scaled.evaluate(reversed_).status == FAILS
    assert top.evaluate({"top": paper_like["top"]}).status == NOT_REACHED
    assert np.isfinite(S.random_cosine(1))
