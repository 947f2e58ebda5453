"""Compose verl's hydra config from the *installed* verl's own config tree, and validate it.

``compose(overrides)`` is what ``python -m verl.trainer.main_ppo <overrides>`` would build
(same config folder, same ``ppo_trainer`` root). ``validate(cfg)`` runs verl's own
``validate_config`` and then instantiates every ``_target_`` section as verl does at start-up
(``omega_conf_to_dataclass``), which rejects unknown or mistyped keys. A config that passes
both is one verl accepts, checked on a CPU-only machine.

``preset_overrides(preset, ...)`` turns a reproduction's paper preset (``verl:`` section of
``reproductions/<paper>/scale/paper.yaml``) into hydra overrides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REWARD_FN_PATH = "pkg://r1repro.verl_bridge.reward"
# Sections verl turns into dataclasses at start-up (``omega_conf_to_dataclass``) that need no
# model download; ``actor_rollout_ref.model`` (HFModelConfig) would fetch the model config.
DATACLASS_SECTIONS = (
    "algorithm",
    "actor_rollout_ref.actor",
    "actor_rollout_ref.rollout",
    "actor_rollout_ref.rollout.checkpoint_engine",
)


class VerlConfigError(ValueError):
    pass


def verl_config_dir() -> Path:
    import verl

    return Path(verl.__file__).parent / "trainer" / "config"


def compose(overrides: Sequence[str], config_name: str = "ppo_trainer"):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(verl_config_dir()), version_base=None):
            return hydra_compose(config_name=config_name, overrides=list(overrides))
    except Exception as exc:  # noqa: BLE001 - hydra errors name the bad override
        raise VerlConfigError(f"verl's hydra config rejected the overrides: {exc}") from exc


def _select(cfg, dotted: str):
    node = cfg
    for part in dotted.split("."):
        if node is None or part not in node:
            return None
        node = node[part]
    return node


def validate(cfg) -> list[str]:
    """Validate like verl does at start-up; returns the sections instantiated as dataclasses."""
    import warnings

    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    _check_rollout_world(cfg)
    if need_critic(cfg) and "model" in (cfg.get("critic") or {}):
        # the critic's HFModelConfig fetches the model's config from the hub; its path is
        # checked when verl starts, the critic's own settings are checked here
        cfg.critic.model = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            validate_config(
                config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg)
            )
    except Exception as exc:  # noqa: BLE001
        raise VerlConfigError(f"verl's validate_config failed: {type(exc).__name__}: {exc}") from exc
    checked = []
    sections = list(DATACLASS_SECTIONS) + (["critic"] if need_critic(cfg) else [])
    for section in sections:
        node = _select(cfg, section)
        if node is None or not OmegaConf.is_dict(node) or "_target_" not in node:
            continue
        try:
            omega_conf_to_dataclass(node)
        except Exception as exc:  # noqa: BLE001
            raise VerlConfigError(f"verl's schema rejects '{section}': {exc}") from exc
        checked.append(section)
    return checked


def _check_rollout_world(cfg) -> None:
    """verl splits each node's GPUs into rollout replicas of TP x DP x PP GPUs; a GPU count the
    replica size does not divide fails only when the workers start ("rollout world_size ... not
    divisible"), after the models are loaded. Catch it here."""
    rollout = _select(cfg, "actor_rollout_ref.rollout")
    trainer = _select(cfg, "trainer")
    if rollout is None or trainer is None:
        return
    sizes = [rollout.get(k, 1) or 1 for k in ("tensor_model_parallel_size", "data_parallel_size",
                                              "pipeline_model_parallel_size")]  # fmt: skip
    replica = int(sizes[0]) * int(sizes[1]) * int(sizes[2])
    gpus = int(trainer.get("n_gpus_per_node", 1) or 1) * int(trainer.get("nnodes", 1) or 1)
    if gpus % replica:
        raise VerlConfigError(
            f"rollout replica size (tensor {sizes[0]} x data {sizes[1]} x pipeline {sizes[2]} = {replica}) "
            f"does not divide the {gpus} GPU(s) of trainer.n_gpus_per_node x trainer.nnodes; set "
            "actor_rollout_ref.rollout.tensor_model_parallel_size"
        )


_SIMPLE = re.compile(r"^[A-Za-z0-9_./:@+\-]*$")


def hydra_value(v: Any) -> str:
    """A Python value in hydra's override grammar."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        if v and _SIMPLE.match(v) and v not in ("null", "true", "false"):
            return v
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(v, Mapping):
        return "{" + ",".join(f"{k}:{hydra_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, Sequence):
        return "[" + ",".join(hydra_value(x) for x in v) + "]"
    return hydra_value(str(v))


def reward_overrides(reward_spec: Any) -> list[str]:
    """Use an r1repro reward as verl's custom reward function."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(reward_spec):
        reward_spec = OmegaConf.to_container(reward_spec, resolve=True)
    return [
        f"reward.custom_reward_function.path={REWARD_FN_PATH}",
        "reward.custom_reward_function.name=compute_score",
        f"+reward.custom_reward_function.reward_kwargs.reward={hydra_value(reward_spec)}",
    ]


def preset_overrides(preset: Mapping[str, Any], train_file: str, val_file: str | None) -> list[str]:
    """Hydra overrides for verl from a paper preset (model, files, reward, hardware, raw keys)."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(preset):
        preset = OmegaConf.to_container(preset, resolve=True)
    out = [
        f"data.train_files={hydra_value(train_file)}",
        f"data.val_files={hydra_value(val_file or train_file)}",
        f"actor_rollout_ref.model.path={hydra_value(preset['model'])}",
        f"actor_rollout_ref.rollout.name={hydra_value(preset.get('rollout', 'vllm'))}",
        f"trainer.n_gpus_per_node={int(preset.get('n_gpus_per_node', 8))}",
        f"trainer.nnodes={int(preset.get('nnodes', 1))}",
        f"trainer.project_name={hydra_value(preset.get('project_name', 'r1repro'))}",
        f"trainer.experiment_name={hydra_value(preset.get('experiment_name', 'r1repro'))}",
    ]
    if preset.get("reward") is not None:
        out += reward_overrides(preset["reward"])
    if preset.get("estimator_options"):
        out.append(f"+r1repro.estimator_options={hydra_value(preset['estimator_options'])}")
    for key, value in (preset.get("overrides") or {}).items():
        out.append(f"{key}={hydra_value(value)}")
    return out


def to_yaml(cfg) -> str:
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(cfg)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
