"""The PyTorch-compatible namespace: ``import fastdense.torch as torch``.

A PyTorch script for dense networks on tabular data runs on fastdense with
its import lines changed (see ``docs/pytorch_api.md``, which has the import
table): ``torch`` -> ``fastdense.torch``, ``torch.nn`` -> ``fastdense.nn``,
``torch.optim`` -> ``fastdense.optim``, ``torch.utils.data`` ->
``fastdense.torch.utils.data``. This namespace holds the tensor functions,
the dtypes, devices, grad modes and ``save``/``load``; fastdense's own
top-level namespace stays small.

Anything PyTorch has and this namespace lacks raises AttributeError naming
it and saying fastdense does not have it.
"""

from __future__ import annotations

import builtins as _builtins
import sys as _sys
from typing import Any, Optional, Sequence

import numpy as _np

from .. import _dtypes
from .. import nn, optim
from .._random import default_generator as _default_generator
from .._random import manual_seed as _manual_seed
from .._validation import to_ndarray as _to_ndarray
from ..autograd import (
    DeviceUnavailableError,
    Parameter,
    Tensor,
    _const,
    _maximum,
    _minimum,
    _result,
    _select_backward,
    check_device,
    enable_grad,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    tensor,
)
from ..data import Generator
from . import cuda, utils
from . import backends
from .backends import are_deterministic_algorithms_enabled, use_deterministic_algorithms

float32 = float = _dtypes.float32
float64 = double = _dtypes.float64
int64 = long = _dtypes.int64
int32 = int = _np.dtype(_np.int32)
bool = _dtypes.bool_  # noqa: A001 - PyTorch's name
FloatTensor = DoubleTensor = LongTensor = BoolTensor = Tensor
inference_mode = no_grad

__all__ = [
    "Tensor", "Parameter", "tensor", "from_numpy", "as_tensor", "zeros", "ones", "full",
    "empty", "zeros_like", "ones_like", "full_like", "arange", "linspace", "eye", "rand",
    "randn", "randint", "randperm", "cat", "stack", "where", "allclose", "equal", "isclose",
    "isnan", "isfinite", "sigmoid", "tanh", "relu", "softmax", "log_softmax", "exp", "log", "sqrt", "abs", "clamp",
    "sum", "mean", "max", "min", "argmax", "argmin", "maximum", "minimum", "matmul",
    "flatten", "squeeze", "unsqueeze", "manual_seed", "seed", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "inference_mode", "device", "Generator",
    "float32", "float64", "int64", "int32", "bool", "float", "double", "long", "int",
    "save", "load", "nn", "optim", "utils", "cuda", "get_default_dtype", "is_tensor",
    "numel", "DeviceUnavailableError",
]


class device:
    """A device (``torch.device``): only ``device("cpu")`` can hold tensors.

    Creating ``device("cuda")`` works, as in PyTorch; using it (``.to(dev)``)
    raises :class:`DeviceUnavailableError`. An unknown type raises RuntimeError.
    """

    def __init__(self, type: str, index: "Optional[_builtins.int]" = None) -> None:  # noqa: A002
        name = str(type)
        kind, _, idx = name.partition(":")
        try:
            check_device(kind)
        except DeviceUnavailableError:
            pass
        self.type = kind
        self.index = _builtins.int(idx) if idx else index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: Any) -> "bool":  # type: ignore[valid-type]
        return str(self) == str(other)

    def __hash__(self) -> "int":  # type: ignore[valid-type]
        return hash(str(self))


def _check(dev: Any) -> None:
    if dev is not None:
        check_device(dev)


def get_default_dtype():
    """float32, PyTorch's default float dtype."""
    return float32


def is_tensor(obj: Any) -> "bool":  # type: ignore[valid-type]
    """Whether ``obj`` is a fastdense tensor."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> "int":  # type: ignore[valid-type]
    """Number of elements."""
    return t.numel()


def manual_seed(seed: "int"):  # type: ignore[valid-type]
    """Seed fastdense's generator (initialisation, dropout, shuffling; not PyTorch's stream)."""
    _manual_seed(seed)
    return Generator().manual_seed(seed)


def seed() -> "int":  # type: ignore[valid-type]
    """Seed the generator from the OS and return the seed."""
    s = _builtins.int(_np.random.SeedSequence().entropy) % (2 ** 63)  # type: ignore[arg-type]
    _manual_seed(s)
    return s


# -- creation ------------------------------------------------------------------

def _new(arr: _np.ndarray, requires_grad: "bool" = False) -> Tensor:  # type: ignore[valid-type]
    t = _const(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _dtype(dtype: Any, default=None):
    return (default or float32) if dtype is None else _dtypes.resolve(dtype)


def _size(size: Sequence) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def from_numpy(ndarray: _np.ndarray) -> Tensor:
    """A tensor sharing ``ndarray``'s memory and dtype."""
    if not isinstance(ndarray, _np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    return _const(_to_ndarray(ndarray, "ndarray"))


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is one (or an ndarray) of ``dtype``."""
    _check(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, _np.ndarray):
        t = from_numpy(data)
        return t if dtype is None else t.to(dtype)
    return tensor(data, dtype=dtype)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of zeros."""
    _check(device)
    return _new(_np.zeros(_size(size), dtype=_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ones."""
    _check(device)
    return _new(_np.ones(_size(size), dtype=_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """An uninitialised tensor (zeros here)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor filled with ``fill_value`` (dtype from the value, as in PyTorch)."""
    _check(device)
    dt = _dtypes.promote([(_dtypes.scalar_dtype(fill_value), _dtypes.SCALAR)]) \
        if dtype is None else _dtypes.resolve(dtype)
    return _new(_np.full(tuple(size), fill_value, dtype=dt), requires_grad)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of ``t``'s shape and dtype."""
    return zeros(t.shape, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of ``t``'s shape and dtype."""
    return ones(t.shape, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` in ``t``'s shape and dtype."""
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``[start, end)`` in steps (int64 for integer arguments, else float32)."""
    _check(device)
    if end is None:
        start, end = 0, start
    dt = _dtypes.promote([(_dtypes.scalar_dtype(v), _dtypes.SCALAR) for v in (start, end, step)]) \
        if dtype is None else _dtypes.resolve(dtype)
    return _new(_np.arange(start, end, step).astype(dt), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``."""
    _check(device)
    return _new(_np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The identity matrix."""
    _check(device)
    return _new(_np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """U[0, 1) draws (fastdense's stream)."""
    _check(device)
    g = _default_generator() if generator is None else generator._rng
    return _new(g.random(_size(size)).astype(_dtype(dtype)), requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """N(0, 1) draws (fastdense's stream)."""
    _check(device)
    g = _default_generator() if generator is None else generator._rng
    return _new(g.standard_normal(_size(size)).astype(_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None, device=None) -> Tensor:
    """Integers in ``[low, high)`` (int64)."""
    _check(device)
    if high is None:
        low, high = 0, low
    g = _default_generator() if generator is None else generator._rng
    return _new(g.integers(low, high, size=tuple(size)).astype(_dtype(dtype, int64)))


def randperm(n, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of ``0..n-1`` (int64)."""
    _check(device)
    g = _default_generator() if generator is None else generator._rng
    return _new(g.permutation(n).astype(_dtype(dtype, int64)))


# -- combining -----------------------------------------------------------------

def _tensors(ts: Sequence) -> list:
    return [t if isinstance(t, Tensor) else _const(_to_ndarray(t, "tensor")) for t in ts]


def cat(tensors: Sequence, dim: "int" = 0) -> Tensor:  # type: ignore[valid-type]
    """Concatenate along ``dim`` (PyTorch's promotion of the dtypes)."""
    ts = _tensors(tensors)
    if not ts:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    dt = _dtypes.promote([(t.dtype, _dtypes.DIM) for t in ts])
    arrs = [t._data.astype(dt, copy=False) for t in ts]
    out = _np.concatenate(arrs, axis=dim)
    bounds = _np.cumsum([a.shape[dim] for a in arrs])[:-1]

    def backward(g):
        parts = _np.split(g, bounds, axis=dim)
        return [(t, p.astype(t.dtype, copy=False)) for t, p in zip(ts, parts) if t.requires_grad]

    return _result(out, "CatBackward0", tuple(ts), backward)


concat = concatenate = cat


def stack(tensors: Sequence, dim: "int" = 0) -> Tensor:  # type: ignore[valid-type]
    """Stack along a new dimension ``dim``."""
    return cat([t.unsqueeze(dim) for t in _tensors(tensors)], dim)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition``, else ``other`` (gradients flow to both)."""
    c = condition._data if isinstance(condition, Tensor) else _np.asarray(condition)
    if input is None and other is None:
        return tuple(_const(i.astype(_np.int64)) for i in _np.nonzero(c))
    mask = _const(c.astype(_np.bool_))
    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    keep = mask._data
    x = (a if a is not None else _const(_np.asarray(input)))
    y = (b if b is not None else _const(_np.asarray(other)))
    # PyTorch's promotion of the two value operands
    zero = x * 0 + y * 0
    out = _np.where(keep, x._data, y._data).astype(zero.dtype)
    return _result(out, "WhereBackward0", (x, y), _select_backward(x, y, keep))


# -- comparisons of whole tensors ----------------------------------------------

def _arr(x: Any) -> _np.ndarray:
    return x._data if isinstance(x, Tensor) else _np.asarray(x)


def allclose(input: Tensor, other: Tensor, rtol: "float" = 1e-05,  # type: ignore[valid-type]
             atol: "float" = 1e-08, equal_nan: "bool" = False) -> "bool":  # type: ignore[valid-type]
    """``|input - other| <= atol + rtol * |other|`` everywhere (a Python bool)."""
    return _builtins.bool(_np.allclose(_arr(input), _arr(other), rtol=rtol, atol=atol,
                                       equal_nan=equal_nan))


def isclose(input: Tensor, other: Tensor, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """Element-wise :func:`allclose` (a bool tensor)."""
    return _const(_np.isclose(_arr(input), _arr(other), rtol=rtol, atol=atol,
                              equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor):
    """Same shape and values (a Python bool)."""
    a, b = _arr(input), _arr(other)
    return _builtins.bool(a.shape == b.shape and _np.array_equal(a, b))


def isnan(input: Tensor) -> Tensor:
    """Element-wise NaN test (a bool tensor)."""
    a = _arr(input)
    return _const(_np.isnan(a) if a.dtype.kind == "f" else _np.zeros(a.shape, _np.bool_))


def isfinite(input: Tensor) -> Tensor:
    """Element-wise finiteness test (a bool tensor)."""
    return _const(_np.isfinite(_arr(input)))


# -- functions that are tensor methods -----------------------------------------

def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _const(_to_ndarray(x, "input"))


def sigmoid(input: Any) -> Tensor:
    """Logistic sigmoid."""
    return _t(input).sigmoid()


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent."""
    return _t(input).tanh()


def relu(input: Any) -> Tensor:
    """max(x, 0)."""
    return _t(input).relu()


def softmax(input: Any, dim: "_builtins.int", dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    return nn.functional.softmax(input, dim, dtype=dtype)


def log_softmax(input: Any, dim: "_builtins.int", dtype: Any = None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, without overflow."""
    return nn.functional.log_softmax(input, dim, dtype=dtype)


def exp(input: Any) -> Tensor:
    """e ** x."""
    return _t(input).exp()


def log(input: Any) -> Tensor:
    """Natural logarithm."""
    return _t(input).log()


def sqrt(input: Any) -> Tensor:
    """Square root."""
    return _t(input).sqrt()


def abs(input: Any) -> Tensor:  # noqa: A001
    """Absolute value."""
    return _t(input).abs()


def clamp(input: Any, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit to ``[min, max]``."""
    return _t(input).clamp(min, max)


clip = clamp


def sum(input: Any, dim=None, keepdim=False, dtype=None) -> Tensor:  # noqa: A001
    """Sum (over ``dim``)."""
    return _t(input).sum(dim, keepdim, dtype=dtype)


def mean(input: Any, dim=None, keepdim=False) -> Tensor:
    """Mean (over ``dim``)."""
    return _t(input).mean(dim, keepdim)


def max(input: Any, dim=None, keepdim=False):  # noqa: A001
    """Largest element, ``(values, indices)`` along ``dim``, or the element-wise maximum."""
    return _t(input).max(dim, keepdim) if not isinstance(dim, Tensor) else _maximum(input, dim)


def min(input: Any, dim=None, keepdim=False):  # noqa: A001
    """Smallest element, ``(values, indices)`` along ``dim``, or the element-wise minimum."""
    return _t(input).min(dim, keepdim) if not isinstance(dim, Tensor) else _minimum(input, dim)


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Element-wise maximum."""
    return _maximum(_t(input), _t(other))


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Element-wise minimum."""
    return _minimum(_t(input), _t(other))


def argmax(input: Any, dim=None, keepdim=False) -> Tensor:
    """Index of the largest element."""
    return _t(input).argmax(dim, keepdim)


def argmin(input: Any, dim=None, keepdim=False) -> Tensor:
    """Index of the smallest element."""
    return _t(input).argmin(dim, keepdim)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product."""
    return _t(input) @ other


mm = matmul


def flatten(input: Tensor, start_dim=0, end_dim=-1) -> Tensor:
    """Merge dimensions."""
    return _t(input).flatten(start_dim, end_dim)


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop dimensions of size 1."""
    return _t(input).squeeze(dim)


def unsqueeze(input: Tensor, dim) -> Tensor:
    """Insert a dimension of size 1."""
    return _t(input).unsqueeze(dim)


# -- save / load: safetensors, no pickle ---------------------------------------

def save(obj: Any, f: Any) -> None:
    """Save a ``state_dict`` (a mapping of names to tensors/arrays, possibly nested in dicts
    of numbers and strings) to a safetensors file — no pickle."""
    from ..io.checkpoint import save as _save

    _save(obj, f)


def load(f: Any, map_location=None, weights_only: "bool" = True, **kwargs) -> Any:  # type: ignore[valid-type]
    """Load what :func:`save` wrote (arrays come back as NumPy arrays)."""
    if map_location is not None:
        check_device(map_location)
    from ..io.checkpoint import load as _load

    return _load(f)


def __getattr__(name: str):
    raise AttributeError(
        f"fastdense.torch has no attribute {name!r}: fastdense does not implement "
        f"torch.{name} (see docs/pytorch_api.md for what it supports)"
    )


# the submodules a PyTorch script imports, under this namespace too (one module object each)
for _name, _mod in (("nn", nn), ("nn.functional", nn.functional), ("nn.init", nn.init),
                    ("nn.utils", nn.utils), ("optim", optim),
                    ("optim.lr_scheduler", optim.lr_scheduler)):
    _sys.modules[f"{__name__}.{_name}"] = _mod

# torch.backends (cuDNN/MPS flags on the CPU) and the determinism switch
__all__ += ["backends", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled"]
