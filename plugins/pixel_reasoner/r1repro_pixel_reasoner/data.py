"""Generated tasks whose answer can only be read after a visual operation.

``pixel_reasoner.zoom`` (image): a large canvas (default 1008 x 1008) divided into a G x G grid
(default 4); every cell holds a small tile at its centre, filled with one of four patterns drawn
in two colours: horizontal stripes, vertical stripes, a checkerboard (stripe / square width
``stripe`` px, default 2) or the flat average of the two colours (``solid``). The question names a
cell ("row r, column c") and asks for its pattern. Downscaled to the policy's pixel budget (a
tiny Qwen2-VL processor: at most 256 x 256) the whole canvas shrinks 4x, the 4-px stripe period
becomes one pixel and every pattern blurs into the same flat colour (measured contrast 0): the
answer is not in the full image. Cropping the named cell (with the tool's 0.1 padding, ~0.45 of
the side) shrinks only ~1.8x and the pattern survives (`tile_contrast`; a test pins both).
The crop's box is the cell, so the call only needs the row and column from the question.

``pixel_reasoner.frames`` (video): 16 frames, each with a flat tile except one (frame k) that
carries a pattern; the prompt image is a 4 x 4 contact sheet of the frames (too small to read)
and the question names frame k; ``select_frames([k])`` returns the frame at full size.

Warm-start traces (`sft_examples`): per row, either a direct answer or a tool trace (call the
crop on the named cell, read the crop, answer), some with self-correction (a first call with swapped
corners returns the error observation, then the right call), as the paper's warm start
mixes them. Each trace yields one SFT example per policy turn (the conversation so far, including
earlier observations and their images, as the prompt).
"""

from __future__ import annotations

import random
import zlib
from typing import Any

from r1repro.components import GeneratedDataset
from r1repro.types import Row
from r1repro_pixel_reasoner.constants import CROP_TOOL, FRAMES_TOOL, VIDEO_FRAMES
from r1repro_pixel_reasoner.tools import execute, format_call

PATTERNS = ("horizontal", "vertical", "checker", "solid")
COLOR_A, COLOR_B = (220, 40, 40), (40, 40, 220)
BACKGROUND = (200, 200, 200)


def tile_image(side: int, pattern: str, stripe: int):
    """A ``side`` x ``side`` tile of ``pattern``: two colours in ``stripe``-px bands or squares, or
    (``solid``) their mean."""
    import numpy as np
    from PIL import Image

    if pattern == "solid":
        return Image.new("RGB", (side, side), tuple((a + b) // 2 for a, b in zip(COLOR_A, COLOR_B)))
    j, i = np.indices((side, side)) // stripe  # j: band index down, i: across
    k = {"horizontal": j, "vertical": i, "checker": i + j}[pattern] % 2
    arr = np.where(k[..., None] == 1, np.array(COLOR_A, np.uint8), np.array(COLOR_B, np.uint8))
    return Image.fromarray(arr.astype(np.uint8), "RGB")


EDGE = 0.99
"""The last row / column of cells ends at 0.99, not 1.0: under the official box rule a value >= 1
marks the whole box as pixels, so [0.75, 0.75, 1.0, 1.0] would crop a 1-pixel corner."""


def cell_box(row: int, col: int, grid: int) -> list[float]:
    """Normalised [x1, y1, x2, y2] of grid cell (row, col), 1-based, rounded as the model writes it."""
    return [round(min(EDGE, v), 3) for v in ((col - 1) / grid, (row - 1) / grid, col / grid, row / grid)]


def draw_canvas(
    rng: random.Random, size: int, grid: int, tile: int, stripe: int
) -> tuple[Any, list[list[str]]]:
    """A canvas with one patterned tile per cell, and the patterns by (row, column)."""
    from PIL import Image

    img = Image.new("RGB", (size, size), BACKGROUND)
    cell = size // grid
    patterns = [[rng.choice(PATTERNS) for _ in range(grid)] for _ in range(grid)]
    for r in range(grid):
        for c in range(grid):
            x0, y0 = c * cell + (cell - tile) // 2, r * cell + (cell - tile) // 2
            img.paste(tile_image(tile, patterns[r][c], stripe), (x0, y0))
    return img, patterns


def tile_contrast(image, centre: tuple[float, float], half: float, side: int) -> float:
    """Std of the grey levels in the square of half-width ``half`` (normalised) around ``centre``
    after resizing ``image`` to ``side`` px wide: how much of a tile's pattern survives the resize
    (a flat colour gives ~0)."""
    import numpy as np

    w, h = image.size
    small = image.convert("L").resize((side, max(1, round(side * h / w))), resample=3)
    a = np.asarray(small, dtype=np.float64)
    sh, sw = a.shape
    cx, cy = centre
    return float(
        a[
            int((cy - half) * sh) : int((cy + half) * sh) + 1,
            int((cx - half) * sw) : int((cx + half) * sw) + 1,
        ].std()
    )


class ZoomTask(GeneratedDataset):
    """Which pattern fills the tile of a named grid cell (readable only after a crop)."""

    name = "pixel_reasoner.zoom"
    description = (
        "CPU task: 4x4 grid of tiny patterned tiles on a 1008-px canvas; name the pattern of one cell"
    )
    domain = "zoom"
    sizes = {"train": 2000, "test": 200}

    def __init__(self, size: int = 1008, grid: int = 4, tile: int = 84, stripe: int = 2) -> None:
        self.size, self.grid, self.tile, self.stripe = int(size), int(grid), int(tile), int(stripe)

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            img, patterns = draw_canvas(rng, self.size, self.grid, self.tile, self.stripe)
            r, c = rng.randint(1, self.grid), rng.randint(1, self.grid)
            rows.append(Row(
                id=f"{split}-{i}", data_source=self.name, domain="zoom", images=[img],
                problem=f"What pattern fills the tile in row {r}, column {c}? "
                        f"Answer with one of: {', '.join(PATTERNS)}.",
                ground_truth=patterns[r - 1][c - 1],
                extra={"cell": [r, c], "bbox": cell_box(r, c, self.grid), "modality": "image"},
            ))  # fmt: skip
        return rows

    def solution(self, row: Row, template) -> str:
        return template.format_response(answer=row.ground_truth)


class FramesTask(GeneratedDataset):
    """Which pattern does frame k of a 16-frame clip show (readable only after select_frames)."""

    name = "pixel_reasoner.frames"
    description = "CPU task: 16-frame clip, one patterned frame; the prompt shows a 4x4 contact sheet"
    domain = "video"
    sizes = {"train": 500, "test": 100}

    def __init__(self, frame_size: int = 224, tile: int = 84, stripe: int = 2) -> None:
        self.frame_size, self.tile, self.stripe = int(frame_size), int(tile), int(stripe)

    def clip(self, rng: random.Random) -> tuple[list[Any], int, str]:
        from PIL import Image

        k, pattern = rng.randint(1, VIDEO_FRAMES), rng.choice(PATTERNS[:3])
        frames = []
        s, t = self.frame_size, self.tile
        for i in range(1, VIDEO_FRAMES + 1):
            im = Image.new("RGB", (s, s), BACKGROUND)
            im.paste(tile_image(t, pattern if i == k else "solid", self.stripe), ((s - t) // 2, (s - t) // 2))
            frames.append(im)
        return frames, k, pattern

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        from PIL import Image

        rng = random.Random(seed)
        rows = []
        for i in range(n):
            frames, k, pattern = self.clip(rng)
            side = 4 * self.frame_size
            sheet = Image.new("RGB", (side, side), BACKGROUND)
            for j, f in enumerate(frames):
                sheet.paste(f, ((j % 4) * self.frame_size, (j // 4) * self.frame_size))
            rows.append(Row(id=f"{split}-{i}", data_source=self.name, domain="video", images=[sheet],
                            videos=[frames], ground_truth=pattern,
                            problem=f"The clip has {VIDEO_FRAMES} frames (shown as a 4x4 sheet). What pattern "
                                    f"fills the tile in frame {k}? Answer with one of: {', '.join(PATTERNS[:3])}.",
                            extra={"frame": k, "modality": "video"}))  # fmt: skip
        return rows

    def solution(self, row: Row, template) -> str:
        return template.format_response(answer=row.ground_truth)


# -------------------------------------------------------------------------------- warm start
def trace_kind(row: Row, seed: int, tool_fraction: float, self_correction: float) -> str:
    """'direct', 'tool' or 'fix' for a row (deterministic in the row id and seed)."""
    u = _uniform(row, seed)
    if u < tool_fraction * self_correction:
        return "fix"
    return "tool" if u < tool_fraction else "direct"


def correct_call(row: Row) -> str:
    if row.extra.get("modality") == "video":
        return format_call(FRAMES_TOOL, {"target_frames": [int(row.extra["frame"])]})
    return format_call(CROP_TOOL, {"bbox_2d": list(row.extra["bbox"]), "target_image": 1})


def swapped_call(row: Row) -> str:
    """A first call with the corners swapped (x1 > x2): the tool answers with an error observation.
    (A too-small box is no use here: the 0.1 padding makes every crop of a large canvas > 28 px.)"""
    x1, y1, x2, y2 = row.extra["bbox"]
    return format_call(CROP_TOOL, {"bbox_2d": [x2, y2, x1, y1], "target_image": 1})


def sft_examples(rows: list[Row], template, tool_fraction: float = 0.5, self_correction: float = 0.2,
                 seed: int = 0, tool_options: dict[str, Any] | None = None,
                 crop_reading: float = 0.0) -> list[tuple[list[dict], str, list[Any]]]:  # fmt: skip
    """(messages, response, images) per policy turn of each row's warm-start trace.

    ``crop_reading``: the share of image rows that also give a *reading* example: the same
    question with the correct crop as the only image, answered [ours]. It stands in for what
    the paper's policy brings from pretraining (Qwen2.5-VL reads a zoomed region before any
    SFT); a random-init tiny VLM must learn it, and learns it from crops alone in a few hundred
    steps but from the crop as a conversation's second image far more slowly."""
    out = []
    for row in rows:
        messages = template.render(row)
        images = list(row.images or [])
        answer = template.format_response(answer=row.ground_truth)
        kind = trace_kind(row, seed, tool_fraction, self_correction)
        if kind == "fix" and row.extra.get("modality") == "video":
            kind = "tool"
        calls = (
            [] if kind == "direct" else ([swapped_call(row)] if kind == "fix" else []) + [correct_call(row)]
        )
        frames = list(row.videos[0]) if row.videos else None
        if row.extra.get("modality") != "video" and _uniform(row, seed, "reading") < crop_reading:
            crop = execute(correct_call(row), images, frames, tool_options).images
            if len(crop) == 1:
                out.append((messages, answer, crop))
        for call in calls:
            out.append((messages, call, list(images)))
            outcome = execute(call, images, frames, tool_options)
            messages = [
                *messages,
                {"role": "assistant", "content": call},
                {"role": "user", "content": outcome.text},
            ]
            images = images + outcome.images
        out.append((messages, answer, images))
    return out


def _uniform(row: Row, seed: int, purpose: str = "") -> float:
    """A uniform number fixed by the row id, the seed and what it decides (none: the trace kind)."""
    return random.Random(zlib.crc32(f"{row.id}:{seed}{':' + purpose if purpose else ''}".encode())).random()
