"""The website for self-learners, checked in headless Chromium.

The site is built from notebooks the suite already executed where it can: the lectures run by
test_notebooks.py and the labs run by the nbgrader round trip of test_nbgrader.py (when those
ran earlier in the same session) are taken from .cache/executed/, the rest is executed once.
Screenshots of a lab page and a worked-solution page are written to .cache/screenshots/. The
students' JupyterLab is checked in test_jupyterlab.py (it needs no site: it runs with the rest).
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser import bertviz_views, chromium, screenshot

from xaigrader import build
from xaigrader import site as site_build

pytestmark = pytest.mark.slow

ALLOWED_HOSTS = {"127.0.0.1", "colab.research.google.com"}  # the Colab badge image is the one remote asset
PAGES = site_build.pages()
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "-" * 75, "Cell In[", "NotImplementedError: ",
                     "NotImplementedError\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    # Notebooks the suite executed before (`make test` runs this file last) come from the cache:
    # tests/test_notebooks.py stores the lectures, tests/grading.py the labs' round trips.
    # Built once per run: pytest-xdist's workers share it (the first builds it, the others wait
    # for it; two builds at once would write the same staging folder, site/).
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    out, done = shared / "site", shared / "site.done"
    with open(shared / "site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            proc = subprocess.run([sys.executable, "-m", "xaigrader.cli", "site", "--out", str(out)],
                                  capture_output=True, text=True)
            print(proc.stdout[-3000:])
            done.write_text("" if proc.returncode == 0 else proc.stdout[-3000:] + proc.stderr[-3000:])
    failure = done.read_text()
    assert not failure, f"the site did not build: {failure}"
    return out


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def _pages():
    return [("index.html", "Explainable AI")] + [(f"{p.docname}.html", None) for p in PAGES]


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


# The course's order: lecture n -> lab n -> its worked solution -> lecture n+1 (each page's Next link).
NEXT = {f"{here.docname}.html": f"{following.docname}.html" for here, following in zip(PAGES, PAGES[1:])}


@pytest.mark.parametrize("page, title", _pages(), ids=[p for p, _ in _pages()])
def test_page_renders_offline(browser, server, page, title):
    browser.get_log("performance")  # drop the entries of earlier pages
    browser.get_log("browser")
    browser.get(f"{server}/{page}")
    heading = browser.execute_script("return document.querySelector('h1') && document.querySelector('h1').textContent.trim()")
    assert heading, f"{page}: no title"
    if title:
        assert title in heading
    if page in NEXT:
        next_link = browser.execute_script("const a = document.querySelector('a.right-next'); return a && a.href")
        assert next_link == f"{server}/{NEXT[page]}", f"{page}: next is {next_link}, not {NEXT[page]}"
    remote = {urlparse(u).hostname for u in _requests(browser) if u.startswith("http")} - ALLOWED_HOSTS
    assert not remote, f"{page} fetched from {remote}: the site must work offline"
    errors = [e["message"] for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "colab" not in e["message"]]
    assert not errors, f"{page}: console errors {errors}"
    text = browser.execute_script("return document.querySelector('main').innerText")
    if page.startswith(("lectures/", "solutions/")):
        images = browser.execute_script(
            "return Array.from(document.querySelectorAll('.cell_output img')).map(i => i.naturalWidth)")
        assert images and min(images) > 0, f"{page}: executed figures missing or broken"
        from selenium.webdriver.support.ui import WebDriverWait

        rendered = WebDriverWait(browser, 20).until(
            lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length"),
            message=f"{page}: MathJax did not render the formulas")
        assert rendered > 0
    if page.startswith(("labs/", "solutions/")):
        shown = [m for m in TRACEBACK_MARKERS if m in text]
        assert not shown, f"{page} shows a traceback ({shown})"
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "xaigrader" not in text
    if page.startswith("solutions/"):
        assert "worked solution" in heading
        assert "Model answer" in text, f"{page}: the model answers are missing"
        assert "is not written yet:" not in text and "this cell needs `" not in text, \
            f"{page}: a worked solution with an unwritten exercise"
        import re

        passed = re.search(r"Visible checks pass for (\d+) of (\d+)", text)
        assert passed and passed.group(1) == passed.group(2), f"{page}: the summary of the visible checks"


def test_student_lab_page_says_what_is_missing(browser, server):
    lab = next(p for p in PAGES if p.kind == "lab")
    browser.get(f"{server}/{lab.docname}.html")
    text = browser.execute_script("return document.querySelector('main').innerText")
    assert "is not written yet" in text
    assert "this cell needs `" in text, "a cell that uses an exercise should say which one it needs"
    scroll = ("const e = Array.from(document.querySelectorAll('.cell_output')).find(o => o.innerText.includes(arguments[0]));"
              "if (e) { e.scrollIntoView({block: 'center'}); } return !!e;")
    assert browser.execute_script(scroll, "this cell needs")
    screenshot(browser, "site-lab-as-received")
    solution = next(p for p in PAGES if p.kind == "solution")
    browser.get(f"{server}/{solution.docname}.html")
    assert browser.execute_script(scroll, "✓")
    screenshot(browser, "site-worked-solution")


def test_navigation_follows_the_course(browser, server):
    """The pages follow the course, lecture n -> lab n -> its solution -> lecture n+1 (each page's
    Next link is checked where it is rendered, in test_page_renders_offline); the index lists every page."""
    order = {"lecture": 0, "lab": 1, "solution": 2}
    assert [(p.week, order[p.kind]) for p in PAGES] == sorted((p.week, order[p.kind]) for p in PAGES)
    assert {p.kind for p in PAGES if p.week == PAGES[0].week} == set(order)
    browser.get(f"{server}/index.html")
    links = set(browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href)"))
    for page, _ in _pages()[1:]:
        assert f"{server}/{page}" in links, f"index does not link {page}"


def test_progress_bars_render(browser, server):
    pages_with_bars = [p for p in PAGES if "tqdm" in Path(p.source).read_text()]
    assert pages_with_bars
    browser.get(f"{server}/{pages_with_bars[0].docname}.html")
    bars = browser.execute_script("return document.querySelectorAll('.xai-widget progress').length")
    assert bars > 0, f"{pages_with_bars[0].docname}: no progress bar drawn"


def test_site_without_solutions_has_no_solution_page(tmp_path):
    staged, _ = site_build.stage(build.ROOT, tmp_path, solutions=False)  # not into site/, the build's folder
    assert staged and not any("solutions" in p.relative_to(tmp_path).parts for p in staged)
    contents = (tmp_path / "_generated" / "contents.md").read_text()
    assert "solutions/" not in contents and "labs/" in contents


# The week-7 lecture shows BertViz's head view and model view (xaikit.bertviz_offline).
BERTVIZ_PAGES = {"lectures/week07_attention.html": {"head", "model"}}


@pytest.mark.parametrize("page, kinds", list(BERTVIZ_PAGES.items()), ids=list(BERTVIZ_PAGES))
def test_bertviz_views_draw_without_network(server, page, kinds):
    """Every host name fails to resolve in this browser, so a view that needs a CDN stays blank."""
    with chromium(offline=True) as driver:
        driver.get(f"{server}/{page}")
        views = bertviz_views(driver)
        assert kinds <= {kind.split("-")[0] for kind in views}, f"{page}: BertViz views found: {sorted(views)}"
        for kind, svgs in views.items():
            assert any(w > 100 and h > 50 and n > 20 for w, h, n in svgs), f"{page}: the {kind} view drew nothing ({svgs})"
