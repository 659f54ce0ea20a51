"""What a figure's execution shows a reader: the image, the paper's caption, the profile
and hardware that made it, what differs from the paper, the claims with their status, and
the runs' parameters. Rendered as HTML (real tables, sphinx-design badges), which Jupyter
and the book both display; nothing here prints a path of the machine that built it."""

from __future__ import annotations

import html
import math
import string
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from .analyses import post_hoc
from .claims import FAILS, HOLDS, NOT_REACHED, ClaimOutcome
from .registry import Figure, display_name

BADGE = {HOLDS: "success", FAILS: "danger", NOT_REACHED: "warning"}
PARAMETER_COLUMNS_SKIP = ("probes", "optimizer_options", "dataset", "seed")


def badge(status: str) -> str:
    colour = BADGE[status]
    return (f'<span class="sd-sphinx-override sd-badge sd-bg-{colour} sd-bg-text-{colour} '
            f'claim-status" data-status="{status}">{status}</span>')


def claims_table(claims: list, with_figure: bool = False) -> str:
    head = "<th>figure</th>" if with_figure else ""
    rows = []
    for c in claims:
        fig = f"<td>{html.escape(display_name(c.figure))}</td>" if with_figure else ""
        evidence = "" if with_figure else f"<td class='claim-evidence'>{html.escape(c.evidence)}</td>"
        rows.append(f"<tr class='claim-row'>{fig}<td>{html.escape(c.claim)}</td>"
                    f"<td>{badge(c.status)}</td>{evidence}</tr>")
    evidence_head = "" if with_figure else "<th>evidence (computed from this run)</th>"
    return (f"<table class='claims-table table'><thead><tr>{head}<th>claim</th><th>result</th>"
            f"{evidence_head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def tally(claims: list) -> str:
    counts = {s: sum(c.status == s for c in claims) for s in (HOLDS, FAILS, NOT_REACHED)}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no claims"


def quote(template: str, numbers: Mapping, figure: str, missing: str = "") -> str:
    """A sentence of the prose that quotes this execution's numbers: ``template`` filled
    with ``numbers`` (``str.format``: LaTeX braces are doubled), or, where one of them is
    absent, None or not finite (``figure`` has no complete runs in this execution, e.g. at
    the paper profile before its GPU results are committed), ``missing`` or a sentence
    that says so."""
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    values = [numbers.get(name) for name in names]
    if all(v is not None and (isinstance(v, str) or math.isfinite(v)) for v in values):
        return template.format(**numbers)
    return missing or f"*This execution has no result for {display_name(figure)} to quote here.*"


def table_parameters(config) -> dict:
    """``config.flat()``, except that a probe option named like a run field or like another
    probe's option is shown as ``probe.option`` (the name overrides use), so that none hides
    the other: a walk run's ``epochs=40`` beside ``walk.epochs=(1, 2, 10, 25)``."""
    run = config.identity()
    probes = run.pop("probes")
    counts = Counter(k for p in probes for k in p if k != "probe")
    clash = {k for k, n in counts.items() if n > 1 or k in run}
    flat = config.flat()
    for k in clash:
        if k in run:
            flat[k] = run[k]
        else:
            flat.pop(k, None)
    for p in probes:
        flat.update({f"{p['probe']}.{k}": v for k, v in p.items() if k in clash})
    return flat


def short_value(value) -> str:
    """A parameter's value for a line of text: floats by %g, a long tuple by its ends."""
    if isinstance(value, (list, tuple)):
        if not value:
            return "()"
        return ",".join(short_value(v) for v in value) if len(value) <= 12 else (
            f"{short_value(value[0])},…,{short_value(value[-1])} ({len(value)} values)")
    return f"{value:g}" if isinstance(value, float) else str(value)


NO_RESULT_YET = "no committed result yet (it needs a GPU)"  # a paper-profile run not computed
PARTIAL = "only part of its analysis is committed"   # a paper-profile analysis in progress


def partial_reason(done: list, missing: list, stale: tuple = ()) -> str:
    """Why a run with a partly committed analysis (shown, not graded) is still missing
    (``stale``: the steps shown that earlier code made, to be computed again)."""
    shown = ", ".join(f"{t:,}" for t in done)
    again = (f", t = {', '.join(f'{t:,}' for t in stale)} made by earlier code" if stale
             else "")
    return (f"{PARTIAL}: {len(done)} of {len(done) + len(missing)} steps (t = {shown}){again}; "
            f"{'these and the other steps' if stale else 'the others'} need a GPU session")


def pending(why: str) -> bool:
    """Whether a missing run waits for GPU time (not for data this machine lacks)."""
    return why == NO_RESULT_YET or why.startswith(PARTIAL)

@dataclass
class FigureOutcome:
    """What running one figure produced."""

    figure: Figure
    profile: str
    runs: dict                 # label -> (RunConfig, result)
    claims: list               # ClaimOutcome
    image: Path
    output_dir: Path
    hardware: str
    wall_time_s: float
    parameters: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)  # label -> why its data could not be loaded

    def stale_runs(self) -> list:
        """(what, stamp) of each run, or post-hoc analysis of a run, shown from a committed
        result that earlier code made (its stamp names both versions)."""
        out = []
        for label, (config, r) in self.runs.items():
            if r.get("stale"):
                out.append((f"run {label}", r["stale"]))
            out += [(f"the {p.name} analysis of run {label}", r[p.name]["stale"])
                    for p in post_hoc(config)
                    if isinstance(r.get(p.name), dict) and r[p.name].get("stale")]
        return out

    def parameters_table(self) -> str:
        """One row per run with the parameters that differ between its runs."""
        flat = {label: table_parameters(config) for label, (config, _) in self.runs.items()}
        if not flat:
            return "<p class='params-common'>No training run.</p>"
        keys = [k for k in dict.fromkeys(k for f in flat.values() for k in f)
                if k not in PARAMETER_COLUMNS_SKIP]   # runs may set different options
        flat = {label: {k: f.get(k, "—") for k in keys} for label, f in flat.items()}
        varying = [k for k in keys if len({repr(f[k]) for f in flat.values()}) > 1]
        shared = [k for k in keys if k not in varying]
        head = "".join(f"<th>{html.escape(k)}</th>" for k in varying)
        rows = "".join(
            f"<tr><td>{html.escape(label)}</td>"
            + "".join(f"<td>{html.escape(str(flat[label][k]))}</td>" for k in varying)
            + f"<td>{result['provenance']['wall_time_s']:.0f} s</td></tr>"
            for label, (_, result) in self.runs.items())
        common = ", ".join(f"{k}={next(iter(flat.values()))[k]}" for k in shared)
        return (f"<table class='params-table table'><thead><tr><th>run</th>{head}"
                f"<th>compute time</th></tr></thead><tbody>{rows}</tbody></table>"
                f"<p class='params-common'>Shared by all runs: {html.escape(common)}.</p>"
                + self._analyses_html())

    def _analyses_html(self) -> str:
        """The options of the runs' post-hoc analyses (not part of a run's parameters: they
        analyse its saved weights), once per distinct setting, with the runs it serves."""
        settings: dict = {}
        for label, (config, _) in self.runs.items():
            for probe in post_hoc(config):
                text = ", ".join(f"{k}={short_value(v)}" for k, v in asdict(probe).items())
                settings.setdefault((probe.name, text), []).append(label)
        return "".join(f"<p class='params-common'>The {html.escape(name)} analysis of "
                       f"{html.escape(', '.join(labels))}: {html.escape(text)}.</p>"
                       for (name, text), labels in settings.items())

    def _claims_html(self) -> str:
        if self.missing and all(why == NO_RESULT_YET for why in self.missing.values()):
            return (f"<p><strong>Not yet at the paper profile:</strong> "
                    f"{html.escape(', '.join(self.missing))} (no committed result; it needs a "
                    "GPU). No claim is computed until every run has one.</p>")
        if self.missing and all(pending(why) for why in self.missing.values()):
            whys = "; ".join(f"{label}: {why}" for label, why in self.missing.items())
            return (f"<p><strong>Not complete at the paper profile</strong> ({html.escape(whys)})"
                    ". The figure shows what is committed; no claim is computed until every "
                    "step is in.</p>")
        if self.missing:
            reasons = sorted(set(self.missing.values()))
            return (f"<p><strong>Not run:</strong> {len(self.missing)} run(s) need data that "
                    f"is not available here ({html.escape('; '.join(reasons))}); the paper's "
                    "numbers are shown, and no claim is computed. With the data in place "
                    "(see the data section of the README) the same call runs them.</p>")
        if not self.claims and self.figure.no_claims:
            return f"<p><strong>Claims:</strong> none; {html.escape(self.figure.no_claims)}.</p>"
        return (f"<p><strong>Claims, computed from this run</strong> ({tally(self.claims)}):"
                f"</p>{claims_table(self.claims)}")

    def _repr_html_(self) -> str:
        f = self.figure
        stale = "".join(
            f"<p><strong>Made by earlier code:</strong> {html.escape(what)} was computed "
            f"by code version <code>{s['made_by']}</code>; the current version is "
            f"<code>{s['current']}</code>.</p>" for what, s in self.stale_runs())
        return (
            f"<div class='figure-outcome' data-figure='{html.escape(f.id)}'>"
            f"<p><strong>{html.escape(display_name(f.id))} ({_caption_source(f)}).</strong> "
            f"{html.escape(f.caption)}</p>"
            f"<p><strong>This run:</strong> profile <code>{self.profile}</code>, "
            + (f"on {html.escape(self.hardware)}, compute time {self.wall_time_s:.0f} s. "
               if self.runs else "nothing trained (no run, or its data is missing). ") +
            f"Relative to the paper: {html.escape(f.shrunk.get(self.profile, 'the paper settings'))}."
            f"</p>{stale}{self._claims_html()}"
            f"<details><summary>Parameters of the runs</summary>{self.parameters_table()}"
            f"</details></div>")

    def show(self) -> None:
        """Display the figure image, then its caption, provenance, claims and parameters."""
        from IPython.display import HTML, Image, display

        display(Image(filename=str(self.image)))
        display(HTML(self._repr_html_()))


def _caption_source(figure) -> str:
    """Whose caption a figure shows: the paper's, or this book's for its own checks."""
    return ("this book's caption" if figure.caption.startswith("(No figure in the paper")
            else "the paper's caption")


def summary_html(outcomes: list) -> str:
    """The claims of every figure computed in this execution, one row per claim."""
    claims = [c for o in outcomes for c in o.claims]
    if not claims:
        return "<p><em>No figure was computed in this execution.</em></p>"
    profiles = sorted({o.profile for o in outcomes})
    return (f"<p><strong>In this execution</strong> (profile {', '.join(profiles)}): "
            f"{tally(claims)}.</p>" + claims_table(claims, with_figure=True))


def outcome_from_claims(claims: list) -> list:
    """ClaimOutcome objects back from ``claims.json`` dicts."""
    return [ClaimOutcome(c["claim"], c["status"], c["evidence"], c.get("figure", ""))
            for c in claims]
