"""Chapter notebooks as Papermill runs them: the Jupytext source converted, executed with
its parameters, the executed notebook written atomically (a failure is kept as
``<name>.failed.ipynb``) and Papermill's injected cell hidden from the book."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Optional

from .config import ParameterError
from .results import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"


def execute_notebook(chapter: str, output: Path, parameters: dict) -> Path:
    """Convert ``notebooks/<chapter>.py`` with Jupytext and execute it with Papermill.

    The executed notebook is written next to ``output`` first and renamed only on
    success; a failed execution is kept as ``<name>.failed.ipynb`` for inspection.
    """
    import jupytext
    import papermill

    source = NOTEBOOKS / f"{chapter}.py"
    if not source.exists():
        raise ParameterError(f"no notebook {source}")
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        converted = Path(tmp) / f"{chapter}.ipynb"
        jupytext.write(notebook, converted)
        partial = output.with_name(f".{output.stem}.partial.ipynb")
        try:
            # The kernel's stderr (progress lines) goes to this terminal; the book drops it.
            papermill.execute_notebook(str(converted), str(partial), parameters=parameters,
                                       kernel_name="python3", cwd=str(NOTEBOOKS),
                                       progress_bar=False, stderr_file=sys.stderr)
        except BaseException:
            if partial.exists():
                os.replace(partial, output.with_name(f"{output.stem}.failed.ipynb"))
            raise
    _hide_injected_parameters(partial)
    os.replace(partial, output)
    return output


def _hide_injected_parameters(path: Path) -> None:
    """Papermill's injected cell holds the values passed in (paths of this machine among
    them): tag it ``remove-cell`` so the book does not show it (the notebook keeps it)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(notebook, path)


def param_pairs(params: dict, grids: dict) -> list:
    """``name=value`` for each run parameter, then ``name_grid=v1,v2`` for each sweep grid
    (the form :func:`companion.plan.split_param_string` reads back)."""
    pairs = [f"{k}={v}" for k, v in params.items()]
    pairs += [f"{k}_grid={','.join(f'{x:g}' for x in v) if isinstance(v, (list, tuple)) else v}"
              for k, v in grids.items()]
    return pairs


def notebook_parameters(figures: str, profile: str, params: dict, grids: dict,
                        output_dir: Optional[Path] = None) -> dict:
    """The Papermill parameters of a chapter notebook: run parameters travel as one string."""
    out = {"figures": figures, "profile": profile, "params": " ".join(param_pairs(params, grids))}
    if output_dir is not None:
        out["output_dir"] = str(output_dir)
    return out
