"""The official NOVER run (thinkwee/NOVER ``config.py`` + ``run_training.sh``: a TRL 0.16
``GRPOTrainer`` subclass with LoRA, one training GPU, a vLLM server on another) translated to
verl 0.9.1 keys: the one table that the fidelity test, the README's "Official vs ours" table and
the paper-scale dry run read (`r1repro.verl_bridge.fidelity`).

TRL counts completions: ``per_device_train_batch_size 8`` with ``num_generations 8`` on one GPU
is one prompt x 8 completions per optimizer step, so verl's ``data.train_batch_size`` = 1 and
``ppo_mini_batch_size`` = 1 (prompts).
"""

from r1repro.verl_bridge.fidelity import Setting, cite, deviation, note

REPO = "thinkwee/NOVER@cb1a4ef"
RAW_CHAT_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"
"""A chat template that passes the prompt through untouched: the official data feeds the base
model the raw NOVER prompt (``format_dataset.py``), with no chat markup."""

# Table 1 of the paper: one run per NOVEReason sub-dataset (official CSV names in dataset/).
SUBSETS = {
    "nr": "NaturalReasoning",
    "gt": "GeneralThought",
    "webit": "WebInstruct",
    "ssgen": "SS-GEN",
    "emobench": "EmoBench",
    "tombench": "ToMBench",
    "opus_books_all_pairs": "OPUS-books",
}


src = cite(REPO, "config.py")


OFFICIAL = [
    Setting("actor_rollout_ref.model.path", "Qwen/Qwen2.5-7B", "paper §4.1 / Table 1 (config.py:30 is a placeholder)"),
    Setting("preset.dataset.csv", "nr", "paper Table 1 (one run per sub-dataset, dataset/*.csv; set subset=...): the default is NR"),
    Setting("actor_rollout_ref.model.custom_chat_template", RAW_CHAT_TEMPLATE,
            src(127, "data_loader.py") + " (a plain-text prompt: TRL applies no chat template)"),
    Setting("algorithm.adv_estimator", "grpo", "TRL GRPOTrainer"),
    Setting("algorithm.norm_adv_by_std_in_grpo", False, src(65) + " (scale_rewards=False)"),
    Setting("algorithm.use_kl_in_reward", False, "TRL GRPO puts beta*KL in the loss"),
    Setting("data.train_batch_size", 1, src(43) + " (8 completions per device / 8 generations; 1 GPU, "
            "run_training.sh:33)"),
    Setting("actor_rollout_ref.actor.ppo_mini_batch_size", 1, src(44) + " (gradient_accumulation_steps 1)"),
    Setting("actor_rollout_ref.rollout.n", 8, src(45)),
    Setting("trainer.total_epochs", 2, src(48)),
    Setting("actor_rollout_ref.actor.ppo_epochs", 1, src(49) + " (num_iterations)"),
    Setting("actor_rollout_ref.actor.optim.lr", 1e-5, src(50)),
    Setting("actor_rollout_ref.actor.use_kl_loss", True, src(51) + " (beta > 0)"),
    Setting("actor_rollout_ref.actor.kl_loss_coef", 0.1, src(51)),
    Setting("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", "TRL 0.16 per-token KL exp(r-p)-(r-p)-1 (k3)"),
    Setting("trainer.save_freq", 100, src(55)),
    Setting("preset.reward.proxy.sync_every", 100, src(55) + " (the proxy mixes in on every save)"),
    Setting("data.max_response_length", 2048, src(61)),
    Setting("actor_rollout_ref.rollout.temperature", 0.6, src(62)),
    Setting("actor_rollout_ref.actor.clip_ratio_low", 0.1, src(66) + " (epsilon)"),
    Setting("actor_rollout_ref.actor.clip_ratio_high", 0.2, src(67) + " (epsilon_high)"),
    Setting("preset.reward.proxy.alpha", 0.9, src(71) + " (ref_model_mixup_alpha)"),
    Setting("actor_rollout_ref.model.lora_rank", 16, src(97)),
    Setting("actor_rollout_ref.model.lora_alpha", 32, src(98)),
    Setting("actor_rollout_ref.model.target_modules",
            ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], src(102)),
    Setting("actor_rollout_ref.model.enable_gradient_checkpointing", True, src(307)),
    Setting("actor_rollout_ref.actor.loss_agg_mode", "token-mean",
            "trl v0.16 GRPOTrainer.compute_loss: sum over the batch's tokens / their count [unverified line]"),
    note("lm_head", "trained in full (modules_to_save=['lm_head'])", src(103), "frozen",
         "verl 0.9.1's LoRA has no modules_to_save; the output layer keeps its base weights"),
    note("lora_dropout", 0.1, src(99), "0 (verl's LoRA config has no dropout key)",
         "verl 0.9.1 builds LoraConfig without dropout"),
    note("KL reference", "the lagged proxy (sync_ref_model: mixed alpha 0.9 with the policy every 100 steps)",
         src(70) + "-71", "the initial model (verl's reference worker; the LoRA base without adapter)",
         "verl 0.9.1's reference worker cannot take the proxy's weights; the proxy is the reward model only"),
    deviation("trainer.n_gpus_per_node", "1 training GPU + 1 vLLM server GPU", "run_training.sh:33, "
              "run_vllm_server.sh", 2, "verl colocates training and rollout on the same 2 GPUs"),
]
