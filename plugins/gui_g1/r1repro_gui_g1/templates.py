"""GUI-G1's prompts: the fast-thinking template (official) and a thinking template (ablation).

Fast thinking (official ``grpo_rec.py``, ``QUESTION_TEMPLATE``): no system prompt, no ``<think>``;
the user turn is the screenshot followed by
"Grounding instruction is: {instruction}. Report the bbox coordinates in JSON format."
and the answer is Qwen's grounding JSON ``[{"bbox_2d": [x1, y1, x2, y2]}]``. The paper (§3,
"fast thinking") finds that thinking first hurts grounding; the thinking template below asks
for the reasoning in ``<think>`` tags before the same JSON, for that comparison [unverified:
the exact thinking prompt the paper used is not in the official code].
"""

from __future__ import annotations

import json

from r1repro.components import Template
from r1repro.types import ParsedResponse
from r1repro.vision import IMAGE_PLACEHOLDER
from r1repro_gui_g1.reward import parse_bbox

QUESTION_TEMPLATE = "Grounding instruction is: {problem}. Report the bbox coordinates in JSON format."
"""grpo_rec.py:190 (``QUESTION_TEMPLATE``, after the image in the user turn)."""
THINK_INSTRUCTION = " First think about where the element is inside <think> </think> tags, then answer."


def bbox_json(box: list[int]) -> str:
    """Qwen2.5-VL's grounding output format."""
    return json.dumps([{"bbox_2d": [int(round(v)) for v in box]}])


class FastTemplate(Template):
    """[image] + "Grounding instruction is: ... in JSON format."; the response is the JSON."""

    name = "gui_g1.fast"
    description = "GUI-G1 fast thinking: image + grounding instruction, JSON bbox answer, no <think>"
    user_format = IMAGE_PLACEHOLDER + QUESTION_TEMPLATE

    example_answers = ("[10.0, 20.0, 30.0, 40.0]", "[0.0, 0.0, 1.0, 1.0]", "[5.5, 6.0, 7.25, 8.0]")

    def parse(self, response: str) -> ParsedResponse:
        box = parse_bbox(response)
        return ParsedResponse(answer=None if box is None else json.dumps(box), format_ok=box is not None)

    def format_response(self, answer: str, think: str | None = None) -> str:
        return as_official_json(answer)


class ThinkingTemplate(FastTemplate):
    """The same prompt asking for <think> reasoning first (the paper's slow-thinking comparison)."""

    name = "gui_g1.thinking"
    description = "GUI-G1 ablation: reason in <think> tags, then the JSON bbox"
    user_format = IMAGE_PLACEHOLDER + QUESTION_TEMPLATE + THINK_INSTRUCTION
    response_prefix = "<think>"

    def parse(self, response: str) -> ParsedResponse:
        text = response or ""
        think, _, rest = text.partition("</think>")
        box = parse_bbox(rest.strip())
        return ParsedResponse(answer=None if box is None else json.dumps(box), think=think.replace("<think>", ""),
                              format_ok=box is not None and "</think>" in text)  # fmt: skip

    def format_response(self, answer: str, think: str | None = None) -> str:
        return f"<think>{think or ''}</think>{as_official_json(answer)}"


def as_official_json(answer: str) -> str:
    """A box written as the answer the official parser reads (``[{"bbox_2d": [x1, y1, x2, y2]}]``);
    any other text is returned unchanged."""
    try:
        box = json.loads(answer)
    except (TypeError, ValueError):
        return answer
    if isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box):
        return json.dumps([{"bbox_2d": box}])
    return answer
