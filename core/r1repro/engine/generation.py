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
cost. The fast path also skips work whose output would be discarded: identical rows (a GRPO
group's copies of a prompt) are prefilled once; once half the rows are done, the finished ones
are no longer decoded (the uniforms are still drawn for every row, so no other row's sample
moves); and with a `PrefixCache` a multi-turn or step-wise rollout reads each conversation's new
tokens only, instead of the whole conversation at every turn (``make bench``, section 8).
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


def sample_tokens(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None,
                  rows: torch.Tensor | None = None, total: int | None = None):  # fmt: skip
    """Greedy at temperature 0; else inverse-CDF sampling from softmax(logits / T), nucleus-cut.

    ``rows``/``total``: ``logits`` are rows ``rows`` of a batch of ``total``; the uniforms are drawn
    for the whole batch, so a row samples the same token whether or not finished rows were dropped."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, idx = probs.sort(dim=-1, descending=True)
        keep = sorted_p.cumsum(dim=-1) - sorted_p < top_p
        probs = torch.zeros_like(probs).scatter_(-1, idx, sorted_p * keep)
    cdf = probs.cumsum(dim=-1)
    u = torch.rand((probs.shape[0] if total is None else total, 1), generator=generator, device="cpu")
    if rows is not None:
        u = u[rows.cpu()]
    u = u.to(probs.device) * cdf[:, -1:]
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


def _distinct_rows(key: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(first row of each distinct row of ``key``, each row's distinct index), or None when more
    than 3/4 of the rows are distinct (prefilling them once would save little)."""
    unique, inverse = torch.unique(key, dim=0, return_inverse=True)
    if len(unique) > 0.75 * len(key):
        return None
    first = torch.full((len(unique),), len(key), dtype=torch.long)
    return first.scatter_reduce_(0, inverse, torch.arange(len(key)), "amin"), inverse


def _spread(dec, once, inverse: torch.Tensor, upto: int, logits: torch.Tensor) -> torch.Tensor:
    """Copy the first ``upto`` cache columns of ``once`` (one row per distinct row) to every row of
    ``dec``; the logits of every row."""
    for (k, v), (k1, v1) in zip(dec.cache, once.cache):
        k[:, :, :upto] = k1[:, :, :upto].index_select(0, inverse)
        v[:, :, :upto] = v1[:, :, :upto].index_select(0, inverse)
    return logits.index_select(0, inverse)


class _FastBackend:
    """`qwen2_fast.FastDecoder`: fused weights, preallocated cache, boolean masks.

    Identical rows (a GRPO group's n copies of one prompt) are prefilled once and their keys and
    values copied to the copies."""

    def __init__(self, model, keep: torch.Tensor) -> None:
        from r1repro.engine.qwen2_fast import FastDecoder, causal_keep_mask

        self.model, self.keep = model, keep.bool()
        self.dec = FastDecoder(model, keep.shape[0], keep.shape[1])
        self._causal = causal_keep_mask

    def prefill(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        from r1repro.engine.qwen2_fast import FastDecoder

        width = ids.shape[1]
        keep = self.keep[:, :width]
        distinct = _distinct_rows(torch.cat([ids, keep.long()], 1))
        if distinct is None:
            return self.dec.forward(ids, positions, 0, self._causal(keep))
        first, inverse = distinct
        once = FastDecoder(self.model, len(first), width)
        logits = once.forward(ids[first], positions[first], 0, self._causal(keep[first]))
        return _spread(self.dec, once, inverse, width, logits)

    def step(self, tok: torch.Tensor, positions: torch.Tensor, upto: int) -> torch.Tensor:
        return self.dec.forward(tok[:, None], positions, upto - 1, self.keep[:, None, None, :upto])

    def keep_rows(self, sel: torch.Tensor, new: torch.Tensor, lengths: torch.Tensor) -> None:
        """Drop finished rows (``sel``: the rows that go on, as indices into the current rows)."""
        self.keep = self.keep.index_select(0, sel)
        self.dec.cache = [(k.index_select(0, sel), v.index_select(0, sel)) for k, v in self.dec.cache]


class PrefixCache:
    """Keys and values of sequences that grow across `generate` calls.

    A multi-turn or step-wise rollout calls `generate` once per turn with each conversation's
    whole sequence so far, so without a cache every call reads the prompt and all earlier turns
    again. Pass one `PrefixCache` and a stable key per conversation (``keys=``) to every call, and
    a call reads only the tokens added since the previous one (an observation, an instruction,
    the last sampled token). A key whose cached tokens are not a prefix of its new sequence starts
    over. The cache is valid for one set of weights: make one per rollout. Qwen2 fast path only
    (`qwen2_fast.supported`); with any other model the keys are ignored.
    """

    def __init__(self) -> None:
        self.ids: dict = {}  # key -> the tokens whose keys/values are stored
        self.slot: dict = {}  # key -> row of the storage
        self.kv: list[tuple[torch.Tensor, torch.Tensor]] = []  # per layer [rows, kv_heads, length, head_dim]

    def reusable(self, key, seq: Sequence[int]) -> int:
        """How many leading tokens of ``seq`` are stored for ``key`` (always < len(seq))."""
        old = self.ids.get(key)
        if not old or len(old) > len(seq) or list(seq[: len(old)]) != old:
            return 0
        return min(len(old), len(seq) - 1)

    def store(
        self, keys: Sequence, ids: Sequence[list[int]], kv: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> None:
        for key in keys:
            self.slot.setdefault(key, len(self.slot))
        rows, length = len(self.slot), max(len(i) for i in ids)
        have_rows, have_len = (self.kv[0][0].shape[0], self.kv[0][0].shape[2]) if self.kv else (0, 0)
        if rows > have_rows or length > have_len:
            grown = []
            for layer, (k, _) in enumerate(kv):  # grow a dimension only when it is too small, then 2x
                shape = (have_rows if rows <= have_rows else max(rows, 2 * have_rows), k.shape[1],
                         have_len if length <= have_len else max(length, 2 * have_len), k.shape[3])  # fmt: skip
                pair = (k.new_zeros(shape), k.new_zeros(shape))
                if self.kv:
                    old_k, old_v = self.kv[layer]
                    pair[0][: old_k.shape[0], :, : old_k.shape[2]] = old_k
                    pair[1][: old_v.shape[0], :, : old_v.shape[2]] = old_v
                grown.append(pair)
            self.kv = grown
        slots = torch.tensor([self.slot[k] for k in keys], dtype=torch.long)
        for (sk, sv), (k, v) in zip(self.kv, kv):
            sk[:, :, :length].index_copy_(0, slots, k[:, :, :length])
            sv[:, :, :length].index_copy_(0, slots, v[:, :, :length])
        for key, seq in zip(keys, ids):
            self.ids[key] = list(seq)


class _CachedBackend:
    """`FastDecoder` over a `PrefixCache`: every row's tokens sit contiguously from column 0 (a
    column is the token's position); a call reads only each row's new tokens."""

    def __init__(self, model, seqs: Sequence[list[int]], keys: Sequence, cache: PrefixCache,
                 max_new_tokens: int) -> None:  # fmt: skip
        from r1repro.engine.qwen2_fast import FastDecoder

        if len(set(keys)) != len(keys):
            raise ValueError("generate: keys must be distinct within a call")
        self.model, self.cache, self.keys, self.seqs = model, cache, list(keys), seqs
        self.reused = [cache.reusable(k, s) for k, s in zip(keys, seqs)]
        self.lens = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        self.rows = torch.arange(len(seqs))  # the call's rows still decoding
        self.trash = int(self.lens.max()) + max_new_tokens  # padding writes land here; nothing reads it
        self.dec = FastDecoder(model, len(seqs), self.trash + 1)
        self.steps = 0
        top = max(self.reused)
        if top:
            slots = torch.tensor([cache.slot.get(k, 0) for k in keys], dtype=torch.long)
            for (k, v), (sk, sv) in zip(self.dec.cache, cache.kv):
                k[:, :, :top] = sk[:, :, :top].index_select(0, slots)
                v[:, :, :top] = sv[:, :, :top].index_select(0, slots)

    @staticmethod
    def _mask(cols: torch.Tensor, kv_len: int) -> torch.Tensor:
        return torch.arange(kv_len)[None, None, None, :] <= cols[:, None, :, None]

    def prefill(self, ids: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        chunks = [s[n:] for s, n in zip(self.seqs, self.reused)]
        width = max(len(c) for c in chunks)
        tok = torch.zeros((len(chunks), width), dtype=torch.long)  # padding: any id, its column is `trash`
        cols = torch.full((len(chunks), width), self.trash, dtype=torch.long)
        for i, (c, n) in enumerate(zip(chunks, self.reused)):
            tok[i, width - len(c) :] = torch.tensor(c, dtype=torch.long)
            cols[i, width - len(c) :] = torch.arange(n, n + len(c))
        kv_len = int(self.lens.max())
        # a fresh call: identical rows (a group's copies) are read once
        distinct = _distinct_rows(torch.cat([tok, cols], 1)) if max(self.reused) == 0 else None
        if distinct is None:
            return self.dec.forward_at(tok, cols, self._mask(cols, kv_len), kv_len)
        from r1repro.engine.qwen2_fast import FastDecoder

        first, inverse = distinct
        once = FastDecoder(self.model, len(first), self.trash + 1)
        logits = once.forward_at(tok[first], cols[first], self._mask(cols[first], kv_len), kv_len)
        return _spread(self.dec, once, inverse, kv_len, logits)

    def step(self, tok: torch.Tensor, positions: torch.Tensor, upto: int) -> torch.Tensor:
        cols = (self.lens + self.steps)[:, None]
        self.steps += 1
        kv_len = int(self.lens.max()) + self.steps
        return self.dec.forward_at(tok[:, None], cols, self._mask(cols, kv_len), kv_len)

    def finish(self, new: torch.Tensor, lengths: torch.Tensor, which: torch.Tensor | None = None) -> None:
        """Store what was read: each row's sequence and the sampled tokens that were fed back
        (``which``: only these of the current rows)."""
        which = torch.arange(len(self.rows)) if which is None else which
        if len(which) == 0:
            return
        idx = self.rows.index_select(0, which).tolist()  # rows of the call
        fed = lengths.clamp(max=self.steps).tolist()
        ids = [list(self.seqs[i]) + new[i, : fed[i]].tolist() for i in idx]
        kv = [(k.index_select(0, which), v.index_select(0, which)) for k, v in self.dec.cache]
        self.cache.store([self.keys[i] for i in idx], ids, kv)

    def keep_rows(self, sel: torch.Tensor, new: torch.Tensor, lengths: torch.Tensor) -> None:
        """Store the rows that are done, then drop them (``sel``: the current rows that go on)."""
        gone = torch.ones(len(self.rows), dtype=torch.bool)
        gone[sel] = False
        self.finish(new, lengths, torch.nonzero(gone).flatten())
        self.rows, self.lens = self.rows.index_select(0, sel), self.lens.index_select(0, sel)
        self.dec.cache = [(k.index_select(0, sel), v.index_select(0, sel)) for k, v in self.dec.cache]


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
    cache: PrefixCache | None = None,
    keys: Sequence | None = None,
) -> Generation:
    """Sample a continuation for every prompt (token ids, no padding).

    ``cache`` and ``keys`` (one stable key per sequence): reuse the keys and values of earlier
    calls (`PrefixCache`); on the fast path only, elsewhere they are ignored."""
    if len(prompts) > batch_size:
        out = Generation([], [])
        for i in range(0, len(prompts), batch_size):
            part = generate(
                model, prompts[i : i + batch_size], max_new_tokens=max_new_tokens, eos_ids=eos_ids,
                pad_id=pad_id, temperature=temperature, top_p=top_p, generator=generator,
                forced=None if forced is None else forced[i : i + batch_size],
                stop_strings=stop_strings, tokenizer=tokenizer, batch_size=batch_size, fast=fast,
                cache=cache, keys=None if keys is None else keys[i : i + batch_size],
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

    if fast and qwen2_fast.supported(model):
        if cache is not None and keys is not None:
            backend = _CachedBackend(model, seqs, keys, cache, max_new_tokens)
        else:
            backend = _FastBackend(model, keep)
    else:
        backend = _HFBackend(model, keep)
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
        rows = torch.arange(bsz, device=device)  # the rows the backend still decodes
        for t in range(max_new_tokens):
            tok = torch.full((bsz,), pad_id, dtype=torch.long, device=device)
            tok[rows] = sample_tokens(logits, temperature, top_p, generator, rows=rows, total=bsz)
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
            going = ~done.index_select(0, rows)
            if hasattr(backend, "keep_rows") and int(going.sum()) <= len(rows) // 2:
                # half the rows are done: stop decoding them (their outputs were discarded anyway)
                sel = torch.nonzero(going).flatten()
                backend.keep_rows(sel, new, lengths)
                rows = rows.index_select(0, sel)
            logits = backend.step(tok.index_select(0, rows), next_pos.index_select(0, rows), width + t + 1)
            next_pos = next_pos + 1
    finally:
        model.train(was_training)
    if isinstance(backend, _CachedBackend):
        backend.finish(new, lengths)

    eos_rows = ended_eos.tolist()
    stop_reason = [reason.get(i, "eos" if eos_rows[i] else "length") for i in range(bsz)]
    lens = lengths.tolist()
    rows = new.tolist()
    tokens = [forced[i] + rows[i][: lens[i]] for i in range(bsz)]
    return Generation(tokens=tokens, stop_reason=stop_reason)
