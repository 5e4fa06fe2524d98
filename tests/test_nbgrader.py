"""Each lab survives the full nbgrader round trip, and its hidden tests can fail.

One autograde batch per lab (its solution and its blank release, see grading.py) is graded with
the instructor command in a temporary course directory; the tests below read the gradebook, the
autograded notebooks and the feedback. Lab 3's solution is graded three times at once, with
the blank release: four gradings keep both cores busy, and every copy must get full marks (a
grade never depends on the machine's load or on the run). Every
plausible wrong answer of the lab is judged by the same verdict code in the sandboxed worker,
without running the notebook once more for it. The tests of a lab form one class,
``TestLab_<lab>``: `make test` runs pytest-xdist with ``--dist loadscope``, which keeps a class
on one worker (it grades the lab once) and runs the labs in parallel.
"""

from __future__ import annotations

import grading
import pytest
from wrong_answers import for_lab

from xaigrader import build

LABS = [src.name for src in build.lab_sources()]
# Graded three times at once, four gradings on two cores: LIME's and KernelSHAP's sampling (lab 3) is
# the course's most random recipe, and its HistGradientBoosting model (OpenMP) answers thousands of
# predictions per hidden test; a correct lab-2 submission, with the same model, once lost points
# on a busy machine (see xaikit/threads.py).
REGRADED = {"lab03_local_methods"}
BUSY_FRACTION = 0.9  # of all cores' time while the copies are graded
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "xaigrader", "BEGIN SOLUTION")

pytestmark = pytest.mark.slow


_TRIPS: dict[str, grading.RoundTrip | Exception] = {}


def _trip(lab: str, tmp_path_factory) -> grading.RoundTrip:
    """One round trip per lab per session, shared by the tests of its class."""
    if lab not in _TRIPS:
        try:
            _TRIPS[lab] = grading.run(lab, tmp_path_factory.mktemp(lab), regrade=lab in REGRADED)
        except Exception as exc:  # fail the other tests of this lab at once instead of rerunning it
            _TRIPS[lab] = exc
    if isinstance(_TRIPS[lab], Exception):
        raise _TRIPS[lab]
    return _TRIPS[lab]


def pytest_generate_tests(metafunc):
    if "wrong" in metafunc.fixturenames:
        wrong = for_lab(metafunc.cls.LAB)
        metafunc.parametrize("wrong", wrong, ids=[w.label for w in wrong])


class RoundTripTests:
    """The tests of one lab's round trip; a subclass per lab sets ``LAB``."""

    LAB = ""

    @pytest.fixture
    def trip(self, tmp_path_factory) -> grading.RoundTrip:
        return _trip(self.LAB, tmp_path_factory)

    def test_release_in_labs_is_up_to_date(self, trip, root):
        generated = {p.relative_to(trip.release): p.read_bytes() for p in trip.release.rglob("*") if p.is_file()}
        committed_dir = root / "labs" / trip.lab
        committed = {p.relative_to(committed_dir): p.read_bytes() for p in committed_dir.rglob("*") if p.is_file()}
        assert committed.keys() == generated.keys(), "labs/ has other files than `make release` generates"
        stale = [str(p) for p in generated if generated[p] != committed[p]]
        assert not stale, f"labs/{trip.lab} is out of date with solutions/ (run `make release`): {stale}"


    def test_release_contains_no_solution_or_hidden_test(self, trip):
        for path in trip.release.rglob("*.ipynb"):
            text = path.read_text()
            for marker in HIDDEN_MARKERS:
                assert marker not in text, f"{marker!r} leaked into {path.name}"


    def test_solution_scores_full_marks_and_runs_without_error(self, trip):
        assert trip.max_scores, "the lab has no autograded test cells"
        assert trip.scores["solution"] == trip.max_scores
        errors = [(c.id, o.ename, o.evalue) for c in trip.autograded("solution").cells if c.cell_type == "code"
                  for o in c.outputs if o.output_type == "error"]
        assert not errors, f"the solution notebook raised errors: {errors}"


    def test_blank_release_scores_zero(self, trip):
        assert trip.total("blank") == 0
        outputs = [o for c in trip.autograded("blank").cells if c.cell_type == "code" for o in c.outputs]
        assert any("not written yet" in "".join(o.get("traceback", [])) for o in outputs), \
            "a blank answer should be reported as not attempted"


    def test_every_question_has_a_plausible_wrong_answer(self, trip):
        answered = {w.grade_id for w in trip.wrong}
        questions = {gid.removesuffix("_test") for gid in trip.max_scores}
        assert questions == answered, f"questions without a wrong-answer test: {sorted(questions - answered)}"


    def test_wrong_answer_loses_the_points_of_its_question(self, trip, wrong):
        passed, verdict = trip.direct[wrong.label]
        assert not passed, f"{wrong.label}: the hidden test gives it the points: {verdict}"
        lines = [line for line in verdict.splitlines() if line.strip()]
        assert len(lines) == 1, f"feedback should be one line, got {lines}"
        assert wrong.graded_message in verdict, verdict

    def test_same_submission_gets_the_same_grade_every_time(self, trip):
        if trip.lab not in REGRADED:
            pytest.skip("graded three times only for the lab with the most random recipes")
        assert trip.regraded == [trip.scores["solution"]] * 2, \
            f"the solution scored {trip.scores['solution']}, its copies {trip.regraded}"

    def test_solved_submission_gets_full_marks_while_both_cores_are_busy(self, trip):
        if trip.lab not in REGRADED:
            pytest.skip("graded with both cores busy only for the lab graded three times at once")
        assert trip.busy >= BUSY_FRACTION, \
            f"the cores were busy {trip.busy:.0%} of the time the copies were graded"
        assert trip.scores["solution"] == trip.max_scores, trip.autograde_output[-2000:]
        assert trip.regraded == [trip.max_scores] * 2, trip.autograde_output[-2000:]
        print(f"graded {trip.lab} four times at once in {trip.busy_seconds:.0f} s, cores {trip.busy:.0%} busy")

    def test_feedback_shows_results_but_no_hidden_test_code(self, trip):
        for student in ["solution", "blank"]:
            html = trip.feedback_html(student)
            for marker in HIDDEN_MARKERS[:3]:
                assert marker not in html, f"{marker!r} in the feedback of {student}"
        assert "✓" in trip.feedback_html("solution")
        assert "is not written yet" in trip.feedback_html("blank")



for _lab in LABS:
    globals()[f"TestLab_{_lab}"] = type(f"TestLab_{_lab}", (RoundTripTests,), {"LAB": _lab})
