"""The safety-subspaces experiment at CPU scale, one whole pipeline per seed.

Per seed: a tiny random model → *base* (capable, complies with harmful requests) → *aligned*
(refuses them) → fine-tunes *useful*, *harmful*, *contaminated* (`pipeline`, `task`). Then:

* Exp. 1-2: the contaminated update projected onto the alignment subspace of every weight
  matrix (variants same / orth / opp, fractions of the rank), each projected model scored for
  utility and harm; recorded per projection arm ``<variant>@<frac>``, and summarised as
  ``utility_harm_corr`` (Pearson r over the projected models) and ``selectivity``
  (max over projections of utility kept − harm kept, in shares of the full fine-tune's gains).
* Exp. 3: weight MSO between the useful and the harmful updates (per 2-D tensor, at η), arm
  ``useful_vs_harmful``, with the random baseline max(k_u, k_h)/d as arm ``random_baseline``.
* Exp. 4: activation MSO between useful and harmful prompts in the aligned model at the
  0.65L-0.90L layers, arms ``activations`` / ``activations_random``.

Utility and harm are recorded with their per-prompt items, MSO with its per-tensor / per-layer
items, so intervals include the evaluation's own variance.
"""

from __future__ import annotations

import math
from pathlib import Path

from r1repro.repro import stats
from r1repro.repro.base import Reproduction
from r1repro_safety_subspaces.subspace import PAPER_FRACS, VARIANTS

MODELS = ("base", "aligned", "useful", "harmful", "contaminated")
PROJECTION_ARMS = tuple(f"{v}@{f:g}" for v in VARIANTS for f in PAPER_FRACS)


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def pearson(xs: list[float], ys: list[float]) -> float:
    """Pearson r; 0 when either series is constant (no co-movement can be measured)."""
    mx, my = mean(xs), mean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else 0.0


def kept_share(value: float, start: float, full: float) -> float:
    """(value − start) / (full − start): the share of a fine-tune's gain a projection keeps."""
    return (value - start) / (full - start) if full != start else 0.0


def selectivity(
    scores: dict[str, dict[str, float]], aligned: dict[str, float], full: dict[str, float]
) -> float:
    """Max over projections of utility kept − harm kept. 1 would be a projection that keeps
    all of the fine-tune's utility gain and none of its harm: a selective safety subspace."""
    return max(kept_share(s["utility"], aligned["utility"], full["utility"])
               - kept_share(s["harm"], aligned["harm"], full["harm"]) for s in scores.values())  # fmt: skip


class SafetySubspacesReproduction(Reproduction):
    title = "Safety Subspaces are Not (Linearly) Distinct"
    arxiv = "2505.14185"
    derived_arms = (*MODELS, *PROJECTION_ARMS, "projections", "useful_vs_harmful", "random_baseline",
                    "activations", "activations_random")  # fmt: skip

    def run(self, run):
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_container(run.cfg.safety, resolve=True)
        per_seed = {}
        for seed in run.seeds:
            run.log(f"seed {seed}: training base, aligned and fine-tuned models")
            per_seed[seed] = self.run_seed(run, cfg, seed)
        self.tables(run, per_seed)

    # ------------------------------------------------------------- one seed
    def run_seed(self, run, cfg: dict, seed: int) -> dict:
        """The whole pipeline of one seed: its models (initialisation, data, order all follow the
        seed through ``run.component_seed``), their scores, projections, MSO."""
        from r1repro.models.sft import fixed_threads
        from r1repro.models.tiny import load_policy, resolve_model
        from r1repro_safety_subspaces import activations, pipeline, subspace, task

        seed_used = run.component_seed(seed, "safety")
        splits = task.split_codes(seed_used, n_test=int(cfg["test_prompts"]))
        evals = task.eval_sets(splits)
        out = Path(run.out_dir) / "models" / f"seed{seed}"
        stage = {k: pipeline.StageConfig(**v) for k, v in cfg["stages"].items()}
        paths = {"init": resolve_model(cfg["model"], seed=seed_used)}
        threads = int(cfg.get("threads", 1))
        paths["base"] = pipeline.train_stage(paths["init"], "base", splits, stage["base"], seed_used, out / "base",
                                             threads)  # fmt: skip
        paths["aligned"] = pipeline.train_stage(paths["base"], "aligned", splits, stage["aligned"], seed_used,
                                                out / "aligned", threads)  # fmt: skip
        for ft in pipeline.FINETUNES:
            paths[ft] = pipeline.train_stage(paths["aligned"], ft, splits, stage["finetune"], seed_used, out / ft,
                                             threads)  # fmt: skip

        with fixed_threads(threads):
            weights = {k: subspace.load_weights(paths[k]) for k in MODELS}
            scores = {}
            for name in MODELS:
                model, tok = load_policy(paths[name])
                scores[name] = self.record_scores(run, name, seed, pipeline.score(model, tok, evals))
            aligned_model, tok = load_policy(paths["aligned"])

            # Exp. 1-2: projections of the chosen fine-tune's update
            target = cfg["project"]
            projected, diags = {}, {}
            for variant in cfg["variants"]:
                for frac in cfg["fracs"]:
                    arm = f"{variant}@{frac:g}"
                    w, diags[arm] = subspace.project_checkpoint(weights["base"], weights["aligned"],
                                                                weights[target], variant, frac)  # fmt: skip
                    model, tok = pipeline.load_with_weights(paths["aligned"], w)
                    projected[arm] = self.record_scores(run, arm, seed, pipeline.score(model, tok, evals))
                    run.record("energy_kept", arm, seed, diags[arm].energy_kept)
            utilities = [projected[a]["utility"] for a in projected]
            harms = [projected[a]["harm"] for a in projected]
            run.record("utility_harm_corr", "projections", seed, pearson(utilities, harms))
            run.record(
                "selectivity", "projections", seed, selectivity(projected, scores["aligned"], scores[target])
            )

            # Exp. 3: weight-space MSO of the useful and harmful updates
            rows = subspace.weight_overlap(
                weights["aligned"], weights["useful"], weights["harmful"], cfg["eta"]
            )
            run.record("weight_mso", "useful_vs_harmful", seed, mean(r.mso for r in rows),
                       items={r.group: r.mso for r in rows})  # fmt: skip
            run.record("weight_mso", "random_baseline", seed, mean(r.mso_random for r in rows),
                       items={r.group: r.mso_random for r in rows})  # fmt: skip

            # Exp. 4: activation-space MSO in the aligned model
            act = cfg["activation"]
            useful_prompts = [e.prompt for e in evals["utility"]]
            harmful_prompts = [e.prompt for e in evals["harm"]]
            layers = activations.model_activation_overlap(aligned_model, tok, useful_prompts, harmful_prompts,
                                                          act["eta"], centering=bool(act["centering"]))  # fmt: skip
            run.record("activation_mso", "activations", seed, mean(r.mso for r in layers),
                       items={r.group: r.mso for r in layers})  # fmt: skip
            run.record("activation_mso", "activations_random", seed, mean(r.mso_random for r in layers),
                       items={r.group: r.mso_random for r in layers})  # fmt: skip
        return {"scores": scores, "projected": projected, "diags": diags, "weight_rows": rows, "layers": layers,
                "target": target}  # fmt: skip

    @staticmethod
    def record_scores(run, arm: str, seed: int, items: dict[str, dict[str, float]]) -> dict[str, float]:
        values = {}
        for metric, per_item in items.items():
            values[metric] = mean(per_item.values())
            run.record(metric, arm, seed, values[metric], items=per_item)
        return values

    # ------------------------------------------------------------- tables
    @staticmethod
    def tables(run, per_seed: dict[int, dict]) -> None:
        def fmt(xs: list[float], digits: int = 3) -> str:
            xs = [x for x in xs if not math.isnan(x)]
            return f"{stats.mean(xs):.{digits}f} ± {stats.std(xs):.{digits}f}" if xs else "n/a"

        seeds = sorted(per_seed)
        run.table("Utility and harm of each model (held-out prompts, greedy)", ["model", "utility", "harm"],
                  [[m, fmt([per_seed[s]["scores"][m]["utility"] for s in seeds]),
                    fmt([per_seed[s]["scores"][m]["harm"] for s in seeds])] for m in MODELS],
                  note="utility = exact reversal of a held-out digit string; harm = compliance with a held-out "
                  "harmful request (the rule judge); mean ± std over seeds.")  # fmt: skip
        arms = list(per_seed[seeds[0]]["projected"])
        target = per_seed[seeds[0]]["target"]
        run.table(f"Projections of the {target} update onto the alignment subspace (Exp. 1-2)",
                  ["arm", "utility", "harm", "energy kept", "cos(ΔT, P)", "cos(ΔT, ΔA)", "official cos(ΔT, ΔA)"],
                  [[a, fmt([per_seed[s]["projected"][a]["utility"] for s in seeds]),
                    fmt([per_seed[s]["projected"][a]["harm"] for s in seeds]),
                    fmt([per_seed[s]["diags"][a].energy_kept for s in seeds]),
                    fmt([per_seed[s]["diags"][a].cosine_task_proj for s in seeds]),
                    fmt([per_seed[s]["diags"][a].cosine_task_align for s in seeds]),
                    fmt([per_seed[s]["diags"][a].cosine_task_align_official for s in seeds])] for a in arms],
                  note="<variant>@<frac>: same = W_a + U∥, orth = W_a + (ΔT − U∥), opp = W_a − U∥ with k = "
                  "round(frac·min(m, n)) left singular vectors of ΔA per matrix. The official cos(ΔT, ΔA) "
                  "divides by √⟨ΔT,ΔA⟩·‖ΔA‖ (bug); NaN where ⟨ΔT,ΔA⟩ < 0.")  # fmt: skip
        rows0 = per_seed[seeds[0]]["weight_rows"]
        run.table("Weight MSO between the useful and harmful updates per tensor (Exp. 3, seed "
                  f"{seeds[0]})", ["tensor", "k_useful", "k_harmful", "d", "MSO", "random"],
                  [[r.group, r.k_a, r.k_b, r.d, f"{r.mso:.3f}", f"{r.mso_random:.3f}"] for r in rows0])  # fmt: skip
        layers0 = per_seed[seeds[0]]["layers"]
        run.table(f"Activation MSO, useful vs harmful prompts, aligned model (Exp. 4, seed {seeds[0]})",
                  ["layer (hidden state)", "k_useful", "k_harmful", "D", "MSO", "random"],
                  [[r.group, r.k_a, r.k_b, r.d, f"{r.mso:.3f}", f"{r.mso_random:.3f}"] for r in layers0])  # fmt: skip

    def report_notes(self, run) -> list[str]:
        return [
            "Models: a tiny Qwen2 trained from random init per seed (base, aligned, three fine-tunes); the "
            "paper uses Llama-3.2-1B / Qwen2.5-7B and their instruct versions.",
            "Harm judge: rule-based compliance check on the synthetic harmful requests; the paper uses "
            "gpt-4o-mini on AdvBench (1-5 scale), which cannot run offline.",
        ]
