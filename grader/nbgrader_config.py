"""nbgrader configuration of the XAI course.

The instructor commands (`make release`, `make autograde LAB=...`, ...) run nbgrader with
this file: `nbgrader <command> --config grader/nbgrader_config.py` from the repository root.
The course directory is the repository itself:

    solutions/<lab>/   source (solutions and hidden tests)   -> committed
    labs/<lab>/        release (what students open)          -> committed, generated
    downloaded/<lab>/archive/  files downloaded from your LMS -> ignored by git
    submitted/<student>/<lab>/, autograded/, feedback/, gradebook.db -> ignored by git

The gradebook is SQLite (gradebook.db) unless the environment variable XAI_DB_URL names a
PostgreSQL database (postgresql+psycopg://user@host:5432/db); grader/xaigrader/gradebook.py
is the one place that decides, for this file and for every `xai-course` command.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, GetGrades,
                                    IgnorePattern, LimitOutput, SaveAutoGrades)
from xaigrader.cli import STUDENT_ID
from xaigrader.gradebook import db_url
from nbgrader.preprocessors import ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec
from xaigrader.verdicts import FlagGraderErrors, RestoreCellMetadata, SandboxedExecute, Verdicts

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "xai-course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.db_url = db_url(ROOT)  # XAI_DB_URL, else SQLite in ROOT that waits for concurrent writers
# The jupytext sources (*.py) stay out of the release; the notebook built from them goes in.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]

# Autograding in two phases (grader/xaigrader/verdicts.py): the notebook runs in a sandboxed
# kernel that only hands in the student's objects; the hidden tests then run in the grader's
# process and decide each test cell's score. nbgrader's own steps stay around them.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreCellMetadata,  # a renamed, corrupted or forged test cell never rejects a whole submission
    OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    SandboxedExecute,
    Verdicts,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    FlagGraderErrors,
    AssignLatePenalties,
    CheckCellMetadata,
]
# Time: a stuck cell is interrupted (not fatal) and the notebook as a whole is bounded.
# Cells measured by `make bench` get 10x their time (grader/xaigrader/budgets.json), other
# cells `timeout` seconds, a notebook 5x its measured total (else `total_timeout`).
c.SandboxedExecute.timeout = 60
c.SandboxedExecute.total_timeout = 900
c.SandboxedExecute.interrupt_on_timeout = True
# A cell that prints a flood of output must not lose the notebook: wait up to 30 s for the last
# messages, then go on without them (nbgrader's default gives up on the notebook after 4 s).
c.SandboxedExecute.iopub_timeout = 30
c.SandboxedExecute.raise_on_iopub_timeout = False
c.SandboxedExecute.extra_arguments = []
# The sandbox: "auto" (bubblewrap if it works here, else resource limits only, with a
# warning), "required" (refuse to grade without it) or "off"; XAI_SANDBOX overrides it.
c.SandboxedExecute.sandbox_config = {"mode": "auto"}
# A test cell the student deleted is put back (and graded), not silently dropped.
c.OverwriteCells.add_missing_cells = True

# Students are created on the fly from the submitted/ folder names.
c.Autograde.create_student = True

# Feedback shows each test's outcome (its output) but never the hidden test code.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# `nbgrader zip_collect`: files downloaded from the LMS are named <student-id>_<lab>.ipynb
# (or zipped); the student id is the part before the first underscore. `xai-course collect`
# lists the files that do not follow this pattern.
c.FileNameCollectorPlugin.named_regexp = rf".*/(?P<student_id>{STUDENT_ID})_(?P<file_id>[^/]+\.ipynb)$"
