"""The grading benchmark's arithmetic and its refusal to time a broken grading (fast; the
benchmark itself is `make bench-grading`, which writes bench/grading.md)."""

from __future__ import annotations

import pytest

from xaigrader import bench_grading as bench

KINDS = {"copy-001": "solution", "copy-002": "solution", "blank": "wrong"}


def test_a_broken_grading_is_not_timed():
    bench.check_grades(bench.Run(2, 10.0, 0, 0, {"copy-001": 6, "copy-002": 6, "blank": 0}), KINDS)
    for scores in ({"copy-001": 6, "copy-002": 3, "blank": 0},  # a correct copy lost points
                   {"copy-001": 6, "copy-002": 6, "blank": 6},  # a wrong one scored full marks
                   {"copy-001": 0, "copy-002": 0, "blank": 0},  # nothing scored at all
                   {"copy-001": 6, "blank": 0}):  # a submission is missing
        with pytest.raises(RuntimeError, match="broken"):
            bench.check_grades(bench.Run(2, 10.0, 0, 0, scores), KINDS)


def test_the_table_reports_speedup_and_the_class_of_500():
    runs = [bench.Run(1, 60.0, 0.5, 1.2, {}), bench.Run(2, 33.0, 1.2, 1.9, {})]
    text = bench.table("lab02_global_methods", runs, KINDS)
    assert "| 3 | 1 | 60.0 | 1.00x | 20.0 |" in text and "| 3 | 2 | 33.0 | 1.82x | 11.0 |" in text
    assert "Measured: 1.82x." in text and "Below the goal" not in text
    # 500 x 8 submissions at 11 s each: 12.2 h on one machine, a quarter of it on four
    assert "| 1 | 12.2 h (92 min per lab) |" in text and "| 4 | 3.1 h (23 min per lab) |" in text
    slow = bench.table("lab02_global_methods", [runs[0], bench.Run(2, 50.0, 7.0, 7.5, {})], KINDS)
    assert "**Below the goal**: the machine was busy" in slow
