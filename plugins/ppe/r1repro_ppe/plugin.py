"""Hook implementations of the pPE plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy

_TAGS = ("think", "plan", "code", "knowledge", "examples")


@hookimpl
def r1repro_templates():
    return [
        *[lazy("r1repro_ppe.templates:PriorPromptTemplate", f"ppe.{t}",
               f"pPE <{t}> prior prompt (system message); response <{t}>...</{t}><answer>\\boxed{{}}</answer>",
               tag=t) for t in _TAGS],
        lazy("r1repro_ppe.templates:NoPriorPromptTemplate", "ppe.no_pp",
             "pPE 'No PP' baseline: the bare question, answer in \\boxed{}"),
    ]  # fmt: skip


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_ppe.reward:PriorPromptReward", "ppe.reward",
             "pPE: 0.5 accuracy (math-verify on the boxed answer in <answer>) + 0.5 strict per-tag format; "
             "options tag, verifier"),
        lazy("r1repro_ppe.reward:PriorPromptReward", "ppe.reward_no_pp",
             "pPE 'No PP' baseline: accuracy only (last boxed answer)", tag=None, accuracy_weight=1.0),
        lazy("r1repro.core_components:MathVerify", "ppe.math_verify",
             "the paper's checker (pPE §3.3): math-verify equivalence of the answer and the ground truth (isolated)"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_ppe.data:StillV3", "ppe.still_v3", "STILLv3 RL math data (paper's training set)"),
        lazy("r1repro_ppe.data:PriorPromptTask", "ppe.add_task",
             "CPU task: add three digits; generic mixed-style SFT start that follows prior prompts partly"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_ppe.reproduction:PPEReproduction", "ppe",
                 "Prior Prompt Engineering for Reinforcement Fine-Tuning (arXiv 2505.14157)")]  # fmt: skip
