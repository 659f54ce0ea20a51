"""The command line fails fast on bad input; the chapter notebook runs at smoke profile."""

import json
import subprocess
import sys

import pytest

from companion import reproduce
from companion.config import ParameterError

from conftest import REPO, needs_cifar


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "companion.reproduce", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["fig", "99"], "unknown figure id '99'; valid ids: ['1', '2', '3', '4']"),
    (["fig", "4", "--profile", "huge"], "valid profiles: ['smoke', 'default', 'paper']"),
    (["fig", "1", "--param", "lr=-0.1"], "lr must be a positive number"),
    (["fig", "1", "--param", "model=vgg99"], "unknown model 'vgg99'"),
    (["fig", "4", "--param", "lr_grid=a,b"], "a grid must be comma-separated numbers"),
])
def test_bad_input_fails_at_once_with_the_valid_choices(args, message):
    done = run_cli(*args)
    assert done.returncode == 2 and message in done.stderr


def test_list_names_every_figure():
    done = run_cli("list")
    assert done.returncode == 0 and all(f"  {i}  " in done.stdout for i in "1234")


def test_parse_helpers():
    assert reproduce.parse_figures("1, 4") == ["1", "4"]
    assert reproduce.parse_grid("0.1,1") == [0.1, 1.0]
    with pytest.raises(ParameterError):
        reproduce.parse_figures("")


@needs_cifar
def test_chapter_notebook_executes_at_smoke_profile(tmp_path):
    """Executes notebooks/spectrum_growth.py (Jupytext → Papermill) for every figure."""
    out = tmp_path / "spectrum_growth.ipynb"
    reproduce.execute_notebook("spectrum_growth", out,
                               {"figures": "1,2,3,4", "profile": "smoke",
                                "output_dir": str(tmp_path)})
    notebook = json.loads(out.read_text())
    errors = [o for c in notebook["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    for fig_id in "1234":
        claims = json.loads((tmp_path / f"fig-{fig_id}" / "claims.json").read_text())
        assert claims and all(set(c) >= {"claim", "holds", "evidence"} for c in claims)
        assert (tmp_path / f"fig-{fig_id}" / f"fig-{fig_id}.png").stat().st_size > 10_000
