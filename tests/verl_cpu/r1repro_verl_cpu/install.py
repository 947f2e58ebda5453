"""Put the CPU pieces into verl (called on import when R1REPRO_VERL_CPU=1)."""

from __future__ import annotations

import functools
import sys

_INSTALLED = False


def _register_platform() -> None:
    from verl.plugin.platform import platform_manager as pm

    from r1repro_verl_cpu.platform import CpuPlatform

    pm.PlatformRegistry.register(platform="cpu")(CpuPlatform)
    current = pm._current_platform
    if current is None or current.device_name != "cpu":
        pm.set_platform(CpuPlatform())


def _plain_gloo() -> None:
    """verl builds "cpu:gloo,cpu:gloo" on CPU (verl issue #6237); torch wants plain "gloo".

    ``verl.workers.engine_workers`` imports the function by name, so the wrapper must be in
    place before that module is imported (this runs while ``verl`` itself is importing)."""
    from verl.utils import distributed as dist

    original = dist.initialize_global_process_group_ray
    if getattr(original, "_r1repro_cpu", False):
        return

    @functools.wraps(original)
    def init_gloo(timeout_second=None, backend=None):
        return original(timeout_second=timeout_second, backend=backend or "gloo")

    init_gloo._r1repro_cpu = True
    dist.initialize_global_process_group_ray = init_gloo
    for name in ("verl.workers.engine_workers", "verl.workers.fsdp_workers"):
        mod = sys.modules.get(name)
        if mod is not None and hasattr(mod, "initialize_global_process_group_ray"):
            mod.initialize_global_process_group_ray = init_gloo


def _unpinned_offload() -> None:
    """FSDP2's reference model uses ``CPUOffloadPolicy(pin_memory=True)``; pinning needs an
    accelerator. Replace the class where verl looks it up by one that never pins."""
    import torch.distributed.fsdp as tfsdp

    base = tfsdp.CPUOffloadPolicy
    if getattr(base, "_r1repro_cpu", False):
        return

    class UnpinnedCPUOffloadPolicy(base):
        _r1repro_cpu = True

        def __init__(self, pin_memory: bool = False):
            super().__init__(pin_memory=False)

    tfsdp.CPUOffloadPolicy = UnpinnedCPUOffloadPolicy
    for name in ("verl.utils.fsdp_utils", "verl.workers.engine.fsdp.transformer_impl"):
        mod = sys.modules.get(name)
        if mod is not None and hasattr(mod, "CPUOffloadPolicy"):
            mod.CPUOffloadPolicy = UnpinnedCPUOffloadPolicy


def _eager_value_model() -> None:
    """verl loads a PPO critic as ``AutoModelForTokenClassification`` with
    ``attn_implementation="flash_attention_2"`` hard-coded (``verl.utils.model.load_valuehead_model``),
    which cannot load without flash-attn (and falls back to trl, not installed). On CPU the same
    class loads with eager attention; the engine imports the function at call time, so replacing
    the module attribute is enough."""
    import verl.utils.model as vm

    if getattr(vm.load_valuehead_model, "_r1repro_cpu", False):
        return

    def load_valuehead_model(local_path, torch_dtype, model_config, trust_remote_code):
        from transformers import AutoModelForTokenClassification

        return AutoModelForTokenClassification.from_pretrained(
            pretrained_model_name_or_path=local_path, torch_dtype=torch_dtype, config=model_config,
            attn_implementation="eager", trust_remote_code=trust_remote_code)  # fmt: skip

    load_valuehead_model._r1repro_cpu = True
    vm.load_valuehead_model = load_valuehead_model


def load_verl_entry_points(policy: str | None) -> None:
    """What ``verl/__init__`` does with ``verl.plugins`` entry points (same policy variable)."""
    import logging
    from importlib.metadata import entry_points

    policy = (policy or "auto").strip().lower()
    if policy == "none":
        return
    allowed = None if policy == "auto" else {n.strip() for n in policy.split(",") if n.strip()}
    for ep in entry_points(group="verl.plugins"):
        if allowed is None or ep.name in allowed:
            try:
                ep.load()
            except Exception as exc:  # noqa: BLE001 - as verl: a broken plugin must not stop verl
                logging.getLogger(__name__).warning("verl plugin '%s' failed to load: %s", ep.name, exc)


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    _register_platform()
    _plain_gloo()
    _unpinned_offload()
    _eager_value_model()
    from r1repro_verl_cpu.hf_rollout import register
    from r1repro_verl_cpu.vl import register_video_stub

    register()
    register_video_stub()  # Qwen2(.5)-VL processors without torchvision
    _INSTALLED = True
