"""The official TinyV run (uw-nsl/TinyV ``run_grpo_tinyv.sh``) as verl keys: the one table that
the fidelity test (``tests/test_fidelity.py``), the README's "Official vs ours" table and the
paper-scale dry run all read (`r1repro.verl_bridge.fidelity`)."""

from r1repro.verl_bridge.fidelity import Setting, cite, deviation, note

REPO = "uw-nsl/TinyV@4a9d2c7"


SH = "run_grpo_tinyv.sh"
FORK_YAML = "verl/verl/trainer/config/ppo_trainer.yaml"
src = cite(REPO, SH)

OFFICIAL = [
    Setting("actor_rollout_ref.model.path", "Qwen/Qwen2.5-7B", src(26)),
    Setting("algorithm.adv_estimator", "grpo", src(118)),
    Setting("algorithm.use_kl_in_reward", True, src(56)),
    Setting("algorithm.kl_ctrl.kl_coef", 0.001, src(144)),
    Setting("data.train_batch_size", 128, src(36)),
    Setting("data.max_prompt_length", 1024, src(67)),
    Setting("data.max_response_length", 4096, src(68)),
    Setting("data.filter_overlong_prompts", True, src(125)),
    Setting("data.truncation", "error", src(126)),
    Setting("actor_rollout_ref.actor.optim.lr", 1e-6, src(128)),
    Setting("actor_rollout_ref.model.use_remove_padding", True, src(129)),
    Setting("actor_rollout_ref.actor.ppo_mini_batch_size", 64, src(38)),
    Setting("actor_rollout_ref.actor.ppo_max_token_len_per_gpu", 15360, src(69)),
    Setting("actor_rollout_ref.actor.use_dynamic_bsz", True, src(132)),
    Setting("actor_rollout_ref.actor.use_kl_loss", True, src(55)),
    Setting("actor_rollout_ref.actor.kl_loss_coef", 0.001, src(57)),
    Setting("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", src(135)),
    Setting("actor_rollout_ref.actor.entropy_coeff", 0.001, src(34, FORK_YAML)),
    Setting("actor_rollout_ref.actor.clip_ratio_low", 0.2, src(33, FORK_YAML)),
    Setting("actor_rollout_ref.actor.clip_ratio_high", 0.2, src(33, FORK_YAML)),
    Setting("actor_rollout_ref.actor.ppo_epochs", 1, src(39, FORK_YAML)),
    Setting("actor_rollout_ref.model.enable_gradient_checkpointing", True, src(136)),
    Setting("actor_rollout_ref.actor.fsdp_config.param_offload", False, src(137)),
    Setting("actor_rollout_ref.actor.fsdp_config.optimizer_offload", False, src(138)),
    Setting("actor_rollout_ref.rollout.name", "vllm", src(139)),
    Setting("actor_rollout_ref.rollout.gpu_memory_utilization", 0.5, src(140)),
    Setting("actor_rollout_ref.rollout.max_num_batched_tokens", 5120, src(70)),
    Setting("actor_rollout_ref.rollout.n", 8, src(37)),
    Setting("actor_rollout_ref.ref.fsdp_config.param_offload", False, src(143)),
    Setting("trainer.critic_warmup", 0, src(145)),
    deviation("trainer.logger", ["console", "wandb"], src(146), ["console"],
              "no wandb account assumed; add wandb with ARGS='verl.overrides.trainer.logger=[console,wandb]'"),
    Setting("trainer.nnodes", 1, src(149)),
    Setting("trainer.n_gpus_per_node", 8, src(2) + " (8xA100; the script counts visible GPUs, line 73)"),
    Setting("trainer.save_freq", 64, src(152)),
    Setting("trainer.test_freq", 8, src(153)),
    Setting("trainer.total_epochs", 12, src(27)),
    Setting("preset.reward.name", "tinyv.addon", src(31) + " (VERIFIER_SETUP=addon)"),
    Setting("preset.reward.judge.model", "zhangchenxu/TinyV-1.5B", src(30)),
    Setting("preset.reward.judge.base_url", "http://localhost:8000/v1", src(79) + " (vllm serve --port 8000)"),
    Setting("preset.val_dataset.name", "tinyv.official_val",
            src(121) + " (math_benchmarks_aammo.parquet + hardverify_math)"),
    note("reward routing", "Prime for AIME/AMC/MATH/Minerva/Olympiad data sources, TinyV for HardVerify-Math",
         src(44, "verl/verl/utils/reward_score/__init__.py"),
         "tinyv.addon routes by data_source the same way (tinyv.official_val rows carry the fork's names)",
         "same rule, implemented by the plugin's reward; listed because no verl key holds it"),
    note("loss averaging", "token-mean inside each micro-batch; micro-batches weighted by their share of "
         "sequences (use_dynamic_bsz)", src(313, "verl/verl/workers/actor/dp_actor.py"),
         "verl 0.9.1 token-mean over the whole mini-batch (global token count)",
         "verl 0.9.1 has no per-micro-batch token-mean mode; long-response micro-batches weigh more here"),
]
