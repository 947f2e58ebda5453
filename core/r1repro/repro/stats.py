"""Statistics behind the verdicts: paired and Welch intervals that include evaluation error,
and the symmetric three-way verdict rule.

**What is measured.** A measurement is one number per arm and seed (a seed replicates the whole
pipeline: model init, SFT warm start, any trained verifier, data order, sampling), optionally
with its *items*: the per-evaluation-prompt values it averages (correctness or length of the
prompt's samples). Items carry the evaluation-sampling error of that one number: a seed's 0.80
on 64 prompts is itself uncertain by about ±0.05.

**The interval of an effect** (90%, two-sided):

* *paired* (treatment and baseline share seeds, hence warm starts): per-seed differences
  ``d_s``; ``SE² = s_d²/n + (1/n²) Σ_s v_s`` where ``v_s`` is the evaluation variance of ``d_s``
  (from the item-wise differences when both arms answered the same items, else the sum of
  the two arms' variances of the mean); t quantile with ``n - 1`` df, the normal one for
  ``n = 1`` (then only the item variance is left);
* *unpaired* (different seeds): Welch's interval, each arm's variance of the mean being
  ``s²/n + (1/n²) Σ_s v_s``;
* *threshold*: the same as paired, against a constant.

The variance of the mean of items that lie in [0, 1] (rates) is computed with two pseudo-items
0 and two pseudo-items 1 added (Agresti–Coull's "add two successes and two failures"), so an
all-correct or all-wrong evaluation still has a non-zero variance; item-wise differences of
rates get the pseudo-differences -1, -1, +1, +1 for the same reason.

An interval is zero-width only when the measurement has no items and no seed-to-seed spread:
that is **no error estimate**, and its verdict is inconclusive, never "held".

**Verdicts** for a claim "the effect is greater than ``m``" (``direction: greater, margin: m``;
``direction: less`` mirrors it: the effect is below ``-m``)::

    held          the whole interval lies beyond the margin on the claimed side  (low > m)
    did not hold  the whole interval lies on the other side of the margin        (high < m)
    inconclusive  the interval contains the margin, or there is no error estimate

A non-inferiority claim ("no worse than the baseline by more than 0.02") is ``direction:
greater, margin: -0.02`` and falls out of the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

# two-sided 90% critical values of Student's t (df = 1..30); beyond that, the normal 1.645
_T90 = [6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771, 1.761,
        1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701,
        1.699, 1.697]  # fmt: skip
Z90 = 1.645

HELD, NOT_HELD, INCONCLUSIVE, MATCHES, DIFFERS, REPORTED = (
    "held", "did not hold", "inconclusive", "matches", "differs", "reported",
)  # fmt: skip

PSEUDO_RATE_ITEMS = (0.0, 0.0, 1.0, 1.0)
PSEUDO_RATE_DIFFS = (-1.0, -1.0, 1.0, 1.0)


def t_crit90(df: float) -> float:
    """Two-sided 90% quantile of Student's t (the normal one for infinite / large df)."""
    if not math.isfinite(df) or df > 200:
        return Z90
    if df >= 30:
        return _T90[29]
    return _T90[max(1, int(math.floor(df))) - 1]


def mean(xs: Sequence[float]) -> float:
    return float(sum(xs) / len(xs)) if xs else float("nan")


def std(xs: Sequence[float]) -> float:
    """Sample standard deviation (n-1); 0 for a single value."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def is_rate(items: Sequence[float]) -> bool:
    return bool(items) and all(0.0 <= x <= 1.0 for x in items)


def var_of_mean(items: Sequence[float]) -> float:
    """Evaluation variance of the mean of ``items`` (0 without items). Rates in [0, 1] get the
    Agresti–Coull pseudo-items, so an all-0 or all-1 evaluation is not certain."""
    xs = list(items)
    if not xs:
        return 0.0
    if is_rate(xs):
        xs += PSEUDO_RATE_ITEMS
    return std(xs) ** 2 / len(xs)


def paired_var_of_mean_diff(a: dict[str, float], b: dict[str, float]) -> float:
    """Evaluation variance of mean(a) - mean(b): item-wise when both answered the same items,
    else the sum of the two variances of the mean."""
    if a and b and set(a) == set(b):
        diffs = [a[k] - b[k] for k in a]
        if is_rate(list(a.values())) and is_rate(list(b.values())):
            diffs += PSEUDO_RATE_DIFFS
        return std(diffs) ** 2 / len(diffs)
    return var_of_mean(list(a.values())) + var_of_mean(list(b.values()))


@dataclass
class Interval:
    estimate: float
    low: float
    high: float
    n: tuple[int, ...]
    method: str = ""
    no_error_estimate: bool = False
    se_seeds: float = 0.0
    se_eval: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def width(self) -> float:
        return self.high - self.low

    def fmt(self, digits: int = 3) -> str:
        if self.no_error_estimate:
            return f"{self.estimate:+.{digits}f} (no error estimate)"
        if not math.isfinite(self.low):
            return f"{self.estimate:+.{digits}f}"
        return f"{self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def _interval(
    est: float, var_seed: float, var_eval: float, df: float, n: tuple[int, ...], method: str
) -> Interval:
    se = math.sqrt(max(0.0, var_seed + var_eval))
    if not math.isfinite(est):
        return Interval(est, float("-inf"), float("inf"), n, method)
    if se == 0.0:
        return Interval(est, est, est, n, method, no_error_estimate=True)
    h = t_crit90(df) * se
    return Interval(
        est, est - h, est + h, n, method, se_seeds=math.sqrt(var_seed), se_eval=math.sqrt(var_eval)
    )


def paired_diff(d: Sequence[float], v: Sequence[float] | None = None) -> Interval:
    """Mean of per-seed differences ``d`` (or per-seed values minus a constant) with a 90% t
    interval whose variance is ``s_d²/n + Σ v_s / n²`` (``v``: per-seed evaluation variances)."""
    n = len(d)
    v = list(v or [0.0] * n)
    est = mean(d)
    if n == 0:
        return Interval(float("nan"), float("-inf"), float("inf"), (0,), "paired")
    var_seed = std(d) ** 2 / n if n >= 2 else 0.0
    var_eval = sum(v) / n**2
    return _interval(est, var_seed, var_eval, n - 1 if n >= 2 else math.inf, (n,), "paired")


def welch_diff(a: Sequence[float], b: Sequence[float], va: Sequence[float] | None = None,
               vb: Sequence[float] | None = None) -> Interval:  # fmt: skip
    """mean(a) - mean(b), unpaired, with a 90% Welch interval; ``va`` / ``vb`` are the per-seed
    evaluation variances added to each arm's variance of the mean. An arm with one seed adds
    no seed variance (and no degrees of freedom)."""
    na, nb = len(a), len(b)
    est = mean(a) - mean(b)
    parts = []  # (seed variance of the mean, eval variance of the mean, n)
    for xs, vs in ((a, va), (b, vb)):
        n = len(xs)
        vs = list(vs or [0.0] * n)
        parts.append((std(xs) ** 2 / n if n >= 2 else 0.0, sum(vs) / n**2 if n else 0.0, n))
    var_seed = sum(p[0] for p in parts)
    var_eval = sum(p[1] for p in parts)
    total = [p[0] + p[1] for p in parts]
    denom = sum(t**2 / (p[2] - 1) for t, p in zip(total, parts) if p[2] >= 2)
    df = (sum(total) ** 2 / denom) if denom > 0 and var_seed > 0 else math.inf
    return _interval(est, var_seed, var_eval, df, (na, nb), "welch")


def one_sample(a: Sequence[float], ref: float = 0.0, v: Sequence[float] | None = None) -> Interval:
    """mean(a) - ref with a 90% t interval (``v``: per-seed evaluation variances)."""
    iv = paired_diff([x - ref for x in a], v)
    iv.method = "one-sample"
    return iv


def bootstrap_mean_ci(
    items: Sequence[float], seed: int = 0, n_boot: int = 2000, level: float = 0.90
) -> Interval:
    """Percentile bootstrap interval of the mean of ``items`` (one deterministic measurement
    evaluated once: its only error is which items were drawn). Seeded, so repeatable."""
    import numpy as np

    xs = np.asarray(list(items), dtype=float)
    if xs.size == 0:
        return Interval(float("nan"), float("-inf"), float("inf"), (0,), "bootstrap")
    rng = np.random.default_rng(seed)
    means = xs[rng.integers(0, xs.size, size=(n_boot, xs.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    est = float(xs.mean())
    return Interval(est, float(lo), float(hi), (1,), "bootstrap", no_error_estimate=bool(hi == lo))


def verdict(interval: Interval, direction: str, margin: float = 0.0) -> str:
    """Symmetric three-way verdict for "the effect is > margin" (direction 'greater') or
    "the effect is < -margin" ('less'): held iff the whole interval is on the claimed side,
    did not hold iff the whole interval is on the other side, else inconclusive. An interval
    with no error estimate (zero width by construction) is inconclusive."""
    if direction not in ("greater", "less"):
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    if interval.no_error_estimate or not math.isfinite(interval.estimate):
        return INCONCLUSIVE
    sign = 1.0 if direction == "greater" else -1.0
    lo, hi = sorted((sign * interval.low, sign * interval.high))
    if lo > margin:
        return HELD
    if hi < margin:
        return NOT_HELD
    return INCONCLUSIVE
