"""Where the gradebook lives: the one place the nbgrader config and `xai-course` both ask.

By default the gradebook is SQLite, ``<course>/gradebook.db``. For a large class, several
grading machines or JupyterHub, point every instructor command at a PostgreSQL database
instead with the environment variable ``XAI_DB_URL``::

    export XAI_DB_URL=postgresql+psycopg://grader@db.example.org:5432/xai_course

(``postgresql://`` is read as psycopg 3, ``postgresql+psycopg://``; the password comes from
``PGPASSWORD`` or ``~/.pgpass`` as for any libpq client, or from the URL itself.) The
variable is read by ``grader/nbgrader_config.py`` (so plain ``nbgrader ...`` commands and the
formgrader use it too) and by every ``xai-course`` command; a password never appears on a
command line (see :func:`command_line`).

SQLite under concurrent writes: ``xai-course autograde --jobs N`` runs N nbgrader processes
on one gradebook. Each writes a few short transactions per student (create the submission
at the start, save the scores at the end: milliseconds each), while grading a submission
takes seconds to minutes. SQLite serialises writers with a file lock; Python's driver gives
up after 5 s by default ("database is locked"), so the URL here asks it to wait up to
:data:`SQLITE_TIMEOUT_S` seconds instead (``?timeout=60``). The journal stays in SQLite's
default rollback mode, not WAL, so the gradebook also works on the network file systems
course directories often live on (WAL needs shared memory on one host).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "XAI_DB_URL"
SQLITE_TIMEOUT_S = 60  # seconds a grading process waits for another one's write


def from_env() -> str:
    """The gradebook URL set by the instructor (``XAI_DB_URL``), normalised; "" if none."""
    url = os.environ.get(ENV, "").strip()
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):  # SQLAlchemy would pick psycopg2, which the course does not install
            url = "postgresql+psycopg://" + url[len(plain):]
    return url


def db_url(root: Path | str) -> str:
    """The gradebook of the course directory ``root``: ``XAI_DB_URL``, else SQLite in ``root``."""
    return from_env() or f"sqlite:///{Path(root) / 'gradebook.db'}?timeout={SQLITE_TIMEOUT_S}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def exists(root: Path | str) -> bool:
    """Whether there may be a gradebook already (a server database always may)."""
    return bool(from_env()) or (Path(root) / "gradebook.db").exists()


def command_line(root: Path | str) -> list[str]:
    """nbgrader options that select the gradebook of ``root``.

    A SQLite path is passed on the command line (it follows ``--root``); a server URL is not,
    since it may carry a password that any user could read in the process list: the nbgrader
    process inherits ``XAI_DB_URL`` and the course config reads it.
    """
    return [] if from_env() else [f"--CourseDirectory.db_url={db_url(root)}"]


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
