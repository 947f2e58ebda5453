"""Golden tests for pPE: the per-tag format check, the 0.5/0.5 reward table, the prior prompts,
the shared SFT start of the CPU task, and one tiny end-to-end reproduction."""

from __future__ import annotations

import itertools
import random

import pytest
from r1repro_ppe.data import STYLES, PriorPromptTask, styled_response
from r1repro_ppe.reward import ACCURACY_WEIGHT, FORMAT_WEIGHT, format_ok
from r1repro_ppe.templates import PRIOR_PROMPTS, SKELETON, TAGS

from r1repro.registry import load_plugins
from r1repro.types import Row, Sample

OTHER = {"think": "plan", "plan": "code", "code": "knowledge", "knowledge": "examples", "examples": "think"}


@pytest.fixture(scope="module")
def reg():
    return load_plugins()


def test_paper_constants():
    assert TAGS == ("think", "plan", "code", "knowledge", "examples")
    assert (ACCURACY_WEIGHT, FORMAT_WEIGHT) == (0.5, 0.5)  # paper §3.3
    assert "{activity}" in SKELETON and "<{tag}>" in SKELETON and "<answer> </answer>" in SKELETON


@pytest.mark.parametrize("tag", TAGS)
def test_format_check_is_strict_per_tag(tag):
    o, c = f"<{tag}>", f"</{tag}>"
    good = [
        f"{o}x{c}<answer>\\boxed{{1}}</answer>",
        f"  {o}\nx\n{c}\n<answer>\n1\n</answer>\n",
        f"{o}{c}<answer></answer>",
    ]
    bad = [
        f"<{OTHER[tag]}>x</{OTHER[tag]}><answer>1</answer>",  # another prior prompt's tag
        f"{o}x{c}",  # no answer
        "<answer>1</answer>",  # no tag
        f"{o}x{c}{o}y{c}<answer>1</answer>",  # two tag pairs
        f"{o}x{c}<answer>1</answer><answer>2</answer>",  # two answers
        f"{o}x{o}y{c}<answer>1</answer>",  # nested/duplicated opening tag
        f"<answer>1</answer>{o}x{c}",  # wrong order
        f"hello {o}x{c}<answer>1</answer>",  # text before
        f"{o}x{c}<answer>1</answer> bye",  # text after
        f"{o}x{c} so <answer>1</answer>",  # text between
        f"{o}x<answer>1</answer>{c}",  # answer inside the tag
        "",
    ]
    assert all(format_ok(r, tag) for r in good)
    assert not any(format_ok(r, tag) for r in bad), [r for r in bad if format_ok(r, tag)]


def test_reward_table_5x2x2(reg):
    """Every tag x (correct, incorrect) x (format ok, format bad) -> 0.5·acc + 0.5·format."""
    table = {}
    for tag, correct, fmt in itertools.product(TAGS, (True, False), (True, False)):
        ans = "12" if correct else "13"
        if fmt:
            resp = f"<{tag}>7 + 5 = 12</{tag}><answer>\\boxed{{{ans}}}</answer>"
        else:  # right content, but an extra sentence after the answer breaks "nothing else"
            resp = f"<{tag}>7 + 5 = 12</{tag}><answer>\\boxed{{{ans}}}</answer> Done."
        reward = reg.build("reward", {"name": "ppe.reward", "tag": tag, "verifier": "core.numeric_match"})
        (res,) = reward([Sample(response=resp, ground_truth="12")])
        table[(tag, correct, fmt)] = res.score
        assert res.info["format"] == float(fmt) and res.info["accuracy"] == float(correct)
        assert res.info["correct"] is correct
    expected = {(True, True): 1.0, (True, False): 0.5, (False, True): 0.5, (False, False): 0.0}
    assert table == {(t, c, f): expected[(c, f)] for t, c, f in table}


def test_accuracy_term_reads_only_the_answer_tag(reg):
    reward = reg.build("reward", {"name": "ppe.reward", "tag": "think", "verifier": "core.numeric_match"})
    outside, wrong_tag = reward([
        Sample(response="<think>\\boxed{12}</think><answer>12</answer>", ground_truth="12"),
        Sample(response="<plan>x</plan><answer>\\boxed{12}</answer>", ground_truth="12"),
    ])  # fmt: skip
    assert (
        outside.score == 0.5 and outside.info["accuracy"] == 0.0 and outside.info["correct"]
    )  # task accuracy
    assert wrong_tag.score == 0.5 and wrong_tag.info["accuracy"] == 1.0 and wrong_tag.info["format"] == 0.0


def test_no_prior_prompt_reward_is_accuracy_only(reg):
    reward = reg.build("reward", {"name": "ppe.reward_no_pp", "verifier": "core.numeric_match"})
    a, b = reward(
        [Sample(response="so \\boxed{12}", ground_truth="12"), Sample(response="<think>", ground_truth="12")]
    )
    assert (a.score, b.score) == (1.0, 0.0) and a.info["format"] == 0.0


def test_math_verify_is_the_default_verifier(reg):
    pytest.importorskip("math_verify")
    reward = reg.build("reward", {"name": "ppe.reward", "tag": "examples"})
    assert reward.verifier.name == "ppe.math_verify"
    good, frac = reward([
        Sample(response="<examples>e</examples><answer>\\boxed{\\frac{1}{2}}</answer>", ground_truth="0.5"),
        Sample(response="<examples>e</examples><answer>\\boxed{2/4}</answer>", ground_truth="\\frac{1}{2}"),
    ])  # fmt: skip
    assert good.score == 1.0 and frac.score == 1.0


def test_reward_survives_adversarial_output(reg):
    reward = reg.build("reward", {"name": "ppe.reward", "tag": "code", "verifier": "core.numeric_match"})
    weird = ["", "x" * 1_000_000, "{" * 5000, "\\boxed{2^{10^{10}}}", "\ud800 <code>", "<code>" * 1000,
             "<code></code><answer>\\boxed{" + "9" * 5000 + "}</answer>"]  # fmt: skip
    results = reward([Sample(response=w, ground_truth="3") for w in weird])
    assert len(results) == len(weird) and all(r.finite for r in results)


@pytest.mark.parametrize("tag", TAGS)
def test_templates_round_trip_and_render(reg, tag):
    tpl = reg.build("template", f"ppe.{tag}")
    parsed = tpl.parse(tpl.format_response(answer="\\frac{3}{4}", think="first, 3/4"))
    assert parsed.answer == "\\frac{3}{4}" and parsed.think == "first, 3/4" and parsed.format_ok
    msgs = tpl.render(Row(id="r", problem="Add 1 and 2.", ground_truth="3", data_source="t"))
    assert msgs[0]["role"] == "system" and f"<{tag}> </{tag}>" in msgs[0]["content"]
    assert PRIOR_PROMPTS[tag].activity in msgs[0]["content"] and msgs[1]["content"] == "Add 1 and 2."
    # a row may carry its own prior prompt (the shared SFT start mixes all five, or none)
    other = Row(id="r", problem="q", ground_truth="3", data_source="t", extra={"prior_prompt": OTHER[tag]})
    assert f"<{OTHER[tag]}>" in tpl.render(other)[0]["content"]
    none = Row(id="r", problem="q", ground_truth="3", data_source="t", extra={"prior_prompt": "none"})
    assert tpl.render(none) == [{"role": "user", "content": "q"}]


def test_no_pp_template_round_trips(reg):
    tpl = reg.build("template", "ppe.no_pp")
    p = tpl.parse(tpl.format_response(answer="7", think="3 + 4"))
    assert (p.answer, p.think) == ("7", "3 + 4") and tpl.render("q") == [{"role": "user", "content": "q"}]


def test_styles_pass_their_own_format_check_only():
    rng = random.Random(0)
    for style in STYLES:
        resp = styled_response(style, [1, 2, 3], rng)
        assert "\\boxed{6}" in resp
        for tag in TAGS:
            assert format_ok(resp, tag) == (style == tag)


def test_cpu_task_sft_start_is_shared_and_follows_prompts_partly(reg):
    from r1repro.models.sft import sft_pairs

    task = PriorPromptTask()
    pairs = {t: sft_pairs(task, reg.build("template", f"ppe.{t}"), "sft", 300, 0) for t in TAGS}
    assert all(pairs[t] == pairs["think"] for t in TAGS)  # one SFT checkpoint for every arm
    rows = task.load("sft", limit=3000)
    asked = [r for r in rows if r.extra["prior_prompt"] in TAGS]
    follow = sum(format_ok(task.solution(r, None), r.extra["prior_prompt"]) for r in asked) / len(asked)
    assert 0.35 < follow < 0.45  # `follow` = 0.4
    wrong = sum("\\boxed{" + r.ground_truth + "}" not in task.solution(r, None) for r in rows) / len(rows)
    assert 0.15 < wrong < 0.35  # `slip` = 0.3 drops the last term (harmless when it is 0)
    test_rows = task.load("test", limit=50)
    assert all("prior_prompt" not in r.extra for r in test_rows) and test_rows[0].ground_truth == str(
        sum(test_rows[0].extra["terms"])
    )


@pytest.mark.slow
def test_tiny_reproduction_records_ipe_and_ppe(tmp_path, monkeypatch):
    from r1repro.repro.run import run_reproduction

    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path))
    monkeypatch.setenv("R1REPRO_POOL_WORKERS", "1")
    summary = run_reproduction("ppe", overrides=[
        "seeds=[0]", "workers=1", "engine.model.path=tiny:nano", "engine.model.sft.steps=4",
        "engine.model.sft.examples=64", "engine.trainer.total_steps=1", "engine.trainer.batch_size=2",
        "engine.rollout.n=2", "engine.rollout.max_new_tokens=8", "engine.eval.limit=4",
        "engine.eval.max_new_tokens=8", "engine.eval.every=1"], quiet=True)  # fmt: skip
    import json
    from pathlib import Path

    res = json.loads((Path(summary["out_dir"]) / "results.json").read_text())
    meas = res["measurements"]
    assert set(meas["correct"]) == {f"{t}.{k}" for t in TAGS for k in ("iPE", "pPE", "start")}
    assert "all" in meas["min_gain_correct"] and set(meas["gain_format"]) == set(TAGS)
    assert "all" in meas["examples_minus_think_length"]
    # iPE = the trained No-PP model prompted with the tag: its own evaluation, not the pPE arm's start
    for tag in TAGS:
        assert meas["correct"][f"{tag}.iPE"] == meas["final_correct"][f"nopp.{tag}"]
        assert meas["format"][f"{tag}.iPE"] == meas["final_format"][f"nopp.{tag}"]
        assert meas["gain_correct"][tag]["0"] == pytest.approx(
            meas["correct"][f"{tag}.pPE"]["0"] - meas["correct"][f"{tag}.iPE"]["0"])
    assert "nopp" in meas["final_correct"]
    assert (Path(summary["out_dir"]) / "report.md").read_text().count("iPE") >= 2
