"""`xai-course`: the instructor's commands, each a thin layer over nbgrader.

    xai-course build [--check]          notebooks from their jupytext sources
    xai-course release [LAB ...]        nbgrader generate_assignment: solutions/ -> labs/
    xai-course collect LAB              check the LMS downloads, then nbgrader zip_collect -> submitted/
    xai-course autograde LAB [--jobs N] [--student S ...] [--shard I/N] [--timeout S]
                                        nbgrader autograde, one process per student (N at a time,
                                        forked from a warm fork server), each checked against the
                                        gradebook; then a score table. Broken submissions (and
                                        gradings stopped after S seconds) are listed and score 0,
                                        the batch goes on
    xai-course feedback LAB             nbgrader generate_feedback (hidden tests cleared), then verified
    xai-course lab [--formgrader]       JupyterLab on the labs (students) or for grading (instructors)
    xai-course export [--to FILE]       nbgrader export to CSV
    xai-course bench [--out FILE]       time and peak memory of every notebook
    xai-course bench-grading [LAB] [-n N]
                                        a class of N submissions graded with --jobs 1 and 2 -> bench/grading.md
    xai-course site [--out DIR] [--no-solutions]
                                        the website: lectures, labs and worked solutions, by Sphinx

Every nbgrader call runs from the repository root, where nbgrader_config.py loads
grader/nbgrader_config.py; ``--root DIR`` points all commands at another course directory
(the tests use a temporary one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xaikit.threads import THREAD_ENV

from . import build, gradebook
from .gradebook import db_url  # noqa: F401 - the gradebook of a course directory (XAI_DB_URL or SQLite)


def labs(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if (p / f"{p.name}.py").exists())


def course_env() -> dict[str, str]:
    """The environment of every process the course starts: offline, seeded, one thread each."""
    # nbgrader runs helper programs (alembic) and kernels from the environment it is installed in.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0", **THREAD_ENV}


def nbgrader(root: Path, *args: str, check: bool = True, quiet: bool = False,
             timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run an nbgrader command on the course directory ``root``."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}", *gradebook.command_line(root)]
    if not quiet:
        print("$", " ".join(cmd[2:4]), " ".join(args[1:]), flush=True)
    # nbgrader finds its configuration (nbgrader_config.py) in the directory it runs in.
    kwargs = {"capture_output": True, "text": True} if quiet else {}
    return subprocess.run(cmd, cwd=build.ROOT, env=course_env(), check=check, timeout=timeout, **kwargs)


class Unready(Exception):
    """A command cannot run yet; the message says what to run first."""


def require_released(root: Path, lab: str) -> None:
    """One sentence instead of a traceback when the gradebook or the lab is missing."""
    if lab not in labs(root):
        known = ", ".join(labs(root)) or "none"
        raise Unready(f"there is no lab {lab!r} in {root / 'solutions'} (labs: {known}).")
    if not gradebook.exists(root):
        raise Unready(f"no gradebook yet in {root}: run `make release` (xai-course release) first.")
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url(root)) as gb:
        try:
            gb.find_assignment(lab)
        except MissingEntry:
            raise Unready(f"{lab} has not been released yet: run `make release` (xai-course release {lab}) "
                          "first.") from None


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


def roster(root: Path) -> set[str]:
    """The class list in the gradebook (``nbgrader db student import``); empty if none was imported."""
    from nbgrader.api import Gradebook

    if not gradebook.exists(root):
        return set()
    with Gradebook(db_url(root)) as gb:
        return {s.id for s in gb.students}


def cmd_collect(args) -> int:
    from .collect import check_downloads

    require_released(args.root, args.lab)
    archive = args.root / "downloaded" / args.lab / "archive"
    if not archive.is_dir():
        raise Unready(f"nothing to collect: put the files downloaded from your LMS into {archive}")
    found = check_downloads(args.root, args.lab, STUDENT_ID, roster(args.root) if args.roster else None)
    if found.accepted:
        nbgrader(args.root, "zip_collect", args.lab, "--force", "--ZipCollectApp.archive_directory=checked")
    for name, reason in found.skipped:
        print(f"NOT COLLECTED: {name} - {reason}")
    print(f"collected {len(found.accepted)} submission(s) of {args.lab}; {len(found.skipped)} file(s) skipped")
    return 1 if found.skipped else 0


def scores(root: Path, lab: str) -> list[dict]:
    """Autograded and manual scores of every student who submitted ``lab``."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(db_url(root)) as gb:
        assignment = gb.find_assignment(lab)
        auto_max = sum(c.max_score for nb in assignment.notebooks for c in nb.grade_cells if c.cell_type == "code")
        for student in sorted(s.id for s in gb.students):
            try:
                sub = gb.find_submission(lab, student)
            except MissingEntry:
                continue
            auto = sum(g.score for nb in sub.notebooks for g in nb.grades if g.cell.cell_type == "code")
            flagged = sorted(g.name for nb in sub.notebooks for g in nb.grades
                             if g.cell.cell_type == "code" and g.needs_manual_grade)
            rows.append({"student": student, "autograded": auto, "autograded_max": auto_max,
                         "needs_manual_grading": sub.needs_manual_grade, "grader_errors": flagged})
    return rows


def submitted_students(root: Path, lab: str) -> list[str]:
    submitted = root / "submitted"
    return sorted(p.name for p in submitted.glob("*") if (p / lab).is_dir()) if submitted.exists() else []


def broken_submissions(root: Path, lab: str, students: list[str] | None = None) -> list[str]:
    """Students whose submission exists but produced no autograded notebook."""
    broken = []
    for student in students if students is not None else submitted_students(root, lab):
        student_dir = root / "submitted" / student
        expected = [p.name for p in (student_dir / lab).glob("*.ipynb")] or [f"{lab}.ipynb"]
        if not all((root / "autograded" / student / lab / name).exists() for name in expected):
            broken.append(student)
    return broken


# What every nbgrader autograde process imports before it grades (a lab adds its week's grader).
WARM_MODULES = ("nbgrader.apps.nbgraderapp", "nbgrader.converters.autograde", "nbconvert.preprocessors.execute",
                "xaigrader.verdicts", "xaigrader.sandbox", "xaigrader.remote")


def warm_grader(root: Path, lab: str):
    """A multiprocessing context whose processes are forked from one warm process, a fork
    server that has imported nbgrader and the lab's hidden tests (with their libraries: scikit-learn,
    PyTorch, captum) once for the whole class: each submission then starts grading at once
    instead of spending 3-8 CPU-seconds on imports. None where fork servers do not exist."""
    import multiprocessing
    import multiprocessing.forkserver

    from .verdicts import CALL

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    import nbformat

    source = root / "solutions" / lab / f"{lab}.ipynb"
    cells = nbformat.read(source, 4).cells if source.exists() else []
    weeks = sorted({f"xaigrader.{m.group(1)}" for cell in cells for m in CALL.finditer(cell.source)})
    context = multiprocessing.get_context("forkserver")
    os.environ.update(course_env())  # the fork server, and every grading, starts with the course's environment
    context.set_forkserver_preload([*WARM_MODULES, *weeks])
    multiprocessing.forkserver.ensure_running()  # it imports while this process prepares the batch
    return context


def _autograde_in_child(root: str, lab: str, student: str, log: str) -> None:
    """One student's ``nbgrader autograde``, in a process of the warm grader."""
    os.setsid()  # its own process group: a timeout stops the grading and everything it started
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(build.ROOT)  # nbgrader finds its configuration (nbgrader_config.py) in the directory it runs in
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.launch_instance(argv=["autograde", lab, "--force", f"--student={student}",
                                      f"--CourseDirectory.root={root}", *gradebook.command_line(Path(root))])


def grade_student(root: Path, lab: str, student: str, timeout: float, warm=None) -> tuple[str, str]:
    """Autograde one student in its own nbgrader process (forked from ``warm``, the
    :func:`warm_grader`, if given); (status, log tail)."""
    stopped = "timeout", f"grading {student} took longer than {timeout:.0f} s and was stopped"
    if warm is None:
        try:
            proc = nbgrader(root, "autograde", lab, "--force", f"--student={student}", check=False, quiet=True,
                            timeout=timeout)
        except subprocess.TimeoutExpired:
            return stopped
        log = proc.stdout + proc.stderr
        return ("ok" if proc.returncode == 0 else "error"), log[-4000:]
    import signal
    import tempfile

    with tempfile.TemporaryDirectory(prefix="xai-autograde-") as tmp:
        log_file = Path(tmp) / "log"
        child = warm.Process(target=_autograde_in_child, args=(str(root), lab, student, str(log_file)))
        try:
            child.start()
        except Exception:  # noqa: BLE001 - the fork server is gone (a preloaded module failed): a cold process
            return grade_student(root, lab, student, timeout)
        child.join(timeout)
        if child.exitcode is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                child.kill()
            child.join()
            return stopped
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
    return ("ok" if child.exitcode == 0 else "error"), log[-4000:]


def shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N), 0 <= I < N."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a shard is I/N, e.g. 0/8, not {text!r}") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard {text}: I must be between 0 and N-1")
    return index, count


def cmd_autograde(args) -> int:
    from . import audit

    require_released(args.root, args.lab)
    everyone = submitted_students(args.root, args.lab)
    students = args.student or everyone
    unknown = sorted(set(students) - set(everyone))
    if unknown:
        raise Unready(f"no submission of {args.lab} for {', '.join(unknown)} in {args.root / 'submitted'}: "
                      f"run `make collect LAB={args.lab}` first.")
    if not students:
        raise Unready(f"no submissions of {args.lab} in {args.root / 'submitted'}: run `make collect LAB={args.lab}` "
                      "first.")
    warm = warm_grader(args.root, args.lab)
    from .sandbox import Sandbox, SandboxUnavailable, bwrap_works

    try:
        if not Sandbox().isolated:
            print(f"WARNING: grading without the sandbox ({bwrap_works()[1] or 'XAI_SANDBOX=off'}): student code "
                  "runs with your user's rights; see README, 'How grading resists cheating'.", flush=True)
    except SandboxUnavailable as exc:
        raise Unready(f"{exc}. Install bubblewrap (apt-get install bubblewrap) or set XAI_SANDBOX=auto.") from None
    elsewhere: set[str] = set()
    if args.shard:  # one of N machines or Jobs: every N-th submission, from the I-th
        index, count = args.shard
        mine = students[index::count]
        elsewhere = set(everyone) - set(mine)  # graded by the other shards meanwhile
        print(f"shard {index}/{count}: {len(mine)} of {len(students)} submission(s) of {args.lab}", flush=True)
        if not mine:
            return 0
        students = mine
    jobs = max(1, min(args.jobs or os.cpu_count() or 1, len(students)))
    print(f"autograding {len(students)} submission(s) of {args.lab} with {jobs} process(es)", flush=True)
    watch = audit.Watch(db_url(args.root), args.lab, elsewhere=elsewhere)
    logs: dict[str, tuple[str, str]] = {}
    took: dict[str, float] = {}  # seconds per student: which submissions were slow
    start = time.monotonic()

    def one(student: str) -> str:
        watch.begin(student)
        began = time.monotonic()
        logs[student] = grade_student(args.root, args.lab, student, args.timeout, warm)
        took[student] = time.monotonic() - began
        watch.end(student)
        return student

    from tqdm.auto import tqdm

    with ThreadPoolExecutor(jobs) as pool, tqdm(total=len(students), unit="submission", file=sys.stdout) as bar:
        for student in pool.map(one, students):
            bar.set_postfix_str(student)
            bar.update()
    elapsed = time.monotonic() - start
    stopped = [student for student in students if logs[student][0] == "timeout"]
    for student in stopped:  # no half-graded notebook is left for feedback
        shutil.rmtree(args.root / "autograded" / student / args.lab, ignore_errors=True)
    broken = broken_submissions(args.root, args.lab, students)
    table = [row for row in scores(args.root, args.lab) if row["student"] in students]
    print(f"\n{'student':<24} {'autograded':>12} {'seconds':>8}  manual grading")
    for row in table:
        flag = ""
        if row["student"] in broken:
            flag = "  BROKEN SUBMISSION: scored 0, see below"
        elif row["grader_errors"]:
            flag = f"  GRADER ERROR in {', '.join(row['grader_errors'])}: grade these cells by hand"
        print(f"{row['student']:<24} {row['autograded']:>6g} / {row['autograded_max']:<4g} {took.get(row['student'], 0):>8.1f}"
              f"  {'needed' if row['needs_manual_grading'] else 'done'}{flag}")
    for student in broken:
        if student not in {r["student"] for r in table}:
            print(f"{student:<24} {'0':>6} / -     BROKEN SUBMISSION: could not be read, see below")
    for student in broken:
        status, log = logs.get(student, ("", ""))
        reason = [line for line in log.splitlines() if "ERROR" in line or "Error" in line][-3:] or [log[-300:]]
        print(f"\n{student}: " + "\n  ".join(reason))
    for problem in watch.problems:
        print(f"GRADEBOOK: {problem}")
    print(f"\n{len(students)} submission(s) in {elapsed:.0f} s ({elapsed / len(students):.1f} s each, {jobs} at a time)")
    if broken:
        print(f"{len(broken)} submission(s) could not be graded and score 0: {', '.join(broken)}. "
              "The other submissions were graded normally.")
    return 0


FEEDBACK_LEAKS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "xaigrader")  # hidden-test code or the grader's name


def cmd_feedback(args) -> int:
    require_released(args.root, args.lab)
    if not any((args.root / "autograded").glob(f"*/{args.lab}")):
        raise Unready(f"nothing autograded for {args.lab} yet: run `make autograde LAB={args.lab}` first.")
    nbgrader(args.root, "generate_feedback", args.lab, "--force")
    # Fail closed: a feedback file of this lab that shows hidden-test or solution text is removed.
    leaks = [p for p in (args.root / "feedback").glob(f"*/{args.lab}/*.html")
             if any(m in p.read_text(errors="replace") for m in FEEDBACK_LEAKS)]
    for path in leaks:
        path.unlink()
        print(f"REMOVED {path.relative_to(args.root)}: it showed hidden-test code")
    if leaks:
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


def cmd_bench_grading(args) -> int:
    from . import bench_grading

    return bench_grading.main(args.root, Path(args.out), args.lab, args.n)


def cmd_site(args) -> int:
    from . import site

    return site.main(args.root, Path(args.out), solutions=not args.no_solutions)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xai-course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=build.ROOT, help="course directory (default: this repository)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", help="build notebooks from the jupytext sources")
    p.add_argument("--check", action="store_true", help="only report notebooks that are out of date")
    p.set_defaults(func=cmd_build)
    p = sub.add_parser("release", help="generate the student versions in labs/")
    p.add_argument("labs", nargs="*")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("collect", help="collect downloaded submissions")
    p.add_argument("lab")
    p.add_argument("--no-roster", dest="roster", action="store_false",
                   help="accept student ids that are not on the gradebook's class list")
    p.set_defaults(func=cmd_collect)
    p = sub.add_parser("autograde", help="autograde submitted/<student>/LAB")
    p.add_argument("lab")
    p.add_argument("--jobs", type=int, default=0, help="submissions graded at once (default: the CPU cores)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before one student's grading is stopped")
    p.add_argument("--shard", type=shard, metavar="I/N",
                   help="grade only the I-th (from 0) of N shares of the submissions: one of N machines or Jobs "
                        "on one PostgreSQL gradebook")
    p.set_defaults(func=cmd_autograde)
    p = sub.add_parser("feedback", help="generate feedback HTML")
    p.add_argument("lab")
    p.set_defaults(func=cmd_feedback)
    p = sub.add_parser("export", help="export all grades to CSV")
    p.add_argument("--to", default="grades.csv")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("bench", help="time and peak memory of every notebook")
    p.add_argument("--out", default=str(build.ROOT / "bench" / "results.md"))
    p.add_argument("notebooks", nargs="*", help="only these notebook names")
    p.set_defaults(func=cmd_bench)
    p = sub.add_parser("bench-grading", help="time the grading of a class with 1 and 2 jobs")
    p.add_argument("lab", nargs="?", default="lab02_global_methods")
    p.add_argument("-n", type=int, default=6, help="submissions (copies of the solution and 2 wrong ones)")
    p.add_argument("--out", default=str(build.ROOT / "bench" / "grading.md"))
    p.set_defaults(func=cmd_bench_grading)
    p = sub.add_parser("site", help="build the course website (Sphinx) with executed notebooks")
    p.add_argument("--out", default=str(build.ROOT / "site" / "_build" / "html"))
    p.add_argument("--no-solutions", action="store_true", help="leave out the worked solutions (a graded run)")
    p.set_defaults(func=cmd_site)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.root = args.root.resolve()
    os.environ.update(THREAD_ENV)  # one thread per process, for everything started from here
    try:
        return args.func(args)
    except Unready as exc:
        print(f"xai-course {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
