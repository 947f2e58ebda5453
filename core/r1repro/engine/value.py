"""A value model for PPO with a critic (``algorithm.adv_estimator=gae``) in the local engine.

As in verl, the critic is a separate copy of the policy's transformer with a scalar head
(verl loads the actor checkpoint as ``AutoModelForTokenClassification(num_labels=1)``); the
value of response token t is read from the hidden state that predicts it (verl's
``values[:, -response_length - 1 : -1]``). Advantages come from verl's
``compute_gae_advantage_return`` (which skips observation tokens: mask 0 tokens carry neither
a TD error nor a value), and the critic is trained with verl's ``compute_value_loss`` (clipped
to ``cliprange_value`` around the rollout-time values, 0.5 * squared error) on its own AdamW.
``critic_warmup`` steps train only the critic (verl's ``trainer.critic_warmup``).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import numpy as np
import torch


class ValueModel(torch.nn.Module):
    """The policy's backbone (a copy) + a linear head to one scalar per position."""

    def __init__(self, policy: torch.nn.Module, head_init_std: float = 0.0) -> None:
        super().__init__()
        self.backbone = copy.deepcopy(
            policy.get_decoder() if hasattr(policy, "get_decoder") else policy.model
        )
        self.backbone.requires_grad_(True)
        hidden = policy.config.hidden_size
        self.head = torch.nn.Linear(hidden, 1)
        torch.nn.init.normal_(self.head.weight, std=head_init_std)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, input_ids, attention_mask, position_ids) -> torch.Tensor:
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            use_cache=False)  # fmt: skip
        return self.head(out.last_hidden_state).squeeze(-1)


class Critic:
    """Value model + optimiser + verl's value loss; state saved with the engine's checkpoints."""

    name = "critic"

    def __init__(
        self, policy: torch.nn.Module, cfg: Any, ppo_epochs: int, mini_batch: int, n: int, seed: int = 0
    ):
        self.cfg, self.ppo_epochs, self.mini_batch, self.n, self.seed = cfg, ppo_epochs, mini_batch, n, seed
        self.model = ValueModel(policy, head_init_std=cfg.head_init_std).to(next(policy.parameters()).device)
        self.model.train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        warm = max(0, cfg.warmup_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: min(1.0, (s + 1) / warm) if warm else 1.0
        )

    def values(self, batch: dict[str, Any], idx=slice(None), grad: bool = False) -> torch.Tensor:
        """(rows, response width) values at the positions that predict each response token."""
        ctx = torch.enable_grad() if grad else torch.no_grad()
        p = batch["prompt_width"]
        with ctx:
            v = self.model(batch["input_ids"][idx], batch["attention_mask"][idx], batch["position_ids"][idx])
        return v[:, p - 1 : -1]

    def update(
        self, batch: dict[str, Any], old_values: torch.Tensor, returns: torch.Tensor, step: int
    ) -> dict[str, float]:
        """PPO epochs over mini-batches of verl's clipped value loss."""
        from r1repro import algos

        ca = algos.core_algos()
        bsz = batch["input_ids"].shape[0]
        mb = self.mini_batch * self.n
        stats: dict[str, list[float]] = defaultdict(list)
        gen = torch.Generator().manual_seed(self.seed * 104729 + step)
        for _epoch in range(self.ppo_epochs):
            order = torch.randperm(bsz, generator=gen) if mb < bsz else torch.arange(bsz)
            for start in range(0, bsz, mb):
                idx = order[start : start + mb]
                mask = batch["response_mask"][idx]
                vpreds = self.values(batch, idx, grad=True)
                loss, clipfrac = ca.compute_value_loss(
                    vpreds=vpreds, returns=returns[idx], values=old_values[idx], response_mask=mask,
                    cliprange_value=self.cfg.cliprange_value, loss_agg_mode=self.cfg.loss_agg_mode,
                )  # fmt: skip
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
                if torch.isfinite(norm):
                    self.optimizer.step()
                self.scheduler.step()
                stats["critic/vf_loss"].append(float(loss.detach()))
                stats["critic/vf_clipfrac"].append(float(clipfrac))
                stats["critic/grad_norm"].append(float(norm))
        return {k: float(np.mean(v)) for k, v in stats.items()}

    # checkpoints (collected by the engine like any stateful component)
    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict()}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])


def gae(token_level_rewards: torch.Tensor, values: torch.Tensor, response_mask: torch.Tensor, gamma: float,
        lam: float) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """verl's ``compute_gae_advantage_return`` (whitened advantages, returns = advantages + values)."""
    from r1repro import algos

    return algos.core_algos().compute_gae_advantage_return(
        token_level_rewards=token_level_rewards,
        values=values,
        response_mask=response_mask,
        gamma=gamma,
        lam=lam,
    )


def value_metrics(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
    """Mean value and return, and the explained variance of the returns (verl's critic metrics)."""
    m = mask.bool()
    v, r = values[m], returns[m]
    if v.numel() == 0:
        return {}
    var = torch.var(r) if r.numel() > 1 else torch.tensor(0.0)
    ev = 1 - torch.var(r - v) / var if var > 0 else torch.tensor(0.0)
    return {"critic/values_mean": float(v.mean()), "critic/returns_mean": float(r.mean()),
            "critic/vf_explained_var": float(ev)}  # fmt: skip
