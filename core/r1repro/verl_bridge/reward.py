"""Any r1repro reward as verl's custom reward function.

In a verl config::

    reward.custom_reward_function.path=pkg://r1repro.verl_bridge.reward
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.reward=tinyv.addon        # or a JSON spec

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)``
once per response (verl 0.9.1 streams rewards per sample). The reward object is built once
per process and cached. The return value is ``{"score": float, "acc": bool-as-float, ...}``
with a *fixed* set of keys for a given reward (verl stacks ``reward_extra_info`` by the first
sample's keys): ``acc`` plus the reward's declared ``info_keys``, missing values as NaN.

Group-aware rewards get only their per-sample stage here; their group stage runs in the
``r1repro_sync`` trainer (`r1repro.verl_bridge.trainer`), which regroups by uid.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from r1repro.components import is_correct
from r1repro.textutil import clean_text
from r1repro.types import Sample
from r1repro.verl_bridge.export import decode_ground_truth

TURNS_KEY = "r1repro_turns"  # agent-loop extra field: [{"policy", "observation", "end"}] per turn
TOKEN_REWARDS_KEY = "r1repro_token_rewards"  # result key of a dense reward: JSON [[offset, value], ...]
STEP_REWARDS_KEY = "r1repro_step_rewards"  # agent-loop extra field: the environment's [[offset, value], ...]


@lru_cache(maxsize=32)
def _reward(spec_json: str):
    from r1repro.registry import build

    return build("reward", json.loads(spec_json))


def _spec_json(reward: Any) -> str:
    if isinstance(reward, str):
        s = reward.strip()
        return s if s.startswith("{") else json.dumps(s)
    if hasattr(reward, "items"):
        try:
            from omegaconf import OmegaConf

            if OmegaConf.is_config(reward):
                reward = OmegaConf.to_container(reward, resolve=True)
        except ImportError:
            pass
        return json.dumps(dict(reward), sort_keys=True)
    raise ValueError(f"reward_kwargs.reward must be a name or a spec mapping, got {reward!r}")


def sample_from_verl(
    data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None
) -> Sample:
    extra_info = dict(extra_info or {})
    row_extra = extra_info.get("r1repro")
    if isinstance(row_extra, str):
        try:
            row_extra = json.loads(row_extra)
        except json.JSONDecodeError:
            row_extra = {}
    meta = {k: extra_info[k] for k in ("num_turns", "uid") if k in extra_info}
    turns = extra_info.get(TURNS_KEY)  # from `EnvironmentAgentLoop`: the model's text per turn
    turns = turns.tolist() if hasattr(turns, "tolist") else turns
    if isinstance(turns, list | tuple):
        meta["turns"] = [dict(t) for t in turns if isinstance(t, dict)]
    return Sample(
        response=clean_text(solution_str),
        ground_truth=decode_ground_truth(ground_truth),
        problem=str(extra_info.get("problem", "")),
        data_source=str(data_source),
        domain=str(extra_info.get("domain", "general")),
        group_id=str(extra_info.get("uid", "")),
        num_turns=int(extra_info.get("num_turns") or 1),
        extra=row_extra or {},
        meta=meta,
    )


def to_verl_result(reward, res) -> dict[str, Any]:
    out: dict[str, Any] = {"score": float(res.score), "acc": float(is_correct(res))}
    if getattr(reward, "dense", False):  # a string: verl's metrics skip it, the trainer reads it
        pairs = [[int(o), float(v)] for o, v in (res.token_rewards or []) if math.isfinite(float(v))]
        out[TOKEN_REWARDS_KEY] = json.dumps(pairs)
    for key in getattr(reward, "info_keys", ()) or ():
        v = res.info.get(key, math.nan)
        try:
            out[key] = float(v)
        except (TypeError, ValueError):
            out[key] = math.nan
    return out


def compute_score(
    data_source, solution_str, ground_truth, extra_info=None, reward="core.exact_match", **_: Any
):
    """verl's per-sample reward contract, backed by any registered r1repro reward."""
    r = _reward(_spec_json(reward))
    from r1repro.components import admit_sample

    sample, why = admit_sample(sample_from_verl(data_source, solution_str, ground_truth, extra_info))
    try:
        if sample is None:  # checked and sanitised as `Reward.__call__` does
            raise ValueError(f"bad sample: {why}")
        (res,) = r.score_batch([sample])
        res = r.coerce(res)
    except Exception as exc:  # noqa: BLE001 - rewards never raise on model output
        res = r._fail(exc)
    return to_verl_result(r, res)


def compute_score_batch(
    data_sources, solution_strs, ground_truths, extra_infos, reward="core.exact_match", **_: Any
):
    """verl's batch-manager contract (lists in, list of dicts out); runs the group stage too."""
    r = _reward(_spec_json(reward))
    samples = [sample_from_verl(d, s, g, e) for d, s, g, e in zip(data_sources, solution_strs, ground_truths,
                                                                   extra_infos or [None] * len(solution_strs))]  # fmt: skip
    return [to_verl_result(r, res) for res in r(samples)]
