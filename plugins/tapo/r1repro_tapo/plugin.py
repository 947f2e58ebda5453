"""Hook implementations of the TAPO plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_tapo.reward:BinaryAccuracy", "tapo.reward",
             "TAPO: binary answer accuracy (verifier option, default math-verify); per-template counts"),
        lazy("r1repro.core_components:MathVerify", "tapo.math_verify",
             "the paper's checker (TAPO §4.1): math-verify equivalence of the answer and the ground truth (isolated)"),
    ]  # fmt: skip


@hookimpl
def r1repro_rollouts():
    return [
        lazy("r1repro_tapo.rollout:TemplateGuided", "tapo.guided",
             "TAPO: retrieve |g| thought templates by PCC; step-wise rollouts with injected (masked) "
             "action instructions; one advantage group per question; unguided in evaluation"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_tapo.data:MathLevels", "tapo.math_l3to5", "MATH levels 3-5 (TAPO's training data)"),
        lazy("r1repro_tapo.data:OpsChainTask", "tapo.ops_chain",
             "CPU task: start value + k small operations (PCC = k+1), easy and sparse hard part, guided/unguided SFT start"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_tapo.reproduction:TAPOReproduction", "tapo",
                 "Thought-Augmented Policy Optimization / TemplateRL (arXiv 2505.15692)")]  # fmt: skip
