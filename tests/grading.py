"""The nbgrader round trip of one lab in a temporary course directory.

Used by test_nbgrader.py (and test_cheating.py for the probe lab): build the lab's source
notebook, release it, collect a batch of downloaded submissions, autograde it and generate
feedback — all with the instructor commands (`xai-course ...`, the same as the Makefile's
release, collect, autograde and feedback). With ``regrade=True`` (lab 3) the solution is
graded three times at once, as three students, together with the blank release: four gradings
at a time keep both cores busy, and each copy must get full marks, the same grades every time.

The graded submissions are those whose grading depends on the lab: its solution (full marks;
the website shows this run) and its blank release (zero, every answer reported as not written
yet). What does not depend on the lab (a corrupted upload scored 0 while the batch goes on, the
exported CSV) is proved on the probe lab (test_cheating, test_gradebook). The plausible wrong
answers of ``tests/wrong_answers/<lab>.py`` are each judged as autograde's second phase judges
every answer — saved by value with cloudpickle, loaded by the sandboxed worker in a fresh
process, judged by ``Verdicts.verdict`` — without running the whole notebook once more for them
(:func:`direct_verdicts`): the notebook's run is the same for a wrong answer as for the
solution, and the probe lab's classes (test_exchange, test_gradebook, test_cheating) prove in
nbgrader that a wrong answer loses exactly its own question, with a ✗ in the feedback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
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
    direct: dict[str, tuple[bool, str]] = field(default_factory=dict)  # wrong answer label -> (passed, verdict)
    autograde_output: str = ""
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> grade_id -> score
    max_scores: dict[str, float] = field(default_factory=dict)  # autograded grade_id -> points
    regraded: list[dict[str, float]] = field(default_factory=list)  # the scores of the solution's copies
    busy: float | None = None  # with regrade: the machine's busy fraction while the copies were graded
    busy_seconds: float | None = None  # and how long that took

    @property
    def release(self) -> Path:
        return self.course / "labs" / self.lab

    def autograded(self, student: str) -> nbformat.NotebookNode:
        return nbformat.read(self.course / "autograded" / student / self.lab / f"{self.lab}.ipynb", 4)

    def feedback_html(self, student: str) -> str:
        return (self.course / "feedback" / student / self.lab / f"{self.lab}.html").read_text()

    def total(self, student: str) -> float:
        return sum(self.scores.get(student, {}).values())


def with_cells_replaced(nb: nbformat.NotebookNode, replacements: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for grade_id, source in replacements.items():
        cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
        assert len(cells) == 1, f"no answer cell {grade_id!r}"
        cells[0].source = source.strip()
    return nb


def cli(course: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``xai-course --root course ARGS`` (``env``: extra environment variables, e.g. XAI_DB_URL)."""
    proc = subprocess.run([sys.executable, "-m", "xaigrader.cli", "--root", str(course), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"xai-course {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def release(lab: str, course: Path, source: Path | None = None,
            env: dict[str, str] | None = None) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """Put the lab's source into ``course`` and release it; return (solution, blank release)."""
    source = source or ROOT / "solutions" / lab / f"{lab}.py"
    src_dir = course / "solutions" / lab
    src_dir.mkdir(parents=True)
    shutil.copy(source, src_dir / f"{lab}.py")
    for extra in source.parent.iterdir():  # data files shipped with the lab, if any
        if extra.suffix not in (".py", ".ipynb") and extra.is_file():
            shutil.copy(extra, src_dir)
    cli(course, "release", lab, env=env)
    return nbformat.read(src_dir / f"{lab}.ipynb", 4), nbformat.read(course / "labs" / lab / f"{lab}.ipynb", 4)


def download(course: Path, lab: str, submissions: dict[str, nbformat.NotebookNode | str],
             zipped: tuple[str, ...] = ()) -> Path:
    """Files as an LMS hands them out: <student-id>_<lab>.ipynb, some of them inside a zip."""
    archive = course / "downloaded" / lab / "archive"
    archive.mkdir(parents=True, exist_ok=True)
    for student, nb in submissions.items():
        name = f"{student}_{lab}.ipynb"
        text = nb if isinstance(nb, str) else nbformat.writes(nb)
        if student in zipped:
            with zipfile.ZipFile(archive / f"{student}-upload.zip", "w") as zf:
                zf.writestr(name, text)
        else:
            (archive / name).write_text(text)
    return archive


def read_scores(course: Path, lab: str, db_url: str | None = None) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    scores, max_scores = {}, {}
    with Gradebook(db_url or f"sqlite:///{course / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(lab)
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                if cell.cell_type == "code":
                    max_scores[cell.name] = cell.max_score
        for submission in assignment.submissions:
            scores[submission.student.id] = {
                g.name: g.score for nb in submission.notebooks for g in nb.grades if g.name in max_scores
            }
    return scores, max_scores


AGAIN = ("again-1", "again-2")  # copies of the solution, graded at the same time as the solution


def _cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot (/proc/stat)."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]  # up to steal
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


@contextlib.contextmanager
def extra_burners():
    """One process spinning per core beyond the second: on a bigger machine than the course's
    2-core one, the gradings alone would not keep every core busy."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range((os.cpu_count() or 2) - 2)]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def run(lab: str, course: Path, regrade: bool = False) -> RoundTrip:
    """Release, collect, autograde and generate feedback for ``lab`` inside ``course``; with
    ``regrade``, the solution is graded three times at once (see the module docstring)."""
    solution, blank = release(lab, course)
    result = RoundTrip(lab, course, for_lab(lab))
    submissions: dict[str, nbformat.NotebookNode | str] = {"solution": solution, "blank": blank}
    if regrade:
        submissions.update({student: solution for student in AGAIN})
    archive = download(course, lab, submissions, zipped=("blank",))
    (archive / "Untitled.ipynb").write_text(nbformat.writes(blank))  # no student id: reported, not collected
    proc = cli(course, "collect", lab, check=False)
    assert proc.returncode == 1 and "NOT COLLECTED: Untitled.ipynb" in proc.stdout, proc.stdout + proc.stderr
    collected = {p.parent.parent.name for p in (course / "submitted").glob(f"*/{lab}/{lab}.ipynb")}
    assert collected == set(submissions), f"zip_collect gathered {sorted(collected)}"

    # One at a time; with regrade, all four at once (the load that once cost a correct
    # submission its points: see xaikit/threads.py).
    jobs = len(submissions) if regrade else 1
    start, (busy0, total0) = time.monotonic(), _cpu_times()
    with extra_burners() if regrade else contextlib.nullcontext():
        proc = cli(course, "autograde", lab, "--jobs", str(jobs), check=False)
    busy1, total1 = _cpu_times()
    result.autograde_output = proc.stdout + proc.stderr
    assert proc.returncode == 0, result.autograde_output[-3000:]
    scores, result.max_scores = read_scores(course, lab)
    result.scores = {student: scores[student] for student in ("solution", "blank")}
    if regrade:
        result.regraded = [scores[student] for student in AGAIN]
        result.busy, result.busy_seconds = (busy1 - busy0) / (total1 - total0), time.monotonic() - start

    result.direct = direct_verdicts(lab, result.wrong)

    from xaigrader import site  # the executed solution and blank release serve the website too

    site.store_round_trip(course, lab)
    cli(course, "feedback", lab)
    return result


def direct_verdicts(lab: str, wrong: list[Wrong]) -> dict[str, tuple[bool, str]]:
    """Grade each wrong answer as autograde's phase 2 does, without the notebook: the lab's
    imports and the answer cell run here (as in tests/visible.py), the answer is saved by value
    (cloudpickle, like the kernel's hand-in) and ``Verdicts.verdict`` judges it in the
    sandboxed worker, a fresh process per test. Returns label -> (passed, the verdict's line)."""
    if not wrong:
        return {}
    import io
    import tempfile
    import warnings

    import cloudpickle
    import visible

    from xaigrader import verdicts
    from xaigrader.remote import Worker
    from xaigrader.sandbox import Sandbox

    notebook = build.build_notebook(next(s for s in build.lab_sources() if s.name == lab))
    tests = {}
    for cell in notebook.cells:
        test = verdicts.hidden_test(cell.source) if cell.cell_type == "code" else None
        if test:
            tests[cell.metadata["nbgrader"]["grade_id"].removesuffix("_test")] = test
    handin = Path(tempfile.mkdtemp(prefix="xai-direct-"))
    sandbox = Sandbox()
    sandbox.prepare(handin)
    preload, forbidden = verdicts._worker_needs(notebook)
    worker = Worker(sandbox, readable=[handin], preload=preload, forbidden=forbidden).start()
    judge, results = verdicts.Verdicts(), {}
    try:
        base: dict = {"__name__": "__main__"}
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(visible.lab(lab).imports, f"<{lab} imports>", "exec"), base)
        for w in wrong:
            test, namespace = tests[w.grade_id], dict(base)
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(w.source, f"<{w.label}>", "exec"), namespace)
            for old in handin.iterdir():
                old.unlink()
            (handin / f"{test.key}.pkl").write_bytes(cloudpickle.dumps(namespace[test.obj]))
            outputs, _ = judge.verdict(test, handin, worker)
            errors = [o for o in outputs if o.output_type == "error"]
            text = "".join(errors[0].traceback) if errors else "".join(o.get("text", "") for o in outputs)
            results[w.label] = (not errors, text.strip())
    finally:
        worker.close()
        shutil.rmtree(handin, ignore_errors=True)
    return results


# --- a small class on the probe lab (tests/probe/lab00_probe.py): fast runs of the machinery ---
PROBE_LAB = "lab00_probe"
PROBE = ROOT / "tests" / "probe" / f"{PROBE_LAB}.py"
# A plausible mistake: the PDP averages the predictions of the unchanged data at every grid value.
WRONG_PDP = '''
def partial_dependence_1d(model, X, feature, grid):
    """Average prediction with column `feature` set to each grid value."""
    return np.full(len(grid), model.predict(np.asarray(X, dtype=float)).mean())
'''
PROBE_EXPECTED = {
    "solution": {"pdp_1d_test": 3.0, "ice_test": 3.0},
    "blank": {"pdp_1d_test": 0.0, "ice_test": 0.0},
    "wrong-pdp": {"pdp_1d_test": 0.0, "ice_test": 3.0},
}


def probe_class(solution: nbformat.NotebookNode, blank: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    """Three students' notebooks of the probe lab: a correct one, a blank one, one wrong PDP."""
    return {"solution": solution, "blank": blank, "wrong-pdp": with_cells_replaced(solution, {"pdp_1d": WRONG_PDP})}
