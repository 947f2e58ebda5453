"""360-R1 end to end in the local engine: a tiny Qwen2.5-VL on the generated panoramas, the three
rewards (TF-IDF embedder, so no model loads) and the accuracy-only reward, standard GRPO."""

from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("terms", [["reason", "answer", "format"], ["accuracy"]])
def test_two_grpo_steps_on_panoramas(tmp_path, terms):
    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine

    reward = {"name": "omni360.r1", "terms": terms, "embedder": "tfidf"}
    cfg = make_config({
        "model": {"path": "tiny-vl:nano"},
        "data": {"dataset": "omni360.synthetic", "template": "omni360.r1", "max_prompt_length": 256, "limit": 8},
        "rollout": {"n": 4, "max_new_tokens": 8, "temperature": 1.0}, "reward": reward,
        "algorithm": {"adv_estimator": "grpo"}, "actor": {"lr": 1e-3},
        "trainer": {"total_steps": 2, "batch_size": 2, "out_dir": str(tmp_path), "progress": False},
        "eval": {"limit": 3, "every": 0, "reward": {"name": "omni360.r1", "embedder": "tfidf"}},
    })  # fmt: skip
    out = LocalEngine(cfg, quiet=True).setup().train()
    assert out["steps"] == 2
    final = out["final_eval"]
    assert {"eval/correct", "eval/reason", "eval/format", "eval/accuracy"} <= set(final)
    assert 0.0 <= final["eval/correct"] <= 1.0
