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


BUDGET_S = 10  # seconds a visible check waits for the student's function on its small example


class _OutOfTime(BaseException):  # a student's `except Exception` must not swallow it
    pass


@contextlib.contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Interrupt the main thread after ``seconds`` (an endless loop ends in a message, not a hang)."""
    import signal
    import threading

    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def interrupt(signum, frame):
        raise _OutOfTime()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call(func: Callable, *args: Any, name: str | None = None, budget: float | None = BUDGET_S, **kwargs: Any) -> Any:
    """Call a student's function, turning its errors into one-line feedback.

    Parameters
    ----------
    budget : float or None
        Seconds the function may take (on the tiny examples of a visible check it needs a
        fraction of one); ``None`` waits forever.

    Raises
    ------
    NotAttempted
        If ``func`` raises ``NotImplementedError``.
    CheckFailed
        If ``func`` is not callable, raises any other exception, or runs out of time.
    """
    name = name or getattr(func, "__name__", "your function")
    if not callable(func):
        raise CheckFailed(f"`{name}` should be a function, but it is a {type(func).__name__}.")
    limit = _time_budget(budget) if budget and not hasattr(func, "remote_callable") else contextlib.nullcontext()
    try:
        with limit:
            return func(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted(
            f"`{name}` is not written yet: replace `raise NotImplementedError()` with your code."
        ) from None
    except _OutOfTime:
        raise CheckFailed(f"`{name}` did not finish within {budget:g} s on a tiny example: is there an endless loop?") from None
    except Exception as exc:  # the student's bug, reported in one line
        kind = getattr(exc, "type_name", type(exc).__name__)
        raise CheckFailed(f"`{name}` raised {kind}: {_first_line(exc)}") from None


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
