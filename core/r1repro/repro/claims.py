"""The paper's claims (``reproductions/<paper>/claims.yaml``) and how each is judged.

A claim names a *measurement* the reproduction records per arm and seed, and how to
compare it::

    - id: pass_rate_gain
      claim: RL with TinyV reaches a higher final pass rate than with the rule verifier
      source: "TinyV §5.2, Fig. 3"
      paper: "up to +10% pass rate"
      kind: compare              # compare | threshold | match | report
      metric: final_pass_rate
      treatment: tinyv
      baseline: rule
      direction: greater         # greater | less
      margin: 0.0                # optional: the effect must exceed this

      protocol: "test split, 64 prompts, greedy, 1 sample each"   # optional; default from eval.*
      revised: ""                # optional: what changed after a run judged it, when, earlier verdict

``threshold`` compares one arm's measurement with ``value`` (``direction`` as above);
``match`` checks a deterministic number against the paper's (``paper_value`` within
``tolerance``); ``report`` shows the number with no verdict: use it for anything the task
generator or the reward's own definition decides (a verdict there would test the code, not
the paper). Verdict rules and intervals: `r1repro.repro.stats`.

Rules the judge enforces:

* arms that share seeds are compared **paired** (seed s of both arms starts from seed s's warm
  start), otherwise unpaired (Welch);
* a measurement with the same value and items in every seed of an arm is **pseudo-replicated**
  (one measurement copied into seeds): it is judged as one measurement (n = 1) and the report
  says so. Record a deterministic measurement once, with ``run.record_once``. (The exception:
  every item at the same value, e.g. all wrong in every seed, is a floor or a ceiling, not a
  copy; the seeds count, and the report warns that the effect cannot show there);
* ``best_*`` measurements (the best evaluation over training, chosen on the test split) cannot
  be claimed: claims use ``final_*`` (or ``initial_*`` / ``mean_*``);
* every claim has a definition hash (metric, kind, arms, direction, margin, value); a claim
  judged earlier under another definition is marked "revised after results" in the report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1repro.repro import stats

KINDS = ("compare", "threshold", "match", "report")
FORBIDDEN_PREFIXES = ("best_",)
ONCE = -1
"""The seed key under which a measurement recorded once (``run.record_once``) is judged."""
PSEUDO_WARNING = "pseudo-replicated: one measurement copied into seeds"
DEFINITION_FIELDS = ("metric", "kind", "treatment", "baseline", "arm", "direction", "margin", "value",
                     "paper_value", "tolerance")  # fmt: skip


@dataclass
class Claim:
    id: str
    claim: str
    metric: str
    kind: str = "compare"
    source: str = ""
    paper: str = ""
    treatment: str | None = None
    baseline: str | None = None
    arm: str | None = None
    direction: str = "greater"
    margin: float = 0.0
    value: float | None = None
    paper_value: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    note: str = ""
    protocol: str = ""
    revised: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.metric.startswith(FORBIDDEN_PREFIXES):
            raise ValueError(f"claim {self.id}: '{self.metric}' is chosen as the best evaluation on the test "
                             "split, so it cannot be claimed; use final_* (or a pre-declared checkpoint)")  # fmt: skip
        if self.kind == "compare" and not (self.treatment and self.baseline):
            raise ValueError(f"claim {self.id}: a compare claim needs treatment and baseline arms")
        if self.kind == "threshold" and self.value is None:
            raise ValueError(f"claim {self.id}: a threshold claim needs a value")
        if self.kind == "match" and self.paper_value is None:
            raise ValueError(f"claim {self.id}: a match claim needs paper_value")
        if self.direction not in ("greater", "less"):
            raise ValueError(
                f"claim {self.id}: direction must be 'greater' or 'less', got {self.direction!r}"
            )

    def definition(self) -> dict[str, Any]:
        """What the verdict depends on (not the wording): changing any of it revises the claim."""
        d = {k: getattr(self, k) for k in DEFINITION_FIELDS}
        for k in ("margin", "value", "paper_value", "tolerance"):
            d[k] = None if d[k] is None else float(d[k])
        return d

    def definition_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.definition(), sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class Judgement:
    claim: Claim
    measured: str
    verdict: str
    detail: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def load_claims(path: str | Path) -> tuple[dict[str, Any], list[Claim]]:
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    claims = []
    for c in data.get("claims", []):
        unknown = set(c) - set(Claim.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: claim {c.get('id')}: unknown field(s) {sorted(unknown)}")
        claims.append(Claim(**c))
    ids = [c.id for c in claims]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate claim ids")
    meta = {k: v for k, v in data.items() if k != "claims"}
    return meta, claims


# ----------------------------------------------------------------- observations
@dataclass
class Obs:
    """One arm's measurement: per-seed values and items (seed `ONCE` for a single measurement)."""

    values: dict[int, float]
    items: dict[int, dict[str, float]]
    once: bool = False
    warning: str = ""

    @property
    def seeds(self) -> list[int]:
        return sorted(self.values)

    def vals(self, seeds: list[int] | None = None) -> list[float]:
        return [self.values[s] for s in (seeds or self.seeds)]

    def eval_var(self, seeds: list[int] | None = None) -> list[float]:
        return [stats.var_of_mean(list(self.items.get(s, {}).values())) for s in (seeds or self.seeds)]


def observe(metric: str, arm: str | None, measurements, items=None, once=None) -> Obs | None:
    """The measurement of ``metric`` for ``arm``, with the pseudo-replication guard applied."""
    arm = arm or ""
    one = ((once or {}).get(metric) or {}).get(arm)
    if one is not None:
        return Obs({ONCE: float(one["value"])}, {ONCE: dict(one.get("items") or {})}, once=True)
    by_seed = (measurements.get(metric) or {}).get(arm) or {}
    if not by_seed:
        return None
    its = ((items or {}).get(metric) or {}).get(arm) or {}
    obs = Obs({int(s): float(v) for s, v in by_seed.items()}, {int(s): dict(v) for s, v in its.items()})
    seeds = obs.seeds
    if len(seeds) >= 2:
        first = seeds[0]
        same = all(obs.values[s] == obs.values[first] and obs.items.get(s, {}) == obs.items.get(first, {})
                   for s in seeds)  # fmt: skip
        constant = set(obs.items.get(first, {}).values())
        if same and len(constant) == 1:  # every item at one value in every seed: a floor or a ceiling
            obs.warning = (f"{arm}: every item is {constant.pop():g} in every seed (a floor or a ceiling: the "
                           "effect cannot show here)")  # fmt: skip
        elif same:
            return Obs({ONCE: obs.values[first]}, {ONCE: obs.items.get(first, {})}, once=True,
                       warning=f"{PSEUDO_WARNING} ({arm}: the same value and items in seeds {seeds}: a copy, or "
                               "seeds that do not vary; judged as one measurement, n = 1)")  # fmt: skip
    return obs


def _fmt(obs: Obs, unit: str = "") -> str:
    values = obs.vals()
    m, s = stats.mean(values), stats.std(values)
    spread = f" ± {s:.3g}" if len(values) > 1 else ""
    n = "once" if obs.once else f"n={len(values)}"
    k = len(obs.items.get(obs.seeds[0], {}))
    return f"{m:.3g}{spread}{unit} ({n}{f', {k} items' if k else ''})"


def compare_interval(t: Obs, b: Obs) -> stats.Interval:
    """Paired on the shared seeds (both measured once counts as one shared seed), else Welch."""
    common = sorted(set(t.values) & set(b.values))
    if common and t.once == b.once:
        d = [t.values[s] - b.values[s] for s in common]
        v = [stats.paired_var_of_mean_diff(t.items.get(s, {}), b.items.get(s, {})) for s in common]
        iv = stats.paired_diff(d, v)
        dropped = sorted((set(t.values) | set(b.values)) - set(common))
        if dropped:
            iv.notes.append(f"seeds {dropped} measured in one arm only are left out of the paired comparison")
        return iv
    return stats.welch_diff(t.vals(), b.vals(), t.eval_var(), b.eval_var())


def threshold_interval(a: Obs, value: float) -> stats.Interval:
    """mean - value; a single measurement with items gets the item bootstrap (widened to the
    pseudo-item normal interval if the bootstrap is degenerate)."""
    iv = stats.one_sample(a.vals(), value, a.eval_var())
    its = list(a.items.get(a.seeds[0], {}).values())
    if a.once and len(its) >= 2:
        boot = stats.bootstrap_mean_ci(its, seed=0)
        if not boot.no_error_estimate:
            shift = a.values[ONCE] - boot.estimate - value
            return stats.Interval(iv.estimate, boot.low + shift, boot.high + shift, (1,), "item bootstrap")
    return iv


def _how(iv: stats.Interval) -> str:
    n = iv.n[0] if len(iv.n) == 1 else "/".join(map(str, iv.n))
    return f"90% CI, {iv.method}, n={n}"


def judge(
    claim: Claim, measurements: dict[str, dict[str, dict[int, float]]], items=None, once=None
) -> Judgement:
    """Judge a claim from ``measurements[metric][arm][seed] = value`` (plus per-item values
    ``items[metric][arm][seed] = {item: value}`` and single measurements
    ``once[metric][arm] = {"value": v, "items": {...}}``)."""

    def obs(arm: str | None) -> Obs | None:
        return observe(claim.metric, arm, measurements, items, once)

    def missing() -> Judgement:
        return Judgement(claim, "not measured", stats.INCONCLUSIVE, {"missing": True})

    if claim.kind == "compare":
        t, b = obs(claim.treatment), obs(claim.baseline)
        if t is None or b is None:
            return missing()
        iv = compare_interval(t, b)
        v = stats.verdict(iv, claim.direction, claim.margin)
        measured = (f"{claim.treatment}: {_fmt(t, claim.unit)} vs {claim.baseline}: {_fmt(b, claim.unit)}; "
                    f"diff {iv.fmt()} ({_how(iv)})")  # fmt: skip
        warn = [w for w in (t.warning, b.warning) if w] + iv.notes
        return Judgement(claim, measured, v, {"treatment": t.values, "baseline": b.values, "diff": iv.__dict__},
                         warn)  # fmt: skip
    a = obs(claim.arm)
    if a is None:
        return missing()
    warn = [a.warning] if a.warning else []
    if claim.kind == "threshold":
        iv = threshold_interval(a, float(claim.value))
        v = stats.verdict(iv, claim.direction, claim.margin)
        rel = ">" if claim.direction == "greater" else "<"
        return Judgement(claim, f"{claim.arm}: {_fmt(a, claim.unit)} (claim: {rel} {claim.value}); "
                                f"diff {iv.fmt()} ({_how(iv)})", v,
                         {"values": a.values, "diff": iv.__dict__}, warn)  # fmt: skip
    if claim.kind == "match":
        m = stats.mean(a.vals())
        ok = abs(m - float(claim.paper_value)) <= claim.tolerance
        return Judgement(claim, f"{_fmt(a, claim.unit)} vs paper {claim.paper_value}{claim.unit} (± {claim.tolerance})",
                         stats.MATCHES if ok else stats.DIFFERS, {"values": a.values}, warn)  # fmt: skip
    return Judgement(claim, _fmt(a, claim.unit), stats.REPORTED, {"values": a.values}, warn)
