"""A generated GUI-grounding task: PIL screenshots, grounding instructions, target boxes.

Each screenshot (sides multiples of 28, so the Qwen2-VL resize keeps them; other sizes are
exercised by the reward's frame tests) holds a title bar, a menu bar with labelled items, a few
labelled buttons, text fields with placeholder text and coloured icons, at random sizes and
positions that never overlap. One element is the target; the instruction names it by its label
(buttons, menu items, fields) or by colour and shape (icons), as ScreenSpot-style instructions
do. Ground truth: ``{"bbox": [x1, y1, x2, y2], "width": W, "height": H}`` in image pixels.

Difficulty (``extra["rate"]``): GUI-G1 weights each sample by a difficulty derived from the
target's size relative to the image (smaller = harder). The official code reads a precomputed
``rate`` field (the shipped sample has ``rate: 1``); the formula here is ours [unverified]:
``rate = 1 + (1 - sqrt(area_ratio / max_ratio))`` clipped to [1, 2], i.e. the largest targets
weigh 1 and vanishing ones 2 (`difficulty_rate`).

Position tint (``position_tint`` > 0, [ours], off by default): the background shades from left to
right in red and from top to bottom in green (`tinted_background`), an absolute-position signal in
the pixels. A tiny VLM sees positions only through rotary, i.e. relative, encodings (in its vision
tower and its language model alike), and measured on one square on a blank screenshot it learns
*where* the square is but cannot write it as pixel numbers: hit 0.06 after 4,000 SFT steps; with
the tint, 0.77 (seed 0, `tiny-vl:nano`, 2026-12-07). Qwen2.5-VL gets that skill from pretraining.

``GuiG1Json`` reads the official data format (``image, problem, solution, rate``; only one record
is public) from a local JSON file, images relative to ``image_root``.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from r1repro.components import Dataset, DatasetUnavailable, GeneratedDataset, data_dirs
from r1repro.types import Row
from r1repro_gui_g1.templates import bbox_json

WIDTHS, HEIGHTS = (168, 196, 224, 252), (112, 140, 168)
COLORS = {"red": (210, 40, 40), "green": (40, 160, 60), "blue": (40, 70, 210), "orange": (240, 140, 20),
          "purple": (140, 50, 170)}  # fmt: skip
SHAPES = ("circle", "square", "triangle")
BUTTONS = ("OK", "Cancel", "Save", "Open", "Send", "Next", "Back", "Apply", "Help", "Close")
MENUS = ("File", "Edit", "View", "Tools", "Window")
FIELDS = ("Search", "Name", "Email", "Password", "City")
MAX_RATIO = 0.08
"""Area ratio at which the difficulty weight reaches its floor of 1 [unverified]."""


def difficulty_rate(box: list[int], width: int, height: int, max_ratio: float = MAX_RATIO) -> float:
    """1 for large targets, up to 2 for tiny ones (smaller relative size = harder) [unverified formula]."""
    ratio = (box[2] - box[0]) * (box[3] - box[1]) / (width * height)
    return round(min(2.0, max(1.0, 2.0 - math.sqrt(ratio / max_ratio))), 4)


BACKGROUND = (236, 236, 240)
TINT_LEVELS = 200
"""Colour levels the position tint spans across the screenshot at ``position_tint`` 1 [ours]."""


def tinted_background(width: int, height: int, strength: float):
    """The background with red falling left to right and green falling top to bottom by
    ``strength x TINT_LEVELS`` levels: each pixel's colour says where it is."""
    import numpy as np
    from PIL import Image

    arr = np.empty((height, width, 3), dtype=np.uint8)
    arr[..., 0] = np.round(BACKGROUND[0] - strength * TINT_LEVELS * np.arange(width) / width)[None, :]
    arr[..., 1] = np.round(BACKGROUND[1] - strength * TINT_LEVELS * np.arange(height) / height)[:, None]
    arr[..., 2] = BACKGROUND[2]
    return Image.fromarray(arr, "RGB")


def _font():
    from PIL import ImageFont

    return ImageFont.load_default()


class _Canvas:
    """Places non-overlapping elements on a screenshot."""

    def __init__(self, rng: random.Random, width: int, height: int, tint: float = 0.0) -> None:
        from PIL import Image, ImageDraw

        self.rng, self.w, self.h = rng, width, height
        self.img = tinted_background(width, height, tint) if tint else Image.new("RGB", (width, height), BACKGROUND)
        self.draw = ImageDraw.Draw(self.img)
        self.taken: list[tuple[int, int, int, int]] = []
        self.elements: list[dict[str, Any]] = []

    def free(self, box) -> bool:
        x1, y1, x2, y2 = box
        if x1 < 0 or y1 < 0 or x2 > self.w or y2 > self.h:
            return False
        return all(x2 + 2 <= a or b + 2 <= x1 or y2 + 2 <= c or d + 2 <= y1 for a, c, b, d in self.taken)

    def place(self, w: int, h: int, top: int = 0) -> tuple[int, int, int, int] | None:
        for _ in range(40):
            x, y = self.rng.randint(0, max(0, self.w - w)), self.rng.randint(top, max(top, self.h - h))
            box = (x, y, x + w, y + h)
            if self.free(box):
                self.taken.append(box)
                return box
        return None

    def text_size(self, text: str) -> tuple[int, int]:
        x1, y1, x2, y2 = self.draw.textbbox((0, 0), text, font=_font())
        return x2 - x1, y2 - y1

    def add(self, kind: str, box, label: str, instruction: str) -> None:
        self.elements.append({"kind": kind, "box": list(box), "label": label, "instruction": instruction})


def draw_screenshot(
    rng: random.Random, icon_size: tuple[int, int] = (8, 22), tint: float = 0.0
) -> tuple[Any, list[dict[str, Any]]]:
    """A screenshot and its elements (kind, box, label, grounding instruction); icons are
    ``icon_size`` pixels wide (min, max); ``tint``: the position tint's strength (0: plain)."""
    w, h = rng.choice(WIDTHS), rng.choice(HEIGHTS)
    c = _Canvas(rng, w, h, tint)
    d = c.draw
    d.rectangle([0, 0, w, 11], fill=(60, 60, 80))  # title bar
    c.taken.append((0, 0, w, 11))
    x = 4
    for name in rng.sample(MENUS, rng.randint(2, 4)):  # menu bar with labelled items
        tw, th = c.text_size(name)
        box = (x, 13, x + tw + 6, 13 + th + 5)
        if box[2] > w:
            break
        d.text((x + 3, 15), name, fill=(20, 20, 20), font=_font())
        c.taken.append(box)
        c.add("menu", box, name, f"the {name} menu")
        x = box[2] + 4
    top = 30
    for name in rng.sample(BUTTONS, rng.randint(1, 3)):
        tw, th = c.text_size(name)
        pad = rng.randint(3, 10)
        box = c.place(tw + 2 * pad, th + pad + rng.randint(2, 8), top)
        if box:
            fill = rng.choice(list(COLORS.values()))
            d.rounded_rectangle(box, radius=3, fill=fill, outline=(30, 30, 30))
            d.text(
                (box[0] + pad, box[1] + (box[3] - box[1] - th) // 2), name, fill=(255, 255, 255), font=_font()
            )
            c.add("button", box, name, f"click the {name} button")
    for name in rng.sample(FIELDS, rng.randint(0, 2)):
        tw, th = c.text_size(name)
        box = c.place(tw + rng.randint(20, 60), th + rng.randint(6, 10), top)
        if box:
            d.rectangle(box, fill=(255, 255, 255), outline=(120, 120, 120))
            d.text((box[0] + 3, box[1] + 3), name, fill=(150, 150, 150), font=_font())
            c.add("field", box, name, f"the {name} text field")
    for _ in range(rng.randint(1, 3)):
        s = rng.randint(*icon_size)
        box = c.place(s, s, top)
        if box:
            color, shape = rng.choice(sorted(COLORS)), rng.choice(SHAPES)
            if shape == "circle":
                d.ellipse(box, fill=COLORS[color])
            elif shape == "square":
                d.rectangle(box, fill=COLORS[color])
            else:
                d.polygon(
                    [(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=COLORS[color]
                )
            c.add("icon", box, f"{color} {shape}", f"the {color} {shape} icon")
    return c.img, c.elements


class GuiGrounding(GeneratedDataset):
    """Generated GUI screenshots with one grounding instruction and target box per row."""

    name = "gui_g1.synthetic"
    description = "PIL screenshots (menus, buttons, text fields, icons); instruction -> target box"
    domain = "grounding"
    sizes = {"train": 2000, "test": 200}

    def __init__(self, target_kinds: list[str] | None = None, icon_size: list[int] | None = None,
                 position_tint: float = 0.0) -> None:  # fmt: skip
        """``target_kinds``: element kinds a target may be (default all: menu, button, field, icon);
        ``icon_size``: [min, max] icon side in pixels (default [8, 22]); ``position_tint``: strength
        in [0, 1] of the background's position tint (module docstring). Every screenshot still draws
        every kind; the defaults give the task as first written, row for row."""
        if not 0.0 <= float(position_tint) <= 1.0:
            raise ValueError(f"gui_g1.synthetic: position_tint must be in [0, 1], got {position_tint}")
        self.position_tint = float(position_tint)
        kinds = {"menu", "button", "field", "icon"}
        self.target_kinds = set(target_kinds) if target_kinds else kinds
        if not self.target_kinds <= kinds:
            raise ValueError(f"gui_g1.synthetic: unknown target kinds {sorted(self.target_kinds - kinds)}")
        self.icon_size = (int(icon_size[0]), int(icon_size[1])) if icon_size else (8, 22)
        if not 4 <= self.icon_size[0] <= self.icon_size[1] <= 60:
            raise ValueError(
                f"gui_g1.synthetic: icon_size must be 4 <= min <= max <= 60, got {list(self.icon_size)}"
            )

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        while len(rows) < n:
            img, elements = draw_screenshot(rng, self.icon_size, self.position_tint)
            labels = [e["instruction"] for e in elements]
            unique = [
                e for e in elements if labels.count(e["instruction"]) == 1 and e["kind"] in self.target_kinds
            ]
            if not unique:
                continue
            e = rng.choice(unique)
            w, h = img.size
            rows.append(Row(
                id=f"{split}-{len(rows)}", problem=e["instruction"], data_source="gui_g1.synthetic",
                ground_truth={"bbox": e["box"], "width": w, "height": h}, domain=e["kind"], images=[img],
                extra={"rate": difficulty_rate(e["box"], w, h), "kind": e["kind"],
                       "area_ratio": (e["box"][2] - e["box"][0]) * (e["box"][3] - e["box"][1]) / (w * h)},
            ))  # fmt: skip
        return rows

    def solution(self, row: Row, template) -> str:
        answer = bbox_json(row.ground_truth["bbox"])
        think = f"The {row.problem.replace('click the ', '')} is here." if template.response_prefix else None
        return template.format_response(answer=answer, think=think)


class GuiG1Json(Dataset):
    """The official training JSON (``image, problem, solution, rate``), images under ``image_root``."""

    name = "gui_g1.json"
    description = "GUI-G1's data format (data/GUI-R1-3K.json; the 17K training set is not public)"
    local_files = {"train": "gui_g1/train.json", "test": "gui_g1/test.json"}
    domain = "grounding"

    def __init__(self, image_root: str | None = None) -> None:
        self.image_root = image_root

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        root = (
            Path(self.image_root)
            if self.image_root
            else next(
                (d / "gui_g1" / "images" for d in data_dirs() if (d / "gui_g1" / "images").is_dir()),
                Path("."),
            )
        )
        path = root / record["image"]
        if not path.is_file():
            raise DatasetUnavailable(f"gui_g1.json: image {path} not found (set image_root)")
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
        return Row(id=f"{split}-{index}", problem=record["problem"], data_source="gui_g1.json",
                   ground_truth={"bbox": list(record["solution"]), "width": w, "height": h}, domain="grounding",
                   images=[str(path)], extra={"rate": float(record.get("rate", 1.0))})  # fmt: skip

    def fixture(self) -> list[Row]:
        return GuiGrounding().generate(2, 7, "fixture")
