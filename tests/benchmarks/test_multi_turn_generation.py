"""Multi-turn generation: the prefix cache (`r1repro.engine.generation.PrefixCache`) against
re-reading every conversation at every turn, its peer in the same run.

Both sides run the same turns through the same sampler (`generate`, the Qwen2 fast path) with
the same seeded generator; their logits agree up to float rounding (``tests/test_qwen2_fast.py``
pins equal samples on small cases), so over thousands of tokens a rare sample may differ:
128 conversations (16 prompts x a group of 8) on ``tiny:micro``, 5 turns; each turn samples up to
48 tokens, a row ends its turn at a newline or an EOS, and the next turn appends an observation of
12 tokens, as TAPO's step-wise rollouts and the tool loops (StepSearch) do. The re-reading side is
what a loop without a cache does (and what ours did before): each call prefills the whole
conversation so far. Ratio: cached / re-reading seconds per rollout (below 1 = the cache saves time).
"""

from __future__ import annotations

import pytest
import torch

from r1repro.engine.generation import PrefixCache, generate
from r1repro.models.sft import fixed_threads
from r1repro.models.tiny import load_policy, resolve_model

GROUP = "multi-turn generation: prefix cache vs re-reading each turn"
TURNS, PROMPTS, N, MAX_NEW = 5, 16, 8, 48


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model, tok = load_policy(resolve_model("tiny:micro"))
    with torch.no_grad():  # a random init rarely writes a newline: make a turn ~17 tokens (TAPO's steps: ~10)
        model.lm_head.weight[tok.encode("\n")[0]] += 0.2
    prompts = [tok.encode(f"Start at {i} and apply the operations one per line:") for i in range(PROMPTS)]
    return model, tok, [p for p in prompts for _ in range(N)]


def rollout(model, tok, prompts, cached: bool) -> int:
    convs = [list(p) for p in prompts]
    cache = PrefixCache() if cached else None
    gen = torch.Generator().manual_seed(0)
    obs = tok.encode(" observation: the value is now 7\n")[:12]
    total = 0
    for _ in range(TURNS):
        live = list(range(len(convs)))
        out = generate(model, [convs[i] for i in live], max_new_tokens=MAX_NEW, eos_ids=[tok.eos_token_id],
                       pad_id=tok.pad_token_id, temperature=1.0, generator=gen, fast=True, stop_strings=["\n"],
                       tokenizer=tok, cache=cache, keys=live if cached else None)  # fmt: skip
        for i, toks in zip(live, out.tokens):
            convs[i] += toks + obs
            total += len(toks)
    return total


@pytest.mark.parametrize("side", ["reread", "cached"])
def test_multi_turn_generation(benchmark, setup, side):
    model, tok, prompts = setup
    benchmark.group = GROUP
    with fixed_threads(1):
        tokens = benchmark.pedantic(
            lambda: rollout(model, tok, prompts, side == "cached"), rounds=3, warmup_rounds=1
        )
    benchmark.extra_info.update(
        {"comparison": "multi_turn_generation", "side": side, "conversations": len(prompts), "turns": TURNS,
         "threads": 1, "generated_tokens": tokens}
    )  # fmt: skip
