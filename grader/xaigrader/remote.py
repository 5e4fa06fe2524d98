"""The grader's side of :mod:`xaigrader.worker`: a student's code as a remote object.

A hidden test receives a :class:`RemoteObject` in place of the student's function or class
and uses it as before (``call(func, X, ...)``, ``call(cls, model).attribute(...)``). Each
call is a request to the sandboxed worker under a wall-clock budget; the answer is plain
data, decoded without running any of the student's code here. A timeout stops the worker
(and everything the call started); the next hidden test gets a fresh one.

    with Worker(sandbox, readable=[handin_dir]) as worker:
        with worker.session(handin_dir / "week02.ale_1d.pkl", forbidden=("sklearn.inspection",),
                            budget=20) as func:
            week02.ale_1d(func)
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import cloudpickle

from . import worker as protocol
from .sandbox import Sandbox

WORKER = Path(protocol.__file__).resolve()
PRELOAD = ("numpy", "cloudpickle", "xaikit")  # always; a week adds its own (``PRELOAD`` in its grader module)
START_TIMEOUT = 120  # seconds for the worker's interpreter and imports


class RemoteError(Exception):
    """The student's code raised ``type_name: message`` in the worker."""

    def __init__(self, type_name: str, message: str):
        super().__init__(message)
        self.type_name = type_name


class RemoteNotImplemented(NotImplementedError):
    """The student's code still raises ``NotImplementedError``."""


class ForbiddenImport(RemoteError):
    """The student's code imports a module the lab forbids in answers."""

    def __init__(self, module: str):
        super().__init__("ForbiddenImport", module)
        self.module = module


class RemoteTimeout(Exception):
    """A call did not return within its budget; the worker was stopped."""

    def __init__(self, budget: float):
        super().__init__(f"no answer within {budget:g} s")
        self.budget = budget


class RemoteCrash(Exception):
    """The worker process ended during a call (the student's code exited or was killed)."""


class HandInMissing(Exception):
    """There is no hand-in file for this test (the test cell did not run, or pickling failed)."""


def _is_forbidden(module: str, forbidden: tuple) -> bool:
    return any(module == f or module.startswith(f + ".") for f in forbidden)


def package_paths(modules: tuple) -> list[Path]:
    """Where the forbidden modules' files are (hidden from the worker, not only blocked from import)."""
    import importlib.util

    paths = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
            continue
        origin = Path(spec.origin).resolve()
        paths.append(origin.parent if spec.submodule_search_locations else origin)
    return paths


class _Pipe:
    """Reads exactly n bytes from a file descriptor before a deadline."""

    def __init__(self, fd: int):
        self.fd = fd
        self.deadline: float | None = None
        self.budget = 0.0

    def read(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            if self.deadline is not None:
                wait = self.deadline - time.monotonic()
                if wait <= 0 or not select.select([self.fd], [], [], wait)[0]:
                    raise RemoteTimeout(self.budget)
            chunk = os.read(self.fd, min(left, 1 << 20))
            if not chunk:
                return b"".join(chunks)  # EOF: read_frame raises
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


class _Out:
    def __init__(self, fd: int):
        self.fd = fd

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def flush(self) -> None:
        pass


class Worker:
    """A sandboxed interpreter that forks one child per hidden test (see :mod:`xaigrader.worker`).

    Parameters
    ----------
    sandbox : Sandbox
    readable : list of Path
        Extra paths it may read (the hand-in folder).
    preload : tuple of str
        Modules imported once, before any student code, so each test starts fast.
    """

    def __init__(self, sandbox: Sandbox | None = None, *, readable: list[Path] = (), preload: tuple = PRELOAD,
                 forbidden: tuple = ()):
        self.sandbox = sandbox or Sandbox()
        self.readable = [Path(p) for p in readable]
        self.forbidden = tuple(forbidden)
        self.preload = tuple(m for m in preload if not _is_forbidden(m, forbidden))
        self.hidden = package_paths(forbidden)
        self.proc: subprocess.Popen | None = None
        self._ready = False

    def start(self) -> "Worker":
        """Start the process (returns at once; the imports run while the caller does other work)."""
        if self.proc is not None:
            return self
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        argv = [sys.executable, "-I", str(WORKER), str(to_child_r), str(from_child_w), *self.preload]
        cmd = self.sandbox.wrap(argv, readable=[WORKER, *self.readable], hidden=self.hidden, cwd=Path("/tmp"))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, pass_fds=(to_child_r, from_child_w),
                                     start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self._in = _Pipe(from_child_r)
        self._out = _Out(to_child_w)
        self._fds = (from_child_r, to_child_w)
        self._ready = False
        return self

    def ready(self) -> None:
        """Wait until the worker has imported its modules (starting it if needed)."""
        self.start()
        self._wait_ready()

    def _wait_ready(self) -> None:
        if self._ready:
            return
        header = self.receive(START_TIMEOUT)
        if header[0].get("status") != "ready":
            raise RemoteCrash("the grading worker did not start")
        self._ready = True

    def send(self, header: dict, blobs: list[bytes] = ()) -> None:
        try:
            protocol.write_frame(self._out, header, list(blobs))
        except (BrokenPipeError, OSError) as exc:
            self.stop()
            raise RemoteCrash(f"the worker is gone ({exc})") from None

    def receive(self, budget: float) -> tuple[dict, list[bytes]]:
        self._in.deadline = time.monotonic() + budget
        self._in.budget = budget
        try:
            return protocol.read_frame(self._in)
        except RemoteTimeout:
            self.stop()
            raise
        except (EOFError, protocol.ProtocolError, OSError) as exc:
            code = self.stop()
            raise RemoteCrash(f"the process running it ended ({exc}; exit code {code})") from None
        finally:
            self._in.deadline = None

    def stop(self) -> int | None:
        """Kill the sandbox and everything in it; the next session starts a new worker."""
        if self.proc is None:
            return None
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        code = self.proc.wait()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.proc = None
        self._ready = False
        return code

    def close(self) -> None:
        if self.proc is not None and self._ready:
            with contextlib.suppress(RemoteCrash):
                self.send({"op": "exit"})
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.stop()

    def __enter__(self) -> "Worker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def session(self, handin: Path, *, forbidden: tuple = (), budget: float = 30.0) -> Iterator["RemoteObject"]:
        """The handed-in object of one hidden test, loaded in a fresh child of the worker."""
        if not Path(handin).exists():
            raise HandInMissing(str(handin))
        self.start()
        self._wait_ready()
        blocked = list(dict.fromkeys([*self.forbidden, *forbidden]))
        self.send({"op": "session", "path": str(handin), "forbidden": blocked})
        header, _ = self.receive(budget)
        if header.get("status") == "ended":
            raise RemoteCrash(f"loading it ended the process (exit code {header.get('code')})")
        session = Session(self, budget)
        if header.get("status") != "loaded":
            session.closed = True
            self._expect_end()
            session.raise_for(header, [], loading=True)
        try:
            yield RemoteObject(session, 0, str(header.get("type")), bool(header.get("callable")))
        finally:
            session.close()

    def _expect_end(self) -> None:
        if self.proc is None:
            return
        try:
            header, _ = self.receive(30)
        except (RemoteTimeout, RemoteCrash):
            return
        if header.get("status") != "ended":
            self.stop()


class Session:
    """Requests of one hidden test; keeps shared arguments' identity and applies their changes."""

    def __init__(self, worker: Worker, budget: float):
        self.worker = worker
        self.budget = budget
        self.closed = False
        self._shared: dict[int, tuple[int, object, str]] = {}  # id(obj) -> (key, obj, fingerprint)
        self._unsent: set[int] = set()  # registered, not yet sent
        self._call_modules: list = []  # the modules among the arguments of the call being sent

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.worker.proc is not None:
            with contextlib.suppress(RemoteCrash):
                self.worker.send({"op": "end"})
            self.worker._expect_end()

    # -- arguments ----------------------------------------------------------------------
    def _prepare(self, value):
        if isinstance(value, RemoteObject):
            if value._session is not self:
                raise ValueError("a remote object of another test")
            return protocol.RefArg(value._ref)
        if protocol.shared_kind(value) is not None:
            parent = self._parent_of(value)
            if parent is not None:
                return protocol.SubmoduleOf(*parent)
            known = self._shared.get(id(value))
            now = protocol.fingerprint(value)
            if known is None or known[1] is not value or id(value) in self._unsent:
                self._unsent.discard(id(value))
                key = known[0] if known is not None and known[1] is value else len(self._shared)
                self._shared[id(value)] = (key, value, now)
                return protocol.Shared(key, value=value)
            key = known[0]
            self._shared[id(value)] = (key, value, now)
            return protocol.Shared(key, state=protocol.snapshot(value) if now != known[2] else None)
        if type(value) in (list, tuple):
            return type(value)(self._prepare(v) for v in value)
        if type(value) is dict:
            return {k: self._prepare(v) for k, v in value.items()}
        return value

    def _modules_in(self, value) -> list:
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(value, torch.nn.Module):
            return [value]
        if type(value) in (list, tuple):
            return [m for v in value for m in self._modules_in(v)]
        if type(value) is dict:
            return [m for v in value.values() for m in self._modules_in(v)]
        return []

    def _register_modules(self, args, kwargs) -> None:
        """A module passed with one of its own submodules (a model and a layer of it) stays one
        object in the worker: the largest is sent, the others as paths inside it."""
        modules = self._modules_in(args) + self._modules_in(kwargs)
        self._call_modules = modules
        for module in sorted(modules, key=lambda m: -sum(1 for _ in m.modules())):
            if self._parent_of(module) is None and id(module) not in self._shared:
                self._shared[id(module)] = (len(self._shared), module, protocol.fingerprint(module))
                self._unsent.add(id(module))

    def _parent_of(self, value) -> tuple[int, str] | None:
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(value, torch.nn.Module):
            return None
        # Prefer a model passed in this very call (the same layer may belong to an earlier one too).
        ids = [id(m) for m in self._call_modules if m is not value and id(m) in self._shared]
        candidates = [self._shared[i] for i in ids] + list(self._shared.values())
        for key, obj, _ in candidates:
            if obj is not value and isinstance(obj, torch.nn.Module):
                for path, sub in obj.named_modules():
                    if sub is value and path:
                        return key, path
        return None

    def _apply(self, changes: dict) -> None:
        by_key = {key: obj for key, obj, _ in self._shared.values()}
        for key, state in changes.items():
            obj = by_key.get(int(key))
            if obj is not None:
                protocol.apply_snapshot(obj, state)
                self._shared[id(obj)] = (int(key), obj, protocol.fingerprint(obj))

    # -- requests -----------------------------------------------------------------------
    def request(self, header: dict, blobs: list[bytes] = ()):
        if self.closed or self.worker.proc is None:
            raise RemoteCrash("the process running it was stopped by an earlier call")
        self.worker.send(header, blobs)
        reply, blobs = self.worker.receive(self.budget)
        if reply.get("status") == "ended":
            self.closed = True
            raise RemoteCrash(f"the process running it ended (exit code {reply.get('code')})")
        changes = reply.get("changes")
        if changes:
            self._apply(protocol.decode(changes, blobs))
        if reply.get("status") == "ok":
            return protocol.decode(reply["result"], blobs, ref=lambda k, t, c: RemoteObject(self, k, t, c))
        self.raise_for(reply, blobs)

    def raise_for(self, reply: dict, blobs, loading: bool = False):
        if reply.get("forbidden"):
            raise ForbiddenImport(str(reply["forbidden"]))
        if reply.get("not_implemented"):
            raise RemoteNotImplemented(str(reply.get("message", "")))
        what = reply.get("what")
        message = str(reply.get("message", ""))
        if loading:
            raise HandInBroken(str(reply.get("type")), message)
        if what:
            message = f"{what}: {message}"
        raise RemoteError(str(reply.get("type", "Exception")), message)

    def call(self, ref: int, args: tuple, kwargs: dict):
        _pickle_grader_by_value()
        self._register_modules(args, kwargs)
        prepared = (self._prepare(tuple(args)), self._prepare(dict(kwargs)))
        with _without_process_hooks(self._shared.values()):
            payload = cloudpickle.dumps(prepared)
        return self.request({"op": "call", "ref": ref}, [payload])

    def getattr(self, ref: int, name: str):
        return self.request({"op": "getattr", "ref": ref, "name": name})


@contextlib.contextmanager
def _without_process_hooks(shared) -> Iterator[None]:
    """Pickle transformers models without their output-capturing hooks (closures over this
    process's state that cannot be pickled; the worker installs its own)."""
    torch = sys.modules.get("torch")
    removed = []
    if torch is not None and "transformers" in sys.modules:
        for _, obj, _ in shared:
            if not isinstance(obj, torch.nn.Module):
                continue
            for module in obj.modules():
                for key, hook in list(module._forward_hooks.items()):
                    if getattr(hook, "__module__", "").startswith("transformers"):
                        removed.append((module, key, hook))
                        del module._forward_hooks[key]
                if getattr(module, "_output_capturing_hooks_installed", False):
                    removed.append((module, None, True))
                    module._output_capturing_hooks_installed = False
    try:
        yield
    finally:
        for module, key, hook in removed:
            if key is None:
                module._output_capturing_hooks_installed = True
            else:
                module._forward_hooks[key] = hook


def _pickle_grader_by_value() -> None:
    """Functions and classes of the grader travel by value: the worker cannot import the grader."""
    for name, module in list(sys.modules.items()):
        if (name.startswith("xaigrader.") and name not in _BY_VALUE and module is not None
                and name not in ("xaigrader.worker", "xaigrader.remote", "xaigrader.sandbox")):
            cloudpickle.register_pickle_by_value(module)
            _BY_VALUE.add(name)


_BY_VALUE: set[str] = set()


class HandInBroken(RemoteError):
    """The hand-in file could not be loaded in the worker."""


class RemoteObject:
    """Stand-in for an object that lives in the worker: call it, or get its attributes."""

    __slots__ = ("_session", "_ref", "_type", "_callable")

    def __init__(self, session: Session, ref: int, type_name: str, is_callable: bool):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_callable", is_callable)

    @property
    def remote_type(self) -> str:
        return self._type

    @property
    def remote_callable(self) -> bool:
        return self._callable

    def __call__(self, *args, **kwargs):
        return self._session.call(self._ref, args, kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__") and name != "__name__":
            raise AttributeError(name)
        return self._session.getattr(self._ref, name)

    def __setattr__(self, name, value):
        raise AttributeError("remote objects are read-only")

    def __repr__(self) -> str:
        return f"<remote {self._type}>"
