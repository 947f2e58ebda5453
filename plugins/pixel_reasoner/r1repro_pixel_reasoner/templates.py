"""Prompts: the paper's (system guidelines + tool schemas in the Qwen function-calling layout) and
a short one for the tiny CPU policy (every prompt character costs a token there)."""

from __future__ import annotations

import json

from r1repro.components import Template
from r1repro.types import ParsedResponse
from r1repro.vision import IMAGE_PLACEHOLDER
from r1repro_pixel_reasoner.constants import CROP_TOOL, FRAMES_TOOL, SYSTEM_PROMPT

TOOL_SCHEMAS = [
    {"type": "function", "function": {
        "name": CROP_TOOL,
        "description": "Zoom in on a region of an image: crop the box and return it at a higher resolution.",
        "parameters": {"type": "object", "required": ["bbox_2d", "target_image"], "properties": {
            "bbox_2d": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                        "description": "[x1, y1, x2, y2], normalised to [0, 1] (or pixels)"},
            "target_image": {"type": "integer", "description": "1-based index of the image to crop"}}}}},
    {"type": "function", "function": {
        "name": FRAMES_TOOL,
        "description": "Look at chosen frames of the video (at most 8, numbered 1 to 16).",
        "parameters": {"type": "object", "required": ["target_frames"], "properties": {
            "target_frames": {"type": "array", "items": {"type": "integer"}, "maxItems": 8}}}}},
]  # fmt: skip
"""OpenAI-style tool schemas (the verl tool config and the paper prompt list them)."""

TOOLS_BLOCK = (
    "\n\n# Tools\n\nYou may call one function per turn. Function signatures:\n<tools>\n"
    + "\n".join(json.dumps(s) for s in TOOL_SCHEMAS)
    + '\n</tools>\nCall a function as <tool_call>{"name": <function-name>, "arguments": <args-json-object>}'
    "</tool_call>"
)
"""The tools section of the system message in the Hermes / Qwen function-calling layout (Qwen-Agent
``NousFnCallPrompt``), in our words."""


class PaperTemplate(Template):
    """The paper's layout: guidelines + tool schemas in the system turn; image, then the question."""

    name = "pixel_reasoner.paper"
    description = "Pixel Reasoner vcot prompt with tool schemas (Qwen function calling); \\boxed{} answer"
    system_prompt = SYSTEM_PROMPT + TOOLS_BLOCK
    user_format = IMAGE_PLACEHOLDER + "{problem}"
    example_answers = ("horizontal", "checker", "42")

    def parse(self, response: str) -> ParsedResponse:
        from r1repro.textutil import last_boxed

        ans = last_boxed(response)
        return ParsedResponse(answer=ans, think=None, format_ok=ans is not None)

    def format_response(self, answer: str, think: str | None = None) -> str:
        return (f"{think}\n" if think else "") + f"\\boxed{{{answer}}}"


class CPUTemplate(PaperTemplate):
    """The same turn layout with a one-line system prompt (the tiny policy learns the call format
    from its warm start, not from schemas)."""

    name = "pixel_reasoner.cpu"
    description = "short Pixel Reasoner prompt for the tiny VL policy (tools: crop_image_normalized)"
    system_prompt = "Zoom in with crop_image_normalized if needed; answer in \\boxed{}."
