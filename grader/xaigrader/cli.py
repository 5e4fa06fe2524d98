"""`xai-course`: the instructor's commands, each a thin layer over nbgrader.

    xai-course build [--check]          notebooks from their jupytext sources
    xai-course release [LAB ...]        nbgrader generate_assignment: solutions/ -> labs/
    xai-course collect LAB              nbgrader zip_collect: downloaded/LAB/archive -> submitted/
    xai-course autograde LAB            nbgrader autograde, then a score table; broken submissions are
                                        listed and score 0, the rest of the batch is graded
    xai-course feedback LAB             nbgrader generate_feedback (hidden tests cleared), then verified
    xai-course export [--to FILE]       nbgrader export to CSV
    xai-course bench [--out FILE]       time and peak memory of every notebook
    xai-course site [--out DIR] [--no-solutions]
                                        the website: lectures, labs and worked solutions, by Sphinx

Every nbgrader call runs from the repository root, where nbgrader_config.py loads
grader/nbgrader_config.py; ``--root DIR`` points all commands at another course directory
(the tests use a temporary one).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

from . import build

def labs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.py").exists())


def nbgrader(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command on the course directory ``root``."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}",
           f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}"]
    # nbgrader runs helper programs (alembic) and kernels from the environment it is installed in.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0"}
    print("$", " ".join(cmd[2:4]), " ".join(args[1:]), flush=True)
    # nbgrader finds its configuration (nbgrader_config.py) in the directory it runs in.
    return subprocess.run(cmd, cwd=build.ROOT, env=env, check=check)


def cmd_build(args) -> int:
    stale = build.build_all(args.root, check=args.check)
    if args.check:
        for path in stale:
            print(f"out of date: {path.relative_to(args.root)} (run `make build`)")
        return 1 if stale else 0
    for path in stale:
        print(f"wrote {path.relative_to(args.root)}")
    return 0


def cmd_release(args) -> int:
    build.build_all(args.root)
    for lab in args.labs or labs(args.root):
        nbgrader(args.root, "generate_assignment", lab, "--force")
        leaks = [p for p in (args.root / "labs" / lab).rglob("*.ipynb")
                 if any(m in p.read_text() for m in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "xaigrader"))]
        if leaks:
            print(f"ERROR: solution or hidden-test text in the release: {leaks}")
            return 1
    return 0


STUDENT_ID = r"[A-Za-z0-9.\-]+"  # the part of a downloaded file name before "_<lab>.ipynb"


def uncollectable(root: Path, lab: str) -> list[Path]:
    """Downloaded notebooks whose name is not ``<student-id>_<lab>.ipynb`` (zip_collect misfiles them)."""
    extracted = root / "downloaded" / lab / "extracted"
    pattern = re.compile(rf"{STUDENT_ID}_{re.escape(lab)}\.ipynb")
    return sorted(p for p in extracted.rglob("*.ipynb") if not pattern.fullmatch(p.name))


def cmd_collect(args) -> int:
    nbgrader(args.root, "zip_collect", args.lab, "--force")
    bad = uncollectable(args.root, args.lab)
    for path in bad:
        print(f"NOT COLLECTED: {path.name} - rename it to <student-id>_{args.lab}.ipynb "
              "(the id made of letters, digits, '.' and '-') and collect again")
    return 1 if bad else 0


def scores(root: Path, lab: str) -> list[dict]:
    """Autograded and manual scores of every student who submitted ``lab``."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(lab)
        auto_max = sum(c.max_score for nb in assignment.notebooks for c in nb.grade_cells if c.cell_type == "code")
        for student in sorted(s.id for s in gb.students):
            try:
                sub = gb.find_submission(lab, student)
            except MissingEntry:
                continue
            auto = sum(g.score for nb in sub.notebooks for g in nb.grades if g.cell.cell_type == "code")
            rows.append({"student": student, "autograded": auto, "autograded_max": auto_max,
                         "needs_manual_grading": sub.needs_manual_grade})
    return rows


def broken_submissions(root: Path, lab: str) -> list[str]:
    """Students whose submission exists but produced no autograded notebook."""
    submitted = root / "submitted"
    broken = []
    for student_dir in sorted(submitted.glob("*")) if submitted.exists() else []:
        if not (student_dir / lab).is_dir():
            continue
        expected = [p.name for p in (student_dir / lab).glob("*.ipynb")] or [f"{lab}.ipynb"]
        if not all((root / "autograded" / student_dir.name / lab / name).exists() for name in expected):
            broken.append(student_dir.name)
    return broken


def cmd_autograde(args) -> int:
    result = nbgrader(args.root, "autograde", args.lab, "--force", check=False)
    broken = broken_submissions(args.root, args.lab)
    table = scores(args.root, args.lab)
    print(f"\n{'student':<24} {'autograded':>12}  manual grading")
    for row in table:
        flag = "  BROKEN SUBMISSION: scored 0, see the log above" if row["student"] in broken else ""
        print(f"{row['student']:<24} {row['autograded']:>6g} / {row['autograded_max']:<4g}"
              f"  {'needed' if row['needs_manual_grading'] else 'done'}{flag}")
    for student in broken:
        if student not in {r["student"] for r in table}:
            print(f"{student:<24} {'0':>6} / -     BROKEN SUBMISSION: could not be read, see the log above")
    if broken:
        print(f"\n{len(broken)} submission(s) could not be graded and score 0: {', '.join(broken)}. "
              "The other submissions were graded normally.")
    elif result.returncode != 0:
        print("nbgrader reported an error (see above).")
        return result.returncode
    return 0


def cmd_feedback(args) -> int:
    nbgrader(args.root, "generate_feedback", args.lab, "--force")
    leaks = [p for p in (args.root / "feedback").rglob("*.html")
             if any(m in p.read_text() for m in ("BEGIN HIDDEN TESTS", "xaigrader"))]
    if leaks:
        print(f"ERROR: hidden-test code in feedback: {leaks}")
        return 1
    print(f"feedback in {args.root / 'feedback'} (one HTML file per student and notebook)")
    return 0


def cmd_export(args) -> int:
    nbgrader(args.root, "export", f"--to={args.to}")
    print(f"grades written to {args.to}")
    return 0


def cmd_bench(args) -> int:
    from . import bench

    return bench.main(args.root, Path(args.out), args.notebooks)


def cmd_site(args) -> int:
    from . import site

    return site.main(args.root, Path(args.out), solutions=not args.no_solutions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xai-course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=build.ROOT, help="course directory (default: this repository)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build notebooks from the jupytext sources")
    p.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("release", help="generate the student versions in labs/")
    p.add_argument("labs", nargs="*")
    p.set_defaults(func=cmd_release)
    for name, func, doc in [("collect", cmd_collect, "collect downloaded submissions"),
                            ("autograde", cmd_autograde, "autograde submitted/<student>/LAB"),
                            ("feedback", cmd_feedback, "generate feedback HTML")]:
        p = sub.add_parser(name, help=doc)
        p.add_argument("lab")
        p.set_defaults(func=func)
    p = sub.add_parser("export", help="export all grades to CSV")
    p.add_argument("--to", default="grades.csv")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("bench", help="time and peak memory of every notebook")
    p.add_argument("--out", default=str(build.ROOT / "bench" / "results.md"))
    p.add_argument("notebooks", nargs="*", help="only these notebook names")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("site", help="build the course website (Sphinx) with executed notebooks")
    p.add_argument("--out", default=str(build.ROOT / "site" / "_build" / "html"))
    p.add_argument("--no-solutions", action="store_true", help="leave out the worked solutions (a graded run)")
    p.set_defaults(func=cmd_site)
    args = parser.parse_args(argv)
    args.root = args.root.resolve()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
