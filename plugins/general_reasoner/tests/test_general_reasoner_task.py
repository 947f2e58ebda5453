"""The CPU task: equivalent spellings, the oracle, the rule verifier's blind spot and the tiny
verifier's training targets."""

import random

import pytest
from r1repro_general_reasoner import data as d
from r1repro_general_reasoner.tiny_verifier import judgement, verification_examples
from r1repro_general_reasoner.verifier import FAIL_TAG, PASS_TAG

from r1repro.types import Sample


def test_world_gives_every_pet_two_owners():
    pets = d.world(0)
    assert len(pets) == 32
    counts = {}
    for pet in pets.values():
        counts[pet] = counts.get(pet, 0) + 1
    assert len(counts) == 16 and set(counts.values()) == {2}


@pytest.mark.parametrize(
    "answer, ok",
    [
        ("navy kitten", True),
        ("the azure one, a kitty", True),
        ("cat (blue)", True),
        ("red cat", False),  # wrong colour
        ("blue dog", False),  # wrong animal
        ("blue cat or red cat", False),  # two colours named
        ("cat", False),  # colour missing
        (None, False),
    ],
)
def test_oracle_equivalence(answer, ok):
    assert d.equivalent(answer, "blue", "cat") is ok


def test_rows_and_splits():
    task = d.PetsTask()
    train, test = task.load("train", limit=64, seed=0), task.load("test", limit=64, seed=0)
    assert {r.problem.split(" ")[0] for r in test} <= {"Which", "Name"}  # held-out phrasings only
    assert all(not r.problem.startswith(("Which", "Name")) for r in train)
    for r in train + test:
        assert d.equivalent(str(r.ground_truth), r.extra["color"], r.extra["animal"])


def test_exact_match_rarely_sees_a_correct_answer():
    """Two independent correct spellings of the same pet coincide rarely (~1/45)."""
    rng = random.Random(0)
    same = sum(d.spell("blue", "cat", rng) == d.spell("blue", "cat", rng) for _ in range(4000))
    assert 0.005 < same / 4000 < 0.06


def test_checker_reads_the_boxed_answer():
    checker = d.PetsChecker()
    extra = {"color": "green", "animal": "horse"}
    good = Sample(response="Bo owns a lime pony. The answer is \\boxed{olive steed}.", extra=extra)
    bad = Sample(response="The answer is \\boxed{olive finch}.", extra=extra)
    none = Sample(response="green horse", extra=extra)
    r = checker([good, bad, none])
    assert [x.score for x in r] == [1.0, 0.0, 0.0] and r[2].info["answered"] is False


@pytest.mark.parametrize(
    "student, target",
    [
        ("navy kitty", f"color blue/blue same. animal cat/cat same. {PASS_TAG}"),
        ("red kitty", f"color blue/red differs. animal cat/cat same. {FAIL_TAG}"),
        ("kitty", f"color blue/none differs. animal cat/cat same. {FAIL_TAG}"),
        ("blue or red cat", f"color blue/blue+red differs. animal cat/cat same. {FAIL_TAG}"),
        (None, f"no answer. {FAIL_TAG}"),
    ],
)
def test_tiny_verifier_targets(student, target):
    assert judgement(student, "blue", "cat") == target


def test_verification_examples_are_balanced_and_labelled_by_the_oracle():
    ex = verification_examples(400, seed=0)
    pos = sum(e["label"] for e in ex) / len(ex)
    assert 0.4 < pos < 0.6
    for e in ex:
        assert (PASS_TAG in e["target"]) is e["label"]


def test_verification_examples_cover_the_answers_a_drifting_policy_writes():
    """Version 3 adds padded correct answers and broken / repeated / doubled wrong ones, each
    labelled by the oracle's rule (the v2 verifier said Yes to "kitten, kitten" and "horse (reen)")."""
    rows = d.PetsTask().load("verifier", limit=2000, seed=0)
    ex = verification_examples(2000, seed=0)
    for e, r in zip(ex, rows):
        assert e["label"] is d.equivalent(e["student"], r.extra["color"], r.extra["animal"])
    words = [(e["student"] or "").replace(",", " ").replace("(", " ").replace(")", " ").split() for e in ex]
    repeated = [e for e, w in zip(ex, words) if len(w) != len(set(w))]
    broken = [e for e, w in zip(ex, words) if any(x not in d.COLOR_OF and x not in d.ANIMAL_OF and x not in
                                                  ("a", "the", "one", "unknown", "owner", "nothing", "pet",
                                                   "answer") for x in w)]  # fmt: skip
    assert any(e["label"] for e in repeated) and any(not e["label"] for e in repeated)
    assert len(broken) > 50 and not any(e["label"] for e in broken)


@pytest.mark.parametrize(
    "student, yes",
    [("navy kitty", True), ("kitty kitty (azure)", True), ("red kitty", False), ("kitty, kitty", False),
     ("kitty (zure)", False), ("blue cat, dog", False), (None, False)],
)  # fmt: skip
def test_pets_oracle_judge_is_the_checkers_rule(student, yes):
    from r1repro_general_reasoner.reward import pets_oracle_judge
    from r1repro_general_reasoner.verifier import verifier_prompt

    reply = pets_oracle_judge(verifier_prompt("Which pet belongs to Bo?", "cat (blue)", student))
    assert reply == (PASS_TAG if yes else FAIL_TAG)
    assert (reply == PASS_TAG) is d.equivalent(student, "blue", "cat")


def test_warm_start_corpus_tells_each_owner_the_truth_a_fixed_share_of_the_time():
    from r1repro_general_reasoner.templates import GeneralReasonerTemplate

    task = d.PetsTask(sft_truth=[0.25, 0.75])
    rows = task.load("sft", limit=2000, seed=0)
    told: dict[str, list[bool]] = {}
    for r in rows:
        text = task.solution(r, GeneralReasonerTemplate())
        fact, answer = text.split(" The answer is ")
        colors, animals = d.read_answer(fact.split(" owns ")[1])
        assert d.read_answer(answer) == (colors, animals)  # the answer restates the fact
        told.setdefault(r.extra["owner"], []).append(
            colors == {r.extra["color"]} and animals == {r.extra["animal"]}
        )
    shares = {o: sum(v) / len(v) for o, v in told.items()}
    assert len(shares) == 32
    for o, share in shares.items():
        assert abs(share - task.truth_share(o)) < 0.2 and 0.25 <= task.truth_share(o) <= 0.75
    assert max(shares.values()) - min(shares.values()) > 0.3  # owners differ
    clean = d.PetsTask(sft_truth=[1.0, 1.0])
    assert all(d.equivalent(clean.solution(r, GeneralReasonerTemplate()).split(" owns ")[1].split(".")[0],
                            r.extra["color"], r.extra["animal"]) for r in rows[:200])  # fmt: skip
    with pytest.raises(ValueError, match="sft_truth"):
        d.PetsTask(sft_truth=[0.8, 0.2])
