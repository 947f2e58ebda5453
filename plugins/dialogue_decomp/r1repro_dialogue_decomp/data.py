"""The RL task: answer the listener's line with one speaker turn (single-turn, as GELI's PPO).

Rows come from the generated world (`task`): the prompt is a listener line, the SFT reference is
a speaker utterance drawn uniformly from every kind (a human speaker who is as often helpful as
not), so the warm start says good and bad things alike and RL on r_theta has room to move. The
hidden rule's quality of a generated turn is the evaluation metric (`rm.HiddenQualityReward`).
"""

from __future__ import annotations

import random

from r1repro.components import GeneratedDataset, Template
from r1repro.types import Row
from r1repro_dialogue_decomp.task import ALL_PHRASES, LISTENER_LINES

PROMPT_FORMAT = "LISTENER: {line}\nReply as the SPEAKER in one short turn."
"""[ours] the policy's instruction (the paper's policy prompt is not public)."""


class DialogueTurnTask(GeneratedDataset):
    """Listener line -> speaker turn; ``extra.reference``: a uniformly drawn human turn."""

    sizes = {"train": 2000, "test": 64}

    def __init__(self, name: str = "") -> None:
        self.name = name

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            line = rng.choice(LISTENER_LINES)
            rows.append(Row(id=f"dialogue-{split}-{i}", problem=PROMPT_FORMAT.format(line=line), ground_truth="",
                            data_source="dialogue_decomp/turns", domain="dialogue",
                            extra={"listener": line, "reference": rng.choice(ALL_PHRASES)}))  # fmt: skip
        return rows

    def solution(self, row: Row, template: Template) -> str:
        return template.format_response(answer=str(row.extra["reference"]))
