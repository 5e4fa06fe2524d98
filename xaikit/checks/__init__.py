"""Instant-feedback checks for the labs.

A check calls the student's function on a small input and either prints one line
starting with a tick, or raises :class:`CheckFailed` whose message is one sentence
saying what is wrong. In Jupyter the failure is shown as that sentence alone,
without a traceback into this module. A function that still raises
``NotImplementedError`` is reported as *not attempted*, apart from *incorrect*.

The per-lab checks live in submodules (``xaikit.checks.week02`` ...). Each compares the
student's function on one small visible example with a reference that the library the lab
forbids in answers computes inside the check (or with an exact property), and names the
aspect that is off; none contains the method it checks in a form a student could call.
Each check is a :class:`Check`: ``check.name.hint()`` prints a one-line hint, and the lab's
last cell, ``check.summary(globals())`` (a :class:`Summary`), lists every part as ✓ / ✗ / …
with its points. Importing a lab's checks also makes a cell that fails because an answer is
not written yet show one line naming that answer (:func:`install_not_written_handler`).
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
from collections.abc import Mapping
from typing import Any, Callable, Iterator

import numpy as np

__all__ = ["Check", "CheckFailed", "NotAttempted", "Summary", "as_array", "call", "check", "graded", "passed"]

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


# --- hints, the end-of-lab summary and one-line "not written yet" messages ---------------------------


class Check:
    """A visible check of one graded answer: call it with the answer, or ask for a hint.

    ``check.partial_dependence_1d(partial_dependence_1d)`` runs the check;
    ``check.partial_dependence_1d.hint()`` prints one line: the lecture section to reread
    and the trap most answers fall into. The lab's summary cell reruns every check.
    """

    def __init__(self, func: Callable, *, answer: str, part: str, points: int, hint: str):
        self._func = func
        self.answer = answer  # the name of the student's function or class
        self.part = part
        self.points = points
        self._hint = hint
        self._running: object | None = None  # the answer whose check started but never finished
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__
        self.__wrapped__ = func

    def __call__(self, answer: Any) -> None:
        self._running = answer
        self._func(answer)  # CheckFailed propagates; an interrupt leaves _running set
        self._running = None

    def hint(self) -> None:
        """Print a one-line hint: where in the lecture to look and the usual trap."""
        print(f"💡 `{self.answer}` (part {self.part}): {self._hint}")

    def status(self, answer: Any) -> tuple[str, str]:
        """("✓" | "✗" | "…", one sentence) for ``answer``, rerunning the check silently."""
        if answer is None:
            return "…", "not written yet (its cell has not run)"
        if self._running is not None and self._running is answer:
            return "✗", "its check did not finish (interrupted or too slow); rerun the check cell"
        try:
            with contextlib.redirect_stdout(io.StringIO()), _quiet_warnings():
                self(answer)
        except NotAttempted:
            return "…", "not written yet"
        except CheckFailed as exc:
            return "✗", str(exc)
        except Exception as exc:  # noqa: BLE001 - the summary never fails
            return "✗", f"the check could not run: {type(exc).__name__}: {_first_line(exc)}"
        return "✓", "the visible checks pass"

    def __repr__(self) -> str:
        return f"<visible check of `{self.answer}` (part {self.part}, {self.points} points); .hint() for a hint>"


def graded(*, answer: str, part: str, points: int, hint: str) -> Callable[[Callable], Check]:
    """Declare a visible check of a graded answer (its name, part, points and a one-line hint)."""

    def wrap(func: Callable) -> Check:
        return Check(func, answer=answer, part=part, points=points, hint=hint)

    return wrap


@contextlib.contextmanager
def _quiet_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class Summary:
    """The summary cell at the end of a lab: every part as ✓ / ✗ / … with its points."""

    def __init__(self, title: str, *parts: Check, written_points: int = 0):
        self.title = title
        self.parts = parts
        self.written_points = written_points

    def __call__(self, namespace: Mapping[str, Any]) -> None:
        rows = [(part, *part.status(namespace.get(part.answer))) for part in self.parts]
        width = max(len(part.answer) for part in self.parts)
        print(f"{self.title}: visible checks of the autograded parts")
        for part, symbol, message in rows:
            colour = {"✓": _GREEN, "✗": _RED}.get(symbol, "")
            reset = _RESET if colour else ""
            points = f"{part.points} point{'s' if part.points != 1 else ''}"
            detail = "" if symbol == "✓" else f"  {message}"
            print(f"  {colour}{symbol}{reset} part {part.part:<3} {part.answer:<{width}}  {points:>8}{detail}")
        done = sum(part.points for part, symbol, _ in rows if symbol == "✓")
        total = sum(part.points for part in self.parts)
        print(f"Visible checks pass for {done} of {total} autograded points; hidden tests on other data decide the "
              f"grade" + (f", and your instructor grades the written answers ({self.written_points} points)."
                          if self.written_points else "."))

    def hint(self, name: str) -> None:
        """``check.hint("name")``: the same as ``check.name.hint()``."""
        for part in self.parts:
            if part.answer == name:
                part.hint()
                return
        raise CheckFailed(f"no graded answer is called {name!r}; choose one of {[p.answer for p in self.parts]}.")

    def parts_by_answer(self) -> dict[str, Check]:
        return {part.answer: part for part in self.parts}


def _not_written_handler(parts: Mapping[str, Check]):
    """An IPython handler: a cell that fails because an answer still raises NotImplementedError
    shows one line naming that answer (and no empty figure) instead of a traceback."""

    def handler(shell, etype, evalue, tb, tb_offset=None):
        answer = None
        frame_tb = tb
        while frame_tb is not None:  # the innermost frame that belongs to a graded answer
            frame = frame_tb.tb_frame
            owner = frame.f_locals.get("self")
            for candidate in (frame.f_code.co_name, type(owner).__name__ if owner is not None else None):
                if candidate in parts:
                    answer = candidate
            frame_tb = frame_tb.tb_next
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")  # no empty axes under the message
        if answer is None:
            line = f"… {etype.__name__}: {_first_line(evalue) if str(evalue) else 'a function this cell calls is not written yet'}"
        else:
            line = (f"… this cell needs `{answer}` (part {parts[answer].part}), which is not written yet: "
                    "write it above, then run this cell again.")
        shell._showtraceback(etype, evalue, [line])  # still an error: a graded cell scores 0

    return handler


def install_not_written_handler(summary: Summary) -> None:
    """In IPython, show unfinished answers as one line (called when a lab imports its checks)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with Jupyter
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "_showtraceback"):
        return
    shell.set_custom_exc((NotImplementedError,), _not_written_handler(summary.parts_by_answer()))
