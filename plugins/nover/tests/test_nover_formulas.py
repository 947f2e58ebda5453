"""Golden tests: NOVER's formulas and constants (paper §3; official reward_functions.py, utils.py)."""

import math

import pytest
from r1repro_nover import proxy as proxy_mod
from r1repro_nover import reward as rw
from r1repro_nover.templates import NoverTemplate, first_block, is_exact_format, nover_prompt


def test_constants_match_the_official_config():
    assert (rw.W_FORMAT, rw.W_REASONING, rw.W_EFFICIENCY) == (1.0, 1.0, 1.0)
    assert proxy_mod.ALPHA_CONFIG_PY == 0.9 and proxy_mod.ALPHA_LATER_CONFIG == 0.6
    assert proxy_mod.SYNC_EVERY_PAPER == 100


def test_prompt_is_verbatim():
    assert nover_prompt("Why?") == (
        "\nQuestion: Why?\n\nAnswer the question and return in the following format:\n\n"
        "<think>\n...\n</think>\n\n<answer>\n...\n</answer>\n"
    )
    assert "<plan>\n...\n</plan>" in nover_prompt("q", think_tag="plan")


@pytest.mark.parametrize(
    "completion, ok",
    [
        ("<think>a b</think><answer>c</answer>", True),
        ("<think>\na b\n</think>\n\n<answer>\nc\n</answer>\n", True),  # whitespace is ignored
        ("<think></think><answer></answer>", True),  # empty blocks pass (as in the official code)
        ("Sure. <think>a</think><answer>c</answer>", False),  # text before
        ("<think>a</think> so <answer>c</answer>", False),  # text between
        ("<think>a</think><answer>c</answer> done", False),  # text after
        ("<think>a</think>", False),  # no answer block
        ("<answer>c</answer><think>a</think>", False),  # wrong order
        ("<think>a</think><answer>c</answer><answer>d</answer>", False),  # a second answer
        ("", False),
    ],
)
def test_format_reward(completion, ok):
    assert rw.format_reward(completion) == (1.0 if ok else 0.0)
    assert is_exact_format(completion) is ok


def test_first_block_strips_and_takes_the_first():
    assert first_block("<think> x </think><think>y</think>", "think") == "x"
    assert first_block("no tags", "think") == ""


@pytest.mark.parametrize(
    "n, log10_value, ln_value",
    [
        (0, 1.0, 1.0),  # log 0 = -inf -> clipped to 1
        (1, 1.0, 1.0),
        (10, 2.0, 1.0 + math.log(10)),
        (100, 3.0, 1.0 + math.log(100)),
        (5, 1.0 + math.log10(5), 1.0 + math.log(5)),
    ],
)
def test_length_norm(n, log10_value, ln_value):
    assert rw.length_norm(n) == pytest.approx(log10_value)  # official code: log10 (default)
    assert rw.length_norm(n, "ln") == pytest.approx(ln_value)  # the paper's formula writes log


def test_reasoning_perplexity():
    # NLL 2.0 nats/token, 100 reasoning tokens -> N = 3 -> exp(2/3)
    assert rw.reasoning_perplexity(2.0, 100) == pytest.approx(math.exp(2.0 / 3.0))
    assert rw.reasoning_perplexity(2.0, 1) == pytest.approx(math.exp(2.0))
    assert rw.reasoning_perplexity(0.0, 50) == 1.0


def test_rank_rewards_hand_computed():
    # valid P_r: [3.0, 1.0, 2.0, invalid, 4.0] -> ranks 2, 0, 1, -, 3 of n_valid = 4
    assert rw.rank_rewards([3.0, 1.0, 2.0, None, 4.0]) == [2 / 4, 4 / 4, 3 / 4, 0.0, 1 / 4]
    assert rw.rank_rewards([float("inf"), None]) == [0.0, 0.0]
    assert rw.rank_rewards([5.0]) == [1.0]
    # official tie rule ("order"): the stable sort keeps the completions' order
    assert rw.rank_rewards([2.0, 2.0, 1.0], ties="order") == [2 / 3, 1 / 3, 1.0]
    # default ("average"): tied completions share the mean of their ranks' rewards (2/3, 1/3 -> 1/2)
    assert rw.rank_rewards([2.0, 2.0, 1.0]) == [1 / 2, 1 / 2, 1.0]
    # four identical P_r (within the relative tolerance) and one better: (4+3+2+1)/5/4 = 1/2 each
    assert rw.rank_rewards([1.5, 1.5, 1.0, 1.5 * (1 + 1e-9), 1.5]) == pytest.approx(
        [1 / 2, 1 / 2, 1.0, 1 / 2, 1 / 2]
    )
    # the group's reward sum is the same under both rules
    ppl = [2.0, 3.0, 2.0, 1.0, 3.0, 3.0]
    assert sum(rw.rank_rewards(ppl)) == pytest.approx(sum(rw.rank_rewards(ppl, ties="order")))
    # an all-identical group carries no reasoning signal: every completion gets the same reward
    assert len(set(rw.rank_rewards([1.7] * 8))) == 1
    with pytest.raises(ValueError):
        rw.rank_rewards([1.0], ties="random")


def test_efficiency_rewards_hand_computed():
    lengths = [10, 20, 30, 5]
    ppl = [1.0, 2.0, 3.0, None]  # the 4th is invalid
    # i=0 beats j=1 (10<20, 1<2) and j=2 (10<30, 1<3): 2/2; i=1 beats j=2: 1/2; i=2: 0
    assert rw.efficiency_rewards(lengths, ppl) == [1.0, 0.5, 0.0, 0.0]
    # shorter but worse beats no one
    assert rw.efficiency_rewards([5, 10], [2.0, 1.0]) == [0.0, 0.0]
    # ties in either length or perplexity do not count
    assert rw.efficiency_rewards([5, 5, 9], [1.0, 2.0, 2.0]) == [0.5, 0.0, 0.0]
    assert rw.efficiency_rewards([5, 10], [1.0, None]) == [0.0, 0.0]  # fewer than 2 valid


def test_total_reward_gates_on_format():
    assert rw.total_reward(1.0, 0.75, 0.5) == 2.25
    assert rw.total_reward(0.0, 0.75, 0.5) == 0.0
    assert rw.total_reward(1.0, 0.5, 0.5, w_format=2.0, w_reasoning=0.5, w_efficiency=0.0) == 2.25


def test_ema_arithmetic_on_a_lora_style_state_dict():
    import torch

    proxy = {"lora_A": torch.tensor([1.0, 2.0]), "lora_B": torch.tensor([[0.0]]), "step": torch.tensor(3)}
    policy = {"lora_A": torch.tensor([3.0, 4.0]), "lora_B": torch.tensor([[10.0]]), "step": torch.tensor(7)}
    mixed = proxy_mod.ema_state_dict(proxy, policy, alpha=0.9)
    assert torch.allclose(mixed["lora_A"], torch.tensor([1.2, 2.2]))  # 0.9*1 + 0.1*3, 0.9*2 + 0.1*4
    assert torch.allclose(mixed["lora_B"], torch.tensor([[1.0]]))
    assert int(mixed["step"]) == 7  # non-float entries come from the policy
    half = proxy_mod.ema_state_dict(proxy, policy, alpha=0.6)
    assert torch.allclose(half["lora_A"], torch.tensor([1.8, 2.8]))


def test_template_round_trip_and_format_flag():
    tpl = NoverTemplate()
    text = tpl.format_response(answer="It is in Oslo.", think="B has a dog. The dog is in Oslo.")
    parsed = tpl.parse(text)
    assert parsed.answer == "It is in Oslo." and parsed.think == "B has a dog. The dog is in Oslo."
    assert parsed.format_ok and rw.format_reward(text) == 1.0
    assert tpl.render("q")[0]["content"] == nover_prompt("q")
