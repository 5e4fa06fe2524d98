"""Headless Chromium for the browser tests (site, JupyterLab, BertViz): screenshots, and the check
that BertViz views drew."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[1] / ".cache" / "screenshots"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1000"]
# Every host name fails to resolve except the local server's address: a page that needs the
# internet (a CDN) cannot get it.
NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


@contextlib.contextmanager
def chromium(*, offline: bool = False) -> Iterator:
    """A headless Chromium driven by selenium (skips the test when Chromium is not installed)."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("XAI_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are required (apt-get install chromium chromium-driver)")
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + ([NO_NETWORK] if offline else []):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> Path:
    """Save what the browser shows as .cache/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


# Inside one view's frame: the sizes of its SVG elements and how many shapes they hold.
_SVG_SHAPES = """return Array.from(document.querySelectorAll('svg')).map(function (svg) {
  var box = svg.getBoundingClientRect();
  return [box.width, box.height, svg.querySelectorAll('line, rect, text').length];
});"""


def bertviz_views(driver, *, timeout: float = 20.0) -> dict[str, list[list[float]]]:
    """For each BertViz view on the current page (an iframe of ``xaikit.bertviz_offline``): its SVGs.

    Returns ``{"head": [[width, height, shapes], ...], "model": [...], ...}`` with one entry per
    view, in page order (``head-0``, ``head-1``, ... when a page has several views of a kind).
    Waits until every view has drawn or ``timeout`` has passed.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        frames = driver.find_elements("css selector", "div.xaikit-bertviz iframe")
        views, counts = {}, {}
        for frame in frames:
            kind = frame.find_element("xpath", "..").get_attribute("class").split("xaikit-bertviz-")[-1].split()[0]
            k = counts.get(kind, 0)
            counts[kind] = k + 1
            driver.switch_to.frame(frame)
            try:
                views[kind if k == 0 else f"{kind}-{k}"] = driver.execute_script(_SVG_SHAPES)
            finally:
                driver.switch_to.default_content()
        drawn = all(any(w > 0 and h > 0 and n > 0 for w, h, n in svgs) for svgs in views.values())
        if (views and drawn) or time.monotonic() > deadline:
            return views
        time.sleep(0.5)
