"""Shared fixtures: paths of the repository and the notebooks it builds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The tests make their own gradebooks: an instructor's PostgreSQL URL never reaches them.
os.environ.pop("XAI_DB_URL", None)
# nbgrader runs `alembic` when it creates a gradebook: the environment's scripts come first.
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
# One thread per process, for the tests and every kernel or command they start (xaikit/threads.py).
from xaikit.threads import pin_threads  # noqa: E402

pin_threads()
# Kernels pick matplotlib's inline backend (figures are part of the outputs we test); never force Agg.
os.environ.pop("MPLBACKEND", None)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# The longest scopes first (pytest-xdist hands scopes to whichever worker is free, in this
# order; `make test` passes --no-loadscope-reorder, else xdist orders them by their number of
# tests): a long batch started last would leave the other worker idle at the end.
LONGEST_FIRST = ("test_cheating.py", "test_notebooks.py", "TestLab_lab03", "TestLab_lab05", "TestLab_lab07",
                 "TestLab_lab06", "TestLab_lab04", "TestLab_lab08", "TestLab_lab02", "test_gradebook.py",
                 "test_exchange.py", "TestLab_lab01", "test_instructor_commands.py", "test_jupyterlab.py",
                 "test_tiny_transformer.py", "test_cnn.py")


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        return next((i for i, key in enumerate(LONGEST_FIRST) if key in item.nodeid), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the order within a scope and among the rest is kept


def pytest_terminal_summary(terminalreporter):
    """Print the coverage table of the visible checks when test_visible_checks ran."""
    module = sys.modules.get("test_visible_checks")
    if module is not None and module.COVERAGE:
        terminalreporter.write_sep("-", "visible checks: plausible wrong answers caught, correct answers rejected")
        terminalreporter.write_line(module._table())
