"""deploy/: the Zero to JupyterHub configuration, the images and the Kubernetes manifests.

The chart's own schema (values.schema.json) ships only inside the Helm chart, which no
package registry reachable here carries. So the values are checked against the key names
of the chart 4.4.0 schema (tests/z2jh_4.4.0_keys.json: the chart's closed objects and
their keys, taken from its values.schema.yaml), and, where the chart itself is at hand
(``helm pull jupyterhub/jupyterhub --version 4.4.0 --untar`` and ``Z2JH_CHART=./jupyterhub``),
against its full schema, merged with the chart's defaults as ``helm install`` does.
The Python the values carry (hub.extraConfig) runs here against JupyterHub's own classes.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from xaigrader import cli

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
VALUES = DEPLOY / "jupyterhub" / "values.yaml"
KEYS = Path(__file__).resolve().parent / "z2jh_4.4.0_keys.json"


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def _manifest(name: str) -> dict:
    return yaml.safe_load((DEPLOY / "k8s" / name).read_text())


def _unknown_keys(value, skeleton, path="") -> list[str]:
    """Keys of ``value`` that the chart does not read (see tests/z2jh_4.4.0_keys.json)."""
    if not isinstance(value, dict) or skeleton is None:
        return []
    wrong = []
    for key, sub in value.items():
        if key in skeleton:
            wrong += _unknown_keys(sub, skeleton[key], f"{path}.{key}")
        elif "*" in skeleton:
            wrong += _unknown_keys(sub, skeleton["*"], f"{path}.{key}")
        else:
            wrong.append(f"{path}.{key}".lstrip("."))
    return wrong


def test_values_use_only_keys_the_chart_reads(values):
    skeleton = json.loads(KEYS.read_text())["keys"]
    assert _unknown_keys(values, skeleton) == []
    # the checker does catch a misspelt key
    assert _unknown_keys({"singleuser": {"memory": {"limt": "3G"}}}, skeleton) == ["singleuser.memory.limt"]


def test_values_types_the_chart_expects(values):
    su = values["singleuser"]
    assert isinstance(su["cpu"]["limit"], (int, float)) and isinstance(su["cpu"]["guarantee"], (int, float))
    assert re.fullmatch(r"\d+(\.\d+)?[KMGT]", su["memory"]["limit"]) and re.fullmatch(r"\d+[KMGT]", su["memory"]["guarantee"])
    assert su["cpu"]["guarantee"] <= su["cpu"]["limit"]
    assert all(isinstance(v, str) for v in su["extraEnv"].values()), "environment values must be strings"
    for entry in [*values["hub"]["extraFiles"].values(), *su["extraFiles"].values()]:
        assert "mountPath" in entry and sum(k in entry for k in ("data", "stringData", "binaryData")) == 1
    assert {"name", "tag"} <= set(su["image"]) and isinstance(su["image"]["tag"], str)


@pytest.mark.skipif(not os.environ.get("Z2JH_CHART"), reason="the chart (Z2JH_CHART=path of the untarred chart) "
                    "is not here: checked against its key names only")
def test_values_against_the_charts_schema(values):
    import jsonschema

    chart = Path(os.environ["Z2JH_CHART"])
    schema = json.loads((chart / "values.schema.json").read_text())
    merged = _merge(yaml.safe_load((chart / "values.yaml").read_text()), values)
    errors = [f"{'.'.join(map(str, e.path))}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(merged)]
    assert errors == []


def _merge(defaults: dict, override: dict) -> dict:
    out = copy.deepcopy(defaults)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# --- the Python in hub.extraConfig, run against JupyterHub's classes -----------------------------

class _Group:
    def __init__(self, name):
        self.name = name


def _hub_config(values: dict, roster: Path):
    """Run hub.extraConfig as the chart's jupyterhub_config.py does (sorted, one namespace)."""
    from traitlets.config import Config

    roster_path = values["hub"]["extraFiles"]["roster"]["mountPath"]
    c = Config()

    def get_config(key, default=None):  # the chart's helper: a dotted key of the values
        node = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    namespace = {"c": c, "get_config": get_config}
    for name, source in sorted(values["hub"]["extraConfig"].items()):
        assert roster_path in source or "ROSTER" not in source
        exec(compile(source.replace(roster_path, str(roster)), name, "exec"), namespace)
    return c


def test_roster_makes_the_groups_and_the_allowed_users(values, tmp_path):
    from jupyterhub.app import JupyterHub

    roster = tmp_path / "roster.csv"
    roster.write_text("username,role\nada,student\nalan,Student\ngrace,instructor\n")
    c = _hub_config(values, roster)
    hub = JupyterHub(config=c)  # JupyterHub validates the configuration it is given
    assert hub.load_groups == {"students": {"users": ["ada", "alan"]}, "instructors": {"users": ["grace"]}}
    assert c.Authenticator.allowed_users == {"ada", "alan", "grace"}
    # every group the roles name exists
    role_groups = {g for role in values["hub"]["loadRoles"].values() for g in role.get("groups", [])}
    assert role_groups <= set(hub.load_groups)

    roster.write_text("username,role\nmallory,admin\n")
    with pytest.raises(ValueError, match="student or instructor"):
        _hub_config(values, roster)


def test_instructors_get_the_grader_image_course_folder_and_gradebook(values, tmp_path):
    from jupyterhub.spawner import LocalProcessSpawner
    from traitlets import Dict, List, Unicode

    class KubeLike(LocalProcessSpawner):  # with the KubeSpawner traits the override touches
        image = Unicode()
        volumes = List()
        volume_mounts = List()
        extra_labels = Dict()

    roster = tmp_path / "roster.csv"
    roster.write_text("username,role\nada,student\ngrace,instructor\n")
    c = _hub_config(values, roster)
    overrides = c.KubeSpawner.group_overrides
    (override,) = [o for o in overrides.values() if "instructors" in o["groups"]]
    home = {"name": "home", "persistentVolumeClaim": {"claimName": "claim-grace"}}
    spawner = KubeLike(volumes=[home], volume_mounts=[{"name": "home", "mountPath": "/home/jovyan"}],
                       environment={"HF_HUB_OFFLINE": "1"}, mem_limit="3G", cpu_limit=2)
    spawner._apply_overrides(override["spawner_override"])
    xai = values["custom"]["xaiCourse"]
    assert spawner.image == f"{xai['graderImage']['name']}:{xai['graderImage']['tag']}"
    assert spawner.volumes[0] == home, "the home volume must stay"
    assert spawner.volumes[1]["persistentVolumeClaim"]["claimName"] == xai["coursePVC"]
    assert {"name": "xai-course", "mountPath": xai["courseMountPath"]} in spawner.volume_mounts
    assert spawner.environment["HF_HUB_OFFLINE"] == "1", "singleuser's environment must stay"
    assert spawner.environment["XAI_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == xai["gradebookSecret"]
    assert spawner.cpu_limit == xai["instructorCpu"] and spawner.mem_limit >= 8 * 1024**3
    assert spawner.extra_labels == {"xai-course/role": "instructor"}


def test_students_reach_the_exchange_and_nbgrader_uses_it(values):
    config = values["singleuser"]["extraFiles"]["nbgrader-config"]
    assert config["mountPath"] == "/etc/jupyter/nbgrader_config.py"
    tree = ast.parse(config["stringData"])
    calls = {n.func.id: n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    url = calls["configureExchange"].args[1].value
    service = values["hub"]["services"]["ngshare"]
    assert url == service["url"].rstrip("/") + "/services/ngshare"
    assert "course_id = \"xai-course\"" in config["stringData"]
    rule = values["singleuser"]["networkPolicy"]["egress"][0]
    assert rule["to"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "ngshare"}
    assert rule["ports"][0]["port"] == int(service["url"].rsplit(":", 1)[1])
    ngshare = yaml.safe_load((DEPLOY / "ngshare" / "values.yaml").read_text())
    assert ngshare["ngshare"]["hub_api_token"] == service["api_token"], "the hub and ngshare share one token"


# --- images and manifests --------------------------------------------------------------------------

def _stages(dockerfile: str) -> dict[str, str]:
    parts = re.split(r"^FROM .* AS (\w+)$", dockerfile, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_the_student_image_holds_no_solution_or_grader(root):
    stages = _stages((DEPLOY / "Dockerfile").read_text())
    copied = re.findall(r"^COPY (.+) \S+$", stages["student"], flags=re.M)
    sources = {s.rstrip("/") for line in copied for s in line.split()}
    hidden = ("grader/xaigrader", "solutions", "tests", "bench")
    assert not [s for s in sources if s in (".", "grader") or s.startswith(hidden)], sources
    assert {"xaikit", "datasets", "labs", "grader/jupyter/student"} <= sources
    assert "make venv" in stages["grader"] and "bubblewrap" in stages["grader"]


def test_the_images_pin_what_the_course_pins(root):
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    makefile = (root / "Makefile").read_text()
    torch = re.search(r"^TORCH := (.+)$", makefile, re.M).group(1)
    assert f'ARG TORCH="{torch}"' in dockerfile
    with open(root / "pyproject.toml", "rb") as fh:
        dev = tomllib.load(fh)["project"]["optional-dependencies"]["dev"]
    nbgrader = next(d for d in dev if d.startswith("nbgrader"))
    assert f'"{nbgrader}"' in dockerfile


def test_images_and_names_agree_across_files(values):
    xai = values["custom"]["xaiCourse"]
    grader = f"{xai['graderImage']['name']}:{xai['graderImage']['tag']}"
    assert values["prePuller"]["extraImages"]["grader"] == xai["graderImage"]
    job = _manifest("autograde-job.yaml")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == grader
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == xai["coursePVC"]
    assert _manifest("course-storage.yaml")["metadata"]["name"] == xai["coursePVC"]
    env = {e["name"]: e for e in container["env"]}
    assert env["XAI_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == xai["gradebookSecret"]
    assert env["XAI_SANDBOX"]["value"] == "required"
    policy = _manifest("gradebook-network-policy.yaml")
    label = policy["spec"]["podSelector"]["matchLabels"]
    assert label.items() <= job["spec"]["template"]["metadata"]["labels"].items()
    assert "xai-course/role: instructor" in yaml.safe_dump(values["hub"]["extraConfig"]) or \
        '"extra_labels": {"xai-course/role": "instructor"}' in values["hub"]["extraConfig"]["10-instructors.py"]


def test_the_autograde_job_runs_the_course_command(values):
    job = _manifest("autograde-job.yaml")
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] <= spec["completions"]
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["SHARDS"]) == spec["completions"], "one shard per completion index"
    script = container["args"][0]
    assert script.startswith("exec xai-course --root /srv/course autograde")
    # the shell's words, with the variables the pod has, are what xai-course accepts
    words = (script.replace('"$LAB"', env["LAB"]).replace('"$JOB_COMPLETION_INDEX/$SHARDS"', f"3/{env['SHARDS']}")
             .split()[2:])
    args = cli.build_parser().parse_args(words)
    assert (args.command, args.lab, args.shard, args.jobs) == ("autograde", env["LAB"], (3, int(env["SHARDS"])), 2)
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    limits = container["resources"]["limits"]
    assert float(limits["cpu"]) >= args.jobs, "one core per grading process"
