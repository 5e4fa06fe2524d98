"""The sandbox every piece of student code runs in while it is graded.

A submission's kernel (the notebook) and the worker that runs the student's functions for
the hidden tests are started through :meth:`Sandbox.wrap`, which returns a command line:

    setpriv --reuid=65534 ...     an unprivileged user (when the grader runs as root)
    prlimit --as=... --nproc=...  limits: memory, processes, file size, open files, CPU time
    bwrap ...                     Debian's bubblewrap: new user, pid, network, ipc, uts namespaces

Inside, the file system holds only what the code needs, read-only: the system directories,
the Python installation and its virtual environment, the course helper ``xaikit`` and its
data. The folders given as ``writable`` (the submission's own working folder and a private
exchange folder) are the only places it can write; ``/tmp`` is a private, size-limited
tmpfs. The gradebook, the other submissions, ``solutions/``, ``labs/`` and the grader
(``grader/``) are not there at all, there is no network (not even loopback), the process
sees no process outside its own pid namespace, and when the sandbox ends every process
started inside it ends too (``--die-with-parent`` plus the pid namespace).

Where bubblewrap is missing or cannot create namespaces (macOS, some containers), the
mode ``auto`` falls back to limits only and says so once in the log; ``required`` refuses
to grade. The verdicts never depend on the sandbox: they are decided outside the student's
processes in any case (see :mod:`xaigrader.remote`).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from xaikit.threads import THREAD_ENV

log = logging.getLogger("xaigrader.sandbox")

NOBODY = 65534
GiB = 1024**3
UID_BASE, UID_RANGE = 200_000, 100_000


def grading_uid() -> int:
    """An unprivileged user id of this grading process (no account has it)."""
    return UID_BASE + os.getpid() % UID_RANGE

# Environment variables a sandboxed process gets (nothing else of the grader's environment).
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "USER": "student",
    "LOGNAME": "student",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "XDG_CACHE_HOME": "/tmp/.cache",
    "MPLCONFIGDIR": "/tmp/.matplotlib",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "NO_PROXY": "*",
    **THREAD_ENV,
}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process tree (setrlimit, via util-linux ``prlimit``)."""

    memory_bytes: int = 6 * GiB  # address space: importing torch takes ~3.3 GB of it
    processes: int = 512  # threads count too (per user id)
    file_bytes: int = 256 * 1024**2  # largest file it may write
    open_files: int = 1024
    cpu_seconds: int | None = None  # CPU time of each process
    tmp_bytes: int = 512 * 1024**2  # size of the private /tmp


@dataclass
class Sandbox:
    """How student code is confined; see the module docstring.

    Parameters
    ----------
    mode : {"auto", "required", "off"}
        ``auto`` uses bubblewrap when it works here and falls back to limits only;
        ``required`` raises :class:`SandboxUnavailable` instead; ``off`` applies limits only.
        The environment variable ``XAI_SANDBOX`` overrides it.
    limits : Limits
    uid : int
        The unprivileged user the code runs as when the grader itself runs as root: by
        default one without an account, different for each grading process, so that
        process limits (counted per user) of one submission never starve another.
    """

    mode: str = "auto"
    limits: Limits = field(default_factory=Limits)
    uid: int = field(default_factory=lambda: grading_uid())

    def __post_init__(self) -> None:
        self.mode = os.environ.get("XAI_SANDBOX", self.mode)
        if self.mode not in ("auto", "required", "off"):
            raise ValueError(f"sandbox mode must be auto, required or off, not {self.mode!r}")

    @property
    def isolated(self) -> bool:
        """Whether code really runs in namespaces (False: limits only)."""
        if self.mode == "off":
            return False
        ok, why = bwrap_works()
        if not ok and self.mode == "required":
            raise SandboxUnavailable(f"the grading sandbox is required but unavailable: {why}")
        if not ok:
            _warn_once(why)
        return ok

    @property
    def drops_privileges(self) -> bool:
        return os.geteuid() == 0

    def prepare(self, path: Path) -> None:
        """Make a folder the sandboxed user may write (the grader keeps ownership of nothing inside)."""
        if self.isolated and self.drops_privileges:
            for p in [path, *path.rglob("*")]:
                os.chown(p, self.uid, self.uid, follow_symlinks=False)

    def release(self, path: Path) -> None:
        """Give a folder written in the sandbox back to the grader's user."""
        if self.drops_privileges and path.exists():
            for p in [path, *path.rglob("*")]:
                try:
                    os.chown(p, os.getuid(), os.getgid(), follow_symlinks=False)
                except FileNotFoundError:  # removed meanwhile
                    pass

    def wrap(
        self,
        argv: list[str],
        *,
        writable: list[Path] = (),
        readable: list[Path] = (),
        hidden: list[Path] = (),
        scratch: list[Path] = (),
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> list[str]:
        """The command line that runs ``argv`` confined; see the module docstring.

        ``hidden`` paths (inside readable ones) are replaced by empty ones: a forbidden
        library's package folder, say. A ``scratch`` folder is replaced by a private,
        size-limited one holding its files read-only: the code can write there, and nothing
        it writes (files, links) reaches the real folder.
        """
        environment = {**BASE_ENV, **(env or {})}
        lim = self.limits
        limits = ["prlimit", f"--as={lim.memory_bytes}", f"--nproc={lim.processes}", f"--fsize={lim.file_bytes}",
                  f"--nofile={lim.open_files}"]
        if lim.cpu_seconds:
            limits.append(f"--cpu={lim.cpu_seconds}")
        if not self.isolated:
            # Limits only, and an environment of the same shape (see the warning).
            writable = [*writable, *scratch]
            for path in writable:
                Path(path).mkdir(parents=True, exist_ok=True)
            if writable:
                environment["HOME"] = environment["TMPDIR"] = str(writable[0])
            env_cmd = ["env", "-i", *[f"{k}={v}" for k, v in environment.items()]]
            if cwd is not None:
                env_cmd += [f"--chdir={cwd}"]
            return [*limits, "--", *env_cmd, *argv]
        return self._confined(argv, limits, environment, writable=writable, readable=readable, hidden=hidden,
                              scratch=scratch, cwd=cwd)

    def _confined(self, argv, limits, environment, *, writable, readable, cwd, hidden=(), scratch=()) -> list[str]:
        # As root, bubblewrap builds the mounts with root's rights and setpriv (inside) then
        # becomes the unprivileged user; as a normal user, a user namespace does both.
        namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.drops_privileges:
            namespaces.append("--unshare-user")
        cmd = [*limits, "--", "bwrap", *namespaces, "--die-with-parent", "--clearenv"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            path = Path("/") / name
            if path.is_symlink():
                cmd += ["--symlink", os.readlink(path), str(path)]
            elif path.exists():
                cmd += ["--ro-bind", str(path), str(path)]
        cmd += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
                "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/tmp",
                "--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", "/dev/shm"]
        binds = [("--ro-bind", Path(p)) for p in _python_paths() + list(readable)]
        binds += [("--bind", Path(p)) for p in writable]
        binds += [("--dir", Path(p)) for p in scratch]  # (mounted below)
        # Folders above the mount points, traversable (bubblewrap would create them 0700).
        above = sorted({a for _, p in binds for a in p.parents if a != Path("/")} - {p for _, p in binds},
                       key=lambda a: len(a.parts))
        for folder in above:
            if str(folder) not in ("/usr", "/etc", "/tmp", "/proc", "/dev"):
                cmd += ["--perms", "0755", "--dir", str(folder)]
        for kind, path in binds:
            if kind != "--dir":
                cmd += [kind, str(path), str(path)]
        for path in hidden:
            cmd += ["--tmpfs", str(path)] if Path(path).is_dir() else ["--ro-bind", "/dev/null", str(path)]
        for folder in scratch:
            cmd += ["--perms", "1777", "--size", str(self.limits.tmp_bytes), "--tmpfs", str(folder)]
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file() and not path.is_symlink():
                    cmd += ["--ro-bind", str(path), str(path)]
        for key, value in environment.items():
            cmd += ["--setenv", key, value]
        if cwd is not None:
            cmd += ["--chdir", str(cwd)]
        if self.drops_privileges:
            argv = ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", *argv]
        return cmd + ["--", *argv]


class SandboxUnavailable(RuntimeError):
    """Grading refused: the sandbox is required here and cannot be created."""


def _python_paths() -> list[Path]:
    """What a sandboxed Python needs to read: its installation, the venv, xaikit and its data."""
    import xaikit

    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    for package_dir in xaikit.__path__:
        package_dir = Path(package_dir).resolve()
        paths.add(package_dir)
        data = package_dir.parent / "datasets"  # repository checkout (editable install)
        if data.is_dir():
            paths.add(data)
    # Python's own files live under the prefix; a venv's interpreter is a symlink into it.
    interpreter = Path(sys.executable).resolve()
    if not any(p in interpreter.parents for p in paths):
        paths.add(interpreter.parent.parent)
    return sorted(paths)


@functools.lru_cache(maxsize=1)
def bwrap_works() -> tuple[bool, str]:
    """Whether bubblewrap can create the namespaces here (cached), and why not."""
    if not shutil.which("bwrap") or not shutil.which("prlimit"):
        return False, "bubblewrap (Debian package 'bubblewrap') or prlimit is not installed"
    probe = Sandbox(mode="off")
    cmd = probe._confined([sys.executable, "-I", "-c", "print('ok')"], ["prlimit", f"--as={probe.limits.memory_bytes}"],
                          dict(BASE_ENV), writable=[], readable=[], cwd=None)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bubblewrap could not be started: {exc}"
    if proc.returncode != 0 or proc.stdout.strip() != "ok":
        return False, f"bubblewrap cannot create namespaces here: {proc.stderr.strip()[:200]}"
    return True, ""


@functools.lru_cache(maxsize=None)
def _warn_once(why: str) -> None:
    log.warning("GRADING WITHOUT A SANDBOX: %s. Student code then runs with the grader's user rights "
                "and network (only resource limits apply); verdicts are still decided outside it. "
                "Install bubblewrap (apt-get install bubblewrap) to confine it.", why)
