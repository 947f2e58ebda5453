"""One GRPO training step: the local engine against TRL's GRPOTrainer, and how our step scales.

Both sides get the identical set-up (`r1repro.bench.GRPOStepSpec`): the same tiny Qwen2
folder loaded by path, the same tokenizer and chat template, the same prompts (8 × group
8), every response exactly ``max_new_tokens`` long (EOS impossible on both sides), GRPO
advantages with the group std, token-mean loss aggregation, clip 0.2, no KL, one AdamW
step (no weight decay, constant lr, grad clip 1.0), float32, the same torch threads.

What one round times:
  r1repro  ``LocalEngine.train_step``: rollout (prompt encoding, sampling with KV cache,
           decoding), reward, advantages, policy update (forward, backward, clip, AdamW).
  TRL      one optimizer step of the unmodified ``GRPOTrainer.train()`` loop (from
           ``on_step_begin`` to ``on_step_end``): ``_generate_and_score_completions`` then
           loss, backward, clip, AdamW (see `r1repro.bench.TrlGRPORunner`).
Generation = our ``timing/rollout`` vs TRL's ``_generate`` (tokenise + ``model.generate``
+ decode); update = our ``timing/update`` vs TRL's step minus
``_generate_and_score_completions``.
"""

from __future__ import annotations

import statistics

import pytest

from r1repro.bench import (
    GRPOStepSpec,
    TrlGRPORunner,
    bench_engine_steps,
    bench_rounds,
    local_engine,
    trl_prompt_rows,
)

TARGET_STEP_RATIO = 0.5  # the issue: our step takes at most half of TRL's time
SPEC = GRPOStepSpec()


def _median(xs):
    xs = [x for x in xs if x == x]  # drop NaN
    return statistics.median(xs) if xs else float("nan")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    return local_engine(SPEC, tmp_path_factory.mktemp("ours"))


def _token_counts(engine, spec: GRPOStepSpec) -> dict[str, float]:
    """Tokens one step generates, and tokens the update runs through (prompt + response)."""
    ctx = engine.rollout_context(0)
    mean_prompt = statistics.fmean(len(ctx.encode_prompt(r)) for r in engine.train_rows)
    seqs = spec.prompts * spec.n
    return {"gen_tokens": float(spec.response_tokens()),
            "update_tokens": seqs * (mean_prompt + spec.max_new_tokens), "mean_prompt_tokens": mean_prompt}  # fmt: skip


def _record(benchmark, side: str, gen_s: float, update_s: float, step_s: float, tokens: dict, **extra):
    benchmark.extra_info.update(
        {
            "side": side,
            "peer": "trl" if side == "r1repro" else "r1repro",
            "comparison": "train_step",
            "spec": SPEC.label(),
            "threads": SPEC.threads,
            "generation_s": gen_s,
            "update_s": update_s,
            "other_s": step_s - gen_s - update_s,
            "step_median_s": step_s,
            "gen_tokens_per_s": tokens["gen_tokens"] / gen_s,
            "update_tokens_per_s": tokens["update_tokens"] / update_s,
            "target": f"r1repro/trl step time <= {TARGET_STEP_RATIO}",
            **tokens,
            **extra,
        }
    )


def test_train_step_r1repro(benchmark, engine):
    import torch

    timed = bench_engine_steps(benchmark, engine, bench_rounds(5), "train_step: r1repro vs TRL GRPOTrainer")
    lengths = {m["response/length_mean"] for m in timed}
    assert lengths == {float(SPEC.max_new_tokens)}, f"responses were not fixed-length: {lengths}"
    _record(
        benchmark, "r1repro",
        gen_s=_median([m["timing/rollout"] for m in timed]),
        update_s=_median([m["timing/update"] for m in timed]),
        step_s=_median([m["timing/step"] for m in timed]),
        tokens=_token_counts(engine, SPEC),
        reward_s=_median([m["timing/reward"] for m in timed]),
        advantage_s=_median([m["timing/advantage"] for m in timed]),
        observed_torch_threads=torch.get_num_threads(),
    )  # fmt: skip


def test_train_step_trl(benchmark, engine, tmp_path):
    pytest.importorskip("trl", reason="TRL is the benchmark-only peer: pip install -e '.[bench]'")
    from r1repro.models.tiny import materialize_tiny

    n_rounds, warmup = bench_rounds(5), 1
    runner = TrlGRPORunner(SPEC, trl_prompt_rows(engine), materialize_tiny(SPEC.model), tmp_path / "trl",
                           total_steps=n_rounds + warmup)  # fmt: skip
    benchmark.group = "train_step: r1repro vs TRL GRPOTrainer"
    try:
        benchmark.pedantic(runner.step, rounds=n_rounds, warmup_rounds=warmup, iterations=1)
    finally:
        runner.close()
    t = {k: v[warmup:] for k, v in runner.timings.items()}
    gen_and_score = _median(t["generate_and_score"])
    step = _median(t["step"])
    lengths = runner.trainer._metrics["train"].get("completions/mean_length", [])
    assert not lengths or set(lengths) == {float(SPEC.max_new_tokens)}, f"TRL lengths {set(lengths)}"
    _record(
        benchmark, "trl",
        gen_s=_median(t["generate"]),
        update_s=step - gen_and_score,
        step_s=step,
        tokens=_token_counts(engine, SPEC),
        generate_and_score_s=gen_and_score,
        observed_torch_threads=runner.observed_threads,
    )  # fmt: skip


# ------------------------------------------------------------------------------- scaling
SCALING_N = (4, 8, 16)
SCALING_LEN = (16, 32, 64)


@pytest.mark.parametrize("length", SCALING_LEN)
@pytest.mark.parametrize("n", SCALING_N)
def test_step_scaling(benchmark, n, length, tmp_path):
    """Our step time for group size n × response length (8 prompts, tiny:micro, fixed length)."""
    spec = GRPOStepSpec(n=n, max_new_tokens=length)
    eng = local_engine(spec, tmp_path)
    timed = bench_engine_steps(
        benchmark, eng, bench_rounds(2), "scaling: r1repro step vs group size and response length"
    )
    benchmark.extra_info.update(
        {
            "comparison": "scaling",
            "side": "r1repro",
            "n": n,
            "max_new_tokens": length,
            "prompts": spec.prompts,
            "threads": spec.threads,
            "generation_s": _median([m["timing/rollout"] for m in timed]),
            "update_s": _median([m["timing/update"] for m in timed]),
            "step_median_s": _median([m["timing/step"] for m in timed]),
            "gen_tokens_per_s": spec.response_tokens() / _median([m["timing/rollout"] for m in timed]),
        }
    )
