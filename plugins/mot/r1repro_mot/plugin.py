"""Hook implementations of the MoT plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy

_MODES = ("nl_cot", "code", "truth_table")


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_mot.reward:MotReward", "mot.reward",
             "MoT RL port: 1[answer == label] x 1[format filter]; modality from the prompt's tag "
             "(options modality, require_format, execute_code)"),
        lazy("r1repro_mot.reward:MotReward", "mot.reward_exec",
             "MoT RL port with code rationales executed in the sandbox (the release's older modes)",
             execute_code=True),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [
        *[lazy("r1repro_mot.templates:ModalityTemplate", f"mot.{m}",
               f"MoT <{m}> mode: official final_v2 system prompt + user template ending in <{m}>", modality=m)
          for m in _MODES],
        *[lazy("r1repro_mot.templates:ModalityTemplate", f"mot.{m}_compact",
               f"MoT <{m}> mode, CPU prompt (premises, conclusion, tag only)", modality=m, compact=True)
          for m in _MODES],
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_mot.data:ProofWriterMoT", "mot.proofwriter",
             "ProofWriter OWA depth-5, 3,000 problems as the MoT authors prepared them"),
        lazy("r1repro_mot.data:FolioMoT", "mot.folio", "FOLIO validation (204 problems with FOL)"),
        lazy("r1repro_mot.data:LogicTask", "mot.logic_task",
             "CPU task: ProofWriter-style and propositional problems of depth 1..3, solver-labelled"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_mot.reproduction:MotReproduction", "mot",
                 "Learning to Reason via Mixture-of-Thought for Logical Reasoning (arXiv 2505.15817)")]  # fmt: skip
