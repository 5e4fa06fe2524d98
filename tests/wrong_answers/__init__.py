"""Plausible wrong answers per lab, used to prove each hidden test can fail.

Each lab module defines ``WRONG``: a list of :class:`Wrong` entries. The nbgrader test
submits the solution with exactly one answer cell replaced by ``source`` and expects the
test cell ``<grade_id>_test`` to score 0 while every other autograded cell keeps full
marks; where ``message`` is given, the failing cell's output must contain it on a
single line (the feedback a student reads).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    grade_id: str  # the answer cell that is replaced
    label: str  # short name of the mistake (becomes the student id)
    source: str  # the wrong implementation (the whole cell)
    message: str = ""  # expected fragment of the one-line feedback


def for_lab(lab: str) -> list[Wrong]:
    """The lab's wrong answers ([] if it has none yet: test_every_question_has_... then fails)."""
    try:
        return importlib.import_module(f"wrong_answers.{lab}").WRONG
    except ModuleNotFoundError as exc:
        if exc.name != f"wrong_answers.{lab}":
            raise
        return []
