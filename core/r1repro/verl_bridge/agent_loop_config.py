"""The agent-loop config file verl reads (``rollout.agent.agent_loop_config_path``).

Kept apart from `r1repro.verl_bridge.agent_loop` (which imports verl) so that a dry run can
write it without importing verl's agent-loop machinery.
"""

from __future__ import annotations

from typing import Any

CONFIG_NAME = "r1repro_agent"


def agent_loop_config(agent_loop: dict[str, Any], template: Any) -> list[dict[str, Any]]:
    """The agent-loop config list verl loads (one entry, named `CONFIG_NAME`)."""
    entry = {"name": CONFIG_NAME, **agent_loop}
    if "_target_" not in entry:
        raise ValueError("verl.agent_loop needs a '_target_' (the agent loop class's dotted path)")
    entry.setdefault("template", template)
    return [entry]
