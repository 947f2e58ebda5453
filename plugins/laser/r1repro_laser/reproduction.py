"""The LASER experiment: GRPO vs LASER vs LASER-D (vs LASER-DE) from one SFT warm start.

Arms and seeds come from ``reproductions/laser/config.yaml``. After training, every final
policy (and the shared SFT start) answers the test prompts greedily once more, so accuracy
and response length can be reported per difficulty (the task's step count): the paper's
second claim is that LASER-D shortens easy prompts more than hard ones.

Recorded per arm and seed, besides the engine's standard ``final_*`` measurements:
``correct@<k>-step`` / ``length@<k>-step`` (final policy, avg@4 at ``eval.temperature``), ``token_reduction`` (1 -
length / the GRPO arm's length of the same seed), ``accuracy_change`` (vs GRPO, same seed)
and ``easy_minus_hard_shortening`` (the relative shortening vs GRPO on the easiest prompts
minus that on the hardest ones).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from r1repro.repro.base import Reproduction

BASELINE = "grpo"


def step_key(domain: str) -> int:
    try:
        return int(domain.split("-")[0])
    except ValueError:
        return 0


def evaluate_policy(
    run, arm: str, seed: int, model_path: str, out_name: str, samples_per_prompt: int = 4
) -> dict[str, float]:
    """Accuracy and length per difficulty of one policy on the reproduction's test rows
    (``eval.temperature``, ``samples_per_prompt`` responses per prompt: the paper's avg@k)."""
    from r1repro.components import is_correct
    from r1repro.engine.local import LocalEngine

    cfg = run.engine_config(arm, seed)
    cfg.model.path = model_path
    cfg.model.sft.enabled = False
    cfg.trainer.out_dir = str(run.out_dir / "by_difficulty" / out_name)
    cfg.trainer.progress = False
    cfg.trainer.threads = 1
    eng = LocalEngine(cfg, quiet=True).setup()
    _, samples = eng.generate_samples(
        eng.eval_rows, samples_per_prompt, step=10**8, temperature=cfg.eval.temperature, evaluation=True
    )
    results = eng.eval_reward(samples)
    by: dict[str, list[tuple[bool, int]]] = defaultdict(list)
    per_prompt: dict[str, list[tuple[bool, int]]] = defaultdict(list)
    for i, (s, r) in enumerate(zip(samples, results)):
        by[s.domain].append((is_correct(r), s.length))
        by["all"].append((is_correct(r), s.length))
        per_prompt[str(eng.eval_rows[i // samples_per_prompt].id)].append((is_correct(r), s.length))
    out = {}
    for d, vals in by.items():
        out[f"correct@{d}"] = sum(c for c, _ in vals) / len(vals)
        out[f"length@{d}"] = sum(n for _, n in vals) / len(vals)
    # per-prompt means (over its samples): the items that carry the evaluation error of the @all numbers
    items = {"correct@all": {k: sum(c for c, _ in v) / len(v) for k, v in per_prompt.items()},
             "length@all": {k: sum(n for _, n in v) / len(v) for k, v in per_prompt.items()}}  # fmt: skip
    return out, items


def diff_items(run, metric: str, arm: str, baseline: str, seed: int) -> dict[str, float] | None:
    """Prompt-wise ``arm - baseline`` of ``metric`` (same seed, same prompts), or None."""
    a, b = run.items_of(metric, arm, seed), run.items_of(metric, baseline, seed)
    if a and b and set(a) == set(b):
        return {k: a[k] - b[k] for k in a}
    return None


class LaserReproduction(Reproduction):
    title = "LASER / LASER-D: adaptive length-based step reward shaping"
    arxiv = "arXiv 2505.15612"

    def run(self, run) -> None:
        run.train_arms()
        self.by_difficulty(run)
        run.plot("eval/correct", title="held-out accuracy (sampled)", ylabel="accuracy")
        run.plot("eval/response_length", title="held-out response length (sampled)", ylabel="tokens")
        run.plot("response/length_mean", title="training response length (sampled)", ylabel="tokens")
        for bucket in ("easy", "medium", "hard"):
            run.plot(f"laser/target_{bucket}", arms=[a for a in run.arms if a.startswith("laser_d")] or None,
                     title=f"LASER-D target length, {bucket} bucket", ylabel="tokens")  # fmt: skip

    def by_difficulty(self, run) -> None:
        from r1repro.models.sft import warm_start
        from r1repro.repro.stats import mean, std

        seeds, arms = run.seeds, run.arms
        stats: dict[str, dict[int, dict[str, float]]] = defaultdict(dict)
        first = run.engine_config(arms[0], seeds[0])
        for seed in seeds:  # each seed's own warm start
            cfg = run.engine_config(arms[0], seed)
            if cfg.model.sft.enabled:
                sft_path = warm_start(cfg.model, cfg.model.sft, cfg.data, run.registry, quiet=True)
                stats["sft start"][seed] = evaluate_policy(run, arms[0], seed, sft_path, f"sft-seed{seed}")[0]
        for arm in arms:
            for seed in seeds:
                path = Path(run.out_dir) / "arms" / arm / f"seed{seed}" / "final_model"
                if not path.exists():
                    continue
                m, items = evaluate_policy(run, arm, seed, str(path), f"{arm}-seed{seed}")
                stats[arm][seed] = m
                for k, v in m.items():
                    run.record(k, arm, seed, v, items=items.get(k))
        protocol = (f"{first.eval.dataset or first.data.dataset} / {first.eval.split}, {first.eval.limit} prompts, "
                    f"temperature {first.eval.temperature:g}, 4 samples per prompt (avg@4), final policy")  # fmt: skip
        for key in ("correct@all", "length@all", "token_reduction", "accuracy_change", "easy_minus_hard_shortening"):
            run.set_protocol(key, protocol)
        domains = sorted({k.split("@", 1)[1] for s in stats.values() for m in s.values() for k in m} - {"all"},
                         key=step_key)  # fmt: skip
        if not domains:
            return
        easy, hard = f"length@{domains[0]}", f"length@{domains[-1]}"
        base = stats.get(BASELINE, {})
        for arm in arms:
            for seed, m in stats.get(arm, {}).items():
                b = base.get(seed)
                if not b or arm == BASELINE:
                    continue
                run.record("token_reduction", arm, seed, 1 - m["length@all"] / max(b["length@all"], 1e-9))
                # both arms answered the same prompts: the prompt-wise differences are its items
                run.record("accuracy_change", arm, seed, m["correct@all"] - b["correct@all"],
                           items=diff_items(run, "correct@all", arm, BASELINE, seed))
                cut_easy = 1 - m[easy] / max(b[easy], 1e-9)
                cut_hard = 1 - m[hard] / max(b[hard], 1e-9)
                run.record("shortening_easy", arm, seed, cut_easy)
                run.record("shortening_hard", arm, seed, cut_hard)
                run.record("easy_minus_hard_shortening", arm, seed, cut_easy - cut_hard)

        def cell(arm: str, key: str) -> str:
            vals = [m[key] for m in stats.get(arm, {}).values() if key in m]
            if not vals:
                return "—"
            return f"{mean(vals):.3g} ± {std(vals):.2g}" if len(vals) > 1 else f"{vals[0]:.3g}"

        rows: list[list[Any]] = []
        for arm in ["sft start", *arms]:
            if arm in stats:
                rows.append([arm, cell(arm, "correct@all"), cell(arm, "length@all")]
                            + [f"{cell(arm, f'correct@{d}')} / {cell(arm, f'length@{d}')}" for d in domains])  # fmt: skip
        run.table(
            "Accuracy and response length (tokens) per difficulty, final policies (avg@4)",
            ["arm", "accuracy", "length", *[f"{d}: acc / len" for d in domains]],
            rows,
            note=f"Mean ± std over seeds {seeds} ('sft start': seed {seeds[0]}'s warm start; every seed has its own). "
            f"The task's test split, 4 responses per prompt at temperature {first.eval.temperature}.",
        )

    def report_notes(self, run) -> list[str]:
        return [
            "CPU-scale stand-in: a ~0.9M-parameter policy on a generated task (walk k steps along a fixed "
            "order of letters) whose hard prompts need the written path and whose easy prompts need no "
            "reasoning; token lengths are the paper's divided by ~400 (L_T 4096 -> 10; 16K responses -> 24 tokens). The paper's headline is "
            "on AIME24 with a 1.5B reasoning model.",
            "LASER-D's monitor is the paper's procedure (a fixed subset of training prompts, 8 rollouts each, "
            "every `every` steps and before the first step) run through the local engine's on_step_start hook.",
        ]
