"""The CPU task's answer forms: the oracle accepts every equivalent form and no wrong answer,
and PRIME rejects exactly the forms the paper's false-negative categories predict."""

import random

import pytest
from r1repro_tinyv import forms as F
from r1repro_tinyv import prime_math as pm

# (kind, form) -> does PRIME accept a correct answer written this way? With the paper's
# false-negative category (TinyV §3.2) for each rejected form.
PRIME_ACCEPTS = {
    ("roots", "list"): True,
    ("roots", "list_reversed"): False,  # unordered set compared in order
    ("roots", "equations"): False,  # extraction keeps what follows the last "="
    ("roots", "set"): False,  # set braces
    ("interval", "interval"): True,
    ("interval", "inequality"): False,  # inequality vs interval notation
    ("interval", "inequality_flipped"): False,
    ("interval", "membership"): False,  # "x \in" prefix
    ("point", "tuple"): True,
    ("point", "named"): False,  # named tuple: extraction keeps the last value
    ("point", "assigned"): True,  # "(x, y) = (..)": extraction keeps the tuple
    ("fraction", "frac"): True,
    ("fraction", "slash"): True,
    ("fraction", "percent"): False,  # percentage vs fraction
    ("fraction", "ratio"): False,  # ratio notation
    ("poly", "expanded"): True,
    ("poly", "plain_power"): True,
    ("poly", "reordered"): False,  # reordered terms with braced exponents never reach sympy
}


def _problems(n=60, seed=7):
    rng = random.Random(seed)
    return [(k, F.make_problem(k, rng)[1]) for k in F.KINDS for _ in range(n // len(F.KINDS))]


def _prime(answer, gt):
    return pm.compute_score(f"The answer is \\boxed{{{answer}}}.", gt)[0]


def test_every_form_is_listed():
    assert {(k, f.name) for k in F.KINDS for f in F.FORMS[k]} == set(PRIME_ACCEPTS) | {
        ("fraction", "decimal")
    }


@pytest.mark.parametrize("kind", F.KINDS)
def test_oracle_accepts_every_form_and_prime_as_predicted(kind):
    for k, truth in _problems():
        if k != kind:
            continue
        gt = F.ground_truth(kind, truth)
        assert gt == F.FORMS[kind][0].render(truth)
        for form in F.FORMS[kind]:
            answer = form.render(truth)
            assert F.equivalent(kind, answer, truth), (form.name, answer, truth)
            assert F.canonical(kind, answer) == F.canonical(kind, gt)
            if (kind, form.name) in PRIME_ACCEPTS:
                assert _prime(answer, gt) is PRIME_ACCEPTS[(kind, form.name)], (form.name, answer, gt)


def test_decimals_are_false_negatives_only_when_rounded():
    for num, den, exact in [
        (1, 2, True),
        (3, 8, True),
        (4, 5, True),
        (2, 3, False),
        (1, 6, False),
        (1, 3, False),
    ]:
        truth = {"num": num, "den": den}
        dec = F.render("fraction", "decimal", truth)
        assert F.equivalent("fraction", dec, truth)
        assert _prime(dec, F.ground_truth("fraction", truth)) is exact, dec
    assert F.decimal_form(F.Fraction(2, 3)) == "0.67" and F.percent_form(F.Fraction(1, 3)) == "33.3\\%"
    assert F.percent_form(F.Fraction(3, 8)) == "37.5\\%" and F.percent_form(F.Fraction(1, 2)) == "50\\%"


def test_oracle_rejects_wrong_answers_in_every_form():
    rng = random.Random(11)
    for kind, truth in _problems(100):
        gt = F.ground_truth(kind, truth)
        wrong = F.corrupt(kind, truth, rng)
        for form in F.FORMS[kind]:
            answer = form.render(wrong)
            assert not F.equivalent(kind, answer, truth), (kind, form.name, answer, truth)
            assert F.canonical(kind, answer) != F.canonical(kind, gt)
            assert not _prime(answer, gt), (kind, answer, gt)  # no PRIME false positive in the task


@pytest.mark.parametrize(
    "kind, answer, truth, ok",
    [
        ("fraction", "0.67", {"num": 2, "den": 3}, True),  # rounded half-up to 2 places
        ("fraction", "0.667", {"num": 2, "den": 3}, True),
        ("fraction", "0.66", {"num": 2, "den": 3}, False),
        ("fraction", "0.7", {"num": 2, "den": 3}, False),  # one decimal is too coarse
        ("fraction", "66.7%", {"num": 2, "den": 3}, True),
        ("fraction", "67\\%", {"num": 2, "den": 3}, False),
        ("fraction", "\\dfrac{6}{16}", {"num": 3, "den": 8}, True),
        ("fraction", "8/3", {"num": 3, "den": 8}, False),
        ("roots", "x=-5 \\text{ or } x=3", {"roots": [3, -5]}, True),
        ("roots", "3, -5, 7", {"roots": [3, -5]}, False),
        ("roots", "-5", {"roots": [3, -5]}, False),  # a partial answer
        ("interval", "x \\geq -4", {"bound": -4, "side": "above", "closed": False}, False),
        ("interval", "(-4, +\\infty)", {"bound": -4, "side": "above", "closed": False}, True),
        ("interval", "[-4, \\infty)", {"bound": -4, "side": "above", "closed": False}, False),
        ("point", "(3, -2", {"x": 3, "y": -2}, False),
        ("poly", "-2x^2-9x", {"a": -2, "b": -9}, True),
        ("poly", "-9x+-2x^2", {"a": -2, "b": -9}, False),
        ("poly", "y = -2x^{2} - 9x", {"a": -2, "b": -9}, True),
        ("poly", "x^2", {"a": 1, "b": 0}, True),
    ],
)
def test_oracle_table(kind, answer, truth, ok):
    assert F.equivalent(kind, answer, truth) is ok


@pytest.mark.parametrize("junk", ["", None, "x" * 10_000, "\\frac{1}{0}", "0/0", "9" * 300, "((((", "\ud800"])
def test_oracle_never_raises(junk):
    for kind, truth in _problems(10):
        assert F.equivalent(kind, junk, truth) is False
        assert isinstance(F.canonical(kind, junk), str)
