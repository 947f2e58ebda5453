"""The search environment of StepSearch / Search-R1 (search_r1/llm_agent/generation.py).

One policy turn ends at the first ``</search>`` or ``</answer>``; the turn is read with
``<(search|answer)>(.*?)</\\1>`` (first match):

* answer  -> the episode ends;
* search  -> the top-3 documents, ``\\n\\n<information> Doc 1<## Title: T ##> text ... </information>\\n\\n``;
* neither -> the official invalid-action ``<warning>``.

On the last of ``max_turns`` turns the observation also carries the official "answer now"
warning, and the rollout (``final_answer_turn = True``) gives the policy one more, search-free
generation. A retriever error becomes an observation (``tool_failed``), never an exception, and
an episode may issue at most ``max_searches`` searches with queries cut to ``max_query_chars``
(a query flood is capped; the cap is ours, the official loop is bounded by ``max_turns`` only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from r1repro.components import Environment
from r1repro.retrieval import Doc, RetrievalError, Retriever, build_retriever, docs_from_records
from r1repro.types import Row, StepResult
from r1repro_stepsearch.constants import (
    ACTION_PATTERN,
    DOC_FORMAT,
    FINAL_WARNING,
    INFORMATION_FORMAT,
    INVALID_ACTION_WARNING,
    MAX_TURNS,
    STOP_STRINGS,
    TOPK,
)

_ACTION = re.compile(ACTION_PATTERN, re.DOTALL)


def parse_action(text: str) -> tuple[str | None, str]:
    """(``"search"`` | ``"answer"`` | None, stripped content) of one policy turn."""
    m = _ACTION.search(text or "")
    return (m.group(1), m.group(2).strip()) if m else (None, "")


def render_docs(docs: list[Doc]) -> str:
    """The official passage string (``Doc i<## Title: T ##> text`` lines)."""
    return "".join(DOC_FORMAT.format(i=i + 1, title=d.title, content=d.text) for i, d in enumerate(docs))


def load_corpus(corpus: Any) -> list[Doc]:
    """``{"world_seed": s}`` (the CPU world), ``{"path": file.jsonl}`` or a list of records.

    Any mapping counts, not only a dict: built from an engine config, ``corpus`` is an OmegaConf
    ``DictConfig`` (read as a list of records, its keys would fail every search)."""
    if corpus is None:
        return []
    if isinstance(corpus, Mapping) and "world_seed" in corpus:
        from r1repro_stepsearch.data import make_world

        return make_world(int(corpus["world_seed"])).docs
    if isinstance(corpus, Mapping) and "path" in corpus:
        from pathlib import Path

        from r1repro.components import _read_records

        return docs_from_records(_read_records(Path(corpus["path"])))
    return docs_from_records(list(corpus))


class SearchEnvironment(Environment):
    """Search tool + answer action, with the official observations and warnings."""

    description = "StepSearch / Search-R1 search loop: <search> -> top-3 docs in <information>, <answer> ends"
    stop_strings = STOP_STRINGS
    final_answer_turn = True  # one search-free generation after the last turn (generation.py:287-313)
    continue_after_eos = True  # an EOS without an action gets the invalid-action warning (:54-65, 407-413)

    def __init__(self, corpus: Any = None, retriever: dict[str, Any] | None = None, topk: int = TOPK,
                 max_turns: int = MAX_TURNS, max_observation_tokens: int = 800, max_searches: int = 8,
                 max_query_chars: int = 256, name: str = "") -> None:  # fmt: skip
        self.name = name or "stepsearch.search"
        self.corpus, self.retriever_spec = corpus, retriever
        self.topk, self.max_turns, self.max_observation_tokens = topk, max_turns, max_observation_tokens
        self.max_searches, self.max_query_chars = max_searches, max_query_chars
        self._retriever: Retriever | None = None

    @property
    def retriever(self) -> Retriever:
        """Built on first use (a BM25 index over the CPU world when nothing else is configured)."""
        if self._retriever is None:
            spec = dict(self.retriever_spec or {"kind": "bm25"})
            corpus = self.corpus
            if corpus is None and spec.get("kind", "bm25") == "bm25":
                corpus = {"world_seed": 0}
            self._retriever = build_retriever(spec, load_corpus(corpus))
        return self._retriever

    def reset(self, row: Row) -> dict[str, Any]:
        return {"turn": 0, "searches": 0}

    def step(self, state: dict[str, Any], action: str) -> StepResult:
        state["turn"] += 1
        last = state["turn"] >= self.max_turns
        kind, content = parse_action(action)
        if kind == "answer":
            return StepResult(done=True, info={"action": "answer"})
        if kind != "search":
            return StepResult(observation=INVALID_ACTION_WARNING + (FINAL_WARNING if last else ""),
                              info={"action": "invalid"})  # fmt: skip
        obs, failed = self.search(state, content)
        return StepResult(observation=obs + (FINAL_WARNING if last else ""), tool_call=True, tool_failed=failed,
                          info={"action": "search", "query": content[: self.max_query_chars]})  # fmt: skip

    def search(self, state: dict[str, Any], query: str) -> tuple[str, bool]:
        """The observation of one search, and whether it failed (errors are observations)."""
        state["searches"] += 1
        if state["searches"] > self.max_searches:
            return INFORMATION_FORMAT.format(docs="search limit reached"), True
        try:
            docs = self.retriever.search([query[: self.max_query_chars]], self.topk)[0]
        except (RetrievalError, Exception) as exc:  # noqa: BLE001 - a tool answers, never crashes the rollout
            return INFORMATION_FORMAT.format(docs=f"search failed: {type(exc).__name__}"), True
        return INFORMATION_FORMAT.format(docs=render_docs(docs).strip()), False
