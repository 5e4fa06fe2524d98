"""Serve MathJax from the site itself, so formulas render without a CDN.

The MathJax 3 files come from the PyPI package ``sphinx-mathjax-offline`` (its own
Sphinx hook cannot be imported: its folder name has a hyphen), located through the
package metadata and copied to ``_static/mathjax`` after a successful build.
"""

from __future__ import annotations

from importlib.metadata import distribution
from pathlib import Path

from sphinx.util.fileutil import copy_asset


def _mathjax_dir() -> Path:
    path = Path(distribution("sphinx-mathjax-offline").locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (path / "tex-chtml.js").is_file():
        raise FileNotFoundError(f"MathJax not found in {path}; reinstall sphinx-mathjax-offline")
    return path


def _copy(app, exc) -> None:
    if exc is None:
        copy_asset(str(_mathjax_dir()), str(Path(app.outdir) / "_static" / "mathjax"))


def setup(app):
    _mathjax_dir()  # fail early, not after executing every notebook
    app.config.mathjax_path = "mathjax/tex-chtml.js"
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True}
