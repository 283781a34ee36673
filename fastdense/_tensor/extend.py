"""The engine's extension helpers, under plain names: what code above the engine builds ops with.

A graph op outside the engine (a loss in ``nn.functional``, a fused layer)
computes its forward on NumPy, wraps it with :func:`result` (giving the
backward closure and the inputs it reads), and uses :func:`const` for values
outside the graph. This module is the documented extension point, as
``torch.autograd.Function`` is PyTorch's; everything else in ``_tensor`` is
the engine's own.
"""

from __future__ import annotations

from .device import check_device, resolve_float_dtype, to_dtype
from .grad_mode import grad_mode
from .graph import DtypeError, Node, ShapeError, accumulate_leaf
from .ops import (
    binary,
    kernel_activation,
    log_softmax,
    matmul,
    maximum,
    minimum,
    movement,
    select_backward,
    softmax,
    unary,
    where,
    write_into,
)
from .tensor import (
    check_leaf_inplace,
    check_memory_format,
    const,
    float_array,
    named,
    operand,
    result,
    tensor_or_const,
    unbroadcast,
)

__all__ = [
    "const",
    "result",
    "named",
    "float_array",
    "tensor_or_const",
    "operand",
    "unbroadcast",
    "accumulate_leaf",
    "check_leaf_inplace",
    "check_memory_format",
    "grad_mode",
    "Node",
    "ShapeError",
    "DtypeError",
    "kernel_activation",
    "select_backward",
    "maximum",
    "minimum",
    "matmul",
    "movement",
    "binary",
    "unary",
    "where",
    "softmax",
    "log_softmax",
    "write_into",
    "check_device",
    "to_dtype",
    "resolve_float_dtype",
]
