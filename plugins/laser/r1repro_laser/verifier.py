"""LASER's correctness check: math-verify on the text after ``</think>``.

Re-implements the verdict of ``verl/utils/reward_score/hf_math_verifier.py`` in
hkust-nlp/Laser: take the text after the first ``</think>`` (the whole response when there
is none), extract the predicted answer (the last ``\\boxed{}``; failing that, the text
after "the answer is"; failing that, the last number, as Qwen2.5-Math's ``extract_answer``
does for ``data_name="math"``), wrap prediction and ground truth in ``\\boxed{}`` and ask
math-verify whether they are equal. The official code runs math-verify in a process pool
with a 10 s timeout; here the reward is ``isolate = True`` (r1repro's killable pool).

This is a *verifier*: it says whether the answer is right (``info["correct"]``). LASER's
+1 / -0.5 / -1 table lives in `r1repro_laser.reward`.
"""

from __future__ import annotations

import re

from r1repro.components import Reward
from r1repro.textutil import last_boxed
from r1repro.types import RewardResult, Sample
from r1repro_laser.templates import after_think

MAX_ANSWER_CHARS = 1000
"""Longer predictions are judged wrong without calling math-verify (pre-screen)."""

_ANSWER_IS = re.compile(r"answer is[:\s]*(.+)", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"-?\d*\.?\d+")


def extract_prediction(text: str) -> str | None:
    """The predicted answer in ``text`` (already cut after ``</think>``), or None."""
    if not isinstance(text, str) or not text:
        return None
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    matches = list(_ANSWER_IS.finditer(text[-20_000:]))
    if matches:
        return matches[-1].group(1).strip().split("\n")[0].rstrip(".").strip() or None
    numbers = _NUMBER.findall(text[-20_000:].replace(",", ""))
    return numbers[-1] if numbers else None


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
        ok = pred.strip() == gold.strip() or math_verify_equal(gold, pred)
        return RewardResult(float(ok), {"correct": ok, "has_answer": True})
