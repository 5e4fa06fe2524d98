"""Shared by the tests of the weekly checks (test_checks_weekNN.py): the lab's answer cells
executed, a check's printed verdict, and one torch thread per test."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import jupytext
import pytest
import torch


def executed_answers(root: Path, lab: str, checked: dict, namespace: dict) -> dict:
    """The lab's graded answer cells, run in ``namespace`` in the order of the lab."""
    nb = jupytext.read(root / "solutions" / lab / f"{lab}.py", fmt="py:percent")
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    assert set(answers) == set(checked), "every answer cell of the lab has its checks here"
    for source in answers.values():
        exec(source, namespace)
    return namespace


def run(check, answer) -> str:
    """What ``check(answer)`` prints (its ✓ line); a CheckFailed propagates."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(answer)
    return out.getvalue()


@pytest.fixture(autouse=True)
def one_thread():
    """Imported by each test module: torch on one thread during its tests."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
