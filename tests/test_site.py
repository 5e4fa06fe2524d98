"""The website for self-learners: built by Sphinx with executed notebooks, checked in headless Chromium."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser import bertviz_views, chromium

from xaigrader import build

pytestmark = pytest.mark.slow

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ALLOWED_HOSTS = {"127.0.0.1", "colab.research.google.com"}  # the Colab badge image is the one remote asset


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "xaigrader.cli", "site", "--out", str(out)], check=True)
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
    pages = [("index.html", "Explainable AI")]
    pages += [(f"lectures/{s.name}.html", None) for s in build.course_sources()]
    pages += [(f"labs/{p.stem}.html", None) for p in sorted((build.ROOT / "labs").glob("*/*.ipynb"))]
    return pages


def _requests(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


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
    if page.startswith("lectures/"):
        images = browser.execute_script(
            "return Array.from(document.querySelectorAll('.cell_output img')).map(i => i.naturalWidth)")
        assert images and min(images) > 0, f"{page}: executed figures missing or broken"
        from selenium.webdriver.support.ui import WebDriverWait

        rendered = WebDriverWait(browser, 20).until(
            lambda d: d.execute_script("return document.querySelectorAll('mjx-container').length"),
            message=f"{page}: MathJax did not render the formulas")
        assert rendered > 0


def test_index_links_every_lecture_and_lab(browser, server):
    browser.get(f"{server}/index.html")
    links = set(browser.execute_script("return Array.from(document.querySelectorAll('a')).map(a => a.href)"))
    for page, _ in _pages()[1:]:
        assert f"{server}/{page}" in links, f"index does not link {page}"


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
