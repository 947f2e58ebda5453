"""The lean Qwen2 forward computes what the HuggingFace forward computes."""

import pytest
import torch

from r1repro.engine import qwen2_fast
from r1repro.engine.generation import generate
from r1repro.models.tiny import load_policy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def policy():
    torch.manual_seed(0)
    model, tok = load_policy("tiny:micro")
    with torch.no_grad():  # break the symmetry of a fresh init so differences would show
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model, tok


def _prompts(tok):
    return [
        tok.encode("Compute 12 + 7."),
        tok.encode("x"),
        tok.encode("What is the capital of France and why"),
    ]


def test_supported_only_where_exact(policy):
    from transformers import LlamaConfig, LlamaForCausalLM

    assert qwen2_fast.supported(policy[0])
    llama = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=64
        )
    )
    assert not qwen2_fast.supported(llama)


def test_greedy_generation_matches_the_huggingface_loop(policy):
    model, tok = policy
    prompts = _prompts(tok)
    forced = [[], tok.encode("<think>"), []]
    kw = dict(
        max_new_tokens=24, eos_ids=[tok.eos_token_id], pad_id=tok.pad_token_id, temperature=0.0, forced=forced
    )
    assert (
        generate(model, prompts, fast=True, **kw).tokens == generate(model, prompts, fast=False, **kw).tokens
    )


def test_sampling_is_repeatable_and_matches_across_backends(policy):
    model, tok = policy
    prompts = [tok.encode("Compute 1 + 2.")] * 8
    kw = dict(max_new_tokens=16, eos_ids=[tok.eos_token_id], pad_id=tok.pad_token_id, temperature=1.0)
    a = generate(model, prompts, fast=True, generator=torch.Generator().manual_seed(3), **kw).tokens
    b = generate(model, prompts, fast=False, generator=torch.Generator().manual_seed(3), **kw).tokens
    assert a == b


def test_prefill_and_decode_logits_match(policy):
    model, tok = policy
    prompts = _prompts(tok)
    width = max(len(p) for p in prompts)
    ids = torch.full((3, width), tok.pad_token_id)
    keep = torch.zeros((3, width + 3), dtype=torch.bool)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.tensor(p)
        keep[i, width - len(p) :] = True
    keep[:, width:] = True
    pos = (keep[:, :width].long().cumsum(-1) - 1).clamp(min=0)
    dec = qwen2_fast.FastDecoder(model, 3, width + 3)
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=keep[:, :width].long(), position_ids=pos, use_cache=True)
        got = dec.forward(ids, pos, 0, qwen2_fast.causal_keep_mask(keep[:, :width]))
        assert torch.allclose(got, ref.logits[:, -1], atol=1e-5)
        cache, nxt = ref.past_key_values, pos[:, -1:] + 1
        for t in range(3):
            tok_t = torch.tensor([[5], [6], [7]])
            ref = model(
                input_ids=tok_t,
                attention_mask=keep[:, : width + t + 1].long(),
                position_ids=nxt,
                past_key_values=cache,
                use_cache=True,
            )
            got = dec.forward(tok_t, nxt, width + t, keep[:, None, None, : width + t + 1])
            assert torch.allclose(got, ref.logits[:, -1], atol=1e-5)
            cache, nxt = ref.past_key_values, nxt + 1


def test_grouped_prompt_forward_gives_the_same_logprobs_and_gradients(policy):
    from verl.utils.torch_functional import logprobs_from_logits

    from r1repro.engine.local import collate
    from r1repro.types import RewardResult, Row, Trajectory

    model, tok = policy
    prompts = _prompts(tok)[:2]
    trajs = []
    for g, p in enumerate(prompts):
        for j in range(3):
            resp = tok.encode(f"answer {g} {j} " * (j + 1))
            trajs.append(
                Trajectory(
                    row=Row(id="r", problem="p", ground_truth="1", data_source="d"),
                    group_id=f"g{g}",
                    prompt_ids=p,
                    response_ids=resp,
                    loss_mask=[1] * len(resp),
                    response_text="",
                )
            )
    batch = collate(trajs, [RewardResult(1.0)] * len(trajs), tok.pad_token_id)
    assert batch["shared_prompts"] and batch["group_first"].tolist() == [0, 3]

    def loss_and_grad(logits):
        lp = logprobs_from_logits(logits, batch["responses"])
        loss = (lp * batch["response_mask"]).sum()
        model.zero_grad(set_to_none=True)
        loss.backward()
        return lp.detach(), [p.grad.clone() for p in model.parameters()]

    pw = batch["prompt_width"]
    ref = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        position_ids=batch["position_ids"],
        use_cache=False,
    ).logits[:, pw - 1 : -1]
    lp_ref, g_ref = loss_and_grad(ref)
    fast = qwen2_fast.grouped_response_logits(
        model,
        batch["input_ids"][[0, 3], :pw],
        batch["attention_mask"][[0, 3], :pw],
        batch["responses"],
        batch["group_index"],
    )
    lp_fast, g_fast = loss_and_grad(fast)
    m = batch["response_mask"].bool()
    assert torch.allclose(lp_fast[m], lp_ref[m], atol=1e-5)
    for a, b in zip(g_fast, g_ref):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_grouped_gradients_are_the_same_bits_every_time(policy):
    # one long prompt shared by 16 responses: the prompt's keys, values and last hidden state are
    # gathered for every response, and their gradients summed back. With advanced indexing
    # (kp[group_of]) that sum's order depended on CPU threads (a tiny TinyV trained twice from the
    # same seed drifted apart from step 0); index_select sums in a fixed order.
    model, tok = policy
    torch.manual_seed(1)
    prompt = torch.randint(5, len(tok) - 5, (1, 240))
    responses = torch.randint(5, len(tok) - 5, (16, 30))

    def grads():
        model.zero_grad(set_to_none=True)
        logits = qwen2_fast.grouped_response_logits(model, prompt, torch.ones_like(prompt), responses,
                                                    torch.zeros(16, dtype=torch.long))  # fmt: skip
        logits.float().square().mean().backward()
        return [p.grad.clone() for p in model.parameters()]

    with_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first = grads()
        for _ in range(3):
            assert all(torch.equal(a, b) for a, b in zip(first, grads()))
    finally:
        torch.set_num_threads(with_threads)


def _turns(model, tok, cache, temperature, seed):
    """Three calls on growing conversations (an appended 'observation' each time), one key each;
    rows drop out and come back, and one row's history is rewritten (its cache must start over)."""
    from r1repro.engine.generation import PrefixCache  # noqa: F401  (the cache under test)

    convs = {
        i: tok.encode(text) for i, text in enumerate(["Compute 12 + 7.", "x", "What is the capital", "ok"])
    }
    gen = torch.Generator().manual_seed(seed)
    # a quarter of the vocabulary ends a row, so rows finish at different steps and are dropped mid-call
    kw = dict(max_new_tokens=10, eos_ids=list(range(200)), pad_id=tok.pad_token_id, temperature=temperature,
              generator=gen, fast=True, stop_strings=["."], tokenizer=tok)  # fmt: skip
    out = []
    for live in ([0, 1, 2, 3], [0, 2, 3], [3, 1, 0]):
        if live == [3, 1, 0]:
            convs[1] = tok.encode("a new history")
        g = generate(model, [convs[i] for i in live], cache=cache, keys=None if cache is None else live, **kw)
        out.append(g.tokens)
        for i, toks in zip(live, g.tokens):
            convs[i] = convs[i] + toks + tok.encode(" obs: 4")
    return out


def test_prefix_cache_gives_the_logits_of_rereading_every_turn(policy):
    from r1repro.engine.generation import PrefixCache

    model, tok = policy
    assert _turns(model, tok, PrefixCache(), 0.0, 0) == _turns(model, tok, None, 0.0, 0)
    assert _turns(model, tok, PrefixCache(), 1.0, 5) == _turns(model, tok, None, 1.0, 5)
    cache = PrefixCache()
    _turns(model, tok, cache, 1.0, 5)
    assert set(cache.ids) == {0, 1, 2, 3} and cache.kv  # the turns were stored, per key


def test_prefix_cache_reads_only_new_tokens(policy):
    from r1repro.engine import generation

    model, tok = policy
    seen = []
    real = qwen2_fast.FastDecoder.forward_at

    def spy(self, ids, cols, mask, kv_len):
        seen.append(ids.shape[1])
        return real(self, ids, cols, mask, kv_len)

    cache = generation.PrefixCache()
    prompt = tok.encode("Compute 12 + 7 and then some more words here")
    kw = dict(max_new_tokens=3, eos_ids=[], pad_id=tok.pad_token_id, temperature=0.0, fast=True, cache=cache)
    try:
        qwen2_fast.FastDecoder.forward_at = spy
        first = generate(model, [prompt], keys=["a"], **kw).tokens[0]
        seen.clear()
        generate(model, [prompt + first + tok.encode(" ok")], keys=["a"], **kw)
    finally:
        qwen2_fast.FastDecoder.forward_at = real
    # the second call's prefill reads the last sampled token (never fed back) and " ok", not the prompt
    assert seen[0] == 1 + len(tok.encode(" ok"))


def test_identical_prompts_are_prefilled_once_with_the_same_result(policy):
    model, tok = policy
    prompts = [tok.encode("Compute 1 + 2.")] * 6 + [tok.encode("x")] * 2
    kw = dict(max_new_tokens=12, eos_ids=[tok.eos_token_id], pad_id=tok.pad_token_id, temperature=1.0)
    a = generate(model, prompts, fast=True, generator=torch.Generator().manual_seed(3), **kw).tokens
    b = generate(model, prompts, fast=False, generator=torch.Generator().manual_seed(3), **kw).tokens
    assert a == b


def test_dropping_finished_rows_changes_no_sample(policy):
    """Rows end at different steps (a third of the vocabulary ends a row); the fast path stops
    decoding rows once half are done, the HuggingFace path decodes every row to the end."""
    from r1repro.engine import generation

    model, tok = policy
    prompts = [tok.encode(f"Compute {i} + {2 * i}.") for i in range(24)]
    kw = dict(max_new_tokens=20, eos_ids=list(range(0, 260)), pad_id=tok.pad_token_id, temperature=1.0)
    drops = []
    real = generation._FastBackend.keep_rows

    def spy(self, sel, new, lengths):
        drops.append(len(sel))
        return real(self, sel, new, lengths)

    try:
        generation._FastBackend.keep_rows = spy
        fast = generate(model, prompts, fast=True, generator=torch.Generator().manual_seed(1), **kw)
    finally:
        generation._FastBackend.keep_rows = real
    slow = generate(model, prompts, fast=False, generator=torch.Generator().manual_seed(1), **kw)
    assert drops, "no row was dropped: the test does not exercise compaction"
    assert fast.tokens == slow.tokens and fast.stop_reason == slow.stop_reason
    lengths = {len(t) for t in fast.tokens}
    assert len(lengths) > 3  # rows really ended at different steps
    cached = generate(model, prompts, fast=True, generator=torch.Generator().manual_seed(1),
                      cache=generation.PrefixCache(), keys=list(range(24)), **kw)  # fmt: skip
    assert cached.tokens == slow.tokens
    # a GRPO group's copies of one prompt, read once by the cached path as by the plain one
    copies = [p for p in prompts[:3] for _ in range(8)]
    plain = generate(model, copies, fast=False, generator=torch.Generator().manual_seed(2), **kw)
    cached = generate(model, copies, fast=True, generator=torch.Generator().manual_seed(2),
                      cache=generation.PrefixCache(), keys=list(range(24)), **kw)  # fmt: skip
    assert cached.tokens == plain.tokens


def test_prefix_cache_storage_grows_only_as_needed():
    from r1repro.engine.generation import PrefixCache

    cache = PrefixCache()
    for turn in range(12):  # one conversation stored again and again, a little longer each time
        length = 10 + 5 * turn
        kv = [(torch.zeros(1, 2, length, 4), torch.zeros(1, 2, length, 4))]
        cache.store(["a"], [list(range(length))], kv)
    rows, _, length, _ = cache.kv[0][0].shape
    assert rows == 1 and length < 2 * 65
