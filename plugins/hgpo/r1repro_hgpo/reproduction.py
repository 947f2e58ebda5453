"""The LHRM / HGPO experiment at CPU scale (configs: reproductions/hgpo/).

1. Cold start (HFT): a tiny policy is fine-tuned on `hgpo.compose` responses whose mode is
   drawn at random for easy and hard prompts alike (the engine's cached SFT warm start).
2. Arms trained from it (reproductions/hgpo/config.yaml): ``hgpo`` (mode-forced rollout,
   ``hgpo.reward``, the ``hgpo`` estimator), ``hgpo_delta0`` (the same with δ = 0: the control
   that isolates the margin) and ``grpo`` (the same reward's verifier score, free rollouts,
   verl's GRPO — does RL alone, without HGPO's inter-mode reward, learn to skip thinking?).
   Arm ``hft`` is the cold start itself (zero RL steps).
3. The HAcc protocol (`r1repro_hgpo.hacc`) on held-out prompts for every arm's final policy
   (for ``hft``: the cold start, with each seed's sampling): HAcc with the mode chosen between
   the two tags and under free decoding (``hacc_free``), accuracy, think-rate and length,
   overall and per difficulty, each with its per-prompt items.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from r1repro.repro.base import Reproduction

REPORTED = ("hacc", "correct", "think_rate", "length", "untagged_free", "acc_forced_think", "acc_forced_no_think",
            "ideal_think")  # fmt: skip


def hacc_job(path: str, spec: dict[str, Any], seed: int, threads: int) -> dict[str, float]:
    """HAcc protocol for one checkpoint (module-level so a process pool can run it)."""
    import torch

    from r1repro.registry import get_registry
    from r1repro_hgpo.hacc import Policy, evaluate_hybrid, record_items

    torch.set_num_threads(max(1, threads))
    reg = get_registry()
    template = reg.build("template", spec["template"])
    rows = reg.build("dataset", spec["dataset"]).load(spec["split"], limit=spec["limit"])
    policy = Policy(
        path, template, max_new_tokens=spec["max_new_tokens"], max_prompt_length=spec["max_prompt_length"]
    )
    metrics, records = evaluate_hybrid(policy, rows, reg.build("reward", spec["verifier"]), k=spec["k"],
                                       temperature=spec["temperature"], seed=seed, margin=spec["margin"],
                                       prefer=spec["prefer"], choose=spec["choose"])  # fmt: skip
    return {"metrics": metrics, "items": record_items(records)}


class HgpoReproduction(Reproduction):
    title = "LHRM / HGPO: think only when you need (arXiv 2505.14631)"
    arxiv = "arXiv 2505.14631"

    def run(self, run) -> None:
        from r1repro.repro.run import as_container

        run.train_arms()
        spec = dict(as_container(run.cfg.get("hacc")) or {})
        jobs: list[tuple[str, int, str]] = []
        for seed in run.seeds:
            for arm in run.arms:
                final = run.out_dir / "arms" / arm / f"seed{seed}" / "final_model"
                if final.exists():
                    jobs.append((arm, seed, str(final)))
        workers = max(1, int(run.cfg.get("workers", 0) or 0) or (os.cpu_count() or 1))
        threads = max(1, (os.cpu_count() or 1) // workers)
        run.log(
            f"HAcc protocol on {len(jobs)} checkpoints ({spec.get('limit')} prompts, k={spec.get('k')} per mode)"
        )
        if workers == 1:
            results = [hacc_job(p, spec, s, threads) for _, s, p in jobs]
        else:
            import multiprocessing

            with ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn")
            ) as pool:
                results = list(pool.map(hacc_job, [p for _, _, p in jobs], [spec] * len(jobs),
                                        [s for _, s, _ in jobs], [threads] * len(jobs)))  # fmt: skip
        for (arm, seed, _), result in zip(jobs, results):
            for key, value in result["metrics"].items():
                run.record(key, arm, seed, value, items=result["items"].get(key))
        self._tables(run, [a for a in run.arms if any(j[0] == a for j in jobs)])
        run.plot(
            "eval/correct",
            title="held-out accuracy (greedy, mode chosen between the tags)",
            ylabel="accuracy",
        )
        run.plot(
            "eval/mode_is_think", title="held-out think-rate (greedy)", ylabel="share of responses in <think>"
        )
        run.plot("reward/mean", title="training reward (verifier score)", ylabel="reward")

    @staticmethod
    def _tables(run, arms: list[str]) -> None:
        from r1repro.repro import stats

        m = run.measurements

        def cell(metric: str, arm: str) -> str:
            vals = [v for _, v in sorted(m.get(metric, {}).get(arm, {}).items())]
            if not vals:
                return "—"
            return f"{stats.mean(vals):.3f} ± {stats.std(vals):.3f}" if len(vals) > 1 else f"{vals[0]:.3f}"

        cols = ["hacc", "hacc_free", "correct", "length", "untagged_free", "correct_free"]
        run.table("HAcc protocol: overall (mean ± std over seeds)", ["arm", *cols],
                  [[a, *[cell(c, a) for c in cols]] for a in arms],
                  note="hacc: share of held-out prompts whose self-chosen mode is the better one for that policy "
                       "(k forced samples per mode; within the margin, the shorter mode). The mode is chosen greedily "
                       "between the two tags; hacc_free: the same with the mode a plain greedy decode opens with (no tag: a miss); "
                       "untagged_free: share of plain greedy decodes that open with no tag; correct_free: accuracy "
                       "of those plain decodes.")  # fmt: skip
        rows = []
        for a in arms:
            for d in ("easy", "hard"):
                rows.append([a, d, *[cell(f"{c}_{d}", a) for c in
                                     ("think_rate", "correct", "hacc", "length", "acc_forced_think", "acc_forced_no_think",
                                      "ideal_think")]])  # fmt: skip
        run.table("By difficulty", ["arm", "prompts", "think-rate", "accuracy", "HAcc", "length", "acc forced think",
                                    "acc forced no-think", "ideal = think"], rows,
                  note="acc forced *: accuracy of k responses sampled at T=1 with the mode forced; ideal = think: share "
                       "of prompts whose better mode is thinking.")  # fmt: skip

    def report_notes(self, run) -> list[str]:
        return [
            "Arm hft is the cold-start policy (no RL step), evaluated once per seed with that seed's sampling.",
            "The forced tag is never *sampled* in training, so HGPO's objective gives the first position no signal "
            "against non-tag tokens; on a tiny policy part of that mass leaks (untagged_free). The mode choice is "
            "therefore read between the two tags; plain GRPO (free rollouts) has no such leak.",
        ]
