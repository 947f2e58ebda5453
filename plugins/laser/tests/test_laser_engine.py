"""LASER-D in the local engine: the monitor runs on schedule and its state survives resume."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from r1repro.engine.config import make_config
from r1repro.engine.local import LocalEngine, read_metrics


def laser_d_config(out_dir, total_steps: int, every: int):
    return make_config({
        "model": {"path": "tiny:nano", "sft": {"enabled": True, "steps": 30, "examples": 200, "lr": 0.005}},
        "data": {"dataset": {"name": "laser.step_chain", "steps": [1, 2]},
                 "template": "laser.template", "max_prompt_length": 64},
        "reward": {"name": "laser.d", "verifier": {"name": "core.exact_match"}, "lower": 2, "upper": 16,
                   "interval": 2, "every": every, "n_rollout": 4, "monitor_size": 6},
        "eval": {"limit": 0},
        "rollout": {"n": 4, "max_new_tokens": 16},
        "actor": {"lr": 0.0005},
        "trainer": {"total_steps": total_steps, "batch_size": 4, "save_every": 2, "progress": False,
                    "threads": 1, "out_dir": str(out_dir)},
    })  # fmt: skip


def controller_of(engine):
    return engine.reward.controller


@pytest.mark.slow
def test_monitor_schedule_and_resume_keep_the_target_lengths(tmp_path):
    first = LocalEngine(laser_d_config(tmp_path, total_steps=3, every=2), quiet=True)
    first.train()
    c = controller_of(first)
    assert c.last_update == 3 and c.updates == 2  # before step 1, then after 2 steps (step 3)
    rows = read_metrics(tmp_path)
    assert all("laser/monitor_responses_easy" in r for r in rows if r["step"] > 0)
    assert sum(c.counts.values()) == 6 * 4  # every monitor response lands in one bucket

    # the checkpoint of step 2 holds the targets chosen at step 1 ...
    resumed = LocalEngine(laser_d_config(tmp_path, total_steps=3, every=2), quiet=True).setup()
    import shutil

    shutil.rmtree(tmp_path / "checkpoints" / "step_000003")
    assert resumed._resume() == 2
    assert controller_of(resumed).last_update == 1 and controller_of(resumed).updates == 1
    # ... and resuming step 3 recomputes the same targets the uninterrupted run chose
    resumed.cfg.trainer.total_steps = 3
    resumed.train()
    assert controller_of(resumed).state_dict() == c.state_dict()
    assert json.dumps(controller_of(resumed).targets) == json.dumps(c.targets)
    assert OmegaConf.select(resumed.cfg, "reward.every") == 2
