"""The visual-operations environment: a turn that ends with a tool call gets images back.

``step(state, text)``: a turn that does not end with ``</tool_call>`` is the final answer (the
episode ends). Otherwise the call is executed on the conversation's images (the row's and every
image returned so far, 1-based, as ``target_image`` counts them officially) or the video's frames,
and the observation text carries one ``<image>`` per returned image (`StepResult.images`). The
episode is force-terminated (no observation, ``forced_stop`` in ``info``) when the call would be
number ``max_tool_calls + 1`` or push the image count past ``max_images``.

Every call is logged in ``state["ops"]`` (name, valid, error): the curiosity reward counts the
valid ones and resets correctness when the last one failed.
"""

from __future__ import annotations

from typing import Any

from r1repro.components import Environment
from r1repro.types import Row, StepResult
from r1repro_pixel_reasoner.constants import MAX_IMAGES, MAX_TOOL_CALLS
from r1repro_pixel_reasoner.tools import execute, wants_tool


class VisualOpsEnvironment(Environment):
    """crop_image_normalized / select_frames as tools that return images."""

    description = "Pixel Reasoner visual operations: crop (zoom-in) and select_frames, images as observations"
    stop_strings = ()  # a turn ends at EOS; it asks for a tool if it ends with </tool_call>

    def __init__(self, max_tool_calls: int = MAX_TOOL_CALLS, max_images: int = MAX_IMAGES, enabled: bool = True,
                 name: str = "", **tool_options: Any) -> None:  # fmt: skip
        self.name = name or "pixel_reasoner.visual_ops"
        self.max_tool_calls, self.max_images, self.enabled = (
            int(max_tool_calls),
            int(max_images),
            bool(enabled),
        )
        self.max_turns = self.max_tool_calls + 1
        self.tool_options = dict(tool_options)

    def reset(self, row: Row | None) -> dict[str, Any]:
        images = list(getattr(row, "images", None) or [])
        videos = getattr(row, "videos", None) or []
        frames = list(videos[0]) if videos else []  # a video is its list of frames
        return {"images": images, "frames": frames, "ops": [], "forced_stop": ""}

    def step(self, state: dict[str, Any], action: str) -> StepResult:
        if not wants_tool(action):
            return StepResult(done=True, info={"action": "answer"})
        if len(state["ops"]) >= self.max_tool_calls:
            state["forced_stop"] = "max_tool_calls"
            return StepResult(done=True, info={"action": "forced_stop", "reason": "max_tool_calls"})
        if not self.enabled:
            outcome_text, images, valid, error, name = (
                "Execution error: no visual operations are available; answer directly", [], False,
                "tools disabled", "disabled")  # fmt: skip
        else:
            out = execute(action, state["images"], state["frames"], self.tool_options)
            outcome_text, images, valid, error, name = out.text, out.images, out.valid, out.error, out.name
        if len(state["images"]) + len(images) > self.max_images:
            state["forced_stop"] = "max_images"
            return StepResult(done=True, info={"action": "forced_stop", "reason": "max_images"})
        state["ops"].append({"name": name, "valid": valid, "error": error})
        state["images"] += images
        return StepResult(observation=outcome_text, tool_call=True, tool_failed=not valid, images=images or None,
                          info={"action": "tool", "name": name, "valid": valid, "error": error})  # fmt: skip
