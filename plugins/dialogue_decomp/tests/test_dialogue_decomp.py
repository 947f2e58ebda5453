"""LLM-GELI plugin: the decomposer's prompt and parser, renormalisation, the three ways to train
r_theta, the generated world's hidden rule, the rewards, and the real-LLM path through the judge
interface against a local OpenAI-compatible stub."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from r1repro_dialogue_decomp import decomposer as dec
from r1repro_dialogue_decomp import rm as rmod
from r1repro_dialogue_decomp import task

from r1repro.judge import build_judge
from r1repro.registry import load_plugins
from r1repro.testing import loopback_json_server
from r1repro.types import Sample

REPRO = Path(__file__).resolve().parents[3] / "reproductions" / "dialogue_decomp"


def session(n=4, seed=0, **world):
    return task.make_session("s0", random.Random(seed), task.WorldConfig(turns=n, **world))


# ----------------------------------------------------------------------------- the world
def test_planted_qualities_and_hidden_rule_constants():
    assert task.expected_quality("follow_up") == 1.0 and task.expected_quality("dismissive") == -1.0
    assert task.expected_quality("joke") == pytest.approx(0.35 - 0.65)
    assert task.expected_quality("advice") == pytest.approx(0.0)
    assert task.utterance_quality("  How did that FEEL? ") == (1.0, "follow_up")
    assert task.utterance_quality("purple monkey") == (task.UNKNOWN_QUALITY, None)
    assert len(task.PHRASE_KIND) == len(task.ALL_PHRASES)  # no phrase belongs to two kinds


def test_session_score_is_the_sum_of_turn_qualities_plus_noise():
    s = session(n=30, rating_noise=0.0)
    assert s.score == pytest.approx(sum(s.qualities), abs=1e-3)
    noisy = [task.make_session(f"s{i}", random.Random(i), task.WorldConfig(turns=30, rating_noise=3.0))
             for i in range(200)]  # fmt: skip
    resid = [x.score - sum(x.qualities) for x in noisy]
    assert 2.5 < math.sqrt(sum(r * r for r in resid) / len(resid)) < 3.5


def test_cues_follow_the_true_valence_of_ambiguous_turns():
    sessions = task.make_sessions(200, 0, task.WorldConfig(turns=20, cue_reliability=1.0))
    for t in (t for s in sessions for t in s.turns if t.kind in task.AMBIGUOUS_LAND_P):
        assert ("smiles" in t.cue) == (t.quality > 0) and ("frowns" in t.cue) == (t.quality < 0)
    assert task.make_sessions(3, 1)[0].turns[0] == task.make_sessions(3, 1)[0].turns[0]  # deterministic


# ----------------------------------------------------------------------------- prompt + parser
def test_prompt_pins_the_format_and_carries_cues_only_when_multimodal():
    s = session(n=3)
    text = dec.build_prompt(s, multimodal=False)
    mm = dec.build_prompt(s, multimodal=True)
    assert dec.CUE_PREFIX not in text[1]["content"] and mm[1]["content"].count(dec.CUE_PREFIX) == 3
    assert dec.MULTIMODAL_NOTE in mm[0]["content"] and dec.MULTIMODAL_NOTE not in text[0]["content"]
    assert '{"turn_rewards": [r_1, ..., r_3]}' in text[1]["content"]
    assert f"Session score: {s.score:g}" in text[1]["content"]
    assert text[1]["content"].count("SPEAKER: ") == 3


@pytest.mark.parametrize("reply", [
    '{"turn_rewards": [1, -0.5, 2]}',
    'Sure! ```json\n{"turn_rewards": [1, -0.5, 2]}\n``` hope it helps',
    "[1, -0.5, 2]",
    'The rewards: [{"turn": 1, "reward": 1}, {"turn": 2, "reward": -0.5}, {"turn": 3, "reward": 2}]',
    '{"rewards": [1.0, -0.5, 2.0]}',
])  # fmt: skip
def test_parser_reads_the_usual_shapes_of_a_json_answer(reply):
    assert dec.parse_turn_rewards(reply, 3) == [1.0, -0.5, 2.0]


@pytest.mark.parametrize("reply,why", [
    ("", "empty"), ("no json here", "no JSON"), ('{"turn_rewards": [1, 2]}', "2 turn rewards for 3"),
    ('{"turn_rewards": [1, "x", 2]}', "not a number"), ('{"turn_rewards": [1, true, 2]}', "not a number"),
    ('{"turn_rewards": [1, 1e400, 2]}', "finite"), ('{"a": [1, 2, 3], "b": [1, 2, 3]}', "single list"),
    ('"just a string"', "not a list"), ('{"turn_rewards": [1, {"x": 1}, 2]}', "without a reward"),
])  # fmt: skip
def test_malformed_replies_are_errors_never_zeros(reply, why):
    with pytest.raises(dec.DecompositionError, match=why):
        dec.parse_turn_rewards(reply, 3)


def test_renormalisation_adds_up_to_the_session_score():
    assert dec.renormalise([1.0, 2.0, 3.0], 9.0, "shift") == pytest.approx([2.0, 3.0, 4.0])
    assert dec.renormalise([1.0, 2.0, 3.0], 12.0, "scale") == pytest.approx([2.0, 4.0, 6.0])
    assert dec.renormalise([1.0, -1.0], 4.0, "scale") == pytest.approx([3.0, 1.0])  # sum 0 -> shift
    assert dec.renormalise([1.0, 2.0], 9.0, "none") == [1.0, 2.0]
    with pytest.raises(ValueError):
        dec.renormalise([1.0], 1.0, "softmax")


def test_stand_in_answers_the_prompt_and_uses_cues_only_when_given():
    s = session(n=6, cue_reliability=1.0)
    stand_in = build_judge(dec.STAND_IN_JUDGE)
    text = dec.parse_turn_rewards(stand_in.complete([dec.build_prompt(s, False)])[0], 6)
    mm = dec.parse_turn_rewards(stand_in.complete([dec.build_prompt(s, True)])[0], 6)
    assert text == pytest.approx([dec.text_prior(t.speaker) for t in s.turns], abs=1e-3)
    for t, a, b in zip(s.turns, text, mm):  # reliable cues move every helpful turn up, every hurtful one down
        assert (b - a) == pytest.approx(
            3 * dec.CUE_WEIGHT * (1 if t.quality > 0 else -1 if t.quality < 0 else 0)
        )


def test_decomposer_marks_a_malformed_session_as_an_error_and_renormalises_the_rest():
    sessions = [task.make_session(f"s{i}", random.Random(i), task.WorldConfig(turns=4)) for i in range(3)]

    def reply(prompt: str) -> str:
        if "s1-marker" in prompt:
            return "I cannot do that."
        return dec.rule_based_reply(prompt)

    sessions[1].turns[0].listener = "s1-marker"
    out = dec.Decomposer({"backend": "stub", "fn": reply}, multimodal=True).decompose(sessions)
    assert set(out.labels) == {"s0", "s2"} and "malformed decomposition: no JSON" in out.errors["s1"]
    for sid in out.labels:
        s = next(x for x in sessions if x.id == sid)
        assert sum(out.labels[sid]) == pytest.approx(s.score)


def test_real_llm_path_through_an_openai_compatible_server():
    """The judge interface's OpenAI back-end against a local server that answers like an LLM
    (the stand-in's JSON in a code fence; garbage for one session; HTTP 500 for another)."""
    sessions = [task.make_session(f"s{i}", random.Random(i), task.WorldConfig(turns=5)) for i in range(4)]
    sessions[2].turns[0].listener, sessions[3].turns[0].listener = "garbage-please", "crash-please"
    seen = []

    def answer(path, body):
        prompt = "\n".join(m["content"] for m in body["messages"])
        seen.append((path, body["temperature"], body["messages"][0]["role"]))
        if "crash-please" in prompt:
            return 500, {"error": "boom"}
        content = "{'turn_rewards': oops" if "garbage-please" in prompt else \
            "Here you go:\n```json\n" + dec.rule_based_reply(prompt) + "\n```"  # fmt: skip
        return 200, {"choices": [{"message": {"content": content}}]}

    with loopback_json_server(answer) as url:
        judge = {
            "backend": "openai",
            "model": "m",
            "base_url": url + "/v1",
            "max_retries": 0,
            "timeout_s": 10,
        }
        out = dec.Decomposer(judge, multimodal=False, renormalise="none").decompose(sessions)
    assert set(out.labels) == {"s0", "s1"}
    assert out.labels["s0"] == pytest.approx([dec.text_prior(t.speaker) for t in sessions[0].turns], abs=1e-3)
    assert out.errors["s2"].startswith("malformed decomposition") and out.errors["s3"].startswith("judge:")
    assert all(p == "/v1/chat/completions" and temp == 0.0 and role == "system" for p, temp, role in seen)


# ----------------------------------------------------------------------------- r_theta
def test_features_and_ridge_recover_a_linear_rule():
    assert rmod.features("How are you?") == ["how", "are", "you", "?", "how are", "are you", "you ?"]
    texts = ["good thing", "bad thing", "good good", "thing"] * 20
    labels = [1.0 if "good" in t else -1.0 if "bad" in t else 0.0 for t in texts]
    m = rmod.fit_turn_rm(texts, labels, penalty=1e-3)
    assert m.predict("good thing") > m.predict("thing") > m.predict("bad thing")
    assert m.predict("unknown words only") == pytest.approx(m.bias)


def test_geli_regression_of_summed_turns_recovers_turn_values_from_session_scores():
    sessions = task.make_sessions(300, 0, task.WorldConfig(turns=10, rating_noise=0.0))
    m = rmod.fit_session_rm(sessions, penalty=1e-3)
    good, bad = m.predict("how did that feel?"), m.predict("who cares.")
    assert good - bad == pytest.approx(2.0, abs=0.15)  # planted +1 vs -1
    # where no turn's value is hidden from the text, the summed turn predictions track R
    plain = [s for s in sessions if not any(t.kind in task.AMBIGUOUS_LAND_P for t in s.turns)]
    sums = [sum(m.predict_many([t.speaker for t in s.turns])) for s in plain]
    assert len(plain) > 20 and rmod.pearson(sums, [s.score for s in plain]) > 0.95


def test_uniform_split_and_within_session_correlation():
    s = session(n=5)
    assert rmod.uniform_labels(s) == pytest.approx([s.score / 5] * 5)
    assert rmod.within_session_corr([s], {s.id: rmod.uniform_labels(s)}) == {s.id: 0.0}
    assert rmod.within_session_corr([s], {s.id: s.qualities})[s.id] == pytest.approx(1.0) or \
        len(set(s.qualities)) == 1  # fmt: skip
    assert rmod.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_rm_reward_round_trips_through_a_file_and_never_raises(tmp_path):
    m = rmod.LinearRM(vocab={"?": 0, "boring": 1}, weights=[1.0, -2.0], bias=0.5)
    path = m.save(tmp_path / "rm.json")
    reward = load_plugins().build("reward", {"name": "dialogue_decomp.rm", "path": str(path)})
    a, b, c = reward(
        [Sample(response="how?"), Sample(response="so boring."), Sample(response="\x00" * 10**6)]
    )
    assert (a.score, b.score, c.score) == (1.5, -1.5, 0.5)
    with pytest.raises(Exception, match="cannot read r_theta"):
        load_plugins().build("reward", {"name": "dialogue_decomp.rm", "path": str(tmp_path / "missing.json")})


def test_hidden_quality_reward_scores_turns_by_the_hidden_rule():
    reward = load_plugins().build("reward", "dialogue_decomp.hidden_quality")
    good, joke, junk = reward([Sample(response="Tell me more about that?"), Sample(response="ha, funny story."),
                               Sample(response="zzz")])  # fmt: skip
    assert (good.score, good.info["correct"]) == (1.0, True)
    assert joke.score == pytest.approx(-0.3) and junk.score == task.UNKNOWN_QUALITY and not junk.info["known"]


# ----------------------------------------------------------------------------- pipeline + configs
def test_pipeline_one_small_seed_scores_every_source():
    from r1repro_dialogue_decomp.pipeline import SOURCES, run_seed

    cfg = {"train_sessions": 30, "test_sessions": 10, "ridge_penalty": 1.0, "judge": dec.STAND_IN_JUDGE,
           "world": {"turns": 10}}  # fmt: skip
    res = run_seed(0, cfg)
    assert set(res.models) == set(SOURCES) and all(len(res.rm_corr[s]) == 10 for s in SOURCES)
    assert res.errors == {"decomp_mm": {}, "decomp_text": {}}
    assert set(res.label_corr["uniform"].values()) == {0.0}
    assert sum(res.label_corr["decomp_mm"].values()) > sum(res.label_corr["decomp_text"].values())


def test_components_and_reproduction_are_registered_and_claims_load():
    from r1repro.repro.claims import load_claims
    from r1repro.testing import check_row

    reg = load_plugins()
    for kind, name in [("reward", "dialogue_decomp.rm"), ("reward", "dialogue_decomp.hidden_quality"),
                       ("dataset", "dialogue_decomp.turns"), ("reproduction", "dialogue_decomp")]:  # fmt: skip
        assert name in reg.names(kind), (kind, name)
    rows = reg.build("dataset", "dialogue_decomp.turns").load("train", limit=20)
    assert all(not check_row(r) and r.extra["reference"] in task.ALL_PHRASES for r in rows)
    _, claims = load_claims(REPRO / "claims.yaml")
    kinds = {c.id: c.kind for c in claims}
    assert kinds["multimodal_beats_text"] == "compare" and kinds["multimodal_labels"] == "report"


def test_paper_preset_says_what_cannot_run():
    from r1repro.repro.preflight import ReproductionNotReady
    from r1repro.repro.run import run_reproduction

    with pytest.raises(ReproductionNotReady, match="licensed CANDOR"):
        run_reproduction("dialogue_decomp", scale="paper")


def test_prompt_constants_are_pinned():
    """Changing the decomposer's prompt changes every label: pin it (sha of the three parts)."""
    import hashlib

    blob = json.dumps([dec.SYSTEM_PROMPT, dec.MULTIMODAL_NOTE, dec.ANSWER_FORMAT, dec.CUE_PREFIX])
    assert hashlib.sha256(blob.encode()).hexdigest()[:12] == PROMPT_SHA
    assert (dec.CUE_WEIGHT, task.AMBIGUOUS_LAND_P, task.UNKNOWN_QUALITY) == (
        0.5,
        {"joke": 0.35, "advice": 0.5},
        -1.0,
    )


PROMPT_SHA = "ca2e02f6967a"


@pytest.mark.slow
def test_reproduction_runs_end_to_end_at_toy_size(tmp_path, monkeypatch):
    """Every stage once, tiny: sessions -> decompositions -> four r_theta -> GRPO arms -> verdicts."""
    from r1repro.repro.run import run_reproduction

    monkeypatch.setenv("R1REPRO_RUNS", str(tmp_path))
    out = run_reproduction("dialogue_decomp", overrides=[
        "seeds=[0]", "workers=1", "decomp.train_sessions=20", "decomp.test_sessions=5", "decomp.world.turns=8",
        "engine.model.sft.steps=4", "engine.model.sft.examples=32", "engine.trainer.total_steps=1",
        "engine.trainer.batch_size=2", "engine.rollout.n=2", "engine.eval.limit=4", "engine.eval.n=1",
        "engine.rollout.max_new_tokens=8"], quiet=True)  # fmt: skip
    res = json.loads((Path(out["out_dir"]) / "results.json").read_text())
    assert set(out["verdicts"]) >= {
        "multimodal_rm_beats_geli",
        "rl_multimodal_beats_uniform",
        "multimodal_labels",
    }
    assert set(res["measurements"]["rm_turn_corr"]) == {"decomp_mm", "decomp_text", "geli", "uniform"}
    assert {"base", "rl_decomp_mm", "rl_uniform"} <= set(res["measurements"]["final_score"])
    assert len(res["items"]["rm_turn_corr"]["geli"]["0"]) == 5
