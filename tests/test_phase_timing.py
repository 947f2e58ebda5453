"""Every reproduction says where its time went: SFT warm starts, RL steps, evaluation, judges.

The engine times each evaluation (``timing/eval``) next to its steps (``timing/step``);
`run_jobs` times the warm starts and the arms; `ReproRun.timing` sums them into
``results.json`` (``timing``) and one line of ``report.md``.
"""

from __future__ import annotations

import pytest

from r1repro.repro.run import PHASES, phase_seconds, run_jobs, timing_summary
from r1repro.testing import tiny_engine_config


def test_phase_seconds_sums_steps_evaluations_and_judges():
    history = [
        {"step": 0, "eval/correct": 0.1, "timing/eval": 2.0},
        {"step": 1, "timing/step": 3.0, "reward/llm_seconds": 0.5},
        {"step": 2, "timing/step": 4.0, "reward/judge_seconds": 1.0, "eval/correct": 0.2, "timing/eval": 2.5},
    ]
    assert phase_seconds(history) == {"rl_s": 7.0, "eval_s": 4.5, "judge_s": 1.5}
    assert phase_seconds([]) == {"rl_s": 0.0, "eval_s": 0.0, "judge_s": 0.0}


def test_timing_summary_and_report_line():
    from r1repro.repro.report import timing_line

    t = timing_summary(
        {"sft_s": 60.0, "arms_s": 300.0, "rl_s": 450.0, "eval_s": 150.0, "judge_s": 30.0}, 420.0
    )
    assert set(PHASES) <= set(t) and t["wall_s"] == 420.0 and t["other_s"] == pytest.approx(60.0)
    line = timing_line(
        {"sft_s": 60.0, "arms_s": 300.0, "rl_s": 450.0, "eval_s": 150.0, "judge_s": 30.0}, 420.0
    )
    assert "SFT warm starts 1.0 min" in line and "arms × seeds 5.0 min" in line
    assert (
        "7.5 min RL steps, of which judges 0.5" in line
        and "25% evaluation" in line
        and "the rest 1.0 min" in line
    )
    # a run that trained no arms (its own pipeline) still gets a line, all in "the rest"
    assert "the rest 2.0 min" in timing_line({}, 120.0) and "worker time" not in timing_line({}, 120.0)


def test_a_reproduction_times_its_own_phases(tmp_path):
    """`ReproRun.phase`: a reproduction that trains its arms, or prepares each seed, itself
    says so in the report instead of leaving it all in "the rest"."""
    import time

    from r1repro.repro.report import timing_line
    from r1repro.repro.run import ReproRun

    run = ReproRun(name="x", scale="cpu", cfg={}, out_dir=tmp_path, reproduction=None, registry=None)
    with run.phase("prep_s"):
        time.sleep(0.05)
    with pytest.raises(RuntimeError), run.phase("arms_s"):  # an error still counts its time
        time.sleep(0.05)
        raise RuntimeError("arm failed")
    assert run.timing["prep_s"] >= 0.05 and run.timing["arms_s"] >= 0.05
    with pytest.raises(KeyError, match="unknown timing phase"), run.phase("arm_s"):
        pass
    line = timing_line({"arms_s": 120.0, "prep_s": 180.0}, 360.0)
    assert (
        "arms × seeds 2.0 min" in line
        and "per-seed preparation 3.0 min" in line
        and "the rest 1.0 min" in line
    )
    assert "per-seed preparation" not in timing_line({"arms_s": 120.0}, 360.0)


@pytest.mark.slow
def test_engine_and_run_jobs_record_each_phase(tmp_path, monkeypatch):
    """A real (tiny) job: the warm start is timed, each evaluation has ``timing/eval``, steps
    have ``timing/step``, and the sums land in the timing dict."""
    monkeypatch.setenv("R1REPRO_CACHE", str(tmp_path / "cache"))  # a fresh warm start, not a cached one
    cfg = tiny_engine_config(
        model={"sft": {"steps": 4, "examples": 32}},
        trainer={"total_steps": 2, "out_dir": str(tmp_path / "job")},
        eval={"limit": 4, "every": 2},
    )
    timing: dict[str, float] = {}
    warm: dict[str, list[str]] = {}
    (history,) = run_jobs([("arm", 0, cfg)], workers=1, log=lambda *_: None, timing=timing, warm_starts=warm)
    assert len(warm["trained"]) == 1 and "cached" not in warm
    by_step = {int(h["step"]): h for h in history}
    assert by_step[0]["timing/eval"] > 0 and by_step[2]["timing/eval"] > 0  # before RL and at the end
    assert "timing/eval" not in by_step[1] and by_step[1]["timing/step"] > 0
    phases = phase_seconds(history)
    assert phases["eval_s"] == pytest.approx(by_step[0]["timing/eval"] + by_step[2]["timing/eval"])
    assert timing["sft_s"] > 0 and timing["arms_s"] >= phases["rl_s"] + phases["eval_s"]
    again: dict[str, float] = {"sft_s": 1.0}  # adds to what is there (train_arms may be called repeatedly)
    cfg2 = tiny_engine_config(model={"sft": {"steps": 4, "examples": 32}},
                              trainer={"total_steps": 1, "out_dir": str(tmp_path / "job2")}, eval={"limit": 0})  # fmt: skip
    warm_again: dict[str, list[str]] = {}
    run_jobs([("arm", 0, cfg2)], workers=1, log=lambda *_: None, timing=again, warm_starts=warm_again)
    assert again["sft_s"] >= 1.0 and again["arms_s"] > 0
    assert warm_again == {"cached": warm["trained"]}  # the same warm start, found in the cache


def _summarize_module():
    """``tests/benchmarks/summarize.py`` loaded by path (verl ships a top-level ``tests`` package too)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent / "benchmarks" / "summarize.py"
    spec = importlib.util.spec_from_file_location("r1repro_bench_summarize", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_summary_splits_a_seed_of_each_reproduction_by_phase():
    summarize = _summarize_module()
    counts = {
        "seeds": 3,
        "sft_steps": 300,
        "sft_batch": 16,  # half the reference batch: half the cost per step
        "arms": [
            {"rl_steps": 10, "rl_tokens": 2 * 16 * 8 * 32, "evals": 2, "eval_tokens": 128 * 32},
            {"rl_steps": 0, "rl_tokens": 16 * 8 * 32, "evals": 1, "eval_tokens": 2 * 128 * 32},
        ],
    }
    t = summarize.phase_shares(counts, {"sft": 0.1, "rl": 2.0, "eval": 3.0})
    assert t == pytest.approx({"sft": 15.0, "rl": 40.0, "eval": 12.0})

    def bench(phase, unit_s, **extra):
        return {
            "extra_info": {"comparison": "phases", "phase": phase, "unit_s": unit_s, "unit": "u", **extra}
        }

    benches = [
        bench("rl_step", 2.0, spec="tiny:micro 16x8 L=32 threads=1", threads=1, rollout_s=1.5, reward_s=0.01,
              update_s=0.4, samples=128, reproductions={"x": counts, "y": {"skipped": "its own pipeline"}}),
        bench("sft", 0.1, reference_steps=300, warm_start_s=30.0),
        bench("eval", 3.0, prompts=128, decoding="greedy", max_new_tokens=32),
        bench("reward_judge", 0.02, reward="tinyv.tinyv_only", samples=64, judge="tiny"),
        bench("reward_rule_prime", 0.0002, reward="tinyv.prime", samples=64),
    ]  # fmt: skip
    text = "\n".join(summarize.phases(benches))
    assert "| SFT warm start (300 steps, once per seed) | extrapolated | 30 | 15.0x |" in text
    assert "| evaluation pass |" in text and "| 3 | 1.50x |" in text
    assert "Judge per sample: 100x PRIME's grader's" in text
    assert "| x | 2 | 300 | 10 | 3 | 1.12 | 22.4% | 59.7% | 17.9% |" in text  # 67 s per seed
    assert "Not estimated: y (its own pipeline)" in text


def test_bench_summary_lists_tinyv_overhead_per_size_ratio():
    summarize = _summarize_module()

    def bench(case, ratio, llm_share):
        info = {"case": case, "setup": f"tinyv {case}", "size_ratio": ratio, "paper_size_ratio": 1.5 / 7,
                "share_sent_to_llm": 0.5, "llm_share_of_step_time": llm_share, "rule_share_of_step_time": 0.001,
                "reward_share_of_step_time": llm_share + 0.01, "paper_overhead": 0.06}  # fmt: skip
        return {"stats": {"median": 1.0}, "extra_info": info}

    text = "\n".join(summarize.tinyv([bench("arm", 1.0, 0.8), bench("paper_ratio", 0.26, 0.3)]))
    assert "| arm | tinyv arm | 1.00 | 1 | 50.0% | 80.0% |" in text
    assert "| paper_ratio | tinyv paper_ratio | 0.26 | 1 | 50.0% | 30.0% |" in text
    assert "size ratio 0.21" in text
