"""Golden tests of StepSearch's rewards against hand-computed values and the official rules
(Zillwang/StepSearch verl/utils/reward_score/qa_step.py, submodule.py; main_ppo.py)."""

from __future__ import annotations

import math

import pytest
from r1repro_stepsearch import constants as C
from r1repro_stepsearch.reward import (
    GlobalOnlyReward,
    OutcomeEM,
    StepSearchReward,
    doc_contents,
    ends_with_last_answer,
    gain_and_redundancy,
    last_answer,
    normalize_answer,
    search_key_coverage,
    tfidf_cosines,
    token_f1,
)

from r1repro.types import Sample


def test_constants_are_the_official_ones():
    assert (C.SEARCH_KEY_WEIGHT, C.STEP_REWARD_SCALE, C.FORMAT_FAIL_SCORE) == (0.618, 0.6, -1.0)
    assert (C.MAX_TURNS, C.TOPK, C.STOP_STRINGS) == (5, 3, ("</search>", "</answer>"))
    p = C.PAPER_PPO
    assert (p["train_batch_size"], p["ppo_mini_batch_size"], p["actor_lr"], p["critic_lr"]) == (
        128,
        32,
        5e-7,
        5e-7,
    )
    assert (p["max_response_length"], p["kl_coef"], p["entropy_coeff"], p["gamma"], p["lam"]) == (
        800,
        1e-3,
        1e-3,
        1,
        1,
    )


def test_squad_normalisation_and_f1():
    # punctuation is removed before articles, so "Eiffel-Tower" fuses into one token
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("An apple, a day") == "apple day"
    assert token_f1("Henry Ford", ["Ford"]) == 0.6667  # p=1/2, r=1, rounded to 4 decimals
    assert token_f1("henry ford", ["Ford", "Henry Ford"]) == 1.0  # max over aliases
    assert token_f1("Paris", "London") == 0.0 and token_f1(None, ["x"]) == 0.0


def test_format_gate_and_answer():
    assert ends_with_last_answer("<search>q</search> ... <answer> x </answer>  \n")
    assert not ends_with_last_answer("<answer>x</answer> and more")
    assert not ends_with_last_answer("no answer at all")
    assert last_answer("<answer>a</answer><answer> b </answer>") == "b"


def test_tfidf_cosine_hand_computed():
    # idf (smooth): alpha ln(3/3)+1 = 1, beta/gamma ln(3/2)+1; cos = 1 / (1 + idf_beta^2)
    idf = math.log(1.5) + 1
    (c,) = tfidf_cosines("alpha beta", ["alpha gamma"])
    assert c == pytest.approx(1 / (1 + idf**2), abs=1e-9)
    assert tfidf_cosines("", ["alpha"]) == [0.0]
    assert tfidf_cosines("a b", ["c d"]) == [0.0]  # no 2-character word: empty vocabulary -> 0, no raise


def test_tfidf_is_refit_per_call():
    # the same pair scores differently with another gold document in the fit (idf changes)
    (alone,) = tfidf_cosines("alpha beta", ["alpha gamma"])
    with_other = tfidf_cosines("alpha beta", ["alpha gamma", "alpha delta"])[0]
    assert alone != pytest.approx(with_other)


def test_information_gain_and_redundancy():
    g1, g2 = "alpha beta gamma", "delta epsilon zeta"
    # the same gold document twice: IG_2 = 0 and RP_2 = 1/k (k = 3 documents in the step)
    ig, rp = gain_and_redundancy([[g1, "x1 y1", "x2 y2"], [g1, "x3 y3", "x4 y4"]], [g1, g2])
    assert ig[0] == pytest.approx(0.5) and ig[1] == pytest.approx(0.0)
    assert rp == [0.0, pytest.approx(1 / 3)]
    # finding the second gold document later pays the rest of the gain
    ig, rp = gain_and_redundancy([[g1], [g2]], [{"paragraph_text": g1}, {"paragraph_text": g2}])
    assert ig == [pytest.approx(0.5), pytest.approx(0.5)] and rp == [0.0, 0.0]
    # a repeat inside one step counts too; no gold documents -> no step scores at all
    assert gain_and_redundancy([["d1 e", "d1 e"]], [g1])[1] == [0.5]
    assert gain_and_redundancy([[g1]], []) == ([], [])


def test_search_key_coverage():
    keys = [["Kaso"], ["Miru"]]
    assert search_key_coverage(["Kaso company", "nothing"], keys) == pytest.approx(0.6667 / 2)
    # a later query for the same group overwrites the earlier (better) one
    assert search_key_coverage(["Kaso", "Kaso company"], keys) == pytest.approx(0.6667 / 2)
    assert search_key_coverage(["Kaso", "Miru"], keys) == 1.0
    assert search_key_coverage([], keys) == 0.0


def test_doc_contents_parses_the_official_passages():
    info = " Doc 1<## Title: A ##> first text\nDoc 2<## Title: B ##> second text\n "
    assert doc_contents(info) == ["first text\nDoc 2", "second text"]  # official split quirk kept


GOLD_A, GOLD_B = "Kaso Miru works for Tela Works.", "Tela Works is based in the city of Ronavi."
INFO_1 = f"\n\n<information> Doc 1<## Title: Kaso Miru ##> {GOLD_A}\nDoc 2<## Title: X ##> noise words here </information>\n\n"
INFO_2 = f"\n\n<information> Doc 1<## Title: Tela Works ##> {GOLD_B}\nDoc 2<## Title: X ##> noise words here </information>\n\n"


def _sample(turns=None, response=None):
    gt = {"target": ["Ronavi"], "search_keys": [["Kaso Miru"], ["Tela Works"]]}
    extra = {"support_docs": [{"paragraph_text": GOLD_A}, {"paragraph_text": GOLD_B}]}
    if response is None:
        response = "".join(t["policy"] + t["observation"] for t in turns)
    return Sample(response=response, ground_truth=gt, extra=extra, meta={"turns": turns} if turns else {})


TURNS = [
    {"policy": "<search> Kaso Miru </search>", "observation": INFO_1, "end": 7},
    {"policy": "<search> Tela Works </search>", "observation": INFO_2, "end": 30},
    {"policy": "<answer> Ronavi </answer>", "observation": "", "end": 50},
]


def test_step_search_reward_full_episode():
    (res,) = StepSearchReward()([_sample(TURNS)])
    assert res.score == pytest.approx(1.0 + 0.618 * 1.0)  # F1 = 1, both key groups hit
    docs = [doc_contents(INFO_1.split("<information>")[1].split("</information>")[0]),
            doc_contents(INFO_2.split("<information>")[1].split("</information>")[0])]  # fmt: skip
    assert docs[0] == [GOLD_A + "\nDoc 2", "noise words here"]
    ig, rp = gain_and_redundancy(docs, [GOLD_A, GOLD_B])
    assert rp == [0.0, 0.5]
    assert res.token_rewards == [(7, pytest.approx(0.6 * ig[0])), (30, pytest.approx(0.6 * (ig[1] - 0.5)))]
    assert res.info["em"] == 1.0 and res.info["searches"] == 2 and res.info["redundancy_rate"] == 0.25
    # the text path (what a verl reward worker sees) gives the same final score, no positions
    (txt,) = StepSearchReward()([_sample(response=_sample(TURNS).response)])
    assert txt.score == pytest.approx(res.score) and txt.token_rewards is None
    assert txt.info["step_score_sum"] == pytest.approx(res.info["step_score_sum"])


def test_format_failure_is_minus_one_without_step_rewards():
    bad = [*TURNS[:2], {"policy": "<answer> Ronavi </answer> extra", "observation": "", "end": 50}]
    (res,) = StepSearchReward()([_sample(bad)])
    assert res.score == -1.0 and res.token_rewards is None


def test_reward_reads_the_models_text_not_tool_output():
    # a retrieved document that contains an answer tag must not count as the model's answer
    leak = "\n\n<information> Doc 1<## Title: T ##> <answer> Ronavi </answer> </information>\n\n"
    turns = [{"policy": "<search> q </search>", "observation": leak, "end": 3},
             {"policy": "<answer> Paris </answer>", "observation": "", "end": 9}]  # fmt: skip
    (res,) = StepSearchReward()([_sample(turns)])
    assert res.info["em"] == 0.0 and res.info["f1"] == 0.0


def test_ablation_and_outcome_rewards():
    (g,) = GlobalOnlyReward()([_sample(TURNS)])
    assert g.score == pytest.approx(1.618) and g.token_rewards is None
    wrong = [*TURNS[:2], {"policy": "<answer> Paris </answer>", "observation": "", "end": 50}]
    (e,) = OutcomeEM()([_sample(wrong)])
    (e2,) = OutcomeEM()([_sample(TURNS)])
    assert (e.score, e2.score) == (0.0, 1.0)


@pytest.mark.parametrize("junk", ["", "<answer>", "</answer><answer>", "\x00" * 50, "<search>" * 1000])
def test_rewards_never_raise_on_model_output(junk):
    for reward in (StepSearchReward(), GlobalOnlyReward(), OutcomeEM()):
        (res,) = reward(
            [Sample(response=junk, ground_truth={"target": ["x"]}, extra={"support_docs": ["a b"]})]
        )
        assert math.isfinite(res.score) and "error" not in res.info
