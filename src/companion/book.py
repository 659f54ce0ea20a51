"""Build the Jupyter Book: execute every chapter notebook with Papermill at one profile,
then render the book, in a staging folder so nothing is written into ``book/``.

    python -m companion.book [--profile default] [--out _build] [--param name=value ...]

Steps: copy the book's sources (``_config.yml``, ``_toc.yml``, ``references.bib``,
``book/*.md``) to ``<out>/source``, the introduction's ``{paper-status}`` line becoming the
table of committed paper-profile results (:mod:`companion.paper_status`); execute each
chapter (``companion.reproduce``; a chapter that fails stops the build, and its partial
notebook is kept as ``*.failed.ipynb`` beside where it would have gone); then
``jupyter-book build`` with warnings as errors, so a glue reference to a number the run did
not produce fails the build too. The HTML is in ``<out>/_build/html``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from . import paper_status, registry
from .config import ParameterError
from .notebooks import execute_notebook, notebook_parameters
from .plan import Plan, _parse_params, _split_params
from .results import REPO_ROOT

BOOK_SOURCES = ("_config.yml", "_toc.yml", "references.bib")


class BookBuildError(RuntimeError):
    """The book could not be built; the message says which step failed."""


def stage_sources(stage: Path) -> None:
    """A fresh copy of the book's hand-written sources in ``stage``."""
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "book").mkdir(parents=True)
    for name in BOOK_SOURCES:
        shutil.copy2(REPO_ROOT / name, stage / name)
    for page in (REPO_ROOT / "book").glob("*.md"):
        shutil.copy2(page, stage / "book" / page.name)
    intro = stage / "book" / "intro.md"   # where the paper profile stands, counted now
    intro.write_text(intro.read_text().replace(paper_status.MARKER, paper_status.status_table()))


def build(profile: str = "default", out: Path = REPO_ROOT, params: Optional[dict] = None,
          grids: Optional[dict] = None, results_dir: Optional[Path] = None) -> Path:
    """Execute every chapter at ``profile`` and render the book; return the HTML folder."""
    params, grids = dict(params or {}), dict(grids or {})
    chapters = registry.chapters()
    plans = {c: Plan("", profile, params, grids, chapter=c) for c in chapters}  # validate first
    out = Path(out).resolve()
    stage = out / "_build" / "source"
    stage_sources(stage)
    if profile == "paper":  # re-plot the committed GPU results; train nothing (see Plan)
        os.environ["COMPANION_COMMITTED_ONLY"] = "1"
    for chapter, plan in plans.items():
        print(f"executing chapter {chapter} at profile '{profile}'", file=sys.stderr, flush=True)
        execute_notebook(chapter, stage / "book" / f"{chapter}.ipynb",
                         notebook_parameters(",".join(plan.figure_ids), profile, params, grids,
                                             results_dir))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(stage), "--path-output", str(out), "--all",
               "-W", "--keep-going", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BookBuildError(f"jupyter-book build failed (exit {done.returncode}):\n"
                             f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    html = out / "_build" / "html"
    print(f"book: {html / 'index.html'}", file=sys.stderr)
    return html


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m companion.book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--out", type=Path, default=REPO_ROOT,
                        help="the HTML goes to <out>/_build/html (default: the repository)")
    parser.add_argument("--param", action="append", default=[], help="name=value, as for reproduce")
    args = parser.parse_args(argv)
    try:
        params, grids = _split_params(_parse_params(args.param))
        build(args.profile, args.out, params, grids)
    except ParameterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BookBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
