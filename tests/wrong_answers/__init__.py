"""Plausible wrong answers per lab, used to prove each hidden test can fail.

Each lab module defines ``WRONG``: a list of :class:`Wrong` entries. The nbgrader test
submits the solution with exactly one answer cell replaced by ``source`` and expects the
test cell ``<grade_id>_test`` to score 0 while every other autograded cell keeps full
marks; where ``message`` is given, the visible check's sentence (what the student sees in
the notebook) must contain it, and so must the failing cell's one line of feedback after
grading — unless ``feedback`` is given: the expected fragment of the graded feedback where
it differs (a visible check that watches the model's calls or hooks cannot do so on an
answer that runs in the grader's worker, so the feedback is the hidden test's sentence).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    grade_id: str  # the answer cell that is replaced
    label: str  # short name of the mistake (becomes the student id)
    source: str  # the wrong implementation (the whole cell)
    message: str = ""  # expected fragment of the visible check's sentence and of the feedback
    feedback: str = ""  # expected fragment of the graded feedback, where it differs from ``message``

    @property
    def graded_message(self) -> str:
        return self.feedback or self.message


def for_lab(lab: str) -> list[Wrong]:
    """The lab's wrong answers ([] if it has none yet: test_every_question_has_... then fails)."""
    try:
        return importlib.import_module(f"wrong_answers.{lab}").WRONG
    except ModuleNotFoundError as exc:
        if exc.name != f"wrong_answers.{lab}":
            raise
        return []
