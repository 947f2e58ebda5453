"""The reproduction's configs: arms, claims and the paper preset against the official values."""

from __future__ import annotations

from r1repro_stepsearch.constants import PAPER_PPO

from r1repro.paths import repo_root
from r1repro.repro.run import compose_config


def _cfg(scale):
    return compose_config(repo_root() / "reproductions" / "stepsearch", scale, [])


def test_arms_differ_only_in_the_reward_and_all_use_ppo_with_a_critic():
    cfg = _cfg("cpu")
    assert {a: dict(v) for a, v in cfg.arms.items()} == {
        "stepsearch": {"reward": "stepsearch.step"}, "ppo_global": {"reward": "stepsearch.global"},
        "search_r1": {"reward": "stepsearch.outcome_em"}}  # fmt: skip
    assert cfg.engine.algorithm.adv_estimator == "gae" and cfg.engine.algorithm.lam == 1.0
    assert cfg.engine.rollout.environment.name == "stepsearch.search"


def test_paper_preset_matches_the_official_script():
    e, o = _cfg("paper").engine, dict(_cfg("paper").verl.overrides)
    p = PAPER_PPO
    assert e.trainer.batch_size == o["data.train_batch_size"] == p["train_batch_size"]
    assert (
        e.actor.mini_batch_size
        == o["actor_rollout_ref.actor.ppo_mini_batch_size"]
        == p["ppo_mini_batch_size"]
    )
    assert e.actor.lr == o["actor_rollout_ref.actor.optim.lr"] == p["actor_lr"]
    assert e.critic.lr == o["critic.optim.lr"] == p["critic_lr"]
    assert e.algorithm.kl_coef == o["algorithm.kl_ctrl.kl_coef"] == p["kl_coef"]
    assert e.actor.entropy_coeff == o["actor_rollout_ref.actor.entropy_coeff"] == p["entropy_coeff"]
    # verl's response budget covers every turn (official: a per-turn cap over max_turns + 1 turns)
    assert o["data.max_response_length"] == p["max_response_length"] * (p["max_turns"] + 1)
    loop = _cfg("paper").verl.agent_loop  # the paper's own tags inside verl, not <tool_call> JSON
    assert loop._target_.endswith("EnvironmentAgentLoop") and loop.environment.name == "stepsearch.search"
    assert loop.environment.max_turns == p["max_turns"] and loop.environment.topk == p["topk"]
    assert o["trainer.v1.trainer_mode"] == "r1repro_sync"  # places the step rewards before GAE
    assert e.rollout.environment.max_turns == p["max_turns"] and e.rollout.environment.topk == p["topk"]
    assert o["algorithm.adv_estimator"] == "gae" and o["critic.cliprange_value"] == p["cliprange_value"]


def test_cpu_budgets_fit_a_worked_episode():
    """The warm start must see whole worked episodes (answer included) and a rollout must have
    room for one: both budgets cover the longest 3-hop solution of the CPU preset."""
    from r1repro_stepsearch.data import WorldDataset

    from r1repro.models.sft import response_tokens
    from r1repro.models.tiny import load_tokenizer

    e = _cfg("cpu").engine
    ds = WorldDataset(three_hop_share=1.0, topk=e.data.dataset.topk)
    tok = load_tokenizer()
    segs = [ds.solution(r, None) for r in ds.load("train", limit=200)]
    # the SFT sees the whole episode (its EOS is trained, the response was not cut) ...
    for s in segs:
        ids, labels = response_tokens(tok, s, e.model.sft.max_response_length)
        assert len(ids) == sum(len(tok(t)["input_ids"]) for t, _ in s) + 1 and labels[-1] == tok.eos_token_id
    longest = max(sum(len(tok(t)["input_ids"]) for t, _ in s) for s in segs) + 1
    assert longest <= e.rollout.max_new_tokens
    # ... and a rollout shows every observation whole, as the warm start saw it
    obs = max(len(tok(t)["input_ids"]) for s in segs for t, trained in s if not trained)
    assert obs <= e.rollout.environment.max_observation_tokens


def test_hop_metrics_keep_each_question_so_intervals_include_evaluation_error():
    """The test-set metrics are recorded with one item per question (keyed by its id, the same in
    every arm of a seed), so compare claims pair question by question and their intervals carry the
    evaluation-sampling error, not only the spread over seeds."""
    from r1repro_stepsearch.reproduction import hop_metrics

    from r1repro.types import RewardResult, Sample

    doms = ["2-hop", "3-hop", "2-hop", "2-hop"]
    em = [1.0, 0.0, 0.0, 1.0]
    samples = [Sample(response="", domain=d) for d in doms]
    results = [RewardResult(e, {"em": e, "f1": e / 2, "searches": 2.0, "redundancy_rate": 0.0}) for e in em]
    means, items = hop_metrics(["q0", "q1", "q2", "q3"], samples, results)
    assert items["em@all"] == {"q0": 1.0, "q1": 0.0, "q2": 0.0, "q3": 1.0}
    assert items["em@2-hop"] == {"q0": 1.0, "q2": 0.0, "q3": 1.0} and items["em@3-hop"] == {"q1": 0.0}
    assert means["em@all"] == 0.5 and means["f1@all"] == 0.25 and abs(means["em@2-hop"] - 2 / 3) < 1e-12
    assert set(means) == set(items)
