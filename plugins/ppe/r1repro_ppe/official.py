"""pPE's paper-scale settings (arXiv 2505.14157; no official code found: every value is from the
paper's text, §4.1) as verl 0.9.1 keys: the one table that the fidelity test, the README's
"Official vs ours" table and the paper-scale dry run read (`r1repro.verl_bridge.fidelity`).
Learning rate, batch, group size, lengths and KL are not stated: they are our choices, marked
[unverified] in ``scale/paper.yaml`` and absent here."""

from r1repro.verl_bridge.fidelity import Setting, note

PAPER = "arXiv 2505.14157 §4.1 [page]"

OFFICIAL = [
    Setting("actor_rollout_ref.model.path", "Qwen/Qwen2.5-7B", PAPER),
    Setting("algorithm.adv_estimator", "grpo", PAPER),
    Setting("trainer.total_training_steps", 160, PAPER + " (about 160 steps)"),
    Setting("trainer.n_gpus_per_node", 8, PAPER + " (8 x H100, 78 GPU-hours)"),
    Setting("preset.dataset", "ppe.still_v3", PAPER + " (STILLv3, ~30K math)"),
    Setting("preset.reward.name", "ppe.reward", "arXiv 2505.14157 §3.3 [page] (0.5 accuracy + 0.5 format)"),
    Setting("preset.reward.tag", "examples", "arXiv 2505.14157 Table 2 [page] (null-example: the best prior prompt)"),
    note("engine", "OpenRLHF 0.6.4 + vLLM 0.8.2", PAPER, "verl 0.9.1",
         "the paper's OpenRLHF settings are not published; the verl keys that the paper does not state are ours"),
]
