"""The official DISCO run (Tonyzhou98/disco_grpo ``scripts/grpo/train_grpo_qwen2.5_gt_domain_weight.sh``
on its OpenRLHF 0.6.0.post3 fork, launched as in the README) translated to verl 0.9.1 keys: the one
table that the fidelity test, the README's "Official vs ours" table and the paper-scale dry run read
(`r1repro.verl_bridge.fidelity`).

OpenRLHF counts differently from verl: ``--rollout_batch_size 64`` prompts x
``--n_samples_per_prompt 4`` = 256 samples per rollout, and ``--train_batch_size 64`` counts
*samples* per optimizer step, so one rollout gives 4 optimizer steps. verl's
``ppo_mini_batch_size`` counts prompts (x n), so 64 samples = 16 prompts.
"""

from r1repro.verl_bridge.fidelity import Setting, cite, deviation, note

REPO = "Tonyzhou98/disco_grpo@7ccdefc"
SH = "scripts/grpo/train_grpo_qwen2.5_gt_domain_weight.sh"
CLI = "OpenRLHF/openrlhf/cli/train_ppo_ray.py"
ACTOR = "OpenRLHF/openrlhf/trainer/ray/ppo_actor.py"


src = cite(REPO, SH)


OFFICIAL = [
    deviation("actor_rollout_ref.model.path", "Qwen/Qwen2-0.5B", src(7), "Qwen/Qwen2.5-0.5B",
              "the script's default argument is Qwen2-0.5B; its file name and the paper's model are Qwen2.5-0.5B"),
    Setting("preset.dataset.main", "arc", src(42, "README.md") + " (MoeReward/combined_rlhf_dataset_grpo_arc_main)"),
    Setting("preset.reward.name", "disco.weighted", src(42, "README.md") + " (arc_domain_reward_func.py)"),
    Setting("algorithm.adv_estimator", "grpo", src(42, "README.md") + " (group_norm_wo_std)"),
    Setting("algorithm.norm_adv_by_std_in_grpo", False, src(42, "README.md") + " (group_norm_wo_std)"),
    Setting("data.train_batch_size", 64, src(27) + " (--rollout_batch_size: prompts)"),
    Setting("actor_rollout_ref.rollout.n", 4, src(28)),
    Setting("actor_rollout_ref.actor.ppo_mini_batch_size", 16,
            src(25) + " (--train_batch_size 64 samples = 16 prompts x 4: 4 optimizer steps per rollout)"),
    deviation("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", 1, src(24), 4,
              "gradient accumulation only: with seq-mean-token-mean the loss does not depend on it"),
    Setting("trainer.total_epochs", 1, src(29)),
    Setting("data.max_prompt_length", 512, src(30)),
    Setting("preset.train_limit", 10000, src(31) + " (--max_samples)"),
    Setting("data.max_response_length", 512, src(32)),
    Setting("actor_rollout_ref.actor.use_kl_loss", True, src(35)),
    Setting("actor_rollout_ref.actor.kl_loss_coef", 0.001, src(33) + " (--init_kl_coef)"),
    Setting("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", src(36) + " (k3)"),
    Setting("algorithm.use_kl_in_reward", False, src(35) + " (KL as a loss, not in the reward)"),
    Setting("actor_rollout_ref.actor.optim.lr", 1e-6, src(40)),
    Setting("actor_rollout_ref.model.enable_gradient_checkpointing", True, src(47)),
    Setting("actor_rollout_ref.actor.loss_agg_mode", "seq-mean-token-mean",
            src(76, "OpenRLHF/openrlhf/models/loss.py") + " (masked_mean over tokens, then mean over sequences)"),
    Setting("actor_rollout_ref.actor.clip_ratio_low", 0.2, src(308, CLI) + " (--eps_clip default)"),
    Setting("actor_rollout_ref.actor.clip_ratio_high", 0.2, src(308, CLI) + " (--eps_clip default)"),
    Setting("actor_rollout_ref.actor.entropy_coeff", 0.0, "OpenRLHF PPO loss has no entropy term"),
    Setting("actor_rollout_ref.actor.optim.weight_decay", 0.0, src(306, CLI) + " (--l2 default)"),
    Setting("actor_rollout_ref.actor.optim.betas", [0.9, 0.95], src(338, CLI) + " (--adam_betas default)"),
    Setting("actor_rollout_ref.actor.optim.clip_grad", 1.0, src(305, CLI) + " (--max_norm default)"),
    Setting("actor_rollout_ref.actor.optim.lr_scheduler_type", "cosine", src(350, ACTOR) + " (cosine_with_min_lr)"),
    Setting("actor_rollout_ref.actor.optim.min_lr_ratio", 0.1, src(354, ACTOR)),
    Setting("actor_rollout_ref.actor.optim.lr_warmup_steps_ratio", 0.03, src(325, CLI) + " (--lr_warmup_ratio default)"),
    Setting("actor_rollout_ref.rollout.temperature", 1.0, src(316, CLI) + " (--temperature default)"),
    Setting("actor_rollout_ref.rollout.top_p", 1.0, src(315, CLI) + " (--top_p default)"),
    Setting("trainer.save_freq", -1, src(50)),
    deviation("trainer.n_gpus_per_node", "4 (1 actor, 1 reference, 2 vLLM engines)", src(11) + "-21", 4,
              "verl colocates actor, reference and rollout on the same 4 GPUs"),
    note("engine", "OpenRLHF 0.6.0.post3 fork (DeepSpeed ZeRO-3, packed samples)", src(13),
         "verl 0.9.1 (FSDP2)", "the paper's engine is not verl; the loss, batch and optimizer keys are translated"),
    note("rollout batching", "the reward sees one group per call (--micro_rollout_batch_size 4 = G)", src(26),
         "the r1repro_sync trainer's group stage hands the reward whole groups",
         "same grouping, by another mechanism"),
]
