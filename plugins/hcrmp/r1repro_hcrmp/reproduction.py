"""The HCRMP reproduction: four arms x seeds through the plugin's own trainer.

The core's ``train_arms`` drives the LLM engine; HCRMP's policy is a small driving agent, so
``run`` trains each (arm, seed) with `r1repro_hcrmp.trainer.Trainer` in worker processes and
records the measurements through the same `ReproRun` (seeds, per-episode items, curves, report).
"""

from __future__ import annotations

import concurrent.futures
import os
from dataclasses import fields
from typing import Any

import numpy as np

from r1repro.repro.base import Reproduction
from r1repro.repro.run import as_container


def train_config(cfg: Any, arm: str) -> Any:
    from r1repro_hcrmp.trainer import TrainConfig

    opts = {**(as_container(cfg.get("train")) or {}), **(as_container(cfg.arms.get(arm)) or {})}
    known = {f.name for f in fields(TrainConfig)}
    bad = sorted(set(opts) - known)
    if bad:
        raise ValueError(f"hcrmp: unknown train options {bad}; known: {sorted(known)}")
    return TrainConfig(**opts)


def _job(arm: str, seed: int, cfg: Any, out_dir: str, frames_dir: str | None) -> tuple[list, list]:
    """One arm and seed in a worker process (one torch thread: the workers share the cores)."""
    from pathlib import Path

    import torch

    from r1repro_hcrmp.trainer import Trainer

    torch.set_num_threads(1)
    tr = Trainer(arm, seed, cfg, out_dir)
    hist = tr.train()
    return hist, tr.evaluate(Path(frames_dir) if frames_dir else None)


class HCRMPReproduction(Reproduction):
    name = "hcrmp"
    title = "HCRMP: LLM-Hinted Contextual Reinforcement Learning (highway-env, CPU scale)"
    arxiv = "2505.15793"
    derived_arms = ()

    def run(self, run) -> None:
        arms, seeds = run.arms, run.seeds
        jobs = [(a, s) for a in arms for s in seeds]
        workers = int(run.cfg.get("workers", 0) or 0) or min(2, os.cpu_count() or 1)
        frames = run.out_dir / "frames"
        results: dict[tuple[str, int], tuple[list, list]] = {}
        with run.phase("arms_s"), concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(_job, a, s, train_config(run.cfg, a), str(run.out_dir / "arms" / a / f"seed{s}"),
                                str(frames) if s == seeds[0] else None): (a, s) for a, s in jobs}  # fmt: skip
            for f in concurrent.futures.as_completed(futs):
                results[futs[f]] = f.result()
                run.log(f"hcrmp: {futs[f][0]} seed {futs[f][1]} done")
        for (arm, seed), (hist, evals) in sorted(results.items()):
            run.histories[arm][seed] = hist
            for key, name in (("success", "success_rate"), ("collision", "collision_rate"), ("llm_calls", "llm_calls_per_episode")):
                items = [e[key] for e in evals]
                run.record(name, arm, seed, float(np.mean(items)), items=items)
            steps = [e["steps"] for e in evals]
            calls = [e["llm_calls"] for e in evals]
            if arm != "plain":
                # SCM: calls an uncached provider would make (one per step) over the calls made
                factor = [s / max(1.0, c) for s, c in zip(steps, calls)]
                run.record("cache_call_reduction", arm, seed, float(np.mean(factor)), items=factor)
        for metric, title in (("return", "episode return (default weights)"), ("success", "training success rate"),
                              ("collision", "training collision rate")):  # fmt: skip
            run.plot(metric, title=title)
        pngs = sorted(p.name for p in frames.glob("*.png")) if frames.exists() else []
        if pngs:
            run.note(f"rendered frames (first eval episode, seed {seeds[0]}): frames/ ({len(pngs)} PNGs)")

    def report_notes(self, run) -> list[str]:
        return [
            "CPU scale: highway-env highway-v0 stands in for CARLA Town 2; the LLM is a rule provider corrupted at "
            "1 - 0.5795 (HCRMP §1). No claim about the paper's 80.3% success rate is made.",
            "The critic set, KB, anchor rule (tau, beta), cache period and latency are [unverified] parameters.",
        ]
