"""``torch.backends.cuda`` on the CPU: the matmul precision flags, and no CUDA build."""

from __future__ import annotations

from types import SimpleNamespace

matmul = SimpleNamespace(
    allow_tf32=False,
    allow_fp16_reduced_precision_reduction=True,
    allow_bf16_reduced_precision_reduction=True,
)


def is_built() -> bool:
    """False: fastdense has no CUDA build."""
    return False
