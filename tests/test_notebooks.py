"""Every lecture notebook runs top to bottom, offline, without an error.

(The lab notebooks are executed by the nbgrader round trip in test_nbgrader.py: the
autograded solution must run without any error.) Each executed lecture is kept in
.cache/executed/ (xaigrader.site), so the site build does not run it a second time.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from xaigrader import build, site

LECTURES = build.course_sources()

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("src", LECTURES, ids=[s.name for s in LECTURES])
def test_lecture_executes_without_error(src):
    nb = build.build_notebook(src)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(src.source.parent)}})
    client.execute()
    errors = [(c.id, o.ename, o.evalue) for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{src.name} raised: {errors}"
    figures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert figures, f"{src.name} shows no figure (is a non-inline matplotlib backend forced?)"
    stderr = [o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "stream" and o.name == "stderr" and "Warning" in o.text]
    assert not stderr, f"{src.name} printed warnings: {stderr}"
    site.store(site.site_form(nb, "lecture"))  # the site shows exactly this run
