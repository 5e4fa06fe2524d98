"""Instant-feedback checks for the labs.

A check calls the student's function on a small input and either prints one line
starting with a tick, or raises :class:`CheckFailed` whose message is one sentence
saying what is wrong. In Jupyter the failure is shown as that sentence alone,
without a traceback into this module. A function that still raises
``NotImplementedError`` is reported as *not attempted*, apart from *incorrect*.

The per-lab checks live in submodules (``xaikit.checks.week02`` ...). They test
shapes, types, missing values and a few obvious mistakes; they never contain the
method they check.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["CheckFailed", "NotAttempted", "as_array", "call", "check", "passed"]

_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


class CheckFailed(AssertionError):
    """A check did not pass; the message is one sentence for the student."""

    symbol = "✗"

    def _render_traceback_(self) -> list[str]:  # used by IPython instead of a traceback
        return [f"{_RED}{self.symbol} {self}{_RESET}"]


class NotAttempted(CheckFailed):
    """The function still raises ``NotImplementedError``."""

    symbol = "…"


def passed(message: str) -> None:
    """Print a success line."""
    print(f"{_GREEN}✓{_RESET} {message}")


def call(func: Callable, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call a student's function, turning its errors into one-line feedback.

    Raises
    ------
    NotAttempted
        If ``func`` raises ``NotImplementedError``.
    CheckFailed
        If ``func`` is not callable or raises any other exception.
    """
    name = name or getattr(func, "__name__", "your function")
    if not callable(func):
        raise CheckFailed(f"`{name}` should be a function, but it is a {type(func).__name__}.")
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted(
            f"`{name}` is not written yet: replace `raise NotImplementedError()` with your code."
        ) from None
    except Exception as exc:  # the student's bug, reported in one line
        raise CheckFailed(f"`{name}` raised {type(exc).__name__}: {_first_line(exc)}") from None


def as_array(
    value: Any,
    *,
    name: str,
    shape: tuple[int, ...] | None = None,
    what: str = "",
    allow_nan: bool = False,
) -> np.ndarray:
    """Convert a student's result to a float array and check its shape and values.

    Parameters
    ----------
    value : object
        What the student's function returned.
    name : str
        Function name used in the message.
    shape : tuple of int, optional
        Expected shape.
    what : str
        Short description of the expected shape ("one value per grid point").
    allow_nan : bool
        Accept NaN or infinite entries.
    """
    if value is None:
        raise CheckFailed(f"`{name}` returned None: did you forget the `return` statement?")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(
            f"`{name}` returned a {type(value).__name__} that is not a numeric array; return a NumPy array of numbers."
        ) from None
    if shape is not None and array.shape != tuple(shape):
        hint = f" ({what})" if what else ""
        raise CheckFailed(f"`{name}` returned shape {array.shape}, expected {tuple(shape)}{hint}.")
    if not allow_nan and not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise CheckFailed(f"`{name}` returned {bad} NaN or infinite value(s); every entry should be a finite number.")
    return array


@contextlib.contextmanager
def check(name: str) -> Iterator[None]:
    """Turn a bare ``AssertionError`` or an unexpected error inside a check into one line."""
    try:
        yield
    except CheckFailed:
        raise
    except AssertionError as exc:
        raise CheckFailed(f"`{name}`: {_first_line(exc)}") from None


def close(a: np.ndarray, b: np.ndarray, *, rtol: float, atol: float) -> tuple[bool, float]:
    """Whether two arrays agree, with the largest absolute difference."""
    diff = float(np.max(np.abs(a - b))) if np.size(a) else 0.0
    return bool(np.allclose(a, b, rtol=rtol, atol=atol)), diff


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "(no message)"


def fmt(x: float) -> str:
    """Short number formatting for messages."""
    if x == 0 or not math.isfinite(x):
        return str(x)
    return f"{x:.3g}"
