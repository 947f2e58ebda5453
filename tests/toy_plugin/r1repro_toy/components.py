"""The toy plugin's components: small, but each one uses its hook for real."""

from __future__ import annotations

import random

import numpy as np
import torch

from r1repro.algos import estimator, policy_loss
from r1repro.components import Environment, GeneratedDataset, Reward, group_indices
from r1repro.core_components import R1ZeroTemplate, extract_answer
from r1repro.engine.rollout import SingleTurn
from r1repro.types import RewardResult, Row, StepResult


class TaggedTemplate(R1ZeroTemplate):
    """Answer inside <answer></answer>, no system prompt."""

    system_prompt = None
    user_format = "{problem} Answer inside <answer></answer>."


class AddTask(GeneratedDataset):
    def __init__(self, max_operand: int = 9, name: str = "") -> None:
        self.max_operand, self.name = max_operand, name

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            a, b = rng.randint(0, self.max_operand), rng.randint(0, self.max_operand)
            rows.append(
                Row(
                    id=f"toy-{split}-{i}",
                    problem=f"{a} + {b} =",
                    ground_truth=str(a + b),
                    data_source="toy/add",
                    domain="math" if i % 4 else "logic",
                    extra={"a": a, "b": b},
                )
            )
        return rows

    def solution(self, row, template) -> str:
        return template.format_response(answer=row.ground_truth, think=f"{row.extra['a']}+{row.extra['b']}")


class ShortestCorrect(Reward):
    """1 for a correct answer; +0.5 for the shortest correct response of its group."""

    group_aware = True
    info_keys = ("correct",)

    def __init__(self, name: str = "") -> None:
        self.name = name

    def score_one(self, sample):
        ok = (extract_answer(sample.response) or "").strip() == str(sample.ground_truth)
        return RewardResult(float(ok), {"correct": ok})

    def combine(self, samples, results):
        for idxs in group_indices(samples).values():
            correct = [i for i in idxs if results[i].info.get("correct")]
            if correct:
                best = min(correct, key=lambda i: samples[i].length)
                results[best] = RewardResult(
                    results[best].score + 0.5, {**results[best].info, "shortest": True}
                )
        return results


class DigitShare(Reward):
    """Share of digits in the response; +0.5 for the highest share of its group (group-aware).

    For verl end-to-end tests: it varies within a group even for a random tiny model, so the
    policy gradient is non-zero, and it exercises the group stage."""

    group_aware = True
    info_keys = ("digit_share", "group_best")

    def __init__(self, name: str = "") -> None:
        self.name = name

    def score_one(self, sample):
        text = sample.response or ""
        share = sum(ch.isdigit() for ch in text) / max(1, len(text))
        return RewardResult(share, {"digit_share": share, "group_best": False})

    def combine(self, samples, results):
        for idxs in group_indices(samples).values():
            best = max(idxs, key=lambda i: results[i].score)
            results[best] = RewardResult(
                results[best].score + 0.5, {**results[best].info, "group_best": True}
            )
        return results


class CountingReward(Reward):
    """Exact match; counts the steps it has seen (state that must survive checkpoint/resume)."""

    info_keys = ("correct",)

    def __init__(self, name: str = "") -> None:
        self.name, self.steps_seen, self.history = name, 0, []

    def on_step_start(self, engine, step):
        self.steps_seen += 1
        self.history.append(step)

    def state_dict(self):
        return {"steps_seen": self.steps_seen, "history": list(self.history)}

    def load_state_dict(self, state):
        self.steps_seen, self.history = state["steps_seen"], list(state["history"])

    def score_one(self, sample):
        ok = (extract_answer(sample.response) or "").strip() == str(sample.ground_truth)
        return RewardResult(float(ok), {"correct": ok, "steps_seen": self.steps_seen})


@estimator("toy.centered", side_info=True)
def centered(token_level_rewards, response_mask, index, config=None, side_info=None, scale=1.0, **_):
    """A = scale * (r - group mean); side_info['toy_weight'] multiplies it when present."""
    scores = token_level_rewards.sum(-1)
    adv = torch.zeros_like(scores)
    idx = np.asarray(index)
    for g in np.unique(idx):
        m = torch.as_tensor(idx == g)
        adv[m] = scores[m] - scores[m].mean()
    if side_info and "toy_weight" in side_info:
        adv = adv * torch.as_tensor(np.asarray(side_info["toy_weight"], dtype=np.float32))
    adv = scale * adv.unsqueeze(-1) * response_mask
    return adv, adv


@policy_loss("toy.reinforce")
def reinforce(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode="token-mean", config=None,
              rollout_is_weights=None):  # fmt: skip
    """-A * ratio, no clipping (REINFORCE with importance ratio)."""
    from r1repro.algos import core_algos

    ratio = torch.exp((log_prob - old_log_prob).clamp(-20, 20))
    loss = core_algos().agg_loss(
        loss_mat=-advantages * ratio, loss_mask=response_mask, loss_agg_mode=loss_agg_mode
    )
    return loss, {"actor/ratio_mean": float(ratio.mean())}


class HintEnv(Environment):
    """Answers one <tool_call>...</tool_call> with a hint; the second call ends the episode."""

    stop_strings = ("</tool_call>",)

    def __init__(self, max_turns: int = 2, name: str = "") -> None:
        self.max_turns, self.name = max_turns, name

    def reset(self, row):
        return {"row": row, "calls": 0}

    def step(self, state, action):
        state["calls"] += 1
        if state["calls"] > 1:
            return StepResult(done=True, tool_call=True, tool_failed=True)
        a, b = state["row"].extra["a"], state["row"].extra["b"]
        return StepResult(
            observation=f"<tool_response>{a}+{b}</tool_response>", tool_call=True, step_reward=0.0
        )


class HalfForced(SingleTurn):
    """Half of each group is forced to start with 'The answer is'."""

    def __init__(self, name: str = "") -> None:
        self.name = name

    def rollout(self, ctx, rows, n, group_ids=None):
        if ctx.evaluation:
            return super().rollout(ctx, rows, n, group_ids=group_ids)
        forced = [("The answer is" if j < n // 2 else "") for _ in rows for j in range(n)]
        trajs = super().rollout(ctx, rows, n, forced_text=forced, group_ids=group_ids)
        for t, f in zip(trajs, forced):
            t.meta["forced"] = bool(f)
        return trajs
