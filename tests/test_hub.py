"""Smoke test of a JupyterHub on this machine (deploy/local-hub/jupyterhub_config.py).

The hub (JupyterHub from PyPI, a shared-password authenticator, loopback only, its proxy
configurable-http-proxy from npm in deploy/local-hub/node_modules, which .ci/run installs)
starts; a student's single-user server spawns through the hub's REST API; through the
proxy, the student's JupyterLab carries nbgrader's assignment list, which lists and fetches
a lab from the exchange; a kernel of the server runs the course environment (xaikit,
offline, one thread); then the hub stops and takes the server, its kernel and the proxy
with it.

With ``XAI_HUB_NGSHARE`` set (see deploy/local-hub/jupyterhub_config.py: ngshare and its
client cannot be dev dependencies), a second test walks an instructor and a student through
the exchange of the Kubernetes deployment, ngshare as a hub service.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub")]

ROOT = Path(__file__).resolve().parents[1]
LOCAL_HUB = ROOT / "deploy" / "local-hub"
PROXY = LOCAL_HUB / "node_modules" / ".bin" / "configurable-http-proxy"
STUDENT = "ada"
LAB = "lab00_probe"


def _free_ports(n: int) -> int:
    """A port p with p, p+1, p+2 free on the loopback interface."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n >= 65535:
            continue
        try:
            for k in range(n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + k))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


class Hub:
    def __init__(self, state: Path, **env: str):
        import requests

        self.requests = requests
        self.port = _free_ports(3)
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(16)
        self.state = state
        env = {**os.environ, "XAI_HUB_DIR": str(state), "XAI_HUB_PORT": str(self.port),
               "XAI_HUB_STUDENTS": STUDENT, "XAI_HUB_INSTRUCTORS": "grace", "XAI_HUB_TOKEN": self.token,
               "XAI_HUB_PASSWORD": secrets.token_urlsafe(12), **env}
        self.log = open(state / "hub.log", "w")
        jupyterhub = Path(sys.executable).with_name("jupyterhub")
        self.proc = subprocess.Popen([str(jupyterhub), "-f", str(LOCAL_HUB / "jupyterhub_config.py")],
                                     cwd=state, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, method: str, path: str, **kwargs):
        return self.requests.request(method, f"{self.url}/hub/api{path}", timeout=30,
                                     headers={"Authorization": f"token {self.token}"}, **kwargs)

    def post(self, path: str, **kwargs):
        return self.requests.post(f"{self.url}{path}", timeout=300, headers={"Authorization": f"token {self.token}"},
                                  **kwargs)

    def get(self, path: str, **kwargs):
        return self.requests.get(f"{self.url}{path}", timeout=60, headers={"Authorization": f"token {self.token}"},
                                 **kwargs)

    def wait(self, check, what: str, timeout: float = 300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the hub exited while waiting for {what}:\n{self.tail()}"
            try:
                if check():
                    return
            except self.requests.ConnectionError:
                pass
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return (self.state / "hub.log").read_text()[-4000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def _execute(hub: Hub, kernel_id: str, code: str) -> str:
    """Run ``code`` in a kernel of the student's server over its websocket; its stdout."""
    from tornado.httpclient import HTTPRequest
    from tornado.ioloop import IOLoop
    from tornado.websocket import websocket_connect

    async def run() -> str:
        url = f"ws://127.0.0.1:{hub.port}/user/{STUDENT}/api/kernels/{kernel_id}/channels"
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.token}"}))
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": STUDENT, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        out = []
        while True:
            msg = json.loads(await ws.read_message())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                ws.close()
                return "".join(out)

    return IOLoop.current().run_sync(run, timeout=300)


def test_a_student_server_spawns_with_the_course_and_stops_cleanly(tmp_path):
    if not PROXY.exists():
        message = "configurable-http-proxy is not installed: npm ci --prefix deploy/local-hub (.ci/run does it)"
        pytest.fail(message) if os.environ.get("XAI_REQUIRE_SERVICES") else pytest.skip(message)
    import psutil

    state = tmp_path / "hub"
    state.mkdir()
    # A released lab in the exchange, laid out as `nbgrader release_assignment` leaves it.
    released = state / "exchange" / "xai-course" / "outbound" / LAB
    released.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import xaikit")]),
                   released / f"{LAB}.ipynb")

    hub = Hub(state, XAI_HUB_NGSHARE="")  # the folder exchange, even where ngshare is set up
    children: list = []
    try:
        hub.wait(lambda: hub.api("GET", "/").status_code == 200, "the hub")
        groups = {g["name"]: g["users"] for g in hub.api("GET", "/groups").json()}
        assert groups == {"students": [STUDENT], "instructors": ["grace"]}

        assert hub.api("POST", f"/users/{STUDENT}/server").status_code in (201, 202)
        hub.wait(lambda: hub.api("GET", f"/users/{STUDENT}").json()["servers"].get("", {}).get("ready"),
                 "the student's server")
        base = f"/user/{STUDENT}"
        assert hub.get(f"{base}/api/status").status_code == 200

        # JupyterLab with nbgrader's assignment list (its lab extension and its server extension),
        # in the students' view: nbgrader's instructor tools are off (grader/jupyter/student).
        lab = hub.get(f"{base}/lab")
        assert lab.status_code == 200 and "@jupyter/nbgrader" in lab.text
        page = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                    lab.text, re.S).group(1))
        assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(page["disabledExtensions"])
        assert not {"@jupyter/nbgrader:assignment-list"} & set(page["disabledExtensions"])
        assert hub.get(f"{base}/formgrader").status_code == 404
        listed = hub.get(f"{base}/assignments", params={"course_id": "xai-course"}).json()
        assert listed["success"], listed
        assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(LAB, "released")]
        fetch = hub.requests.post(f"{hub.url}{base}/assignments/fetch", timeout=120,
                                  headers={"Authorization": f"token {hub.token}"},
                                  data={"course_id": "xai-course", "assignment_id": LAB})
        assert fetch.json()["success"], fetch.text
        assert (state / "home" / STUDENT / LAB / f"{LAB}.ipynb").exists()

        # A kernel of the server runs the course environment, offline and with one thread.
        kernel = hub.requests.post(f"{hub.url}{base}/api/kernels", timeout=60, json={"name": "python3"},
                                   headers={"Authorization": f"token {hub.token}"}).json()
        out = _execute(hub, kernel["id"], "import os, sys, xaikit, nbgrader\n"
                       "print(sys.prefix, os.environ['HF_HUB_OFFLINE'], os.environ['OMP_NUM_THREADS'], "
                       "os.getcwd())")
        prefix, offline, threads, cwd = out.split()
        assert Path(prefix) == Path(sys.prefix) and (offline, threads) == ("1", "1")
        assert Path(cwd) == state / "home" / STUDENT

        children = psutil.Process(hub.proc.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in children)
        assert "configurable-http-proxy" in names and "jupyterhub-singleuser" in names and "ipykernel" in names
    finally:
        code = hub.stop()
    assert code == 0, hub.tail()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                                              for p in children):
        time.sleep(0.5)
    left = [" ".join(p.cmdline()) for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"still running after the hub stopped: {left}"
    for port in (hub.port, hub.port + 1, hub.port + 2):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    shutil.rmtree(state / "home", ignore_errors=True)


NGSHARE = os.environ.get("XAI_HUB_NGSHARE")


@pytest.mark.skipif(not NGSHARE, reason="opt-in: XAI_HUB_NGSHARE names ngshare's folder (deploy/local-hub/"
                    "jupyterhub_config.py says how to make it)")
def test_the_ngshare_exchange_from_release_to_feedback(tmp_path):
    import grading

    course = tmp_path / "course"
    grading.release(LAB, course, grading.PROBE)
    state = tmp_path / "hub"
    state.mkdir()
    hub = Hub(state, XAI_HUB_NGSHARE=NGSHARE)
    try:
        hub.wait(lambda: hub.api("GET", "/").status_code == 200, "the hub")
        hub.wait(lambda: hub.requests.get(f"{hub.url}/services/ngshare/healthz", timeout=10).ok, "ngshare")
        # The instructor, with her own token, as in her server's terminal.
        token = hub.api("POST", "/users/grace/tokens", json={"note": "instructor"}).json()["token"]
        config = tmp_path / "instructor-config"
        config.mkdir()
        (config / "nbgrader_config.py").write_text(
            "from ngshare_exchange import configureExchange\nc = get_config()\n"
            f"configureExchange(c, 'http://127.0.0.1:{hub.port + 3}/services/ngshare')\n"
            "c.CourseDirectory.course_id = 'xai-course'\n")
        env = {**os.environ, "JUPYTERHUB_API_TOKEN": token, "JUPYTERHUB_USER": "grace",
               "PYTHONPATH": str(Path(NGSHARE) / "client"), "JUPYTER_CONFIG_PATH": str(config),
               "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}

        def instructor(*argv: str) -> str:
            proc = subprocess.run(argv, cwd=course, env=env, capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"{argv[1:3]}: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
            return proc.stdout + proc.stderr

        manage = [sys.executable, str(Path(NGSHARE) / "client" / "bin" / "ngshare-course-management")]
        instructor(*manage, "create_course", "xai-course", "grace")
        instructor(*manage, "add_student", "xai-course", STUDENT)
        nbgrader = [sys.executable, "-m", "nbgrader"]
        course_args = [f"--CourseDirectory.root={course}", "--CourseDirectory.release_directory=labs",
                       f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"]
        instructor(*nbgrader, "release_assignment", LAB, *course_args)

        # The student, in JupyterLab's Assignments tab (its REST calls).
        assert hub.api("POST", f"/users/{STUDENT}/server").status_code in (201, 202)
        hub.wait(lambda: hub.api("GET", f"/users/{STUDENT}").json()["servers"].get("", {}).get("ready"),
                 "the student's server")
        base = f"/user/{STUDENT}/assignments"
        listed = hub.get(base, params={"course_id": "xai-course"}).json()
        assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(LAB, "released")], listed
        form = {"course_id": "xai-course", "assignment_id": LAB}
        assert hub.post(f"{base}/fetch", data=form).json()["success"]
        assert hub.post(f"{base}/submit", data=form).json()["success"]

        instructor(*nbgrader, "collect", LAB, *course_args)
        assert (course / "submitted" / STUDENT / LAB / f"{LAB}.ipynb").exists()
        grading.cli(course, "autograde", LAB)
        assert grading.read_scores(course, LAB)[0][STUDENT] == grading.PROBE_EXPECTED["blank"]
        grading.cli(course, "feedback", LAB)
        instructor(*nbgrader, "release_feedback", LAB, *course_args)
        assert hub.post(f"{base}/fetch_feedback", data=form).json()["success"]
        feedback = list((state / "home" / STUDENT / LAB / "feedback").glob(f"*/{LAB}.html"))
        assert len(feedback) == 1 and "is not written yet" in feedback[0].read_text()
    finally:
        code = hub.stop()
    assert code == 0, hub.tail()
