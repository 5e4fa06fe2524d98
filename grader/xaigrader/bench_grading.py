"""`make bench-grading`: how fast a class is graded, one and two submissions at a time.

In a scratch course directory the lab is released and a class of N submissions is put in
``submitted/``: copies of the solution and a couple of wrong ones (the blank release, and
the solution with the plausible mistakes of ``tests/wrong_answers/<lab>.py`` when the
repository has them). The class is then autograded with ``xai-course autograde --jobs 1``
and again with ``--jobs 2`` (each a fresh gradebook, the same submissions), timing the
whole command as an instructor waits for it. Every run's grades must be what the
submissions deserve (full marks for a copy of the solution, less for a wrong one), else the
benchmark fails instead of reporting the time of a broken grading.

The table goes to ``bench/grading.md``: wall time, speedup, seconds per submission, the
machine's load average around each run (the course machines are shared: a busy machine
makes the speedup smaller, and the table says so), and the extrapolation to a class of
500 students and 8 labs on k such machines.
"""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from xaikit.threads import THREAD_ENV

from . import build

DEFAULT_LAB = "lab02_global_methods"
GOAL_SPEEDUP = 1.7
CLASS_SIZE, LABS = 500, 8
MACHINES = (1, 2, 4, 8, 16)


@dataclass
class Run:
    jobs: int
    seconds: float
    load_before: float
    load_after: float
    scores: dict[str, float]


def _cells_replaced(nb, replacements: dict[str, str]):
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id].strip()
    return nb


def wrong_answers(root: Path, lab: str, count: int) -> list[tuple[str, dict[str, str]]]:
    """Up to ``count`` (name, {answer cell: wrong source}) from tests/wrong_answers/<lab>.py."""
    tests = root / "tests"
    if not (tests / "wrong_answers" / f"{lab}.py").exists():
        return []
    sys.path.insert(0, str(tests))
    try:
        from wrong_answers import for_lab
    finally:
        sys.path.remove(str(tests))
    return [(w.label, {w.grade_id: w.source}) for w in for_lab(lab)[:count]]


def make_class(root: Path, course: Path, lab: str, n: int) -> dict[str, str]:
    """Release ``lab`` in ``course`` and submit N notebooks; {student: "solution" | "wrong"}."""
    (course / "solutions" / lab).mkdir(parents=True)
    for path in (root / "solutions" / lab).iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copy(path, course / "solutions" / lab)
    _cli(course, "release", lab)
    solution = nbformat.read(course / "solutions" / lab / f"{lab}.ipynb", 4)
    blank = nbformat.read(course / "labs" / lab / f"{lab}.ipynb", 4)
    wrong = [("blank", blank)] + [(f"wrong-{name}", _cells_replaced(solution, cells))
                                  for name, cells in wrong_answers(root, lab, 1)]
    wrong = wrong[: max(0, min(2, n - 1))]
    kinds = {}
    for k in range(n - len(wrong)):
        _submit(course, lab, f"copy-{k + 1:03d}", solution)
        kinds[f"copy-{k + 1:03d}"] = "solution"
    for student, nb in wrong:
        _submit(course, lab, student, nb)
        kinds[student] = "wrong"
    return kinds


def _submit(course: Path, lab: str, student: str, nb) -> None:
    folder = course / "submitted" / student / lab
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{lab}.ipynb")


def _cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "xaigrader.cli", "--root", str(course), *args],
                          capture_output=True, text=True, env={**os.environ, **THREAD_ENV})
    if proc.returncode != 0:
        raise RuntimeError(f"xai-course {' '.join(args)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return proc


def grade(course: Path, lab: str, jobs: int) -> Run:
    """Autograde the whole class with a fresh gradebook; time the command."""
    (course / "gradebook.db").unlink(missing_ok=True)
    shutil.rmtree(course / "autograded", ignore_errors=True)
    _cli(course, "release", lab)  # the lab back into the fresh gradebook (not timed)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    _cli(course, "autograde", lab, "--jobs", str(jobs))
    seconds = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    from .cli import scores

    return Run(jobs, seconds, load_before, load_after, {r["student"]: r["autograded"] for r in scores(course, lab)})


def check_grades(run: Run, kinds: dict[str, str]) -> None:
    full = max(run.scores.values(), default=0)
    for student, kind in kinds.items():
        got = run.scores.get(student)
        if got is None or (kind == "solution") != (got == full) or full == 0:
            raise RuntimeError(f"--jobs {run.jobs}: {student} ({kind}) scored {got} of {full}: the grading is broken, "
                               "so its time means nothing")


def extrapolation(per_submission_s: float, jobs: int) -> list[str]:
    total = CLASS_SIZE * LABS * per_submission_s
    rows = [f"| k machines | {CLASS_SIZE} students x {LABS} labs ({CLASS_SIZE * LABS} submissions) |", "|---:|---:|"]
    for k in MACHINES:
        hours = total / k / 3600
        rows.append(f"| {k} | {hours:.1f} h ({hours * 60 / LABS:.0f} min per lab) |")
    return rows


def table(lab: str, runs: list[Run], kinds: dict[str, str]) -> str:
    n = len(kinds)
    base = runs[0].seconds
    best = min(runs, key=lambda r: r.seconds)
    speedup = base / best.seconds
    busy = max(max(r.load_before, r.load_after) for r in runs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [
        "# Grading benchmark",
        "",
        f"Measured by `make bench-grading` on {datetime.date.today().isoformat()}: {cores} CPU cores, "
        f"Python {platform.python_version()}, {platform.machine()}, one thread per process, the sandbox "
        f"{'required' if os.environ.get('XAI_SANDBOX') == 'required' else 'on where available'}. "
        f"`{lab}`: {n} submissions ({sum(k == 'solution' for k in kinds.values())} copies of the solution, "
        f"{sum(k == 'wrong' for k in kinds.values())} wrong: {', '.join(s for s, k in kinds.items() if k == 'wrong')}), "
        "graded by `xai-course autograde --jobs J` with a fresh SQLite gradebook; *wall time* is the whole command "
        "(process start-up, sandboxed notebook, hidden tests, gradebook), as an instructor waits for it. "
        "The load average is the machine's (1 minute) just before and after each run: the machine is shared.",
        "",
        "| N | jobs | wall time (s) | speedup | s per submission | load average before -> after |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        lines.append(f"| {n} | {r.jobs} | {r.seconds:.1f} | {base / r.seconds:.2f}x | {r.seconds / n:.1f} | "
                     f"{r.load_before:.1f} -> {r.load_after:.1f} |")
    lines += ["", f"Goal: a speedup of at least {GOAL_SPEEDUP}x with 2 jobs on 2 cores. Measured: {speedup:.2f}x."]
    if speedup < GOAL_SPEEDUP:
        why = (f"the machine was busy (load average up to {busy:.1f} on {cores} cores: other processes took "
               "the second core)" if busy > cores else "not explained by the machine's load")
        lines.append(f"**Below the goal**: {why}.")
    if busy > cores:
        lines.append(f"**The machine was busy** (load average up to {busy:.1f} on {cores} cores, from other work): "
                     "every time here is longer than on an idle machine, and the speedup mixes parallelism with "
                     "the larger share of a busy CPU that two processes get. Plan with a run on an idle machine.")
    per = best.seconds / n
    lines += [
        "",
        f"## Extrapolation: a class of {CLASS_SIZE}, {LABS} labs",
        "",
        f"At {per:.1f} s per submission ({best.jobs} jobs on one such machine, the best run above), assuming every "
        f"lab grades like `{lab}` and k machines share the class (`xai-course autograde LAB --shard I/k`, or the "
        "indexed Kubernetes Job of deploy/k8s/autograde-job.yaml) with one PostgreSQL gradebook:",
        "",
        *extrapolation(per, best.jobs),
    ]
    return "\n".join(lines) + "\n"


def main(root: Path, out: Path, lab: str = DEFAULT_LAB, n: int = 6, jobs: tuple[int, ...] = (1, 2)) -> int:
    if n < 3:
        raise ValueError("the benchmark needs at least 3 submissions (copies of the solution and wrong ones)")
    course = Path(tempfile.mkdtemp(prefix="xai-bench-grading-"))
    try:
        print(f"releasing {lab} and submitting {n} notebooks in {course} ...", flush=True)
        kinds = make_class(root, course, lab, n)
        runs = []
        for j in jobs:
            print(f"autograding {n} submissions with --jobs {j} ...", flush=True)
            run = grade(course, lab, j)
            check_grades(run, kinds)
            print(f"  {run.seconds:.1f} s (load average {run.load_before:.1f} -> {run.load_after:.1f})", flush=True)
            runs.append(run)
    finally:
        shutil.rmtree(course, ignore_errors=True)
    text = table(lab, runs, kinds)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"wrote {out}")
    return 0
