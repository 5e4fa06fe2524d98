"""The students' JupyterLab (`make course`) and the instructor's (`make formgrader`), in headless Chromium.

Each is started as the Makefile starts it, on a copy of labs/; students see no instructor tool
(no Nbgrader menu, no Create Assignment sidebar, no formgrader), the instructor sees them all,
and nobody is asked about Jupyter's news. Screenshots go to .cache/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from browser import chromium, screenshot

from xaigrader import build

pytestmark = pytest.mark.slow

LAB = sorted(p.name for p in (build.ROOT / "labs").iterdir() if (p / f"{p.name}.ipynb").exists())[0]


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


def test_jupyterlab_students_see_no_instructor_tools(jupyterlab):
    profile, url = jupyterlab
    with chromium() as browser:
        browser.get(f"{url}/lab/tree/labs/{LAB}/{LAB}.ipynb")
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
        screenshot(browser, f"jupyterlab-{profile}")
    assert "official Jupyter news" not in text, "Jupyter's news pop-up is shown"
    formgrader = _status(f"{url}/formgrader")
    if profile == "student":
        assert "Nbgrader" not in menus, f"the students' menu bar has the instructor's Nbgrader menu: {menus}"
        assert "Create Assignment" not in text, "the students see the Create Assignment sidebar"
        assert "@jupyter/nbgrader:create-assignment" in config and "@jupyter/nbgrader:formgrader" in config
        assert formgrader == 404, "the formgrader is served to students"
    else:
        assert "Nbgrader" in menus, f"the instructor's JupyterLab lacks the Nbgrader menu: {menus}"
        assert "Create Assignment" in text
        assert formgrader == 200
