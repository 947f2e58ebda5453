"""The Pixel Reasoner experiment at CPU scale (configs: reproductions/pixel_reasoner/).

Per seed: one warm start (`warm_start`: SFT of the tiny VLM on generated traces, a share of them
zooming, some self-correcting: the paper's stage 1), then RL arms from it (stage 2), all with
``A = r - mean`` (no std division, KL 0) and the visual-tools rollout:

    pixel_reasoner   correctness + curiosity bonus + efficiency penalty (the paper)
    no_curiosity     correctness only (the paper's ablation: tool use is expected to collapse)
    text_only        the same warm start, tools disabled (a call returns an error observation and
                     the correctness reset zeroes answers after it): GRPO without pixel-space
                     reasoning

Recorded per arm and seed: ``accuracy`` and ``tool_rate`` of the final policy on held-out zoom
questions (greedy; per-prompt items), and ``late_tool_rate``: the share of training rollouts with
a valid visual operation over the last third of the RL steps (items per step), the paper's
"rate of pixel-space reasoning" curve. The warm start itself is evaluated as arm ``warm_start``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from r1repro.repro.base import Reproduction


def _plain(node: Any) -> Any:
    """A config node as plain Python (strings stay strings)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node


def warm_start_spec(run, seed: int) -> dict[str, Any]:
    """Everything the seed's warm start depends on, as plain data (its cache key and its job)."""
    from omegaconf import OmegaConf

    from r1repro.models.tiny import resolve_model
    from r1repro.paths import cache_dir

    sft = OmegaConf.to_container(run.cfg.warm_start, resolve=True)
    sft.pop("workers", None)  # how many run at once changes no number (one thread each)
    eng = run.engine_config(run.arms[0], seed)
    sft_seed = run.component_seed(seed, "warm_start")
    base = resolve_model(eng.model.path, seed=int(eng.model.init_seed))
    env_opts = {k: v for k, v in _plain(eng.rollout.environment).items() if k != "name"}
    key = hashlib.sha256(json.dumps([Path(base).name, sft, sft_seed, _plain(eng.data.dataset),
                                     eng.data.template, env_opts, 1], sort_keys=True, default=str).encode()).hexdigest()[:16]  # fmt: skip
    return {"base": str(base), "sft": sft, "seed": sft_seed, "dataset": _plain(eng.data.dataset),
            "template": eng.data.template, "env": env_opts, "quiet": True,
            "out": str(cache_dir() / "models" / f"pixel-reasoner-sft-{key}")}  # fmt: skip


def train_warm_start(spec: dict[str, Any]) -> str:
    """SFT of the tiny VLM on generated tool traces (the paper's stage 1), trained once and cached.
    A module-level function of plain data, so seeds' warm starts can run in worker processes."""
    from r1repro.engine.vl import train_sft_vl
    from r1repro.registry import get_registry
    from r1repro_pixel_reasoner.data import sft_examples

    out, sft = Path(spec["out"]), spec["sft"]
    if (out / "config.json").is_file():
        return str(out)
    reg = get_registry()
    rows = reg.build("dataset", spec["dataset"]).load("sft", limit=int(sft["examples"]), seed=spec["seed"])
    tool_opts = {k: v for k, v in spec["env"].items() if k not in ("max_tool_calls", "max_images", "enabled")}
    examples = sft_examples(rows, reg.build("template", spec["template"]), float(sft["tool_fraction"]),
                            float(sft["self_correction"]), spec["seed"], tool_opts,
                            crop_reading=float(sft.get("crop_reading", 0.0)))  # fmt: skip
    train_sft_vl(spec["base"], examples, out, steps=int(sft["steps"]), batch_size=int(sft["batch_size"]),
                 lr=float(sft["lr"]), warmup_steps=int(sft.get("warmup_steps", 20)), seed=spec["seed"],
                 quiet=spec["quiet"], token_budget=sft.get("token_budget"))  # fmt: skip
    return str(out)


def warm_starts(run) -> dict[int, str]:
    """Every seed's warm start; the ones not cached train side by side (``warm_start.workers``,
    default one per core), each on one thread, so the numbers do not depend on how many ran."""
    from r1repro.repro.jobs import Job, run_graph

    specs = {seed: warm_start_spec(run, seed) for seed in run.seeds}
    todo = [seed for seed, spec in specs.items() if not (Path(spec["out"]) / "config.json").is_file()]
    for seed in todo:
        run.log(
            f"seed {seed}: warm start ({specs[seed]['sft']['steps']} steps) -> {Path(specs[seed]['out']).name}"
        )
    cached = [seed for seed in specs if seed not in todo]
    if cached:  # the report's wall time then covers only part of the pipeline: say so
        run.note(f"The warm starts of seeds {cached} came from the cache (trained earlier with the same settings); "
                 f"this run trained {todo or 'none'}, so its wall time is less than a run from an empty cache.")  # fmt: skip
    done = run_graph([Job(seed, train_warm_start, (specs[seed],)) for seed in todo],
                     workers=int(run.cfg.warm_start.get("workers", 0) or 0), desc="warm starts", log=run.log)  # fmt: skip
    return {seed: done.get(seed, spec["out"]) for seed, spec in specs.items()}


def evaluate_policy(run, arm: str, seed: int, model_path: str) -> dict[str, dict[str, float]]:
    """Per-prompt accuracy and tool use of one policy on the test split (greedy)."""
    from r1repro.engine.local import LocalEngine

    cfg = run.engine_config(arm, seed)
    cfg.model.path = model_path
    cfg.model.sft.enabled = False
    cfg.trainer.out_dir = str(Path(run.out_dir) / "eval" / f"{arm}-seed{seed}")
    cfg.trainer.progress = False
    eng = LocalEngine(cfg, quiet=True).setup()
    trajs, samples = eng.generate_samples(eng.eval_rows, 1, step=10**8, temperature=0.0, evaluation=True)
    results = eng.eval_reward(samples)
    ids = [str(t.row.id) for t in trajs]
    return {
        "accuracy": {i: float(r.info.get("accuracy", 0.0)) for i, r in zip(ids, results)},
        "tool_rate": {i: float(r.info.get("used_tool", 0.0)) for i, r in zip(ids, results)},
    }


def late_rate(
    history: list[dict[str, float]], key: str = "reward/used_tool", frac: float = 1 / 3
) -> dict[str, float]:
    """The per-step values of ``key`` over the last ``frac`` of the training steps."""
    steps = [h for h in history if key in h]
    tail = steps[-max(1, round(len(steps) * frac)) :] if steps else []
    return {f"step{int(h['step'])}": float(h[key]) for h in tail}


class PixelReasonerReproduction(Reproduction):
    title = "Pixel Reasoner: incentivizing pixel-space reasoning with curiosity-driven RL"
    arxiv = "arXiv 2505.15966"
    derived_arms = ("warm_start",)

    def run(self, run) -> None:
        with run.phase("sft_s"):  # this plugin's own VLM warm start, one per seed
            starts = warm_starts(run)
        extra: dict[Any, dict[str, Any]] = {
            (a, s): {"model": {"path": starts[s], "sft": {"enabled": False}}}
            for a in run.arms
            for s in run.seeds
        }
        histories = run.train_arms(extra=extra)
        rows = []
        for seed in run.seeds:
            for arm, path in [("warm_start", starts[seed])] + [
                (a, str(Path(run.out_dir) / "arms" / a / f"seed{seed}" / "final_model")) for a in run.arms
            ]:
                items = evaluate_policy(run, run.arms[0] if arm == "warm_start" else arm, seed, path)
                for metric, per in items.items():
                    run.record(metric, arm, seed, sum(per.values()) / max(1, len(per)), items=per)
                late = late_rate(histories[(arm, seed)]) if arm != "warm_start" else {}
                if late:
                    run.record("late_tool_rate", arm, seed, sum(late.values()) / len(late), items=late)
                rows.append([arm, seed, f"{run.measurements['accuracy'][arm][seed]:.3f}",
                             f"{run.measurements['tool_rate'][arm][seed]:.3f}",
                             f"{sum(late.values()) / len(late):.3f}" if late else "-"])  # fmt: skip
        run.set_protocol("accuracy", "test split of pixel_reasoner.zoom, greedy, 1 sample per prompt")
        run.set_protocol("tool_rate", "test split of pixel_reasoner.zoom, greedy, 1 sample per prompt")
        run.set_protocol("late_tool_rate", "training rollouts (temperature 1), last third of the RL steps")
        run.table("Final policies on held-out zoom questions", ["arm", "seed", "accuracy", "tool rate (eval)",
                  "tool rate (last third of training)"], rows)  # fmt: skip
        for metric in ("reward/used_tool", "reward/accuracy"):
            run.plot(metric, title=f"{metric} during RL")

    def report_notes(self, run) -> list[str]:
        return [
            "Policy: a ~0.2M-parameter tiny Qwen2.5-VL (random init, project tokenizer) warm-started on generated "
            "traces; the paper starts RL from Qwen2.5-VL-7B SFT'd on ~7,500 GPT-4o traces.",
            "Task: the pattern of one tiny tile on a 1008-px canvas; the model's 252-px view blurs every "
            "pattern into the same colour, so only a crop shows it (the paper: V*, TallyQA, InfoVQA, MVBench).",
            "Zero-advantage groups are not dropped from the batch (the official filter); they contribute "
            "zero advantage but count in the token-mean denominator.",
        ]
