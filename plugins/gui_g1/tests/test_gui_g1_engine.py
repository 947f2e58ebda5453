"""GUI-G1 end to end in the local engine: a tiny Qwen2.5-VL, the generated task, the plugin's
estimator and loss (the difficulty weight reaches the estimator through side information)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
def test_two_grpo_steps_with_gui_g1_objective(tmp_path, monkeypatch):
    import r1repro_gui_g1.objective as obj

    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine

    seen = []
    real = obj.gui_g1_advantage

    def spy(*a, side_info=None, **k):
        seen.append(None if side_info is None else list(side_info.get("rate", [])))
        return real(*a, side_info=side_info, **k)

    spy.r1repro_side_info = True  # as @estimator(side_info=True) marks the real one

    cfg = make_config({
        "model": {"path": "tiny-vl:nano"},
        "data": {"dataset": "gui_g1.synthetic", "template": "gui_g1.fast", "max_prompt_length": 256},
        "rollout": {"n": 4, "max_new_tokens": 6, "temperature": 0.9}, "reward": "gui_g1.grounding",
        "algorithm": {"adv_estimator": "gui_g1"}, "actor": {"policy_loss": "gui_g1.token_sum", "lr": 1e-3},
        "trainer": {"total_steps": 2, "batch_size": 2, "out_dir": str(tmp_path), "progress": False},
        "eval": {"limit": 2, "every": 0},
    })  # fmt: skip
    eng = LocalEngine(cfg, quiet=True).setup()
    from r1repro import algos

    monkeypatch.setitem(algos.core_algos().ADV_ESTIMATOR_REGISTRY, "gui_g1", spy)
    monkeypatch.setattr(algos, "ensure_registered", lambda *a, **k: [])
    out = eng.train()
    assert out["steps"] == 2
    assert seen and all(
        r is not None and len(r) == 8 and all(1.0 <= float(x) <= 2.0 for x in r) for r in seen
    )
    assert "eval/box_ratio" in out["final_eval"] or "eval/hit" in out["final_eval"]


def test_seeds_vlm_warm_starts_train_side_by_side_with_the_weights_of_one_at_a_time(tmp_path, monkeypatch):
    """The runner trains a reproduction's VLM warm starts (one per seed) in worker processes, one
    thread each: the same weights as training them one after another in this process."""
    import torch
    from safetensors.torch import load_file

    from r1repro.engine.config import make_config
    from r1repro.models.sft import warm_start
    from r1repro.models.tiny import resolve_model
    from r1repro.registry import get_registry
    from r1repro.repro.run import _prepare_shared

    def cfg(seed: int):
        return make_config({
            "model": {"path": "tiny-vl:nano", "init_seed": seed,
                      "sft": {"enabled": True, "steps": 2, "examples": 6, "batch_size": 2, "seed": seed}},
            "data": {"dataset": "gui_g1.synthetic", "template": "gui_g1.fast", "max_prompt_length": 256},
        })  # fmt: skip

    def weights(path: str) -> dict:
        return load_file(str(next(Path(path).glob("*.safetensors"))))

    monkeypatch.setenv("R1REPRO_CACHE", str(tmp_path / "side"))
    _prepare_shared([cfg(0), cfg(1), cfg(0)], get_registry(), log=lambda m: None)
    side = {s: warm_start(cfg(s).model, cfg(s).model.sft, cfg(s).data, get_registry()) for s in (0, 1)}
    monkeypatch.setenv("R1REPRO_CACHE", str(tmp_path / "alone"))
    alone = {}
    for s in (0, 1):
        resolve_model("tiny-vl:nano", seed=s)
        alone[s] = warm_start(cfg(s).model, cfg(s).model.sft, cfg(s).data, get_registry(), quiet=True)
    for s in (0, 1):
        assert side[s].startswith(str(tmp_path / "side")) and alone[s].startswith(str(tmp_path / "alone"))
        a, b = weights(side[s]), weights(alone[s])
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(v, weights(side[1])[k]) for k, v in weights(side[0]).items())
