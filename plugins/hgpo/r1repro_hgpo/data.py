"""Datasets: the paper's RL prompts (hub) and the generated CPU-scale hybrid task.

`HybridCompose` (``hgpo.compose``) is the CPU task that lets HGPO's mechanism show on a
tiny policy. The task's "world knowledge" is a few fixed digit functions (``f``, ``g``,
``h``, ``k``: random permutations of 0-9, the same for every split and seed); a prompt
asks for a function value, written one token per character in the project tokenizer.

* **easy** prompts apply one function, ``g(3)``: the answer is one memorised fact, which a
  tiny model gives as well directly (``<no_think>\\boxed{5}</no_think>``) as after a trace;
* **hard** prompts compose ``depth`` functions, ``h(f(g(3)))``: answering directly means
  knowing one of |F|^depth · 10 composite facts, which the cold start cannot teach, while
  the thinking trace ``<think>g3=5;f5=2;h2=8</think>\\boxed{8}`` needs only the |F| · 10
  single facts, one per written step.

The cold-start (HFT) responses mix the two modes *independently of difficulty*
(``think_fraction`` of each kind think), so the SFT start picks its mode at random — the
situation HGPO is meant to fix. ``domain`` is the difficulty, so the engine's evaluation
reports ``correct@easy`` and ``correct@hard``.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, ClassVar

from r1repro.components import Dataset, GeneratedDataset, Template
from r1repro.types import Row

WORLD_SEED = 2505_14631
"""Seed of the task's fixed digit functions (a constant: the same "knowledge" everywhere)."""


def digit_functions(names: str, seed: int = WORLD_SEED) -> dict[str, list[int]]:
    """One fixed random permutation of 0-9 per function name."""
    rng = random.Random(seed)
    out = {}
    for n in names:
        perm = list(range(10))
        rng.shuffle(perm)
        out[n] = perm
    return out


class HybridCompose(GeneratedDataset):
    """Easy (one function value) and hard (composition) prompts; see the module docstring.

    Options: ``hard_fraction`` (0.5), ``depth`` of hard prompts (3), ``functions`` (names,
    "fghk"), ``think_fraction`` of cold-start responses that think (0.5), ``holdout`` (0.25:
    the share of hard prompts reserved for the ``test`` split; easy prompts are too few —
    |F|·10 = 40 — to hold any out, so train and test share them).
    """

    sizes: ClassVar[dict[str, int]] = {"train": 4000, "test": 256, "sft": 3000}
    domain = "hybrid"

    def __init__(self, hard_fraction: float = 0.5, depth: int = 3, functions: str = "fghk",
                 think_fraction: float = 0.5, holdout: float = 0.25, name: str = "") -> None:  # fmt: skip
        if not 0.0 <= hard_fraction <= 1.0 or not 0.0 <= think_fraction <= 1.0:
            raise ValueError("hard_fraction and think_fraction must lie in [0, 1]")
        if depth < 2 or not functions or not functions.isalpha() or len(set(functions)) != len(functions):
            raise ValueError("depth must be >= 2 and functions distinct letters")
        self.hard_fraction, self.depth, self.functions = hard_fraction, depth, functions
        self.think_fraction, self.holdout = think_fraction, holdout
        self.table = digit_functions(functions)
        self.name = name or "hgpo.compose"

    def make(self, x: int, chain: list[str]) -> tuple[str, str, str]:
        """(problem, answer, trace) for applying ``chain`` (innermost first) to ``x``."""
        steps, v = [], x
        for fn in chain:
            y = self.table[fn][v]
            steps.append(f"{fn}{v}={y}")
            v = y
        problem = str(x)
        for fn in chain:
            problem = f"{fn}({problem})"
        return problem, str(v), ";".join(steps)

    def held_out(self, problem: str) -> bool:
        """Whether a hard prompt is reserved for the test split (a fixed hash of its text)."""
        return zlib.crc32(problem.encode()) % 1000 < 1000 * self.holdout

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            hard = rng.random() < self.hard_fraction
            while True:
                chain = [rng.choice(self.functions) for _ in range(self.depth if hard else 1)]
                problem, answer, trace = self.make(rng.randrange(10), chain)
                if not hard or self.holdout <= 0 or self.held_out(problem) == (split == "test"):
                    break
            kind = "hard" if hard else "easy"
            rows.append(Row(id=f"hgpo-compose-{split}-{seed}-{i}", problem=problem, ground_truth=answer,
                            data_source="r1repro/hgpo-compose", domain=kind,
                            extra={"difficulty": kind, "trace": trace, "steps": len(chain)}))  # fmt: skip
        return rows

    # ------------------------------------------------------------------ cold start
    def sft_mode(self, row: Row) -> str:
        """The mode of a row's cold-start response: drawn per row, independent of difficulty."""
        u = random.Random(zlib.crc32(row.id.encode())).random()
        return "think" if u < self.think_fraction else "no_think"

    def solution(self, row: Row, template: Template) -> str:
        think = str(row.extra.get("trace", "")) if self.sft_mode(row) == "think" else None
        return template.format_response(answer=str(row.ground_truth), think=think)


class DeepScaleR(Dataset):
    """DeepScaleR-Preview (40K competition-math problems with definite answers): the math part
    of LHRM's HGPO prompts (§4.1; the Tülu-3 part needs the reward model, see the README)."""

    hub_id = "agentica-org/DeepScaleR-Preview-Dataset"
    local_files: ClassVar[dict[str, str]] = {"train": "deepscaler.jsonl"}
    domain = "math"

    def __init__(self, name: str = "") -> None:
        self.name = name or "hgpo.deepscaler"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        return Row(id=f"deepscaler-{split}-{index}", problem=str(record.get("problem", "")),
                   ground_truth=str(record.get("answer", "")), data_source="agentica-org/DeepScaleR-Preview-Dataset",
                   domain="math", extra={"solution": str(record.get("solution", ""))[:4000]})  # fmt: skip

    def fixture(self) -> list[Row]:
        recs = [{"problem": "What is $1+2+\\dots+10$?", "answer": "55", "solution": "n(n+1)/2 = 55."},
                {"problem": "Find $x$ if $2x+3=11$.", "answer": "4", "solution": "2x = 8."}]  # fmt: skip
        return [self.to_row(r, i, "fixture") for i, r in enumerate(recs)]

    def solution(self, row: Row, template: Template) -> str:
        return template.format_response(
            answer=str(row.ground_truth), think=str(row.extra.get("solution", ""))
        )
