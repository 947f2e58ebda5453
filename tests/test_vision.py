"""The vision-language seam: images in rows, Qwen2-VL resizing and frames, the tiny VLMs, the
VL rollout / update / SFT path of the local engine, and verl's parquet export with images."""

from __future__ import annotations

import base64
import json
import types

import pytest
import torch
from PIL import Image, ImageDraw

from r1repro import hookimpl, lazy
from r1repro.components import GeneratedDataset
from r1repro.types import Row, Sample
from r1repro.vision import (
    IMAGE_PAD,
    IMAGE_PLACEHOLDER,
    ImageFrame,
    VisionProcessor,
    expand_placeholders,
    frame_from_meta,
    image_to_data_uri,
    load_image,
    smart_resize,
    with_placeholders,
)

COLORS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


def square(color: str, size=(60, 44)) -> Image.Image:
    im = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(im).rectangle([8, 8, 40, 36], fill=COLORS[color])
    return im


class ColorTask(GeneratedDataset):
    """Which colour is the square? (the answer is only in the image)."""

    name = "test.color"

    def generate(self, n, seed, split):
        import random

        rng = random.Random(seed)
        out = []
        for i in range(n):
            c = rng.choice(sorted(COLORS))
            out.append(Row(id=f"{split}-{i}", problem="<image>Colour?", ground_truth=c, data_source="test.color",
                           images=[square(c)]))  # fmt: skip
        return out


def _registry():
    from r1repro.registry import Registry

    reg = Registry().discover()
    plug = types.SimpleNamespace(
        r1repro_datasets=hookimpl(lambda: [lazy(f"{__name__}:ColorTask", "test.color", "")])
    )
    reg.add_plugin(plug, "test_vision")
    return reg


# ------------------------------------------------------------------------------ resizing / frames
@pytest.mark.parametrize(
    ("hw", "bounds", "want"),
    [
        ((160, 224), (3136, 50176), (168, 224)),  # rounded to multiples of 28
        ((1000, 2000), (3136, 200_000), (308, 616)),  # above max: scaled down, floored (sqrt(2e6/2e5))
        ((20, 30), (3136, 50176), (56, 84)),  # below min: scaled up, ceiled
        ((1080, 1920), (3136, 12_845_056), (1092, 1932)),  # GUI-G1's cap: only rounding
    ],
)
def test_smart_resize_matches_qwen2vl_rule(hw, bounds, want):
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as hf

    got = smart_resize(*hw, min_pixels=bounds[0], max_pixels=bounds[1])
    assert got == want == hf(*hw, min_pixels=bounds[0], max_pixels=bounds[1])


def test_frame_maps_resized_coordinates_back_to_the_original():
    f = ImageFrame.of(1000, 500, max_pixels=28 * 28 * 100)  # resized to 392 x 196
    assert (f.resized_width, f.resized_height) == (392, 196)
    assert f.to_original([392, 196, 0, 98]) == pytest.approx([1000, 500, 0, 250])
    assert frame_from_meta({"image_frames": [f.to_dict()]}) == f
    assert frame_from_meta({}) is None and frame_from_meta({"image_frames": ["junk"]}) is None


def test_load_image_accepts_every_form(tmp_path):
    im = square("red")
    path = tmp_path / "a.png"
    im.save(path)
    uri = image_to_data_uri(im)
    raw = base64.b64decode(uri.split(",", 1)[1])
    for form in (im, str(path), path, uri, uri.split(",", 1)[1], raw, {"bytes": raw}, {"path": str(path)}):
        assert load_image(form).tobytes() == im.tobytes()
    with pytest.raises(ValueError, match="neither an existing file nor base64"):
        load_image("no/such/file.png")


def test_placeholders_are_added_once_per_image_and_expanded():
    msgs = [{"role": "user", "content": "find it"}]
    assert with_placeholders(msgs, 2)[0]["content"] == "<image><image>find it"
    with pytest.raises(ValueError, match="placeholders for 2 images"):
        with_placeholders([{"role": "user", "content": "<image> x"}], 2)
    assert (
        expand_placeholders("a<image>b", [3]) == "a<|vision_start|>" + "<|image_pad|>" * 3 + "<|vision_end|>b"
    )


def test_processor_without_torchvision_agrees_with_smart_resize():
    vp = VisionProcessor(min_pixels=3136, max_pixels=50176)
    out = vp([square("red", (224, 160)), square("blue", (30, 20))])
    assert out.image_grid_thw.tolist() == [[1, 12, 16], [1, 4, 6]]
    assert out.tokens_per_image == [48, 6]
    assert out.pixel_values.shape == (12 * 16 + 4 * 6, 3 * 2 * 14 * 14)
    assert out.frames[1] == ImageFrame(30, 20, 84, 56)


# ------------------------------------------------------------------------------------- tiny VLMs
@pytest.mark.parametrize("spec", ["tiny-vl:nano", "tiny-qwen2vl:nano"])
def test_tiny_vlm_generates_and_takes_a_policy_gradient_step(spec):
    from r1repro.engine.vl import encode_prompt, generate_vl, model_inputs, processor_of
    from r1repro.models.tiny import count_parameters, load_policy

    model, tok = load_policy(spec)
    assert 150_000 < count_parameters(model) < 300_000
    proc = processor_of(model)
    prompts, processed = zip(*[encode_prompt(tok, proc, [{"role": "user", "content": "Colour?"}], [square(c, s)])
                               for c, s in (("red", (60, 44)), ("blue", (120, 90)))])  # fmt: skip
    g = torch.Generator().manual_seed(0)
    gen = generate_vl(model, prompts, processed, max_new_tokens=6, eos_ids=[tok.eos_token_id],
                      pad_id=tok.pad_token_id, temperature=1.0, generator=g)  # fmt: skip
    assert [len(t) for t in gen.tokens] and all(len(t) <= 6 for t in gen.tokens)
    # the cached decode equals a full forward over [prompt | response] (3-D rope continued right)
    seq = [list(p) + t for p, t in zip(prompts, gen.tokens)]
    w = max(map(len, seq))
    ids = torch.full((2, w), tok.pad_token_id)
    attn = torch.zeros((2, w), dtype=torch.long)
    for i, s in enumerate(seq):
        ids[i, w - len(s) :], attn[i, w - len(s) :] = torch.tensor(s), 1
    out = model(**model_inputs(model, ids, attn, processed))
    logp = torch.log_softmax(out.logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
    loss = -(logp * attn[:, 1:]).sum()
    loss.backward()
    assert (
        model.model.visual.patch_embed.proj.weight.grad.abs().sum() > 0
    )  # gradient reaches the vision tower


def test_mm_token_type_ids_are_required_with_image_grid():
    """transformers builds 3-D positions only with mm_token_type_ids; we always pass them."""
    from r1repro.engine.vl import encode_prompt, model_inputs, processor_of
    from r1repro.models.tiny import load_policy

    model, tok = load_policy("tiny-vl:nano")
    ids, pi = encode_prompt(tok, processor_of(model), [{"role": "user", "content": "x"}], [square("red")])
    kw = model_inputs(model, torch.tensor([ids]), torch.ones((1, len(ids)), dtype=torch.long), [pi])
    assert int(kw["mm_token_type_ids"].sum()) == pi.tokens_per_image[0]
    assert kw["position_ids"].shape == (3, 1, len(ids))
    assert int(kw["position_ids"][:, 0, -1].max()) < len(ids) - 1  # image tokens compress positions


def test_vl_sft_micro_batches_give_the_one_forward_gradient():
    """`sft_step_vl` with a token budget (micro-batches of similar length, each dividing its
    summed loss by the whole batch's token count) gives the gradient and loss of one padded
    forward with HF's mean loss; a budget that splits the batch is what is checked."""
    from r1repro.engine.vl import encode_prompt, processor_of, sft_step_vl
    from r1repro.models.tiny import load_policy

    model, tok = load_policy("tiny-vl:nano")
    proc = processor_of(model)
    batch = []
    for i, (color, size) in enumerate(
        [("red", (60, 44)), ("blue", (300, 220)), ("red", (120, 90)), ("blue", (60, 44))]
    ):
        ids, pi = encode_prompt(
            tok, proc, [{"role": "user", "content": "Colour?" + " please" * i}], [square(color, size)]
        )
        batch.append(
            (
                ids,
                tok(f"{color} square" * (i + 1), add_special_tokens=False)["input_ids"] + [tok.eos_token_id],
                pi,
            )
        )
    lengths = sorted(len(p) + len(r) for p, r, _ in batch)
    from r1repro.models.sft import micro_batches

    assert len(micro_batches(lengths, 2 * lengths[-1])) >= 2  # the budget below splits the batch

    def grads(budget):
        model.zero_grad(set_to_none=True)
        loss = sft_step_vl(model, batch, tok.pad_token_id, budget)
        return loss, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    loss_one, one = grads(None)
    loss_micro, micro = grads(2 * lengths[-1])
    assert loss_micro == pytest.approx(loss_one, rel=1e-5)
    assert one.keys() == micro.keys() and any(".visual." in name for name in one)
    for name in one:
        torch.testing.assert_close(micro[name], one[name], rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------- local engine
@pytest.mark.slow
def test_local_engine_grpo_and_sft_on_a_tiny_vlm(tmp_path):
    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine

    cfg = make_config({
        "model": {"path": "tiny-vl:nano", "sft": {"enabled": True, "steps": 4, "examples": 16, "batch_size": 4}},
        "data": {"dataset": "test.color", "template": "core.plain", "max_prompt_length": 128},
        "rollout": {"n": 4, "max_new_tokens": 4}, "reward": "core.exact_match",
        "trainer": {"total_steps": 2, "batch_size": 2, "out_dir": str(tmp_path), "progress": False},
        "eval": {"limit": 2, "every": 0},
    })  # fmt: skip
    eng = LocalEngine(cfg, registry=_registry(), quiet=True)
    before = {k: v.clone() for k, v in eng.setup().model.named_parameters()}
    assert eng.policy_path.split("/")[-1].startswith("sft-")
    out = eng.train()
    assert out["steps"] == 2
    moved = [k for k, v in eng.model.named_parameters() if not torch.equal(v, before[k])]
    assert any("visual" in k for k in moved) and any("language_model" in k for k in moved)
    trajs, samples = eng.generate_samples(eng.train_rows[:1], 2)
    assert samples[0].images and samples[0].meta["image_frames"][0]["resized_width"] == 56


# ------------------------------------------------------------------------------- verl export
def test_verl_export_has_images_and_matching_placeholders(tmp_path):
    import pyarrow.parquet as pq

    from r1repro.verl_bridge.export import to_verl_record, write_parquet

    tmpl = types.SimpleNamespace(render=lambda r: [{"role": "user", "content": r.problem}])
    rows = [Row(id="a", problem="Where is OK?", ground_truth=[1, 2, 3, 4], data_source="d", images=[square("red")]),
            Row(id="b", problem="<image> vs <image>", ground_truth="x", data_source="d",
                images=[square("red"), square("blue")])]  # fmt: skip
    rec = to_verl_record(rows[0], tmpl, 0, "train")
    assert rec["prompt"][0]["content"] == IMAGE_PLACEHOLDER + "Where is OK?"
    assert load_image(rec["images"][0]).tobytes() == square("red").tobytes()
    frames = json.loads(rec["extra_info"]["r1repro"])["image_frames"]
    assert frames[0]["width"] == 60 and frames[0]["resized_width"] % 28 == 0
    path = write_parquet(rows, tmpl, tmp_path / "t.parquet")
    back = pq.read_table(path).to_pylist()
    assert [r["prompt"][0]["content"].count(IMAGE_PLACEHOLDER) for r in back] == [1, 2]
    assert [len(r["images"]) for r in back] == [1, 2]


def test_exported_parquet_reads_back_through_verls_rlhf_dataset(tmp_path):
    from omegaconf import OmegaConf

    from r1repro.models.tiny_vl import vl_tokenizer
    from r1repro.verl_bridge.export import write_parquet

    tmpl = types.SimpleNamespace(render=lambda r: [{"role": "user", "content": r.problem}])
    rows = [Row(id="b", problem="<image> vs <image>", ground_truth="x", data_source="d",
                images=[square("red"), square("blue")])]  # fmt: skip
    path = write_parquet(rows, tmpl, tmp_path / "t.parquet")
    from verl.utils.dataset.rl_dataset import RLHFDataset

    cfg = OmegaConf.create({"filter_overlong_prompts": False, "max_prompt_length": 512, "prompt_key": "prompt",
                            "image_key": "images", "return_raw_chat": True})  # fmt: skip
    ds = RLHFDataset(str(path), vl_tokenizer(), cfg, processor=VisionProcessor())
    item = ds[0]
    parts = item["raw_prompt"][0]["content"]
    images = [p for p in parts if p["type"] == "image"]
    assert len(images) == 2 and load_image(images[1]["image"]).getpixel((20, 20)) == COLORS["blue"]


def test_the_tiny_vl_template_renders_strings_as_before_and_image_blocks_as_qwen_does():
    from r1repro.models.tiny import load_tokenizer
    from r1repro.models.tiny_vl import vl_tokenizer

    vl, text = vl_tokenizer(), load_tokenizer(None)
    chat = [{"role": "system", "content": "s"}, {"role": "user", "content": "<image> What is it?"},
            {"role": "assistant", "content": "red"}]  # fmt: skip
    for gen in (False, True):  # the local engine's prompts (strings with <image>) do not change
        assert vl.apply_chat_template(
            chat, tokenize=False, add_generation_prompt=gen
        ) == text.apply_chat_template(chat, tokenize=False, add_generation_prompt=gen)
    blocks = [{"role": "user", "content": [{"type": "image", "image": square("red")}, {"type": "text", "text": "Q"}]},
              {"role": "tool", "content": [{"type": "image"}, {"type": "text", "text": "crop"}]}]  # fmt: skip
    ids = vl.apply_chat_template(blocks, tokenize=True, return_dict=False)
    ids = ids["input_ids"] if isinstance(ids, dict) else ids
    assert (
        ids.count(vl.convert_tokens_to_ids(IMAGE_PAD)) == 2
    )  # one pad per image block, for the processor to expand
    assert "crop" in vl.decode(ids) and "'type'" not in vl.decode(ids)


def test_score_reads_images_from_paths_and_base64(tmp_path):
    s = Sample.from_dict({"response": "x", "images": [image_to_data_uri(square("red"))]})
    assert load_image(s.images[0]).getpixel((20, 20)) == COLORS["red"]


def test_vision_tokens_are_never_sampled():
    from r1repro.engine.vl import encode_prompt, generate_vl, processor_of, vision_token_ids
    from r1repro.models.tiny import load_policy

    model, tok = load_policy("tiny-vl:nano")
    banned = vision_token_ids(model)
    assert tok.convert_tokens_to_ids("<|image_pad|>") in banned and len(banned) == 4
    with torch.no_grad():  # make the image pad the policy's favourite token
        model.lm_head.weight[banned[0]] += 50 * model.model.language_model.norm.weight.sign()
    ids, pi = encode_prompt(tok, processor_of(model), [{"role": "user", "content": "x"}], [square("red")])
    gen = generate_vl(model, [ids], [pi], max_new_tokens=8, eos_ids=[tok.eos_token_id], pad_id=tok.pad_token_id,
                      temperature=0.0)  # fmt: skip
    assert not set(gen.tokens[0]) & set(banned)
