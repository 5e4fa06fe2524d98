"""`make site`: the course website, built with Sphinx + MyST-NB from executed notebooks.

Pages, in the order of the course (lecture n, lab n, its worked solution, lecture n + 1, ...),
derived from the files present:

- ``lectures/weekNN_*``: the lecture notebook (course/), executed;
- ``labs/labNN_*``: the lab as students receive it (labs/), executed: unfinished exercises end
  in one short line, and a cell that needs an unwritten function says which one;
- ``solutions/labNN_*``: the worked solution (solutions/, hidden tests removed), executed, with
  every output and the model answers. ``--no-solutions`` (``make site SOLUTIONS=0``) leaves
  them out, for a course whose labs are being graded.

Executed notebooks are reused rather than run twice: ``.cache/executed/`` holds each notebook
executed by the test suite (tests/test_notebooks.py stores the lectures; the nbgrader round trip
gives the labs, see :func:`store_round_trip`) or by an earlier ``make site``, under a key made
from the notebook's cells and the helper package's source. A notebook without a cached run is
executed here with nbclient (one thread per kernel). Sphinx then only renders (execution off).
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from xaikit.threads import THREAD_ENV as THREADS  # one thread per kernel

from . import build

CACHE = ".cache/executed"
HIDDEN = re.compile(r"\n?### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
SOLUTION_MARKERS = re.compile(r"^[ \t]*(# )?### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- the pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    kind: str  # "lecture" | "lab" | "solution"
    week: int
    name: str  # notebook stem, e.g. lab02_global_methods
    source: Path  # the notebook it is made from (unexecuted)
    workdir: Path  # where it runs (files it reads lie there)

    @property
    def folder(self) -> str:
        return {"lecture": "lectures", "lab": "labs", "solution": "solutions"}[self.kind]

    @property
    def docname(self) -> str:
        return f"{self.folder}/{self.name}"


def _week(name: str) -> int:
    match = re.match(r"(?:week|lab)(\d+)", name)
    if not match:
        raise ValueError(f"{name}: notebook names start with weekNN or labNN")
    return int(match.group(1))


def pages(root: Path = build.ROOT, *, solutions: bool = True) -> list[Page]:
    """Every page of the site in the order of the course: lecture n, lab n, solution n, lecture n+1."""
    found = [Page("lecture", _week(s.name), s.name, s.target, s.source.parent) for s in build.course_sources(root)]
    for src in build.lab_sources(root):
        release = root / "labs" / src.name / f"{src.name}.ipynb"
        if release.exists():
            found.append(Page("lab", _week(src.name), src.name, release, release.parent))
        if solutions:
            found.append(Page("solution", _week(src.name), src.name, src.target, src.source.parent))
    order = {"lecture": 0, "lab": 1, "solution": 2}
    return sorted(found, key=lambda p: (p.week, order[p.kind]))


def site_form(nb: nbformat.NotebookNode, kind: str) -> nbformat.NotebookNode:
    """The notebook as the site shows it (outputs kept): no hidden tests, no solution markers."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if kind in ("lab", "solution"):
            cell.source = HIDDEN.sub("\n", cell.source).rstrip()
            cell.source = SOLUTION_MARKERS.sub("", cell.source).rstrip()
    return nb


def unexecuted(page: Page) -> nbformat.NotebookNode:
    nb = site_form(nbformat.read(page.source, 4), page.kind)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


# --- the cache of executed notebooks ------------------------------------------------------------


def _helper_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((root / "xaikit").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(nb: nbformat.NotebookNode, root: Path = build.ROOT) -> str:
    """Same cells (types and sources) and the same helper package: the same outputs."""
    cells = [(c.cell_type, c.source) for c in nb.cells]
    payload = json.dumps(cells, ensure_ascii=False) + _helper_digest(root)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def cache_path(nb: nbformat.NotebookNode, root: Path = build.ROOT) -> Path:
    return root / CACHE / f"{cache_key(nb, root)}.ipynb"


def store(nb: nbformat.NotebookNode, root: Path = build.ROOT) -> Path:
    """Keep an executed notebook (in its site form) for the site build."""
    path = cache_path(nb, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def store_round_trip(course: Path, lab: str, root: Path = build.ROOT) -> list[Path]:
    """Cache the labs the nbgrader round trip executed: the solution and the blank release.

    ``course`` is the round trip's course directory (autograded/<student>/<lab>/<lab>.ipynb).
    """
    stored = []
    for student, kind in [("solution", "solution"), ("blank", "lab")]:
        path = course / "autograded" / student / lab / f"{lab}.ipynb"
        if path.exists():
            nb = site_form(nbformat.read(path, 4), kind)
            nb.metadata.pop("nbgrader", None)
            stored.append(store(nb, root))
    return stored


def execute(nb: nbformat.NotebookNode, workdir: Path, *, allow_errors: bool) -> nbformat.NotebookNode:
    """Run a notebook top to bottom (one thread per kernel, offline)."""
    from nbclient import NotebookClient

    for key, value in {**THREADS, "HF_HUB_OFFLINE": "1"}.items():
        os.environ.setdefault(key, value)
    os.environ.pop("MPLBACKEND", None)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def executed(page: Page, root: Path = build.ROOT) -> tuple[nbformat.NotebookNode, bool]:
    """The page's notebook with outputs: (notebook, taken from the cache)."""
    nb = unexecuted(page)
    path = cache_path(nb, root)
    if path.exists():
        return nbformat.read(path, 4), True
    print(f"executing {page.docname} ...", flush=True)
    execute(nb, page.workdir, allow_errors=page.kind == "lab")
    store(nb, root)
    return nb, False


# --- how a page reads ---------------------------------------------------------------------------


def _one_line(output: nbformat.NotebookNode) -> None:
    """Reduce an error output to one short line (the student version of a lab)."""
    lines = [ANSI.sub("", line) for line in output.get("traceback", []) if line.strip()]
    if len(lines) == 1 and not lines[0].startswith("---"):
        return  # already one line (a check's sentence, a 'not written yet' message)
    if output.get("ename") == "NameError":
        match = re.search(r"name '(\w+)' is not defined", output.get("evalue", ""))
        what = f"`{match.group(1)}`" if match else "a value"
        text = f"… this cell needs {what}, which a cell above computes once its exercise is written."
    else:
        text = f"… {output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    output.traceback = [text]


def _widget_html(state: dict, model_id: str, depth: int = 0) -> str:
    """Static HTML of a widget from the saved widget state (progress bars of tqdm, labels, boxes)."""
    model = state.get(model_id, {})
    name, values = model.get("model_name", ""), model.get("state", {})
    if depth > 4:
        return ""
    if name in ("HBoxModel", "VBoxModel", "BoxModel"):
        children = [c.removeprefix("IPY_MODEL_") for c in values.get("children", [])]
        inner = "".join(_widget_html(state, c, depth + 1) for c in children)
        direction = "column" if name == "VBoxModel" else "row"
        return f'<div style="display:flex;flex-direction:{direction};align-items:center;gap:0.5em">{inner}</div>'
    if name in ("HTMLModel", "LabelModel"):
        return f"<span>{values.get('value', '') if name == 'HTMLModel' else html.escape(str(values.get('value', '')))}</span>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        return (f'<progress value="{values.get("value", 0)}" max="{values.get("max", 100)}" '
                f'style="width:12em"></progress>')
    return html.escape(str(values.get("description", "")))


def render_widgets(nb: nbformat.NotebookNode) -> int:
    """Replace widget views by static HTML drawn from the widget state saved at execution."""
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    count = 0
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get("application/vnd.jupyter.widget-view+json")
            if view:
                drawn = _widget_html(state, view.get("model_id", ""))
                del data["application/vnd.jupyter.widget-view+json"]
                count += 1
                if not drawn:  # no saved state: the widget's repr ("HBox(children=...") says nothing
                    continue
                data["text/html"] = f'<div class="xai-widget">{drawn}</div>'
                data.pop("text/plain", None)
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept
    nb.metadata.pop("widgets", None)
    return count


def _link(target: Page, here: Page) -> str:
    return f"../{target.folder}/{target.name}.ipynb"


def decorate(nb: nbformat.NotebookNode, page: Page, all_pages: list[Page]) -> nbformat.NotebookNode:
    """Title and a note on what the page is, with links to the other form of the lab."""
    title_cell = nb.cells[0]
    solution = next((p for p in all_pages if p.kind == "solution" and p.name == page.name), None)
    lab = next((p for p in all_pages if p.kind == "lab" and p.name == page.name), None)
    if page.kind == "solution":
        title, _, rest = title_cell.source.partition("\n")
        title_cell.source = f"{title} (worked solution)\n{rest}"
        note = ("*Worked solution*: every exercise written and run, with all outputs and the model answers. "
                f"Try the lab first: [the lab as students receive it]({_link(lab, page)})." if lab else
                "*Worked solution*: every exercise written and run, with all outputs and the model answers.")
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"```{{note}}\n{note}\n```"))
    elif page.kind == "lab":
        note = ("*The lab as students receive it*: the exercises are not written yet, so their cells end in "
                "one short line saying so, and a cell that uses an exercise says which one it needs.")
        if solution:
            note += f" After trying it yourself, compare with the [worked solution]({_link(solution, page)})."
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(f"```{{note}}\n{note}\n```"))
    if page.kind == "lab":
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    _one_line(output)
    render_widgets(nb)
    nb.metadata["mystnb"] = {"execution_mode": "off"}
    return nb


def toctree(all_pages: list[Page]) -> str:
    """The contents in the order of the course, one caption per week."""
    blocks = []
    for week in sorted({p.week for p in all_pages}):
        entries = []
        for p in (p for p in all_pages if p.week == week):
            label = {"lecture": "", "lab": f"Lab {week} <", "solution": f"Lab {week}: worked solution <"}[p.kind]
            entries.append(f"{label}{p.docname}>" if label else p.docname)
        blocks.append("```{toctree}\n:caption: Week " + str(week) + "\n:maxdepth: 1\n\n" + "\n".join(entries) + "\n```")
    return "\n\n".join(blocks) + "\n"


def stage(root: Path, site: Path, *, solutions: bool = True) -> tuple[list[Path], int]:
    """Write the pages' notebooks into ``site``; return the copies and how many came from the cache."""
    build.build_all(root)
    all_pages = pages(root, solutions=solutions)
    for sub in ("lectures", "labs", "solutions", "_generated"):
        shutil.rmtree(site / sub, ignore_errors=True)
        (site / sub).mkdir(parents=True)
    copies, reused = [], 0
    for page in all_pages:
        nb, cached = executed(page, root)
        reused += cached
        nb = decorate(nb, page, all_pages)
        target = site / page.folder / f"{page.name}.ipynb"
        nbformat.write(nb, target)
        copies.append(target)
        for extra in page.workdir.iterdir():  # files the notebook reads next to it, if any
            if page.kind != "lecture" and extra.suffix not in (".ipynb", ".py") and extra.is_file():
                shutil.copy(extra, site / page.folder / extra.name)
    (site / "_generated" / "contents.md").write_text(toctree(all_pages))
    return copies, reused


def main(root: Path, out: Path, *, solutions: bool = True) -> int:
    site = root / "site"
    copies, reused = stage(root, site, solutions=solutions)
    print(f"{len(copies)} pages, {reused} of them from notebooks already executed", flush=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-E", str(site), str(out)]
    print("$", " ".join(cmd[2:]), flush=True)
    result = subprocess.run(cmd, cwd=root, env={**os.environ, **THREADS})
    if result.returncode == 0:
        print(f"site written to {out / 'index.html'}")
    return result.returncode
