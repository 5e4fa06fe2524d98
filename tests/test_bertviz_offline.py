"""BertViz views drawn offline: the vendored JavaScript, the HTML document, and (slow) headless Chromium."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import re
import threading
from importlib import resources
from urllib.parse import urlparse

import numpy as np
import pytest
import torch
from browser import bertviz_views, chromium

from xaikit.bertviz_offline import AttentionView, head_view, model_view
from xaikit.text_models import load_minilm

VENDOR = resources.files("xaikit") / "vendor"


def _attention(t: int = 6, layers: int = 2, heads: int = 3, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    a = rng.random((layers, 1, heads, t, t))
    return tuple(torch.from_numpy(a / a.sum(-1, keepdims=True)).float())


TOKENS = ["[CLS]", "the", "film", "was", "great", "[SEP]"]


def test_vendored_files_match_the_checksums_and_licences_in_their_readme():
    readme = (VENDOR / "README.md").read_text()
    rows = re.findall(r"^\| `([\w.]+\.js)` \| `([\w@.]+)` \|.*\| `([0-9a-f]{64})` \|$", readme, flags=re.M)
    assert {name for name, _, _ in rows} == {"require.js", "d3.min.js", "jquery.min.js"}
    for name, package, digest in rows:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    for licence in ("LICENSE-requirejs.txt", "LICENSE-d3.txt", "LICENSE-jquery.txt"):
        assert (VENDOR / licence).is_file()
    assert "RequireJS 2.3.6" in (VENDOR / "require.js").read_text()
    assert "d3js.org v5.7.0" in (VENDOR / "d3.min.js").read_text()
    assert "jQuery v2.1.0" in (VENDOR / "jquery.min.js").read_text()


@pytest.mark.parametrize("make", [head_view, model_view])
def test_views_are_self_contained_documents(make, tmp_path):
    view = make(_attention(), TOKENS)
    assert isinstance(view, AttentionView)
    document = view.document
    assert not re.search(r"""(src|href)=["']?https?://""", document), "the view loads something from the internet"
    assert not re.search(r"require\.config\(\{\s*paths", document) and "cdnjs" not in document
    for marker in ("RequireJS 2.3.6", "d3js.org v5.7.0", "jQuery v2.1.0", "define('d3'", "define('jquery'"):
        assert marker in document
    assert view._repr_html_().startswith('<div class="xaikit-bertviz') and "<iframe" in view.html
    assert "srcdoc=" in view.html and view.height > 100
    page = view.save(tmp_path / "view.html")
    assert page.read_text() == document


def test_views_accept_one_array_for_all_layers_and_reject_bad_input():
    stacked = np.concatenate([a.numpy() for a in _attention()])  # (layers, heads, T, T)
    assert "d3js.org" in head_view(stacked, TOKENS).document
    assert "d3js.org" in model_view(torch.from_numpy(stacked), TOKENS, display_mode="dark").document
    batch = tuple(torch.cat([a, a]) for a in _attention())
    with pytest.raises(ValueError, match="one sentence"):
        head_view(batch, TOKENS)
    with pytest.raises(ValueError, match="tokens were given"):
        head_view(_attention(), TOKENS[:-1])
    with pytest.raises(ValueError, match="shape"):
        model_view(np.zeros((3, 4)), TOKENS)
    with pytest.raises(ValueError, match="display_mode"):
        model_view(_attention(), TOKENS, display_mode="blue")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """A page with MiniLM's head view and model view (as a notebook shows them), and a control page
    with BertViz's own output, which loads its scripts from a CDN."""
    from bertviz import head_view as cdn_head_view

    tokenizer, model = load_minilm()
    enc = tokenizer("the old film was wonderful", return_tensors="pt")
    with torch.no_grad():
        attention = model(**enc, output_attentions=True).attentions
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    folder = tmp_path_factory.mktemp("bertviz")
    views = head_view(attention, tokens, layer=1)._repr_html_() + model_view(attention, tokens)._repr_html_()
    (folder / "views.html").write_text(f"<html><body><h1>Views</h1>{views}</body></html>")
    control = cdn_head_view(attention, tokens, html_action="return").data
    (folder / "control.html").write_text(f'<html><body><h1>Control</h1><div class="xaikit-bertviz xaikit-bertviz-head">'
                                         f"<iframe srcdoc='{control.replace(chr(39), '&#39;')}'></iframe></div></body></html>")
    return folder


@pytest.fixture(scope="module")
def server(pages):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(pages)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _remote_requests(driver) -> set[str]:
    hosts = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if url.startswith("http") and urlparse(url).hostname != "127.0.0.1":
                hosts.add(urlparse(url).hostname)
    return hosts


@pytest.mark.slow
def test_head_and_model_view_draw_in_chromium_without_network(server):
    with chromium(offline=True) as driver:
        driver.get(f"{server}/views.html")
        views = bertviz_views(driver)
        assert set(views) == {"head", "model"}
        for kind, svgs in views.items():
            assert any(w > 100 and h > 50 and n > 20 for w, h, n in svgs), f"the {kind} view drew nothing: {svgs}"
        assert not _remote_requests(driver)
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
        assert not errors


@pytest.mark.slow
def test_bertviz_own_output_draws_nothing_offline(server):
    """The control: without the inlined scripts BertViz needs the CDN, so the check above can fail."""
    with chromium(offline=True) as driver:
        driver.get(f"{server}/control.html")
        views = bertviz_views(driver, timeout=5)
        assert views == {"head": []}
        assert "cdnjs.cloudflare.com" in _remote_requests(driver)
