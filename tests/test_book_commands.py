"""Every command the book and the README print still works: each `make reproduce`,
`make claims`, `python -m companion.reproduce` and `papermill` line of their code blocks
names existing figures, profiles and parameters, checked the way the command itself checks
them before anything trains (a `Plan` resolves and validates every run; nothing trains)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from companion import registry
from companion.config import ParameterError
from companion.plan import Plan, notebook_plan, split_param_string

ROOT = Path(__file__).resolve().parents[1]


def code_blocks(path: Path) -> list:
    """The shell code blocks of a Markdown file or of a Jupytext notebook's Markdown cells
    (lines joined where they end with a backslash, shell variables expanded)."""
    lines = path.read_text().splitlines()
    if path.suffix == ".py":  # a Jupytext percent notebook: Markdown lines start with "# "
        lines = [line[2:] if line.startswith("# ") else line[1:] if line == "#" else ""
                 for line in lines]
    blocks, current = [], None
    for line in lines:
        if line.strip().startswith("```"):
            if current is None and line.strip()[3:] in ("bash", "sh", "shell"):
                current = []
            elif current is not None:
                blocks.append(_commands(current))
                current = None
            continue
        if current is not None:
            current.append(line)
    return blocks


def _commands(lines: list) -> list:
    joined, variables, out = re.sub(r"\\\n\s*", " ", "\n".join(lines)), {}, []
    for line in joined.splitlines():
        line = re.sub(r"\$(\w+)", lambda m: variables.get(m.group(1), m.group(0)), line)
        words = shlex.split(line, comments=True)
        if len(words) == 1 and re.fullmatch(r"\w+=.*", words[0]):
            name, value = words[0].split("=", 1)
            variables[name] = value
        elif words:
            out.append(words)
    return out


def sources() -> list:
    return [ROOT / "README.md", *sorted((ROOT / "book").glob("*.md")),
            *sorted((ROOT / "notebooks").glob("*.py"))]


def checks(path: Path) -> list:
    """(command, check) for every runnable command of ``path``'s code blocks."""
    out = []
    for block in code_blocks(path):
        notebook = None
        for words in block:
            text = " ".join(words)
            if words[:2] in (["make", "reproduce"], ["make", "claims"], ["make", "plan"]):
                out.append((text, _make(words)))
            elif words[:3] == ["python", "-m", "companion.reproduce"]:
                out.append((text, _cli(words[3:])))
            elif words[0] == "jupytext":
                notebook = Path(words[words.index("--to") + 2]).stem
            elif words[0] == "papermill":
                out.append((text, _papermill(notebook, words)))
    return out


def _make(words: list):
    options = dict(w.split("=", 1) for w in words[2:])
    params, grids = split_param_string(options.get("PARAMS", ""))
    return lambda: Plan(options["FIG"], options.get("PROFILE", "default"), params, grids)


def _cli(args: list):
    command, target = args[0], args[1]
    profile = args[args.index("--profile") + 1] if "--profile" in args else "default"
    items = [args[i + 1] for i, a in enumerate(args) if a == "--param"]
    params, grids = split_param_string(" ".join(items))
    if command in ("fig", "compute", "claims", "plan"):
        from companion.reproduce import _figure_ids

        return lambda: Plan(",".join(_figure_ids(target)), profile, params, grids)
    assert command == "chapter", f"unknown command {command}"
    return lambda: Plan("", profile, params, grids, chapter=target)


def _papermill(notebook, words: list):
    assert notebook in registry.chapters(), "papermill without a jupytext line before it"
    given = {words[i + 1]: words[i + 2] for i, w in enumerate(words) if w == "-p"}
    figures, params = given.pop("figures", ""), given.pop("params", "")
    profile = given.pop("profile", "default")
    grids = {k[:-5]: given.pop(k) for k in list(given) if k.endswith("_grid")}
    return lambda: notebook_plan(notebook, figures, profile, "", params, False, grids, **given)


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.name)
def test_every_printed_command_validates(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path))
    for text, check in checks(path):
        try:
            check()
        except Exception as error:  # noqa: BLE001 - say which printed command broke
            pytest.fail(f"{path.name}: `{text}` no longer validates: {error}")


def test_the_commands_are_found():
    """The extraction sees the commands (so the test above cannot pass by finding none):
    continuation lines are joined, variables expanded, papermill tied to its notebook."""
    found = {path.name: [text for text, _ in checks(path)] for path in sources()}
    assert sum(map(len, found.values())) >= 30
    assert all(found[f"{chapter}.py"] for chapter in registry.chapters())
    nc = " | ".join(found["negative_curvature.py"])
    assert "snapshot_steps=0,2,4,8,16,40,80,160,240,320" in nc and "$S" not in nc
    assert any("activation=tanh" in t for t in found["outlier_counts.py"])
    for broken in (["FIG=99"], ["FIG=4", "PARAMS=foo=1"], ["FIG=4", "PROFILE=smok"]):
        with pytest.raises(ParameterError):
            _make(["make", "reproduce", *broken])()
