"""General-Reasoner at CPU scale: on questions whose answers are free-form, does a generative
model verifier train the policy where an exact-match rule verifier cannot?

Steps (reproductions/general_reasoner/config.yaml):

1. train (once per seed, cached) the tiny generative verifier (`tiny_verifier.py`) and measure it: decision
   accuracy, false-positive and false-negative rates on held-out generated verifications, and its
   agreement with the oracle on the warm-start policy's own answers;
2. train the arms from each seed's warm start (and that seed's verifier): ``rule`` (a realistic,
   math-verify-like rule verifier: equal up to case, punctuation, articles and word order, not up to
   synonyms), ``oracle`` (a perfect verifier: the control) and ``model_verifier`` (the paper's
   reward with the tiny verifier as judge); ``base`` is the warm start evaluated only;
3. score every arm with the held-out oracle `general_reasoner.pets_checker` on unseen questions.
"""

from __future__ import annotations

from r1repro.repro.base import Reproduction


class GeneralReasonerReproduction(Reproduction):
    title = "General-Reasoner: Advancing LLM Reasoning Across All Domains"
    arxiv = "2505.14652"

    def run(self, run) -> None:
        from r1repro_general_reasoner.reward import TINY_VERIFIER_ALIAS, make_judge
        from r1repro_general_reasoner.tiny_verifier import (
            TinyVerifierConfig,
            ensure_tiny_verifier,
            evaluate_verifier,
            verification_examples,
        )

        opts = dict(run.cfg.get("tiny_verifier") or {})
        judge_opts = dict((run.cfg.get("verifier_eval") or {}).get("judge") or {})
        n_eval = int((run.cfg.get("verifier_eval") or {}).get("examples", 400))
        max_tokens = int((run.cfg.get("verifier_eval") or {}).get("max_tokens", 36))
        paths, rows = {}, []
        with run.phase("prep_s"):  # each seed's verifier, trained and evaluated
            for seed in run.seeds:  # one verifier per seed: it is part of the pipeline a seed replicates
                vcfg = TinyVerifierConfig(**{**opts, "seed": run.component_seed(seed, "tiny_verifier")})
                path = paths[seed] = ensure_tiny_verifier(vcfg, quiet=run.quiet)
                run.log(f"tiny verifier, seed {seed}: {path}")
                judge = make_judge({"backend": "transformers", "model": path, **judge_opts})
                metrics = evaluate_verifier(judge, verification_examples(n_eval, seed=vcfg.seed + 1000), max_tokens)
                agreement = self._agreement_on_policy_answers(run, judge, seed)
                run.record("verifier_accuracy", "verifier", seed, metrics["accuracy"], items=metrics["items"])
                if agreement is not None:
                    run.record("verifier_policy_agreement", "verifier", seed, agreement["accuracy"],
                               items=agreement["items"])
                rows.append([f"seed {seed}: held-out generated verifications", f"{metrics['accuracy']:.3f}",
                             f"{metrics['false_positive_rate']:.3f}", f"{metrics['false_negative_rate']:.3f}",
                             int(metrics["n"])])  # fmt: skip
                if agreement is not None:
                    rows.append([f"seed {seed}: its warm-start policy's sampled answers", f"{agreement['accuracy']:.3f}",
                                 f"{agreement['false_positive_rate']:.3f}", f"{agreement['false_negative_rate']:.3f}",
                                 int(agreement["n"])])  # fmt: skip
        run.table("Tiny generative verifier vs the oracle", ["set", "accuracy", "false positive rate",
                                                           "false negative rate", "n"], rows,
                  note="A decision is 'Yes' iff the reply contains 'Final Decision: Yes' (greedy decoding).")  # fmt: skip

        # arms that name the alias get their seed's verifier trained above (the alias alone would
        # resolve to the default TinyVerifierConfig, a different cached model)
        extra = {}
        for arm in run.arms:
            reward = run.engine_config(arm, 0).reward
            judge_spec = reward.get("judge") if hasattr(reward, "get") else None
            if hasattr(judge_spec, "get") and judge_spec.get("model") == TINY_VERIFIER_ALIAS:
                for seed, path in paths.items():
                    extra[(arm, seed)] = {"reward": {"judge": {"model": path}}}
        run.train_arms(extra=extra)
        for arm in run.arms:  # what RL changed, item-wise on the same held-out prompts
            for seed, final in run.measurements.get("final_correct", {}).get(arm, {}).items():
                start = run.measurements.get("initial_correct", {}).get(arm, {}).get(seed)
                if start is not None:
                    run.record("gain_correct", arm, seed, final - start,
                               items=run.gain_items("final_correct", "initial_correct", arm, seed))
        run.plot("eval/correct", title="held-out oracle accuracy", ylabel="accuracy")
        trained = [a for a in run.arms if a != "base"]
        run.plot("reward/correct", arms=trained, title="share of rollouts the training verifier accepts",
                 ylabel="accepted")  # fmt: skip
        rows = []
        for arm in run.arms:
            vals = run.measurements.get("final_correct", {}).get(arm, {})
            if vals:
                rows.append([arm, f"{sum(vals.values()) / len(vals):.3f}",
                             ", ".join(f"{v:.3f}" for _, v in sorted(vals.items()))])  # fmt: skip
        run.table("Held-out oracle accuracy per arm", ["arm", "mean", "per seed"], rows)

    def _agreement_on_policy_answers(self, run, judge, seed: int = 0):
        """The verifier's decisions vs the oracle on answers seed ``seed``'s warm start samples."""
        from r1repro.engine.local import LocalEngine
        from r1repro_general_reasoner.data import PetsChecker
        from r1repro_general_reasoner.tiny_verifier import evaluate_verifier
        from r1repro_general_reasoner.verifier import extract_solution

        opts = run.cfg.get("verifier_eval") or {}
        n_prompts, n = int(opts.get("policy_prompts", 32)), int(opts.get("policy_samples", 4))
        if n_prompts <= 0:
            return None
        cfg = run.engine_config(run.arms[0], seed)
        cfg.trainer.out_dir = str(run.out_dir / "verifier_audit" / f"seed{seed}")
        eng = LocalEngine(cfg, quiet=True).setup()
        rows = eng.dataset.load("test", limit=n_prompts, seed=1)
        _, samples = eng.generate_samples(rows, n, step=1)
        examples = [{"question": s.problem, "ground_truth": str(s.ground_truth),
                     "student": extract_solution(s.response + "\n"), "label": r.info["correct"]}
                    for s, r in zip(samples, PetsChecker()(samples))]  # fmt: skip
        return evaluate_verifier(judge, examples, int(opts.get("max_tokens", 36)))

    def report_notes(self, run) -> list[str]:
        return [
            "Engine: the authors trained with verl (submodule at c62e7ac7, about v0.3) + vLLM 0.8.3 and a custom "
            "verifier RewardModelWorker; here: the r1repro local engine (verl's loss functions) at CPU scale and "
            "verl 0.9.1 with the reward as a custom reward function at paper scale.",
            "Verifier: the paper's is TIGER-Lab/general-verifier (Qwen2.5-Math-1.5B); ours is a tiny Qwen2 trained "
            "here on generated verifications, prompted with the paper's prompt verbatim (as one chat user message, "
            "the format it was trained on).",
        ]
