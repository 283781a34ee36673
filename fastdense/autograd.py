"""Tensors and reverse-mode autograd (``torch.Tensor`` and ``torch.autograd``): re-exports.

The engine lives in :mod:`fastdense._tensor` (grad mode, the graph and its
version checks, devices, the Tensor, the op tables, Parameter). This module
keeps the names code and pickles have always imported from here, including
the underscore names of the helpers that now have plain names in
:mod:`fastdense._tensor.extend`.
"""

from __future__ import annotations

import numpy as _np

from ._tensor import ops as _ops
from ._tensor.device import DEVICE_TYPES as _DEVICE_TYPES
from ._tensor.device import DeviceUnavailableError, check_device
from ._tensor.device import resolve_float_dtype as _resolve_dtype
from ._tensor.device import to_dtype as _to_dtype
from ._tensor.extend import accumulate_leaf as _accumulate_leaf
from ._tensor.extend import check_leaf_inplace as _check_leaf_inplace
from ._tensor.extend import const as _const
from ._tensor.extend import float_array as _float_array
from ._tensor.extend import grad_mode as _grad_mode
from ._tensor.extend import kernel_activation
from ._tensor.extend import matmul as _matmul
from ._tensor.extend import maximum as _maximum
from ._tensor.extend import minimum as _minimum
from ._tensor.extend import operand as _operand
from ._tensor.extend import result as _result
from ._tensor.extend import select_backward as _select_backward
from ._tensor.extend import tensor_or_const as _tensor_or_const
from ._tensor.extend import unbroadcast as _unbroadcast
from ._tensor.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from ._tensor.graph import DtypeError, Node, ShapeError
from ._tensor.graph import run_backward as _run_backward
from ._tensor.parameter import Parameter
from ._tensor.tensor import Tensor, tensor

_MinMax = _ops._Values
_FLOATS = (_np.dtype(_np.float32), _np.dtype(_np.float64))  # (the old module's float tuple)

__all__ = [
    "Tensor",
    "Parameter",
    "Node",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "tensor",
    "set_grad_enabled",
    "DeviceUnavailableError",
]

# (kept importable from here: the names other modules and old code use)
_REEXPORTED = (
    _DEVICE_TYPES,
    _resolve_dtype,
    _to_dtype,
    _accumulate_leaf,
    _check_leaf_inplace,
    _const,
    _float_array,
    _grad_mode,
    kernel_activation,
    _matmul,
    _maximum,
    _minimum,
    _operand,
    _result,
    _select_backward,
    _tensor_or_const,
    _unbroadcast,
    _run_backward,
    inference_mode,
    check_device,
    DtypeError,
    ShapeError,
)
