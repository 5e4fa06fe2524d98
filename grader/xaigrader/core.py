"""Shared plumbing of the hidden tests.

A hidden test cell holds one call, e.g. ``week02.partial_dependence_1d(partial_dependence_1d)``.
The function builds fresh data and models from fixed seeds (so the same submission
always gets the same grade), runs the student's function through
:func:`xaikit.checks.call`, converts its output with :func:`xaikit.checks.as_array`
and compares it with an oracle. Any failure is a :class:`~xaikit.checks.CheckFailed`
with one sentence, which nbgrader's feedback shows without a traceback.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from xaikit.checks import CheckFailed, as_array, call, fmt, passed

__all__ = ["CheckFailed", "as_array", "call", "expect_close", "grading", "passed", "unchanged"]


def expect_close(
    got: np.ndarray,
    expected: np.ndarray,
    *,
    name: str,
    reference: str,
    rtol: float = 1e-7,
    atol: float = 1e-9,
) -> float:
    """Raise :class:`CheckFailed` unless ``got`` matches ``expected``; return the largest difference."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        raise CheckFailed(f"`{name}` returned shape {got.shape}; {reference} has shape {expected.shape}.")
    diff = np.abs(got - expected)
    bad = diff > atol + rtol * np.abs(expected)
    if np.any(bad):
        where = np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), diff.shape)
        raise CheckFailed(
            f"`{name}` differs from {reference} on a fresh model and data: "
            f"at index {tuple(int(i) for i in where)} you return {fmt(float(got[where]))}, "
            f"the reference gives {fmt(float(expected[where]))}."
        )
    return float(diff.max()) if diff.size else 0.0


def unchanged(X: np.ndarray, X_before: np.ndarray, name: str) -> None:
    """Fail if the student's function modified its input array in place."""
    if not np.array_equal(X, X_before):
        raise CheckFailed(f"`{name}` modified the X it was given in place; later analyses would use corrupted data.")


@contextlib.contextmanager
def grading(name: str) -> Iterator[None]:
    """Report an unexpected error inside a hidden test as one line, never as a grader traceback."""
    try:
        yield
    except CheckFailed:
        raise
    except Exception as exc:  # a student's output broke an assumption of the test
        raise CheckFailed(f"`{name}` could not be checked: {type(exc).__name__}: {exc}") from None


def rng(seed: int) -> np.random.Generator:
    """Seeded generator for fresh test inputs (hidden tests use seeds the labs never use)."""
    return np.random.default_rng(seed)
