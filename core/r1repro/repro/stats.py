"""Statistics behind the verdicts: mean, spread, Welch's t interval, and the verdict rule.

A claim states a direction ("TinyV reaches a higher pass rate than the rule verifier").
With per-seed measurements of both arms we compute the difference of means and its 90%
Welch t confidence interval, then say:

* **held**         the interval lies entirely on the claimed side of the margin;
* **did not hold** the point estimate lies on the other side (the direction of the
  effect was not reproduced at this scale), whether or not that is significant;
* **inconclusive** the point estimate is on the claimed side but the interval crosses
  the margin (the seeds do not separate the arms).

With a single seed per arm no interval exists and the verdict is at most "inconclusive".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# two-sided 90% critical values of Student's t (df = 1..30); beyond that, the normal 1.645
_T90 = [6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761,
        1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701,
        1.699, 1.697]  # fmt: skip

HELD, NOT_HELD, INCONCLUSIVE, MATCHES, DIFFERS, REPORTED = (
    "held", "did not hold", "inconclusive", "matches", "differs", "reported",
)  # fmt: skip


def t_crit90(df: float) -> float:
    if not math.isfinite(df) or df >= 30:
        return 1.645 if not math.isfinite(df) or df > 200 else _T90[29]
    return _T90[max(1, int(math.floor(df))) - 1]


def mean(xs: Sequence[float]) -> float:
    return float(sum(xs) / len(xs)) if xs else float("nan")


def std(xs: Sequence[float]) -> float:
    """Sample standard deviation (n-1); 0 for a single value."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


@dataclass
class Interval:
    estimate: float
    low: float
    high: float
    n: tuple[int, ...]

    def fmt(self, digits: int = 3) -> str:
        if not math.isfinite(self.low):
            return f"{self.estimate:+.{digits}f}"
        return f"{self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def welch_diff(a: Sequence[float], b: Sequence[float]) -> Interval:
    """mean(a) - mean(b) with a 90% Welch t interval (infinite bounds if either n < 2)."""
    d = mean(a) - mean(b)
    if len(a) < 2 or len(b) < 2:
        return Interval(d, float("-inf"), float("inf"), (len(a), len(b)))
    va, vb = std(a) ** 2 / len(a), std(b) ** 2 / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(d, d, d, (len(a), len(b)))
    df = (va + vb) ** 2 / (
        (va**2 / (len(a) - 1) if va else 0) + (vb**2 / (len(b) - 1) if vb else 0) or 1e-300
    )
    h = t_crit90(df) * se
    return Interval(d, d - h, d + h, (len(a), len(b)))


def one_sample(a: Sequence[float], ref: float = 0.0) -> Interval:
    """mean(a) - ref with a 90% t interval."""
    d = mean(a) - ref
    if len(a) < 2:
        return Interval(d, float("-inf"), float("inf"), (len(a),))
    se = std(a) / math.sqrt(len(a))
    if se == 0:
        return Interval(d, d, d, (len(a),))
    h = t_crit90(len(a) - 1) * se
    return Interval(d, d - h, d + h, (len(a),))


def verdict(interval: Interval, direction: str, margin: float = 0.0) -> str:
    """Verdict for "the effect is > margin" (direction 'greater') or "< -margin" ('less')."""
    if direction not in ("greater", "less"):
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    sign = 1.0 if direction == "greater" else -1.0
    est = sign * interval.estimate
    lo = min(sign * interval.low, sign * interval.high)
    if not math.isfinite(est):
        return INCONCLUSIVE
    if est <= margin:
        return NOT_HELD
    if lo > margin:
        return HELD
    return INCONCLUSIVE
