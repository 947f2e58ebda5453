"""Pixel Reasoner's curiosity-driven reward (arXiv 2505.15966 §3.2).

    r'(x, y) = r(x, y) + alpha * 1[n_vo(y) > 0] * max(0, H - RaPR(x)) + beta * min(0, N - n_vo(y))

* r: correctness of the last ``\\boxed{}`` (0/1), **reset to 0 when the rollout's final visual
  operation errored** (the official code does this; an answer after a failed, unfixed call does
  not count);
* n_vo(y): the number of *valid* visual operations of this rollout;
* RaPR(x): the rate of pixel-space reasoning of query x, the share of its G rollouts with at least
  one valid operation (a group-aware reward: `combine` sees the whole group);
* H 0.3, alpha 0.5, N 1, beta 0.05 (`constants`). The bonus only goes to rollouts that used
  pixel-space reasoning, and only while the query's rate is below H; every valid operation after
  the first costs beta. This is the paper's form and the verl-tool port's (``variant="paper"``).

``variant="openrlhf"`` is the original OpenRLHF code (experience_maker.py) as the fact sheet
records it: bonus = 1[n_vo > 0] * max(H - RaPR, 0) / d * 0.25 / RaPR with d = 2 for images and
1.5 for videos, penalty = -0.05 * max(0, n_vo - 1). Two differences from the paper: the bonus is
rescaled by 0.25 / RaPR (so it is larger when few rollouts zoom) and divided by the modality's d.
(The official code also indexes the error flags with the in-group index, which looks like a bug;
it is not reproduced.)

``curiosity=False`` is the ablation: r alone (the correctness reset is kept).
Rollout facts come from ``Sample.meta["visual_ops"]`` (`VisualToolRollout`), else from the
sample's tool-call counts, else (a verl sample: verl's tool agent loop keeps neither) from the
response text itself (`visual_ops_from_text`): each ``<tool_call>`` and the observation that
follows it, valid when that observation shows an image or frames and no execution error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from r1repro.components import Reward, group_indices
from r1repro.textutil import last_boxed
from r1repro.types import RewardResult, Sample
from r1repro_pixel_reasoner.constants import (
    CROP_OBSERVATION,
    CURIOSITY_ALPHA,
    EFFICIENCY_BETA,
    ERROR_OBSERVATION,
    FRAMES_OBSERVATION,
    OPENRLHF_DIVISOR,
    OPENRLHF_SCALE,
    OPS_BUDGET_N,
    RAPR_TARGET_H,
)

VARIANTS = ("paper", "openrlhf")


def normalise_answer(text: str | None) -> str:
    """Lower case, no surrounding space / punctuation / ``\\text{}`` (answers here are words)."""
    s = str(text or "").strip()
    s = re.sub(r"\\text\{([^{}]*)\}", r"\1", s)
    return re.sub(r"[\s.,;:!\"'`]+", " ", s).strip().lower()


_CALL_END = "</tool_call>"
_SHOWN = (CROP_OBSERVATION.split("{")[0], FRAMES_OBSERVATION.split("{")[0])
_ERROR = ERROR_OBSERVATION.split("{")[0]


def visual_ops_from_text(response: str) -> list[dict[str, bool]]:
    """The visual operations of a whole multi-turn response as text (verl's response: the
    policy's turns and the tool observations between them): one per ``</tool_call>``, valid if
    the text before the next call shows a crop or frames and holds no execution error (a call
    with no observation after it, cut by the length budget, is not valid)."""
    if not isinstance(response, str) or _CALL_END not in response:
        return []
    pieces = response.split(_CALL_END)[1:]  # after each call: its observation, then the next turn
    ops = []
    for piece in pieces:
        observation = piece.split("<tool_call>")[0]
        ops.append({"valid": any(s in observation for s in _SHOWN) and _ERROR not in observation})
    return ops


def visual_op_counts(sample: Sample) -> tuple[int, bool]:
    """(n_vo = valid visual operations, whether the final operation errored)."""
    ops = (sample.meta or {}).get("visual_ops")
    if not isinstance(ops, list) and not sample.tool_calls:
        ops = visual_ops_from_text(sample.response)
    if isinstance(ops, list):
        valid = sum(1 for o in ops if isinstance(o, dict) and o.get("valid"))
        final_error = bool(ops) and not (isinstance(ops[-1], dict) and ops[-1].get("valid"))
        return valid, final_error
    return max(0, int(sample.tool_calls or 0) - int(sample.tool_failures or 0)), False


def curiosity_terms(n_vo: int, rapr: float, variant: str = "paper", modality: str = "image", h: float = RAPR_TARGET_H,
                    alpha: float = CURIOSITY_ALPHA, n_free: int = OPS_BUDGET_N,
                    beta: float = EFFICIENCY_BETA) -> tuple[float, float]:  # fmt: skip
    """(curiosity bonus, efficiency penalty) of one rollout given its query's RaPR."""
    used = n_vo > 0
    if variant == "paper":
        bonus = alpha * float(used) * max(0.0, h - rapr)
        penalty = beta * min(0, n_free - n_vo)
    elif variant == "openrlhf":
        divisor = OPENRLHF_DIVISOR.get(modality, OPENRLHF_DIVISOR["image"])
        bonus = float(used) * max(h - rapr, 0.0) / divisor * OPENRLHF_SCALE / rapr if used else 0.0
        penalty = -beta * max(0, n_vo - n_free)
    else:
        raise ValueError(f"unknown curiosity variant {variant!r}; choose one of {VARIANTS}")
    return bonus, penalty


class CuriosityReward(Reward):
    """Correctness (boxed answer, reset after a failed final operation) + the curiosity terms."""

    name = "pixel_reasoner.curiosity"
    description = "Pixel Reasoner: correctness + 0.5*1[n_vo>0]*max(0, 0.3-RaPR) + 0.05*min(0, 1-n_vo)"
    group_aware = True
    info_keys = ("n_vo", "used_tool", "final_error", "bonus", "penalty")  # verl's reward metrics

    def __init__(self, curiosity: bool = True, variant: str = "paper", h: float = RAPR_TARGET_H,
                 alpha: float = CURIOSITY_ALPHA, n_free: int = OPS_BUDGET_N, beta: float = EFFICIENCY_BETA,
                 reset_on_final_error: bool = True) -> None:  # fmt: skip
        if variant not in VARIANTS:
            raise ValueError(f"pixel_reasoner.curiosity: variant must be one of {VARIANTS}, got {variant!r}")
        self.curiosity, self.variant = bool(curiosity), variant
        self.h, self.alpha, self.n_free, self.beta = float(h), float(alpha), int(n_free), float(beta)
        self.reset_on_final_error = bool(reset_on_final_error)

    def score_one(self, sample: Sample) -> RewardResult:
        final = (sample.meta or {}).get("final_turn")
        text = (
            final
            if isinstance(final, str) and final
            else (sample.response if isinstance(sample.response, str) else "")
        )
        answer = last_boxed(text)
        n_vo, final_error = visual_op_counts(sample)
        correct = answer is not None and normalise_answer(answer) == normalise_answer(sample.ground_truth)
        reset = bool(correct and final_error and self.reset_on_final_error)
        acc = float(correct and not reset)
        return RewardResult(acc, {"accuracy": acc, "correct": bool(acc), "n_vo": n_vo, "used_tool": float(n_vo > 0),
                                  "final_error": float(final_error), "reset": float(reset),
                                  "answered": float(answer is not None), "bonus": 0.0, "penalty": 0.0})  # fmt: skip

    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        if not self.curiosity:
            return results
        out = list(results)
        for idxs in group_indices(samples).values():
            rapr = sum(out[i].info.get("used_tool", 0.0) for i in idxs) / len(idxs)
            for i in idxs:
                r = out[i]
                modality = str((samples[i].extra or {}).get("modality", "image"))
                bonus, penalty = curiosity_terms(int(r.info.get("n_vo", 0)), rapr, self.variant, modality, self.h,
                                                 self.alpha, self.n_free, self.beta)  # fmt: skip
                info: dict[str, Any] = {**r.info, "bonus": bonus, "penalty": penalty, "rapr": rapr}
                out[i] = RewardResult(r.score + bonus + penalty, info, r.token_rewards)
        return out
