"""Hook implementations of the stepsearch plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_stepsearch.reward:StepSearchReward", "stepsearch.step",
             "StepSearch: F1 + 0.618*key coverage at the end, 0.6*(IG - RP) on each </search> token"),
        lazy("r1repro_stepsearch.reward:GlobalOnlyReward", "stepsearch.global",
             "StepSearch's ablation: F1 + 0.618*key coverage, no step rewards"),
        lazy("r1repro_stepsearch.reward:OutcomeEM", "stepsearch.outcome_em",
             "Search-R1 outcome reward: exact match of the last <answer>"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [
        lazy("r1repro_stepsearch.templates:StepSearchTemplate", "stepsearch.paper",
             "StepSearch's official prompt (plan / search / observation / answer)"),
        lazy("r1repro_stepsearch.templates:CPUTemplate", "stepsearch.cpu",
             "short search/answer prompt for the tiny CPU policy"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_stepsearch.data:MusiDataset", "stepsearch.musi",
             "StepSearch's MuSiQue-derived set (Zill1/StepSearch-musi-dataset)"),
        lazy("r1repro_stepsearch.data:WorldDataset", "stepsearch.world",
             "CPU task: 2-/3-hop questions over a generated world with a distractor corpus"),
    ]  # fmt: skip


@hookimpl
def r1repro_environments():
    return [lazy("r1repro_stepsearch.env:SearchEnvironment", "stepsearch.search",
                 "search loop of StepSearch / Search-R1: top-3 docs in <information>, warnings, final turn")]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_stepsearch.reproduction:StepSearchReproduction", "stepsearch",
                 "StepSearch: step rewards vs final-reward-only PPO vs Search-R1 outcome reward")]  # fmt: skip
