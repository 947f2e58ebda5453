"""The visual-tools rollout on the tiny VLM with a scripted policy: images appended mid-rollout,
observations masked, the token layout equal to the warm start's, and the update's forward pass."""

from __future__ import annotations

import pytest
import torch
from r1repro_pixel_reasoner import constants as C
from r1repro_pixel_reasoner.data import ZoomTask, correct_call, sft_examples
from r1repro_pixel_reasoner.env import VisualOpsEnvironment
from r1repro_pixel_reasoner.reward import CuriosityReward
from r1repro_pixel_reasoner.rollout import VisualToolRollout, observation_turn
from r1repro_pixel_reasoner.templates import CPUTemplate

from r1repro.engine.generation import Generation
from r1repro.engine.rollout import RolloutContext

OPTS = {"crop_min_pixels": 3136, "crop_max_pixels": 65536}


@pytest.fixture(scope="module")
def policy():
    from r1repro.models.tiny_vl import load_vl_policy

    return load_vl_policy("tiny-vl:nano")


def scripted(tokenizer, turns: list[str], seen: list[int]):
    """A fake `generate_vl` that answers turn k with ``turns[k]`` (+ EOS) and records how many
    images each call was given."""
    calls = {"k": 0}

    def fake(model, prompts, processed, *, forced=None, **kw):
        k = calls["k"]
        calls["k"] += 1
        seen.append(sum(int(p.image_grid_thw.shape[0]) for p in processed if p is not None) // len(prompts))
        ids = tokenizer(turns[k], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        return Generation(tokens=[list(f) + ids for f in (forced or [[] for _ in prompts])],
                          stop_reason=["eos"] * len(prompts))  # fmt: skip

    return fake


def test_observation_turn_matches_chat_template(policy):
    _, tok = policy
    text = observation_turn(tok, "Here <image>")
    assert text.startswith("\n<|im_start|>user\nHere <image>") and text.endswith("<|im_start|>assistant\n")


def test_rollout_appends_crop_masks_it_and_matches_the_warm_start_layout(policy, monkeypatch):
    from r1repro.engine import vl
    from r1repro.engine.local import collate

    model, tok = policy
    row = ZoomTask(size=448, tile=56).generate(1, 0, "t")[0]
    call, answer = correct_call(row), f"\\boxed{{{row.ground_truth}}}"
    seen: list[int] = []
    monkeypatch.setattr(vl, "generate_vl", scripted(tok, [call, answer], seen))
    env = VisualOpsEnvironment(**OPTS)
    ctx = RolloutContext(model=model, tokenizer=tok, template=CPUTemplate(), max_new_tokens=400,
                         generator=torch.Generator().manual_seed(0), environment=env)  # fmt: skip
    (t,) = VisualToolRollout().rollout(ctx, [row], 1)
    assert seen == [1, 2]  # the second turn sees the canvas and the crop
    assert len(t.images) == 2 and t.tool_calls == 1 and t.tool_failures == 0 and t.num_turns == 2
    assert [k for *_, k in t.spans] == ["policy", "observation", "policy"]
    (s0, e0, _), (s1, e1, _), (s2, e2, _) = t.spans
    assert set(t.loss_mask[s1:e1]) == {0} and set(t.loss_mask[s0:e0] + t.loss_mask[s2:e2]) == {1}
    pad = model.config.image_token_id
    crop_tokens = vl.processor_of(model)([t.images[1]]).tokens_per_image[0]
    assert t.response_ids[s1:e1].count(pad) == crop_tokens  # the crop's vision span, never cut
    assert t.meta["visual_ops"] == [{"name": C.CROP_TOOL, "valid": True, "error": ""}]
    # the answer turn's context is exactly the warm start's second example, token for token
    ex = sft_examples([row], CPUTemplate(), tool_fraction=1.0, self_correction=0.0, tool_options=OPTS)
    messages, response, images = ex[-1]
    sft_prompt, _ = vl.encode_prompt(tok, vl.processor_of(model), messages, images)
    assert t.prompt_ids + t.response_ids[:s2] == sft_prompt and response == answer
    # the reward sees one valid operation and the final answer
    res = CuriosityReward()([t.to_sample()])[0]
    assert res.info["n_vo"] == 1 and res.info["accuracy"] == 1.0
    # the update's forward pass takes the trajectory's own images (3-D rope over both)
    batch = collate([t], [res], tok.pad_token_id)
    vl.collate_vision(batch, [t], model)
    assert batch["vision"][0].image_grid_thw.shape[0] == 2
    logits = vl.forward_logits(model, batch, slice(None))
    assert logits.shape[1] == len(t.response_ids) and torch.isfinite(logits).all()


def test_rollout_force_terminates_after_max_tool_calls(policy, monkeypatch):
    from r1repro.engine import vl

    model, tok = policy
    row = ZoomTask(size=448, tile=56).generate(1, 1, "t")[0]
    call = correct_call(row)
    seen: list[int] = []
    monkeypatch.setattr(vl, "generate_vl", scripted(tok, [call] * 3, seen))
    env = VisualOpsEnvironment(max_tool_calls=2, max_images=8, **OPTS)
    ctx = RolloutContext(model=model, tokenizer=tok, template=CPUTemplate(), max_new_tokens=2000,
                         generator=torch.Generator().manual_seed(0), environment=env)  # fmt: skip
    (t,) = VisualToolRollout().rollout(ctx, [row], 1)
    assert t.tool_calls == 2 and t.meta["forced_stop"] == "max_tool_calls" and len(t.images) == 3
    assert CuriosityReward()([t.to_sample()])[0].info["answered"] == 0.0
