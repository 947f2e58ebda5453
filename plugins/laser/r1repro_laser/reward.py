"""LASER, LASER-D and LASER-DE: a step reward on response length on top of a correctness reward.

Paper: Liu et al., "Learn to Reason Efficiently with Adaptive Length-based Reward Shaping"
(arXiv 2505.15612). Official code: hkust-nlp/Laser (a verl fork). Every constant below is
from that code (file named in its comment) and pinned in ``tests/test_laser.py``.

    r_acc  = +1 if correct, -0.5 if wrong, -1 without \\boxed{} after </think> or without
             the <think> ... </think> tags                                  (hf_math_verifier.py)
    LASER    r = r_acc + lambda * 1[correct and L <= L_T]                     (compute_length_reward_larse)
    LASER-D  the same, with L_T chosen per difficulty bucket of the prompt by
             `r1repro_laser.controller`                                      (compute_length_reward_larse_d)
    LASER-DE LASER-D + lambda * 1[wrong and L > L_T and not repetitive]      (compute_length_reward_larse_de)

with lambda = 0.5 and L the response length in tokens. "Correct" here is r_acc == +1 (a
right answer in the right format), as in the official code (``score == 1.0``).

Composition. The correctness check is a reward spec (``verifier``, default
``laser.math_verify``) asked about the text after ``</think>``, and read through
`r1repro.components.is_correct`, so any verifier works (``{name: tinyv.addon}``). The
length terms are applied in the group stage (``combine``), where response lengths in
tokens are known at both scales (verl's trainer computes them there).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from r1repro.components import Reward, group_indices, is_correct
from r1repro.types import RewardResult, Sample
from r1repro_laser.controller import BUCKETS, TargetLengthController, bucket_of
from r1repro_laser.repetition import is_repetitive, text_tokens
from r1repro_laser.templates import THINK_CLOSE, THINK_OPEN, after_think
from r1repro_laser.verifier import has_official_box

CORRECT_REWARD = 1.0
"""r_acc of a correct, well-formatted answer (hf_math_verifier.py: ``box_match = 1.0``)."""
WRONG_REWARD = -0.5
"""r_acc of a wrong answer (hf_math_verifier.py: ``box_match = -0.5``)."""
FORMAT_PENALTY = -1.0
"""r_acc without ``\\boxed`` after ``</think>`` or without both think tags (``FORMAT_PENALTY_VALUE`` = -1)."""
LENGTH_REWARD = 0.5
"""lambda, the step height (``length_reward_scalar=0.5`` in every LASER script)."""
PAPER_TARGET_LENGTH = 4096
"""LASER's L_T in the headline runs (scripts ``laser-1.5b-l{2048,4096,8192}.sh``)."""


def accuracy_reward(correct: bool, has_boxed: bool, has_think_tags: bool) -> float:
    """LASER's base reward r_acc: +1 / -0.5 / -1 (format failures override correctness)."""
    if not has_boxed or not has_think_tags:
        return FORMAT_PENALTY
    return CORRECT_REWARD if correct else WRONG_REWARD


def step_length_reward(
    r_acc: float, length: float, target: float | None, scale: float = LENGTH_REWARD
) -> float:
    """LASER's step term: +lambda for a correct response no longer than the target."""
    if r_acc == CORRECT_REWARD and (target is None or length <= target):
        return scale
    return 0.0


def exploration_reward(r_acc: float, length: float, target: float | None, repetitive: bool,
                       scale: float = LENGTH_REWARD) -> float:  # fmt: skip
    """LASER-DE's term: +lambda for a wrong (formatted) response longer than the target that
    does not repeat itself."""
    if r_acc == WRONG_REWARD and target is not None and length > target and not repetitive:
        return scale
    return 0.0


class LaserAccuracy(Reward):
    """LASER's base reward r_acc (+1 / -0.5 / -1) around any verifier; no length term.

    Options: ``verifier`` (reward spec, default ``laser.math_verify``; asked about the text
    after ``</think>``), ``think_open_in_prompt`` (True when the chat template already
    opened ``<think>`` in the prompt, as R1-Distill's does, so only ``</think>`` is required
    in the response), ``verify_full_response`` (give the verifier the whole response).

    ``info``: ``correct`` (r_acc == +1), ``answer_correct`` (the verifier's verdict, format
    aside), ``r_acc``, and the verifier's own info (its ``error`` as ``verifier_error``).
    """

    group_aware = False
    info_keys: tuple[str, ...] = ("correct", "answer_correct", "r_acc")

    def __init__(self, verifier: Any = "laser.math_verify", think_open_in_prompt: bool = False,
                 verify_full_response: bool = False, name: str = "") -> None:  # fmt: skip
        from r1repro.registry import build

        self.verifier = build("reward", verifier)
        self.think_open_in_prompt = bool(think_open_in_prompt)
        self.verify_full_response = bool(verify_full_response)
        self.name = name or "laser.accuracy"
        self.timeout_s = getattr(self.verifier, "timeout_s", self.timeout_s)
        # the verifier's own numeric diagnostics (e.g. TinyV's llm_called) survive the wrap
        self.info_keys = tuple(
            dict.fromkeys(type(self).info_keys + tuple(getattr(self.verifier, "info_keys", ()) or ()))
        )

    def children(self) -> list[Any]:
        return [self.verifier]

    def consume_stats(self) -> dict[str, float]:
        """The verifier's per-step statistics (e.g. TinyV's ``llm_share``), if it keeps any."""
        consume = getattr(self.verifier, "consume_stats", None)
        return dict(consume()) if callable(consume) else {}

    def has_think_tags(self, response: str) -> bool:
        return THINK_CLOSE in response and (self.think_open_in_prompt or THINK_OPEN in response)

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        graded = samples
        if not self.verify_full_response:
            graded = []
            for s in samples:
                g = copy.copy(s)
                g.response = after_think(s.response)
                graded.append(g)
        verdicts = self.verifier(graded)
        out = []
        for s, g, v in zip(samples, graded, verdicts):
            response = s.response if isinstance(s.response, str) else ""
            has_boxed = has_official_box(g.response)
            ok = is_correct(v) and "error" not in v.info
            r_acc = accuracy_reward(ok, has_boxed, self.has_think_tags(response))
            info = {k: x for k, x in v.info.items() if k not in ("correct", "error")}
            if "error" in v.info:
                info["verifier_error"] = v.info["error"]
            info.update({"correct": r_acc == CORRECT_REWARD, "answer_correct": ok, "r_acc": r_acc})
            out.append(RewardResult(r_acc, info))
        return out


class Laser(LaserAccuracy):
    """LASER: r_acc + 0.5 for a correct response of at most ``target_length`` tokens.

    ``target_length``: L_T (paper runs: 2048 / 4096 / 8192 with 16K responses);
    ``length_reward``: lambda (0.5).
    """

    group_aware = True
    info_keys = LaserAccuracy.info_keys + ("length_reward", "target_length")

    def __init__(self, target_length: int = PAPER_TARGET_LENGTH, length_reward: float = LENGTH_REWARD,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.target_length, self.length_reward = int(target_length), float(length_reward)
        self.name = kwargs.get("name") or "laser.step"

    def targets_for(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[float | None]:
        return [self.target_length] * len(samples)

    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        targets = self.targets_for(samples, results)
        out = []
        for s, r, t in zip(samples, results, targets):
            r_acc = float(r.info.get("r_acc", r.score))
            bonus = step_length_reward(r_acc, s.length, t, self.length_reward)
            info = {
                **r.info,
                "length_reward": bonus,
                "target_length": float("nan") if t is None else float(t),
            }
            out.append(RewardResult(r_acc + bonus, info))
        return out


class LaserD(Laser):
    """LASER-D: LASER with a target length per difficulty bucket, adapted during training.

    A prompt's bucket comes from its group's accuracy (`controller.bucket_of`); the bucket's
    L_T comes from a `TargetLengthController` (options ``lower``, ``upper``, ``interval``,
    ``every``, ``n_rollout``, ``monitor_size``, ``monitor_seed``, ``rounding``,
    ``initial_target``, ``source``; see there). Paper values: lower = 4096 (runs also use
    1024 / 2048), upper = 16384, interval = 1024, every = 20, n_rollout = 8,
    monitor_size = 500.

    ``source="monitor"`` (default) is the paper's procedure and needs an engine that calls
    ``on_step_start`` (the local engine). ``source="training_batch"`` updates the targets
    every ``every`` calls from the training groups themselves (verl's trainer has no such
    hook; see the README).
    """

    info_keys = Laser.info_keys + ("bucket",)

    def __init__(self, lower: int = 4096, upper: int = 16384, interval: int = 1024, every: int = 20,
                 n_rollout: int = 8, monitor_size: int = 500, monitor_seed: int = 0, rounding: str = "floor",
                 initial_target: int | None = None, source: str = "monitor", **kwargs: Any) -> None:  # fmt: skip
        kwargs.setdefault("target_length", initial_target or upper)
        super().__init__(**kwargs)
        self.controller = TargetLengthController(
            lower=lower, upper=upper, interval=interval, every=every, n_rollout=n_rollout,
            monitor_size=monitor_size, monitor_seed=monitor_seed, rounding=rounding,
            initial_target=initial_target, source=source, correctness=self.answer_correctness,
        )  # fmt: skip
        self._calls = 0
        self.name = kwargs.get("name") or "laser.d"

    def children(self) -> list[Any]:
        return [self.verifier, self.controller]

    def answer_correctness(self, samples: list[Sample]) -> list[bool]:
        """Correctness of monitor rollouts, format aside (the official monitor's ``correctness``)."""
        return [bool(r.info.get("answer_correct", False)) for r in self.score_batch(samples)]

    def targets_for(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[float | None]:
        groups = group_indices(samples)
        if self.controller.source == "training_batch" and any(len(ix) > 1 for ix in groups.values()):
            self._calls += 1
            if self.controller.due(self._calls):
                self.controller.update(
                    [([results[i].info.get("answer_correct", False) for i in ix], [samples[i].length for i in ix])
                     for ix in groups.values()], self._calls)  # fmt: skip
        longest = max((s.length for s in samples), default=0)
        targets: list[float | None] = [None] * len(samples)
        for ix in groups.values():
            acc = sum(
                float(results[i].info.get("r_acc", results[i].score)) == CORRECT_REWARD for i in ix
            ) / len(ix)
            bucket = bucket_of(acc)
            t = self.controller.target(bucket)
            for i in ix:
                targets[i] = float(longest if t is None else t)
                results[i].info["bucket"] = float(BUCKETS.index(bucket))
        return targets

    def combine(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        results = [RewardResult(r.score, dict(r.info)) for r in results]
        out = super().combine(samples, results)
        return self.explore(samples, out)

    def explore(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        return results


class LaserDE(LaserD):
    """LASER-DE: LASER-D plus +0.5 for a wrong response longer than its L_T that is not
    repetitive (`r1repro_laser.repetition`), rewarding exploration on prompts the policy
    gets wrong."""

    info_keys = Laser.info_keys + ("bucket", "explore_reward")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = kwargs.get("name") or "laser.de"

    def explore(self, samples: Sequence[Sample], results: list[RewardResult]) -> list[RewardResult]:
        out = []
        for s, r in zip(samples, results):
            r_acc = float(r.info.get("r_acc", r.score))
            t = r.info.get("target_length")
            bonus = 0.0
            if r_acc == WRONG_REWARD and t is not None and t == t and s.length > t:
                tokens = s.response_ids if s.response_ids else text_tokens(s.response)
                bonus = exploration_reward(r_acc, s.length, t, is_repetitive(tokens), self.length_reward)
            out.append(RewardResult(r.score + bonus, {**r.info, "explore_reward": bonus}))
        return out
