"""TAPO's thought-guided rollout (Wu et al., arXiv 2505.15692, §3.2–3.3), as a RolloutStrategy.

For each question q:

1. ``PCC(q)`` = the number of conditions it gives (the paper asks the model; here the
   dataset's ``row.extra["pcc"]``, see `pcc_of`);
2. retrieve the ``k = |g|`` templates with the smallest ``|PCC(q) − PCC_T|``;
3. give each template ``G/|g|`` of the ``G = n`` rollouts (the first ``n mod |g|`` templates
   get one more) — all n rollouts share **one** group id, so the GRPO advantage compares
   responses across templates;
4. generate step-wise, ``p_ℓ = p_{ℓ−1} ⊕ a_ℓ ⊕ s_ℓ``: for each action ``a_ℓ`` of the template
   append its instruction text (a loss-masked span when ``mask_actions``), then let the policy
   write the step ``s_ℓ`` until the step delimiter (or EOS, which ends the rollout);
5. after the last action the policy continues freely until EOS: it finishes what the template
   left open and gives the answer.

The response budget (``rollout.max_new_tokens``) covers instruction and policy tokens together.
The prompt template's ``response_prefix`` is not forced (TAPO's prompts have none).
``Trajectory.meta`` records ``template`` (id, or ``"unguided"``), ``template_actions``, ``pcc``
and ``phase`` (``train``/``eval``); ``spans`` mark ``action:<code>`` and ``policy`` segments.

Evaluation rollouts (``ctx.evaluation``) are unguided unless ``eval_guided``: the trained
policy is evaluated on plain prompts. ``unguided_per_group`` (default 0) adds plain rollouts to
each group; whether the paper's v1 mixed them in is [unverified].
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from r1repro.components import RolloutStrategy
from r1repro.types import Row, Trajectory
from r1repro_tapo.templates import ThoughtLibrary, ThoughtTemplate

UNGUIDED = "unguided"


def pcc_of(row: Row, key: str = "pcc") -> float:
    """PCC(q): ``row.extra[key]`` when the dataset knows it, else a cheap count of conditions.

    The paper obtains PCC by prompting the model (§3.1). Our fallback counts the sentences of
    the problem minus the question sentence (at least 1) — an [unverified] stand-in.
    """
    value = (row.extra or {}).get(key)
    if value is not None:
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    text = row.problem or ""
    sentences = [s for s in text.replace("?", ".").replace("!", ".").split(".") if s.strip()]
    return float(max(1, len(sentences) - 1))


def split_rollouts(n: int, k: int) -> list[int]:
    """How many of the n rollouts each of k templates gets: G/|g|, remainder to the first ones."""
    if k <= 0:
        return []
    base, extra = divmod(n, k)
    return [base + (1 if j < extra else 0) for j in range(k)]


class TemplateGuided(RolloutStrategy):
    """``tapo.guided``: retrieve |g| thought templates per question and roll out step-wise.

    Options: ``library`` (shipped name ``ops``/``math``, a JSON path, or a dict), ``k`` (|g|,
    2, paper §4.1), ``step_delimiter`` ("\\n"), ``max_step_tokens`` (per step, 64),
    ``action_format`` ("{text}\\n": how an instruction is written into the response),
    ``mask_actions`` (True: instruction tokens get no gradient), ``eval_guided`` (False),
    ``unguided_per_group`` (0), ``pcc_key`` ("pcc").
    """

    def __init__(self, library: Any = "ops", k: int = 2, step_delimiter: str = "\n", max_step_tokens: int = 64,
                 action_format: str = "{text}\n", mask_actions: bool = True, eval_guided: bool = False,
                 unguided_per_group: int = 0, pcc_key: str = "pcc", name: str = "") -> None:  # fmt: skip
        self.library = library if isinstance(library, ThoughtLibrary) else ThoughtLibrary.load(library)
        self.k, self.step_delimiter, self.max_step_tokens = int(k), step_delimiter, int(max_step_tokens)
        self.action_format, self.mask_actions, self.eval_guided = (
            action_format,
            bool(mask_actions),
            bool(eval_guided),
        )
        self.unguided_per_group, self.pcc_key = int(unguided_per_group), pcc_key
        self.name = name or "tapo.guided"
        self.uses: Counter[str] = Counter()

    # ------------------------------------------------------------------ planning
    def plan(self, row: Row, n: int, evaluation: bool = False) -> list[ThoughtTemplate | None]:
        """The template of each of the row's n rollouts (None = unguided), in order."""
        if evaluation and not self.eval_guided:
            return [None] * n
        m = min(max(0, self.unguided_per_group), n)
        temps = self.library.retrieve(pcc_of(row, self.pcc_key), self.k)
        plan: list[ThoughtTemplate | None] = []
        for t, count in zip(temps, split_rollouts(n - m, len(temps))):
            plan += [t] * count
        plan += [None] * (n - len(plan))
        return plan

    # ------------------------------------------------------------------ rollout
    def rollout(
        self, ctx, rows: Sequence[Row], n: int, group_ids: Sequence[str] | None = None
    ) -> list[Trajectory]:
        from r1repro.engine.rollout import new_group_id

        gids = list(group_ids) if group_ids is not None else [new_group_id() for _ in rows]
        phase = "eval" if ctx.evaluation else "train"
        trajs: list[Trajectory] = []
        plans: list[ThoughtTemplate | None] = []
        for row, gid in zip(rows, gids):
            prompt = ctx.encode_prompt(row)
            for tpl in self.plan(row, n, ctx.evaluation):
                trajs.append(Trajectory(row=row, group_id=gid, prompt_ids=list(prompt), response_ids=[],
                                        loss_mask=[], response_text="",
                                        meta={"template": tpl.id if tpl else UNGUIDED,
                                              "template_actions": tpl.signature if tpl else "",
                                              "pcc": pcc_of(row, self.pcc_key), "phase": phase}))  # fmt: skip
                plans.append(tpl)
        done = [False] * len(trajs)
        budget = ctx.max_new_tokens
        depth = max((len(t.actions) for t in plans if t is not None), default=0)
        for step in range(depth):
            live = [i for i, t in enumerate(plans)
                    if t is not None and step < len(t.actions) and not done[i]]  # fmt: skip
            ready = []
            for i in live:
                action = plans[i].actions[step]
                ids = ctx.encode(self.action_format.format(text=self.library.instruction(action)))
                if len(trajs[i].response_ids) + len(ids) >= budget:
                    continue  # no room left for the instruction and a step: go to the free part
                self._append(trajs[i], ids, 0 if self.mask_actions else 1, f"action:{action}")
                ready.append(i)
            if ready:
                self._generate(ctx, trajs, done, ready, self.max_step_tokens, (self.step_delimiter,))
        final = [i for i in range(len(trajs)) if not done[i] and len(trajs[i].response_ids) < budget]
        if final:
            self._generate(ctx, trajs, done, final, budget, ())
        for i, t in enumerate(trajs):
            t.truncated = not done[i]  # no EOS within the budget
            t.num_turns = sum(1 for _, _, kind in t.spans if kind == "policy")
            t.response_text = ctx.decode(t.response_ids)
            t.meta["policy_text"] = ctx.decode([tok for tok, m in zip(t.response_ids, t.loss_mask) if m])
            if phase == "train":
                self.uses[t.meta["template"]] += 1
        return trajs

    def _generate(self, ctx, trajs, done, idx, limit: int, stops: tuple[str, ...]) -> None:
        room = {i: min(limit, ctx.max_new_tokens - len(trajs[i].response_ids)) for i in idx}
        gen = ctx.generate([trajs[i].prompt_ids + trajs[i].response_ids for i in idx],
                           stop_strings=[s for s in stops if s], max_new_tokens=max(room.values()),
                           keys=list(idx))  # fmt: skip
        for i, toks, why in zip(idx, gen.tokens, gen.stop_reason):
            kept = toks[: room[i]]
            if kept:
                self._append(trajs[i], kept, 1, "policy")
            if why == "eos" and len(kept) == len(toks):
                done[i] = True  # the policy ended its response

    @staticmethod
    def _append(t: Trajectory, ids: Sequence[int], mask: int, kind: str) -> None:
        start = len(t.response_ids)
        t.response_ids += list(ids)
        t.loss_mask += [mask] * len(ids)
        t.spans.append((start, len(t.response_ids), kind))

    # ------------------------------------------------------------------ engine callbacks
    def on_step_end(self, engine, step: int, metrics: dict[str, float]) -> dict[str, float]:
        """Template usage of this training step, as metrics (``tapo/uses@<id>``)."""
        out = {f"tapo/uses@{k}": float(v) for k, v in self.uses.items()}
        self.uses.clear()
        return out
