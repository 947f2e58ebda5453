"""TinyV's reward: mode semantics, one batched verifier call, retries, routing, stats, the
oracle, pathological answers, and the documented verl path (custom reward function)."""

import math
import time

import pytest
from r1repro_tinyv.reward import TinyVReward

from r1repro.judge import Judge
from r1repro.registry import build, load_plugins
from r1repro.types import Sample

REG = load_plugins()


class RecordingJudge(Judge):
    """Answers from a table of model answers -> reply; records every call."""

    def __init__(self, replies, fail_first=0):
        super().__init__()
        self.replies, self.calls, self.fail_first = replies, [], fail_first

    def _complete(self, prompts, max_tokens, temperature):
        self.calls.append((len(prompts), max_tokens, temperature))
        out = []
        for p in prompts:
            text = p[-1]["content"] if isinstance(p, list) else p
            ans = text.split("<model_answer>")[1].split("</model_answer>")[0]
            if self.fail_first > 0:
                self.fail_first -= 1
                out.append("")
            else:
                out.append(self.replies.get(ans, "False"))
        return out


def s(answer, gt="\\frac{1}{2}", problem="What is half?", source="r1repro/test_tinyv"):
    return Sample(response=f"So the answer is \\boxed{{{answer}}}.", ground_truth=gt, problem=problem,
                  data_source=source)  # fmt: skip


def reward(mode="addon", judge=None, **kw):
    return TinyVReward(mode=mode, judge=judge or RecordingJudge({}), **kw)


def test_registered_names_and_modes():
    names = REG.names("reward")
    for n in (
        "tinyv.prime",
        "tinyv.math_verify",
        "tinyv.addon",
        "tinyv.tinyv_only",
        "tinyv.mixed",
        "tinyv.oracle",
    ):
        assert n in names
    assert (
        REG.build("reward", {"name": "tinyv.mixed",
                             "judge": {"backend": "stub", "fn": "r1repro_tinyv.reward:stub_says_true_for_seven"}}).mode
        == "mixed"
    )
    with pytest.raises(ValueError):
        TinyVReward(mode="both")


def test_addon_never_asks_the_llm_when_the_rule_says_correct():
    j = RecordingJudge({"50\\%": "True", "0.3": "True"})
    r = reward(judge=j)
    res = r([s("0.5"), s("\\dfrac{1}{2}"), s("1/2")])  # all accepted by PRIME
    assert [x.score for x in res] == [1.0, 1.0, 1.0]
    assert j.calls == [] and all(x.info["llm_called"] == 0.0 for x in res)
    assert all(math.isnan(x.info["llm_verdict"]) for x in res)
    assert r.consume_stats()["llm_share"] == 0.0


def test_addon_asks_the_llm_once_for_all_rule_negatives():
    j = RecordingJudge({"50\\%": "True", "0.3": "False", "2/4": "True"})
    r = reward(judge=j, weight=0.8)
    res = r([s("0.5"), s("50\\%"), s("0.3"), s("50\\%"), s("\\frac{2}{4}")])
    assert [x.score for x in res] == [1.0, 0.8, 0.0, 0.8, 0.0]  # "\frac{2}{4}" -> shown as extracted
    assert len(j.calls) == 1  # ONE judge call for the batch ...
    assert j.calls[0][0] == 3  # ... with duplicates sent once (50\%, 0.3, \frac{2}{4})
    assert j.calls[0][1:] == (8, 0.0)  # max_tokens=8, temperature 0 (tinyv_config.json)
    assert [x.info["rule_correct"] for x in res] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert [x.info["llm_called"] for x in res] == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert [x.info["correct"] for x in res] == [True, True, False, True, False]
    stats = r.consume_stats()
    assert stats["llm_share"] == pytest.approx(4 / 5) and stats["llm_prompts"] == 3
    assert r.consume_stats()["llm_share"] == 0.0  # consumed


def test_tinyv_only_and_mixed():
    j = RecordingJudge({"0.5": "False", "50\\%": "True"})
    only = reward("tinyv_only", judge=j)
    assert [x.score for x in only([s("0.5"), s("50\\%")])] == [0.0, 1.0]  # the rule is ignored
    assert j.calls[-1][0] == 2  # every sample goes to the LLM
    mixed = reward("mixed", judge=RecordingJudge({"0.5": "False", "50\\%": "True"}), weight=0.25)
    res = mixed([s("0.5"), s("50\\%"), s("0.1")])
    assert [x.score for x in res] == [0.75, 0.25, 0.0]  # w * llm + (1 - w) * rule
    assert [x.info["correct"] for x in res] == [True, False, False]
    with pytest.raises(ValueError):
        TinyVReward(mode="mixed", weight=1.5)


def test_the_verifier_sees_question_ground_truth_and_prime_extraction():
    seen = []
    j = RecordingJudge({})
    j._complete = lambda prompts, mt, t: seen.extend(prompts) or ["False"] * len(prompts)
    r = reward(judge=j)
    r([s("x = 3, x = -5", gt="3, -5", problem="Solve (x - 3)(x + 5) = 0.")])
    text = seen[0][-1]["content"]
    assert (
        "<question>Solve (x - 3)(x + 5) = 0. Let's think step by step" in text
    )  # official: problem + instruction
    assert "<ground_truth_answer>3, -5</ground_truth_answer>" in text
    assert "<model_answer>-5</model_answer>" in text  # PRIME's extraction, as the official reward passes it
    r2 = reward(judge=j, question_suffix="")
    r2([s("0.3")])
    assert "<question>What is half?</question>" in seen[-1][-1]["content"]


def test_failed_calls_are_retried_at_a_higher_temperature():
    j = RecordingJudge({"50\\%": "True"}, fail_first=2)
    r = reward(judge=j)
    res = r([s("50\\%"), s("0.3")])
    assert [x.score for x in res] == [1.0, 0.0]
    assert [c[2] for c in j.calls] == [0.0, 0.3]  # the retry: temperature + 0.3 (official)
    assert j.calls[1][0] == 2
    always_failing = RecordingJudge({}, fail_first=10**6)
    r = reward(judge=always_failing, retries=3)
    assert [x.score for x in r([s("50\\%")])] == [0.0]
    assert len(always_failing.calls) == 4  # one call + 3 retries
    assert r.consume_stats()["llm_retries"] == 3


def test_invalid_think_replies_score_zero():
    j = RecordingJudge({"50\\%": "True (no answer marker)", "0.3": "thinking... Answer: True"})
    r = reward(judge=j, verifier="zhangchenxu/TinyV-1.5B-Think")
    assert r.max_tokens == 512
    res = r([s("50\\%"), s("0.3")])
    assert [x.score for x in res] == [0.0, 1.0]
    assert math.isnan(res[0].info["llm_verdict"])


def test_routing_by_data_source_is_optional():
    j = RecordingJudge({"50\\%": "True"})
    r = reward(judge=j, route_by_data_source=True)
    res = r([s("50\\%", source="bigmath_rl_tinyv"), s("50\\%", source="openai/gsm8k"),
             s("50\\%", source="zhangchenxu/HardVerify-Math")])  # fmt: skip
    assert [x.score for x in res] == [1.0, 0.0, 1.0]
    assert j.calls[0][0] == 1  # both TinyV sources share one prompt
    assert [x.info["llm_called"] for x in res] == [1.0, 0.0, 1.0]


def test_the_judge_is_not_pickled_with_the_reward():
    import pickle

    r = reward(judge=RecordingJudge({}))
    r.judge  # noqa: B018 - built
    clone = pickle.loads(pickle.dumps(r))
    assert clone._judge is None and clone.mode == "addon"


def test_prime_and_math_verify_rewards():
    prime, mv = build("reward", "tinyv.prime"), build("reward", "tinyv.math_verify")
    samples = [s("0.5"), s("50\\%"), s("\\frac{2}{4}"), s("0.3")]
    assert [x.score for x in prime(samples)] == [1.0, 0.0, 0.0, 0.0]
    res = mv(samples)
    assert [x.score for x in res] == [1.0, 0.0, 1.0, 0.0]  # math-verify: 2/4 == 1/2, but not 50%
    assert res[0].info["has_boxed"] is True and prime(samples)[2].info["extracted"] == "\\frac{2}{4}"


def test_pathological_answers_are_bounded():
    prime = build("reward", {"name": "tinyv.prime", "timeout_s": 3.0})
    r = TinyVReward(rule=prime, judge=RecordingJudge({}))
    bombs = ["\\boxed{2^{10^{10}}}", "\\boxed{10**10**10}", "\\boxed{(10^{10})!}", "\\boxed{" + "9" * 50_000 + "}",
             "\\boxed{" + "(" * 5000 + "1" + ")" * 5000 + "}", "x" * 1_000_000, "\\boxed{\ud800}"]  # fmt: skip
    t0 = time.perf_counter()
    res = r([Sample(response=b, ground_truth="42", problem="?") for b in bombs])
    assert time.perf_counter() - t0 < 3.0 * len(bombs) + 10
    assert all(math.isfinite(x.score) and x.score == 0.0 for x in res)


def test_oracle_reward_with_the_rule_verdict():
    from r1repro_tinyv.data import MultiFormTask

    rows = MultiFormTask(kinds=["fraction"]).generate(4, 0, "t")
    oracle = build("reward", {"name": "tinyv.oracle", "rule": "tinyv.prime"})
    samples = []
    for row in rows:
        t = row.extra["truth"]
        for ans in (f"{t['num']}/{t['den']}", f"{t['num']}:{t['den']}", f"{t['den']}/{t['num']}"):
            samples.append(Sample(response=f"The answer is \\boxed{{{ans}}}.", ground_truth=row.ground_truth,
                                  extra=row.extra))  # fmt: skip
    res = oracle(samples)
    assert [x.score for x in res] == [1.0, 1.0, 0.0] * 4
    assert [x.info["rule_fn"] for x in res] == [0.0, 1.0, 0.0] * 4  # the ratio form is a PRIME false negative
    junk = oracle([Sample(response="\\boxed{1}", ground_truth="1")])[0]
    assert junk.score == 0.0 and "error" in junk.info


def test_verl_custom_reward_function_path():
    """The documented way to use TinyV in a verl run: verl calls this function per response."""
    from r1repro.verl_bridge.reward import compute_score

    spec = {
        "name": "tinyv.addon",
        "judge": {"backend": "stub", "fn": "r1repro_tinyv.reward:stub_says_true_for_seven"},
    }
    extra = {"problem": "What is 3 + 4?", "uid": "u1"}
    right_form = compute_score("bigmath_rl_tinyv", "The answer is \\boxed{7}.", "7", extra, reward=spec)
    llm_saved = compute_score("bigmath_rl_tinyv", "\\boxed{7}", "$x = 7$", extra, reward=spec)  # a PRIME FN
    wrong = compute_score("bigmath_rl_tinyv", "\\boxed{8}", "7", extra, reward=spec)
    assert right_form["score"] == 1.0 and right_form["llm_called"] == 0.0
    assert set(right_form) == {"score", "acc", "rule_correct", "llm_called", "llm_verdict", "has_boxed"}
    assert wrong["score"] == 0.0 and wrong["llm_called"] == 1.0 and wrong["llm_verdict"] == 0.0
    assert llm_saved == {
        "score": 1.0,
        "acc": 1.0,
        "rule_correct": 0.0,
        "llm_called": 1.0,
        "llm_verdict": 1.0,
        "has_boxed": 1.0,
    }


def test_stated_quality_verifier_errs_at_its_rates_on_rule_negatives_only():
    from r1repro_tinyv.data import MultiFormTask

    rows = MultiFormTask(kinds=["fraction"]).generate(400, 3, "t")

    def samples(form):
        return [Sample(response=f"The answer is \\boxed{{{form(r.extra['truth'])}}}.", problem=r.problem,
                       ground_truth=r.ground_truth, extra=r.extra) for r in rows]  # fmt: skip

    exact = samples(lambda t: f"{t['num']}/{t['den']}")  # PRIME accepts: never sent to the verifier
    ratio = samples(lambda t: f"{t['num']}:{t['den']}")  # equivalent, PRIME rejects (a false negative)
    wrong = samples(lambda t: f"{t['den']}/{t['num']}")  # wrong, PRIME rejects
    reward = build("reward", {"name": "tinyv.stated_verifier", "recall": 0.8, "false_positive": 0.1, "seed": 1})
    assert all(x.score == 1.0 and x.info["llm_called"] == 0.0 for x in reward(exact))
    assert reward.consume_stats()["llm_share"] == 0.0
    recall = sum(x.score for x in reward(ratio)) / len(rows)
    fp = sum(x.score for x in reward(wrong)) / len(rows)
    assert 0.72 < recall < 0.88 and 0.05 < fp < 0.15
    assert reward.consume_stats()["llm_share"] == 1.0
    again = [x.score for x in reward(wrong)]
    assert again == [x.score for x in reward(wrong)]  # the same pair gets the same verdict
    other = build("reward", {"name": "tinyv.stated_verifier", "recall": 0.8, "false_positive": 0.1, "seed": 2})
    assert again != [x.score for x in other(wrong)]  # another seed, other errors
    perfect = build("reward", {"name": "tinyv.stated_verifier", "recall": 1.0, "false_positive": 0.0})
    assert [x.score for x in perfect(ratio + wrong)] == [1.0] * len(rows) + [0.0] * len(rows)
    with pytest.raises(Exception, match="recall must lie in"):
        build("reward", {"name": "tinyv.stated_verifier", "recall": 1.5})
