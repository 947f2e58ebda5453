"""The generated omnidirectional VQA task (``omni360.synthetic``) and the OmniVQA loader.

OmniVQA (360-R1 §3): 4,852 QA pairs on ERP panoramas of Stanford 2D-3D-S, of three kinds in the
shares `KIND_SHARES` (object identification 31.12%, attribute 25.87%, spatial relation 43.01%),
each with a reasoning chain (DeepSeek-R1) and a short answer. The CPU task keeps the three kinds
in those shares, on panoramas drawn by `r1repro_omni360.panorama` (3 objects of distinct colours
and shapes per scene, at known azimuth / elevation, some across the seam or near a pole):

* identification - "What shape is the red object?" / "What shape is the object behind you?"
* attribute      - "What color is the square?"
* spatial        - "Is the red circle left or right of the blue square?" (azimuth difference
                   taken the short way round, so across the seam), "... above or below ...",
                   "Where is the red circle: front, right, behind or left?"

Every row carries a reference reasoning (short, in the task's own words: where each object is,
whether it is stretched near a pole, whether the short way crosses the seam) and the one-word
answer; ``ground_truth = {"answer", "reasoning", "kind", "aliases"}``. Questions whose answer
would sit on a boundary (sectors, left/right near 0 or 180 degrees apart, similar heights) are
not asked.

``omni360.omnivqa`` reads the real data from a local JSON / JSON lines file (fields ``image``,
``question``, ``answer``, ``reasoning``, ``type`` [unverified: the release format is not public]);
OmniVQA has no public hub id, so without a local copy it stops with one clear line.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

from r1repro.components import Dataset, DatasetUnavailable, GeneratedDataset, data_dirs
from r1repro.types import Row
from r1repro_omni360.panorama import COLORS, SHAPES, Obj, angular_distance, render, wrap

KINDS = ("identification", "attribute", "spatial")
KIND_SHARES = {"identification": 0.3112, "attribute": 0.2587, "spatial": 0.4301}
"""OmniVQA's question-type shares (360-R1 §3: 31.12% / 25.87% / 43.01%)."""
WIDTH, HEIGHT = 224, 112
"""Panorama size: 2:1 as every ERP image, sides multiples of 28 (32 image tokens after the merge)."""
POLAR = 50.0
"""|elevation| from which the reasoning says an object is near a pole (stretched by >= 1.56x)."""
SECTORS = (("front", 0.0), ("right", 90.0), ("behind", 180.0), ("left", -90.0))


def sector(azimuth: float) -> str:
    """front / right / behind / left: the 90-degree sector of the viewer the azimuth falls in."""
    return min(SECTORS, key=lambda s: abs(wrap(azimuth - s[1])))[0]


def sector_margin(azimuth: float) -> float:
    """Degrees from the nearest sector boundary (+-45, +-135)."""
    return min(abs(wrap(azimuth - b)) for b in (45.0, 135.0, -45.0, -135.0))


def height_word(elevation: float) -> str:
    return "high" if elevation > 20 else "low" if elevation < -20 else "level"


def where(o: Obj) -> str:
    """The reasoning's description of an object's place ("behind high, near pole")."""
    return f"{sector(o.azimuth)} {height_word(o.elevation)}" + (
        ", near pole" if abs(o.elevation) >= POLAR else ""
    )


def place_objects(rng: random.Random, n: int = 3) -> list[Obj]:
    """n objects with distinct colours and shapes, apart on the sphere; one in three scenes puts
    an object on the seam (behind) and one in three one near a pole, so both effects are common."""
    while True:
        colors, shapes = rng.sample(sorted(COLORS), n), rng.sample(SHAPES, n)
        objs = []
        for i in range(n):
            az, el = rng.uniform(-180, 180), rng.uniform(-40, 40)
            if i == 0 and rng.random() < 1 / 3:
                az = rng.uniform(160, 200)
            if i == 1 and rng.random() < 1 / 3:
                el = rng.choice((-1, 1)) * rng.uniform(POLAR, 72)
            objs.append(Obj(colors[i], shapes[i], wrap(az), el, rng.uniform(11, 16)))
        if all(
            angular_distance(a, b) > a.radius + b.radius + 6
            for i, a in enumerate(objs)
            for b in objs[i + 1 :]
        ):
            rng.shuffle(objs)
            return objs


# --------------------------------------------------------------------------------- questions
# Reference reasoning: short (the tiny policy's budget), in the task's own words; what a step
# needs (which object, where it is, pole stretch, the seam) and the conclusion.
def identification(rng: random.Random, objs: list[Obj]) -> dict[str, Any] | None:
    o = rng.choice(objs)
    by_sector = [x for x in objs if sector(x.azimuth) == sector(o.azimuth)]
    if rng.random() < 0.5 and len(by_sector) == 1 and sector_margin(o.azimuth) >= 10:
        s = sector(o.azimuth)
        q = (
            "What shape is the object in front of you?"
            if s == "front"
            else (f"What shape is the object {'behind you' if s == 'behind' else 'on your ' + s}?")
        )
        think = f"{s}: the {o.color} object, {height_word(o.elevation)}. a {o.shape}."
    else:
        q = f"What shape is the {o.color} object?"
        think = f"{o.color} object: {where(o)}. a {o.shape}."
    return {"question": q, "reasoning": think, "answer": o.shape, "aliases": []}


def attribute(rng: random.Random, objs: list[Obj]) -> dict[str, Any] | None:
    o = rng.choice(objs)
    wide = " wide near pole." if abs(o.elevation) >= POLAR else ""
    think = f"{o.shape}: {sector(o.azimuth)} {height_word(o.elevation)}.{wide} it is {o.color}."
    return {"question": f"What color is the {o.shape}?", "reasoning": think, "answer": o.color, "aliases": []}


def left_right(a: Obj, b: Obj) -> dict[str, Any] | None:
    """Is a left or right of b: the sign of the azimuth difference taken the short way round
    (across the seam when that is shorter); not asked within 20 degrees of 0 or 180."""
    d = wrap(a.azimuth - b.azimuth)
    if not 20 <= abs(d) <= 160:
        return None
    ans = "right" if d > 0 else "left"
    seam = " via seam." if abs(a.azimuth - b.azimuth) > 180 else ""  # the short way passes behind you
    think = f"{a.color}: {sector(a.azimuth)}. {b.color}: {sector(b.azimuth)}.{seam} so {ans}."
    return {"question": f"Is the {a.name} left or right of the {b.name}?", "reasoning": think,
            "answer": ans, "aliases": []}  # fmt: skip


def above_below(a: Obj, b: Obj) -> dict[str, Any] | None:
    """Is a above or below b (elevations at least 20 degrees apart)."""
    if abs(a.elevation - b.elevation) < 20:
        return None
    ans = "above" if a.elevation > b.elevation else "below"
    think = f"{a.color}: {height_word(a.elevation)}. {b.color}: {height_word(b.elevation)}. so {ans}."
    return {"question": f"Is the {a.name} above or below the {b.name}?", "reasoning": think,
            "answer": ans, "aliases": ["higher"] if ans == "above" else ["lower"]}  # fmt: skip


def viewer_direction(a: Obj) -> dict[str, Any] | None:
    """Which sector of the viewer a is in (at least 10 degrees from a sector boundary)."""
    if sector_margin(a.azimuth) < 10:
        return None
    s = sector(a.azimuth)
    seam = " on both edges." if abs(a.azimuth) > 180 - a.radius else ""
    think = f"{a.color} {a.shape} at azimuth {round(a.azimuth / 10) * 10}.{seam} so {s}."
    return {"question": f"Where is the {a.name}: front, right, behind or left?", "reasoning": think,
            "answer": s, "aliases": ["back"] if s == "behind" else []}  # fmt: skip


def spatial(rng: random.Random, objs: list[Obj]) -> dict[str, Any] | None:
    a, b = rng.sample(objs, 2)
    form = rng.choice(("left_right", "above_below", "viewer"))
    if form == "left_right":
        return left_right(a, b)
    if form == "above_below":
        return above_below(a, b)
    return viewer_direction(a)


QUESTIONS = {"identification": identification, "attribute": attribute, "spatial": spatial}


def sample_kind(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for k in KINDS:
        acc += KIND_SHARES[k]
        if r < acc:
            return k
    return KINDS[-1]


class OmniSynthetic(GeneratedDataset):
    """Generated ERP panoramas with one question of OmniVQA's three kinds per row."""

    name = "omni360.synthetic"
    description = "ERP panoramas drawn in code; identification / attribute / spatial questions with reasoning"
    domain = "omni_vqa"
    sizes = {"train": 2000, "test": 200}

    def __init__(self, width: int = WIDTH, height: int = HEIGHT) -> None:
        if width != 2 * height:
            raise ValueError(f"an equirectangular panorama is 2:1, got {width}x{height}")
        self.width, self.height = int(width), int(height)

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows: list[Row] = []
        while len(rows) < n:
            objs = place_objects(rng)
            kind = sample_kind(rng)
            qa = QUESTIONS[kind](rng, objs)
            if qa is None:
                continue
            rows.append(Row(
                id=f"{split}-{len(rows)}", problem=qa["question"], data_source="omni360.synthetic", domain=kind,
                ground_truth={"answer": qa["answer"], "reasoning": qa["reasoning"], "kind": kind,
                              "aliases": qa["aliases"]},
                images=[render(objs, self.width, self.height)],
                extra={"kind": kind, "objects": [asdict(o) for o in objs]},
            ))  # fmt: skip
        return rows

    def solution(self, row: Row, template) -> str:
        gt = row.ground_truth
        return template.format_response(answer=gt["answer"], think=gt["reasoning"])


class OmniVQA(Dataset):
    """OmniVQA (360-R1, arXiv 2505.14197) from a local copy; the data set is not public."""

    name = "omni360.omnivqa"
    description = "OmniVQA (4,852 QA pairs on Stanford 2D-3D-S panoramas); local copy only, not public"
    local_files = {"train": "omni360/omnivqa_train.json", "test": "omni360/omnivqa_test.json"}
    domain = "omni_vqa"
    TYPES = {"object identification": "identification", "identification": "identification",
             "attribute": "attribute", "attribute recognition": "attribute", "spatial relation": "spatial",
             "spatial": "spatial"}  # fmt: skip

    def __init__(self, hub_id: str | None = None, image_root: str | None = None) -> None:
        self.hub_id = hub_id  # none is public; a user who has one can pass it
        self.image_root = image_root

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        try:
            return super().records(split)
        except DatasetUnavailable:
            raise DatasetUnavailable(
                f"omni360.omnivqa: OmniVQA is not public (no hub id; 360-R1 arXiv 2505.14197) - put a copy at "
                f"$R1REPRO_DATA_DIR/{self.local_files.get(split, 'omni360/omnivqa_<split>.json')} or pass hub_id"
            ) from None

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        root = (
            Path(self.image_root)
            if self.image_root
            else next(
                (d / "omni360" / "images" for d in data_dirs() if (d / "omni360" / "images").is_dir()),
                Path("."),
            )
        )
        image = record.get("image")
        if isinstance(image, str) and not Path(image).is_absolute():
            image = str(root / image)
        kind = self.TYPES.get(str(record.get("type", "")).strip().lower(), "spatial")
        return Row(id=f"{split}-{index}", problem=str(record["question"]), data_source="omni360.omnivqa",
                   domain=kind, ground_truth={"answer": str(record["answer"]), "reasoning": str(record.get("reasoning", "")),
                                              "kind": kind, "aliases": list(record.get("aliases", []))},
                   images=[image], extra={"kind": kind})  # fmt: skip

    def fixture(self) -> list[Row]:
        return OmniSynthetic().generate(3, 7, "fixture")
