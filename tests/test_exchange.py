"""Three students and an instructor on one machine, through nbgrader's exchange.

The instructor releases the probe lab to an exchange in a temporary folder
(``release_assignment``); three students, each with a home of their own in a temporary
folder and nbgrader configured there as JupyterHub would (``~/.jupyter/nbgrader_config.py``:
the course id and the exchange), fetch it, write their answers and ``submit``; the
instructor collects (``collect``), grades with ``xai-course autograde --jobs 2``, generates
feedback (``xai-course feedback``) and releases it (``release_feedback``); each student
fetches their own feedback (``fetch_feedback``). The students act at the same time.

All processes run as one user here, so each student names their id (``--student``), as
nbgrader's exchange does for a JupyterHub user (JUPYTERHUB_USER).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grading
import nbformat
import pytest

from xaigrader import cli

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("exchange")]

LAB = grading.PROBE_LAB
COURSE_ID = "xai-course"  # c.CourseDirectory.course_id of grader/nbgrader_config.py
ANSWERS = ("pdp_1d", "ice")


class Student:
    def __init__(self, sid: str, home: Path, exchange: Path):
        self.id, self.home = sid, home
        (home / ".jupyter").mkdir(parents=True)
        (home / ".jupyter" / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\nc.Exchange.root = {str(exchange)!r}\n")

    def nbgrader(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        env.update(HOME=str(self.home), PATH=os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")]))
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=self.home, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{self.id}: nbgrader {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
        return proc.stdout + proc.stderr

    def work_and_submit(self, answers: nbformat.NotebookNode) -> None:
        self.nbgrader("fetch_assignment", LAB)
        path = self.home / LAB / f"{LAB}.ipynb"
        fetched = nbformat.read(path, 4)
        assert "BEGIN SOLUTION" not in nbformat.writes(fetched), "the exchange handed out the solution"
        sources = {c.metadata["nbgrader"]["grade_id"]: c.source for c in answers.cells
                   if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in ANSWERS}
        nbformat.write(grading.with_cells_replaced(fetched, sources), path)
        self.nbgrader("submit", LAB, f"--student={self.id}")

    def fetch_feedback(self) -> list[Path]:
        self.nbgrader("fetch_feedback", LAB, f"--student={self.id}")
        return sorted((self.home / LAB / "feedback").glob(f"*/{LAB}.html"))


def instructor(course: Path, exchange: Path, *args: str) -> None:
    proc = cli.nbgrader(course, *args, f"--Exchange.root={exchange}", check=False, quiet=True, timeout=600)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stderr[-3000:]}"


def test_three_students_through_the_exchange(tmp_path):
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    exchange.mkdir()
    solution, blank = grading.release(LAB, course, grading.PROBE)
    instructor(course, exchange, "release_assignment", LAB)
    assert (exchange / COURSE_ID / "outbound" / LAB / f"{LAB}.ipynb").exists()

    work = grading.probe_class(solution, blank)
    students = [Student(sid, tmp_path / "home" / sid, exchange) for sid in work]
    with ThreadPoolExecutor(len(students)) as pool:
        list(pool.map(lambda s: s.work_and_submit(work[s.id]), students))
    inbound = sorted(p.name.split("+")[0] for p in (exchange / COURSE_ID / "inbound").iterdir())
    assert inbound == sorted(work)

    instructor(course, exchange, "collect", LAB)
    assert sorted(p.parent.name for p in (course / "submitted").glob(f"*/{LAB}")) == sorted(work)
    log = grading.cli(course, "autograde", LAB, "--jobs", "2").stdout
    scores, _ = grading.read_scores(course, LAB)
    assert scores == grading.PROBE_EXPECTED, log[-3000:]
    grading.cli(course, "feedback", LAB)
    instructor(course, exchange, "release_feedback", LAB)

    with ThreadPoolExecutor(len(students)) as pool:
        fetched = dict(zip([s.id for s in students], pool.map(Student.fetch_feedback, students)))
    for student in students:
        assert len(fetched[student.id]) == 1, f"{student.id} fetched {fetched[student.id]}"
        html = fetched[student.id][0].read_text()
        for marker in cli.FEEDBACK_LEAKS:
            assert marker not in html, f"{student.id}'s feedback shows {marker!r}"
        expected = grading.PROBE_EXPECTED[student.id]
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", html, flags=re.S)))
        # the score of each test cell, in the notebook's order, as the student reads it
        shown = [float(score) for score in re.findall(r"Test cell \(Score: ([\d.]+) / [\d.]+\)", text)]
        assert shown == [expected["pdp_1d_test"], expected["ice_test"]], f"{student.id}: {shown}"
        # and the verdict lines: one ✓ per passed test; a wrong answer's ✗, a blank one's "not written yet"
        assert text.count("✓") == sum(v > 0 for v in expected.values())
        assert ("✗" in text) == (student.id == "wrong-pdp")
        assert ("is not written yet" in text) == (student.id == "blank")
    # every student got their own feedback only
    homes = {s.id: {p.read_text() for p in (s.home / LAB / "feedback").rglob("*.html")} for s in students}
    assert len(set.union(*homes.values())) == len(students)
