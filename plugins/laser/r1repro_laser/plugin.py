"""Hook implementations of the laser plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_laser.verifier:HFMathVerifier", "laser.math_verify",
             "LASER's verifier: math-verify on the boxed answer after </think>"),
        lazy("r1repro_laser.reward:LaserAccuracy", "laser.accuracy",
             "LASER's base reward: +1 correct / -0.5 wrong / -1 no box or think tags (any verifier)"),
        lazy("r1repro_laser.reward:Laser", "laser.step",
             "LASER: base reward + 0.5 for a correct response of at most target_length tokens"),
        lazy("r1repro_laser.reward:LaserD", "laser.d",
             "LASER-D: step reward with a per-difficulty target length from a periodic monitor"),
        lazy("r1repro_laser.reward:LaserDE", "laser.de",
             "LASER-DE: LASER-D + 0.5 for long, non-repetitive wrong answers (exploration)"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_laser.templates:LaserTemplate", "laser.template",
                 "question + \"Let's think step by step ... \\boxed{}.\"; response opens with <think>")]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_laser.data:DeepScaleR", "laser.deepscaler", "LASER's training set (hkust-nlp/Laser-Deepscaler-Dataset)"),
        lazy("r1repro_laser.data:Aime24", "laser.aime24", "AIME 2024, LASER's validation set (HuggingFaceH4/aime_2024)"),
        lazy("r1repro_laser.data:StepChain", "laser.step_chain",
             "CPU task: walk k steps along a fixed letter order; hard prompts need the written path"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_laser.reproduction:LaserReproduction", "laser",
                 "LASER / LASER-D: shorter responses at equal or better accuracy")]  # fmt: skip
