"""The official LASER-D run (hkust-nlp/Laser ``scripts/training/laser-d-1.5b/laser-d-1.5b-l4096.sh``,
a verl fork of the SimpleRL-Zoo lineage) as verl 0.9.1 keys: the one table that the fidelity test,
the README's "Official vs ours" table and the paper-scale dry run read
(`r1repro.verl_bridge.fidelity`)."""

from r1repro.verl_bridge.fidelity import Setting, cite, deviation, note

REPO = "hkust-nlp/Laser@c9e7c4e"
SH = "scripts/training/laser-d-1.5b/laser-d-1.5b-l4096.sh"
FORK_YAML = "verl/trainer/config/ppo_trainer.yaml"


src = cite(REPO, SH)


OFFICIAL = [
    Setting("actor_rollout_ref.model.path", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
            "paper §4 / README (the script leaves MODEL empty, line 10)"),
    Setting("algorithm.adv_estimator", "grpo", src(163)),
    Setting("preset.reward.name", "laser.d", src(157) + " (length_penalty.method=larse-d)"),
    Setting("preset.reward.lower", 4096, src(52)),
    Setting("preset.reward.upper", 16384, src(51) + " (= MAX_RESPONSE_LENGTH)"),
    Setting("preset.reward.interval", 1024, src(53)),
    Setting("preset.reward.every", 20, src(207) + " (trainer.monitor_freq)"),
    Setting("data.train_batch_size", 128, src(24)),
    Setting("data.val_batch_size", 500, src(25)),
    Setting("data.max_prompt_length", 1024, src(26)),
    Setting("data.max_response_length", 16384, src(27)),
    Setting("actor_rollout_ref.actor.optim.lr", 1e-6, src(28)),
    Setting("actor_rollout_ref.model.use_remove_padding", True, src(174)),
    Setting("actor_rollout_ref.actor.ppo_mini_batch_size", 64, src(29)),
    Setting("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", 2, src(31)),
    Setting("actor_rollout_ref.actor.use_kl_loss", True, src(177)),
    Setting("actor_rollout_ref.actor.kl_loss_coef", 0.001, src(36)),
    Setting("actor_rollout_ref.actor.entropy_coeff", 0.001, src(37)),
    Setting("actor_rollout_ref.actor.clip_ratio_low", 0.2, src(33)),
    Setting("actor_rollout_ref.actor.clip_ratio_high", 0.28, src(34)),
    Setting("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", src(38)),
    Setting("actor_rollout_ref.model.enable_gradient_checkpointing", True, src(184)),
    Setting("actor_rollout_ref.actor.fsdp_config.param_offload", False, src(185)),
    Setting("actor_rollout_ref.actor.fsdp_config.optimizer_offload", False, src(187)),
    Setting("actor_rollout_ref.rollout.temperature", 0.6, src(39)),
    deviation("actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu", "80 (global)", src(40), 10,
              "the same 80 per step: verl 0.9.1 counts micro-batches per GPU (80 / 8 GPUs)"),
    deviation("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu", "80 (global)", src(195), 10,
              "the same 80 per step: verl 0.9.1 counts micro-batches per GPU (80 / 8 GPUs)"),
    Setting("actor_rollout_ref.rollout.tensor_model_parallel_size", 1, src(190)),
    Setting("actor_rollout_ref.rollout.name", "vllm", src(191)),
    Setting("actor_rollout_ref.rollout.gpu_memory_utilization", 0.6, src(192)),
    Setting("actor_rollout_ref.rollout.n", 8, src(41)),
    Setting("actor_rollout_ref.rollout.enable_chunked_prefill", True, src(194)),
    Setting("actor_rollout_ref.ref.fsdp_config.param_offload", False, src(196)),
    Setting("algorithm.kl_ctrl.kl_coef", 0.001, src(42)),
    Setting("trainer.critic_warmup", 0, src(199)),
    deviation("trainer.logger", ["console", "wandb"], src(200), ["console"],
              "no wandb account assumed; add it with an override"),
    Setting("trainer.n_gpus_per_node", 8, src(203)),
    Setting("trainer.nnodes", 1, src(12)),
    Setting("trainer.save_freq", 10, src(205)),
    Setting("trainer.test_freq", 10, src(206)),
    Setting("trainer.total_epochs", 5, src(43)),
    note("monitor set", "500 training prompts x 8 rollouts every 20 steps (data.monitor_files)", src(167),
         "the controller reads the training groups every 20 steps (source=training_batch)",
         "verl 0.9.1 has no per-step hook for a second generation pass; see the plugin README"),
    note("verifier", "Qwen2.5-Math extract_answer + strip_string, then math-verify 0.6.0 (parse/verify defaults)",
         src(196, "verl/utils/reward_score/hf_math_verifier.py") + "; " + src(68, "requirement.txt"),
         "the same extraction and normalisation (qwen_answer.py), math-verify as installed (0.9.x)",
         "one environment serves every plugin; math-verify's parser changed between 0.6 and 0.9 "
         "[unverified: how many verdicts differ]"),
    note("loss averaging", "token-mean inside each micro-batch (2 per GPU), micro-batches weighted equally",
         src(278, "verl/workers/actor/dp_actor.py") + " and core_algos.py:372",
         "verl 0.9.1 token-mean over the whole mini-batch",
         "verl 0.9.1 has no per-micro-batch token-mean mode"),
]
