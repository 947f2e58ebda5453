"""Where a reproduction's time goes: SFT warm start, evaluation, judges, each against one RL step.

A CPU reproduction spends its time in four kinds of work. Each is timed here on the same
tiny policy (``tiny:micro``), the same task (``core.arithmetic``, ``core.boxed``) and the
same torch threads, and each is reported as a ratio to a peer measured in the same run:

* **RL step** (the peer of the others): one `LocalEngine.train_step`, 16 prompts × a group
  of 8 × 32 tokens (the shape most CPU presets use), every response full length.
* **SFT warm start** (once per seed): `r1repro.models.sft.train_sft` for a few dozen steps
  of 32 (prompt, worked response) pairs, as ``warm_start`` runs it (model load and save
  included), on the RL step's threads (a run pins SFT to `SFT_THREADS`, 2).
  Ratio: one SFT step / one RL step, and a 300-step warm start (the usual CPU preset) / one RL step.
* **Evaluation pass**: `LocalEngine.evaluate` over 128 prompts, greedy, 32 tokens each,
  scored by the reward (generation + scoring). Ratio: one pass / one RL step.
* **Judge** (an LLM verifier): TinyV's reward with the LLM verifier on every sample
  (``tinyv.tinyv_only``), the verifier a ``tiny:micro`` with the prompt's shared head cached
  (the set-up of the TinyV reproduction), against the rule verifiers on the same samples
  (PRIME's grader ``tinyv.prime`` in its worker pool, and ``core.exact_match``). Ratio: seconds
  per sample, judge / rule. Skipped while the TinyV plugin is not installed.

`tests.benchmarks.summarize` turns these into a table of unit costs and, from the counts in
every reproduction's CPU preset (SFT steps, arms, RL steps, evaluations), an estimate of the
share of one seed's time each phase takes. Every reproduction's ``results.json`` also records
the measured split of its own run (``timing``), which is the number to trust for that run.
"""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import pytest

from r1repro.bench import GRPOStepSpec, bench_engine_steps, bench_rounds, local_engine

REPO = Path(__file__).resolve().parents[2]
PHASE = GRPOStepSpec(prompts=16, n=8, max_new_tokens=32)
"""The RL step every phase is compared with (16 prompts × 8 × 32 tokens)."""
SFT_STEPS = 24  # timed SFT steps per round (a warm start is 150-1500 of them: see the presets)
SFT_BATCH = 32
SFT_REFERENCE_STEPS = 300  # the usual CPU preset's warm start (laser, disco, ...), for the ratio
EVAL_PROMPTS = 128  # EvalConfig.limit's default
JUDGE_SAMPLES = 64
GROUP = "phases: where a reproduction's time goes"


def _median(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def _record(benchmark, phase: str, unit_s: float, unit: str, **extra) -> None:
    benchmark.extra_info.update(
        {"comparison": "phases", "side": "r1repro", "phase": phase, "unit": unit, "unit_s": unit_s,
         "spec": PHASE.label(), "threads": PHASE.threads, **extra}
    )  # fmt: skip


@pytest.fixture(scope="module")
def phase_engine(tmp_path_factory):
    return local_engine(PHASE, tmp_path_factory.mktemp("phases"))


# ------------------------------------------------------------------------------- RL step
def test_phase_rl_step(benchmark, phase_engine):
    """The peer: one GRPO step (rollout, reward, advantages, update)."""
    timed = bench_engine_steps(benchmark, phase_engine, bench_rounds(3), GROUP)
    _record(
        benchmark, "rl_step", _median([m["timing/step"] for m in timed]), "one RL step",
        rollout_s=_median([m["timing/rollout"] for m in timed]),
        reward_s=_median([m["timing/reward"] for m in timed]),
        update_s=_median([m["timing/update"] for m in timed]),
        samples=PHASE.prompts * PHASE.n,
        reproductions=reproduction_counts(),
    )  # fmt: skip


# ------------------------------------------------------------------------- SFT warm start
def test_phase_sft(benchmark, tmp_path):
    """``SFT_STEPS`` steps of the SFT warm start (model load and save included, as in a run)."""
    from r1repro.models.sft import SFT_THREADS, sft_pairs, train_sft
    from r1repro.models.tiny import materialize_tiny
    from r1repro.registry import get_registry

    reg = get_registry()
    pairs = sft_pairs(reg.build("dataset", "core.arithmetic"), reg.build("template", "core.boxed"), "sft",
                      n=256, seed=0)  # fmt: skip
    base = str(materialize_tiny(PHASE.model))
    rounds = itertools.count()

    def one_warm_start():  # on the RL step's threads, so the ratio compares like with like
        train_sft(base, pairs, tmp_path / f"sft{next(rounds)}", steps=SFT_STEPS, batch_size=SFT_BATCH,
                  warmup_steps=2, quiet=True, threads=PHASE.threads)  # fmt: skip

    benchmark.group = GROUP
    # no warm-up round: torch is already warm (the RL step ran first) and a round is long
    benchmark.pedantic(one_warm_start, rounds=bench_rounds(2), warmup_rounds=0, iterations=1)
    per_step = _median(benchmark.stats.stats.data) / SFT_STEPS
    _record(benchmark, "sft", per_step, f"one SFT step (batch {SFT_BATCH})", sft_steps=SFT_STEPS,
            sft_batch=SFT_BATCH, runs_use_threads=SFT_THREADS, reference_steps=SFT_REFERENCE_STEPS,
            warm_start_s=per_step * SFT_REFERENCE_STEPS)  # fmt: skip


# ------------------------------------------------------------------------ evaluation pass
def test_phase_eval(benchmark, phase_engine):
    """One evaluation: greedy responses to ``EVAL_PROMPTS`` test prompts, scored by the reward."""
    rows = phase_engine.dataset.load("test", limit=EVAL_PROMPTS)
    assert len(rows) == EVAL_PROMPTS, f"core.arithmetic gave {len(rows)} test rows"
    out: list[dict[str, float]] = []

    def one_eval():
        out.append(phase_engine.evaluate(rows))

    benchmark.group = GROUP
    benchmark.pedantic(one_eval, rounds=bench_rounds(2), warmup_rounds=1, iterations=1)
    assert out[-1]["eval/response_length"] == PHASE.max_new_tokens
    _record(benchmark, "eval", _median(benchmark.stats.stats.data), f"one evaluation ({EVAL_PROMPTS} prompts)",
            prompts=EVAL_PROMPTS, samples_per_prompt=1, decoding="greedy",
            max_new_tokens=PHASE.max_new_tokens)  # fmt: skip


# ------------------------------------------------------------------- judge vs rule reward
def _judge_batches(batches: int, size: int):
    """``batches`` disjoint batches of TinyV-task samples with boxed answers: every other one
    the truth, the rest a wrong number."""
    from r1repro.registry import get_registry
    from r1repro.types import Sample

    rows = get_registry().build("dataset", {"name": "tinyv.multiform"}).load("test", limit=batches * size)
    samples = []
    for i, r in enumerate(rows):
        answer = str(r.ground_truth) if i % 2 == 0 else f"{r.ground_truth}1"
        samples.append(Sample(response=f"Step by step the result follows. \\boxed{{{answer}}}",
                              ground_truth=r.ground_truth, problem=r.problem, data_source=r.data_source,
                              domain=r.domain, group_id=str(i), uid=str(i)))  # fmt: skip
    assert len(samples) == batches * size, f"tinyv.multiform gave {len(samples)} test rows"
    return [samples[k * size : (k + 1) * size] for k in range(batches)]


@pytest.fixture
def judge_samples(bench_registry):
    """One batch per round (the warm-up round included)."""
    if "tinyv.tinyv_only" not in bench_registry.names("reward"):
        pytest.skip("tinyv.tinyv_only is not registered (install plugins/tinyv): no judge to time")
    return _judge_batches(bench_rounds(3) + 1, JUDGE_SAMPLES)


JUDGE_SPEC = {"backend": "transformers", "prefix_cache": True, "model": "tiny:micro", "batch_size": 64}
REWARDS = {
    "judge": {"name": "tinyv.tinyv_only", "judge": JUDGE_SPEC},
    "rule_prime": {"name": "tinyv.prime"},
    "rule_exact": {"name": "core.exact_match"},
}


@pytest.mark.parametrize("which", list(REWARDS))
def test_phase_reward_per_sample(benchmark, bench_registry, judge_samples, which):
    """Seconds per sample of one batched reward call: the LLM verifier on every sample vs the rules."""
    reward = bench_registry.build("reward", REWARDS[which])
    batches = iter(judge_samples)  # fresh samples every round: no verdict cache can answer
    results = []

    def score():
        results.append(reward(next(batches)))

    benchmark.group = "phases: judge vs rule reward, per sample"
    benchmark.pedantic(score, rounds=bench_rounds(3), warmup_rounds=1, iterations=1)
    per_sample = _median(benchmark.stats.stats.data) / JUDGE_SAMPLES
    extra = {}
    if which == "judge":
        calls = [r.info.get("llm_called") for r in results[-1]]
        assert all(c == 1.0 for c in calls), "the LLM verifier was not asked about every sample"
        extra["judge"] = "tiny:micro (untrained: answers all 8 tokens), shared prompt head cached"
    _record(benchmark, f"reward_{which}", per_sample, "seconds per sample", reward=REWARDS[which]["name"],
            samples=JUDGE_SAMPLES, **extra)  # fmt: skip


# ------------------------------------------------------ counts of every reproduction's preset
def reproduction_counts() -> dict[str, dict]:
    """Per reproduction (CPU preset, quick profile): the counts that multiply the unit costs.

    {name: {seeds, sft_steps, sft_batch, arms: [{rl_steps, rl_tokens, evals, eval_tokens}]}},
    or {name: {"skipped": why}} for a reproduction without a standard ``engine``/``arms`` config.
    Token counts (prompts × samples × max new tokens) scale the unit costs, which grow about
    linearly with them (the scaling benchmark).
    """
    from r1repro.engine.config import make_config
    from r1repro.repro.run import as_container, compose_config

    out: dict[str, dict] = {}
    for cfg_dir in sorted(p for p in (REPO / "reproductions").iterdir() if (p / "config.yaml").is_file()):
        try:
            full = compose_config(cfg_dir, "cpu", [])
            base, arms = as_container(full.get("engine")), as_container(full.get("arms"))
            if not base or not arms:
                out[cfg_dir.name] = {"skipped": "its own pipeline (no engine + arms config)"}
                continue
            out[cfg_dir.name] = _counts(make_config, base, arms, list(full.seeds))
        except Exception as exc:  # noqa: BLE001 - one broken preset must not hide the others
            out[cfg_dir.name] = {"skipped": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}
    return out


def _counts(make_config, base: dict, arms: dict, seeds: list[int]) -> dict:
    from omegaconf import OmegaConf

    per_arm, sft_steps, sft_batch = [], 0, 0
    for over in arms.values():
        c = OmegaConf.merge(make_config(base), OmegaConf.create(over or {}))
        if c.model.sft.enabled:
            sft_steps, sft_batch = max(sft_steps, c.model.sft.steps), c.model.sft.batch_size
        steps, every = int(c.trainer.total_steps), int(c.eval.every or 0)
        evals = (1 + steps // every + (1 if steps % every else 0)) if every else 2
        eval_len = c.eval.max_new_tokens or c.rollout.max_new_tokens
        per_arm.append({"rl_steps": steps, "rl_tokens": c.trainer.batch_size * c.rollout.n * c.rollout.max_new_tokens,
                        "evals": evals if c.eval.limit else 0,
                        "eval_tokens": int(c.eval.limit) * int(c.eval.n) * eval_len})  # fmt: skip
    return {"seeds": len(seeds), "sft_steps": sft_steps, "sft_batch": sft_batch, "arms": per_arm}
