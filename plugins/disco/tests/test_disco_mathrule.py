"""DISCO's math rule = the official ``extract_math_answer`` (reward_func_utils.py @7ccdefc).

The expected values below were produced by running the official function on each input; the
reimplementation also agreed with it on 300,000 random strings built from LaTeX fragments
(answer markers, boxes, fractions, roots, units, percent signs, backslashes)."""

import pytest
from r1repro_disco.mathrule import extract_math_answer, official_math_match

GOLDEN = [
    ("The answer is: 18", "18"),
    ("\\boxed{18}", "18"),
    ("\\frac{1}{2}", "2"),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("The answer is 0.5.", "\\frac{1}{2}"),
    ("So the answer is \\boxed{3/4}", "\\frac{3}{4}"),
    ("x = 5", "5"),
    ("The answer is $\\dfrac{3}{4}$", "$\\frac{3}{4}$"),
    ("We get 12 apples and 7 pears.", "7"),
    ("no digits here", ""),
    ("", ""),
    ("boxed", ""),
    ("The answer is \\boxed{\\sqrt3}", "\\sqrt{3}"),
    ("The answer is 45^\\circ", "45"),
    ("The answer is 10\\%", "10"),
    ("The answer is 5\\text{ cm}", "5"),
    ("the answer is .5", "\\frac{1}{2}"),
    ("\\boxed{\\left( 1, 2 \\right)}", "(1,2)"),
    ("The answer is: \\boxed{7}", "7"),
    ("Result: \\boxed 9$ done", "9"),
    ("The answer is \\frac12", "\\frac{1}{2}"),
    ("The answer is 3/4/", "\\frac{3}{4}"),
    ("k = 7", "7"),
    ("\\boxed{{1}{2}}", "{1}{2}"),
    ("The answer is 1,000", "1,000"),
    ("#### 72", "72"),
    ("The answer is -3.", "-3"),
    ("The answer is 2.50", "2.50"),
]


@pytest.mark.parametrize("text,expected", GOLDEN)
def test_extraction_matches_the_official_function(text, expected):
    assert extract_math_answer(text) == expected


def test_the_two_cases_the_review_found():
    # a label "The answer is: 18" scores 1 officially (both sides reduce to "18") ...
    assert official_math_match("So \\boxed{18}", "The answer is: 18")
    # ... and a bare "\frac{1}{2}" label reduces to its last number, so a boxed \frac{1}{2} scores 0
    assert not official_math_match("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}")


def test_linear_and_total_on_hostile_text():
    for text in ("boxed{" * 100_000, "\\frac" * 50_000, "9" * 200_000, "The answer is " * 20_000, None):
        assert isinstance(extract_math_answer(text), str)


def test_a_sample_without_a_domain_is_an_error_not_the_math_rule():
    from r1repro.registry import get_registry
    from r1repro.types import Sample

    reg = get_registry()
    base = reg.build("reward", "disco.domain_match")
    # a user's own verl rows: no extra_info.domain ("general"), no problem text
    (res,) = base([Sample(response="\\boxed{18}", ground_truth="18", domain="general")])
    assert res.score == 0.0 and "no domain for this sample" in res.info["error"]
    # the official detection: the prompt's cue phrase names the domain
    (res,) = base([Sample(response="\\boxed{18}", ground_truth="18", domain="general",
                          problem="Solve the following math problem step by step.")])  # fmt: skip
    assert res.score == 1.0
    weighted = reg.build("reward", {"name": "disco.weighted", "domain_shares": {"math": 1 / 12, "arc": 0.75}})
    assert weighted.domain_of(Sample(response="", ground_truth="", domain="general",
                                     problem="Answer this math problem.")) == "math"  # fmt: skip
