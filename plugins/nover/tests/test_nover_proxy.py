"""The proxy's perplexity (masking, batching), the lagged EMA proxy, and the reward end to end."""

import math

import pytest
import torch
from r1repro_nover.perplexity import answer_block, reasoning_block, target_nll
from r1repro_nover.proxy import LaggedProxy, ema_state_dict, latest_hf_checkpoint
from r1repro_nover.reward import NoverReward, length_norm

from r1repro.models.tiny import load_policy
from r1repro.types import Sample


@pytest.fixture(scope="module")
def tiny():
    model, tok = load_policy("tiny:nano", seed=3)
    return model.eval(), tok


def _manual_nll(model, ctx, tgt):
    """One unpadded forward; mean -log p over exactly the target positions."""
    ids = torch.tensor([ctx + tgt])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), -1)
    return -sum(float(logp[len(ctx) + k - 1, t]) for k, t in enumerate(tgt)) / len(tgt)


def test_batched_nll_masks_exactly_the_target_tokens(tiny):
    model, tok = tiny
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    pairs = [
        (enc("Question: where? <think>\nshort\n</think>\n"), enc(answer_block("Oslo"))),
        (enc("Question: a much longer prompt with more tokens " * 3), enc(answer_block("It is in Rome."))),
        (enc("x"), enc(answer_block("y"))),
    ]
    batched = target_nll(model, pairs, tok.pad_token_id)  # right-padded, one forward
    one_by_one = target_nll(model, pairs, tok.pad_token_id, batch_size=1)
    for (ctx, tgt), b, s in zip(pairs, batched, one_by_one):
        manual = _manual_nll(model, ctx, tgt)
        assert b == pytest.approx(manual, abs=1e-4) and s == pytest.approx(manual, abs=1e-4)


def test_nll_depends_on_context_and_ignores_padding(tiny):
    model, tok = tiny
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    tgt = enc(answer_block("Lima"))
    a, b = target_nll(
        model, [(enc("The dog is in Lima."), tgt), (enc("The dog is in Rome."), tgt)], tok.pad_token_id
    )
    assert a != b
    assert math.isnan(target_nll(model, [(enc("ctx"), [])], tok.pad_token_id)[0])  # empty target


def test_reasoning_block_layout():
    assert reasoning_block("r") == "\n<think>\nr\n</think>\n" and reasoning_block("") == ""
    assert answer_block("g") == "\n<answer>\ng\n</answer>"


def test_reward_end_to_end_matches_a_manual_computation(tiny):
    model, tok = tiny
    proxy = LaggedProxy(sync_every=1)
    proxy._adopt(model, tok)
    reward = NoverReward(proxy=proxy)
    prompt_ids = tok("<|im_start|>user\nWhere?<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)[
        "input_ids"
    ]
    good = "<think>\nBo has a dog. The dog is in Lima.\n</think>\n<answer>\nLima\n</answer>"
    other = "<think>\nBo has a cat.\n</think>\n<answer>\nRome\n</answer>"
    bad = "I think Lima."
    samples = [
        Sample(response=r, ground_truth="in Lima", group_id="g", prompt_ids=prompt_ids)
        for r in (good, other, bad)
    ]
    results = reward(samples)
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    ppl = []
    for text in ("Bo has a dog. The dog is in Lima.", "Bo has a cat."):
        nll = _manual_nll(model, prompt_ids + enc(reasoning_block(text)), enc(answer_block("in Lima")))
        ppl.append(math.exp(nll / length_norm(len(enc(text)))))
    assert results[0].info["ppl"] == pytest.approx(ppl[0], rel=1e-4)
    assert results[1].info["ppl"] == pytest.approx(ppl[1], rel=1e-4)
    lo, hi = (0, 1) if ppl[0] < ppl[1] else (1, 0)
    assert results[lo].info["reasoning_reward"] == 1.0 and results[hi].info["reasoning_reward"] == 0.5
    assert results[2].score == 0.0 and results[2].info["format"] == 0.0  # format gate
    for r in results[:2]:
        assert r.score == pytest.approx(1.0 + r.info["reasoning_reward"] + r.info["efficiency_reward"])


def test_identical_completions_in_a_group_get_identical_rewards(tiny):
    """The default tie rule: the same reasoning (so the same P_r) earns the same reward, whatever
    its position in the group; the official position rule ("order") spreads them."""
    model, tok = tiny
    proxy = LaggedProxy(sync_every=1)
    proxy._adopt(model, tok)
    prompt_ids = tok("Where?", add_special_tokens=False)["input_ids"]
    same = "<think>\nBo has a dog. The dog is in Lima.\n</think>\n<answer>\nLima\n</answer>"
    other = "<think>\nBo has a cat.\n</think>\n<answer>\nRome\n</answer>"
    samples = [Sample(response=r, ground_truth="in Lima", group_id="g", prompt_ids=prompt_ids)
               for r in (same, same, other, same)]  # fmt: skip
    scores = [r.score for r in NoverReward(proxy=proxy)(samples)]
    assert scores[0] == scores[1] == scores[3] != scores[2]
    spread = [r.score for r in NoverReward(proxy=proxy, rank_ties="order")(samples)]
    assert len({spread[0], spread[1], spread[3]}) == 3
    assert sum(scores) == pytest.approx(sum(spread))


class _FakeEngine:
    def __init__(self, model, tok):
        self.model, self.tokenizer = model, tok
        self.ref_model = load_policy("tiny:nano", seed=5)[0]


def test_proxy_lags_the_policy_with_ema_on_schedule_and_resumes(tiny):
    model, tok = tiny
    policy = load_policy("tiny:nano", seed=3)[0]
    eng = _FakeEngine(policy, tok)
    proxy = LaggedProxy(alpha=0.9, sync_every=2)
    proxy.on_step_start(eng, 1)  # copies the policy
    start = {k: v.clone() for k, v in proxy.model.state_dict().items()}
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(1.0)
    proxy.on_step_start(eng, 2)  # 1 update done: not due
    assert proxy.syncs == 0
    proxy.on_step_start(eng, 3)  # 2 updates done: proxy <- 0.9 proxy + 0.1 policy
    assert proxy.syncs == 1 and proxy.last_sync_step == 2
    key = "model.layers.0.mlp.up_proj.weight"
    expected = 0.9 * start[key] + 0.1 * policy.state_dict()[key]
    assert torch.allclose(proxy.model.state_dict()[key], expected, atol=1e-6)
    assert torch.allclose(eng.ref_model.state_dict()[key], expected, atol=1e-6)  # the KL reference follows
    proxy.on_step_start(eng, 3)  # no double sync
    assert proxy.syncs == 1

    state = proxy.state_dict()
    fresh = LaggedProxy(alpha=0.9, sync_every=2)
    fresh.load_state_dict(state)  # before it has a model (resume order in the engine)
    eng2 = _FakeEngine(policy, tok)
    fresh.on_step_start(eng2, 4)
    assert fresh.syncs == 1 and torch.allclose(fresh.model.state_dict()[key], expected, atol=1e-6)
    assert torch.allclose(eng2.ref_model.state_dict()[key], expected, atol=1e-6)


def test_ema_state_dict_of_full_models_equals_the_formula(tiny):
    model, _ = tiny
    other = load_policy("tiny:nano", seed=9)[0]
    mixed = ema_state_dict(model.state_dict(), other.state_dict(), 0.6)
    for k, v in mixed.items():
        if v.is_floating_point():
            assert torch.allclose(v, 0.6 * model.state_dict()[k] + 0.4 * other.state_dict()[k])


def test_proxy_follows_verl_hf_checkpoints(tmp_path, tiny):
    model, tok = tiny
    assert latest_hf_checkpoint(tmp_path) == (0, None)
    newer = load_policy("tiny:nano", seed=11)[0]
    for step, m in ((100, model), (200, newer)):
        d = tmp_path / f"global_step_{step}" / "actor" / "huggingface"
        m.save_pretrained(str(d))
    assert latest_hf_checkpoint(tmp_path)[0] == 200
    base = tmp_path / "base"
    model.save_pretrained(str(base))
    tok.save_pretrained(str(base))
    proxy = LaggedProxy(
        model=str(base), sync_from=str(tmp_path), sync_every=100, alpha=0.9, check_interval_s=0
    )
    got, _ = proxy.get()  # loads the base, then mixes in the newest checkpoint
    key = "model.norm.weight"
    assert proxy.syncs == 1 and proxy.last_sync_step == 200
    assert torch.allclose(
        got.state_dict()[key], 0.9 * model.state_dict()[key] + 0.1 * newer.state_dict()[key]
    )
    proxy.get()
    assert proxy.syncs == 1  # the same checkpoint is not mixed in twice


def test_alpha_is_validated():
    with pytest.raises(ValueError):
        LaggedProxy(alpha=1.5)
