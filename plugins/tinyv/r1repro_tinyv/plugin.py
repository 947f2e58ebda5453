"""TinyV's components, registered by name (lazy references: nothing heavy is imported here)."""

from r1repro import hookimpl, lazy

_R = "r1repro_tinyv.reward"


@hookimpl
def r1repro_rewards():
    return [
        lazy(f"{_R}:PrimeReward", "tinyv.prime", "PRIME's math grader (the paper's rule verifier), 0/1"),
        lazy(f"{_R}:MathVerifyReward", "tinyv.math_verify", "math-verify 0.9.0 as a second rule verifier, 0/1"),
        lazy(f"{_R}:TinyVReward", "tinyv.addon",
             "TinyV (paper default): rule first, the LLM verifier only when the rule says wrong", mode="addon"),
        lazy(f"{_R}:TinyVReward", "tinyv.tinyv_only", "the TinyV LLM verifier alone", mode="tinyv_only"),
        lazy(f"{_R}:TinyVReward", "tinyv.mixed", "weight * TinyV + (1 - weight) * rule", mode="mixed"),
        lazy(f"{_R}:StatedQualityVerifierReward", "tinyv.stated_verifier",
             "TinyV add-on whose verifier is the oracle with errors at stated rates (recall, false_positive)"),
        lazy(f"{_R}:OracleReward", "tinyv.oracle",
             "true equivalence on tinyv.multiform (the CPU task's answers in any form)"),
    ]  # fmt: skip


@hookimpl
def r1repro_templates():
    return [
        lazy("r1repro_tinyv.templates:TinyVBoxedTemplate", "tinyv.boxed",
             "problem + \" Let's think step by step and output the final answer within \\boxed{}.\" (TinyV's RL prompt)"),
    ]  # fmt: skip


@hookimpl
def r1repro_datasets():
    return [
        lazy("r1repro_tinyv.data:BigMathTinyV", "tinyv.bigmath",
             "zhangchenxu/bigmath_tinyv_filtered, shuffled with seed 42, 5,000 rows (the paper's RL set)"),
        lazy("r1repro_tinyv.data:HardVerifyMath", "tinyv.hardverify_math",
             "HardVerify-Math: 250 questions with a false-negative and a true-negative answer each"),
        lazy("r1repro_tinyv.data:MathBenchmarks", "tinyv.math_benchmarks",
             "AIME24 / AMC / MATH500 / Minerva / OlympiadBench: TinyV's math validation set (scored by Prime)"),
        lazy("r1repro_tinyv.data:OfficialValidation", "tinyv.official_val",
             "the official validation files: the five math benchmarks plus HardVerify-Math"),
        lazy("r1repro_tinyv.data:MultiFormTask", "tinyv.multiform",
             "generated problems whose answers have several equivalent forms (CPU scale)"),
    ]  # fmt: skip


@hookimpl
def r1repro_reproductions():
    return [
        lazy("r1repro_tinyv.reproduction:TinyVReproduction", "tinyv",
             "verifier table on HardVerify-Math; GRPO with rule vs rule + tiny TinyV vs oracle"),
    ]  # fmt: skip
