"""HGPO's mode-forced rollout as a verl agent loop (LHRM, arXiv 2505.14631, §3.2).

Selected by the paper preset (``verl.agent_loop._target_``) and fed by the same
`r1repro_hgpo.rollout.ModeForced` object the local engine uses (``strategy: hgpo.mode_forced``):
of the n samples of a prompt the first ⌊n/2⌋ are forced to open with the think tag and the
rest with the no-think tag (`forced_modes`); the tag (after the template's response prefix)
is part of the *response*, so it is trained and the reward and the ``hgpo`` estimator read
the mode from the response text. Validation samples choose their mode freely (the strategy's
``choose="tags"`` needs the policy's logits, which verl's servers do not expose: on verl it
decodes freely, as ``choose="free"``).
"""

from __future__ import annotations

from typing import Any

from r1repro.verl_bridge.agent_loop import StrategyAgentLoop
from r1repro_hgpo.modes import mode_of
from r1repro_hgpo.rollout import forced_modes


class ModeForcedAgentLoop(StrategyAgentLoop):
    """verl agent loop of ``hgpo.mode_forced`` (see module doc)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for tag in self.strategy.tags.values():
            ids = self.encode(tag)
            if tag not in self.tokenizer.decode(ids, skip_special_tokens=True):
                raise ValueError(f"hgpo: the tokenizer drops the mode tag {tag!r} when decoding "
                                 "(a special token): the reward could not read the mode")  # fmt: skip

    def forced_text(self, kwargs: dict[str, Any], validation: bool) -> tuple[str, str | None]:
        """(forced response text, mode) for this sample; ("", None) when it decodes freely."""
        s = self.strategy
        free = (validation and not s.force_in_eval) or not s.force
        if free:
            return "", None
        mode = forced_modes(self.group_size(validation))[self.slot(kwargs, validation)]
        return (self.template.response_prefix or "") + s.tags[mode], mode

    async def run(self, sampling_params: dict[str, Any], **kwargs):
        validation = self.is_validation(kwargs)
        prompt = await self.prompt_ids(kwargs)
        text, forced_mode = self.forced_text(kwargs, validation)
        forced = self.encode(text)
        out = await self.generate(prompt + forced, sampling_params, self.response_length - len(forced))
        response = forced + list(out.token_ids)
        logprobs = [0.0] * len(forced) + list(out.log_probs or [0.0] * len(out.token_ids))
        mode = forced_mode or mode_of(self.tokenizer.decode(response, skip_special_tokens=True))
        return self.output(prompt, response, [1] * len(response), logprobs,
                           extra={"hgpo_mode": mode, "hgpo_forced": forced_mode is not None,
                                  "hgpo_tag_tokens": len(forced)})  # fmt: skip
