"""The proxy model's NLL of the reference answer given the prompt and the reasoning.

NOVER scores a reasoning ``t`` by how well it makes the reference ``g`` predictable
(paper §3.2; official ``utils.py::calculate_perplexity``): the sequence

    prompt  +  "\\n<think>\\n{t}\\n</think>\\n"  +  "\\n<answer>\\n{g}\\n</answer>"
    ---------------- context ----------------     ---------- target ----------

is run through the proxy and the mean token NLL over exactly the target tokens is kept.

Each part is tokenised on its own and the ids are concatenated, so the target mask is exact
(the official code tokenises the whole string and cuts at the length of the tokenised
prefix, which can be off by one token when BPE merges across the boundary). A batch is
right-padded and scored in one forward pass (or in chunks of ``batch_size``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def answer_block(reference: str, answer_tag: str = "answer") -> str:
    """The scored target: the reference inside the answer tags, as the official code builds it."""
    return f"\n<{answer_tag}>\n{reference}\n</{answer_tag}>"


def reasoning_block(reasoning: str, think_tag: str = "think") -> str:
    """What is appended to the prompt before the target ("" when the reasoning is empty)."""
    return f"\n<{think_tag}>\n{reasoning}\n</{think_tag}>\n" if reasoning else ""


@torch.no_grad()
def target_nll(
    model,
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    pad_id: int,
    batch_size: int = 0,
    max_tokens: int | None = None,
) -> list[float]:
    """Mean NLL (nats per token) of each ``target`` given its ``context`` under ``model``.

    ``pairs`` are (context_ids, target_ids). Contexts longer than ``max_tokens - len(target)``
    keep their last tokens. A pair with an empty target gets ``nan``.
    """
    out: list[float] = [float("nan")] * len(pairs)
    todo = []
    for i, (ctx, tgt) in enumerate(pairs):
        ctx, tgt = list(ctx), list(tgt)
        if not tgt:
            continue
        if max_tokens is not None:
            tgt = tgt[: max(1, max_tokens - 1)]
            ctx = ctx[-max(1, max_tokens - len(tgt)) :] if ctx else ctx
        if not ctx:  # the first target token needs something to be predicted from
            ctx = [pad_id]
        todo.append((i, ctx, tgt))
    step = batch_size if batch_size and batch_size > 0 else max(1, len(todo))
    device = next(model.parameters()).device
    for start in range(0, len(todo), step):
        chunk = todo[start : start + step]
        width = max(len(c) + len(t) for _, c, t in chunk)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(chunk), width), dtype=torch.long)
        tmask = torch.zeros((len(chunk), width), dtype=torch.float32)
        for row, (_, c, t) in enumerate(chunk):
            seq = c + t
            ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            attn[row, : len(seq)] = 1
            tmask[row, len(c) : len(seq)] = 1.0
        logits = model(input_ids=ids.to(device), attention_mask=attn.to(device), use_cache=False).logits
        logp = torch.log_softmax(logits[:, :-1, :].float(), dim=-1)
        tok_logp = logp.gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1).cpu()
        m = tmask[:, 1:]
        nll = -(tok_logp * m).sum(-1) / m.sum(-1).clamp(min=1.0)
        for row, (i, _, _) in enumerate(chunk):
            out[i] = float(nll[row])
    return out
