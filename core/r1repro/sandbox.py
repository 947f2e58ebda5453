"""Run untrusted (model-written) code in a jail: `run_sandboxed`.

What a call gets, on Linux where namespaces are permitted (root, as CI runs, or any user
where unprivileged user namespaces are enabled):

* ``netns``: a fresh network namespace with no interface up (not even loopback): no TCP/UDP,
  no abstract unix sockets of the host.
* ``pidns``: its own PID namespace; the caller's processes are invisible and cannot be
  signalled, and when the program exits (or the call times out) the kernel kills every
  process it left behind (``setsid`` / double-fork / ``stdout=DEVNULL`` children included).
* ``mountns``: a private filesystem view: a read-only root holding only ``/usr``, the
  interpreter's installation and ``ro_paths`` (all read-only), a synthetic ``/etc`` (the host's
  ``/etc/passwd`` and friends are not visible), a few ``/dev`` nodes, its own ``/proc``, and one
  writable place, ``/sandbox`` (= ``/tmp`` = ``$HOME``): a tmpfs capped at ``disk_mb``.
* ``uid``: a non-root uid (as root: a fresh random uid per call, so ``RLIMIT_NPROC`` binds and
  counts only this call's processes; as a user: uid 65534 in a user namespace, ``userns``).
* ``ipcns``, ``session``, ``no_new_privs``, ``rlimits`` (CPU seconds, address space, file size,
  processes, open files, no core dumps), an empty environment.
* In the caller: stdout/stderr read in chunks and capped at ``output_limit`` bytes each (the
  jail is killed at the cap; memory stays bounded), and a wall-clock kill at ``timeout_s``.

Where the kernel refuses namespaces, the call still runs, but with a loud `SandboxWarning`,
the missing layers listed in ``result.missing`` and absent from ``result.layers``: as root it
then runs as a throwaway uid in a host directory, and every process of that uid is killed
after the call; as a plain user it only has the session, rlimits and the environment. Pass
``require=("netns", "pidns", "mountns")`` (or set ``R1REPRO_SANDBOX_REQUIRE``) to refuse to
run instead. ``R1REPRO_SANDBOX_NAMESPACES=0`` forces the fallback (for tests).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_CHILD = str(Path(__file__).with_name("_sandbox_child.py"))
_PATH = "/usr/local/bin:/usr/bin:/bin"
#: the layers whose absence is warned about (the rest are always present)
ESSENTIAL_LAYERS = ("uid", "pidns", "netns", "mountns")
_CHUNK = 65536
#: the most a jail's setup may take before the program's own ``timeout_s`` starts
SETUP_GRACE_S = 10.0
_log = logging.getLogger(__name__)


class SandboxWarning(RuntimeWarning):
    """A sandbox isolation layer is not available on this machine."""


@dataclass
class SandboxResult:
    """What the program did. ``ok``: exited 0, in time, under every cap.

    ``killed_reason``: None, ``"timeout"``, ``"output_limit"``, ``"refused"`` (a required layer
    is missing; nothing ran) or ``"error"`` (the jail could not be set up; nothing ran).
    ``returncode`` is negative for a signal, as in `subprocess`. ``layers``: the isolation
    layers that were active; ``missing``: layer -> why it was not.
    """

    ok: bool
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool = False
    killed_reason: str | None = None
    layers: tuple[str, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def rc(self) -> int | None:
        return self.returncode


def run_sandboxed(
    code: str | None = None,
    stdin: str | bytes | None = "",
    timeout_s: float = 3.0,
    memory_mb: int = 512,
    output_limit: int = 20_000,
    *,
    argv: Sequence[str] | None = None,
    files: Mapping[str, str | bytes] | None = None,
    disk_mb: int = 64,
    fsize_mb: int = 16,
    max_processes: int = 64,
    memory_total_mb: int | None = None,
    cpu_s: int | None = None,
    ro_paths: Sequence[str] = (),
    require: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run Python source ``code`` (as ``/sandbox/main.py``), or the command ``argv``, jailed.

    The program's environment is ``PATH``, ``HOME=/sandbox``, ``TMPDIR``, ``LANG`` and
    ``PYTHONHASHSEED=0``, plus ``env`` (nothing of the caller's own environment).
    ``stdin`` is fed to the program; ``files`` (relative path -> content) are placed in its
    private directory first; ``ro_paths`` are extra host paths it may read (an absolute
    ``argv[0]`` must live under ``/usr`` or one of them). ``memory_mb`` is the address-space
    limit per process, ``max_processes`` the process limit, ``cpu_s`` the CPU-time limit per
    process (default: ``timeout_s`` + 1), ``disk_mb`` the private directory's size,
    ``fsize_mb`` the largest file, ``memory_total_mb`` the memory of the whole jail where a
    memory cgroup is available (default ``2 * memory_mb + disk_mb``). ``require``: layers
    without which nothing runs (``killed_reason="refused"``). Never raises on model input: a
    bad request or a jail that cannot start is a result with ``ok=False`` and a one-line
    ``stderr``.
    """
    try:
        program, ro = _program(code, argv, files)
        _check_files(files)
        if env is not None and not (
            isinstance(env, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
        ):
            raise TypeError("env must map str to str")
        ro += [str(Path(p).resolve()) for p in ro_paths]
        request = _Request(program, ro, files or {}, require, code, dict(env or {}))
    except (TypeError, ValueError) as exc:
        return SandboxResult(False, "", f"sandbox: {exc}", None, killed_reason="error")
    stdin_bytes = stdin.encode("utf-8", "replace") if isinstance(stdin, str) else bytes(stdin or b"")
    limits = {"memory_mb": int(memory_mb), "fsize_mb": int(fsize_mb), "max_processes": int(max_processes),
              "cpu_s": int(cpu_s or max(1, int(timeout_s) + 1)), "disk_mb": int(disk_mb),
              "shm_mb": max(1, min(16, int(disk_mb)))}  # fmt: skip
    limits["memory_total_mb"] = int(memory_total_mb or 2 * limits["memory_mb"] + limits["disk_mb"])
    return _run(request, limits, stdin_bytes, float(timeout_s), int(output_limit))


@functools.lru_cache(maxsize=1)
def available_layers() -> tuple[str, ...]:
    """The isolation layers a call gets on this machine (one trial run, cached per process).

    For a plugin that wants to refuse, or to say in its report, what its jail guarantees
    before it runs any model output.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        return run_sandboxed("pass").layers


@dataclass
class _Request:
    argv: list[str]
    ro_paths: list[str]
    files: Mapping[str, str | bytes]
    require: Sequence[str]
    code: str | None  # written to main.py
    env: dict[str, str]

    @property
    def is_python(self) -> bool:
        return self.argv[:1] == [_interpreter()[0]]


def _interpreter() -> tuple[str, str]:
    """(the interpreter binary, the installation directory to expose read-only)."""
    exe = os.path.realpath(sys.executable)
    return exe, os.path.realpath(sys.base_prefix)


def _program(
    code: str | None, argv: Sequence[str] | None, files: Mapping | None
) -> tuple[list[str], list[str]]:
    exe, prefix = _interpreter()
    if (code is None) == (argv is None):
        raise TypeError("give exactly one of code (a string) or argv (a list of strings)")
    if code is not None:
        if not isinstance(code, str):
            raise TypeError(f"code is not a string but {type(code).__name__}")
        if files and "main.py" in files:
            raise ValueError("files may not contain main.py when code is given")
        return [exe, "-I", "-S", "main.py"], [prefix]
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
        raise TypeError("argv must be a non-empty list of strings")
    found = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0], path=_PATH)
    if not found:
        raise ValueError(f"command not found: {argv[0]}")
    return [found, *argv[1:]], [prefix]


def _safe_relpath(name: str) -> str:
    rel = os.path.normpath(name) if isinstance(name, str) else ""
    if not rel or os.path.isabs(rel) or rel == "." or rel.startswith("..") or "\0" in rel:
        raise ValueError(f"file name must be a relative path inside the sandbox: {name!r}")
    return rel


def _check_files(files: Mapping | None) -> None:
    if files is None:
        return
    if not isinstance(files, Mapping):
        raise TypeError("files must be a mapping of relative path -> str or bytes")
    for name, content in files.items():
        _safe_relpath(name)
        if not isinstance(content, (str, bytes, bytearray)):
            raise TypeError(f"content of {name!r} is not str or bytes")


def _stage(request: _Request, limits: dict, uid: int, cgroups: tuple[list[str], str]) -> str:
    """A caller-only directory with the jail's config and the files to place in it."""
    _remove_stale_stages()
    stage = tempfile.mkdtemp(prefix=f"r1repro-sbx-{os.getpid()}-")
    files = dict(request.files)
    if request.code is not None:
        files["main.py"] = request.code
    for name, content in files.items():
        path = os.path.join(stage, "files", _safe_relpath(name))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = content.encode("utf-8", "replace") if isinstance(content, str) else bytes(content)
        Path(path).write_bytes(data)
    os.makedirs(os.path.join(stage, "files"), exist_ok=True)
    config = {
        **limits,
        "argv": request.argv,
        "argv_is_python": request.is_python,
        "fallback_interpreters": [request.argv[0], "/usr/bin/python3", "/usr/local/bin/python3"],
        "ro_paths": request.ro_paths,
        "require": sorted(set(request.require) | _env_required()),
        "env": {
            "PATH": _PATH,
            "HOME": "/sandbox",
            "TMPDIR": "/sandbox",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            **request.env,
        },
        "uid": uid,
        "cgroup_procs": [os.path.join(d, "cgroup.procs") for d in cgroups[0]],
        "cgroup_why": cgroups[1],
        "caller_pid": os.getpid(),
        "namespaces": os.environ.get("R1REPRO_SANDBOX_NAMESPACES", "1") != "0",
    }
    fd = os.open(os.path.join(stage, "config.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(config, fh)
    return stage


def _remove_stale_stages() -> None:
    """Remove staging directories of callers that were killed mid-call (named by their pid)."""
    for path in Path(tempfile.gettempdir()).glob("r1repro-sbx-*-*"):
        pid = path.name.split("-")[2]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue


def _env_required() -> set[str]:
    return {x.strip() for x in os.environ.get("R1REPRO_SANDBOX_REQUIRE", "").split(",") if x.strip()}


def _run(request: _Request, limits: dict, stdin: bytes, timeout_s: float, output_limit: int) -> SandboxResult:
    uid = 1_000_000 + secrets.randbelow(1 << 24)  # fresh per call: its processes are only ours
    cgroups: tuple[list[str], str] = ([], "")
    stage = None
    try:
        cgroups = _make_cgroups(limits)
        stage = _stage(request, limits, uid, cgroups)
        status_r, status_w = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", _CHILD, stage, str(status_w)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                pass_fds=(status_w,), start_new_session=True, cwd="/", env={"PATH": _PATH},
            )  # fmt: skip
        except OSError:
            os.close(status_r)
            raise
        finally:
            os.close(status_w)
        try:
            pump = _Pump(proc, stdin, status_r, output_limit)
            killed = pump.run(timeout_s)
            _kill_tree(proc)
            return _result(pump, proc, killed, uid)
        finally:
            os.close(status_r)
    except OSError as exc:  # no room for the staging files, no fork: the jail never started
        return SandboxResult(False, "", f"sandbox: could not start: {exc}", None, killed_reason="error")
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        _remove_cgroups(cgroups[0])


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path ("" is the unified v2 hierarchy)."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            own[controller] = path
    return own


def _make_cgroups(limits: dict) -> tuple[list[str], str]:
    """Fresh cgroups capping the whole jail's memory and process count: (dirs, why not)."""
    if os.geteuid() != 0:
        return [], "not root"
    name = f"r1repro-sbx-{secrets.token_hex(6)}"
    memory = limits["memory_total_mb"] * 1024 * 1024
    pids = limits["max_processes"] + 2  # + the two halves of the jail itself
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):  # unified (v2) hierarchy
        plan = [("", {"memory.max": memory, "pids.max": pids})]
    else:
        plan = [("memory", {"memory.limit_in_bytes": memory}), ("pids", {"pids.max": pids})]
    dirs: list[str] = []
    try:
        own = _own_cgroups()
        for controller, settings in plan:
            parent = os.path.join("/sys/fs/cgroup", controller, own[controller].lstrip("/"))
            _remove_stale_cgroups(parent)
            path = os.path.join(parent, name)
            os.mkdir(path)
            dirs.append(path)
            for key, value in settings.items():
                Path(path, key).write_text(str(value))
    except (OSError, KeyError, ValueError) as exc:
        _remove_cgroups(dirs)
        return [], f"cannot create a cgroup: {exc}"
    return dirs, ""


def _remove_stale_cgroups(parent: str) -> None:
    """Remove empty cgroups left by callers that were killed mid-call (one with processes stays)."""
    for path in Path(parent).glob("r1repro-sbx-*"):
        with contextlib.suppress(OSError):
            if time.time() - path.stat().st_mtime > 60:
                path.rmdir()


def _remove_cgroups(dirs: Sequence[str]) -> None:
    """Remove the call's cgroups once their processes are gone (a killed task lingers briefly)."""
    for path in reversed(dirs):
        for _ in range(50):
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


class _Pump:
    """Feed stdin and read stdout/stderr/status in chunks, never holding more than the caps."""

    def __init__(self, proc: subprocess.Popen, stdin: bytes, status_fd: int, output_limit: int) -> None:
        self.proc, self.limit = proc, max(0, output_limit)
        self.out_fd, self.err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        self.out = {self.out_fd: bytearray(), self.err_fd: bytearray()}
        self.status = bytearray()
        self.status_fd = status_fd
        self.stdin, self.stdin_pos = memoryview(stdin), 0
        self.sel = selectors.DefaultSelector()
        for fd in (*self.out, status_fd):
            self.sel.register(fd, selectors.EVENT_READ)
        stdin_fd = self.stdin_fd = proc.stdin.fileno()
        if stdin:
            fcntl.fcntl(stdin_fd, fcntl.F_SETFL, fcntl.fcntl(stdin_fd, fcntl.F_GETFL) | os.O_NONBLOCK)
            self.sel.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()

    def run(self, timeout_s: float) -> str | None:
        """Pump until every pipe is closed; the reason to kill the jail, or None.

        The clock is the program's: it restarts when the jail reports the program starting,
        so a slow jail setup on a loaded machine (itself capped at `SETUP_GRACE_S`) does not
        eat the program's time.
        """
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s + SETUP_GRACE_S
        try:
            while self.sel.get_map():
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout"
                for key, _ in self.sel.select(min(remaining, 0.2)):
                    if self._handle(key.fd) == "output_limit":
                        return "output_limit"
                if self.proc.poll() is not None and not self.sel.select(0):
                    return None  # the program is gone; whatever still holds a pipe is killed next
            return None
        finally:
            self.sel.close()

    def _handle(self, fd: int) -> str | None:
        if fd == self.stdin_fd and not self.proc.stdin.closed:
            return self._feed()
        try:
            chunk = os.read(fd, _CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            self.sel.unregister(fd)
            return None
        if fd == self.status_fd:
            if b'"started"' in chunk and b'"started"' not in self.status:
                self.deadline = time.monotonic() + self.timeout_s
            self.status += chunk[: max(0, _CHUNK - len(self.status))]
            return None
        buf = self.out[fd]
        buf += chunk[: self.limit + 1 - len(buf)]
        return "output_limit" if len(buf) > self.limit else None

    def _feed(self) -> None:
        try:
            self.stdin_pos += os.write(self.stdin_fd, self.stdin[self.stdin_pos : self.stdin_pos + _CHUNK])
        except BlockingIOError:
            return
        except OSError:  # the program closed its stdin
            self.stdin_pos = len(self.stdin)
        if self.stdin_pos >= len(self.stdin):
            self.sel.unregister(self.stdin_fd)
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def text(self, fd: int) -> str:
        return bytes(self.out[fd][: self.limit]).decode("utf-8", "replace")


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill the outside half's process group; its parent-death signal takes the jail with it.

    Only while the outside half is unreaped: after that its pid, and so the group id, may
    belong to an unrelated process.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        with contextlib.suppress(OSError):
            pipe.close()


def _sweep_uid(uid: int) -> None:
    """Fallback without a PID namespace: kill every process of the call's throwaway uid."""
    subprocess.run([sys.executable, "-I", "-S", _CHILD, "--sweep", str(uid)], env={"PATH": _PATH},
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=10, check=False)  # fmt: skip


def _events(status: bytes) -> list[dict]:
    events = []
    for line in status.decode("utf-8", "replace").splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


def _result(pump: _Pump, proc: subprocess.Popen, killed: str | None, uid: int) -> SandboxResult:
    events = _events(bytes(pump.status))
    layers = tuple(dict.fromkeys(e["layer"] for e in events if "layer" in e))
    missing = {e["missing"]: e.get("why", "") for e in events if "missing" in e}
    for layer in ESSENTIAL_LAYERS:  # a jail that died before reporting must not pass for a full one
        if layer not in layers:
            missing.setdefault(layer, "not reported: the jail did not start")
    if "pidns" not in layers and "uid" in layers:
        _sweep_uid(uid)
    _warn_missing(missing)
    stderr = pump.text(pump.err_fd)
    returncode = proc.returncode
    for e in events:
        if "exit" in e:
            returncode = e["exit"]
        elif "signal" in e:
            returncode = -e["signal"]
    refused = next((e["refused"] for e in events if "refused" in e), None)
    failed = next((e["setup_failed"] for e in events if "setup_failed" in e), None)
    if refused is not None:
        killed, stderr = "refused", f"sandbox: refused to run without the required layers {refused}"
    elif failed is not None and killed is None:
        killed, stderr = "error", f"sandbox: could not set up the jail: {failed}"
    return SandboxResult(
        ok=killed is None and returncode == 0,
        stdout=pump.text(pump.out_fd),
        stderr=stderr,
        returncode=returncode,
        timed_out=killed == "timeout",
        killed_reason=killed,
        layers=layers,
        missing=missing,
    )


_WARNED: set[str] = set()


def _warn_missing(missing: Mapping[str, str]) -> None:
    """Say it loudly, on every call (warnings) and once per process (the log)."""
    essential = {k: v for k, v in missing.items() if k in ESSENTIAL_LAYERS}
    if not essential:
        return
    text = "; ".join(f"{k} ({v})" for k, v in sorted(essential.items()))
    message = f"r1repro sandbox runs model code WITHOUT these isolation layers: {text}"
    warnings.warn(message, SandboxWarning, stacklevel=5)  # points at the caller of run_sandboxed
    if text not in _WARNED:
        _WARNED.add(text)
        _log.warning(message)
