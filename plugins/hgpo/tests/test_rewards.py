"""Golden tests of HGPO's rewards (LHRM §3.2): r_inter with margin δ, r_intra, ties, modes."""

import math

import pytest
from r1repro_hgpo.modes import MODE_CODE, mode_from_code, mode_of
from r1repro_hgpo.reward import DELTA, HybridReward, group_rewards, winning_mode

from r1repro.testing import check_reward
from r1repro.types import Sample

T, N = "think", "no_think"


def test_paper_constants():
    assert DELTA == 0.2


@pytest.mark.parametrize(
    "text, mode",
    [("<think>a</think>\\boxed{1}", T), ("  <no_think>\\boxed{1}</no_think>", N), ("\\boxed{1}", "none"),
     ("</think><think>", "none"), ("", "none"), (None, "none"), ("<no_think", "none")],
)  # fmt: skip
def test_mode_of_reads_the_leading_tag(text, mode):
    assert mode_of(text) == mode
    assert mode_from_code(MODE_CODE[mode]) == mode


@pytest.mark.parametrize(
    "mean_think, mean_no, delta, winner",
    [
        (1.0, 0.0, 0.2, T),      # thinking clearly better
        (0.5, 0.0, 0.2, T),      # 0.5 > 0.0 + 0.2
        (1.0, 0.5, 0.2, T),      # 1.0 > 0.7
        (0.5, 0.5, 0.2, N),      # equal: the margin gives it to no-think
        (0.6, 0.5, 0.2, N),      # thinking better, but within δ
        (0.7, 0.5, 0.2, N),      # exact tie R̄_think = R̄_no + δ (float 0.5 + 0.2): no-think
        (0.75, 0.5, 0.0, T),     # δ sweep on the same group ...
        (0.75, 0.5, 0.2, T),
        (0.75, 0.5, 0.25, N),    # ... tie at δ = 0.25
        (0.75, 0.5, 0.3, N),
        (0.0, 0.0, 0.0, N),      # δ = 0 and a tie: still no-think
        (0.2, 0.9, -0.8, T),     # a negative δ would favour thinking (0.2 > 0.1)
        (None, 0.3, 0.2, N),     # a mode with no response cannot win
        (0.3, None, 0.2, T),
        (None, None, 0.2, "none"),
    ],
)  # fmt: skip
def test_winning_mode_argmax_with_margin(mean_think, mean_no, delta, winner):
    assert winning_mode(mean_think, mean_no, delta) == winner


def test_group_rewards_golden_n4():
    # think [1, 0] (mean 0.5) vs no-think [0, 0]: thinking wins; best-in-mode: the correct think,
    # and both no-think responses (they tie at the mode's maximum, 0).
    r_inter, r_intra, win = group_rewards([1, 0, 0, 0], [T, T, N, N])
    assert win == T
    assert r_inter == [1, 1, 0, 0]
    assert r_intra == [1, 0, 1, 1]


def test_group_rewards_easy_prompt_goes_to_no_think():
    r_inter, r_intra, win = group_rewards([1, 1, 1, 1], [T, T, N, N])
    assert (win, r_inter, r_intra) == (N, [0, 0, 1, 1], [1, 1, 1, 1])


def test_group_rewards_reward_model_scores_and_order():
    # continuous scores, modes interleaved: think mean 0.55, no-think mean 0.45 (+0.2 = 0.65) -> no-think
    scores = [0.9, 0.3, 0.2, 0.6]
    modes = [T, N, T, N]
    r_inter, r_intra, win = group_rewards(scores, modes)
    assert win == N
    assert r_inter == [0, 1, 0, 1]
    assert r_intra == [1, 0, 0, 1]
    assert group_rewards(scores, modes, delta=0.1)[2] == N  # 0.55 vs 0.55: a tie goes to no-think
    r_inter, _, win = group_rewards(scores, modes, delta=0.05)  # 0.55 > 0.50 -> think
    assert win == T and r_inter == [1, 0, 1, 0]


def test_group_rewards_ties_within_a_mode_all_best():
    _, r_intra, _ = group_rewards([0.7, 0.7, 0.2, 0.5, 0.5, 0.1], [T, T, T, N, N, N])
    assert r_intra == [1, 1, 0, 1, 1, 0]


def test_group_rewards_untagged_and_single_mode():
    r_inter, r_intra, win = group_rewards([1, 1, 0], [T, "none", T])
    assert win == T and r_inter == [1, 0, 1] and r_intra == [1, 0, 0]
    assert group_rewards([0, 0], ["none", "none"]) == ([0, 0], [0, 0], "none")


def _group(gid, texts, gt="5", meta_modes=None):
    return [Sample(response=t, ground_truth=gt, group_id=gid, meta={"mode": m} if m else {})
            for t, m in zip(texts, meta_modes or [None] * len(texts))]  # fmt: skip


def test_hybrid_reward_end_to_end_two_groups():
    reward = HybridReward()
    a = _group("a", ["<think>x</think>\\boxed{5}", "<think>y</think>\\boxed{4}", "<no_think>\\boxed{1}</no_think>",
                     "<no_think>\\boxed{2}</no_think>"])  # fmt: skip
    b = _group("b", ["<think>z</think>\\boxed{5}", "<think>z</think>\\boxed{5}", "<no_think>\\boxed{5}</no_think>",
                     "<no_think>\\boxed{5}</no_think>"])  # fmt: skip
    res = reward(a[:2] + b[:2] + a[2:] + b[2:])  # groups interleaved in the batch
    info = [r.info for r in res]
    assert [r.score for r in res] == [1, 0, 1, 1, 0, 0, 1, 1]
    assert [i["r_inter"] for i in info] == [1, 1, 0, 0, 0, 0, 1, 1]
    assert [i["r_intra"] for i in info] == [1, 0, 1, 1, 1, 1, 1, 1]
    assert [i["mode_is_think"] for i in info] == [1, 1, 1, 1, 0, 0, 0, 0]
    for key in HybridReward.info_keys:
        assert all(isinstance(i[key], bool | int | float) and math.isfinite(float(i[key])) for i in info)


def test_hybrid_reward_prefers_the_rollout_record_of_the_mode():
    # the rollout recorded "no_think" although the text was cut: the record wins
    s = _group("g", ["\\boxed{5}", "<think>\\boxed{5}"], meta_modes=["no_think", None])
    res = HybridReward()(s)
    assert [r.info["mode_is_think"] for r in res] == [0.0, 1.0]


def test_open_prompts_go_to_the_open_verifier():
    reward = HybridReward(open_verifier="core.numeric_match")
    res = reward([Sample(response="<no_think>\\boxed{3}</no_think>", ground_truth="", group_id="o")])
    assert res[0].score == 0.0 and "error" not in res[0].info
    res = HybridReward()([Sample(response="\\boxed{3}", ground_truth="", group_id="o")])
    assert res[0].score == 0.0


def test_hybrid_reward_survives_the_adversarial_corpus():
    results, _ = check_reward(HybridReward())
    assert all(math.isfinite(r.info["r_inter"]) for r in results)
