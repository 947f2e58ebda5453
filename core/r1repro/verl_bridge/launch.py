"""Launching a reproduction at paper scale on verl.

Steps: export the preset's datasets to verl parquet (``data/train.parquet``,
``data/val.parquet`` under ``runs/<paper>/<run-id>/``), build the hydra overrides, compose
and validate them against the installed verl's schema, then either print everything
(``dry_run``) or run ``python -m verl.trainer.main_ppo <overrides>``. Plugins reach every
Ray worker through verl's ``verl.plugins`` entry point (`r1repro.verl_bridge.worker_init`).

CPU smoke mode (``verl.cpu_smoke=true``, for tests): the same launch, with a tiny Qwen2 built
from the project's configs, a few rows, small batches, 2 steps and the CPU overrides of
`cpu_smoke_overrides`. It needs the test-only ``r1repro-verl-cpu`` package (tests/verl_cpu),
which gives verl a CPU platform and an "hf" rollout. Real runs keep the GPU check.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from r1repro.paths import runs_dir

CPU_SMOKE_DEFAULTS: dict[str, Any] = {
    "model": "tiny:nano",  # a random tiny Qwen2 (r1repro.models.tiny) with the project tokenizer
    "gpus": 1,  # fake GPUs: Ray schedules verl's workers on the "GPU" resource
    "steps": 2,
    "prompts": 2,  # prompts per step (data.train_batch_size)
    "n": 4,  # samples per prompt (a group)
    "max_prompt_length": 256,
    "max_response_length": 16,
    "timeout_s": 600,
    "validate": False,  # validation before training and after the last step (verl's val-aux metrics)
    "overrides": [],  # extra verl overrides for this smoke run, appended last
    # a scripted policy of the CPU harness instead of sampling (tests of multi-turn tools, which a
    # random tiny model never calls): "search_then_answer", "crop_then_answer"
    # (r1repro_verl_cpu.hf_rollout.scripted_turn)
    "policy_script": None,
}


def cpu_smoke_settings(preset) -> dict[str, Any]:
    """``verl.cpu_smoke`` as a dict (``true`` means the defaults; a mapping overrides them)."""
    from omegaconf import OmegaConf

    raw = preset.get("cpu_smoke")
    if OmegaConf.is_config(raw):
        raw = OmegaConf.to_container(raw, resolve=True)
    if not raw:
        return {}
    return {**CPU_SMOKE_DEFAULTS, **(raw if isinstance(raw, dict) else {})}


def cpu_smoke_overrides(smoke: dict[str, Any], out: Path) -> list[str]:
    """What a verl 0.9.1 run needs on a CPU-only machine (facts: ../shared/notes/verl-on-cpu.md),
    plus a run small enough for CI. Appended last, so they win over the preset's values."""
    from r1repro.models.tiny import resolve_model
    from r1repro.models.tiny_vl import is_vl_model

    gpus, batch, n = int(smoke["gpus"]), int(smoke["prompts"]), int(smoke["n"])
    ppo_batch = batch * gpus
    micro = max(1, ppo_batch * n // gpus)
    return [
        f"actor_rollout_ref.model.path={resolve_model(str(smoke['model']))}",
        f"trainer.n_gpus_per_node={gpus}",
        "trainer.nnodes=1",
        "trainer.device=cpu",
        "ray_kwargs.ray_init.num_cpus=16",  # without it the run hangs after printing the config
        f"+ray_kwargs.ray_init.num_gpus={gpus}",
        "actor_rollout_ref.actor.strategy=fsdp2",  # FSDP1 needs GPU tensors to sync module states
        "actor_rollout_ref.ref.strategy=fsdp2",
        "+actor_rollout_ref.model.override_config.attn_implementation=eager",
        "actor_rollout_ref.actor.fsdp_config.use_torch_compile=false",
        "actor_rollout_ref.ref.fsdp_config.use_torch_compile=false",
        "actor_rollout_ref.model.enable_gradient_checkpointing=false",
        "actor_rollout_ref.rollout.name=hf",
        "actor_rollout_ref.rollout.tensor_model_parallel_size=1",
        "actor_rollout_ref.rollout.agent.num_workers=1",
        "reward.num_workers=1",
        "data.dataloader_num_workers=0",
        "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
        f"data.train_batch_size={ppo_batch}",
        f"data.val_batch_size={ppo_batch}",
        f"actor_rollout_ref.rollout.n={n}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={ppo_batch}",
        f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={micro}",
        f"actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu={micro}",
        f"actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu={micro}",
        f"data.max_prompt_length={int(smoke['max_prompt_length'])}",
        f"data.max_response_length={int(smoke['max_response_length'])}",
        "data.truncation=left",
        "data.filter_overlong_prompts=false",
        f"trainer.total_training_steps={int(smoke['steps'])}",
        f"trainer.save_freq={int(smoke['steps'])}",
        f"trainer.test_freq={int(smoke['steps']) if smoke['validate'] else -1}",
        f"trainer.val_before_train={'true' if smoke['validate'] else 'false'}",
        "trainer.resume_mode=disable",
        f"trainer.default_local_dir={out / 'checkpoints'}",
        "trainer.logger=[console]",
        *(_critic_smoke(smoke, ppo_batch, micro) if smoke.get("critic") else []),
        *(_vl_smoke() if is_vl_model(str(smoke["model"])) else []),
        *[str(o) for o in smoke.get("overrides") or []],
    ]


def _vl_smoke() -> list[str]:
    """A vision-language policy on CPU: verl's padding-free path patches Qwen2(.5)-VL attention
    with flash-attention-only code, and its dataset reads a conversation's images with
    qwen_vl_utils (not installed: it needs torchvision); the harness's dataset reads them itself."""
    return [
        "actor_rollout_ref.model.use_remove_padding=false",
        "data.custom_cls.path=pkg://r1repro_verl_cpu.vl",
        "data.custom_cls.name=CpuVLDataset",
    ]


def _critic_smoke(smoke: dict[str, Any], ppo_batch: int, micro: int) -> list[str]:
    """The same CPU settings for a PPO preset's critic (a value model from the tiny policy)."""
    from r1repro.models.tiny import resolve_model

    return [
        f"critic.model.path={resolve_model(str(smoke['model']))}",
        "critic.strategy=fsdp2",
        "critic.fsdp.strategy=fsdp2",
        "critic.fsdp.use_torch_compile=false",
        "critic.model.enable_gradient_checkpointing=false",
        "+critic.model.override_config.attn_implementation=eager",
        f"critic.ppo_mini_batch_size={ppo_batch}",
        f"critic.ppo_micro_batch_size_per_gpu={micro}",
    ]


def cpu_smoke_env() -> dict[str, str]:
    """The CPU harness's environment (it stays inert in processes without it)."""
    try:
        import r1repro_verl_cpu
    except ImportError as exc:
        raise RuntimeError(
            "verl.cpu_smoke needs the test-only package tests/verl_cpu "
            "(pip install -e tests/verl_cpu; `make install` does it)"
        ) from exc
    return r1repro_verl_cpu.process_env()


def _export(
    preset, key: str, limit_key: str, split: str, out: Path, registry, template, log
) -> tuple[Path, str]:
    from r1repro.components import DatasetUnavailable
    from r1repro.verl_bridge.export import write_parquet

    spec = preset.get(key)
    path = out / "data" / f"{split}.parquet"
    if spec is None:
        return path, "not configured"
    ds = registry.build("dataset", spec)
    limit = preset.get(limit_key)
    try:
        rows = ds.load(preset.get(f"{key}_split", split if split != "val" else "test"), limit=limit,
                       seed=preset.get("data_seed"))  # fmt: skip
    except DatasetUnavailable as exc:
        return path, f"NOT EXPORTED ({exc})"
    write_parquet(rows, template, path, split=split)
    return path, f"{len(rows)} rows from {getattr(ds, 'hub_id', None) or ds.name}"


def launch_paper_scale(name: str, cfg, reproduction, dry_run: bool = False, registry=None) -> dict[str, Any]:
    from r1repro.registry import get_registry
    from r1repro.verl_bridge import config as vcfg

    registry = registry or get_registry()
    preset = cfg.get("verl")
    if preset is None and cfg.get("not_runnable"):  # a paper with no RL stage (an analysis, a data study)
        from r1repro.repro.preflight import ReproductionNotReady

        raise ReproductionNotReady(
            f"reproduction '{name}' has no verl run at paper scale: {cfg.not_runnable}"
        )
    if preset is None:
        raise ValueError(
            f"reproduction '{name}' has no paper-scale preset (a 'verl:' section in scale/paper.yaml)"
        )
    smoke = cpu_smoke_settings(preset)
    out = runs_dir() / name / (time.strftime("%Y%m%d-%H%M%S") + ("-paper-cpu-smoke" if smoke else "-paper"))
    out.mkdir(parents=True, exist_ok=True)
    if smoke:
        preset = _smoke_preset(preset, smoke)
    template = registry.build("template", preset.get("template", "core.boxed"))
    train_path, train_note = _export(
        preset, "dataset", "train_limit", "train", out, registry, template, print
    )
    val_path, val_note = _export(preset, "val_dataset", "val_limit", "val", out, registry, template, print)
    # no validation set exported: verl validates on the training file (not on a missing path)
    overrides = vcfg.preset_overrides(preset, str(train_path), str(val_path) if val_path.is_file() else None)
    overrides += _agent_loop_overrides(preset, out)
    if smoke:
        estimator = str((preset.get("overrides") or {}).get("algorithm.adv_estimator", ""))
        overrides += cpu_smoke_overrides({**smoke, "critic": estimator == "gae"}, out)
    composed = vcfg.compose(overrides)
    checked = vcfg.validate(composed)
    (out / "verl_config.yaml").write_text(vcfg.to_yaml(composed))
    cmd = [sys.executable, "-m", "verl.trainer.main_ppo", *overrides]
    head = " ".join(shlex.quote(c) for c in cmd[:3])
    printable = " \\\n    ".join([head, *(shlex.quote(c) for c in cmd[3:])])
    print(f"# r1repro paper-scale launch: {name}")
    print(f"# train data: {train_path}  [{train_note}]")
    print(f"# val data:   {val_path}  [{val_note}]")
    print(f"# verl accepted the composed config (validate_config + dataclasses: {', '.join(checked)})")
    print(f"# resolved verl config: {out / 'verl_config.yaml'}")
    if preset.get("not_on_verl"):  # paper steps this launch cannot run: say so, in one line
        print(f"# not on verl: {preset.get('not_on_verl')}")
    if dry_run:
        print(vcfg.to_yaml(composed))
    print(printable)
    if dry_run:
        from r1repro.verl_bridge.fidelity import print_dry_run_table

        print_dry_run_table(name, composed, preset)
    summary = {"paper": name, "scale": "paper", "out_dir": str(out), "command": cmd, "dry_run": dry_run,
               "validated_sections": checked, "cpu_smoke": bool(smoke)}  # fmt: skip
    if dry_run:
        return summary
    if smoke:
        script = {"R1REPRO_VERL_CPU_SCRIPT": str(smoke["policy_script"])} if smoke.get("policy_script") else {}
        return _run(cmd, out, summary, {**cpu_smoke_env(), **script}, timeout=float(smoke["timeout_s"]))
    try:
        import torch

        gpus = torch.cuda.device_count()
    except Exception:  # noqa: BLE001
        gpus = 0
    if gpus == 0:
        raise RuntimeError(
            "scale=paper launches verl, which needs GPUs; none found. Use DRY_RUN=1 to inspect."
        )
    return _run(cmd, out, summary, {})


def _agent_loop_overrides(preset, out: Path) -> list[str]:
    """``verl.agent_loop`` (a ``_target_`` agent loop fed by a rollout strategy): write verl's
    agent-loop config file and make it the default loop (r1repro.verl_bridge.agent_loop)."""
    from omegaconf import OmegaConf

    spec = preset.get("agent_loop")
    if not spec:
        return []
    from r1repro.verl_bridge.agent_loop_config import CONFIG_NAME, agent_loop_config

    spec = OmegaConf.to_container(spec, resolve=True) if OmegaConf.is_config(spec) else dict(spec)
    template = preset.get("template", "core.boxed")
    template = OmegaConf.to_container(template, resolve=True) if OmegaConf.is_config(template) else template
    path = out / "agent_loops.yaml"
    path.write_text(OmegaConf.to_yaml(OmegaConf.create(agent_loop_config(spec, template))))
    return [
        f"actor_rollout_ref.rollout.agent.agent_loop_config_path={path}",
        f"actor_rollout_ref.rollout.agent.default_agent_loop={CONFIG_NAME}",
    ]


def _smoke_preset(preset, smoke: dict[str, Any]):
    """The preset with CI-sized data (a few rows for the 2 steps)."""
    from omegaconf import OmegaConf

    p = OmegaConf.to_container(preset, resolve=True) if OmegaConf.is_config(preset) else dict(preset)
    rows = int(smoke["prompts"]) * int(smoke["gpus"]) * int(smoke["steps"])
    p["train_limit"] = rows
    p["val_limit"] = min(int(p.get("val_limit") or rows), rows)
    return OmegaConf.create(p)


def _run(cmd: list[str], out: Path, summary: dict[str, Any], extra_env: dict[str, str],
         timeout: float | None = None) -> dict[str, Any]:  # fmt: skip
    """Run verl in ``out``; with a timeout, the whole process group is killed when it expires
    (verl waits forever, rather than failing, when Ray cannot place its workers)."""
    import signal

    env = {**os.environ, "R1REPRO_ROOT": str(Path.cwd()), **extra_env}
    proc = subprocess.Popen(cmd, env=env, cwd=out, start_new_session=True)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise RuntimeError(f"verl did not finish within {timeout:.0f} s (killed); see {out}") from None
    summary["returncode"] = rc
    if rc != 0:
        raise RuntimeError(f"verl exited with status {rc}")
    return summary
