"""TAPO's thought-guided step-wise rollout as a verl agent loop (arXiv 2505.15692, §3.2–3.3).

Selected by the paper preset (``verl.agent_loop._target_``) and fed by the same
`r1repro_tapo.rollout.TemplateGuided` object the local engine uses (``strategy: tapo.guided``):
the sample's template is ``strategy.plan(row, n)[slot]`` (|g| retrieved templates sharing the
n samples of the prompt); for each action the instruction text is appended to the response
(response_mask 0 when ``mask_actions``, as verl masks tool output), then the policy writes one
step until the step delimiter; after the last action it continues freely to EOS. The response
budget (``data.max_response_length``) covers instructions and policy tokens together, as in
the local engine. Validation samples are unguided unless ``eval_guided``.
"""

from __future__ import annotations

from typing import Any

from r1repro.verl_bridge.agent_loop import StrategyAgentLoop, row_from_kwargs
from r1repro_tapo.rollout import UNGUIDED


class GuidedAgentLoop(StrategyAgentLoop):
    """verl agent loop of ``tapo.guided`` (see module doc)."""

    async def run(self, sampling_params: dict[str, Any], **kwargs):
        s = self.strategy
        validation = self.is_validation(kwargs)
        prompt = await self.prompt_ids(kwargs)
        row = row_from_kwargs(kwargs)
        template = s.plan(row, self.group_size(validation), validation)[self.slot(kwargs, validation)]
        response: list[int] = []
        mask: list[int] = []
        logprobs: list[float] = []
        done, steps = False, 0
        budget = self.response_length

        async def policy(limit: int, stop: list[str] | None) -> bool:
            out = await self.generate(
                prompt + response, sampling_params, min(limit, budget - len(response)), stop
            )
            toks = list(out.token_ids)[: budget - len(response)]
            response.extend(toks)
            mask.extend([1] * len(toks))
            logprobs.extend(list(out.log_probs or [0.0] * len(toks))[: len(toks)])
            return self.ends_with_eos(toks)

        for action in template.actions if template is not None else ():
            ids = self.encode(s.action_format.format(text=s.library.instruction(action)))
            if len(response) + len(ids) >= budget:
                break  # no room for the instruction and a step: go to the free part
            response.extend(ids)
            mask.extend([0 if s.mask_actions else 1] * len(ids))
            logprobs.extend([0.0] * len(ids))
            steps += 1
            done = await policy(s.max_step_tokens, [s.step_delimiter] if s.step_delimiter else None)
            if done:
                break
        if not done and len(response) < budget:
            await policy(budget, None)
            steps += 1
        return self.output(prompt, response, mask, logprobs, turns=1 + steps,
                           extra={"tapo_template": template.id if template is not None else UNGUIDED})  # fmt: skip
