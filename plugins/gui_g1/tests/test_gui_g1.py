"""GUI-G1: golden tests of every reward term, the parse, the objective, the task, the templates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from r1repro_gui_g1.objective import LOSS_DIVISOR, gui_g1_advantage, token_sum_loss
from r1repro_gui_g1.reward import ALPHA, BETA, GuiG1Reward, box_size, hit, official_iou, parse_bbox

from r1repro.types import Sample
from r1repro.vision import ImageFrame

GT = {"bbox": [10, 20, 50, 60], "width": 200, "height": 100}


def sample(resp, gt=GT, **kw):
    return Sample(response=resp, ground_truth=gt, **kw)


# ------------------------------------------------------------------------------------- parsing
@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('[{"bbox_2d": [1, 2, 3, 4]}]', [1, 2, 3, 4]),
        ('```json\n[{"bbox_2d": [1, 2, 3, 4], "label": "x"}]\n```', [1, 2, 3, 4]),
        ('prefix\n```json\n[{"bbox_2d": [5, 6, 7, 8]}]\n```\ntrailing', [5, 6, 7, 8]),
        ("[{'bbox_2d': (1.5, 2, 3, 4)}]", [1.5, 2, 3, 4]),  # literal_eval: python literals are fine
        ('{"bbox_2d": [1, 2, 3, 4]}', None),  # a bare dict: [0] fails in the official code
        ('```json [{"bbox_2d": [1, 2, 3, 4]}]```', None),  # the fence must be its own line
        ('[{"bbox_2d": [1, 2, 3]}]', None),
        ("[{'bbox_2d': [true, 2, 3, 4]}]", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_is_the_official_one(text, want):
    assert parse_bbox(text) == want


def test_parsing_model_text_is_quiet():
    """``literal_eval`` warns on text such as "[1and 2]" before it fails: a policy that writes
    it must not fill the training log with SyntaxWarnings."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parse_bbox('[{"bbox_2d": [1and 2, 3, 4, 5]}]') is None
    assert not [w for w in caught if issubclass(w.category, SyntaxWarning)]


# ------------------------------------------------------------------------------------ terms
def test_hit_is_centre_in_box_inclusive():
    assert hit([0, 0, 20, 40], [10, 20, 50, 60]) == 1.0  # centre (10, 20) = the corner: inside
    assert hit([0, 0, 19, 40], [10, 20, 50, 60]) == 0.0  # centre x 9.5
    assert hit([40, 50, 60, 70], [10, 20, 50, 60]) == 1.0  # centre (50, 60), the far corner


def test_iou_uses_the_official_pixel_convention():
    # identical boxes: inter = (49 - 10 + 1) * (59 - 20 + 1) = 1600 = area: IoU 1
    assert official_iou([10, 20, 50, 60], [10, 20, 50, 60]) == 1.0
    # overlap of 10 x 10 "pixels": inter = (49-40+1)*(59-50+1) = 100; union 1600 + 1600 - 100
    assert official_iou([40, 50, 80, 90], [10, 20, 50, 60]) == pytest.approx(100 / 3100)
    # touching by one pixel column: inter_x1 = 49 = inter_x2 is not strictly less -> no intersection
    assert official_iou([49, 20, 90, 60], [10, 20, 50, 60]) == 0.0
    # two columns: x 48..49 -> (49 - 48 + 1) * 40 = 80
    assert official_iou([48, 20, 90, 60], [10, 20, 50, 60]) == pytest.approx(80 / (42 * 40 + 1600 - 80))
    assert official_iou([5, 5, 5, 5], [5, 5, 5, 5]) == 0.0  # zero union: ZeroDivisionError -> 0


def test_box_term_is_a_harmonic_mean_and_zero_on_division_by_zero():
    assert box_size([10, 20, 50, 60], [10, 20, 50, 60], 200, 100) == 1.0
    ds = [1 - 10 / 200, 1 - 0 / 100, 1 - 30 / 200, 1 - 20 / 100]
    want = 4 / sum(1 / d for d in ds)
    assert box_size([20, 20, 80, 80], [10, 20, 50, 60], 200, 100) == pytest.approx(want)
    assert box_size([210, 20, 50, 60], [10, 20, 50, 60], 200, 100) == 0.0  # |dx| = W -> d = 0 -> 0


def test_total_reward_and_term_subsets():
    perfect = sample('[{"bbox_2d": [10, 20, 50, 60]}]')
    assert ALPHA == 0.25 and BETA == 0.125
    assert GuiG1Reward()([perfect])[0].score == pytest.approx(1.375)
    assert GuiG1Reward(terms=["hit"])([perfect])[0].score == 1.0
    assert GuiG1Reward(terms=["iou"])([perfect])[0].score == 0.25
    assert GuiG1Reward(terms=["box"])([perfect])[0].score == 0.125
    bad = GuiG1Reward()([sample("no box"), sample(12345)])
    assert [r.score for r in bad] == [0.0, 0.0]
    with pytest.raises(ValueError, match="subset"):
        GuiG1Reward(terms=["area"])


def test_predictions_are_mapped_into_the_ground_truths_frame():
    frame = ImageFrame(200, 100, 100, 50).to_dict()  # the model saw the image at half size
    s = sample('[{"bbox_2d": [5, 10, 25, 30]}]', meta={"image_frames": [frame]})
    r = GuiG1Reward()([s])[0]
    assert r.score == pytest.approx(1.375) and r.info["box_ratio"] == pytest.approx(1.0)
    assert GuiG1Reward(rescale=False)([s])[0].info["iou"] < 0.2
    # verl: the frame comes through extra (extra_info.r1repro), the image size from the frame
    v = sample('[{"bbox_2d": [5, 10, 25, 30]}]', gt=[10, 20, 50, 60], extra={"image_frames": [frame]})
    assert GuiG1Reward()([v])[0].score == pytest.approx(1.375)


def test_thinking_arm_grades_after_think():
    s = sample('<think>the button</think>[{"bbox_2d": [10, 20, 50, 60]}]')
    assert GuiG1Reward()([s])[0].score == 0.0  # the official parse fails on the think text
    assert GuiG1Reward(after_think=True)([s])[0].score == pytest.approx(1.375)


def test_reward_hacking_direction_by_monte_carlo():
    """§4: E[IoU] peaks at boxes larger than the target under centre noise; E[hit] ignores size;
    the box term pulls the optimum back towards the true size."""
    rng = np.random.default_rng(0)
    gt, w, h = [90.0, 40.0, 110.0, 60.0], 200, 100
    centres = rng.normal(100, 6, size=(400, 2))

    def expected(scale, fn):
        half = 10 * scale
        return np.mean([fn([cx - half, cy - half, cx + half, cy + half]) for cx, cy in centres])

    scales = [0.5, 1.0, 1.5, 2.0, 3.0]
    iou = [expected(s, lambda b: official_iou(b, gt)) for s in scales]
    hits = [expected(s, lambda b: hit(b, gt)) for s in scales]
    boxt = [expected(s, lambda b: ALPHA * official_iou(b, gt) + BETA * box_size(b, gt, w, h)) for s in scales]
    assert scales[int(np.argmax(iou))] > 1.0
    assert max(hits) - min(hits) < 1e-9
    assert scales[int(np.argmax(boxt))] <= scales[int(np.argmax(iou))]


# ---------------------------------------------------------------------------------- objective
def test_advantage_is_weighted_reward_minus_group_mean_without_std():
    r = torch.tensor([1.0, 0.0, 0.5, 0.5])
    scores = torch.zeros(4, 3)
    scores[:, -1] = r
    mask = torch.ones(4, 3)
    index = np.array(["a", "a", "b", "b"], dtype=object)
    adv, _ = gui_g1_advantage(scores, mask, index, side_info={"rate": np.array([2.0, 2.0, 1.0, 1.0])})
    assert adv[:, 0].tolist() == [1.0, -1.0, 0.0, 0.0]  # 2 * (1 - 0.5), 2 * (0 - 0.5); no std division
    plain, _ = gui_g1_advantage(scores, mask, index)
    assert plain[:, 0].tolist() == [0.5, -0.5, 0.0, 0.0]


def test_loss_is_token_sum_over_64_averaged_over_responses():
    logp = torch.zeros(2, 4, requires_grad=True)
    adv = torch.tensor([[1.0] * 4, [-1.0] * 4])
    mask = torch.tensor([[1.0, 1, 1, 0], [1.0, 0, 0, 0]])
    loss, _ = token_sum_loss(logp.detach(), logp, adv, mask)
    assert LOSS_DIVISOR == 64
    assert float(loss) == pytest.approx(((-3) + 1) / 64 / 2)
    loss.backward()
    assert logp.grad[0].tolist() == pytest.approx([-1 / 128] * 3 + [0.0])  # every token weighs the same


def test_objective_is_registered_into_verls_registries():
    from r1repro import algos
    from r1repro.registry import get_registry

    algos.ensure_registered(get_registry())
    ca = algos.core_algos()
    assert ca.get_adv_estimator_fn("gui_g1") is gui_g1_advantage
    assert ca.get_policy_loss_fn("gui_g1.token_sum") is token_sum_loss


# ----------------------------------------------------------------------------- task, template
def test_generated_task_has_valid_targets_and_difficulty():
    from r1repro_gui_g1.data import GuiGrounding, difficulty_rate
    from r1repro_gui_g1.templates import FastTemplate

    rows = GuiGrounding().load("train", limit=40)
    kinds = {r.domain for r in rows}
    assert {"button", "icon"} <= kinds
    for r in rows:
        x1, y1, x2, y2 = r.ground_truth["bbox"]
        assert 0 <= x1 < x2 <= r.ground_truth["width"] and 0 <= y1 < y2 <= r.ground_truth["height"]
        assert r.images[0].size == (r.ground_truth["width"], r.ground_truth["height"])
        assert r.ground_truth["width"] % 28 == 0 and r.ground_truth["height"] % 28 == 0
        assert 1.0 <= r.extra["rate"] <= 2.0
    assert difficulty_rate([0, 0, 10, 10], 200, 100) > difficulty_rate([0, 0, 40, 40], 200, 100)
    assert GuiGrounding().load("train", limit=3)[0].images[0].tobytes() == rows[0].images[0].tobytes()
    msgs = FastTemplate().render(rows[0])
    assert msgs == [{"role": "user", "content": "<image>Grounding instruction is: " + rows[0].problem
                     + ". Report the bbox coordinates in JSON format."}]  # fmt: skip
    sol = GuiGrounding().solution(rows[0], FastTemplate())
    assert GuiG1Reward()([Sample(response=sol, ground_truth=rows[0].ground_truth)])[0].score == pytest.approx(
        1.375
    )


def test_generated_task_options_choose_target_kinds_and_icon_sizes():
    from r1repro_gui_g1.data import GuiGrounding

    rows = GuiGrounding(target_kinds=["icon"], icon_size=[24, 30]).load("train", limit=30)
    assert {r.domain for r in rows} == {"icon"}
    for r in rows:
        x1, y1, x2, y2 = r.ground_truth["bbox"]
        assert 24 <= x2 - x1 <= 30 and x2 - x1 == y2 - y1
        assert r.problem.startswith("the ") and r.problem.endswith(" icon")
    with pytest.raises(ValueError, match="unknown target kinds"):
        GuiGrounding(target_kinds=["slider"])
    with pytest.raises(ValueError, match="icon_size"):
        GuiGrounding(icon_size=[30, 10])


def test_position_tint_colours_the_background_by_place_and_keeps_the_rows():
    import numpy as np
    from r1repro_gui_g1.data import BACKGROUND, TINT_LEVELS, GuiGrounding

    plain = GuiGrounding().load("train", limit=5)
    tinted = GuiGrounding(position_tint=1.0).load("train", limit=5)
    for p, t in zip(plain, tinted):  # same screenshots, targets and instructions; only the background moves
        assert (p.problem, p.ground_truth) == (t.problem, t.ground_truth)
        w, h = t.images[0].size
        assert p.images[0].getpixel((w - 1, h - 1)) == BACKGROUND
        r, g, b = t.images[0].getpixel((w - 1, h - 1))  # bottom-right corner: the most red and green gone
        assert (BACKGROUND[0] - r, BACKGROUND[1] - g, b) == (round(TINT_LEVELS * (w - 1) / w),
                                                           round(TINT_LEVELS * (h - 1) / h), BACKGROUND[2])  # fmt: skip
        a, b = np.asarray(p.images[0]), np.asarray(t.images[0])
        drawn = (a != np.array(BACKGROUND, dtype=a.dtype)).any(axis=-1)
        same = (a[drawn] == b[drawn]).all(axis=-1).mean()
        assert drawn.any() and same > 0.9  # elements drawn as before (antialiased text edges blend in the tint)
    with pytest.raises(ValueError, match="position_tint"):
        GuiGrounding(position_tint=2.0)


def test_grounding_metrics_split_targets_at_the_median_size():
    from r1repro_gui_g1.reproduction import grounding_metrics

    from r1repro.types import RewardResult

    results = [
        RewardResult(1.0, {"hit": 1.0, "iou": 0.5, "box_ratio": 0.5, "parsed": True}),
        RewardResult(0.0, {"hit": 0.0, "iou": 0.0, "box_ratio": 4.0, "parsed": True}),
        RewardResult(1.0, {"hit": 1.0, "iou": 1.0, "box_ratio": 1.0, "parsed": True}),
        RewardResult(0.0, {"hit": 0.0, "parsed": False}),
    ]
    m = grounding_metrics([0.01, 0.02, 0.05, 0.06], results)
    assert m["hit@all"] == 0.5 and m["hit@small"] == 0.5 and m["hit@large"] == 0.5
    assert m["box_ratio"] == 1.0 and m["parsed"] == 0.75 and m["iou"] == pytest.approx(1.5 / 4)


def test_score_cli_reads_images_from_paths_and_base64(tmp_path):
    import json

    from PIL import Image

    from r1repro.cli import main
    from r1repro.vision import image_to_data_uri

    img = Image.new("RGB", (200, 100), (255, 255, 255))
    img.save(tmp_path / "s.png")
    resp = '```json\n[{"bbox_2d": [10, 20, 50, 60]}]\n```'
    lines = [{"response": resp, "ground_truth": [10, 20, 50, 60], "images": [str(tmp_path / "s.png")]},
             {"response": resp, "ground_truth": [10, 20, 50, 60], "images": [image_to_data_uri(img)]}]  # fmt: skip
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out.jsonl"
    assert main(["score", "--reward", "gui_g1.grounding", "--input", str(tmp_path / "in.jsonl"),
                 "--output", str(out)]) == 0  # fmt: skip
    scores = [json.loads(x)["score"] for x in out.read_text().splitlines()]
    assert scores == [pytest.approx(1.375), pytest.approx(1.375)]  # the box term needs W, H: from the image


def test_grounding_items_are_the_per_prompt_values_of_the_means():
    from r1repro_gui_g1.reproduction import grounding_items, grounding_metrics

    from r1repro.types import RewardResult

    res = [RewardResult(1.0, {"hit": 1.0, "iou": 0.5}), RewardResult(0.0, {"hit": 0.0, "iou": 0.0}),
           RewardResult(1.0, {"hit": 1.0, "iou": 1.0})]  # fmt: skip
    areas = [0.01, 0.02, 0.05]
    items, m = grounding_items(["a", "b", "c"], areas, res), grounding_metrics(areas, res)
    for k in ("hit@all", "hit@small", "hit@large", "iou"):
        assert sum(items[k].values()) / len(items[k]) == pytest.approx(m[k])
    assert set(items["hit@small"]) == {"a", "b"}
