"""``torch.cuda`` on a machine without CUDA: fastdense runs on the CPU only.

What a CPU build of PyTorch answers, fastdense answers the same way
(``is_available()`` is False, ``device_count()`` is 0, seeding and
``empty_cache()`` are no-ops, memory counters are 0), so scripts that check
for a GPU or seed "all devices" run unchanged. What needs a GPU
(``current_device``, ``synchronize``, ``get_device_name``, ...) raises
:class:`~fastdense.autograd.DeviceUnavailableError` naming the call, an
AssertionError as PyTorch's CPU build raises.
"""

from __future__ import annotations

from typing import Any, Callable

from ..autograd import DeviceUnavailableError

__all__ = [
    "is_available",
    "device_count",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "empty_cache",
    "is_initialized",
    "is_bf16_supported",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "max_memory_reserved",
    "current_device",
    "synchronize",
    "get_device_name",
    "get_device_properties",
    "get_device_capability",
    "set_device",
    "init",
    "get_rng_state",
    "set_rng_state",
    "initial_seed",
    "mem_get_info",
    "ipc_collect",
    "reset_peak_memory_stats",
]


def is_available() -> bool:
    """False: fastdense runs on the CPU only."""
    return False


def device_count() -> int:
    """0."""
    return 0


def is_initialized() -> bool:
    """False: there is no CUDA context."""
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False (no CUDA device), as PyTorch's CPU build answers."""
    return False


def manual_seed(seed: int) -> None:
    """No-op (there is no CUDA generator), as in PyTorch without CUDA.

    ``fastdense.torch.manual_seed`` seeds fastdense's generator.
    """


manual_seed_all = manual_seed


def seed() -> None:
    """No-op (no CUDA generator)."""


seed_all = seed


def empty_cache() -> None:
    """No-op (no CUDA memory is held), as in PyTorch without CUDA."""


def memory_allocated(device: Any = None) -> int:
    """0 bytes (no CUDA memory)."""
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def _needs_gpu(name: str) -> Callable[..., Any]:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise DeviceUnavailableError(
            f"torch.cuda.{name}() needs a CUDA GPU: fastdense runs on the CPU only "
            "(torch.cuda.is_available() is False; PyTorch's CPU build raises "
            "'Torch not compiled with CUDA enabled')"
        )

    unavailable.__name__ = unavailable.__qualname__ = name
    unavailable.__doc__ = f"Raises DeviceUnavailableError: ``torch.cuda.{name}`` needs a GPU."
    return unavailable


current_device = _needs_gpu("current_device")
synchronize = _needs_gpu("synchronize")
get_device_name = _needs_gpu("get_device_name")
get_device_properties = _needs_gpu("get_device_properties")
get_device_capability = _needs_gpu("get_device_capability")
set_device = _needs_gpu("set_device")
init = _needs_gpu("init")
get_rng_state = _needs_gpu("get_rng_state")
set_rng_state = _needs_gpu("set_rng_state")
initial_seed = _needs_gpu("initial_seed")
mem_get_info = _needs_gpu("mem_get_info")
ipc_collect = _needs_gpu("ipc_collect")
reset_peak_memory_stats = _needs_gpu("reset_peak_memory_stats")
