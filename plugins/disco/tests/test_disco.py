"""Golden tests of DISCO: the weights, the scaled rewards, the advantages (and why no std).

Constants from Tonyzhou98/disco_grpo, ``scripts/grpo/arc_domain_reward_func.py``; hand-computed values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from r1repro_disco import reward as dr
from r1repro_disco.data import KEYS, DomainFacts, fact_tables, pair_tables

from r1repro.components import Reward
from r1repro.registry import load_plugins
from r1repro.types import RewardResult, Sample

SHARES = {"arc": 0.75, "math": 1 / 12, "imdb": 1 / 12, "nq": 1 / 12}


def group(domain: str, rewards: list[int], gid: str) -> list[Sample]:
    """Samples whose exact-match reward is given: '\\boxed{1}' is right, '\\boxed{0}' wrong."""
    return [
        Sample(response=f"\\boxed{{{r}}}", ground_truth="1", domain=domain, group_id=gid) for r in rewards
    ]


# ------------------------------------------------------------------------------ weights
def test_domain_weight_constants_of_the_official_code():
    assert round(dr.domain_weight(1 / 12), 3) == 2.565  # minority domains of a *_main set
    assert round(dr.domain_weight(0.75), 3) == 0.847  # the 75% domain
    # the commented-out alternatives: the square and 1/p
    assert round(dr.domain_weight(1 / 12, "log_squared"), 2) == 6.58
    assert round(dr.domain_weight(0.75, "log_squared"), 2) == 0.72
    assert dr.domain_weight(1 / 12, "inverse") == pytest.approx(12.0)
    assert round(dr.domain_weight(0.75, "inverse"), 2) == 1.33
    with pytest.raises(ValueError):
        dr.domain_weight(0.0)


def test_difficulty_weight():
    assert dr.EPSILON == 1e-5
    assert dr.difficulty_weight(0.5) == pytest.approx(1 / 0.50001)
    assert dr.difficulty_weight(0.25) == pytest.approx(1 / 0.25001)
    assert dr.difficulty_weight(0.0) == pytest.approx(1e5)
    assert dr.difficulty_weight(0.25, "log_squared") == pytest.approx(math.log(1 + 1 / 0.25001) ** 2)
    assert dr.difficulty_weight(0.25, "none") == 1.0


def test_shares_are_counted():
    assert dr.count_shares(["a", "a", "a", "b"]) == {"a": 0.75, "b": 0.25}
    assert dr.count_shares([]) == {}


# ------------------------------------------------------------------------------ the scaled reward
def weighted(**options) -> Reward:
    return load_plugins().build("reward", "disco.weighted", base={"name": "core.exact_match"}, **options)


def test_scaled_rewards_by_hand():
    r = weighted(domain_shares=SHARES)
    out = r(
        group("math", [1, 0, 0, 0], "m") + group("arc", [1, 1, 1, 0], "a") + group("arc", [0, 0, 0, 0], "z")
    )
    w_m, w_a = math.log(13), math.log(7 / 3)
    expected = [w_m / 0.25001, 0, 0, 0] + [w_a / 0.75001] * 3 + [0] + [0] * 4
    assert [x.score for x in out] == pytest.approx(expected)
    assert out[0].info["disco_w_dom"] == pytest.approx(2.5649, abs=1e-4)
    assert out[0].info["disco_sc"] == 0.25 and out[4].info["disco_sc"] == 0.75
    assert [x.info["correct"] for x in out[:4]] == [True, False, False, False]


def test_official_weight_table_can_be_given_as_is():
    r = weighted(domain_weights={"math": 2.565, "arc": 0.847})
    out = r(group("math", [1, 1], "m") + group("other", [1, 1], "o"))
    assert [x.score for x in out] == pytest.approx([2.565 / 1.00001] * 2 + [1.0 / 1.00001] * 2)


def test_shares_from_the_training_data():
    r = load_plugins().build("reward", "disco.weighted", dataset={"name": "disco.domain_facts"},
                             dataset_limit=2000)  # fmt: skip
    w = r.domain_weights()
    ds = DomainFacts().load("train", limit=2000)
    p_math = sum(row.domain == "math" for row in ds) / len(ds)
    assert w["math"] == pytest.approx(math.log(1 + 1 / p_math)) and w["arc"] < 1.0 < w["math"]


def test_online_shares_and_their_state():
    r = weighted()
    r(group("arc", [1, 1, 1], "a") + group("math", [1], "m"))  # shares so far: 3/4, 1/4
    assert r.domain_weights() == pytest.approx({"arc": math.log(7 / 3), "math": math.log(5)})
    fresh = weighted()
    fresh.load_state_dict(r.state_dict())
    assert fresh.domain_weights() == r.domain_weights()


def test_self_consistency_from_score_matches_correct_for_binary_bases():
    a, b = weighted(domain_shares=SHARES), weighted(domain_shares=SHARES, sc_from="score")
    batch = group("imdb", [1, 0, 1, 0, 0, 0, 0, 0], "g")
    assert [x.score for x in a(batch)] == pytest.approx([x.score for x in b(batch)])


def test_difficulty_weight_cap():
    r = weighted(domain_shares=SHARES, max_difficulty_weight=4.0)
    out = r(group("arc", [1, 0, 0, 0, 0, 0, 0, 0], "g"))
    assert out[0].info["disco_w_diff"] == 4.0


class _GroupBonus(Reward):
    """A group-aware stand-in for a shaped base (LASER-D): +1 to the first response of each group."""

    group_aware = True
    info_keys = ("correct",)

    def score_one(self, sample):
        ok = "\\boxed{1}" in sample.response
        return RewardResult(float(ok), {"correct": ok})

    def combine(self, samples, results):
        seen, out = set(), []
        for s, res in zip(samples, results):
            bonus = 0.0 if s.group_id in seen else 1.0
            seen.add(s.group_id)
            out.append(RewardResult(res.score + bonus, dict(res.info)))
        return out


def test_a_group_aware_base_runs_its_group_stage_before_the_weights():
    r = weighted(domain_shares=SHARES)
    r.base = _GroupBonus()
    out = r(group("math", [1, 0], "m"))
    w = math.log(13) / 0.50001  # SC from correctness: 1/2
    assert [x.score for x in out] == pytest.approx([2 * w, 0.0])
    # in verl the group stage sees only the declared info keys: enough to redo it
    first = r.score_batch(group("math", [1, 0], "m"))
    kept = [RewardResult(x.score, {k: x.info[k] for k in r.info_keys if k in x.info}) for x in first]
    assert [x.score for x in r.combine(group("math", [1, 0], "m"), kept)] == pytest.approx([2 * w, 0.0])


def test_children_expose_the_base_for_checkpoints_and_hooks():
    r = weighted(domain_shares=SHARES)
    assert r.children() == [r.base]


# ------------------------------------------------------------------------------ advantages
def _advantages(scores: list[float], groups: list[str], norm_by_std: bool) -> np.ndarray:
    from verl.trainer.config import AlgoConfig

    from r1repro.algos import compute_advantage

    rewards = torch.zeros(len(scores), 3)
    rewards[:, -1] = torch.tensor(scores)
    mask = torch.ones(len(scores), 3)
    cfg = AlgoConfig(adv_estimator="grpo", norm_adv_by_std_in_grpo=norm_by_std)
    adv, _ = compute_advantage("grpo", rewards, mask, np.array(groups, dtype=object), cfg)
    return adv[:, 0].numpy()


@pytest.mark.verl
def test_advantages_without_std_are_weighted_by_hand():
    """A = w_dom * w_diff * (r - mean): verl's grpo with norm_adv_by_std_in_grpo=False."""
    r = weighted(domain_shares=SHARES)
    batch = group("math", [1, 0, 0, 0], "m") + group("arc", [1, 1, 1, 0], "a")
    scores = [x.score for x in r(batch)]
    adv = _advantages(scores, [s.group_id for s in batch], norm_by_std=False)
    w_m, w_a = math.log(13) / 0.25001, math.log(7 / 3) / 0.75001
    expected = [w_m * 0.75] + [w_m * -0.25] * 3 + [w_a * 0.25] * 3 + [w_a * -0.75]
    assert adv == pytest.approx(expected, rel=1e-5)
    # the hard, minority prompt moves the policy ~9x more than the easy, majority one
    assert adv[0] / adv[4] == pytest.approx((0.75 * w_m) / (0.25 * w_a), rel=1e-5)


@pytest.mark.verl
def test_std_normalisation_cancels_the_weights():
    """With GRPO's division by the group std, DISCO's rewards give GRPO's advantages back."""
    batch = (
        group("math", [1, 0, 0, 0], "m") + group("arc", [1, 1, 1, 0], "a") + group("imdb", [0, 1, 0, 1], "i")
    )
    gids = [s.group_id for s in batch]
    plain = [x.score for x in load_plugins().build("reward", "core.exact_match")(batch)]
    scaled = [x.score for x in weighted(domain_shares=SHARES)(batch)]
    with_std_plain = _advantages(plain, gids, norm_by_std=True)
    with_std_scaled = _advantages(scaled, gids, norm_by_std=True)
    assert with_std_scaled == pytest.approx(with_std_plain, abs=1e-4)
    without_std_plain = _advantages(plain, gids, norm_by_std=False)
    without_std_scaled = _advantages(scaled, gids, norm_by_std=False)
    assert not np.allclose(without_std_scaled, without_std_plain, atol=1e-2)


# ------------------------------------------------------------------------------ base reward
@pytest.mark.parametrize(
    ("domain", "response", "label", "ok"),
    [
        ("math", "so the total is 12. The answer is 12", "12", True),
        # official extract_math_answer: a bare "\\frac{1}{2}" label reduces to its last number, "2"
        ("math", "\\boxed{\\dfrac{1}{2}}", "\\frac{1}{2}", False),
        ("math", "\\boxed{\\dfrac{1}{2}}", "\\boxed{\\frac{1}{2}}", True),
        ("math", "\\boxed{0.5}", "The answer is \\frac{1}{2}", True),  # the MATH normalisation maps 0.5 to \frac{1}{2}
        ("math", "it is 3 then 4", "4", True),  # the last number
        ("math", "\\boxed{5}", "4", False),
        ("arc", "I think B, no, the answer is C", "C", True),
        ("arc", "Answer: B", "C", False),
        ("arc", "Absolutely", "A", False),  # a letter inside a word is not an option
        ("nq", "It was written by William Shakespeare.", "Shakespeare;Marlowe", True),
        ("nq", "It was Bacon.", "Shakespeare", False),
        ("imdb", "positive at first, but overall negative", "Negative", True),
        ("imdb", "Negative... no, Positive", "Negative", False),
    ],
)
def test_domain_rules(domain, response, label, ok):
    r = load_plugins().build("reward", "disco.domain_match")
    (res,) = r([Sample(response=response, ground_truth=label, domain=domain)])
    assert res.score == float(ok) and res.info["correct"] is ok


def test_domain_recognised_from_the_official_prompt_wording():
    r = load_plugins().build("reward", "disco.domain_match")
    s = Sample(response="Positive", ground_truth="Positive", domain="general",
               problem="Below is a movie review. Determine the sentiment of the review as Positive or Negative.")  # fmt: skip
    assert r([s])[0].score == 1.0


def test_rewards_survive_adversarial_output():
    from r1repro.testing import check_reward

    for spec in ("disco.domain_match", {"name": "disco.weighted", "domain_shares": SHARES}):
        results, _ = check_reward(load_plugins().build("reward", spec))
        assert all(math.isfinite(x.score) for x in results)


# ------------------------------------------------------------------------------ the CPU task
def test_fact_task_tables_and_mixture():
    tables = fact_tables()
    assert set(tables) == {"arc", "math", "imdb", "nq"} and all(len(t) == 17 for t in tables.values())
    assert all(tables["nq"][tables["math"][k]] == k for k in tables["math"])  # predecessor inverts successor
    assert set(tables["arc"].values()) <= set("ABCD") and set(tables["imdb"].values()) == {
        "Positive",
        "Negative",
    }
    ds = DomainFacts()
    train = ds.load("train", limit=4000)
    share = sum(r.domain == "arc" for r in train) / len(train)
    assert 0.72 < share < 0.78
    test = ds.load("test")
    assert {d: sum(r.domain == d for r in test) for d in ("arc", "math", "imdb")} == {
        "arc": 200,
        "math": 200,
        "imdb": 200,
    }
    rule = load_plugins().build("reward", "disco.domain_match")
    sols = [
        Sample(response=ds.solution(r, None), ground_truth=r.ground_truth, domain=r.domain)
        for r in train[:2000]
    ]
    acc = np.mean([x.score for x in rule(sols)])
    assert 0.55 < acc < 0.65  # the SFT solutions are right 60% of the time, by construction


def test_majority_domain_is_keyed_by_pairs():
    """The majority table has 289 entries (issue 10: a 17-entry one saturated in every arm); the
    minority prompts keep one key, and the format confusions read the other table at the first key."""
    pairs = pair_tables()
    assert len(pairs["arc"]) == len(KEYS) ** 2 and set(pairs["arc"].values()) == set("ABCD")
    ds = DomainFacts()
    for r in ds.load("train", limit=400):
        k1, *rest = r.extra["keys"].split()
        assert len(rest) == (1 if r.domain == "arc" else 0)
        assert r.ground_truth == (pairs["arc"][r.extra["keys"]] if r.domain == "arc" else ds.tables[r.domain][k1])
        assert r.extra["keys"] in r.problem
    arc = next(r for r in ds.load("sft") if r.domain == "arc" and 0.6 <= r.extra["noise"])
    other = ["math", "imdb"][arc.extra["alt"] % 2]
    assert ds.solution(arc, None).endswith(ds.tables[other][arc.extra["key"]] + ("}" if other == "math" else ""))
    single = DomainFacts(pair_domains=())
    assert all(" " not in r.extra["keys"] for r in single.load("test"))
    with pytest.raises(ValueError, match="pair_domains"):
        DomainFacts(pair_domains=("math",))
