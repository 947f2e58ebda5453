"""The sampler: forced prefixes, stop strings, seeds, and batching that does not change results."""

import torch

from r1repro.engine.generation import generate
from r1repro.models.tiny import load_policy


def _setup():
    torch.manual_seed(0)
    model, tok = load_policy("tiny:nano")
    return model, tok


def test_batched_greedy_equals_one_by_one_with_left_padding():
    model, tok = _setup()
    prompts = [tok.encode("Compute 1 + 2."), tok.encode("What is 3 * 4 and then"), tok.encode("x")]
    kw = dict(max_new_tokens=10, eos_ids=[tok.eos_token_id], pad_id=tok.pad_token_id, temperature=0.0)
    batched = generate(model, prompts, **kw).tokens
    single = [generate(model, [p], **kw).tokens[0] for p in prompts]
    assert batched == single


def test_same_seed_same_samples_and_different_seed_differs():
    model, tok = _setup()
    prompts = [tok.encode("Compute 1 + 2.")] * 6
    kw = dict(max_new_tokens=12, eos_ids=[tok.eos_token_id], pad_id=tok.pad_token_id, temperature=1.0)
    a = generate(model, prompts, generator=torch.Generator().manual_seed(1), **kw).tokens
    b = generate(model, prompts, generator=torch.Generator().manual_seed(1), **kw).tokens
    c = generate(model, prompts, generator=torch.Generator().manual_seed(2), **kw).tokens
    assert a == b and a != c


def test_forced_prefix_is_part_of_the_response_and_length_budget_holds():
    model, tok = _setup()
    forced = tok.encode("<think>")
    out = generate(
        model,
        [tok.encode("q")] * 3,
        max_new_tokens=5,
        eos_ids=[tok.eos_token_id],
        pad_id=tok.pad_token_id,
        forced=[forced] * 3,
        generator=torch.Generator().manual_seed(0),
    )
    for toks in out.tokens:
        assert toks[: len(forced)] == forced
        assert len(toks) <= len(forced) + 5
    assert set(out.stop_reason) <= {"eos", "length"}


def test_stop_string_ends_a_row_and_eos_is_reported():
    model, tok = _setup()
    stop_id = tok.convert_tokens_to_ids("</tool_call>")
    eos = tok.eos_token_id
    with torch.no_grad():  # make the model always emit </tool_call> for row 0's first token and EOS otherwise
        bias = torch.full((model.config.vocab_size,), -1e4)
        bias[stop_id] = 1e4
    real_forward = model.forward

    def forward(*a, **k):
        out = real_forward(*a, **k)
        out.logits = out.logits * 0 + bias
        return out

    model.forward = forward
    out = generate(
        model,
        [tok.encode("q")],
        max_new_tokens=5,
        eos_ids=[eos],
        pad_id=tok.pad_token_id,
        stop_strings=["</tool_call>"],
        tokenizer=tok,
        temperature=0.0,
    )
    assert out.tokens == [[stop_id]] and out.stop_reason == ["stop:</tool_call>"]
    bias[:] = -1e4
    bias[eos] = 1e4
    out = generate(
        model, [tok.encode("q")], max_new_tokens=5, eos_ids=[eos], pad_id=tok.pad_token_id, temperature=0.0
    )
    assert out.tokens == [[eos]] and out.stop_reason == ["eos"]
