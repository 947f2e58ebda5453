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

``threshold`` compares one arm's measurement with ``value`` (``direction`` as above);
``match`` checks a deterministic number against the paper's (``paper_value`` within
``tolerance``); ``report`` shows the number with no verdict. Verdict rules:
`r1repro.repro.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1repro.repro import stats


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

    def __post_init__(self) -> None:
        if self.kind not in ("compare", "threshold", "match", "report"):
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}")
        if self.kind == "compare" and not (self.treatment and self.baseline):
            raise ValueError(f"claim {self.id}: a compare claim needs treatment and baseline arms")
        if self.kind == "threshold" and self.value is None:
            raise ValueError(f"claim {self.id}: a threshold claim needs a value")
        if self.kind == "match" and self.paper_value is None:
            raise ValueError(f"claim {self.id}: a match claim needs paper_value")


@dataclass
class Judgement:
    claim: Claim
    measured: str
    verdict: str
    detail: dict[str, Any] = field(default_factory=dict)


def load_claims(path: str | Path) -> tuple[dict[str, Any], list[Claim]]:
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    claims = [Claim(**c) for c in data.get("claims", [])]
    ids = [c.id for c in claims]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate claim ids")
    meta = {k: v for k, v in data.items() if k != "claims"}
    return meta, claims


def _fmt(values: list[float], unit: str = "") -> str:
    if not values:
        return "n/a"
    m, s = stats.mean(values), stats.std(values)
    spread = f" ± {s:.3g}" if len(values) > 1 else ""
    return f"{m:.3g}{spread}{unit} (n={len(values)})"


def judge(claim: Claim, measurements: dict[str, dict[str, dict[int, float]]]) -> Judgement:
    """Judge a claim from ``measurements[metric][arm][seed] = value``."""
    by_arm = measurements.get(claim.metric, {})

    def vals(arm: str | None) -> list[float]:
        return [float(v) for _, v in sorted(by_arm.get(arm or "", {}).items())]

    if claim.kind == "compare":
        t, b = vals(claim.treatment), vals(claim.baseline)
        if not t or not b:
            return Judgement(claim, "not measured", stats.INCONCLUSIVE, {"missing": True})
        iv = stats.welch_diff(t, b)
        v = stats.verdict(iv, claim.direction, claim.margin)
        measured = (f"{claim.treatment}: {_fmt(t, claim.unit)} vs {claim.baseline}: {_fmt(b, claim.unit)}; "
                    f"diff {iv.fmt()} (90% CI)")  # fmt: skip
        return Judgement(claim, measured, v, {"treatment": t, "baseline": b, "diff": iv.__dict__})
    if claim.kind == "threshold":
        a = vals(claim.arm)
        if not a:
            return Judgement(claim, "not measured", stats.INCONCLUSIVE, {"missing": True})
        iv = stats.one_sample(a, float(claim.value))
        v = stats.verdict(iv, claim.direction, claim.margin)
        rel = ">" if claim.direction == "greater" else "<"
        return Judgement(claim, f"{claim.arm}: {_fmt(a, claim.unit)} (claim: {rel} {claim.value})", v,
                         {"values": a, "diff": iv.__dict__})  # fmt: skip
    a = vals(claim.arm)
    if not a:
        return Judgement(claim, "not measured", stats.INCONCLUSIVE, {"missing": True})
    if claim.kind == "match":
        m = stats.mean(a)
        ok = abs(m - float(claim.paper_value)) <= claim.tolerance
        return Judgement(claim, f"{_fmt(a, claim.unit)} vs paper {claim.paper_value}{claim.unit} (± {claim.tolerance})",
                         stats.MATCHES if ok else stats.DIFFERS, {"values": a})  # fmt: skip
    return Judgement(claim, _fmt(a, claim.unit), stats.REPORTED, {"values": a})
