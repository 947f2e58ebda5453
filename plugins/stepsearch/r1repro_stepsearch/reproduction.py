"""The StepSearch experiment: PPO with step rewards vs PPO with the final reward only vs a
Search-R1-style outcome reward, all PPO with a critic (GAE, gamma = lambda = 1) from one warm start.

After training, every final policy (and the shared warm start) answers the test questions
greedily; recorded per arm and seed: ``em@<k>-hop`` / ``f1@<k>-hop`` and ``@all``,
``searches`` (searches per question) and ``redundancy_rate`` (share of retrieved documents
already retrieved earlier in the episode), the paper's Table 1 / Fig. 4 quantities.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from r1repro.repro.base import Reproduction

METRICS = ("em", "f1", "searches", "redundancy_rate")


def evaluate_policy(run, arm: str, seed: int, model_path: str, out_name: str):
    """EM / F1 per hop count, searches per question and redundancy of one policy (greedy):
    the means and, per metric, each question's value (the evaluation-sampling error of the mean,
    keyed by question id so that arms of a seed pair question by question)."""
    from r1repro.engine.local import LocalEngine
    from r1repro_stepsearch.reward import StepSearchReward

    cfg = run.engine_config(arm, seed)
    cfg.model.path = model_path
    cfg.model.sft.enabled = False
    cfg.trainer.out_dir = str(run.out_dir / "by_hops" / out_name)
    cfg.trainer.progress = False
    eng = LocalEngine(cfg, quiet=True).setup()
    trajs, samples = eng.generate_samples(eng.eval_rows, 1, step=10**8, temperature=0.0, evaluation=True)
    return hop_metrics([t.row.id for t in trajs], samples, StepSearchReward()(samples))


def hop_metrics(ids, samples, results) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """``<metric>@<k>-hop`` and ``<metric>@all``: means and per-question items."""
    items: dict[str, dict[str, float]] = defaultdict(dict)
    for qid, s, r in zip(ids, samples, results):
        for bucket in (s.domain, "all"):
            for m in METRICS:
                items[f"{m}@{bucket}"][str(qid)] = float(r.info.get(m, 0.0))
    return {k: sum(v.values()) / len(v) for k, v in items.items()}, dict(items)


class StepSearchReproduction(Reproduction):
    title = "StepSearch: step-wise PPO rewards for a multi-turn search agent"
    arxiv = "arXiv 2505.15107"

    def run(self, run) -> None:
        run.train_arms()
        self.by_hops(run)
        run.plot("eval/f1", title="held-out F1 (greedy)", ylabel="F1")
        run.plot("reward/searches", title="searches per rollout (training)", ylabel="searches")
        run.plot(
            "reward/redundancy_rate", title="redundant retrievals (training)", ylabel="share of documents"
        )

    def by_hops(self, run) -> None:
        from r1repro.models.sft import warm_start
        from r1repro.repro.stats import mean

        stats: dict[str, dict[int, dict[str, float]]] = defaultdict(dict)
        for seed in run.seeds:  # each seed's own warm start
            cfg = run.engine_config(run.arms[0], seed)
            if cfg.model.sft.enabled:
                path = warm_start(cfg.model, cfg.model.sft, cfg.data, run.registry, quiet=True)
                m, _ = evaluate_policy(run, run.arms[0], seed, path, f"sft-seed{seed}")
                stats["warm start"][seed] = m
        for arm in run.arms:
            for seed in run.seeds:
                path = Path(run.out_dir) / "arms" / arm / f"seed{seed}" / "final_model"
                if not path.exists():
                    continue
                m, items = evaluate_policy(run, arm, seed, str(path), f"{arm}-seed{seed}")
                stats[arm][seed] = m
                for k, v in m.items():
                    run.record(k, arm, seed, v, items=items[k])
        cols = sorted({k for s in stats.values() for m in s.values() for k in m})
        rows: list[list[Any]] = []
        for arm, by_seed in stats.items():
            rows.append([arm] + [f"{mean([m[c] for m in by_seed.values() if c in m]):.3f}" for c in cols])
        if rows:
            run.table("Test questions by hop count (greedy; mean over seeds)", ["arm", *cols], rows)

    def report_notes(self, run) -> list[str]:
        return [
            "CPU scale: a ~0.9M-parameter policy on a generated 2-/3-hop world with a BM25 corpus; the "
            "official run is Qwen2.5-3B on MuSiQue with an E5 + reranker retriever over wiki-18.",
            "All arms train with PPO and a critic (GAE, gamma = lambda = 1); only the reward differs.",
        ]
