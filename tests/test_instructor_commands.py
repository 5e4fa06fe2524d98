"""The instructor's commands explain themselves, and a grading that runs too long is stopped.

Each command run too early (nothing released, nothing collected, nothing graded) says in one
sentence what to run first, without a traceback. ``xai-course autograde --timeout S`` stops a
submission's grading after S seconds — the nbgrader process, its kernel and its worker — reports
it as broken (scored 0) and goes on with the class.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import grading
import nbformat
import pytest

LAB = grading.PROBE_LAB


def explains(course: Path, *args: str) -> str:
    proc = grading.cli(course, *args, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"xai-course {args[0]}: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A course directory with the probe lab released (its gradebook made), nothing collected."""
    course = tmp_path_factory.mktemp("released")
    grading.release(LAB, course, source=grading.PROBE)
    return course


def test_each_command_run_too_early_says_what_to_run(tmp_path, released):
    (tmp_path / "solutions" / LAB).mkdir(parents=True)
    shutil.copy(grading.PROBE, tmp_path / "solutions" / LAB)
    assert "there is no lab 'lab09'" in explains(tmp_path, "autograde", "lab09")
    assert "run `make release`" in explains(tmp_path, "collect", LAB)  # no gradebook yet
    assert "nothing to collect: put the files downloaded from your LMS into" in explains(released, "collect", LAB)
    assert "run `make collect LAB=lab00_probe` first" in explains(released, "autograde", LAB)
    assert "run `make autograde LAB=lab00_probe` first" in explains(released, "feedback", LAB)


def _sleepers() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "4567.25" in line]


def test_a_grading_over_its_time_limit_is_stopped_with_everything_it_started(released):
    solution = nbformat.read(released / "solutions" / LAB / f"{LAB}.ipynb", 4)
    index = next(i for i, cell in enumerate(solution.cells) if cell.get("id") == "cell-002")
    solution.cells.insert(index + 1, nbformat.v4.new_code_cell('import subprocess\nsubprocess.run(["sleep", "4567.25"])'))
    grading.download(released, LAB, {"slow": solution})
    grading.cli(released, "collect", LAB)
    start = time.monotonic()
    command = subprocess.Popen([sys.executable, "-m", "xaigrader.cli", "--root", str(released), "autograde", LAB,
                                "--timeout", "15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = False  # the endless cell ran before the grading was stopped
    while command.poll() is None:
        seen = seen or bool(_sleepers())
        time.sleep(0.2)
    stdout, stderr = command.communicate()
    assert command.returncode == 0, stdout + stderr
    assert seen, "the grading was stopped before its endless cell ran"
    assert time.monotonic() - start < 60
    row = next(line for line in stdout.splitlines() if line.startswith("slow "))
    assert "BROKEN SUBMISSION" in row and "grading slow took longer than 15 s and was stopped" in stdout, stdout
    assert not (released / "autograded" / "slow" / LAB).exists(), "a half-graded notebook was left for feedback"
    deadline = time.monotonic() + 10  # the sandboxed kernel ends with its parent
    while _sleepers() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _sleepers(), "a process of the stopped grading is still running"
