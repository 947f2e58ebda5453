"""Hook implementations of the distill_source plugin: lazy references, nothing heavy is imported.

The dataset-statistics component (`r1repro_distill_source.stats`) is a plain module any plugin
imports; the hooks register the released distilled sets."""

from r1repro import hookimpl, lazy


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_distill_source.data:AMThinkingDistilled", "distill_source.am_thinking",
             "a-m-team/AM-Thinking-v1-Distilled (hub; R1REPRO_DATA_DIR for a local jsonl)"),
        lazy("r1repro_distill_source.data:AMQwen3Distilled", "distill_source.am_qwen3",
             "a-m-team/AM-Qwen3-Distilled (hub; R1REPRO_DATA_DIR for a local jsonl)"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [lazy("r1repro_distill_source.reproduction:DistillSourceReproduction", "distill_source",
                 "Not All Correct Answers Are Equal (arXiv 2505.14464): teachers' data quality -> students")]  # fmt: skip
