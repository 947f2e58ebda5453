"""Keeping model output from hurting the run: deadlines, a killable pool, a code sandbox.

Three layers, from cheapest to strongest:

* `deadline(seconds)`: a cooperative timer (``SIGALRM``) for pure-Python work in the main
  thread. It cannot interrupt C code such as big-integer exponentiation.
* `VerifierPool`: a process pool (pebble) whose workers are *killed* when a task exceeds
  its timeout and replaced; this bounds any per-sample check, C code included. The local
  engine and the reward bridge use one shared pool (`get_pool()`).
* `run_sandboxed(code)`: runs model-written code in a jail (`r1repro.sandbox`): fresh
  network, PID and mount namespaces, a non-root uid, rlimits, a private tmpfs, output capped
  in the caller, a wall-clock kill; missing layers are warned about, never silent.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
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


class WorkerCrashed(RuntimeError):
    """A worker-pool task whose process died (segfault, out of memory, killed)."""


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
        return_exceptions: bool = False,
    ) -> list[Any]:
        """One result per item, in order. A failed item gets ``on_fail`` or, with
        ``return_exceptions``, an exception that says what happened: the task's own exception
        (type and message), `DeadlineExceeded` for a timeout, `WorkerCrashed` for a worker
        that died (its exit code)."""
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
                out.append(DeadlineExceeded(f"timed out after {timeout_s:.3g}s in the worker pool")
                           if return_exceptions else on_fail)  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - ProcessExpired, pickling errors, task errors
                if type(exc).__name__ == "ProcessExpired":
                    self.stats.crashes += 1
                    exc = WorkerCrashed(f"the worker process died ({exc}; exit code {getattr(exc, 'exitcode', '?')})")
                out.append(exc if return_exceptions else on_fail)
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
# The jail lives in its own module; it is re-exported here for existing callers.
from r1repro.sandbox import SandboxResult, SandboxWarning, run_sandboxed  # noqa: E402, F401
