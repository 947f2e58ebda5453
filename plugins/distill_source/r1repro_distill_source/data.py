"""Loaders of the released distilled sets (arXiv 2505.14464): ``a-m-team/AM-Thinking-v1-Distilled``
and ``a-m-team/AM-Qwen3-Distilled``, as `r1repro.components.Dataset`s and as `DistillRow`s for
`r1repro_distill_source.stats`.

The hub is not reachable from CI: ``load`` raises `DatasetUnavailable` naming the hub id and the
local folders it looked in (set ``R1REPRO_DATA_DIR`` to a folder with ``<file>.jsonl``). Field
names are read tolerantly [unverified against the hub cards]: a chat ``messages`` list (user turn
= prompt, last assistant turn = response, an ``info`` dict on either turn) or flat fields
(``query`` / ``prompt`` / ``instruction``, ``response`` / ``output``); category from
``category`` / ``task`` / ``info.source``, verify score from ``verify_score``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from r1repro.components import Dataset
from r1repro.types import Row
from r1repro_distill_source.stats import DistillRow

PROMPT_KEYS = ("query", "prompt", "instruction", "question")
RESPONSE_KEYS = ("response", "output", "answer")
CATEGORY_KEYS = ("category", "task", "source")


def _first(record: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if record.get(k) not in (None, ""):
            return record[k]
    return None


def to_distill_row(record: dict[str, Any], teacher: str) -> DistillRow:
    """A hub record (chat or flat layout) as a `DistillRow`; ValueError naming the missing part."""
    info: dict[str, Any] = dict(record.get("info") or {})
    messages = record.get("messages") or record.get("conversations")
    if messages:
        users = [m for m in messages if m.get("role") in ("user", "human")]
        bots = [m for m in messages if m.get("role") in ("assistant", "gpt")]
        for m in (*users[-1:], *bots[-1:]):
            info.update(m.get("info") or {})
        prompt = users[-1].get("content") if users else None
        response = bots[-1].get("content") if bots else None
    else:
        prompt, response = _first(record, PROMPT_KEYS), _first(record, RESPONSE_KEYS)
    if not prompt or response is None:
        raise ValueError(f"record has no prompt/response in a known layout (keys: {sorted(record)[:8]})")
    category = _first(record, CATEGORY_KEYS) or _first(info, CATEGORY_KEYS) or "general"
    score = record.get("verify_score", info.get("verify_score"))
    return DistillRow(prompt=str(prompt), response=str(response), category=str(category), teacher=teacher,
                      verify_score=None if score is None else float(score), extra={"info": info})  # fmt: skip


class AMDistilled(Dataset):
    """A released AM distilled set; rows carry the final turn as ``ground_truth``-free SFT pairs."""

    teacher: ClassVar[str] = ""
    domain = "general"

    def __init__(self, name: str = "") -> None:
        self.name = name

    @property
    def local_files(self) -> dict[str, str]:  # type: ignore[override]
        stem = (self.hub_id or "").split("/")[-1]
        return {"train": f"{stem}.jsonl"}

    def distill_rows(self, limit: int | None = None, seed: int | None = None) -> list[DistillRow]:
        import random

        recs = self.records("train")
        if seed is not None:
            random.Random(seed).shuffle(recs)
        return [to_distill_row(r, self.teacher) for r in recs[:limit]]

    def to_row(self, record: dict[str, Any], index: int, split: str) -> Row:
        d = to_distill_row(record, self.teacher)
        return Row(id=f"{self.name}-{split}-{index}", problem=d.prompt, ground_truth=d.response,
                   data_source=self.hub_id or self.name, domain=d.category,
                   extra={"teacher": d.teacher, "verify_score": d.verify_score, "category": d.category})  # fmt: skip

    def fixture(self) -> list[Row]:
        recs = [
            {"messages": [{"role": "user", "content": "What is 2 + 3?"},
                          {"role": "assistant", "content": "<think>2 + 3 = 5</think><answer>5</answer>"}],
             "info": {"source": "math", "verify_score": 1.0}},
            {"query": "Say hi.", "response": "<think>greet</think><answer>hi</answer>", "category": "chat",
             "verify_score": 0.95},
        ]  # fmt: skip
        return [self.to_row(r, i, "fixture") for i, r in enumerate(recs)]


class AMThinkingDistilled(AMDistilled):
    description = "AM-Thinking-v1 distilled traces (arXiv 2505.14464), the paper's best teacher"
    hub_id = "a-m-team/AM-Thinking-v1-Distilled"
    teacher = "AM-Thinking-v1"


class AMQwen3Distilled(AMDistilled):
    description = "Qwen3-235B-A22B distilled traces (arXiv 2505.14464)"
    hub_id = "a-m-team/AM-Qwen3-Distilled"
    teacher = "Qwen3-235B-A22B"
