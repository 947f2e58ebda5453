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
    (history,) = run_jobs([("arm", 0, cfg)], workers=1, log=lambda *_: None, timing=timing)
    by_step = {int(h["step"]): h for h in history}
    assert by_step[0]["timing/eval"] > 0 and by_step[2]["timing/eval"] > 0  # before RL and at the end
    assert "timing/eval" not in by_step[1] and by_step[1]["timing/step"] > 0
    phases = phase_seconds(history)
    assert phases["eval_s"] == pytest.approx(by_step[0]["timing/eval"] + by_step[2]["timing/eval"])
    assert timing["sft_s"] > 0 and timing["arms_s"] >= phases["rl_s"] + phases["eval_s"]
    again: dict[str, float] = {"sft_s": 1.0}  # adds to what is there (train_arms may be called repeatedly)
    cfg2 = tiny_engine_config(model={"sft": {"steps": 4, "examples": 32}},
                              trainer={"total_steps": 1, "out_dir": str(tmp_path / "job2")}, eval={"limit": 0})  # fmt: skip
    run_jobs([("arm", 0, cfg2)], workers=1, log=lambda *_: None, timing=again)
    assert again["sft_s"] >= 1.0 and again["arms_s"] > 0
