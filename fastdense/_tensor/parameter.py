"""Parameter: the tensor a module owns (``torch.nn.Parameter``'s counterpart)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _dtypes as _dt
from .._validation import to_ndarray
from .graph import DtypeError
from .tensor import FLOATS, Tensor

__all__ = ["Parameter", "UninitializedParameter"]


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
        self._vc = [0]
        self._viewof = None

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


_DATA_SLOT: Any = Tensor.__dict__["_data"]  # the slot descriptor (the array itself)


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (``torch.nn.UninitializedParameter``).

    What a lazy module (``nn.LazyLinear``) holds until its first forward,
    which calls :meth:`materialize`: the object then becomes a
    :class:`Parameter` in place (the same object, so an optimizer built before
    the first forward updates it, as in PyTorch). Until then it has a dtype
    but no values: reading them (an op, ``.shape``, ``.data``) raises
    PyTorch's errors.
    """

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None):
        from .device import check_device

        if device is not None:
            check_device(device)
        dt = np.dtype(np.float32) if dtype is None else _dt.resolve(dtype)
        Parameter.__init__(self, np.empty(0, dtype=dt), requires_grad)

    @property  # type: ignore[override]
    def _data(self) -> np.ndarray:
        raise ValueError(
            "Attempted to use an uninitialized parameter. This error happens when you are "
            "using a `LazyModule` or explicitly manipulating `UninitializedParameter` "
            "objects. When using LazyModules Call `forward` with a dummy batch to "
            "initialize the parameters before calling torch functions"
        )

    @_data.setter
    def _data(self, value: np.ndarray) -> None:
        _DATA_SLOT.__set__(self, value)

    SHAPE_ERROR = (
        "Can't access the shape of an uninitialized parameter or buffer. This error "
        "usually happens in `load_state_dict` when trying to load an uninitialized "
        "parameter into an initialized one. Call `forward` to initialize the "
        "parameters before accessing their attributes."
    )

    @property
    def shape(self) -> tuple:  # type: ignore[override]
        raise RuntimeError(self.SHAPE_ERROR)

    @property
    def dtype(self) -> np.dtype:  # type: ignore[override]
        return _DATA_SLOT.__get__(self).dtype

    def _set_dtype(self, dtype: np.dtype) -> None:
        """The dtype :meth:`materialize` will give (``Module.to(dtype)`` before the forward)."""
        _DATA_SLOT.__set__(self, np.empty(0, dtype=dtype))

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Become a :class:`Parameter` of ``shape`` (values uninitialised: the module draws them)."""
        dt = self.dtype if dtype is None else _dt.resolve(dtype)
        self.__class__ = self.cls_to_become  # type: ignore[assignment]
        self._data = np.zeros(tuple(int(s) for s in np.atleast_1d(shape)), dtype=dt)
        self._vc[0] += 1

    def __repr__(self) -> str:
        return "<UninitializedParameter>"

    def __deepcopy__(self, memo):
        p = UninitializedParameter(self.requires_grad, dtype=self.dtype)
        memo[id(self)] = p
        return p

    def __reduce__(self):
        return (_uninitialized, (self.requires_grad, self.dtype.str))


def _uninitialized(requires_grad: bool, dtype: str) -> UninitializedParameter:
    return UninitializedParameter(requires_grad, dtype=np.dtype(dtype))
