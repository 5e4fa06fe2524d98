"""Sphinx configuration of the course website (lectures and labs with executed outputs).

Built by `make site` (xai-course site), which first copies the built notebooks into
site/lectures/ and site/labs/. Everything the pages need is served locally: the theme's
assets, and MathJax (site/_ext/offline_mathjax.py).
"""

import sys
from pathlib import Path

from xaigrader.build import repository_url

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "Explainable AI — an open course"
author = "The XAI course engineers"
copyright = "2026, " + author

extensions = ["myst_nb", "offline_mathjax"]
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]

# Execute every notebook at build time; a lecture that raises fails the build.
# The lab pages are the student version: their exercise cells are meant to be unfinished,
# so those notebooks allow errors (set per notebook by the copy step).
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
suppress_warnings = ["misc.highlighting_failure"]  # one-line check messages are not Python tracebacks
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN; progress bars render as text
nb_merge_streams = True

html_theme = "sphinx_book_theme"
html_title = project
html_theme_options = {
    "repository_url": repository_url(),
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "path_to_docs": "site",
    "show_toc_level": 2,
}
html_last_updated_fmt = ""
html_context = {"default_mode": "light"}
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
