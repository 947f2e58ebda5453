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
