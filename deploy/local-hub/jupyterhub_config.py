"""A JupyterHub on one machine: to try the course as students see it, and CI's smoke test.

    npm ci --prefix deploy/local-hub          # its proxy, configurable-http-proxy (once)
    XAI_HUB_PASSWORD=... .venv/bin/jupyterhub -f deploy/local-hub/jupyterhub_config.py

Loopback only (http://127.0.0.1:8000). Not for a real class: anyone who knows the shared
password logs in as any name on the class list (SharedPasswordAuthenticator), and every student's
server runs as the hub's own user (SimpleLocalProcessSpawner). A real class uses the
Kubernetes deployment of deploy/README.md. What it shares with that one: the groups
(students, instructors), the course environment (this Python's), nbgrader's assignment list
with an exchange (here a folder, there ngshare) and offline, one-thread servers.

Settings from the environment (all optional):
    XAI_HUB_DIR        state: hub database, cookie secret, homes, exchange (deploy/local-hub/state)
    XAI_HUB_PORT       the hub's port; the hub API and the proxy API use the next two
    XAI_HUB_STUDENTS, XAI_HUB_INSTRUCTORS   comma-separated user names (student1,student2 / instructor)
    XAI_HUB_PASSWORD   the shared password, 8 characters or more (none: a random one, no login)
    XAI_HUB_TOKEN      an API token for an admin service "course-admin" (scripts, tests)
    XAI_HUB_NGSHARE    the exchange as on the cluster: ngshare as a hub service instead of a folder.
                       A folder holding two pip --target installs (they cannot share the course's
                       environment: ngshare 0.6 needs SQLAlchemy 1.4, ngshare-exchange's metadata
                       pins an old jupyter_core):
        pip install --no-deps --target $XAI_HUB_NGSHARE/server ngshare==0.6.0 SQLAlchemy==1.4.54 alembic==1.13.3
        pip install --no-deps --target $XAI_HUB_NGSHARE/client ngshare-exchange==0.5.3
"""

import os
import secrets
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

HERE = Path(__file__).resolve().parent
STATE = Path(os.environ.get("XAI_HUB_DIR", HERE / "state")).resolve()
PORT = int(os.environ.get("XAI_HUB_PORT", "8000"))
EXCHANGE = STATE / "exchange"
for folder in (STATE, STATE / "home", EXCHANGE):
    folder.mkdir(parents=True, exist_ok=True)
EXCHANGE.chmod(0o777)  # nbgrader's exchange must be writable by everyone

c.JupyterHub.bind_url = f"http://127.0.0.1:{PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = PORT + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PORT + 2}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
# Stopping the hub stops every student's server and the proxy (nothing is left running).
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Who is who.
students = [u for u in os.environ.get("XAI_HUB_STUDENTS", "student1,student2").split(",") if u]
instructors = [u for u in os.environ.get("XAI_HUB_INSTRUCTORS", "instructor").split(",") if u]
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ.get("XAI_HUB_PASSWORD") or secrets.token_urlsafe(12)
c.Authenticator.allowed_users = set(students) | set(instructors)
c.JupyterHub.load_groups = {"students": {"users": students}, "instructors": {"users": instructors}}
services = []  # c.JupyterHub.services, set below
c.JupyterHub.services = services
if os.environ.get("XAI_HUB_TOKEN"):
    services.append({"name": "course-admin", "api_token": os.environ["XAI_HUB_TOKEN"]})
    c.JupyterHub.load_roles = [{
        "name": "course-admin",
        "description": "start and stop servers, and use them (scripts and tests)",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users", "read:users",
                   "list:groups", "read:groups", "tokens"],
        "services": ["course-admin"],
    }]

# Each student's server: this Python environment (the course's), a home of their own.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).with_name("jupyterhub-singleuser"))]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 300  # a busy 2-core machine starts JupyterLab slowly
c.Spawner.http_timeout = 300
c.Spawner.environment = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")]),
}
# JupyterLab as `make course` (students) and `make formgrader` (instructors) show it:
# grader/jupyter/README.md. Students have the assignment list, not nbgrader's instructor tools.
VIEWS = HERE.parent.parent / "grader" / "jupyter"
c.Spawner.environment["JUPYTER_CONFIG_PATH"] = str(VIEWS / "student")
c.Spawner.group_overrides = {
    "10-instructors": {"groups": ["instructors"],
                       "spawner_override": {"environment": {"JUPYTER_CONFIG_PATH": str(VIEWS / "instructor")}}},
}
if os.geteuid() == 0:  # CI runs as root; Jupyter refuses root without being told
    c.Spawner.args = ["--allow-root"]


# The exchange: a folder, or ngshare as a hub service (as deploy/jupyterhub/values.yaml has it).
NGSHARE = os.environ.get("XAI_HUB_NGSHARE")
NGSHARE_URL = f"http://127.0.0.1:{PORT + 3}"
if NGSHARE:
    services.append({
        "name": "ngshare",
        "url": NGSHARE_URL,
        "oauth_no_confirm": True,
        "command": [sys.executable, str(HERE / "ngshare_loopback.py"), "--admins", ",".join(instructors),
                    "--database", f"sqlite:///{STATE / 'ngshare.db'}", "--storage", f"{STATE / 'ngshare'}/"],
        "environment": {"PYTHONPATH": str(Path(NGSHARE) / "server")},
    })
    c.Spawner.environment["PYTHONPATH"] = str(Path(NGSHARE) / "client")
    EXCHANGE_CONFIG = ("from ngshare_exchange import configureExchange\n"
                       f"configureExchange(c, '{NGSHARE_URL}/services/ngshare')\n")
else:
    EXCHANGE_CONFIG = f"c.Exchange.root = {str(EXCHANGE)!r}\n"
NBGRADER_CONFIG = "c = get_config()\nc.CourseDirectory.course_id = 'xai-course'\n" + EXCHANGE_CONFIG


def nbgrader_config(spawner):
    """The student's nbgrader settings, as /etc/jupyter/nbgrader_config.py is on the cluster."""
    home = Path(spawner.home_dir)
    (home / ".jupyter").mkdir(parents=True, exist_ok=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(NBGRADER_CONFIG)


c.Spawner.pre_spawn_hook = nbgrader_config
