"""The GUI-G1 experiment at CPU scale (configs: reproductions/gui_g1/).

Arms (one SFT warm start, GUI-G1's objective everywhere): ``gui_g1`` (hit + IoU + box, fast
template, difficulty weight), ``hit_only`` and ``iou_only`` (§4 reward hacking), ``thinking``
(§3: <think> before the JSON at the same token budget) and ``no_difficulty`` (rate = 1).

After training every final policy (and the warm start) answers the test screenshots greedily
and is scored with the full reward; recorded per arm and seed:

    hit@all / hit@small / hit@large   centre-in-box accuracy (ScreenSpot's metric), overall and on
                                      targets below / above the median relative size of the test set
    box_ratio                         median of predicted-box area / target area (1 = right size;
                                      the paper: hit-only shrinks it, IoU-only inflates it)
    iou, parsed                       mean IoU and share of parseable answers
"""

from __future__ import annotations

import statistics
from pathlib import Path

from r1repro.repro.base import Reproduction

REPORTED = ("hit@all", "hit@small", "hit@large", "box_ratio", "iou", "parsed")


def evaluate_policy(run, arm: str, seed: int, model_path: str, out_name: str) -> dict[str, float]:
    """Greedy answers of one policy on the test split, scored with the arm's eval reward."""
    from r1repro.engine.local import LocalEngine

    cfg = run.engine_config(arm, seed)
    cfg.model.path = model_path
    cfg.model.sft.enabled = False
    cfg.trainer.out_dir = str(run.out_dir / "grounding" / out_name)
    cfg.trainer.progress = False
    eng = LocalEngine(cfg, quiet=True).setup()
    trajs, samples = eng.generate_samples(eng.eval_rows, 1, step=10**8, temperature=0.0, evaluation=True)
    results = eng.eval_reward(samples)
    areas = [t.row.extra.get("area_ratio", 0.0) for t in trajs]
    return grounding_metrics(areas, results), grounding_items([t.row.id for t in trajs], areas, results)


def grounding_items(ids: list[str], area_ratios: list[float], results) -> dict[str, dict[str, float]]:
    """Per-prompt values of the averaged metrics (their evaluation-sampling error)."""
    cut = statistics.median(area_ratios)
    hits = {i: float(r.info.get("hit", 0.0)) for i, r in zip(ids, results)}
    return {
        "hit@all": hits,
        "hit@small": {i: h for (i, h), a in zip(hits.items(), area_ratios) if a <= cut},
        "hit@large": {i: h for (i, h), a in zip(hits.items(), area_ratios) if a > cut},
        "iou": {i: float(r.info.get("iou", 0.0)) for i, r in zip(ids, results)},
    }


def grounding_metrics(area_ratios: list[float], results) -> dict[str, float]:
    """The table's metrics from per-sample target sizes and reward results."""
    cut = statistics.median(area_ratios)
    hits = [float(r.info.get("hit", 0.0)) for r in results]
    small = [h for h, a in zip(hits, area_ratios) if a <= cut]
    large = [h for h, a in zip(hits, area_ratios) if a > cut]
    ratios = [float(r.info["box_ratio"]) for r in results if "box_ratio" in r.info]
    return {
        "hit@all": sum(hits) / len(hits),
        "hit@small": sum(small) / max(1, len(small)),
        "hit@large": sum(large) / max(1, len(large)),
        "box_ratio": statistics.median(ratios) if ratios else float("nan"),
        "iou": sum(float(r.info.get("iou", 0.0)) for r in results) / len(results),
        "parsed": sum(bool(r.info.get("parsed")) for r in results) / len(results),
    }


class GuiG1Reproduction(Reproduction):
    title = "GUI-G1: R1-Zero-like training for visual grounding in GUI agents"
    arxiv = "arXiv 2505.15810"
    derived_arms = ("warm_start",)

    def run(self, run) -> None:
        from r1repro.models.sft import warm_start

        run.train_arms()
        rows = []
        for seed in run.seeds:  # each seed's own warm start: RL vs warm start is paired by seed
            cfg = run.engine_config(run.arms[0], seed)
            if not cfg.model.sft.enabled:
                continue
            path = warm_start(cfg.model, cfg.model.sft, cfg.data, run.registry, quiet=True)
            m, items = evaluate_policy(run, run.arms[0], seed, path, f"warm_start-seed{seed}")
            for k, v in m.items():
                run.record(k, "warm_start", seed, v, items=items.get(k))
            rows.append([f"warm start (seed {seed})"] + [f"{m[k]:.3f}" for k in REPORTED])
        for arm in run.arms:
            for seed in run.seeds:
                final = Path(run.out_dir) / "arms" / arm / f"seed{seed}" / "final_model"
                if not final.exists():
                    continue
                m, items = evaluate_policy(run, arm, seed, str(final), f"{arm}-seed{seed}")
                for k, v in m.items():
                    run.record(k, arm, seed, v, items=items.get(k))
                rows.append([f"{arm} (seed {seed})"] + [f"{m[k]:.3f}" for k in REPORTED])
        run.table("Grounding on the test screenshots (greedy; full reward)", ["policy", *REPORTED], rows)
        run.plot("eval/hit", title="held-out hit (greedy)", ylabel="centre in box")
        run.plot("reward/box_ratio", title="predicted / target box area (training rollouts)", ylabel="ratio")

    def report_notes(self, run) -> list[str]:
        return [
            "CPU scale: a ~0.2M-parameter tiny Qwen2.5-VL on generated PIL screenshots; the paper trains "
            "Qwen2.5-VL-3B-Instruct on 17K public GUI screenshots and evaluates on ScreenSpot / ScreenSpot-Pro.",
            "The difficulty weight's formula is ours [unverified]; the official code reads a precomputed 'rate'.",
        ]
