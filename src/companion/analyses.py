"""Post-hoc analyses of a run's saved weights: running them, caching them, and the version
of the code that made each one.

A post-hoc probe (:mod:`companion.probes_snapshots`, :mod:`companion.probes_spectra`)
analyses a run's snapshots after training. :func:`attach_analyses` gives each probe's
analysis under the probe's name: from the disk cache, else a committed one, else computed
from the snapshots and cached atomically, keyed by :func:`analysis_key` (the run and the
probe's options).

Each analysis is stamped with :func:`analysis_version`: the run's numeric code version
(:func:`companion.results.code_version`) hashed with the source of the modules the probe
itself declares (its ``sources``). A change to one probe's module therefore leaves the
analyses of the others current (a change to the line searches of Figs. 3–6 does not make
the committed spectra of Sagun et al. stale). An analysis made by other code is never served
as current: in the writable cache it is computed again; a committed one is shown marked
``stale``.

Until commit 94287bf one hash over all five analysis modules stamped every analysis. The
analyses it stamped were restamped once with their probe's version when the modules were
split (no numeric change), each after checking its old stamp against 94287bf's source; their
``provenance.restamped`` says so.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from typing import Optional

from .results import PACKAGE, code_version, run_key

_VERSIONS: dict = {}


def analysis_sources(probe) -> tuple:
    """The package modules whose source makes ``probe``'s numbers (besides the run's own
    numeric code); every post-hoc probe declares them."""
    sources = getattr(probe, "sources", None)
    if not sources:
        raise TypeError(f"post-hoc probe {type(probe).__name__} declares no `sources` (the "
                        "modules whose code makes its numbers)")
    return tuple(sources)


def analysis_version(config, probe) -> str:
    """The code version of ``probe``'s analysis of ``config``'s run: the run's code
    version and the source of the probe's own modules."""
    code, sources = code_version(config), analysis_sources(probe)
    if (code, sources) not in _VERSIONS:
        digest = hashlib.sha256(code.encode())
        for name in sources:
            digest.update(name.encode() + b"\0" + (PACKAGE / name).read_bytes())
        _VERSIONS[code, sources] = digest.hexdigest()[:12]
    return _VERSIONS[code, sources]


def analysis_key(config, probe) -> str:
    """The file key of ``probe``'s analysis of the run: the run's key and the probe's
    options (not the code: that is the stamp)."""
    ident = {"run": run_key(config), "probe": probe.name, **asdict(probe)}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]


def post_hoc(config) -> list:
    """The run's post-hoc probes (those that analyse its saved weights after training)."""
    return [p for p in config.probes if getattr(p, "post_hoc", False)]


def _paths(config, probe, cache) -> list:
    """Where the probe's analysis of the run is stored: the cache's own root first, then
    the committed roots."""
    name = f"{probe.name}-{analysis_key(config, probe)}.json"
    return [root / cache.run_dir(config).name / name
            for root in (cache.root, *cache.read_only_roots)]


def stored_analysis(config, probe, cache) -> Optional[dict]:
    """The stored analysis :func:`attach_analyses` serves: one made by today's code from
    any root, else a committed one marked ``stale``; None when it would be computed."""
    found = [(i, json.loads(p.read_text())) for i, p in enumerate(_paths(config, probe, cache))
             if p.exists()]
    version = analysis_version(config, probe)
    current = [f for _, f in found if f["provenance"]["analysis_version"] == version]
    committed = [f for i, f in found if i > 0]  # made by other code: shown, marked stale
    if current:
        return current[0]
    if committed:
        return {**committed[0], "stale": {
            "made_by": committed[0]["provenance"]["analysis_version"], "current": version}}
    return None


def attach_analyses(config, result: dict, cache, reporter=None) -> dict:
    """``result`` with each post-hoc probe's analysis under its name: from the disk cache
    (made by the current code, else a committed one marked ``stale``), or computed from the
    run's snapshots (retraining the run if they are missing) and cached atomically."""
    from .results import atomic_write_json, provenance
    from .snapshot_curvature import Snapshots

    out, snaps = dict(result), None
    for probe in post_hoc(config):
        stored = stored_analysis(config, probe, cache)
        if stored is not None:
            out[probe.name] = stored
            continue
        if snaps is None:
            from .training import train

            train(config, cache, need_weights=True)  # re-creates snapshots if missing
            snaps = Snapshots(config, cache)
        if reporter is not None:
            reporter.note(f"analysing snapshots: {probe.name}")
        version, path = analysis_version(config, probe), _paths(config, probe, cache)[0]
        start, before = time.perf_counter(), snaps.num_matvecs
        data = probe.analyze(snaps, config, result)
        wall = time.perf_counter() - start
        data["provenance"] = {**provenance(config, snaps.device, wall),
                              "analysis_version": version, "analysis_sources": list(
                                  analysis_sources(probe)), "options": asdict(probe),
                              "matvecs": snaps.num_matvecs - before}
        atomic_write_json(path, data)
        out[probe.name] = json.loads(path.read_text())  # as a later load will see it
    return out
