"""Correct answers written differently from the lab's solution, per lab.

Each lab module defines ``RIGHT``: a list of :class:`Right` entries. The visible checks must
accept every one of them (tests/test_visible_checks.py): vectorised code, float32 where the lab
allows it, pandas inside the answer, another valid tie-break. An answer listed here is correct
by the lab's text and passes the hidden test too.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Right:
    grade_id: str  # the answer cell that is replaced
    label: str  # short name of the variant
    source: str  # the whole answer cell


def for_lab(lab: str) -> list[Right]:
    try:
        return importlib.import_module(f"alternatives.{lab}").RIGHT
    except ModuleNotFoundError as exc:
        if exc.name != f"alternatives.{lab}":
            raise
        return []
