"""The search tool as a verl ``BaseTool`` (paper scale; verl 0.9.1 no longer ships one).

verl's agent loop calls ``create`` / ``execute(parameters={"query": ...})`` / ``release``. The
tool wraps `SearchEnvironment.search`, so the observation is the official ``<information>``
block (top-3 documents), a retriever failure is returned as an observation (``tool_failed``
metric), and an instance can issue at most ``max_searches`` searches (the query-flood cap).
`write_tool_config` writes the YAML that ``actor_rollout_ref.rollout.multi_turn.tool_config_path``
names; the retriever is the official server's ``/retrieve`` (``retriever: {kind: http, url: ...}``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from r1repro.verl_bridge.tools import _base_tool

TOOL_NAME = "search"

SCHEMA = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "Search the corpus; returns the top documents inside <information> ... </information>.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "search keywords"}},
            "required": ["query"],
        },
    },
}


def write_tool_config(
    path: str | Path, retriever: dict[str, Any], topk: int = 3, max_searches: int = 8
) -> Path:
    """The verl tool-config YAML for `SearchTool` (one tool, native type)."""
    import yaml

    cfg = {"tools": [{"class_name": "r1repro_stepsearch.tool.SearchTool",
                      "config": {"type": "native", "retriever": dict(retriever), "topk": topk,
                                 "max_searches": max_searches},
                      "tool_schema": SCHEMA}]}  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


class SearchTool(_base_tool()):  # type: ignore[misc]
    """verl ``BaseTool``: ``search(query)`` -> the official information block."""

    def __init__(self, config: dict, tool_schema) -> None:
        from r1repro_stepsearch.env import SearchEnvironment

        super().__init__(config, tool_schema)
        self.env = SearchEnvironment(corpus=config.get("corpus"), retriever=config.get("retriever"),
                                     topk=int(config.get("topk", 3)),
                                     max_searches=int(config.get("max_searches", 8)))  # fmt: skip
        self.states: dict[str, dict[str, Any]] = {}

    async def create(self, instance_id: str | None = None, **kwargs):
        from verl.tools.schemas import ToolResponse

        instance_id = instance_id or str(uuid.uuid4())
        self.states[instance_id] = self.env.reset(None)
        return instance_id, ToolResponse()

    async def execute(self, instance_id: str, parameters: dict[str, Any], **kwargs):
        from verl.tools.schemas import ToolResponse

        query = parameters.get("query") if isinstance(parameters, dict) else None
        state = self.states.setdefault(instance_id, self.env.reset(None))
        if not isinstance(query, str) or not query.strip():
            return ToolResponse(text="search needs a non-empty 'query' string"), 0.0, {"tool_failed": 1.0}
        text, failed = self.env.search(state, query)
        return (
            ToolResponse(text=text),
            0.0,
            {"tool_failed": float(failed), "searches": float(state["searches"])},
        )

    async def release(self, instance_id: str, **kwargs) -> None:
        self.states.pop(instance_id, None)
