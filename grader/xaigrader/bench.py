"""`make bench`: time and memory of every notebook, and the time budgets of autograding.

Each notebook runs in a fresh process (``python -m xaigrader.bench NOTEBOOK DIR``) that
executes it with nbclient, one thread per process as everywhere in the course; its kernel
is that process's child, so the kernel's peak resident memory is
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` once the kernel has exited. Time includes kernel
start-up, imports, training and plotting: what a student waits for on *Run All*.

For each lab the solution is also autograded as an instructor would (release, submit,
``xai-course autograde``), which measures the whole grading of one submission and each
hidden test on its own. Two files are written:

- ``bench/results.md``: the table;
- ``grader/xaigrader/budgets.json``: per lab, the seconds each cell of the solution took
  and the notebook's total. Autograding sizes its time limits from them
  (:class:`~xaigrader.verdicts.SandboxedExecute`): a cell gets ``CELL_FACTOR`` times its
  measured time (at least ``MIN_CELL_S``), a notebook ``TOTAL_FACTOR`` times its total (at
  least ``MIN_TOTAL_S``), so an endless loop costs seconds, not the default minute per cell.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from xaikit.threads import THREAD_ENV

from . import build

BUDGET_SECONDS = 60
BUDGET_MB = 2048
BUDGETS = Path(__file__).resolve().parent / "budgets.json"
CELL_FACTOR, MIN_CELL_S = 10, 20
TOTAL_FACTOR, MIN_TOTAL_S = 5, 180


def cell_key(source: str) -> str:
    """A cell's identity for its time budget: its source, whitespace-normalised."""
    return hashlib.sha1("\n".join(line.rstrip() for line in source.strip().splitlines()).encode()).hexdigest()[:16]


def _seconds(cell) -> float | None:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return round((parse(end) - parse(start)).total_seconds(), 2)


def measure(notebook: Path, workdir: Path) -> dict:
    """Execute one notebook in this process's kernel child; return seconds, peak MB and cell times."""
    nb = nbformat.read(notebook, 4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True, record_timing=True,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    seconds = time.perf_counter() - start
    errors = sum(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    cells = {}
    for cell in nb.cells:
        solution = cell.get("metadata", {}).get("nbgrader", {}).get("solution", False)
        took = _seconds(cell) if cell.cell_type == "code" else None
        if took is not None and not solution:  # answer cells differ in every submission
            cells[cell_key(cell.source)] = took
    return {"seconds": round(seconds, 1), "peak_mb": round(peak_kb / 1024), "errors": errors, "cells": cells,
            "slowest_cell": max(cells.values(), default=0.0)}


def autograde_solution(root: Path, lab: str) -> dict:
    """Grade the solution as a submission in a scratch course; seconds in all and per hidden test."""
    course = Path(tempfile.mkdtemp(prefix="xai-bench-"))
    try:
        (course / "solutions" / lab).mkdir(parents=True)
        for path in (root / "solutions" / lab).iterdir():
            if path.is_file() and path.suffix != ".ipynb":
                shutil.copy(path, course / "solutions" / lab)
        cli = [sys.executable, "-m", "xaigrader.cli", "--root", str(course)]
        env = {**os.environ, **THREAD_ENV, "XAI_TIMINGS": str(course / "timings.jsonl")}
        subprocess.run([*cli, "release", lab], check=True, capture_output=True, env=env)
        submitted = course / "submitted" / "bench" / lab
        submitted.mkdir(parents=True)
        shutil.copy(course / "solutions" / lab / f"{lab}.ipynb", submitted)
        start = time.perf_counter()
        proc = subprocess.run([*cli, "autograde", lab, "--jobs", "1"], capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
        tests = {}
        timings = course / "timings.jsonl"
        for line in timings.read_text().splitlines() if timings.exists() else []:
            row = json.loads(line)
            tests[row["test"]] = row["seconds"]
        return {"autograde_s": round(seconds, 1), "tests": tests}
    finally:
        shutil.rmtree(course, ignore_errors=True)


def main(root: Path, out: Path, only: list[str] | None = None) -> int:
    build.build_all(root)
    sources = [(s, "lecture") for s in build.course_sources(root)] + [(s, "lab (solution)") for s in build.lab_sources(root)]
    rows, budgets = [], json.loads(BUDGETS.read_text()) if BUDGETS.exists() else {}
    for src, kind in sources:
        if only and src.name not in only:
            continue
        print(f"running {src.target.relative_to(root)} ...", flush=True)
        proc = subprocess.run([sys.executable, "-m", "xaigrader.bench", str(src.target), str(src.source.parent)],
                              capture_output=True, text=True,
                              env={**os.environ, **THREAD_ENV, "HF_HUB_OFFLINE": "1"})
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return proc.returncode
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if kind.startswith("lab"):
            print("  autograding the solution ...", flush=True)
            result.update(autograde_solution(root, src.name))
            budgets[src.name] = {"total": result["seconds"], "cells": result["cells"]}
        ok = result["seconds"] <= BUDGET_SECONDS and result["peak_mb"] <= BUDGET_MB and not result["errors"]
        rows.append((src.target.relative_to(root), kind, result, ok))
        print(f"  {result['seconds']} s, {result['peak_mb']} MB, {result['errors']} errors", flush=True)

    lines = [
        "# Notebook benchmark",
        "",
        f"Measured by `make bench` on {datetime.date.today().isoformat()}: {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, {platform.machine()}, one thread per process. *Time* is *Run All* "
        f"from kernel start; *memory* is the kernel's peak resident set; *slowest cell* sizes the autograder's "
        f"per-cell time limit ({CELL_FACTOR}x, at least {MIN_CELL_S} s). For a lab, *autograde* is the whole "
        "grading of the solution as a submission (sandboxed kernel, then the hidden tests in the grader), and "
        f"*slowest hidden test* the longest of its tests. Budget per notebook: {BUDGET_SECONDS} s and {BUDGET_MB} MB.",
        "",
        "| notebook | kind | time (s) | peak memory (MB) | slowest cell (s) | autograde (s) | slowest hidden test (s) "
        "| errors | within budget |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for path, kind, r, ok in rows:
        tests = r.get("tests", {})
        slowest = f"{max(tests.values()):.1f} ({max(tests, key=tests.get).split('.')[-1]})" if tests else "-"
        lines.append(f"| `{path}` | {kind} | {r['seconds']} | {r['peak_mb']} | {r['slowest_cell']:.1f} | "
                     f"{r.get('autograde_s', '-')} | {slowest} | {r['errors']} | {'yes' if ok else '**no**'} |")
    BUDGETS.write_text(json.dumps(budgets, indent=1, sort_keys=True) + "\n")
    print(f"wrote {BUDGETS.relative_to(root)}")
    if only:  # a partial run prints its rows; only a full run replaces the table
        print("\n".join(lines))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        print(f"\nwrote {out}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
