"""`make site`: the course website, built with Sphinx + MyST-NB.

Copies the built lecture notebooks (course/*.ipynb) and the released labs
(labs/<lab>/<lab>.ipynb) into site/lectures/ and site/labs/, then runs sphinx-build,
which executes every notebook (offline) and writes site/_build/html/.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from . import build


def stage(root: Path, site: Path) -> list[Path]:
    """Copy the notebooks the site shows into ``site``; return the copies."""
    build.build_all(root)
    copies = []
    for sub in ("lectures", "labs"):
        shutil.rmtree(site / sub, ignore_errors=True)
        (site / sub).mkdir(parents=True)
    for src in build.course_sources(root):
        target = site / "lectures" / src.target.name
        shutil.copy(src.target, target)
        copies.append(target)
    for lab in sorted((root / "labs").glob("*/*.ipynb")):
        nb = nbformat.read(lab, 4)
        # The student version: exercises are unfinished by design, so errors are expected there.
        nb.metadata["mystnb"] = {"execution_allow_errors": True}
        target = site / "labs" / lab.name
        nbformat.write(nb, target)
        copies.append(target)
        for extra in lab.parent.iterdir():  # files the lab reads next to it, if any
            if extra.suffix != ".ipynb" and extra.is_file():
                shutil.copy(extra, site / "labs" / extra.name)
    return copies


def main(root: Path, out: Path) -> int:
    site = root / "site"
    stage(root, site)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", str(site), str(out)]
    print("$", " ".join(cmd[2:]), flush=True)
    result = subprocess.run(cmd, cwd=root)
    if result.returncode == 0:
        print(f"site written to {out / 'index.html'}")
    return result.returncode
