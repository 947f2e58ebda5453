"""The mode-forced rollout (LHRM §3.2) assembled with a scripted generator, and evaluation choice."""

import pytest
import torch
from r1repro_hgpo.rollout import ModeForced, forced_modes
from r1repro_hgpo.templates import HybridTemplate

from r1repro.engine.generation import Generation
from r1repro.engine.rollout import RolloutContext
from r1repro.models.tiny import load_tokenizer
from r1repro.types import Row


class ScriptedContext(RolloutContext):
    """Generation replaced by a script: every response = forced prefix + the scripted tokens."""

    def __init__(self, script: str, **kw):
        tok = load_tokenizer()
        super().__init__(
            model=kw.pop("model", None), tokenizer=tok, template=HybridTemplate(), max_new_tokens=8, **kw
        )
        self.script, self.calls = script, []

    def generate(self, prompts, *, forced=None, stop_strings=(), max_new_tokens=None, temperature=None):
        forced = [list(f) for f in forced] if forced is not None else [[] for _ in prompts]
        self.calls.append(forced)
        return Generation([f + self.encode(self.script) + [self.tokenizer.eos_token_id] for f in forced],
                          ["eos"] * len(prompts))  # fmt: skip


ROWS = [Row(id=f"r{i}", problem=p, ground_truth="1", data_source="t", domain=d)
        for i, (p, d) in enumerate([("g(3)", "easy"), ("h(f(g(3)))", "hard")])]  # fmt: skip


def test_forced_modes_split():
    assert forced_modes(4) == ["think", "think", "no_think", "no_think"]
    assert forced_modes(5) == ["think"] * 2 + ["no_think"] * 3
    assert forced_modes(1) == ["no_think"]


def test_training_rollout_forces_half_of_each_group_into_each_mode():
    ctx = ScriptedContext("x</think>\\boxed{1}")
    trajs = ModeForced().rollout(ctx, ROWS, 4, group_ids=["ga", "gb"])
    tok = ctx.tokenizer
    think, no = tok.convert_tokens_to_ids("<think>"), tok.convert_tokens_to_ids("<no_think>")
    assert ctx.calls == [[[think], [think], [no], [no]] * 2]  # both tags are single tokens
    assert [t.group_id for t in trajs] == ["ga"] * 4 + ["gb"] * 4
    assert [t.row.id for t in trajs] == ["r0"] * 4 + ["r1"] * 4
    assert [t.meta["mode"] for t in trajs] == ["think", "think", "no_think", "no_think"] * 2
    for t in trajs:
        assert t.meta["forced"] and t.meta["tag_start"] == 0 and t.meta["tag_tokens"] == 1
        assert t.response_ids[0] == (think if t.meta["mode"] == "think" else no)
        assert t.loss_mask[0] == 1  # the tag is part of the response: it gets gradient
        assert t.response_text.startswith("<think>" if t.meta["mode"] == "think" else "<no_think>")
        assert t.to_sample().meta["mode"] == t.meta["mode"]


def test_multi_token_tags_and_explicit_plan():
    ctx = ScriptedContext("1")
    trajs = ModeForced(think_tag="<think>\n", no_think_tag="<no_think>\n").rollout(
        ctx, ROWS[:1], 2, modes=["no_think", "think"]
    )
    assert [t.meta["mode"] for t in trajs] == ["no_think", "think"]
    assert [t.meta["tag_tokens"] for t in trajs] == [
        len(ctx.encode("<no_think>\n")),
        len(ctx.encode("<think>\n")),
    ]
    with pytest.raises(ValueError):
        ModeForced().rollout(ctx, ROWS, 2, modes=["think"])


def test_evaluation_does_not_force_and_reads_the_chosen_mode():
    ctx = ScriptedContext("<no_think>\\boxed{1}</no_think>", evaluation=True)
    trajs = ModeForced().rollout(ctx, ROWS, 1)
    assert ctx.calls == [[[], []]]  # nothing forced
    assert [t.meta["mode"] for t in trajs] == ["no_think", "no_think"] and not trajs[0].meta["forced"]
    ctx = ScriptedContext("\\boxed{1}", evaluation=True)
    assert ModeForced().rollout(ctx, ROWS, 1)[0].meta["mode"] == "none"


def test_unforced_training_for_the_grpo_control():
    ctx = ScriptedContext("<think>a</think>\\boxed{1}")
    trajs = ModeForced(force=False).rollout(ctx, ROWS, 2)
    assert ctx.calls == [[[]] * 4]
    assert all(t.meta["mode"] == "think" and not t.meta["forced"] for t in trajs)


class LengthModel(torch.nn.Module):
    """Prefers <think> after long prompts, <no_think> after short ones (and a junk token most)."""

    def __init__(self, tok):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.think, self.no = tok.convert_tokens_to_ids("<think>"), tok.convert_tokens_to_ids("<no_think>")
        self.vocab = len(tok)

    def forward(self, input_ids, attention_mask=None, position_ids=None, **_):
        logits = torch.zeros(*input_ids.shape, self.vocab)
        long_ = (attention_mask.sum(-1) > 15).float()  # g(3): 12 prompt tokens, h(f(g(3))): 18
        logits[:, -1, 5] = 10.0  # junk would win a free decode
        logits[:, -1, self.think] = 2.0 * long_
        logits[:, -1, self.no] = 2.0 * (1 - long_)
        return type("Out", (), {"logits": logits})()


def test_choose_between_the_tags():
    tok = load_tokenizer()
    ctx = ScriptedContext("\\boxed{1}", evaluation=True, model=LengthModel(tok), temperature=0.0)
    strategy = ModeForced(choose="tags")
    assert strategy.preferred_modes(ctx, ROWS) == ["no_think", "think"]
    trajs = strategy.rollout(ctx, ROWS, 1)
    assert [t.meta["mode"] for t in trajs] == ["no_think", "think"]
    assert [t.response_text[:6] for t in trajs] == ["<no_th", "<think"]
    assert not any(t.meta["forced"] for t in trajs)
    with pytest.raises(ValueError):
        ModeForced(choose="maybe")
