"""verl 0.9.1's real trainer, end to end on CPU, through r1repro's real launch path.

Each test is one ``r1repro reproduce <paper> --scale paper +verl.cpu_smoke=...`` run (a tiny
Qwen2 or Qwen2.5-VL, 2 prompts x 4 samples, 2 steps) in a subprocess with a hard timeout, with
the test-only CPU harness of tests/verl_cpu (CPU platform, gloo, "hf" rollout). Checks are
combined so that the runs cover: r1repro_sync (group stage, side-info estimator, plugin policy
loss, rollout correction with IS weights), KL loss with a reference model, plugin rewards inside
verl's reward workers (toy, hgpo group-aware, tinyv with a stub judge, tapo), the HGPO and TAPO
agent loops, PPO with a critic and a search tool (stepsearch), verl's tool agent loop with a
vision-language policy and a tool that returns images (pixel_reasoner), checkpoints, a non-zero
gradient, and reward info keys in verl's metrics.
Runs one at a time (each peaks at about 6.5 GB over ~25 processes).
"""

from __future__ import annotations

import importlib.util
import os

import pytest

pytestmark = [
    pytest.mark.verl_e2e,
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("r1repro_verl_cpu") is None,
                       reason="the CPU harness (pip install -e tests/verl_cpu) is not installed"),
]  # fmt: skip

TIMEOUT = float(os.environ.get("R1REPRO_VERL_E2E_TIMEOUT", "540"))


def _run(tmp_path, paper, overrides=None, smoke=None):
    from r1repro_verl_cpu.harness import run_smoke

    run = run_smoke(paper, overrides, smoke, timeout=TIMEOUT, log=tmp_path / f"{paper}.log")
    assert run.returncode == 0, f"verl run failed (rc {run.returncode}):\n{run.tail()}"
    steps = sorted(s for s in run.metrics if s > 0)  # step 0: validation before training
    assert steps == [1, 2], f"expected training steps 1 and 2, got {steps}\n{run.tail()}"
    assert run.checkpoint(2) is not None, f"no checkpoint for step 2 under {run.out_dir}"
    return run


def _varies_within_groups(run) -> bool:
    return any(m.get("critic/score/max", 0) > m.get("critic/score/min", 0) for m in run.metrics.values())


def test_toy_preset_through_r1repro_sync_with_kl_and_rollout_is(tmp_path):
    """Group stage + side-info estimator + plugin policy loss, KL loss against a reference
    model, and verl's rollout correction with IS weights switched on (r1repro_sync used to
    refuse any rollout_correction section, which verl always fills: every run stopped at step 1)."""
    run = _run(tmp_path, "toy", ["verl.reward=toy.digits"], {"overrides": [
        "actor_rollout_ref.actor.use_kl_loss=true", "actor_rollout_ref.actor.kl_loss_coef=0.01",
        "algorithm.rollout_correction.rollout_is=token"]})  # fmt: skip
    keys = run.keys()
    assert _varies_within_groups(run), "toy.digits' group stage must make rewards differ within a group"
    assert any(m.get("actor/grad_norm", 0) > 0 for m in run.metrics.values()), "zero gradient"
    assert {"reward/digit_share/mean", "reward/group_best/mean"} <= keys, "reward info keys missing"
    assert all(abs(m["reward/group_best/mean"] - 0.25) < 1e-6 for m in run.metrics.values())  # 1 of n=4
    assert "actor/kl_loss" in keys, "KL loss with the reference model did not run"
    assert any(k.startswith("rollout_corr/rollout_is") for k in keys), "rollout IS weights not computed"
    assert "actor/ratio_mean" in keys, "the plugin policy loss (toy.reinforce) did not run"


def test_hgpo_preset_runs_its_mode_forced_agent_loop(tmp_path):
    """HGPO's own rollouts inside verl: half of each group forced into <think>, half into
    <no_think> (read back by hgpo.reward's mode info), the group-aware reward and the hgpo
    estimator through r1repro_sync, KL loss (the preset's), validation metrics."""
    run = _run(tmp_path, "hgpo", ["verl.dataset=hgpo.compose", "verl.val_dataset=hgpo.compose"],
               {"validate": True})  # fmt: skip
    for step, m in run.metrics.items():
        if "reward/mode_is_think/mean" in m:
            assert m["reward/mode_is_think/mean"] == pytest.approx(0.5), f"step {step}: not half/half"
    assert any("reward/mode_is_think/mean" in m for m in run.metrics.values()), sorted(run.keys())
    assert "actor/kl_loss" in run.keys()
    assert (run.out_dir / "agent_loops.yaml").is_file()


def test_tapo_preset_runs_its_guided_agent_loop(tmp_path):
    """TAPO's thought-guided step-wise rollouts inside verl (instruction tokens loss-masked,
    several turns per sample), tapo.reward in verl's reward workers, validation metrics."""
    # 4-token steps: a random policy rarely writes the step delimiter, so steps end by length
    # and every action of the template fits in the 64-token budget.
    run = _run(tmp_path, "tapo", ["verl.dataset=tapo.ops_chain", "library=ops",
                                  "verl.agent_loop.strategy.max_step_tokens=4"],
               {"validate": True, "max_response_length": 64})  # fmt: skip
    turns = [m.get("num_turns/max", 0) for step, m in run.metrics.items() if step > 0]
    assert min(turns) > 2, f"guided training rollouts take several policy steps, got num_turns/max {turns}"
    assert any(k.startswith("val-aux/") or k.startswith("val-core/") for k in run.keys())


def test_tinyv_preset_with_a_stub_judge(tmp_path):
    """TinyV's rule + judge reward inside verl's reward workers (a stub judge: no model server),
    KL in reward (the preset's), and the reward's info keys in verl's validation metrics."""
    judge = "+verl.reward.judge={backend:stub,fn:'r1repro_tinyv.reward:stub_says_true_for_seven'}"
    run = _run(tmp_path, "tinyv", ["verl.dataset=tinyv.multiform", "~verl.val_dataset", "~verl.reward.judge", judge],
               {"validate": True})  # fmt: skip
    keys = run.keys()
    for info in ("rule_correct", "llm_called"):  # tinyv.addon's info keys, from verl's reward workers
        assert any(k.startswith("val-aux/") and f"/{info}/" in k for k in keys), sorted(
            k for k in keys if "val" in k
        )
    assert any(m.get("actor/pg_loss") is not None for m in run.metrics.values())


def test_stepsearch_preset_runs_ppo_with_a_critic_and_step_rewards_from_its_search_tool(tmp_path):
    """StepSearch's paper loop inside verl: EnvironmentAgentLoop with the bare <search>/<answer>
    tags over a BM25 index of the CPU world, PPO with a critic (GAE, gamma = lambda = 1, KL in
    reward), and the 0.6 (IG - RP) step rewards placed on the </search> tokens by r1repro_sync.
    The policy is the harness's scripted searcher (a random tiny model never writes a whole
    <search> ... </search>); its log-probs and every update are the real model's."""
    run = _run(tmp_path, "stepsearch", [
        "verl.dataset=stepsearch.world", "verl.template=stepsearch.cpu",
        "+verl.agent_loop.environment.corpus={world_seed: 0}", "~verl.agent_loop.environment.retriever",
        "verl.agent_loop.environment.topk=2", "verl.agent_loop.environment.max_turns=2",
        "verl.agent_loop.environment.max_observation_tokens=96"],  # the CPU preset's: </information> fits
        {"max_response_length": 256, "max_prompt_length": 160, "policy_script": "search_then_answer"})  # fmt: skip
    keys = run.keys()
    assert {"critic/vf_loss", "critic/values/mean"} <= keys, "the critic did not train"
    assert all(m.get("num_turns/max", 0) >= 3 for s, m in run.metrics.items() if s > 0), "no search turn"
    earned = [m.get("reward/step_rewards_sum/mean", 0.0) for s, m in run.metrics.items() if s > 0]
    assert any(abs(e) > 0 for e in earned), f"no step reward reached the token scores: {earned}"
    assert "actor/reward_kl_penalty" in keys, "KL in reward (the preset's) did not run"


def test_pixel_reasoner_crop_tool_returns_images_inside_verls_tool_agent_loop(tmp_path):
    """Pixel Reasoner's paper loop inside verl with a vision-language policy (a tiny Qwen2.5-VL):
    verl's tool agent loop parses the policy's <tool_call>, runs our crop BaseTool, appends the
    crop to the conversation as an image, and the next turn and the FSDP update see both images
    (pixel values, multimodal rope). The first turn is the harness's scripted crop call (a random
    tiny model never writes one); the answer turn is sampled from the model with both images."""
    from r1repro_pixel_reasoner.verl_tools import write_tool_config

    tools = write_tool_config(tmp_path / "tools.yaml", {"crop_min_pixels": 3136, "crop_max_pixels": 65536})
    run = _run(tmp_path, "pixel_reasoner", ["verl.template=pixel_reasoner.cpu"], {
        "model": "tiny-vl:nano", "max_prompt_length": 256, "max_response_length": 320,
        "policy_script": "crop_then_answer",
        "overrides": [f"actor_rollout_ref.rollout.multi_turn.tool_config_path={tools}"]})  # fmt: skip
    steps = [m for s, m in run.metrics.items() if s > 0]
    assert all(m.get("num_turns/min", 0) >= 4 for m in steps), (
        "a trajectory had no tool turn"
    )  # user, call, tool, answer
    # the answer turn was generated with the prompt's image and the crop the tool returned
    assert "[hf-rollout] generating with 2 image(s)" in run.output, run.tail()
    # every response holds the crop's image tokens (call ~65 + observation ~40 + image >= 64 + answer; an
    # "Execution error" observation instead of the image gives ~120)
    assert all(m.get("response_length/min", 0) > 170 for m in steps), [
        m.get("response_length/min") for m in steps
    ]
    assert any(m.get("actor/pg_loss") is not None for m in steps)
