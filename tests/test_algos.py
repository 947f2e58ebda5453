"""Plugin estimators / losses live in verl's own registries; dispatch mirrors verl's trainer."""

import numpy as np
import pytest
import torch

from r1repro import algos

pytestmark = pytest.mark.verl


def test_plugin_components_are_found_through_verls_registry(registry):
    added = algos.ensure_registered(registry)
    assert isinstance(added, list)
    ca = algos.core_algos()
    assert ca.get_adv_estimator_fn("toy.centered") is registry.load("estimator", "toy.centered")
    assert ca.get_policy_loss_fn("toy.reinforce") is registry.load("policy_loss", "toy.reinforce")
    assert algos.ensure_registered(registry) == []  # idempotent


def _batch():
    rewards = torch.zeros(6, 4)
    rewards[torch.arange(6), 3] = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    mask = torch.ones(6, 4)
    index = np.array(["a", "a", "a", "b", "b", "b"], dtype=object)
    return rewards, mask, index


def test_grpo_dispatch_matches_verl_and_dr_grpo_drops_the_std():
    from verl.trainer.config import AlgoConfig
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

    rewards, mask, index = _batch()
    cfg = AlgoConfig(adv_estimator="grpo", norm_adv_by_std_in_grpo=True)
    ours, _ = algos.compute_advantage("grpo", rewards, mask, index, cfg)
    ref, _ = compute_grpo_outcome_advantage(rewards, mask, index, norm_adv_by_std_in_grpo=True)
    assert torch.allclose(ours, ref)
    # group a: scores (1,0,0): mean 1/3, sample std sqrt(1/3)
    assert ours[0, 0].item() == pytest.approx((1 - 1 / 3) / (np.sqrt(1 / 3) + 1e-6), rel=1e-5)
    dr = AlgoConfig(adv_estimator="grpo", norm_adv_by_std_in_grpo=False)
    ours_dr, _ = algos.compute_advantage("grpo", rewards, mask, index, dr)
    assert ours_dr[0, 0].item() == pytest.approx(2 / 3, rel=1e-6)
    assert torch.all(ours_dr[3:] == 0)  # a group of equal rewards has no signal


def test_side_info_reaches_only_estimators_that_ask_for_it(registry):
    from verl.trainer.config import AlgoConfig

    rewards, mask, index = _batch()
    cfg = AlgoConfig(adv_estimator="toy.centered")
    plain, _ = algos.compute_advantage("toy.centered", rewards, mask, index, cfg)
    side = {"toy_weight": np.array([2.0] * 6)}
    weighted, _ = algos.compute_advantage("toy.centered", rewards, mask, index, cfg, side_info=side)
    assert torch.allclose(weighted, 2 * plain)
    scaled, _ = algos.compute_advantage("toy.centered", rewards, mask, index, cfg, options={"scale": 3.0})
    assert torch.allclose(scaled, 3 * plain)
    assert algos.wants_side_info(registry.load("estimator", "toy.centered"))
    with pytest.raises(NotImplementedError, match="value model"):
        algos.compute_advantage("gae", rewards, mask, index, cfg)


def test_actor_config_carries_clip_higher_and_agg_mode():
    from r1repro.engine.config import ActorConfig

    a = algos.verl_actor_config(
        ActorConfig(clip_ratio_high=0.28, loss_agg_mode="seq-mean-token-sum-norm"), n=8, mini_batch_prompts=4
    )
    assert (a.clip_ratio_low, a.clip_ratio_high, a.loss_agg_mode) == (0.2, 0.28, "seq-mean-token-sum-norm")
    old = torch.zeros(1, 2)
    new = torch.log(torch.tensor([[1.5, 1.5]]))
    adv = torch.ones(1, 2)
    loss, m = algos.core_algos().get_policy_loss_fn("vanilla")(
        old, new, adv, torch.ones(1, 2), "token-mean", a, None
    )
    assert loss.item() == pytest.approx(-1.28, rel=1e-5)  # ratio 1.5 clipped at 1 + 0.28
    assert m["actor/pg_clipfrac"] == 1.0
