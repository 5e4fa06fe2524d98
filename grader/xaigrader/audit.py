"""The gradebook checked around every student's autograding.

Student code never reaches the gradebook (it runs in the sandbox, see
:mod:`xaigrader.sandbox`), but where that sandbox is unavailable, or if a grader bug wrote
where it should not, the grades must still be right. :class:`Watch` keeps the lab's grades
as they should be; after each student's grading it checks that

- no other student's grade changed (the ones still being graded in parallel excepted, and
  those another process or machine grades at the same time: ``elsewhere``, e.g. the other
  shards of ``xai-course autograde --shard``);
- the graded student's manual scores and extra credit are what the instructor left;
- no automatic score exceeds its cell's maximum;

and it restores any value that broke a rule, reporting each in one line.
"""

from __future__ import annotations

import threading

from nbgrader.api import Grade, Gradebook

Key = tuple[str, str, str]  # student, notebook, cell


class Watch:
    def __init__(self, db_url: str, lab: str, elsewhere=()):
        self.db_url, self.lab = db_url, lab
        self.elsewhere = frozenset(elsewhere)
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._expected = self._read()

    def _grades(self, gb: Gradebook):
        assignment = gb.find_assignment(self.lab)
        for submission in assignment.submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    yield (submission.student.id, notebook.name, grade.name), grade

    def _read(self) -> dict[Key, tuple]:
        with Gradebook(self.db_url) as gb:
            return {key: (g.auto_score, g.manual_score, g.extra_credit) for key, g in self._grades(gb)}

    def begin(self, student: str) -> None:
        with self._lock:
            self._busy.add(student)

    def end(self, student: str) -> None:
        with self._lock:
            self._busy.discard(student)
            busy = set(self._busy) | self.elsewhere
            with Gradebook(self.db_url) as gb:
                changed = False
                for key, grade in self._grades(gb):
                    owner = key[0]
                    if owner in busy:
                        continue
                    now = (grade.auto_score, grade.manual_score, grade.extra_credit)
                    before = self._expected.get(key)
                    if owner == student:
                        changed |= self._check_own(key, grade, before)
                    elif before is not None and now != before:
                        self.problems.append(f"while {student} was graded, the grade of {owner} in {key[2]} changed "
                                             f"from {before} to {now}; restored.")
                        grade.auto_score, grade.manual_score, grade.extra_credit = before
                        changed = True
                    self._expected[key] = (grade.auto_score, grade.manual_score, grade.extra_credit)
                if changed:
                    gb.db.commit()

    def _check_own(self, key: Key, grade: Grade, before: tuple | None) -> bool:
        changed = False
        manual, extra = (before[1], before[2]) if before is not None else (None, None)
        if (grade.manual_score, grade.extra_credit) != (manual, extra):
            self.problems.append(f"{key[0]}: the manual score or extra credit of {key[2]} changed during autograding "
                                 f"({(manual, extra)} -> {(grade.manual_score, grade.extra_credit)}); restored.")
            grade.manual_score, grade.extra_credit = manual, extra
            changed = True
        maximum = grade.max_score
        if grade.auto_score is not None and not 0 <= grade.auto_score <= maximum:
            self.problems.append(f"{key[0]}: the automatic score of {key[2]} was {grade.auto_score} (maximum "
                                 f"{maximum:g}); set to 0 and flagged for manual grading.")
            grade.auto_score = 0.0
            grade.needs_manual_grade = True
            changed = True
        return changed
