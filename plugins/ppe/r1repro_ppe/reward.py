"""The pPE reward (Taveekitworachai et al., arXiv 2505.14157, §3.3 "Reward").

    r = 0.5 · accuracy + 0.5 · format                                  (the paper's two terms)

* **accuracy** — 1 if the final answer, the ``\\boxed{}`` inside ``<answer> … </answer>``, is
  equivalent to the ground truth under ``math-verify``; else 0. The checker is the ``verifier``
  option (any registered reward whose ``info["correct"]`` is the verdict; default
  ``ppe.math_verify`` = core `MathVerify`, which is what the paper uses).
* **format** — 1 if the response is *exactly one* ``<TAG>…</TAG>`` followed by *exactly one*
  ``<answer>…</answer>`` and nothing else (whitespace between and around is allowed), with
  TAG the prior prompt's tag; else 0 (the paper adapts open-r1's format check; `format_ok`).
* The "No PP" baseline (``tag=None``) has the accuracy term only (``ppe.reward_no_pp``:
  weight 1, answer = the last ``\\boxed{}`` anywhere).

Besides the two reward terms, ``info["correct"]`` records *task accuracy* — the last
``\\boxed{}`` anywhere in the response, whatever the format — which is what the paper's
benchmarks score and what the reproduction compares between pPE and iPE.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from r1repro.components import Reward, is_correct
from r1repro.textutil import between, last_boxed
from r1repro.types import RewardResult, Sample

ACCURACY_WEIGHT = 0.5  # paper §3.3: accuracy reward 0.5 for a correct answer, else 0
FORMAT_WEIGHT = 0.5  # paper §3.3: format reward 0.5 for the expected tag structure, else 0


def format_ok(response: str, tag: str) -> bool:
    """Exactly one ``<tag>…</tag>`` followed by exactly one ``<answer>…</answer>``, nothing else.

    Strict per tag: each of the four tag strings occurs once, in this order, and only
    whitespace lies before ``<tag>``, between ``</tag>`` and ``<answer>``, and after ``</answer>``.
    Linear time in the response length; never raises.
    """
    if not isinstance(response, str) or not isinstance(tag, str) or not tag:
        return False
    o, c = f"<{tag}>", f"</{tag}>"
    for t in (o, c, "<answer>", "</answer>"):
        if response.count(t) != 1:
            return False
    text = response.strip()
    if not (text.startswith(o) and text.endswith("</answer>")):
        return False
    close = text.find(c)
    rest = text[close + len(c) :].lstrip()
    return close > 0 and rest.startswith("<answer>")


def answer_block(response: str) -> str | None:
    """Text inside the last ``<answer> … </answer>``, or None."""
    return between(response, "<answer>", "</answer>") if isinstance(response, str) else None


def final_answer(response: str, require_answer_tag: bool = True) -> str | None:
    """The ``\\boxed{}`` answer the accuracy term grades: inside ``<answer>`` (or anywhere)."""
    if not isinstance(response, str):
        return None
    if require_answer_tag:
        block = answer_block(response)
        return last_boxed(block) if block is not None else None
    return last_boxed(response)


class PriorPromptReward(Reward):
    """0.5·accuracy + 0.5·format for the prior prompt ``tag`` (paper §3.3).

    Options: ``tag`` (one of the five pPE tags; None = "No PP", accuracy only), ``verifier``
    (reward spec of the accuracy checker, default ``ppe.math_verify``), ``accuracy_weight``,
    ``format_weight``, ``require_answer_tag`` (grade only a ``\\boxed{}`` inside ``<answer>``;
    default True for tagged prompts, False for "No PP").
    """

    info_keys = ("correct", "accuracy", "format")

    def __init__(self, tag: str | None = "think", verifier: Any = "ppe.math_verify",
                 accuracy_weight: float = ACCURACY_WEIGHT, format_weight: float = FORMAT_WEIGHT,
                 require_answer_tag: bool | None = None, name: str = "") -> None:  # fmt: skip
        from r1repro.registry import build
        from r1repro_ppe.templates import PRIOR_PROMPTS

        if tag is not None and tag not in PRIOR_PROMPTS:
            raise ValueError(f"unknown prior prompt tag {tag!r}; choose one of {tuple(PRIOR_PROMPTS)}")
        self.tag = tag
        self.accuracy_weight = float(accuracy_weight)
        self.format_weight = float(format_weight) if tag is not None else 0.0
        self.require_answer_tag = (
            (tag is not None) if require_answer_tag is None else bool(require_answer_tag)
        )
        self.verifier = build("reward", verifier) if not isinstance(verifier, Reward) else verifier
        self.timeout_s = max(self.timeout_s, getattr(self.verifier, "timeout_s", 0.0) * 2 + 1)
        self.name = name or ("ppe.reward" if tag else "ppe.reward_no_pp")

    def children(self) -> list[Reward]:
        return [self.verifier]

    def score_batch(self, samples: Sequence[Sample]) -> list[RewardResult]:
        graded = [final_answer(s.response, self.require_answer_tag) for s in samples]
        anywhere = [final_answer(s.response, False) for s in samples]
        # one verifier call for every distinct (answer, ground truth) pair
        keys: dict[tuple[str, str], int] = {}
        probes: list[Sample] = []
        for s, a, b in zip(samples, graded, anywhere):
            for ans in (a, b):
                if ans is None:
                    continue
                k = (ans, str(s.ground_truth))
                if k not in keys:
                    keys[k] = len(probes)
                    probes.append(Sample(response=f"\\boxed{{{ans}}}", ground_truth=s.ground_truth,
                                         problem=s.problem, data_source=s.data_source, domain=s.domain))  # fmt: skip
        verdicts = [is_correct(r) for r in self.verifier(probes)] if probes else []

        def ok(ans: str | None, s: Sample) -> bool:
            return ans is not None and verdicts[keys[(ans, str(s.ground_truth))]]

        out = []
        for s, a, b in zip(samples, graded, anywhere):
            acc = float(ok(a, s))
            fmt = float(format_ok(s.response, self.tag)) if self.tag is not None else 0.0
            score = self.accuracy_weight * acc + self.format_weight * fmt
            out.append(RewardResult(score, {"correct": ok(b, s), "accuracy": acc, "format": fmt}))
        return out
