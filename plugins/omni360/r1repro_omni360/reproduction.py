"""The 360-R1 experiment at CPU scale (configs: reproductions/omni360/).

Two arms from one SFT warm start per seed, both standard GRPO (verl's ``grpo`` estimator, the
PPO-clip loss), differing only in the reward: ``omni360`` (the paper's three rewards: reasoning
similarity + answer semantic similarity + format) and ``accuracy_only`` (exact-match answer
accuracy, the baseline the paper's "+6%" is measured against [unverified: the paper's baselines
are other MLLMs and GRPO set-ups]). Every arm is evaluated greedily on the same held-out
questions with the full reward's ``info``: ``correct`` = exact-match accuracy, overall and per
question kind (the row's domain), with per-question items.

Recorded besides the standard measurements (``final_correct``, ``final_correct@<kind>``, ...):
``gain@<kind>`` and ``gain@all`` under the derived arm ``three_minus_accuracy``: the per-question
difference of the two arms' final correctness (paired by question and seed), for the per-kind
report the paper's analysis asks for.
"""

from __future__ import annotations

from r1repro.repro.base import Reproduction
from r1repro_omni360.data import KINDS

TREATMENT, BASELINE, GAIN_ARM = "omni360", "accuracy_only", "three_minus_accuracy"


def paired_gain(after: dict[str, float] | None, before: dict[str, float] | None) -> dict[str, float] | None:
    """Item-wise ``after - before`` over the items both arms were evaluated on (None if none)."""
    if not after or not before:
        return None
    common = sorted(set(after) & set(before))
    return {k: after[k] - before[k] for k in common} or None


class Omni360Reproduction(Reproduction):
    title = "360-R1: GRPO with reasoning / answer similarity and format rewards for omnidirectional VQA"
    arxiv = "arXiv 2505.14197"
    derived_arms = (GAIN_ARM,)

    def run(self, run) -> None:
        run.train_arms()
        arms = run.arms
        if TREATMENT in arms and BASELINE in arms:
            for seed in run.seeds:
                for key, metric in [("all", "final_correct")] + [(k, f"final_correct@{k}") for k in KINDS]:
                    gain = paired_gain(
                        run.items_of(metric, TREATMENT, seed), run.items_of(metric, BASELINE, seed)
                    )
                    if gain:
                        run.record(f"gain@{key}", GAIN_ARM, seed, sum(gain.values()) / len(gain), items=gain)
        rows = []
        for arm in arms:
            for seed in run.seeds:
                m = {k: v.get(seed) for k, v in ((k, run.measurements.get(k, {}).get(arm, {})) for k in
                     ["initial_correct", "final_correct", *[f"final_correct@{k}" for k in KINDS], "final_format",
                      "final_reason", "final_answer"])}  # fmt: skip
                rows.append([f"{arm} (seed {seed})"] + ["-" if v is None else f"{v:.3f}" for v in m.values()])
        run.table("Held-out accuracy (greedy, exact match) and reward terms of the final policies",
                  ["policy", "warm start", "final", *[f"final {k}" for k in KINDS], "format", "reason sim",
                   "answer sim"], rows,
                  note="warm start = the evaluation at step 0 (the SFT policy); reason / answer sim: the "
                  "embedder's cosine to the reference reasoning / answer.")  # fmt: skip
        run.plot("eval/correct", title="held-out accuracy (greedy)", ylabel="exact match")
        run.plot("reward/score", title="training reward", ylabel="reward")

    def report_notes(self, run) -> list[str]:
        return [
            "CPU scale: a ~0.2M-parameter tiny Qwen2.5-VL on generated ERP panoramas (three coloured shapes at "
            "known azimuth / elevation, seam wrap-around, polar stretch) with OmniVQA's question-kind shares; the "
            "paper trains Qwen2.5-VL-7B-Instruct on OmniVQA (4,852 QA pairs, Stanford 2D-3D-S).",
            "The rewards' exact forms, weights and the encoder are not published: cosine similarity clipped at 0, "
            "weights 1/1/1 and all-MiniLM-L6-v2 are ours [unverified].",
        ]
