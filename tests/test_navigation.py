"""The course's order and its announcements: derived from the files present (fast, no build).

The site's pages follow the course (lecture n, lab n, its worked solution, lecture n + 1), and no
notebook announces a week or a lab that does not exist: "next week" only where week n + 1 has a
lecture, "week k" / "lab k" only for weeks and labs that exist.
"""

from __future__ import annotations

import re

import pytest

from xaigrader import build, site

SOURCES = build.course_sources() + build.lab_sources()
WEEKS = {int(re.match(r"week(\d+)", s.name).group(1)) for s in build.course_sources()}
LABS = {int(re.match(r"lab(\d+)", s.name).group(1)) for s in build.lab_sources()}


def test_pages_follow_the_course():
    pages = site.pages()
    order = [(p.week, p.kind) for p in pages]
    assert order == sorted(order, key=lambda wk: (wk[0], ["lecture", "lab", "solution"].index(wk[1])))
    for lab in build.lab_sources():
        kinds = [p.kind for p in pages if p.name == lab.name]
        assert kinds == ["lab", "solution"], f"{lab.name}: {kinds}"
    assert not [p for p in site.pages(solutions=False) if p.kind == "solution"]


def test_contents_have_one_caption_per_week():
    contents = site.toctree(site.pages())
    assert contents.count(":caption: Week") == len({p.week for p in site.pages()})


@pytest.mark.parametrize("src", SOURCES, ids=[s.name for s in SOURCES])
def test_no_announcement_of_a_missing_week(src):
    text = src.source.read_text()
    own = int(re.match(r"(?:week|lab)(\d+)", src.name).group(1))
    if re.search(r"[Nn]ext week", text):
        assert own + 1 in WEEKS, f"{src.name} announces next week, but week {own + 1} has no lecture yet"
    for kind, number in re.findall(r"\b([Ww]eek|[Ll]ab)[ -](\d+)\b", text):
        existing = WEEKS if kind.lower() == "week" else LABS
        assert int(number) in existing, f"{src.name} mentions {kind} {number}, which does not exist"
