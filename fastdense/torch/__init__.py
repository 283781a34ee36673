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
from typing import Any, Sequence

import numpy as _np

from .. import _dtypes, nn, optim
from .._random import default_generator as _default_generator
from .._random import manual_seed as _manual_seed
from .._tensor import ops as _ops
from .._tensor import scope as _scope
from .._tensor.device import DeviceUnavailableError, check_device, device
from .._tensor.extend import const as _const
from .._tensor.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .._tensor.parameter import Parameter
from .._tensor.printing import set_printoptions
from .._tensor.size import Size
from .._tensor.tensor import Tensor, tensor
from .._validation import to_ndarray as _to_ndarray
from ..data import Generator
from . import backends, cuda, utils
from .backends import are_deterministic_algorithms_enabled, use_deterministic_algorithms

float32 = float = _dtypes.float32
float64 = double = _dtypes.float64
float16 = half = _dtypes.float16
int64 = long = _dtypes.int64
int32 = int = _np.dtype(_np.int32)
int16 = short = _np.dtype(_np.int16)
int8 = _np.dtype(_np.int8)
uint8 = _np.dtype(_np.uint8)
bool = _dtypes.bool_  # noqa: A001 - PyTorch's name
inference_mode = no_grad
dtype = _np.dtype  # isinstance(x.dtype, torch.dtype) holds


class memory_format:
    """A memory layout name (``torch.contiguous_format`` ...): dense row-major ones are accepted,
    ``channels_last`` raises where it is used."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __str__ = __repr__


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
strided = "torch.strided"


class _LegacyTensor(type):
    """The metaclass of ``torch.FloatTensor`` and friends: isinstance checks the dtype."""

    def __instancecheck__(cls, obj: Any) -> "_builtins.bool":
        return isinstance(obj, Tensor) and obj.dtype == cls._dtype  # type: ignore[attr-defined]


def _legacy(name: str, dt: _np.dtype):
    def __new__(cls, *args, **kwargs):
        """``torch.FloatTensor(data)`` (a copy in this dtype) or ``torch.FloatTensor(*sizes)``."""
        _check(kwargs.pop("device", None))
        if len(args) == 1 and not isinstance(args[0], (_builtins.int, _np.integer)):
            return tensor(args[0], dtype=dt)
        return _new(_np.zeros(_size(args), dtype=dt))

    return _LegacyTensor(
        name,
        (),
        {"__new__": __new__, "_dtype": dt, "__doc__": f"A {dt} tensor (``torch.{name}``)."},
    )


FloatTensor = _legacy("FloatTensor", float32)
DoubleTensor = _legacy("DoubleTensor", float64)
HalfTensor = _legacy("HalfTensor", float16)
LongTensor = _legacy("LongTensor", int64)
IntTensor = _legacy("IntTensor", int32)
ShortTensor = _legacy("ShortTensor", int16)
CharTensor = _legacy("CharTensor", int8)
ByteTensor = _legacy("ByteTensor", uint8)
BoolTensor = _legacy("BoolTensor", bool)


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (float32, float64 or float16) the dtype of Python floats and float
    constructors (``torch.set_default_dtype``)."""
    _dtypes.set_default_float(d)


def is_floating_point(input: Tensor) -> "_builtins.bool":
    """Whether the tensor's dtype is a float dtype."""
    return input.is_floating_point()


def is_nonzero(input: Tensor) -> "_builtins.bool":
    """The truth value of a one-element tensor."""
    return _builtins.bool(input)


def result_type(tensor1: Any, tensor2: Any) -> _np.dtype:
    """The dtype PyTorch's promotion gives ``tensor1 (op) tensor2``."""
    return (
        _ops.binary(tensor1, tensor2, "add")
        if isinstance(tensor1, Tensor)
        else _ops.binary(tensor2, tensor1, "add", True)
    ).dtype


def promote_types(type1: Any, type2: Any) -> _np.dtype:
    """The dtype two tensors of these dtypes promote to."""
    return _dtypes.promote(
        ((_dtypes.resolve(type1), _dtypes.DIM), (_dtypes.resolve(type2), _dtypes.DIM))
    )


def can_cast(from_: Any, to: Any) -> "_builtins.bool":
    """Whether PyTorch's in-place casting rule allows ``from_`` into ``to``."""
    return _dtypes.category(_dtypes.resolve(from_)) <= _dtypes.category(_dtypes.resolve(to))


def scalar_tensor(s: Any, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A 0-d tensor (the default float dtype unless ``dtype``)."""
    _check(device)
    return _new(_np.asarray(s, dtype=_dtype(dtype)), requires_grad)


def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` values from ``base**start`` to ``base**end``, evenly spaced in the exponent."""
    _check(device)
    return _new(_np.logspace(start, end, steps, base=base).astype(_dtype(dtype)), requires_grad)


__all__ = [
    "Tensor",
    "Parameter",
    "Size",
    "set_printoptions",
    "tensor",
    "from_numpy",
    "as_tensor",
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "arange",
    "linspace",
    "eye",
    "rand",
    "randn",
    "randint",
    "randperm",
    "cat",
    "stack",
    "where",
    "allclose",
    "equal",
    "isclose",
    "isnan",
    "isfinite",
    "sigmoid",
    "tanh",
    "relu",
    "softmax",
    "log_softmax",
    "exp",
    "log",
    "sqrt",
    "abs",
    "clamp",
    "sum",
    "mean",
    "max",
    "min",
    "argmax",
    "argmin",
    "maximum",
    "minimum",
    "matmul",
    "flatten",
    "squeeze",
    "unsqueeze",
    "manual_seed",
    "seed",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "inference_mode",
    "device",
    "Generator",
    "float32",
    "float64",
    "int64",
    "int32",
    "bool",
    "float",
    "double",
    "long",
    "int",
    "save",
    "load",
    "nn",
    "optim",
    "utils",
    "cuda",
    "get_default_dtype",
    "is_tensor",
    "numel",
    "DeviceUnavailableError",
]


def _check(dev: Any) -> None:
    if dev is not None:
        check_device(dev)


def get_default_dtype():
    """The default float dtype (float32 unless :func:`set_default_dtype` changed it)."""
    return _dtypes.DEFAULT[2]


def is_tensor(obj: Any) -> "bool":  # type: ignore[valid-type]
    """Whether ``obj`` is a fastdense tensor."""
    return isinstance(obj, Tensor)


def manual_seed(seed: "int"):  # type: ignore[valid-type]
    """Seed fastdense's generator (initialisation, dropout, shuffling; not PyTorch's stream)."""
    _manual_seed(seed)
    return Generator().manual_seed(seed)


def seed() -> "int":  # type: ignore[valid-type]
    """Seed the generator from the OS and return the seed."""
    s = _builtins.int(_np.random.SeedSequence().entropy) % (2**63)  # type: ignore[arg-type]
    _manual_seed(s)
    return s


# -- creation ------------------------------------------------------------------


def _new(arr: _np.ndarray, requires_grad: "bool" = False) -> Tensor:  # type: ignore[valid-type]
    t = _const(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _dtype(dtype: Any, default=None):
    return (default or _dtypes.DEFAULT[2]) if dtype is None else _dtypes.resolve(dtype)


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
    dt = (
        _dtypes.promote([(_dtypes.scalar_dtype(fill_value), _dtypes.SCALAR)])
        if dtype is None
        else _dtypes.resolve(dtype)
    )
    return _new(_np.full(tuple(size), fill_value, dtype=dt), requires_grad)


def zeros_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Zeros of ``t``'s shape and dtype."""
    return zeros(t.shape, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Ones of ``t``'s shape and dtype."""
    return ones(t.shape, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``fill_value`` in ``t``'s shape and dtype."""
    return full(
        t.shape, fill_value, dtype=dtype or t.dtype, device=device, requires_grad=requires_grad
    )


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``[start, end)`` in steps (int64 for integer arguments, else float32)."""
    _check(device)
    if end is None:
        start, end = 0, start
    dt = (
        _dtypes.promote([(_dtypes.scalar_dtype(v), _dtypes.SCALAR) for v in (start, end, step)])
        if dtype is None
        else _dtypes.resolve(dtype)
    )
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


def randint(
    low, high=None, size=None, generator=None, dtype=None, device=None, requires_grad=False
) -> Tensor:
    """Integers in ``[low, high)`` (int64): ``randint(high, size)`` or ``randint(low, high, size)``."""
    _check(device)
    if size is None and isinstance(high, (tuple, list)):
        low, high, size = 0, low, high  # randint(high, size)
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
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


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _const(_to_ndarray(x, "input"))


def _function(name: str, meth: Any) -> Any:
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        return meth(_t(input), *args, **kwargs)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"``input.{name}(...)`` as a function (``torch.{name}``); ``out=`` accepted."
    return fn


def _inplace_function(name: str) -> Any:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``input.{name}(...)`` as a function (``torch.{name}``)."
    return fn


# Tensor methods that PyTorch has no torch.<name> function for
_METHOD_ONLY = {
    "new_full",
    "new_zeros",
    "new_ones",
    "new_empty",
    "new_tensor",
    "copy",
    "zero",
    "view",
    "expand",
    "expand_as",
    "repeat",
    "reshape_as",
    "view_as",
    "sum_to_size",
    "type_as",
    "fill",
}

# the torch.<name> function of every tensor method and of the engine's own functions
for _name, _meth in _ops.METHODS.items():
    if _name not in _METHOD_ONLY:
        globals()[_name] = _ops.with_out(_function(_name, _meth))
for _name, _fn in _ops.FUNCTIONS.items():
    globals()[_name] = _ops.with_out(_fn)
for _name in _ops.INPLACE:
    if _name not in _METHOD_ONLY or _name in ("zero", "fill"):
        globals()[_name + "_"] = _inplace_function(_name + "_")
del _name, _meth, _fn


# distances: torch.<name> is F.<name> (PyTorch has both)
cosine_similarity = nn.functional.cosine_similarity
pairwise_distance = nn.functional.pairwise_distance
pdist = nn.functional.pdist


def reshape(input: Any, shape: Sequence) -> Tensor:
    """``input.reshape(shape)``."""
    return _t(input).reshape(tuple(shape))


def numel(t: Tensor) -> "_builtins.int":
    """Number of elements."""
    return t.numel()


def clone(input: Any, *, memory_format: Any = None) -> Tensor:
    """A copy with its graph edge."""
    return _t(input).clone(memory_format=memory_format)


def t(input: Any) -> Tensor:
    """Transpose of a tensor of at most 2 dimensions."""
    return _t(input).t()


def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor of ``input``'s shape filled with ``value``."""
    return _t(input).fill(value)


def empty_like(
    t: Tensor, dtype=None, device=None, requires_grad=False, memory_format=None
) -> Tensor:
    """An uninitialised tensor of ``t``'s shape (zeros here)."""
    return zeros_like(t, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """U[0, 1) draws in ``t``'s shape (fastdense's stream)."""
    return rand(
        t.shape,
        dtype=dtype or t.dtype,
        device=device,
        requires_grad=requires_grad,
        generator=generator,
    )


def randn_like(t: Tensor, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """N(0, 1) draws in ``t``'s shape (fastdense's stream)."""
    return randn(
        t.shape,
        dtype=dtype or t.dtype,
        device=device,
        requires_grad=requires_grad,
        generator=generator,
    )


def randint_like(
    t: Tensor, low: Any = 0, high: Any = None, dtype=None, device=None, generator=None
) -> Tensor:
    """Integers in ``[low, high)`` in ``t``'s shape and dtype."""
    if high is None:
        low, high = 0, low
    return randint(low, high, t.shape, dtype=dtype or t.dtype, device=device, generator=generator)


def normal(
    mean: Any = 0.0, std: Any = 1.0, size: Any = None, *, generator=None, dtype=None, device=None
) -> Tensor:
    """Normal draws (fastdense's stream): tensor means/stds broadcast, or a ``size``."""
    _check(device)
    g = _default_generator() if generator is None else generator._rng
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    shape = tuple(size) if size is not None else _np.broadcast_shapes(_np.shape(m), _np.shape(s))
    dt = (
        mean.dtype
        if isinstance(mean, Tensor)
        else std.dtype
        if isinstance(std, Tensor)
        else _dtype(dtype)
    )
    return _new(g.normal(m, s, shape).astype(dt))


def bernoulli(input: Tensor, p: Any = None, *, generator=None) -> Tensor:
    """0/1 draws with probabilities ``input`` (fastdense's stream)."""
    return input.bernoulli(p, generator=generator)


def multinomial(
    input: Tensor,
    num_samples: "_builtins.int",
    replacement: "_builtins.bool" = False,
    *,
    generator=None,
) -> Tensor:
    """Indices drawn with weights ``input`` (rows of a 2-D input independently)."""
    g = _default_generator() if generator is None else generator._rng
    w = _np.atleast_2d(input._data.astype(_np.float64))
    out = _np.stack(
        [g.choice(w.shape[1], num_samples, replace=replacement, p=r / r.sum()) for r in w]
    ).astype(_np.int64)
    return _new(out if input.ndim == 2 else out[0])


# -- save / load: safetensors, no pickle ---------------------------------------


def save(obj: Any, f: Any) -> None:
    """Save a ``state_dict`` (a mapping of names to tensors/arrays, possibly nested in dicts
    of numbers and strings) as safetensors — no pickle. ``f`` is a path or a binary file
    object (``io.BytesIO``, a file opened ``"wb"``), as in PyTorch."""
    from ..io.checkpoint import save as _save

    _save(obj, f)


def load(f: Any, map_location=None, weights_only: "bool" = True, **kwargs) -> Any:  # type: ignore[valid-type]
    """Load what :func:`save` wrote (arrays come back as NumPy arrays) from a path or a binary
    file object, read from its position."""
    if map_location is not None:
        check_device(map_location)
    from ..io.checkpoint import load as _load

    return _load(f)


def __getattr__(name: str):
    family = _scope.family_of(name)
    if family is not None:
        raise _scope.excluded_error(f"torch.{name}", family)
    raise AttributeError(
        f"fastdense.torch has no attribute {name!r}: fastdense does not implement "
        f"torch.{name} (see docs/pytorch_api.md for what it supports)"
    )


# the submodules a PyTorch script imports, under this namespace too (one module object each)
for _name, _mod in (
    ("nn", nn),
    ("nn.functional", nn.functional),
    ("nn.init", nn.init),
    ("nn.utils", nn.utils),
    ("optim", optim),
    ("optim.lr_scheduler", optim.lr_scheduler),
    ("optim.swa_utils", optim.swa_utils),
):
    _sys.modules[f"{__name__}.{_name}"] = _mod

# torch.backends (cuDNN/MPS flags on the CPU) and the determinism switch
__all__ += ["backends", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled"]
