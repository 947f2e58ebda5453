"""HGPO's paper-scale settings (LHRM, arXiv 2505.14631; no official code found: every value is
from the paper's text, §4.1 "Implementation details") as verl 0.9.1 keys: the one table that the
fidelity test, the README's "Official vs ours" table and the paper-scale dry run read
(`r1repro.verl_bridge.fidelity`)."""

from r1repro.verl_bridge.fidelity import Setting, deviation, note

PAPER = "arXiv 2505.14631 §4.1 [page]"

OFFICIAL = [
    deviation("actor_rollout_ref.model.path", "the HFT checkpoint of Qwen2.5-Math-7B", PAPER,
              "Qwen/Qwen2.5-Math-7B", "the HFT checkpoint is not released: run HFT first and point model at it"),
    Setting("algorithm.adv_estimator", "hgpo", "arXiv 2505.14631 §3.2 eq. (HGPO advantage) [page]"),
    Setting("preset.estimator_options.alpha", 1.0, "arXiv 2505.14631 §3.2 (alpha = 1) [page]"),
    Setting("preset.reward.delta", 0.2, "arXiv 2505.14631 §3.2 (margin delta = 0.2) [page]"),
    Setting("data.train_batch_size", 256, PAPER + " (256 prompts per rollout)"),
    Setting("actor_rollout_ref.rollout.n", 4, PAPER + " (N = 4, N/2 per mode)"),
    Setting("actor_rollout_ref.actor.optim.lr", 1e-6, PAPER),
    # verl 0.9.1 ignores actor.clip_ratio; the PPO clip is clip_ratio_low / clip_ratio_high.
    Setting("actor_rollout_ref.actor.clip_ratio_low", 0.5, PAPER + " (PPO clip epsilon = 0.5)"),
    Setting("actor_rollout_ref.actor.clip_ratio_high", 0.5, PAPER + " (PPO clip epsilon = 0.5)"),
    Setting("actor_rollout_ref.actor.use_kl_loss", True, PAPER + " (KL coefficient 0.001)"),
    Setting("actor_rollout_ref.actor.kl_loss_coef", 0.001, PAPER),
    Setting("trainer.n_gpus_per_node", 4, PAPER + " (4 x H100, 2 days)"),
    note("reward model", "a rule verifier for definite answers, allenai/Llama-3.1-Tulu-3-8B-RM otherwise",
         "arXiv 2505.14631 §4.1 [page]", "core.exact_match (math prompts only)",
         "the preset trains on DeepScaleR's math part only, where answers are definite; the Tulu-3 prompts and "
         "their reward model are not wired in"),
    note("training data", "76K prompts: DeepScaleR + Tulu-3", PAPER, "hgpo.deepscaler (math part)",
         "the Tulu-3 part needs the reward model above"),
]
