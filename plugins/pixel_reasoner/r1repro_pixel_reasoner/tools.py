"""The visual operations (crop, select frames) and the ``<tool_call>`` parser.

Both operations return images. Every way a call can be wrong (text that is not JSON, an unknown
tool, a box that is not four numbers, a crop of 28 pixels or less, a frame index out of range, a
frame request on an image question) raises `ToolError` with one clear line; `execute` turns that
into the ``Execution error: ...`` observation. Nothing the model writes can raise past `execute`.

Box convention (official crop, verl-tool ``pixel_reasoner.py``): ``bbox_2d = [x1, y1, x2, y2]``.
If all four values are below 1 the box is normalised; otherwise it is in pixels and divided by the
image's width / height. It is padded by `CROP_PADDING` on every side (the ``zoom_in`` alias caps
the padding at 600 px), clamped to [0, 1], and cropped at ``int(coord * side)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from r1repro.vision import smart_resize
from r1repro_pixel_reasoner.constants import (
    CROP_MAX_PIXELS,
    CROP_MIN_PIXELS,
    CROP_OBSERVATION,
    CROP_PADDING,
    CROP_TOOL,
    ERROR_OBSERVATION,
    FRAME_MAX_PIXELS,
    FRAMES_OBSERVATION,
    FRAMES_TOOL,
    MAX_SELECTED_FRAMES,
    MIN_CROP_SIDE,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    ZOOM_PAD_CAP_PX,
    ZOOM_TOOL,
)

TOOL_NAMES = (CROP_TOOL, ZOOM_TOOL, FRAMES_TOOL)


class ToolError(ValueError):
    """A visual operation that cannot run; its message becomes the error observation."""


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass
class ToolOutcome:
    """What one call returns: images and the observation text (``<image>`` marks each image)."""

    name: str
    valid: bool
    text: str
    images: list[Any] = field(default_factory=list)
    error: str = ""


# ----------------------------------------------------------------------------------- parsing
def wants_tool(text: str) -> bool:
    """A turn asks for a tool when it ends with ``</tool_call>`` (the official rule)."""
    return (text or "").rstrip().endswith(TOOL_CALL_CLOSE)


def parse_tool_call(text: str) -> ToolCall:
    """The last ``<tool_call>{json}</tool_call>`` of a turn; `ToolError` if it is malformed."""
    body = (text or "").rstrip()
    if not body.endswith(TOOL_CALL_CLOSE) or TOOL_CALL_OPEN not in body:
        raise ToolError(f"no {TOOL_CALL_OPEN}...{TOOL_CALL_CLOSE} block")
    inner = body[: -len(TOOL_CALL_CLOSE)].rsplit(TOOL_CALL_OPEN, 1)[1].strip()
    try:
        call = json.loads(inner)
    except (json.JSONDecodeError, RecursionError):
        raise ToolError("the tool call is not valid JSON") from None
    if not isinstance(call, dict):
        raise ToolError("the tool call must be a JSON object with 'name' and 'arguments'")
    name = call.get("name")
    if name not in TOOL_NAMES:
        raise ToolError(f"unknown tool {str(name)[:40]!r}; available: {', '.join(TOOL_NAMES)}")
    args = call.get("arguments", {})
    if isinstance(args, str):  # some models write the arguments as a JSON string
        try:
            args = json.loads(args)
        except (json.JSONDecodeError, RecursionError):
            raise ToolError("'arguments' is not a JSON object") from None
    if not isinstance(args, dict):
        raise ToolError("'arguments' must be an object of parameter values")
    return ToolCall(str(name), args)


def format_call(name: str, arguments: dict[str, Any]) -> str:
    """A call as the model writes it (used by SFT traces and tests)."""
    return TOOL_CALL_OPEN + json.dumps({"name": name, "arguments": arguments}) + TOOL_CALL_CLOSE


# -------------------------------------------------------------------------------------- crop
def _finite_numbers(values: Any, n: int, what: str) -> list[float]:
    if not isinstance(values, list | tuple) or len(values) != n:
        raise ToolError(f"{what} must be a list of {n} numbers")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(float(v)):
            raise ToolError(f"{what} must be a list of {n} finite numbers")
        out.append(float(v))
    return out


def normalised_box(bbox: Any, width: int, height: int, padding: float = CROP_PADDING,
                   pad_cap_px: float | None = None) -> tuple[float, float, float, float]:  # fmt: skip
    """The padded, clamped, normalised crop box of ``bbox_2d`` (see the module docstring)."""
    x1, y1, x2, y2 = _finite_numbers(bbox, 4, "bbox_2d")
    if min(x1, y1, x2, y2) < 0:
        raise ToolError("bbox_2d values must not be negative")
    if not all(v < 1 for v in (x1, y1, x2, y2)):  # pixels: any value >= 1
        x1, x2, y1, y2 = x1 / width, x2 / width, y1 / height, y2 / height
    if x2 <= x1 or y2 <= y1:
        raise ToolError("bbox_2d must satisfy x1 < x2 and y1 < y2")
    px = py = padding
    if pad_cap_px is not None:
        px, py = min(padding, pad_cap_px / width), min(padding, pad_cap_px / height)
    box = (x1 - px, y1 - py, x2 + px, y2 + py)
    return tuple(min(1.0, max(0.0, v)) for v in box)  # type: ignore[return-value]


def resize_for_model(image, max_pixels: int, min_pixels: int):
    """The image resized by Qwen2-VL's `smart_resize` with the tool's pixel bounds."""
    w, h = image.size
    rh, rw = smart_resize(h, w, min_pixels=min_pixels, max_pixels=max_pixels)
    return image if (rw, rh) == (w, h) else image.resize((rw, rh), resample=3)  # 3 = BICUBIC


def crop_image(image, bbox: Any, padding: float = CROP_PADDING, pad_cap_px: float | None = None,
               max_pixels: int = CROP_MAX_PIXELS, min_pixels: int = CROP_MIN_PIXELS):  # fmt: skip
    """The crop of ``bbox`` (padded, clamped), resized by `smart_resize`; `ToolError` if <= 28 px."""
    from r1repro.vision import load_image

    img = load_image(image)
    w, h = img.size
    nx1, ny1, nx2, ny2 = normalised_box(bbox, w, h, padding, pad_cap_px)
    px = (int(nx1 * w), int(ny1 * h), int(nx2 * w), int(ny2 * h))
    if px[2] - px[0] <= MIN_CROP_SIDE or px[3] - px[1] <= MIN_CROP_SIDE:
        raise ToolError(f"the cropped region {px[2] - px[0]}x{px[3] - px[1]} is too small "
                        f"(it must be larger than {MIN_CROP_SIDE}x{MIN_CROP_SIDE} pixels)")  # fmt: skip
    return resize_for_model(img.crop(px), max_pixels, min_pixels)


def select_frames(frames: list[Any], targets: Any, max_pixels: int = FRAME_MAX_PIXELS,
                  min_pixels: int = 4 * 28 * 28) -> list[Any]:  # fmt: skip
    """The chosen frames (1-based indices, at most 8, no repeats), resized by `smart_resize`."""
    from r1repro.vision import load_image

    if not frames:
        raise ToolError("select_frames is only available for video inputs")
    if not isinstance(targets, list | tuple) or not targets:
        raise ToolError("target_frames must be a non-empty list of frame numbers")
    if len(targets) > MAX_SELECTED_FRAMES:
        raise ToolError(f"select at most {MAX_SELECTED_FRAMES} frames, got {len(targets)}")
    if any(isinstance(t, bool) or not isinstance(t, int) for t in targets):
        raise ToolError("target_frames must be integers")
    if len(set(targets)) != len(targets):
        raise ToolError("target_frames must not repeat a frame")
    if any(not 1 <= t <= len(frames) for t in targets):
        raise ToolError(f"frame numbers must be between 1 and {len(frames)}")
    return [resize_for_model(load_image(frames[t - 1]), max_pixels, min_pixels) for t in targets]


# ----------------------------------------------------------------------------------- execute
def _target_image(args: dict[str, Any], images: list[Any]):
    idx = args.get("target_image", 1)
    if isinstance(idx, bool) or not isinstance(idx, int) or not 1 <= idx <= len(images):
        raise ToolError(f"target_image must be an integer between 1 and {len(images)}")
    return images[idx - 1]


def run_call(
    call: ToolCall, images: list[Any], frames: list[Any] | None, options: dict[str, Any]
) -> ToolOutcome:
    """Execute a parsed call on the conversation's images (``target_image`` is 1-based over all
    images so far, as in the official tool) or the video's frames; `ToolError` on bad input."""
    a = call.arguments
    if call.name in (CROP_TOOL, ZOOM_TOOL):
        if frames and not images:
            raise ToolError("crop_image_normalized needs an image; use select_frames for a video")
        if "bbox_2d" not in a:
            raise ToolError("missing parameter: bbox_2d")
        cap = ZOOM_PAD_CAP_PX if call.name == ZOOM_TOOL else options.get("pad_cap_px")
        crop = crop_image(_target_image(a, images), a["bbox_2d"], options.get("padding", CROP_PADDING), cap,
                          options.get("crop_max_pixels", CROP_MAX_PIXELS),
                          options.get("crop_min_pixels", CROP_MIN_PIXELS))  # fmt: skip
        text = CROP_OBSERVATION.format(width=crop.size[0], height=crop.size[1]) + "<image>"
        return ToolOutcome(call.name, True, text, [crop])
    if "target_frames" not in a:
        raise ToolError("missing parameter: target_frames")
    chosen = select_frames(
        frames or [], a["target_frames"], options.get("frame_max_pixels", FRAME_MAX_PIXELS)
    )
    w, h = chosen[0].size
    return ToolOutcome(call.name, True, FRAMES_OBSERVATION.format(width=w, height=h) + "<image>" * len(chosen),
                       chosen)  # fmt: skip


def execute(text: str, images: list[Any], frames: list[Any] | None = None,
            options: dict[str, Any] | None = None) -> ToolOutcome:  # fmt: skip
    """Parse and run the tool call that ends ``text``; any failure is an error observation."""
    name = "unknown"
    try:
        call = parse_tool_call(text)
        name = call.name
        return run_call(call, list(images), frames, options or {})
    except ToolError as exc:
        msg = str(exc)
    except Exception as exc:  # noqa: BLE001 - an image library failure is still an observation
        msg = f"{type(exc).__name__} while running the tool"
    return ToolOutcome(name, False, ERROR_OBSERVATION.format(message=msg), [], msg)
