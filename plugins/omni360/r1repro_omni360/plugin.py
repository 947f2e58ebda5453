"""Hook implementations of the omni360 plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [lazy("r1repro_omni360.reward:Omni360Reward", "omni360.r1",
                 "360-R1: reasoning similarity + answer semantic similarity + format; terms, weights, embedder options")]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_omni360.templates:R1Template", "omni360.r1",
                 "360-R1: ERP panorama + question; <think> reasoning then <answer>")]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_omni360.data:OmniSynthetic", "omni360.synthetic",
             "CPU task: ERP panoramas drawn in code; identification / attribute / spatial questions"),
        lazy("r1repro_omni360.data:OmniVQA", "omni360.omnivqa", "OmniVQA (not public): local copy only"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_omni360.reproduction:Omni360Reproduction", "omni360",
                 "360-R1: three rewards vs accuracy-only GRPO on generated omnidirectional VQA")]  # fmt: skip
