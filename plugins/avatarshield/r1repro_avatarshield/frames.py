"""Frames of a clip: sampling, the shuffled perturbation, and the residual stream.

**Sampling.** A clip of N frames is read as T evenly spaced frames (`sample_frame_indices`,
the rule of Qwen-VL's frame readers: ``linspace(0, N - 1, T)`` rounded). The paper feeds
sampled frames of FakeHumanVid videos; its T is not stated in what we could read [unverified];
the paper preset uses Video-R1's 16.

**Perturbation.** The temporal-compensation reward compares the policy on ordered frames with
the policy on the *same frames in a random order* (Video-R1: ``video[torch.randperm(T)]``, a
uniform permutation that may be the identity; `shuffle_order`). With the residual stream on,
a row's images are ``frames + residuals`` and both halves get the same permutation
(`shuffle_clip`), so frame i stays next to its own residual.

**Residual stream (stand-in).** AvatarShield's residual extractor reconstructs each frame with a
VQ-VAE and feeds R = |X - X_hat| to a second ViT (§3, dual encoder). Neither its VQ-VAE nor a
second vision tower exists here: X_hat is a fixed low-pass codec (box-downsample by ``factor``,
bilinear upsample, colours snapped to a 32-level-per-channel codebook: a tiny "vector
quantiser"), R is amplified by ``gain`` and the residual frames go to the *same* vision tower as
extra images. It keeps the paper's idea (a codec that reconstructs smooth content well and
high-frequency artifacts badly amplifies the artifacts), not its encoder.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

RESIDUAL_FACTOR = 4
"""Down/up-sampling factor of the stand-in codec (ours)."""
RESIDUAL_GAIN = 4.0
"""Residual amplification before clipping to [0, 255] (ours: makes |X - X_hat| visible to a tiny ViT)."""
CODEBOOK_LEVELS = 32
"""Levels per RGB channel of the stand-in codebook (32^3 code colours, step ~8: smooth content
reconstructs within the residual gain's noise floor; ours)."""


def sample_frame_indices(n_total: int, n_frames: int) -> list[int]:
    """T evenly spaced frame indices of an N-frame clip (all frames, repeated, when N < T)."""
    if n_total <= 0 or n_frames <= 0:
        raise ValueError(f"need a positive clip length and frame count, got {n_total} and {n_frames}")
    return [int(round(x)) for x in np.linspace(0, n_total - 1, n_frames)]


def shuffle_order(n: int, rng: random.Random) -> list[int]:
    """A uniform random permutation of range(n) (identity allowed, as torch.randperm)."""
    order = list(range(n))
    rng.shuffle(order)
    return order


def shuffle_clip(images: Sequence[Any], n_frames: int, order: Sequence[int]) -> list[Any]:
    """``images`` (frames, then optionally one residual per frame) with frames put in ``order``;
    residuals follow their frames."""
    images = list(images)
    if len(images) not in (n_frames, 2 * n_frames) or sorted(order) != list(range(n_frames)):
        raise ValueError(f"cannot shuffle {len(images)} images as {n_frames} frames in order {list(order)}")
    out = [images[i] for i in order]
    if len(images) == 2 * n_frames:
        out += [images[n_frames + i] for i in order]
    return out


def shuffled_row(row, rng: random.Random):
    """A copy of a clip row whose frames are shuffled (``extra.perturbation = 'shuffled'``,
    ``extra.order``, the same ``pair_id``); its prompt is rendered again from its images."""
    n = int((row.extra or {}).get("n_frames") or len(row.images or []))
    order = shuffle_order(n, rng)
    new = copy.copy(row)
    new.images = shuffle_clip(row.images or [], n, order)
    new.extra = {**(row.extra or {}), "perturbation": "shuffled", "order": order,
                 "pair_id": (row.extra or {}).get("pair_id", row.id)}  # fmt: skip
    new.id = f"{row.id}-shuffled"
    return new


def with_shuffled_copies(rows: Sequence[Any], seed: int = 0) -> list[Any]:
    """Each row followed by a shuffled copy (dataset duplication: the form a stock trainer such
    as verl can roll out; the reward pairs the two by ``pair_id``)."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        out += [row, shuffled_row(row, rng)]
    return out


# ------------------------------------------------------------------------------ residual stream
def reconstruct(frame, factor: int = RESIDUAL_FACTOR, levels: int = CODEBOOK_LEVELS):
    """X_hat: the stand-in codec's reconstruction of a PIL frame (low-pass + codebook snap)."""
    from PIL import Image

    w, h = frame.size
    small = frame.convert("RGB").resize((max(1, w // factor), max(1, h // factor)), Image.BOX)
    smooth = np.asarray(small.resize((w, h), Image.BILINEAR), dtype=np.float64)
    step = 255.0 / (levels - 1)
    return np.round(smooth / step) * step


def residual(frame, factor: int = RESIDUAL_FACTOR, gain: float = RESIDUAL_GAIN, levels: int = CODEBOOK_LEVELS):
    """R = clip(gain * |X - X_hat|) as a PIL image (the residual stream's frame)."""
    from PIL import Image

    x = np.asarray(frame.convert("RGB"), dtype=np.float64)
    r = np.clip(gain * np.abs(x - reconstruct(frame, factor, levels)), 0, 255)
    return Image.fromarray(r.astype(np.uint8))


def residual_energy(frame, **kw) -> float:
    """Mean residual intensity in [0, 1] (diagnostics and tests)."""
    return float(np.asarray(residual(frame, **kw), dtype=np.float64).mean() / 255.0)
