"""Autograding in two phases: the notebook in a sandboxed kernel, the verdicts outside it.

nbgrader executes a submission in a kernel and gives a test cell its points when the cell
shows no error. Everything in that kernel is the student's to change, so here the kernel
only *hands in* the student's objects, and the score comes from the grader's own process:

1. :class:`SandboxedExecute` runs the notebook in a kernel confined by
   :class:`~xaigrader.sandbox.Sandbox` (started by :class:`SandboxedKernelManager`), with a
   time budget per cell and a total budget per notebook. In that kernel ``xaigrader`` is a
   stand-in (``handin_shim``): the hidden line ``week02.ale_1d(ale_1d)`` saves ``ale_1d`` by
   value into a private hand-in folder. If a test cell stopped before its hidden lines (a
   failing visible check, a timeout), the executor runs those lines once more on their own,
   so the hidden test grades the function, not the visible check.
2. :class:`Verdicts` then runs each hidden test, ``xaigrader.week02.ale_1d``, in the grader's
   process on a stand-in of the handed-in object that lives in a sandboxed worker
   (:mod:`xaigrader.remote`), under the test's time budget, with the modules the lab
   forbids unavailable to it. It replaces the test cell's outputs with the verdict: one
   line, ``✓`` with the test's message or an error ``✗`` with the reason. Which test
   grades a cell is read from the gradebook's copy of the instructor's source, never from
   the submission, and a cell scores only on a positive verdict.
3. :class:`FlagGraderErrors`, after nbgrader has saved the scores, marks a cell whose test
   could not run because of the grader itself (not the student) as needing manual grading,
   so no grade is lost to a grader bug.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Instance, Integer, Unicode

from xaikit.checks import CheckFailed, NotAttempted

from .remote import (ForbiddenImport, HandInBroken, HandInMissing, RemoteCrash, RemoteNotImplemented, RemoteTimeout,
                     Worker)
from .sandbox import Sandbox

SHIM = Path(__file__).resolve().parent / "handin_shim"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
CALL = re.compile(r"^\s*(week\d+)\.(\w+)\((\w+)\)\s*$", re.M)
DEFAULT_BUDGET_S = 60.0  # per call of the student's code, when the week does not state one
MIN_BUDGET_S = 30.0  # no call gets less: a loaded 2-core machine is several times slower than an idle one
_RED, _RESET = "\x1b[31m", "\x1b[0m"


@dataclass(frozen=True)
class HiddenTest:
    """``module.check(obj)`` in a test cell's hidden region."""

    module: str  # week02
    check: str  # partial_dependence_1d
    obj: str  # the student's name for the object

    @property
    def key(self) -> str:
        return f"{self.module}.{self.check}"

    @property
    def source(self) -> str:
        return f"from xaigrader import {self.module}\n{self.module}.{self.check}({self.obj})"


def hidden_test(source: str) -> HiddenTest | None:
    """The hidden test a test cell's source declares (one per cell), or None."""
    region = HIDDEN.search(source or "")
    if not region:
        return None
    calls = CALL.findall(region.group(1))
    if len(calls) != 1:
        return None
    return HiddenTest(*calls[0])


def _sandbox_from(config) -> Sandbox:
    return Sandbox(mode=config.get("mode", "auto"), **({"uid": config["uid"]} if "uid" in config else {}))


# --- before phase 1: the submission's nbgrader metadata ----------------------------------

class RestoreCellMetadata(NbGraderPreprocessor):
    """Give every graded cell the instructor's nbgrader metadata; strip it from any other cell.

    A student may rename a test cell's grade id, corrupt its points or flags, or mark an
    ordinary cell as graded; nbgrader's own checks would then reject the whole submission.
    Here the metadata of a cell whose grade id the gradebook knows is rebuilt from the
    gradebook, and any other cell loses its nbgrader metadata (becomes an ordinary cell).
    A test cell that is then missing is put back by ``OverwriteCells.add_missing_cells``.
    """

    def preprocess(self, nb: NotebookNode, resources: dict):
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            notebook = gb.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"])
            grade = {c.name: c.max_score for c in notebook.grade_cells}
            solution = {c.name for c in notebook.solution_cells}
            task = {c.name for c in notebook.task_cells}
            source = {c.name: c for c in notebook.source_cells}
            seen = set()
            for cell in nb.cells:
                meta = cell.get("metadata", {}).get("nbgrader")
                if meta is None:
                    continue
                grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
                if not isinstance(grade_id, str) or grade_id not in source or grade_id in seen:
                    del cell.metadata["nbgrader"]
                    continue
                seen.add(grade_id)
                master = {"grade": grade_id in grade, "grade_id": grade_id, "locked": bool(source[grade_id].locked),
                          "schema_version": 3, "solution": grade_id in solution, "task": grade_id in task}
                if grade_id in grade:
                    master["points"] = grade[grade_id]
                if isinstance(meta.get("checksum"), str):
                    master["checksum"] = meta["checksum"]
                cell.metadata["nbgrader"] = master
        return nb, resources


# --- phase 1: the notebook ----------------------------------------------------------------

class SandboxedKernelManager(AsyncKernelManager):
    """A kernel inside the sandbox, talking over Unix sockets in a private exchange folder."""

    exchange = Unicode("", help="folder shared with the sandboxed kernel (connection, sockets, hand-ins)")
    sandbox = Instance(Sandbox, allow_none=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.transport = "ipc"
        self.ip = os.path.join(self.exchange, "kernel")
        self.connection_file = os.path.join(self.exchange, "kernel.json")

    async def _async_pre_start_kernel(self, **kw):
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        workdir = Path(kw.pop("cwd", None) or self.exchange)
        exchange = Path(self.exchange)
        self.sandbox.prepare(exchange)
        env = {
            "XAI_HANDIN_DIR": str(exchange / "handin"),
            "PYTHONPATH": str(SHIM),
            "MPLCONFIGDIR": str(exchange / "matplotlib"),
            "NBGRADER_EXECUTION": "autograde",
            "JUPYTER_RUNTIME_DIR": "/tmp/.jupyter",
            "IPYTHONDIR": "/tmp/.ipython",
        }
        # The submission's folder is a private scratch copy: what the kernel writes there (files,
        # links) never reaches autograded/, where nbgrader writes the graded notebook afterwards.
        wrapped = self.sandbox.wrap(kernel_cmd, writable=[exchange], readable=[SHIM], scratch=[workdir], cwd=workdir,
                                    env=env)
        kw["cwd"] = str(exchange)
        return wrapped, kw

    async def interrupt_kernel(self) -> None:
        """Interrupt by a message on the control channel: a signal would hit the sandbox, not the kernel."""
        if self.has_kernel:
            self._connect_control_socket()
            self.session.send(self._control_socket, self.session.msg("interrupt_request", content={}))


class SandboxedExecute(Execute):
    """nbgrader's Execute with the sandboxed kernel, per-cell and per-notebook time budgets,
    and the hand-in of every graded object (see the module docstring)."""

    total_timeout = Integer(900, help="seconds for a whole notebook without a measured budget (bench)").tag(config=True)
    handin_timeout = Integer(60, help="seconds to hand in an object again after its cell failed").tag(config=True)
    answer_timeout = Integer(20, help="seconds a kernel interrupted after a timeout gets to answer a "
                             "kernel_info request before it counts as stopped").tag(config=True)
    sandbox_config = Dict({}, help="Sandbox(mode=..., uid=...) settings").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict, km=None):
        sandbox = _sandbox_from(self.sandbox_config)
        exchange = Path(tempfile.mkdtemp(prefix="xai-grading-"))
        (exchange / "handin").mkdir()
        (exchange / "matplotlib").mkdir()
        _copy_matplotlib_cache(exchange / "matplotlib")
        preload, forbidden = _worker_needs(nb)
        worker = Worker(sandbox, readable=[exchange / "handin"], preload=preload, forbidden=forbidden).start()
        resources.setdefault("xai", {}).update(exchange=str(exchange), worker=worker, sandbox=sandbox)
        self._exchange, self._sandbox = exchange, sandbox
        self._cells, total = _budgets(resources.get("nbgrader", {}).get("assignment"), self.total_timeout)
        self._deadline = time.monotonic() + total
        self._total = total
        self._over_time = False
        self._dead = ""
        try:
            return super().preprocess(nb, resources, km=km)
        except BaseException:
            worker.close()
            shutil.rmtree(exchange, ignore_errors=True)
            raise
        finally:
            sandbox.release(exchange)
            _only_regular_files(exchange)

    def create_kernel_manager(self):
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name", "python3")
        self.km = SandboxedKernelManager(kernel_name=self.kernel_name, config=self.config,
                                         exchange=str(self._exchange), sandbox=self._sandbox)
        return self.km

    def _get_timeout(self, cell):
        from .bench import CELL_FACTOR, MIN_CELL_S, cell_key

        timeout = super()._get_timeout(cell)
        if cell is not None and cell_key(cell.source) in self._cells:
            timeout = max(MIN_CELL_S, int(CELL_FACTOR * self._cells[cell_key(cell.source)]))
        left = max(1, int(self._deadline - time.monotonic()))
        return left if timeout is None else min(timeout, left)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and self._dead:
            cell.outputs = [_error(f"not run: {self._dead}", "DeadKernelError")]
            return cell, self.resources
        if cell.cell_type == "code" and time.monotonic() >= self._deadline:
            if not self._over_time:
                self._over_time = True
                self.log.warning("Notebook exceeded its total time budget (%s s); later cells are not run",
                                 self._total)
            cell.outputs = [_error(f"not run: the notebook used up its total time budget ({self._total} s).",
                                   "TimeBudgetExceeded")]
            return cell, self.resources
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead = "the kernel stopped in an earlier cell (it exited, crashed or ran out of memory)."
            cell.outputs.append(_error("the kernel stopped while running this cell (it exited, crashed or ran out "
                                       "of memory).", "DeadKernelError"))
            return cell, self.resources
        except CellTimeoutError:
            # Interrupted, the kernel did not answer (the cell broke the kernel itself): stop it.
            self._dead = "the kernel stopped answering in an earlier cell."
            self._stop_kernel()
            cell.outputs.append(_error("the kernel stopped answering while running this cell, even when interrupted; "
                                       "the cells after it were not run.", "CellTimeoutError"))
            return cell, self.resources
        test = hidden_test(cell.source) if utils.is_grade(cell) and cell.cell_type == "code" else None
        handin = self._exchange / "handin"
        if test and not (handin / f"{test.key}.pkl").exists() and not (handin / f"{test.key}.error").exists():
            self._hand_in_again(test, index)
        return cell, self.resources

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None):
        """A cell over its time limit is interrupted (nbclient); if the kernel then answers nothing
        (its own machinery is broken, e.g. builtins patched), every later cell would wait out its
        own limit: raise ``CellTimeoutError`` at once, and :meth:`preprocess_cell` stops the kernel."""
        reply = await super()._async_handle_timeout(timeout, cell)
        if not await self._answers():
            raise CellTimeoutError.error_from_timeout_and_cell("the kernel stopped answering", timeout, cell)
        return reply

    async def _answers(self) -> bool:
        """Whether the kernel answers a ``kernel_info`` request within ``answer_timeout`` seconds
        (it does once the interrupted cell has stopped)."""
        try:
            msg_id = self.kc.kernel_info()
            deadline = time.monotonic() + self.answer_timeout
            while (left := deadline - time.monotonic()) > 0:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
                if msg.get("parent_header", {}).get("msg_id") == msg_id:  # (the late execute reply is skipped)
                    return True
        except Empty:
            pass
        except Exception as exc:  # noqa: BLE001 - a kernel that cannot be asked does not answer
            self.log.warning("could not ask the kernel after a timeout: %r", exc)
        return False

    def _stop_kernel(self) -> None:
        with contextlib.suppress(Exception):
            self.km.provisioner.process.kill()  # the sandbox: every process in it ends

    def _hand_in_again(self, test: HiddenTest, index: int) -> None:
        """The cell stopped before its hidden lines: run just those (their output is discarded)."""
        if time.monotonic() >= self._deadline or self._dead:
            return
        probe = NotebookNode(cell_type="code", source=test.source, metadata={}, outputs=[], execution_count=None)
        saved, cell = self.timeout, self.nb.cells[index]
        self.timeout = self.handin_timeout
        try:
            self.execute_cell(probe, index, store_history=False)  # (nbclient stores it at `index`)
        except DeadKernelError:
            self._dead = "the kernel stopped in an earlier cell (it exited, crashed or ran out of memory)."
        except CellTimeoutError:
            self._dead = "the kernel stopped answering in an earlier cell."
            self._stop_kernel()
        except Exception as exc:  # noqa: BLE001 - the verdict reports the missing hand-in
            self.log.warning("hand-in of %s failed: %s", test.obj, exc)
        finally:
            self.timeout = saved
            self.nb.cells[index] = cell


def _budgets(lab: str | None, default_total: int) -> tuple[dict[str, float], int]:
    """Measured seconds per cell of the lab's solution (``make bench``), and the notebook's limit."""
    from .bench import BUDGETS, MIN_TOTAL_S, TOTAL_FACTOR

    try:
        measured = json.loads(Path(os.environ.get("XAI_BUDGETS", BUDGETS)).read_text()).get(lab or "", {})
    except (OSError, ValueError):
        measured = {}
    if not measured:
        return {}, default_total
    return measured.get("cells", {}), max(MIN_TOTAL_S, int(TOTAL_FACTOR * measured.get("total", 0)))


def _worker_needs(nb: NotebookNode) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the notebook's hidden tests need the worker to import first, and what they forbid."""
    from .remote import PRELOAD

    preload, forbidden = list(PRELOAD), []
    for cell in nb.cells:
        test = hidden_test(cell.source) if cell.cell_type == "code" and utils.is_grade(cell) else None
        if test:
            try:
                week = importlib.import_module(f"xaigrader.{test.module}")
            except ImportError:
                continue
            preload += [m for m in getattr(week, "PRELOAD", ()) if m not in preload]
            forbidden += [m for m in getattr(week, "FORBIDDEN", ()) if m not in forbidden]
    return tuple(preload), tuple(forbidden)


def _only_regular_files(folder: Path) -> None:
    """Remove what the kernel left in its exchange folder that is not a plain file or folder
    (a link to a file the grader could read or write, a pipe that would block it)."""
    for path in sorted(folder.rglob("*"), reverse=True):
        mode = path.lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            path.unlink()


def _copy_matplotlib_cache(target: Path) -> None:
    """Reuse the grader's font cache (the kernel would otherwise rebuild it every time)."""
    try:
        # Where matplotlib keeps it on Linux (matplotlib.get_cachedir), found without importing
        # matplotlib (a quarter of a second per submission); elsewhere, matplotlib says where.
        xdg = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib"
        cachedir = Path(os.environ["MPLCONFIGDIR"]) if os.environ.get("MPLCONFIGDIR") else xdg
        fonts = list(cachedir.glob("fontlist-*.json"))
        if not fonts:
            import matplotlib

            fonts = list(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
        for path in fonts:
            shutil.copy(path, target / path.name)
    except Exception:  # noqa: BLE001 - only costs a second
        pass


# --- phase 2: the verdicts ----------------------------------------------------------------

def _error(message: str, ename: str = "CheckFailed", symbol: str = "✗") -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message,
                        traceback=[f"{_RED}{symbol} {message}{_RESET}"])


def _passed(text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=text if text.endswith("\n") else text + "\n")


class Verdicts(NbGraderPreprocessor):
    """Phase 2 (see the module docstring): replace each test cell's outputs with its verdict."""

    default_budget = Float(DEFAULT_BUDGET_S, help="seconds per call when a week states no BUDGET_S").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        xai = resources.get("xai", {})
        exchange = Path(xai["exchange"])
        worker: Worker = xai["worker"]
        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        grader_errors = xai.setdefault("grader_errors", [])
        try:
            with Gradebook(resources["nbgrader"]["db_url"]) as gb:
                sources = {}
                for cell in nb.cells:
                    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                    if not (utils.is_grade(cell) and cell.cell_type == "code" and grade_id):
                        continue
                    try:
                        sources[grade_id] = gb.find_source_cell(grade_id, notebook_id, assignment_id).source
                    except MissingEntry:
                        sources[grade_id] = ""
            with contextlib.suppress(RemoteCrash, RemoteTimeout):
                worker.ready()  # its imports overlapped the notebook's run; a failure shows per test
            done = set()
            for cell in nb.cells:
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if grade_id not in sources:
                    continue
                if grade_id in done:  # a duplicated test cell: graded once
                    cell.outputs = []
                    continue
                done.add(grade_id)
                outputs, internal = self.verdict(hidden_test(sources[grade_id]), exchange / "handin", worker)
                cell.outputs = outputs
                if internal:
                    grader_errors.append(grade_id)
        finally:
            worker.close()
            shutil.rmtree(exchange, ignore_errors=True)
        return nb, resources

    def verdict(self, test: HiddenTest | None, handin: Path, worker: Worker) -> tuple[list, bool]:
        """The outputs of one test cell, and whether the grader (not the student) failed."""
        if test is None:
            return [_error("this test cell declares no hidden test; ask your instructor.")], True
        error_file = handin / f"{test.key}.error"
        if error_file.exists() and not error_file.is_symlink():
            with open(error_file, errors="replace") as fh:
                reason = fh.read(300)
            return [_error(f"`{test.obj}` could not be handed in for grading ({reason}); define everything it "
                           "needs inside it or pass it as an argument.")], False
        try:
            module = importlib.import_module(f"xaigrader.{test.module}")
            check = getattr(module, test.check)
        except (ImportError, AttributeError) as exc:
            self.log.error("hidden test %s is missing: %s", test.key, exc)
            return [_error(f"the hidden test of `{test.obj}` could not be run; your instructor will grade it by hand.")], True
        budget = max(MIN_BUDGET_S, float(getattr(module, "BUDGET_S", {}).get(test.check, self.default_budget)))
        forbidden = tuple(getattr(module, "FORBIDDEN", ()))
        out = io.StringIO()
        started = time.perf_counter()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                with worker.session(handin / f"{test.key}.pkl", forbidden=forbidden, budget=budget) as obj:
                    check(obj)
            _record_time(test, time.perf_counter() - started)
        except NotAttempted as exc:
            return [_error(str(exc), "NotAttempted", "…")], False
        except CheckFailed as exc:
            # The visible check's sentence names the mistake in the lecture's terms; the hidden
            # test's says where it differs on fresh data. Show the first that applies.
            visible = None if test.check in getattr(module, "NO_VISIBLE_FEEDBACK", ()) else \
                self.visible_message(test, handin, worker, budget, forbidden)
            return [_error(visible or str(exc))], False
        except HandInMissing:
            return [_error(f"`{test.obj}` was not graded: it did not exist when this test cell ran "
                           "(did an earlier cell fail, or was it renamed?).")], False
        except RemoteNotImplemented:
            return [_error(f"`{test.obj}` is not written yet: replace `raise NotImplementedError()` with your code.",
                           "NotAttempted", "…")], False
        except ForbiddenImport as exc:
            return [_error(f"`{test.obj}` uses `{exc.module}`, which this lab asks you not to use in your answers: "
                           "implement the method yourself.")], False
        except HandInBroken as exc:
            return [_error(f"`{test.obj}` could not be loaded for grading ({exc.type_name}: {exc}).")], False
        except RemoteTimeout as exc:
            return [_error(f"`{test.obj}` did not finish within {exc.budget:g} s (this test's budget per call): "
                           "an endless loop, or far slower than needed?")], False
        except RemoteCrash as exc:
            return [_error(f"`{test.obj}` stopped the process it ran in: {exc}.")], False
        except Exception as exc:  # noqa: BLE001 - a grader bug must not cost the student the points
            self.log.error("hidden test %s failed inside the grader: %r", test.key, exc)
            return [_error(f"the hidden test of `{test.obj}` could not be run ({type(exc).__name__}); "
                           "your instructor will grade it by hand.")], True
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        if not lines or not any("✓" in line for line in lines):
            self.log.error("hidden test %s returned without a verdict", test.key)
            return [_error(f"the hidden test of `{test.obj}` gave no verdict; your instructor will grade it by hand.")], True
        return [_passed("\n".join(lines))], False


    def visible_message(self, test: HiddenTest, handin: Path, worker: Worker, budget: float,
                        forbidden: tuple) -> str | None:
        """The visible check's one sentence on the handed-in object, if it fails (run here, trusted)."""
        try:
            visible = getattr(importlib.import_module(f"xaikit.checks.{test.module}"), test.check)
        except (ImportError, AttributeError):
            return None
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                with worker.session(handin / f"{test.key}.pkl", forbidden=forbidden, budget=budget) as obj:
                    visible(obj)
        except CheckFailed as exc:
            return str(exc)
        except Exception:  # noqa: BLE001 - only a better message was at stake
            return None
        return None


def _record_time(test: HiddenTest, seconds: float) -> None:
    """With XAI_TIMINGS=file (``make bench``), note how long a passing hidden test took."""
    path = os.environ.get("XAI_TIMINGS")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps({"test": test.key, "seconds": round(seconds, 2)}) + "\n")


class FlagGraderErrors(NbGraderPreprocessor):
    """After SaveAutoGrades: a test that failed because of the grader needs manual grading."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        errors = resources.get("xai", {}).get("grader_errors", [])
        if errors:
            with Gradebook(resources["nbgrader"]["db_url"]) as gb:
                for grade_id in errors:
                    grade = gb.find_grade(grade_id, resources["nbgrader"]["notebook"],
                                          resources["nbgrader"]["assignment"], resources["nbgrader"]["student"])
                    grade.needs_manual_grade = True
                gb.db.commit()
        return nb, resources
