"""Rule-based math verification: the project's verifier against math-verify, same answers.

Ours is ``r1repro_tinyv.prime_math.compute_score`` (PRIME's grader as TinyV uses it);
the peer is math-verify's documented ``verify(parse(gold), parse(answer))``. Corpus:
HardVerify-Math's false-negative and true-negative outputs (500 answers, boxed) plus a
seeded generated corpus of common answer shapes (integers, fractions, radicals, pi,
intervals, tuples, polynomials, sets, degrees, percentages, choices, equations).

* single process: every answer in turn, in this process (answers/s, per-answer latency);
* worker pool: the same answers through `r1repro.safety.VerifierPool`, the pool the engines
  use, with a 1 s per-answer timeout (answers/s, answers cut off by the timeout). Workers
  are forked from a forkserver that has imported both verifiers (`warm_pool_workers`), so a
  replacement worker does not spend its first task's timeout importing sympy; the cold
  cost is reported separately (``cold_first_answer_s``, a fresh interpreter's first answer);
* worst answer: the adversarial corpus (`r1repro.testing.ADVERSARIAL_RESPONSES`), each
  answer timed alone in a pool worker (killed at 10 s), next to the slowest answer of the
  normal corpus. Target: no answer takes 1 s or more.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest

from r1repro.bench import (
    adversarial_corpus,
    bench_rounds,
    cold_first_answer_s,
    generated_corpus,
    hardverify_corpus,
    hardverify_path,
    prime_math_available,
    timed_verdict,
    warm_pool_workers,
)

VERIFIERS = ("r1repro", "math_verify")
POOL_TIMEOUT_S = 1.0
STALL_LIMIT_S = 1.0  # the issue: no answer stalls a batch for more than 1 s
KILL_CAP_S = 10.0  # worst-latency probe: an answer still running after this is killed


def _engine_pool_workers() -> int | None:
    """The worker count `r1repro.safety.get_pool` would use ($R1REPRO_POOL_WORKERS, else its default)."""
    return int(os.environ.get("R1REPRO_POOL_WORKERS", "0") or 0) or None


def _skip_reason(which: str) -> str | None:
    if which == "r1repro":
        return prime_math_available()
    try:
        import math_verify  # noqa: F401
    except ImportError as exc:
        return f"math-verify is not installed ({exc})"
    return None


@pytest.fixture(scope="module")
def warm_workers() -> bool:
    return warm_pool_workers()


@pytest.fixture(scope="module")
def corpus():
    hv = hardverify_corpus()
    if not hv:
        print("\nHardVerify-Math.json not found ($R1REPRO_DATA_DIR/tinyv or ../shared/data/tinyv): "
              "the reward benchmarks use the generated corpus only")  # fmt: skip
    return hv + generated_corpus(200)


def _quality(which: str, names: list[str], verdicts: list[bool]) -> dict[str, float]:
    """Verdict counts by corpus part (context for the speed numbers; not a target)."""
    out: dict[str, float] = {}
    for tag in ("fn", "tn", "eq", "ne"):
        vs = [v for n, v in zip(names, verdicts) if n.endswith("-" + tag)]
        if vs:
            out[f"accepted_{tag}"] = sum(vs)
            out[f"count_{tag}"] = len(vs)
    return out


@pytest.mark.parametrize("which", VERIFIERS)
def test_reward_single_process(benchmark, which, corpus):
    reason = _skip_reason(which)
    if reason:
        pytest.skip(reason)
    timed_verdict(which, corpus[0][1], corpus[0][2])  # imports (sympy, latex parsers) out of the timing
    last: list[tuple[bool, float]] = []

    def run():
        last[:] = [timed_verdict(which, r, g) for _, r, g in corpus]

    benchmark.group = "reward: single process, answers/s"
    benchmark.pedantic(run, rounds=bench_rounds(2), iterations=1)
    lat = [s for _, s in last]
    worst = max(range(len(lat)), key=lat.__getitem__)
    benchmark.extra_info.update(
        {
            "comparison": "reward_single",
            "side": which,
            "peer": "math_verify" if which == "r1repro" else "r1repro",
            "answers": len(corpus),
            "answers_per_s": len(corpus) / benchmark.stats.stats.median,
            "median_latency_s": statistics.median(lat),
            "p99_latency_s": sorted(lat)[int(0.99 * (len(lat) - 1))],
            "worst_latency_s": lat[worst],
            "worst_answer": corpus[worst][0],
            "hardverify": hardverify_path() is not None,
            "cold_first_answer_s": cold_first_answer_s(which),
            "target": "r1repro answers/s >= math_verify answers/s",
            **_quality(which, [n for n, _, _ in corpus], [v for v, _ in last]),
        }
    )


@pytest.mark.parametrize("which", VERIFIERS)
def test_reward_worker_pool(benchmark, which, corpus, warm_workers):
    reason = _skip_reason(which)
    if reason:
        pytest.skip(reason)
    from r1repro.safety import VerifierPool

    pool = VerifierPool(_engine_pool_workers())
    args = [(which, r, g) for _, r, g in corpus]
    pool.map_guarded(timed_verdict, args[: pool.workers * 2], timeout_s=30)  # start and warm the workers
    out: list = []

    def run():
        before = pool.stats.timeouts
        out[:] = pool.map_guarded(timed_verdict, args, timeout_s=POOL_TIMEOUT_S, on_fail=None)
        out.append(pool.stats.timeouts - before)

    benchmark.group = "reward: worker pool (VerifierPool, 1 s timeout), answers/s"
    try:
        benchmark.pedantic(run, rounds=bench_rounds(2), iterations=1)
    finally:
        pool.close()
    timeouts = out.pop()
    benchmark.extra_info.update(
        {
            "comparison": "reward_pool",
            "side": which,
            "peer": "math_verify" if which == "r1repro" else "r1repro",
            "answers": len(corpus),
            "workers": pool.workers,
            "warm_workers": warm_workers,
            "timeout_s": POOL_TIMEOUT_S,
            "answers_per_s": len(corpus) / benchmark.stats.stats.median,
            "timeouts": timeouts,
            "failed": sum(o is None for o in out),
            "target": "r1repro answers/s >= math_verify answers/s",
        }
    )


@pytest.mark.parametrize("which", VERIFIERS)
def test_reward_worst_answer(benchmark, which, corpus, warm_workers):
    """Each adversarial answer alone in a worker (its own latency), plus the pool batch time."""
    reason = _skip_reason(which)
    if reason:
        pytest.skip(reason)
    from r1repro.safety import VerifierPool

    adv = adversarial_corpus()
    probe = VerifierPool(1)
    probe.map_guarded(timed_verdict, [(which, "\\boxed{1}", "1")], timeout_s=30)  # warm the worker
    latencies: dict[str, float] = {}
    for name, r, g in adv:  # one at a time: a killed worker must not take others down with it
        t0 = time.perf_counter()
        res = probe.map_guarded(timed_verdict, [(which, r, g)], timeout_s=KILL_CAP_S, on_fail=None)[0]
        latencies[name] = res[1] if res is not None else max(KILL_CAP_S, time.perf_counter() - t0)
    probe.close()

    pool = VerifierPool(_engine_pool_workers())
    args = [(which, r, g) for _, r, g in adv]
    pool.map_guarded(timed_verdict, args[:1], timeout_s=30)
    timeouts: list[int] = []

    def run():
        before = pool.stats.timeouts
        pool.map_guarded(timed_verdict, args, timeout_s=POOL_TIMEOUT_S, on_fail=None)
        timeouts.append(pool.stats.timeouts - before)

    benchmark.group = "reward: adversarial corpus through the pool (worst answer)"
    try:
        benchmark.pedantic(run, rounds=bench_rounds(1), iterations=1)
    finally:
        pool.close()
    worst = max(latencies, key=latencies.__getitem__)
    slow = sorted((n for n, s in latencies.items() if s >= STALL_LIMIT_S), key=lambda n: -latencies[n])
    benchmark.extra_info.update(
        {
            "comparison": "reward_worst",
            "side": which,
            "peer": "math_verify" if which == "r1repro" else "r1repro",
            "answers": len(adv),
            "worst_latency_s": latencies[worst],
            "worst_answer": worst,
            "answers_over_1s": slow,
            "pool_timeouts": timeouts[-1] if timeouts else None,
            "latencies_s": latencies,
            "kill_cap_s": KILL_CAP_S,
            "warm_workers": warm_workers,
            "target": f"worst single answer < {STALL_LIMIT_S} s",
        }
    )
