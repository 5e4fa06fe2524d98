"""Sphinx configuration of the course website (lectures and labs with executed outputs).

Built by `make site` (xai-course site, grader/xaigrader/site.py), which first writes the
executed notebooks into site/lectures/, site/labs/ and site/solutions/ and the contents into
site/_generated/. Everything the pages need is served locally: the theme's assets, MathJax
(site/_ext/offline_mathjax.py); progress bars are drawn from the saved widget state.
"""

import sys
from pathlib import Path

from xaigrader.build import repository_url

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "Explainable AI — an open course"
author = "The XAI course engineers"
copyright = "2026, " + author

extensions = ["myst_nb", "offline_mathjax"]
exclude_patterns = ["_build", "_ext", "_generated", "**.ipynb_checkpoints"]
myst_enable_extensions = ["dollarmath", "amsmath"]

# The notebooks arrive executed (by the test suite, or by the staging step of `make site`):
# Sphinx only renders them.
nb_execution_mode = "off"
suppress_warnings = ["misc.highlighting_failure"]  # one-line check messages are not Python tracebacks
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: the staging step draws the widgets as HTML
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
