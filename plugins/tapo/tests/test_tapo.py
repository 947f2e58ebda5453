"""Golden tests for TAPO: template retrieval by PCC, the library data, rollout assembly (masks,
spans, group ids, G/|g| split) with a scripted generator, the binary reward, the CPU task, and a
two-step engine run with the guided strategy and the Dr.GRPO settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from r1repro_tapo.data import OPS, OpsChainTask, action_step
from r1repro_tapo.rollout import UNGUIDED, TemplateGuided, pcc_of, split_rollouts
from r1repro_tapo.templates import (
    ACTIONS,
    PATH_WEIGHT_B,
    ThoughtLibrary,
    ThoughtTemplate,
    path_score,
    retrieve,
)

from r1repro.engine.generation import Generation
from r1repro.registry import load_plugins
from r1repro.types import Row, Sample

LIB = {
    "actions": {"SA": "Analyse.", "OST": "Step.", "CoT": "Chain.", "DC": "Divide.", "SR": "Reflect."},
    "templates": [
        {"id": "A", "actions": ["SA", "CoT"], "pcc": 2.0},
        {"id": "B", "actions": ["OST", "OST", "OST"], "pcc": 3.0},
        {"id": "C", "actions": ["DC"], "pcc": 4.0},
        {"id": "D", "actions": ["SR", "OST"], "pcc": 4.0},
    ],
}


# ------------------------------------------------------------------------------ library
def test_paper_constants():
    assert ACTIONS == {"DC": "Divide-and-Conquer", "SR": "Self-Reflection", "SA": "System Analysis",
                       "OST": "One-Step Thought", "CoT": "Chain-of-Thought"}  # fmt: skip
    assert PATH_WEIGHT_B == 0.95
    assert path_score(1.0, 3) == pytest.approx(0.95 - 0.05 * 3)  # b·R − (1−b)·#actions
    assert path_score(0.5, 0) == pytest.approx(0.475)


def test_retrieval_by_pcc_distance():
    lib = ThoughtLibrary.from_dict(LIB)
    ids = lambda pcc, k: [t.id for t in lib.retrieve(pcc, k)]  # noqa: E731
    assert ids(3.0, 1) == ["B"]
    assert ids(2.4, 2) == ["A", "B"]  # |2.4-2| = 0.4 < |2.4-3| = 0.6
    assert ids(2.6, 2) == ["B", "A"]
    assert ids(4.2, 2) == ["C", "D"]  # a tie keeps library order
    assert ids(10, 3) == ["C", "D", "B"] and ids(1, 0) == [] and retrieve([], 3, 2) == []
    assert ids(3.5, 4) == ["B", "C", "D", "A"]


def test_split_rollouts_gives_each_template_g_over_k():
    assert split_rollouts(16, 2) == [8, 8]  # paper: G = 16, |g| = 2
    assert (
        split_rollouts(7, 2) == [4, 3] and split_rollouts(3, 4) == [1, 1, 1, 0] and split_rollouts(4, 0) == []
    )


@pytest.mark.parametrize("name", ["ops", "math"])
def test_shipped_libraries_load(name):
    lib = ThoughtLibrary.load(name)
    assert set(lib.actions) == set(ACTIONS) and len(lib.templates) >= 8
    assert all(set(t.actions) <= set(ACTIONS) and t.pcc > 0 for t in lib.templates)
    assert ThoughtLibrary.from_dict(json.loads(json.dumps(lib.to_dict()))).templates == lib.templates


def test_library_rejects_unknown_actions_and_duplicates():
    with pytest.raises(ValueError):
        ThoughtLibrary(actions={"OST": "x"}, templates=[ThoughtTemplate("a", ("SA",), 1.0)])
    with pytest.raises(ValueError):
        ThoughtLibrary(actions={"OST": "x"}, templates=[ThoughtTemplate("a", ("OST",), 1.0)] * 2)


def test_pcc_comes_from_the_row_or_a_sentence_count():
    assert pcc_of(Row(id="1", problem="x", ground_truth="1", data_source="t", extra={"pcc": 4})) == 4.0
    assert (
        pcc_of(Row(id="1", problem="a=1. b=2. c=a+b. What is c?", ground_truth="3", data_source="t")) == 3.0
    )


# ------------------------------------------------------------------ rollout assembly
@dataclass
class ScriptedContext:
    """Character tokenizer (id = code point, 0 = EOS) and a scripted policy.

    Each step call answers "s<call>-<template marker>\\n"; the final call answers "ANS" + EOS.
    """

    evaluation: bool = False
    max_new_tokens: int = 200
    calls: list[dict] = field(default_factory=list)

    def encode_prompt(self, row):
        return [ord(c) for c in "Q:" + row.problem]

    def encode(self, text):
        return [ord(c) for c in text]

    def decode(self, ids):
        return "".join(chr(i) for i in ids if i)

    def generate(self, prompts, *, forced=None, stop_strings=(), max_new_tokens=None, temperature=None, keys=None):
        self.calls.append({"n": len(prompts), "stops": tuple(stop_strings), "max": max_new_tokens,
                           "contexts": [self.decode(p) for p in prompts]})  # fmt: skip
        k = len(self.calls)
        if stop_strings:
            toks = [self.encode(f"s{k}\n") for _ in prompts]
            return Generation(toks, [f"stop:{stop_strings[0]}"] * len(prompts))
        return Generation([self.encode("ANS") + [0] for _ in prompts], ["eos"] * len(prompts))


def _rows(n=2):
    return [Row(id=f"r{i}", problem=f"p{i}", ground_truth="1", data_source="t", extra={"pcc": 2.4 + i})
            for i in range(n)]  # fmt: skip


def test_guided_rollout_assembly_masks_spans_groups():
    strat = TemplateGuided(LIB, k=2, action_format="[{text}]")
    ctx = ScriptedContext()
    trajs = strat.rollout(ctx, _rows(2), n=4, group_ids=["g0", "g1"])
    assert len(trajs) == 8 and [t.group_id for t in trajs] == ["g0"] * 4 + ["g1"] * 4
    # row 0 (pcc 2.4) retrieves A then B; row 1 (pcc 3.4) retrieves B then C; 2 rollouts each
    assert [t.meta["template"] for t in trajs] == ["A", "A", "B", "B", "B", "B", "C", "C"]
    t = trajs[0]  # template A = SA, CoT: [Analyse.] s1 [Chain.] s2 ANS<eos>
    assert t.response_text == "[Analyse.]s1\n[Chain.]s2\nANS"
    assert [k for _, _, k in t.spans] == ["action:SA", "policy", "action:CoT", "policy", "policy"]
    for start, end, kind in t.spans:
        assert set(t.loss_mask[start:end]) == {0 if kind.startswith("action") else 1}
    assert t.meta["policy_text"] == "s1\ns2\nANS" and t.meta["template_actions"] == "SA>CoT"
    assert t.meta["phase"] == "train" and not t.truncated and t.num_turns == 3
    b = trajs[2]  # template B = OST x3: three steps; step ℓ sees every earlier action and step
    assert b.response_text == "[Step.]s1\n[Step.]s2\n[Step.]s3\nANS"
    assert ctx.calls[2]["n"] == 4 and ctx.calls[2]["contexts"][0] == "Q:p0[Step.]s1\n[Step.]s2\n[Step.]"
    assert all(c["stops"] == ("\n",) for c in ctx.calls[:3]) and ctx.calls[-1]["stops"] == ()
    assert strat.on_step_end(None, 1, {}) == {"tapo/uses@A": 2.0, "tapo/uses@B": 4.0, "tapo/uses@C": 2.0}


def test_unmasked_variant_and_unguided_rollouts_in_the_group():
    strat = TemplateGuided(LIB, k=1, mask_actions=False, unguided_per_group=1, action_format="[{text}]")
    trajs = strat.rollout(ScriptedContext(), _rows(1), n=3, group_ids=["g"])
    assert [t.meta["template"] for t in trajs] == ["A", "A", UNGUIDED]
    assert all(m == 1 for m in trajs[0].loss_mask) and trajs[2].response_text == "ANS"
    assert trajs[2].spans == [(0, 4, "policy")] and len({t.group_id for t in trajs}) == 1


def test_evaluation_is_unguided_unless_asked():
    trajs = TemplateGuided(LIB, k=2).rollout(ScriptedContext(evaluation=True), _rows(1), n=2, group_ids=["g"])
    assert [t.meta["template"] for t in trajs] == [UNGUIDED] * 2 and trajs[0].meta["phase"] == "eval"
    assert all(t.response_text == "ANS" for t in trajs)
    guided = TemplateGuided(LIB, k=2, eval_guided=True).rollout(ScriptedContext(evaluation=True), _rows(1), 2)
    assert [t.meta["template"] for t in guided] == ["A", "B"]


def test_budget_covers_instructions_and_steps():
    ctx = ScriptedContext(max_new_tokens=14)
    (t,) = TemplateGuided(LIB, k=1, action_format="[{text}]").rollout(ctx, _rows(1), n=1)
    # [Analyse.]s1\n = 13 tokens; "[Chain.]" would not fit: the free part gets the last token
    assert len(t.response_ids) <= 14 and t.response_text.startswith("[Analyse.]s1\n")
    assert t.truncated  # no EOS within the budget


def test_eos_inside_a_step_ends_the_rollout():
    class EarlyEOS(ScriptedContext):
        def generate(self, prompts, **kw):
            self.calls.append(kw)
            return Generation([[ord("x"), 0] for _ in prompts], ["eos"] * len(prompts))

    ctx = EarlyEOS()
    (t,) = TemplateGuided(LIB, k=1, action_format="[{text}]").rollout(ctx, _rows(1), n=1)
    assert len(ctx.calls) == 1 and t.response_text == "[Analyse.]x" and not t.truncated


# ---------------------------------------------------------------------------- reward
def test_binary_reward_and_template_counts():
    reward = load_plugins().build("reward", {"name": "tapo.reward", "verifier": "core.numeric_match"})
    samples = [Sample(response="The answer is \\boxed{5}.", ground_truth="5", meta={"template": "T1", "phase": "train"}),
               Sample(response="\\boxed{4}", ground_truth="5", meta={"template": "T1", "phase": "train"}),
               Sample(response="\\boxed{5}", ground_truth="5", meta={"template": "T2", "phase": "eval"}),
               Sample(response="", ground_truth="5")]  # fmt: skip
    assert [r.score for r in reward(samples)] == [1.0, 0.0, 1.0, 0.0]
    assert reward.consume_stats() == {"correct@T1": 1.0} and reward.consume_stats() == {}


def test_reward_survives_adversarial_output():
    reward = load_plugins().build("reward", {"name": "tapo.reward", "verifier": "core.numeric_match"})
    weird = ["", "x" * 1_000_000, "{" * 5000, "\\boxed{2^{10^{10}}}", "\ud800", "<answer>" * 100]
    assert all(r.finite for r in reward([Sample(response=w, ground_truth="3") for w in weird]))


# ---------------------------------------------------------------------------- CPU task
def test_action_steps_on_the_cpu_task():
    ops = ["+2", "+2", "-1"]
    assert action_step("OST", 3, ops, 0) == ("3 + 2 = 5.", 1)
    assert action_step("DC", 3, ops, 1) == ("5 + 2 = 7.", 2)
    assert action_step("CoT", 3, ops, 1) == ("5 + 2 = 7. 7 - 1 = 6.", 3)
    assert action_step("SA", 3, ops, 0) == ("Given: 3, +2, +2, -1.", 0)
    assert action_step("SR", 3, ops, 2) == ("Check: 5 + 2 = 7.", 2)
    assert action_step("OST", 3, ops, 3) == ("Nothing is left.", 3)


def test_cpu_task_rows_and_sft_mixture():
    task = OpsChainTask()
    rows = task.load("train", limit=400)
    for r in rows:
        assert int(r.ground_truth) == r.extra["start"] + sum(OPS[o] for o in r.extra["ops"])
        assert r.extra["pcc"] == len(r.extra["ops"]) + 1 and r.domain == f"pcc{r.extra['pcc']}"
        assert 0 <= int(r.ground_truth) <= 9 and 2 <= len(r.extra["ops"]) <= 5
    lib = ThoughtLibrary.load("ops")
    sols = [task.solution(r, None) for r in task.load("sft", limit=2000)]
    guided = [s for s in sols if s.split("\n")[0] in lib.actions.values()]
    assert 0.45 < len(guided) / len(sols) < 0.55  # guided_share = 0.5
    rows = task.load("sft", limit=2000)
    ok = [s.endswith("{" + r.ground_truth + "}.") for s, r in zip(sols, rows)]
    assert 0.55 < sum(ok) / len(sols) < 0.8  # both kinds slip with p = 0.35 (harmless at times)
    is_guided = [s.split("\n")[0] in lib.actions.values() for s in sols]

    def rate(flag):
        picked = [o for o, g in zip(ok, is_guided) if g == flag]
        return sum(picked) / len(picked)

    # issue 10: the SFT start must not make guided traces more reliable than unguided ones
    assert abs(rate(True) - rate(False)) < 0.06
    old = OpsChainTask(guided_slip=False)
    old_ok = [old.solution(r, None).endswith("{" + r.ground_truth + "}.") for r in rows]
    assert sum(o for o, g in zip(old_ok, is_guided) if g) == sum(is_guided)  # the old mixture: always right


def _cpu_task() -> OpsChainTask:
    """The task exactly as the CPU-scale reproduction configures it."""
    from r1repro.paths import repo_root
    from r1repro.repro.run import as_container, compose_config

    cfg = compose_config(repo_root() / "reproductions" / "tapo", "cpu", [])
    spec = dict(as_container(cfg.engine.data.dataset))
    assert spec.pop("name") == "tapo.ops_chain"
    return OpsChainTask(**spec)


def test_cpu_task_has_an_easy_part_and_a_sparse_hard_part_and_guided_traces_slip_alike():
    """Issue 10: most plain-GRPO groups start all-zero (hard part), the easy part is away from floor and
    ceiling, and a guided SFT trace is no more often right than an unguided one."""
    task = _cpu_task()
    assert task.slip_mode == "per_op" and task.guided_slip
    rows = task.load("sft", limit=3000)
    lib = ThoughtLibrary.load("ops")
    by: dict[tuple[str, bool], list[bool]] = {}
    for r in rows:
        sol = task.solution(r, None)
        k = len(r.extra["ops"])
        assert r.domain == ("hard" if k >= task.hard_min_ops else "easy")
        assert task.min_ops <= k <= task.easy_max_ops or task.hard_min_ops <= k <= task.max_ops
        assert 0 <= int(r.ground_truth) <= task.max_value
        guided = sol.split("\n")[0] in lib.actions.values()
        by.setdefault((r.domain, guided), []).append(sol.endswith("{" + r.ground_truth + "}."))
    rate = {key: sum(v) / len(v) for key, v in by.items()}
    hard = sum(len(v) for (d, _), v in by.items() if d == "hard") / len(rows)
    assert 0.6 < hard < 0.7  # hard_share = 0.65
    for guided in (True, False):
        assert 0.4 < rate[("easy", guided)] < 0.7  # (1 - 0.35)^k for k = 1, 2
        assert rate[("hard", guided)] < 0.1  # (1 - 0.35)^k for k = 6..8: 0.03-0.08
    assert abs(rate[("easy", True)] - rate[("easy", False)]) < 0.08
    assert abs(rate[("hard", True)] - rate[("hard", False)]) < 0.04
    # a group of 8 samples of an SFT-like policy: all-zero for most hard problems
    assert (1 - (rate[("hard", True)] + rate[("hard", False)]) / 2) ** 8 > 0.6


def test_per_op_slip_is_a_constant_hazard():
    task = OpsChainTask(slip=0.5, slip_mode="per_op", min_ops=3, max_ops=3)
    import random

    rng = random.Random(0)
    done = [task._ops_done(rng, 3, guided=False) for _ in range(4000)]
    share = [done.count(j) / len(done) for j in range(4)]
    assert share == pytest.approx([0.5, 0.25, 0.125, 0.125], abs=0.03)
    with pytest.raises(ValueError, match="slip_mode"):
        OpsChainTask(slip_mode="sometimes")
    with pytest.raises(ValueError, match="hard_min_ops"):
        OpsChainTask(hard_share=0.5)


@pytest.mark.slow
def test_two_engine_steps_with_the_guided_strategy(tmp_path, monkeypatch):
    from r1repro.engine.config import make_config
    from r1repro.engine.local import LocalEngine, read_metrics

    monkeypatch.setenv("R1REPRO_POOL_WORKERS", "1")
    cfg = make_config({
        "model": {"path": "tiny:nano", "sft": {"enabled": True, "steps": 3, "examples": 32}},
        "data": {"dataset": "tapo.ops_chain", "template": "core.plain"},
        "reward": {"name": "tapo.reward", "verifier": "core.numeric_match"},
        "rollout": {"n": 4, "max_new_tokens": 24, "strategy": {"name": "tapo.guided", "k": 2, "max_step_tokens": 6}},
        "algorithm": {"adv_estimator": "grpo", "norm_adv_by_std_in_grpo": False},
        "actor": {"loss_agg_mode": "seq-mean-token-sum-norm", "loss_scale_factor": 24},
        "trainer": {"total_steps": 2, "batch_size": 2, "out_dir": str(tmp_path), "threads": 1, "progress": False},
        "eval": {"limit": 2, "every": 1},
    })  # fmt: skip
    LocalEngine(cfg, quiet=True).train()
    h = read_metrics(tmp_path)
    steps = [r for r in h if "reward/mean" in r]
    assert len(steps) == 2 and sum(v for r in steps for k, v in r.items() if k.startswith("tapo/uses@")) == 16
    assert all("eval/correct@pcc" not in k or 0 <= v <= 1 for r in h for k, v in r.items())
