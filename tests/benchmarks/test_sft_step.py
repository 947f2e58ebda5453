"""One SFT step: length-grouped micro-batches (`r1repro.models.sft.sft_step`) against the same
batch in one padded forward, its peer in the same run.

Both sides compute the same loss (the token mean over the batch's trained tokens) and the same
gradient (pinned by ``tests/test_sft.py``) on the same 32 (prompt, response) pairs, forward and
backward, no optimizer step, on ``tiny:micro`` with the same torch threads. The pairs mix short
and long responses as a warm start's data does (MoT's: prompts of ~130 tokens, responses of
20-140), which is where padding costs: a padded batch is as wide as its longest sequence.
Ratio: grouped / padded seconds per step (below 1 = the grouping saves time).
"""

from __future__ import annotations

import random

import pytest

from r1repro.models.sft import SFT_THREADS, fixed_threads, pad_batch, response_tokens, sft_step
from r1repro.models.tiny import load_policy, resolve_model

BATCH = 32
GROUP = "sft step: length-grouped micro-batches vs one padded batch"


@pytest.fixture(scope="module")
def setup():
    model, tok = load_policy(resolve_model("tiny:micro"))
    model.train()
    rng = random.Random(0)
    words = "if the cat is red then it is big and all big things are kind so the answer is true".split()
    batch = []
    for _ in range(BATCH):
        prompt = [
            {"role": "user", "content": " ".join(rng.choice(words) for _ in range(rng.randint(60, 110)))}
        ]
        p = tok(tok.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True),
                add_special_tokens=False)["input_ids"]  # fmt: skip
        ids, labels = response_tokens(
            tok, " ".join(rng.choice(words) for _ in range(rng.randint(15, 120))), 256
        )
        batch.append((p, ids, labels))
    return model, tok, batch


def _padded_step(model, batch, pad_id: int) -> float:
    ids, labels, attn = pad_batch(batch, pad_id)
    loss = model(input_ids=ids, attention_mask=attn, labels=labels).loss
    loss.backward()
    return float(loss.detach())


@pytest.mark.parametrize("side", ["padded", "grouped"])
def test_sft_step(benchmark, setup, side):
    model, tok, batch = setup
    step = _padded_step if side == "padded" else sft_step

    def run():
        model.zero_grad(set_to_none=True)
        return step(model, batch, tok.pad_token_id)

    benchmark.group = GROUP
    with fixed_threads(SFT_THREADS):
        benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    lengths = [len(p) + len(r) for p, r, _ in batch]
    benchmark.extra_info.update(
        {"comparison": "sft_step", "side": side, "batch": BATCH, "threads": SFT_THREADS,
         "real_tokens": sum(lengths), "padded_tokens": max(lengths) * len(lengths)}
    )  # fmt: skip
