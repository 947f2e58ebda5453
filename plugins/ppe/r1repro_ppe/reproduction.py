"""The pPE experiment: for each prior prompt, RL with it (pPE) vs the same prompt at inference (iPE).

Arms are the five prior prompts (``reproductions/ppe/config.yaml``); each trains GRPO with its
template and its 0.5·accuracy + 0.5·format reward from one shared SFT start. The step-0
evaluation of an arm *is* its inference-time counterpart — the shared start prompted with that
prior prompt, no RL — so the iPE numbers cost nothing extra. Recorded per tag and seed:

    <tag>.iPE / <tag>.pPE : correct (task accuracy), format (share of responses in the tag's
                            style), response_length (tokens), score (the reward)
    <tag>                 : gain_correct = pPE − iPE accuracy, gain_format
    all                   : min_gain_correct / min_gain_format over the five tags
"""

from __future__ import annotations

from r1repro.repro import stats
from r1repro.repro.base import Reproduction
from r1repro_ppe.templates import PRIOR_PROMPTS, TAGS

KEYS = ("correct", "format", "response_length", "score")


def _fmt(values: list[float], digits: int = 3) -> str:
    if not values:
        return "n/a"
    return f"{stats.mean(values):.{digits}f} ± {stats.std(values):.{digits}f}"


class PPEReproduction(Reproduction):
    title = "pPE: Prior Prompt Engineering for Reinforcement Fine-Tuning"
    arxiv = "2505.14157"
    # pseudo-arms: "<tag>.pPE" / "<tag>.iPE" (each prompt after RL / at inference), "all" (min over tags)
    derived_arms = ("all", *(f"{t}.{k}" for t in TAGS for k in ("pPE", "iPE")))

    def run(self, run):
        run.train_arms()
        m = run.measurements
        tags = [a for a in run.arms if a in TAGS]
        for tag in tags:
            for seed in run.seeds:
                for k in KEYS:
                    if seed in m.get(f"initial_{k}", {}).get(tag, {}):
                        run.record(k, f"{tag}.iPE", seed, m[f"initial_{k}"][tag][seed],
                                   items=run.items_of(f"initial_{k}", tag, seed))  # fmt: skip
                        run.record(k, f"{tag}.pPE", seed, m[f"final_{k}"][tag][seed],
                                   items=run.items_of(f"final_{k}", tag, seed))  # fmt: skip
                for k in ("correct", "format"):
                    if seed in m.get(f"initial_{k}", {}).get(tag, {}):
                        run.record(f"gain_{k}", tag, seed, m[f"final_{k}"][tag][seed] - m[f"initial_{k}"][tag][seed],
                                   items=run.gain_items(f"final_{k}", f"initial_{k}", tag, seed))  # fmt: skip
        for seed in run.seeds:
            for k in ("correct", "format"):
                gains = [m[f"gain_{k}"][t][seed] for t in tags if seed in m.get(f"gain_{k}", {}).get(t, {})]
                if gains and len(gains) == len(tags):
                    run.record(f"min_gain_{k}", "all", seed, min(gains))

        def vals(metric: str, arm: str) -> list[float]:
            return [v for _, v in sorted(m.get(metric, {}).get(arm, {}).items())]

        rows = []
        for tag in tags:
            rows.append([f"<{tag}>", PRIOR_PROMPTS[tag].ipe_strategy,
                         _fmt(vals("correct", f"{tag}.iPE")), _fmt(vals("correct", f"{tag}.pPE")),
                         _fmt(vals("gain_correct", tag)),
                         _fmt(vals("format", f"{tag}.iPE")), _fmt(vals("format", f"{tag}.pPE")),
                         _fmt(vals("response_length", f"{tag}.iPE"), 1),
                         _fmt(vals("response_length", f"{tag}.pPE"), 1)])  # fmt: skip
        run.table(
            "Each prior prompt: inference-time (iPE, shared SFT start) vs RL with it (pPE)",
            ["prior prompt", "iPE strategy", "iPE accuracy", "pPE accuracy", "gain", "iPE tag style",
             "pPE tag style", "iPE length", "pPE length"],
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
        run.plot("eval/correct", title="task accuracy (step 0 = iPE)", ylabel="accuracy")
        run.plot("eval/format", title="share of responses in the tag's style", ylabel="format ok")
        run.plot("eval/response_length", title="response length (tokens)", ylabel="tokens")

    def report_notes(self, run) -> list[str]:
        return [
            "The prior-prompt texts are our paraphrases of the R1-Zero skeleton ([unverified]; the paper's "
            "appendix texts could not be read); see plugins/ppe/README.md.",
            "CPU task: add three small numbers; the shared SFT start follows each prior prompt only part of "
            "the time and sometimes drops a term, so RL has both a style and an accuracy behaviour to change.",
            "iPE = the step-0 evaluation of each arm (same SFT start, same prompt, no RL); evaluation samples "
            "at temperature 1 so that style shares are measured, not the single greedy mode.",
            "Accuracy checker at CPU scale: core.numeric_match (integer answers); the paper uses math-verify "
            "(ppe.math_verify, the reward's default and the paper preset's).",
        ]
