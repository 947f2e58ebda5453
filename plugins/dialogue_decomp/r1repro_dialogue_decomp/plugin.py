"""Hook implementations of the dialogue_decomp plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_dialogue_decomp.rm:DialogueRMReward", "dialogue_decomp.rm",
             "r_theta: the light turn-level reward model distilled from decomposed session scores"),
        lazy("r1repro_dialogue_decomp.rm:HiddenQualityReward", "dialogue_decomp.hidden_quality",
             "evaluation only: the generated world's hidden planted quality of a speaker turn"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [lazy("r1repro_dialogue_decomp.data:DialogueTurnTask", "dialogue_decomp.turns",
                 "generated listener line -> speaker turn task (planted turn quality)")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_dialogue_decomp.reproduction:DialogueDecompReproduction", "dialogue_decomp",
                 "LLM-GELI (arXiv 2505.15922): LLM reward decomposition of one session score for dialogue RL")]  # fmt: skip
