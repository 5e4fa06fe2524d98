"""BertViz's head view and model view, drawn with no network.

BertViz (Vig, 2019; the ``bertviz`` package) renders its interactive views with D3 and
jQuery that RequireJS loads from a CDN, so offline (and on a website without those hosts)
the views stay blank. :func:`head_view` and :func:`model_view` call BertViz with
``html_action="return"``, drop the CDN addresses and inline the three libraries, pinned and
shipped in ``xaikit/vendor/`` (see its README for versions, licences and checksums). The view
is a complete HTML document inside an ``<iframe srcdoc=...>``: it cannot clash with the
scripts of the page around it (JupyterLab, Colab, nbconvert's and Sphinx's pages) and it
works the same everywhere. The frame grows to the height of the view when the page allows
it, and has a height estimated from the number of tokens otherwise.

Both functions return an :class:`AttentionView`, which a notebook displays when it is the
last expression of a cell (or with ``IPython.display.display``); ``view.save("view.html")``
writes a standalone page. Defined in week 7.
"""

from __future__ import annotations

import functools
import html
import re
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["AttentionView", "head_view", "model_view"]

_CDN_SCRIPT = re.compile(r'<script src="https://[^"]*require[^"]*"></script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", flags=re.S)
# After the inlined libraries: hand the globals to RequireJS under the names BertViz asks for.
_DEFINE = "define('d3', [], function () { return window.d3; });\ndefine('jquery', [], function () { return window.jQuery; });"
# Let the frame take the height of its content where the browser allows it (same origin).
_FIT = """(function () {
  function fit() {
    var frame = null;
    try { frame = window.frameElement; } catch (e) { return; }
    if (frame) { frame.style.height = Math.ceil(document.body.getBoundingClientRect().bottom + 30) + 'px'; }
  }
  window.addEventListener('load', fit);
  if (window.ResizeObserver) { new ResizeObserver(fit).observe(document.body); }
  setTimeout(fit, 300);
})();"""


@functools.lru_cache(maxsize=None)
def _vendored(name: str) -> str:
    return (resources.files("xaikit") / "vendor" / name).read_text(encoding="utf-8")


class AttentionView:
    """A self-contained BertViz view: displays itself in a notebook, saves as a standalone page.

    Attributes
    ----------
    kind : str
        ``"head"`` or ``"model"``.
    document : str
        The complete HTML document (BertViz's view with D3, jQuery and RequireJS inlined).
    html : str
        What the notebook shows: the document in an ``<iframe srcdoc=...>``.
    """

    def __init__(self, kind: str, document: str, height: int):
        self.kind = kind
        self.document = document
        self.height = int(height)
        self.html = (f'<div class="xaikit-bertviz xaikit-bertviz-{kind}">'
                     f'<iframe title="BertViz {kind} view" srcdoc="{html.escape(document, quote=True)}" '
                     f'style="width: 100%; min-width: 640px; border: 0;" height="{self.height}"></iframe></div>')

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<BertViz {self.kind} view (drawn offline; display it in a notebook or save it as HTML)>"

    def save(self, path) -> Path:
        """Write the view as a standalone HTML page (opens in any browser, offline)."""
        path = Path(path)
        path.write_text(self.document, encoding="utf-8")
        return path


def _as_layers(attention):
    """Attention in BertViz's format: a tuple with one tensor (1, heads, T, T) per layer."""
    import torch

    if isinstance(attention, (list, tuple)):
        if not attention:
            raise ValueError("attention is empty: pass one tensor per layer, as model(..., output_attentions=True) returns.")
        layers = [torch.as_tensor(np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a), dtype=torch.float32)
                  for a in attention]
        layers = [a[None] if a.dim() == 3 else a for a in layers]
    else:
        array = attention.detach().cpu() if isinstance(attention, torch.Tensor) else attention
        array = torch.as_tensor(np.asarray(array), dtype=torch.float32)
        if array.dim() == 4:  # (layers, heads, T, T)
            array = array[:, None]
        if array.dim() != 5:
            raise ValueError(f"attention should have shape (layers, heads, tokens, tokens); got {tuple(array.shape)}.")
        layers = list(array)
    for a in layers:
        if a.dim() != 4 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"each layer's attention should have shape (1, heads, tokens, tokens); got {tuple(a.shape)}.")
        if a.shape[0] != 1:
            raise ValueError(f"BertViz shows one sentence, but the attention holds a batch of {a.shape[0]}: "
                             "pass one sentence, e.g. [a[i:i + 1] for a in outputs.attentions].")
    return tuple(layers)


def _check_tokens(layers, tokens) -> list[str]:
    tokens = [str(t) for t in tokens]
    if len(tokens) != layers[0].shape[-1]:
        raise ValueError(f"the attention covers {layers[0].shape[-1]} tokens but {len(tokens)} tokens were given; "
                         "drop the padding from the attention (or add the missing tokens).")
    return tokens


def _document(bertviz_html: str, title: str, background: str) -> str:
    body, n = _CDN_SCRIPT.subn("", bertviz_html)
    body, m = _REQUIRE_CONFIG.subn("", body)
    if n != 1 or m != 1:  # a BertViz release with another template: fail loudly rather than draw nothing
        raise RuntimeError("BertViz's HTML has changed: the CDN script or the require.config block was not found.")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        f"<style>body {{ margin: 4px; background: {background}; }}</style>\n"
        f"<script>{_vendored('d3.min.js')}</script>\n"
        f"<script>{_vendored('jquery.min.js')}</script>\n"
        f"<script>{_vendored('require.js')}</script>\n"
        f"<script>{_DEFINE}</script>\n"
        f"</head><body>\n{body}\n<script>{_FIT}</script>\n</body></html>\n"
    )


def head_view(attention, tokens, *, layer: int | None = None, heads=None, include_layers=None,
              sentence_b_start: int | None = None) -> AttentionView:
    """BertViz's head view of one sentence, drawn offline.

    Lines connect each token (left) with the tokens it attends to (right); their opacity is the
    attention weight. Pick a layer in the menu; click a head's colour to show or hide it,
    hover over a token to see only its attention.

    Parameters
    ----------
    attention : tuple of tensors (1, heads, T, T), one per layer (``outputs.attentions`` of a
        model called with ``output_attentions=True`` on one sentence), or an array or tensor of
        shape (layers, heads, T, T).
    tokens : list of str, the T tokens.
    layer : int, optional
        Layer shown first (default 0).
    heads : list of int, optional
        Heads shown first (default all).
    include_layers : list of int, optional
        Only these layers.
    sentence_b_start : int, optional
        Index of the first token of a second sentence (adds a menu of sentence pairs).

    Returns
    -------
    AttentionView
    """
    from bertviz import head_view as bertviz_head_view

    layers = _as_layers(attention)
    tokens = _check_tokens(layers, tokens)
    view = bertviz_head_view(layers, tokens, layer=layer, heads=heads, include_layers=include_layers,
                             sentence_b_start=sentence_b_start, html_action="return")
    height = int(110 + 22.5 * len(tokens))
    return AttentionView("head", _document(view.data, "BertViz head view", "white"), height)


def model_view(attention, tokens, *, include_layers=None, include_heads=None, display_mode: str = "light",
               sentence_b_start: int | None = None) -> AttentionView:
    """BertViz's model view of one sentence (every layer and head at a glance), drawn offline.

    One thumbnail per layer (rows) and head (columns); click a thumbnail to enlarge it.

    Parameters
    ----------
    attention, tokens : as for :func:`head_view`.
    include_layers, include_heads : list of int, optional
        Only these layers / heads.
    display_mode : {"light", "dark"}

    Returns
    -------
    AttentionView
    """
    from bertviz import model_view as bertviz_model_view

    if display_mode not in ("light", "dark"):
        raise ValueError(f"display_mode must be 'light' or 'dark', got {display_mode!r}.")
    layers = _as_layers(attention)
    tokens = _check_tokens(layers, tokens)
    view = bertviz_model_view(layers, tokens, include_layers=include_layers, include_heads=include_heads,
                              display_mode=display_mode, sentence_b_start=sentence_b_start, html_action="return")
    n_layers = len(include_layers) if include_layers else len(layers)
    n_heads = len(include_heads) if include_heads else layers[0].shape[1]
    box = 7 * 12 / n_heads
    height = int(max(n_layers * (len(tokens) * box + 10), len(tokens) * 18 + 55) + 80)
    return AttentionView("model", _document(view.data, "BertViz model view", "white" if display_mode == "light" else "black"),
                         height)
