"""Datasets: the paper's MATH levels 3–5 training data, and the generated CPU-scale task.

`MathLevels` — TAPO trains on MATH problems of levels 3–5 (paper §4.1: ~5K for RL, 500 more
as library seeds). Hub id and field names are options; default ``DigitalLearningGmbH/MATH-lighteval``
with its ``level`` field ([unverified] that this is the copy the paper used).

`OpsChainTask` — the CPU stand-in, a *multi-step* problem whose solution is a sequence of
small steps: "Start at 3, then +1, +2, -1. What is the result?". Its PCC (number of
given conditions) is the start plus the k operations, k + 1. A step does one operation
("3 + 1 = 4."); a one-shot answer must track the value through k operations at once.

The SFT warm start (``solution``) mixes two kinds of worked responses:
* **guided** (share ``guided_share``): the response of a template from the ``ops`` library —
  each action's instruction line followed by what the action does on this task (the model
  must know how to follow an action, as a pre-trained LLM does), the operations the template
  left undone, then "The answer is \\boxed{5}.";
* **unguided**: one operation per line, then the answer.

Either kind stops early after j < k operations and answers the value it reached (a structural
error; a guided trace's actions then see only those j). ``slip_mode="trace"``: with probability
``slip`` per trace, j uniform; ``slip_mode="per_op"``: before each operation the trace stops with
probability ``slip`` (a constant hazard), so a trace is right with probability (1 − slip)^k and
long chains are rarely solved: a sparse-success task, TAPO's setting (issue 10).

With ``hard_share`` set, k comes from two parts: an *easy* part (``min_ops`` .. ``easy_max_ops``,
default ``hard_min_ops`` − 1) and, with probability ``hard_share``, a *hard* part (``hard_min_ops`` .. ``max_ops``); the
row's domain is then ``easy`` / ``hard`` so evaluation reports accuracy by part.

What each action does on this task (see `action_step`): One-Step Thought and
Divide-and-Conquer do the next operation; Chain-of-Thought does all the remaining ones on one
line; System Analysis lists what is given; Self-Reflection repeats the last operation as a check.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, ClassVar

from r1repro.components import Dataset, GeneratedDataset, Template
from r1repro.types import Row

OPS: dict[str, int] = {"+1": 1, "+2": 2, "-1": -1, "-2": -2}
"""The operations of the CPU task and their effect."""


class MathLevels(Dataset):
    """MATH problems of the given levels (TAPO §4.1 trains on levels 3–5)."""

    hub_id: ClassVar[str | None] = "DigitalLearningGmbH/MATH-lighteval"
    domain: ClassVar[str] = "math"

    def __init__(
        self, levels: tuple[int, ...] = (3, 4, 5), hub_id: str | None = None, name: str = ""
    ) -> None:
        self.levels = tuple(int(x) for x in levels)
        if hub_id:
            self.hub_id = hub_id
        self.name = name or "tapo.math_l3to5"

    def records(self, split: str = "train") -> list[dict[str, Any]]:
        recs = super().records(split)
        return [r for r in recs if _level(r.get("level")) in self.levels]

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        from r1repro.textutil import last_boxed

        answer = record.get("answer") or last_boxed(str(record.get("solution", ""))) or ""
        return Row(id=f"math-{split}-{index}", problem=str(record.get("problem", "")), ground_truth=str(answer),
                   data_source="MATH", domain="math",
                   extra={"level": _level(record.get("level")), "type": record.get("type", "")})  # fmt: skip

    def fixture(self) -> list[Row]:
        return [
            Row(id="math-fixture-0", problem="If $x+2=5$ and $y=2x$, what is $y$?", ground_truth="6",
                data_source="MATH", domain="math", extra={"level": 3, "type": "Algebra"}),
            Row(id="math-fixture-1", problem="What is the remainder when $2^{10}$ is divided by $7$?",
                ground_truth="2", data_source="MATH", domain="math", extra={"level": 4, "type": "Number Theory"}),
        ]  # fmt: skip


def _level(value: Any) -> int | None:
    digits = "".join(ch for ch in str(value or "") if ch.isdigit())
    return int(digits) if digits else None


def op_line(value: int, op: str) -> str:
    d = OPS[op]
    return f"{value} {'+' if d > 0 else '-'} {abs(d)} = {value + d}."


def action_step(action: str, start: int, ops: list[str], done: int) -> tuple[str, int]:
    """What ``action`` writes on this task after ``done`` operations; returns (line, new done)."""
    value = start + sum(OPS[o] for o in ops[:done])
    if action in ("OST", "DC"):
        if done >= len(ops):
            return "Nothing is left.", done
        return op_line(value, ops[done]), done + 1
    if action == "CoT":
        if done >= len(ops):
            return "Nothing is left.", done
        parts = []
        for op in ops[done:]:
            parts.append(op_line(value, op))
            value += OPS[op]
        return " ".join(parts), len(ops)
    if action == "SA":
        return f"Given: {start}, " + ", ".join(ops) + ".", done
    if action == "SR":
        if done == 0:
            return f"Check: we start at {start}.", done
        prev = start + sum(OPS[o] for o in ops[: done - 1])
        return "Check: " + op_line(prev, ops[done - 1]), done
    raise ValueError(f"unknown action {action!r}")


def answer_line(value: int) -> str:
    return f"The answer is \\boxed{{{value}}}."


class OpsChainTask(GeneratedDataset):
    """Start value + k small operations (see module docstring); ``extra["pcc"] = k + 1``.

    The row's ``domain`` is ``pcc<k+1>`` so that evaluation reports accuracy by problem size.
    Options: ``min_ops`` (2), ``max_ops`` (5), ``max_value`` (9: values stay in 0..max_value),
    ``guided_share`` (0.5), ``slip`` (0.35), ``guided_slip`` (True: guided traces slip with the same
    probability as unguided ones; False: the old always-correct guided traces), ``library`` (thought library whose templates the
    guided SFT responses follow, ``ops``), ``repeat`` (True: one operation repeated k times, so a
    step never has to find "the ℓ-th operation" — a lookup a ~1M-parameter model learns slowly;
    False: k independent operations), ``slip_mode`` ("trace" or "per_op", module docstring),
    ``hard_share`` / ``hard_min_ops`` / ``easy_max_ops`` (None: k uniform in min_ops..max_ops; else the two parts).
    """

    sizes: ClassVar[dict[str, int]] = {"train": 4000, "test": 256, "sft": 4000}

    def __init__(self, min_ops: int = 2, max_ops: int = 5, max_value: int = 9, guided_share: float = 0.5,
                 slip: float = 0.35, library: str = "ops", repeat: bool = True, guided_slip: bool = True,
                 slip_mode: str = "trace", hard_share: float | None = None, hard_min_ops: int | None = None,
                 easy_max_ops: int | None = None, name: str = "") -> None:  # fmt: skip
        self.min_ops, self.max_ops, self.max_value = int(min_ops), int(max_ops), int(max_value)
        if slip_mode not in ("trace", "per_op"):
            raise ValueError(f"tapo.ops_chain: slip_mode must be 'trace' or 'per_op', not {slip_mode!r}")
        self.slip_mode = slip_mode
        self.hard_share = None if hard_share is None else float(hard_share)
        self.hard_min_ops = int(hard_min_ops) if hard_min_ops is not None else None
        self.easy_max_ops = int(easy_max_ops) if easy_max_ops is not None else None
        if self.hard_share is not None:
            if self.hard_min_ops is None or not self.min_ops < self.hard_min_ops <= self.max_ops:
                raise ValueError("tapo.ops_chain: hard_share needs min_ops < hard_min_ops <= max_ops")
            if self.easy_max_ops is None:
                self.easy_max_ops = self.hard_min_ops - 1
            if not self.min_ops <= self.easy_max_ops < self.hard_min_ops:
                raise ValueError("tapo.ops_chain: easy_max_ops must lie in min_ops .. hard_min_ops - 1")
        if self.max_value < self.max_ops:
            raise ValueError("tapo.ops_chain: max_value must be at least max_ops (a +1 chain must fit)")
        self.guided_slip = bool(guided_slip)
        self.repeat = bool(repeat)
        self.guided_share, self.slip, self.library = float(guided_share), float(slip), library
        self.name = name or "tapo.ops_chain"

    def generate(self, n: int, seed: int, split: str) -> list[Row]:
        rng = random.Random(seed)
        rows = []
        for i in range(n):
            k, part = self._draw_k(rng)
            op = rng.choice([o for o, d in OPS.items() if abs(d) * k <= self.max_value])
            d = OPS[op]
            start = rng.randint(max(0, -d * k), min(self.max_value, self.max_value - d * k))
            ops = [op] * k if self.repeat else []
            value = start
            if not self.repeat:
                for _ in range(k):
                    ops.append(rng.choice([o for o, e in OPS.items() if 0 <= value + e <= self.max_value]))
                    value += OPS[ops[-1]]
            value = start + sum(OPS[o] for o in ops)
            problem = f"Start at {start}, then " + ", ".join(ops) + ". What is the result?"
            rows.append(Row(id=f"tapo-ops-{split}-{seed}-{i}", problem=problem, ground_truth=str(value),
                            data_source="r1repro/tapo_ops", domain=part or f"pcc{k + 1}",
                            extra={"start": start, "ops": ops, "pcc": k + 1}))  # fmt: skip
        return rows

    def _draw_k(self, rng: random.Random) -> tuple[int, str | None]:
        """The number of operations, and the part it belongs to (None without ``hard_share``)."""
        if self.hard_share is None:
            return rng.randint(self.min_ops, self.max_ops), None
        if rng.random() < self.hard_share:
            return rng.randint(self.hard_min_ops, self.max_ops), "hard"
        return rng.randint(self.min_ops, self.easy_max_ops), "easy"

    def _ops_done(self, rng: random.Random, k: int, guided: bool) -> int:
        """How many of the k operations a worked response does before answering (k = no slip)."""
        if guided and not self.guided_slip:
            rng.random()  # the draw the old always-correct mixture made, so its traces stay the same
            return k
        if self.slip_mode == "per_op":
            done = 0
            while done < k and rng.random() >= self.slip:
                done += 1
            return done
        return rng.randint(0, k - 1) if rng.random() < self.slip else k

    def solution(self, row: Row, template: Template) -> str:
        from r1repro_tapo.templates import ThoughtLibrary

        rng = random.Random(zlib.crc32(row.id.encode()))
        start, ops = int(row.extra["start"]), list(row.extra["ops"])
        lines: list[str] = []
        guided = rng.random() < self.guided_share
        # the slip: the trace works on the first j < k operations only and answers the value
        # reached. Guided traces slip as often as unguided ones (``guided_slip``), so a guided
        # rollout does not hit more just because the SFT data made template traces more
        # reliable: what TAPO adds must come from the guidance during RL (issue 10)
        ops_to_do = self._ops_done(rng, len(ops), guided)
        done = 0
        if guided:
            lib = ThoughtLibrary.load(self.library)
            tpl = rng.choice(lib.templates)
            for action in tpl.actions:
                step, done = action_step(action, start, ops[:ops_to_do], done)
                lines += [lib.instruction(action), step]
        value = start + sum(OPS[o] for o in ops[:done])
        for op in ops[done:ops_to_do]:
            lines.append(op_line(value, op))
            value += OPS[op]
        lines.append(answer_line(value))
        return "\n".join(lines)
