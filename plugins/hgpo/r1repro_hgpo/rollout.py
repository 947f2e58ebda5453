"""HGPO's mode-forced rollout (LHRM, arXiv 2505.14631, §3.2).

For each prompt, the first N/2 responses are forced to open with ``<think>`` and the other
N/2 with ``<no_think>``; the policy writes the rest. The tag is part of the *response*
(a forced prefix, not prompt text), so it is scored by the policy and receives gradient —
exactly the token(s) HGPO's inter-group advantage acts on. Built on the core's
`SingleTurn` (``forced_text`` per response): the training loop is the core's.

In evaluation (``ctx.evaluation``) nothing is forced: the policy chooses its mode. Two
ways to read that choice (option ``choose``):

* ``"free"`` (default): plain decoding; the mode is the response's first tag, ``none`` if
  it starts with anything else;
* ``"tags"``: the first token is the policy's preference *between the two tags* (greedy:
  the likelier tag; sampled: drawn from the two tags' renormalised probabilities), the rest
  is decoded freely. Training never samples the first token (it is always forced), so
  nothing in HGPO's objective keeps a tiny policy's first-token mass on the tags; at CPU
  scale that mass can leak to other tokens while the think/no-think *ratio* stays learned.
  The reproduction reads the choice this way and reports the leak of free decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r1repro.engine.rollout import SingleTurn, expand
from r1repro.types import Row, Trajectory
from r1repro_hgpo.modes import NO_THINK, NO_THINK_TAG, THINK, THINK_TAG, mode_of


def forced_modes(n: int) -> list[str]:
    """Modes of one group of n responses: the first ⌊n/2⌋ think, the rest no-think.

    (For an odd n the extra response is a no-thinking one — our choice; the paper uses N=4.)
    """
    return [THINK] * (n // 2) + [NO_THINK] * (n - n // 2)


class ModeForced(SingleTurn):
    """Half of each group forced into ``<think>``, half into ``<no_think>`` (see module doc).

    Options: ``think_tag`` / ``no_think_tag`` (the forced texts); ``force`` (False: training
    rollouts are free too — the plain-GRPO baseline with the same evaluation); ``choose``
    ("free" | "tags": how evaluation reads the policy's mode choice); ``force_in_eval``.
    Records ``meta["mode"]``, ``meta["forced"]``, and ``meta["tag_start"]`` /
    ``meta["tag_tokens"]`` (where the forced tag sits in the response and how many tokens
    it took: the span the ``hgpo`` estimator puts the inter-group advantage on).
    """

    name = "hgpo.mode_forced"
    description = "HGPO: N/2 responses forced into <think>, N/2 into <no_think> (tag in the response)"

    def __init__(self, think_tag: str = THINK_TAG, no_think_tag: str = NO_THINK_TAG, force: bool = True,
                 choose: str = "free", force_in_eval: bool = False, name: str = "") -> None:  # fmt: skip
        if choose not in ("free", "tags"):
            raise ValueError(f"choose must be 'free' or 'tags', got {choose!r}")
        self.tags = {THINK: think_tag, NO_THINK: no_think_tag}
        self.force, self.choose, self.force_in_eval = force, choose, force_in_eval
        if name:
            self.name = name

    def rollout(self, ctx, rows: Sequence[Row], n: int, group_ids: Sequence[str] | None = None,
                modes: Sequence[str] | None = None) -> list[Trajectory]:  # fmt: skip
        """``modes`` (one per response, row-major) overrides the default half/half split."""
        if modes is None:
            if ctx.evaluation and not self.force_in_eval:
                return self._chosen(ctx, rows, n, group_ids)
            if not self.force:
                return self._free(ctx, rows, n, group_ids)
        plan = list(modes) if modes is not None else forced_modes(n) * len(rows)
        if len(plan) != n * len(rows):
            raise ValueError(f"modes has {len(plan)} entries for {len(rows)} rows x n={n}")
        trajs = self._forced(ctx, rows, n, plan, group_ids)
        for t in trajs:
            t.meta["forced"] = True
        return trajs

    # ------------------------------------------------------------------ pieces
    def _forced(self, ctx, rows, n, plan, group_ids):
        prefix = ctx.template.response_prefix
        trajs = super().rollout(ctx, rows, n, forced_text=[prefix + self.tags[m] for m in plan],
                                group_ids=group_ids)  # fmt: skip
        start = len(ctx.encode(prefix))
        tag_len = {m: len(ctx.encode(prefix + self.tags[m])) - start for m in set(plan)}
        for t, m in zip(trajs, plan):
            t.meta.update({"mode": m, "tag_start": start, "tag_tokens": tag_len[m]})
        return trajs

    def _free(self, ctx, rows, n, group_ids):
        trajs = super().rollout(ctx, rows, n, group_ids=group_ids)
        for t in trajs:
            t.meta.update({"mode": mode_of(t.response_text), "forced": False})
        return trajs

    def _chosen(self, ctx, rows, n, group_ids):
        if self.choose == "free":
            return self._free(ctx, rows, n, group_ids)
        plan = self.preferred_modes(ctx, [r for r, _ in expand(rows, n, ["_"] * len(rows))])
        trajs = self._forced(ctx, rows, n, plan, group_ids)
        for t in trajs:
            t.meta.update({"forced": False, "chosen_by": "tags"})
        return trajs

    @torch.no_grad()
    def preferred_modes(self, ctx, rows: Sequence[Row]) -> list[str]:
        """Per row, the policy's choice between the two tags' first tokens (greedy at
        temperature 0, else sampled from their renormalised probabilities)."""
        prefix_ids = ctx.encode(ctx.template.response_prefix)
        first = {
            m: ctx.encode(ctx.template.response_prefix + self.tags[m])[len(prefix_ids)] for m in self.tags
        }
        if first[THINK] == first[NO_THINK]:
            raise ValueError("choose='tags' needs the two mode tags to start with different tokens")
        seqs = [ctx.encode_prompt(r) + prefix_ids for r in rows]
        out: list[str] = []
        model = ctx.model
        device = next(model.parameters()).device
        was_training = model.training
        model.eval()
        try:
            for i in range(0, len(seqs), 256):
                part = seqs[i : i + 256]
                width = max(len(s) for s in part)
                ids = torch.full((len(part), width), ctx.tokenizer.pad_token_id, dtype=torch.long)
                mask = torch.zeros((len(part), width), dtype=torch.long)
                for j, s in enumerate(part):
                    ids[j, width - len(s) :] = torch.tensor(s, dtype=torch.long)
                    mask[j, width - len(s) :] = 1
                pos = (mask.cumsum(-1) - 1).clamp(min=0)
                logits = model(input_ids=ids.to(device), attention_mask=mask.to(device),
                               position_ids=pos.to(device)).logits[:, -1, :].float().cpu()  # fmt: skip
                pair = torch.stack([logits[:, first[THINK]], logits[:, first[NO_THINK]]], -1)
                if ctx.temperature and ctx.temperature > 0:
                    probs = torch.softmax(pair / ctx.temperature, -1)
                    pick = torch.multinomial(probs, 1, generator=ctx.generator).squeeze(-1)
                else:
                    pick = pair.argmax(-1)
                out += [THINK if int(k) == 0 else NO_THINK for k in pick]
        finally:
            model.train(was_training)
        return out
