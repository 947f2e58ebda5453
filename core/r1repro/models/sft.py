"""Supervised warm start: teach a tiny policy the task's format before RL.

R1-Zero-style RL needs a policy that is sometimes right; a randomly initialised tiny
model never is. ``warm_start`` fine-tunes it on (prompt, worked response) pairs from a
dataset (``Dataset.solution`` gives the response; loss on response tokens only) and
caches the result under a hash of everything that determines it, so repeated runs and
every arm of a reproduction start from the same, already-trained checkpoint.

A multi-turn task's worked response may be a list of ``(text, trained)`` segments: the text of a
segment with ``trained`` false (a tool's observation) is in the context but out of the loss, as
the RL rollout masks observations (`response_tokens`). Each segment is tokenised on its own, as
the multi-turn rollout tokenises each turn and each observation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from r1repro.paths import cache_dir

log = logging.getLogger(__name__)

SFT_THREADS = 2
"""CPU threads every SFT run uses, whatever the calling process has set. CPU kernels split sums
across threads, so the same SFT on 1 and on 2 threads gives different weights; with the count
pinned, a cached warm start is the same bits in every process (the main process, a spawned
arm worker) on a given CPU type and torch build. (Other CPU types may still round differently.)"""


MICRO_BATCH_TOKENS = 2048
"""Tokens (padding included) of one SFT micro-batch (`micro_batches`): small enough that the
length-sorted groups waste little on padding, large enough that each matmul stays efficient."""

SFT_VERSION = 3
"""Version of the SFT procedure, in every cache key of a model it trains (bump it when the same
data and settings would give other weights). 2: trained on `SFT_THREADS` threads (bit-
reproducible); 3: length-grouped micro-batches (`sft_step`)."""


def sft_pairs(dataset, template, split: str, n: int, seed: int) -> list[tuple[list[dict], Any]]:
    """(messages, response) pairs; a response is a string or ``(text, trained)`` segments."""
    rows = dataset.load(split, limit=n, seed=seed)
    pairs = []
    for row in rows:
        if hasattr(dataset, "solution"):
            response = dataset.solution(row, template)
        else:
            response = template.format_response(answer=str(row.ground_truth))
        prefix = template.response_prefix
        if isinstance(response, str):
            response = prefix + response if not response.startswith(prefix) else response
        elif prefix and not (response and response[0][0].startswith(prefix)):
            response = [(prefix, True), *response]
        pairs.append((template.render(row), response))
    return pairs


def response_tokens(tok, response, max_len: int) -> tuple[list[int], list[int]]:
    """(token ids, labels) of a worked response, cut to ``max_len`` tokens, then the EOS.

    ``response`` is a string (every token trained) or ``(text, trained)`` segments; the labels
    of an untrained segment are -100 (in the context, out of the loss)."""
    segments = [(response, True)] if isinstance(response, str) else [(str(t), bool(m)) for t, m in response]
    ids: list[int] = []
    labels: list[int] = []
    for text, trained in segments:
        seg = tok(text, add_special_tokens=False)["input_ids"]
        ids += seg
        labels += seg if trained else [-100] * len(seg)
    return ids[:max_len] + [tok.eos_token_id], labels[:max_len] + [tok.eos_token_id]


def micro_batches(lengths: Sequence[int], token_budget: int) -> list[list[int]]:
    """Indices of a batch grouped into micro-batches of similar length: sorted by length, cut so
    that no micro-batch holds more than ``token_budget`` tokens with its padding (a sequence longer
    than the budget is a micro-batch alone). Padding is the compute the grouping saves."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and (len(groups[-1]) + 1) * lengths[i] <= token_budget:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def pad_batch(batch: Sequence[tuple[list[int], list[int], list[int]]], pad_id: int):
    """(input ids, labels, attention mask) of (prompt ids, response ids, response labels) rows,
    right-padded to the longest; labels are -100 on the prompt and the padding."""
    import torch

    width = max(len(p) + len(r) for p, r, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (p, r, lab) in enumerate(batch):
        ids[row, : len(p) + len(r)] = torch.tensor(p + r)
        labels[row, len(p) : len(p) + len(r)] = torch.tensor(lab)
        attn[row, : len(p) + len(r)] = 1
    return ids, labels, attn


def sft_step(model, batch: Sequence[tuple[list[int], list[int], list[int]]], pad_id: int,
             token_budget: int = MICRO_BATCH_TOKENS) -> float:  # fmt: skip
    """Accumulate the gradient of one SFT batch of (prompt ids, response ids, response labels);
    returns the loss.

    The loss is the mean over every trained token of the batch (what one padded forward with
    ``labels`` gives), computed micro-batch by micro-batch (`micro_batches`): each micro-batch
    sums its tokens' cross-entropy and divides by the batch's token count (transformers'
    ``num_items_in_batch``), so the accumulated gradient is the full batch's, without the compute
    a single forward spends on padding (about a quarter of it on MoT's warm start)."""
    lengths = [len(p) + len(r) for p, r, _ in batch]
    # labels are shifted inside the model, so a label at position 0 never counts
    n_items = sum(sum(1 for x in (lab if p else lab[1:]) if x != -100) for p, _, lab in batch)
    total = 0.0
    for group in micro_batches(lengths, token_budget):
        ids, labels, attn = pad_batch([batch[i] for i in group], pad_id)
        out = model(input_ids=ids, attention_mask=attn, labels=labels, num_items_in_batch=max(1, n_items))
        loss = out.loss
        loss.backward()
        total += float(loss.detach())
    return total


@contextmanager
def fixed_threads(threads: int | None = SFT_THREADS) -> Iterator[None]:
    """Run the block on ``threads`` torch CPU threads (None: leave the setting), then restore it."""
    import torch

    ambient = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(ambient)


def warm_start(model_cfg, sft_cfg, data_cfg, registry, quiet: bool = False) -> str:
    """Path of the SFT-warm-started policy (trained once, then cached)."""
    from r1repro.models.tiny import resolve_model

    base = resolve_model(model_cfg.path, seed=model_cfg.init_seed)
    ds_spec = sft_cfg.dataset if sft_cfg.dataset is not None else data_cfg.dataset
    dataset = registry.build("dataset", ds_spec)
    template = registry.build("template", data_cfg.template)
    pairs = sft_pairs(dataset, template, sft_cfg.split, sft_cfg.examples, sft_cfg.seed)
    from r1repro.engine.vl import sft_images
    from r1repro.models.tiny_vl import is_vl_model

    vl_images, images_digest = sft_images(dataset, sft_cfg, base) if is_vl_model(base) else (None, None)
    key_src = json.dumps(
        {
            "base": Path(base).name if Path(base).exists() else base,
            "sft": {k: sft_cfg[k] for k in ("steps", "batch_size", "lr", "warmup_steps", "seed")},
            "data": hashlib.sha256(json.dumps(pairs, sort_keys=True, default=str).encode()).hexdigest(),
            "max_prompt_length": data_cfg.max_prompt_length,
            # only when not the default, so existing cached warm starts keep their keys
            **({"max_response_length": sft_cfg.max_response_length}
               if sft_cfg.get("max_response_length", 256) != 256 else {}),  # fmt: skip
            "version": SFT_VERSION,
            **({"images": images_digest} if images_digest else {}),
        },
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    out = cache_dir() / "models" / f"sft-{key}"
    if (out / "config.json").is_file():
        return str(out)
    if vl_images is not None:  # a VLM learns from (prompt, images, response): engine/vl.py
        from r1repro.engine.vl import train_sft_vl

        train_sft_vl(base, [(m, r, im) for (m, r), im in zip(pairs, vl_images)], out, steps=sft_cfg.steps,
                     batch_size=sft_cfg.batch_size, lr=sft_cfg.lr, warmup_steps=sft_cfg.warmup_steps,
                     seed=sft_cfg.seed, quiet=quiet)  # fmt: skip
    else:
        train_sft(base, pairs, out, steps=sft_cfg.steps, batch_size=sft_cfg.batch_size, lr=sft_cfg.lr,
                  warmup_steps=sft_cfg.warmup_steps, seed=sft_cfg.seed,
                  max_prompt_length=data_cfg.max_prompt_length,
                  max_response_length=sft_cfg.get("max_response_length", 256), quiet=quiet)  # fmt: skip
    (out / "r1repro_sft.json").write_text(key_src)
    return str(out)


def train_sft(
    base: str,
    pairs: Sequence[tuple[list[dict], Any]],
    out: Path,
    steps: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    warmup_steps: int = 20,
    seed: int = 0,
    max_prompt_length: int = 256,
    max_response_length: int = 256,
    quiet: bool = False,
    dtype: str = "float32",
    threads: int | None = SFT_THREADS,
    token_budget: int = MICRO_BATCH_TOKENS,
) -> Path:
    """Plain causal-LM fine-tuning on (messages, response) pairs; loss on the response only (and
    only on its trained segments, `response_tokens`), the token mean over the whole batch.
    Runs on ``threads`` CPU threads (`SFT_THREADS`; None: the caller's setting); each step's batch
    runs in length-grouped micro-batches (`sft_step`)."""
    import torch

    from r1repro.models.tiny import load_policy, save_model_dir

    with fixed_threads(threads):
        torch.manual_seed(seed)
        model, tok = load_policy(base, dtype=dtype)
        model.train()
        examples = []
        for messages, response in pairs:
            prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            p_ids = tok(prompt, add_special_tokens=False)["input_ids"][-max_prompt_length:]
            examples.append((p_ids, *response_tokens(tok, response, max_response_length)))
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / max(1, warmup_steps)) * max(0.1, 1 - s / max(1, steps))
        )
        rng = random.Random(seed)
        from r1repro.progress import bar as progress_bar

        bar = progress_bar(range(steps), desc=f"SFT warm start -> {out.name}", disable=quiet)
        for _ in bar:
            batch = [examples[rng.randrange(len(examples))] for _ in range(batch_size)]
            loss = sft_step(model, batch, tok.pad_token_id, token_budget)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        return save_model_dir(model, tok, out)


def describe(path: str) -> dict[str, Any]:
    meta = Path(path) / "r1repro_sft.json"
    return json.loads(meta.read_text()) if meta.exists() else {}
