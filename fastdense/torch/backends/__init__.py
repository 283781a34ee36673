"""``torch.backends`` on the CPU: the flags scripts set, and availability answers.

``cudnn.benchmark``, ``cudnn.deterministic``, ``cudnn.enabled``,
``cudnn.allow_tf32`` and ``cuda.matmul.allow_tf32`` are plain settable flags
with PyTorch's defaults; fastdense never uses cuDNN or CUDA, so they change
nothing (its CPU results are deterministic: same seed, same result).
``cudnn``/``mps``/``cuda`` report unavailable, as a CPU build of PyTorch
does; ``mkldnn``/``openmp`` report what fastdense uses (OpenMP threads: yes;
oneDNN: no). Each is a submodule, as in PyTorch: ``import
fastdense.torch.backends.cudnn as cudnn`` and ``from fastdense.torch.backends
import cudnn`` give the one module whose attributes are the flags.
"""

from __future__ import annotations

__all__ = [
    "cudnn",
    "cuda",
    "mps",
    "mkldnn",
    "openmp",
    "mkl",
    "cpu",
    "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled",
]

_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """``torch.use_deterministic_algorithms``: recorded; fastdense is deterministic anyway.

    Every fastdense kernel gives the same bits for the same inputs and seed
    (threads split rows and units, never a reduction order), so there is no
    nondeterministic algorithm to refuse.
    """
    if not isinstance(mode, bool):
        raise TypeError(
            f"use_deterministic_algorithms expects a bool, but got {type(mode).__name__}"
        )
    _deterministic.update(mode=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    """What :func:`use_deterministic_algorithms` last set (False at start)."""
    return _deterministic["mode"]


# real submodules, so `import fastdense.torch.backends.cudnn as cudnn` works as in PyTorch
from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp  # noqa: E402
