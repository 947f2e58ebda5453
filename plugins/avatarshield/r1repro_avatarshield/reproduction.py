"""The AvatarShield experiment at CPU scale (configs: reproductions/avatarshield/).

Arms (each from its seed's SFT warm start on labelled clips, plain GRPO objective):
``avatarshield`` (accuracy + format + temporal-compensation reward, residual stream on),
``no_temporal`` (the same without the temporal reward and the shuffled group: plain GRPO) and
``no_residual`` (the full reward, frames only). The SFT warm start itself is the derived arm
``warm_start``: the supervised baseline the paper's GRPO-from-labels is compared with.

Every final policy answers held-out clips greedily, once, scored with R_acc; recorded per arm
and seed with per-clip items:

    acc@all        accuracy on in-domain test clips (half real, half fake)
    acc@temporal   balanced accuracy, real clips vs temporally inconsistent fakes (jitter)
    acc@spatial    balanced accuracy, real vs texture-artifact fakes
    acc@identity   balanced accuracy, real vs identity-drift fakes
    acc@heldout    balanced accuracy on the cross-domain split (real vs stutter / blocky)
    format         share of responses in the <think>/<answer> format

A balanced accuracy's items are weighted so that their mean *is* the balanced accuracy
(`balanced_items`), so its interval carries the evaluation-sampling error.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from r1repro.repro.base import Reproduction
from r1repro_avatarshield.data import HELD_OUT

REPORTED = ("acc@all", "acc@temporal", "acc@spatial", "acc@identity", "acc@heldout", "format")
SUBSETS = {"acc@temporal": ("jitter",), "acc@spatial": ("texture",), "acc@identity": ("drift",)}


def balanced_items(ids: list[str], correct: list[float], classes: list[str]) -> dict[str, float]:
    """Per-item values whose mean is the balanced accuracy over ``classes`` (item i weighs
    N / (K n_class(i)), K = number of classes present)."""
    counts: dict[str, int] = defaultdict(int)
    for c in classes:
        counts[c] += 1
    n, k = len(ids), len(counts)
    return {i: v * n / (k * counts[c]) for i, v, c in zip(ids, correct, classes)}


def detection_items(rows, correct: list[float], held_out: bool = False) -> dict[str, dict[str, float]]:
    """The per-item values of every accuracy metric for one evaluation set."""
    ids = [r.id for r in rows]
    label = [r.ground_truth for r in rows]
    gen = [r.extra.get("generator", "real") for r in rows]
    if held_out:
        return {"acc@heldout": balanced_items(ids, correct, label)}
    out = {"acc@all": dict(zip(ids, correct))}
    for metric, fakes in SUBSETS.items():
        keep = [j for j, g in enumerate(gen) if g == "real" or g in fakes]
        if keep and {label[j] for j in keep} == {"real", "fake"}:
            out[metric] = balanced_items([ids[j] for j in keep], [correct[j] for j in keep], [label[j] for j in keep])
    return out


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def evaluate_policy(run, arm: str, seed: int, model_path: str, out_name: str) -> tuple[dict[str, float], dict]:
    """Greedy answers of one policy on the in-domain and held-out test clips."""
    from omegaconf import OmegaConf

    from r1repro.engine.local import LocalEngine

    cfg = run.engine_config(arm, seed)
    cfg.model.path = model_path
    cfg.model.sft.enabled = False
    cfg.trainer.out_dir = str(Path(run.out_dir) / "detection" / out_name)
    cfg.trainer.progress = False
    cfg.data.limit = 1  # the engine loads training rows; evaluation needs none
    eng = LocalEngine(cfg, quiet=True).setup()
    settings = OmegaConf.to_container(run.cfg.get("detection_eval") or {}, resolve=True)
    spec = OmegaConf.to_container(cfg.data.dataset, resolve=True) if OmegaConf.is_config(cfg.data.dataset) \
        else cfg.data.dataset  # fmt: skip
    n = int(settings.get("clips", 64))
    sets = {False: eng.registry.build("dataset", spec).load("test", limit=n),
            True: eng.registry.build("dataset", spec, generators=list(HELD_OUT)).load("test_heldout", limit=n)}  # fmt: skip
    items: dict[str, dict[str, float]] = {}
    fmt: dict[str, float] = {}
    for held_out, rows in sets.items():
        _, samples = eng.generate_samples(rows, 1, step=10**8, temperature=0.0, evaluation=True)
        results = eng.eval_reward(samples)
        correct = [float(r.info.get("accuracy", 0.0)) for r in results]
        items.update(detection_items(rows, correct, held_out))
        fmt.update({("h-" if held_out else "") + r.id: float(x.info.get("format", 0.0)) for r, x in zip(rows, results)})
    items["format"] = fmt
    return {k: mean(v.values()) for k, v in items.items()}, items


class AvatarShieldReproduction(Reproduction):
    title = "AvatarShield: Visual RL for Human-Centric Video Forgery Detection"
    arxiv = "arXiv 2505.15173"
    derived_arms = ("warm_start",)

    def run(self, run) -> None:
        from r1repro.models.sft import warm_start

        run.train_arms()
        rows: list[list[Any]] = []

        def record(arm: str, seed: int, path: str, label: str) -> None:
            m, items = evaluate_policy(run, arm if arm in run.arms else run.arms[0], seed, path, f"{arm}-seed{seed}")
            for k, v in m.items():
                run.record(k, arm, seed, v, items=items.get(k))
            rows.append([label] + [f"{m.get(k, float('nan')):.3f}" for k in REPORTED])

        for seed in run.seeds:
            first = run.engine_config(run.arms[0], seed)
            if first.model.sft.enabled:
                path = warm_start(first.model, first.model.sft, first.data, run.registry, quiet=True)
                record("warm_start", seed, path, f"SFT warm start (seed {seed})")
        for arm in run.arms:
            for seed in run.seeds:
                final = Path(run.out_dir) / "arms" / arm / f"seed{seed}" / "final_model"
                if final.exists():
                    record(arm, seed, str(final), f"{arm} (seed {seed})")
        run.table("Detection on held-out clips (greedy, one answer per clip)", ["policy", *REPORTED], rows,
                  note="acc@temporal / spatial / identity / heldout are balanced accuracies (real vs that kind "
                  "of fake); the warm start is evaluated with the first arm's inputs (residual stream on).")  # fmt: skip
        run.plot("reward/temporal_bonus", title="mean temporal bonus per training response", ylabel="bonus")
        run.plot("reward/accuracy", title="training accuracy (ordered frames)", ylabel="R_acc")

    def report_notes(self, run) -> list[str]:
        return [
            "CPU scale: a ~0.2M-parameter tiny Qwen2.5-VL on generated 4-frame clips of a drawn figure; the paper "
            "trains a 7B-class video MLLM with a VQ-VAE residual encoder on FakeHumanVid (unreleased).",
            "The temporal reward's constants (mu 0.8, alpha 0.3, > 0.1, G/2 shuffled) are Video-R1's T-GRPO "
            "values [unverified for AvatarShield]; the residual stream is a fixed low-pass codec's residual fed to "
            "the same vision tower, not the paper's VQ-VAE + second ViT.",
        ]
