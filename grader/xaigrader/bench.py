"""`make bench`: wall time and peak memory of every notebook, as a Markdown table.

Each notebook runs in a fresh process (``python -m xaigrader.bench NOTEBOOK``) that executes
it with nbclient; its kernel is that process's child, so the kernel's peak resident memory
is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` once the kernel has exited. Time includes kernel
start-up, imports, training and plotting: what a student waits for on *Run All*.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from . import build

BUDGET_SECONDS = 60
BUDGET_MB = 2048


def measure(notebook: Path, workdir: Path) -> dict:
    """Execute one notebook in this process's kernel child; return seconds and peak MB."""
    nb = nbformat.read(notebook, 4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    seconds = time.perf_counter() - start
    errors = sum(o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    return {"seconds": round(seconds, 1), "peak_mb": round(peak_kb / 1024), "errors": errors}


def main(root: Path, out: Path, only: list[str] | None = None) -> int:
    build.build_all(root)
    sources = [(s, "lecture") for s in build.course_sources(root)] + [(s, "lab (solution)") for s in build.lab_sources(root)]
    rows = []
    for src, kind in sources:
        if only and src.name not in only:
            continue
        print(f"running {src.target.relative_to(root)} ...", flush=True)
        proc = subprocess.run([sys.executable, "-m", "xaigrader.bench", str(src.target), str(src.source.parent)],
                              capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
            return proc.returncode
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        ok = result["seconds"] <= BUDGET_SECONDS and result["peak_mb"] <= BUDGET_MB and not result["errors"]
        rows.append((src.target.relative_to(root), kind, result, ok))
        print(f"  {result['seconds']} s, {result['peak_mb']} MB, {result['errors']} errors", flush=True)

    lines = [
        "# Notebook benchmark",
        "",
        f"Measured by `make bench` on {datetime.date.today().isoformat()}: {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, {platform.machine()}. Time is *Run All* from kernel start; "
        f"memory is the kernel's peak resident set. Budget per notebook: {BUDGET_SECONDS} s and {BUDGET_MB} MB.",
        "",
        "| notebook | kind | time (s) | peak memory (MB) | errors | within budget |",
        "|---|---|---:|---:|---:|---|",
    ]
    for path, kind, r, ok in rows:
        lines.append(f"| `{path}` | {kind} | {r['seconds']} | {r['peak_mb']} | {r['errors']} | {'yes' if ok else '**no**'} |")
    if only:  # a partial run prints its rows; only a full run replaces the table
        print("\n".join(lines))
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines) + "\n")
        print(f"\nwrote {out}")
    return 0 if all(ok for *_, ok in rows) else 1


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
