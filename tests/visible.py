"""Run a lab's visible checks on answers without a notebook: the lab's own imports, one answer
cell, its check line. Used by test_visible_checks.py (coverage of the plausible wrong answers,
acceptance of correct alternatives)."""

from __future__ import annotations

import ast
import contextlib
import io
import warnings
from dataclasses import dataclass
from functools import cache

from xaikit.checks import CheckFailed, NotAttempted
from xaigrader import build


@dataclass(frozen=True)
class Lab:
    name: str
    imports: str  # the code cell that imports the checks (and everything the answers use)
    answers: dict[str, str]  # grade_id -> the solution's answer cell
    checks: dict[str, str]  # grade_id -> the visible check line of its test cell
    points: dict[str, float]  # grade_id -> points of its test cell


@cache
def lab(name: str) -> Lab:
    src = next(s for s in build.lab_sources() if s.name == name)
    nb = build.build_notebook(src)
    imports, answers, checks, points = None, {}, {}, {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if imports is None and " as check" in cell.source:
            imports = cell.source
        gid = meta.get("grade_id")
        if gid and meta.get("solution") and not meta.get("grade"):
            answers[gid] = cell.source
        elif gid and meta.get("grade") and gid.endswith("_test"):
            checks[gid.removesuffix("_test")] = cell.source.split("### BEGIN HIDDEN TESTS")[0].strip()
            points[gid.removesuffix("_test")] = meta["points"]
    assert imports, f"{name}: no cell imports the checks"
    return Lab(name, imports, answers, checks, points)


def defined_name(source: str) -> str:
    """The function or class an answer cell defines (the last top-level one)."""
    names = [node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    return names[-1]


def run(lab_name: str, grade_id: str, source: str) -> tuple[str, str]:
    """("pass" | "caught" | "not attempted" | "check crashed", message) of the visible check on ``source``."""
    the_lab = lab(lab_name)
    namespace: dict = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(the_lab.imports, f"<{lab_name} imports>", "exec"), namespace)
        exec(compile(source.strip() + "\n", f"<{grade_id}>", "exec"), namespace)
        try:
            exec(compile(the_lab.checks[grade_id], f"<{grade_id}_test>", "exec"), namespace)
        except NotAttempted as exc:
            return "not attempted", str(exc)
        except CheckFailed as exc:
            return "caught", str(exc)
        except Exception as exc:  # noqa: BLE001 - a crash inside the check is a bug of the check
            return "check crashed", f"{type(exc).__name__}: {exc}"
    return "pass", out.getvalue().strip()
