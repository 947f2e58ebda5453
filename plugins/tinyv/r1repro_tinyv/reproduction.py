"""The TinyV experiment: verifiers on HardVerify-Math, then GRPO with and without TinyV.

1. **Tiny TinyV.** Per seed, the policy's SFT warm start (shared by every arm of that seed)
   is made first; that seed's tiny TinyV is mined from its outputs and trained on them
   (`r1repro_tinyv.verifier`, cached per seed). Its held-out accuracy, false-negative
   recovery and true-negative preservation are recorded.
2. **Verifier table** on HardVerify-Math (real data): every ``fn_output`` and ``tn_output``
   boxed, scored by PRIME (``tinyv.prime``), math-verify (``tinyv.math_verify``) and PRIME +
   TinyV add-on with the configured LLM verifier (at CPU scale the tiny TinyV, which never
   saw Big-Math: the row says what it does out of its distribution).
3. **RL** on the multi-form task: arms ``rule`` (PRIME), ``tinyv`` (PRIME + tiny TinyV,
   add-on) and ``oracle`` (true equivalence), several seeds each, all evaluated by the oracle.

Derived measurements (per arm and seed), as the report defines them:

* ``final_correct`` / ``best_correct`` / ``mean_correct`` — oracle pass rate on held-out
  problems (the engine's standard measurements of ``eval/correct``).
* ``steps_to_rule_peak`` — let P* be the peak of the rule arm's seed-mean pass-rate curve
  and s* the first evaluation step where that mean curve reaches P*. For one run it is the
  first evaluation step whose pass rate is >= P* (a run that never gets there is censored
  at the last step + one evaluation interval); ``steps_to_rule_peak_ratio`` = that / s*.
* ``llm_share`` — samples sent to the LLM verifier / samples scored, over training.
* ``llm_time_share`` — seconds in the LLM verifier / step seconds, summed over training;
  ``extra_compute`` — verifier seconds / (step seconds - verifier seconds), i.e. the cost
  of the verifier relative to the same training without it.
* ``initial_rule_fn`` / ``final_rule_fn`` — share of the policy's held-out answers that
  are correct but rejected by the rule (its false negatives), at the start and the end.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from r1repro.repro.base import Reproduction
from r1repro.repro.stats import mean, std

TINY_TINYV = "tinyv:tiny"
STATED_VERIFIER = "tinyv.stated_verifier"


def _container(node: Any) -> Any:
    from r1repro.repro.run import as_container

    return as_container(node)


def _with_verifier(spec: Any, path: str) -> Any:
    """``spec`` with every ``model: tinyv:tiny`` replaced by ``path`` (None if none)."""
    found = False

    def walk(x: Any) -> Any:
        nonlocal found
        if isinstance(x, dict):
            if x.get("model") == TINY_TINYV:
                found = True
                return {**{k: walk(v) for k, v in x.items()}, "model": path}
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    out = walk(copy.deepcopy(spec))
    return out if found else None


def _fmt(vals: list[float], digits: int = 3) -> str:
    vals = [v for v in vals if v is not None and math.isfinite(v)]
    if not vals:
        return "—"
    return f"{mean(vals):.{digits}f} ± {std(vals):.{digits}f}" if len(vals) > 1 else f"{vals[0]:.{digits}f}"


class TinyVReproduction(Reproduction):
    title = "TinyV: Reducing False Negatives in Verification Improves RL for LLM Reasoning"
    arxiv = "arXiv 2505.14625"

    # ------------------------------------------------------------------------ run
    def run(self, run) -> None:
        t0 = time.time()
        with run.phase("prep_s"):  # each seed's warm start, mined pairs and tiny TinyV
            verifiers = {seed: self.prepare_verifier(run, seed) for seed in run.seeds}
        run.log(f"tiny TinyV ready, one per seed ({time.time() - t0:.0f}s): {sorted(verifiers.values())}")
        extra = self.arm_rewards(run, verifiers)
        t1 = time.time()
        first = run.seeds[0]
        arm_reward = next(iter(v["reward"] for (_, s), v in extra.items()
                               if s == first and v["reward"].get("judge")), None)  # fmt: skip
        self.verifier_table(run, verifiers[first], arm_reward)
        run.log(f"verifier table on HardVerify-Math done ({time.time() - t1:.0f}s)")
        run.train_arms(extra=extra)
        self.protocols(run)
        self.derived(run)
        self.rl_table(run)
        run.plot("eval/correct", title="oracle pass rate on held-out problems", ylabel="pass rate (oracle)")
        run.plot("eval/rule_fn", title="share of answers that are rule false negatives",
                 ylabel="correct but rejected by PRIME")  # fmt: skip
        run.plot("reward/llm_share", arms=[a for a in run.arms if a in extra] or None,
                 title="share of samples sent to the LLM verifier", ylabel="share")  # fmt: skip

    @staticmethod
    def arm_rewards(run, verifiers: dict[int, str]) -> dict[tuple[str, int], dict[str, Any]]:
        """Per (arm, seed) reward overrides: ``tinyv:tiny`` -> that seed's tiny TinyV; the
        stated-quality verifier gets the seed's own error draw (`run.component_seed`)."""
        extra = {}
        for arm in run.arms:
            over = _container((run.cfg.get("arms") or {}).get(arm)) or {}
            reward = over.get("reward")
            for seed, path in verifiers.items():
                spec = _with_verifier(reward, path) if reward else None
                if spec is not None:
                    extra[(arm, seed)] = {"reward": spec}
                elif isinstance(reward, dict) and reward.get("name") == STATED_VERIFIER:
                    seeded = {**reward, "seed": run.component_seed(seed, "stated_verifier")}
                    extra[(arm, seed)] = {"reward": seeded}
        return extra

    @staticmethod
    def protocols(run) -> None:
        """How the reproduction's own measurements are taken (the report prints it per claim)."""
        opts = _container(run.cfg.get("tiny_tinyv")) or {}
        for key in ("verifier_heldout_accuracy", "verifier_false_positive", "verifier_mined_accuracy"):
            run.set_protocol(key, (
                "the seed's tiny TinyV, greedy, on the balanced rule-negative pairs of the held-out 20% of the "
                f"verifier problems (mined from the seed's SFT policy + generated forms; {opts.get('mine_problems', 600)} "
                "mined problems x 4 samples); one item per pair"
                + ("; false positives: share of the wrong answers accepted" if key == "verifier_false_positive" else "")))
        run.set_protocol("extra_compute", "verifier seconds / (step seconds - verifier seconds), summed over the "
                         "run's GRPO steps; one value per seed")  # fmt: skip
        run.set_protocol("llm_share", "samples sent to the verifier / samples scored, mean over the GRPO steps")
        run.set_protocol("steps_to_rule_peak_ratio", "first evaluation step reaching the rule arm's seed-mean "
                         "peak of the oracle pass rate, over the step of that peak; censored runs at the last "
                         "step + one interval")  # fmt: skip

    # --------------------------------------------------------------- tiny TinyV
    def prepare_verifier(self, run, seed: int) -> str:
        """Seed ``seed``'s SFT warm start of the policy (cached), then its tiny TinyV, trained on
        that policy's outputs with the seed (cached per seed: the verifier is part of the pipeline
        a seed replicates)."""
        from r1repro.models.sft import warm_start
        from r1repro_tinyv.verifier import TinyVConfig, tiny_tinyv

        cfg = run.engine_config(run.arms[0], seed)
        policy = warm_start(cfg.model, cfg.model.sft, cfg.data, run.registry, quiet=run.quiet)
        dataset = run.registry.build("dataset", cfg.data.dataset)
        template = run.registry.build("template", cfg.data.template)
        opts = _container(run.cfg.get("tiny_tinyv")) or {}
        vcfg = TinyVConfig(**{**opts, "seed": run.component_seed(seed, "tiny_tinyv")})
        path, report = tiny_tinyv(policy, dataset, template, vcfg, quiet=run.quiet)
        self.verifier_report(run, report, seed)
        return path

    def verifier_report(self, run, report: dict[str, Any], seed: int = 0) -> None:
        held, mined = report.get("heldout", {}), report.get("heldout_mined", {})
        items, neg = held.get("items") or {}, set(held.get("negative_items") or [])
        # wrong on a negative = accepted it: the false-positive rate's items are 1 - judged right
        fp_items = {k: 1.0 - v for k, v in items.items() if k in neg} or None
        for key, val, its in (("verifier_heldout_accuracy", held.get("accuracy"), items or None),
                              ("verifier_false_positive", held.get("false_positive"), fp_items),
                              ("verifier_fn_recovery", held.get("fn_recovery"), None),
                              ("verifier_tn_preservation", held.get("tn_preservation"), None),
                              ("verifier_mined_accuracy", mined.get("accuracy"), mined.get("items"))):  # fmt: skip
            if val is not None and math.isfinite(val):
                run.record(key, "tinyv", seed, val, items=its)
        if seed != run.seeds[0]:
            return  # one table: the first seed's verifier (every seed's numbers are in the measurements)
        rows = [["all held-out pairs", int(held.get("n", 0)), held.get("accuracy"), held.get("fn_recovery"),
                 held.get("tn_preservation")],
                ["mined from the policy", int(mined.get("n", 0)), mined.get("accuracy"), mined.get("fn_recovery"),
                 mined.get("tn_preservation")]]  # fmt: skip
        for kind, r in sorted((report.get("heldout_by_kind") or {}).items()):
            rows.append([f"kind: {kind}", int(r.get("n", 0)), r.get("accuracy"), r.get("fn_recovery"),
                         r.get("tn_preservation")])  # fmt: skip
        rows = [[c if not isinstance(c, float) else (f"{c:.3f}" if math.isfinite(c) else "—") for c in r]
                for r in rows]  # fmt: skip
        cfg = report.get("config", {})
        run.table(
            "Tiny TinyV: held-out verification (rule-negatives of held-out problems)",
            ["pairs", "n", "accuracy", "FN recovery (True on equivalent)", "TN preservation (False on wrong)"],
            rows,
            note=(f"Trained on {report.get('train_pairs')} balanced pairs ({report.get('train_mined')} mined from the "
                  f"SFT policy's rule-rejected answers, the rest generated), {cfg.get('steps')} SFT steps from the "
                  "policy's warm start, the paper's prompt, answer \"True\"/\"False\". Every pair is one the rule "
                  "verifier rejects, as in the paper's training data. The paper's TinyV-1.5B: Qwen2.5-1.5B-Instruct "
                  "on ~159K pairs."),
        )  # fmt: skip

    # ----------------------------------------------------------- verifier table
    def verifier_table(self, run, verifier_path: str, arm_reward: dict | None = None) -> None:
        """fn/tn outputs of HardVerify-Math through each verifier. The add-on row uses
        ``verifier_table.judge`` if set, else the judge (and its settings) of the TinyV arm."""
        from r1repro.components import DatasetUnavailable
        from r1repro.types import Sample

        table_cfg = dict(_container(run.cfg.get("verifier_table")) or {})
        if arm_reward and not table_cfg.get("judge"):
            for key in ("judge", "verifier", "max_tokens", "think"):
                if arm_reward.get(key) is not None:
                    table_cfg.setdefault(key, arm_reward[key])
                    if table_cfg.get(key) is None:
                        table_cfg[key] = arm_reward[key]
        ds = run.registry.build("dataset", table_cfg.get("dataset", "tinyv.hardverify_math"))
        try:
            rows = ds.load("test", limit=table_cfg.get("limit"))
        except DatasetUnavailable as exc:
            run.note(f"Verifier table skipped: {exc}")
            return
        judge = table_cfg.get("judge") or {"backend": "transformers", "prefix_cache": True, "model": TINY_TINYV,
                                           "batch_size": 32}  # fmt: skip
        judge = _with_verifier(judge, verifier_path) or judge
        verifiers = [
            ("prime", "PRIME's grader (`tinyv.prime`)", {"name": "tinyv.prime"}),
            ("math_verify", "math-verify 0.9.0 (`tinyv.math_verify`)", {"name": "tinyv.math_verify"}),
            ("addon", f"PRIME + TinyV add-on, verifier: {_judge_name(judge)}",
             {"name": "tinyv.addon", "judge": judge, "question_suffix": "",
              **{k: table_cfg[k] for k in ("verifier", "max_tokens", "think") if table_cfg.get(k) is not None}}),
        ]  # fmt: skip
        wanted = table_cfg.get("verifiers") or [k for k, _, _ in verifiers]
        verifiers = [v for v in verifiers if v[0] in wanted]
        paper = table_cfg.get("paper") or {}

        def samples(field: str) -> list[Sample]:
            return [Sample(response=f"\\boxed{{{r.extra[field]}}}", ground_truth=r.ground_truth, problem=r.problem,
                           data_source=r.data_source, extra=r.extra) for r in rows]  # fmt: skip

        out_rows = []
        for key, label, spec in verifiers:
            t = time.time()
            reward = run.registry.build("reward", spec)
            fn = reward(samples("fn_output"))
            tn = reward(samples("tn_output"))
            fn_items = {str(i): float(bool(x.info.get("correct"))) for i, x in enumerate(fn)}
            tn_items = {str(i): float(not x.info.get("correct")) for i, x in enumerate(tn)}
            fn_acc, tn_rej = sum(fn_items.values()) / len(rows), sum(tn_items.values()) / len(rows)
            errors = sum("error" in r.info or "rule_error" in r.info for r in fn + tn)
            # a fixed verifier on a fixed set: one measurement (n = 1), its error from the questions
            run.record_once("hv_fn_accept", key, fn_acc, items=fn_items)
            run.record_once("hv_tn_reject", key, tn_rej, items=tn_items)
            p = paper.get(key) or {}
            out_rows.append([label, f"{fn_acc:.1%} ({round(fn_acc * len(rows))}/{len(rows)})",
                             f"{tn_rej:.1%} ({round(tn_rej * len(rows))}/{len(rows)})",
                             p.get("fn_accept", "[unverified]"), p.get("tn_reject", "[unverified]"),
                             f"{time.time() - t:.1f}s" + (f", {errors} errors" if errors else "")])  # fmt: skip
        run.table(
            f"Verifiers on HardVerify-Math ({len(rows)} questions; every answer boxed)",
            ["verifier", "fn_output accepted (should be)", "tn_output rejected (should be)",
             "paper: fn accepted", "paper: tn rejected", "time"],
            out_rows,
            note=("HardVerify-Math's fn_outputs are correct answers that PRIME rejects by construction (paper §4.1), "
                  "so PRIME's 0% is the benchmark's premise, not a result. math-verify is wired as verl's "
                  "`math_verify.compute_score` (the fact sheet measured 153/250 and 98.8% with its own wiring). The "
                  "add-on row runs the RL reward itself: PRIME first, the LLM verifier on PRIME's extracted answer. "
                  "At CPU scale that verifier is the tiny TinyV, trained only on the multi-form task; TinyV-1.5B's row "
                  "needs `verifier_table.judge` pointing at the real model (transformers or a vLLM endpoint). "
                  "Paper values the fact sheet could not confirm from the paper text are marked [unverified]."),
        )  # fmt: skip

    # ------------------------------------------------------------------ derived
    def derived(self, run) -> None:
        hist = run.histories
        every = int(run.cfg.engine.eval.every or 1)
        total = int(run.cfg.engine.trainer.total_steps)
        rule_arm = (_container(run.cfg.get("analysis")) or {}).get("baseline", "rule")
        for arm, by_seed in hist.items():
            for seed, h in by_seed.items():
                steps = [x for x in h if "timing/step" in x]
                if steps:
                    step_s = sum(x["timing/step"] for x in steps)
                    llm_s = sum(x.get("reward/llm_seconds", 0.0) for x in steps)
                    if any("reward/llm_share" in x for x in steps):
                        run.record(
                            "llm_share", arm, seed, mean([x.get("reward/llm_share", 0.0) for x in steps])
                        )
                        run.record("llm_time_share", arm, seed, llm_s / step_s if step_s else 0.0)
                        run.record("extra_compute", arm, seed, llm_s / max(step_s - llm_s, 1e-9))
                    run.record("seconds_per_step", arm, seed, step_s / len(steps))
                evals = [x for x in h if "eval/rule_fn" in x]
                if evals:
                    run.record("initial_rule_fn", arm, seed, evals[0]["eval/rule_fn"])
                    run.record("final_rule_fn", arm, seed, evals[-1]["eval/rule_fn"])
        curves = self._eval_curves(hist)
        if rule_arm not in curves:
            run.note(f"steps_to_rule_peak not computed: no baseline arm '{rule_arm}'")
            return
        rule_mean = {
            s: mean(v) for s, v in _by_step(curves[rule_arm]).items() if len(v) == len(curves[rule_arm])
        }
        if not rule_mean:
            return
        peak = max(rule_mean.values())
        s_star = min(s for s, v in rule_mean.items() if v >= peak)
        s_star = max(s_star, every)  # a peak at step 0 (before RL) is reached "after one interval"
        censored = total + every
        for arm, by_seed in curves.items():
            for seed, pts in by_seed.items():
                hit = [s for s, v in sorted(pts.items()) if v >= peak - 1e-12]
                s = hit[0] if hit else censored
                run.record("steps_to_rule_peak", arm, seed, s)
                run.record("steps_to_rule_peak_ratio", arm, seed, s / s_star)
        run.note(f"Rule arm's peak (seed mean): pass rate {peak:.3f} at step {s_star}; runs that never reach it are "
                 f"counted at step {censored} (the last step + one evaluation interval).")  # fmt: skip

    @staticmethod
    def _eval_curves(hist) -> dict[str, dict[int, dict[int, float]]]:
        out: dict[str, dict[int, dict[int, float]]] = {}
        for arm, by_seed in hist.items():
            for seed, h in by_seed.items():
                pts = {int(x["step"]): float(x["eval/correct"]) for x in h if "eval/correct" in x}
                if pts:
                    out.setdefault(arm, {})[seed] = pts
        return out

    def rl_table(self, run) -> None:
        m = run.measurements

        def vals(metric: str, arm: str) -> list[float]:
            return [v for _, v in sorted(m.get(metric, {}).get(arm, {}).items())]

        rows = []
        for arm in run.arms:
            share = vals("llm_share", arm)
            rows.append([
                arm,
                f"{_fmt(vals('initial_correct', arm))} → {_fmt(vals('final_correct', arm))}",
                _fmt(vals("best_correct", arm)),
                _fmt(vals("steps_to_rule_peak", arm), 0) + f" ({_fmt(vals('steps_to_rule_peak_ratio', arm), 2)}×)",
                f"{_fmt(vals('initial_rule_fn', arm))} → {_fmt(vals('final_rule_fn', arm))}",
                _fmt(share) if share else "—",
                _fmt(vals("extra_compute", arm)) if share else "—",
                _fmt(vals("seconds_per_step", arm), 2),
            ])  # fmt: skip
        run.table(
            "GRPO on the multi-form task: rule vs rule + tiny TinyV vs oracle (all evaluated by the oracle)",
            ["arm", "pass rate: start → final", "best", "steps to rule peak (ratio)", "FN share of answers: start → final",
             "share sent to LLM", "extra compute (verifier s / rest of step)", "s / step"],
            rows,
            note=("Pass rate = oracle correctness of one sampled answer (temperature 1) per held-out problem. "
                  "'steps to rule peak': first evaluation step at which a run's pass rate reaches the peak of the "
                  "rule arm's seed-mean curve, and its ratio to the step at which that mean curve peaks (paper: TinyV "
                  "reaches the baseline's peak in < 50% of the steps). 'FN share': answers that are correct but "
                  "rejected by PRIME, among all held-out answers."),
        )  # fmt: skip

    def report_notes(self, run) -> list[str]:
        return [
            "Scale: a ~1M-parameter policy and a ~1M-parameter verifier on generated problems whose answers have "
            "several equivalent forms; the paper trains Qwen2.5-7B on Big-Math with TinyV-1.5B. The CPU task tests "
            "the mechanism (false negatives starve GRPO of signal; a verifier that recovers them restores it), not "
            "the paper's magnitudes.",
            "TinyV sees PRIME's extracted answer, as in the official reward: named answers (`x = 3, x = -5`, "
            "`x = 1, y = 2`) are cut to their last value by PRIME's extraction, so no verifier can recover them; "
            "the oracle arm shows what a perfect verifier of the whole response would give.",
        ]


def _by_step(by_seed: dict[int, dict[int, float]]) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for pts in by_seed.values():
        for s, v in pts.items():
            out.setdefault(s, []).append(v)
    return out


def _judge_name(spec: Any) -> str:
    if isinstance(spec, dict):
        model = str(spec.get("model", spec.get("fn", "?")))
        if "tinyv-tiny-" in model:
            return "tiny TinyV (project-trained, CPU)"
        return f"{model} ({spec.get('backend', '?')})"
    return type(spec).__name__
