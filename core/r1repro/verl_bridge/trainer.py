"""``r1repro_sync``: verl's synchronous v1 trainer plus what group-aware papers need.

Select it with ``trainer.use_v1=true trainer.v1.trainer_mode=r1repro_sync``. It differs from
verl's ``sync`` trainer in one method, ``_compute_advantage``, and only when the run needs
it (a group-aware reward, or an estimator declared with ``side_info=True``):

1. it also reads each sample's ``extra_fields`` (verl's ``reward_extra_info``: the
   per-sample results of `r1repro.verl_bridge.reward.compute_score`), its data source and
   its decoded response;
2. it runs the reward's **group stage** (``Reward.combine``) on every uid group and writes the
   new scores back into ``rm_scores`` (on the last response token, as verl does);
3. it calls the estimator with ``side_info`` (see `r1repro.algos`);
4. it adds step rewards into ``rm_scores`` on the tokens that earned them (`dense_rewards`: a
   dense reward's ``r1repro_token_rewards`` and an environment's ``r1repro_step_rewards``, both
   recorded through `r1repro.verl_bridge.agent_loop.EnvironmentAgentLoop`), before KL-in-reward
   and GAE, so a critic credits each step as in the local engine. Without step rewards, and
   without 1-3, verl's own method runs unchanged.

Everything else follows verl's own method step for step: KL in reward, rollout correction
(IS weights, rejection sampling and the ``rollout_corr/*`` metrics, computed whenever verl
computes them: the section is set, rollout log-probs exist and bypass mode is off; verl 0.9.1
always fills the section, so refusing it would stop every run at step 1), and the nested
write-back to TransferQueue.

What is tested on CPU: `group_stage` and `side_info` (pure functions on samples and results),
the registration, that the base method still has the shape this override mirrors
(`base_method_fingerprint`), and the whole method inside a real verl run
(tests/test_verl_e2e.py, with the CPU harness of tests/verl_cpu).
"""

from __future__ import annotations

import hashlib
import inspect
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from r1repro.types import RewardResult, Sample

TRAINER_NAME = "r1repro_sync"
BASE_FIELDS = [
    "uid",
    "response_mask",
    "rm_scores",
    "rollout_log_probs",
    "old_log_probs",
    "ref_log_prob",
    "values",
]


def group_stage(reward, samples: Sequence[Sample], results: Sequence[RewardResult]) -> list[RewardResult]:
    """The reward's group stage on per-sample results (identity for per-sample rewards)."""
    if not getattr(reward, "group_aware", False):
        return list(results)
    try:
        return [reward.coerce(r) for r in reward.combine(list(samples), list(results))]
    except Exception as exc:  # noqa: BLE001 - never crash the trainer on a reward bug
        return [reward._fail(exc) for _ in samples]


def results_from_extra(
    extra_infos: Sequence[dict[str, Any] | None], scores: Sequence[float]
) -> list[RewardResult]:
    """Per-sample results as `compute_score` returned them (verl keeps them in reward_extra_info)."""
    out = []
    for info, score in zip(extra_infos, scores):
        info = dict(info or {})
        s = info.pop("score", score)
        acc = info.pop("acc", None)
        clean = {k: v for k, v in info.items() if not (isinstance(v, float) and math.isnan(v))}
        if acc is not None:
            clean.setdefault("correct", bool(acc))
        out.append(RewardResult(float(s), clean))
    return out


def dense_rewards(extras: Sequence[Any], lengths: Sequence[int], width: int):
    """Step rewards to add to verl's token-level scores, or None when no sample has any.

    Two sources per sample (see `r1repro.verl_bridge.agent_loop.EnvironmentAgentLoop`): a dense
    reward's ``r1repro_token_rewards`` (JSON pairs in its ``reward_extra_info``) and the
    environment's ``r1repro_step_rewards`` (an agent-loop extra field). Offsets count response
    tokens; an offset past the sample's (possibly cut) response is dropped."""
    import json

    import torch

    from r1repro.verl_bridge.reward import STEP_REWARDS_KEY, TOKEN_REWARDS_KEY

    out = torch.zeros(len(lengths), width)
    found = False
    for i, e in enumerate(extras):
        e = e if isinstance(e, dict) else {}
        pairs = list(e.get(STEP_REWARDS_KEY) or [])
        raw = (e.get("reward_extra_info") or {}).get(TOKEN_REWARDS_KEY)
        if isinstance(raw, str):
            try:
                pairs += json.loads(raw)
            except ValueError:
                pass
        for pair in pairs:
            try:
                off, val = int(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                continue
            if 0 <= off < min(int(lengths[i]), width) and math.isfinite(val):
                out[i, off] += val
                found = True
    return out if found else None


def reward_info_metrics(results: Sequence[RewardResult], prefix: str = "reward/") -> dict[str, float]:
    """Batch means of the reward's numeric and boolean info keys (after its group stage), so
    they reach verl's training metrics; verl itself logs them for validation only."""
    sums: dict[str, list[float]] = {}
    for r in results:
        for key, value in (r.info or {}).items():
            if isinstance(value, bool | int | float) and not (isinstance(value, float) and math.isnan(value)):
                sums.setdefault(key, []).append(float(value))
    return {f"{prefix}{k}/mean": float(np.mean(v)) for k, v in sorted(sums.items())}


def base_method_fingerprint() -> str:
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    src = inspect.getsource(PPOTrainer._compute_advantage)
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def _configured_reward(config):
    from r1repro.verl_bridge.reward import _reward, _spec_json

    fn = config.reward.get("custom_reward_function") or {}
    if not str(fn.get("path") or "").endswith("r1repro.verl_bridge.reward"):
        return None
    spec = (fn.get("reward_kwargs") or {}).get("reward")
    return _reward(_spec_json(spec)) if spec is not None else None


def rollout_correction_active(algorithm, batch_keys) -> bool:
    """verl's own condition (``PPOTrainer._compute_advantage`` step 2): the section is set,
    the batch has rollout log-probs, and bypass mode (the actor computes it) is off."""
    corr = algorithm.get("rollout_correction", None)
    bypass = bool(corr and corr.get("bypass_mode", False))
    return corr is not None and "rollout_log_probs" in batch_keys and not bypass


def _apply_rollout_correction(algorithm, proto, metrics: dict) -> bool:
    """Rollout correction on the padded batch, exactly where verl's method computes it."""
    if not rollout_correction_active(algorithm, proto.batch.keys()):
        return False
    from verl.trainer.ppo.rollout_corr_helper import compute_rollout_correction_and_add_to_batch

    corrected, corr_metrics = compute_rollout_correction_and_add_to_batch(
        proto, algorithm["rollout_correction"]
    )
    proto.batch.update(corrected.batch)
    metrics.update(corr_metrics)
    return True


def register_trainer() -> type:
    """Define and register the trainer class (imports verl's v1 trainer)."""
    from verl.trainer.ppo.v1 import trainer_base as tb
    from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

    if TRAINER_NAME in tb.TRAINER_REGISTRY:
        return tb.TRAINER_REGISTRY[TRAINER_NAME]

    @tb.register_trainer(TRAINER_NAME)
    class R1ReproTrainerSync(PPOTrainerSync):
        """verl's sync trainer + r1repro's group stage and estimator side information."""

        # verl branches on ``trainer_mode == "sync"`` (replay buffer, TransferQueue
        # checkpointing, prompt re-issue, ``trainer.v1.sync`` options); registered under another
        # name, this trainer would silently take the asynchronous paths. It is the sync trainer.
        @property
        def trainer_mode(self) -> str:
            return "sync"

        @trainer_mode.setter
        def trainer_mode(self, value: str) -> None:
            pass

        def _r1repro_needs(self) -> tuple[Any, bool]:
            from r1repro import algos

            reward = _configured_reward(self.config)
            group = bool(reward is not None and reward.group_aware)
            name = self.config.algorithm.adv_estimator
            side = name not in algos.VERL_HARDWIRED and algos.wants_side_info(algos.get_estimator(name))
            return (reward if group else None), side

        def _reward_info_only(self, batch, metrics):
            """Reward info metrics, and step rewards added into rm_scores (then verl's own method)."""
            import transfer_queue as tq
            from tensordict import TensorDict
            from verl.workers.utils.padding import response_to_nested

            data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id,
                                   select_fields=["extra_fields", "rm_scores", "response_mask"])  # fmt: skip
            if "extra_fields" not in data.keys():
                return
            extra = list(data["extra_fields"])
            infos = [(e or {}).get("reward_extra_info", {}) if isinstance(e, dict) else {} for e in extra]
            metrics.update(reward_info_metrics(results_from_extra(infos, [0.0] * len(infos))))
            response_mask = data["response_mask"]
            scores = data["rm_scores"].to_padded_tensor(padding=0.0)
            dense = dense_rewards(extra, response_mask.to_padded_tensor(padding=0).sum(-1).tolist(), scores.shape[-1])
            if dense is not None:
                metrics["reward/step_rewards_sum/mean"] = float(dense.sum(-1).mean())
                new = scores + dense.to(scores.dtype)
                tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id,
                                fields=TensorDict({"rm_scores": response_to_nested(new, response_mask)},
                                                  batch_size=len(batch)))  # fmt: skip

        def _compute_advantage(self, batch, metrics):
            reward, side = self._r1repro_needs()
            if reward is None and not side:
                self._reward_info_only(batch, metrics)
                return super()._compute_advantage(batch, metrics)
            import torch
            import transfer_queue as tq
            from tensordict import TensorDict
            from verl.protocol import DataProto
            from verl.trainer.ppo.ray_trainer import apply_kl_penalty
            from verl.workers.utils.padding import response_to_nested

            from r1repro import algos
            from r1repro.engine.local import side_information

            fields = [*BASE_FIELDS, "extra_fields", "data_source", "responses"]
            data = tq.kv_batch_get(keys=batch.keys, partition_id=batch.partition_id, select_fields=fields)
            response_mask = data["response_mask"]
            extra = list(data["extra_fields"]) if "extra_fields" in data.keys() else [{} for _ in batch.keys]
            sources = list(data["data_source"]) if "data_source" in data.keys() else [""] * len(batch.keys)
            responses = data["responses"].to_padded_tensor(padding=self.tokenizer.pad_token_id)
            proto = DataProto(batch=data.to_padded_tensor())
            uids = [str(u) for u in proto.batch.pop("uid").tolist()]
            proto.non_tensor_batch["uid"] = np.array(uids, dtype=object)
            mask = proto.batch["response_mask"]
            lengths = mask.sum(-1).long()
            scores = proto.batch["rm_scores"].sum(-1).tolist()
            infos = [(e or {}).get("reward_extra_info", {}) if isinstance(e, dict) else {} for e in extra]
            results = results_from_extra(infos, scores)
            samples = [
                Sample(response=self.tokenizer.decode(responses[i, : int(lengths[i])], skip_special_tokens=True),
                       data_source=str(sources[i]), group_id=uids[i], response_length=int(lengths[i]))
                for i in range(len(uids))
            ]  # fmt: skip
            if reward is not None:
                results = group_stage(reward, samples, results)
                new = torch.zeros_like(proto.batch["rm_scores"])
                last = (lengths - 1).clamp(min=0)
                new[torch.arange(len(uids)), last] = torch.tensor([r.score for r in results], dtype=new.dtype)
                proto.batch["rm_scores"] = new
                tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id,
                                fields=TensorDict({"rm_scores": response_to_nested(new, response_mask)},
                                                  batch_size=len(batch)))  # fmt: skip
            metrics.update(reward_info_metrics(results))
            dense = dense_rewards(extra, lengths.tolist(), proto.batch["rm_scores"].shape[-1])
            if dense is not None:  # step rewards on their tokens (after the group stage's last-token score)
                metrics["reward/step_rewards_sum/mean"] = float(dense.sum(-1).mean())
                proto.batch["rm_scores"] = proto.batch["rm_scores"] + dense.to(proto.batch["rm_scores"].dtype)
                tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id,
                                fields=TensorDict({"rm_scores": response_to_nested(proto.batch["rm_scores"],
                                                                                   response_mask)},
                                                  batch_size=len(batch)))  # fmt: skip
            proto.batch["token_level_scores"] = proto.batch["rm_scores"]
            if self.config.algorithm.use_kl_in_reward:
                proto, kl_metrics = apply_kl_penalty(
                    proto, kl_ctrl=self.kl_ctrl_in_reward, kl_penalty=self.config.algorithm.kl_penalty
                )
                metrics.update(kl_metrics)
            else:
                proto.batch["token_level_rewards"] = proto.batch["token_level_scores"]
            corrected = _apply_rollout_correction(self.config.algorithm, proto, metrics)
            mask = proto.batch["response_mask"]
            adv, ret = algos.compute_advantage(
                self.config.algorithm.adv_estimator, proto.batch["token_level_rewards"], mask,
                proto.non_tensor_batch["uid"], self.config.algorithm, side_information(samples, results),
                dict(self.config.get("r1repro", {}).get("estimator_options", {}) or {}),
            )  # fmt: skip
            out = {"advantages": response_to_nested(adv, response_mask),
                   "returns": response_to_nested(ret, response_mask)}  # fmt: skip
            if self.config.algorithm.use_kl_in_reward:
                out["token_level_rewards"] = response_to_nested(
                    proto.batch["token_level_rewards"], response_mask
                )
            if corrected:  # as verl: rejection sampling may have masked tokens; IS weights
                for key in ("response_mask", "rollout_is_weights"):
                    if key in proto.batch:
                        out[key] = response_to_nested(proto.batch[key], response_mask)
            return tq.kv_batch_put(keys=batch.keys, partition_id=batch.partition_id,
                                   fields=TensorDict(out, batch_size=len(batch)))  # fmt: skip

    return R1ReproTrainerSync
