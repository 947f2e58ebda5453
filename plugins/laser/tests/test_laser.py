"""Golden tests of LASER / LASER-D / LASER-DE: every constant, the reward table, the controller rule.

Hand-computed values; the paper's constants come from hkust-nlp/Laser (see `r1repro_laser.reward`).
"""

from __future__ import annotations

import math

import pytest
from r1repro_laser import controller as ctl
from r1repro_laser import reward as rw
from r1repro_laser.repetition import is_repetitive, repetition_start

from r1repro.registry import load_plugins
from r1repro.types import RewardResult, Sample

EXACT = {"name": "core.exact_match"}


def sample(response: str, gt: str = "7", length: int | None = None, group: str = "g") -> Sample:
    return Sample(response=response, ground_truth=gt, group_id=group,
                  response_length=length if length is not None else len(response))  # fmt: skip


RIGHT = "<think>3+4</think>\\boxed{7}"
WRONG = "<think>3+5</think>\\boxed{8}"
NO_BOX = "<think>3+4</think>7"
NO_THINK = "\\boxed{7}"
UNCLOSED = "<think>3+4 \\boxed{7}"  # truncated inside the thinking block


# ------------------------------------------------------------------ constants and base reward
def test_paper_constants():
    assert (rw.CORRECT_REWARD, rw.WRONG_REWARD, rw.FORMAT_PENALTY, rw.LENGTH_REWARD) == (1.0, -0.5, -1.0, 0.5)
    assert rw.PAPER_TARGET_LENGTH == 4096
    assert ctl.bucket_sizes(8) == {"easy": 5, "medium": 2, "hard": 1}
    assert ctl.bucket_sizes(8, "ceil") == {"easy": 6, "medium": 3, "hard": 1}
    assert ctl.EXPECTED_CORRECT == 1


def test_base_reward_table():
    r = load_plugins().build("reward", "laser.accuracy", verifier=EXACT)
    scores = [x.score for x in r([sample(t) for t in (RIGHT, WRONG, NO_BOX, NO_THINK, UNCLOSED)])]
    assert scores == [1.0, -0.5, -1.0, -1.0, -1.0]


def test_think_open_in_prompt_only_needs_the_closing_tag():
    r = load_plugins().build("reward", "laser.accuracy", verifier=EXACT, think_open_in_prompt=True)
    assert [x.score for x in r([sample("3+4</think>\\boxed{7}"), sample(NO_THINK)])] == [1.0, -1.0]


def test_boxed_inside_thinking_does_not_count():
    """The answer is read after </think> (hf_math_verifier.extract_solution_with_thought)."""
    r = load_plugins().build("reward", "laser.accuracy", verifier=EXACT)
    (res,) = r([sample("<think>\\boxed{7}</think>so 8")])
    assert res.score == -1.0 and res.info["answer_correct"] is False


def test_default_verifier_is_math_verify_after_think():
    r = load_plugins().build("reward", "laser.accuracy")
    out = r([sample("<think>half</think>\\boxed{0.5}", gt="\\frac{1}{2}"),
             sample("<think>x</think>\\boxed{\\frac{2}{4}}", gt="\\frac{1}{2}"), sample(WRONG)])  # fmt: skip
    assert [x.score for x in out] == [1.0, 1.0, -0.5]


# ------------------------------------------------------------------ LASER: the step function
@pytest.mark.parametrize(
    ("response", "length", "expected"),
    [
        (RIGHT, 10, 1.5),  # correct, L <= L_T: +1 + 0.5
        (RIGHT, 12, 1.5),  # L == L_T still earns the bonus
        (RIGHT, 13, 1.0),  # correct but too long
        (WRONG, 5, -0.5),  # no bonus for wrong answers, however short
        (WRONG, 50, -0.5),
        (NO_BOX, 5, -1.0),
        (UNCLOSED, 50, -1.0),
    ],
)
def test_laser_step_reward(response, length, expected):
    r = load_plugins().build("reward", "laser.step", verifier=EXACT, target_length=12)
    (res,) = r([sample(response, length=length)])
    assert res.score == expected
    assert res.info["length_reward"] == (0.5 if expected == 1.5 else 0.0)


def test_step_and_exploration_terms():
    assert rw.step_length_reward(1.0, 4096, 4096) == 0.5
    assert rw.step_length_reward(1.0, 4097, 4096) == 0.0
    assert rw.step_length_reward(-0.5, 10, 4096) == 0.0
    assert rw.exploration_reward(-0.5, 5000, 4096, repetitive=False) == 0.5
    assert rw.exploration_reward(-0.5, 5000, 4096, repetitive=True) == 0.0
    assert rw.exploration_reward(-0.5, 4096, 4096, repetitive=False) == 0.0
    assert rw.exploration_reward(-1.0, 5000, 4096, repetitive=False) == 0.0
    assert rw.exploration_reward(1.0, 5000, 4096, repetitive=False) == 0.0


# ------------------------------------------------------------------ LASER-D's controller
def test_length_grid_matches_the_official_thresholds():
    assert ctl.length_grid(4096, 16384, 1024) == list(range(4096, 16385, 1024))
    assert len(ctl.length_grid(4096, 16384, 1024)) == 13
    assert ctl.length_grid(512, 4096, 1024) == [512, 1024, 2048, 3072, 4096]
    assert ctl.length_grid(4, 12, 2) == [4, 6, 8, 10, 12]


def test_bucket_boundaries():
    assert [ctl.bucket_of(a) for a in (1.0, 5 / 8, 2 / 3, 0.5, 3 / 8, 1 / 3, 2 / 8, 0.0)] == [
        "easy", "medium", "easy", "medium", "medium", "medium", "hard", "hard"]  # fmt: skip


def test_expected_correct_responses_rule_by_hand():
    grid = [2, 4, 6, 8, 10, 12]
    # easy: N_b = 5 -> the smallest L with P(L) >= 1/5
    easy = ctl.coverage([3, 5, 7, 9, 11], grid)
    assert easy == {2: 0.0, 4: 0.2, 6: 0.4, 8: 0.6, 10: 0.8, 12: 1.0}
    assert ctl.choose_target(easy, 5) == 4
    # medium: N_b = 2 -> P(L) >= 1/2
    assert ctl.choose_target(ctl.coverage([3, 5, 7, 9], grid), 2) == 6
    # hard: N_b = 1 -> every response must fit
    assert ctl.choose_target(ctl.coverage([3, 5, 7, 9], grid), 1) == 10
    # nothing fits -> no target (the reward falls back to the longest response)
    assert ctl.choose_target(ctl.coverage([30, 40], grid), 1) is None
    assert ctl.choose_target(ctl.coverage([], grid), 5) is None
    # 'ceil' rounds N_b up (6 for easy at n = 8): P(L) >= 1/6 then suffices
    six = ctl.coverage([3, 5, 7, 9, 11, 13], grid)
    assert ctl.choose_target(six, 6, "ceil") == 4 and ctl.choose_target(six, 5) == 6


def test_controller_update_from_monitor_groups():
    c = ctl.TargetLengthController(lower=2, upper=12, interval=2, every=5, n_rollout=8)
    groups = [
        ([True] * 8, [3, 3, 5, 5, 7, 7, 9, 9]),  # accuracy 1 -> easy
        ([True] * 6 + [False] * 2, [11, 11, 11, 11, 11, 11, 11, 11]),  # 0.75 -> easy
        ([True] * 4 + [False] * 4, [3, 5, 7, 9, 3, 5, 7, 9]),  # 0.5 -> medium
        ([True] + [False] * 7, [5, 6, 7, 8, 9, 9, 9, 9]),  # 0.125 -> hard
    ]
    targets = c.update(groups, step=1)
    # easy pool: 16 responses, P(4) = 2/16 -> floor(0.625) = 0; P(6) = 4/16 -> floor(1.25) = 1
    assert targets == {"easy": 6, "medium": 6, "hard": 10}
    assert c.counts == {"easy": 16, "medium": 8, "hard": 8}
    assert c.due(6) and not c.due(5) and c.due(11)


def test_controller_state_round_trip():
    c = ctl.TargetLengthController(lower=2, upper=12, interval=2)
    c.update([([True] * 8, [3] * 8)], step=1)
    d = ctl.TargetLengthController(lower=2, upper=12, interval=2)
    assert d.target("easy") is None
    d.load_state_dict(c.state_dict())
    assert d.state_dict() == c.state_dict() and d.target("easy") == 4 and d.target("hard") is None


def test_laser_d_uses_the_bucket_target_and_falls_back_to_the_longest_response():
    r = load_plugins().build("reward", "laser.d", verifier=EXACT, lower=2, upper=40, interval=2)
    r.controller.targets = {"easy": 8, "medium": 20, "hard": None}
    easy = [sample(RIGHT, length=L, group="e") for L in (6, 8, 10, 12)]  # 4/4 right -> easy, L_T = 8
    hard = [sample(RIGHT, length=30, group="h")] + [sample(WRONG, length=L, group="h") for L in (5, 6, 7)]
    out = r(easy + hard)  # hard has no target -> the longest response of the batch (30)
    assert [x.score for x in out] == [1.5, 1.5, 1.0, 1.0, 1.5, -0.5, -0.5, -0.5]
    assert [x.info["target_length"] for x in out] == [8.0] * 4 + [30.0] * 4
    assert [x.info["bucket"] for x in out] == [0.0] * 4 + [2.0] * 4


def test_laser_de_rewards_long_wrong_non_repetitive_answers():
    r = load_plugins().build("reward", "laser.de", verifier=EXACT, lower=2, upper=40, interval=2)
    r.controller.targets = {"easy": 8, "medium": 8, "hard": 8}
    long_wrong = "<think>" + " ".join(f"w{i}" for i in range(12)) + "</think>\\boxed{8}"
    looping = "<think>" + "a b " * 12 + "</think>\\boxed{8}"
    group = [sample(long_wrong, length=20), sample(looping, length=20), sample(WRONG, length=6),
             sample(RIGHT, length=6)]  # fmt: skip
    out = r(group)  # 1/4 right -> hard bucket, L_T = 8
    assert [x.score for x in out] == [0.0, -0.5, -0.5, 1.5]
    assert [x.info["explore_reward"] for x in out] == [0.5, 0.0, 0.0, 0.0]


def test_repetition_detector():
    assert repetition_start(list(range(8))) == 8  # too short to judge
    assert not is_repetitive(list(range(40)))
    loop = list(range(10)) + [7, 8, 9] * 6
    assert is_repetitive(loop) and repetition_start(loop) < len(loop)
    assert not is_repetitive([5] * 5 + list(range(100, 140)))  # a run of one token is skipped for n > 2
    pattern = list(range(200)) + list(range(300, 312)) * 2
    assert is_repetitive(pattern)


def test_training_batch_source_updates_every_k_calls():
    r = load_plugins().build("reward", "laser.d", verifier=EXACT, lower=2, upper=40, interval=2, every=2,
                             source="training_batch")  # fmt: skip
    batch = [sample(RIGHT, length=L, group="a") for L in (4, 6, 8, 10, 12, 14, 16, 18)]
    r(batch)  # call 1: update -> easy P(L) >= 1/5 at L = 6 (2/8 <= 6)
    assert r.controller.target("easy") == 6 and r.controller.last_update == 1
    r([sample(RIGHT, length=40, group="b")] * 8)  # call 2: not due
    assert r.controller.target("easy") == 6
    r(batch[:1])  # single-response groups (evaluation) do not count as a training step
    assert r.controller.last_update == 1


def test_rewards_survive_adversarial_output():
    from r1repro.testing import check_reward

    for name in ("laser.accuracy", "laser.step", "laser.d", "laser.de"):
        results, _ = check_reward(load_plugins().build("reward", name, verifier=EXACT))
        assert all(math.isfinite(x.score) for x in results)


def test_info_keys_cover_what_the_group_stage_reads():
    """In verl the group stage only sees the declared info keys (r1repro.verl_bridge.reward)."""
    r = load_plugins().build("reward", "laser.de", verifier=EXACT)
    assert {"correct", "answer_correct", "r_acc"} <= set(r.info_keys)
    first = r.score_batch([sample(RIGHT, length=3)])
    kept = RewardResult(first[0].score, {k: first[0].info[k] for k in r.info_keys if k in first[0].info})
    assert r.combine([sample(RIGHT, length=3)], [kept])[0].score == 1.5
