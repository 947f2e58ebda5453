"""The MoT oracle: the ProofWriter reasoner (every shared label reproduced) and the model checker."""

from __future__ import annotations

import json

import pytest
from r1repro_mot.solver import (
    LETTER_OF,
    ParseError,
    folio_label,
    parse_formula,
    parse_sentence,
    prop_entails,
    solve,
)

from r1repro.components import data_dirs

Q = "Based on the above information, is the following statement true, false, or unknown? "


def _shared(name: str):
    for d in data_dirs():
        if (d / "mot" / name).is_file():
            return d / "mot" / name
    pytest.skip(f"mot/{name} not found in $R1REPRO_DATA_DIR or ../shared/data")


def test_reproduces_every_label_of_the_shared_proofwriter_rows():
    rows = json.loads(_shared("proofwriter-owa-d5-train.json").read_text())
    assert len(rows) == 3000
    wrong = [r["id"] for r in rows if LETTER_OF[solve(r["context"], r["question"])] != r["answer"]]
    assert wrong == []


def test_parses_the_proofwriter_sentence_kinds():
    fact = parse_sentence("The bald eagle does not like the cat.")
    assert (fact.pred, fact.subj, fact.obj, fact.pos) == ("like", "bald eagle", "cat", False)
    rule = parse_sentence("All young, red things are not big.")
    assert [c.pred for c in rule.conditions] == ["young", "red"] and not rule.conclusion.pos
    rule = parse_sentence("If someone is big and not round then they chase the dog.")
    assert [(c.pred, c.pos) for c in rule.conditions] == [("big", True), ("round", False)]
    assert (rule.conclusion.pred, rule.conclusion.obj) == ("chase", "dog")
    with pytest.raises(ParseError):
        parse_sentence("Everything is wonderful if the cat sings loudly")


CTX = ("The cat is blue. The cat is round. Anne is big. Anne is not red. The bear likes the cat. "
       "If something is blue and round then it is nice. All nice things are kind. "
       "If someone likes the cat then they chase the dog. If someone is big and not red then they are rough. "
       "If the cat is kind then the dog sees the cat.")  # fmt: skip


@pytest.mark.parametrize(
    "statement, owa, cwa",
    [
        ("The cat is kind.", "True", "True"),  # depth 2
        ("The dog sees the cat.", "True", "True"),  # depth 3, a ground rule
        ("The bear chases the dog.", "True", "True"),  # relation rule
        ("Anne is rough.", "True", "True"),  # explicit negation satisfies 'not red'
        ("Anne is red.", "False", "False"),  # explicit negative fact
        ("The cat is not kind.", "False", "False"),
        ("The bear is blue.", "Unknown", "False"),  # open vs closed world
        ("The bear is not blue.", "Unknown", "True"),
    ],
)
def test_open_and_closed_world(statement, owa, cwa):
    assert solve(CTX, Q + statement) == owa
    assert solve(CTX, Q + statement, world="closed") == cwa


def test_closed_world_negation_as_failure_is_stratified():
    ctx = "The cat is big. If something is not red then it is kind. If something is kind then it is red."
    with pytest.raises(ParseError):
        solve(ctx, Q + "The cat is kind.", world="closed")  # negation through a cycle
    ctx = "The cat is big. If something is big then it is round. If something is not round then it is cold."
    assert solve(ctx, Q + "The cat is cold.", world="closed") == "False"  # round is derived first
    assert solve(ctx, Q + "The cat is cold.") == "Unknown"


@pytest.mark.parametrize(
    "premises, conclusion, label",
    [
        (["p", "p → q"], "q", "True"),
        (["p ∨ q", "¬p"], "q", "True"),
        (["p → q"], "q", "Uncertain"),
        (["p ⊕ q", "p"], "q", "False"),
        (["p ↔ q", "¬q"], "p", "False"),
        (["(p ∧ q) → r", "p", "¬r"], "q", "False"),
    ],
)
def test_truth_table_checker(premises, conclusion, label):
    assert prop_entails([parse_formula(p) for p in premises], parse_formula(conclusion)) == label


def test_truth_table_and_dpll_agree():
    # 14 atoms: over the enumeration limit, so the DPLL path answers; same verdicts as the table
    chain = [f"a{i} → a{i + 1}" for i in range(13)]
    for extra, concl, label in [
        (["a0"], "a13", "True"),
        ([], "a13", "Uncertain"),
        (["a0", "¬a13"], "a5", "True"),
    ]:
        prem = [parse_formula(p) for p in chain + extra]
        assert prop_entails(prem, parse_formula(concl)) == label
        assert prop_entails(prem, parse_formula(concl), enumerate_limit=20) == label


def test_first_order_by_grounding():
    prem = ["∀x (Man(x) → Mortal(x))", "Man(socrates)"]
    assert folio_label(prem, "Mortal(socrates)") == "True"
    assert folio_label(prem, "¬Mortal(socrates)") == "False"
    assert folio_label(prem, "Mortal(plato)") == "Uncertain"
    assert folio_label(["∃x (Cat(x) ∧ Black(x))"], "Black(tom)") == "Uncertain"
    assert folio_label(["Broken(("], "P(a)") is None  # not covered


def test_folio_coverage_on_a_slice():
    rows = [json.loads(line) for line in _shared("folio-validation.jsonl").read_text().splitlines()[:40]]
    got = [folio_label(r["premises-FOL"], r["conclusion-FOL"]) for r in rows]
    covered = [(g, r["label"]) for g, r in zip(got, rows) if g is not None]
    assert len(covered) >= 36
    assert sum(g == lab for g, lab in covered) / len(covered) >= 0.85
