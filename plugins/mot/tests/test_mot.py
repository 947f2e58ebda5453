"""Golden tests for MoT: the official prompt, the answer parser, the format filter, the reward,
the vote, and the generated CPU task (every row agrees with the solver)."""

from __future__ import annotations

import hashlib
import random
from collections import Counter

import pytest
from r1repro_mot.data import LogicTask, ProofWriterMoT, rationale
from r1repro_mot.reward import (
    MotReward,
    check_validity,
    code_verdict,
    majority_vote,
    normalise_label,
    parse_answer,
    prompt_modality,
)
from r1repro_mot.templates import MODALITIES, SYSTEM_PROMPT, full_prompt, response_text

from r1repro.registry import load_plugins
from r1repro.types import Sample


@pytest.fixture(scope="module")
def reg():
    return load_plugins()


def test_system_prompt_is_the_official_file_byte_for_byte():
    # sha256 of Prompts/sys_prompt_star_final_v2.txt at zhengkid/Truth_Table_Logical_Reasoning 3ca21b6
    digest = hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()
    assert digest == "4e4dd4c78aad61894544774f90e96ecce851c29a05f4229cc65d5e2994d37536"


def test_user_template_is_the_official_example_file():
    # Prompts/example_nl_star_final_v2.txt with {Premises}/{Conclusions} left as placeholders
    text = full_prompt("{Premises}", "{Conclusions}", "nl_cot")[len(SYSTEM_PROMPT) + 2 :]
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "4a7fcd642abc3911ff817af00a6f08e8b38024166c5eda125dc03a581b77c8a6"
    )
    for m in MODALITIES:
        assert full_prompt("P.", "C.", m).endswith(f"</options>\n<{m}>")


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("The final answer is (A).", "True"),
        ("(B)", "False"),
        ("C", "Uncertain"),
        ("The final answer is (D).", "Unknown"),  # D matches the regex but maps to nothing
        ("the statement is true", "True"),  # keyword fallback
        ("it is false", "False"),
        ("uncertain", "Uncertain"),
        ("true or false", "True"),  # keyword order: true first
        ("no idea", "Unknown"),
    ],
)
def test_parse_answer_as_the_release(answer, expected):
    assert parse_answer(f"x\n<end_of_nl_cot>\n<answer>\n{answer}\n<end_of_answer>", "nl_cot") == expected


def test_parse_answer_reads_after_the_last_mode_tag_and_first_end_of_answer():
    text = "<nl_cot> a <answer>(A)<end_of_answer> <nl_cot> b <end_of_nl_cot><answer>(B)<end_of_answer><answer>(C)"
    assert parse_answer(text, "nl_cot") == "False"
    # the release appends <end_of_answer> after cutting, so a missing end tag still parses
    assert parse_answer("<answer>(A)</answer>", "nl_cot") == "True"
    assert parse_answer("(A) no answer tag", "nl_cot") == "Unknown"
    assert parse_answer(None, "code") == "Unknown"


def test_format_filter():
    assert check_validity("x <end_of_nl_cot> <answer>(A)<end_of_answer>", "nl_cot")
    assert not check_validity("x <answer>(A)<end_of_answer>", "nl_cot")
    assert check_validity("import math\n<end_of_code>", "code")
    assert check_validity("def f(): pass\n<end_of_code>", "code")
    assert not check_validity("x = 1\n<end_of_code>", "code")  # code needs def/class/import
    assert not check_validity("define x\n<end_of_code>", "code")  # 'def ' with the space
    assert check_validity("| p |\n<end_of_truth_table>", "truth_table")
    assert not check_validity("| p |\n<end_of_nl_cot>", "truth_table")


def test_reward_is_correct_times_format(reg):
    reward = reg.build("reward", "mot.reward")
    prompt = [{"role": "user", "content": full_prompt("P.", "C.", "code")}]
    good = response_text("def f():\n    return True", "code", "True")
    no_def = response_text("x = True", "code", "True")
    wrong = response_text("def f():\n    return False", "code", "False")
    got = reward([Sample(response=r, ground_truth="A", prompt=prompt) for r in (good, no_def, wrong)])
    assert [g.score for g in got] == [1.0, 0.0, 0.0]
    assert got[1].info["correct"] and got[1].info["format"] == 0.0
    assert reward([Sample(response="garbage", ground_truth="True")])[0].score == 0.0
    assert (
        MotReward("nl_cot", require_format=False)
        .score_one("<answer>(A)<end_of_answer>", "True", "nl_cot")
        .score
        == 1.0
    )
    assert prompt_modality(prompt) == "code" and prompt_modality("no tag") == "nl_cot"


def test_labels_normalise():
    assert [normalise_label(x) for x in ("A", "B", "C", "Unknown", "true", "Uncertain")] == [
        "True", "False", "Uncertain", "Uncertain", "True", "Uncertain"]  # fmt: skip


def test_majority_vote_seeded_tiebreak():
    assert majority_vote(["True", "False", "True"]) == "True"
    assert majority_vote(["True", "False", "Uncertain"], tiebreak="alphabetical") == "False"
    picks = {majority_vote(["True", "False", "Uncertain"], random.Random(s)) for s in range(30)}
    assert picks == {"True", "False", "Uncertain"}  # random among the tied
    a = [majority_vote(["True", "False", "Uncertain"], random.Random(7)) for _ in range(3)]
    assert len(set(a)) == 1  # same seed, same pick


def test_code_rationale_runs_in_the_sandbox():
    text = "<code>\ndef f():\n    return 'False'\nprint(f())\n<end_of_code>\n<answer>(A)<end_of_answer>"
    verdict = code_verdict(text)
    if verdict == "Unknown":
        pytest.skip("the sandbox could not run here")
    assert verdict == "False"
    assert MotReward(execute_code=True).score_one(text, "False", "code").score == 1.0
    assert MotReward().score_one(text, "False", "code").score == 0.0  # the answer tag says (A)


def test_templates_render_and_round_trip(reg):
    row = LogicTask().load("test", limit=1)[0]
    for m in MODALITIES:
        tpl = reg.build("template", f"mot.{m}_compact")
        msgs = tpl.render(row)
        assert len(msgs) == 1 and msgs[0]["content"].endswith(f"<{m}>")
        parsed = tpl.parse(tpl.format_response(answer="False", think="because"))
        assert (parsed.answer, parsed.think, parsed.format_ok or m == "code") == ("False", "because", True)
    assert reg.build("template", "mot.nl_cot").render(row)[0]["content"].startswith(SYSTEM_PROMPT)


def test_generated_task_is_balanced_and_solver_labelled():
    ds = LogicTask(max_depth=3)
    rows = ds.load("test")
    assert Counter(r.ground_truth for r in rows) == {"True": 90, "False": 90, "Uncertain": 90}
    assert Counter(r.extra["depth"] for r in rows) == {1: 90, 2: 90, 3: 90}
    assert {r.extra["kind"] for r in rows} == {"prop", "theory"}
    for r in rows:
        assert ds.oracle(r.extra["kind"], r.extra["premises"], r.extra["conclusion"]) == r.ground_truth
        for m in MODALITIES:
            text = rationale(r, m, r.ground_truth)
            assert check_validity(text, m) and parse_answer(text, m) == r.ground_truth
    assert ds.load("test") == rows  # deterministic


def test_proofwriter_rows():
    rows = ProofWriterMoT().fixture()
    assert rows[0].ground_truth == "True" and rows[0].extra["conclusion"] == "The cat is round."


def test_components_are_registered(reg):
    for kind, name in [("reward", "mot.reward"), ("reward", "mot.reward_exec"), ("template", "mot.code"),
                       ("template", "mot.truth_table_compact"), ("dataset", "mot.logic_task"),
                       ("dataset", "mot.proofwriter"), ("dataset", "mot.folio"), ("reproduction", "mot")]:  # fmt: skip
        assert name in reg.names(kind), (kind, name)


def test_grpo_port_config_composes(reg):
    from pathlib import Path

    from omegaconf import OmegaConf

    from r1repro.engine.config import make_config

    path = Path(reg.build("reproduction", "mot").resolve_config_dir()) / "grpo_port.yaml"
    cfg = make_config(OmegaConf.to_container(OmegaConf.load(path)))
    assert cfg.reward.name == "mot.reward" and cfg.algorithm.adv_estimator == "grpo"
    assert cfg.data.template in reg.names("template") and cfg.data.dataset in reg.names("dataset")


@pytest.mark.slow
@pytest.mark.parametrize("modality", ["nl_cot", "code", "truth_table"])
def test_grpo_port_trains_each_modality(reg, tmp_path, monkeypatch, modality):
    """The GRPO port runs end to end in the local engine: the port's own config file, shrunk to a
    nano model and two steps; the reward reads the modality from the prompt's tag."""
    from pathlib import Path

    from omegaconf import OmegaConf

    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine

    monkeypatch.setenv("R1REPRO_CACHE", str(tmp_path / "cache"))
    path = Path(reg.build("reproduction", "mot").resolve_config_dir()) / "grpo_port.yaml"
    cfg = make_config(OmegaConf.to_container(OmegaConf.load(path)), [
        f"data.template=mot.{modality}_compact", "model.path=tiny:nano", "model.sft.steps=4",
        "model.sft.examples=32", "model.sft.batch_size=8", "rollout.n=2", "rollout.max_new_tokens=12",
        "trainer.total_steps=2", "trainer.batch_size=2", "trainer.progress=false", f"trainer.out_dir={tmp_path}",
        "eval.limit=3", "eval.every=0",
    ])  # fmt: skip
    out = LocalEngine(cfg, quiet=True).setup().train()
    assert out["steps"] == 2
    assert 0.0 <= out["final_eval"]["eval/correct"] <= 1.0
