"""LASER's prompt: the question, then the DeepScaleR instruction, under an R1-style chat.

Source: ``scripts/data_preprocess/deepscaler.py`` of hkust-nlp/Laser puts
``f"{question} Let's think step by step and output the final answer within \\boxed{{}}."``
in the user turn; the model's own chat template (DeepSeek-R1-Distill-Qwen) opens the
thinking block. The suffix is the core's `STEP_BY_STEP_BOXED` (the same sentence).

``response_prefix = "<think>"`` stands in for the R1-Distill chat template, which ends
the generation prompt with ``<think>\\n``: at CPU scale the tiny policy's response is
forced to open its thinking block, so the response carries both tags and LASER's format
rule (``<think>`` and ``</think>`` present) is checked on the response itself. At paper
scale the tag lives in the prompt; see ``LaserAccuracy(think_open_in_prompt=True)``.
"""

from __future__ import annotations

from r1repro.components import Template
from r1repro.core_components import STEP_BY_STEP_BOXED
from r1repro.textutil import last_boxed
from r1repro.types import ParsedResponse

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def after_think(response: str) -> str:
    """The text LASER grades: what follows the first ``</think>`` (the whole text without one).

    Mirrors ``extract_solution_with_thought`` of the official ``hf_math_verifier.py``
    (``solution_str.split("</think>")[1]``).
    """
    text = response if isinstance(response, str) else ""
    if THINK_CLOSE in text:
        return text.split(THINK_CLOSE)[1]
    return text


class LaserTemplate(Template):
    """User turn = problem + " Let's think step by step and output the final answer within \\boxed{}."."""

    user_format = "{problem}" + STEP_BY_STEP_BOXED
    response_prefix = THINK_OPEN

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        think = None
        if THINK_CLOSE in text:
            head = text.split(THINK_CLOSE)[0]
            think = head.split(THINK_OPEN, 1)[1] if THINK_OPEN in head else head
        answer = last_boxed(after_think(text))
        ok = THINK_OPEN in text and THINK_CLOSE in text and answer is not None
        return ParsedResponse(answer=answer, think=think, format_ok=ok)

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"{THINK_OPEN}{think or ''}{THINK_CLOSE}\\boxed{{{answer}}}"
