"""The visible checks teach: they catch the plausible wrong answers, and never reject a correct one.

For every lab, the visible check of each question is run (without a notebook, on the lab's own
imports) on the lab's solution, on every plausible wrong answer of tests/wrong_answers/ and on
the correct alternatives of tests/alternatives/. The share of wrong answers caught per lab is
printed at the end of the test run (the coverage table; CONTRIBUTING.md quotes it) and must be
at least 85 %; the solution and every alternative must pass.
"""

from __future__ import annotations

import alternatives
import pytest
import slips
import visible
import wrong_answers

from xaigrader import build

LABS = [src.name for src in build.lab_sources()]
GOAL = 0.85
COVERAGE: dict[str, tuple[int, int, int, list[str]]] = {}  # lab -> (caught, wrong, rejected correct, missed labels)
SLIPS: dict[str, tuple[int, int]] = {}  # lab -> (caught, slips) of tests/slips/


def _table() -> str:
    lines = ["| lab | tests/wrong_answers caught by the visible checks | tests/slips caught | correct answers rejected |",
             "|---|---|---|---|"]
    for lab, (caught, total, rejected, _) in sorted(COVERAGE.items()):
        share = f"{caught / total:.0%}" if total else "n/a"
        slip_caught, slip_total = SLIPS.get(lab, (0, 0))
        lines.append(f"| {lab} | {caught} of {total} ({share}) | {slip_caught} of {slip_total} | {rejected} |")
    return "\n".join(lines)


@pytest.mark.parametrize("lab", LABS)
def test_visible_checks_catch_wrong_answers_and_accept_correct_ones(lab):
    the_lab = visible.lab(lab)
    rejected = []
    for gid, source in the_lab.answers.items():
        status, message = visible.run(lab, gid, source)
        if status != "pass":
            rejected.append(f"solution of {gid}: {status}: {message}")
    for right in alternatives.for_lab(lab):
        status, message = visible.run(lab, right.grade_id, right.source)
        if status != "pass":
            rejected.append(f"{right.label}: {status}: {message}")
    wrong = wrong_answers.for_lab(lab)
    missed, crashed = [], []
    for w in wrong:
        status, message = visible.run(lab, w.grade_id, w.source)
        if status == "check crashed":
            crashed.append(f"{w.label}: {message}")
        elif status != "caught":
            missed.append(w.label)
    slipped = [s.label for s in slips.for_lab(lab) if visible.run(lab, s.grade_id, s.source)[0] != "caught"]
    COVERAGE[lab] = (len(wrong) - len(missed) - len(crashed), len(wrong), len(rejected), missed + crashed)
    SLIPS[lab] = (len(slips.for_lab(lab)) - len(slipped), len(slips.for_lab(lab)))
    print(f"\n{_table()}\nmissed in {lab}: {missed + crashed}")
    assert not rejected, f"the visible checks reject correct answers: {rejected}"
    assert not slipped, f"the visible checks miss these slips: {slipped}"
    assert not crashed, f"a visible check crashed instead of reporting: {crashed}"
    if wrong:
        share = (len(wrong) - len(missed)) / len(wrong)
        assert share >= GOAL, f"{lab}: the visible checks catch {share:.0%} of the wrong answers; missed {missed}"


def test_summary_points_match_the_lab():
    """The summary cell's points and parts are those of the lab's nbgrader test cells."""
    import importlib

    for lab in LABS:
        the_lab = visible.lab(lab)
        module = importlib.import_module(the_lab.imports.split("from xaikit.checks import ")[1].split()[0].join(
            ["xaikit.checks.", ""]))
        parts = {check.answer: check.points for check in module.summary.parts}
        expected = {visible.defined_name(the_lab.answers[gid]): pts for gid, pts in the_lab.points.items()}
        assert parts == expected, f"{lab}: summary parts {parts} differ from the lab's test cells {expected}"
