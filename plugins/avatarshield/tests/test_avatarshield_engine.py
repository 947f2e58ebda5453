"""AvatarShield end to end in the local engine: the rollout hook rolls out a shuffled-frame group
per prompt (G/2 responses, paired by group id, never trained on) and the reward sees it."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_engine_rolls_out_a_shuffled_group(tmp_path):
    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine

    cfg = make_config({
        "model": {"path": "tiny-vl:nano"},
        "data": {"dataset": {"name": "avatarshield.synthetic", "n_frames": 3}, "template": "avatarshield.detect",
                 "max_prompt_length": 384, "limit": 8},
        "rollout": {"strategy": "avatarshield.temporal_rollout", "n": 4, "max_new_tokens": 6, "temperature": 1.0},
        "reward": "avatarshield.detection", "actor": {"lr": 1e-4},
        "trainer": {"total_steps": 1, "batch_size": 2, "out_dir": str(tmp_path), "progress": False},
        "eval": {"limit": 2, "every": 0},
    })  # fmt: skip
    eng = LocalEngine(cfg, quiet=True).setup()
    trajs, samples = eng.generate_samples(eng.train_rows[:2], 4, step=1)
    assert len(trajs) == 8  # only the ordered responses are trajectories (trained on)
    for t in trajs:
        assert len(t.meta["shuffled_responses"]) == 2  # G/2 per prompt
        assert sorted(t.meta["shuffle_order"]) == [0, 1, 2]
    same_group = [t for t in trajs if t.group_id == trajs[0].group_id]
    assert all(t.meta["shuffled_responses"] == same_group[0].meta["shuffled_responses"] for t in same_group)
    results = eng.reward(samples)
    assert all("shuffled_acc" in r.info and "temporal_bonus" in r.info for r in results)
    _, ev = eng.generate_samples(eng.eval_rows, 1, step=10**8, temperature=0.0, evaluation=True)
    assert all("shuffled_responses" not in s.meta for s in ev)  # evaluation is not perturbed
    m = eng.train_step(1)
    assert "reward/temporal_bonus" in m and "reward/shuffled_acc" in m
