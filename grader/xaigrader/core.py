"""Shared plumbing of the hidden tests.

A hidden test cell holds one call, e.g. ``week02.partial_dependence_1d(partial_dependence_1d)``.
The function builds fresh data and models from fixed seeds (so the same submission
always gets the same grade), runs the student's function through :func:`call`, converts
its output with :func:`xaikit.checks.as_array` and compares it with an oracle. Any
failure is a :class:`~xaikit.checks.CheckFailed` with one sentence, which nbgrader's
feedback shows without a traceback.

While autograding, ``func`` is a :class:`~xaigrader.remote.RemoteObject`: the student's
code runs in a sandboxed worker and only its results come back (see
:mod:`xaigrader.verdicts`). In the instructor's own notebook runs and in the unit tests it
is the plain function; :func:`call` treats both alike.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import numpy as np

from xaikit.checks import CheckFailed, NotAttempted, as_array, fmt, passed

from .remote import ForbiddenImport, RemoteCrash, RemoteError, RemoteTimeout

# Raised by a remote call and reported by the verdict itself (a timeout, a crash, a forbidden
# import): they pass through the checks' own error handling untouched.
PASS_THROUGH = (RemoteTimeout, RemoteCrash, ForbiddenImport)

__all__ = ["CheckFailed", "as_array", "call", "expect_close", "grading", "passed", "unchanged"]


def call(func, *args, name: str | None = None, **kwargs):
    """Call a student's function or method; its errors become one sentence.

    Raises
    ------
    NotAttempted
        If it still raises ``NotImplementedError``.
    CheckFailed
        If it is not callable or raises any other exception.
    """
    name = name or _name(func)
    if not getattr(func, "remote_callable", callable(func)):
        kind = getattr(func, "remote_type", type(func).__name__)
        raise CheckFailed(f"`{name}` should be a function, but it is a {kind}.")
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted(f"`{name}` is not written yet: replace `raise NotImplementedError()` with your code.") from None
    except PASS_THROUGH:
        raise
    except RemoteError as exc:
        raise CheckFailed(f"`{name}` raised {exc.type_name}: {exc}") from None
    except Exception as exc:  # the student's bug, reported in one line
        raise CheckFailed(f"`{name}` raised {type(exc).__name__}: {_first_line(exc)}") from None


def _name(func) -> str:
    try:
        name = getattr(func, "__name__", None)
    except Exception:  # noqa: BLE001 - a remote object without a name
        name = None
    return name if isinstance(name, str) else "your function"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "(no message)"


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
    except (CheckFailed, *PASS_THROUGH):
        raise
    except RemoteError as exc:  # e.g. the student's class has no such method
        raise CheckFailed(f"`{name}` raised {exc.type_name}: {exc}") from None
    except Exception as exc:  # a student's output broke an assumption of the test
        raise CheckFailed(f"`{name}` could not be checked: {type(exc).__name__}: {exc}") from None


def rng(seed: int) -> np.random.Generator:
    """Seeded generator for fresh test inputs (hidden tests use seeds the labs never use)."""
    return np.random.default_rng(seed)
