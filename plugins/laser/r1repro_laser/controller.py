"""LASER-D's target-length controller: difficulty buckets and the "expected correct responses" rule.

Paper: LASER-D (arXiv 2505.15612, §4.3 "adaptive and difficulty-aware"); official code:
``length_penalty.py::_choose_target_length``, ``count_length_distribution.py`` and
``ray_trainer.py::_monitor`` of hkust-nlp/Laser. What it does:

1. **Difficulty** of a prompt = the accuracy of its group of rollouts: >= 2/3 is *easy*
   (the official name is "high" accuracy), [1/3, 2/3) *medium*, below 1/3 *hard* ("low").
   (The official monitor writes the bands as ``acc <= 1/3 | <= 2/3 | > 2/3``; the two
   conventions only differ when n is a multiple of 3, never for n = 8.)
2. Every ``every`` steps (and before the first step) a fixed **monitor set** of training
   prompts (500 at paper scale) is rolled out n = 8 times with the current policy. For each
   bucket, the **coverage** P(L) is the fraction of *all* that bucket's responses (right or
   wrong) whose length is <= L, for L on the grid `length_grid(lower, upper, interval)`.
3. **Expected correct responses**: L_T(bucket) is the smallest grid L with
   floor(P(L) * N_b) >= 1, where N_b = floor(n * 2/3), floor(n / 3), 1 for easy, medium,
   hard (5 / 2 / 1 at n = 8): an easy prompt should still get one correct answer within
   L_T out of the 5 correct answers it usually has. A bucket for which no L qualifies gets
   no target (``None``): the reward then uses the longest response of the batch, so every
   correct response earns the bonus (the official fallback, ``max_response_length``).

The controller is state (the last coverage tables and targets) that survives checkpoint /
resume (``state_dict`` / ``load_state_dict``). It is updated by the local engine through
``on_step_start(engine, step)`` with the paper's monitor rollouts (``source="monitor"``),
or, where no such hook exists (verl's trainer), from the training batch itself
(``source="training_batch"``, see `r1repro_laser.reward.LaserD`), which is what the
official code's commented-out "online monitor" computed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

BUCKETS = ("easy", "medium", "hard")
"""Difficulty buckets, from the group accuracy (official names: high / medium / low)."""

EASY_MIN_ACCURACY = 2 / 3
MEDIUM_MIN_ACCURACY = 1 / 3
EXPECTED_CORRECT = 1
"""The rule asks for at least one expected correct response within L_T (``expected_n_correct``)."""


def bucket_of(accuracy: float) -> str:
    """The difficulty bucket of a prompt whose rollouts are right with this frequency."""
    if accuracy >= EASY_MIN_ACCURACY:
        return "easy"
    if accuracy >= MEDIUM_MIN_ACCURACY:
        return "medium"
    return "hard"


def bucket_sizes(n_rollout: int, rounding: str = "floor") -> dict[str, int]:
    """N_b: how many correct responses a prompt of each bucket is assumed to have (5/2/1 at n=8)."""
    if rounding == "floor":
        return {"easy": int(n_rollout * 2 / 3), "medium": int(n_rollout * 1 / 3), "hard": 1}
    if rounding == "ceil":
        return {"easy": math.ceil(n_rollout * 2 / 3), "medium": math.ceil(n_rollout * 1 / 3), "hard": 1}
    raise ValueError(f"rounding must be 'floor' or 'ceil', got {rounding!r}")


def length_grid(lower: int, upper: int, interval: int) -> list[int]:
    """Candidate target lengths (``get_length_threshold`` of the official code).

    ``range(lower, upper + interval, interval)``; a lower bound below one interval is
    followed by the multiples of the interval (official: ``[512, 1024, 2048, ...]``).
    Paper scale: lower = 1024 / 2048 / 4096 (the "L" of a run's name), upper = 16384,
    interval = 1024. CPU scale scales all three down to the tiny response budget.
    """
    if lower <= 0 or interval <= 0 or upper < lower:
        raise ValueError(f"need 0 < lower <= upper and interval > 0, got {lower}, {upper}, {interval}")
    if lower < interval:
        return [lower] + list(range(interval, upper + interval, interval))
    return list(range(lower, upper + interval, interval))


def coverage(lengths: Sequence[float], grid: Sequence[int]) -> dict[int, float]:
    """P(L): the fraction of ``lengths`` that are <= L, for each L of the grid (0.0 when empty)."""
    total = len(lengths)
    return {int(L): (sum(1 for x in lengths if x <= L) / total if total else 0.0) for L in grid}


def choose_target(cover: Mapping[int, float], n_bucket: int, rounding: str = "floor",
                  expected_correct: int = EXPECTED_CORRECT) -> int | None:  # fmt: skip
    """The smallest L with floor(P(L) * N_b) >= expected_correct, or None when none qualifies."""
    for L in sorted(cover):
        expected = cover[L] * n_bucket
        if rounding == "floor":
            expected = int(expected)
        if expected >= expected_correct:
            return int(L)
    return None


def group_buckets(groups: Sequence[tuple[Sequence[bool], Sequence[float]]]) -> dict[str, list[float]]:
    """Response lengths pooled per bucket from ``(correct flags, lengths)`` of each prompt."""
    pooled: dict[str, list[float]] = {b: [] for b in BUCKETS}
    for flags, lengths in groups:
        if not flags:
            continue
        pooled[bucket_of(sum(bool(f) for f in flags) / len(flags))].extend(float(x) for x in lengths)
    return pooled


class TargetLengthController:
    """State of LASER-D's adaptive targets; see the module docstring for the rule.

    Options: ``lower`` / ``upper`` / ``interval`` (the L grid, in tokens), ``every`` (steps
    between updates; 20 in the official scripts), ``n_rollout`` (monitor rollouts per
    prompt; 8), ``monitor_size`` (prompts in the monitor set; 500), ``monitor_seed``,
    ``rounding`` ("floor", the official default), ``initial_target`` (used until the first
    update, official ``target_length``; None = no target), ``source`` ("monitor" or
    ``"training_batch"``).
    """

    name = "laser.controller"

    def __init__(self, lower: int = 4096, upper: int = 16384, interval: int = 1024, every: int = 20,
                 n_rollout: int = 8, monitor_size: int = 500, monitor_seed: int = 0, rounding: str = "floor",
                 initial_target: int | None = None, source: str = "monitor",
                 correctness: Callable[[list[Any]], list[bool]] | None = None) -> None:  # fmt: skip
        if source not in ("monitor", "training_batch"):
            raise ValueError(f"source must be 'monitor' or 'training_batch', got {source!r}")
        self.grid = length_grid(int(lower), int(upper), int(interval))
        self.every, self.n_rollout, self.rounding = max(1, int(every)), int(n_rollout), rounding
        self.monitor_size, self.monitor_seed, self.source = int(monitor_size), int(monitor_seed), source
        self.sizes = bucket_sizes(self.n_rollout, rounding)
        self.correctness = correctness
        init = None if initial_target is None else int(initial_target)
        self.targets: dict[str, int | None] = {b: init for b in BUCKETS}
        self.coverage: dict[str, dict[int, float]] = {}
        self.counts: dict[str, int] = {b: 0 for b in BUCKETS}
        self.last_update: int | None = None
        self.updates = 0
        self._monitor_rows: list[Any] | None = None

    # ------------------------------------------------------------------ the rule
    def update(
        self, groups: Sequence[tuple[Sequence[bool], Sequence[float]]], step: int
    ) -> dict[str, int | None]:
        """New targets from the rollouts of a monitor pass: ``(correct flags, lengths)`` per prompt."""
        pooled = group_buckets(groups)
        self.coverage = {b: coverage(pooled[b], self.grid) for b in BUCKETS}
        self.counts = {b: len(pooled[b]) for b in BUCKETS}
        self.targets = {b: choose_target(self.coverage[b], self.sizes[b], self.rounding) for b in BUCKETS}
        self.last_update, self.updates = int(step), self.updates + 1
        return dict(self.targets)

    def target(self, bucket: str) -> int | None:
        return self.targets.get(bucket)

    def due(self, step: int) -> bool:
        """Before the first step, then after every ``every`` steps (steps count from 1)."""
        return (step - 1) % self.every == 0 and self.last_update != step

    # ------------------------------------------------------------------ engine hooks
    def monitor_rows(self, engine) -> list[Any]:
        if self._monitor_rows is None:
            rows = list(engine.train_rows)
            random.Random(self.monitor_seed).shuffle(rows)
            self._monitor_rows = rows[: self.monitor_size]
        return self._monitor_rows

    def on_step_start(self, engine, step: int) -> None:
        if self.source != "monitor" or not self.due(step):
            return
        from r1repro.components import group_indices

        _, samples = engine.generate_samples(self.monitor_rows(engine), self.n_rollout, step=2_000_000 + step)
        flags = self.correctness(samples) if self.correctness is not None else [False] * len(samples)
        groups = [([flags[i] for i in idx], [samples[i].length for i in idx])
                  for idx in group_indices(samples).values()]  # fmt: skip
        self.update(groups, step)

    def on_step_end(self, engine, step: int, metrics: dict[str, float]) -> dict[str, float]:
        return self.metrics()

    def metrics(self) -> dict[str, float]:
        """``laser/target_<bucket>`` (buckets without a target are left out) and monitor counts."""
        out: dict[str, float] = {}
        for b in BUCKETS:
            if self.targets.get(b) is not None:
                out[f"laser/target_{b}"] = float(self.targets[b])
            out[f"laser/monitor_responses_{b}"] = float(self.counts.get(b, 0))
        return out

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {
            "targets": dict(self.targets),
            "coverage": {b: {int(k): float(v) for k, v in c.items()} for b, c in self.coverage.items()},
            "counts": dict(self.counts),
            "last_update": self.last_update,
            "updates": self.updates,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.targets = {
            b: (None if state["targets"].get(b) is None else int(state["targets"][b])) for b in BUCKETS
        }
        self.coverage = {
            b: {int(k): float(v) for k, v in c.items()} for b, c in state.get("coverage", {}).items()
        }
        self.counts = {b: int(state.get("counts", {}).get(b, 0)) for b in BUCKETS}
        self.last_update = state.get("last_update")
        self.updates = int(state.get("updates", 0))
