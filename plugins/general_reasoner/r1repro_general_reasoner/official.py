"""The official General-Reasoner run (TIGER-AI-Lab/General-Reasoner ``train_general_reasoner.sh``,
verl submodule @c62e7ac7 ~ v0.3) as verl 0.9.1 keys: the one table that the fidelity test, the
README's "Official vs ours" table and the paper-scale dry run read
(`r1repro.verl_bridge.fidelity`)."""

from r1repro.verl_bridge.fidelity import Setting, cite, deviation, note

REPO = "TIGER-AI-Lab/General-Reasoner@007e44c"
SH = "train_general_reasoner.sh"


src = cite(REPO, SH)


OFFICIAL = [
    Setting("actor_rollout_ref.model.path", "Qwen/Qwen2.5-7B", src(43) + " (MODEL_NAME under HDFS_MODEL_PATH)"),
    Setting("algorithm.adv_estimator", "grpo", src(160)),
    Setting("preset.reward.judge.model", "TIGER-Lab/general-verifier", src(163) + " (VERIFIER_NAME, line 44)"),
    Setting("data.train_batch_size", 1024, src(22)),
    Setting("data.val_batch_size", 500, src(23)),
    Setting("data.max_prompt_length", 1024, src(24)),
    Setting("data.max_response_length", 8192, src(25)),
    Setting("data.filter_overlong_prompts", True, src(173)),
    Setting("data.truncation", "error", src(174)),
    Setting("actor_rollout_ref.actor.optim.lr", 5e-7, src(26)),
    Setting("actor_rollout_ref.model.use_remove_padding", True, src(177)),
    Setting("actor_rollout_ref.actor.ppo_mini_batch_size", 256, src(27)),
    Setting("actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu", 8, src(29)),
    Setting("actor_rollout_ref.actor.use_kl_loss", True, src(180)),
    Setting("actor_rollout_ref.actor.kl_loss_coef", 0.0001, src(31)),
    Setting("actor_rollout_ref.actor.entropy_coeff", 0.001, src(32)),
    # verl ~v0.3 has one symmetric clip_ratio; verl 0.9.1 reads only clip_ratio_low/high.
    Setting("actor_rollout_ref.actor.clip_ratio_low", 0.3, src(30) + " (clip_ratio, symmetric in verl v0.3)"),
    Setting("actor_rollout_ref.actor.clip_ratio_high", 0.3, src(30) + " (clip_ratio, symmetric in verl v0.3)"),
    Setting("actor_rollout_ref.actor.clip_ratio_c", 10.0, src(184)),
    Setting("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", src(33)),
    Setting("actor_rollout_ref.model.enable_gradient_checkpointing", True, src(186)),
    Setting("actor_rollout_ref.actor.fsdp_config.param_offload", False, src(42)),
    Setting("actor_rollout_ref.actor.fsdp_config.optimizer_offload", False, src(41)),
    Setting("actor_rollout_ref.rollout.temperature", 1.0, src(34)),
    deviation("actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu", "160 (global)", src(35), 20,
              "the same 160 per step: verl 0.9.1 counts micro-batches per GPU (160 / 8 GPUs)"),
    deviation("actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu", "160 (global)", src(195), 20,
              "the same 160 per step: verl 0.9.1 counts micro-batches per GPU (160 / 8 GPUs)"),
    Setting("actor_rollout_ref.rollout.tensor_model_parallel_size", 2, src(191)),
    Setting("actor_rollout_ref.rollout.name", "vllm", src(192)),
    Setting("actor_rollout_ref.rollout.gpu_memory_utilization", 0.6, src(40)),
    Setting("actor_rollout_ref.rollout.n", 8, src(36)),
    Setting("actor_rollout_ref.ref.fsdp_config.param_offload", True, src(196)),
    Setting("actor_rollout_ref.rollout.enforce_eager", False, src(197)),
    deviation("actor_rollout_ref.rollout.free_cache_engine", False, src(198), True,
              "verl 0.9.1's colocated rollout frees vLLM's KV cache while FSDP trains (sleep mode); keeping "
              "it at 0.6 of a GPU through the update is untested on verl 0.9.1 [unverified]"),
    Setting("actor_rollout_ref.rollout.enable_chunked_prefill", False, src(199)),
    Setting("algorithm.kl_ctrl.kl_coef", 0.001, src(37)),
    Setting("trainer.critic_warmup", 0, src(202)),
    deviation("trainer.logger", ["console", "wandb"], src(203), ["console"],
              "no wandb account assumed; add it with an override"),
    Setting("trainer.n_gpus_per_node", 8, src(206)),
    Setting("trainer.nnodes", 1, src(207)),
    Setting("trainer.save_freq", 20, src(208)),
    Setting("trainer.test_freq", 5, src(209)),
    Setting("trainer.total_epochs", 30, src(38)),
    note("verifier worker", "verl RewardModelWorker (strategy=verifier) with vLLM, reward_manager=naive",
         src(162), "r1repro reward general_reasoner.verifier via verl's custom reward function",
         "verl 0.9.1 has no 'verifier' reward-model strategy; the scoring rule is the plugin's port of verifier.py"),
    note("loss averaging", "token-mean inside each micro-batch (8 per GPU), micro-batches weighted equally",
         "volcengine/verl@c62e7ac7 verl/trainer/ppo/core_algos.py (compute_policy_loss: masked_mean)",
         "verl 0.9.1 token-mean over the whole mini-batch",
         "verl 0.9.1 has no per-micro-batch token-mean mode [unverified: line not pinned, submodule not stored]"),
]
