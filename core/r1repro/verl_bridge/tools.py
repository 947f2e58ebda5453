"""An r1repro `Environment` as a verl tool (paper-scale multi-turn rollouts).

verl's agent loop calls tools through ``BaseTool`` (``create`` / ``execute`` / ``calc_reward`` /
``release``) with OpenAI function-call parameters. `EnvironmentTool` exposes one function,
named after the environment, with a single string parameter ``action`` (the text the policy
wrote inside its tool call); ``execute`` forwards it to ``Environment.step`` and returns the
observation as the tool response, the step reward as the tool reward, and tool metrics.

`tool_config(env_name)` writes the YAML that ``actor_rollout_ref.rollout.multi_turn.tool_config_path``
points at. The dataset row reaches ``create`` through verl's ``tools_kwargs`` in ``extra_info``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from r1repro.types import Row


def _function_name(env_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", env_name)


def tool_schema(env_name: str, description: str = "") -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": _function_name(env_name),
            "description": description or f"r1repro environment {env_name}",
            "parameters": {
                "type": "object",
                "properties": {"action": {"type": "string", "description": "the text of the tool call"}},
                "required": ["action"],
            },
        },
    }


def tool_config(env_name: str, path: str | Path, options: dict[str, Any] | None = None) -> Path:
    import yaml

    cfg = {
        "tools": [
            {
                "class_name": "r1repro.verl_bridge.tools.EnvironmentTool",
                "config": {"type": "native", "environment": {"name": env_name, **(options or {})}},
                "tool_schema": tool_schema(env_name),
            }
        ]
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _base_tool():
    from verl.tools.base_tool import BaseTool

    return BaseTool


class EnvironmentTool(_base_tool()):  # type: ignore[misc]
    """verl ``BaseTool`` backed by a registered r1repro environment."""

    def __init__(self, config: dict, tool_schema) -> None:
        from r1repro.registry import build

        super().__init__(config, tool_schema)
        self.env = build("environment", config["environment"])
        self.states: dict[str, Any] = {}
        self.rewards: dict[str, float] = {}

    async def create(self, instance_id: str | None = None, **kwargs):
        from verl.tools.schemas import ToolResponse

        instance_id = instance_id or str(uuid.uuid4())
        row_dict = kwargs.get("create_kwargs", kwargs).get("row") or {}
        row = Row.from_dict(
            {"id": instance_id, "problem": "", "ground_truth": None, "data_source": "", **row_dict}
        )
        self.states[instance_id] = self.env.reset(row)
        self.rewards[instance_id] = 0.0
        return instance_id, ToolResponse()

    async def execute(self, instance_id: str, parameters: dict[str, Any], **kwargs):
        from verl.tools.schemas import ToolResponse

        action = parameters.get("action") if isinstance(parameters, dict) else None
        if not isinstance(action, str):
            action = str(parameters)
        try:
            step = self.env.step(self.states[instance_id], action)
        except Exception as exc:  # noqa: BLE001 - a tool must answer, not crash the rollout
            return ToolResponse(text=f"error: {type(exc).__name__}"), 0.0, {"tool_failed": 1.0}
        reward = float(step.step_reward or 0.0)
        self.rewards[instance_id] += reward
        metrics = {
            "tool_call": float(step.tool_call),
            "tool_failed": float(step.tool_failed),
            "done": float(step.done),
        }
        return ToolResponse(text=step.observation or ""), reward, metrics

    async def calc_reward(self, instance_id: str, **kwargs) -> float:
        return self.rewards.get(instance_id, 0.0)

    async def release(self, instance_id: str, **kwargs) -> None:
        state = self.states.pop(instance_id, None)
        self.rewards.pop(instance_id, None)
        if state is not None:
            self.env.close(state)
