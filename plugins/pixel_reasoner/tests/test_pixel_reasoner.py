"""Pixel Reasoner: box convention, crop / frame tools, call parsing, environment, curiosity reward."""

from __future__ import annotations

import asyncio

import pytest
from PIL import Image
from r1repro_pixel_reasoner import constants as C
from r1repro_pixel_reasoner.data import (
    PATTERNS,
    FramesTask,
    ZoomTask,
    cell_box,
    sft_examples,
    tile_contrast,
)
from r1repro_pixel_reasoner.env import VisualOpsEnvironment
from r1repro_pixel_reasoner.reward import CuriosityReward, curiosity_terms, visual_op_counts
from r1repro_pixel_reasoner.templates import CPUTemplate
from r1repro_pixel_reasoner.tools import (
    ToolError,
    crop_image,
    execute,
    format_call,
    normalised_box,
    parse_tool_call,
    select_frames,
)

from r1repro.types import RewardResult, Row, Sample


def test_paper_constants_pinned():
    # §3.2: H 0.3, alpha 0.5, N 1, beta 0.05; crop padding 0.1, > 28 px; 3 calls; 8 of 16 frames; T 0.9
    assert (C.RAPR_TARGET_H, C.CURIOSITY_ALPHA, C.OPS_BUDGET_N, C.EFFICIENCY_BETA) == (0.3, 0.5, 1, 0.05)
    assert (C.CROP_PADDING, C.MIN_CROP_SIDE, C.MAX_TOOL_CALLS) == (0.1, 28, 3)
    assert (C.VIDEO_FRAMES, C.MAX_SELECTED_FRAMES, C.AFTER_TOOL_TEMPERATURE) == (16, 8, 0.9)
    assert C.OPENRLHF_DIVISOR == {"image": 2.0, "video": 1.5} and C.OPENRLHF_SCALE == 0.25
    assert (C.CROP_MAX_PIXELS, C.CROP_MIN_PIXELS, C.FRAME_MAX_PIXELS) == (784_000, 401_408, 313_600)


# ------------------------------------------------------------------------------ box and crop
def test_box_normalised_vs_pixels_padding_and_clamp():
    # all < 1: normalised; padded by 0.1 each side, clamped to [0, 1]
    assert normalised_box([0.05, 0.2, 0.5, 0.6], 1000, 500) == pytest.approx((0.0, 0.1, 0.6, 0.7))
    # any value >= 1: pixels, divided by W / H before padding
    assert normalised_box([100, 50, 500, 250], 1000, 500) == pytest.approx((0.0, 0.0, 0.6, 0.6))
    # the official rule's trap: 1.0 marks the whole box as pixels
    assert normalised_box([0.5, 0.5, 1.0, 1.0], 1000, 1000) == pytest.approx((0.0, 0.0, 0.101, 0.101))
    # the zoom_in variant caps the padding at 600 px: 0.1 of 10,000 px is 1,000 > 600
    assert normalised_box([0.5, 0.5, 0.6, 0.6], 10_000, 10_000, pad_cap_px=600)[0] == pytest.approx(0.44)
    for bad in ([1, 2, 3], [0.5, 0.1, 0.2, 0.3], ["a", 0, 1, 1], [0, 0, float("nan"), 1], [-0.1, 0, 0.5, 0.5],
                [True, 0, 0.5, 0.5], "0,0,1,1"):  # fmt: skip
        with pytest.raises(ToolError):
            normalised_box(bad, 100, 100)


def test_crop_content_min_size_and_smart_resize():
    img = Image.new("RGB", (1000, 1000), (0, 0, 0))
    img.paste((255, 0, 0), (400, 400, 600, 600))
    crop = crop_image(img, [0.4, 0.4, 0.6, 0.6], max_pixels=1_000_000, min_pixels=3136)
    assert crop.size == (392, 392)  # 400 px padded crop -> smart_resize to a multiple of 28
    assert crop.getpixel((196, 196)) == (255, 0, 0) and crop.getpixel((5, 5)) == (0, 0, 0)
    big = crop_image(img, [0.4, 0.4, 0.6, 0.6])  # paper bounds: upscaled to >= 401,408 px
    assert big.size[0] * big.size[1] >= C.CROP_MIN_PIXELS and big.size[0] % 28 == 0
    small = Image.new("RGB", (100, 100))
    with pytest.raises(ToolError, match="too small"):
        crop_image(small, [0.0, 0.0, 0.05, 0.05], padding=0.0)  # 5 px <= 28


def test_select_frames_rules():
    frames = [Image.new("RGB", (56, 56), (i, 0, 0)) for i in range(16)]
    out = select_frames(frames, [1, 16])
    assert [f.getpixel((0, 0))[0] for f in out] == [0, 15]
    for bad in ([], [0], [17], [1, 1], list(range(1, 10)), [1.5], "1", None):
        with pytest.raises(ToolError):
            select_frames(frames, bad)
    with pytest.raises(ToolError, match="video"):
        select_frames([], [1])


# ------------------------------------------------------------------------------- call format
def test_parse_tool_call_and_malformed_calls_are_observations():
    call = parse_tool_call("I will zoom. " + format_call(C.CROP_TOOL, {"bbox_2d": [0, 0, 0.5, 0.5]}))
    assert call.name == C.CROP_TOOL and call.arguments["bbox_2d"] == [0, 0, 0.5, 0.5]
    img = Image.new("RGB", (400, 400))
    for text in ("<tool_call>{not json</tool_call>", '<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>',
                 '<tool_call>["crop"]</tool_call>', '<tool_call>{"name": "crop_image_normalized"}</tool_call>',
                 '<tool_call>{"name": "crop_image_normalized", "arguments": 3}</tool_call>',
                 format_call(C.CROP_TOOL, {"bbox_2d": [0, 0, 0.5, 0.5], "target_image": 2}),
                 format_call(C.FRAMES_TOOL, {"target_frames": [1]}), "<tool_call>" + "[" * 5000 + "</tool_call>"):  # fmt: skip
        out = execute(text, [img])
        assert not out.valid and out.text.startswith("Execution error: ") and not out.images, text[:40]
    ok = execute(format_call(C.CROP_TOOL, {"bbox_2d": [0.1, 0.1, 0.5, 0.5], "target_image": 1}), [img])
    assert (
        ok.valid
        and ok.text.startswith("Here is the cropped image (Image Size: ")
        and ok.text.count("<image>") == 1
    )


# ------------------------------------------------------------------------------- environment
def test_environment_steps_and_force_terminates():
    row = ZoomTask(size=448, tile=56).generate(1, 0, "t")[0]
    env = VisualOpsEnvironment(max_tool_calls=2, crop_min_pixels=3136, crop_max_pixels=65536)
    s = env.reset(row)
    call = format_call(C.CROP_TOOL, {"bbox_2d": row.extra["bbox"], "target_image": 1})
    r1 = env.step(s, "look " + call)
    assert r1.tool_call and not r1.tool_failed and len(r1.images) == 1 and not r1.done
    r2 = env.step(s, format_call(C.CROP_TOOL, {"bbox_2d": [0, 0, 0.01, 0.01], "target_image": 2}))
    assert r2.tool_failed and r2.images is None and "Execution error" in r2.observation
    r3 = env.step(s, call)  # third call > max_tool_calls = 2: forced stop, not executed
    assert r3.done and s["forced_stop"] == "max_tool_calls" and len(s["ops"]) == 2
    assert env.step(env.reset(row), "\\boxed{solid}").done
    off = VisualOpsEnvironment(enabled=False)
    r = off.step(off.reset(row), call)
    assert r.tool_failed and "no visual operations" in r.observation


def test_frames_task_and_select_frames_in_env():
    row = FramesTask(frame_size=112, tile=42).generate(1, 3, "t")[0]
    env = VisualOpsEnvironment()
    s = env.reset(row)
    r = env.step(s, format_call(C.FRAMES_TOOL, {"target_frames": [row.extra["frame"]]}))
    assert r.tool_call and not r.tool_failed and len(r.images) == 1
    crop = env.step(env.reset(row), format_call(C.CROP_TOOL, {"bbox_2d": [0, 0, 0.5, 0.5]}))
    assert not crop.tool_failed  # the contact sheet is an image: cropping it is allowed


# ---------------------------------------------------------------------------------- the task
def test_zoom_task_needs_the_crop():
    rows = [r for r in ZoomTask().generate(12, 0, "t") if r.ground_truth != "solid"]
    assert rows and {r.ground_truth for r in ZoomTask().generate(40, 0, "t")} == set(PATTERNS)
    for row in rows[:4]:
        (r, c), img = row.extra["cell"], row.images[0]
        centre = ((c - 0.5) / 4, (r - 0.5) / 4)
        full = tile_contrast(img, centre, 0.02, 252)  # the model's view of the whole canvas
        box = normalised_box(row.extra["bbox"], *img.size)
        crop = crop_image(img, row.extra["bbox"], max_pixels=65536, min_pixels=3136)
        w = box[2] - box[0]
        local = ((centre[0] - box[0]) / w, (centre[1] - box[1]) / (box[3] - box[1]))
        assert full < 1.0 < 5.0 < tile_contrast(crop, local, 0.02 / w, crop.size[0])
    assert cell_box(4, 4, 4) == [0.75, 0.75, 0.99, 0.99]


def test_sft_traces_include_tool_and_self_correction_turns():
    rows = ZoomTask(size=448, tile=56).generate(30, 0, "sft")
    ex = sft_examples(rows, CPUTemplate(), tool_fraction=0.6, self_correction=0.5, seed=0,
                      tool_options={"crop_min_pixels": 3136, "crop_max_pixels": 65536})  # fmt: skip
    answers = [e for e in ex if e[1].startswith("\\boxed{")]
    assert len(answers) == len(rows)
    calls = [e for e in ex if e[1].startswith("<tool_call>")]
    assert calls and any(
        "Execution error" in m["content"] for e in answers for m in e[0] if m["role"] == "user"
    )
    for messages, _, images in ex:  # one <image> per image, so the prompt encodes
        assert sum(m["content"].count("<image>") for m in messages) == len(images)


def test_crop_reading_examples_show_the_crop_alone():
    rows = ZoomTask(size=448, tile=56).generate(20, 0, "sft")
    opts = {"crop_min_pixels": 3136, "crop_max_pixels": 65536}
    plain = sft_examples(rows, CPUTemplate(), 0.5, 0.2, 0, opts)
    both = sft_examples(rows, CPUTemplate(), 0.5, 0.2, 0, opts, crop_reading=1.0)
    reading = [e for e in both if len(e[2]) == 1 and e[2][0].size != rows[0].images[0].size]
    assert len(both) == len(plain) + len(rows) and len(reading) == len(rows)
    for (messages, response, images), row in zip(reading, rows):
        assert messages == CPUTemplate().render(row) and response == f"\\boxed{{{row.ground_truth}}}"
        assert max(images[0].size) < max(row.images[0].size)  # the zoomed region, not the canvas
    some = sft_examples(rows, CPUTemplate(), 0.5, 0.2, 0, opts, crop_reading=0.5)
    assert len(plain) < len(some) < len(both)


# ------------------------------------------------------------------------------------ reward
def _sample(gid: str, answer: str, ops: list[bool], gt: str = "checker") -> Sample:
    return Sample(response=f"\\boxed{{{answer}}}", ground_truth=gt, group_id=gid,
                  meta={"visual_ops": [{"name": "crop_image_normalized", "valid": v} for v in ops],
                        "final_turn": f"\\boxed{{{answer}}}"})  # fmt: skip


def test_curiosity_terms_paper_and_openrlhf():
    assert curiosity_terms(1, 0.1) == pytest.approx((0.5 * 0.2, 0.0))
    assert curiosity_terms(0, 0.1) == (0.0, 0.0)  # bonus only for rollouts that used pixel reasoning
    assert curiosity_terms(1, 0.3) == (0.0, 0.0) and curiosity_terms(2, 0.5) == pytest.approx((0.0, -0.05))
    assert curiosity_terms(3, 0.0)[1] == pytest.approx(-0.1)
    b, p = curiosity_terms(2, 0.125, "openrlhf", "image")
    assert b == pytest.approx((0.3 - 0.125) / 2 * 0.25 / 0.125) and p == pytest.approx(-0.05)
    assert curiosity_terms(1, 0.125, "openrlhf", "video")[0] == pytest.approx(
        (0.3 - 0.125) / 1.5 * 0.25 / 0.125
    )
    with pytest.raises(ValueError):
        curiosity_terms(1, 0.1, "other")


def test_curiosity_reward_groups_and_final_error_reset():
    group = [_sample("q", "checker", [True]), _sample("q", "checker", [])] + [_sample("q", "solid", [])] * 6
    res = CuriosityReward()(group)
    # RaPR = 1/8: the tool user gets 1 + 0.5*(0.3-0.125); the others only correctness
    assert res[0].score == pytest.approx(1 + 0.5 * 0.175) and res[0].info["rapr"] == pytest.approx(0.125)
    assert res[1].score == 1.0 and res[2].score == 0.0
    plain = CuriosityReward(curiosity=False)(group)
    assert [r.score for r in plain[:3]] == [1.0, 1.0, 0.0]
    # RaPR >= 0.3: no bonus; two valid operations: -0.05
    many = [_sample("g", "checker", [True, True])] * 4 + [_sample("g", "solid", [])] * 4
    assert CuriosityReward()(many)[0].score == pytest.approx(1 - 0.05)
    # a correct answer after a failed final operation scores 0 (not fixed), even with the bonus
    failed = CuriosityReward()([_sample("h", "checker", [True, False])] + [_sample("h", "solid", [])] * 7)[0]
    assert failed.info["reset"] == 1.0 and failed.info["accuracy"] == 0.0
    fixed = _sample("k", "checker", [False, True])
    assert visual_op_counts(fixed) == (1, False) and CuriosityReward(curiosity=False)([fixed])[0].score == 1.0


def test_a_verl_response_text_gives_the_visual_operations():
    """verl's tool agent loop keeps no per-call record: the response text (turns and tool
    observations) is what the curiosity reward reads."""
    call = '<tool_call>{"name": "crop_image_normalized", "arguments": {"bbox_2d": [0, 0, 1, 1]}}</tool_call>'
    shown = "tool\n" + C.CROP_OBSERVATION.format(width=56, height=56) + " "
    error = "tool\n" + C.ERROR_OBSERVATION.format(message="bbox_2d must be 4 numbers")
    fixed = Sample(response=f"{call}{error}assistant\nagain {call}{shown}assistant\n\\boxed{{checker}}",
                   ground_truth="checker", group_id="v")  # fmt: skip
    assert visual_op_counts(fixed) == (1, False)  # one failed, one valid; the final one worked
    broken = Sample(
        response=f"{call}{shown}{call}{error}\\boxed{{checker}}", ground_truth="checker", group_id="w"
    )
    assert visual_op_counts(broken) == (1, True)
    cut = Sample(response=f"I will zoom. {call}", group_id="x")  # the budget ended before the observation
    assert visual_op_counts(cut) == (0, True)
    assert visual_op_counts(Sample(response="\\boxed{solid}")) == (0, False)
    group = [fixed] + [Sample(response="\\boxed{solid}", ground_truth="checker", group_id="v")] * 7
    top = CuriosityReward()(group)[0]  # the verl sample earns the curiosity bonus: RaPR 1/8
    assert top.score == pytest.approx(1 + 0.5 * (0.3 - 0.125)) and top.info["n_vo"] == 1


def test_reward_never_raises_on_junk():
    junk = [Sample(response=None, group_id="x"), Sample(response="\\boxed{", meta={"visual_ops": "x"}),
            Sample(response="ok", meta={"visual_ops": [None, 3]}, tool_calls=2, tool_failures=5)]  # fmt: skip
    res = CuriosityReward()(junk)
    assert all(isinstance(r, RewardResult) for r in res)
    assert visual_op_counts(Sample(response="", tool_calls=3, tool_failures=1)) == (2, False)


# ----------------------------------------------------------------------------------- verl tool
@pytest.mark.slow  # importing verl takes tens of seconds on the shared CPU
def test_verl_crop_tool_returns_images_and_errors_as_text(tmp_path):
    pytest.importorskip("verl")
    import yaml
    from r1repro_pixel_reasoner.verl_tools import CropImageTool, SelectFramesTool, write_tool_config

    cfg = yaml.safe_load(write_tool_config(tmp_path / "tools.yaml", {"crop_min_pixels": 3136}).read_text())
    assert [t["tool_schema"]["function"]["name"] for t in cfg["tools"]] == [C.CROP_TOOL, C.FRAMES_TOOL]
    from verl.tools.schemas import OpenAIFunctionToolSchema

    schemas = [OpenAIFunctionToolSchema.model_validate(t["tool_schema"]) for t in cfg["tools"]]
    tool = CropImageTool(cfg["tools"][0]["config"], schemas[0])
    img = Image.new("RGB", (300, 300))

    async def go():
        iid, _ = await tool.create(create_kwargs={"images": [img]})
        ok, _, m1 = await tool.execute(iid, {"bbox_2d": [0.1, 0.1, 0.6, 0.6], "target_image": 1})
        bad, _, m2 = await tool.execute(iid, {"bbox_2d": "oops"})
        again, _, _ = await tool.execute(iid, {"bbox_2d": [0.1, 0.1, 0.6, 0.6], "target_image": 2})
        await tool.release(iid)
        frames = SelectFramesTool({"type": "native"}, schemas[1])
        fid, _ = await frames.create(create_kwargs={"frames": [img] * 16})
        fr, _, _ = await frames.execute(fid, {"target_frames": [2, 3]})
        return ok, m1, bad, m2, again, fr

    ok, m1, bad, m2, again, fr = asyncio.run(go())
    assert len(ok.image) == 1 and m1["tool_failed"] == 0.0 and "<image>" not in ok.text
    assert bad.text.startswith("Execution error") and m2["tool_failed"] == 1.0 and not bad.image
    assert len(again.image) == 1  # image 2 is the first crop
    assert len(fr.image) == 2


def test_verl_crop_tool_reads_the_conversation_images_from_the_agent_loop(tmp_path):
    """verl's tool agent loop creates a tool per call without the row's images; the tool then
    takes the images the loop has seen so far (prompt image, earlier crops) from agent_data."""
    pytest.importorskip("verl")
    import types

    import yaml
    from r1repro_pixel_reasoner.verl_tools import CropImageTool, write_tool_config
    from verl.tools.schemas import OpenAIFunctionToolSchema

    cfg = yaml.safe_load(write_tool_config(tmp_path / "tools.yaml").read_text())
    tool = CropImageTool(
        cfg["tools"][0]["config"], OpenAIFunctionToolSchema.model_validate(cfg["tools"][0]["tool_schema"])
    )
    seen = types.SimpleNamespace(image_data=[Image.new("RGB", (300, 300)), Image.new("RGB", (120, 60))])

    async def go():
        out = []
        for target, agent_data in ((2, seen), (3, seen), (1, None)):
            iid, _ = await tool.create(create_kwargs={})
            out.append(await tool.execute(iid, {"bbox_2d": [0.1, 0.1, 0.9, 0.9], "target_image": target},
                                          agent_data=agent_data))  # fmt: skip
            await tool.release(iid)
        return out

    (second, _, m2), (third, _, m3), (none, _, m0) = asyncio.run(go())
    assert len(second.image) == 1 and m2["tool_failed"] == 0.0
    assert second.image[0].size[0] > second.image[0].size[1]  # a crop of the 120 x 60 image, not the square
    assert third.text.startswith("Execution error") and m3["tool_failed"] == 1.0  # there is no third image
    assert (
        none.text.startswith("Execution error") and not none.image
    )  # no images anywhere: an error, no crash


def test_row_roundtrip_keeps_pattern_answer():
    row = Row(
        id="a", problem="p", ground_truth="checker", data_source="d", images=[Image.new("RGB", (56, 56))]
    )
    msgs = CPUTemplate().render(row)
    assert (
        msgs[-1]["content"].startswith("<image>")
        and CPUTemplate().parse("\\boxed{checker}").answer == "checker"
    )


# ------------------------------------------------------------------------------ warm starts
def test_warm_starts_side_by_side_equal_one_at_a_time(tmp_path):
    """Seeds' warm starts run in worker processes on one thread each: the weights are the ones
    the same specs give when trained one after another in this process."""
    import torch
    from r1repro_pixel_reasoner.reproduction import train_warm_start

    from r1repro.models.tiny import resolve_model
    from r1repro.repro.jobs import Job, run_graph

    base = resolve_model("tiny-vl:nano", seed=0)
    sft = {"examples": 6, "steps": 2, "batch_size": 2, "lr": 0.003, "warmup_steps": 1, "tool_fraction": 0.5,
           "self_correction": 0.5}  # fmt: skip
    env = {"crop_min_pixels": 3136, "crop_max_pixels": 65536}

    def spec(seed: int, where: str) -> dict:
        return {"base": str(base), "sft": sft, "seed": seed, "dataset": "pixel_reasoner.zoom",
                "template": "pixel_reasoner.cpu", "env": env, "quiet": True,
                "out": str(tmp_path / where / f"seed{seed}")}  # fmt: skip

    side = run_graph(
        [Job(s, train_warm_start, (spec(s, "side"),)) for s in (0, 1)], workers=2, log=lambda m: None
    )
    alone = run_graph(
        [Job(s, train_warm_start, (spec(s, "alone"),)) for s in (0, 1)], workers=1, log=lambda m: None
    )

    def weights(path: str) -> dict:
        from pathlib import Path

        from safetensors.torch import load_file

        return load_file(str(next(Path(path).glob("*.safetensors"))))

    for s in (0, 1):
        a, b = weights(side[s]), weights(alone[s])
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    w0, w1 = weights(side[0]), weights(side[1])
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)  # the seed changes the data and order
    assert train_warm_start(spec(0, "side")) == side[0]  # cached: no second training


def test_warm_starts_from_the_cache_are_named_in_the_report(tmp_path, monkeypatch):
    """A run that reuses cached warm starts says which seeds it did not train (its wall time
    covers only part of the pipeline); one that trains every seed adds no note."""
    import types

    from omegaconf import OmegaConf
    from r1repro_pixel_reasoner import reproduction as rep

    (tmp_path / "seed0").mkdir()
    (tmp_path / "seed0" / "config.json").write_text("{}")
    trained = []
    monkeypatch.setattr(
        rep, "warm_start_spec", lambda run, seed: {"sft": {"steps": 1}, "out": str(tmp_path / f"seed{seed}")}
    )
    monkeypatch.setattr(rep, "train_warm_start", lambda spec: trained.append(spec["out"]) or spec["out"])

    def run_with(seeds):
        notes = []
        run = types.SimpleNamespace(seeds=seeds, cfg=OmegaConf.create({"warm_start": {"workers": 1}}),
                                    log=lambda m: None, note=notes.append)  # fmt: skip
        return rep.warm_starts(run), notes

    paths, notes = run_with([0, 1])
    assert paths == {0: str(tmp_path / "seed0"), 1: str(tmp_path / "seed1")}
    assert trained == [str(tmp_path / "seed1")]
    assert len(notes) == 1 and "seeds [0]" in notes[0] and "[1]" in notes[0]
    assert run_with([1, 2])[1] == []
