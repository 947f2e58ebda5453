"""Hook implementations of the NOVER plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_nover.reward:NoverReward", "nover.reward",
             "NOVER: format + rank of the reference's reasoning perplexity under a lagged proxy + efficiency"),
        lazy("r1repro_nover.data:FactsChecker", "nover.facts_checker",
             "held-out oracle of the CPU facts task (measurement only; never NOVER's reward)"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_nover.templates:NoverTemplate", "nover.template",
                 "NOVER's prompt: Question + <think>...</think> <answer>...</answer> format")]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_nover.data:NoveReason", "nover.novereason",
             "the paper's data: thinkwee/NOVEReason_2k (or the official CSVs)"),
        lazy("r1repro_nover.data:FactsTask", "nover.facts",
             "CPU task: two-hop facts in the prompt, free-form references"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_nover.reproduction:NoverReproduction", "nover",
                 "NOVER: verifier-free RL beats SFT on free-form references")]  # fmt: skip
