"""The official GUI-G1 run (Yuqi-Zhou/GUI-G1 ``src/open-r1-multimodal/run_scripts/run.sh`` and the
defaults of ``grpo_rec.py`` / ``trainer/grpo_config.py``, a TRL-style GRPO trainer) as verl 0.9.1 keys:
the one table that the fidelity test, the README's "Official vs ours" table and the paper-scale dry
run read (`r1repro.verl_bridge.fidelity`)."""

from r1repro.verl_bridge.fidelity import Setting, cite, note

REPO = "Yuqi-Zhou/GUI-G1@e581fe9"
SH = "src/open-r1-multimodal/run_scripts/run.sh"
REC = "src/open-r1-multimodal/src/open_r1/grpo_rec.py"
TRAINER = "src/open-r1-multimodal/src/open_r1/trainer/grpo_trainer.py"
CONFIG = "src/open-r1-multimodal/src/open_r1/trainer/grpo_config.py"

src = cite(REPO, SH)

OFFICIAL = [
    Setting("actor_rollout_ref.model.path", "Qwen/Qwen2.5-VL-3B-Instruct",
            "paper (run.sh:17 leaves BASE_MODEL_PATH)"),
    Setting("algorithm.adv_estimator", "gui_g1", src(645, TRAINER) + " (A = r - mean, '## Fix')"),
    Setting("actor_rollout_ref.actor.policy_loss.loss_mode", "gui_g1.token_sum",
            src(739, TRAINER) + " (rate * token-sum / 64)"),
    Setting("preset.reward.name", "gui_g1.grounding", src(37) + " (--reward_funcs iou hit box)"),
    Setting("data.max_prompt_length", 1024, src(20)),
    Setting("data.max_response_length", 128, src(36)),
    Setting("actor_rollout_ref.rollout.n", 8, src(21)),
    Setting("data.train_batch_size", 8, src(22) + "-23 (4 GPUs x 8 completions x grad-acc 2 = 64 = 8 prompts x 8)"),
    Setting("actor_rollout_ref.actor.ppo_mini_batch_size", 8, src(23) + " (one optimiser step per batch)"),
    Setting("actor_rollout_ref.actor.ppo_epochs", 1, src(241, CONFIG) + " (num_iterations 1)"),
    Setting("actor_rollout_ref.actor.optim.lr", 1e-6, src(35)),
    Setting("actor_rollout_ref.rollout.temperature", 0.9, src(38)),
    Setting("actor_rollout_ref.actor.use_kl_loss", False, src(39) + " (--beta 0.0: no reference model)"),
    Setting("algorithm.use_kl_in_reward", False, src(39)),
    Setting("actor_rollout_ref.actor.clip_ratio", 0.2, src(245, CONFIG) + " (epsilon)"),
    Setting("trainer.total_epochs", 1, src(31)),
    Setting("trainer.n_gpus_per_node", 4, src(9)),
    Setting("actor_rollout_ref.rollout.name", "vllm", src(40)),
    note("image pixels", "min 3136 / max 12,845,056", src(114, REC) + "-119",
         "the checkpoint's processor (same bounds)", "verl's processor is the checkpoint's AutoProcessor"),
    note("difficulty weight", "precomputed 'rate' field of the data JSON", src(503, TRAINER),
         "Row.extra['rate'] -> side_info", "needs trainer.v1.trainer_mode=r1repro_sync; stock verl: rate 1"),
    note("precision / parallelism", "bf16, DeepSpeed ZeRO-3, flash-attn 2", src(12) + "-29",
         "verl FSDP", "engine difference, same math"),
]  # fmt: skip
