"""The visual operations as verl ``BaseTool``s (paper scale).

verl 0.9.1 no longer ships an image zoom tool, so these wrap our own operations (`tools`). The
agent loop (``verl/experimental/agent_loop/tool_agent_loop.py``) appends a ``ToolResponse``'s
images to the conversation's ``multi_modal_data``. verl's tool responses carry images but not
videos here, so selected frames go back as images. The row's images / frames reach ``create``
through ``tools_kwargs`` (``create_kwargs: {"images": [...], "frames": [...]}``), else from the
agent loop's own record of the conversation's images (``agent_data.image_data``: the prompt's
images and every image a tool returned, which is what ``target_image`` counts); a bad box, an
out-of-range frame or a missing image is a text observation (``Execution error: ...``), never an
exception. `write_tool_config` writes the YAML ``actor_rollout_ref.rollout.multi_turn.tool_config_path``
names.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from r1repro.verl_bridge.tools import _base_tool
from r1repro_pixel_reasoner.constants import CROP_TOOL, FRAMES_TOOL
from r1repro_pixel_reasoner.templates import TOOL_SCHEMAS
from r1repro_pixel_reasoner.tools import ToolCall, ToolError, run_call

CLASSES = {CROP_TOOL: "r1repro_pixel_reasoner.verl_tools.CropImageTool",
           FRAMES_TOOL: "r1repro_pixel_reasoner.verl_tools.SelectFramesTool"}  # fmt: skip


def write_tool_config(path: str | Path, options: dict[str, Any] | None = None) -> Path:
    """The verl tool-config YAML listing both visual operations."""
    import yaml

    tools = [{"class_name": CLASSES[s["function"]["name"]], "config": {"type": "native", **(options or {})},
              "tool_schema": s} for s in TOOL_SCHEMAS]  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"tools": tools}, sort_keys=False))
    return path


class _VisualTool(_base_tool()):  # type: ignore[misc]
    """Shared state: per instance, the conversation's images (grown by crops) and the frames."""

    tool_name = ""

    def __init__(self, config: dict, tool_schema) -> None:
        super().__init__(config, tool_schema)
        self.options = {k: v for k, v in dict(config or {}).items() if k != "type"}
        self.states: dict[str, dict[str, Any]] = {}

    async def create(self, instance_id: str | None = None, **kwargs):
        from verl.tools.schemas import ToolResponse

        instance_id = instance_id or str(uuid.uuid4())
        kw = kwargs.get("create_kwargs", kwargs) or {}
        self.states[instance_id] = {"images": list(kw.get("images") or []), "frames": list(kw.get("frames") or []),
                                    "valid": 0, "calls": 0}  # fmt: skip
        return instance_id, ToolResponse()

    async def execute(self, instance_id: str, parameters: dict[str, Any], **kwargs):
        from verl.tools.schemas import ToolResponse

        from r1repro_pixel_reasoner.constants import ERROR_OBSERVATION

        state = self.states.setdefault(instance_id, {"images": [], "frames": [], "valid": 0, "calls": 0})
        state["calls"] += 1
        seen = getattr(kwargs.get("agent_data"), "image_data", None)
        if not state["images"] and seen:
            state["images"] = list(seen)
        try:
            if not isinstance(parameters, dict):
                raise ToolError("the arguments must be an object")
            out = run_call(
                ToolCall(self.tool_name, parameters), state["images"], state["frames"], self.options
            )
        except ToolError as exc:
            return ToolResponse(text=ERROR_OBSERVATION.format(message=exc)), 0.0, {"tool_failed": 1.0}
        except Exception as exc:  # noqa: BLE001 - a tool answers, never crashes the rollout
            msg = f"{type(exc).__name__} while running the tool"
            return ToolResponse(text=ERROR_OBSERVATION.format(message=msg)), 0.0, {"tool_failed": 1.0}
        state["valid"] += 1
        state["images"] += out.images
        text = out.text.replace("<image>", "")  # verl's agent loop places the images itself
        return (
            ToolResponse(text=text, image=list(out.images)),
            0.0,
            {"tool_failed": 0.0, "valid_ops": float(state["valid"])},
        )

    async def release(self, instance_id: str, **kwargs) -> None:
        self.states.pop(instance_id, None)


class CropImageTool(_VisualTool):
    """``crop_image_normalized(bbox_2d, target_image)`` -> the padded crop, as an image."""

    tool_name = CROP_TOOL


class SelectFramesTool(_VisualTool):
    """``select_frames(target_frames)`` -> the chosen frames, as images."""

    tool_name = FRAMES_TOOL
