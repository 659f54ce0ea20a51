"""Results cache: every run is stored on disk under a key that hashes its full
parameters, written atomically, together with its provenance and the version of the code
that made its numbers.

The *code version* is a hash of the package modules that determine a run's numbers
(``NUMERIC_MODULES``: data, models, tasks, optimizers, probes, Hessian, Lanczos, the training
loop, the configuration). A cached result made by other code is never served as current:
in the writable cache it is recomputed; a committed paper-profile result made by an earlier
version is returned marked ``"stale"`` (with both versions named), so the book shows it
with that version instead of dropping it or passing it off as current. Plotting, claims
and the book's text are not part of it: changing them re-plots without recomputing.

Layout (showyourwork-style: what is generated lives under the ignored ``data/``)::

    data/cache/runs/<model>-<key>/result.json      # history + provenance
    data/cache/runs/<model>-<key>/weights.pt       # final weights (runs may start from them)
    data/cache/runs/<model>-<key>/checkpoint.pt    # while a run is in progress
    data/cache/runs/<model>-<key>/snapshots/       # weights after RunConfig.snapshot_steps
    data/cache/runs/<model>-<key>/<probe>-<k>.json # a post-hoc probe's analysis of them
    data/paper/runs/<model>-<key>/result.json      # committed paper-profile results (GPU)

``load`` looks in the cache first, then in the committed paper results, so the
book can show paper-profile figures on a machine without a GPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from . import __version__
from .config import RunConfig
from .data import data_dir

SCHEMA_VERSION = 2  # bump when the layout of stored results changes
REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(__file__).resolve().parent
STEP_LOG_KEPT = 2_000   # per-step entries kept in an exported (committed) result
# The modules whose source makes the numbers: every run uses the core ones; an optional one
# only counts for the runs that use it, so that (say) a change to the walk probe leaves the
# committed Sagun et al. results current. ``code_version(config)`` hashes the run's own set.
CORE_MODULES = ("config.py", "data.py", "data_extra.py", "batching.py", "models.py",
                "models_small.py", "tasks.py", "optim.py", "probes.py", "hessian.py",
                "lanczos.py", "training.py", "steps.py", "runtime.py")
_WALK_MODELS = ("vgg11_walk", "resnet56", "mlp_bn")
OPTIONAL_MODULES = {  # module → whether a run (RunConfig) uses it
    "models_walk.py": lambda c: c.model in _WALK_MODELS,
    "probes_walk.py": lambda c: any(p.name == "walk" for p in c.probes),
    "landscape.py": lambda c: any(p.name == "walk" for p in c.probes),
    "optim_walk.py": lambda c: c.optimizer in ("gd_noise", "scheduled"),
    "probes_tables.py": lambda c: any(p.name in ("val", "norms") for p in c.probes),
}
NUMERIC_MODULES = CORE_MODULES + tuple(OPTIONAL_MODULES)
_CODE_VERSIONS: dict = {}


# The order of the one all-modules hash that stamped every result before per-run versions.
_LEGACY_ORDER = ("config.py", "data.py", "data_extra.py", "batching.py", "models.py",
                 "models_small.py", "models_walk.py", "probes_walk.py", "landscape.py",
                 "tasks.py", "optim.py", "optim_walk.py", "probes.py", "probes_tables.py",
                 "hessian.py", "lanczos.py", "training.py", "steps.py", "runtime.py")


def current_versions(config: RunConfig) -> tuple:
    """The stamps that mean "made by today's code" for ``config``: its per-run version, and
    the all-modules hash of the earlier scheme (which matches only while every numeric
    module is byte-identical to the code that stamped it)."""
    return code_version(config), _hash(_LEGACY_ORDER)


def _hash(modules: tuple) -> str:
    if modules not in _CODE_VERSIONS:
        digest = hashlib.sha256()
        for name in modules:
            digest.update(name.encode() + b"\0" + (PACKAGE / name).read_bytes())
        _CODE_VERSIONS[modules] = digest.hexdigest()[:12]
    return _CODE_VERSIONS[modules]


def numeric_modules(config: Optional[RunConfig] = None) -> tuple:
    """The modules whose source makes ``config``'s numbers (all of them without a config)."""
    if config is None:
        return NUMERIC_MODULES
    runs = [config]
    while runs[-1].start_from is not None:   # a run that starts from another uses its code too
        runs.append(runs[-1].start_from)
    return CORE_MODULES + tuple(m for m, used in OPTIONAL_MODULES.items()
                                if any(used(c) for c in runs))


def code_version(config: Optional[RunConfig] = None) -> str:
    """A short hash of the source of the modules that make ``config``'s numbers (without a
    config: of every numeric module)."""
    return _hash(numeric_modules(config))


def data_root() -> Path:
    """The project's ignored data folder (``COMPANION_DATA`` overrides it)."""
    return data_dir()


def run_key(config: RunConfig) -> str:
    """A short hash of everything that determines the run's numbers."""
    identity = {"schema": SCHEMA_VERSION, **config.identity()}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _file_mode() -> int:
    """The mode ``open()`` gives a new file under this process's umask (mkstemp's is 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_replace(path: Path, write: Callable[[str], None], suffix: str = ".tmp") -> None:
    """``write(tmp)`` a temporary file in ``path``'s folder, then rename it over ``path``: a
    failed write never replaces an earlier file. The file gets the mode a plain ``open()``
    would give it (not mkstemp's 0600), so that results can be served and shared."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.fchmod(fd, _file_mode())
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    atomic_replace(path, write)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def atomic_torch_save(path: Path, obj: Any) -> None:
    atomic_replace(path, lambda tmp: torch.save(obj, tmp))


class ResultsCache:
    """Stores run results keyed by :func:`run_key`."""

    def __init__(self, root: Optional[Path] = None, read_only_roots: Optional[list] = None):
        self.root = Path(root) if root is not None else data_root() / "cache" / "runs"
        if read_only_roots is None:
            read_only_roots = [REPO_ROOT / "data" / "paper" / "runs"]
        self.read_only_roots = [Path(r) for r in read_only_roots]

    def run_dir(self, config: RunConfig) -> Path:
        return self.root / f"{config.model}-{run_key(config)}"

    def checkpoint_path(self, config: RunConfig) -> Path:
        return self.run_dir(config) / "checkpoint.pt"

    def weights_path(self, config: RunConfig) -> Path:
        """The run's final weights (a later run may start from them, ``start_from``)."""
        return self.run_dir(config) / "weights.pt"

    def snapshot_path(self, config: RunConfig, step: int) -> Path:
        """The weights after ``step`` steps (``RunConfig.snapshot_steps``)."""
        return self.run_dir(config) / "snapshots" / f"step-{int(step):07d}.pt"

    def load(self, config: RunConfig, accept_stale: bool = True) -> Optional[dict]:
        """The stored result of this exact configuration made by the current code, else a
        committed one made by other code (marked ``result["stale"]``), else None."""
        name = f"{config.model}-{run_key(config)}"
        stale = None
        for root in [self.root, *self.read_only_roots]:
            path = root / name / "result.json"
            if not path.exists():
                continue
            with open(path) as handle:
                result = json.load(handle)
            made_by = result.get("provenance", {}).get("code_version")
            if made_by in current_versions(config):
                return result
            if root != self.root and stale is None:
                stale = {**result, "stale": {"made_by": made_by,
                                             "current": code_version(config)}}
        return stale if accept_stale else None

    def save(self, config: RunConfig, result: dict) -> Path:
        path = self.run_dir(config) / "result.json"
        atomic_write_json(path, result)
        return path

    def export(self, config: RunConfig, dest: Optional[Path] = None) -> Path:
        """Copy a finished run's result and its post-hoc analyses (no weights) to ``dest``
        (default: the committed paper results, ``data/paper/runs``). A per-step log longer
        than ``STEP_LOG_KEPT`` entries is thinned to every k-th step (``step_log_every``),
        so a 10⁶-step run stays a small file; the copies are compact JSON."""
        source = self.run_dir(config)
        result = json.loads((source / "result.json").read_text())
        log = result.get("step_log") or []
        if len(log) > STEP_LOG_KEPT:
            every = -(-len(log) // STEP_LOG_KEPT)
            result["step_log"] = log[every - 1::every] + ([log[-1]] if len(log) % every else [])
            result["step_log_every"] = every
        target = Path(dest or self.read_only_roots[0]) / source.name
        atomic_write_bytes(target / "result.json", compact_json(result))
        from .analyses import analysis_key, post_hoc

        for probe in post_hoc(config):   # its post-hoc analyses, <probe>-<key>.json
            analysis = source / f"{probe.name}-{analysis_key(config, probe)}.json"
            if analysis.exists():
                atomic_write_bytes(target / analysis.name,
                                   compact_json(json.loads(analysis.read_text())))
        return target


def compact_json(obj) -> bytes:
    """``obj`` as the committed copies store it: compact, keys sorted."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def provenance(config: RunConfig, device: torch.device, wall_time_s: float) -> dict:
    """Where a result came from: parameters, seed, commit, device, versions, wall time."""
    import numpy

    return {
        "parameters": config.identity(),
        "seed": config.seed,
        "key": run_key(config),
        "code_version": code_version(config),
        "code_modules": list(numeric_modules(config)),
        "commit": git_commit(),
        "device": describe_device(device),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "companion": __version__,
        },
        "wall_time_s": round(wall_time_s, 2),
    }


def git_commit() -> str:
    """The repository's commit (with '+dirty' when the tree has changes), or 'unknown'.

    ``COMPANION_COMMIT`` supplies it where the checkout has no ``.git`` (a copied tree)."""
    if os.environ.get("COMPANION_COMMIT"):
        return os.environ["COMPANION_COMMIT"]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def describe_device(device: torch.device) -> str:
    """A human-readable name of the hardware, e.g. 'NVIDIA H100 80GB HBM3' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu} ({torch.get_num_threads()} threads)"


def save_checkpoint(path, model, optimizer, gen, state) -> None:
    atomic_torch_save(path, {  # all numeric modules: a checkpoint is local and short-lived
        "code_version": code_version(),
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "generator": gen.get_state(), "cpu_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "state": state,
    })


def restore_checkpoint(path, model, optimizer, gen) -> Optional[dict]:
    """The saved loop state, or None when the checkpoint was made by other code."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if saved.get("code_version") != code_version():
        path.unlink(missing_ok=True)
        return None
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])  # moves momentum buffers to the params' device
    gen.set_state(saved["generator"])
    torch.set_rng_state(saved["cpu_rng"])
    if saved["cuda_rng"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    return saved["state"]
