"""360-R1's prompt: the panorama, the question, and the R1 output structure.

360-R1 (arXiv 2505.14197, §4) trains Qwen2.5-VL to reason in ``<think> </think>`` and answer in
``<answer> </answer>`` (the structure its format reward checks). The exact prompt wording is not
public [unverified]; ours says what an ERP image is (centre = front, the two edges meet behind
the viewer) and asks for the two tagged parts, with a one-word answer (the CPU task's answers are
single words). The response is forced to start with ``<think>``.
"""

from __future__ import annotations

import re

from r1repro.components import Template
from r1repro.types import ParsedResponse
from r1repro.vision import IMAGE_PLACEHOLDER

SYSTEM_PROMPT = (
    "The image is a 360-degree equirectangular panorama: its centre is in front of you and its left and right "
    "edges meet behind you. Think inside <think> </think>, then give a one-word answer inside <answer> </answer>."
)
"""[unverified] the paper's prompt is not public; R1-style instruction with the ERP layout."""

FORMAT = re.compile(r"\s*<think>(?:(?!</?think>|</?answer>).)+</think>\s*<answer>(?:(?!</?think>|</?answer>).)+</answer>\s*",
                    re.DOTALL)  # fmt: skip
"""The whole response is one <think> block with text, then one <answer> block with text."""


def between(text: str, start: str, end: str, last: bool = False) -> str | None:
    """Text between the first (``last``: the last) complete ``start ... end`` pair, in linear time
    (a lazy regex rescans the tail from every unclosed tag: quadratic on adversarial output)."""
    if last:
        j = text.rfind(end)
        i = text.rfind(start, 0, max(j, 0)) if j >= 0 else -1
        return text[i + len(start) : j].strip() if i >= 0 else None
    i = text.find(start)
    j = text.find(end, i + len(start)) if i >= 0 else -1
    return text[i + len(start) : j].strip() if j >= 0 else None


def parse_parts(response: object) -> tuple[str | None, str | None]:
    """(reasoning, answer): the text of the first <think> block and of the last <answer> block."""
    if not isinstance(response, str):
        return None, None
    return between(response, "<think>", "</think>"), between(response, "<answer>", "</answer>", last=True)


def format_ok(response: object) -> bool:
    return isinstance(response, str) and FORMAT.fullmatch(response) is not None


class R1Template(Template):
    """[panorama] question -> <think> reasoning </think><answer> word </answer>."""

    name = "omni360.r1"
    description = "360-R1: ERP panorama + question; <think> reasoning then <answer> (forced <think> start)"
    system_prompt = SYSTEM_PROMPT
    user_format = IMAGE_PLACEHOLDER + "{problem}"
    response_prefix = "<think>"
    example_answers = ("left", "red", "circle")

    def parse(self, response: str) -> ParsedResponse:
        think, answer = parse_parts(response)
        return ParsedResponse(answer=answer, think=think, format_ok=format_ok(response))

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"<think>{think or ''}</think><answer>{answer}</answer>"
