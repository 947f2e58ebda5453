"""HCRMP plugin: Beta actor, multi-critic GAE, hint provider (ASR/CSA/SCM), LLM back-end, trainer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from r1repro_hcrmp import hints
from r1repro_hcrmp.agent import BetaActor, gae, weighted_advantage
from r1repro_hcrmp.hints import (
    HALLUCINATION_RATE,
    Hint,
    KnowledgeBase,
    LLMHintProvider,
    RuleHintProvider,
    SemanticCache,
    anchor,
    parse_hint,
)

from r1repro.testing import loopback_json_server

KIN_CLEAR = np.array([[1, 0.5, 0.0, 0.3, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=np.float32)
KIN_DANGER = np.array([[1, 0.5, 0.0, 0.3, 0], [1, 0.05, 0.0, -0.2, 0], [1, -0.1, 0.2, 0.0, 0]], dtype=np.float32)


# ----------------------------------------------------------------- constants
def test_hallucination_rate_is_one_minus_the_papers_non_hallucination_rate():
    assert hints.NON_HALLUCINATION_RATE == 0.5795
    assert HALLUCINATION_RATE == pytest.approx(0.4205)
    assert hints.SCENARIO_DIM == 4


# ----------------------------------------------------------------- Beta actor
def test_beta_actor_log_prob_matches_the_beta_density_on_the_action_square():
    torch.manual_seed(0)
    actor = BetaActor(3)
    obs, a = torch.randn(1, 3), torch.tensor([[0.2, -0.6]])
    d = actor.dist(obs)
    u = (a + 1) / 2
    alpha, beta = d.concentration1, d.concentration0
    manual = ((alpha - 1) * torch.log(u) + (beta - 1) * torch.log(1 - u)
              - (torch.lgamma(alpha) + torch.lgamma(beta) - torch.lgamma(alpha + beta)) - math.log(2)).sum()
    assert actor.log_prob(obs, a).item() == pytest.approx(manual.item(), abs=1e-5)
    assert bool((alpha > 1).all() and (beta > 1).all())


def test_beta_actor_entropy_and_actions_stay_in_range():
    actor = BetaActor(3)
    obs = torch.randn(64, 3)
    acts = actor.act(obs)
    assert acts.shape == (64, 2) and bool((acts.abs() <= 1).all())
    # the density on [-1,1] is the Beta's scaled by 1/2 per dim: entropy rises by log 2 per dim
    assert actor.entropy(obs)[0].item() == pytest.approx(actor.dist(obs).entropy()[0].sum().item() + 2 * math.log(2))


# ----------------------------------------------------------------- multi-critic GAE
def test_gae_per_critic_on_hand_computed_numbers():
    # two critics, three steps, gamma 0.5, lambda 0.5, terminal at the last step
    r = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    v = np.array([[0.5, 1.0], [1.0, 0.0], [0.0, 1.0]])
    nv = np.array([[1.0, 0.0], [0.0, 1.0], [9.0, 9.0]])  # the last is ignored: terminated
    done = np.array([[0.0], [0.0], [1.0]])
    adv, ret = gae(r, v, nv, done, done, gamma=0.5, lam=0.5)
    # critic 0: d2 = 1-0 = 1; d1 = 0+0.5*0-1 = -1; d0 = 1+0.5*1-0.5 = 1
    #           A2 = 1; A1 = -1 + 0.25*1 = -0.75; A0 = 1 + 0.25*(-0.75) = 0.8125
    np.testing.assert_allclose(adv[:, 0], [0.8125, -0.75, 1.0])
    # critic 1: d2 = 1-1 = 0; d1 = 2+0.5-0 = 2.5; d0 = 0+0-1 = -1 -> A = [-1+0.625, 2.5, 0]
    np.testing.assert_allclose(adv[:, 1], [-0.375, 2.5, 0.0])
    np.testing.assert_allclose(ret, adv + v)


def test_gae_truncation_bootstraps_and_cuts_the_sum():
    r, v = np.array([[0.0], [0.0]]), np.array([[0.0], [0.0]])
    nv = np.array([[4.0], [2.0]])
    adv, _ = gae(r, v, nv, dones=np.array([[0.0], [0.0]]), ends=np.array([[1.0], [0.0]]), gamma=0.5, lam=1.0)
    # step 0 ends an episode by truncation: bootstrap 0.5*4 and no carry-over from step 1
    np.testing.assert_allclose(adv[:, 0], [2.0, 1.0])


def test_weighted_advantage_is_the_weighted_sum_over_critics():
    adv = np.array([[1.0, -2.0, 4.0], [0.5, 0.5, 0.5]])
    np.testing.assert_allclose(weighted_advantage(adv, [0.5, 0.25, 0.25]), [0.5 - 0.5 + 1.0, 0.5])
    per_step = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    np.testing.assert_allclose(weighted_advantage(adv, per_step), [1.0, 1.0])


# ----------------------------------------------------------------- ASR, corruption, CSA, SCM
def test_asr_marks_the_critical_agent_ahead_and_raises_risk():
    s_clear, d_clear = hints.scene_features(KIN_CLEAR, topology=0.0)
    s_danger, d_danger = hints.scene_features(KIN_DANGER, topology=0.0)
    assert d_clear.sum() == 0 and s_clear[3] == 0
    assert d_danger[hints.DIRECTIONS.index("front")] == 1 and s_danger[3] > 0.5
    assert hints.rule_weights(s_danger)[0] > hints.rule_weights(s_clear)[0]
    assert hints.rule_action(s_danger) == "brake"


def test_rule_provider_corrupts_at_the_stated_rate():
    clean = RuleHintProvider(0.0, hallucination_rate=0.0, seed=1)
    assert not any(clean(KIN_DANGER).hallucinated for _ in range(50))
    noisy = RuleHintProvider(0.0, seed=1)
    rate = np.mean([noisy(KIN_DANGER).hallucinated for _ in range(4000)])
    assert rate == pytest.approx(HALLUCINATION_RATE, abs=0.03)
    bad = RuleHintProvider(0.0, hallucination_rate=1.0, seed=1)(KIN_DANGER)
    assert bad.action == "accelerate" and bad.weights.sum() == pytest.approx(1.0, abs=1e-5)


def test_anchor_replaces_a_far_hint_and_blends_a_close_one():
    kb = KnowledgeBase.grid(0.0)
    kb_w = kb.nearest(np.array([0.0, 0.5, 0.0, 1.0], np.float32))
    np.testing.assert_allclose(kb_w, hints.rule_weights(np.array([0, 0.5, 0, 1.0])))
    far = np.array([0.0, 0.1, 0.9], np.float32)
    np.testing.assert_allclose(anchor(far, kb_w, tau=0.3), kb_w)
    close = kb_w + np.array([0.05, -0.05, 0.0], np.float32)
    np.testing.assert_allclose(anchor(close, kb_w, tau=0.3, beta=0.5), kb_w + np.array([0.025, -0.025, 0.0]), atol=1e-6)


def test_cache_calls_every_k_steps_and_serves_the_last_valid_hint():
    answers = iter([Hint(np.zeros(4), np.zeros(4), np.ones(3) / 3, "keep"), None, None, None])
    cache = SemanticCache(lambda kin: next(answers), k=5, latency=1)
    served = [cache.get(KIN_CLEAR) for _ in range(20)]
    assert cache.calls == 4 and cache.served == 20
    assert served[0] is None  # the first answer arrives one step later
    assert all(h is served[1] for h in served[1:])  # invalid later answers keep the cached hint
    assert cache.stale_sum == sum(range(1, 20))


def test_parse_hint_rejects_malformed_replies():
    ok = parse_hint('sure: {"scenario": [0,0.5,0.2,0.9], "directions": ["front"], "weights": [2,1,1], "action": "brake"}')
    assert ok is not None and ok.weights[0] == pytest.approx(0.5) and ok.directions[0] == 1 and ok.action == "brake"
    for bad in ("", "no json", '{"scenario": [1,2], "weights": [1,1,1]}', '{"scenario": [0,0,0,0], "weights": [0,0,0]}'):
        assert parse_hint(bad) is None


# ----------------------------------------------------------------- LLM back-end (stub OpenAI server)
def test_llm_provider_through_the_judge_against_a_local_openai_stub():
    requests: list[dict] = []
    hint = json.dumps({"scenario": [0, 0.4, 0.1, 0.8], "directions": ["front", "left"],
                       "weights": [0.6, 0.3, 0.1], "action": "brake"})  # fmt: skip

    def reply(path: str, body: dict):
        requests.append(body)
        return 200, {"choices": [{"message": {"content": hint}}]}

    with loopback_json_server(reply) as url:
        prov = LLMHintProvider({"backend": "openai", "model": "stub", "base_url": f"{url}/v1", "timeout_s": 5,
                                "max_retries": 0})  # fmt: skip
        cache = SemanticCache(prov, k=5, latency=0)
        got = [cache.get(KIN_DANGER) for _ in range(10)]
    assert len(requests) == 2 == cache.calls  # bounded: one request per cache period
    assert "car1" in requests[0]["messages"][0]["content"]
    np.testing.assert_allclose(got[-1].weights, [0.6, 0.3, 0.1], atol=1e-6)
    assert got[0].action == "brake" and got[0].directions.tolist() == [1, 0, 1, 0]


# ----------------------------------------------------------------- environment, plugin, trainer
def test_env_is_seeded_and_merge_fails_with_one_clear_line():
    from r1repro_hcrmp.env import DrivingEnv

    env = DrivingEnv("highway-v0", duration=5)
    a, b = env.reset(3), env.reset(3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (env.obs_dim,)
    out = env.step(np.array([2.0, 0.0]))  # clipped into [-1, 1]
    assert out.obs.shape == a.shape
    raw = DrivingEnv("highway-v0", duration=5, lane_keeping=False)
    raw.reset(4)
    for _ in range(5):  # full steer without the lane keeper: the ego leaves the road (a failure)
        out = raw.step(np.array([0.0, 1.0]))
        if out.done:
            break
    assert out.done and out.offroad and not out.crashed
    with pytest.raises(ValueError, match="merge-v0"):
        DrivingEnv("merge-v0")


def _lateral_offset(env):
    v = env.env.unwrapped.vehicle
    return float(v.road.network.get_lane(v.lane_index).local_coordinates(v.position)[1]), v.lane_index[2]


@pytest.mark.parametrize("steer", [0.0, 1.0, -1.0])
def test_the_lane_keeper_holds_the_lane_and_steer_moves_within_it(steer):
    from r1repro_hcrmp.env import DrivingEnv

    env = DrivingEnv("highway-v0", duration=12, traffic=1)  # alone on the road: nothing to collide with
    env.reset(3)
    lane0 = _lateral_offset(env)[1]
    for _ in range(12):
        out = env.step(np.array([0.0, steer]))
        assert not out.offroad and not out.crashed
        y, lane = _lateral_offset(env)
        assert lane == lane0
    assert y == pytest.approx(1.5 * steer, abs=0.1)  # the residual's equilibrium offset (RESIDUAL_STEERING)
    assert out.done and out.truncated  # the whole duration, on the road


def test_success_needs_the_whole_episode_on_the_road_and_progress():
    from r1repro_hcrmp.trainer import episode_success

    assert episode_success(False, False, 24.0, (20.0, 30.0))
    assert not episode_success(True, False, 24.0, (20.0, 30.0))
    assert not episode_success(False, True, 24.0, (20.0, 30.0))
    assert not episode_success(False, False, 9.0, (20.0, 30.0))  # braking to a halt is not a success


def test_plugin_registers_the_environment_and_the_reproduction():
    from r1repro.registry import load_plugins

    reg = load_plugins()
    assert "hcrmp.driving" in reg.names("environment") and "hcrmp" in reg.names("reproduction")
    assert reg.build("reproduction", "hcrmp").arxiv == "2505.15793"


@pytest.mark.slow
def test_trainer_smoke_writes_metrics_and_resumes(tmp_path):
    from r1repro_hcrmp.trainer import TrainConfig, Trainer

    cfg = TrainConfig(iterations=2, rollout_steps=16, minibatch=8, epochs=1, eval_episodes=1, save_every=1, duration=8)
    tr = Trainer("hcrmp", 0, cfg, tmp_path)
    hist = tr.train()
    assert [h["step"] for h in hist] == [1, 2]
    assert all(math.isfinite(h["policy_loss"]) and 0 < h["llm_calls_per_step"] < 1 for h in hist)
    cfg.iterations = 3
    resumed = Trainer("hcrmp", 0, cfg, tmp_path)
    assert resumed.iteration == 2
    assert [h["step"] for h in resumed.train()] == [1, 2, 3]
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 3
    ev = resumed.evaluate(tmp_path / "frames", frame_steps=1)
    assert ev[0]["steps"] >= 1 and (tmp_path / "frames" / "hcrmp_step00.png").exists()
