"""Jobs with dependencies, run in worker processes on one CPU thread each.

A reproduction that trains its pipeline itself (per seed a warm start, then each arm from it)
describes the work as `Job`s: a module-level function, its arguments, and the keys of the jobs
whose results it needs, which are passed after its own arguments. `run_graph` starts every job
whose dependencies are done, in list order, ``workers`` at a time, so that a seed's arms start as
soon as its warm start is trained rather than after every warm start.

Every job runs on **one torch thread**, in a worker or in the calling process alike: CPU kernels
split sums across threads, so a job's numbers would otherwise depend on how many jobs ran beside
it. With the count fixed, ``workers=1`` and ``workers=2`` give the same results.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

JOB_THREADS = 1
"""Torch CPU threads of every job (see the module docstring)."""

ENV_PREFIXES = ("R1REPRO_", "HF_", "TRANSFORMERS_")
"""Environment variables a spawned worker inherits from the run (cache dir, offline flags)."""


@dataclass(frozen=True)
class Job:
    key: Hashable
    fn: Callable[..., Any]
    args: tuple = ()
    after: tuple = ()
    """Keys of jobs whose results are appended to ``args`` (in this order)."""


def _call(fn: Callable[..., Any], args: tuple, env: dict[str, str]) -> Any:
    os.environ.update(env)
    from r1repro.models.sft import fixed_threads

    with fixed_threads(JOB_THREADS):
        return fn(*args)


def check_graph(jobs: Sequence[Job]) -> None:
    """Keys are unique and every dependency is an earlier job (so the graph has no cycle)."""
    seen: set[Hashable] = set()
    for j in jobs:
        if j.key in seen:
            raise ValueError(f"job {j.key!r} is listed twice")
        missing = [k for k in j.after if k not in seen]
        if missing:
            raise ValueError(f"job {j.key!r} needs {missing!r}, which are not listed before it")
        seen.add(j.key)


def run_graph(
    jobs: Sequence[Job],
    workers: int = 0,
    desc: str = "jobs",
    log: Callable[[str], None] = print,
) -> dict[Hashable, Any]:
    """Run ``jobs`` (default: one worker per core); {key: result}. A job that raises stops the
    run with its error after the jobs already running have finished."""
    from r1repro.progress import bar

    check_graph(jobs)
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    results: dict[Hashable, Any] = {}
    progress = bar(range(len(jobs)), desc=desc, total=len(jobs))
    ticks = iter(progress)
    t0 = time.time()

    def args_of(job: Job) -> tuple:
        return (*job.args, *(results[k] for k in job.after))

    def done(job: Job, result: Any) -> None:
        results[job.key] = result
        next(ticks, None)
        log(f"{job.key} done ({time.time() - t0:.0f}s)")

    if workers == 1:
        for j in jobs:
            done(j, _call(j.fn, args_of(j), env))
        for _ in ticks:  # closes the bar
            pass
        return results
    pending = list(jobs)
    running: dict[Future, Job] = {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        while pending or running:
            for j in [j for j in pending if all(k in results for k in j.after)][: workers - len(running)]:
                pending.remove(j)
                running[pool.submit(_call, j.fn, args_of(j), env)] = j
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                done(running.pop(fut), fut.result())
    for _ in ticks:
        pass
    return results
