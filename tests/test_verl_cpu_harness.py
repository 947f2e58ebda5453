"""Fast checks of the pieces behind the verl CPU end-to-end runs (no verl run here)."""

from __future__ import annotations

import logging

import pytest
from omegaconf import OmegaConf

from r1repro.types import RewardResult

pytestmark = pytest.mark.verl


def test_validate_rejects_a_rollout_replica_that_does_not_divide_the_gpus():
    from r1repro.verl_bridge import config as vcfg

    base = ["trainer.n_gpus_per_node=1", "algorithm.adv_estimator=grpo",
            "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2",
            "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2",
            "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2", "actor_rollout_ref.rollout.name=vllm"]  # fmt: skip
    with pytest.raises(vcfg.VerlConfigError, match="tensor_model_parallel_size"):
        vcfg.validate(vcfg.compose(base))  # verl 0.9.1's default rollout TP is 2
    vcfg.validate(vcfg.compose([*base, "actor_rollout_ref.rollout.tensor_model_parallel_size=1"]))


@pytest.mark.parametrize(
    "section, keys, expected",
    [
        (None, {"rollout_log_probs"}, False),  # no section: verl skips it too
        ({"rollout_is": None, "rollout_rs": None, "bypass_mode": False}, {"rollout_log_probs"}, True),
        ({"rollout_is": "token", "bypass_mode": False}, {"old_log_probs"}, False),  # no rollout log-probs
        ({"rollout_is": "token", "bypass_mode": True}, {"rollout_log_probs"}, False),  # the actor does it
    ],
)
def test_rollout_correction_runs_exactly_when_verls_own_method_runs_it(section, keys, expected):
    from r1repro.verl_bridge.trainer import rollout_correction_active

    algorithm = OmegaConf.create({"rollout_correction": section})
    assert rollout_correction_active(algorithm, keys) is expected


def test_reward_info_metrics_average_numbers_and_booleans_only():
    from r1repro.verl_bridge.trainer import reward_info_metrics

    results = [RewardResult(1.0, {"correct": True, "len": 3, "why": "ok"}),
               RewardResult(0.0, {"correct": False, "len": 5, "x": float("nan")})]  # fmt: skip
    assert reward_info_metrics(results) == {"reward/correct/mean": 0.5, "reward/len/mean": 4.0}


def test_a_failed_trainer_registration_is_a_warning_naming_the_cause(monkeypatch, caplog):
    from r1repro.verl_bridge import trainer, worker_init

    def boom():
        raise ValueError("Unknown platform 'cpu'")

    monkeypatch.setattr(trainer, "register_trainer", boom)
    with caplog.at_level(logging.WARNING, logger="r1repro.verl"):
        worker_init.register_all()
    assert any("r1repro_sync" in r.message and "Unknown platform 'cpu'" in r.message
               and r.levelno == logging.WARNING for r in caplog.records)  # fmt: skip


def test_cpu_smoke_dry_run_composes_a_config_verl_accepts(capsys):
    from pathlib import Path

    from r1repro.repro.run import run_reproduction

    loop = (
        "+verl.agent_loop={_target_: r1repro_hgpo.agent_loop.ModeForcedAgentLoop, strategy: hgpo.mode_forced}"
    )
    summary = run_reproduction(
        "toy", scale="paper", dry_run=True,
        overrides=["+verl.cpu_smoke={steps: 3, gpus: 2}", loop, "+verl.not_on_verl='step X needs Y'"],
    )  # fmt: skip
    assert "# not on verl: step X needs Y" in capsys.readouterr().out
    loops = Path(summary["out_dir"]) / "agent_loops.yaml"
    assert "ModeForcedAgentLoop" in loops.read_text() and "toy.tagged" in loops.read_text()
    assert f"actor_rollout_ref.rollout.agent.agent_loop_config_path={loops}" in summary["command"]
    assert "actor_rollout_ref.rollout.agent.default_agent_loop=r1repro_agent" in summary["command"]
    cmd = summary["command"]
    assert summary["cpu_smoke"] and "actor_rollout_ref.rollout.name=hf" in cmd
    assert "trainer.total_training_steps=3" in cmd and "+ray_kwargs.ray_init.num_gpus=2" in cmd
    assert any(c.startswith("actor_rollout_ref.model.path=") and "tiny-nano" in c for c in cmd)


def test_harness_reads_verls_console_metrics():
    from r1repro_verl_cpu.harness import parse_metrics

    text = ("(TaskRunnerV1 pid=1) step:1 - actor/grad_norm:0.25 - actor/lr:1e-06 - num_turns/max:np.int64(3)"
            " - val-aux/a/b/mean@1:np.float64(-0.5) - note:text\nstep:2 - actor/grad_norm:nan")  # fmt: skip
    m = parse_metrics(text)
    assert m[1] == {
        "actor/grad_norm": 0.25,
        "actor/lr": 1e-06,
        "num_turns/max": 3.0,
        "val-aux/a/b/mean@1": -0.5,
    }
    assert sorted(m) == [1, 2]


def test_the_cpu_harness_is_inert_without_its_switch(monkeypatch):
    import subprocess
    import sys

    code = ("import r1repro_verl_cpu, sys; "
            "print('verl' in sys.modules, r1repro_verl_cpu.enabled())")  # fmt: skip
    env = {k: v for k, v in __import__("os").environ.items() if k != "R1REPRO_VERL_CPU"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr[-500:]


def test_group_slots_number_the_samples_of_a_prompt_in_arrival_order():
    pytest.importorskip("verl.experimental.agent_loop.agent_loop")
    from r1repro.verl_bridge.agent_loop import group_slot

    assert [group_slot("uid-1", 4) for _ in range(6)] == [0, 1, 2, 3, 0, 1]


def test_an_agent_loop_without_a_target_is_an_error():
    from r1repro.verl_bridge.agent_loop_config import agent_loop_config

    with pytest.raises(ValueError, match="_target_"):
        agent_loop_config({"strategy": "hgpo.mode_forced"}, "core.boxed")


def test_verls_processor_loads_for_a_tiny_vlm_without_torchvision_and_saves():
    """verl's own `hf_processor` on a Qwen2.5-VL folder: without the harness's video stub it
    returns None (transformers' video processor needs torchvision); with it, a processor whose
    image tokens match the image, and which a checkpoint can save and load again."""
    import shutil
    import tempfile

    from PIL import Image
    from r1repro_verl_cpu.vl import register_video_stub, vision_images
    from verl.utils import hf_processor

    from r1repro.models.tiny_vl import materialize_tiny_vl

    folder = str(materialize_tiny_vl("tiny-vl:nano"))
    register_video_stub()
    proc = hf_processor(folder)
    assert type(proc).__name__ == "Qwen2_5_VLProcessor" and hasattr(proc, "get_rope_index")
    chat = [{"role": "user", "content": [{"type": "image", "image": Image.new("RGB", (300, 200))},
                                         {"type": "text", "text": "What?"}]}]  # fmt: skip
    images = vision_images(chat)
    assert [im.size for im in images] == [(308, 196)]  # Qwen's rule: multiples of 28
    out = proc(text=[proc.apply_chat_template(chat, tokenize=False)], images=images, return_tensors="pt")
    pads = int((out["input_ids"] == proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")).sum())
    assert pads == int(out["image_grid_thw"].prod()) // 4 > 1
    with tempfile.TemporaryDirectory() as tmp:  # as a checkpoint holds it: the processor next to the config
        proc.save_pretrained(tmp)
        shutil.copy(f"{folder}/config.json", tmp)
        assert type(hf_processor(tmp)).__name__ == "Qwen2_5_VLProcessor"


def test_the_hf_rollout_serves_a_vlm_with_the_conversations_images(monkeypatch):
    """The "hf" rollout with a tiny Qwen2.5-VL: generation and log-probs see the images (a
    different image changes the log-probs), vision tokens are never sampled, an image count
    that does not match the prompt's pads is a clear error, and `crop_then_answer` scripts
    exactly one crop call."""
    import types

    import torch
    from PIL import Image
    from r1repro_verl_cpu import hf_rollout
    from r1repro_verl_cpu.vl import register_video_stub
    from verl.utils import hf_processor

    from r1repro.models.tiny_vl import materialize_tiny_vl

    folder = str(materialize_tiny_vl("tiny-vl:nano"))
    register_video_stub()
    proc = hf_processor(folder)
    cfg = types.SimpleNamespace(seed=0, prompt_length=256, response_length=80)
    server = hf_rollout.HFServer(cfg, types.SimpleNamespace(local_path=folder, path=folder))
    chat = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What?"}]}]
    text = proc.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    red, blue = Image.new("RGB", (112, 112), (220, 30, 30)), Image.new("RGB", (112, 112), (30, 30, 220))
    ids = proc(text=[text], images=[red], return_tensors="pt")["input_ids"][0].tolist()
    monkeypatch.delenv(hf_rollout.SCRIPT_ENV, raising=False)
    tokens, logps, _ = server._generate(ids, {"temperature": 1.0, "max_tokens": 12}, [red])
    assert tokens and len(tokens) == len(logps) and not set(tokens) & set(server.vision_ids)
    monkeypatch.setenv(hf_rollout.SCRIPT_ENV, "crop_then_answer")
    call, call_red, _ = server._generate(ids, {"temperature": 1.0}, [red])
    _, call_blue, _ = server._generate(ids, {"temperature": 1.0}, [blue])
    assert (
        "crop_image_normalized" in server.tokenizer.decode(call) and call[-1] == server.tokenizer.eos_token_id
    )
    assert not torch.allclose(torch.tensor(call_red), torch.tensor(call_blue))  # the pixels reach the model
    with pytest.raises(ValueError, match="image tokens"):
        server._generate(ids, {"temperature": 1.0}, [red, blue])
    after_tool = ids + server.tokenizer.encode("<|im_start|>tool\nhere<|im_end|>\n", add_special_tokens=False)
    assert hf_rollout.scripted_turn("crop_then_answer", server.tokenizer, after_tool, []) is None


def test_a_run_that_lost_its_master_port_is_started_again_and_no_other_failure_is(monkeypatch, tmp_path):
    """verl picks a free master port and binds it later; if another socket took it meanwhile, torch
    prints EADDRINUSE and the run is started once more. Any other failure is returned at once."""
    harness = pytest.importorskip("r1repro_verl_cpu.harness")
    outputs: list[tuple[int, str]] = []

    class FakeProcess:
        def __init__(self, *args, **kwargs):
            self.pid = 0
            self.returncode, self.output = outputs.pop(0)

        def communicate(self, timeout=None):
            return self.output, None

    monkeypatch.setattr(harness.subprocess, "Popen", FakeProcess)
    outputs[:] = [
        (1, "DistNetworkError: ... EADDRINUSE ..."),
        (0, "# resolved verl config: /x/run/verl_config.yaml\n"),
    ]
    run = harness.run_smoke("toy", log=tmp_path / "log")
    assert run.returncode == 0 and not outputs and "attempt 1" in (tmp_path / "log").read_text()
    outputs[:] = [(1, "ValueError: a real failure"), (0, "")]
    assert harness.run_smoke("toy").returncode == 1 and len(outputs) == 1  # not started again
