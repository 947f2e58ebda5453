"""The reproduction's own logic: the verifier table on HardVerify-Math (PRIME's numbers are
checked here), the derived RL measurements and the claims they feed."""

import math
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from r1repro_tinyv.reproduction import TinyVReproduction, _with_verifier

from r1repro.components import DatasetUnavailable
from r1repro.registry import build, load_plugins
from r1repro.repro.claims import judge, load_claims
from r1repro.repro.run import ReproRun

REG = load_plugins()
CLAIMS = Path(__file__).resolve().parents[3] / "reproductions" / "tinyv" / "claims.yaml"


def _run(tmp_path, cfg):
    return ReproRun(name="tinyv", scale="cpu", cfg=OmegaConf.create(cfg), out_dir=tmp_path,
                    reproduction=TinyVReproduction(), registry=REG, quiet=True)  # fmt: skip


@pytest.fixture(scope="module")
def hardverify():
    try:
        return build("dataset", "tinyv.hardverify_math").load("test")
    except DatasetUnavailable:
        pytest.skip("HardVerify-Math not available (set R1REPRO_DATA_DIR or allow the hub)")


def test_prime_on_hardverify_math_matches_the_claims(tmp_path, hardverify):
    """PRIME accepts 0/250 fn_outputs and rejects 250/250 tn_outputs; the add-on row passes
    PRIME's negatives to the verifier (here a stub that accepts nothing)."""
    stub = {"backend": "stub", "fn": "r1repro_tinyv.reward:stub_says_true_for_seven"}
    run = _run(tmp_path, {"verifier_table": {"judge": stub, "verifiers": ["prime", "addon"]}})
    TinyVReproduction().verifier_table(run, "unused")
    m = {k: {a: v["value"] for a, v in arms.items()} for k, arms in run.once.items()}
    assert m["hv_fn_accept"]["prime"] == 0.0 and m["hv_tn_reject"]["prime"] == 1.0
    assert len(run.once["hv_fn_accept"]["prime"]["items"]) == 250  # one measurement, per-question items
    assert m["hv_fn_accept"]["addon"] == pytest.approx(sum(r.extra["fn_output"] == "7" for r in hardverify) / 250,
                                                          abs=0.01)  # fmt: skip
    _, claims = load_claims(CLAIMS)
    verdicts = {c.id: judge(c, run.measurements, run.items, run.once).verdict
                for c in claims if c.metric.startswith("hv_") and c.arm == "prime"}  # fmt: skip
    assert verdicts == {"prime_rejects_hardverify_fn": "matches", "prime_rejects_hardverify_tn": "matches"}
    table = run.tables[0]
    assert "HardVerify-Math (250 questions" in table.title and table.rows[0][1].startswith("0.0% (0/250)")


def test_math_verify_on_a_slice_of_hardverify_math(tmp_path, hardverify):
    """math-verify's verdicts on the first 50 questions (all 250: 149/250 and 248/250, in the report)."""
    run = _run(tmp_path, {"verifier_table": {"verifiers": ["math_verify"], "limit": 50}})
    TinyVReproduction().verifier_table(run, "unused")
    assert run.once["hv_fn_accept"]["math_verify"]["value"] == pytest.approx(42 / 50)
    assert run.once["hv_tn_reject"]["math_verify"]["value"] == pytest.approx(50 / 50)


def _history(curve, llm=None):
    out = []
    for step, v in curve.items():
        out.append({"step": step, "eval/correct": v, "eval/rule_fn": 0.5 - step / 400})
        if step:
            x = {"step": step, "timing/step": 1.0}
            if llm is not None:
                x.update({"reward/llm_share": 0.4, "reward/llm_seconds": llm})
            out.append(x)
    return out


def test_steps_to_rule_peak_and_compute_shares(tmp_path):
    run = _run(tmp_path, {"engine": {"eval": {"every": 10}, "trainer": {"total_steps": 40}},
                          "analysis": {"baseline": "rule"}})  # fmt: skip
    run.histories["rule"] = {0: _history({0: 0.5, 10: 0.55, 20: 0.6, 30: 0.62, 40: 0.61}),
                             1: _history({0: 0.5, 10: 0.56, 20: 0.58, 30: 0.64, 40: 0.63})}  # fmt: skip
    run.histories["tinyv"] = {0: _history({0: 0.5, 10: 0.63, 20: 0.7, 30: 0.7, 40: 0.72}, llm=0.05),
                              1: _history({0: 0.5, 10: 0.6, 20: 0.61, 30: 0.6, 40: 0.62}, llm=0.2)}  # fmt: skip
    TinyVReproduction().derived(run)
    m = run.measurements
    # the rule arm's mean curve peaks at 0.63 (step 30): s* = 30
    assert m["steps_to_rule_peak"]["rule"] == {
        0: 50.0,
        1: 30.0,
    }  # seed 0 never reaches 0.63: censored at 40 + 10
    assert m["steps_to_rule_peak"]["tinyv"] == {0: 10.0, 1: 50.0}
    assert m["steps_to_rule_peak_ratio"]["tinyv"][0] == pytest.approx(10 / 30)
    assert m["llm_share"]["tinyv"][0] == pytest.approx(0.4) and "rule" not in m["llm_share"]
    assert m["llm_time_share"]["tinyv"][0] == pytest.approx(0.05)
    assert m["extra_compute"]["tinyv"][1] == pytest.approx(0.2 / 0.8)
    assert m["initial_rule_fn"]["rule"][0] == 0.5 and m["final_rule_fn"]["rule"][0] == pytest.approx(0.4)
    assert any("peak" in n for n in run.notes)


def test_the_tiny_verifier_is_injected_into_the_arms_that_name_it():
    spec = {"name": "tinyv.addon", "judge": {"backend": "transformers", "model": "tinyv:tiny"}}
    assert _with_verifier(spec, "/cache/v")["judge"]["model"] == "/cache/v"
    assert spec["judge"]["model"] == "tinyv:tiny"  # not modified in place
    assert _with_verifier({"name": "tinyv.prime"}, "/cache/v") is None


def test_each_seed_gets_its_verifier_and_its_own_stated_verifier_errors(tmp_path):
    arms = {"rule": {"reward": {"name": "tinyv.prime"}},
            "tinyv": {"reward": {"name": "tinyv.addon", "judge": {"model": "tinyv:tiny"}}},
            "tinyv_stated": {"reward": {"name": "tinyv.stated_verifier", "recall": 0.9, "false_positive": 0.05}}}
    run = _run(tmp_path, {"seeds": [0, 1], "arms": arms})  # fmt: skip
    extra = TinyVReproduction.arm_rewards(run, {0: "/v0", 1: "/v1"})
    assert extra[("tinyv", 1)]["reward"]["judge"]["model"] == "/v1" and ("rule", 0) not in extra
    stated = [extra[("tinyv_stated", s)]["reward"] for s in (0, 1)]
    assert [r["seed"] for r in stated] == [0, 1] and stated[0]["false_positive"] == 0.05


def test_the_verifier_report_records_accuracy_and_false_positives_with_items(tmp_path):
    run = _run(tmp_path, {"seeds": [0]})
    items = {"p1:0": 1.0, "p1:1": 0.0, "p2:2": 1.0, "p2:3": 1.0}
    report = {"heldout": {"n": 4, "accuracy": 0.75, "fn_recovery": 1.0, "tn_preservation": 0.5,
                          "false_positive": 0.5, "items": items, "negative_items": ["p1:1", "p2:3"]}}  # fmt: skip
    TinyVReproduction().verifier_report(run, report, seed=0)
    assert run.measurements["verifier_false_positive"]["tinyv"][0] == 0.5
    assert run.items_of("verifier_false_positive", "tinyv", 0) == {"p1:1": 1.0, "p2:3": 0.0}
    assert run.items_of("verifier_heldout_accuracy", "tinyv", 0) == items


def test_claims_file_is_consistent():
    meta, claims = load_claims(CLAIMS)
    ids = {c.id for c in claims}
    assert {"pass_rate_gain", "faster_convergence", "extra_compute", "prime_rejects_hardverify_fn"} <= ids
    faster = next(c for c in claims if c.id == "faster_convergence")
    assert faster.kind == "threshold" and faster.value == 0.5 and faster.direction == "less"
    assert all(c.source for c in claims) and not math.isnan(
        next(c for c in claims if c.id == "extra_compute").value
    )
