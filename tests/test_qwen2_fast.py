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
