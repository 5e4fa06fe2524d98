"""Notebook sources: built notebooks are up to date, valid for nbgrader, and Colab-ready."""

from __future__ import annotations

import json
import re
import subprocess

import nbformat
import pytest
from nbgrader.nbgraderformat import MetadataValidator

from xaigrader import build

SOURCES = build.course_sources() + build.lab_sources()
IDS = [s.name for s in SOURCES]


def test_there_are_lectures_and_labs():
    assert build.course_sources() and build.lab_sources()


def test_committed_lecture_notebooks_are_up_to_date(root):
    stale = [p for p in build.build_all(root, check=True) if p.parent.name == "course"]
    assert not stale, f"run `make build`: {stale}"


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_notebook_is_valid_and_colab_ready(src):
    nb = build.build_notebook(src)
    nbformat.validate(nb)
    repo = build.repository_url()
    assert build.colab_url(repo, src.opens_as) in nb.cells[0].source, "no Colab badge under the title"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert f"git+{repo}" in first_code.source and "find_spec" in first_code.source
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("src", build.lab_sources(), ids=[s.name for s in build.lab_sources()])
def test_lab_metadata_is_valid_for_nbgrader(src):
    nb = build.build_notebook(src)
    MetadataValidator().validate_nb(nb)
    meta = [c.metadata.nbgrader for c in nb.cells if "nbgrader" in c.metadata]
    grade_ids = [m["grade_id"] for m in meta]
    assert len(grade_ids) == len(set(grade_ids)), "duplicate grade_id"
    answers = {m["grade_id"] for m in meta if m["solution"] and not m["grade"]}
    tests = {m["grade_id"] for m in meta if m["grade"] and not m["solution"]}
    assert tests == {f"{a}_test" for a in answers}, "every answer cell `x` needs exactly one test cell `x_test`"
    for cell in nb.cells:
        m = cell.metadata.get("nbgrader", {})
        if m.get("grade") and not m.get("solution"):
            lines = cell.source.splitlines()
            assert "### BEGIN HIDDEN TESTS" in lines, f"{m['grade_id']} has no hidden test"
            hidden = lines[lines.index("### BEGIN HIDDEN TESTS") + 1: lines.index("### END HIDDEN TESTS")]
            assert len(hidden) <= 3, f"{m['grade_id']}: keep hidden test logic in grader/, call it in one line"
        if m.get("solution"):
            assert ("BEGIN SOLUTION" in cell.source) or cell.cell_type == "markdown", m["grade_id"]


def test_repository_url_is_set_in_one_place(root):
    repo = build.repository_url()
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    files = [root / f for f in tracked if not f.endswith(".ipynb") and (root / f).is_file()]
    untracked_sources = [s.source for s in SOURCES] + [root / "README.md", root / "Makefile"]
    holders = {str(p.relative_to(root)) for p in set(files) | set(untracked_sources)
               if p.exists() and repo in p.read_text(errors="ignore")}
    assert holders == {"pyproject.toml"}, f"the repository URL appears in {sorted(holders)}"


def test_sources_are_percent_scripts_without_outputs(root):
    for src in SOURCES:
        text = src.source.read_text()
        assert text.startswith("# %% [markdown]\n# # "), f"{src.source}: start with a markdown title cell"
        assert '"outputs"' not in text and "execution_count" not in text


def test_tracked_notebooks_have_no_outputs(root):
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=root, capture_output=True, text=True).stdout.split()
    for path in tracked:
        nb = json.loads((root / path).read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, path
                assert not re.search(r"BEGIN (SOLUTION|HIDDEN TESTS)", "".join(cell["source"])) or "solutions/" in path
