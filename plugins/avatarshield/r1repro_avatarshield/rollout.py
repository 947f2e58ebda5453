"""The rollout hook of the temporal-compensation reward: a second, shuffled-frame group per prompt.

Video-R1's T-GRPO (which AvatarShield's temporal reward follows) samples, for every prompt, G
responses on the ordered frames and G/2 on the same frames shuffled (``torch.randperm``); only
the ordered responses are trained on, the shuffled ones just set the bar p~ that the ordered
accuracy p must reach (`r1repro_avatarshield.reward`). `TemporalRollout` does that in the local
engine: it rolls out the ordered group as `VLSingleTurn` does, then ``ceil(shuffled_fraction x
n)`` responses per prompt on a shuffled copy of its clip (`frames.shuffled_row`, seeded by the
run seed, the step and the row id), and puts their texts into every ordered trajectory's
``meta["shuffled_responses"]`` (paired by the group id; ``meta["shuffle_order"]`` records the
permutation). Evaluation rollouts are not perturbed.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence

from r1repro.engine.rollout import RolloutContext
from r1repro.engine.vl import VLSingleTurn
from r1repro.types import Row, Trajectory
from r1repro_avatarshield.frames import shuffled_row
from r1repro_avatarshield.reward import SHUFFLED_FRACTION


def shuffle_rng(seed: int, step: int, row_id: str) -> random.Random:
    """The permutation's generator: the same run, step and row always shuffle the same way."""
    return random.Random(zlib.crc32(f"{seed}/{step}/{row_id}".encode()))


class TemporalRollout(VLSingleTurn):
    """Ordered group + shuffled-frame group per prompt; shuffled texts go to the ordered ``meta``."""

    name = "avatarshield.temporal_rollout"
    description = "AvatarShield / T-GRPO: also roll out G/2 responses on shuffled frames (scored, not trained)"

    def __init__(self, shuffled_fraction: float = SHUFFLED_FRACTION, enabled: bool = True) -> None:
        if not 0 < float(shuffled_fraction) <= 4:
            raise ValueError(f"shuffled_fraction must be in (0, 4], got {shuffled_fraction}")
        self.shuffled_fraction, self.enabled = float(shuffled_fraction), bool(enabled)

    def shuffled_n(self, n: int) -> int:
        return max(1, math.ceil(self.shuffled_fraction * n))

    def rollout(self, ctx: RolloutContext, rows: Sequence[Row], n: int, forced_text: Sequence[str] | None = None,
                group_ids: Sequence[str] | None = None) -> list[Trajectory]:  # fmt: skip
        trajs = super().rollout(ctx, rows, n, forced_text, group_ids)
        if ctx.evaluation or not self.enabled or forced_text is not None:
            return trajs
        group_of: dict[int, str] = {}
        for t in trajs:
            group_of.setdefault(id(t.row), t.group_id)
        engine = (ctx.extra or {}).get("engine")
        seed = int(engine.cfg.trainer.seed) if engine is not None else 0
        shuffled = [shuffled_row(r, shuffle_rng(seed, ctx.step, r.id)) for r in rows]
        m = self.shuffled_n(n)
        extra = super().rollout(ctx, shuffled, m, group_ids=[group_of[id(r)] for r in rows])
        by_group: dict[str, list[str]] = {}
        for t in extra:
            by_group.setdefault(t.group_id, []).append(t.response_text)
        orders = {group_of[id(r)]: s.extra["order"] for r, s in zip(rows, shuffled)}
        for t in trajs:
            t.meta["shuffled_responses"] = list(by_group.get(t.group_id, []))
            t.meta["shuffle_order"] = orders.get(t.group_id)
        return trajs
