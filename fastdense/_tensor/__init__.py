"""The tensor engine (floor F2): tensors, the autograd graph and every op with its backward.

- :mod:`.grad_mode` -- ``no_grad``/``enable_grad``/``set_grad_enabled``, per thread;
- :mod:`.graph` -- :class:`Node`, the backward sweep, version checks of saved tensors;
- :mod:`.device` -- ``device``, :func:`check_device` (the CPU only);
- :mod:`.tensor` -- :class:`Tensor` and the helpers ops are built from;
- :mod:`.ops` -- the op tables (binary, unary, reductions, data movement, in place);
- :mod:`.parameter` -- :class:`Parameter`;
- :mod:`.extend` -- the helpers code above the engine builds its own ops with;
- :mod:`.scope` -- the torch names left out on purpose, and why.

It imports nothing above itself (no nn, optim, torch namespace or estimators).
"""

from __future__ import annotations

from . import ops as _ops
from . import scope as _scope
from .device import DeviceUnavailableError, check_device, device
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .graph import DtypeError, Node, ShapeError
from .parameter import Parameter
from .tensor import Tensor, tensor

_ops.install()
_scope.install()

__all__ = [
    "Tensor",
    "Parameter",
    "Node",
    "tensor",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "set_grad_enabled",
    "inference_mode",
    "device",
    "check_device",
    "DeviceUnavailableError",
    "ShapeError",
    "DtypeError",
]
