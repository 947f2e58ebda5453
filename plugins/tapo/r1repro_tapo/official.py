"""TAPO's paper-scale settings (arXiv 2505.15692 v5, "TemplateRL"; no official code found: every
value is from the paper's text, §4.1) as verl 0.9.1 keys: the one table that the fidelity test,
the README's "Official vs ours" table and the paper-scale dry run read
(`r1repro.verl_bridge.fidelity`)."""

from r1repro.verl_bridge.fidelity import Setting

PAPER = "arXiv 2505.15692 §4.1 [page]"

OFFICIAL = [
    Setting("actor_rollout_ref.model.path", "Qwen/Qwen2.5-Math-7B", PAPER),
    Setting("algorithm.adv_estimator", "grpo", PAPER + " (Dr.GRPO)"),
    Setting("algorithm.norm_adv_by_std_in_grpo", False, PAPER + " (Dr.GRPO: no std)"),
    Setting("actor_rollout_ref.actor.loss_agg_mode", "seq-mean-token-sum-norm", PAPER + " (Dr.GRPO: constant length)"),
    Setting("actor_rollout_ref.actor.use_kl_loss", False, PAPER + " (beta = 0)"),
    Setting("algorithm.use_kl_in_reward", False, PAPER + " (beta = 0)"),
    Setting("data.train_batch_size", 128, PAPER),
    Setting("actor_rollout_ref.rollout.n", 16, PAPER + " (16 samples, |g| = 2 templates)"),
    Setting("trainer.total_training_steps", 500, PAPER),
    Setting("trainer.n_gpus_per_node", 8, PAPER + " (8 x A100)"),
    Setting("preset.train_limit", 5000, PAPER + " (5K RL problems; 500 more seed the library)"),
    Setting("preset.reward.name", "tapo.reward", PAPER + " (binary Math-Verify accuracy)"),
]
