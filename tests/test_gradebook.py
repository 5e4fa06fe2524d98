"""The gradebook under concurrent grading: SQLite's busy wait, and a real PostgreSQL.

``xai-course autograde --jobs N`` runs N nbgrader processes on one gradebook
(grader/xaigrader/gradebook.py explains the choice). The fast tests prove that the nbgrader
config and the command agree on the gradebook, that a SQLite writer waits for another
process's lock instead of failing, and that concurrent writers all land. The slow test
grades the probe lab's class (a correct, a blank and a wrong notebook) through the
instructor commands on a throwaway PostgreSQL cluster (tests/postgres.py; .ci/run installs
Debian's postgresql), with two concurrent ``--shard i/2`` processes as two machines (or
Kubernetes Jobs) would, and gets the grades the same class gets on SQLite
(``grading.PROBE_EXPECTED``, which test_exchange.py proves on SQLite with ``--jobs 2``).
"""

from __future__ import annotations

import csv
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time

import grading
import pytest
from nbgrader.api import Gradebook
from traitlets.config.loader import PyFileConfigLoader

from xaigrader import gradebook


def _configured_db_url(root, monkeypatch, env: str | None) -> str:
    """c.CourseDirectory.db_url as grader/nbgrader_config.py sets it."""
    if env is None:
        monkeypatch.delenv(gradebook.ENV, raising=False)
    else:
        monkeypatch.setenv(gradebook.ENV, env)
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root / "grader")).load_config()
    return config.CourseDirectory.db_url


def test_config_and_commands_name_the_same_gradebook(root, monkeypatch):
    assert _configured_db_url(root, monkeypatch, None) == gradebook.db_url(root)
    assert gradebook.db_url(root) == f"sqlite:///{root / 'gradebook.db'}?timeout={gradebook.SQLITE_TIMEOUT_S}"
    assert gradebook.command_line(root) == [f"--CourseDirectory.db_url={gradebook.db_url(root)}"]
    url = "postgresql+psycopg://grader:s3cret@db.example.org:5432/xai"
    assert _configured_db_url(root, monkeypatch, url) == url == gradebook.db_url(root)


def test_a_postgresql_url_means_psycopg_3_and_its_password_stays_off_command_lines(root, monkeypatch):
    monkeypatch.setenv(gradebook.ENV, "postgresql://grader:s3cret@db.example.org/xai")
    assert gradebook.db_url(root) == "postgresql+psycopg://grader:s3cret@db.example.org/xai"
    assert gradebook.command_line(root) == []  # nbgrader inherits XAI_DB_URL instead
    assert "s3cret" not in gradebook.redacted(gradebook.db_url(root))
    import psycopg  # the driver is installed (dev dependency)

    assert psycopg.__version__.startswith("3.")


@pytest.fixture
def sqlite_book(tmp_path):
    url = gradebook.db_url(tmp_path)
    with Gradebook(url) as gb:  # created here: the tables exist before anyone locks the file
        gb.add_assignment("lab")
    return tmp_path, url


def _add_student_while_locked(db_file, url: str, hold_s: float) -> tuple[float, Exception | None]:
    """Another connection holds SQLite's write lock for ``hold_s``; add a student meanwhile.

    SQLite's locks are file locks, the same between two connections of one process as
    between two grading processes.
    """
    locker = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(hold_s, lambda: locker.execute("COMMIT"))
    release.start()
    start = time.monotonic()
    try:
        with Gradebook(url) as gb:
            gb.add_student("waiting")
        error = None
    except Exception as exc:  # noqa: BLE001 - the error is what the test looks at
        error = exc
    elapsed = time.monotonic() - start
    release.join()
    locker.close()
    return elapsed, error


def test_a_sqlite_writer_waits_for_another_writers_lock(sqlite_book):
    course, url = sqlite_book
    elapsed, error = _add_student_while_locked(course / "gradebook.db", url, hold_s=2.0)
    assert error is None, f"the write failed instead of waiting: {error}"
    assert elapsed >= 1.5, "the write did not wait for the lock"
    with Gradebook(url) as gb:
        assert [s.id for s in gb.students] == ["waiting"]


def test_without_the_busy_wait_the_same_write_fails(sqlite_book):
    course, url = sqlite_book
    impatient = url.replace(f"timeout={gradebook.SQLITE_TIMEOUT_S}", "timeout=0.1")
    _, error = _add_student_while_locked(course / "gradebook.db", impatient, hold_s=2.0)
    assert error is not None and "database is locked" in str(error)


def test_concurrent_writers_all_land(sqlite_book):
    course, url = sqlite_book
    errors = []

    def writer(k: int) -> None:
        try:
            for i in range(15):
                with Gradebook(url) as gb:
                    gb.add_student(f"w{k}-{i}")
                    gb.add_submission("lab", f"w{k}-{i}")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with Gradebook(url) as gb:
        assert len(gb.students) == 60 and len(gb.find_assignment("lab").submissions) == 60


# --- the probe lab's class, graded by two concurrent shards on PostgreSQL ------------------------

@pytest.mark.slow
@pytest.mark.xdist_group("postgresql")
def test_postgresql_gradebook_gives_the_grades_of_sqlite(tmp_path):
    """The grades of the probe class on SQLite are ``grading.PROBE_EXPECTED`` (test_exchange.py)."""
    import postgres

    if postgres.bin_dir() is None:
        message = "PostgreSQL is not installed (.ci/run installs it: apt-get install postgresql)"
        pytest.fail(message) if os.environ.get("XAI_REQUIRE_SERVICES") else pytest.skip(message)
    with postgres.Cluster() as pg:
        url = pg.create_database("xai_course")
        course, env = tmp_path / "postgresql", {gradebook.ENV: url}
        solution, blank = grading.release(grading.PROBE_LAB, course, grading.PROBE, env=env)
        grading.download(course, grading.PROBE_LAB, grading.probe_class(solution, blank))
        grading.cli(course, "collect", grading.PROBE_LAB, env=env)
        # Two machines grade the class at once, each its shard, on the one PostgreSQL gradebook.
        shards = [subprocess.Popen([sys.executable, "-m", "xaigrader.cli", "--root", str(course), "autograde",
                                    grading.PROBE_LAB, "--shard", f"{i}/2", "--jobs", "1"], text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env={**os.environ, **env}) for i in range(2)]
        logs = [p.communicate(timeout=900)[0] for p in shards]
        assert [p.returncode for p in shards] == [0, 0], logs
        assert all("GRADEBOOK:" not in log and "BROKEN" not in log for log in logs), logs
        assert sum(int(re.search(r"shard \d/2: (\d+) of", log).group(1)) for log in logs) == len(grading.PROBE_EXPECTED)
        grading.cli(course, "feedback", grading.PROBE_LAB, env=env)
        grading.cli(course, "export", "--to", str(course / "grades.csv"), env=env)
        assert not (course / "gradebook.db").exists(), "the commands wrote a SQLite gradebook instead"
        with Gradebook(url) as gb:
            assert sorted(s.id for s in gb.students) == sorted(grading.PROBE_EXPECTED)
        scores, _ = grading.read_scores(course, grading.PROBE_LAB, url)
    with open(course / "grades.csv") as fh:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(fh)}
    assert scores == grading.PROBE_EXPECTED, logs
    assert exported == {s: sum(v.values()) for s, v in grading.PROBE_EXPECTED.items()}
    for student in grading.PROBE_EXPECTED:
        assert (course / "feedback" / student / grading.PROBE_LAB / f"{grading.PROBE_LAB}.html").exists()


# --- several grading processes or machines on one gradebook (--shard) ----------------------------

def test_shards_cover_every_submission_once():
    from xaigrader import cli

    students = [f"s{k:03d}" for k in range(23)]
    shards = [students[i::5] for i in (cli.shard(f"{i}/5")[0] for i in range(5))]
    assert sorted(sum(shards, [])) == students
    for bad in ("5/5", "-1/3", "2", "a/b"):
        with pytest.raises(Exception):
            cli.shard(bad)


def _two_students(url: str) -> None:
    with Gradebook(url) as gb:
        gb.add_notebook("lab", "lab")
        gb.add_grade_cell("q_test", "lab", "lab", max_score=3, cell_type="code")
        for student in ("mine", "theirs"):
            gb.add_student(student)
            gb.add_submission("lab", student)
            grade = gb.find_grade("q_test", "lab", "lab", student)
            grade.auto_score = 0.0
        gb.db.commit()


def _grade(url: str, student: str, score: float) -> None:
    with Gradebook(url) as gb:
        gb.find_grade("q_test", "lab", "lab", student).auto_score = score
        gb.db.commit()


def test_the_watch_leaves_other_shards_grades_alone_and_guards_the_rest(sqlite_book):
    from xaigrader import audit

    _, url = sqlite_book
    _two_students(url)
    # Another shard grades "theirs" while this one grades "mine": not tampering.
    watch = audit.Watch(url, "lab", elsewhere={"theirs"})
    watch.begin("mine")
    _grade(url, "mine", 3.0)
    _grade(url, "theirs", 3.0)
    watch.end("mine")
    assert watch.problems == []
    with Gradebook(url) as gb:
        assert gb.find_grade("q_test", "lab", "lab", "theirs").auto_score == 3.0
    # Without shards, a change to a student nobody grades is restored and reported.
    watch = audit.Watch(url, "lab")
    watch.begin("mine")
    _grade(url, "theirs", 1.0)
    watch.end("mine")
    assert len(watch.problems) == 1 and "theirs" in watch.problems[0]
    with Gradebook(url) as gb:
        assert gb.find_grade("q_test", "lab", "lab", "theirs").auto_score == 3.0
