"""Tensors and reverse-mode autograd for fastdense's dense chains.

A :class:`Tensor` wraps a NumPy array. Operations on tensors that require
gradients record a :class:`Node` (the tensor's ``grad_fn``) holding what the
backward pass needs; :meth:`Tensor.backward` walks the recorded nodes in
reverse topological order and accumulates gradients into the ``.grad`` of the
leaf tensors (NumPy arrays), as PyTorch does, until they are zeroed.

The output of :func:`fastdense.nn.functional.linear` is *pending*: its matrix
product is not computed until someone reads it. An activation applied to a
pending output runs as one fused kernel (GEMM, bias and activation in one
pass) and backpropagates as one fused kernel; reading the pending output (or
using it in any other operation) computes it on its own, so the semantics are
exactly those of the unfused chain.

Only operations fastdense implements have gradients: the functional ops of
``fastdense.nn.functional``, element-wise ``+ - * /`` and negation (with
NumPy broadcasting), ``sum``, ``mean``, reshaping, indexing and dtype casts.
NumPy ufuncs on tensors raise TypeError, so nothing silently drops the graph.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Callable, List, Optional, Sequence, Set, Tuple

import numpy as np

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
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_IDENTITY = _kernels.ACTIVATIONS["identity"]


class ShapeError(ValueError, RuntimeError):
    """Shape mismatch: a ValueError (fastdense's convention) and a RuntimeError (PyTorch's)."""


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
    """t.grad += g (or t.grad = copy of g), in t's dtype and shape."""
    data = t._data
    if g.shape != data.shape:
        g = np.broadcast_to(g, data.shape)
    cur = t.grad
    if cur is None:
        t.grad = np.array(g, dtype=data.dtype, order="C", copy=True)
    elif (type(cur) is np.ndarray and cur.flags.writeable and cur.shape == data.shape):
        np.add(cur, g, out=cur, casting="unsafe")
    else:
        t.grad = np.asarray(cur) + g


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
    arr = to_ndarray(x, "tensor data")
    if arr.dtype not in _FLOATS:
        arr = arr.astype(np.float32)
    return arr


def _tensor_or_const(x: Any, dtype=None) -> "Tensor":
    """A Tensor for x: x itself if it is one, else a constant (no grad) wrapping its array."""
    if isinstance(x, Tensor):
        return x
    arr = _float_array(x) if dtype is None else np.asarray(to_ndarray(x, "operand"), dtype=dtype)
    return Tensor(arr)


def _result(data: np.ndarray, name: str, inputs: Sequence["Tensor"], backward) -> "Tensor":
    """A new tensor; with a node when grad mode is on and any input requires grad."""
    out = Tensor.__new__(Tensor)
    out._data = data
    out.grad = None
    out._pending = None
    out._version = 0
    if _grad_mode.enabled:
        for t in inputs:
            if t.requires_grad:
                out._grad_fn = Node(name, inputs, backward)
                out.requires_grad = True
                return out
    out._grad_fn = None
    out.requires_grad = False
    return out


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum g over the axes that NumPy broadcasting added or stretched to reach g.shape."""
    if g.shape == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


class Tensor:
    """A NumPy array with an optional autograd graph (the counterpart of ``torch.Tensor``).

    Parameters
    ----------
    data : array-like
        The values (NumPy arrays are used as they are, without a copy; torch
        tensors are converted). Integer or bool data becomes float32.
    requires_grad : bool, default=False
        Whether gradients are accumulated into ``.grad`` by ``backward()``.

    Attributes
    ----------
    grad : ndarray or None
        The accumulated gradient (a NumPy array, not a tensor).
    requires_grad : bool
    grad_fn : Node or None
        The operation that produced this tensor (None for leaves and for
        tensors computed without a graph).
    """

    __slots__ = ("_data", "grad", "requires_grad", "_grad_fn", "_pending", "_version",
                 "__weakref__")
    __array_ufunc__ = None  # NumPy ufuncs must not silently drop the graph
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data.data
        self._data = _float_array(data) if requires_grad else to_ndarray(data, "data")
        self.grad: Optional[np.ndarray] = None
        self.requires_grad = bool(requires_grad)
        self._grad_fn: Optional[Node] = None
        self._pending: Any = None
        self._version = 0

    # -- the data ------------------------------------------------------------
    def _value(self) -> np.ndarray:
        if self._pending is not None:
            self._materialize()
        return self._data

    def _materialize(self) -> None:
        from .nn.functional import _compute_pending

        self._data = _compute_pending(self._pending, _IDENTITY, 0.0)
        self._pending = None

    @property
    def data(self) -> np.ndarray:
        """The values as a NumPy array (shared, not copied)."""
        return self._value()

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            value = value._value()
        arr = to_ndarray(value, "data")
        if self.requires_grad and arr.dtype not in _FLOATS:
            arr = arr.astype(np.float32)
        self._data = arr
        self._pending = None
        self._version += 1

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
        """The shape (known without computing a pending output)."""
        if self._pending is not None:
            return self._pending.shape
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype."""
        if self._pending is not None:
            return self._pending.dtype
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def dim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    def size(self, dim: Optional[int] = None):
        """The shape, or its length along ``dim``."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        arr = self._value()
        if dtype is not None and arr.dtype != dtype:
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shared with the tensor, as in PyTorch)."""
        return self._value()

    def tolist(self):
        """The values as (nested) Python lists."""
        return self._value().tolist()

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        arr = self._value()
        if arr.size != 1:
            raise RuntimeError(
                f"a Tensor with {arr.size} elements cannot be converted to Scalar"
            )
        return arr.reshape(-1)[0].item()

    def __bool__(self) -> bool:
        arr = self._value()
        if arr.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {arr.size} elements is ambiguous"
            )
        return bool(arr.reshape(-1)[0])

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def detach(self) -> "Tensor":
        """A tensor sharing the values, without a graph and not requiring grad."""
        return Tensor(self._value())

    def clone(self) -> "Tensor":
        """A copy of the values (with a graph edge when self requires grad)."""
        return _result(self._value().copy(), "CloneBackward0", (self,), lambda g: ((self, g),))

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only, as in PyTorch); returns self."""
        if not requires_grad and self._grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables."
            )
        if requires_grad and self.dtype not in _FLOATS:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self) -> str:
        body = np.array2string(self._value(), separator=", ", prefix="tensor(")
        extra = ""
        if self.dtype != np.float32:
            extra += f", dtype={self.dtype}"
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

    # -- differentiable element-wise arithmetic (NumPy broadcasting) -----------
    def _binary(self, other, op, name, reverse=False):
        other = _tensor_or_const(other, self.dtype)
        a, b = (other, self) if reverse else (self, other)
        x, y = a._value(), b._value()
        out = np.asarray(op(x, y))

        def backward(g):
            ga, gb = _BINARY_GRADS[name](g, x, y)
            res = []
            if a.requires_grad:
                res.append((a, _unbroadcast(ga, x.shape).astype(x.dtype, copy=False)))
            if b.requires_grad:
                res.append((b, _unbroadcast(gb, y.shape).astype(y.dtype, copy=False)))
            return res

        return _result(out, name, (a, b), backward)

    def __add__(self, other):
        return self._binary(other, np.add, "AddBackward0")

    def __radd__(self, other):
        return self._binary(other, np.add, "AddBackward0", reverse=True)

    def __sub__(self, other):
        return self._binary(other, np.subtract, "SubBackward0")

    def __rsub__(self, other):
        return self._binary(other, np.subtract, "SubBackward0", reverse=True)

    def __mul__(self, other):
        return self._binary(other, np.multiply, "MulBackward0")

    def __rmul__(self, other):
        return self._binary(other, np.multiply, "MulBackward0", reverse=True)

    def __truediv__(self, other):
        return self._binary(other, np.true_divide, "DivBackward0")

    def __rtruediv__(self, other):
        return self._binary(other, np.true_divide, "DivBackward0", reverse=True)

    def __neg__(self):
        return _result(-self._value(), "NegBackward0", (self,), lambda g: ((self, -g),))

    def __pos__(self):
        return self

    # -- reductions and shape ops ---------------------------------------------
    def sum(self, dim=None, keepdim: bool = False) -> "Tensor":
        """Sum of the elements (over ``dim`` if given)."""
        x = self._value()
        out = np.asarray(x.sum(axis=dim, keepdims=keepdim))

        def backward(g):
            if dim is not None and not keepdim:
                g = np.expand_dims(g, dim)
            return ((self, np.broadcast_to(g, x.shape)),)

        return _result(out, "SumBackward0", (self,), backward)

    def mean(self, dim=None, keepdim: bool = False) -> "Tensor":
        """Mean of the elements (over ``dim`` if given)."""
        x = self._value()
        out = np.asarray(x.mean(axis=dim, keepdims=keepdim))
        count = x.size // max(out.size, 1) if x.size else 0

        def backward(g):
            if dim is not None and not keepdim:
                g = np.expand_dims(g, dim)
            return ((self, np.broadcast_to(g / count, x.shape)),)

        return _result(out, "MeanBackward0", (self,), backward)

    def reshape(self, *shape) -> "Tensor":
        """The values in another shape (``view`` is the same here)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        x = self._value()
        out = x.reshape(shape)
        return _result(out, "ViewBackward0", (self,), lambda g: ((self, g.reshape(x.shape)),))

    view = reshape

    def flatten(self) -> "Tensor":
        """The values as a 1-D tensor."""
        return self.reshape(-1)

    def squeeze(self, dim: Optional[int] = None) -> "Tensor":
        """Drop dimensions of size 1 (only ``dim`` if given and of size 1)."""
        x = self._value()
        if dim is None:
            out = x.squeeze()
        else:
            out = x.squeeze(dim) if x.shape[dim] == 1 else x
        return _result(out, "SqueezeBackward0", (self,),
                       lambda g: ((self, g.reshape(x.shape)),))

    def unsqueeze(self, dim: int) -> "Tensor":
        """Insert a dimension of size 1 at ``dim``."""
        x = self._value()
        out = np.expand_dims(x, dim)
        return _result(out, "UnsqueezeBackward0", (self,),
                       lambda g: ((self, g.reshape(x.shape)),))

    def __getitem__(self, index) -> "Tensor":
        x = self._value()
        if isinstance(index, Tensor):
            index = index._value()
        out = np.asarray(x[index])

        def backward(g):
            full = np.zeros(x.shape, dtype=x.dtype)
            np.add.at(full, index, g)
            return ((self, full),)

        return _result(out, "IndexBackward0", (self,), backward)

    def to(self, dtype) -> "Tensor":
        """The values in another float dtype (a graph edge when self requires grad)."""
        dtype = _resolve_dtype(dtype)
        x = self._value()
        if x.dtype == dtype:
            return self
        return _result(x.astype(dtype), "ToCopyBackward0", (self,),
                       lambda g: ((self, g.astype(x.dtype)),))

    def float(self) -> "Tensor":
        """``to(float32)``."""
        return self.to(np.float32)

    def double(self) -> "Tensor":
        """``to(float64)``."""
        return self.to(np.float64)


_BINARY_GRADS = {
    "AddBackward0": lambda g, x, y: (g, g),
    "SubBackward0": lambda g, x, y: (g, -g),
    "MulBackward0": lambda g, x, y: (g * y, g * x),
    "DivBackward0": lambda g, x, y: (g / y, -g * x / (y * y)),
}


def _resolve_dtype(dtype) -> np.dtype:
    """A NumPy float dtype from a NumPy dtype, a name, or a torch dtype."""
    name = str(dtype).replace("torch.", "")
    aliases = {"float": "float32", "double": "float64", "float32": "float32",
               "float64": "float64"}
    if name in aliases:
        return np.dtype(aliases[name])
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
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
            data = data._value()
        arr = to_ndarray(data, "data")
        if arr.dtype not in _FLOATS:
            if requires_grad:
                raise TypeError(
                    "Only floating point (float32/float64) data can require gradients; "
                    f"got {arr.dtype}"
                )
        elif not (arr.flags.c_contiguous and arr.flags.writeable):
            arr = np.array(arr, order="C", copy=True)
        self._data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._grad_fn = None
        self._pending = None
        self._version = 0

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        p = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            p.grad = self.grad.copy()
        memo[id(self)] = p
        return p

    def __reduce__(self):
        # the gradient too, so a pickled model + optimizer resumes mid-step identically
        state = None if self.grad is None else (None, {"grad": self.grad})
        return (Parameter, (self._data, self.requires_grad), state)


def tensor(data: Any, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (``torch.tensor``)."""
    arr = np.array(to_ndarray(data, "data"), copy=True)
    if dtype is not None:
        arr = arr.astype(_resolve_dtype(dtype))
    return Tensor(arr, requires_grad=requires_grad)
