"""The HCRMP agent: a Beta-distribution actor, one critic per objective, PPO-style updates.

HCRMP §3 (policy): the action (throttle/brake, steer) in [-1, 1]^2 is drawn from a Beta
distribution on [0, 1]^2 and mapped by a = 2u - 1. §3 (CSA): several critics, one per objective,
combined by weights w_k into the policy's advantage, A = sum_k w_k A_k. The critic set
(safety, efficiency, comfort) is [unverified] (fact sheet §5).

GAE is computed here per critic with a bootstrap on truncation and without whitening: verl's
``compute_gae_advantage_return`` (core ``engine.value.gae``) whitens each advantage and assumes
V = 0 after the last token, which would erase the scale the weights w_k are meant to trade off.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

CRITICS = ("safety", "efficiency", "comfort")
"""[unverified] the paper names multiple critics but not the set (fact sheet §5)."""


class BetaActor(nn.Module):
    """A small MLP -> Beta(alpha, beta) per action dimension, alpha, beta > 1 (unimodal)."""

    def __init__(self, obs_dim: int, act_dim: int = 2, hidden: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.head = nn.Linear(hidden, 2 * act_dim)

    def dist(self, obs: torch.Tensor) -> torch.distributions.Beta:
        ab = nn.functional.softplus(self.head(self.body(obs))) + 1.0
        alpha, beta = ab.chunk(2, dim=-1)
        return torch.distributions.Beta(alpha, beta)

    def log_prob(self, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """Log-density of actions in [-1, 1]: Beta log-prob of u = (a + 1) / 2 minus log 2 per dim."""
        u = ((action + 1.0) / 2.0).clamp(1e-6, 1 - 1e-6)
        return (self.dist(obs).log_prob(u) - np.log(2.0)).sum(-1)

    def entropy(self, obs: torch.Tensor) -> torch.Tensor:
        return (self.dist(obs).entropy() + np.log(2.0)).sum(-1)

    def act(self, obs: torch.Tensor, greedy: bool = False) -> torch.Tensor:
        d = self.dist(obs)
        u = d.mean if greedy else d.sample()
        return 2.0 * u - 1.0


class MultiCritic(nn.Module):
    """One value head per critic on a shared MLP body: V_k(s) for k in ``critics``."""

    def __init__(self, obs_dim: int, n_critics: int = len(CRITICS), hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                 nn.Linear(hidden, n_critics))  # fmt: skip

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs)


def gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray, dones: np.ndarray,
        ends: np.ndarray, gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """GAE over a trajectory buffer, per column (critic). ``dones[t]``: the episode terminated at
    t (no bootstrap); ``ends[t]``: the episode ended at t (terminated or truncated: the GAE sum
    stops); at a truncation ``next_values[t]`` is the bootstrap.
    Returns (advantages, returns), both shaped like ``rewards`` [T, K]."""
    T = rewards.shape[0]
    adv = np.zeros_like(rewards, dtype=np.float64)
    last = np.zeros(rewards.shape[1:], dtype=np.float64)
    for t in reversed(range(T)):
        nonterminal = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_values[t] * nonterminal - values[t]
        cont = 1.0 - ends[t]
        last = delta + gamma * lam * cont * last
        adv[t] = last
    return adv, adv + values


def weighted_advantage(advantages: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """HCRMP §3 (CSA): A_t = sum_k w_{t,k} A_{t,k}; ``weights`` [K] or per step [T, K]."""
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), advantages.shape)
    return (advantages * w).sum(-1)


def ppo_update(actor: BetaActor, critic: MultiCritic, opt: torch.optim.Optimizer, obs: np.ndarray,
               actions: np.ndarray, old_logp: np.ndarray, adv: np.ndarray, returns: np.ndarray,
               clip: float = 0.2, epochs: int = 4, minibatch: int = 64, ent_coef: float = 0.0,
               vf_coef: float = 0.5, seed: int = 0) -> dict[str, float]:  # fmt: skip
    """PPO clipped surrogate on the weighted advantage (normalised per batch) + per-critic MSE."""
    o, a = torch.as_tensor(obs, dtype=torch.float32), torch.as_tensor(actions, dtype=torch.float32)
    lp0 = torch.as_tensor(old_logp, dtype=torch.float32)
    A = torch.as_tensor(adv, dtype=torch.float32)
    A = (A - A.mean()) / (A.std() + 1e-8) if len(A) > 1 else A
    R = torch.as_tensor(returns, dtype=torch.float32)
    g = torch.Generator().manual_seed(int(seed))
    stats = {"policy_loss": 0.0, "value_loss": 0.0, "clipfrac": 0.0}
    n_mb = 0
    for _ in range(epochs):
        perm = torch.randperm(len(o), generator=g)
        for i in range(0, len(o), minibatch):
            idx = perm[i:i + minibatch]
            ratio = torch.exp(actor.log_prob(o[idx], a[idx]) - lp0[idx])
            pl = -torch.min(ratio * A[idx], ratio.clamp(1 - clip, 1 + clip) * A[idx]).mean()
            vl = ((critic(o[idx]) - R[idx]) ** 2).mean()
            loss = pl + vf_coef * vl - ent_coef * actor.entropy(o[idx]).mean()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(list(actor.parameters()) + list(critic.parameters()), 0.5)
            opt.step()
            stats["policy_loss"] += pl.item()
            stats["value_loss"] += vl.item()
            stats["clipfrac"] += ((ratio - 1).abs() > clip).float().mean().item()
            n_mb += 1
    return {k: v / max(1, n_mb) for k, v in stats.items()}
