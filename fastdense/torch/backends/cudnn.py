"""``torch.backends.cudnn`` on the CPU: PyTorch's flags, settable, changing nothing.

``import fastdense.torch.backends.cudnn as cudnn`` works as
``import torch.backends.cudnn as cudnn``: ``cudnn.benchmark = True`` sets this
module's flag. fastdense never uses cuDNN (``is_available()`` is False, as in
a CPU build of PyTorch) and its CPU results are deterministic anyway.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

enabled = True
benchmark = False
benchmark_limit = None  # what PyTorch's CPU build reports (a CUDA build: 10)
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: no cuDNN (fastdense runs on the CPU)."""
    return False


def version() -> Optional[int]:
    """None (no cuDNN), as PyTorch's CPU build answers."""
    return None


@contextmanager
def flags(
    enabled: bool = False,
    benchmark: bool = False,
    benchmark_limit: int = 10,
    deterministic: bool = False,
    allow_tf32: bool = True,
) -> Iterator[None]:
    """Set the flags inside a ``with`` block and restore them after (``cudnn.flags``)."""
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    g = globals()
    old = {n: g[n] for n in names}
    g.update(
        enabled=enabled,
        benchmark=benchmark,
        benchmark_limit=benchmark_limit,
        deterministic=deterministic,
        allow_tf32=allow_tf32,
    )
    try:
        yield
    finally:
        g.update(old)
