"""The CPU task and the hybrid template."""

import pytest
from r1repro_hgpo.data import DeepScaleR, HybridCompose, digit_functions
from r1repro_hgpo.templates import HybridMathTemplate, HybridTemplate

from r1repro.registry import load_plugins
from r1repro.testing import check_row


def test_task_facts_and_traces_are_consistent():
    d = HybridCompose()
    f = digit_functions("fghk")
    assert d.table == f and all(sorted(v) == list(range(10)) for v in f.values())
    problem, answer, trace = d.make(3, ["g", "f", "h"])
    assert problem == "h(f(g(3)))"
    g3 = f["g"][3]
    f_ = f["f"][g3]
    assert answer == str(f["h"][f_]) and trace == f"g3={g3};f{g3}={f_};h{f_}={answer}"
    for r in d.load("train", limit=200):
        assert check_row(r) == []
        steps = r.extra["trace"].split(";")
        assert len(steps) == (3 if r.domain == "hard" else 1) and steps[-1].endswith("=" + r.ground_truth)


def test_splits_hold_out_hard_prompts_and_mix_modes_at_random():
    d = HybridCompose()
    test = {r.problem for r in d.load("test") if r.domain == "hard"}
    for split in ("train", "sft"):
        assert not test & {r.problem for r in d.load(split) if r.domain == "hard"}
    rows = d.load("sft", limit=2000)
    for kind in ("easy", "hard"):
        modes = [d.sft_mode(r) for r in rows if r.domain == kind]
        assert 0.45 < modes.count("think") / len(modes) < 0.55  # the cold start does not know when to think
    assert 0.45 < sum(r.domain == "hard" for r in rows) / len(rows) < 0.55
    with pytest.raises(ValueError):
        HybridCompose(depth=1)


def test_template_round_trip_and_solution_formats():
    t = HybridTemplate()
    for answer, think in [("5", "g3=5"), ("\\frac{1}{2}", "work"), ("7", None), ("x^2+1", "")]:
        p = t.parse(t.format_response(answer=answer, think=think))
        assert p.answer == answer and p.think == think and p.format_ok
        assert p.parts["mode"] == ("think" if think is not None else "no_think")
    d = HybridCompose()
    for r in d.load("sft", limit=20):
        resp = d.solution(r, t)
        assert resp.startswith("<think>" if d.sft_mode(r) == "think" else "<no_think>")
        assert t.parse(resp).answer == r.ground_truth
    assert t.parse("no tags \\boxed{3}").answer == "3" and not t.parse("no tags \\boxed{3}").format_ok
    assert t.render(d.load("test", limit=1)[0])[0]["content"] == d.load("test", limit=1)[0].problem
    assert HybridMathTemplate().render("1+1?")[0]["content"].endswith("\\boxed{}.")


def test_registered_components_and_fixtures():
    reg = load_plugins()
    for kind, name in [("reward", "hgpo.reward"), ("template", "hgpo.hybrid"), ("template", "hgpo.hybrid_math"),
                       ("dataset", "hgpo.compose"), ("dataset", "hgpo.deepscaler"), ("estimator", "hgpo"),
                       ("rollout", "hgpo.mode_forced"), ("reproduction", "hgpo")]:  # fmt: skip
        assert name in reg.names(kind), (kind, name)
    for ds in (HybridCompose(), DeepScaleR()):
        assert all(check_row(r) == [] for r in ds.fixture())
