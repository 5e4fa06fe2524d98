"""The website for self-learners, checked in headless Chromium; and the students' JupyterLab.

The site is built from notebooks the suite already executed where it can: the lectures run by
test_notebooks.py and the labs run by the nbgrader round trip of test_nbgrader.py (when those
ran earlier in the same session) are taken from .cache/executed/, the rest is executed once.
Screenshots of a lab page, a worked-solution page and the students' JupyterLab are written to
.cache/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser import bertviz_views, chromium

from xaigrader import build
from xaigrader import site as site_build

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ALLOWED_HOSTS = {"127.0.0.1", "colab.research.google.com"}  # the Colab badge image is the one remote asset
SCREENSHOTS = build.ROOT / ".cache" / "screenshots"
PAGES = site_build.pages()
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "-" * 75, "Cell In[", "NotImplementedError: ",
                     "NotImplementedError\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    # Notebooks the suite executed before (`make test` runs this file last) come from the cache:
    # tests/test_notebooks.py stores the lectures, tests/grading.py the labs' round trips.
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "xaigrader.cli", "site", "--out", str(out)], capture_output=True,
                          text=True)
    print(proc.stdout[-3000:])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
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
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("XAI_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _pages():
    return [("index.html", "Explainable AI")] + [(f"{p.docname}.html", None) for p in PAGES]


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def _screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


@pytest.mark.parametrize("page, title", _pages(), ids=[p for p, _ in _pages()])
def test_page_renders_offline(browser, server, page, title):
    browser.get(f"{server}/{page}")
    browser.get_log("performance")  # drop entries of earlier pages
    browser.get(f"{server}/{page}")
    heading = browser.execute_script("return document.querySelector('h1') && document.querySelector('h1').textContent.trim()")
    assert heading, f"{page}: no title"
    if title:
        assert title in heading
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
    _screenshot(browser, "site-lab-as-received")
    solution = next(p for p in PAGES if p.kind == "solution")
    browser.get(f"{server}/{solution.docname}.html")
    assert browser.execute_script(scroll, "✓")
    _screenshot(browser, "site-worked-solution")


def test_navigation_follows_the_course(browser, server):
    """Next links: lecture n -> lab n -> its solution -> lecture n+1; the index lists every page."""
    browser.get(f"{server}/index.html")
    links = set(browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href)"))
    for page, _ in _pages()[1:]:
        assert f"{server}/{page}" in links, f"index does not link {page}"
    for here, following in zip(PAGES, PAGES[1:]):
        browser.get(f"{server}/{here.docname}.html")
        next_link = browser.execute_script(
            "const a = document.querySelector('a.right-next'); return a && a.href")
        assert next_link == f"{server}/{following.docname}.html", f"{here.docname}: next is {next_link}"


def test_progress_bars_render(browser, server):
    pages_with_bars = [p for p in PAGES if "tqdm" in Path(p.source).read_text()]
    assert pages_with_bars
    browser.get(f"{server}/{pages_with_bars[0].docname}.html")
    bars = browser.execute_script("return document.querySelectorAll('.xai-widget progress').length")
    assert bars > 0, f"{pages_with_bars[0].docname}: no progress bar drawn"


def test_site_without_solutions_has_no_solution_page():
    staged, _ = site_build.stage(build.ROOT, build.ROOT / "site", solutions=False)
    assert staged and not any("solutions" in p.parts for p in staged)
    contents = (build.ROOT / "site" / "_generated" / "contents.md").read_text()
    assert "solutions/" not in contents and "labs/" in contents


# --- the students' JupyterLab (make course) and the instructor's (make formgrader) ---------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _jupyter_env(profile: str) -> dict:
    """The environment `make course` / `make formgrader` give JupyterLab (plus this venv's data dirs)."""
    import nbgrader

    prefix = Path(nbgrader.__file__).resolve().parents[4]  # the environment nbgrader is installed in
    config = [str(build.ROOT / "grader" / "jupyter" / profile), str(prefix / "etc" / "jupyter")]
    return {**os.environ, "JUPYTER_CONFIG_PATH": os.pathsep.join(config),
            "JUPYTER_PATH": str(prefix / "share" / "jupyter")}


@pytest.fixture(params=["student", "instructor"])
def jupyterlab(request, tmp_path):
    port = _free_port()
    root = tmp_path / "course"  # a copy: opening a notebook writes .ipynb_checkpoints next to it
    shutil.copytree(build.ROOT / "labs", root / "labs")
    flags = ["--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={root}",
             "--IdentityProvider.token=", "--ServerApp.password=", "--LabApp.default_url=/lab/tree/labs"]
    if os.getuid() == 0:
        flags.append("--allow-root")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", *flags], env=_jupyter_env(request.param),
                            cwd=build.ROOT, stdout=open(tmp_path / "lab.log", "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not start: " + (tmp_path / "lab.log").read_text()[-2000:])
    yield request.param, url
    proc.terminate()
    proc.wait(timeout=30)


def _status(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_jupyterlab_students_see_no_instructor_tools(browser, jupyterlab):
    profile, url = jupyterlab
    lab = next(p for p in PAGES if p.kind == "lab")
    browser.get(f"{url}/lab/tree/labs/{lab.name}/{lab.name}.ipynb")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 90).until(
        lambda d: d.execute_script("return document.querySelectorAll('.jp-Notebook .jp-Cell').length > 5"),
        message="the lab did not open in JupyterLab")
    time.sleep(6)  # the news question, when enabled, appears a few seconds after start-up
    config = browser.execute_script(
        "return JSON.parse(document.getElementById('jupyter-config-data').textContent).disabledExtensions")
    menus = browser.execute_script(
        "return Array.from(document.querySelectorAll('.lm-MenuBar-itemLabel')).map(e => e.textContent)")
    text = browser.execute_script("return document.body.innerText")
    assert "official Jupyter news" not in text, "Jupyter's news pop-up is shown"
    formgrader = _status(f"{url}/formgrader")
    if profile == "student":
        assert "Nbgrader" not in menus, f"the students' menu bar has the instructor's Nbgrader menu: {menus}"
        assert "Create Assignment" not in text, "the students see the Create Assignment sidebar"
        assert "@jupyter/nbgrader:create-assignment" in config and "@jupyter/nbgrader:formgrader" in config
        assert formgrader == 404, "the formgrader is served to students"
        _screenshot(browser, "jupyterlab-student")
    else:
        assert "Nbgrader" in menus, f"the instructor's JupyterLab lacks the Nbgrader menu: {menus}"
        assert "Create Assignment" in text
        assert formgrader == 200
        _screenshot(browser, "jupyterlab-instructor")


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
