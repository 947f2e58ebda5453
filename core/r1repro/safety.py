"""Keeping model output from hurting the run: deadlines, a killable pool, a code sandbox.

Three layers, from cheapest to strongest:

* `deadline(seconds)`: a cooperative timer (``SIGALRM``) for pure-Python work in the main
  thread. It cannot interrupt C code such as big-integer exponentiation.
* `VerifierPool`: a process pool (pebble) whose workers are *killed* when a task exceeds
  its timeout and replaced; this bounds any per-sample check, C code included. The local
  engine and the reward bridge use one shared pool (`get_pool()`).
* `run_sandboxed(code)`: runs model-written Python in a separate, isolated interpreter with
  CPU, memory, file-size and process limits, an empty environment and a throwaway working
  directory; killed at the wall-clock timeout; output capped.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


class DeadlineExceeded(TimeoutError):
    """Raised inside a `deadline` block when its time is up."""


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Raise `DeadlineExceeded` if the block runs longer than ``seconds`` (main thread only).

    Outside the main thread, or with ``seconds`` falsy, the block runs unguarded: use the
    `VerifierPool` where a hard bound is needed.
    """
    if not seconds or seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    if previous_remaining and previous_remaining < seconds:
        yield  # an outer, tighter deadline is already running
        return

    def _raise(signum: int, frame: Any) -> None:
        raise DeadlineExceeded(f"exceeded {seconds:.3g}s")

    old_handler = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if previous_remaining:
            signal.setitimer(signal.ITIMER_REAL, max(previous_remaining - seconds, 1e-3))


def call_with_deadline(fn: Callable[..., Any], *args: Any, seconds: float, default: Any = None) -> Any:
    """``fn(*args)`` under a cooperative deadline; ``default`` on timeout or error."""
    try:
        with deadline(seconds):
            return fn(*args)
    except Exception:  # noqa: BLE001
        return default


@dataclass
class PoolStats:
    tasks: int = 0
    timeouts: int = 0
    crashes: int = 0


class VerifierPool:
    """A pool of worker processes with a hard, per-task timeout.

    ``map_guarded(fn, args_list, timeout_s)`` returns one result per item, in order; an
    item whose task times out, crashes its worker or raises gets ``on_fail`` instead, and
    a timed-out worker is killed and replaced. Workers start from a clean ``forkserver``
    (forking a process that holds torch threads is not safe).
    """

    def __init__(self, workers: int | None = None, preload: Sequence[str] = ()) -> None:
        self.workers = workers or max(1, min(4, os.cpu_count() or 1))
        self.preload = list(preload)
        self._pool = None
        self._lock = threading.Lock()
        self.stats = PoolStats()

    def add_preload(self, modules: Sequence[str]) -> None:
        """Modules to import once in the fork server, so a new (or replaced) worker starts
        with them loaded instead of importing them inside its first task's time budget."""
        new = [m for m in modules if m not in self.preload]
        if new:
            self.preload += new
            if self._pool is not None:  # takes effect when the pool is next (re)started
                self.close()

    def _ensure(self):
        with self._lock:
            if self._pool is None or not self._pool.active:
                from pebble import ProcessPool

                ctx = multiprocessing.get_context("forkserver")
                modules = ["r1repro.components", *self.preload]
                ctx.set_forkserver_preload(modules)  # effective if the fork server starts now
                self._pool = ProcessPool(max_workers=self.workers, context=ctx, initializer=_import_modules,
                                         initargs=(modules,))  # fmt: skip
            return self._pool

    def map_guarded(
        self,
        fn: Callable[..., Any],
        args_list: Sequence[tuple[Any, ...]],
        timeout_s: float = 5.0,
        on_fail: Any = None,
    ) -> list[Any]:
        if not args_list:
            return []
        pool = self._ensure()
        futures = [pool.schedule(fn, args=args, timeout=timeout_s) for args in args_list]
        out = []
        for fut in futures:
            self.stats.tasks += 1
            try:
                out.append(fut.result())
            except TimeoutError:
                self.stats.timeouts += 1
                out.append(on_fail)
            except Exception as exc:  # noqa: BLE001 - ProcessExpired, pickling errors, task errors
                if type(exc).__name__ == "ProcessExpired":
                    self.stats.crashes += 1
                out.append(on_fail)
        return out

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.stop()
                self._pool.join(timeout=5)
                self._pool = None


def _import_modules(modules: Sequence[str]) -> None:
    """Worker initializer: import what the checks need before the first task's clock starts."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module must not kill the worker
            pass


_POOL: VerifierPool | None = None


def get_pool() -> VerifierPool:
    """The process-wide verifier pool (created on first use, closed at exit)."""
    global _POOL
    if _POOL is None:
        _POOL = VerifierPool(int(os.environ.get("R1REPRO_POOL_WORKERS", "0")) or None)
        atexit.register(_POOL.close)
        # multiprocessing children skip atexit and, on exit, join every child process they
        # started: close the pool first, or a training worker that used it never exits
        import multiprocessing.util

        multiprocessing.util.Finalize(_POOL, _POOL.close, exitpriority=10)
    return _POOL


# ------------------------------------------------------------------------ code sandbox
@dataclass
class SandboxResult:
    ok: bool
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool = False


def _limit_child(cpu_s: int, memory_mb: int, fsize_mb: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        os.setsid()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        mem = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        fs = fsize_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (fs, fs))
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_sandboxed(
    code: str,
    stdin: str = "",
    timeout_s: float = 3.0,
    memory_mb: int = 512,
    output_limit: int = 20_000,
) -> SandboxResult:
    """Run untrusted Python source in an isolated child interpreter.

    The child runs ``python -I -S`` (no user site, no environment-driven imports) in a fresh
    temporary directory with an empty environment, its own session (so the whole process
    group is killed on timeout), and rlimits on CPU time, address space, file size,
    process count and core dumps. Never raises; a timeout is reported as ``timed_out``.
    This is a process jail, not a VM: do not give it secrets.
    """
    if not isinstance(code, str):
        return SandboxResult(False, "", "code is not a string", None)
    code = code.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    with tempfile.TemporaryDirectory(prefix="r1repro-sbx-") as tmp:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", code],
                cwd=tmp,
                env={"PATH": "/usr/bin:/bin", "HOME": tmp, "PYTHONHASHSEED": "0"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=_limit_child(max(1, int(timeout_s) + 1), memory_mb, 16),
            )
        except Exception as exc:  # noqa: BLE001
            return SandboxResult(False, "", f"could not start sandbox: {exc}", None)
        try:
            out, err = proc.communicate(stdin.encode("utf-8", "replace"), timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
    return SandboxResult(
        ok=(not timed_out and proc.returncode == 0),
        stdout=out[:output_limit].decode("utf-8", "replace"),
        stderr=err[:output_limit].decode("utf-8", "replace"),
        returncode=proc.returncode,
        timed_out=timed_out,
    )
