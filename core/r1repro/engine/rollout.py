"""Rollouts: single-turn, and multi-turn with an environment (observations masked).

A `RolloutStrategy` receives a `RolloutContext` (the policy, tokenizer, template, an
environment if configured, and a seeded generator) and returns one `Trajectory` per
response. Plugins that change *what is generated* (HGPO's forced modes, TAPO's guided
steps) write a strategy on top of `RolloutContext.generate` instead of copying the
training loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from r1repro.components import Environment, RolloutStrategy, Template
from r1repro.engine.generation import Generation, PrefixCache, generate
from r1repro.types import Row, Trajectory


@dataclass
class RolloutContext:
    model: Any
    tokenizer: Any
    template: Template
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    max_prompt_length: int = 256
    generator: torch.Generator | None = None
    environment: Environment | None = None
    step: int = 0
    fast: bool = False  # the Qwen2 fast path of the sampler (see engine/qwen2_fast.py)
    evaluation: bool = False  # True for evaluation rollouts (no forced exploration, n=1)
    extra: dict[str, Any] = field(default_factory=dict)
    # keys/values of the conversations of this rollout, reused across turns (``generate(keys=...)``)
    prefix_cache: PrefixCache = field(default_factory=PrefixCache)

    # ------------------------------------------------------------------ token helpers
    @property
    def eos_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        end = self.tokenizer.convert_tokens_to_ids("<|endoftext|>")
        if isinstance(end, int) and end >= 0 and end != getattr(self.tokenizer, "unk_token_id", None):
            ids.add(end)
        return sorted(i for i in ids if i is not None)

    def encode_prompt(self, row: Row) -> list[int]:
        """Template -> chat messages -> token ids (kept to the last ``max_prompt_length``)."""
        if row.prompt is None:
            row.prompt = self.template.render(row)
        text = self.tokenizer.apply_chat_template(row.prompt, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids[-self.max_prompt_length :]

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        forced: Sequence[Sequence[int]] | None = None,
        stop_strings: Sequence[str] = (),
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        keys: Sequence | None = None,
    ) -> Generation:
        """Sample continuations. ``keys``: one stable id per conversation (e.g. its index in the
        rollout) when the same conversations come back with more tokens, turn after turn: each
        call then reads only the new tokens (`PrefixCache`, Qwen2 fast path)."""
        return generate(
            self.model,
            prompts,
            max_new_tokens=max_new_tokens or self.max_new_tokens,
            eos_ids=self.eos_ids,
            pad_id=self.tokenizer.pad_token_id,
            temperature=self.temperature if temperature is None else temperature,
            top_p=self.top_p,
            generator=self.generator,
            forced=forced,
            stop_strings=stop_strings,
            tokenizer=self.tokenizer,
            fast=self.fast,
            cache=self.prefix_cache if keys is not None else None,
            keys=keys,
        )


def new_group_id() -> str:
    return uuid.uuid4().hex[:12]


def expand(rows: Sequence[Row], n: int, group_ids: Sequence[str] | None = None) -> list[tuple[Row, str]]:
    """Each row n times, with one group id per row (the GRPO group)."""
    gids = list(group_ids) if group_ids is not None else [new_group_id() for _ in rows]
    return [(row, gid) for row, gid in zip(rows, gids) for _ in range(n)]


class SingleTurn(RolloutStrategy):
    """One generation per response; the template's ``response_prefix`` is forced."""

    name = "core.single_turn"
    description = "one generation per response (R1-Zero / GRPO default)"

    def rollout(self, ctx: RolloutContext, rows: Sequence[Row], n: int, forced_text: Sequence[str] | None = None,
                group_ids: Sequence[str] | None = None) -> list[Trajectory]:  # fmt: skip
        pairs = expand(rows, n, group_ids)
        prompts = [ctx.encode_prompt(r) for r, _ in pairs]
        prefix = ctx.template.response_prefix
        texts = list(forced_text) if forced_text is not None else [prefix] * len(pairs)
        forced = [ctx.encode(t) for t in texts]
        gen = ctx.generate(prompts, forced=forced)
        out = []
        for (row, gid), p, toks, why in zip(pairs, prompts, gen.tokens, gen.stop_reason):
            out.append(
                Trajectory(
                    row=row, group_id=gid, prompt_ids=p, response_ids=toks, loss_mask=[1] * len(toks),
                    response_text=ctx.decode(toks), truncated=why == "length",
                    spans=[(0, len(toks), "policy")], meta={"stop_reason": why},
                )
            )  # fmt: skip
        return out


class MultiTurn(RolloutStrategy):
    """generate -> environment step -> observation (masked) -> generate ..., per response.

    All live conversations of the batch advance one turn together. The response budget
    (``max_new_tokens``) covers every turn; an observation is cut to the environment's
    ``max_observation_tokens``.
    """

    name = "core.multi_turn"
    description = "multi-turn tool rollouts through an Environment; observations masked from the loss"

    def rollout(self, ctx: RolloutContext, rows: Sequence[Row], n: int,
                group_ids: Sequence[str] | None = None) -> list[Trajectory]:  # fmt: skip
        env = ctx.environment
        if env is None:
            raise ValueError("core.multi_turn needs rollout.environment to name an environment")
        pairs = expand(rows, n, group_ids)
        trajs = []
        states = []
        for row, gid in pairs:
            p = ctx.encode_prompt(row)
            trajs.append(Trajectory(row=row, group_id=gid, prompt_ids=p, response_ids=[], loss_mask=[],
                                    response_text="", num_turns=0))  # fmt: skip
            states.append(env.reset(row))
        live = list(range(len(trajs)))
        prefix_ids = ctx.encode(ctx.template.response_prefix)
        # an environment with ``final_answer_turn`` gets one more, tool-free generation after its
        # last turn (Search-R1 / StepSearch: "answer now" warning, then a search-free turn)
        final_turn = env.max_turns if getattr(env, "final_answer_turn", False) else None
        for turn in range(env.max_turns + (final_turn is not None)):
            budget = {i: ctx.max_new_tokens - len(trajs[i].response_ids) for i in live}
            live = [i for i in live if budget[i] > 0]
            if not live:
                break
            forced = [prefix_ids if turn == 0 else [] for _ in live]
            gen = ctx.generate(
                [trajs[i].prompt_ids + trajs[i].response_ids for i in live],
                forced=forced,
                stop_strings=env.stop_strings,
                max_new_tokens=max(budget[i] for i in live),
                keys=live,
            )
            still = []
            for i, toks, why in zip(live, gen.tokens, gen.stop_reason):
                t = trajs[i]
                toks = toks[: budget[i]]
                # ``continue_after_eos``: an EOS does not end the episode, the environment judges the
                # text (Search-R1 / StepSearch decode without special tokens: the EOS is dropped)
                eos_goes_on = why == "eos" and getattr(env, "continue_after_eos", False) and turn != final_turn
                while eos_goes_on and toks and toks[-1] in ctx.eos_ids:
                    toks = toks[:-1]
                start = len(t.response_ids)
                t.response_ids += toks
                t.loss_mask += [1] * len(toks)
                t.spans.append((start, len(t.response_ids), "policy"))
                t.num_turns += 1
                record = {"policy": ctx.decode(toks), "observation": "", "end": len(t.response_ids) - 1}
                t.meta.setdefault("turns", []).append(record)  # the model's text per turn (rewards read it)
                if why == "length" or len(t.response_ids) >= ctx.max_new_tokens:
                    t.truncated = True
                    continue
                if (why == "eos" and not eos_goes_on) or turn == final_turn:  # the episode is over
                    continue
                step = env.step(states[i], record["policy"])
                t.tool_calls += int(step.tool_call)
                t.tool_failures += int(step.tool_failed)
                if step.step_reward is not None:
                    t.step_rewards.append((len(t.response_ids) - 1, float(step.step_reward)))
                if step.images:
                    t.images = (t.images or []) + list(step.images)
                if step.info:
                    t.meta.setdefault("env_info", []).append(step.info)
                if step.observation:
                    obs = ctx.encode(step.observation)[: env.max_observation_tokens]
                    start = len(t.response_ids)
                    t.response_ids += obs
                    t.loss_mask += [0] * len(obs)
                    t.spans.append((start, len(t.response_ids), "observation"))
                    record["observation"] = ctx.decode(obs)
                if not step.done:
                    still.append(i)
            live = still
        for i, t in enumerate(trajs):
            env.close(states[i])
            t.response_text = ctx.decode(t.response_ids)
            t.meta["policy_text"] = ctx.decode([tok for tok, m in zip(t.response_ids, t.loss_mask) if m])
        return trajs
