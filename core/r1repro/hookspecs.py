"""The r1repro hook specifications: the table of contents of the architecture.

A paper plugin is a Python distribution with an entry point in the ``r1repro`` group
that points at a module of hook implementations. Each hook below returns the components
of one kind that the plugin contributes. A component is either the object itself (a
class, a function, an instance) or, preferably, a ``lazy("pkg.module:Attr", name=...)``
reference, so that discovering plugins imports nothing heavy (no torch, no sympy).

Every component has a dotted name, ``<plugin>.<component>`` (``tinyv.addon``,
``laser.d``), by which configs choose it. The registry (``r1repro.registry``) collects
them, reports duplicates and import failures per plugin, and builds them by name.

    kind          hook                          what a component is                       used by
    ------------  ----------------------------  ----------------------------------------  -----------------
    reward        r1repro_rewards               `r1repro.components.Reward` subclass:     both engines
                                                scores a batch of Samples, group-aware
    template      r1repro_templates             `Template`: problem -> chat prompt, and   datasets, rewards
                                                response -> think / answer parts
    dataset       r1repro_datasets              `Dataset`: rows in the one Row schema,    both engines
                                                real source + offline fixture
    estimator     r1repro_advantage_estimators  function with verl's estimator signature; both engines
                                                registered into verl's ADV_ESTIMATOR_REGISTRY
    policy_loss   r1repro_policy_losses         function with verl's policy-loss          both engines
                                                signature; into verl's POLICY_LOSS_REGISTRY
    environment   r1repro_environments          `Environment`: multi-turn tool rollouts   both engines
                                                (reset / step), observations masked
    rollout       r1repro_rollouts              `RolloutStrategy`: how responses are      local engine;
                                                produced (forced prefixes, guided steps)  verl agent loop
    reproduction  r1repro_reproductions         `Reproduction`: arms, metrics, claims,    CLI, reports
                                                scale presets of one paper

The hooks take no arguments; the registry calls each plugin's implementation on its own
so that one broken plugin is named in the error and the others keep working.
"""

from __future__ import annotations

import pluggy

PROJECT = "r1repro"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class R1ReproSpec:
    """Hook specifications. Each returns an iterable of components (or lazy references)."""

    @hookspec
    def r1repro_rewards(self):
        """Rewards and verifiers: `Reward` subclasses (built with keyword options).

        A reward scores a *batch* of `Sample`s and returns one `RewardResult` each; it never
        raises on model output and never hangs (see `Reward.timeout_s`). A group-aware reward
        (``group_aware = True``) sees every rollout of a prompt together.
        """

    @hookspec
    def r1repro_templates(self):
        """Prompt templates: `Template` instances or classes (render + parse)."""

    @hookspec
    def r1repro_datasets(self):
        """Datasets: `Dataset` subclasses, each with a real source and an offline fixture."""

    @hookspec
    def r1repro_advantage_estimators(self):
        """Advantage estimators with verl's signature
        ``fn(token_level_rewards, response_mask, index, config, **kw) -> (advantages, returns)``.

        Registered into verl's own registry (``register_adv_est``) under their r1repro name,
        so the same function runs in the local engine and in verl. Per-sample side
        information reaches them as ``side_info`` (see `r1repro.algos`).
        """

    @hookspec
    def r1repro_policy_losses(self):
        """Policy losses with verl's signature
        ``fn(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode, config,
        rollout_is_weights) -> (loss, metrics)``; registered into verl's registry."""

    @hookspec
    def r1repro_environments(self):
        """Multi-turn environments: `Environment` subclasses (tools, search, zoom-in, code)."""

    @hookspec
    def r1repro_rollouts(self):
        """Rollout strategies: `RolloutStrategy` subclasses (mode-forced, template-guided...)."""

    @hookspec
    def r1repro_reproductions(self):
        """Reproductions: `Reproduction` subclasses, one per paper (arms, metrics, claims)."""


KINDS: dict[str, str] = {
    "reward": "r1repro_rewards",
    "template": "r1repro_templates",
    "dataset": "r1repro_datasets",
    "estimator": "r1repro_advantage_estimators",
    "policy_loss": "r1repro_policy_losses",
    "environment": "r1repro_environments",
    "rollout": "r1repro_rollouts",
    "reproduction": "r1repro_reproductions",
}
"""Component kind -> the hook that contributes it."""
