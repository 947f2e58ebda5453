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
