"""HGPO through the core's local engine (rollout hook + group reward + side_info estimator), and the
reproduction's configs."""

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from r1repro.engine.config import make_config
from r1repro.engine.local import LocalEngine, read_metrics

REPRO = Path(__file__).resolve().parents[3] / "reproductions" / "hgpo"


def small_config(tmp_path, **over):
    cfg = make_config({
        "model": {"path": "tiny:nano", "sft": {"enabled": True, "steps": 30, "examples": 200, "lr": 0.005}},
        "data": {"dataset": "hgpo.compose", "template": "hgpo.hybrid", "max_prompt_length": 48},
        "reward": "hgpo.reward",
        "rollout": {"strategy": {"name": "hgpo.mode_forced", "choose": "tags"}, "n": 4, "max_new_tokens": 12},
        "algorithm": {"adv_estimator": "hgpo"},
        "actor": {"lr": 0.0005, "clip_ratio": 0.5, "use_kl_loss": True, "kl_loss_coef": 0.001},
        "trainer": {"total_steps": 2, "batch_size": 4, "save_every": 2, "progress": False, "threads": 1,
                    "out_dir": str(tmp_path / "run")},
        "eval": {"limit": 8, "every": 2, "reward": "core.exact_match"},
    })  # fmt: skip
    return OmegaConf.merge(cfg, OmegaConf.create(over))


def test_two_hgpo_steps_and_the_hacc_protocol(tmp_path, monkeypatch):
    from r1repro_hgpo.hacc import evaluate_hybrid, record_items

    from r1repro import algos
    from r1repro.registry import get_registry

    eng = LocalEngine(small_config(tmp_path), quiet=True)
    seen, original = {}, algos.compute_advantage

    def spy(name, *a, **k):
        seen["side_info"] = a[4]
        return original(name, *a, **k)

    monkeypatch.setattr(algos, "compute_advantage", spy)
    eng.train()
    si = seen["side_info"]
    assert {"r_inter", "r_intra", "mode", "tag_tokens"} <= set(si)
    assert list(si["mode"][:4]) == ["think", "think", "no_think", "no_think"]
    assert np.isfinite(si["r_inter"].astype(float)).all()
    hist = read_metrics(tmp_path / "run")
    assert hist[-1]["reward/mode_is_think"] == 0.5 and "eval/correct" in hist[-1]
    m, recs = evaluate_hybrid(eng, eng.eval_rows, get_registry().build("reward", "core.exact_match"), k=2)
    assert len(recs) == 8 and 0.0 <= m["hacc"] <= 1.0 and "untagged_free" in m
    assert all(r["chosen"] in ("think", "no_think") for r in recs)  # chosen between the tags
    # free decoding: an untagged plain decode can never match the ideal mode
    assert m["hacc_free"] <= 1.0 - m["untagged_free"] + 1e-9
    items = record_items(recs)
    for key in ("hacc", "hacc_free", "correct", "length", "think_rate"):
        assert len(items[key]) == 8 and abs(np.mean(list(items[key].values())) - m[key]) < 1e-9
    for d in {r["difficulty"] for r in recs}:
        assert abs(np.mean(list(items[f"hacc_{d}"].values())) - m[f"hacc_{d}"]) < 1e-9


def test_reproduction_configs_compose(tmp_path):
    from r1repro.repro.claims import load_claims
    from r1repro.repro.run import compose_config

    cfg = compose_config(REPRO, "cpu", [])
    assert list(cfg.arms) == ["hft", "hgpo", "hgpo_delta0", "grpo"] and len(cfg.seeds) >= 3
    assert cfg.arms.hgpo_delta0.reward.delta == 0.0  # the δ = 0 control: only the margin differs from hgpo
    assert cfg.arms.hgpo_delta0.algorithm == cfg.arms.hgpo.algorithm
    from r1repro.registry import get_registry
    from r1repro.repro.run import ReproRun

    run = ReproRun("hgpo", "cpu", cfg, tmp_path, None, get_registry(), quiet=True)
    built = {a: get_registry().build("reward", run.engine_config(a, 0).reward) for a in ("hgpo", "hgpo_delta0")}
    assert built["hgpo"].delta == pytest.approx(0.2) and built["hgpo_delta0"].delta == 0.0
    assert cfg.arms.hft.trainer.total_steps == 0
    assert cfg.engine.actor.clip_ratio == 0.5 and cfg.engine.actor.kl_loss_coef == 0.001
    assert cfg.engine.rollout.n == 4 and cfg.engine.algorithm.adv_estimator == "hgpo"
    paper = compose_config(REPRO, "paper", []).verl
    assert paper.overrides["algorithm.adv_estimator"] == "hgpo"
    assert paper.overrides["trainer.v1.trainer_mode"] == "r1repro_sync"
    assert paper.overrides["actor_rollout_ref.actor.optim.lr"] == pytest.approx(1e-6)
    assert (
        paper.overrides["data.train_batch_size"] == 256
        and paper.overrides["actor_rollout_ref.rollout.n"] == 4
    )
    _, claims = load_claims(REPRO / "claims.yaml")
    assert {c.id for c in claims} >= {"hacc_gain", "accuracy_kept"}


def test_every_arm_dispatches_its_estimator_with_its_options(tmp_path):
    """Each arm's merged engine config (base + arm, as ReproRun.engine_config builds it) runs its
    advantage estimator with its own options: e.g. the grpo control must not inherit hgpo's."""
    import torch

    from r1repro import algos
    from r1repro.repro.run import ReproRun, compose_config

    cfg = compose_config(REPRO, "cpu", [])
    run = ReproRun(name="hgpo", scale="cpu", cfg=cfg, out_dir=tmp_path, reproduction=None, registry=None)
    side = {"r_inter": np.array([1.0, 1.0, 0.0, 0.0]), "r_intra": np.array([1.0, 0.0, 1.0, 1.0]),
            "mode": np.array(["think", "think", "no_think", "no_think"], dtype=object),
            "mode_is_think": np.array([1.0, 1.0, 0.0, 0.0])}  # fmt: skip
    for arm in ("hgpo", "grpo"):
        ecfg = run.engine_config(arm, 0)
        rewards = torch.zeros(4, 3)
        rewards[:2, -1] = 1.0
        adv, _ = algos.compute_advantage(ecfg.algorithm.adv_estimator, rewards, torch.ones(4, 3),
                                         np.array(["q"] * 4, dtype=object), ecfg.algorithm, side_info=side,
                                         options=dict(ecfg.algorithm.estimator_options or {}))  # fmt: skip
        assert torch.isfinite(adv).all() and adv.abs().sum() > 0, arm
    assert run.engine_config("hgpo", 0).algorithm.estimator_options["alpha"] == 1.0
