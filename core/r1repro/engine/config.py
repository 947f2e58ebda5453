"""Configuration of the local engine, as structured dataclasses (hydra / OmegaConf).

Names follow verl's where the concept is the same (``adv_estimator``,
``norm_adv_by_std_in_grpo``, ``clip_ratio_low/high``, ``loss_agg_mode``, ``use_kl_loss``,
``kl_loss_type``, ``ppo_epochs``...), so a paper preset reads the same at both scales and
`r1repro.verl_bridge.config` can translate one into the other key by key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SFTConfig:
    """Supervised warm start so a tiny policy begins with non-zero reward (cached)."""

    enabled: bool = False
    dataset: Any = None  # defaults to data.dataset
    split: str = "sft"  # generated tasks draw a fresh set of problems for this split
    examples: int = 2000
    steps: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    warmup_steps: int = 20
    seed: int = 0
    max_response_length: int = 256  # tokens kept of each worked response (multi-turn ones are longer)


@dataclass
class ModelConfig:
    path: str = "tiny:micro"  # a hub id, a local folder, or tiny:<nano|micro|small|base>
    init_seed: int = 0
    dtype: str = "float32"
    # Lean Qwen2 forward for rollouts and updates (`engine/qwen2_fast.py`); same math as the
    # HuggingFace forward (tested), used only for models it supports exactly.
    fast_kernels: bool = True
    sft: SFTConfig = field(default_factory=SFTConfig)


@dataclass
class DataConfig:
    dataset: Any = "core.arithmetic"  # registered dataset name or {name: ..., options}
    split: str = "train"
    limit: int | None = None
    template: Any = "core.boxed"
    max_prompt_length: int = 256


@dataclass
class RolloutConfig:
    strategy: Any = "core.single_turn"  # or core.multi_turn, or a plugin's strategy
    environment: Any = None  # for multi-turn strategies
    n: int = 8  # responses per prompt (the GRPO group)
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 64  # per response (all turns together)


@dataclass
class AlgorithmConfig:
    adv_estimator: str = "grpo"  # any name in verl's registry, or a plugin's estimator
    norm_adv_by_std_in_grpo: bool = True  # False = Dr.GRPO (no std scaling)
    gamma: float = 1.0
    lam: float = 1.0
    use_kl_in_reward: bool = False
    kl_penalty: str = "kl"
    kl_coef: float = 0.001
    estimator_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActorConfig:
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 0
    grad_clip: float = 1.0
    ppo_epochs: int = 1
    mini_batch_size: int | None = None  # prompts per optimiser step (None = the whole batch)
    policy_loss: str = "vanilla"
    clip_ratio: float = 0.2
    clip_ratio_low: float | None = None
    clip_ratio_high: float | None = None  # e.g. 0.28 = DAPO's clip-higher
    clip_ratio_c: float = 3.0
    loss_agg_mode: str = "token-mean"
    loss_scale_factor: int | None = None
    use_kl_loss: bool = False
    kl_loss_coef: float = 0.001
    kl_loss_type: str = "low_var_kl"
    entropy_coeff: float = 0.0
    policy_loss_options: dict[str, Any] = field(default_factory=dict)


@dataclass
class CriticConfig:
    """The value model of PPO with a critic (used when ``algorithm.adv_estimator=gae``; see
    `r1repro.engine.value`). Names follow verl's ``critic`` section."""

    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 0  # linear lr warm-up (optimiser steps)
    grad_clip: float = 1.0
    cliprange_value: float = 0.5
    loss_agg_mode: str = "token-mean"
    ppo_epochs: int | None = None  # None = the actor's
    head_init_std: float = 0.0  # value head weights (0: every value starts at the head's bias, 0)


@dataclass
class EvalConfig:
    dataset: Any = None  # defaults to data.dataset
    split: str = "test"
    limit: int = 128
    reward: Any = None  # the metric (e.g. an oracle verifier); defaults to the training reward
    temperature: float = 0.0  # greedy by default
    n: int = 1  # responses per prompt (with temperature > 0: accuracy averaged over n samples, "avg@n")
    every: int = 10  # steps; 0 = only before and after training
    max_new_tokens: int | None = None


@dataclass
class TrainerConfig:
    total_steps: int = 40
    batch_size: int = 16  # prompts per step
    seed: int = 0
    save_every: int = 10
    keep_checkpoints: int = 2
    out_dir: str | None = None
    resume: bool = True
    tensorboard: bool = False
    progress: bool = True
    threads: int | None = None
    device: str = "auto"
    log_samples: int = 2  # responses printed into samples.jsonl per step
    critic_warmup: int = 0  # PPO with a critic: the first steps train only the critic (verl's name)


@dataclass
class EngineConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    reward: Any = "core.exact_match"
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    actor: ActorConfig = field(default_factory=ActorConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    critic: CriticConfig = field(default_factory=CriticConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    callbacks: list[Any] = field(default_factory=list)


def make_config(overrides: dict[str, Any] | None = None, dotlist: list[str] | None = None):
    """An `EngineConfig` (as an OmegaConf structured config) with overrides applied."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.structured(EngineConfig)
    if overrides:
        cfg = OmegaConf.merge(cfg, OmegaConf.create(overrides))
    if dotlist:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(list(dotlist)))
    return cfg
