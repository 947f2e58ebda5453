"""HGPO's two rewards (LHRM, arXiv 2505.14631, §3.2), computed per prompt group.

Each prompt q gets N responses, N/2 forced into each mode m ∈ {think, no_think}. A
verifier scores every response (``r``: the rule verifier for definite answers; the paper
uses a reward model otherwise). Then, per group:

* inter-group reward: with R̄_m the mean verifier score of mode m,
  ``r_inter = 1`` for every response of the mode ``argmax{R̄_think, R̄_no_think + δ}``
  and 0 for the other mode (δ = 0.2 biases the choice towards no-thinking);
* intra-group reward: ``r_intra = 1`` for the best response(s) of its own mode — the ones
  whose score equals the mode's maximum — and 0 for the rest.

Both land in ``RewardResult.info`` (with ``mode_is_think``), where the ``hgpo`` advantage
estimator reads them; the scalar ``score`` stays the verifier's score, so logs show
accuracy and a plain-GRPO arm can train on the same reward object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from r1repro.components import Reward, group_indices, is_correct
from r1repro.types import RewardResult, Sample
from r1repro_hgpo.modes import MODE_CODE, NO_THINK, NONE, THINK, mode_from_code, mode_of

DELTA = 0.2
"""Margin δ of the inter-group reward (LHRM §3.2 and §4.1: δ = 0.2)."""

TIE_TOLERANCE = 1e-9
"""Score differences below this count as ties (float sums such as 0.5 + 0.2 vs 0.7)."""


def winning_mode(mean_think: float | None, mean_no_think: float | None, delta: float = DELTA) -> str:
    """``argmax{R̄_think, R̄_no_think + δ}`` (LHRM §3.2, inter-group reward).

    An exact tie (R̄_think = R̄_no_think + δ, up to `TIE_TOLERANCE`) goes to no-thinking:
    the paper's stated intent is to prefer no-thinking unless thinking is clearly better
    (our reading; the paper does not discuss ties). A mode with no response in the group
    cannot win; with neither, there is no winner (``none``).
    """
    if mean_think is None and mean_no_think is None:
        return NONE
    if mean_think is None:
        return NO_THINK
    if mean_no_think is None:
        return THINK
    return THINK if mean_think > mean_no_think + delta + TIE_TOLERANCE else NO_THINK


def group_rewards(scores: Sequence[float], modes: Sequence[str], delta: float = DELTA,
                  ) -> tuple[list[float], list[float], str]:  # fmt: skip
    """(r_inter, r_intra, winning mode) of one prompt's group (LHRM §3.2).

    ``r_intra`` is 1 for every response whose score equals the maximum score of its mode
    (ties: *all* best responses get 1, as the paper's ``r = max_j r_j`` indicator reads;
    when every response of a mode scores the same, all of them get 1). A response with
    no mode tag (``none``: possible only without forcing) belongs to neither mode and gets
    0 for both rewards.
    """
    by_mode: dict[str, list[float]] = {THINK: [], NO_THINK: []}
    for s, m in zip(scores, modes):
        if m in by_mode:
            by_mode[m].append(float(s))
    means = {m: (sum(v) / len(v) if v else None) for m, v in by_mode.items()}
    best = {m: (max(v) if v else None) for m, v in by_mode.items()}
    win = winning_mode(means[THINK], means[NO_THINK], delta)
    r_inter, r_intra = [], []
    for s, m in zip(scores, modes):
        if m not in by_mode:
            r_inter.append(0.0)
            r_intra.append(0.0)
            continue
        r_inter.append(1.0 if m == win else 0.0)
        r_intra.append(1.0 if abs(float(s) - best[m]) <= TIE_TOLERANCE else 0.0)
    return r_inter, r_intra, win


def sample_mode(sample: Sample, result: RewardResult | None = None) -> str:
    """A response's mode: the rollout's record (``meta["mode"]``), else its leading tag."""
    m = (sample.meta or {}).get("mode")
    if m in (THINK, NO_THINK):
        return m
    if result is not None and "mode_is_think" in result.info:
        code = mode_from_code(result.info["mode_is_think"])
        if code != NONE:
            return code
    return mode_of(sample.response)


class HybridReward(Reward):
    """Verifier score + HGPO's r_inter / r_intra (group-aware; see the module docstring).

    Options: ``verifier`` (reward spec for prompts with a definite answer; default
    ``core.exact_match`` on the last ``\\boxed{}``), ``open_verifier`` (reward spec for
    prompts without a ground truth — the paper's reward model role; default: none, such
    prompts score ``failure_score``), ``delta`` (δ, default 0.2).
    """

    group_aware: ClassVar[bool] = True
    info_keys = ("correct", "r", "r_inter", "r_intra", "mode_is_think")
    description: ClassVar[str] = (
        "HGPO: verifier score, inter-group (δ-margin) and intra-group rewards per mode"
    )

    def __init__(self, verifier: Any = "core.exact_match", open_verifier: Any = None, delta: float = DELTA,
                 name: str = "") -> None:  # fmt: skip
        from r1repro.registry import build

        self.verifier = build("reward", verifier)
        self.open_verifier = build("reward", open_verifier) if open_verifier is not None else None
        self.delta = float(delta)
        self.name = name or "hgpo.reward"
        self.timeout_s = max(getattr(self.verifier, "timeout_s", 10.0),
                             getattr(self.open_verifier, "timeout_s", 0.0) if self.open_verifier else 0.0)  # fmt: skip

    def children(self) -> list[Reward]:
        return [r for r in (self.verifier, self.open_verifier) if r is not None]

    @staticmethod
    def _definite(sample: Sample) -> bool:
        gt = sample.ground_truth
        return gt is not None and str(gt).strip() != ""

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        definite = [i for i, s in enumerate(samples) if self._definite(s) or self.open_verifier is None]
        open_ = [i for i in range(len(samples)) if i not in set(definite)]
        out: list[RewardResult | None] = [None] * len(samples)
        for idxs, rew in ((definite, self.verifier), (open_, self.open_verifier)):
            if not idxs or rew is None:
                continue
            for i, res in zip(idxs, rew([samples[i] for i in idxs])):
                out[i] = res
        results = []
        for s, res in zip(samples, out):
            res = res or RewardResult(self.failure_score, {"error": "no verifier for this sample"})
            mode = sample_mode(s)
            info = {**res.info, "correct": bool(is_correct(res)), "r": float(res.score),
                    "mode_is_think": MODE_CODE[mode], "r_inter": math.nan, "r_intra": math.nan}  # fmt: skip
            results.append(RewardResult(res.score, info))
        return results

    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        out = list(results)
        for idxs in group_indices(samples).values():
            scores = [float(results[i].info.get("r", results[i].score)) for i in idxs]
            modes = [sample_mode(samples[i], results[i]) for i in idxs]
            r_inter, r_intra, win = group_rewards(scores, modes, self.delta)
            for j, i in enumerate(idxs):
                info = {**results[i].info, "r_inter": r_inter[j], "r_intra": r_intra[j],
                        "mode_is_think": MODE_CODE[modes[j]], "winner_is_think": MODE_CODE[win]}  # fmt: skip
                out[i] = RewardResult(results[i].score, info)
        return out
