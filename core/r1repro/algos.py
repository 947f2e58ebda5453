"""Advantage estimators and policy losses: r1repro's side of verl's registries.

Plugins write estimators and losses with verl's own signatures and mark them with
``@estimator("disco.weighted")`` / ``@policy_loss("gui_g1.token_sum")``. `ensure_registered`
puts every one of them into verl's ``ADV_ESTIMATOR_REGISTRY`` / ``POLICY_LOSS_REGISTRY``
(``register_adv_est`` / ``register_policy_loss``), so ``get_adv_estimator_fn(name)`` finds
them and the *same function object* runs in the local engine and in verl. verl is imported
only when an engine needs it (``import verl`` takes seconds).

Side information (design decision)
----------------------------------
verl 0.9.1 calls a registered estimator with ``token_level_rewards``, ``response_mask``,
``index`` (the prompt uid), ``config`` and nothing per-sample beyond that. Estimators that
need more (the sample's domain, HGPO's forced mode, how many tag tokens start the
response) declare ``@estimator(name, side_info=True)`` and receive a keyword argument
``side_info: dict[str, np.ndarray]`` with one entry per sample for every key their rewards
put in ``RewardResult.info``. The local engine always passes it. On verl, the
``r1repro_sync`` trainer (`r1repro.verl_bridge.trainer`, selected with
``trainer.v1.trainer_mode=r1repro_sync``) gathers the same keys from verl's
``reward_extra_info`` and passes them in; with verl's stock trainers such an estimator is
called without ``side_info`` and must fall back to a documented default or raise. Plugin
options of an estimator (``algorithm.estimator_options``) are bound with
``functools.partial`` in the local engine and passed as keywords by ``r1repro_sync``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

VERL_HARDWIRED = {"gae", "grpo"}


def estimator(name: str, *, side_info: bool = False, description: str = "") -> Callable:
    """Mark a function with verl's estimator signature as an r1repro estimator."""

    def deco(fn: Callable) -> Callable:
        fn.name = name  # type: ignore[attr-defined]
        fn.r1repro_side_info = side_info  # type: ignore[attr-defined]
        fn.description = description or (inspect.getdoc(fn) or "").split("\n\n")[0]  # type: ignore[attr-defined]
        return fn

    return deco


def policy_loss(name: str, *, description: str = "") -> Callable:
    """Mark a function with verl's policy-loss signature as an r1repro policy loss."""

    def deco(fn: Callable) -> Callable:
        fn.name = name  # type: ignore[attr-defined]
        fn.description = description or (inspect.getdoc(fn) or "").split("\n\n")[0]  # type: ignore[attr-defined]
        return fn

    return deco


@functools.lru_cache(maxsize=1)
def core_algos():
    """verl's ``core_algos`` module (imported on first use)."""
    from verl.trainer.ppo import core_algos as ca

    return ca


def ensure_registered(registry=None) -> list[str]:
    """Register every plugin estimator and policy loss into verl's registries (idempotent).

    Returns the names registered by this call. A name already in verl's registry with a
    different function is reported by verl's own error.
    """
    from r1repro.registry import get_registry

    reg = registry or get_registry()
    ca = core_algos()
    added = []
    for name in reg.names("estimator"):
        fn = _unwrap(reg.load("estimator", name))
        if ca.ADV_ESTIMATOR_REGISTRY.get(name) is not fn:
            ca.register_adv_est(name)(fn)
            added.append(name)
    for name in reg.names("policy_loss"):
        fn = _unwrap(reg.load("policy_loss", name))
        if ca.POLICY_LOSS_REGISTRY.get(name) is not fn:
            ca.register_policy_loss(name)(fn)
            added.append(name)
    return added


def _unwrap(fn: Any) -> Any:
    return fn.func if isinstance(fn, functools.partial) else fn


def wants_side_info(fn: Any) -> bool:
    return bool(getattr(_unwrap(fn), "r1repro_side_info", False))


def get_estimator(name: str, options: dict[str, Any] | None = None) -> Callable:
    """verl's estimator function for ``name`` (plugin estimators included), options bound."""
    ensure_registered()
    fn = core_algos().get_adv_estimator_fn(name)
    if options:
        fn = functools.partial(fn, **options)
    return fn


def compute_advantage(
    name: str,
    token_level_rewards,
    response_mask,
    index: np.ndarray,
    algo_config,
    side_info: dict[str, np.ndarray] | None = None,
    options: dict[str, Any] | None = None,
):
    """Dispatch exactly as verl's trainer does (``ray_trainer.compute_advantage``).

    ``grpo`` gets ``norm_adv_by_std_in_grpo`` as a keyword; every other estimator gets
    ``token_level_rewards``, ``response_mask``, ``config`` and ``index``, plus ``side_info``
    when it asks for it. GAE needs a critic, which the local engine does not train yet.
    """
    if name == "gae":
        raise NotImplementedError(
            "GAE needs a value model: the local engine computes it with its critic "
            "(r1repro.engine.value.gae), not through this critic-free dispatch."
        )
    fn = get_estimator(name, options)
    if name == "grpo":
        return fn(
            token_level_rewards=token_level_rewards,
            response_mask=response_mask,
            index=index,
            norm_adv_by_std_in_grpo=algo_config.norm_adv_by_std_in_grpo,
        )
    kwargs: dict[str, Any] = {
        "token_level_rewards": token_level_rewards,
        "response_mask": response_mask,
        "config": algo_config,
        "index": index,
    }
    if wants_side_info(fn):
        kwargs["side_info"] = side_info or {}
    return fn(**kwargs)


def verl_algo_config(cfg) -> Any:
    """verl's ``AlgoConfig`` built from the local engine's algorithm section."""
    from verl.trainer.config import AlgoConfig

    return AlgoConfig(
        gamma=cfg.gamma,
        lam=cfg.lam,
        adv_estimator=cfg.adv_estimator,
        norm_adv_by_std_in_grpo=cfg.norm_adv_by_std_in_grpo,
        use_kl_in_reward=cfg.use_kl_in_reward,
        kl_penalty=cfg.kl_penalty,
    )


def verl_actor_config(actor, n: int, mini_batch_prompts: int) -> Any:
    """verl's ``ActorConfig`` (what verl's policy losses read) from the engine's actor section."""
    from verl.workers.config import ActorConfig, PolicyLossConfig

    clip = actor.clip_ratio
    return ActorConfig(
        strategy="fsdp",
        rollout_n=n,
        ppo_mini_batch_size=mini_batch_prompts,
        ppo_micro_batch_size_per_gpu=mini_batch_prompts * n,
        clip_ratio=clip,
        clip_ratio_low=actor.clip_ratio_low if actor.clip_ratio_low is not None else clip,
        clip_ratio_high=actor.clip_ratio_high if actor.clip_ratio_high is not None else clip,
        clip_ratio_c=actor.clip_ratio_c,
        loss_agg_mode=actor.loss_agg_mode,
        loss_scale_factor=actor.loss_scale_factor,
        entropy_coeff=actor.entropy_coeff,
        use_kl_loss=actor.use_kl_loss,
        kl_loss_coef=actor.kl_loss_coef,
        kl_loss_type=actor.kl_loss_type,
        ppo_epochs=actor.ppo_epochs,
        policy_loss=PolicyLossConfig(loss_mode=actor.policy_loss),
        use_torch_compile=False,
    )
