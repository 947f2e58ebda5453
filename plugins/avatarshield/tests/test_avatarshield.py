"""AvatarShield: rewards (accuracy, format, temporal compensation) on hand numbers, the shuffled
perturbation and its pairing, the residual stream, the generated clips, the template, the
reproduction's balanced-accuracy items and its configs."""

from __future__ import annotations

import random

import pytest
from r1repro_avatarshield import frames as fr
from r1repro_avatarshield import reward as rw
from r1repro_avatarshield.data import HELD_OUT, IN_DOMAIN, AvatarClips, draw_clip, frame_times
from r1repro_avatarshield.reproduction import balanced_items, detection_items
from r1repro_avatarshield.templates import DetectTemplate

from r1repro.types import Sample

GOOD_FAKE = "<think>the arms jump</think><answer>fake</answer>"
GOOD_REAL = "<think>smooth</think> <answer>real</answer>"


# ------------------------------------------------------------------ constants (pinned)
def test_temporal_constants_are_video_r1s():
    assert (rw.MU, rw.ALPHA, rw.CORRECT_ABOVE, rw.SHUFFLED_FRACTION, rw.FORMAT_WEIGHT) == (0.8, 0.3, 0.1, 0.5, 1.0)
    assert rw.LABELS == ("real", "fake")
    assert (fr.RESIDUAL_FACTOR, fr.RESIDUAL_GAIN, fr.CODEBOOK_LEVELS) == (4, 4.0, 32)


# ------------------------------------------------------------------ accuracy and format
@pytest.mark.parametrize("response,label,acc", [
    (GOOD_FAKE, "fake", 1.0), (GOOD_FAKE, "real", 0.0), ("<answer> Real. </answer>", "real", 1.0),
    ("<answer>fake</answer><answer>real</answer>", "fake", 1.0),  # the first answer span counts
    ("<answer>maybe fake</answer>", "fake", 0.0), ("fake", "fake", 0.0), ("", "real", 0.0), (None, "real", 0.0),
    (123, "fake", 0.0), ("<answer>fake", "fake", 0.0),
])  # fmt: skip
def test_accuracy_reads_the_first_answer_span(response, label, acc):
    assert rw.accuracy(response, label) == acc


@pytest.mark.parametrize("text", ["<answer> a </answer>", "x<answer>\nb\n</answer><answer>c</answer>", "<answer>",
                                  "</answer><answer>d</answer>", "<answer><answer>e</answer>", "none"])
def test_answer_span_is_video_r1s_regex_match(text):
    import re

    m = re.search(r"<answer>\s*(.*?)\s*</answer>", text, re.DOTALL)
    assert rw.answer_span(text) == (m.group(1) if m else None)


@pytest.mark.parametrize("response,ok", [
    (GOOD_FAKE, 1.0), (GOOD_REAL, 1.0), ("  " + GOOD_FAKE + "\n", 1.0), ("<think>a\nb</think>\n<answer>x</answer>", 1.0),
    ("<answer>fake</answer>", 0.0), (GOOD_FAKE + " trailing", 0.0), ("pre " + GOOD_FAKE, 0.0), (None, 0.0),
])  # fmt: skip
def test_format_is_a_fullmatch(response, ok):
    assert rw.format_reward(response) == ok


# ------------------------------------------------------------------ temporal compensation
def test_temporal_bonus_on_hand_numbers():
    # p = 0.75 >= 0.8 * 0.5: the three correct ordered responses get +0.3
    bonus, held = rw.temporal_bonus([1, 1, 1, 0], [1, 0])
    assert held and bonus == [0.3, 0.3, 0.3, 0.0]
    # p = 0.5 < 0.8 * 1.0 = 0.8: no bonus
    assert rw.temporal_bonus([1, 0, 1, 0], [1, 1]) == ([0.0] * 4, False)
    # the boundary p == mu p~ holds (>=): 0.8 >= 0.8 * 1.0
    bonus, held = rw.temporal_bonus([1, 1, 1, 1, 0], [1, 1])
    assert held and bonus == [0.3, 0.3, 0.3, 0.3, 0.0]
    # all wrong on both: the condition holds, but nobody is correct
    assert rw.temporal_bonus([0, 0], [0, 0]) == ([0.0, 0.0], True)
    # nothing shuffled: no comparison, no bonus
    assert rw.temporal_bonus([1, 1], []) == ([0.0, 0.0], False)
    # custom constants
    assert rw.temporal_bonus([1, 0], [1], mu=0.5, alpha=1.0) == ([1.0, 0.0], True)


def _group(responses, shuffled, label="fake", gid="g"):
    return [Sample(response=r, ground_truth=label, group_id=gid, meta={"shuffled_responses": list(shuffled)})
            for r in responses]  # fmt: skip


def test_reward_applies_the_bonus_from_the_rollout_hooks_meta():
    samples = _group([GOOD_FAKE, GOOD_FAKE, GOOD_REAL, "junk"], [GOOD_REAL, GOOD_FAKE])  # p .5 >= .8 * .5
    out = rw.AvatarShieldReward()(samples)
    assert [round(r.score, 6) for r in out] == [2.3, 2.3, 1.0, 0.0]
    assert out[0].info["temporal_held"] == 1.0 and out[0].info["shuffled_acc"] == 0.5 and out[0].info["ordered_acc"] == 0.5
    assert out[0].info["correct"] and out[0].info["accuracy"] == 1.0  # accuracy stays R_acc, before the bonus
    assert "shuffled_accuracies" not in out[0].info
    # shuffled responses that are all right raise the bar above p = 0.5: no bonus
    out = rw.AvatarShieldReward()(_group([GOOD_FAKE, GOOD_REAL], [GOOD_FAKE, GOOD_FAKE]))
    assert [r.score for r in out] == [2.0, 1.0] and out[0].info["temporal_held"] == 0.0
    # temporal off: plain accuracy + format
    out = rw.AvatarShieldReward(temporal=False)(_group([GOOD_FAKE, GOOD_REAL], [GOOD_REAL]))
    assert [r.score for r in out] == [2.0, 1.0] and "temporal_bonus" not in out[0].info


def test_groups_are_compared_separately():
    a = _group([GOOD_FAKE, GOOD_FAKE], [GOOD_REAL], gid="a")  # p 1 >= 0: bonus
    b = _group([GOOD_REAL, GOOD_REAL], [GOOD_FAKE], label="fake", gid="b")  # p 0 < .8: none
    out = rw.AvatarShieldReward()(a + b)
    assert [round(r.score, 6) for r in out] == [2.3, 2.3, 1.0, 1.0]


def test_shuffled_rows_in_the_batch_are_paired_by_pair_id():
    """The dataset-duplication form (verl): shuffled samples are scored, set p~ of their pair, get no bonus."""
    ordered = [Sample(response=r, ground_truth="real", group_id="u1", extra={"pair_id": "clip-7"})
               for r in (GOOD_REAL, GOOD_REAL, GOOD_FAKE)]  # fmt: skip
    shuffled = [Sample(response=r, ground_truth="real", group_id="u2", extra={"pair_id": "clip-7", "perturbation": "shuffled"})
                for r in (GOOD_FAKE, GOOD_REAL)]  # fmt: skip
    out = rw.AvatarShieldReward()(ordered + shuffled)
    assert [round(r.score, 6) for r in out] == [2.3, 2.3, 1.0, rw.SHUFFLED_SCORE, rw.SHUFFLED_SCORE]
    assert out[0].info["shuffled_acc"] == 0.5
    # the shuffled samples were scored (their own score kept in info) and are not trained on
    assert [r.info["shuffled_score"] for r in out[3:]] == [1.0, 2.0]
    assert [r.info["accuracy"] for r in out[3:]] == [0.0, 1.0] and not out[3].info["trained"]
    # plain GRPO rewards (no temporal term) still keep shuffled samples out of training
    plain = rw.AvatarShieldReward(temporal=False)(ordered + shuffled)
    assert [round(r.score, 6) for r in plain] == [2.0, 2.0, 1.0, rw.SHUFFLED_SCORE, rw.SHUFFLED_SCORE]


def test_shuffled_rows_get_zero_advantage_from_verls_grpo():
    """In a verl batch each shuffled copy is a prompt of its own (its own uid), so the constant
    score gives its responses exactly zero advantage in verl's GRPO, and the ordered group's
    advantages are those of its scores alone."""
    import numpy as np
    import torch
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

    responses = [GOOD_REAL, GOOD_FAKE, GOOD_REAL, GOOD_FAKE]
    ordered = [Sample(response=r, ground_truth="real", group_id="u1", extra={"pair_id": "c"}) for r in responses]
    shuffled = [Sample(response=r, ground_truth="real", group_id="u2", extra={"pair_id": "c", "perturbation": "shuffled"})
                for r in responses]  # fmt: skip
    scores = [r.score for r in rw.AvatarShieldReward()(ordered + shuffled)]
    rewards = torch.zeros(8, 3)
    rewards[:, -1] = torch.tensor(scores)
    adv, _ = compute_grpo_outcome_advantage(rewards, torch.ones(8, 3), np.array(["u1"] * 4 + ["u2"] * 4))
    assert torch.all(adv[4:] == 0) and torch.all(adv[:4].abs() > 0)


def test_with_binary_accuracy_and_equal_format_the_bonus_leaves_std_normalised_advantages_unchanged():
    """An analysis the README relies on: the bonus adds alpha to every correct response of a group
    or to none, so with binary R_acc and the same R_fmt across the group the rewards are an affine
    map of R_acc, and GRPO's std-normalised advantage is the same with or without it (up to verl's
    epsilon). Without std normalisation (Dr.GRPO) the bonus scales the group's advantages by 1 + alpha."""
    import numpy as np
    import torch
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

    ordered = _group([GOOD_FAKE, GOOD_REAL, GOOD_FAKE, GOOD_REAL], [GOOD_REAL, GOOD_REAL])  # p .5 >= .8 * 0
    with_bonus = [r.score for r in rw.AvatarShieldReward()(ordered)]
    plain = [r.score for r in rw.AvatarShieldReward(temporal=False)(ordered)]
    assert with_bonus != plain  # the bonus was paid

    def adv(scores, norm):
        rewards = torch.zeros(4, 2)
        rewards[:, -1] = torch.tensor(scores)
        a, _ = compute_grpo_outcome_advantage(rewards, torch.ones(4, 2), np.array(["g"] * 4), norm_adv_by_std_in_grpo=norm)
        return a[:, -1]

    assert torch.allclose(adv(with_bonus, True), adv(plain, True), atol=1e-4)
    assert torch.allclose(adv(with_bonus, False), (1 + rw.ALPHA) * adv(plain, False))


@pytest.mark.parametrize("bad", [None, 7, "\ud800<answer>fake</answer>", "<answer>" * 500, ["list"]])
def test_reward_never_raises_on_model_output(bad):
    samples = _group([bad, GOOD_FAKE], [bad, GOOD_FAKE])
    out = rw.AvatarShieldReward()(samples)
    assert len(out) == 2 and all(r.finite for r in out)
    assert rw.parse_label(bad) in (None, "fake")


# ------------------------------------------------------------------ frames
def test_frame_sampling_is_even_and_covers_the_clip():
    assert fr.sample_frame_indices(16, 4) == [0, 5, 10, 15]
    assert fr.sample_frame_indices(100, 16)[0] == 0 and fr.sample_frame_indices(100, 16)[-1] == 99
    assert fr.sample_frame_indices(2, 4) == [0, 0, 1, 1]
    with pytest.raises(ValueError):
        fr.sample_frame_indices(0, 4)


def test_shuffle_keeps_residuals_with_their_frames():
    images = ["f0", "f1", "f2", "r0", "r1", "r2"]
    assert fr.shuffle_clip(images, 3, [2, 0, 1]) == ["f2", "f0", "f1", "r2", "r0", "r1"]
    assert fr.shuffle_clip(images[:3], 3, [1, 2, 0]) == ["f1", "f2", "f0"]
    with pytest.raises(ValueError):
        fr.shuffle_clip(images, 3, [0, 0, 1])
    orders = {tuple(fr.shuffle_order(4, random.Random(s))) for s in range(200)}
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders) and len(orders) == 24  # uniform over all 4! orders


def test_shuffled_row_and_copies_pair_by_id():
    (row,) = AvatarClips(n_frames=3).generate(1, 5, "t")
    s = fr.shuffled_row(row, random.Random(1))
    order = s.extra["order"]
    assert s.images == [row.images[i] for i in order] + [row.images[3 + i] for i in order]
    assert s.extra["perturbation"] == "shuffled" and s.extra["pair_id"] == row.id and s.ground_truth == row.ground_truth
    assert "perturbation" not in row.extra  # the original row is untouched
    both = fr.with_shuffled_copies([row], seed=3)
    assert [r.extra.get("perturbation") for r in both] == [None, "shuffled"]


def test_residual_is_larger_on_high_frequency_artifacts():
    from PIL import Image, ImageDraw

    flat = Image.new("RGB", (56, 56), (200, 180, 160))
    assert fr.residual_energy(flat) < 0.05  # smooth content: only the codebook's rounding (<= 4 x gain)
    checker = flat.copy()
    px = checker.load()
    for x in range(20, 36):
        for y in range(20, 36):
            px[x, y] = (255, 255, 255) if (x + y) % 2 else (0, 0, 0)
    soft = flat.copy()
    ImageDraw.Draw(soft).rectangle([20, 20, 35, 35], fill=(128, 128, 128))
    base = fr.residual_energy(flat)  # the codebook's rounding floor, everywhere
    assert fr.residual_energy(checker) - base > 3 * (fr.residual_energy(soft) - base)
    assert fr.residual(flat).size == (56, 56)


# ------------------------------------------------------------------ generated clips
def test_clips_are_deterministic_labelled_and_carry_residuals():
    ds = AvatarClips()
    a, b = ds.load("test", limit=40), ds.load("test", limit=40)
    assert [r.ground_truth for r in a] == [r.ground_truth for r in b]
    assert a[0].images[0].tobytes() == b[0].images[0].tobytes()
    gens = {r.extra["generator"] for r in a}
    assert "real" in gens and gens - {"real"} <= set(IN_DOMAIN)
    for r in a:
        assert r.ground_truth == ("real" if r.extra["generator"] == "real" else "fake")
        assert len(r.images) == 8 and r.extra["n_frames"] == 4 and r.images[0].size == (56, 56)
    assert len(AvatarClips(residual=False).load("test", limit=1)[0].images) == 4
    held = AvatarClips(generators=list(HELD_OUT)).load("x", limit=30)
    assert {r.extra["generator"] for r in held} - {"real"} <= set(HELD_OUT)
    assert all(r.extra["split"] == "held_out" for r in held if r.extra["generator"] != "real")
    with pytest.raises(ValueError):
        AvatarClips(generators=["real"])


def test_fakes_plant_their_cue():
    rng = random.Random(0)
    for _ in range(20):
        jit = frame_times("jitter", 4, rng)
        assert sorted(jit) == [0, 1, 2, 3] and jit != [0, 1, 2, 3]
        st = frame_times("stutter", 4, rng)
        assert st == sorted(st) and len(set(st)) == 3
    assert frame_times("real", 4, rng) == [0, 1, 2, 3]
    # a real clip's frames change; the jitter clip holds the same poses in another order
    real = draw_clip("real", random.Random(3))
    assert len({f.tobytes() for f in real}) == 4
    # texture fakes have more residual energy than the same clip without the patch
    tex = draw_clip("texture", random.Random(9))
    clean = draw_clip("real", random.Random(9))
    assert fr.residual_energy(tex[0]) > fr.residual_energy(clean[0])


@pytest.mark.parametrize("generator", ["texture", "blocky"])
def test_spatial_artifacts_cover_the_figure_not_one_body_part(generator):
    """The tiny VLM learns a spatial cue only when it spans a good part of the frame's image
    tokens (data.py); pin that each spatial fake changes at least a fifth of every frame and
    sits on the figure (the same clip drawn real differs only there)."""
    import numpy as np

    for seed in range(5):
        fake = draw_clip(generator, random.Random(seed))
        real = draw_clip("real", random.Random(seed))
        for f, r in zip(fake, real):
            changed = np.any(np.asarray(f) != np.asarray(r), axis=-1)
            assert changed.mean() > 0.2
            ys, xs = np.nonzero(changed)
            assert ys.min() <= 7 and ys.max() >= 45  # head top to feet

# ------------------------------------------------------------------ template
def test_template_round_trips_and_matches_the_reward():
    tpl = DetectTemplate()
    text = tpl.format_response("fake", "the arm jumps")
    p = tpl.parse(text)
    assert (p.answer, p.think, p.format_ok) == ("fake", "the arm jumps", True)
    assert rw.format_reward(text) == 1.0 and rw.accuracy(text, "fake") == 1.0
    msgs = tpl.render(AvatarClips().generate(1, 0, "t")[0])
    assert "<think>" in msgs[-1]["content"] and "real or fake" in msgs[-1]["content"]
    assert tpl.parse(None).answer is None


# ------------------------------------------------------------------ evaluation items
def test_balanced_items_average_to_the_balanced_accuracy():
    items = balanced_items(["a", "b", "c", "d"], [1.0, 1.0, 1.0, 0.0], ["real", "real", "real", "fake"])
    assert sum(items.values()) / 4 == pytest.approx(0.5)  # (3/3 + 0/1) / 2
    rows = AvatarClips().load("test", limit=60)
    always_fake = [1.0 if r.ground_truth == "fake" else 0.0 for r in rows]
    m = {k: sum(v.values()) / len(v) for k, v in detection_items(rows, always_fake).items()}
    assert m["acc@temporal"] == pytest.approx(0.5) and m["acc@spatial"] == pytest.approx(0.5)
    held = detection_items(rows, always_fake, held_out=True)["acc@heldout"]
    assert sum(held.values()) / len(held) == pytest.approx(0.5)


def test_reproduction_config_composes_with_its_arms():
    from r1repro.registry import get_registry
    from r1repro.repro.run import ReproRun, compose_config

    reg = get_registry()
    repro = reg.build("reproduction", "avatarshield")
    cfg = compose_config(repro.resolve_config_dir(), "cpu", [])
    run = ReproRun(name="avatarshield", scale="cpu", cfg=cfg, out_dir=repro.resolve_config_dir(), reproduction=repro,
                   registry=reg)  # fmt: skip
    assert run.arms == ["avatarshield", "no_temporal", "no_residual", "avatarshield_mean_adv", "no_temporal_mean_adv"]
    # the mean-advantage pair differs from the first two in the std normalisation only (and its folder)
    from omegaconf import OmegaConf

    for arm, base in (("avatarshield_mean_adv", "avatarshield"), ("no_temporal_mean_adv", "no_temporal")):
        a, b = (OmegaConf.to_container(run.engine_config(x, 0)) for x in (arm, base))
        assert a["algorithm"].pop("norm_adv_by_std_in_grpo") is False and b["algorithm"].pop("norm_adv_by_std_in_grpo")
        assert a["trainer"].pop("out_dir") != b["trainer"].pop("out_dir") and a == b
    full, plain = run.engine_config("avatarshield", 0), run.engine_config("no_temporal", 0)
    assert full.rollout.strategy == "avatarshield.temporal_rollout" and plain.rollout.strategy == "core.single_turn"
    assert reg.build("reward", plain.reward).temporal is False and reg.build("reward", full.reward).temporal is True
    assert reg.build("dataset", run.engine_config("no_residual", 0).data.dataset).residual is False
    paper = compose_config(repro.resolve_config_dir(), "paper", [])
    assert "cannot" in paper.not_runnable and paper.avatarshield_paper.temporal.mu == rw.MU
