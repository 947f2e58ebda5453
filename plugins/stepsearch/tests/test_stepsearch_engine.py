"""One PPO-with-critic step of the local engine on the search task (integration)."""

from __future__ import annotations

import math

import pytest


@pytest.mark.slow
def test_ppo_with_critic_runs_a_multi_turn_search_step(tmp_path):
    import torch

    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine

    cfg = make_config({
        "model": {"path": "tiny:nano"},
        "data": {"dataset": "stepsearch.world", "template": "stepsearch.cpu", "max_prompt_length": 64},
        "rollout": {"strategy": "core.multi_turn", "n": 2, "max_new_tokens": 48,
                    "environment": {"name": "stepsearch.search", "corpus": {"world_seed": 0}, "topk": 2, "max_turns": 2}},
        "reward": "stepsearch.step",
        "algorithm": {"adv_estimator": "gae", "use_kl_in_reward": True, "kl_coef": 0.001},
        "actor": {"entropy_coeff": 0.001},
        "trainer": {"total_steps": 1, "batch_size": 2, "threads": 1, "progress": False, "save_every": 1},
        "eval": {"limit": 0},
    })  # fmt: skip
    eng = LocalEngine(cfg, out_dir=tmp_path, quiet=True)
    out = eng.train()
    from r1repro.engine.local import read_metrics

    (m,) = read_metrics(tmp_path)
    assert math.isfinite(m["critic/vf_loss"]) and math.isfinite(m["actor/pg_loss"])
    assert "reward/searches" in m and "reward/redundancy_rate" in m
    state = torch.load(next((tmp_path / "checkpoints").glob("step_*")) / "state.pt", weights_only=False)
    assert "critic" in state["components"] and out["steps"] == 1
