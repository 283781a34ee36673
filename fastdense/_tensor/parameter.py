"""Parameter: the tensor a module owns (``torch.nn.Parameter``'s counterpart)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import to_ndarray
from .graph import DtypeError
from .tensor import FLOATS, Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A tensor that is a module parameter (the counterpart of ``torch.nn.Parameter``).

    Parameters
    ----------
    data : array-like
        Float values; NumPy arrays that are C-contiguous, writable and float
        are used without a copy. ``.data`` is this NumPy array and optimizers
        update it in place.
    requires_grad : bool, default=True
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        if isinstance(data, Tensor):
            data = data._data
        arr = to_ndarray(data, "data")
        if arr.dtype not in FLOATS:
            if requires_grad:
                raise DtypeError(
                    "Only Tensors of floating point (float32/float64) dtype can require "
                    f"gradients; got {arr.dtype}"
                )
        elif not (arr.flags.c_contiguous and arr.flags.writeable):
            arr = np.array(arr, order="C", copy=True)
        self._data = arr
        self._grad = None
        self._gview = None
        self.requires_grad = bool(requires_grad)
        self._grad_fn = None
        self._version = 0

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(self._data.copy(), self.requires_grad)
        if self._grad is not None:
            p._grad = self._grad.copy()
        memo[id(self)] = p
        return p

    def __reduce__(self):
        # the gradient too, so a pickled model + optimizer resumes mid-step identically
        state = None if self._grad is None else (None, {"_grad": self._grad})
        return (Parameter, (self._data, self.requires_grad), state)
