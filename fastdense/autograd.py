"""Tensors and reverse-mode autograd (the counterpart of ``torch.Tensor`` and ``torch.autograd``).

A :class:`Tensor` wraps a NumPy array of float32, float64, int64 or bool
(PyTorch's everyday dtypes) and computes eagerly: what a tensor holds is what
it held when it was computed. Operations on tensors that require gradients
record a :class:`Node` (the tensor's ``grad_fn``); :meth:`Tensor.backward`
walks the nodes in reverse topological order and accumulates gradients into
the ``.grad`` of the leaves, as PyTorch does, until they are zeroed.

Arithmetic follows PyTorch's type promotion (:mod:`fastdense._dtypes`), not
NumPy's; comparisons give bool tensors; ``+=`` and friends work in place and
raise PyTorch's error on a leaf that requires grad outside ``no_grad``.
NumPy ufuncs on tensors raise TypeError, so nothing silently drops the graph.
This module knows nothing of the layers built on it (``fastdense.nn``).
"""

from __future__ import annotations

import builtins
import math
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from . import _dtypes as _dt
from . import _kernels
from ._validation import to_ndarray

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

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class ShapeError(ValueError, RuntimeError):
    """Shape mismatch: a ValueError (fastdense's convention) and a RuntimeError (PyTorch's)."""


class DtypeError(TypeError, RuntimeError):
    """Wrong dtype: a TypeError (fastdense's convention) and a RuntimeError (PyTorch's)."""


# ------------------------------------------------------------------ grad mode

class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations record a graph in this thread (PyTorch's ``torch.is_grad_enabled``)."""
    return _grad_mode.enabled


class _GradModeContext:
    _mode = True

    def __new__(cls, func: Optional[Callable] = None):
        self = super().__new__(cls)
        if func is not None:  # used as a bare decorator: @no_grad
            return self(func)
        return self

    def __enter__(self):
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._prev
        return False

    def __call__(self, func: Callable) -> Callable:
        import functools

        mode = self._mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev = _grad_mode.enabled
            _grad_mode.enabled = mode
            try:
                return func(*args, **kwargs)
            finally:
                _grad_mode.enabled = prev

        return wrapper


class no_grad(_GradModeContext):
    """Context manager and decorator that disables graph recording (``torch.no_grad``).

    Tensors computed inside have no ``grad_fn``; calling ``backward()`` on
    them raises RuntimeError.

    Examples
    --------
    >>> import fastdense as fd
    >>> with fd.no_grad():
    ...     pass
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator that enables graph recording (``torch.enable_grad``)."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Enable or disable graph recording (``torch.set_grad_enabled``).

    Takes effect when called (as in PyTorch), and restores the previous mode
    on exit when used as a context manager.
    """

    def __new__(cls, mode: bool):
        self = object.__new__(cls)
        self._mode = bool(mode)
        self._prev = _grad_mode.enabled
        _grad_mode.enabled = self._mode
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._prev
        return False


# ----------------------------------------------------------------- the graph

class Node:
    """One recorded operation: its inputs and how to map the output gradient to theirs.

    ``backward(grad_output)`` returns a sequence of ``(input_tensor, grad)``
    pairs for the inputs that require gradients (it may also accumulate into
    leaf parameters directly and leave them out).
    """

    __slots__ = ("inputs", "_backward", "name", "freed")

    def __init__(self, name: str, inputs: Sequence["Tensor"], backward: Callable):
        self.name = name
        self.inputs = inputs  # a sequence of tensors (those without a graph are skipped)
        self._backward: Optional[Callable] = backward
        self.freed = False

    def backward(self, grad_output: np.ndarray):
        """``(input, gradient)`` pairs for ``grad_output``; RuntimeError once released."""
        if self.freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time; call "
                ".backward(retain_graph=True) the first time if you need to."
            )
        return self._backward(grad_output)  # type: ignore[misc]  # None only once freed

    def release(self) -> None:
        """Drop what the backward pass saved (after a backward without retain_graph)."""
        self._backward = None
        self.freed = True

    def name_(self) -> str:
        """The operation's name, as PyTorch's ``grad_fn.name()`` gives it."""
        return self.name

    def __repr__(self) -> str:
        return f"<{self.name} object>"


def _accumulate_leaf(t: "Tensor", g: np.ndarray) -> None:
    """t._grad += g (or t._grad = copy of g), in t's dtype and shape."""
    data = t._data
    if g.shape != data.shape:
        g = np.broadcast_to(g, data.shape)
    cur = t._grad
    if cur is None:
        t._grad = np.array(g, dtype=data.dtype, order="C", copy=True)
    elif (type(cur) is np.ndarray and cur.flags.writeable and cur.shape == data.shape):
        np.add(cur, g, out=cur, casting="unsafe")
    else:
        t._grad = np.asarray(cur) + g


def _run_backward(root: "Tensor", grad: np.ndarray, retain_graph: bool) -> None:
    # Reverse topological order of the nodes reachable from root (iterative DFS).
    order: List[Node] = []
    seen: Set[Node] = set()
    stack: List[Tuple[Any, bool]] = [(root._grad_fn, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for t in node.inputs:
            fn = t._grad_fn
            if fn is not None and fn not in seen:
                stack.append((fn, False))
    grads = {root._grad_fn: grad}
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:
            continue
        for t, gt in node.backward(g):
            fn = t._grad_fn
            if fn is not None:
                prev = grads.get(fn)
                grads[fn] = gt if prev is None else prev + gt
            elif t.requires_grad:
                _accumulate_leaf(t, gt)
    if not retain_graph:
        for node in order:
            node.release()


# -------------------------------------------------------------------- tensors

def _float_array(x: Any) -> np.ndarray:
    """x as an ndarray; integer and bool data become float32 (PyTorch's default dtype)."""
    if type(x) is np.ndarray and x.dtype in _FLOATS:
        return x
    if isinstance(x, Tensor):
        x = x._data
    arr = to_ndarray(x, "tensor data")
    if arr.dtype not in _FLOATS:
        arr = arr.astype(np.float32)
    return arr


def _tensor_or_const(x: Any, dtype=None) -> "Tensor":
    """A Tensor for x: x itself if it is one, else a constant (no grad) wrapping its array."""
    if isinstance(x, Tensor):
        return x
    arr = _float_array(x) if dtype is None else np.asarray(to_ndarray(x, "operand"), dtype=dtype)
    return _const(arr)


def _const(arr: np.ndarray) -> "Tensor":
    """A graph-less, grad-less tensor around an ndarray (no checks: the hot path)."""
    t = Tensor.__new__(Tensor)
    t._data = arr if type(arr) is np.ndarray else np.asarray(arr)  # (NumPy scalars from 0-d ops)
    t._grad = None
    t._gview = None
    t.requires_grad = False
    t._grad_fn = None
    t._version = 0
    return t


def _result(data: np.ndarray, name: str, inputs: Sequence["Tensor"], backward) -> "Tensor":
    """A new tensor; with a node when grad mode is on and any input requires grad."""
    out = _const(data)
    if _grad_mode.enabled:
        for t in inputs:
            if t.requires_grad:
                out._grad_fn = Node(name, inputs, backward)
                out.requires_grad = True
                return out
    return out


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched to reach g.shape."""
    if g.shape == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _operand(x: Any) -> Tuple[np.ndarray, int, Optional["Tensor"]]:
    """(array, promotion priority, tensor or None) of one operand of a binary op."""
    if isinstance(x, Tensor):
        d = x._data
        return d, (_dt.ZERO_DIM if d.ndim == 0 else _dt.DIM), x
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        dt = _dt.scalar_dtype(x)
        return np.asarray(x, dtype=dt), _dt.SCALAR, None
    arr = to_ndarray(x, "operand")  # ndarray, list, torch tensor: as a tensor would be
    return arr, (_dt.ZERO_DIM if arr.ndim == 0 else _dt.DIM), None


def _check_leaf_inplace(t: "Tensor") -> None:
    if t.requires_grad and _grad_mode.enabled:
        if t._grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation."
            )
        raise RuntimeError(
            "fastdense does not record in-place operations on tensors that are part of "
            "an autograd graph; write `x = x + y` instead of `x += y`"
        )


_CAT_NAME = {0: "Bool", 1: "Long", 2: "Float"}


class Tensor:
    """A NumPy array with an optional autograd graph (the counterpart of ``torch.Tensor``).

    Parameters
    ----------
    data : array-like
        The values (NumPy arrays are used as they are, without a copy; torch
        tensors are converted). With ``requires_grad``, integer or bool data
        becomes float32.
    requires_grad : bool, default=False
        Whether gradients are accumulated into ``.grad`` by ``backward()``.

    Attributes
    ----------
    grad : Tensor or None
        The accumulated gradient, a tensor sharing its values with the array
        the kernels accumulate into (assign a Tensor, an array or None).
    requires_grad : bool
    grad_fn : Node or None
        The operation that produced this tensor (None for leaves and for
        tensors computed without a graph).

    Notes
    -----
    Values are eager: a tensor holds what it held when it was computed.
    Arithmetic follows PyTorch's type promotion (see ``fastdense._dtypes``);
    comparisons give bool tensors; in-place operators (``+=``, ``-=``, ...)
    update the values in place and raise, as PyTorch does, on a leaf that
    requires grad outside ``no_grad``.
    """

    __slots__ = ("_data", "_grad", "_gview", "requires_grad", "_grad_fn", "_version",
                 "__weakref__")
    _data: np.ndarray
    __array_priority__ = 1000

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # Operators (ndarray + tensor) defer to the tensor's reflected method;
        # other ufuncs work on graph-less tensors (giving arrays) and refuse a
        # tensor that requires grad rather than silently dropping its graph.
        ops = _OPERATOR_UFUNCS.get(ufunc.__name__)
        if ops is not None and method == "__call__" and len(inputs) == 2 and not kwargs:
            a, b = inputs
            if isinstance(a, Tensor):
                return getattr(a, ops[0])(b)
            return getattr(b, ops[1])(a)
        outs = kwargs.get("out", ())
        if any(isinstance(x, Tensor) and x.requires_grad for x in inputs + tuple(outs)):
            raise TypeError(
                f"NumPy's {ufunc.__name__} would drop the autograd graph of a tensor that "
                "requires grad: use the tensor's methods (x.exp(), x.abs(), ...) or "
                "x.detach()"
            )
        args = [x._data if isinstance(x, Tensor) else x for x in inputs]
        if outs:
            kwargs["out"] = tuple(o._data if isinstance(o, Tensor) else o for o in outs)
        return getattr(ufunc, method)(*args, **kwargs)

    def __init__(self, data: Any, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data._data
        self._data = _float_array(data) if requires_grad else to_ndarray(data, "data")
        self._grad: Optional[np.ndarray] = None
        self._gview: Optional[Tensor] = None
        self.requires_grad = bool(requires_grad)
        self._grad_fn: Optional[Node] = None
        self._version = 0

    # -- the data ------------------------------------------------------------
    def _value(self) -> np.ndarray:
        return self._data

    @property
    def data(self) -> "Tensor":
        """The values as a tensor outside the graph, sharing memory (``p.data -= ...`` works)."""
        return _const(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            value = value._data
        arr = to_ndarray(value, "data")
        if self.requires_grad and arr.dtype not in _FLOATS:
            raise DtypeError(f"data of a tensor that requires grad must be float32 or "
                             f"float64; got {arr.dtype}")
        self._data = arr
        self._version += 1

    @property
    def grad(self) -> Optional["Tensor"]:
        """The accumulated gradient as a tensor (None until a backward pass reaches it)."""
        g = self._grad
        if g is None:
            return None
        v = self._gview
        if v is None or v._data is not g:
            v = self._gview = _const(g)
        return v

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = self._gview = None
            return
        arr = value._data if isinstance(value, Tensor) else to_ndarray(value, "grad")
        if arr.shape != self._data.shape:
            raise ShapeError(f"assigned grad has data of a different size: {arr.shape} for a "
                             f"tensor of shape {self._data.shape}")
        if arr.dtype != self._data.dtype:
            raise DtypeError(f"assigned grad has data of a different type: {arr.dtype} for a "
                             f"tensor of {self._data.dtype}")
        self._grad = arr
        self._gview = value if isinstance(value, Tensor) else None

    @property
    def grad_fn(self) -> Optional[Node]:
        """The node that produced this tensor; None for leaves and graph-less tensors."""
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        """True when the tensor was not produced by a recorded operation."""
        return self._grad_fn is None

    @property
    def shape(self) -> tuple:
        """The shape."""
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (``fastdense.torch.float32`` is ``np.dtype("float32")``)."""
        return self._data.dtype

    @property
    def device(self):
        """Always the CPU."""
        from .torch import device

        return device("cpu")

    @property
    def is_cuda(self) -> bool:
        """False: fastdense runs on the CPU."""
        return False

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    def dim(self) -> int:
        """Number of dimensions."""
        return self._data.ndim

    def size(self, dim: Optional[int] = None):
        """The shape, or its length along ``dim``."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return int(self._data.size)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __array__(self, dtype=None, copy=None):
        arr = self._data
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shared with the tensor, as in PyTorch).

        Unlike PyTorch, also allowed on a tensor that requires grad (PyTorch
        asks for ``.detach().numpy()``, which works here too).
        """
        return self._data

    def tolist(self):
        """The values as (nested) Python lists."""
        return self._data.tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        arr = self._data
        if arr.size != 1:
            raise RuntimeError(
                f"a Tensor with {arr.size} elements cannot be converted to Scalar"
            )
        return arr.reshape(-1)[0].item()

    def __bool__(self) -> bool:
        arr = self._data
        if arr.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
            )
        return bool(arr.reshape(-1)[0])

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted "
                            "to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def detach(self) -> "Tensor":
        """A tensor sharing the values, without a graph and not requiring grad."""
        return _const(self._data)

    def clone(self) -> "Tensor":
        """A copy of the values (with a graph edge when self requires grad)."""
        return _result(self._data.copy(), "CloneBackward0", (self,), lambda g: ((self, g),))

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only, as in PyTorch); returns self."""
        if not requires_grad and self._grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables."
            )
        if requires_grad and self.dtype not in _FLOATS:
            raise DtypeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extra = ""
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype=torch.{self.dtype}"
        if self._grad_fn is not None:
            extra += f", grad_fn=<{self._grad_fn.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    # -- autograd ------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves.

        Parameters
        ----------
        gradient : array-like, optional
            d(something)/d(self); required unless self has one element.
        retain_graph : bool, default=False
            Keep the graph so that ``backward`` can be called on it again.

        Raises
        ------
        RuntimeError
            If the tensor has no graph (computed under ``no_grad``, from
            inputs that do not require grad, or already backpropagated).
        """
        if self._grad_fn is None and not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a "
                "grad_fn: this tensor has no autograd graph (was it computed under "
                "fastdense.no_grad(), from inputs that do not require grad, or "
                "detached?)"
            )
        shape, dtype = self.shape, self.dtype
        if gradient is None:
            if math.prod(shape) != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = np.ones(shape, dtype=dtype)
        else:
            if isinstance(gradient, Tensor):
                gradient = gradient._data
            g = np.asarray(to_ndarray(gradient, "gradient"), dtype=dtype)
            if g.shape != shape:
                raise ShapeError(
                    f"Mismatch in shape: grad_output has a shape of {g.shape} and "
                    f"output has a shape of {shape}."
                )
        if self._grad_fn is None:  # a leaf that requires grad
            _accumulate_leaf(self, g)
            return
        _run_backward(self, g, retain_graph)

    # -- element-wise arithmetic with PyTorch's promotion ----------------------
    def _binary(self, other, name, reverse=False):
        x, px, _ = self._data, (_dt.ZERO_DIM if self._data.ndim == 0 else _dt.DIM), self
        y, py, ot = _operand(other)
        if name == "SubBackward0" and (x.dtype == np.bool_ or (y.dtype == np.bool_ and ot is not None)):
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                               "supported. If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        dt = _dt.promote(((x.dtype, px), (y.dtype, py)))
        if name in ("DivBackward0",) and dt.kind != "f":
            dt = _dt.float32
        if name == "PowBackward0" and dt.kind in "iu" and (y < 0).any() and not reverse:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        if reverse:
            x, y = y, x
        xa = x if x.dtype == dt else x.astype(dt)
        ya = y if y.dtype == dt else y.astype(dt)
        with np.errstate(all="ignore"):
            out = np.asarray(_BINARY_OPS[name](xa, ya))
        a, b = (ot, self) if reverse else (self, ot)
        ins = tuple(t for t in (a, b) if t is not None)
        if dt.kind != "f" or not any(t.requires_grad for t in ins):
            return _const(out)

        def backward(g):
            with np.errstate(all="ignore"):
                ga, gb = _BINARY_GRADS[name](g, xa, ya, out)
            res = []
            if a is not None and a.requires_grad:
                res.append((a, _unbroadcast(ga, x.shape).astype(a._data.dtype, copy=False)))
            if b is not None and b.requires_grad:
                res.append((b, _unbroadcast(gb, y.shape).astype(b._data.dtype, copy=False)))
            return res

        return _result(out, name, ins, backward)

    def __add__(self, other):
        return self._binary(other, "AddBackward0")

    def __radd__(self, other):
        return self._binary(other, "AddBackward0", reverse=True)

    def __sub__(self, other):
        return self._binary(other, "SubBackward0")

    def __rsub__(self, other):
        return self._binary(other, "SubBackward0", reverse=True)

    def __mul__(self, other):
        return self._binary(other, "MulBackward0")

    def __rmul__(self, other):
        return self._binary(other, "MulBackward0", reverse=True)

    def __truediv__(self, other):
        return self._binary(other, "DivBackward0")

    def __rtruediv__(self, other):
        return self._binary(other, "DivBackward0", reverse=True)

    def __pow__(self, other):
        return self._binary(other, "PowBackward0")

    def __rpow__(self, other):
        return self._binary(other, "PowBackward0", reverse=True)

    def __neg__(self):
        if self._data.dtype == np.bool_:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported.")
        return _result(-self._data, "NegBackward0", (self,), lambda g: ((self, -g),))

    def __pos__(self):
        return self

    add, sub, mul, div, pow = __add__, __sub__, __mul__, __truediv__, __pow__

    # -- comparisons: bool tensors ---------------------------------------------
    def _compare(self, other, op):
        x = self._data
        y, py, _ = _operand(other)
        dt = _dt.promote(((x.dtype, _dt.ZERO_DIM if x.ndim == 0 else _dt.DIM), (y.dtype, py)))
        with np.errstate(all="ignore"):
            return _const(np.asarray(op(x.astype(dt, copy=False), y.astype(dt, copy=False))))

    def __eq__(self, other):  # type: ignore[override]
        return self._compare(other, np.equal)

    def __ne__(self, other):  # type: ignore[override]
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __and__(self, other):
        return self._logical(other, np.logical_and, np.bitwise_and)

    def __or__(self, other):
        return self._logical(other, np.logical_or, np.bitwise_or)

    def __xor__(self, other):
        return self._logical(other, np.logical_xor, np.bitwise_xor)

    def __invert__(self):
        if self._data.dtype.kind == "f":
            raise TypeError("bitwise_not is only supported for integer and boolean tensors")
        return _const(np.invert(self._data))

    def _logical(self, other, logical, bitwise):
        x = self._data
        y, py, _ = _operand(other)
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            raise RuntimeError("bitwise operations are only supported for integer and "
                               "boolean tensors")
        dt = _dt.promote(((x.dtype, _dt.DIM if x.ndim else _dt.ZERO_DIM), (y.dtype, py)))
        op = logical if dt == np.bool_ else bitwise
        return _const(np.asarray(op(x.astype(dt), y.astype(dt))))

    # -- in place (version counter; PyTorch's leaf check) ----------------------
    def _inplace(self, other, name):
        _check_leaf_inplace(self)
        x = self._data
        y, py, _ = _operand(other)
        dt = _dt.promote(((x.dtype, _dt.DIM if x.ndim else _dt.ZERO_DIM), (y.dtype, py)))
        if name == "DivBackward0" and dt.kind != "f":
            dt = _dt.float32
        if _dt.category(dt) > _dt.category(x.dtype):
            raise RuntimeError(
                f"result type {_CAT_NAME[_dt.category(dt)]} can't be cast to the desired "
                f"output type {_CAT_NAME[_dt.category(x.dtype)]}"
            )
        out = np.asarray(_BINARY_OPS[name](x.astype(dt, copy=False), y.astype(dt, copy=False)))
        if np.broadcast_shapes(out.shape, x.shape) != x.shape:
            raise RuntimeError(
                f"output with shape {list(x.shape)} doesn't match the broadcast shape "
                f"{list(out.shape)}"
            )
        if not x.flags.writeable:
            raise ValueError("the tensor's values are read-only (a read-only NumPy array)")
        np.copyto(x, out, casting="unsafe")
        self._version += 1
        return self

    def __iadd__(self, other):
        return self._inplace(other, "AddBackward0")

    def __isub__(self, other):
        return self._inplace(other, "SubBackward0")

    def __imul__(self, other):
        return self._inplace(other, "MulBackward0")

    def __itruediv__(self, other):
        return self._inplace(other, "DivBackward0")

    add_, sub_, mul_, div_ = __iadd__, __isub__, __imul__, __itruediv__

    def zero_(self) -> "Tensor":
        """Set every element to zero in place."""
        return self.fill_(0)

    def fill_(self, value) -> "Tensor":
        """Set every element to ``value`` in place."""
        _check_leaf_inplace(self)
        self._data[...] = value
        self._version += 1
        return self

    def copy_(self, src) -> "Tensor":
        """Copy ``src`` (broadcast) into this tensor in place."""
        _check_leaf_inplace(self)
        s = src._data if isinstance(src, Tensor) else to_ndarray(src, "src")
        np.copyto(self._data, np.broadcast_to(s, self._data.shape), casting="unsafe")
        self._version += 1
        return self

    def __setitem__(self, index, value) -> None:
        _check_leaf_inplace(self)
        if isinstance(index, Tensor):
            index = index._data
        v = value._data if isinstance(value, Tensor) else value
        self._data[index] = v
        self._version += 1

    # -- element-wise functions ------------------------------------------------
    def _unary(self, fwd, grad, name, float_out=True):
        x = self._data
        if float_out and x.dtype.kind != "f":
            x = x.astype(np.float32)
        with np.errstate(all="ignore"):
            out = np.asarray(fwd(x))

        def backward(g):
            with np.errstate(all="ignore"):
                return ((self, grad(g, x, out).astype(x.dtype, copy=False)),)

        return _result(out, name, (self,), backward)

    def exp(self) -> "Tensor":
        """e ** x element-wise."""
        return self._unary(np.exp, lambda g, x, o: g * o, "ExpBackward0")

    def log(self) -> "Tensor":
        """Natural logarithm element-wise (nan below 0, -inf at 0)."""
        return self._unary(np.log, lambda g, x, o: g / x, "LogBackward0")

    def sqrt(self) -> "Tensor":
        """Square root element-wise."""
        return self._unary(np.sqrt, lambda g, x, o: g / (2 * o), "SqrtBackward0")

    def abs(self) -> "Tensor":
        """Absolute value element-wise (keeps integer dtypes)."""
        # (PyTorch's sign of NaN in this gradient is 0)
        return self._unary(np.abs, lambda g, x, o: g * np.nan_to_num(np.sign(x), nan=0.0),
                           "AbsBackward0",
                           float_out=False)

    __abs__ = abs

    def sigmoid(self) -> "Tensor":
        """Logistic sigmoid element-wise (the activation kernel)."""
        return kernel_activation(self, _kernels.ACTIVATIONS["sigmoid"], 0.0, "SigmoidBackward0")

    def tanh(self) -> "Tensor":
        """Hyperbolic tangent element-wise (the activation kernel)."""
        return kernel_activation(self, _kernels.ACTIVATIONS["tanh"], 0.0, "TanhBackward0")

    def relu(self) -> "Tensor":
        """max(x, 0) element-wise (the activation kernel)."""
        return kernel_activation(self, _kernels.ACTIVATIONS["relu"], 0.0, "ReluBackward0")

    def softmax(self, dim: int, dtype=None) -> "Tensor":
        """``exp(x) / sum(exp(x))`` along ``dim`` (see ``fastdense.nn.functional.softmax``)."""
        from .nn._multiclass import softmax  # (the multi-class math lives with the losses)

        return softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim: int, dtype=None) -> "Tensor":
        """``log(softmax(x))`` along ``dim``, without overflow."""
        from .nn._multiclass import log_softmax

        return log_softmax(self, dim, dtype=dtype)

    def clamp(self, min=None, max=None) -> "Tensor":
        """Limit the values to ``[min, max]`` (either may be None); NaN stays NaN."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        lo = -np.inf if min is None else min
        hi = np.inf if max is None else max
        x = self._data
        dt = _dt.promote([(x.dtype, _dt.DIM)] + [(_dt.scalar_dtype(v), _dt.SCALAR)
                                                 for v in (min, max) if v is not None])
        xa = x.astype(dt, copy=False)
        out = np.asarray(np.minimum(np.maximum(xa, lo), hi).astype(dt, copy=False))
        if min is not None and max is not None and min > max:
            out = np.full_like(out, max)
        mask = (xa >= lo) & (xa <= hi)
        return _result(out, "ClampBackward1", (self,), lambda g: ((self, g * mask),))

    clip = clamp

    # -- reductions ------------------------------------------------------------
    def _reduce_dims(self, dim):
        if dim is None or (self._data.ndim == 0 and dim in (0, -1)):
            return None  # PyTorch lets a 0-d tensor reduce over dim 0 / -1
        return tuple(dim) if isinstance(dim, (tuple, list)) else dim

    def sum(self, dim=None, keepdim: bool = False, dtype=None) -> "Tensor":
        """Sum of the elements (over ``dim`` if given); integers and bools give int64."""
        x = self._data
        dim = self._reduce_dims(dim)
        odt = _dt.resolve(dtype) if dtype is not None else (
            x.dtype if x.dtype.kind == "f" else _dt.int64)
        out = np.asarray(x.sum(axis=dim, keepdims=keepdim, dtype=odt))

        def backward(g):
            if dim is not None and not keepdim:
                g = np.expand_dims(g, dim)
            return ((self, np.broadcast_to(g, x.shape)),)

        return _result(out, "SumBackward0", (self,), backward)

    def mean(self, dim=None, keepdim: bool = False) -> "Tensor":
        """Mean of the elements (over ``dim`` if given); float tensors only, as in PyTorch."""
        x = self._data
        if x.dtype.kind != "f":
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a "
                f"floating point or complex dtype. Got: {_CAT_NAME[_dt.category(x.dtype)]}"
            )
        dim = self._reduce_dims(dim)
        if x.size == 0:  # NaN, as PyTorch, without NumPy's "Mean of empty slice" warning
            out = np.asarray(np.sum(x, axis=dim, keepdims=keepdim) * np.nan, dtype=x.dtype)
        else:
            with np.errstate(all="ignore"):
                out = np.asarray(x.mean(axis=dim, keepdims=keepdim))
        count = x.size // max(out.size, 1) if x.size else 0

        def backward(g):
            if dim is not None and not keepdim:
                g = np.expand_dims(g, dim)
            if not count:  # nothing to spread the gradient over
                return ((self, np.zeros(x.shape, dtype=x.dtype)),)
            return ((self, np.broadcast_to(g / count, x.shape)),)

        return _result(out, "MeanBackward0", (self,), backward)

    def var(self, dim=None, unbiased: bool = True, keepdim: bool = False, *,
            correction=None) -> "Tensor":
        """Variance (Bessel-corrected by default, as in PyTorch)."""
        c = (1 if unbiased else 0) if correction is None else correction
        mu = self.mean(dim, keepdim=True)
        d = self - mu
        n = self.numel() if dim is None else math.prod(
            self.shape[i] for i in ((dim,) if isinstance(dim, int) else dim))
        return (d * d).sum(dim, keepdim=keepdim) / max(n - c, 0)

    def std(self, dim=None, unbiased: bool = True, keepdim: bool = False, *,
            correction=None) -> "Tensor":
        """Standard deviation (Bessel-corrected by default)."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def _extreme(self, dim, keepdim, pick, argpick, name):
        x = self._data
        if dim is None:
            if x.size == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0. Specify the reduction dim with the "
                                   "'dim' argument.")
            flat = x.reshape(-1)
            i = int(argpick(flat))
            out = np.asarray(flat[i])

            def backward(g):
                full = np.zeros(x.size, dtype=x.dtype)
                full[i] = g
                return ((self, full.reshape(x.shape)),)

            return _result(out, "MaxBackward1", (self,), backward)
        if x.ndim == 0 and dim in (0, -1):
            return _MinMax((self.clone(), _const(np.zeros((), np.int64))))
        if x.shape[dim] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
        idx = np.asarray(argpick(x, axis=dim))
        vals = np.take_along_axis(x, np.expand_dims(idx, dim), axis=dim)
        if not keepdim:
            vals = np.squeeze(vals, dim)

        def backward_dim(g):
            full = np.zeros(x.shape, dtype=x.dtype)
            gg = g if keepdim else np.expand_dims(g, dim)
            np.put_along_axis(full, np.expand_dims(idx, dim), gg, axis=dim)
            return ((self, full),)

        values = _result(np.asarray(vals), "MaxBackward0", (self,), backward_dim)
        indices = _const(idx.astype(np.int64) if keepdim is False
                         else np.expand_dims(idx, dim).astype(np.int64))
        return _MinMax((values, indices))

    def max(self, dim=None, keepdim: bool = False):
        """The largest element, or ``(values, indices)`` along ``dim`` (NaN propagates)."""
        if isinstance(dim, Tensor):
            return _maximum(self, dim)
        return self._extreme(dim, keepdim, np.max, _nan_argmax, "max")

    def min(self, dim=None, keepdim: bool = False):
        """The smallest element, or ``(values, indices)`` along ``dim`` (NaN propagates)."""
        if isinstance(dim, Tensor):
            return _minimum(self, dim)
        return self._extreme(dim, keepdim, np.min, _nan_argmin, "min")

    def _arg_extreme(self, dim, keepdim, argpick, name):
        x = self._data
        if x.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        if dim is None or x.ndim == 0:
            return _const(np.asarray(argpick(x.reshape(-1)), dtype=np.int64))
        idx = np.asarray(argpick(x, axis=dim), dtype=np.int64)
        return _const(np.expand_dims(idx, dim) if keepdim else idx)

    def argmax(self, dim=None, keepdim: bool = False) -> "Tensor":
        """Index of the largest element (of the flattened tensor when ``dim`` is None)."""
        return self._arg_extreme(dim, keepdim, _nan_argmax, "argmax")

    def argmin(self, dim=None, keepdim: bool = False) -> "Tensor":
        """Index of the smallest element (of the flattened tensor when ``dim`` is None)."""
        return self._arg_extreme(dim, keepdim, _nan_argmin, "argmin")

    def any(self, dim=None, keepdim: bool = False, **numpy_kwargs) -> "Tensor":
        """Whether any element is true (a bool tensor; over ``dim`` if given)."""
        dim = numpy_kwargs.get("axis", dim)
        return _const(np.asarray(self._data.any(axis=dim, keepdims=keepdim)))

    def all(self, dim=None, keepdim: bool = False, **numpy_kwargs) -> "Tensor":
        """Whether every element is true (a bool tensor; over ``dim`` if given)."""
        dim = numpy_kwargs.get("axis", dim)
        return _const(np.asarray(self._data.all(axis=dim, keepdims=keepdim)))

    def norm(self, p=2) -> "Tensor":
        """The p-norm of all elements (p = 2 by default)."""
        if p == 2:
            return (self * self).sum().sqrt()
        return (self.abs() ** p).sum() ** (1.0 / p)

    # -- shape -----------------------------------------------------------------
    def reshape(self, *shape) -> "Tensor":
        """The values in another shape (``view`` is the same here)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        x = self._data
        out = x.reshape(shape)
        return _result(out, "ViewBackward0", (self,), lambda g: ((self, g.reshape(x.shape)),))

    view = reshape

    def view_as(self, other: "Tensor") -> "Tensor":
        """``reshape(other.shape)``."""
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        """Merge dimensions ``start_dim..end_dim`` into one."""
        s = self.shape
        if not s:
            return self.reshape(1)
        a, b = start_dim % len(s), end_dim % len(s)
        return self.reshape(s[:a] + (math.prod(s[a:b + 1]),) + s[b + 1:])

    def squeeze(self, dim: Optional[int] = None) -> "Tensor":
        """Drop dimensions of size 1 (only ``dim`` if given and of size 1)."""
        x = self._data
        if dim is None:
            out = x.squeeze()
        else:
            out = x.squeeze(dim) if x.ndim and x.shape[dim] == 1 else x
        return _result(out, "SqueezeBackward0", (self,),
                       lambda g: ((self, g.reshape(x.shape)),))

    def unsqueeze(self, dim: int) -> "Tensor":
        """Insert a dimension of size 1 at ``dim``."""
        x = self._data
        out = np.expand_dims(x, dim)
        return _result(out, "UnsqueezeBackward0", (self,),
                       lambda g: ((self, g.reshape(x.shape)),))

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        """Swap two dimensions."""
        x = self._data
        out = np.swapaxes(x, dim0, dim1)
        return _result(out, "TransposeBackward0", (self,),
                       lambda g: ((self, np.swapaxes(g, dim0, dim1)),))

    def t(self) -> "Tensor":
        """Transpose of a tensor of at most 2 dimensions."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> "Tensor":
        """All dimensions reversed."""
        x = self._data
        return _result(x.T, "PermuteBackward0", (self,), lambda g: ((self, g.T),))

    def __matmul__(self, other) -> "Tensor":
        return _matmul(self, other)

    def __rmatmul__(self, other) -> "Tensor":
        return _matmul(_tensor_or_const(other), self)

    matmul = mm = __matmul__

    def __getitem__(self, index) -> "Tensor":
        x = self._data
        if isinstance(index, Tensor):
            index = index._data
        elif isinstance(index, tuple):
            index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
        out = np.asarray(x[index])

        def backward(g):
            full = np.zeros(x.shape, dtype=x.dtype)
            np.add.at(full, index, g)
            return ((self, full),)

        return _result(out, "IndexBackward0", (self,), backward)

    # -- dtype and device --------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """Another dtype (a graph edge when self requires grad); devices other than the CPU raise.

        As ``torch.Tensor.to``: ``to(dtype)``, ``to(device, dtype)``, ``to(other)``,
        then optionally ``non_blocking`` and ``copy`` (positional or keywords).
        ``non_blocking`` has no effect on the CPU; ``copy=True`` returns a new
        tensor even when nothing changes. ``memory_format`` may only be
        ``torch.preserve_format`` or ``torch.contiguous_format`` (a dense tensor
        here has no other layout); any other keyword is a TypeError.
        """
        positional = list(args)
        flags: List[bool] = []  # trailing positional non_blocking, copy
        while positional and isinstance(positional[-1], bool) and len(flags) < 2:
            flags.insert(0, positional.pop())
        copy = bool(kwargs.pop("copy", False)) or (len(flags) == 2 and flags[1])
        memory_format = kwargs.pop("memory_format", None)
        dtype = _to_dtype(positional, kwargs)  # (unknown keywords raise here first)
        if memory_format is not None and str(memory_format) not in (
                "torch.preserve_format", "torch.contiguous_format"):
            raise NotImplementedError(
                f"Tensor.to(memory_format={memory_format}) is not supported by fastdense: "
                "its tensors are dense and row-major (preserve_format and "
                "contiguous_format only)")
        return self._cast(self._data.dtype if dtype is None else _dt.resolve(dtype), copy)

    def _cast(self, dtype: np.dtype, copy: bool = False) -> "Tensor":
        x = self._data
        if x.dtype == dtype and not copy:
            return self
        return _result(x.astype(dtype), "ToCopyBackward0", (self,),
                       lambda g: ((self, g.astype(x.dtype)),))

    def type(self, dtype=None):
        """The dtype's name, or a copy in ``dtype``."""
        if dtype is None:
            return f"torch.{ {'f': 'Float', 'i': 'Long', 'b': 'Bool'}[self.dtype.kind] }Tensor"
        return self._cast(_dt.resolve(dtype))

    def float(self) -> "Tensor":
        """``to(float32)``."""
        return self._cast(_dt.float32)

    def double(self) -> "Tensor":
        """``to(float64)``."""
        return self._cast(_dt.float64)

    def long(self) -> "Tensor":
        """``to(int64)`` (truncating toward zero)."""
        return self._cast(_dt.int64)

    def int(self) -> "Tensor":
        """``to(int32)``."""
        return self._cast(np.dtype(np.int32))

    def bool(self) -> "Tensor":
        """``to(bool)``."""
        return self._cast(_dt.bool_)

    def cpu(self) -> "Tensor":
        """Self (fastdense runs on the CPU)."""
        return self

    def cuda(self, *args, **kwargs) -> "Tensor":
        """Raises: fastdense runs on the CPU only."""
        check_device("cuda")
        return self  # pragma: no cover

    def contiguous(self) -> "Tensor":
        """A C-contiguous tensor with the same values."""
        if self._data.flags.c_contiguous:
            return self
        x = self._data
        return _result(np.ascontiguousarray(x), "CloneBackward0", (self,), lambda g: ((self, g),))

    def is_floating_point(self) -> "builtins.bool":
        """Whether the dtype is float32 or float64."""
        return self._data.dtype.kind == "f"


class _MinMax(tuple):
    """``(values, indices)`` of ``max``/``min`` along a dimension (PyTorch's namedtuple)."""

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


def _nan_argmax(x, axis=None):
    """argmax where a NaN counts as the largest (PyTorch's propagation)."""
    nan = np.isnan(x) if x.dtype.kind == "f" else None
    if nan is not None and nan.any():
        if axis is None:
            return np.argmax(nan)
        return np.where(nan.any(axis=axis), np.argmax(nan, axis=axis), np.argmax(x, axis=axis))
    return np.argmax(x, axis=axis)


def _nan_argmin(x, axis=None):
    nan = np.isnan(x) if x.dtype.kind == "f" else None
    if nan is not None and nan.any():
        if axis is None:
            return np.argmax(nan)
        return np.where(nan.any(axis=axis), np.argmax(nan, axis=axis), np.argmin(x, axis=axis))
    return np.argmin(x, axis=axis)


def _maximum(a: Tensor, b: Tensor) -> Tensor:
    x, y = a._data, b._data
    dt = np.result_type(x, y)
    out = np.maximum(x, y).astype(dt, copy=False)
    return _result(np.asarray(out), "MaximumBackward0", (a, b), _select_backward(a, b, x >= y))


def _select_backward(a: Tensor, b: Tensor, mask: np.ndarray) -> Callable:
    """The backward of a result that is `a` where `mask` holds and `b` elsewhere (broadcast)."""
    def backward(g):
        res = []
        for t, m in ((a, mask), (b, ~mask)):
            if t.requires_grad:
                res.append((t, _unbroadcast(g * m, t._data.shape).astype(t._data.dtype,
                                                                         copy=False)))
        return res

    return backward


def _minimum(a: Tensor, b: Tensor) -> Tensor:
    return -_maximum(-a, -b)


def _matmul(a: Tensor, b: Any) -> Tensor:
    b = _tensor_or_const(b, a.dtype) if not isinstance(b, Tensor) else b
    x, y = a._data, b._data
    if x.dtype != y.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{x.dtype} != {y.dtype}")
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D")
    try:
        out = np.asarray(np.matmul(x, y))
    except ValueError as exc:
        raise ShapeError(f"mat1 and mat2 shapes cannot be multiplied: {exc}") from None

    def backward(g):
        x2 = x if x.ndim > 1 else x[None, :]
        y2 = y if y.ndim > 1 else y[:, None]
        g2 = g.reshape(x2.shape[:-1] + (y2.shape[-1],)) if g.ndim < 2 or x.ndim == 1 \
            or y.ndim == 1 else g
        res = []
        if a.requires_grad:
            ga = np.matmul(g2, np.swapaxes(y2, -1, -2))
            res.append((a, _unbroadcast(ga, x2.shape).reshape(x.shape)))
        if b.requires_grad:
            gb = np.matmul(np.swapaxes(x2, -1, -2), g2)
            res.append((b, _unbroadcast(gb, y2.shape).reshape(y.shape)))
        return res

    return _result(out, "MmBackward0", (a, b), backward)


# NumPy's operator ufuncs -> (the tensor's method, its reflected method)
_OPERATOR_UFUNCS = {
    "add": ("__add__", "__radd__"), "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"), "true_divide": ("__truediv__", "__rtruediv__"),
    "divide": ("__truediv__", "__rtruediv__"), "power": ("__pow__", "__rpow__"),
    "matmul": ("__matmul__", "__rmatmul__"), "equal": ("__eq__", "__eq__"),
    "not_equal": ("__ne__", "__ne__"), "less": ("__lt__", "__gt__"),
    "less_equal": ("__le__", "__ge__"), "greater": ("__gt__", "__lt__"),
    "greater_equal": ("__ge__", "__le__"), "bitwise_and": ("__and__", "__and__"),
    "bitwise_or": ("__or__", "__or__"), "bitwise_xor": ("__xor__", "__xor__"),
}

_BINARY_OPS = {
    "AddBackward0": np.add,
    "SubBackward0": np.subtract,
    "MulBackward0": np.multiply,
    "DivBackward0": np.true_divide,
    "PowBackward0": np.power,
}

_BINARY_GRADS = {
    "AddBackward0": lambda g, x, y, o: (g, g),
    "SubBackward0": lambda g, x, y, o: (g, -g),
    "MulBackward0": lambda g, x, y, o: (g * y, g * x),
    "DivBackward0": lambda g, x, y, o: (g / y, -g * x / (y * y)),
    "PowBackward0": lambda g, x, y, o: (
        g * np.where(y == 0, 0, y * np.power(x, y - 1)),
        g * np.where((x == 0) & (y >= 0), 0, o * np.log(x))),
}


def kernel_activation(input: Any, code: int, slope: float, name: str) -> Tensor:
    """An activation by the compiled kernel, forward and backward (float32/float64)."""
    x = _tensor_or_const(input)
    xd = x._data
    if xd.dtype not in _FLOATS:
        xd = xd.astype(np.float32)
    # (np.ascontiguousarray would turn a 0-d input into shape (1,))
    src = xd if xd.flags.c_contiguous else np.ascontiguousarray(xd)
    out = np.empty(xd.shape, dtype=src.dtype)
    _kernels.activation_forward(src.reshape(-1), out.reshape(-1), code, slope)

    def backward(g):
        g = np.ascontiguousarray(g, dtype=out.dtype)
        dz = np.empty(out.shape, dtype=out.dtype)
        _kernels.activation_backward(g.reshape(-1), out.reshape(-1), dz.reshape(-1),
                                     code, slope)
        return ((x, dz),)

    return _result(out, name, (x,), backward)


# ------------------------------------------------------------------- devices

class DeviceUnavailableError(AssertionError, RuntimeError):
    """A device other than the CPU was asked for.

    An AssertionError (what a CPU build of PyTorch raises for CUDA) and a
    RuntimeError (what a CUDA build without a GPU raises).
    """


_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip",
                 "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                 "privateuseone")


def _to_dtype(args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
    """The dtype that ``to(*args, **kwargs)`` asks for (None: keep it).

    Positional arguments are devices, dtypes or a tensor (its dtype), in any
    order, as PyTorch's ``Tensor.to`` and ``Module.to`` take them; the
    keywords ``dtype``, ``device`` and ``non_blocking`` (no effect on the CPU)
    are taken from `kwargs`, and any keyword left is a TypeError. Any device
    but the CPU raises (:func:`check_device`).
    """
    dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if _is_device_like(a):
            device = a
        elif isinstance(a, Tensor):
            dtype = a.dtype
        else:
            dtype = a
    if device is not None:
        check_device(device)
    return dtype


def _is_device_like(x: Any) -> bool:
    if isinstance(x, str):
        return x.split(":")[0] in _DEVICE_TYPES or not _is_dtype_name(x)
    return type(x).__name__ == "device" or isinstance(x, int) and not isinstance(x, bool)


def _is_dtype_name(s: str) -> bool:
    try:
        _dt.resolve(s)
        return True
    except TypeError:
        return False


def check_device(device: Any) -> str:
    """The device type of ``device`` if it is the CPU; else PyTorch's kind of error."""
    if isinstance(device, int) and not isinstance(device, bool):
        device = f"cuda:{device}"
    name = str(getattr(device, "type", device))
    kind = name.split(":")[0]
    if kind not in _DEVICE_TYPES:
        raise RuntimeError(
            "Expected one of " + ", ".join(_DEVICE_TYPES)
            + f" device type at start of device string: {name}"
        )
    if kind != "cpu":
        raise DeviceUnavailableError(
            f"fastdense runs on the CPU only: device {name!r} is not available"
        )
    return kind


def _resolve_dtype(dtype) -> np.dtype:
    """A NumPy float dtype from a NumPy dtype, a name, or a torch dtype."""
    dt = _dt.resolve(dtype)
    if dt not in _FLOATS:
        raise TypeError(f"dtype must be float32 or float64; got {dtype!r}")
    return dt


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
        if arr.dtype not in _FLOATS:
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


def tensor(data: Any, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (``torch.tensor``).

    Python floats give float32, Python ints int64, bools bool (PyTorch's
    defaults); NumPy arrays and torch tensors keep their dtype.
    """
    if device is not None:
        check_device(device)
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, (np.ndarray, np.generic)) or hasattr(data, "detach"):
        arr = np.array(to_ndarray(data, "data"), copy=True)
    else:
        arr = np.array(to_ndarray(data, "data"), copy=True)
        if arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    if dtype is not None:
        arr = arr.astype(_dt.resolve(dtype))
    t = Tensor(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t
