"""Golden tests: General-Reasoner's verifier prompt, extraction, score arithmetic (official verifier.py)."""

import pytest
from r1repro_general_reasoner import verifier as v
from r1repro_general_reasoner.reward import GeneralVerifierReward
from r1repro_general_reasoner.templates import GeneralReasonerTemplate

from r1repro.types import Sample


def test_constants():
    assert v.PASS_TAG == "Final Decision: Yes" and v.FAIL_TAG == "Final Decision: No"
    assert v.NO_ANSWER_PENALTY == -0.5 and v.PASS_REWARD == 1.0
    assert v.LENGTH_PENALTY_PER_TOKEN == 0.05 and v.LENGTH_PENALTY_CAP_TOKENS == 10
    assert v.EXTRACTION_WINDOW_TOKENS == 1024 and v.VERIFIER_MAX_NEW_TOKENS == 2048
    assert v.VERIFIER_MODEL == "TIGER-Lab/general-verifier"


def test_prompt_is_verbatim():
    assert v.verifier_prompt("Q?", "4", "four") == (
        "User: ### Question: Q?\n\n### Ground Truth Answer: 4\n\n### Student Answer: four\n\n"
        "For the above question, please verify if the student's answer is equivalent to the ground truth answer.\n"
        "Do not solve the question by yourself; just check if the student's answer is equivalent to the ground "
        "truth answer.\n"
        "If the student's answer is correct, output \"Final Decision: Yes\". If the student's answer is incorrect, "
        'output "Final Decision: No". Assistant:'
    )
    assert "### Student Answer: None\n" in v.verifier_prompt("q", "g", None)  # as str.format(None) writes it


def test_template_instruction_is_verbatim():
    msg = GeneralReasonerTemplate().render("What is 2+2?")
    assert msg == [{"role": "user", "content": "What is 2+2? Please reason step by step, and put your final "
                                               "answer within \\boxed{}."}]  # fmt: skip


@pytest.mark.parametrize(
    "text, expected",
    [
        ("so \\boxed{3} then \\boxed{4}", "4"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("\\boxed{a{b{c}}}", "a{b{c}}"),  # two nested levels: accepted
        ("\\boxed{a{b{c{d}}}} and \\boxed{7}", "7"),  # three levels: skipped
        ("\\boxed{\\boxed{5}}", "\\boxed{5}"),  # the outer match consumes the inner one
        ("\\boxed{unclosed", None),
        ("no box", None),
        ("\\boxed{}", ""),
    ],
)
def test_extract_last_boxed(text, expected):
    assert v.extract_last_boxed(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Final Answer: 42\n", "42"),
        ("final answer: 42\nThe answer is: 7\n", "7"),  # the marker that starts last wins; case-insensitive
        ("Answer: x\nSolution: y\n", "y"),
        ("Answer: no newline at the end", None),  # a marker line must end with a newline
        ("Final Answer: 5<|im_end|>\n", "5"),  # stop words trimmed
        ("Final Answer: a << b\n", None),  # "<<" cannot be part of an answer
        ("nothing here\n", None),
    ],
)
def test_extract_last_final_answer(text, expected):
    assert v.extract_last_final_answer(text) == expected


def test_extract_solution_prefers_a_non_empty_box():
    assert v.extract_solution("Answer: 3\n\\boxed{4}") == "4"
    assert v.extract_solution("\\boxed{}\nFinal Answer: 9\n") == "9"  # an empty box falls through
    assert v.extract_solution("\\boxed{}") is None


def _count_chars(s):
    return len(s)


@pytest.mark.parametrize(
    "solution, reply, gt, score",
    [
        ("abc", "...Final Decision: Yes", "abc", 1.0),
        ("abcde", "Final Decision: Yes", "abc", 1.0 - 0.05 * 2),
        ("a" * 40, "Final Decision: Yes", "abc", 1.0 - 0.5),  # capped at 10 tokens
        ("abc", "Final Decision: No", "abc", 0.0),
        ("abc", "final decision: yes", "abc", 0.0),  # case-sensitive tag
        (None, "Final Decision: No", "abc", -0.5),
        (None, "Final Decision: Yes", "abcdefghi", -0.5 + 1.0 - 0.0),  # "No Answer" (9 chars) vs 9 chars
        ("", "Final Decision: Yes", "ab", 1.0 - 0.05 * 7),  # empty -> "No Answer" for the length count
    ],
)
def test_score_arithmetic(solution, reply, gt, score):
    got, parts = v.verifier_score(solution, reply, gt, _count_chars)
    assert got == pytest.approx(score)
    assert parts["extracted"] is (solution is not None)


def test_reward_batches_every_judge_call_into_one():
    seen = []

    def judge_fn(prompt):
        seen.append(prompt)
        return "ok. Final Decision: Yes" if "Student Answer: blue cat\n" in prompt else "Final Decision: No"

    reward = GeneralVerifierReward(judge={"backend": "stub", "fn": judge_fn}, tokenizer=None)
    samples = [
        Sample(response="It is \\boxed{blue cat}.", ground_truth="cat (navy)", problem="What does Bo own?"),
        Sample(response="\\boxed{red dog}", ground_truth="cat (navy)", problem="What does Bo own?"),
        Sample(response="no idea", ground_truth="cat (navy)", problem="What does Bo own?"),
    ]
    results = reward(samples)
    assert reward.judge.stats.calls == 1 and reward.judge.stats.prompts == 3
    assert "### Question: What does Bo own?\n" in seen[0]
    n = reward.count_tokens
    assert results[0].score == pytest.approx(1.0 - 0.05 * min(abs(n("blue cat") - n("cat (navy)")), 10))
    assert results[0].info["correct"] is True and results[1].score == 0.0
    assert results[2].score == -0.5 and results[2].info["extracted"] is False
    assert "### Student Answer: None\n" in seen[2]  # the official code still asks the verifier
    stats = reward.consume_stats()
    assert stats["judge_prompts"] == 3 and stats["verifier_yes_rate"] == pytest.approx(1 / 3)


def test_unextracted_answers_can_skip_the_judge():
    reward = GeneralVerifierReward(judge={"backend": "stub", "fn": lambda p: "Final Decision: Yes"},
                                   judge_unextracted=False)  # fmt: skip
    (r,) = reward([Sample(response="nothing", ground_truth="x", problem="q")])
    assert r.score == -0.5 and reward.judge.stats.prompts == 0


def test_chat_prompt_format_wraps_one_user_message():
    got = []
    reward = GeneralVerifierReward(judge={"backend": "stub", "fn": lambda p: got.append(p) or "Final Decision: No"},
                                   prompt_format="chat")  # fmt: skip
    reward([Sample(response="\\boxed{1}", ground_truth="1", problem="q")])
    assert got and got[0].startswith("User: ### Question: q")  # the stub sees the message content


def test_extraction_window_uses_prompt_and_response():
    reward = GeneralVerifierReward(
        judge={"backend": "stub", "fn": lambda p: "Final Decision: No"}, window_tokens=8
    )
    s = Sample(response="a " * 50 + "\\boxed{7}", ground_truth="7", problem="q",
               prompt=[{"role": "user", "content": "Answer: 3\n"}])  # fmt: skip
    assert "\\boxed{7}" in reward._window(s) and "Answer: 3" not in reward._window(s)
    # official verifier.py decodes the last 1024 tokens of prompt + response, so a marker in a
    # prompt that fits in the window is extracted too (the 8-token window above would cut it)
    short = Sample(
        response="nothing", ground_truth="7", problem="q", prompt=[{"role": "user", "content": "Answer: 3\n"}]
    )
    reward_default = GeneralVerifierReward(judge={"backend": "stub", "fn": lambda p: "Final Decision: No"})
    (r,) = reward_default([short])
    assert r.info["extracted"] is True and r.score == 0.0  # found in the prompt, as the official code would
    reward_resp_only = GeneralVerifierReward(judge={"backend": "stub", "fn": lambda p: "Final Decision: No"},
                                             search_prompt=False)  # fmt: skip
    (r2,) = reward_resp_only([short])
    assert r2.info["extracted"] is False


def test_identical_verifications_are_asked_once():
    reward = GeneralVerifierReward(judge={"backend": "stub", "fn": lambda p: "Final Decision: Yes"})
    same = Sample(response="\\boxed{blue cat}", ground_truth="cat (navy)", problem="What does Bo own?")
    other = Sample(response="\\boxed{red dog}", ground_truth="cat (navy)", problem="What does Bo own?")
    results = reward([same, other, same, same])
    assert reward.judge.stats.prompts == 2 and len(results) == 4
    assert [r.info["verifier_yes"] for r in results] == [True] * 4


def test_exact_match_judge_is_the_rule_in_the_verifiers_place():
    from r1repro_general_reasoner.reward import exact_match_judge

    assert exact_match_judge(v.verifier_prompt("q", "Blue cat", " blue cat ")) == v.PASS_TAG
    assert (
        exact_match_judge(v.verifier_prompt("q", "cat (navy)", "blue cat")) == v.FAIL_TAG
    )  # equivalent, not equal
    assert exact_match_judge(v.verifier_prompt("q", "None", None)) == v.FAIL_TAG
    assert exact_match_judge("garbage") == v.FAIL_TAG
    reward = GeneralVerifierReward(
        judge={"backend": "stub", "fn": "r1repro_general_reasoner.reward:exact_match_judge"}
    )
    hit, miss, none = reward([
        Sample(response="\\boxed{cat (navy)}", ground_truth="cat (navy)", problem="q"),
        Sample(response="\\boxed{blue cat}", ground_truth="cat (navy)", problem="q"),
        Sample(response="no idea", ground_truth="cat (navy)", problem="q"),
    ])  # fmt: skip
    assert (
        hit.score == 1.0 and miss.score == 0.0 and none.score == -0.5
    )  # same reward shape as the verifier's


def test_rule_verifier_judge_normalises_notation_not_meaning():
    """The realistic rule baseline: case, punctuation, articles, fillers and word order are
    notation (accepted); a synonym is meaning (rejected); a correct answer in a random spelling
    matches about 1 time in 9, five times as often as exact spelling."""
    import random

    from r1repro_general_reasoner.data import ANIMALS, COLORS, spell
    from r1repro_general_reasoner.reward import exact_match_judge, rule_verifier_judge

    def says(judge, truth, student):
        return judge(v.verifier_prompt("q", truth, student)) == v.PASS_TAG

    assert says(rule_verifier_judge, "cat (azure)", "An Azure  cat.")
    assert says(rule_verifier_judge, "the azure one, a cat", "cat, azure")
    assert not says(rule_verifier_judge, "cat (azure)", "navy cat")  # synonym
    assert not says(rule_verifier_judge, "cat (azure)", "azure dog")
    assert not says(rule_verifier_judge, "cat (azure)", "azure cat cat")
    assert not says(rule_verifier_judge, "cat (azure)", None)
    assert rule_verifier_judge("garbage") == v.FAIL_TAG
    rng, n = random.Random(0), 4000
    pairs = []
    for _ in range(n):
        c, a = rng.choice(list(COLORS)), rng.choice(list(ANIMALS))
        pairs.append((spell(c, a, rng), spell(c, a, rng)))
    rule = sum(says(rule_verifier_judge, t, s) for t, s in pairs) / n
    exact = sum(says(exact_match_judge, t, s) for t, s in pairs) / n
    assert 0.08 < rule < 0.15 and exact < 0.04
