"""The CPU-scale stand-in for the paper's three teachers: generated traces that differ the way
the paper's do (arXiv 2505.14464, data analysis), on one problem set.

Problems: add a chain of d one-digit numbers, d = the difficulty (2-6). Every teacher is correct
(verify score 1, as after the paper's re-sampling to verify_score ≥ 0.9); they differ in *how*:

===========  ===================================================  =============================
teacher      trace                                                paper counterpart
===========  ===================================================  =============================
adaptive     one running-sum step per term: length grows with d,  AM-Thinking-v1: lowest PPL,
             nothing else                                         length adapts to difficulty
long         the same steps, then "check" restatements up to a    Qwen3-235B-A22B: uniformly
             fixed total, so easy problems get long traces too    long
noisy        the same steps with random filler words and          DeepSeek-R1: higher PPL
             occasional repeated steps
===========  ===================================================  =============================
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TEACHERS = ("adaptive", "long", "noisy")
DIFFICULTIES = (2, 3, 4, 5, 6)
FILLERS = ("so", "then", "we have", "first", "therefore", "check", "step")
LONG_TOTAL_STEPS = 8
"""Steps every `long` trace is padded to with check restatements [ours]."""
NOISE_RATE = 0.5
"""Chance of a filler before each step and of repeating it in `noisy` traces [ours]."""


@dataclass(frozen=True)
class Problem:
    id: str
    terms: tuple[int, ...]

    @property
    def difficulty(self) -> int:
        return len(self.terms)

    @property
    def answer(self) -> int:
        return sum(self.terms)

    @property
    def prompt(self) -> str:
        return "Compute " + " + ".join(map(str, self.terms))


def problems(n: int, seed: int, split: str) -> list[Problem]:
    """``n`` problems, difficulties cycling through `DIFFICULTIES`; seeded per split."""
    rng = random.Random(f"{split}-{seed}")
    return [Problem(f"{split}-{i}", tuple(rng.randint(0, 9) for _ in range(DIFFICULTIES[i % len(DIFFICULTIES)])))
            for i in range(n)]  # fmt: skip


def steps(p: Problem) -> list[str]:
    out, total = [], p.terms[0]
    for t in p.terms[1:]:
        out.append(f"{total} + {t} = {total + t}")
        total += t
    return out


def trace(p: Problem, teacher: str, rng: random.Random) -> str:
    """The teacher's full response: <think>steps</think><answer>sum</answer>."""
    body = steps(p)
    if teacher == "long":
        checks = [f"check {s}" for s in body]
        while len(body) < LONG_TOTAL_STEPS:
            body.append(checks[(len(body) - len(checks)) % len(checks)])
    elif teacher == "noisy":
        noisy = []
        for s in body:
            if rng.random() < NOISE_RATE:
                noisy.append(rng.choice(FILLERS))
            noisy.append(s)
            if rng.random() < NOISE_RATE / 2:
                noisy.append(s)
        body = noisy
    elif teacher != "adaptive":
        raise ValueError(f"unknown teacher {teacher!r}; choose one of {', '.join(TEACHERS)}")
    return f"<think>{' , '.join(body)}</think><answer>{p.answer}</answer>"
