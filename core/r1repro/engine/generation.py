"""Batched sampling from a HuggingFace causal LM with a KV cache.

A lean loop instead of ``model.generate``: left-padded prompts, one prefill, then one
cached forward per new token, temperature / top-p sampling from a seeded
``torch.Generator`` (so rollouts are repeatable), EOS and stop strings per row, and
*forced prefixes*: tokens placed at the start of the response (they are part of the
response and get gradient; HGPO's mode tags, a template's ``response_prefix``).
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


def _sample(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None):
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(dim=-1) - sorted_p < top_p
        sorted_p = sorted_p * keep
        probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


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
) -> Generation:
    """Sample a continuation for every prompt (token ids, no padding)."""
    if len(prompts) > batch_size:
        out = Generation([], [])
        for i in range(0, len(prompts), batch_size):
            part = generate(
                model, prompts[i : i + batch_size], max_new_tokens=max_new_tokens, eos_ids=eos_ids,
                pad_id=pad_id, temperature=temperature, top_p=top_p, generator=generator,
                forced=None if forced is None else forced[i : i + batch_size],
                stop_strings=stop_strings, tokenizer=tokenizer, batch_size=batch_size,
            )  # fmt: skip
            out.tokens += part.tokens
            out.stop_reason += part.stop_reason
        return out

    device = next(model.parameters()).device
    forced = [list(f) for f in forced] if forced is not None else [[] for _ in prompts]
    seqs = [list(p) + f for p, f in zip(prompts, forced)]
    bsz, width = len(seqs), max(len(s) for s in seqs)
    input_ids = torch.full((bsz, width), pad_id, dtype=torch.long)
    mask = torch.zeros((bsz, width), dtype=torch.long)
    for i, s in enumerate(seqs):
        input_ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[i, width - len(s) :] = 1
    input_ids, mask = input_ids.to(device), mask.to(device)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)

    eos = torch.tensor(sorted(set(eos_ids)), dtype=torch.long, device=device)
    new = torch.full((bsz, max_new_tokens), pad_id, dtype=torch.long, device=device)
    done = torch.zeros(bsz, dtype=torch.bool, device=device)
    lengths = torch.zeros(bsz, dtype=torch.long, device=device)
    ended_eos = torch.zeros(bsz, dtype=torch.bool, device=device)
    reason: dict[int, str] = {}

    was_training = model.training
    model.eval()
    try:
        # Rows that finished keep decoding pad tokens whose outputs are discarded, so the
        # mask only has to hide left padding; without padding, the causal fast path is used.
        padded = bool((mask == 0).any())
        out = model(
            input_ids=input_ids,
            attention_mask=mask if padded else None,
            position_ids=positions,
            use_cache=True,
        )
        cache, logits = out.past_key_values, out.logits[:, -1, :]
        next_pos = positions[:, -1:] + 1
        full_mask = torch.cat([mask, torch.ones((bsz, max_new_tokens), dtype=torch.long, device=device)], -1)
        for t in range(max_new_tokens):
            tok = _sample(logits, temperature, top_p, generator)
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
            out = model(
                input_ids=tok.unsqueeze(-1),
                attention_mask=full_mask[:, : width + t + 1] if padded else None,
                position_ids=next_pos,
                past_key_values=cache,
                use_cache=True,
            )
            cache, logits = out.past_key_values, out.logits[:, -1, :]
            next_pos = next_pos + 1
    finally:
        model.train(was_training)

    eos_rows = ended_eos.tolist()
    stop_reason = [reason.get(i, "eos" if eos_rows[i] else "length") for i in range(bsz)]
    lens = lengths.tolist()
    rows = new.tolist()
    tokens = [forced[i] + rows[i][: lens[i]] for i in range(bsz)]
    return Generation(tokens=tokens, stop_reason=stop_reason)
