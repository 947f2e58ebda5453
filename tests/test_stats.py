"""The statistics behind verdicts, pinned on hand-computed numbers: paired intervals with
evaluation error, Welch, the pseudo-item variance floor, the item bootstrap, symmetric verdicts."""

import math

import pytest

from r1repro.repro import stats
from r1repro.repro.stats import HELD, INCONCLUSIVE, NOT_HELD, Interval


def test_paired_interval_on_hand_computed_numbers():
    # d = [0.2, 0.1, 0.2]: mean 1/6, s_d^2 = 1/300, SE^2 = s_d^2 / 3, t(0.95, df 2) = 2.920
    iv = stats.paired_diff([0.8 - 0.6, 0.7 - 0.6, 0.9 - 0.7])
    assert iv.estimate == pytest.approx(1 / 6)
    assert iv.high - iv.estimate == pytest.approx(2.920 * math.sqrt((1 / 300) / 3), rel=1e-6)
    # evaluation variances v_s add (1/n^2) * sum v_s = 0.006 / 9
    iv2 = stats.paired_diff([0.2, 0.1, 0.2], [0.001, 0.002, 0.003])
    assert iv2.high - iv2.estimate == pytest.approx(2.920 * math.sqrt(1 / 900 + 0.006 / 9), rel=1e-6)
    assert iv2.se_eval == pytest.approx(math.sqrt(0.006 / 9))
    # one seed: only the item variance is left, with the normal quantile
    iv1 = stats.paired_diff([0.1], [0.0004])
    assert (iv1.low, iv1.high) == pytest.approx((0.1 - 1.645 * 0.02, 0.1 + 1.645 * 0.02))


def test_welch_interval_adds_eval_variance_and_t_table():
    iv = stats.welch_diff([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert iv.estimate == pytest.approx(2.0)
    assert iv.high - iv.estimate == pytest.approx(2.920 / math.sqrt(3), rel=1e-3)  # se 1/sqrt(3), df 2
    wide = stats.welch_diff([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [0.03] * 3, [0.03] * 3)
    assert wide.se_eval == pytest.approx(math.sqrt(0.09 / 9 * 2))
    assert wide.width > iv.width
    assert stats.t_crit90(1000) == pytest.approx(1.645) and stats.t_crit90(2) == pytest.approx(2.920)
    assert stats.std([2.0]) == 0.0 and stats.std([1.0, 3.0]) == pytest.approx(math.sqrt(2))


def test_no_items_and_no_spread_is_no_error_estimate():
    iv = stats.paired_diff([0.3])
    assert iv.no_error_estimate and "no error estimate" in iv.fmt()
    assert stats.verdict(iv, "greater") == INCONCLUSIVE  # never "held" from a zero-width interval
    assert stats.welch_diff([0.5], [0.1]).no_error_estimate


def test_rate_items_have_a_variance_floor():
    # ten correct items + pseudo-items (0, 0, 1, 1): p = 12/14, sample variance (14/13) p (1-p), over 14
    p = 12 / 14
    assert stats.var_of_mean([1.0] * 10) == pytest.approx(14 / 13 * p * (1 - p) / 14)
    assert stats.var_of_mean([0.0] * 10) == pytest.approx(stats.var_of_mean([1.0] * 10))
    assert stats.var_of_mean([]) == 0.0
    assert stats.var_of_mean([24.0, 24.0]) == 0.0  # lengths: no floor (not a rate)
    # all-correct vs all-wrong on the same items: differences 1 (x10) + (-1, -1, 1, 1)
    a, b = {str(i): 1.0 for i in range(10)}, {str(i): 0.0 for i in range(10)}
    d = [1.0] * 12 + [-1.0, -1.0]
    m = sum(d) / 14
    want = sum((x - m) ** 2 for x in d) / 13 / 14
    assert stats.paired_var_of_mean_diff(a, b) == pytest.approx(want)
    iv = stats.paired_diff([1.0], [stats.paired_var_of_mean_diff(a, b)])
    assert iv.width > 0.3 and stats.verdict(iv, "greater") == HELD
    # different item sets: the two variances of the mean add
    other = {f"x{i}": 0.0 for i in range(10)}
    assert stats.paired_var_of_mean_diff(a, other) == pytest.approx(2 * stats.var_of_mean([1.0] * 10))


def test_item_bootstrap_is_seeded_and_covers_the_mean():
    items = [1.0] * 30 + [0.0] * 10
    iv = stats.bootstrap_mean_ci(items, seed=3)
    assert iv.estimate == pytest.approx(0.75) and iv.low < 0.75 < iv.high
    assert iv == stats.bootstrap_mean_ci(items, seed=3)
    # normal approximation: 1.645 * sqrt(p(1-p)/n) ~ 0.113 either side
    assert iv.width == pytest.approx(2 * 1.645 * math.sqrt(0.75 * 0.25 / 40), rel=0.2)
    assert stats.bootstrap_mean_ci([1.0] * 5).no_error_estimate


def _iv(lo, hi):
    return Interval((lo + hi) / 2, lo, hi, (3,))


@pytest.mark.parametrize(
    "lo,hi,direction,margin,expected",
    [
        (0.1, 0.3, "greater", 0.0, HELD),
        (-0.3, -0.1, "greater", 0.0, NOT_HELD),  # the whole interval on the other side
        (-0.1, 0.2, "greater", 0.0, INCONCLUSIVE),
        (-0.02, -0.01, "greater", 0.0, NOT_HELD),
        (-0.2, 0.01, "greater", 0.0, INCONCLUSIVE),  # point estimate on the wrong side is not enough
        (-0.3, -0.1, "less", 0.0, HELD),
        (0.1, 0.3, "less", 0.0, NOT_HELD),
        (-0.1, 0.1, "less", 0.0, INCONCLUSIVE),
        (0.15, 0.3, "greater", 0.1, HELD),  # a margin: the effect must exceed it
        (0.05, 0.09, "greater", 0.1, NOT_HELD),  # positive, but surely below the margin
        (0.05, 0.2, "greater", 0.1, INCONCLUSIVE),
        # non-inferiority: "no worse than the baseline by more than 0.05" = greater with margin -0.05
        (-0.03, 0.02, "greater", -0.05, HELD),
        (-0.2, -0.1, "greater", -0.05, NOT_HELD),
        (-0.1, 0.0, "greater", -0.05, INCONCLUSIVE),
        # "no longer than the baseline by more than 0.05" = less with margin -0.05
        (0.0, 0.04, "less", -0.05, HELD),
        (0.06, 0.1, "less", -0.05, NOT_HELD),
    ],
)
def test_symmetric_verdicts(lo, hi, direction, margin, expected):
    assert stats.verdict(_iv(lo, hi), direction, margin) == expected


def test_verdict_rejects_unknown_direction_and_infinite_intervals():
    with pytest.raises(ValueError, match="direction"):
        stats.verdict(_iv(0, 1), "up")
    assert stats.verdict(Interval(0.5, float("-inf"), float("inf"), (0,)), "greater") == INCONCLUSIVE
