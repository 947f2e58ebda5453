"""The data that flows between components.

Everything here is plain data (dataclasses of builtins), cheap to import and easy to
serialise: a `Row` is one dataset item, a `Trajectory` is one rollout of it as the engine
sees it (token ids and loss mask), and a `Sample` is the same rollout as a reward sees it
(text plus the facts a reward may need). `RewardResult` is what a reward returns.

The same `Sample` is built by the local engine (from a `Trajectory`) and by the verl
bridge (from a verl `DataProto` row), so a reward behaves the same at both scales.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

Message = dict[str, Any]
"""A chat message: {"role": "system" | "user" | "assistant" | "tool", "content": str}."""


@dataclass
class Row:
    """One dataset item, in the one schema every dataset produces.

    `problem` is the raw question; a `Template` turns it into `prompt` (chat messages).
    Keeping the two apart lets a reproduction vary the template (pPE) and lets an LLM
    verifier see the bare question (TinyV, General-Reasoner).

    Maps 1:1 onto verl's parquet schema (see `r1repro.verl_bridge.export`):
    data_source -> data_source, prompt -> prompt, domain -> ability,
    ground_truth -> reward_model.ground_truth, everything else -> extra_info.
    """

    id: str
    problem: str
    ground_truth: Any
    data_source: str
    domain: str = "general"
    extra: dict[str, Any] = field(default_factory=dict)
    prompt: list[Message] | None = None
    images: list[Any] | None = None
    videos: list[Any] | None = None

    REQUIRED = ("id", "problem", "ground_truth", "data_source", "domain", "extra")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Sample:
    """One response to score, with everything a reward may look at.

    Group-aware rewards (NOVER ranks, DISCO self-consistency, LASER-D difficulty, Pixel
    Reasoner's curiosity rate) find the other rollouts of the same prompt through
    `group_id`; multi-turn rewards see `num_turns`, `tool_calls` and `tool_failures`;
    multimodal rewards see `images`. `meta` carries rollout facts a plugin adds (the forced
    thinking mode in HGPO, the thought template in TAPO, ...).
    """

    response: str
    ground_truth: Any = None
    problem: str = ""
    data_source: str = ""
    domain: str = "general"
    group_id: str = ""
    uid: str = ""
    prompt: list[Message] | str | None = None
    prompt_ids: list[int] | None = None
    response_ids: list[int] | None = None
    response_length: int | None = None
    num_turns: int = 1
    tool_calls: int = 0
    tool_failures: int = 0
    truncated: bool = False
    images: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.response_length is None and self.response_ids is not None:
            self.response_length = len(self.response_ids)

    @property
    def length(self) -> int:
        """Response length in tokens when known, else in characters."""
        return self.response_length if self.response_length is not None else len(self.response)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Sample:
        """Build from a JSON object; unknown keys go to `extra` so nothing is lost."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        unknown = {k: v for k, v in d.items() if k not in known}
        if unknown:
            kwargs["extra"] = {**unknown, **dict(kwargs.get("extra") or {})}
        if "response" not in kwargs:
            raise ValueError("a sample needs a 'response' field")
        return cls(**kwargs)


@dataclass
class RewardResult:
    """A reward's verdict on one sample.

    `score` is the scalar reward; verl's convention puts it on the last response token.
    `info` holds named components that are logged (accuracy, format, length penalty...).
    `token_rewards` optionally places extra rewards on response-token offsets (dense
    rewards such as StepSearch's per-search step rewards); offsets count response tokens.
    """

    score: float
    info: dict[str, Any] = field(default_factory=dict)
    token_rewards: list[tuple[int, float]] | None = None

    def __post_init__(self) -> None:
        self.score = float(self.score)

    @property
    def finite(self) -> bool:
        return math.isfinite(self.score)


@dataclass
class ParsedResponse:
    """What a template reads back out of a response."""

    answer: str | None
    think: str | None = None
    format_ok: bool = False
    parts: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    """What an environment returns after one policy turn (see `Environment.step`)."""

    observation: str | None = None
    done: bool = False
    tool_call: bool = False
    tool_failed: bool = False
    step_reward: float | None = None
    images: list[Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trajectory:
    """One rollout as the engine trains on it.

    `response_ids` is everything after the prompt: the policy's tokens and, in multi-turn
    rollouts, the observation tokens an environment inserted. `loss_mask` is 1 on tokens
    the policy generated (they get gradient) and 0 on inserted tokens (observations, TAPO's
    injected action text). `spans` records (start, end, kind) of each segment.
    """

    row: Row
    group_id: str
    prompt_ids: list[int]
    response_ids: list[int]
    loss_mask: list[int]
    response_text: str
    num_turns: int = 1
    tool_calls: int = 0
    tool_failures: int = 0
    truncated: bool = False
    images: list[Any] | None = None
    spans: list[tuple[int, int, str]] = field(default_factory=list)
    step_rewards: list[tuple[int, float]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_sample(self, uid: str = "") -> Sample:
        r = self.row
        return Sample(
            response=self.response_text,
            ground_truth=r.ground_truth,
            problem=r.problem,
            data_source=r.data_source,
            domain=r.domain,
            group_id=self.group_id,
            uid=uid,
            prompt=r.prompt,
            prompt_ids=self.prompt_ids,
            response_ids=self.response_ids,
            response_length=int(sum(self.loss_mask)),
            num_turns=self.num_turns,
            tool_calls=self.tool_calls,
            tool_failures=self.tool_failures,
            truncated=self.truncated,
            images=self.images or r.images,
            extra=r.extra,
            meta=self.meta,
        )
