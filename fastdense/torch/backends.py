"""``torch.backends`` on the CPU: the flags scripts set, and availability answers.

``cudnn.benchmark``, ``cudnn.deterministic``, ``cudnn.enabled``,
``cudnn.allow_tf32`` and ``cuda.matmul.allow_tf32`` are plain settable flags
with PyTorch's defaults; fastdense never uses cuDNN or CUDA, so they change
nothing (its CPU results are deterministic: same seed, same result).
``cudnn``/``mps``/``cuda`` report unavailable, as a CPU build of PyTorch
does; ``mkldnn``/``openmp`` report what fastdense uses (OpenMP threads: yes;
oneDNN: no).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Optional

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


class _Flags:
    """A namespace of settable flags plus the module's functions."""

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not callable(v))
        return f"<torch.backends.{type(self).__name__.lstrip('_').lower()} {items}>"


class _Cudnn(_Flags):
    def __init__(self) -> None:
        self.enabled = True
        self.benchmark = False
        self.deterministic = False
        self.allow_tf32 = True
        self.benchmark_limit = 10

    @staticmethod
    def is_available() -> bool:
        """False: no cuDNN (fastdense runs on the CPU)."""
        return False

    @staticmethod
    def version() -> Optional[int]:
        """None (no cuDNN), as PyTorch's CPU build answers."""
        return None


class _Cuda(_Flags):
    def __init__(self) -> None:
        self.matmul = SimpleNamespace(
            allow_tf32=False,
            allow_fp16_reduced_precision_reduction=True,
            allow_bf16_reduced_precision_reduction=True,
        )

    @staticmethod
    def is_built() -> bool:
        """False: fastdense has no CUDA build."""
        return False


class _Mps(_Flags):
    @staticmethod
    def is_available() -> bool:
        """False: no Apple GPU backend."""
        return False

    @staticmethod
    def is_built() -> bool:
        """False."""
        return False


class _Mkldnn(_Flags):
    def __init__(self) -> None:
        self.enabled = True

    @staticmethod
    def is_available() -> bool:
        """False: fastdense's kernels call BLAS directly, not oneDNN."""
        return False


class _Openmp(_Flags):
    @staticmethod
    def is_available() -> bool:
        """True: fastdense's kernels run their threads with OpenMP."""
        return True


class _Mkl(_Flags):
    @staticmethod
    def is_available() -> bool:
        """False: fastdense uses the BLAS NumPy and SciPy ship (OpenBLAS), not MKL."""
        return False


class _Cpu(_Flags):
    @staticmethod
    def get_cpu_capability() -> str:
        """The SIMD build of fastdense's kernels in use: "AVX512", "AVX2" or "DEFAULT"."""
        import os

        from .. import _kernels

        folder = os.path.basename(os.path.dirname(_kernels.__file__))
        return {"_avx512": "AVX512", "_avx2": "AVX2"}.get(folder, "DEFAULT")


cudnn = _Cudnn()
cuda = _Cuda()
mps = _Mps()
mkldnn = _Mkldnn()
openmp = _Openmp()
mkl = _Mkl()
cpu = _Cpu()
