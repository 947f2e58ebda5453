"""Deadlines, the killable verifier pool and the code sandbox."""

import time

import pytest

from r1repro.safety import DeadlineExceeded, VerifierPool, call_with_deadline, deadline, run_sandboxed
from r1repro.testing import HangingReward, big_power, double, fail  # importable by pool workers
from r1repro.types import Sample


def _spin(seconds):
    t = time.time()
    while time.time() - t < seconds:
        pass
    return "done"


def test_deadline_interrupts_python_loops():
    t = time.time()
    with pytest.raises(DeadlineExceeded):
        with deadline(0.2):
            _spin(5)
    assert time.time() - t < 1.0
    assert call_with_deadline(_spin, 5, seconds=0.1, default="timeout") == "timeout"
    assert call_with_deadline(_spin, 0.01, seconds=1.0) == "done"


def test_pool_kills_work_that_signals_cannot_stop_and_keeps_order():
    pool = VerifierPool(workers=2)
    try:
        t = time.time()
        out = pool.map_guarded(big_power, [(1,)], timeout_s=0.5, on_fail="killed")
        assert out == ["killed"]
        assert time.time() - t < 5
        assert pool.map_guarded(double, [(1,), (2,), (3,)], timeout_s=5) == [2, 4, 6]  # replaced worker works
        assert pool.map_guarded(fail, [(1,)], timeout_s=5, on_fail=-1) == [-1]
        assert pool.stats.timeouts == 1
    finally:
        pool.close()


def test_isolated_reward_times_out_to_failure_score_without_raising():
    t = time.time()
    from r1repro.safety import get_pool

    before = get_pool().stats.timeouts
    (res,) = HangingReward()([Sample(response="x")])
    assert res.score == 0.0 and "error" in res.info
    assert get_pool().stats.timeouts == before + 1  # it ran in the pool and was killed there
    assert time.time() - t < 5


def test_sandbox_runs_code_and_enforces_limits():
    ok = run_sandboxed("print(sum(range(10)))")
    assert ok.ok and ok.stdout.strip() == "45"
    slow = run_sandboxed("while True: pass", timeout_s=0.5)
    assert slow.timed_out and not slow.ok
    mem = run_sandboxed("x = bytearray(2_000_000_000)", memory_mb=256)
    assert not mem.ok and "MemoryError" in mem.stderr
    env = run_sandboxed("import os; print(sorted(os.environ))")
    assert "OPENAI_API_KEY" not in env.stdout and "R1REPRO" not in env.stdout
    fork = run_sandboxed("import os\nfor _ in range(1000): os.fork()", timeout_s=2)
    assert not fork.ok
    assert run_sandboxed(None).ok is False
    assert run_sandboxed("print('\\x00')").ok


def test_a_spawned_worker_that_used_the_pool_exits():
    """Multiprocessing children skip atexit and join their own children on exit: the verifier
    pool must close itself there, or a reproduction's training worker never finishes. (A plain
    spawned Process: an executor's own management thread also reaps its workers and would race
    with the join below.)"""
    import multiprocessing

    from r1repro.testing import report_pool_use

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=report_pool_use, args=(21, queue))
    proc.start()
    assert queue.get(timeout=120) == [42]
    proc.join(timeout=60)
    alive = proc.is_alive()
    if alive:
        proc.kill()
    assert not alive, "the worker hung at exit"
    assert proc.exitcode == 0
