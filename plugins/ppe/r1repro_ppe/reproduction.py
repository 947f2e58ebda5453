"""The pPE experiment: for each prior prompt, RL with it (pPE) vs RL without any prior prompt, the
trained model then prompted with it at inference (iPE).

Arms (``reproductions/ppe/config.yaml``), all of a seed from that seed's SFT start: the five prior
prompts, each GRPO with its template and its 0.5·accuracy + 0.5·format reward, and ``nopp``, GRPO
with the bare question and the accuracy term only (the paper's "No PP" model, §4). The iPE
counterpart of a prior prompt is the **trained** ``nopp`` model prompted with that prompt at
inference (evaluated only, ``nopp.<tag>``), as in the paper's Table 2: pPE vs iPE is then RL with
vs without the prior prompt, not RL vs no RL. Recorded per tag and seed:

    <tag>.pPE / <tag>.iPE : correct (task accuracy), format (share of responses in the tag's
                            style), response_length (tokens), score (the tag's reward)
    <tag>.start           : the same, for the SFT start prompted with the tag (no RL at all)
    <tag>                 : gain_correct = pPE − iPE accuracy (item-wise on the same prompts),
                            gain_format = pPE − start style share
    all                   : min_gain_correct / min_gain_format over the five tags,
                            examples_minus_think_length (pPE response lengths)
"""

from __future__ import annotations

from omegaconf import OmegaConf

from r1repro.repro import stats
from r1repro.repro.base import Reproduction
from r1repro.repro.run import as_container
from r1repro_ppe.templates import PRIOR_PROMPTS, TAGS

KEYS = ("correct", "format", "response_length", "score")
NO_PP_ARM = "nopp"


def _fmt(values: list[float], digits: int = 3) -> str:
    if not values:
        return "n/a"
    return f"{stats.mean(values):.{digits}f} ± {stats.std(values):.{digits}f}"


def _diff_items(a: dict | None, b: dict | None) -> dict | None:
    return {k: a[k] - b[k] for k in a} if a and b and set(a) == set(b) else None


class PPEReproduction(Reproduction):
    title = "pPE: Prior Prompt Engineering for Reinforcement Fine-Tuning"
    arxiv = "2505.14157"
    # pseudo-arms: "<tag>.pPE" / "<tag>.iPE" / "<tag>.start", "all" (min over tags)
    derived_arms = ("all", *(f"{t}.{k}" for t in TAGS for k in ("pPE", "iPE", "start")))

    def run(self, run):
        run.train_arms()
        tags = [a for a in run.arms if a in TAGS]
        if NO_PP_ARM in run.arms:
            self._prompt_nopp_with_tags(run, tags)
        m = run.measurements
        for tag in tags:
            ipe_arm = f"{NO_PP_ARM}.{tag}" if NO_PP_ARM in run.arms else None
            for seed in run.seeds:
                if seed not in m.get("final_correct", {}).get(tag, {}):
                    continue
                for k in KEYS:
                    run.record(k, f"{tag}.pPE", seed, m[f"final_{k}"][tag][seed],
                               items=run.items_of(f"final_{k}", tag, seed))  # fmt: skip
                    run.record(k, f"{tag}.start", seed, m[f"initial_{k}"][tag][seed],
                               items=run.items_of(f"initial_{k}", tag, seed))  # fmt: skip
                    if ipe_arm and seed in m.get(f"final_{k}", {}).get(ipe_arm, {}):
                        run.record(k, f"{tag}.iPE", seed, m[f"final_{k}"][ipe_arm][seed],
                                   items=run.items_of(f"final_{k}", ipe_arm, seed))  # fmt: skip
                if seed in m.get("correct", {}).get(f"{tag}.iPE", {}):
                    run.record("gain_correct", tag, seed, m["correct"][f"{tag}.pPE"][seed] - m["correct"][f"{tag}.iPE"][seed],
                               items=_diff_items(run.items_of("correct", f"{tag}.pPE", seed),
                                                 run.items_of("correct", f"{tag}.iPE", seed)))  # fmt: skip
                run.record("gain_format", tag, seed, m["final_format"][tag][seed] - m["initial_format"][tag][seed],
                           items=run.gain_items("final_format", "initial_format", tag, seed))  # fmt: skip
        for seed in run.seeds:
            for k in ("correct", "format"):
                gains = [m[f"gain_{k}"][t][seed] for t in tags if seed in m.get(f"gain_{k}", {}).get(t, {})]
                if gains and len(gains) == len(tags):
                    run.record(f"min_gain_{k}", "all", seed, min(gains))
            lengths = m.get("response_length", {})
            if seed in lengths.get("examples.pPE", {}) and seed in lengths.get("think.pPE", {}):
                run.record("examples_minus_think_length", "all", seed,
                           lengths["examples.pPE"][seed] - lengths["think.pPE"][seed])  # fmt: skip
        self._tables(run, tags)

    def _prompt_nopp_with_tags(self, run, tags: list[str]) -> None:
        """Evaluate each seed's trained No-PP model with every prior prompt (template and reward of
        the tag's arm, no training): the iPE arms ``nopp.<tag>``."""
        arms = run.cfg.get("arms") or {}
        for seed in run.seeds:
            final = run.engine_config(NO_PP_ARM, seed).trainer.out_dir + "/final_model"
            extra = {}
            for tag in tags:
                over = OmegaConf.create(as_container(arms.get(tag)) or {})
                over = OmegaConf.merge(over, {"model": {"path": final, "sft": {"enabled": False}},
                                              "trainer": {"total_steps": 0}})  # fmt: skip
                extra[f"{NO_PP_ARM}.{tag}"] = OmegaConf.to_container(over, resolve=True)
            run.train_arms(arms=list(extra), seeds=[seed], extra=extra)

    def _tables(self, run, tags: list[str]) -> None:
        m = run.measurements

        def vals(metric: str, arm: str) -> list[float]:
            return [v for _, v in sorted(m.get(metric, {}).get(arm, {}).items())]

        rows = []
        for tag in tags:
            rows.append([f"<{tag}>", PRIOR_PROMPTS[tag].ipe_strategy, _fmt(vals("correct", f"{tag}.start")),
                         _fmt(vals("correct", f"{tag}.iPE")), _fmt(vals("correct", f"{tag}.pPE")),
                         _fmt(vals("gain_correct", tag)),
                         _fmt(vals("format", f"{tag}.iPE")), _fmt(vals("format", f"{tag}.pPE")),
                         _fmt(vals("response_length", f"{tag}.iPE"), 1),
                         _fmt(vals("response_length", f"{tag}.pPE"), 1)])  # fmt: skip
        run.table(
            "Each prior prompt: the SFT start prompted with it (start), RL without a prior prompt then prompted "
            "with it (iPE), RL with it (pPE)",
            ["prior prompt", "iPE strategy", "start accuracy", "iPE accuracy", "pPE accuracy", "gain pPE − iPE",
             "iPE tag style", "pPE tag style", "iPE length", "pPE length"],
            rows,
            note="accuracy = boxed answer correct (whatever the format); tag style = share of responses that "
            "pass the tag's strict format check; length in tokens; mean ± std over seeds.",
        )  # fmt: skip

        def best(metric: str, arm_of, pick) -> str:
            scored = [(stats.mean(vals(metric, arm_of(t))), t) for t in tags if vals(metric, arm_of(t))]
            return f"<{pick(scored)[1]}> ({pick(scored)[0]:.3f})" if scored else "n/a"

        run.table(
            "Which prior prompt wins at this scale (paper: null-example <examples> has the largest average "
            "gain, +6.98 vs +6.37 for <think>, and the shortest responses, 774 tokens)",
            ["question", "measured here"],
            [["largest accuracy gain pPE − iPE", best("gain_correct", lambda t: t, max)],
             ["highest pPE accuracy", best("correct", lambda t: f"{t}.pPE", max)],
             ["shortest pPE responses (tokens)", best("response_length", lambda t: f"{t}.pPE", min)],
             ["largest tag-style gain", best("gain_format", lambda t: t, max)]],
        )  # fmt: skip
        run.plot("eval/correct", title="task accuracy", ylabel="accuracy")
        run.plot("eval/format", arms=[a for a in run.arms if a in TAGS], title="share of responses in the tag's style",
                 ylabel="format ok")  # fmt: skip
        run.plot("eval/response_length", title="response length (tokens)", ylabel="tokens")

    def report_notes(self, run) -> list[str]:
        return [
            "The prior-prompt texts are our paraphrases of the R1-Zero skeleton ([unverified]; the paper's "
            "appendix texts could not be read); see plugins/ppe/README.md.",
            "CPU task: add three small numbers; the shared SFT start follows each prior prompt only part of "
            "the time and sometimes drops a term, so RL has both a style and an accuracy behaviour to change.",
            "iPE = the No-PP arm (GRPO on the bare question, accuracy reward only, same SFT start and budget) "
            "prompted with the prior prompt at inference; start = the SFT start prompted with it (no RL). "
            "Evaluation samples at temperature 1 so that style shares are measured, not the single greedy mode.",
            "Accuracy checker at CPU scale: core.numeric_match (integer answers); the paper uses math-verify "
            "(ppe.math_verify, the reward's default and the paper preset's).",
        ]
