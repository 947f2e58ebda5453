"""The paper-scale path, tested on CPU as far as it goes."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from r1repro.types import Row
from r1repro.verl_bridge import config as vcfg
from r1repro.verl_bridge.export import GT_JSON_PREFIX, decode_ground_truth, write_parquet

pytestmark = pytest.mark.verl


def _rows():
    return [
        Row(
            id="a",
            problem="2 + 3 =",
            ground_truth="5",
            data_source="toy/add",
            domain="math",
            extra={"a": 2, "b": 3},
        ),
        Row(
            id="b", problem="box?", ground_truth={"w": 3, "h": [1, 2]}, data_source="toy/box", domain="vision"
        ),
    ]


def test_parquet_reads_back_through_verls_rlhf_dataset(tmp_path, registry):
    from omegaconf import OmegaConf
    from verl.utils.dataset.rl_dataset import RLHFDataset

    from r1repro.models.tiny import load_tokenizer

    tpl = registry.build("template", "toy.tagged")
    path = write_parquet(_rows(), tpl, tmp_path / "train.parquet")
    tok = load_tokenizer(None)
    cfg = OmegaConf.create(
        {
            "prompt_key": "prompt",
            "max_prompt_length": 64,
            "truncation": "error",
            "filter_overlong_prompts": False,
            "return_raw_chat": True,
            "cache_dir": str(tmp_path),
        }
    )
    ds = RLHFDataset(data_files=[str(path)], tokenizer=tok, config=cfg)
    assert len(ds) == 2
    item = ds[0]
    assert item["data_source"] == "toy/add" and item["reward_model"]["ground_truth"] == "5"
    assert item["raw_prompt"][0]["content"] == "2 + 3 = Answer inside <answer></answer>."
    assert json.loads(item["extra_info"]["r1repro"]) == {"a": 2, "b": 3}
    gt = ds[1]["reward_model"]["ground_truth"]
    assert gt.startswith(GT_JSON_PREFIX) and decode_ground_truth(gt) == {"w": 3, "h": [1, 2]}


def _toy_preset_overrides(tmp_path):
    from r1repro.repro.run import compose_config

    repro = __import__("r1repro.registry", fromlist=["x"]).build("reproduction", "toy")
    cfg = compose_config(repro.resolve_config_dir(), "paper", [])
    return vcfg.preset_overrides(cfg.verl, str(tmp_path / "t.parquet"), str(tmp_path / "v.parquet"))


def test_composed_config_is_accepted_by_verls_schema_and_bad_keys_are_not(tmp_path):
    ov = _toy_preset_overrides(tmp_path)
    cfg = vcfg.compose(ov)
    checked = vcfg.validate(cfg)
    assert {"algorithm", "actor_rollout_ref.actor", "actor_rollout_ref.rollout"} <= set(checked)
    assert cfg.algorithm.adv_estimator == "toy.centered"
    assert cfg.reward.custom_reward_function.path == vcfg.REWARD_FN_PATH
    assert cfg.reward.custom_reward_function.reward_kwargs.reward == "toy.shortest_correct"
    with pytest.raises(vcfg.VerlConfigError, match="algorithm"):
        vcfg.validate(vcfg.compose([*ov, "+algorithm.not_a_key=1"]))
    with pytest.raises(vcfg.VerlConfigError):
        vcfg.validate(vcfg.compose([*ov, "actor_rollout_ref.actor.loss_agg_mode=nonsense"]))
    with pytest.raises(vcfg.VerlConfigError, match="hydra"):
        vcfg.compose([*ov, "no_such_section.key=1"])


def test_hydra_values_round_trip_through_hydras_parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for v in [
        "tinyv.addon",
        "has space",
        "quote's",
        {"name": "a.b", "w": 0.5, "l": [1, "x"]},
        True,
        None,
        1e-6,
    ]:
        (ov,) = parser.parse_overrides([f"+k={vcfg.hydra_value(v)}"])
        assert ov.value() == v or (isinstance(v, dict) and dict(ov.value()) == v)


def _dataproto(tok, responses, gts, sources, uids):
    from verl import DataProto

    prompt = tok("q", add_special_tokens=False)["input_ids"]
    ids = [tok(r, add_special_tokens=False)["input_ids"] for r in responses]
    width = max(len(x) for x in ids)
    resp = torch.full((len(ids), width), tok.pad_token_id)
    attn = torch.zeros((len(ids), len(prompt) + width), dtype=torch.long)
    for i, x in enumerate(ids):
        resp[i, : len(x)] = torch.tensor(x)
        attn[i, : len(prompt) + len(x)] = 1
    prompts = torch.tensor([prompt] * len(ids))
    return DataProto.from_dict(
        tensors={
            "prompts": prompts,
            "responses": resp,
            "attention_mask": attn,
            "input_ids": torch.cat([prompts, resp], -1),
        },
        non_tensors={
            "data_source": np.array(sources, dtype=object),
            "reward_model": np.array([{"ground_truth": g} for g in gts], dtype=object),
            "extra_info": np.array([{"uid": u, "problem": "q"} for u in uids], dtype=object),
            "uid": np.array(uids, dtype=object),
        },
    )


def test_reward_bridge_scores_the_same_through_verls_reward_managers(tmp_path, registry):
    from verl.trainer.ppo.reward import load_reward_manager

    from r1repro.models.tiny import load_tokenizer
    from r1repro.types import Sample
    from r1repro.verl_bridge.reward import compute_score

    tok = load_tokenizer(None)
    responses = ["<answer>5</answer>", "<answer>6</answer>", "", "<answer>5</answer> \x00"]
    gts, srcs, uids = ["5", "5", "5", "5"], ["toy/add"] * 4, ["u1", "u1", "u2", "u2"]
    direct = registry.build("reward", "toy.counting")(
        [Sample(response=r, ground_truth=g) for r, g in zip(responses, gts)]
    )
    ov = _toy_preset_overrides(tmp_path) + [
        "+reward.custom_reward_function.reward_kwargs.reward=toy.counting"
    ]
    ov = [o for o in ov if "reward_kwargs.reward=toy.shortest" not in o]
    cfg = vcfg.compose(ov)
    manager = load_reward_manager(cfg, tok)  # verl's reward-loop NaiveRewardManager + our compute_score
    data = _dataproto(tok, responses, gts, srcs, uids)
    got = [
        manager.loop.run_until_complete(manager.run_single(data[i : i + 1])) for i in range(len(responses))
    ]
    assert [g["reward_score"] for g in got] == [r.score for r in direct]
    assert [g["reward_extra_info"]["acc"] for g in got] == [1.0, 0.0, 0.0, 1.0]
    assert set(got[0]["reward_extra_info"]) == {"score", "acc", "correct"}  # fixed keys for verl's stacking
    # the legacy (batch) reward manager path of verl gets the same scores
    from verl.workers.reward_manager.naive import NaiveRewardManager

    legacy = NaiveRewardManager(
        tokenizer=tok, num_examine=0, compute_score=lambda **kw: compute_score(**kw, reward="toy.counting")
    )
    tensor = legacy(data)
    assert tensor.sum(-1).tolist() == [r.score for r in direct]


def test_group_stage_of_a_group_aware_reward_runs_in_the_trainer_helper(registry):
    from r1repro.types import Sample
    from r1repro.verl_bridge.reward import compute_score
    from r1repro.verl_bridge.trainer import group_stage, results_from_extra

    reward = registry.build("reward", "toy.shortest_correct")
    responses = ["<answer>5</answer> long long", "<answer>5</answer>", "<answer>4</answer>"]
    per_sample = [
        compute_score("toy/add", r, "5", {"uid": "g"}, reward="toy.shortest_correct") for r in responses
    ]
    samples = [Sample(response=r, ground_truth="5", group_id="g", response_length=len(r)) for r in responses]
    results = group_stage(reward, samples, results_from_extra(per_sample, [p["score"] for p in per_sample]))
    assert [r.score for r in results] == [1.0, 1.5, 0.0]
    assert [r.score for r in results] == [r.score for r in reward(samples)]  # same as the local engine


def test_r1repro_trainer_is_registered_in_verls_v1_registry():
    pytest.importorskip("transfer_queue")
    from verl.trainer.ppo.v1 import trainer_base as tb
    from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

    from r1repro.verl_bridge.trainer import TRAINER_NAME, base_method_fingerprint, register_trainer

    cls = register_trainer()
    assert tb.get_trainer_cls(TRAINER_NAME) is cls and issubclass(cls, PPOTrainerSync)
    # our override mirrors verl 0.9.1's method; if verl changes it, re-read it and update this pin
    assert base_method_fingerprint() == "2a4a2aa4a475b228"


def test_verl_imports_plugin_registrations_in_a_fresh_process():
    code = (
        "import verl; from verl.trainer.ppo import core_algos as ca; "
        "print('toy.centered' in ca.ADV_ESTIMATOR_REGISTRY, 'toy.reinforce' in ca.POLICY_LOSS_REGISTRY)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "True"], out.stderr[-2000:]


def test_dry_run_prints_a_command_verl_accepts(capsys):
    from r1repro.cli import main

    assert main(["reproduce", "toy", "--scale", "paper", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "verl accepted the composed config" in out
    assert "-m verl.trainer.main_ppo \\\n" in out
    assert "algorithm.adv_estimator=toy.centered" in out
    assert "64 rows from toy.add" in out


def test_environment_runs_as_a_verl_tool(tmp_path):
    import asyncio

    import yaml
    from verl.tools.schemas import OpenAIFunctionToolSchema

    from r1repro.verl_bridge.tools import EnvironmentTool, tool_config

    path = tool_config("toy.hint", tmp_path / "tools.yaml")
    spec = yaml.safe_load(path.read_text())["tools"][0]
    assert spec["class_name"] == "r1repro.verl_bridge.tools.EnvironmentTool"
    tool = EnvironmentTool(spec["config"], OpenAIFunctionToolSchema.model_validate(spec["tool_schema"]))

    async def episode():
        iid, _ = await tool.create(create_kwargs={"row": {"extra": {"a": 3, "b": 4}}})
        first = await tool.execute(iid, {"action": "<tool_call>hint</tool_call>"})
        second = await tool.execute(iid, {"action": "<tool_call>again</tool_call>"})
        reward = await tool.calc_reward(iid)
        await tool.release(iid)
        return first, second, reward, iid

    (resp1, r1, m1), (resp2, _, m2), reward, iid = asyncio.run(episode())
    assert resp1.text == "<tool_response>3+4</tool_response>" and m1["tool_call"] == 1.0
    assert m2["done"] == 1.0 and m2["tool_failed"] == 1.0
    assert reward == 0.0 and iid not in tool.states


class _LookupEnv:
    """A two-action environment with the paper-style tags: <search> q </search> -> an
    observation and a step reward of 0.5; <answer> a </answer> ends the episode."""

    max_turns = 3
    stop_strings = ("</search>", "</answer>")
    max_observation_tokens = 6
    final_answer_turn = True
    continue_after_eos = True

    def __init__(self):
        self.closed = 0

    def reset(self, row):
        return {"row": row.id}

    def step(self, state, text):
        from r1repro.types import StepResult

        if "<answer>" in text:
            return StepResult(done=True)
        if "boom" in text:
            raise RuntimeError("retriever down")
        return StepResult(observation=" <information> paris is in france , a long document </information> ",
                          tool_call=True, step_reward=0.5)  # fmt: skip

    def close(self, state):
        self.closed += 1


def _scripted_loop(turn_texts, response_length=64):
    """An `EnvironmentAgentLoop` without verl's server: the policy says ``turn_texts`` in order."""
    import asyncio
    from types import SimpleNamespace

    from r1repro.models.tiny import load_tokenizer
    from r1repro.verl_bridge.agent_loop import EnvironmentAgentLoop

    tok = load_tokenizer()
    calls = []

    class Server:
        async def generate(self, request_id, prompt_ids, sampling_params):
            calls.append((list(prompt_ids), dict(sampling_params)))
            text = turn_texts[min(len(calls) - 1, len(turn_texts) - 1)]
            ids = tok.encode(text, add_special_tokens=False) + ([tok.eos_token_id] if text.endswith("</answer>") else [])
            ids = ids[: sampling_params["max_tokens"]]
            return SimpleNamespace(token_ids=ids, log_probs=[-0.1] * len(ids), extra_fields={})

    class Loop(EnvironmentAgentLoop):
        async def prompt_ids(self, kwargs):
            return [5, 6, 7]

    loop = Loop.__new__(Loop)
    loop.tokenizer, loop.server_manager, loop.env = tok, Server(), _LookupEnv()
    loop.template = SimpleNamespace(response_prefix="")
    loop.response_length = response_length
    kwargs = {"extra_info": {"id": "q1", "problem": "where is paris?"}, "reward_model": {"ground_truth": "france"}}
    out = asyncio.run(loop.run({"temperature": 1.0}, **kwargs))
    return loop, out, calls, tok


def test_environment_agent_loop_runs_the_paper_tags_inside_verls_loop_contract():
    loop, out, calls, tok = _scripted_loop(["<search> paris </search>", "<answer> france </answer>"])
    turns = out.extra_fields["r1repro_turns"]
    assert [t["policy"].strip() for t in turns] == ["<search> paris </search>", "<answer> france </answer>"]
    assert calls[0][1]["stop"] == ["</search>", "</answer>"] and calls[0][1]["include_stop_str_in_output"]
    first = tok.encode("<search> paris </search>", add_special_tokens=False)
    obs = len(tok.encode(" <information> paris is in france , a long document </information> ",
                         add_special_tokens=False)[:6])  # fmt: skip
    mask = out.response_mask
    assert mask[: len(first)] == [1] * len(first)  # the policy's search turn is trained on
    assert mask[len(first) : len(first) + obs] == [0] * obs  # the observation (cut to 6 tokens) is not
    assert all(m == 1 for m in mask[len(first) + obs :])
    assert turns[0]["end"] == len(first) - 1 and out.response_ids[turns[0]["end"]] == first[-1]
    assert out.extra_fields["r1repro_step_rewards"] == [[len(first) - 1, 0.5]]
    assert turns[1]["end"] == len(out.response_ids) - 1  # the answer turn keeps its EOS: the episode ended
    assert out.response_logprobs[len(first) : len(first) + obs] == [0.0] * obs
    # the second call continued the prompt + first turn + observation
    assert calls[1][0] == [5, 6, 7] + out.response_ids[: len(first) + obs]
    assert loop.env.closed == 1 and out.extra_fields["r1repro_tool_calls"] == 1


def test_environment_agent_loop_turns_a_tool_crash_into_an_observation_and_respects_the_budget():
    loop, out, calls, tok = _scripted_loop(["<search> boom </search>"] * 10, response_length=40)
    assert out.extra_fields["r1repro_tool_failures"] >= 1
    assert "error" in out.extra_fields["r1repro_turns"][0]["observation"].lower()
    assert len(out.response_ids) <= 40 and loop.env.closed == 1
    assert len(out.extra_fields["r1repro_turns"]) <= _LookupEnv.max_turns + 1


def test_step_rewards_reach_verls_token_scores_where_they_were_earned():
    import json

    from r1repro.verl_bridge.reward import TOKEN_REWARDS_KEY, sample_from_verl, to_verl_result
    from r1repro.verl_bridge.trainer import dense_rewards

    extras = [
        {"r1repro_step_rewards": [[2, 0.5]], "reward_extra_info": {TOKEN_REWARDS_KEY: json.dumps([[4, -0.25], [9, 1.0]])}},
        {"reward_extra_info": {"acc": 1.0}},
        "not a dict",
    ]  # fmt: skip
    d = dense_rewards(extras, lengths=[6, 5, 5], width=8)
    assert d[0].tolist() == [0, 0, 0.5, 0, -0.25, 0, 0, 0]  # offset 9 is past the response: dropped
    assert d[1].abs().sum() == 0 and d[2].abs().sum() == 0
    assert dense_rewards([{"reward_extra_info": {}}], [4], 4) is None

    # a dense reward's token rewards travel as a string (verl's metrics skip strings)
    from r1repro.components import Reward
    from r1repro.types import RewardResult

    class Dense(Reward):
        name = "dense-test"
        dense = True

        def score_one(self, sample):
            ends = [t["end"] for t in sample.meta.get("turns", [])]
            return RewardResult(1.0, {}, [(e, 0.1) for e in ends])

    turns = [{"policy": "<search> a </search>", "observation": "x", "end": 3}, {"policy": "b", "end": 7}]
    s = sample_from_verl("src", "text", "gt", {"r1repro_turns": turns})
    assert s.meta["turns"] == turns
    res = to_verl_result(Dense(), Dense().score_one(s))
    assert json.loads(res[TOKEN_REWARDS_KEY]) == [[3, 0.1], [7, 0.1]]
    assert TOKEN_REWARDS_KEY not in to_verl_result(Reward(), RewardResult(1.0))
