"""PyTorch's dtypes and type promotion, over NumPy dtypes.

fastdense tensors hold NumPy arrays of four dtypes, PyTorch's everyday ones:
float32 (the default float), float64, int64 (the default integer) and bool.
Binary operations promote the way PyTorch does, not the way NumPy does:

- the result's *category* (bool < integer < float) is the highest among the
  operands;
- within it, the dtype comes from the operands of the highest priority that
  are of that category: tensors with dimensions first, then 0-d tensors,
  then Python numbers (which give the default dtype of their category:
  int64 for integers, float32 for floats).

So an int64 tensor times 0.5 is float32, a float32 tensor plus a Python float
stays float32, and a float32 matrix plus a float64 0-d tensor stays float32.
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Tuple

import numpy as np

__all__ = [
    "float32",
    "float64",
    "float16",
    "int64",
    "bool_",
    "resolve",
    "promote",
    "category",
    "set_default_float",
]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
FLOATS = (float32, float64)
DEFAULT = {0: bool_, 1: int64, 2: float32}

float16 = np.dtype(np.float16)

_ALIASES: "dict[str, np.dtype]" = {
    "float": float32,
    "float32": float32,
    "double": float64,
    "float64": float64,
    "long": int64,
    "int64": int64,
    "bool": bool_,
    "int": np.dtype(np.int32),
    "int32": np.dtype(np.int32),
    "half": float16,
    "float16": float16,
    "short": np.dtype(np.int16),
    "int16": np.dtype(np.int16),
    "char": np.dtype(np.int8),
    "int8": np.dtype(np.int8),
    "byte": np.dtype(np.uint8),
    "uint8": np.dtype(np.uint8),
}

# the legacy constructors' names (torch.FloatTensor, ...) and Tensor.type()'s answer
TENSOR_TYPE_NAMES: "dict[np.dtype, str]" = {
    float32: "Float",
    float64: "Double",
    float16: "Half",
    int64: "Long",
    np.dtype(np.int32): "Int",
    np.dtype(np.int16): "Short",
    np.dtype(np.int8): "Char",
    np.dtype(np.uint8): "Byte",
    bool_: "Bool",
}
for _dt_, _n in TENSOR_TYPE_NAMES.items():
    _ALIASES[_n + "Tensor"] = _dt_

_UNSUPPORTED = (
    "bfloat16",
    "complex32",
    "complex64",
    "complex128",
    "cfloat",
    "cdouble",
    "chalf",
    "float8_e4m3fn",
    "float8_e5m2",
    "uint16",
    "uint32",
    "uint64",
    "qint8",
    "quint8",
    "qint32",
)


def set_default_float(dtype: Any) -> None:
    """Make `dtype` (float32 or float64) the dtype of Python floats and float constructors."""
    dt = resolve(dtype)
    if dt not in (float32, float64, float16):
        raise TypeError(
            f"only floating-point types are supported as the default type; got {dtype!r}"
        )
    DEFAULT[2] = dt


# operand priorities
DIM, ZERO_DIM, SCALAR = 0, 1, 2


def category(dt: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floats."""
    kind = dt.kind
    if kind == "b":
        return 0
    if kind in "iu":
        return 1
    if kind == "f":
        return 2
    raise TypeError(f"fastdense tensors hold bool, integer or float data; got {dt}")


def resolve(dtype: Any) -> np.dtype:
    """A NumPy dtype from a NumPy dtype, a name ("float32", "long"), or a torch dtype."""
    if isinstance(dtype, np.dtype):
        dt = dtype
    else:
        name = str(dtype).replace("torch.", "")
        if name in _ALIASES:
            return _ALIASES[name]
        if name in _UNSUPPORTED:
            raise TypeError(
                f"dtype {name} is not supported by fastdense: its tensors are "
                "float32, float64, float16, integer or bool (no bfloat16, "
                "complex or quantized arithmetic)"
            )
        if dtype is float:
            return float64  # NumPy's meaning of the Python type
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(
                f"unsupported dtype {dtype!r}: fastdense tensors are float32, "
                "float64, int64, int32 or bool"
            ) from None
    if dt.kind not in "biuf":
        raise TypeError(
            f"unsupported dtype {dtype!r}: fastdense tensors are float32, "
            "float64, int64, int32 or bool"
        )
    return dt


def scalar_dtype(x: Any) -> np.dtype:
    """The placeholder dtype of a Python (or NumPy) number, by its category."""
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, numbers.Integral):
        return int64
    if isinstance(x, numbers.Real):
        return float64
    raise TypeError(f"unsupported operand type {type(x).__name__}")


def promote(operands: Iterable[Tuple[np.dtype, int]]) -> np.dtype:
    """PyTorch's result dtype of ``(dtype, priority)`` operands (priorities DIM, ZERO_DIM, SCALAR)."""
    ops = list(operands)
    cat = max(category(dt) for dt, _ in ops)
    for prio in (DIM, ZERO_DIM, SCALAR):
        dts = [dt for dt, p in ops if p == prio and category(dt) == cat]
        if dts:
            if prio == SCALAR:
                return DEFAULT[cat]
            return np.result_type(*dts)
    raise AssertionError("unreachable")  # pragma: no cover
