"""Vision-language policies in the local engine: prompts with images, rollouts, updates, SFT.

A Qwen2(.5)-VL policy differs from a text policy in three places, all handled here:

1. the prompt: each ``<image>`` becomes <|vision_start|> + N x <|image_pad|> + <|vision_end|>,
   N = the image's merged patch count after `r1repro.vision.smart_resize` (`encode_prompt`);
2. the forward pass takes ``pixel_values`` and ``image_grid_thw`` (all images of the batch
   concatenated in row order), ``mm_token_type_ids`` (1 on image pads; transformers needs it
   with ``image_grid_thw`` to build 3-D rope positions) and the 3-D (temporal, height, width)
   rope positions of ``get_rope_index`` (`model_inputs`);
3. generation: a prefill with the images and explicit 3-D positions, then cached steps whose
   positions continue from each row's last prompt position (`generate_vl`; tested equal to
   the full forward).

The local engine calls `attach` once at set-up: for a VL model it swaps ``core.single_turn``
for `VLSingleTurn`, and `collate_vision` / `forward_logits` add the vision inputs to the batch
and the update. Each rollout records the frames of its images (``meta["image_frames"]``) so a
coordinate reward can work in the ground truth's frame (`r1repro.vision.ImageFrame`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from r1repro.engine.generation import Generation, sample_tokens
from r1repro.engine.rollout import RolloutContext, SingleTurn, expand
from r1repro.types import Row, Trajectory
from r1repro.vision import ProcessedImages, expand_placeholders, with_placeholders


def is_vl(model) -> bool:
    return getattr(getattr(model, "config", None), "model_type", "") in ("qwen2_5_vl", "qwen2_vl")


def processor_of(model):
    """The model's `VisionProcessor`, built once and kept on the model object."""
    proc = getattr(model, "_r1repro_vision", None)
    if proc is None:
        from r1repro.models.tiny_vl import vision_processor_for

        proc = vision_processor_for(model)
        model._r1repro_vision = proc
    return proc


def row_images(row: Row) -> list[Any]:
    return list(row.images or [])


def encode_prompt(tokenizer, processor, messages: list[dict], images: Sequence[Any]) -> tuple[list[int], ProcessedImages | None]:  # fmt: skip
    """Token ids of a chat prompt with its images expanded into vision spans (never truncated:
    cutting an image span would break the model's image-token count)."""
    msgs = with_placeholders(messages, len(images)) if images else messages
    text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    processed = processor(list(images)) if images else None
    if processed is not None:
        text = expand_placeholders(text, processed.tokens_per_image)
    return tokenizer(text, add_special_tokens=False)["input_ids"], processed


def model_inputs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 processed: Sequence[ProcessedImages | None]) -> dict[str, Any]:  # fmt: skip
    """Keyword arguments of a VL forward on padded rows whose images are ``processed`` (per row)."""
    image_id = model.config.image_token_id
    mm = (input_ids == image_id).int() * attention_mask.int()
    have = [p for p in processed if p is not None]
    grid = torch.cat([p.image_grid_thw for p in have]) if have else None
    positions, _ = model.model.get_rope_index(input_ids, mm_token_type_ids=mm, image_grid_thw=grid,
                                              attention_mask=attention_mask)  # fmt: skip
    kw: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": positions,
                          "mm_token_type_ids": mm}  # fmt: skip
    if have:
        dev = input_ids.device
        kw["pixel_values"] = torch.cat([p.pixel_values for p in have]).to(dev, model.dtype)
        kw["image_grid_thw"] = grid.to(dev)
    return kw


# ------------------------------------------------------------------------------------ generation
def vision_token_ids(model) -> list[int]:
    """Qwen's vision tokens: never sampled (an <|image_pad|> in a response has no image features,
    and transformers' 3-D rope index would take it for another image)."""
    c = model.config
    ids = (getattr(c, k, None) for k in ("image_token_id", "video_token_id", "vision_start_token_id",
                                          "vision_end_token_id"))  # fmt: skip
    return sorted({int(i) for i in ids if i is not None and 0 <= int(i) < c.get_text_config().vocab_size})


@torch.no_grad()
def generate_vl(model, prompts: Sequence[Sequence[int]], processed: Sequence[ProcessedImages | None], *,
                max_new_tokens: int, eos_ids: Sequence[int], pad_id: int, temperature: float = 1.0,
                top_p: float = 1.0, generator: torch.Generator | None = None,
                forced: Sequence[Sequence[int]] | None = None) -> Generation:  # fmt: skip
    """Sample continuations of image prompts (left-padded batch, one prefill, cached steps)."""
    device = next(model.parameters()).device
    forced = [list(f) for f in forced] if forced is not None else [[] for _ in prompts]
    seqs = [list(p) + f for p, f in zip(prompts, forced)]
    bsz, width = len(seqs), max(len(s) for s in seqs)
    ids = torch.full((bsz, width), pad_id, dtype=torch.long)
    keep = torch.ones((bsz, width + max_new_tokens), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        keep[i, : width - len(s)] = 0
    ids, keep = ids.to(device), keep.to(device)
    kw = model_inputs(model, ids, keep[:, :width], processed)
    # the text after the last image advances all three rope axes together, so generated tokens
    # continue from the last prompt position + 1 on every axis
    next_pos = kw["position_ids"][:, :, -1:].amax(0, keepdim=True).expand(3, -1, -1) + 1
    eos = torch.tensor(sorted(set(eos_ids)), dtype=torch.long, device=device)
    banned = vision_token_ids(model)
    new = torch.full((bsz, max_new_tokens), pad_id, dtype=torch.long, device=device)
    done = torch.zeros(bsz, dtype=torch.bool, device=device)
    ended = torch.zeros(bsz, dtype=torch.bool, device=device)
    lengths = torch.zeros(bsz, dtype=torch.long, device=device)
    was_training = model.training
    model.eval()
    try:
        out = model(**kw, use_cache=True)
        logits, cache = out.logits[:, -1, :], out.past_key_values
        for t in range(max_new_tokens):
            logits[:, banned] = float("-inf")  # a generated vision token would need an image to fill it
            tok = sample_tokens(logits, temperature, top_p, generator)
            active = ~done
            tok = torch.where(active, tok, torch.full_like(tok, pad_id))
            new[:, t] = tok
            lengths += active.long()
            hit = torch.isin(tok, eos) & active
            ended |= hit
            done |= hit
            if t == max_new_tokens - 1 or bool(done.all()):
                break
            out = model(input_ids=tok[:, None], attention_mask=keep[:, : width + t + 1], position_ids=next_pos,
                        past_key_values=cache, use_cache=True)  # fmt: skip
            logits, cache = out.logits[:, -1, :], out.past_key_values
            next_pos = next_pos + 1
    finally:
        model.train(was_training)
    rows, lens, eos_rows = new.tolist(), lengths.tolist(), ended.tolist()
    return Generation(tokens=[forced[i] + rows[i][: lens[i]] for i in range(bsz)],
                      stop_reason=["eos" if eos_rows[i] else "length" for i in range(bsz)])  # fmt: skip


class VLSingleTurn(SingleTurn):
    """`SingleTurn` for VL policies: prompts carry their rows' images; frames go to ``meta``."""

    name = "core.vl_single_turn"
    description = "one generation per response with the row's images (Qwen2/2.5-VL)"

    def rollout(self, ctx: RolloutContext, rows: Sequence[Row], n: int, forced_text: Sequence[str] | None = None,
                group_ids: Sequence[str] | None = None) -> list[Trajectory]:  # fmt: skip
        proc = processor_of(ctx.model)
        encoded: dict[int, tuple[list[int], ProcessedImages | None]] = {}
        for row in rows:
            if row.prompt is None:
                row.prompt = ctx.template.render(row)
            encoded[id(row)] = encode_prompt(ctx.tokenizer, proc, row.prompt, row_images(row))
        pairs = expand(rows, n, group_ids)
        prompts = [encoded[id(r)][0] for r, _ in pairs]
        processed = [encoded[id(r)][1] for r, _ in pairs]
        texts = list(forced_text) if forced_text is not None else [ctx.template.response_prefix] * len(pairs)
        gen = generate_vl(ctx.model, prompts, processed, max_new_tokens=ctx.max_new_tokens, eos_ids=ctx.eos_ids,
                          pad_id=ctx.tokenizer.pad_token_id, temperature=ctx.temperature, top_p=ctx.top_p,
                          generator=ctx.generator, forced=[ctx.encode(t) for t in texts])  # fmt: skip
        out = []
        for (row, gid), p, pi, toks, why in zip(pairs, prompts, processed, gen.tokens, gen.stop_reason):
            meta: dict[str, Any] = {"stop_reason": why}
            if pi is not None:
                meta["image_frames"] = [f.to_dict() for f in pi.frames]
            out.append(Trajectory(row=row, group_id=gid, prompt_ids=p, response_ids=toks, loss_mask=[1] * len(toks),
                                  response_text=ctx.decode(toks), truncated=why == "length", images=row.images,
                                  spans=[(0, len(toks), "policy")], meta=meta))  # fmt: skip
        return out


# ------------------------------------------------------------------------------- engine hooks
def attach(engine) -> None:
    """Called by `LocalEngine.setup`: for a VL policy, roll out with images (``core.single_turn``
    becomes `VLSingleTurn`); other strategies must handle images themselves."""
    engine.vision = is_vl(engine.model)
    if engine.vision and type(engine.rollout_strategy) is SingleTurn:
        engine.rollout_strategy = VLSingleTurn()


def collate_vision(batch: dict[str, Any], trajs: Sequence[Trajectory], model) -> None:
    """Add each row's processed images (``batch["vision"]``, one entry per row) to a collated batch."""
    proc = processor_of(model)
    by_row: dict[int, ProcessedImages | None] = {}
    per_row = []
    for t in trajs:
        # a multi-turn rollout whose tools returned images has its own list (Trajectory.images)
        base = list(t.row.images or [])
        own = t.images is not None and (
            len(t.images) != len(base) or any(a is not b for a, b in zip(t.images, base))
        )
        key = id(t) if own else id(t.row)
        if key not in by_row:
            imgs = list(t.images or t.row.images or [])
            by_row[key] = proc(imgs) if imgs else None
        per_row.append(by_row[key])
    batch["vision"] = per_row


def forward_logits(model, batch: dict[str, Any], idx) -> torch.Tensor:
    """Response logits of rows ``idx`` (HF forward with pixel values and 3-D positions)."""
    rows = torch.arange(batch["input_ids"].shape[0])[idx].tolist()
    ids, attn = batch["input_ids"][rows], batch["attention_mask"][rows]
    kw = model_inputs(model, ids, attn, [batch["vision"][i] for i in rows])
    out = model(**kw, use_cache=False)
    p = batch["prompt_width"]
    return out.logits[:, p - 1 : -1, :]


# ------------------------------------------------------------------------------------ SFT
VL_SFT_THREADS = 1
"""CPU threads of every VL warm start (pinned, like `r1repro.models.sft.SFT_THREADS`, so a cached
warm start is the same bits in every process). One, not two: measured on the shared 2-core
machine, a tiny-VLM SFT step took 0.7-1.0 s on one thread and 4.4-4.8 s on two (oversubscribed)."""


def train_sft_vl(base: str, examples: Sequence[tuple[list[dict], str, list[Any]]], out: Path, steps: int,
                 batch_size: int = 16, lr: float = 3e-3, warmup_steps: int = 20, seed: int = 0,
                 max_response_length: int = 256, quiet: bool = False,
                 token_budget: int | None = None) -> Path:  # fmt: skip
    """Supervised fine-tuning of a VLM on (messages, response, images); loss on the response only.

    ``token_budget``: see `sft_step_vl` (None, the default, keeps one padded forward per batch;
    on Pixel Reasoner's traces, whose 1-3 images make lengths range from 190 to 540 tokens,
    micro-batches of <= 4096 tokens make a step about 1.4x faster)."""
    from r1repro.models.sft import fixed_threads
    from r1repro.models.tiny import load_policy, save_model_dir
    from r1repro.progress import bar as progress_bar

    with fixed_threads(VL_SFT_THREADS):
        torch.manual_seed(seed)
        model, tok = load_policy(base)
        model.train()
        proc = processor_of(model)
        data = []
        for messages, response, images in examples:
            p_ids, processed = encode_prompt(tok, proc, messages, images)
            r_ids = tok(response, add_special_tokens=False)["input_ids"][:max_response_length] + [
                tok.eos_token_id
            ]
            data.append((p_ids, r_ids, processed))
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / max(1, warmup_steps)) * max(0.1, 1 - s / max(1, steps))
        )
        rng = random.Random(seed)
        bar = progress_bar(range(steps), desc=f"VL SFT warm start -> {out.name}", disable=quiet)
        for _ in bar:
            batch = [data[rng.randrange(len(data))] for _ in range(batch_size)]
            opt.zero_grad(set_to_none=True)
            loss = sft_step_vl(model, batch, tok.pad_token_id, token_budget)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        return save_model_dir(model, tok, out)


def sft_step_vl(model, batch: Sequence[tuple[list[int], list[int], Any]], pad_id: int,
                token_budget: int | None = None) -> float:  # fmt: skip
    """Accumulate the gradient of one VL SFT batch of (prompt ids, response ids, processed
    images), every response token trained; returns the batch's mean token loss.

    ``token_budget`` None: one padded forward (HF's mean loss, the original path, bit for bit).
    A number: micro-batches of similar length (`r1repro.models.sft.micro_batches`), each summing
    its tokens' loss and dividing by the whole batch's token count (``num_items_in_batch``): the
    same gradient up to float summation order, less compute spent on padding."""
    from r1repro.models.sft import micro_batches, pad_batch

    groups = [list(range(len(batch)))] if token_budget is None else micro_batches(
        [len(p) + len(r) for p, r, _ in batch], int(token_budget))  # fmt: skip
    # right padding: positions need no shift; labels shift inside the model, and a prompt is never
    # empty, so every response token (the EOS included) is one label
    extra = {} if token_budget is None else {"num_items_in_batch": sum(len(r) for _, r, _ in batch)}
    total = 0.0
    for group in groups:
        part = [batch[i] for i in group]
        ids, labels, attn = pad_batch([(p, r, r) for p, r, _ in part], pad_id)
        kw = model_inputs(model, ids, attn, [pi for _, _, pi in part])
        loss = model(**kw, labels=labels, **extra).loss
        loss.backward()
        total += float(loss.detach())
    return total


def sft_images(dataset, sft_cfg, base: str) -> tuple[list[list[Any]], str]:
    """The images of the SFT rows (the rows `sft_pairs` loads, in the same order) and a digest of
    their pixels (part of the warm start's cache key)."""
    import hashlib

    from r1repro.vision import load_image

    rows = dataset.load(sft_cfg.split, limit=sft_cfg.examples, seed=sft_cfg.seed)
    h = hashlib.sha256()
    images = []
    for row in rows:
        imgs = row_images(row)
        for im in imgs:
            h.update(load_image(im).tobytes())
        images.append(imgs)
    return images, h.hexdigest()
