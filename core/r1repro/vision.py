"""Images for vision-language policies: loading, Qwen2-VL resizing, the processor, placeholders.

A `Row` / `Sample` carries ``images`` as PIL images, file paths, ``data:`` URIs / base64 text,
raw bytes or verl-style ``{"bytes": ...}`` / ``{"path": ...}`` dicts; `load_image` turns any of
them into an RGB PIL image. A prompt marks where each image goes with verl's ``<image>``
placeholder (`IMAGE_PLACEHOLDER`), one per image.

Qwen2-VL / Qwen2.5-VL resize every image before the vision tower (`smart_resize`): both sides
become multiples of ``patch_size * merge_size`` (28) and the area is kept within
[min_pixels, max_pixels]. The model therefore sees (and answers coordinates in) the *resized*
frame, while datasets give ground-truth boxes in the *original* frame. `ImageFrame` records
both sizes so a coordinate reward can map a prediction back (`ImageFrame.to_original`); the
local engine puts the frames of a rollout into ``Sample.meta["image_frames"]`` and the verl
export into ``extra_info["image_frames"]``.

The processor (`VisionProcessor`) is transformers' ``Qwen2VLImageProcessorPil``, which needs no
torchvision (the torchvision wheels installable on these CPU machines are CUDA builds that fail
to import with the CPU torch); a real checkpoint can still use ``AutoProcessor`` (what verl
calls) through `VisionProcessor.from_pretrained`.
"""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

IMAGE_PLACEHOLDER = "<image>"
"""verl's (and EasyR1's) marker for one image inside a message's text (`rl_dataset._build_messages`)."""

VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD = (
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
"""Qwen2-VL's vision tokens: one image is <|vision_start|> + N x <|image_pad|> + <|vision_end|>."""

# Qwen2-VL / Qwen2.5-VL image-processor defaults (transformers `Qwen2VLImageProcessorPil`:
# size shortest_edge 56*56, longest_edge 28*28*1280; patch 14, merge 2).
PATCH_SIZE = 14
MERGE_SIZE = 2
MIN_PIXELS = 56 * 56
MAX_PIXELS = 28 * 28 * 1280


def smart_resize(height: int, width: int, factor: int = PATCH_SIZE * MERGE_SIZE, min_pixels: int = MIN_PIXELS,
                 max_pixels: int = MAX_PIXELS) -> tuple[int, int]:  # fmt: skip
    """(height, width) the Qwen2-VL processor resizes an image to.

    Qwen2-VL's rule (transformers ``models/qwen2_vl/image_processing_qwen2_vl.py::smart_resize``,
    the same as ``qwen_vl_utils.smart_resize``): round both sides to the nearest multiple of
    ``factor``; if the area exceeds ``max_pixels`` scale down by sqrt(area / max_pixels) and floor
    to multiples of ``factor``; if it is below ``min_pixels`` scale up and ceil. Aspect ratios above
    200 are refused (as there).
    """
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"image aspect ratio must be below 200, got {width}x{height}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class ImageFrame:
    """An image's original size and the size the model saw; scale = original / resized."""

    width: int
    height: int
    resized_width: int
    resized_height: int

    @property
    def scale_x(self) -> float:
        return self.width / self.resized_width

    @property
    def scale_y(self) -> float:
        return self.height / self.resized_height

    def to_original(self, box: list[float] | tuple[float, ...]) -> list[float]:
        """A box (x1, y1, x2, y2) or point (x, y) in the resized frame, mapped to the original one."""
        return [float(v) * (self.scale_x if i % 2 == 0 else self.scale_y) for i, v in enumerate(box)]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "scale_x": self.scale_x, "scale_y": self.scale_y}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageFrame:
        return cls(int(d["width"]), int(d["height"]), int(d["resized_width"]), int(d["resized_height"]))

    @classmethod
    def of(cls, width: int, height: int, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS,
           factor: int = PATCH_SIZE * MERGE_SIZE) -> ImageFrame:  # fmt: skip
        rh, rw = smart_resize(height, width, factor, min_pixels, max_pixels)
        return cls(int(width), int(height), rw, rh)


def frame_from_meta(meta: dict[str, Any] | None, index: int = 0) -> ImageFrame | None:
    """The frame of image ``index`` recorded in ``Sample.meta`` / ``Sample.extra`` (None if absent)."""
    frames = (meta or {}).get("image_frames") or []
    if index >= len(frames) or not isinstance(frames[index], dict):
        return None
    try:
        return ImageFrame.from_dict(frames[index])
    except (KeyError, TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------ loading
_DATA_URI = re.compile(r"^data:image/[\w.+-]+;base64,", re.IGNORECASE)


def load_image(obj: Any):
    """An RGB PIL image from a PIL image, path, ``data:`` URI, base64 text, bytes or verl dict."""
    from PIL import Image

    if isinstance(obj, Image.Image):
        return obj.convert("RGB")
    if isinstance(obj, dict):
        if obj.get("bytes") is not None:
            return load_image(bytes(obj["bytes"]))
        if obj.get("image") is not None:
            return load_image(obj["image"])
        if obj.get("path"):
            return load_image(Path(obj["path"]))
        raise ValueError("an image dict needs 'bytes', 'image' or 'path'")
    if isinstance(obj, bytes | bytearray):
        return Image.open(io.BytesIO(obj)).convert("RGB")
    if isinstance(obj, Path):
        if not obj.is_file():
            raise ValueError(f"image file not found: {obj}")
        with Image.open(obj) as im:
            return im.convert("RGB")
    if isinstance(obj, str):
        if _DATA_URI.match(obj):
            return load_image(base64.b64decode(obj.split(",", 1)[1]))
        path = Path(obj[7:] if obj.startswith("file://") else obj)
        if len(obj) < 4096 and path.is_file():
            return load_image(path)
        try:
            return load_image(base64.b64decode(obj, validate=True))
        except Exception:  # noqa: BLE001 - neither a file nor base64: one clear line below
            raise ValueError(f"image is neither an existing file nor base64: {obj[:60]!r}") from None
    raise ValueError(f"unsupported image type {type(obj).__name__}")


def image_bytes(obj: Any, fmt: str = "PNG") -> bytes:
    """PNG bytes of an image (for parquet export and JSON lines)."""
    buf = io.BytesIO()
    load_image(obj).save(buf, format=fmt)
    return buf.getvalue()


def image_to_data_uri(obj: Any) -> str:
    return "data:image/png;base64," + base64.b64encode(image_bytes(obj)).decode()


# ------------------------------------------------------------------------------- placeholders
def with_placeholders(messages: list[dict[str, Any]], n_images: int) -> list[dict[str, Any]]:
    """Messages whose ``<image>`` count is ``n_images``: if none are present, all images are put in
    front of the first user turn (Qwen's chat layout); a different non-zero count is an error."""
    found = sum(str(m.get("content", "")).count(IMAGE_PLACEHOLDER) for m in messages)
    if found == n_images:
        return [dict(m) for m in messages]
    if found:
        raise ValueError(f"prompt has {found} {IMAGE_PLACEHOLDER} placeholders for {n_images} images")
    out = [dict(m) for m in messages]
    for m in out:
        if m.get("role") == "user":
            m["content"] = IMAGE_PLACEHOLDER * n_images + str(m.get("content", ""))
            return out
    raise ValueError("a prompt with images needs a user message")


def expand_placeholders(text: str, tokens_per_image: list[int]) -> str:
    """Replace the i-th ``<image>`` with Qwen2-VL's vision span of ``tokens_per_image[i]`` pads."""
    parts = text.split(IMAGE_PLACEHOLDER)
    if len(parts) - 1 != len(tokens_per_image):
        raise ValueError(
            f"{len(parts) - 1} {IMAGE_PLACEHOLDER} placeholders for {len(tokens_per_image)} images"
        )
    out = [parts[0]]
    for n, rest in zip(tokens_per_image, parts[1:]):
        out.append(VISION_START + IMAGE_PAD * n + VISION_END + rest)
    return "".join(out)


# ---------------------------------------------------------------------------------- processor
@dataclass
class ProcessedImages:
    pixel_values: Any  # (sum of patches, C * temporal * patch * patch) float tensor
    image_grid_thw: Any  # (n_images, 3) long tensor
    frames: list[ImageFrame]
    tokens_per_image: list[int]


class VisionProcessor:
    """Images -> (pixel_values, image_grid_thw) plus the frames, without torchvision.

    ``image_processor`` is any Qwen2-VL-style image processor (the PIL one by default; the one
    inside ``AutoProcessor.from_pretrained(checkpoint)`` for real models).
    """

    def __init__(
        self, image_processor=None, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS
    ) -> None:
        if image_processor is None:
            from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

            image_processor = Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels)
        self.image_processor = image_processor
        size = getattr(image_processor, "size", None) or {}
        self.min_pixels = int(size.get("shortest_edge", getattr(image_processor, "min_pixels", min_pixels)))
        self.max_pixels = int(size.get("longest_edge", getattr(image_processor, "max_pixels", max_pixels)))
        self.patch_size = int(getattr(image_processor, "patch_size", PATCH_SIZE))
        self.merge_size = int(getattr(image_processor, "merge_size", MERGE_SIZE))

    @classmethod
    def from_pretrained(cls, path: str) -> VisionProcessor:
        """The checkpoint's own image processor: the PIL one if ``preprocessor_config.json`` names a
        Qwen2-VL processor (no torchvision needed), else ``AutoProcessor`` (needs torchvision)."""
        import json

        cfg_file = Path(path) / "preprocessor_config.json"
        if cfg_file.is_file():
            cfg = json.loads(cfg_file.read_text())
            if str(cfg.get("image_processor_type", "")).startswith("Qwen2VLImageProcessor"):
                from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
                    Qwen2VLImageProcessorPil,
                )

                keep = {k: cfg[k] for k in ("min_pixels", "max_pixels", "patch_size", "merge_size",
                                            "temporal_patch_size", "image_mean", "image_std") if k in cfg}  # fmt: skip
                if "size" in cfg and "min_pixels" not in keep:
                    keep["min_pixels"] = cfg["size"].get("shortest_edge", MIN_PIXELS)
                    keep["max_pixels"] = cfg["size"].get("longest_edge", MAX_PIXELS)
                return cls(Qwen2VLImageProcessorPil(**keep))
        from transformers import AutoProcessor

        return cls(AutoProcessor.from_pretrained(path).image_processor)

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size

    def frame(self, image) -> ImageFrame:
        w, h = image.size
        return ImageFrame.of(w, h, self.min_pixels, self.max_pixels, self.factor)

    def __call__(self, images: list[Any]) -> ProcessedImages:
        pil = [load_image(x) for x in images]
        out = self.image_processor(images=pil, return_tensors="pt")
        grid = out["image_grid_thw"]
        frames = [self.frame(im) for im in pil]
        for f, g in zip(frames, grid.tolist()):  # the processor and our rule must agree (else rewards lie)
            if (g[1] * self.patch_size, g[2] * self.patch_size) != (f.resized_height, f.resized_width):
                raise RuntimeError(f"processor resized to grid {g}, smart_resize predicted {f}")
        tokens = [int(g[0] * g[1] * g[2]) // (self.merge_size**2) for g in grid.tolist()]
        return ProcessedImages(out["pixel_values"], grid, frames, tokens)


# ------------------------------------------------------------------------------------ export
CHECKPOINT_MIN_PIXELS, CHECKPOINT_MAX_PIXELS = 3136, 12_845_056
"""Pixel bounds in Qwen2.5-VL checkpoints' ``preprocessor_config.json`` (also GUI-G1's defaults,
§1 of the multimodal fact sheet): the frames the verl export records assume them."""


def export_images(images: list[Any], min_pixels: int = CHECKPOINT_MIN_PIXELS,
                  max_pixels: int = CHECKPOINT_MAX_PIXELS) -> tuple[list[dict[str, bytes]], list[dict[str, Any]]]:  # fmt: skip
    """verl's parquet form of a row's images (``{"bytes": png}``) and their frames."""
    pil = [load_image(x) for x in images]
    frames = [ImageFrame.of(*im.size, min_pixels=min_pixels, max_pixels=max_pixels).to_dict() for im in pil]
    return [{"bytes": image_bytes(im)} for im in pil], frames
