"""The grading machinery without nbgrader: hidden-test declarations, the sandbox, the worker, collection."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import torch

from xaigrader import build, remote, verdicts, worker
from xaigrader.collect import check_downloads
from xaigrader.sandbox import Sandbox, bwrap_works


def _test_cells(src):
    nb = build.build_notebook(src)
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("src", build.lab_sources(), ids=lambda s: s.name)
def test_every_test_cell_declares_one_existing_hidden_test(src):
    import importlib

    cells = _test_cells(src)
    assert cells
    for cell in cells:
        test = verdicts.hidden_test(cell.source)
        assert test is not None, f"{cell.metadata.nbgrader.grade_id}: no `weekNN.check(obj)` hidden line"
        module = importlib.import_module(f"xaigrader.{test.module}")
        assert callable(getattr(module, test.check)), test
        answers = [c.source for c in build.build_notebook(src).cells
                   if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
        assert any(f"def {test.obj}(" in a or f"class {test.obj}" in a for a in answers), \
            f"{test.obj} is not defined in an answer cell"
        budgets = getattr(module, "BUDGET_S", {})
        assert all(isinstance(v, (int, float)) and v > 0 for v in budgets.values())


def test_hidden_test_parsing():
    source = "check.f(f)\n### BEGIN HIDDEN TESTS\nfrom xaigrader import week02\nweek02.ale_1d(my_ale)\n### END HIDDEN TESTS"
    assert verdicts.hidden_test(source) == verdicts.HiddenTest("week02", "ale_1d", "my_ale")
    assert verdicts.hidden_test("check.f(f)") is None
    two = source.replace("week02.ale_1d(my_ale)", "week02.a(x)\nweek02.b(y)")
    assert verdicts.hidden_test(two) is None  # one hidden test per cell


def test_plain_data_round_trip():
    import pandas as pd

    value = {"a": [1, 2.5, float("nan"), None, True, "x", 2**80], "b": (np.arange(6, dtype=np.float32).reshape(2, 3),
             np.array(["u", "v"]), np.int64(3)), "t": torch.ones(2, requires_grad=True),
             "s": pd.Series([1.0, 2.0], index=["p", "q"], name="n"), "f": pd.DataFrame({"c": [1, 2]}),
             "o": np.array([1, "two"], dtype=object), 3: complex(1, 2)}
    encoder = worker.Encoder(refs=None)
    back = worker.decode(encoder.encode(value), encoder.blobs)
    assert back["a"][:2] == [1, 2.5] and np.isnan(back["a"][2]) and back["a"][3:] == [None, True, "x", 2**80]
    assert back["b"][0].dtype == np.float32 and np.array_equal(back["b"][0], value["b"][0])
    assert list(back["b"][1]) == ["u", "v"] and back["b"][2] == 3 and back[3] == complex(1, 2)
    assert isinstance(back["t"], torch.Tensor) and back["t"].requires_grad
    assert back["s"].equals(value["s"]) and back["f"].equals(value["f"]) and list(back["o"]) == [1, "two"]


def test_numpy_scalars_and_shapes_come_back_as_they_were():
    """A threshold read from a tree is a np.float64; it must not come back as a 1-element array."""
    value = [np.float64(5.5), np.int64(2), np.bool_(True), np.float32(0.25), np.array(7.0),
             np.array([["small", 1], ["big", 2]], dtype=object), np.array("x", dtype=object)]
    encoder = worker.Encoder(refs=None)
    back = worker.decode(encoder.encode(value), encoder.blobs)
    for got, sent in zip(back, value):
        assert type(got) is type(sent) and np.shape(got) == np.shape(sent), (got, sent)
    assert back[0] == 5.5 and back[3].dtype == np.float32 and back[5][1, 0] == "big" and back[6][()] == "x"


def test_unknown_objects_become_references_never_pickles():
    class Sneaky:
        def __reduce__(self):  # would run on unpickling
            raise AssertionError("never unpickled")

    refs = {}
    encoder = worker.Encoder(refs)
    tree = encoder.encode([Sneaky(), np.zeros(2)])
    assert tree["v"][0]["t"] == "ref" and isinstance(refs[0], Sneaky)
    with pytest.raises(worker.ProtocolError):
        worker.decode(tree, encoder.blobs)  # no reference factory: the grader refuses it
    with pytest.raises(worker.ProtocolError):
        worker.decode({"t": "nd", "dtype": "|O", "shape": [1], "b": 0}, [b"\0" * 8])


def test_shared_objects_report_in_place_changes():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()).eval()
    before = worker.fingerprint(model)
    model.train()
    assert worker.fingerprint(model) != before
    other = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()).eval()
    worker.apply_snapshot(other, worker.snapshot(model))
    assert other.training and torch.equal(other[0].weight, model[0].weight)
    x = torch.zeros(3)
    y = torch.ones(3, requires_grad=True)
    y.grad = torch.full((3,), 2.0)
    worker.apply_snapshot(x, worker.snapshot(y))
    assert x.requires_grad and torch.equal(x.grad, y.grad) and torch.equal(x.detach(), torch.ones(3))


def test_arrays_of_strings_have_fingerprints_of_their_values():
    """Lab 1 hands object arrays (categories as strings) and pandas frames of strings to the student."""
    words = np.array([["small", "low"], ["big", "high"]], dtype=object)
    before = worker.fingerprint(words)
    assert worker.fingerprint(words.copy()) == before  # values, not the addresses of the strings
    words[1, 1] = "medium"
    assert worker.fingerprint(words) != before
    frame = pd.DataFrame({"Size": ["small", "big"], "Price": [1.0, 2.0]})
    before = worker.fingerprint(frame)
    assert worker.fingerprint(frame.copy(deep=True)) == before
    frame.loc[0, "Size"] = "medium"
    assert worker.fingerprint(frame) != before


@pytest.fixture(scope="module")
def handin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handin")

    def add(name, obj):
        (folder / f"{name}.pkl").write_bytes(cloudpickle.dumps(obj))
        return folder / f"{name}.pkl"

    return folder, add


def test_worker_runs_handed_in_code_with_identity_budgets_and_blocks(handin):
    folder, add = handin

    def scale(X, k=2):
        X[0, 0] = -1.0  # modifies its input in place
        return X * k

    class Explainer:
        def __init__(self, model):
            self.model = model

        def attribute(self, x):
            self.model.train()
            x.requires_grad_(True)
            self.model(x).sum().backward()
            return x.grad

    class LayerProbe:  # like Grad-CAM: a hook on a layer, then the whole model
        def __init__(self, model, layer):
            self.model, self.layer = model, layer

        def attribute(self, x):
            seen = []
            handle = self.layer.register_forward_hook(lambda m, i, o: seen.append(o.shape))
            self.model(x)
            handle.remove()
            return [list(s) for s in seen]

    def forever(x):
        while True:
            pass

    def forbidden(x):
        import sklearn.inspection  # noqa: F401

    def not_yet(x):
        raise NotImplementedError()

    paths = {n: add(n, f) for n, f in dict(scale=scale, explainer=Explainer, forever=forever, probe=LayerProbe,
                                            forbidden=forbidden, not_yet=not_yet).items()}
    Sandbox().prepare(folder)  # readable by the sandbox's user
    with remote.Worker(Sandbox(), readable=[folder], preload=("numpy", "torch"),
                       forbidden=("sklearn.inspection",)) as w:
        X = np.ones((2, 2))
        with w.session(paths["scale"], budget=30) as f:
            assert np.array_equal(f(X, k=3), [[-3, 3], [3, 3]]) and X[0, 0] == -1.0
        model = torch.nn.Sequential(torch.nn.Linear(3, 1)).eval()
        x = torch.ones(2, 3)
        with w.session(paths["explainer"], budget=30) as cls:
            explainer = cls(model)
            first = explainer.attribute(x)
            second = explainer.attribute(x)  # the same tensor again: its gradient accumulates
            assert model.training and x.requires_grad
            assert torch.allclose(second, 2 * first)
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        with w.session(paths["probe"], budget=30) as cls:  # the layer given stays part of the model
            assert cls(net[1:], net[1]).attribute(torch.ones(1, 4)) == [[1, 4]]
            assert cls(net, net[1]).attribute(torch.ones(2, 3)) == [[2, 4]]
        with pytest.raises(remote.RemoteTimeout), w.session(paths["forever"], budget=2) as f:
            f(1)
        with pytest.raises(remote.ForbiddenImport), w.session(paths["forbidden"], budget=30) as f:
            f(1)
        with pytest.raises(NotImplementedError), w.session(paths["not_yet"], budget=30) as f:
            f(1)
        with w.session(paths["scale"], budget=30) as f:  # a fresh worker after the timeout
            assert f(np.zeros((1, 1)))[0, 0] == -2.0


def test_sandbox_confines_a_process(tmp_path):
    ok, why = bwrap_works()
    if not ok:
        pytest.skip(f"no sandbox here: {why}")
    import subprocess
    import sys

    box = Sandbox()
    box.prepare(tmp_path)
    probe = f'''
import os, socket
out = []
out.append(os.path.exists("{build.ROOT / 'grader'}"))
try:
    open("{build.ROOT / 'xaikit' / 'x'}", "w"); out.append("wrote")
except OSError: out.append("ro")
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1); out.append("net")
except OSError: out.append("nonet")
open("{tmp_path}/ok", "w").write("1")
out.append(os.getuid() != 0)
print(out)
'''
    proc = subprocess.run(box.wrap([sys.executable, "-c", probe], writable=[tmp_path]), capture_output=True, text=True)
    assert proc.stdout.strip() == "[False, 'ro', 'nonet', True]", proc.stderr
    box.release(tmp_path)
    assert (tmp_path / "ok").exists()


def test_collection_lists_what_it_skips(tmp_path):
    lab = "lab02_global_methods"
    archive = tmp_path / "downloaded" / lab / "archive"
    archive.mkdir(parents=True)
    (archive / f"s1_{lab}.ipynb").write_text("{}")
    (archive / f"s2_{lab}.ipynb").write_text("{}")
    with zipfile.ZipFile(archive / "s2.zip", "w") as zf:
        zf.writestr(f"s2_{lab}.ipynb", '{"other": 1}')
    with zipfile.ZipFile(archive / "evil.zip", "w") as zf:
        zf.writestr(f"../../s3_{lab}.ipynb", "{}")
    (archive / "notes.ipynb").write_text("{}")
    (archive / "bad.zip").write_bytes(b"PK junk")
    found = check_downloads(tmp_path, lab, r"[A-Za-z0-9.\-]+")
    assert set(found.accepted) == {"s1"}
    reasons = dict(found.skipped)
    assert "unsafe member" in reasons["evil.zip"] and "not a readable zip" in reasons["bad.zip"]
    assert "different uploads" in reasons[f"s2_{lab}.ipynb"] and "not named" in reasons["notes.ipynb"]
    assert not (tmp_path / f"s3_{lab}.ipynb").exists() and not Path(tmp_path.parent / f"s3_{lab}.ipynb").exists()
    roster = check_downloads(tmp_path, lab, r"[A-Za-z0-9.\-]+", roster={"s9"})
    assert not roster.accepted and "class list" in dict(roster.skipped)[f"s1_{lab}.ipynb"]
