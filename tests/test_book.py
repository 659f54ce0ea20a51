"""Builds the book at the smoke profile in a temporary folder and reads the chapter page in a
real headless browser (Debian's chromium + chromedriver, driven by Selenium): math typeset
by the local MathJax, every figure image loaded, each figure's claims a real table with one
row per claim and a visible status, no request leaving the machine, no path of this machine
on the page. Also: a chapter that fails stops the build."""

import json
import re
import shutil

import pytest
import torch

from companion import book, registry
from companion.config import ParameterError
from companion.results import REPO_ROOT

from conftest import needs_cifar

pytestmark = [pytest.mark.book, needs_cifar]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    html = book.build("smoke", out, results_dir=out / "results")
    return out, html


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("the browser check needs Debian's chromium and chromium-driver "
                    "(apt-get install -y chromium chromium-driver; .ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1300,2000", "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def test_the_built_html_loads_nothing_from_outside(built):
    out, html = built
    for page in html.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', text), page
        assert str(out) not in text and str(REPO_ROOT) not in text, f"a local path on {page}"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert not list((REPO_ROOT / "book").glob("*.ipynb")), "tests never write into book/"


TITLES = {"spectrum_growth": "Spectrum growth along the SGD path",
          "step_vs_curvature": "The SGD step against the sharpest directions",
          "nsgd": "Nudged-SGD: a smaller step along the sharpest directions",
          "barriers": "A walk with SGD: barriers and the valley floor",
          "outlier_counts": "Bulk and outliers of the Hessian spectrum",
          "negative_curvature": "Negative eigenvalues of the Hessian"}


@pytest.mark.parametrize("chapter", registry.chapters())
def test_chapter_page_in_a_real_browser(built, chapter):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    out, html = built
    fig_ids = [f for f, fig in registry.figures().items() if fig.notebook == chapter]
    page = html / "book" / f"{chapter}.html"
    driver = _browser()
    try:
        driver.get(page.as_uri())
        WebDriverWait(driver, 60).until(lambda d: d.execute_script(
            "return document.querySelectorAll('mjx-container').length") > 5)
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(
            "return Array.from(document.images).every(i => i.complete)"))
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.src, i.naturalWidth])")
        assert len(images) >= len(fig_ids) and all(w > 0 for _, w in images), images
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "\\(" not in text and "\\lambda" not in text, "raw TeX left on the page"
        assert TITLES[chapter] in text and "What this run found" in text
        assert "Passed unknown parameter" not in text and "claims hold; outputs in" not in text
        for fig_id in fig_ids:
            expected = json.loads((out / "results" / f"fig-{fig_id}" / "claims.json").read_text())
            rows = driver.execute_script(
                "const f = document.querySelector(`.figure-outcome[data-figure='${arguments[0]}']`);"
                "return Array.from(f.querySelectorAll('table.claims-table tr.claim-row')).map(r => {"
                " const b = r.querySelector('.claim-status'); const box = b.getBoundingClientRect();"
                " return [b.textContent, b.dataset.status, box.width > 0 && box.height > 0,"
                " getComputedStyle(b).visibility]; })", fig_id)
            assert [r[1] for r in rows] == [c["status"] for c in expected], fig_id
            assert all(r[0] == r[1] and r[2] and r[3] == "visible" for r in rows), rows
        requests = [json.loads(m["message"])["message"] for m in driver.get_log("performance")]
        urls = [m["params"]["request"]["url"] for m in requests
                if m["method"] == "Network.requestWillBeSent"]
        assert urls and all(u.split(":")[0] in ("file", "data", "blob", "about") for u in urls), \
            [u for u in urls if not u.startswith("file:")]
        sidebar = driver.execute_script(
            "return Array.from(document.querySelectorAll('#pst-page-toc-nav a')).map(a => a.textContent)")
        assert len(sidebar) >= len(fig_ids) and not any("\\(" in s for s in sidebar)
    finally:
        driver.quit()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_failing_chapter_stops_the_build(tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match="no CUDA device"):   # refused before staging
        book.build("smoke", tmp_path, {"device": "cuda"}, results_dir=tmp_path / "results")
    assert not (tmp_path / "_build").exists()
    # a chapter that fails while it runs: the kernel inherits a thread count torch rejects
    # when the first run starts (a seed no other test uses, so the runs really start)
    monkeypatch.setenv("COMPANION_THREADS", "two")
    with pytest.raises(Exception, match="two"):
        book.build("smoke", tmp_path, {"seed": "987"}, results_dir=tmp_path / "results")
    staged = tmp_path / "_build" / "source" / "book"
    assert not (staged / "spectrum_growth.ipynb").exists()
    assert (staged / "spectrum_growth.failed.ipynb").exists()
    assert not (tmp_path / "_build" / "html").exists()
