"""A verl platform for a machine without an accelerator.

verl talks to the device through ``get_platform()``: its name ("cpu" here, so tensors go to
``torch.device("cpu")``), its collective backend (gloo) and a ``torch.cuda``-like module
(`CpuDeviceModule`) for the memory, RNG and stream calls verl makes. Ray scheduling keeps the
"GPU" resource name: the run declares fake GPUs (``ray_init.num_gpus``).
"""

from __future__ import annotations

import contextlib
from types import ModuleType

import torch
from verl.plugin.platform.platform_base import PlatformBase


class _Stream:
    """Stands in for ``torch.cuda.Stream``: CPU work is already ordered."""

    def __init__(self, *args, **kwargs):
        pass

    def synchronize(self) -> None:
        pass

    def wait_stream(self, other) -> None:
        pass

    def wait_event(self, event) -> None:
        pass

    def record_event(self, event=None):
        return event or _Event()


class _Event(_Stream):
    def record(self, stream=None) -> None:
        pass

    def wait(self, stream=None) -> None:
        pass

    def query(self) -> bool:
        return True


class CpuDeviceModule(ModuleType):
    """The subset of ``torch.cuda`` verl 0.9.1 calls, answered for the host."""

    Stream = _Stream
    Event = _Event

    def __init__(self):
        super().__init__("r1repro_verl_cpu.device")

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device():
        return torch.device("cpu")

    @staticmethod
    def set_device(device) -> None:
        pass

    @staticmethod
    def get_device_name(device=None) -> str:
        return "cpu"

    @staticmethod
    def synchronize(device=None) -> None:
        pass

    @staticmethod
    def empty_cache() -> None:
        pass

    @staticmethod
    def ipc_collect() -> None:
        pass

    @staticmethod
    def mem_get_info(device=None) -> tuple[int, int]:
        try:
            import psutil

            vm = psutil.virtual_memory()
            return int(vm.available), int(vm.total)
        except Exception:  # noqa: BLE001
            return 8 << 30, 16 << 30

    @staticmethod
    def memory_allocated(device=None) -> int:
        return 0

    max_memory_allocated = memory_allocated
    memory_reserved = memory_allocated
    max_memory_reserved = memory_allocated

    @staticmethod
    def set_per_process_memory_fraction(fraction, device=None) -> None:
        pass

    @staticmethod
    def get_rng_state(device=None):
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state, device=None) -> None:
        torch.set_rng_state(state)

    @staticmethod
    def manual_seed(seed) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed

    @staticmethod
    def current_stream(device=None):
        return _Stream()

    @staticmethod
    def stream(stream=None):
        return contextlib.nullcontext()


_DEVICE_MODULE = CpuDeviceModule()


class CpuPlatform(PlatformBase):
    """verl's platform interface on the host CPU (gloo collectives, no profiler)."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> ModuleType:
        return _DEVICE_MODULE

    def is_available(self) -> bool:
        return True

    def current_device(self):
        # verl calls `.to(get_device_id())`; an int 0 would mean cuda:0.
        return torch.device("cpu")

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        pass

    def synchronize(self, device_index=None) -> None:
        pass

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        pass

    def empty_cache(self) -> None:
        pass

    def get_device_capability(self, device_index: int = 0):
        return (None, None)

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    @contextlib.contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        pass

    def profiler_stop(self) -> None:
        pass

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self):
        return None
