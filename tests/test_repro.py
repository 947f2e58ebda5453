"""Claims, verdicts and the report: the verdict can say "did not hold", and a toy run reports it."""

import json

import pytest

from r1repro.repro import stats
from r1repro.repro.claims import Claim, judge, load_claims


@pytest.mark.parametrize(
    "treat,base,direction,expected",
    [
        ([0.8, 0.82, 0.81], [0.5, 0.51, 0.52], "greater", stats.HELD),
        (
            [0.5, 0.51, 0.52],
            [0.8, 0.82, 0.81],
            "greater",
            stats.NOT_HELD,
        ),  # the interval is on the other side
        ([0.6, 0.2, 0.9], [0.5, 0.4, 0.7], "greater", stats.INCONCLUSIVE),
        (
            [0.45, 0.6, 0.5],
            [0.5, 0.5, 0.55],
            "greater",
            stats.INCONCLUSIVE,
        ),  # wrong-side estimate, wide interval
        ([0.3, 0.31, 0.29], [0.6, 0.61, 0.62], "less", stats.HELD),
        # identical values in every seed and no items: pseudo-replicated, no error estimate
        ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5], "greater", stats.INCONCLUSIVE),
        ([0.9], [0.1], "greater", stats.INCONCLUSIVE),  # one seed, no items: no error estimate
    ],
)
def test_compare_verdicts(treat, base, direction, expected):
    c = Claim(id="c", claim="x", metric="m", treatment="t", baseline="b", direction=direction)
    m = {"m": {"t": dict(enumerate(treat)), "b": dict(enumerate(base))}}
    assert judge(c, m).verdict == expected


def test_threshold_match_and_report_claims():
    m = {"ratio": {"tinyv": {0: 0.3, 1: 0.35, 2: 0.32}}, "fn": {"rule": {0: 1.0}}}
    # "ratio < 0.2" did not hold: the whole interval lies above 0.2
    assert (
        judge(
            Claim(
                id="a", claim="x", metric="ratio", kind="threshold", arm="tinyv", direction="less", value=0.5
            ),
            m,
        ).verdict
        == stats.HELD
    )
    assert (
        judge(
            Claim(
                id="b", claim="x", metric="ratio", kind="threshold", arm="tinyv", direction="less", value=0.2
            ),
            m,
        ).verdict
        == stats.NOT_HELD
    )
    assert (
        judge(
            Claim(id="c", claim="x", metric="fn", kind="match", arm="rule", paper_value=1.0, tolerance=0.01),
            m,
        ).verdict
        == stats.MATCHES
    )
    assert (
        judge(Claim(id="d", claim="x", metric="fn", kind="match", arm="rule", paper_value=0.5), m).verdict
        == stats.DIFFERS
    )
    assert (
        judge(Claim(id="e", claim="x", metric="fn", kind="report", arm="rule"), m).verdict == stats.REPORTED
    )
    assert (
        judge(Claim(id="f", claim="x", metric="nope", kind="report", arm="rule"), m).measured
        == "not measured"
    )


def test_claims_file_is_validated(tmp_path):
    bad = tmp_path / "claims.yaml"
    bad.write_text("claims:\n  - {id: a, claim: x, metric: m, kind: compare}\n")
    with pytest.raises(ValueError, match="treatment and baseline"):
        load_claims(bad)
    bad.write_text("claims:\n  - {id: a, claim: x, metric: m, kind: magic}\n")
    with pytest.raises(ValueError, match="unknown kind"):
        load_claims(bad)
    bad.write_text(
        "claims:\n  - {id: a, claim: x, metric: best_correct, kind: threshold, arm: a, value: 0}\n"
    )
    with pytest.raises(ValueError, match="best evaluation on the test split"):
        load_claims(bad)
    bad.write_text("claims:\n  - {id: a, claim: x, metric: m, kind: report, arm: a, margn: 1}\n")
    with pytest.raises(ValueError, match="unknown field"):
        load_claims(bad)


@pytest.mark.slow
def test_toy_reproduction_writes_report_plots_and_verdicts(tmp_path, monkeypatch):
    import r1repro.repro.run as run_mod
    from r1repro.repro.run import run_reproduction

    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path))
    commits = iter(["c0ffee1", "beef002", "beef003"])  # HEAD moves while the run trains
    real_facts = run_mod.environment_facts
    monkeypatch.setattr(run_mod, "environment_facts", lambda: {**real_facts(), "git_commit": next(commits),
                                                               "git_dirty": False})  # fmt: skip
    summary = run_reproduction("toy", "cpu", ["engine.trainer.total_steps=4", "workers=2"], quiet=True)
    out = tmp_path / "toy"
    report = (out / "latest" / "report.md").read_text()
    assert "## Claims" in report and "GRPO raises held-out accuracy" in report
    assert any(v in report for v in ("held", "did not hold", "inconclusive"))
    assert "eval_correct.png" in report and (out / "latest" / "eval_correct.png").stat().st_size > 1000
    res = json.loads((out / "latest" / "results.json").read_text())
    assert set(res["verdicts"]) == {"rl_gain", "centered_vs_grpo"}
    assert set(res["measurements"]["final_correct"]) == {"grpo", "centered"}
    assert len(res["measurements"]["final_correct"]["grpo"]) == 2  # both seeds
    # per-prompt items of the standard measurements, one warm start per seed, pre-registration hashes
    assert (
        len(res["items"]["final_correct"]["grpo"]["0"]) == 32
        and len(res["items"]["initial_correct"]["grpo"]) == 2
    )
    assert res["profile"] == "quick" and len(res["claims_sha256"]) == 64 and len(res["config_sha256"]) == 64
    assert all(len(c["definition_hash"]) == 12 for c in res["claims"])
    assert (
        "profile **quick**" in report
        and "pre-registration" in report
        and "evaluation: toy.add / test" in report
    )
    assert "commit c0ffee1" in report and res["environment"]["git_commit"] == "c0ffee1"  # the code it started from
    # the wall time is recorded and reported (its speed is the benchmarks' business, not a test's)
    assert summary["wall_time_s"] > 0 and "wall time:" in report
