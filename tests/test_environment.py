"""environment.yml (for conda users) lists exactly the pip metadata's dependencies."""

from __future__ import annotations

import re
import tomllib

import yaml


def _requirements(root):
    with open(root / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    return project["dependencies"], project["optional-dependencies"]["dev"]


def _torch_pins(root):
    makefile = (root / "Makefile").read_text()
    return re.search(r"^TORCH := (.+)$", makefile, re.M).group(1).split()


def test_environment_yml_matches_pyproject(root):
    env = yaml.safe_load((root / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    runtime, dev = _requirements(root)
    expected = _torch_pins(root) + [r for r in runtime if not r.startswith(("torch>", "torchvision>"))] + dev
    assert [p for p in pip if not p.startswith("-e")] == expected
    assert {"-e .", "-e ./grader"} <= set(pip)
    with open(root / "pyproject.toml", "rb") as fh:
        requires_python = tomllib.load(fh)["project"]["requires-python"]
    python = next(d for d in conda if d.startswith("python"))
    assert python == "python=" + requires_python.removeprefix(">=")
