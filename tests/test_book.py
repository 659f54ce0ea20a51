"""Builds the book at the smoke profile and looks at the chapter page in headless Chromium.

Slow (a Papermill execution, a Sphinx build and a browser): run with ``make test-slow``.
"""

import shutil
import subprocess
import sys

import pytest

from conftest import REPO, needs_cifar

pytestmark = [pytest.mark.slow, needs_cifar]


def test_book_builds_and_shows_the_chapter_with_its_figures(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium not installed (apt-get install -y chromium)")
    build = tmp_path / "build"
    subprocess.run([sys.executable, "-m", "companion.reproduce", "chapter", "spectrum_growth",
                    "--profile", "smoke", "--out", str(REPO / "book" / "spectrum_growth.ipynb")],
                   cwd=REPO, check=True, timeout=1800)
    subprocess.run([str(REPO / ".venv" / "bin" / "jupyter-book"), "build", str(REPO),
                    "--path-output", str(build), "--quiet"], check=True, timeout=900)
    page = build / "_build" / "html" / "book" / "spectrum_growth.html"
    assert page.exists()
    html = page.read_text()
    assert html.count("<img") >= 4, "the four figures are embedded"
    assert "profile <code" in html and "holds" in html

    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-background-networking", "--virtual-time-budget=5000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert "Spectrum growth along the SGD path" in dom and "Fig. 4" in dom
    shot = tmp_path / "chapter.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--virtual-time-budget=5000",
                    "--window-size=1200,3000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 50_000
