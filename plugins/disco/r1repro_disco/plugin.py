"""Hook implementations of the disco plugin: lazy references, nothing heavy is imported."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro_disco.reward:DiscoWeighted", "disco.weighted",
             "DISCO: base reward x ln(1+1/p_domain) x 1/(group self-consistency); pair with no-std GRPO"),
        lazy("r1repro_disco.reward:DomainMatch", "disco.domain_match",
             "DISCO's binary base reward: math / multiple-choice letter / NQ alias / sentiment rules"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [lazy("r1repro_disco.templates:DiscoTemplate", "disco.template",
                 "the prompt as written (DISCO's prompts carry their own instructions)")]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_disco.data:DiscoMain", "disco.main",
             "MoeReward/combined_rlhf_dataset_grpo_<main>_main: 75% one domain, 1/12 each other"),
        lazy("r1repro_disco.data:DomainFacts", "disco.domain_facts",
             "CPU task: per-domain fact tables with the paper domains' answer formats, 75% / 12.5% / 12.5%"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_disco.reproduction:DiscoReproduction", "disco",
                 "DISCO: GRPO vs Dr.GRPO vs DISCO on imbalanced multi-domain data")]  # fmt: skip
