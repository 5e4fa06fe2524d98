"""nbgrader configuration of the XAI course.

The instructor commands (`make release`, `make autograde LAB=...`, ...) run nbgrader with
this file: `nbgrader <command> --config grader/nbgrader_config.py` from the repository root.
The course directory is the repository itself:

    solutions/<lab>/   source (solutions and hidden tests)   -> committed
    labs/<lab>/        release (what students open)          -> committed, generated
    downloaded/<lab>/archive/  files downloaded from your LMS -> ignored by git
    submitted/<student>/<lab>/, autograded/, feedback/, gradebook.db -> ignored by git
"""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from xaigrader.cli import STUDENT_ID

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.course_id = "xai-course"
c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.db_url = f"sqlite:///{os.path.join(ROOT, 'gradebook.db')}"
# The jupytext sources (*.py) stay out of the release; the notebook built from them goes in.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py"]

# Execution while autograding: offline, bounded, and a stuck cell is interrupted, not fatal.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = []

# Students are created on the fly from the submitted/ folder names.
c.Autograde.create_student = True

# Feedback shows each test's outcome (its output) but never the hidden test code.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

# `nbgrader zip_collect`: files downloaded from the LMS are named <student-id>_<lab>.ipynb
# (or zipped); the student id is the part before the first underscore. `xai-course collect`
# lists the files that do not follow this pattern.
c.FileNameCollectorPlugin.named_regexp = rf".*/(?P<student_id>{STUDENT_ID})_(?P<file_id>[^/]+\.ipynb)$"
