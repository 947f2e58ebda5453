"""GUI-G1's objective changes, as verl estimator and policy loss (official ``trainer/grpo_trainer.py``).

    A_i = w_i * (R_i - mean_group(R))   the std division is commented out ("## Fix", grpo_trainer.py:645-647)
    L   = mean_i [ w_i * sum_t m_it * l_it / 64 ]   compute_loss ("## FIX", grpo_trainer.py:739)

(Yuqi-Zhou/GUI-G1 @ e581fe9, ``src/open-r1-multimodal/src/open_r1/trainer/``)

with l_it the PPO-clip token loss (epsilon 0.2) and w_i the per-sample difficulty weight
(``rates``, a field of the training JSON). Because w_i > 0, w * min(rho A, clip(rho) A) =
min(rho wA, clip(rho) wA): the weight is folded into the advantage (`gui_g1_advantage`, which
reads ``rate`` from side information; without it, e.g. under verl's stock trainer, every
weight is 1) and the loss (`token_sum_loss`) only replaces the aggregation.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from r1repro.algos import estimator, policy_loss

LOSS_DIVISOR = 64
"""The constant that replaces 1/|o_i| (grpo_trainer.py:739 ``.sum(dim=1) * rates / 64``)."""
CLIP_EPS = 0.2
"""PPO clip range (grpo_config.py:245-246 ``epsilon`` default 0.2; run.sh does not set it). With
``num_iterations`` 1 (grpo_config.py:241) the ratio is 1 and clipping never fires."""


@estimator("gui_g1", side_info=True)
def gui_g1_advantage(token_level_rewards, response_mask, index, config=None, side_info=None,
                     difficulty_weight: bool = True, **_):  # fmt: skip
    """A_i = w_i (R_i - mean of R over the group of i), broadcast over the response tokens."""
    scores = token_level_rewards.sum(-1)
    groups: dict[object, list[int]] = defaultdict(list)
    for i, g in enumerate(index):
        groups[g].append(i)
    adv = torch.zeros_like(scores)
    for members in groups.values():
        idx = torch.tensor(members)
        adv[idx] = scores[idx] - scores[idx].mean()
    if difficulty_weight and side_info is not None and "rate" in side_info:
        rate = np.asarray(side_info["rate"], dtype=np.float64)
        adv = adv * torch.as_tensor(rate, dtype=adv.dtype, device=adv.device)
    adv = adv.unsqueeze(-1) * response_mask
    return adv, adv


@policy_loss("gui_g1.token_sum")
def token_sum_loss(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode="token-mean", config=None,
                   rollout_is_weights=None, divisor: float = LOSS_DIVISOR):  # fmt: skip
    """PPO-clip token loss, summed over each response, divided by ``divisor``, averaged over responses."""
    eps = CLIP_EPS
    if config is not None:
        eps = getattr(config, "clip_ratio", None) or eps
    ratio = torch.exp(log_prob - old_log_prob)
    clipped = torch.clamp(ratio, 1 - eps, 1 + eps)
    per_token = -torch.min(ratio * advantages, clipped * advantages)
    if rollout_is_weights is not None:
        per_token = per_token * rollout_is_weights
    loss = ((per_token * response_mask).sum(-1) / divisor).mean()
    with torch.no_grad():
        n_tok = response_mask.sum().clamp(min=1)
        frac = ((ratio * advantages > clipped * advantages).float() * response_mask).sum() / n_tok
        kl = ((old_log_prob - log_prob.detach()) * response_mask).sum() / n_tok
    return loss, {"actor/pg_clipfrac": float(frac), "actor/ppo_kl": float(kl)}
