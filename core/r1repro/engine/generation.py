"""Batched sampling from a causal LM with a KV cache.

A lean loop instead of ``model.generate``: left-padded prompts, one prefill, then one cached
forward per new token; temperature / top-p sampling from a seeded ``torch.Generator`` (so
rollouts are repeatable); EOS and stop strings per row; and *forced prefixes*: tokens placed
at the start of the response (part of the response, so they get gradient: HGPO's mode tags,
a template's ``response_prefix``).

Two interchangeable backends run the forward passes: the model's own HuggingFace forward
(any architecture), and `r1repro.engine.qwen2_fast.FastDecoder` for Qwen2 models (same math,
less overhead; ``fast=True``). Sampling uses one uniform number per row and step (inverse
CDF), which draws from the same distribution as ``torch.multinomial`` at a fraction of the
cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class Generation:
    """Per row: response tokens (forced prefix included), and why generation stopped."""

    tokens: list[list[int]]
    stop_reason: list[str]

    @property
    def truncated(self) -> list[bool]:
        return [r == "length" for r in self.stop_reason]


def sample_tokens(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None):
    """Greedy at temperature 0; else inverse-CDF sampling from softmax(logits / T), nucleus-cut."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(dim=-1) - sorted_p < top_p
        probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p * keep)
    cdf = probs.cumsum(dim=-1)
    u = torch.rand((probs.shape[0], 1), generator=generator, device="cpu").to(probs.device) * cdf[:, -1:]
    return (cdf < u).sum(dim=-1).clamp(max=probs.shape[-1] - 1)


class _HFBackend:
    """The model's own forward with its DynamicCache."""

    def __init__(self, model, keep: torch.Tensor) -> None:
        self.model, self.keep = model, keep.long()
        self.padded = bool((keep == 0).any())
        self.cache = None

    def prefill(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        width = ids.shape[1]
        out = self.model(input_ids=ids, attention_mask=self.keep[:, :width] if self.padded else None,
                         position_ids=positions, use_cache=True)  # fmt: skip
        self.cache = out.past_key_values
        return out.logits[:, -1, :]

    def step(self, tok: torch.Tensor, positions: torch.Tensor, upto: int) -> torch.Tensor:
        out = self.model(input_ids=tok[:, None], attention_mask=self.keep[:, :upto] if self.padded else None,
                         position_ids=positions, past_key_values=self.cache, use_cache=True)  # fmt: skip
        self.cache = out.past_key_values
        return out.logits[:, -1, :]


class _FastBackend:
    """`qwen2_fast.FastDecoder`: fused weights, preallocated cache, boolean masks."""

    def __init__(self, model, keep: torch.Tensor) -> None:
        from r1repro.engine.qwen2_fast import FastDecoder, causal_keep_mask

        self.keep = keep.bool()
        self.dec = FastDecoder(model, keep.shape[0], keep.shape[1])
        self._causal = causal_keep_mask

    def prefill(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        width = ids.shape[1]
        return self.dec.forward(ids, positions, 0, self._causal(self.keep[:, :width]))

    def step(self, tok: torch.Tensor, positions: torch.Tensor, upto: int) -> torch.Tensor:
        return self.dec.forward(tok[:, None], positions, upto - 1, self.keep[:, None, None, :upto])


@torch.no_grad()
def generate(
    model,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    eos_ids: Sequence[int],
    pad_id: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
    forced: Sequence[Sequence[int]] | None = None,
    stop_strings: Sequence[str] = (),
    tokenizer=None,
    batch_size: int = 256,
    fast: bool = False,
) -> Generation:
    """Sample a continuation for every prompt (token ids, no padding)."""
    if len(prompts) > batch_size:
        out = Generation([], [])
        for i in range(0, len(prompts), batch_size):
            part = generate(
                model, prompts[i : i + batch_size], max_new_tokens=max_new_tokens, eos_ids=eos_ids,
                pad_id=pad_id, temperature=temperature, top_p=top_p, generator=generator,
                forced=None if forced is None else forced[i : i + batch_size],
                stop_strings=stop_strings, tokenizer=tokenizer, batch_size=batch_size, fast=fast,
            )  # fmt: skip
            out.tokens += part.tokens
            out.stop_reason += part.stop_reason
        return out

    device = next(model.parameters()).device
    forced = [list(f) for f in forced] if forced is not None else [[] for _ in prompts]
    seqs = [list(p) + f for p, f in zip(prompts, forced)]
    bsz, width = len(seqs), max(len(s) for s in seqs)
    input_ids = torch.full((bsz, width), pad_id, dtype=torch.long)
    # keep[i, j]: position j of row i is a real token; generated positions are all real (rows
    # that finished keep decoding pad tokens whose outputs are discarded)
    keep = torch.ones((bsz, width + max_new_tokens), dtype=torch.bool)
    for i, s in enumerate(seqs):
        input_ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        keep[i, : width - len(s)] = False
    input_ids, keep = input_ids.to(device), keep.to(device)
    positions = (keep[:, :width].long().cumsum(-1) - 1).clamp(min=0)

    from r1repro.engine import qwen2_fast

    backend = (_FastBackend if fast and qwen2_fast.supported(model) else _HFBackend)(model, keep)
    eos = torch.tensor(sorted(set(eos_ids)), dtype=torch.long, device=device)
    new = torch.full((bsz, max_new_tokens), pad_id, dtype=torch.long, device=device)
    done = torch.zeros(bsz, dtype=torch.bool, device=device)
    lengths = torch.zeros(bsz, dtype=torch.long, device=device)
    ended_eos = torch.zeros(bsz, dtype=torch.bool, device=device)
    reason: dict[int, str] = {}

    was_training = model.training
    model.eval()
    try:
        logits = backend.prefill(input_ids, positions)
        next_pos = positions[:, -1:] + 1
        for t in range(max_new_tokens):
            tok = sample_tokens(logits, temperature, top_p, generator)
            active = ~done
            tok = torch.where(active, tok, torch.full_like(tok, pad_id))
            new[:, t] = tok
            lengths += active.long()
            hit_eos = torch.isin(tok, eos) & active
            ended_eos |= hit_eos
            done |= hit_eos
            if stop_strings and tokenizer is not None:
                for i in torch.nonzero(active & ~hit_eos, as_tuple=False).flatten().tolist():
                    tail = tokenizer.decode(new[i, max(0, t - 7) : t + 1].tolist())
                    for s in stop_strings:
                        if s in tail:
                            reason[i] = f"stop:{s}"
                            done[i] = True
                            break
            if t == max_new_tokens - 1 or bool(done.all()):
                break
            logits = backend.step(tok, next_pos, width + t + 1)
            next_pos = next_pos + 1
    finally:
        model.train(was_training)

    eos_rows = ended_eos.tolist()
    stop_reason = [reason.get(i, "eos" if eos_rows[i] else "length") for i in range(bsz)]
    lens = lengths.tolist()
    rows = new.tolist()
    tokens = [forced[i] + rows[i][: lens[i]] for i in range(bsz)]
    return Generation(tokens=tokens, stop_reason=stop_reason)
