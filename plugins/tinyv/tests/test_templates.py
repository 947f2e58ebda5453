"""Golden tests: TinyV's prompts and the reading of the verifier's reply (official tinyv.py /
tinyv_config.json / bigmath_rl_tinyv.py)."""

import hashlib

import pytest
from r1repro_tinyv import templates as T

# The TinyV-1.5B verifier prompt, verbatim (verl/verl/utils/reward_score/tinyv_config.json).
EXPECTED_PROMPT = (
    "You are an AI tasked with identifying false negatives in answer verification. A false negative occurs when "
    "a model's answer is essentially correct but is marked as incorrect due to minor discrepancies or formatting "
    "issues. Your job is to analyze the given question, ground truth answer, and model answer to determine if the "
    "model's answer is actually correct despite appearing different from the ground truth.\n\n"
    "<question>{{QUESTION}}</question>\n\n"
    "<ground_truth_answer>{{GROUND_TRUTH_ANSWER}}</ground_truth_answer>\n\n"
    "<model_answer>{{MODEL_ANSWER}}</model_answer>\n\n"
    'Return "True" if the model\'s answer is correct, otherwise return "False".'
)


def test_verifier_prompt_is_the_papers():
    assert T.TINYV_PROMPT == EXPECTED_PROMPT
    assert hashlib.sha256(T.TINYV_PROMPT.encode()).hexdigest() == (
        "0c51a8fbd778e85ae7868e498c609afbe697a70077c40cbe5e1bc593f6165f58"
    )
    assert T.verifier_spec("zhangchenxu/TinyV-1.5B") == T.VerifierSpec(EXPECTED_PROMPT, 8, 0.0, 1.0, False)
    think = T.verifier_spec("zhangchenxu/TinyV-1.5B-Think")
    assert think.template == EXPECTED_PROMPT and think.max_tokens == 512 and think.think
    qwen3 = T.verifier_spec("zhangchenxu/TinyV-Qwen3-1.7B").template
    assert qwen3.startswith(
        "You are an AI tasked with identifying if the model's answer is correct compared to"
    )
    assert qwen3.endswith(EXPECTED_PROMPT[EXPECTED_PROMPT.index("\n\n<question>") :])
    assert T.verifier_spec("/some/local/tiny-verifier") == T.verifier_spec("zhangchenxu/TinyV-1.5B")
    assert T.RETRY_TEMPERATURE_BUMP == 0.3


def test_prompt_rendering_fills_the_three_slots_in_order():
    msgs = T.verifier_messages("What is 1+1?", "2", "two")
    assert msgs == [{"role": "user", "content": EXPECTED_PROMPT.replace("{{QUESTION}}", "What is 1+1?")
                     .replace("{{GROUND_TRUTH_ANSWER}}", "2").replace("{{MODEL_ANSWER}}", "two")}]  # fmt: skip
    text = msgs[0]["content"]
    assert text.index("What is 1+1?") < text.index(">2<") < text.index(">two<")
    # a ground truth that itself contains a slot name is not expanded twice (official order)
    assert "{{MODEL_ANSWER}}" not in T.render_verifier_prompt("q", "a", "b")


def test_policy_prompt_is_the_official_suffix():
    tpl = T.TinyVBoxedTemplate()
    assert T.POLICY_INSTRUCTION == " Let's think step by step and output the final answer within \\boxed{}."
    assert tpl.render("Compute 1+1.") == [
        {
            "role": "user",
            "content": "Compute 1+1. Let's think step by step and output the final answer within \\boxed{}.",
        }
    ]
    assert tpl.parse(tpl.format_response("\\frac{1}{2}")).answer == "\\frac{1}{2}"


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("True", 1), ("False", 0), ("true", 1), ("FALSE", 0), (" True.", 1), ("The answer is True", 1),
        ("Maybe", 0), ("", 0), (None, 0), ("untrue", 1),  # official: substring "true" anywhere
        ("True or False", 1), ("False. Not true", 1),
    ],
)  # fmt: skip
def test_parse_verdict_non_think(reply, expected):
    assert T.parse_verdict(reply) == expected


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("reasoning ... Answer: True", 1), ("it is true that ... Answer: False", 0),
        ("<think>hmm</think>True", 1), ("<think>true?</think> False", 0),
        ("no marker, True", None),  # invalid think reply: scored 0 by the reward
        ("Answer: True Answer: False", 1),  # the text after the *first* "Answer:" up to the next split
    ],
)  # fmt: skip
def test_parse_verdict_think(reply, expected):
    assert T.parse_verdict(reply, think=True) == expected
