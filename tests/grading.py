"""The nbgrader round trip of one lab in a temporary course directory.

Used by test_nbgrader.py: build the lab's source notebook, release it, collect a batch of
downloaded submissions (solution, blank release, corrupted file, one plausible wrong answer
per question), autograde it, generate feedback and export grades — all with the instructor
commands (`xai-course ...`, the same as `make release/collect/autograde/feedback/export`).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from wrong_answers import Wrong, for_lab

from xaigrader import build

ROOT = build.ROOT
CORRUPT = '{"cells": [{"cell_type": "code", "source": "def partial_'  # a truncated upload


@dataclass
class RoundTrip:
    lab: str
    course: Path
    wrong: list[Wrong]
    autograde_output: str = ""
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> grade_id -> score
    max_scores: dict[str, float] = field(default_factory=dict)  # autograded grade_id -> points
    exported: dict[str, float] = field(default_factory=dict)  # student -> exported score

    @property
    def release(self) -> Path:
        return self.course / "labs" / self.lab

    def autograded(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.course / "autograded" / student / self.lab / f"{self.lab}.ipynb", 4)

    def feedback_html(self, student: str) -> str:
        return (self.course / "feedback" / student / self.lab / f"{self.lab}.html").read_text()

    def total(self, student: str) -> float:
        return sum(self.scores.get(student, {}).values())


def student_of(wrong: Wrong) -> str:
    """The student id a wrong answer is submitted under (ids hold no "_": it separates id and lab)."""
    return f"wrong-{wrong.label}".replace("_", "-")


def _with_cell_replaced(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, f"no answer cell {grade_id!r}"
    cells[0].source = source.strip()
    return nb


def run(lab: str, course: Path) -> RoundTrip:
    """Release, submit, autograde, feedback and export ``lab`` inside ``course``."""
    src_dir = course / "solutions" / lab
    src_dir.mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / lab / f"{lab}.py", src_dir)
    for extra in (ROOT / "solutions" / lab).iterdir():  # data files shipped with the lab, if any
        if extra.suffix not in (".py", ".ipynb") and extra.is_file():
            shutil.copy(extra, src_dir)
    cli = [sys.executable, "-m", "xaigrader.cli", "--root", str(course)]
    subprocess.run([*cli, "release", lab], check=True, capture_output=True, text=True)

    solution = nbformat.read(src_dir / f"{lab}.ipynb", 4)
    blank = nbformat.read(course / "labs" / lab / f"{lab}.ipynb", 4)
    wrong = for_lab(lab)
    submissions: dict[str, nbformat.NotebookNode | str] = {"solution": solution, "blank": blank, "corrupt": CORRUPT}
    for w in wrong:
        submissions[student_of(w)] = _with_cell_replaced(solution, w.grade_id, w.source)
    # As downloaded from an LMS: <student-id>_<lab>.ipynb files, one of them inside a zip.
    archive = course / "downloaded" / lab / "archive"
    archive.mkdir(parents=True)
    for student, nb in submissions.items():
        name = f"{student}_{lab}.ipynb"
        text = nb if isinstance(nb, str) else nbformat.writes(nb)
        if student == "blank":
            with zipfile.ZipFile(archive / "blank-upload.zip", "w") as zf:
                zf.writestr(name, text)
        else:
            (archive / name).write_text(text)
    (archive / "Untitled.ipynb").write_text(nbformat.writes(blank))  # no student id: reported, not collected
    proc = subprocess.run([*cli, "collect", lab], capture_output=True, text=True)
    assert proc.returncode == 1 and "NOT COLLECTED: Untitled.ipynb" in proc.stdout, proc.stdout + proc.stderr
    collected = {p.parent.parent.name for p in (course / "submitted").glob(f"*/{lab}/{lab}.ipynb")}
    assert collected == set(submissions), f"zip_collect gathered {sorted(collected)}"

    result = RoundTrip(lab, course, wrong)
    proc = subprocess.run([*cli, "autograde", lab], capture_output=True, text=True)
    result.autograde_output = proc.stdout + proc.stderr
    assert proc.returncode == 0, result.autograde_output[-3000:]

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(lab)
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                if cell.cell_type == "code":
                    result.max_scores[cell.name] = cell.max_score
        for submission in assignment.submissions:
            result.scores[submission.student.id] = {
                g.name: g.score for nb in submission.notebooks for g in nb.grades if g.name in result.max_scores
            }

    subprocess.run([*cli, "feedback", lab], check=True, capture_output=True, text=True)
    grades_csv = course / "grades.csv"
    subprocess.run([*cli, "export", "--to", str(grades_csv)], check=True, capture_output=True, text=True)
    with open(grades_csv) as fh:
        result.exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(fh)}
    return result
