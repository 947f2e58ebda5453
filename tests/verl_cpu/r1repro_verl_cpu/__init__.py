"""Test-only CPU harness for verl 0.9.1's real trainer (``python -m verl.trainer.main_ppo``).

verl imports this package in every process that imports verl when it is named in
``VERL_USE_EXTERNAL_MODULES`` (verl loads those before its ``verl.plugins`` entry points, so
the CPU platform is in place before any module asks verl for the device at import time).
It does nothing unless ``R1REPRO_VERL_CPU=1``: installing it never changes a GPU run.

What it supplies (see ``../README.md`` and /work/shared/notes/verl-on-cpu.md):
- a CPU platform (`platform.CpuPlatform`): device "cpu", gloo, a stand-in for ``torch.cuda``;
- plain "gloo" for verl's process group (verl builds "cpu:gloo,cpu:gloo", which torch rejects);
- FSDP2's CPU offload policy without pinned memory (the reference model asks for it);
- an "hf" rollout (`hf_rollout`): a ``RolloutReplica`` whose server runs HF ``generate``.
"""

from __future__ import annotations

import os

ENABLE_ENV = "R1REPRO_VERL_CPU"
MODULE_NAME = "r1repro_verl_cpu"


def enabled() -> bool:
    return os.environ.get(ENABLE_ENV, "") == "1"


def process_env() -> dict[str, str]:
    """Environment variables a verl CPU run needs (the launcher adds them to the subprocess)."""
    modules = [m for m in os.environ.get("VERL_USE_EXTERNAL_MODULES", "").split(",") if m]
    if MODULE_NAME not in modules:
        modules.insert(0, MODULE_NAME)
    return {
        ENABLE_ENV: "1",
        "VERL_USE_EXTERNAL_MODULES": ",".join(modules),
        "VERL_PLATFORM": "cpu",
        # verl registers its FSDP engines for cuda/npu only; this selects them on CPU.
        "VERL_ENGINE_DEVICE": "cuda",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def _activate() -> None:
    """Install the CPU pieces before any ``verl.plugins`` entry point runs.

    Imported by verl (``VERL_USE_EXTERNAL_MODULES``): verl is mid-import and has not run its
    entry points yet, so installing now is early enough. Imported first (e.g. Ray unpickling
    `hf_rollout.HFServer`): importing verl would run the entry points (r1repro's asks for the
    platform) before the CPU platform exists, so verl is imported with entry points off, the
    harness installed, and the entry points loaded afterwards."""
    import sys

    from r1repro_verl_cpu.install import install

    if "verl" in sys.modules:
        install()
        return
    policy = os.environ.get("VERL_USE_EXTERNAL_PLUGINS")
    os.environ["VERL_USE_EXTERNAL_PLUGINS"] = "none"
    try:
        import verl  # noqa: F401
    finally:
        if policy is None:
            os.environ.pop("VERL_USE_EXTERNAL_PLUGINS")
        else:
            os.environ["VERL_USE_EXTERNAL_PLUGINS"] = policy
    install()
    from r1repro_verl_cpu.install import load_verl_entry_points

    load_verl_entry_points(policy)


if enabled():
    _activate()
