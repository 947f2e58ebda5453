"""AvatarShield's rewards: accuracy detection, format, temporal compensation.

Paper: Xu et al., "AvatarShield: Visual Reinforcement Learning for Human-Centric Video Forgery
Detection" (arXiv 2505.15173), §3 (GRPO from binary real/fake labels with an *accuracy
detection reward* and a *temporal compensation reward*). There is no official code
(zhipeixu/AvatarShield ships a README only), and the paper's text with the equations is not
stored here, so the constants below follow the fact sheet (../shared/papers/
multimodal-and-embodied.md §3) and the T-GRPO branch of Video-R1 (arXiv 2503.21776), which
the temporal reward is modelled on; every one of them is [unverified] for AvatarShield.

    R_acc = 1 if the label inside the first <answer>...</answer> equals the clip's label, else 0
    R_fmt = 1 if the response fullmatches <think>.*?</think>\\s*<answer>.*?</answer> (DOTALL), else 0
    temporal compensation, per prompt: G responses on the ordered frames, G/2 on shuffled ones,
        p  = mean R_acc over the ordered group,  p~ = mean R_acc over the shuffled group;
        if p >= mu * p~:  R_acc_i += alpha  for every ordered response with R_acc_i > 0.1
    R = R_acc (+ bonus) + w_fmt * R_fmt

Video-R1's trainer (temporal branch of ``src/r1-v/src/open_r1/trainer/grpo_trainer.py``):
``acc_mean >= 0.8 * shuffled_acc_mean`` then ``rewards[mask, 0] += 0.3`` with
``mask = rewards[:, 0] > 0.1``; ``shuffled_num_generations = num_generations // 2``; the shuffled
video is ``video[torch.randperm(T)]``; the shuffled responses are scored, never trained on.

Where the shuffled responses come from: the local engine's rollout hook
(`r1repro_avatarshield.rollout.TemporalRollout`) puts the group's shuffled responses into
``Sample.meta["shuffled_responses"]``; a batch that carries shuffled rows as samples of its own
(``extra["perturbation"] == "shuffled"``, paired to the ordered prompt by ``extra["pair_id"]``,
e.g. rows duplicated by `r1repro_avatarshield.frames.with_shuffled_copies`) is paired the same
way. Shuffled samples are scored (R_acc + R_fmt, kept in ``info``), set p~ and get no bonus; their
score is then the constant `SHUFFLED_SCORE`, so a group-normalised estimator gives them zero
advantage and they are not trained on.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample

LABELS = ("real", "fake")
MU = 0.8
"""Ordered accuracy must reach mu x shuffled accuracy (Video-R1 ``0.8 * shuffled_acc_mean``) [unverified]."""
ALPHA = 0.3
"""Bonus added to correct ordered responses (Video-R1 ``+ 0.3``) [unverified]."""
CORRECT_ABOVE = 0.1
"""A response counts as correct for the bonus if R_acc > 0.1 (Video-R1 ``mask = ... > 0.1``) [unverified]."""
SHUFFLED_FRACTION = 0.5
"""Shuffled group size / G (Video-R1 ``num_generations // 2``) [unverified]."""
FORMAT_WEIGHT = 1.0
"""R = R_acc + R_fmt: Video-R1 sums its reward functions with weight 1 [unverified for AvatarShield]."""
FORMAT_PATTERN = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
"""Video-R1 / R1-V ``format_reward``: ``re.fullmatch`` of this pattern (DOTALL)."""
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
"""Video-R1 ``extract_answer`` reads ``re.search(r"<answer>\\s*(.*?)\\s*</answer>", text, re.DOTALL)``: the
first <answer> and the first </answer> after it, stripped (`answer_span`, the same span in linear time)."""


def answer_span(text: str) -> str | None:
    """The stripped text between the first <answer> and the first </answer> after it (the lazy
    regex's match, without its quadratic time on many unclosed tags)."""
    i = text.find(ANSWER_OPEN)
    if i < 0:
        return None
    j = text.find(ANSWER_CLOSE, i + len(ANSWER_OPEN))
    return None if j < 0 else text[i + len(ANSWER_OPEN) : j].strip()


def parse_label(response: Any) -> str | None:
    """'real' / 'fake' from the first <answer> span (case and a trailing '.' ignored), else None."""
    if not isinstance(response, str):
        return None
    span = answer_span(response)
    if span is None:
        return None
    label = span.strip(".").strip().lower()
    return label if label in LABELS else None


def accuracy(response: Any, label: Any) -> float:
    """R_acc: 1 if the parsed label equals the ground truth, else 0 (unparseable: 0)."""
    gt = str(label).strip().lower() if label is not None else None
    pred = parse_label(response)
    return 1.0 if pred is not None and pred == gt else 0.0


def format_reward(response: Any) -> float:
    """R_fmt: 1 if the whole response is <think>...</think> <answer>...</answer>, else 0."""
    return 1.0 if isinstance(response, str) and FORMAT_PATTERN.fullmatch(response.strip()) else 0.0


SHUFFLED_SCORE = 0.0
"""The score a shuffled-frame sample carries in a batch of its own rows (verl): the same for every
response of the shuffled prompt, so its group advantage is 0 and it is not trained on (ours; T-GRPO
keeps the shuffled responses out of the loss altogether)."""


def temporal_bonus(ordered_acc: Sequence[float], shuffled_acc: Sequence[float], mu: float = MU,
                   alpha: float = ALPHA, correct_above: float = CORRECT_ABOVE) -> tuple[list[float], bool]:  # fmt: skip
    """Per ordered response, the bonus (alpha or 0), and whether the condition p >= mu * p~ held.

    No shuffled responses: nothing to compare against, no bonus (Video-R1 skips the branch
    when the prompt has no video)."""
    if not ordered_acc or not shuffled_acc:
        return [0.0] * len(ordered_acc), False
    p = sum(ordered_acc) / len(ordered_acc)
    p_shuffled = sum(shuffled_acc) / len(shuffled_acc)
    held = p >= mu * p_shuffled
    return [alpha if held and a > correct_above else 0.0 for a in ordered_acc], held


def is_shuffled(sample: Sample) -> bool:
    return (sample.extra or {}).get("perturbation") == "shuffled"


def pair_key(sample: Sample) -> str:
    """What pairs an ordered group with its shuffled responses: ``extra.pair_id``, else the group."""
    return str((sample.extra or {}).get("pair_id") or sample.group_id)


class AvatarShieldReward(Reward):
    """R = R_acc + w_fmt R_fmt, plus the temporal-compensation bonus on R_acc (``temporal``).

    Options: ``temporal`` (the bonus on; off = plain GRPO rewards), ``mu``, ``alpha``,
    ``correct_above``, ``format_weight``. ``info``: ``accuracy`` (R_acc before the bonus,
    = ``correct``), ``format``, ``pred``, and after the group stage ``temporal_bonus``,
    ``temporal_held`` (1 if p >= mu p~ for the group), ``ordered_acc`` / ``shuffled_acc`` (p, p~).
    """

    name = "avatarshield.detection"
    description = "AvatarShield: accuracy + format + temporal compensation (+alpha if p >= mu p~)"
    group_aware = True

    def __init__(self, temporal: bool = True, mu: float = MU, alpha: float = ALPHA,
                 correct_above: float = CORRECT_ABOVE, format_weight: float = FORMAT_WEIGHT) -> None:  # fmt: skip
        self.temporal, self.mu, self.alpha = bool(temporal), float(mu), float(alpha)
        self.correct_above, self.format_weight = float(correct_above), float(format_weight)

    def score_one(self, sample: Sample) -> RewardResult:
        acc = accuracy(sample.response, sample.ground_truth)
        fmt = format_reward(sample.response)
        info: dict[str, Any] = {"accuracy": acc, "format": fmt, "correct": bool(acc), "pred": parse_label(sample.response)}
        shuffled = (sample.meta or {}).get("shuffled_responses")
        if isinstance(shuffled, list) and shuffled:
            info["shuffled_accuracies"] = [accuracy(r, sample.ground_truth) for r in shuffled]
        return RewardResult(acc + self.format_weight * fmt, info)

    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        out = self._temporal(samples, results) if self.temporal else list(results)
        # T-GRPO scores the shuffled responses and never trains on them. In a batch that carries
        # them as samples of their own (verl), each shuffled prompt is its own group (its own uid),
        # so one constant score gives every response of it a group-normalised advantage of exactly 0
        # (GRPO and the other group-mean estimators): no gradient. R_acc stays in the info.
        for i, s in enumerate(samples):
            if is_shuffled(s):
                r = out[i]
                out[i] = RewardResult(SHUFFLED_SCORE, {**r.info, "shuffled_score": r.score, "trained": False})
        return out

    def _temporal(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        shuffled_by_pair: dict[str, list[float]] = defaultdict(list)
        ordered_by_group: dict[str, list[int]] = defaultdict(list)
        for i, (s, r) in enumerate(zip(samples, results)):
            if "error" in r.info:
                continue
            if is_shuffled(s):
                shuffled_by_pair[pair_key(s)].append(float(r.info.get("accuracy", 0.0)))
            else:
                ordered_by_group[s.group_id].append(i)
        out = list(results)
        for members in ordered_by_group.values():
            shuffled = list(shuffled_by_pair.get(pair_key(samples[members[0]]), []))
            from_meta = next((results[i].info["shuffled_accuracies"] for i in members
                              if results[i].info.get("shuffled_accuracies")), [])  # fmt: skip
            shuffled += from_meta
            ordered = [float(results[i].info.get("accuracy", 0.0)) for i in members]
            bonus, held = temporal_bonus(ordered, shuffled, self.mu, self.alpha, self.correct_above)
            p = sum(ordered) / len(ordered)
            p_shuf = sum(shuffled) / len(shuffled) if shuffled else float("nan")
            for i, b in zip(members, bonus):
                r = results[i]
                info = {k: v for k, v in r.info.items() if k != "shuffled_accuracies"}
                info.update(temporal_bonus=b, ordered_acc=p)
                if shuffled:
                    info.update(temporal_held=float(held), shuffled_acc=p_shuf)
                out[i] = RewardResult(r.score + b, info, r.token_rewards)
        return out
