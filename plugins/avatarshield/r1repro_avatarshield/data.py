"""A generated human-centric "video" task: short clips of a drawn figure, real or fake.

A clip is T frames (PIL, ``size`` x ``size`` pixels) of a stick figure (head, body, swinging
arms and legs) walking across a coloured background: the arm / leg swing follows
``A sin(phi + pi t / (T - 1))`` and the figure drifts ``vx`` pixels per frame, so consecutive
real frames change smoothly. Labels are binary (``ground_truth`` "real" / "fake"), as
AvatarShield's training uses only real/fake labels (§3).

Fake clips come from "generators" that plant one forgery cue each (FakeHumanVid's fakes come
from 9 pose-, audio- and text-driven generators; these are our stand-ins):

    in-domain  jitter    temporal: the frames of a real motion in a wrong (non-identity) order:
                         every frame is a valid pose, only their order is inconsistent
               texture   spatial: a high-frequency checker over the figure's box in every frame
               drift     identity: the head's colour and size drift over the clip
    held-out   stutter   temporal: a frozen frame followed by a skip (monotone, but uneven)
               blocky    spatial: coarse random-colour blocks over the figure's box (compression-like)

The spatial artifacts cover the figure's box (`figure_box`, about a third of the frame), not
one body part: the tiny VLM's language side learns from a cue only when it covers a good part of
the image tokens (measured: a checker on the torso alone, 8 x 10 px, stays at chance after 1,200
SFT steps and a head that changes colour after 600; the same checker over the figure's box is
learnt in ~300; README "Why the spatial cues cover the figure").

The in-domain generators train and test; the held-out ones are the cross-domain split
(``generators: [stutter, blocky]``). With ``residual`` on, a row's images are the T frames
followed by their T residual frames (`r1repro_avatarshield.frames.residual`).

``FakeHumanVid`` reads the paper's benchmark from a local copy (it is not released; one clear
error without it).
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from r1repro.components import Dataset, DatasetUnavailable, GeneratedDataset
from r1repro.types import Row
from r1repro_avatarshield.frames import residual, sample_frame_indices

IN_DOMAIN = ("jitter", "texture", "drift")
HELD_OUT = ("stutter", "blocky")
KINDS = {"real": "real", "jitter": "temporal", "texture": "spatial", "drift": "identity", "stutter": "temporal",
         "blocky": "spatial"}  # fmt: skip
QUESTION = "Is this video of a person real or fake?"
BACKGROUNDS = ((235, 228, 210), (210, 225, 235), (220, 235, 215), (235, 215, 220), (225, 225, 225))
SHIRTS = ((40, 70, 180), (180, 50, 50), (40, 140, 70), (120, 60, 150), (200, 120, 30))
SKIN = ((240, 200, 170), (200, 150, 110), (150, 100, 70))


def clip_params(rng: random.Random, size: int) -> dict[str, Any]:
    """The look and motion of one figure (shared by all its frames)."""
    return {"bg": rng.choice(BACKGROUNDS), "shirt": rng.choice(SHIRTS), "skin": rng.choice(SKIN),
            "x0": rng.uniform(0.3, 0.7) * size, "vx": rng.choice((-1, 1)) * rng.uniform(0.04, 0.08) * size,
            "amp": math.radians(rng.uniform(35, 60)), "phase": rng.uniform(-0.5, 0.5)}  # fmt: skip


def draw_frame(p: dict[str, Any], t: float, n_frames: int, size: int, head: dict[str, Any] | None = None):
    """One frame of the figure at (continuous) time t."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), p["bg"])
    d = ImageDraw.Draw(img)
    u = size / 56.0
    cx = p["x0"] + p["vx"] * (t - (n_frames - 1) / 2)
    swing = p["amp"] * math.sin(p["phase"] + math.pi * t / max(1, n_frames - 1))
    head = head or {}
    r = head.get("radius", 5.0) * u
    top, neck, hip = 7 * u, 17 * u, 34 * u
    d.ellipse([cx - r, top, cx + r, top + 2 * r], fill=head.get("color", p["skin"]))
    d.line([cx, neck, cx, hip], fill=p["shirt"], width=max(2, int(3 * u)))
    shoulder, arm, leg = neck + 3 * u, 12 * u, 15 * u
    for side in (-1, 1):
        a = math.radians(25) + side * swing
        d.line([cx, shoulder, cx + side * arm * math.sin(a), shoulder + arm * math.cos(a)], fill=p["shirt"],
               width=max(1, int(2 * u)))  # fmt: skip
        g = math.radians(15) - side * swing * 0.6
        d.line([cx, hip, cx + side * leg * math.sin(g), hip + leg * math.cos(g)], fill=(60, 60, 60),
               width=max(1, int(2 * u)))  # fmt: skip
    return img, cx


def figure_box(cx: float, size: int) -> tuple[int, int, int, int]:
    """The box around the drawn figure (head top to feet, arm span) where the spatial artifacts go."""
    u = size / 56.0
    return int(cx - 12 * u), int(5 * u), int(cx + 12 * u), int(50 * u)


def _checker(img, box: tuple[int, int, int, int], rng: random.Random) -> None:
    """A 1-pixel checkerboard of two shirt-like colours (a high-frequency texture artifact)."""
    px = img.load()
    c1 = tuple(min(255, v + rng.randint(40, 80)) for v in img.getpixel(((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)))
    c2 = tuple(max(0, v - 60) for v in c1)
    for x in range(max(0, box[0]), min(img.width, box[2])):
        for y in range(max(0, box[1]), min(img.height, box[3])):
            px[x, y] = c1 if (x + y) % 2 == 0 else c2


def _blocks(img, box: tuple[int, int, int, int], rng: random.Random, block: int) -> None:
    """Coarse blocks of random colour offsets (a compression-like artifact)."""
    px = img.load()
    for bx in range(box[0], box[2], block):
        for by in range(box[1], box[3], block):
            off = [rng.randint(-70, 70) for _ in range(3)]
            for x in range(max(0, bx), min(img.width, bx + block, box[2])):
                for y in range(max(0, by), min(img.height, by + block, box[3])):
                    px[x, y] = tuple(max(0, min(255, v + o)) for v, o in zip(px[x, y], off))


def frame_times(generator: str, n_frames: int, rng: random.Random) -> list[float]:
    """The time of each frame: in order for real clips, wrongly ordered or uneven for temporal fakes."""
    times = [float(t) for t in range(n_frames)]
    if generator == "jitter" and n_frames > 1:
        while times == sorted(times):
            rng.shuffle(times)
    elif generator == "stutter" and n_frames > 2:
        k = rng.randrange(1, n_frames - 1)  # frame k repeats frame k-1, then the clip jumps ahead
        times = [float(t) for t in range(k)] + [float(k - 1)] + [float(t) for t in range(k + 1, n_frames)]
    return times


def draw_clip(generator: str, rng: random.Random, n_frames: int = 4, size: int = 56) -> list[Any]:
    """The T frames of one clip made by ``generator`` ('real' or a fake generator)."""
    if generator not in KINDS:
        raise ValueError(f"unknown generator {generator!r}; choose from {sorted(KINDS)}")
    p = clip_params(rng, size)
    times = frame_times(generator, n_frames, rng)
    u = size / 56.0
    drift_to = rng.choice([c for c in SHIRTS if c != p["skin"]])
    frames = []
    for i, t in enumerate(times):
        head = None
        if generator == "drift":  # identity drift: head colour and size change over the clip
            w = i / max(1, n_frames - 1)
            head = {"color": tuple(int(a + w * (b - a)) for a, b in zip(p["skin"], drift_to)), "radius": 5.0 + 2.5 * w}
        img, cx = draw_frame(p, t, n_frames, size, head)
        if generator == "texture":
            _checker(img, figure_box(cx, size), rng)
        elif generator == "blocky":
            _blocks(img, figure_box(cx, size), rng, max(2, int(4 * u)))
        frames.append(img)
    return frames


class AvatarClips(GeneratedDataset):
    """Generated clips of a drawn figure, half real, half fake (split evenly over ``generators``)."""

    name = "avatarshield.synthetic"
    description = "CPU task: T-frame PIL clips of a drawn figure; fakes by jitter / texture / drift (held-out: stutter / blocky)"
    domain = "forgery"
    sizes = {"train": 2000, "test": 200}

    def __init__(self, generators: list[str] | tuple[str, ...] = IN_DOMAIN, n_frames: int = 4, size: int = 56,
                 residual: bool = True, fake_fraction: float = 0.5) -> None:  # fmt: skip
        bad = [g for g in generators if g not in KINDS or g == "real"]
        if bad or not generators:
            raise ValueError(f"avatarshield.synthetic: generators must be fake generators from {sorted(KINDS)}")
        if n_frames < 2 or size < 28:
            raise ValueError("avatarshield.synthetic: need at least 2 frames of at least 28 pixels")
        self.generators, self.n_frames, self.size = tuple(generators), int(n_frames), int(size)
        self.residual, self.fake_fraction = bool(residual), float(fake_fraction)

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            gen = rng.choice(self.generators) if rng.random() < self.fake_fraction else "real"
            frames = draw_clip(gen, rng, self.n_frames, self.size)
            rows.append(clip_row(f"{split}-{i}", frames, "real" if gen == "real" else "fake", gen, self.residual,
                                 "avatarshield.synthetic"))  # fmt: skip
        return rows

    def solution(self, row: Row, template) -> str:
        return template.format_response(answer=row.ground_truth, think="I compare the frames.")


def clip_row(row_id: str, frames: list[Any], label: str, generator: str, with_residual: bool, source: str) -> Row:
    """A row of one clip: its frames (and residual frames) as images, the label as ground truth."""
    images = list(frames) + ([residual(f) for f in frames] if with_residual else [])
    held = "held_out" if generator in HELD_OUT else "in_domain"
    return Row(id=row_id, problem=QUESTION, ground_truth=label, data_source=source, domain=generator, images=images,
               extra={"generator": generator, "kind": KINDS.get(generator, "unknown"), "n_frames": len(frames),
                      "residual": with_residual, "pair_id": row_id, "split": held})  # fmt: skip


class FakeHumanVid(Dataset):
    """The paper's benchmark from a local copy: JSONL records ``{"frames": [paths], "label":
    "real"|"fake", "generator": ...}`` (frames relative to the file's folder), T frames sampled
    evenly. FakeHumanVid is not released (zhipeixu/AvatarShield: "coming soon")."""

    name = "avatarshield.fakehumanvid"
    description = "FakeHumanVid (unreleased) from $R1REPRO_DATA_DIR/avatarshield/{train,test}.jsonl"
    local_files = {"train": "avatarshield/train.jsonl", "test": "avatarshield/test.jsonl"}
    domain = "forgery"

    def __init__(self, n_frames: int = 16, residual: bool = True, root: str | None = None) -> None:
        self.n_frames, self.residual, self.root = int(n_frames), bool(residual), root

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        from r1repro.vision import load_image

        paths = list(record.get("frames") or [])
        if not paths or record.get("label") not in ("real", "fake"):
            raise DatasetUnavailable(f"avatarshield.fakehumanvid: record {index} needs 'frames' and a real/fake 'label'")
        root = Path(self.root) if self.root else Path(".")
        picked = [paths[i] for i in sample_frame_indices(len(paths), self.n_frames)]
        frames = []
        for p in picked:
            path = root / p
            if not path.is_file():
                raise DatasetUnavailable(f"avatarshield.fakehumanvid: frame {path} not found (set root)")
            frames.append(load_image(path))
        return clip_row(f"{split}-{index}", frames, record["label"], str(record.get("generator", "unknown")),
                        self.residual, "FakeHumanVid")  # fmt: skip

    def fixture(self) -> list[Row]:
        return AvatarClips().generate(2, 7, "fixture")
