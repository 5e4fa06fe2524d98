"""Notebooks from their jupytext sources.

The course keeps every notebook as a percent-format ``.py`` file (readable diffs;
nbgrader metadata in the cell headers). This module turns a source into an
``.ipynb`` and adds, in one place for all notebooks, what makes it work on
Google Colab: an "Open in Colab" badge under the title and a first code cell
that installs the course helper (and its data) when it is missing. The
repository address comes from ``[project.urls] Repository`` in pyproject.toml.

Cell ids are derived from the cell (its nbgrader ``grade_id`` or its position) so
that a build is byte-for-byte reproducible and the committed notebooks can be
checked for being up to date.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[2]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}
KEPT_CELL_METADATA = ("nbgrader", "tags")

SETUP_TEMPLATE = '''\
# Setup: on Google Colab, or wherever the course helper is missing, install it
# (with its data) from the course repository. Elsewhere this cell does nothing.
import importlib
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("xaikit") is None:
    print("Installing the course helper xaikit with its data, and the libraries it needs that are missing "
          "(captum, shap, lime, PyALE, mlxtend, ...), from {repo} — this can take a few minutes.", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "xai-course @ git+{repo}"], check=True)
    importlib.invalidate_caches()
    print("Done: xaikit is installed.")'''


def repository_url() -> str:
    """The course repository's address, read from pyproject.toml (its single source)."""
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["urls"]["Repository"].rstrip("/")


def colab_url(repo: str, path_in_repo: str, branch: str = "main") -> str:
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?", repo)
    if not match:
        raise ValueError(f"the Repository URL must be a GitHub address, got {repo!r}")
    owner, name = match.groups()
    return f"https://colab.research.google.com/github/{owner}/{name}/blob/{branch}/{path_in_repo}"


@dataclass(frozen=True)
class Source:
    """A notebook source and where its built notebook goes."""

    source: Path  # the .py percent file
    target: Path  # the .ipynb built from it
    opens_as: str  # path in the repository that the Colab badge opens

    @property
    def name(self) -> str:
        return self.source.stem


def course_sources(root: Path = ROOT) -> list[Source]:
    """Lecture notebooks (``course/*.py``): built next to the source and committed."""
    return [
        Source(p, p.with_suffix(".ipynb"), f"course/{p.stem}.ipynb")
        for p in sorted((root / "course").glob("week*.py"))
    ]


def lab_sources(root: Path = ROOT) -> list[Source]:
    """Lab sources (``solutions/<lab>/<lab>.py``): built in place for nbgrader; the badge opens the release."""
    return [
        Source(p, p.with_suffix(".ipynb"), f"labs/{p.parent.name}/{p.stem}.ipynb")
        for p in sorted((root / "solutions").glob("*/*.py"))
        if p.stem == p.parent.name
    ]


def build_notebook(src: Source, repo: str | None = None) -> nbformat.NotebookNode:
    """Read a percent-format source and return the notebook to write."""
    repo = repo or repository_url()
    nb = jupytext.read(src.source, fmt="py:percent")
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.lstrip().startswith("# "):
        raise ValueError(f"{src.source}: the first cell must be a markdown cell starting with a '# Title'")
    title, _, rest = cells[0].source.partition("\n")
    badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(repo, src.opens_as)})"
    cells[0].source = f"{title}\n\n{badge}\n{rest}".rstrip()
    cells.insert(1, nbformat.v4.new_code_cell(SETUP_TEMPLATE.format(repo=repo)))

    seen: set[str] = set()
    for index, cell in enumerate(cells):
        cell.metadata = {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell_id = grade_id or f"cell-{index:03d}"
        if cell_id in seen:
            raise ValueError(f"{src.source}: duplicate cell id or grade_id {cell_id!r}")
        seen.add(cell_id)
        cell.id = cell_id
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def build_all(root: Path = ROOT, *, check: bool = False) -> list[Path]:
    """Build every course and lab notebook; with ``check``, only report the stale ones.

    Returns
    -------
    list of Path
        Notebooks written (or, with ``check``, those that are out of date).
    """
    repo = repository_url()
    changed = []
    for src in course_sources(root) + lab_sources(root):
        text = dumps(build_notebook(src, repo))
        current = src.target.read_text() if src.target.exists() else None
        if current != text:
            changed.append(src.target)
            if not check:
                src.target.write_text(text)
    return changed
