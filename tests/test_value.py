"""PPO with a critic in the local engine: verl's GAE over dense rewards and observation masks,
and a critic that learns to credit the earlier of two actions."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from r1repro.engine.config import CriticConfig
from r1repro.engine.local import collate
from r1repro.engine.value import Critic, gae
from r1repro.types import RewardResult, Row, Trajectory


def test_gae_credits_each_step_reward_to_the_tokens_before_it_and_skips_observations():
    # 6 response tokens: policy 0-1 (first search ends at 1), observation 2-3, policy 4-5 (answer)
    mask = torch.tensor([[1.0, 1, 0, 0, 1, 1]])
    rewards = torch.tensor([[0.0, 0.3, 0, 0, 0, 1.0]])
    rewards2 = torch.tensor([[0.0, -0.3, 0, 0, 0, 1.0]])
    values = torch.zeros(1, 6)
    # whitening is over the batch: compare the raw returns (= advantages + values, values 0)
    _, ret = gae(torch.cat([rewards, rewards2]), torch.zeros(2, 6), torch.cat([mask, mask]), 1.0, 1.0)
    assert ret[0, [0, 1, 4, 5]].tolist() == pytest.approx([1.3, 1.3, 1.0, 1.0])
    assert ret[1, [0, 1, 4, 5]].tolist() == pytest.approx(
        [0.7, 0.7, 1.0, 1.0]
    )  # only the early tokens change
    # a value on an observation token is ignored (verl skips values and TD errors there)
    v_obs = values.clone()
    v_obs[0, 2:4] = 5.0
    _, r1 = gae(rewards, values, mask, 1.0, 1.0)
    _, r2 = gae(rewards, v_obs, mask, 1.0, 1.0)
    assert torch.allclose(r1[0, [0, 1, 4, 5]], r2[0, [0, 1, 4, 5]])


def _two_action_batch(tok_a: int, tok_b: int, filler: int, prompt: list[int], n: int = 8):
    """Half the responses start with action a (reward 1 at the end), half with b (reward 0);
    the second action is the same filler token in both."""
    row = Row(id="t", problem="", ground_truth=None, data_source="toy")
    trajs, results = [], []
    for i in range(n):
        first = tok_a if i % 2 == 0 else tok_b
        trajs.append(Trajectory(row=row, group_id="g", prompt_ids=prompt, response_ids=[first, filler],
                                loss_mask=[1, 1], response_text=""))  # fmt: skip
        results.append(RewardResult(1.0 if first == tok_a else 0.0))
    return collate(trajs, results, pad_id=0)


@pytest.mark.slow
def test_critic_learns_to_credit_the_earlier_action():
    from r1repro.models.tiny import load_policy

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few hundred tiny forwards: thread overhead dominates
    policy, _ = load_policy("tiny:nano", seed=0)
    cfg = OmegaConf.structured(CriticConfig(lr=3e-3, cliprange_value=10.0))
    critic = Critic(policy, cfg, ppo_epochs=1, mini_batch=1, n=8)
    batch = _two_action_batch(40, 41, 42, [50, 51, 52])
    mask, rewards = batch["response_mask"], batch["token_level_scores"]
    for step in range(80):
        values = critic.values(batch)
        adv, returns = gae(rewards, values, mask, 1.0, 1.0)
        critic.update(batch, values, returns, step)
    values = critic.values(batch)
    adv, _ = gae(rewards, values, mask, 1.0, 1.0)
    torch.set_num_threads(threads)
    # after the first action the outcome is known: the second action's advantage vanishes,
    # the first action's carries the credit (+ for a, - for b)
    first, second = adv[:, 0], adv[:, 1]
    assert second.abs().mean() < 0.25 * first.abs().mean()
    assert (first[0::2] > 0).all() and (first[1::2] < 0).all()
    assert values[0::2, 1].mean() == pytest.approx(1.0, abs=0.15) and values[1::2, 1].mean() == pytest.approx(
        0.0, abs=0.15
    )
