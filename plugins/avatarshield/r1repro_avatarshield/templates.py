"""AvatarShield's prompt: frames (and residual frames) first, then the question; the response
reasons in <think> and answers real / fake in <answer>.

The paper's exact prompt is not in what we could read [unverified]; this one follows the
Video-R1 / R1-V question template that the temporal reward comes from ("... provide your
thinking process between the <think> </think> tags, and then give your final answer between
the <answer> </answer> tags"), with the answer restricted to the two labels.
"""

from __future__ import annotations

from r1repro.components import Template
from r1repro.textutil import between
from r1repro.types import ParsedResponse
from r1repro_avatarshield.reward import FORMAT_PATTERN, LABELS, parse_label

INSTRUCTION = (
    " Think about the motion across the frames and any artifacts between <think> </think> tags,"
    " then answer real or fake between <answer> </answer> tags."
)


class DetectTemplate(Template):
    """[frames][residuals] + question + think/answer instruction; answer = real | fake."""

    name = "avatarshield.detect"
    description = "AvatarShield: clip frames (+ residual frames), real/fake answer in <answer> after <think>"
    user_format = "{problem}" + INSTRUCTION
    example_answers = LABELS

    def parse(self, response: str) -> ParsedResponse:
        text = response if isinstance(response, str) else ""
        think = between(text, "<think>", "</think>", last=False)
        return ParsedResponse(answer=parse_label(text), think=think.strip() if think else None,
                              format_ok=bool(FORMAT_PATTERN.fullmatch(text.strip())))  # fmt: skip

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"<think>{think or ''}</think><answer>{answer}</answer>"
