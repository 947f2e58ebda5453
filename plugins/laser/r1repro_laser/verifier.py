"""LASER's correctness check: math-verify on the text after ``</think>``.

Re-implements the verdict of ``verl/utils/reward_score/hf_math_verifier.py`` in
hkust-nlp/Laser: take the text after the first ``</think>`` (the whole response when there
is none), extract and normalise the predicted answer exactly as Qwen2.5-Math's
``extract_answer(text, "math")`` and ``strip_string`` do (`r1repro_laser.qwen_answer`), wrap
prediction and ground truth in ``\\boxed{}`` and ask math-verify whether they are equal (no
string-equality shortcut: the official verdict is math-verify's alone). The official fork pins
math-verify 0.6.0; r1repro runs the installed one (0.9.x), so parser changes between the two
versions can still flip a verdict (pinned cases: ``tests/test_laser_qwen_answer.py``). The official code runs math-verify in a process pool
with a 10 s timeout; here the reward is ``isolate = True`` (r1repro's killable pool).

This is a *verifier*: it says whether the answer is right (``info["correct"]``). LASER's
+1 / -0.5 / -1 table lives in `r1repro_laser.reward`.
"""

from __future__ import annotations

import re

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample
from r1repro_laser.qwen_answer import extract_answer
from r1repro_laser.templates import after_think

MAX_ANSWER_CHARS = 1000
"""Longer predictions are judged wrong without calling math-verify (pre-screen)."""

OFFICIAL_BOX = re.compile(r"\\boxed\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}")
"""``extract_last_boxed`` of ``hf_math_verifier.py``: a ``\\boxed{}`` with at most three levels
of braces. A response without one gets the format penalty officially."""


def has_official_box(text: str) -> bool:
    """Whether the official check finds a ``\\boxed{...}`` in ``text`` (after ``</think>``)."""
    return isinstance(text, str) and "\\boxed" in text and OFFICIAL_BOX.search(text) is not None


def extract_prediction(text: str) -> str | None:
    """The official predicted answer in ``text`` (already cut after ``</think>``), or None when
    the extraction is empty."""
    pred = extract_answer(text) if isinstance(text, str) else ""
    return pred or None


def math_verify_equal(gold: str, prediction: str) -> bool:
    """math-verify's verdict on ``\\boxed{gold}`` vs ``\\boxed{prediction}`` (False on any error)."""
    from math_verify import parse, verify

    try:
        g = parse(gold if "\\boxed" in gold else f"\\boxed{{{gold}}}")
        p = parse(prediction if "\\boxed" in prediction else f"\\boxed{{{prediction}}}")
        return bool(verify(gold=g, target=p))
    except Exception:  # noqa: BLE001 - math-verify raises on exotic LaTeX
        return False


class HFMathVerifier(Reward):
    """1.0 if math-verify finds the answer after ``</think>`` equal to the ground truth.

    ``answer_part``: ``"after_think"`` (default, the official rule) or ``"full"`` (grade the
    whole response, e.g. when another reward already cut it).
    """

    isolate = True
    timeout_s = 5.0
    info_keys = ("correct",)

    def __init__(self, answer_part: str = "after_think", name: str = "") -> None:
        if answer_part not in ("after_think", "full"):
            raise ValueError(f"answer_part must be 'after_think' or 'full', got {answer_part!r}")
        self.answer_part, self.name = answer_part, name or "laser.math_verify"

    def score_one(self, sample: Sample) -> RewardResult:
        text = sample.response if self.answer_part == "full" else after_think(sample.response)
        pred = extract_prediction(text)
        gold = "" if sample.ground_truth is None else str(sample.ground_truth)
        if pred is None or not gold or len(pred) > MAX_ANSWER_CHARS or len(gold) > MAX_ANSWER_CHARS:
            return RewardResult(0.0, {"correct": False, "has_answer": pred is not None})
        ok = math_verify_equal(gold, pred)
        return RewardResult(float(ok), {"correct": ok, "has_answer": True})
