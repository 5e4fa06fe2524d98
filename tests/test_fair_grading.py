"""A grade never depends on the machine's load."""

from __future__ import annotations

import subprocess
import sys
import time

import grading
import nbformat
import pytest

pytestmark = pytest.mark.slow

LAB = "lab02_global_methods"  # OpenMP-heavy models: the lab that lost points on a busy machine


def test_solved_submission_gets_full_marks_while_both_cores_are_busy(tmp_path):
    solution, _ = grading.release(LAB, tmp_path)
    folder = tmp_path / "submitted" / "busy" / LAB
    folder.mkdir(parents=True)
    nbformat.write(solution, folder / f"{LAB}.ipynb")
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        start = time.monotonic()
        proc = grading.cli(tmp_path, "autograde", LAB, "--jobs", "1")
        seconds = time.monotonic() - start
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    scores, max_scores = grading.read_scores(tmp_path, LAB)
    assert scores["busy"] == max_scores, proc.stdout[-2000:]
    print(f"graded a solved {LAB} in {seconds:.0f} s with both cores busy")
