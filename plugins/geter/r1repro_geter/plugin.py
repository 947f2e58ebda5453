"""Hook implementations of the GETER plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [lazy("r1repro_geter.reward:ETRReward", "geter.reward",
                 "GETER RL port (text-only): 1[label correct] + lam x ROUGE-L(explanation); option lam")]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_geter.templates:ETRTemplate", "geter.etr",
                 "GETER instruction (system, ends with the official sentence) + question and chains")]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [lazy("r1repro_geter.data:ETRTask", "geter.etr",
                 "CPU task: generated temporal KG, BFS chains in a window, yes/no/unsure, template explanations")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_geter.reproduction:GeterReproduction", "geter",
                 "GETER: graph soft token vs text-only fine-tuning (arXiv 2505.15245)")]  # fmt: skip
