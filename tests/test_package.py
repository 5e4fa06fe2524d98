"""The helper installs like it does on Colab: a wheel that carries its data and weights."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest


@pytest.fixture(scope="module")
def wheel(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    str(root), "-w", str(out)], check=True)
    return next(out.glob("xai_course-*.whl"))


def test_wheel_holds_the_package_and_its_data_but_no_grader(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "xaikit/datasets/bike/bikeshare_hourly_2011.csv" in names
    # week 7: the sentiment head and the JavaScript that lets BertViz draw offline
    for shipped in ("weights/minilm_sentiment_head.pt", "vendor/require.js", "vendor/d3.min.js", "vendor/jquery.min.js",
                    "vendor/README.md", "vendor/LICENSE-d3.txt"):
        assert f"xaikit/{shipped}" in names, shipped
    assert not [n for n in names if n.startswith(("xaigrader", "grader/", "solutions/", "tests/"))]


def test_installed_wheel_loads_the_data_without_the_repository(wheel, tmp_path):
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); import xaikit; "
            "assert xaikit.__file__.startswith(sys.path[0]), xaikit.__file__; "
            "assert str(xaikit.dataset_path('bike', 'bikeshare_hourly_2011.csv')).startswith(sys.path[0]); "
            "print(xaikit.load_bike_hourly().data.shape)")
    result = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(8645, 11)"
