"""The local engine: batch layout, repeatability, checkpoint/resume, multi-turn, plugin algorithms."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from r1repro.engine.local import LocalEngine, collate, read_metrics, side_information
from r1repro.testing import tiny_engine_config
from r1repro.types import RewardResult, Row, Trajectory

pytestmark = pytest.mark.slow


def _traj(prompt, response, mask, step_rewards=()):
    row = Row(id="r", problem="p", ground_truth="1", data_source="d")
    return Trajectory(
        row=row,
        group_id="g",
        prompt_ids=prompt,
        response_ids=response,
        loss_mask=mask,
        response_text="",
        step_rewards=list(step_rewards),
    )


def test_collate_layout_reward_position_and_masks():
    trajs = [
        _traj([5, 6, 7], [1, 2, 3, 4], [1, 1, 0, 0]),  # policy tokens then an observation
        _traj([8], [9], [1], step_rewards=[(0, 0.5)]),
    ]
    results = [RewardResult(1.0, token_rewards=[(0, 0.25)]), RewardResult(-1.0)]
    b = collate(trajs, results, pad_id=0)
    assert b["prompt_width"] == 3
    assert b["input_ids"].tolist() == [[5, 6, 7, 1, 2, 3, 4], [0, 0, 8, 9, 0, 0, 0]]
    assert b["attention_mask"].tolist() == [[1] * 7, [0, 0, 1, 1, 0, 0, 0]]
    assert b["position_ids"][1].tolist()[2:4] == [0, 1]
    assert b["response_mask"].tolist() == [[1, 1, 0, 0], [1, 0, 0, 0]]
    # the score sits on the last *policy* token (index 1), dense rewards at their offsets
    assert b["token_level_scores"].tolist() == [[0.25, 1.0, 0, 0], [-1.0 + 0.5, 0, 0, 0]]


def test_side_information_carries_reward_info_and_rollout_meta():
    from r1repro.types import Sample

    samples = [
        Sample(response="a", domain="math", meta={"mode": "think"}),
        Sample(response="bb", domain="code", meta={"mode": "no_think"}),
    ]
    results = [RewardResult(1.0, {"w": 2.0}), RewardResult(0.0, {"w": 3.0})]
    info = side_information(samples, results)
    assert info["domain"].tolist() == ["math", "code"]
    assert info["mode"].tolist() == ["think", "no_think"]
    assert info["w"].tolist() == [2.0, 3.0] and info["score"].tolist() == [1.0, 0.0]


def _cfg(out, **over):
    cfg = tiny_engine_config(**over)
    cfg.trainer.out_dir = str(out)
    return cfg


def _train(out, **over):
    cfg = _cfg(out, **over)
    eng = LocalEngine(cfg, quiet=True)
    summary = eng.train()
    return eng, summary


def test_rows_for_step_are_a_seeded_permutation(tmp_path):
    eng = LocalEngine(_cfg(tmp_path, data={"limit": 10}), quiet=True)
    eng.setup()
    ids = [r.id for s in range(1, 6) for r in eng.rows_for_step(s)]  # 20 rows = two epochs of 10
    assert sorted(ids[:10]) == sorted(r.id for r in eng.train_rows) == sorted(ids[10:])
    assert ids[:10] != ids[10:]
    assert [r.id for r in eng.rows_for_step(3)] == ids[8:12]


def test_same_seed_same_run(tmp_path):
    _, a = _train(tmp_path / "a")
    _, b = _train(tmp_path / "b")
    ma, mb = read_metrics(tmp_path / "a"), read_metrics(tmp_path / "b")
    keys = ["reward/mean", "actor/pg_loss", "response/length_mean"]
    assert [[m.get(k) for k in keys] for m in ma] == [[m.get(k) for k in keys] for m in mb]
    assert (tmp_path / "a" / "final_model" / "config.json").exists()


def test_killed_run_resumes_with_no_lost_or_repeated_steps(tmp_path):
    """SIGKILL at the start of step 4 (after the step-2 checkpoint), resume, compare with a clean run."""
    over = {"reward": "toy.counting", "trainer": {"total_steps": 5, "save_every": 2}}
    clean, _ = _train(tmp_path / "clean", **over)
    crashed = tmp_path / "crashed"
    cfg = _cfg(crashed, **over)
    from omegaconf import OmegaConf

    (tmp_path / "cfg.yaml").write_text(OmegaConf.to_yaml(cfg))
    env = {**os.environ, "R1REPRO_CRASH_AT_STEP": "4"}
    proc = subprocess.run(
        [sys.executable, "-m", "r1repro.cli", "train", "--config", str(tmp_path / "cfg.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert [m["step"] for m in read_metrics(crashed)] == [0, 1, 2, 3]  # step 3 ran, was not checkpointed
    resumed, summary = _train(crashed, **over)
    assert summary["resumed_from"] == 2
    steps = [m["step"] for m in read_metrics(crashed)]
    assert steps == [0, 1, 2, 3, 4, 5], "every step exactly once"
    for p, q in zip(clean.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q), "resumed weights differ from an uninterrupted run"
    rc, rr = read_metrics(tmp_path / "clean"), read_metrics(crashed)
    assert [m.get("reward/mean") for m in rc] == [m.get("reward/mean") for m in rr]
    counter = resumed.reward  # stateful component: its state came back from the checkpoint
    assert counter.history == [1, 2, 3, 4, 5] and counter.steps_seen == 5


def test_multi_turn_rollout_masks_observations_and_counts_tools(tmp_path):
    cfg = _cfg(
        tmp_path,
        rollout={"strategy": "core.multi_turn", "environment": "toy.hint", "max_new_tokens": 24},
        trainer={"total_steps": 1},
    )
    eng = LocalEngine(cfg, quiet=True).setup()
    env = eng.environment
    ctx = eng.rollout_context(1)
    # a scripted policy: first turn calls the tool, second turn answers
    turns = iter(["<tool_call>hint</tool_call>", "<answer>7</answer>"])

    def scripted(prompts, forced=None, stop_strings=(), max_new_tokens=None, temperature=None, keys=None):
        from r1repro.engine.generation import Generation

        text = next(turns)
        ids = ctx.encode(text) + ([] if "tool_call" in text else [eng.tokenizer.eos_token_id])
        return Generation(
            [ids for _ in prompts], ["stop:</tool_call>" if "tool_call" in text else "eos"] * len(prompts)
        )

    ctx.generate = scripted
    row = Row(id="x", problem="3 + 4 =", ground_truth="7", data_source="toy/add", extra={"a": 3, "b": 4})
    (t,) = eng.rollout_strategy.rollout(ctx, [row], 1)
    kinds = [k for _, _, k in t.spans]
    assert kinds == ["policy", "observation", "policy"]
    obs_start, obs_end = t.spans[1][:2]
    assert t.loss_mask[obs_start:obs_end] == [0] * (obs_end - obs_start) and sum(t.loss_mask) > 0
    assert "<tool_response>3+4</tool_response>" in t.response_text
    assert t.tool_calls == 1 and t.num_turns == 2
    assert t.meta["policy_text"].replace(" ", "").endswith("<answer>7</answer>")
    assert env.name == "toy.hint"
    summary = eng.train()  # and a real multi-turn training step runs
    assert read_metrics(tmp_path)[-1]["step"] == 1 and summary["steps"] == 1


def test_plugin_estimator_and_policy_loss_drive_training(tmp_path):
    _, _ = _train(
        tmp_path,
        algorithm={"adv_estimator": "toy.centered", "estimator_options": {"scale": 2.0}},
        actor={"policy_loss": "toy.reinforce"},
        trainer={"total_steps": 2},
    )
    m = read_metrics(tmp_path)[-1]
    assert "actor/ratio_mean" in m  # the metric only the toy policy loss reports
    assert abs(m["actor/ratio_mean"] - 1.0) < 1e-6  # single on-policy update: ratio is exactly 1


def test_kl_entropy_and_multi_epoch_paths(tmp_path):
    _train(
        tmp_path,
        actor={
            "use_kl_loss": True,
            "kl_loss_coef": 0.01,
            "entropy_coeff": 0.001,
            "ppo_epochs": 2,
            "mini_batch_size": 2,
            "clip_ratio_high": 0.28,
            "loss_agg_mode": "seq-mean-token-mean",
        },
        algorithm={"use_kl_in_reward": True, "kl_penalty": "low_var_kl", "norm_adv_by_std_in_grpo": False},
        trainer={"total_steps": 2},
    )
    m = read_metrics(tmp_path)[-1]
    for key in ("actor/kl_loss", "actor/entropy", "actor/reward_kl", "actor/pg_clipfrac", "actor/ppo_kl"):
        assert key in m, key
    assert np.isfinite(m["actor/kl_loss"]) and m["actor/kl_loss"] >= 0


def test_metrics_and_samples_are_written(tmp_path):
    _train(tmp_path, trainer={"total_steps": 2, "log_samples": 1})
    lines = (tmp_path / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 2 and {"problem", "response", "score"} <= set(json.loads(lines[0]))
    m = read_metrics(tmp_path)
    assert m[0]["step"] == 0 and "eval/correct" in m[0]
    assert {"timing/step", "perf/gen_tokens_per_s", "reward/groups_all_same"} <= set(m[1])


def test_eval_n_averages_over_sampled_answers(tmp_path):
    """eval.n > 1 answers every eval prompt n times; the metrics average over all n x prompts."""
    eng = LocalEngine(_cfg(tmp_path, eval={"limit": 4, "temperature": 1.0, "n": 3}), quiet=True)
    eng.setup()
    seen = []
    scorer = eng.eval_reward

    def counting(samples):
        seen.append(len(samples))
        return scorer(samples)

    out = eng.evaluate(reward=counting)
    assert seen == [12] and 0.0 <= out["eval/correct"] <= 1.0
    eng.cfg.eval.n = 0
    with pytest.raises(ValueError, match="eval.n"):
        eng.evaluate()


def test_update_in_length_chunks_gives_the_one_batch_logprobs_and_gradients(tmp_path, monkeypatch):
    """Responses of very different lengths (two groups of 4: 2 long, 6 short) make the fast path
    run the update as length chunks; log-probs, entropies and gradients match one padded batch."""
    from r1repro.engine import local

    eng = LocalEngine(_cfg(tmp_path), quiet=True)
    eng.setup()
    assert eng.cfg.model.fast_kernels
    torch.manual_seed(0)
    prompts = [[5, 6, 7, 8], [9, 10, 11]]
    lengths = [40, 3, 2, 4, 3, 38, 2, 5]
    trajs = []
    for i, n in enumerate(lengths):
        t = _traj(prompts[i // 4], torch.randint(20, 200, (n,)).tolist(), [1] * n)
        t.group_id = f"g{i // 4}"
        trajs.append(t)
    batch = collate(trajs, [RewardResult(score=1.0)] * len(trajs), eng.tokenizer.pad_token_id)
    assert batch["shared_prompts"]

    def run(chunks):
        monkeypatch.setattr(local, "LENGTH_CHUNKS", chunks)
        eng.model.zero_grad(set_to_none=True)
        logp, ent = eng.forward(eng.model, batch, slice(None), grad=True, entropy=True)
        ((logp * batch["response_mask"]).sum() + (ent * batch["response_mask"]).sum()).backward()
        grads = [p.grad.clone() for p in eng.model.parameters() if p.grad is not None]
        return logp.detach() * batch["response_mask"], ent.detach() * batch["response_mask"], grads

    one, chunked = run(1), run(4)
    assert torch.allclose(one[0], chunked[0], atol=1e-5) and torch.allclose(one[1], chunked[1], atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(one[2], chunked[2]))
    assert not torch.equal(one[0], torch.zeros_like(one[0]))
