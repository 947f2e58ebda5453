"""Hook implementations of the toy plugin."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_toy.components:ShortestCorrect", "toy.shortest_correct",
             "group-aware: 1 for a correct answer, +0.5 for the shortest correct one of its group"),
        lazy("r1repro_toy.components:DigitShare", "toy.digits",
             "group-aware: share of digits, +0.5 for the group's best (varies for a random model)"),
        lazy("r1repro_toy.components:CountingReward", "toy.counting",
             "exact match that counts training steps (stateful: checkpointed and resumed)"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_toy.components:TaggedTemplate", "toy.tagged", "answer inside <answer></answer>")]


@hookimpl
def r1repro_datasets():
    return [lazy("r1repro_toy.components:AddTask", "toy.add", "single-digit addition")]


@hookimpl
def r1repro_advantage_estimators():
    return [lazy("r1repro_toy.components:centered", "toy.centered")]


@hookimpl
def r1repro_policy_losses():
    return [lazy("r1repro_toy.components:reinforce", "toy.reinforce")]


@hookimpl
def r1repro_environments():
    return [lazy("r1repro_toy.components:HintEnv", "toy.hint", "one tool call: <tool_call>hint</tool_call>")]


@hookimpl
def r1repro_rollouts():
    return [lazy("r1repro_toy.components:HalfForced", "toy.half_forced",
                 "half of each group starts with a forced 'The answer is'")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_toy.reproduction:ToyReproduction", "toy", "toy reproduction for the test suite")]
