"""Components the core itself provides, registered as plugin ``core``.

These are the generic pieces a paper plugin builds on: the R1-Zero prompt templates, a
generated arithmetic task (used by tests and toy runs), exact-match and weighted-sum
rewards, the single- and multi-turn rollout strategies, and a toy calculator tool
environment that exercises the multi-turn path.
"""

from __future__ import annotations

from r1repro.hookspecs import hookimpl
from r1repro.registry import lazy


@hookimpl
def r1repro_templates():
    return [
        lazy("r1repro.core_components:BoxedTemplate", "core.boxed",
             "problem + \"Let's think step by step and output the final answer within \\boxed{}.\""),
        lazy("r1repro.core_components:R1ZeroTemplate", "core.r1_zero",
             "DeepSeek-R1-Zero prompt: <think> reasoning </think> <answer> answer </answer>"),
        lazy("r1repro.core_components:PlainTemplate", "core.plain", "the problem as is; the answer is the response"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro.core_components:ArithmeticTask", "core.arithmetic",
             "generated integer arithmetic (a op b), worked solutions for SFT"),
        lazy("r1repro.core_components:JsonlDataset", "core.jsonl", "rows from a local JSONL/JSON/parquet file"),
    ]  # fmt: skip


@hookimpl
def r1repro_rewards():
    return [
        lazy("r1repro.core_components:ExactMatch", "core.exact_match",
             "1 if the extracted answer equals the ground truth after whitespace/LaTeX-light normalisation"),
        lazy("r1repro.core_components:NumericMatch", "core.numeric_match",
             "1 if the extracted answer equals the ground truth as a number (rel. tolerance)"),
        lazy("r1repro.core_components:WeightedSum", "core.weighted_sum",
             "sum of weighted rewards: terms=[{reward: spec, weight: w}]"),
    ]  # fmt: skip


@hookimpl
def r1repro_rollouts():
    return [
        lazy("r1repro.engine.rollout:SingleTurn", "core.single_turn", "one generation per response"),
        lazy("r1repro.engine.rollout:MultiTurn", "core.multi_turn",
             "generate / environment step / masked observation, until done"),
    ]  # fmt: skip


@hookimpl
def r1repro_environments():
    return [
        lazy("r1repro.core_components:CalculatorEnv", "core.calculator",
             "toy tool: <tool_call>expr</tool_call> -> <tool_response>value</tool_response>"),
    ]  # fmt: skip
