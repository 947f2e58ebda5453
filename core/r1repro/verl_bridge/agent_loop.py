"""Run an r1repro `RolloutStrategy` inside verl: the shared part of the plugins' agent loops.

verl 0.9.1 generates every sample of a batch in its own agent loop (``AgentLoopBase.run``),
instantiated from ``actor_rollout_ref.rollout.agent.agent_loop_config_path`` by ``_target_``,
so Ray workers need no import-time registration. A paper preset selects its loop with

    verl:
      agent_loop: {_target_: r1repro_hgpo.agent_loop.ModeForcedAgentLoop, strategy: hgpo.mode_forced}

and `agent_loop_config` writes the file verl reads (``strategy`` is the same component spec the
local engine builds; the preset's ``template`` comes along, for its ``response_prefix``).

`StrategyAgentLoop` gives a subclass what the strategies need and verl does not hand over:
the strategy and template objects (built once per process from the registry), the sample's
`Row`, its position within its group (verl runs the n samples of a prompt as n independent
calls; `group_slot` numbers them in arrival order per prompt uid), whether it is a validation
sample, token-level generation with optional stop strings, and the output record. Tokens the
policy did not sample (forced tags, instructions) carry rollout log-prob 0: the behaviour
policy emitted them with probability 1.

This module imports verl at import time: only agent-loop modules (loaded in verl's workers)
import it.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput

from r1repro.types import Row
from r1repro.verl_bridge.agent_loop_config import CONFIG_NAME  # noqa: F401 - re-exported

_slots: dict[str, int] = {}
_slots_lock = threading.Lock()


@functools.lru_cache(maxsize=16)
def _build(kind: str, spec_json: str):
    from r1repro.registry import get_registry

    return get_registry().build(kind, json.loads(spec_json))


def build_component(kind: str, spec: Any):
    """A registry component from a spec (name, or mapping with ``name``), cached per process."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(spec):
        spec = OmegaConf.to_container(spec, resolve=True)
    return _build(kind, json.dumps(spec, sort_keys=True))


def group_slot(key: str, n: int) -> int:
    """Position of this call among the n samples of its prompt (0..n-1, arrival order).

    The counter is per process: verl's agent-loop worker gets whole groups when
    ``train_batch_size * n`` is a multiple of ``agent.num_workers`` chunks of n (the CPU test
    uses one worker)."""
    with _slots_lock:
        k = _slots.get(key, 0)
        _slots[key] = k + 1
        if k + 1 >= n:
            _slots.pop(key, None)
    return k % max(1, n)


def row_from_kwargs(kwargs: dict[str, Any]) -> Row:
    """The dataset `Row` back from verl's per-sample fields (see `r1repro.verl_bridge.export`)."""
    from r1repro.verl_bridge.export import decode_ground_truth

    extra_info = dict(kwargs.get("extra_info") or {})
    try:
        extra = json.loads(extra_info.get("r1repro") or "{}")
    except (TypeError, ValueError):
        extra = {}
    gt = (kwargs.get("reward_model") or {}).get("ground_truth")
    return Row(id=str(extra_info.get("id", "")), problem=str(extra_info.get("problem") or ""),
               ground_truth=decode_ground_truth(gt), data_source=str(kwargs.get("data_source") or ""),
               domain=str(extra_info.get("domain") or "general"), extra=extra)  # fmt: skip


class StrategyAgentLoop(AgentLoopBase):
    """An agent loop driven by an r1repro `RolloutStrategy` (see module doc)."""

    def __init__(self, *args, strategy: Any = None, template: Any = "core.boxed", **kwargs):
        super().__init__(*args, **kwargs)
        if strategy is None:
            raise ValueError(f"{type(self).__name__} needs 'strategy' (a rollout component spec)")
        self.strategy = build_component("rollout", strategy)
        self.template = build_component("template", template)
        self.prompt_length = self.rollout_config.prompt_length
        self.response_length = self.rollout_config.response_length

    # ------------------------------------------------------------------ per-sample facts
    @staticmethod
    def is_validation(kwargs: dict[str, Any]) -> bool:
        return str((kwargs.get("extra_info") or {}).get("split", "train")) != "train"

    def group_size(self, validation: bool) -> int:
        return int(self.rollout_config.val_kwargs.n if validation else self.rollout_config.n)

    def slot(self, kwargs: dict[str, Any], validation: bool) -> int:
        key = str(kwargs.get("uid", kwargs.get("index", "")))
        return group_slot(("val:" if validation else "train:") + key, self.group_size(validation))

    async def prompt_ids(self, kwargs: dict[str, Any]) -> list[int]:
        return list(await self.ct_build_initial_tokens(list(kwargs["raw_prompt"])))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False) if text else []

    # ------------------------------------------------------------------ generation
    async def generate(self, ids: list[int], sampling_params: dict[str, Any], max_tokens: int,
                       stop: list[str] | None = None):  # fmt: skip
        """The policy continues ``ids`` for at most ``max_tokens`` (stop strings kept in the output)."""
        from uuid import uuid4

        params = {**sampling_params, "max_tokens": max(1, int(max_tokens))}
        if stop:
            params.update(stop=list(stop), include_stop_str_in_output=True)
        out = await self.server_manager.generate(request_id=uuid4().hex, prompt_ids=list(ids),
                                                 sampling_params=params)  # fmt: skip
        self._note_server_fields(out.extra_fields or {})
        return out

    def _note_server_fields(self, fields: dict[str, Any]) -> None:
        """Keep the server's per-call fields verl's metrics need (weight versions seen by the
        sample: ``min_global_steps`` / ``max_global_steps``) across the sample's calls."""
        seen = getattr(self, "_server_fields", None)
        if seen is None:
            self._server_fields = dict(fields)
            return
        for key, pick in (("min_global_steps", min), ("max_global_steps", max)):
            values = [v for v in (seen.get(key), fields.get(key)) if v is not None]
            if values:
                seen[key] = pick(values)
        seen.update({k: v for k, v in fields.items() if k not in ("min_global_steps", "max_global_steps")})

    def ends_with_eos(self, tokens: list[int]) -> bool:
        return bool(tokens) and tokens[-1] == self.tokenizer.eos_token_id

    def output(self, prompt_ids: list[int], response: list[int], mask: list[int], logprobs: list[float],
               turns: int = 2, extra: dict[str, Any] | None = None) -> AgentLoopOutput:  # fmt: skip
        """verl's record, the response cut to ``response_length``."""
        cut = self.response_length
        out = AgentLoopOutput(prompt_ids=prompt_ids, response_ids=response[:cut], response_mask=mask[:cut],
                              response_logprobs=logprobs[:cut], num_turns=turns, metrics={},
                              extra_fields={**getattr(self, "_server_fields", {}), **(extra or {})})  # fmt: skip
        out.extra_fields.update({"turn_scores": [], "tool_rewards": []})
        return out


class EnvironmentAgentLoop(StrategyAgentLoop):
    """A registered r1repro `Environment` inside verl, with the paper's own action tags.

    The same episode as the local engine's ``core.multi_turn`` (`r1repro.engine.rollout.MultiTurn`):
    the policy writes until one of the environment's stop strings (``</search>``, ``</answer>``)
    or EOS; the turn's text goes to ``Environment.step``; the observation is appended with
    response_mask 0 (out of the loss and of GAE, as verl masks tool output) and cut to the
    environment's ``max_observation_tokens``; ``final_answer_turn`` gives one more tool-free
    turn, ``continue_after_eos`` lets the environment judge a turn that ended in EOS. verl's own
    tool agent loop speaks ``<tool_call>`` JSON instead, which is not what these papers trained.

    The turns go to the reward through ``extra_fields`` (verl merges them into the reward's
    ``extra_info``): ``r1repro_turns`` (the model's text, the observation and the position of the
    turn's last token, per turn) is the local engine's ``meta["turns"]``, so a reward that places
    step rewards (``RewardResult.token_rewards``) puts them on the same tokens at both scales;
    ``r1repro_step_rewards`` are the environment's own step rewards. The ``r1repro_sync``
    trainer adds both into verl's token-level scores. A preset selects it with::

        verl:
          agent_loop: {_target_: r1repro.verl_bridge.agent_loop.EnvironmentAgentLoop,
                       environment: {name: stepsearch.search, ...}}
    """

    def __init__(self, *args, environment: Any = None, strategy: Any = "core.multi_turn", **kwargs):
        super().__init__(*args, strategy=strategy, **kwargs)
        if environment is None:
            raise ValueError("EnvironmentAgentLoop needs 'environment' (an environment component spec)")
        self.env = build_component("environment", environment)

    def stop_reason(self, tokens: list[int], text: str, room: int) -> str:
        """eos / stop (a stop string was written) / length, as the local engine names them."""
        if self.ends_with_eos(tokens):
            return "eos"
        if any(s and s in text for s in getattr(self.env, "stop_strings", ()) or ()):
            return "stop"
        return "length" if len(tokens) >= room else "stop"

    async def run(self, sampling_params: dict[str, Any], **kwargs):
        import asyncio

        env = self.env
        row = row_from_kwargs(kwargs)
        prompt = await self.prompt_ids(kwargs)
        budget = self.response_length
        response: list[int] = []
        mask: list[int] = []
        logprobs: list[float] = []
        turns: list[dict[str, Any]] = []
        step_rewards: list[list[float]] = []
        tool_calls = tool_failures = 0
        truncated = False
        eos_ids = {self.tokenizer.eos_token_id}
        final = env.max_turns if getattr(env, "final_answer_turn", False) else None
        prefix = self.encode(getattr(self.template, "response_prefix", "") or "")
        state = await asyncio.to_thread(env.reset, row)
        try:
            for turn in range(env.max_turns + (final is not None)):
                if turn == 0 and prefix:  # forced, as the local engine forces it: log-prob 0
                    response += prefix[:budget]
                    mask += [1] * len(prefix[:budget])
                    logprobs += [0.0] * len(prefix[:budget])
                room = budget - len(response)
                if room <= 0:
                    truncated = True
                    break
                stops = list(getattr(env, "stop_strings", ()) or ())
                out = await self.generate(prompt + response, sampling_params, room, stops or None)
                toks = list(out.token_ids)[:room]
                lps = list(out.log_probs or [0.0] * len(toks))[: len(toks)]
                text = self.tokenizer.decode(toks, skip_special_tokens=True)
                why = self.stop_reason(toks, text, room)
                eos_goes_on = why == "eos" and getattr(env, "continue_after_eos", False) and turn != final
                while eos_goes_on and toks and toks[-1] in eos_ids:
                    toks, lps = toks[:-1], lps[:-1]
                response += toks
                mask += [1] * len(toks)
                logprobs += lps
                record = {"policy": self.tokenizer.decode(toks, skip_special_tokens=True), "observation": "",
                          "end": len(response) - 1}  # fmt: skip
                turns.append(record)
                if why == "length" or len(response) >= budget:
                    truncated = True
                    break
                if (why == "eos" and not eos_goes_on) or turn == final:
                    break
                step = await asyncio.to_thread(_safe_step, env, state, record["policy"])
                tool_calls += int(step.tool_call)
                tool_failures += int(step.tool_failed)
                if step.step_reward is not None:
                    step_rewards.append([len(response) - 1, float(step.step_reward)])
                if step.observation:
                    obs = self.encode(step.observation)[: env.max_observation_tokens][: budget - len(response)]
                    response += obs
                    mask += [0] * len(obs)
                    logprobs += [0.0] * len(obs)
                    record["observation"] = self.tokenizer.decode(obs, skip_special_tokens=True)
                if step.done:
                    break
        finally:
            await asyncio.to_thread(env.close, state)
        return self.output(prompt, response, mask, logprobs, turns=1 + len(turns), extra={
            "r1repro_turns": turns, "r1repro_step_rewards": step_rewards, "r1repro_tool_calls": tool_calls,
            "r1repro_tool_failures": tool_failures, "r1repro_truncated": truncated})  # fmt: skip


def _safe_step(env, state, text: str):
    """``env.step``; an exception becomes an error observation (a tool never crashes a rollout)."""
    from r1repro.types import StepResult

    try:
        return env.step(state, text)
    except Exception as exc:  # noqa: BLE001
        return StepResult(observation=f"\n<error>{type(exc).__name__}</error>\n", tool_call=True, tool_failed=True)
