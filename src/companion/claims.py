"""Paper claims as functions of a run's data.

Each checker takes ``runs``, a mapping ``label -> (RunConfig, result)`` for one figure,
and returns a :class:`ClaimOutcome` whose ``evidence`` quotes the numbers it used.
Nothing here is typed in by hand: whether a claim holds is computed from the
recorded history, and a claim that does not hold is reported as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Mapping, Optional

GROWTH_FACTOR = 1.5       # "λ1 grows": its peak is at least 1.5× its value at initialization
ACCURACY_DROP = 0.10      # "accuracy drops sharply": a fall of ≥ 10 points below its running best


@dataclass(frozen=True)
class ClaimOutcome:
    claim: str
    holds: bool
    evidence: str
    figure: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Claim:
    """A claim of the paper and the function that checks it on a figure's runs."""

    text: str
    check: Callable[[Mapping[str, tuple]], tuple]
    model: Optional[str] = None  # a claim about one model applies only if the figure ran it

    def applies(self, runs: Mapping[str, tuple]) -> bool:
        return self.model is None or any(c.model == self.model for c, _ in runs.values())

    def evaluate(self, runs: Mapping[str, tuple], figure: str = "") -> ClaimOutcome:
        holds, evidence = self.check(runs)
        return ClaimOutcome(self.text, bool(holds), evidence, figure)


# ----------------------------------------------------------------------------- series
def curvature_records(result: dict) -> list:
    """Tracking records that carry eigenvalues, in training order."""
    return [r for r in result["history"] if "eigenvalues" in r]


def lambda_series(result: dict, index: int = 0) -> tuple:
    """(epochs, λ_index) along training."""
    records = curvature_records(result)
    return ([r["epoch"] for r in records], [r["eigenvalues"][index] for r in records])


def peak(result: dict, index: int = 0) -> tuple:
    """(peak value of λ_index, epoch at which it is reached, position in the series)."""
    epochs, values = lambda_series(result, index)
    position = max(range(len(values)), key=values.__getitem__)
    return values[position], epochs[position], position


# ----------------------------------------------------------------------------- checkers
def lambda_max_of_order_inverse_lr(low: float = 0.5, high: float = 2.0) -> Claim:
    def check(runs):
        parts, ok = [], True
        for label, (config, result) in runs.items():
            top, at, _ = peak(result)
            ratio = config.lr * top
            ok &= low <= ratio <= high
            parts.append(f"{label}: peak λ1={top:.4g} at epoch {at:g}, η·λ1={ratio:.3g}")
        return ok, "; ".join(parts) + f" (holds if η·λ1 ∈ [{low}, {high}])"
    return Claim("At its peak, λ_max is of the order of 1/η (η·λ_max within [0.5, 2]).", check)


def grows_then_decreases_or_stabilizes() -> Claim:
    def check(runs):
        parts, ok = [], True
        for label, (_, result) in runs.items():
            _, values = lambda_series(result)
            top, at, position = peak(result)
            grew = top >= GROWTH_FACTOR * values[0]
            after = len(values) - 1 - position
            # a post-peak phase exists and λ1 does not end above its peak
            settled = after >= max(1, len(values) // 4)
            ok &= grew and settled
            parts.append(f"{label}: λ1 {values[0]:.4g} → peak {top:.4g} at epoch {at:g} "
                         f"(×{top / max(values[0], 1e-12):.2f}), final {values[-1]:.4g}, "
                         f"{after} of {len(values)} evaluations after the peak")
        rule = (f"holds if the peak is ≥ {GROWTH_FACTOR}× the initial λ1 and at least a quarter "
                "of the evaluations come after it")
        return ok, "; ".join(parts) + f" ({rule})"
    return Claim("λ_1 first grows to a maximum, then decreases or stabilizes.", check)


def curvature_grows_then_accuracy_drops() -> Claim:
    def check(runs):
        parts, ok = [], True
        for label, (_, result) in runs.items():
            records = curvature_records(result)
            values = [r["eigenvalues"][0] for r in records]
            grew = max(values) >= GROWTH_FACTOR * values[0]
            drop_epoch, drop = _first_accuracy_drop(records)
            diverged = result.get("diverged_at_step")
            dropped = drop_epoch is not None or diverged is not None
            after_growth = drop_epoch is None or _growth_before(records, drop_epoch)
            ok &= grew and dropped and after_growth
            detail = (f"train accuracy fell {drop:.0%} at epoch {drop_epoch:g}"
                      if drop_epoch is not None else "no accuracy drop")
            if diverged is not None:
                detail += f", diverged at step {diverged}"
            parts.append(f"{label}: λ1 {values[0]:.4g} → max {max(values):.4g}; {detail}")
        rule = (f"holds if λ1 grows ≥ {GROWTH_FACTOR}× and later the training accuracy falls "
                f"≥ {ACCURACY_DROP:.0%} below its running best (or training diverges)")
        return ok, "; ".join(parts) + f" ({rule})"
    return Claim("Curvature grows, then the accuracy drops sharply.", check)


def _first_accuracy_drop(records: list) -> tuple:
    best = -1.0
    for record in records:
        best = max(best, record["train_acc"])
        if best - record["train_acc"] >= ACCURACY_DROP:
            return record["epoch"], best - record["train_acc"]
    return None, 0.0


def _growth_before(records: list, epoch: float) -> bool:
    before = [r["eigenvalues"][0] for r in records if r["epoch"] <= epoch]
    return max(before) >= GROWTH_FACTOR * before[0]


def peak_ordered(field: str, smaller_peak_when: str, model: str) -> Claim:
    """Along a sweep of ``field``, the peak λ1 decreases in the direction given.

    ``smaller_peak_when`` is "increasing" (η) or "decreasing" (S).
    """
    def check(runs):
        ordered = _sweep(runs, model, field, smaller_peak_when)
        peaks = [peak(result)[0] for _, result in ordered]
        ok = len(peaks) >= 2 and all(a > b for a, b in zip(peaks, peaks[1:]))
        listing = ", ".join(f"{field}={getattr(c, field):g}: {p:.4g}"
                            for (c, _), p in zip(ordered, peaks))
        return ok, f"{model} peak λ1 — {listing} (holds if strictly decreasing in this order)"
    name = "a larger η" if field == "lr" else "a smaller S"
    return Claim(f"{model}: {name} gives a smaller peak λ_1.", check, model)


def peak_earlier(field: str, smaller_peak_when: str, model: str) -> Claim:
    def check(runs):
        ordered = _sweep(runs, model, field, smaller_peak_when)
        epochs = [peak(result)[1] for _, result in ordered]
        ok = len(epochs) >= 2 and all(a >= b for a, b in zip(epochs, epochs[1:])) \
            and epochs[0] > epochs[-1]
        listing = ", ".join(f"{field}={getattr(c, field):g}: epoch {e:g}"
                            for (c, _), e in zip(ordered, epochs))
        return ok, (f"{model} epoch of the λ1 peak — {listing} (holds if non-increasing in this "
                    "order and strictly earlier at the end)")
    name = "a larger η" if field == "lr" else "a smaller S"
    return Claim(f"{model}: {name} gives an earlier peak of λ_1.", check, model)


def _sweep(runs, model, field, smaller_peak_when) -> list:
    """The runs of ``model`` sweeping ``field``, ordered so the claimed peak decreases."""
    chosen = [(c, r) for label, (c, r) in runs.items()
              if c.model == model and label.split("/")[-1].startswith(_axis_prefix(field))]
    return sorted(chosen, key=lambda cr: getattr(cr[0], field),
                  reverse=(smaller_peak_when == "decreasing"))


def _axis_prefix(field: str) -> str:
    return "lr=" if field == "lr" else "S="
