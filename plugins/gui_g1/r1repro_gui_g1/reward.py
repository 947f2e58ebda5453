"""GUI-G1's grounding rewards, as the official ``src/open-r1-multimodal/src/open_r1/grpo_rec.py``.

Paper: Zhou et al., "GUI-G1: Understanding R1-Zero-Like Training for Visual Grounding in GUI
Agents" (arXiv 2505.15810), §4 (reward design); official code Yuqi-Zhou/GUI-G1 @ e581fe9
(line numbers below are of that commit).
With B = (x1, y1, x2, y2) the predicted box, G the ground truth, W x H the original image:

    R_hit = 1 if B's centre lies in G, bounds inclusive            (grpo_rec.py:261-266 hit_reward)
    R_IoU = 0.25 * IoU(B, G), intersection (min(x2)-1 - max(x1) + 1) * (...), counted only if
            strictly positive before the +1; union = area(B) + area(G) - inter  (iou_reward, :225-247)
    R_box = 0.125 * 4 / sum(1/d) over d = 1 - |G.x1-B.x1|/W, 1 - |G.y1-B.y1|/H, (same for x2, y2);
            a zero d (ZeroDivisionError in the official code) scores 0  (box_reward, :294-310)
    R     = R_hit + R_IoU + R_box  (run.sh: --reward_funcs iou hit box), so R in [0, 1.375]

Every term parses the response the official way (`parse_bbox`; ``parse_json`` at :87): strip
a fenced ```json block, ``ast.literal_eval`` the text and take ``[0]["bbox_2d"]``; any failure scores 0 (the official
``except Exception: pass``). The ground truth is ``{"bbox": [x1, y1, x2, y2], "width": W,
"height": H}`` in original-image pixels; a prediction is mapped from the frame the model saw
(the processor's resize, `r1repro.vision.ImageFrame`) into that frame first. A bare list
``[x1, y1, x2, y2]`` is accepted as ground truth; the image size then comes from the frame or
from the sample's first image (a path, base64 or PIL image).
"""

from __future__ import annotations

import ast
import warnings
from typing import Any

from r1repro.components import Reward
from r1repro.types import RewardResult, Sample
from r1repro.vision import frame_from_meta, load_image

ALPHA = 0.25
"""Weight of the IoU term (grpo_rec.py:247 ``reward += 0.25*iou(...)``; paper α)."""
BETA = 0.125
"""Weight of the box-size term (grpo_rec.py:310 ``0.125 * 4/(...)``; paper β)."""
TERMS = ("hit", "iou", "box")
"""run.sh: ``--reward_funcs iou hit box`` (order does not matter: the trainer sums them)."""


def parse_json_fence(text: str) -> str:
    """The official ``parse_json``: the text after a line that is exactly ```json, up to the next ```."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line == "```json":
            return "\n".join(lines[i + 1 :]).split("```")[0]
    return text


def parse_bbox(response: Any) -> list[float] | None:
    """``[0]["bbox_2d"]`` of the response's JSON (Python-literal) list, or None (scores 0)."""
    try:
        with warnings.catch_warnings():  # model text such as "[1and 2]" warns before it fails
            warnings.simplefilter("ignore", SyntaxWarning)
            box = ast.literal_eval(parse_json_fence(response))[0]["bbox_2d"]
        vals = [float(box[i]) for i in range(4)]
    except Exception:  # noqa: BLE001 - the official code scores any failure 0
        return None
    return vals


def hit(box: list[float], gt: list[float]) -> float:
    """1 if the centre of ``box`` lies in ``gt`` (inclusive bounds), else 0."""
    x, y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return 1.0 if gt[0] <= x <= gt[2] and gt[1] <= y <= gt[3] else 0.0


def official_iou(box: list[float], gt: list[float]) -> float:
    """IoU with the official pixel convention (inner x2/y2 minus 1, then +1); 0 on a zero union."""
    ix1, iy1 = max(box[0], gt[0]), max(box[1], gt[1])
    ix2, iy2 = min(box[2] - 1, gt[2] - 1), min(box[3] - 1, gt[3] - 1)
    inter = (ix2 - ix1 + 1) * (iy2 - iy1 + 1) if ix1 < ix2 and iy1 < iy2 else 0.0
    union = (box[2] - box[0]) * (box[3] - box[1]) + (gt[2] - gt[0]) * (gt[3] - gt[1]) - inter
    if union == 0:
        return 0.0  # ZeroDivisionError in the official code -> caught -> 0
    return float(inter) / union


def box_size(box: list[float], gt: list[float], width: float, height: float) -> float:
    """Harmonic mean of the four normalised edge agreements; 0 if any is 0 (division by zero)."""
    ds = [1 - abs(gt[0] - box[0]) / width, 1 - abs(gt[1] - box[1]) / height,
          1 - abs(gt[2] - box[2]) / width, 1 - abs(gt[3] - box[3]) / height]  # fmt: skip
    if any(d == 0 for d in ds):
        return 0.0
    return 4 / sum(1 / d for d in ds)


def ground_truth(sample: Sample) -> tuple[list[float], float | None, float | None]:
    gt = sample.ground_truth
    frame = frame_from_meta(sample.meta) or frame_from_meta(sample.extra)
    if isinstance(gt, dict):
        box = [float(v) for v in gt["bbox"]]
        w, h = gt.get("width"), gt.get("height")
    else:
        box, w, h = [float(v) for v in gt], None, None
    if (w is None or h is None) and frame is not None:
        w, h = frame.width, frame.height
    if (w is None or h is None) and sample.images:  # e.g. `r1repro score` lines with an image path / base64
        w, h = load_image(sample.images[0]).size
    return box, (float(w) if w is not None else None), (float(h) if h is not None else None)


class GuiG1Reward(Reward):
    """R = R_hit + 0.25 R_IoU + 0.125 R_box (terms selectable: the reward-hacking ablations).

    Options: ``terms`` (subset of hit / iou / box; the paper's ablations train hit-only and
    IoU-only), ``alpha`` / ``beta`` (term weights), ``rescale`` (map predictions from the
    model's resized frame to the ground truth's, default on), ``after_think`` (grade only the text
    after the last ``</think>``: the thinking-template arm; off = the official parse).
    ``info`` carries each term, the parsed box's area relative to the target (``box_ratio``),
    ``correct`` (= hit, the ScreenSpot metric) and the sample's difficulty weight ``rate``.
    """

    name = "gui_g1.grounding"
    description = "GUI-G1: hit + 0.25 IoU + 0.125 box-size harmonic mean (grpo_rec.py)"

    def __init__(self, terms: list[str] | tuple[str, ...] = TERMS, alpha: float = ALPHA, beta: float = BETA,
                 rescale: bool = True, after_think: bool = False) -> None:  # fmt: skip
        bad = [t for t in terms if t not in TERMS]
        if bad or not terms:
            raise ValueError(
                f"gui_g1.grounding: terms must be a non-empty subset of {TERMS}, got {list(terms)}"
            )
        self.terms, self.alpha, self.beta = tuple(terms), float(alpha), float(beta)
        self.rescale, self.after_think = bool(rescale), bool(after_think)

    def score_one(self, sample: Sample) -> RewardResult:
        text = sample.response if isinstance(sample.response, str) else ""
        if self.after_think and "</think>" in text:
            text = text.rsplit("</think>", 1)[1].strip()
        gt, width, height = ground_truth(sample)
        rate = float((sample.extra or {}).get("rate", 1.0))
        box = parse_bbox(text)
        info: dict[str, Any] = {"parsed": box is not None, "rate": rate}
        if box is None:
            return RewardResult(0.0, {**info, "hit": 0.0, "iou": 0.0, "box": 0.0, "correct": False})
        frame = frame_from_meta(sample.meta) or frame_from_meta(sample.extra)
        if self.rescale and frame is not None:
            box = frame.to_original(box)
        parts = {"hit": hit(box, gt), "iou": official_iou(box, gt),
                 "box": box_size(box, gt, width, height) if width and height else 0.0}  # fmt: skip
        weights = {"hit": 1.0, "iou": self.alpha, "box": self.beta}
        score = sum(weights[t] * parts[t] for t in self.terms)
        gt_area = max((gt[2] - gt[0]) * (gt[3] - gt[1]), 1e-9)
        info.update(
            parts, correct=bool(parts["hit"]), box_ratio=(box[2] - box[0]) * (box[3] - box[1]) / gt_area
        )
        return RewardResult(score, info)
