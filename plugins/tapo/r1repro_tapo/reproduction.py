"""The TAPO experiment: template-guided rollouts vs plain (Dr.)GRPO rollouts, same everything else.

Arms (``reproductions/tapo/config.yaml``) share the SFT start, the binary reward and the
estimator (verl ``grpo`` without std normalisation = Dr.GRPO, ``seq-mean-token-sum-norm``, β = 0);
they differ only in the rollout strategy: ``core.single_turn`` vs ``tapo.guided``. Both are
evaluated *unguided* (the trained policy on plain prompts). Besides the standard measurements:

* ``final_correct@pcc<k>`` — accuracy by problem size (the dataset's domain is ``pcc<k>``);
* ``gain_correct`` — final minus initial (SFT start) unguided accuracy;
* ``train_hit_rate`` — mean training reward (share of correct rollouts, the paper's "hit rate");
* ``train_zero_signal`` — mean share of groups whose rollouts all got the same reward;
* ``train_zero_signal_start`` — the same over the first ``START_STEPS`` steps (before RL moved much);
* a table of the templates each guided arm used (rollouts and their success rate).
"""

from __future__ import annotations

from collections import defaultdict

from r1repro.repro import stats
from r1repro.repro.base import Reproduction

START_STEPS = 5
"""Training steps over which ``train_zero_signal_start`` is averaged (the task as the SFT start sees it)."""


class TAPOReproduction(Reproduction):
    title = "TAPO / TemplateRL: thought-template-guided RL rollouts"
    arxiv = "2505.15692"

    def run(self, run):
        histories = run.train_arms()
        uses: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        wins: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        m = run.measurements
        for (arm, seed), history in histories.items():
            if seed in m.get("initial_correct", {}).get(arm, {}):
                run.record("gain_correct", arm, seed, m["final_correct"][arm][seed] - m["initial_correct"][arm][seed],
                           items=run.gain_items("final_correct", "initial_correct", arm, seed))  # fmt: skip
            train = [h for h in history if "reward/mean" in h]
            if train:
                run.record("train_hit_rate", arm, seed, stats.mean([h["reward/mean"] for h in train]))
                run.record(
                    "train_zero_signal", arm, seed, stats.mean([h["reward/groups_all_same"] for h in train])
                )
                early = train[:START_STEPS]
                run.record("train_zero_signal_start", arm, seed,
                           stats.mean([h["reward/groups_all_same"] for h in early]))  # fmt: skip
            for h in train:
                for k, v in h.items():
                    if k.startswith("tapo/uses@"):
                        uses[arm][k.split("@", 1)[1]] += v
                    elif k.startswith("reward/correct@"):
                        wins[arm][k.split("@", 1)[1]] += v
        run.set_protocol("train_hit_rate", "training rollouts (guided ones for the TAPO arms), binary reward, mean "
                         "over the GRPO steps; one value per seed")  # fmt: skip
        run.set_protocol("train_zero_signal_start", f"share of training groups whose rewards are all equal, mean over "
                         f"the first {START_STEPS} GRPO steps (the task at the start); one value per seed")  # fmt: skip
        run.set_protocol("train_zero_signal", "share of training groups whose rewards are all equal, mean over the "
                         "GRPO steps; one value per seed")  # fmt: skip
        rows = []
        for arm in sorted(uses):
            total = sum(uses[arm].values()) or 1.0
            for tpl, n in sorted(uses[arm].items(), key=lambda kv: -kv[1]):
                rows.append([arm, tpl, _signature(run, arm, tpl), int(n), f"{n / total:.1%}",
                             f"{wins[arm].get(tpl, 0.0) / n:.3f}" if n else "n/a"])  # fmt: skip
        if rows:
            run.table(
                "Thought templates used in training (all seeds)",
                ["arm", "template", "actions", "rollouts", "share", "success rate"],
                rows,
                note="Retrieved by |PCC(q) − PCC_T| (k = |g| per question); success = binary reward 1.",
            )
        pcc_keys = sorted(k for k in m if k.startswith("final_correct@"))
        if pcc_keys:
            run.table(
                "Unguided accuracy by part or problem size (PCC = number of given conditions), SFT start and final",
                ["arm", "when", *[k.split("@", 1)[1] for k in pcc_keys]],
                [
                    [arm, when, *[_fmt(_values(m, k.replace("final_", prefix, 1), arm)) for k in pcc_keys]]
                    for arm in run.arms
                    for when, prefix in (("start", "initial_"), ("final", "final_"))
                ],
            )
        run.plot("eval/correct", title="unguided accuracy (held-out)", ylabel="accuracy")
        run.plot("reward/mean", title="training hit rate (guided rollouts for TAPO arms)", ylabel="reward")
        run.plot("reward/groups_all_same", title="groups with no learning signal", ylabel="share of groups")

    def report_notes(self, run) -> list[str]:
        return [
            "Both arms use the same Dr.GRPO estimator (verl grpo, norm_adv_by_std_in_grpo=false, "
            "loss_agg_mode=seq-mean-token-sum-norm, no KL); only the rollout strategy differs.",
            "The thought library is hand-written (libraries/ops.json); the paper's MCTS builder is not shipped.",
            "Evaluation is unguided (plain prompts) in every arm; training hit rate of a TAPO arm is measured on "
            "its guided rollouts.",
        ]


def _values(m, key: str, arm: str) -> list[float]:
    """The per-seed values of one measurement of one arm (none when it was not measured)."""
    return list(m.get(key, {}).get(arm, {}).values())


def _fmt(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{stats.mean(values):.3f} ± {stats.std(values):.3f}"


def _signature(run, arm: str, template_id: str) -> str:
    if template_id == "unguided":
        return "-"
    try:
        from r1repro.repro.run import as_container
        from r1repro_tapo.templates import ThoughtLibrary

        spec = as_container((run.cfg.get("arms") or {}).get(arm, {})).get("rollout", {}).get("strategy", {})
        lib = ThoughtLibrary.load(spec.get("library", "ops") if isinstance(spec, dict) else "ops")
        return lib.by_id(template_id).signature
    except Exception:  # noqa: BLE001 - a table cell, never a failure
        return "?"
