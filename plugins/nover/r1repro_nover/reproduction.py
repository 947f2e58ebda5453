"""NOVER at CPU scale: does verifier-free RL on free-form references raise held-out accuracy,
and does it beat plain SFT on the same question/reference pairs?

Arms (reproductions/nover/config.yaml), all of a seed from that seed's warm start (``base``):

* ``base``      the warm start, evaluated only;
* ``nover``     GRPO with NOVER's reward (format + reasoning-perplexity rank + efficiency under a
                lagged proxy copy of the policy); no answer checker anywhere in training;
* ``sft``       SFT continuation on the same kind of (question, reference) pairs, empty reasoning,
                at NOVER's budget: its learning rate, its number of optimiser steps and as many
                sequences as it samples (``sft_matches_rl``);
* ``checker``   (optional upper bound) GRPO rewarded by the held-out checker itself.

Every arm is scored by the held-out checker `nover.facts_checker` on unseen questions. The run
also measures the mechanism directly: on the warm start's own sampled answers, how often the
proxy's reasoning perplexity ranks a correct answer above an incorrect one (AUC).
"""

from __future__ import annotations

import math

from r1repro.repro.base import Reproduction


class NoverReproduction(Reproduction):
    title = "NOVER: Incentive Training for Language Models via Verifier-Free Reinforcement Learning"
    arxiv = "2505.16022"

    def run(self, run) -> None:
        from omegaconf import OmegaConf

        from r1repro.models.sft import warm_start

        cfg = run.cfg
        rl_arm = "nover"
        base_cfg = run.engine_config(rl_arm, run.seeds[0])
        base_paths = {}  # one warm start per seed, shared by that seed's arms
        with run.phase("sft_s"):  # one warm start per seed (0 when cached)
            for seed in run.seeds:
                c = run.engine_config(rl_arm, seed)
                base_paths[seed] = warm_start(c.model, c.model.sft, c.data, run.registry, quiet=run.quiet)
        run.log(f"warm starts: {base_paths}")

        sft_arms = [a for a in (cfg.get("continue_from_base") or []) if a in run.arms]
        extra = {arm: self._sft_budget(run, base_cfg, arm) for arm in sft_arms}
        plain = [a for a in run.arms if a not in sft_arms]
        run.train_arms(arms=plain)
        for arm in sft_arms:  # one SFT per seed (its data order and sample depend on the seed)
            for seed in run.seeds:
                e = OmegaConf.to_container(OmegaConf.create(extra[arm]))
                e["model"]["path"] = base_paths[seed]
                e["model"]["sft"]["seed"] = int(seed)
                run.train_arms(arms=[arm], seeds=[seed], extra={arm: e})

        for seed, path in base_paths.items():
            self._mechanism(run, path, seed)
        run.plot("eval/correct", title="held-out checker accuracy", ylabel="accuracy")
        run.plot("reward/mean", arms=[a for a in run.arms if a not in sft_arms and a != "base"],
                 title="training reward", ylabel="reward")  # fmt: skip
        run.plot("reward/ppl_mean", arms=["nover"], title="reasoning perplexity (proxy)", ylabel="P_r")
        rows = []
        for arm in run.arms:
            vals = run.measurements.get("final_correct", {}).get(arm, {})
            if vals:
                mean = sum(vals.values()) / len(vals)
                rows.append([arm, f"{mean:.3f}", ", ".join(f"{v:.3f}" for _, v in sorted(vals.items()))])
        run.table("Held-out accuracy (checker) per arm", ["arm", "mean", "per seed"], rows)

    @staticmethod
    def _sft_budget(run, rl_cfg, arm: str) -> dict:
        """The SFT arm's overrides. With ``sft_matches_rl`` (default) the SFT baseline gets NOVER's
        budget: as many optimiser steps as the RL arm takes, at the RL arm's learning rate and
        warm-up, each step on as many sequences as an RL step samples (issue 10: an SFT baseline
        at 10x NOVER's lr would lose to the untrained base too). Otherwise the arm's own config."""
        arm_sft = run.engine_config(arm, 0).model.sft
        rl_sequences = rl_cfg.trainer.total_steps * rl_cfg.trainer.batch_size * rl_cfg.rollout.n
        if not run.cfg.get("sft_matches_rl", True):
            steps, batch, lr, warmup = arm_sft.steps, arm_sft.batch_size, arm_sft.lr, arm_sft.warmup_steps
        else:
            actor = rl_cfg.actor
            per_step = math.ceil(rl_cfg.trainer.batch_size / (actor.mini_batch_size or rl_cfg.trainer.batch_size))
            steps = rl_cfg.trainer.total_steps * actor.ppo_epochs * per_step
            batch = math.ceil(rl_sequences / max(1, steps))
            lr, warmup = float(actor.lr), int(actor.warmup_steps)
        run.note(
            f"`{arm}`: SFT continuation of each seed's warm start on (question, reference) pairs with empty "
            f"reasoning: {steps} steps x {batch} sequences at lr {lr:g} (warm-up {warmup}); the RL arm trains "
            f"on {rl_sequences} sampled sequences at lr {float(rl_cfg.actor.lr):g}."
        )
        return {"model": {"sft": {"steps": int(steps), "batch_size": int(batch), "lr": lr, "warmup_steps": warmup}}}

    def _mechanism(self, run, base_path: str, seed: int = 0) -> None:
        """AUC of -P_r for correctness on seed ``seed``'s warm start's sampled answers (a reward
        sanity check; one measurement per seed, as each seed has its own warm start)."""
        from omegaconf import OmegaConf

        from r1repro.engine.local import LocalEngine

        m = run.cfg.get("mechanism") or {}
        if not m.get("enabled", True):
            return
        cfg = run.engine_config("nover", seed)
        cfg.model.path, cfg.model.sft.enabled = base_path, False
        cfg.trainer.out_dir = str(run.out_dir / "mechanism" / f"seed{seed}")
        cfg.trainer.threads = int(m.get("threads", 2))
        eng = LocalEngine(cfg, quiet=True).setup()
        rows = eng.dataset.load("test", limit=int(m.get("prompts", 32)))
        _, samples = eng.generate_samples(rows, int(m.get("n", 8)), step=1)
        reward = eng.reward
        reward.proxy.on_step_start(eng, 1)
        results = reward(samples)
        checker = run.registry.build("reward", "nover.facts_checker")
        correct = [r.info.get("correct", False) for r in checker(samples)]
        ppl = [r.info.get("ppl") for r in results]
        pairs = [(p, c) for p, c in zip(ppl, correct) if p is not None and math.isfinite(p)]
        pos = [p for p, c in pairs if c]
        neg = [p for p, c in pairs if not c]
        if pos and neg:
            # per correct answer: the share of wrong answers it beats; the AUC is their mean (the items)
            wins = [sum(1.0 if a < b else 0.5 if a == b else 0.0 for b in neg) / len(neg) for a in pos]
            auc = sum(wins) / len(wins)
            run.record("ppl_auc", "base", seed, auc, items=wins)
            run.note(
                f"Mechanism (seed {seed}): on {len(pairs)} sampled warm-start answers ({len(pos)} correct), a correct "
                f"answer's reasoning has the lower proxy perplexity P_r in {auc:.2f} of (correct, wrong) "
                "pairs (AUC; 0.5 = no signal). This is the signal NOVER trains on."
            )
        del OmegaConf

    def report_notes(self, run) -> list[str]:
        return [
            "Engine: the authors trained with TRL 0.16 (GRPOTrainer subclass) + LoRA r16/alpha32 + a vLLM server; "
            "here: the r1repro local engine (verl's loss functions), full-parameter training of a tiny Qwen2.",
            "Proxy: a lagged EMA copy of the policy (alpha and sync interval in the config), also the KL "
            "reference, as in the official code; the paper mixes LoRA adapters, we mix full parameters.",
        ]
