"""Hook implementations of the General-Reasoner plugin: lazy references only."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_general_reasoner.reward:GeneralVerifierReward", "general_reasoner.verifier",
             "generative verifier: 'Final Decision: Yes' -> 1 - length penalty; nothing extracted -> -0.5"),
        lazy("r1repro_general_reasoner.data:PetsChecker", "general_reasoner.pets_checker",
             "held-out oracle of the CPU pets task (measurement only)"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_general_reasoner.templates:GeneralReasonerTemplate", "general_reasoner.template",
                 "question + 'Please reason step by step, and put your final answer within \\boxed{}.'")]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_general_reasoner.data:WebInstructVerified", "general_reasoner.webinstruct_verified",
             "the paper's data: TIGER-Lab/WebInstruct-verified"),
        lazy("r1repro_general_reasoner.data:PetsTask", "general_reasoner.pets",
             "CPU task: who owns what, answers with many equivalent spellings"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_general_reasoner.reproduction:GeneralReasonerReproduction", "general_reasoner",
                 "General-Reasoner: a model verifier trains where a rule verifier cannot")]  # fmt: skip
