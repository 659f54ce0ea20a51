"""Paper claims as functions of a run's data, and the helpers chapters build them from.

A :class:`Claim` checks a figure's runs (``label -> (RunConfig, result)``) and returns a
:class:`ClaimOutcome` with one of three statuses:

* ``holds``: the data show what the paper says;
* ``fails``: the data were in the regime the claim is about and show something else;
* ``not reached``: the runs demonstrably never entered that regime (for example λ1 was
  still growing when a run ended, so "its peak comes earlier" cannot be decided); the
  evidence states the rule that says so.

Nothing is typed in by hand: every status is computed from the recorded history, and the
evidence quotes the numbers and the rule it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

HOLDS, FAILS, NOT_REACHED = "holds", "fails", "not reached"
STATUSES = (HOLDS, FAILS, NOT_REACHED)

SMOOTH = 3          # λ1 series are smoothed by a centred running mean over this many evaluations
PEAK_LEVEL = 0.9    # the peak is reached when the smoothed λ1 first gets to 90% of its maximum
SETTLED = 0.75      # ... and it has stopped growing if that happens in the first 75% of the run
GROWTH_FACTOR = 1.5  # "λ1 grows": its maximum is at least 1.5× its value at initialization


@dataclass(frozen=True)
class ClaimOutcome:
    claim: str
    status: str
    evidence: str
    figure: str = ""

    @property
    def holds(self) -> bool:
        return self.status == HOLDS

    def as_dict(self) -> dict:
        return {"claim": self.claim, "holds": self.holds, "status": self.status,
                "evidence": self.evidence, "figure": self.figure}


@dataclass(frozen=True)
class Claim:
    """A claim of the paper and the function that checks it on a figure's runs.

    ``check(runs)`` returns ``(status, evidence)``; a bool status means holds/fails."""

    text: str
    check: Callable[[Mapping[str, tuple]], tuple]
    model: Optional[str] = None  # a claim about one model applies only if the figure ran it

    def applies(self, runs: Mapping[str, tuple]) -> bool:
        return self.model is None or any(c.model == self.model for c, _ in runs.values())

    def evaluate(self, runs: Mapping[str, tuple], figure: str = "") -> ClaimOutcome:
        status, evidence = self.check(runs)
        if not isinstance(status, str):  # a bool (numpy's too) means holds / fails
            status = HOLDS if bool(status) else FAILS
        if status not in STATUSES:
            raise ValueError(f"claim check returned {status!r}; valid: {STATUSES}")
        return ClaimOutcome(self.text, status, evidence, figure)


def combine(statuses: list) -> str:
    """All hold → holds; any fails → fails; otherwise not reached."""
    if statuses and all(s == HOLDS for s in statuses):
        return HOLDS
    return FAILS if FAILS in statuses or not statuses else NOT_REACHED


def every(checks, rule: str, none: str = "no run to check") -> tuple:
    """``(status, evidence)`` of a claim checked item by item: ``checks`` yields
    ``(status or bool, text)`` per run (or per point); the claim holds if every item holds.
    With no item at all it is not reached (``none`` says why)."""
    statuses, texts = [], []
    for status, text in checks:
        statuses.append(status if isinstance(status, str) else HOLDS if status else FAILS)
        texts.append(text)
    if not statuses:
        return NOT_REACHED, f"{none} ({rule})"
    return combine(statuses), "; ".join(texts) + f" ({rule})"


# ----------------------------------------------------------------------------- series
def curvature_records(result: dict, phases=("init", "zoom", "epoch")) -> list:
    """Records that carry eigenvalues, in training order."""
    return sorted((r for r in result["history"] if "eigenvalues" in r and r["phase"] in phases),
                  key=lambda r: r["step"])


def lambda_series(result: dict, index: int = 0, phases=("init", "epoch")) -> tuple:
    """(epochs, λ_index) along training (per-epoch evaluations unless phases say otherwise)."""
    records = curvature_records(result, phases)
    return ([r["epoch"] for r in records], [r["eigenvalues"][index] for r in records])


def smoothed(values: list, window: int = SMOOTH) -> list:
    """Centred running mean (shorter windows at the ends)."""
    half = window // 2
    return [sum(values[max(0, i - half):i + half + 1]) / len(values[max(0, i - half):i + half + 1])
            for i in range(len(values))]


@dataclass(frozen=True)
class Peak:
    value: float       # maximum of the smoothed λ series
    epoch: float       # first epoch at which the smoothed series reaches PEAK_LEVEL × value
    settled: bool      # that epoch lies in the first SETTLED fraction of the run
    initial: float
    final: float

    def describe(self) -> str:
        state = "peaked" if self.settled else "still growing"
        return f"peak {self.value:.4g} reached at epoch {self.epoch:g} ({state})"


def peak(result: dict, index: int = 0) -> Peak:
    """The peak of λ_index along training, robust to SGD's oscillations (see module constants)."""
    epochs, values = lambda_series(result, index)
    smooth = smoothed(values)
    top = max(smooth)
    position = next(i for i, v in enumerate(smooth) if v >= PEAK_LEVEL * top)
    span = epochs[-1] - epochs[0]
    settled = span > 0 and (epochs[position] - epochs[0]) <= SETTLED * span
    return Peak(top, epochs[position], settled, values[0], values[-1])


PEAK_RULE = (f"λ1 is smoothed by a running mean over {SMOOTH} evaluations; its peak is the "
             f"maximum, reached at the first evaluation within {PEAK_LEVEL:.0%} of it; a run "
             f"has peaked when that comes in the first {SETTLED:.0%} of the run, otherwise "
             "λ1 is still growing and the claim is not reached")


# ----------------------------------------------------------------------------- sweeps
# field → (what the paper predicts a smaller, earlier peak from; sort descending; symbol)
SWEEP_DIRECTION = {"lr": ("a larger η", False, "η"), "batch_size": ("a smaller S", True, "S"),
                   "momentum": ("a larger momentum", False, "μ")}


def sweep_runs(runs: Mapping, model: str, field: str) -> list:
    """The runs of ``model`` that sweep ``field`` (labels ``model/lr=…``, ``model/S=…``,
    ``model/μ=…``), ordered along the direction in which the paper predicts a smaller,
    earlier peak."""
    from .registry import SWEEPABLE

    chosen = [(c, r) for label, (c, r) in runs.items()
              if c.model == model and label.split("/")[-1].startswith(SWEEPABLE[field])]
    return sorted(chosen, key=lambda cr: getattr(cr[0], field),
                  reverse=SWEEP_DIRECTION[field][1])


def _sweep_name(field: str) -> str:
    return SWEEP_DIRECTION[field][0]


def _value(config, field: str) -> str:
    return f"{SWEEP_DIRECTION[field][2]}={getattr(config, field):g}"


def _sweep_claim(field: str, model: str, index: int, says: str, rule: str, decide) -> Claim:
    """A claim about how the peak of λ_{index+1} moves along a sweep of η or S: ``decide``
    gets the peaks in the paper's order once every run has peaked."""
    name = f"λ{index + 1}"

    def check(runs):
        ordered = sweep_runs(runs, model, field)
        peaks = [peak(r, index) for _, r in ordered]
        listing = ", ".join(f"{_value(c, field)}: {p.describe()}" for (c, _), p in zip(ordered, peaks))
        full_rule = f"holds if {rule}; {PEAK_RULE}"
        if len(peaks) < 2:
            return NOT_REACHED, f"fewer than two runs in the sweep ({full_rule})"
        if not all(p.settled for p in peaks):
            return NOT_REACHED, f"{model} {name}: {listing} ({full_rule})"
        return decide(peaks), f"{model} {name}: {listing} ({full_rule})"
    return Claim(f"{model}: {_sweep_name(field)} gives {says} of {name}.", check, model)


def peak_smaller(field: str, model: str, index: int = 0) -> Claim:
    """Along a sweep of η (increasing) or S (decreasing), the peak of λ_{index+1} decreases."""
    return _sweep_claim(field, model, index, "a smaller peak",
                        "the peaks strictly decrease in this order",
                        lambda peaks: all(a.value > b.value for a, b in zip(peaks, peaks[1:])))


def peak_earlier(field: str, model: str, index: int = 0) -> Claim:
    """Along the sweep, the peak of λ_{index+1} comes no later, and strictly earlier at the end."""
    def decide(peaks):
        epochs = [p.epoch for p in peaks]
        return all(a >= b for a, b in zip(epochs, epochs[1:])) and epochs[0] > epochs[-1]
    return _sweep_claim(field, model, index, "an earlier peak",
                        "the peak epochs do not increase in this order and the last is strictly "
                        "earlier than the first", decide)
