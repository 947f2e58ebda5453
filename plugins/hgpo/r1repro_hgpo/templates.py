"""The hybrid response format of LHRM (arXiv 2505.14631, §3.1, Hybrid Fine-Tuning).

Thinking mode: ``<think>reasoning</think>answer``; no-thinking mode:
``<no_think>answer</no_think>``. The tags are from the paper; the final answer inside the
answer part is a ``\\boxed{}`` (our choice: the paper evaluates math with a rule verifier,
and a boxed answer is what its R1-distilled think data ends with). The paper does not
print its user prompt; ``instruction`` (appended to the problem) is a config option.
"""

from __future__ import annotations

from r1repro.components import Template
from r1repro.textutil import between, last_boxed
from r1repro.types import ParsedResponse
from r1repro_hgpo.modes import NO_THINK, NO_THINK_END, NO_THINK_TAG, THINK, THINK_END, THINK_TAG, mode_of

BOXED_INSTRUCTION = " Please reason step by step, and put your final answer within \\boxed{}."
"""Qwen2.5-Math's usual math instruction; used by the paper-scale preset (our choice)."""


class HybridTemplate(Template):
    """No system prompt; the user turn is the problem (+ ``instruction``); hybrid responses."""

    def __init__(self, instruction: str = "", name: str = "") -> None:
        self.instruction = instruction
        self.user_format = "{problem}" + instruction
        self.name = name or "hgpo.hybrid"

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        mode = mode_of(text)
        think = None
        if mode == THINK:
            think = between(text, THINK_TAG, THINK_END, last=False)
            tail = text.split(THINK_END, 1)[1] if THINK_END in text else ""
            ok = think is not None
        elif mode == NO_THINK:
            inner = between(text, NO_THINK_TAG, NO_THINK_END, last=False)
            tail = inner if inner is not None else text.split(NO_THINK_TAG, 1)[1]
            ok = inner is not None
        else:
            tail, ok = text, False
        boxed = last_boxed(tail)
        answer = boxed if boxed is not None else (tail.strip() or None)
        return ParsedResponse(answer=answer, think=think, format_ok=ok and boxed is not None,
                              parts={"mode": mode})  # fmt: skip

    def format_response(self, answer: str, think: str | None = None) -> str:
        """Thinking format when ``think`` is given (even empty), else no-thinking format."""
        if think is not None:
            return f"{THINK_TAG}{think}{THINK_END}\\boxed{{{answer}}}"
        return f"{NO_THINK_TAG}\\boxed{{{answer}}}{NO_THINK_END}"

    def mode_response(self, mode: str, answer: str, think: str = "") -> str:
        """The response in a given mode (``think`` / ``no_think``)."""
        return (
            self.format_response(answer, think if mode == THINK else None)
            if mode in (THINK, NO_THINK)
            else ""
        )


class HybridMathTemplate(HybridTemplate):
    """`HybridTemplate` with the step-by-step ``\\boxed{}`` instruction (paper-scale math prompts)."""

    def __init__(self, instruction: str = BOXED_INSTRUCTION, name: str = "") -> None:
        super().__init__(instruction=instruction, name=name or "hgpo.hybrid_math")


__all__ = ["HybridTemplate", "HybridMathTemplate", "BOXED_INSTRUCTION", "NO_THINK"]
