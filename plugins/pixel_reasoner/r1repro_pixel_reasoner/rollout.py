"""Multi-turn rollouts of a vision-language policy whose tools return images.

The core's ``core.multi_turn`` inserts text observations; here an observation can carry images
that the policy must *see* in its next turn. Per live conversation and turn:

1. generate (Qwen2(.5)-VL, `r1repro.engine.vl.generate_vl`) on [prompt | response so far] with
   every image of the conversation (the row's, then each returned one, in order);
2. the turn ends at EOS; `VisualOpsEnvironment.step` reads it: an answer ends the episode, a tool
   call returns text + images;
3. the observation becomes a user turn of the chat template (`observation_turn`), each ``<image>``
   expanded into its vision span, appended with loss mask 0, its images appended to the
   trajectory (``Trajectory.images``; the update feeds them back, `engine.vl.collate_vision`).

Force-termination (Pixel Reasoner): the environment's tool-call and image caps, a response of more
than ``max_response_tokens`` tokens (an observation that would not fit is never cut: cutting an
image span would break the model's image-token count; the episode ends instead). Turns after a
tool call are sampled at ``after_tool_temperature`` (0.9) unless decoding is greedy.

``meta["visual_ops"]`` lists every call (name, valid, error): the curiosity reward reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from r1repro.components import RolloutStrategy
from r1repro.engine.rollout import expand
from r1repro.types import Row, Trajectory
from r1repro_pixel_reasoner.constants import AFTER_TOOL_TEMPERATURE, MAX_RESPONSE_TOKENS


def observation_turn(tokenizer, text: str) -> str:
    """The text that follows an assistant turn's end token to insert a user turn ``text`` and
    open the next assistant turn, as the tokenizer's own chat template writes it."""
    marker = "\x00A\x00"
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Q"}, {"role": "assistant", "content": marker}, {"role": "user", "content": text}],
        tokenize=False, add_generation_prompt=True,
    )  # fmt: skip
    after = full.split(marker, 1)[1]
    eos = tokenizer.eos_token or ""
    return after[len(eos) :] if eos and after.startswith(eos) else after


class VisualToolRollout(RolloutStrategy):
    """generate -> tool call -> images back -> generate ..., for Qwen2(.5)-VL policies."""

    name = "pixel_reasoner.visual_tools"
    description = "multi-turn VL rollouts; crop / select_frames return images inside the conversation"

    def __init__(self, max_response_tokens: int = MAX_RESPONSE_TOKENS,
                 after_tool_temperature: float = AFTER_TOOL_TEMPERATURE, max_turn_tokens: int | None = None) -> None:  # fmt: skip
        self.max_response_tokens = int(max_response_tokens)
        self.after_tool_temperature = float(after_tool_temperature)
        self.max_turn_tokens = max_turn_tokens

    def rollout(
        self, ctx, rows: Sequence[Row], n: int, group_ids: Sequence[str] | None = None
    ) -> list[Trajectory]:
        from r1repro.engine.vl import encode_prompt, generate_vl, processor_of, row_images
        from r1repro.vision import expand_placeholders

        env = ctx.environment
        if env is None:
            from r1repro_pixel_reasoner.env import VisualOpsEnvironment

            env = VisualOpsEnvironment()
        proc = processor_of(ctx.model)
        prompt_cache: dict[int, list[int]] = {}
        trajs, states = [], []
        for row, gid in expand(rows, n, group_ids):
            if id(row) not in prompt_cache:
                if row.prompt is None:
                    row.prompt = ctx.template.render(row)
                prompt_cache[id(row)] = encode_prompt(ctx.tokenizer, proc, row.prompt, row_images(row))[0]
            trajs.append(Trajectory(row=row, group_id=gid, prompt_ids=prompt_cache[id(row)], response_ids=[],
                                    loss_mask=[], response_text="", num_turns=0, images=list(row_images(row)),
                                    meta={"turns": [], "visual_ops": []}))  # fmt: skip
            states.append(env.reset(row))
        budget_total = min(ctx.max_new_tokens, self.max_response_tokens)
        prefix = ctx.encode(ctx.template.response_prefix)
        live = list(range(len(trajs)))
        for turn in range(env.max_turns):
            live = [i for i in live if budget_total - len(trajs[i].response_ids) > 0]
            if not live:
                break
            per_turn = max(budget_total - len(trajs[i].response_ids) for i in live)
            if self.max_turn_tokens:
                per_turn = min(per_turn, int(self.max_turn_tokens))
            temp = ctx.temperature
            if turn > 0 and ctx.temperature > 0 and not ctx.evaluation:
                temp = self.after_tool_temperature
            gen = generate_vl(ctx.model, [trajs[i].prompt_ids + trajs[i].response_ids for i in live],
                              [proc(trajs[i].images) if trajs[i].images else None for i in live],
                              max_new_tokens=per_turn, eos_ids=ctx.eos_ids, pad_id=ctx.tokenizer.pad_token_id,
                              temperature=temp, top_p=ctx.top_p, generator=ctx.generator,
                              forced=[prefix if turn == 0 else [] for _ in live])  # fmt: skip
            live = [i for i, toks, why in zip(live, gen.tokens, gen.stop_reason)
                    if self._advance(ctx, env, proc, trajs[i], states[i], toks, why, budget_total,
                                     expand_placeholders)]  # fmt: skip
        for t, s in zip(trajs, states):
            env.close(s)
            t.response_text = ctx.decode(t.response_ids)
            t.meta["policy_text"] = ctx.decode([tok for tok, m in zip(t.response_ids, t.loss_mask) if m])
            t.meta["final_turn"] = t.meta["turns"][-1]["policy"] if t.meta["turns"] else ""
            t.meta["forced_stop"] = s.get("forced_stop", "")
        return trajs

    def _advance(self, ctx, env, proc, t: Trajectory, state: Any, toks: list[int], why: str, budget: int,
                 expand_placeholders) -> bool:  # fmt: skip
        """Append one policy turn and, for a tool call, its observation; True if the episode goes on."""
        toks = toks[: budget - len(t.response_ids)]
        start = len(t.response_ids)
        t.response_ids += toks
        t.loss_mask += [1] * len(toks)
        t.spans.append((start, len(t.response_ids), "policy"))
        t.num_turns += 1
        text = ctx.decode(toks)
        t.meta["turns"].append({"policy": text, "observation": ""})
        if why != "eos":
            t.truncated = True
            return False
        step = env.step(state, text)
        if step.info.get("action") == "tool":
            t.meta["visual_ops"].append({k: step.info[k] for k in ("name", "valid", "error")})
        if step.done or step.observation is None:
            return False
        new_images = list(step.images or [])
        body = observation_turn(ctx.tokenizer, step.observation)
        if new_images:
            body = expand_placeholders(body, proc(new_images).tokens_per_image)
        obs = ctx.encode(body)
        if len(t.response_ids) + len(obs) >= budget:  # never cut an observation (image spans)
            state["forced_stop"] = "max_response_tokens"
            t.truncated = True
            return False
        t.tool_calls += 1
        t.tool_failures += int(step.tool_failed)
        start = len(t.response_ids)
        t.response_ids += obs
        t.loss_mask += [0] * len(obs)
        t.spans.append((start, len(t.response_ids), "observation"))
        t.images = list(t.images or []) + new_images
        t.meta["turns"][-1]["observation"] = step.observation
        return True
