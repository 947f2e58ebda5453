"""Golden tests of Hybrid Accuracy (LHRM §4.1) and its protocol."""

import pytest
from r1repro_hgpo.hacc import HACC_MARGIN, hybrid_accuracy, ideal_mode, summarize

T, N = "think", "no_think"


@pytest.mark.parametrize(
    "mt, mn, margin, lt, ln, prefer, ideal",
    [
        (0.9, 0.2, 0.2, None, None, "shorter", T),   # thinking clearly better
        (0.2, 0.9, 0.2, None, None, "shorter", N),
        (0.8, 0.7, 0.2, 30, 5, "shorter", N),        # within the margin: the shorter mode
        (0.8, 0.7, 0.2, 5, 30, "shorter", T),        # ... which is thinking if its responses are shorter
        (0.8, 0.7, 0.2, 5, 30, "no_think", N),       # or always no-think
        (0.9, 0.7, 0.2, 30, 5, "shorter", N),        # exactly at the margin counts as within
        (0.9, 0.7, 0.1, 30, 5, "shorter", T),
        (0.5, 0.5, 0.0, 10, 10, "shorter", N),       # equal lengths: no-think
    ],
)  # fmt: skip
def test_ideal_mode(mt, mn, margin, lt, ln, prefer, ideal):
    assert ideal_mode(mt, mn, margin, lt, ln, prefer) == ideal


def test_hacc_and_summary_by_difficulty():
    assert HACC_MARGIN == 0.2
    assert hybrid_accuracy([T, N, N, "none"], [T, T, N, N]) == 0.5
    with pytest.raises(ValueError):
        hybrid_accuracy([T], [])
    recs = [
        {"difficulty": "easy", "chosen": N, "ideal": N, "correct": 1.0, "length": 6, "acc_think": 1, "acc_no_think": 1},
        {"difficulty": "easy", "chosen": T, "ideal": N, "correct": 1.0, "length": 9, "acc_think": 1, "acc_no_think": 1},
        {"difficulty": "hard", "chosen": T, "ideal": T, "correct": 1.0, "length": 20, "acc_think": 1, "acc_no_think": 0},
        {"difficulty": "hard", "chosen": N, "ideal": T, "correct": 0.0, "length": 6, "acc_think": 1, "acc_no_think": 0},
    ]  # fmt: skip
    m = summarize(recs)
    assert m["hacc"] == 0.5 and m["hacc_easy"] == 0.5 and m["hacc_hard"] == 0.5
    assert m["think_rate_easy"] == 0.5 and m["think_rate_hard"] == 0.5
    assert m["correct"] == 0.75 and m["correct_hard"] == 0.5
    assert m["ideal_think_easy"] == 0.0 and m["ideal_think_hard"] == 1.0
    assert m["length_hard"] == 13.0 and "untagged_free" not in m
