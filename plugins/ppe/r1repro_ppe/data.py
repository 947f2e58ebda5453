"""Datasets: the paper's STILLv3 training set, and the generated CPU-scale task.

`StillV3` — the paper trains on STILLv3 (~30K math problems, paper §4.1). The hub id below is
our best identification of that release and is [unverified]; ``hub_id`` / field names are options.

`PriorPromptTask` — the CPU stand-in. Problems are "Add 3, 1 and 4." (three terms, 0–4).
Every prior prompt has a natural way to answer them:

    <think>      3 + 1 = 4. 4 + 4 = 8.             (step by step)
    <plan>       Add 3 and 1, then add 4.          (a plan, no numbers worked out)
    <code>       print(3 + 1 + 4)                  (a program)
    <knowledge>  To add several numbers, add them one at a time.
    <examples>   Example: 1 + 2 + 4 = 7.           (a self-generated example of the same kind)

followed by ``<answer>\\boxed{8}</answer>``. The **shared SFT start** is a *generic* warm start
(the stand-in for a base model that has seen all of these styles but was never trained to obey
a prior prompt): its rows carry a random prior prompt (or none), and the response follows the
requested style only with probability ``follow``; otherwise it uses another style or the plain
"The answer is \\boxed{8}.". With probability ``slip`` the worked content and the answer drop
the last term (a structural error RL can unlearn). So at step 0 each prior prompt is followed
only part of the time and answers are sometimes wrong: the inference-time (iPE) arm of a prior
prompt is this start prompted with it, and the pPE arm is GRPO with it.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, ClassVar

from r1repro.components import Dataset, GeneratedDataset, Template
from r1repro.types import Row
from r1repro_ppe.templates import NO_PRIOR_PROMPT, TAGS


class StillV3(Dataset):
    """STILLv3 RL data (paper §4.1: ~30K math problems). hub id [unverified]."""

    hub_id: ClassVar[str | None] = "RUC-AIBOX/STILL-3-Preview-RL-Data"
    domain: ClassVar[str] = "math"

    def __init__(self, hub_id: str | None = None, problem_keys: tuple[str, ...] = ("question", "problem", "prompt"),
                 answer_keys: tuple[str, ...] = ("answer", "solution", "ground_truth"), name: str = "") -> None:  # fmt: skip
        if hub_id:
            self.hub_id = hub_id
        self.problem_keys, self.answer_keys = tuple(problem_keys), tuple(answer_keys)
        self.name = name or "ppe.still_v3"

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        problem = next((record[k] for k in self.problem_keys if record.get(k)), "")
        answer = next((record[k] for k in self.answer_keys if record.get(k) is not None), "")
        return Row(id=f"stillv3-{split}-{index}", problem=str(problem), ground_truth=str(answer),
                   data_source="STILLv3", domain="math")  # fmt: skip

    def fixture(self) -> list[Row]:
        return [
            Row(id="stillv3-fixture-0", problem="What is $2^{10}$?", ground_truth="1024",
                data_source="STILLv3", domain="math"),
            Row(id="stillv3-fixture-1", problem="Simplify $\\frac{6}{8}$.", ground_truth="\\frac{3}{4}",
                data_source="STILLv3", domain="math"),
        ]  # fmt: skip


STYLES: tuple[str, ...] = (*TAGS, "plain")
"""Response styles of the CPU task: one per prior prompt, and the untagged generic answer."""


def style_content(style: str, terms: list[int], rng: random.Random) -> str:
    """The worked content of one style for adding ``terms`` (see the module docstring)."""
    if style == "think":
        steps, acc = [], terms[0]
        for t in terms[1:]:
            steps.append(f"{acc} + {t} = {acc + t}.")
            acc += t
        return " ".join(steps)
    if style == "plan":
        head = f"Add {terms[0]} and {terms[1]}"
        return head + "".join(f", then add {t}" for t in terms[2:]) + "."
    if style == "code":
        return "print(" + " + ".join(str(t) for t in terms) + ")"
    if style == "knowledge":
        return ("To add two numbers, combine them." if len(terms) == 2
                else "To add several numbers, add them one at a time.")  # fmt: skip
    if style == "examples":
        ex = [rng.randint(1, 4) for _ in terms]
        return "Example: " + " + ".join(map(str, ex)) + f" = {sum(ex)}."
    raise ValueError(f"unknown style {style!r}")


def styled_response(style: str, terms: list[int], rng: random.Random) -> str:
    """A whole response in ``style``: ``<tag>content</tag><answer>\\boxed{sum}</answer>`` or plain."""
    if style == "plain":
        return f"The answer is \\boxed{{{sum(terms)}}}."
    return f"<{style}>{style_content(style, terms, rng)}</{style}><answer>\\boxed{{{sum(terms)}}}</answer>"


class PriorPromptTask(GeneratedDataset):
    """Add ``terms`` one-digit numbers; a generic mixed-style SFT start (see module docstring).

    Options: ``terms`` (3), ``max_value`` (4), ``follow`` (probability that an SFT response uses
    the style its prior prompt asks for, 0.4), ``slip`` (probability that an SFT response drops
    the last term, 0.3), ``no_prompt_share`` (share of SFT rows without a prior prompt, 1/6).
    """

    sizes: ClassVar[dict[str, int]] = {"train": 4000, "test": 256, "sft": 4000}

    def __init__(self, terms: int = 3, max_value: int = 4, follow: float = 0.4, slip: float = 0.3,
                 no_prompt_share: float = 1 / 6, name: str = "") -> None:  # fmt: skip
        self.terms, self.max_value = int(terms), int(max_value)
        self.follow, self.slip, self.no_prompt_share = float(follow), float(slip), float(no_prompt_share)
        self.name = name or "ppe.add_task"

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            terms = [rng.randint(0, self.max_value) for _ in range(self.terms)]
            extra: dict[str, Any] = {"terms": terms}
            if split == "sft":
                extra["prior_prompt"] = (NO_PRIOR_PROMPT if rng.random() < self.no_prompt_share
                                         else rng.choice(TAGS))  # fmt: skip
            rows.append(Row(id=f"ppe-add-{split}-{seed}-{i}",
                            problem="Add " + ", ".join(map(str, terms[:-1])) + f" and {terms[-1]}.",
                            ground_truth=str(sum(terms)), data_source="r1repro/ppe_add", domain="math",
                            extra=extra))  # fmt: skip
        return rows

    def solution(self, row: Row, template: Template) -> str:
        """The SFT response: the requested style with probability ``follow``, else another; slips."""
        rng = random.Random(zlib.crc32(row.id.encode()))
        asked = row.extra.get("prior_prompt", getattr(template, "tag", NO_PRIOR_PROMPT))
        if asked in TAGS and rng.random() < self.follow:
            style = asked
        else:
            style = rng.choice([s for s in STYLES if s != asked])
        terms = list(row.extra["terms"])
        if rng.random() < self.slip:
            terms = terms[:-1]
        return styled_response(style, terms, rng)
