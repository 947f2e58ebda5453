"""Datasets: LASER's training set and evaluation set (hub ids), and the CPU-scale task.

Paper scale: ``hkust-nlp/Laser-Deepscaler-Dataset`` (the DeepScaleR problems, about 40K;
official repo README) for training and AIME 2024 for validation (the scripts' ``aime.parquet``).

CPU scale: `StepChain`, a task built so that LASER's mechanism can act on a tiny policy.
"""

from __future__ import annotations

import random
from typing import Any

from r1repro.components import Dataset, GeneratedDataset, Template
from r1repro.types import Row
from r1repro_laser.templates import THINK_CLOSE, THINK_OPEN


def _ground_truth(record: dict[str, Any]) -> Any:
    rm = record.get("reward_model")
    if isinstance(rm, dict) and rm.get("ground_truth") is not None:
        return rm["ground_truth"]
    for key in ("answer", "ground_truth", "solution"):
        if record.get(key) is not None:
            return record[key]
    raise KeyError("no answer field (reward_model.ground_truth / answer / ground_truth / solution)")


def _problem(record: dict[str, Any]) -> str:
    if record.get("problem"):
        return str(record["problem"])
    prompt = record.get("prompt")
    if isinstance(prompt, list) and prompt:
        text = str(prompt[-1].get("content", ""))
        # verl-format copies already carry the instruction; the template adds it back
        return text.split(" Let's think step by step")[0]
    if isinstance(prompt, str):
        return prompt
    raise KeyError("no problem field (problem / prompt)")


class DeepScaleR(Dataset):
    """LASER's training data (``hkust-nlp/Laser-Deepscaler-Dataset``); plain or verl-format records."""

    hub_id = "hkust-nlp/Laser-Deepscaler-Dataset"
    domain = "math"

    def __init__(self, name: str = "") -> None:
        self.name = name or "laser.deepscaler"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        return Row(id=f"deepscaler-{split}-{index}", problem=_problem(record), ground_truth=str(_ground_truth(record)),
                   data_source="deepscaler", domain="math")  # fmt: skip

    def fixture(self) -> list[Row]:
        return [
            Row(id="deepscaler-fixture-0", problem="What is $1+2+\\cdots+10$?", ground_truth="55",
                data_source="deepscaler", domain="math"),
            Row(id="deepscaler-fixture-1", problem="Simplify $\\frac{6}{8}$.", ground_truth="\\frac{3}{4}",
                data_source="deepscaler", domain="math"),
        ]  # fmt: skip


class Aime24(DeepScaleR):
    """AIME 2024 (30 problems), LASER's headline benchmark (``HuggingFaceH4/aime_2024``)."""

    hub_id = "HuggingFaceH4/aime_2024"

    def __init__(self, name: str = "") -> None:
        self.name = name or "laser.aime24"

    def load(self, split: str = "train", limit: int | None = None, seed: int | None = None) -> list[Row]:
        # the hub copy has a single "train" split; it is only ever used for validation
        return super().load("train", limit=limit, seed=seed)

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        row = super().to_row(record, index, split)
        row.id, row.data_source = f"aime24-{index}", "aime24"
        return row


# ------------------------------------------------------------------------------ CPU task
NODES = tuple("bcdefhmnoprstwxyz")
"""The task's alphabet: letters the project tokenizer keeps as one token after a space."""

ORDER_SEED = 2505_15612
"""Seed of the task's fixed successor order over `NODES` (its "knowledge")."""

STYLES = ("direct", "chain", "direct_tail", "chain_tail")
"""How an SFT solution reasons: no reasoning at all; the visited letters; either of them
followed, after the boxed answer, by a needless closing phrase (`TAIL`)."""

TAIL = " so we have the answer"
"""Needless words after the answer (5 tokens): they cannot change the verdict, so the
accuracy reward alone has no reason to drop them (like a reasoning model's habit of
restating and re-verifying a settled answer)."""


def successor_order(nodes: tuple[str, ...] = NODES, seed: int = ORDER_SEED) -> list[str]:
    order = list(nodes)
    random.Random(seed).shuffle(order)
    return order


class StepChain(GeneratedDataset):
    """Walk k steps along a fixed cyclic order of letters: k = 1 is easy, k >= 4 needs the path.

    Problem: ``Start at d and step 3 times.`` Answer: the letter reached, boxed. The order
    (`successor_order`) is the same for every prompt, so it is knowledge the policy holds in
    its weights, like a fact table.

    Why this task (LASER at CPU scale). Its response length is under the policy's control
    and the length really matters for hard prompts only:

    * one step is one fact (the successor of a letter): a tiny model answers it directly,
      so a correct easy answer needs no reasoning (``<think></think>\\boxed{m}``, 5 tokens);
    * k steps at once is a k-fold composition, a table k times larger that a tiny model
      learns far more slowly than the single steps: writing the path (one fact per written
      letter) is what makes 4- to 6-step prompts right (10-12 tokens);
    * the SFT solutions mix four styles (`STYLES`) regardless of k, so the warm start writes
      the path on easy prompts that do not need it, half the time adds needless words after
      the answer (`TAIL`, which cannot change the verdict, so the accuracy reward alone has
      no reason to drop them), and sometimes answers hard prompts directly (and is then
      mostly wrong);
    * each SFT step is wrong with probability ``sft_step_error`` (0.2), so the warm start's
      accuracy falls with k (~0.8^k): prompts spread over LASER-D's easy / medium / hard
      buckets, and RL can raise accuracy by sharpening the facts.

    The row's ``domain`` is ``"{k}-step"`` so evaluations report accuracy per difficulty.
    Options: ``steps`` (allowed k) and ``step_weights``, ``styles`` and ``style_weights``
    (the SFT mixture), ``sft_step_error``, ``order_seed``.
    """

    sizes = {"train": 4000, "test": 200, "sft": 4000}

    def __init__(self, steps: tuple[int, ...] | list[int] = (1, 2, 3, 4, 5, 6),
                 step_weights: tuple[float, ...] | list[float] | None = None,
                 styles: tuple[str, ...] | list[str] = STYLES,
                 style_weights: tuple[float, ...] | list[float] | None = None,
                 sft_step_error: float = 0.2, order_seed: int = ORDER_SEED, name: str = "") -> None:  # fmt: skip
        unknown = set(styles) - set(STYLES)
        if unknown:
            raise ValueError(f"unknown styles {sorted(unknown)}; known: {STYLES}")
        self.steps = [int(k) for k in steps]
        self.step_weights = list(step_weights) if step_weights is not None else [1.0] * len(self.steps)
        self.styles = list(styles)
        self.style_weights = list(style_weights) if style_weights is not None else [1.0] * len(self.styles)
        self.sft_step_error = float(sft_step_error)
        self.order = successor_order(NODES, order_seed)
        self.succ = {a: self.order[(i + 1) % len(self.order)] for i, a in enumerate(self.order)}
        self.name = name or "laser.step_chain"

    def path(self, start: str, k: int) -> list[str]:
        out = [start]
        for _ in range(k):
            out.append(self.succ[out[-1]])
        return out

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            k = rng.choices(self.steps, weights=self.step_weights)[0]
            start = rng.choice(self.order)
            path = self.path(start, k)
            rows.append(
                Row(
                    id=f"chain-{split}-{seed}-{i}",
                    problem=f"Start at {start} and step {k} times.",
                    ground_truth=path[-1],
                    data_source="r1repro/step_chain",
                    domain=f"{k}-step",
                    extra={"steps": k, "path": "".join(path), "style_seed": rng.randrange(1 << 30)},
                )
            )
        return rows

    def solution(self, row: Row, template: Template) -> str:
        """A worked response in a random style; each step is wrong with ``sft_step_error``.

        A wrong step is followed consistently (the walk goes on from the wrong letter), so the
        warm start knows each fact with probability ~0.8 and a k-step walk is right ~0.8^k of
        the time: accuracy falls with difficulty, and RL has facts to sharpen.
        """
        rng = random.Random(row.extra["style_seed"])
        style = rng.choices(self.styles, weights=self.style_weights)[0]
        path = [row.extra["path"][0]]
        for _ in range(row.extra["steps"]):
            nxt = self.succ[path[-1]]
            if rng.random() < self.sft_step_error:
                nxt = rng.choice([x for x in self.order if x != nxt])
            path.append(nxt)
        return reasoning(path, style)


def reasoning(path: list[str], style: str) -> str:
    """A worked response in one of `STYLES` for the visited letters ``path`` (start first)."""
    walk = "".join(f" {x}" for x in path) if style.startswith("chain") else ""
    tail = TAIL if style.endswith("_tail") else ""
    return f"{THINK_OPEN}{walk}{THINK_CLOSE}\\boxed{{{path[-1]}}}{tail}"
