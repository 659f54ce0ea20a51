"""Progress of long computations, written to the terminal (stderr), never to the book.

``make reproduce`` runs the chapter notebook with Papermill and forwards the kernel's stderr
to the terminal; the book drops stderr outputs (``nb_output_stderr: remove``), so a reader
sees results and a user at the terminal sees lines such as::

    [Fig. 4 · run 3/18 · resnet32/lr=0.01] epoch 12/40 · λ1 35.2 · train acc 0.41 · 1.6 s/epoch · ~1 min left in this run

A line is written at most every ``interval`` seconds per run, plus one when a run starts
and one when it ends.
"""

from __future__ import annotations

import sys
import time


class Reporter:
    def __init__(self, enabled: bool = True, interval: float = 10.0, stream=None):
        self.enabled, self.interval = enabled, interval
        self.stream = stream if stream is not None else sys.stderr
        self.prefix, self._last = "", 0.0

    def context(self, figure: str, index: int, total: int, label: str) -> "Reporter":
        self.prefix = f"[Fig. {figure} · run {index}/{total} · {label}]"
        return self

    def _write(self, text: str) -> None:
        if self.enabled:
            print(f"{self.prefix} {text}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        self._write(text)

    def start_run(self, config, state) -> None:
        self._last = time.monotonic()
        where = f"resuming at epoch {state['epoch']}" if state["epoch"] else "starting"
        length = f"{config.max_steps} steps" if config.max_steps else f"{config.epochs} epochs"
        self._write(f"{where}: {length}, probes {[p.name for p in config.probes]}")

    def epoch_done(self, config, state) -> None:
        now = time.monotonic()
        done, total = ((state["step"], config.max_steps) if config.max_steps
                       else (state["epoch"], config.epochs))
        if now - self._last < self.interval and done < total:
            return
        self._last = now
        per_epoch = state["elapsed_s"] / max(state["epoch"], 1)
        left = state["elapsed_s"] / max(done, 1) * (total - done)
        last = next((r for r in reversed(state["history"]) if "eigenvalues" in r), {})
        parts = [f"{'step' if config.max_steps else 'epoch'} {done}/{total}"]
        if last.get("eigenvalues"):
            parts.append(f"λ1 {last['eigenvalues'][0]:.4g}")
        if "train_acc" in last:
            parts.append(f"train acc {last['train_acc']:.2f}")
        parts.append(f"{per_epoch:.1f} s/epoch · ~{_duration(left)} left in this run")
        self._write(" · ".join(parts))

    def run_done(self, config, result) -> None:
        self._write(f"done in {_duration(result['provenance']['wall_time_s'])}")

    def cached(self) -> None:
        self._write("loaded from the results cache")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
