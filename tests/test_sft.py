"""The SFT warm start is the same bits whatever thread count the calling process runs on."""

import hashlib

import pytest
import torch

from r1repro.models.sft import SFT_THREADS, fixed_threads, train_sft
from r1repro.models.tiny import resolve_model

PAIRS = [([{"role": "user", "content": f"What is {a} + {b}?"}], f"The answer is {a + b}.")
         for a in range(12) for b in range(12)]  # fmt: skip


def _sft(out, ambient: int, threads) -> str:
    before = torch.get_num_threads()
    torch.set_num_threads(ambient)
    try:
        train_sft(
            resolve_model("tiny:micro"), PAIRS, out, steps=6, batch_size=16, quiet=True, threads=threads
        )
        assert torch.get_num_threads() == ambient  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    return hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()


def test_sft_weights_do_not_depend_on_the_callers_thread_count(tmp_path):
    loose = {n: _sft(tmp_path / f"loose{n}", n, None) for n in (1, 3)}
    if loose[1] == loose[3]:
        pytest.skip("this CPU's kernels give the same sums on 1 and 3 threads; nothing to pin")
    # the hazard is real here (main process vs a 1-thread arm worker); pinned, it is gone
    assert _sft(tmp_path / "pinned1", 1, SFT_THREADS) == _sft(tmp_path / "pinned3", 3, SFT_THREADS)


def test_fixed_threads_restores_the_setting():
    before = torch.get_num_threads()
    with fixed_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with fixed_threads(None):
        assert torch.get_num_threads() == before


def test_untrained_segments_are_in_the_context_but_out_of_the_loss():
    from r1repro.models.sft import response_tokens
    from r1repro.models.tiny import load_tokenizer

    tok = load_tokenizer()
    segs = [("<search> Rome </search>", True), ("<information> Rome is in Italy. </information>", False),
            ("<answer> Italy </answer>", True)]  # fmt: skip
    parts = [tok(t, add_special_tokens=False)["input_ids"] for t, _ in segs]
    ids, labels = response_tokens(tok, segs, 256)
    assert ids == parts[0] + parts[1] + parts[2] + [tok.eos_token_id]
    assert labels == parts[0] + [-100] * len(parts[1]) + parts[2] + [tok.eos_token_id]
    # a plain string trains every token; a cut response keeps its first tokens, then the EOS
    text_ids = tok("<answer> Italy </answer>", add_special_tokens=False)["input_ids"]
    assert response_tokens(tok, "<answer> Italy </answer>", 256) == (text_ids + [tok.eos_token_id],) * 2
    cut_ids, cut_labels = response_tokens(tok, segs, 3)
    assert cut_ids == parts[0][:3] + [tok.eos_token_id] and cut_labels == cut_ids


def test_micro_batches_group_by_length_within_the_token_budget():
    from r1repro.models.sft import micro_batches

    lengths = [50, 10, 200, 12, 48, 11, 900]
    groups = micro_batches(lengths, token_budget=100)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))  # every sample once
    for g in groups:  # within the budget, padding included, unless a sequence is alone
        assert len(g) == 1 or len(g) * max(lengths[i] for i in g) <= 100
    assert [sorted(g) for g in groups] == [[1, 3, 5], [0, 4], [2], [6]]  # similar lengths together


def test_grouped_step_has_the_padded_batchs_loss_and_gradient():
    """`sft_step` accumulates exactly the gradient of one padded forward with the token-mean loss."""
    import random

    from r1repro.models.sft import micro_batches, pad_batch, response_tokens, sft_step
    from r1repro.models.tiny import load_policy

    model, tok = load_policy(resolve_model("tiny:nano"))
    rng = random.Random(0)
    batch = []
    for messages, response in rng.sample(PAIRS, 9):
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        p = tok(prompt, add_special_tokens=False)["input_ids"][: rng.randint(3, 30)]  # varied lengths
        ids, labels = response_tokens(tok, response * rng.randint(1, 3), 64)
        batch.append((p, ids, labels))
    ids, labels, attn = pad_batch(batch, tok.pad_token_id)
    ref = model(input_ids=ids, attention_mask=attn, labels=labels).loss
    ref.backward()
    ref_grads = [q.grad.clone() for q in model.parameters()]
    model.zero_grad(set_to_none=True)
    loss = sft_step(model, batch, tok.pad_token_id, token_budget=120)  # several micro-batches
    assert len(micro_batches([len(p) + len(r) for p, r, _ in batch], 120)) >= 3
    assert loss == pytest.approx(float(ref.detach()), rel=1e-5)
    for q, g in zip(model.parameters(), ref_grads):
        torch.testing.assert_close(q.grad, g, rtol=1e-4, atol=1e-6)
