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
from operator import attrgetter
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
    value: float       # maximum of the smoothed λ series after the initial fall, if any
    epoch: float       # first epoch at which the smoothed series reaches PEAK_LEVEL × value
    settled: bool      # that epoch lies in the first SETTLED fraction of the run
    initial: float
    final: float
    at_least: float    # what the peak is known to be at least (the value, once settled)
    not_before: float  # the earliest epoch the peak can still come at (ditto)
    fall_until: Optional[float]  # the epoch the initial fall ended at, if λ first fell

    def describe(self) -> str:
        state = "peaked" if self.settled else (
            f"still growing: at least {self.at_least:.4g}, not before epoch {self.not_before:g}")
        fall = "" if self.fall_until is None else f"after a fall until epoch {self.fall_until:g}, "
        return f"{fall}peak {self.value:.4g} reached at epoch {self.epoch:g} ({state})"


def _fall_end(smooth: list) -> int:
    """Index where the smoothed series stops falling (0 when it does not fall first)."""
    end = 0
    while end + 1 < len(smooth) and smooth[end + 1] < smooth[end]:
        end += 1
    return end


def peak(result: dict, index: int = 0) -> Peak:
    """The peak of λ_index along training, robust to SGD's oscillations (see module constants).

    When λ first falls (BatchNorm nets at initialization), the peak is sought after the
    bottom of that fall. A run still growing has a peak of at least the largest smoothed
    value whose running-mean window is complete (later evaluations cannot change it), coming
    no earlier than the first evaluation within PEAK_LEVEL of that bound."""
    return peak_of(*lambda_series(result, index))


def peak_of(epochs: list, values: list) -> Peak:
    """:func:`peak` of a series given as epochs and values."""
    smooth = smoothed(list(values))
    start = _fall_end(smooth)
    fell = start > 0 and start + 1 < len(smooth)
    start = start if fell else 0

    def crossing(top):
        return next(i for i in range(start, len(smooth)) if smooth[i] >= PEAK_LEVEL * top)

    top = max(smooth[start:])
    position = crossing(top)
    span = epochs[-1] - epochs[0]
    settled = bool(span > 0 and (epochs[position] - epochs[0]) <= SETTLED * span)
    fixed = smooth[start:len(smooth) - SMOOTH // 2] or smooth[start:]
    at_least = top if settled else max(fixed)
    not_before = epochs[position] if settled else epochs[crossing(at_least)]
    return Peak(top, epochs[position], settled, values[0], values[-1], at_least, not_before,
                epochs[start] if fell else None)


PEAK_RULE = (f"λ1 is smoothed by a running mean over {SMOOTH} evaluations; its peak is the "
             f"maximum (after the bottom of an initial fall, where λ1 first falls), reached at "
             f"the first evaluation within {PEAK_LEVEL:.0%} of it; a run has peaked when that "
             f"comes in the first {SETTLED:.0%} of the run, otherwise λ1 is still growing: its "
             "peak is then at least the largest smoothed value seen so far and comes no earlier "
             "than now, and a claim these bounds cannot decide is not reached")


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


def _sweep_claim(field: str, model: str, index: int, says: str, rule: str, decide,
                 explain: str = PEAK_RULE, ends_below: Optional[int] = None) -> Claim:
    """A claim about how the peak of λ_{index+1} moves along a sweep of η or S: ``decide``
    gets the peaks in the paper's order and returns holds, fails or not reached (the
    bounds of runs still growing cannot decide it). With ``ends_below``, runs on fewer
    training examples than that (a shrunk profile) are judged on the two ends of the
    sweep only."""
    name = f"λ{index + 1}"

    def check(runs):
        ordered = sweep_runs(runs, model, field)
        peaks = [peak(r, index) for _, r in ordered]
        listing = ", ".join(f"{_value(c, field)}: {p.describe()}" for (c, _), p in zip(ordered, peaks))
        full_rule = f"holds if {rule}; {explain}"
        if len(peaks) < 2:
            return NOT_REACHED, f"fewer than two runs in the sweep ({full_rule})"
        shrunk = ends_below is not None and any(
            c.n_train is not None and c.n_train < ends_below for c, _ in ordered)
        if shrunk and len(peaks) > 2:
            full_rule = (f"on fewer than {ends_below:,} training examples only the ends of the "
                         f"sweep, {_value(ordered[0][0], field)} and "
                         f"{_value(ordered[-1][0], field)}, are compared; {full_rule}")
            peaks = [peaks[0], peaks[-1]]
        return decide(peaks), f"{model} {name}: {listing} ({full_rule})"
    return Claim(f"{model}: {_sweep_name(field)} gives {says} of {name}.", check, model)


def _before(a: Peak, b: Peak, get: Callable, strict: bool) -> Optional[bool]:
    """Whether ``get(a)`` (a peak's value or epoch) is above (``strict``) or at least
    ``get(b)``. The bound of a run still growing can only move up, so what the bounds show
    stands when b has peaked (a can only rise) or, shown false, when a has peaked (b can
    only rise); otherwise None: left open."""
    shown = get(a) > get(b) if strict else get(a) >= get(b)
    if shown and b.settled:
        return True
    if not shown and a.settled:
        return False
    return None


def _chain(pairs: list) -> str:
    if any(p is False for p in pairs):
        return FAILS
    return NOT_REACHED if any(p is None for p in pairs) else HOLDS


def peak_smaller(field: str, model: str, index: int = 0, ends_below: Optional[int] = None) -> Claim:
    """Along a sweep of η (increasing) or S (decreasing), the peak of λ_{index+1} decreases
    (``ends_below``: see :func:`_sweep_claim`)."""
    return _sweep_claim(field, model, index, "a smaller peak",
                        "the peaks strictly decrease in this order",
                        lambda peaks: _chain([_before(a, b, attrgetter("at_least"), True)
                                              for a, b in zip(peaks, peaks[1:])]),
                        ends_below=ends_below)


def max_smaller(field: str, model: str, index: int = 0) -> Claim:
    """Along the sweep, the largest λ_{index+1} of the run as it was run (after an initial
    fall) decreases: "limits the maximum spectral norm throughout training" (Fig. 13)."""
    return _sweep_claim(field, model, index, "a smaller maximum over training",
                        "the largest smoothed value of each run, after the bottom of an initial "
                        "fall (see the peak rule), strictly decreases in this order",
                        lambda peaks: all(a.value > b.value for a, b in zip(peaks, peaks[1:])),
                        explain=f"peaked or not: the run's own length is its training; "
                                f"{PEAK_RULE}")


def peak_earlier(field: str, model: str, index: int = 0) -> Claim:
    """Along the sweep, the peak of λ_{index+1} comes no later, and strictly earlier at the end."""
    def decide(peaks):
        epoch = attrgetter("not_before")
        return _chain([_before(a, b, epoch, False) for a, b in zip(peaks, peaks[1:])]
                      + [_before(peaks[0], peaks[-1], epoch, True)])
    return _sweep_claim(field, model, index, "an earlier peak",
                        "the peak epochs do not increase in this order and the last is strictly "
                        "earlier than the first", decide)
