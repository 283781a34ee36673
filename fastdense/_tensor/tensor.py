"""The Tensor: a NumPy array with an optional autograd graph (``torch.Tensor``'s counterpart).

A :class:`Tensor` wraps a NumPy array of float32, float64, float16, an integer
dtype or bool and computes eagerly: what a tensor holds is what it held when
it was computed. This module holds the tensor itself (its data, gradient,
dtype and device, conversion, ``backward``) and the helpers every graph op is
built from (:func:`const`, :func:`result`, ...); the ops themselves, each
beside its backward formula, are in :mod:`fastdense._tensor.ops`, which
installs them as methods.
"""

from __future__ import annotations

import builtins
import math
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

import numpy as np

from .. import _dtypes as _dt
from .._validation import to_ndarray
from .device import CPU, check_device, to_dtype
from .grad_mode import grad_mode
from .graph import (
    DtypeError,
    Node,
    ShapeError,
    accumulate_leaf,
    refresh_view,
    run_backward,
    sync_view,
)
from .printing import tensor_text
from .size import Size, shape_of

__all__ = [
    "Tensor",
    "tensor",
    "const",
    "result",
    "float_array",
    "tensor_or_const",
    "operand",
    "unbroadcast",
    "check_leaf_inplace",
    "share_version",
    "refresh_view",
    "view_result",
    "VIEW_INPLACE",
    "FLOATS",
]

FLOATS = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16))


def float_array(x: Any) -> np.ndarray:
    """x as an ndarray; integer and bool data become the default float dtype (float32)."""
    if type(x) is np.ndarray and x.dtype in FLOATS:
        return x
    if isinstance(x, Tensor):
        x = x._data
    arr = to_ndarray(x, "tensor data")
    if arr.dtype not in FLOATS:
        arr = arr.astype(_dt.DEFAULT[2])
    return arr


def tensor_or_const(x: Any, dtype=None) -> "Tensor":
    """A Tensor for x: x itself if it is one, else a constant (no grad) wrapping its array."""
    if isinstance(x, Tensor):
        return x
    arr = float_array(x) if dtype is None else np.asarray(to_ndarray(x, "operand"), dtype=dtype)
    return const(arr)


# the gradient of a 0-d root, read-only (shared by every backward() of a loss; a node
# never writes into the gradient it receives)
_ONES = {np.dtype(d): np.ones((), dtype=d) for d in (np.float32, np.float64, np.float16)}
for _one in _ONES.values():
    _one.flags.writeable = False


def const(arr: np.ndarray) -> "Tensor":
    """A graph-less, grad-less tensor around an ndarray (no checks: the hot path)."""
    t = Tensor.__new__(Tensor)
    t._data = arr if type(arr) is np.ndarray else np.asarray(arr)  # (NumPy scalars from 0-d ops)
    t._grad = None
    t._gview = None
    t.requires_grad = False
    t._grad_fn = None
    t._vc = [0]
    t._viewof = None
    return t


def share_version(out: "Tensor", base: "Tensor", name: str = "", backward=None) -> "Tensor":
    """Make ``out`` a view of ``base``: one version counter for both (PyTorch's rule: an
    in-place change through either is a change of the other's values). ``name`` and
    ``backward`` are the view's node: when the values change in place after the view was
    taken, the view's history is derived again from its base's (:func:`refresh_view`).
    Returns ``out``."""
    out._vc = base._vc
    bv = base._viewof
    out._viewof = (base if bv is None else bv[0], base, base._vc[0], name, backward)
    return out


def view_result(data: np.ndarray, name: str, base: "Tensor", backward, always: bool = False):
    """The result of a view op on ``base``: a view (shared version counter, ``_base``) when
    ``always`` or when NumPy gave ``data`` as a view of base's values (``reshape``: a view
    when one exists, a copy otherwise, as in PyTorch); else a new tensor."""
    x = base._data
    out = result(data, name, (base,), backward, ())
    if always or data is x or (data.base is not None and (data.base is x or data.base is x.base)):
        share_version(out, base, name, backward)
    return out


def result(
    data: np.ndarray,
    name: str,
    inputs: Sequence["Tensor"],
    backward,
    saved: Optional[Sequence["Tensor"]] = None,
    saves_output: bool = False,
) -> "Tensor":
    """A new tensor; with a node when grad mode is on and any input requires grad.

    ``saved`` are the inputs whose values ``backward`` reads (default: all of
    them); modifying one in place before the backward pass then raises.
    ``saves_output``: ``backward`` reads the output's values too (PyTorch saves
    the result of these ops), so modifying the output in place raises as well.
    """
    out = const(data)
    if grad_mode.enabled:
        for t in inputs:
            if t.requires_grad:
                node = out._grad_fn = Node(name, inputs, backward, saved)
                if saves_output:
                    node.output = (out._vc, 0, data)
                out.requires_grad = True
                return out
    return out


def named(out: "Tensor", name: str) -> "Tensor":
    """``out`` with its last graph node renamed ``name``: what ``grad_fn`` prints for an op
    built from others (``mse_loss``: ``MseLossBackward0``, as PyTorch's one node)."""
    if out._grad_fn is not None:
        out._grad_fn.name = name
    return out


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched to reach g.shape."""
    if g.shape == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def operand(x: Any) -> Tuple[np.ndarray, int, Optional["Tensor"]]:
    """(array, promotion priority, tensor or None) of one operand of a binary op."""
    if isinstance(x, Tensor):
        d = x._data
        return d, (_dt.ZERO_DIM if d.ndim == 0 else _dt.DIM), x
    if isinstance(x, (bool, int, float, np.number, np.bool_)):
        dt = _dt.scalar_dtype(x)
        return np.asarray(x, dtype=dt), _dt.SCALAR, None
    arr = to_ndarray(x, "operand")  # ndarray, list, torch tensor: as a tensor would be
    return arr, (_dt.ZERO_DIM if arr.ndim == 0 else _dt.DIM), None


VIEW_INPLACE = (
    "an in-place operation on a view ({what}) while recording gradients is not supported "
    "by fastdense: PyTorch rewrites the history of the view's base (CopySlices), which "
    "fastdense's engine does not. Apply the operation out of place (v = v.op(...)), or to "
    "the base tensor itself, or under torch.no_grad() if no gradient should flow through it"
)


def check_leaf_inplace(t: "Tensor") -> None:
    """PyTorch's refusals of an in-place operation on ``t`` while grad mode is on: a leaf
    that requires grad, a view of one, a view taken under ``no_grad`` of a tensor that
    requires grad; and fastdense's: a view of a tensor that requires grad (PyTorch's
    CopySlices, which fastdense does not implement)."""
    if not grad_mode.enabled:
        return
    if t.requires_grad and t._grad_fn is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    view = t._viewof
    base = None if view is None else view[0]
    if base is not None and base.requires_grad:
        if not t.requires_grad:
            raise RuntimeError(
                "A view was created in no_grad mode and is being modified inplace with grad "
                "mode enabled. Given that this use case is ambiguous and error-prone, it is "
                "forbidden. You can clarify your code by moving both the view and the inplace "
                "either both inside the no_grad block (if you don't want the inplace to be "
                "tracked) or both outside (if you want the inplace to be tracked)."
            )
        if base._grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation."
            )
        node = t._grad_fn
        raise NotImplementedError(VIEW_INPLACE.format(what=f"output of {node and node.name}"))


CAT_NAME = {0: "Bool", 1: "Long", 2: "Float"}

# NumPy's operator ufuncs -> (the tensor's method, its reflected method)
_OPERATOR_UFUNCS = {
    "add": ("__add__", "__radd__"),
    "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"),
    "true_divide": ("__truediv__", "__rtruediv__"),
    "divide": ("__truediv__", "__rtruediv__"),
    "power": ("__pow__", "__rpow__"),
    "matmul": ("__matmul__", "__rmatmul__"),
    "equal": ("__eq__", "__eq__"),
    "not_equal": ("__ne__", "__ne__"),
    "less": ("__lt__", "__gt__"),
    "less_equal": ("__le__", "__ge__"),
    "greater": ("__gt__", "__lt__"),
    "greater_equal": ("__ge__", "__le__"),
    "bitwise_and": ("__and__", "__and__"),
    "bitwise_or": ("__or__", "__or__"),
    "bitwise_xor": ("__xor__", "__xor__"),
}


def check_memory_format(memory_format: Any) -> None:
    """Accept PyTorch's memory formats: they change strides only, which fastdense tensors do not
    expose (values and shapes are the same in every format); anything else is a TypeError."""
    if memory_format is not None and str(memory_format) not in (
        "torch.preserve_format",
        "torch.contiguous_format",
        "torch.channels_last",
        "torch.channels_last_3d",
    ):
        raise TypeError(f"memory_format must be a torch.memory_format; got {memory_format!r}")


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

    # _vc: the version counter, a one-element list shared by a tensor and its views (and
    # detach()); _viewof: None, or for a view (the tensor owning the values, the tensor it
    # was taken from, the version its node was made at, the node's name, its backward)
    __slots__ = (
        "_data",
        "_grad",
        "_gview",
        "requires_grad",
        "_grad_fn",
        "_vc",
        "_viewof",
        "__weakref__",
    )
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

    if TYPE_CHECKING:  # installed by fastdense._tensor.ops; declared here for type checkers

        def __add__(self, other: Any) -> "Tensor": ...
        def __radd__(self, other: Any) -> "Tensor": ...
        def __sub__(self, other: Any) -> "Tensor": ...
        def __rsub__(self, other: Any) -> "Tensor": ...
        def __mul__(self, other: Any) -> "Tensor": ...
        def __rmul__(self, other: Any) -> "Tensor": ...
        def __truediv__(self, other: Any) -> "Tensor": ...
        def __rtruediv__(self, other: Any) -> "Tensor": ...
        def __pow__(self, other: Any) -> "Tensor": ...
        def __rpow__(self, other: Any) -> "Tensor": ...
        def __matmul__(self, other: Any) -> "Tensor": ...
        def __rmatmul__(self, other: Any) -> "Tensor": ...
        def __neg__(self) -> "Tensor": ...
        def __abs__(self) -> "Tensor": ...
        def __invert__(self) -> "Tensor": ...
        def __lt__(self, other: Any) -> "Tensor": ...
        def __le__(self, other: Any) -> "Tensor": ...
        def __gt__(self, other: Any) -> "Tensor": ...
        def __ge__(self, other: Any) -> "Tensor": ...
        def __and__(self, other: Any) -> "Tensor": ...
        def __or__(self, other: Any) -> "Tensor": ...
        def __xor__(self, other: Any) -> "Tensor": ...
        def __getitem__(self, index: Any) -> "Tensor": ...
        def __eq__(self, other: object) -> "Tensor": ...  # type: ignore[override]
        def __ne__(self, other: object) -> "Tensor": ...  # type: ignore[override]
        def __setitem__(self, index: Any, value: Any) -> None: ...
        def __iadd__(self, other: Any) -> "Tensor": ...
        def __isub__(self, other: Any) -> "Tensor": ...
        def __imul__(self, other: Any) -> "Tensor": ...
        def __itruediv__(self, other: Any) -> "Tensor": ...

    def __init__(self, data: Any, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data._data
        self._data = float_array(data) if requires_grad else to_ndarray(data, "data")
        self._grad: Optional[np.ndarray] = None
        self._gview: Optional[Tensor] = None
        self.requires_grad = bool(requires_grad)
        self._grad_fn: Optional[Node] = None
        self._vc = [0]
        self._viewof: Optional[tuple] = None

    @property
    def _version(self) -> "builtins.int":
        """How many times the values were changed in place (shared with every view)."""
        return self._vc[0]

    @property
    def _base(self) -> Optional["Tensor"]:
        """The tensor whose values this view shows; None when the tensor is not a view."""
        v = self._viewof
        return None if v is None else v[0]

    def _is_view(self) -> "builtins.bool":
        """Whether this tensor is a view of another (``_base`` is not None)."""
        return self._viewof is not None

    def __getstate__(self):
        # (None, slots), as pickle and copy expect of a __slots__ class. A view's link to
        # its base holds the view's backward (a closure): a view is pickled and copied as
        # a tensor of its own values (the counter shared within one pickle or deepcopy).
        return (
            None,
            {
                "_data": self._data,
                "_grad": self._grad,
                "requires_grad": self.requires_grad,
                "_grad_fn": self._grad_fn,
                "_vc": self._vc,
            },
        )

    def __setstate__(self, state) -> None:
        # pickles made before version counters were shared hold "_version", an int
        slots = state[1] if isinstance(state, tuple) else state
        for k, v in (slots or {}).items():
            if k == "_version":
                k, v = "_vc", [v]
            if k != "_viewof":
                object.__setattr__(self, k, v)
        for k, default in (("_grad", None), ("_gview", None), ("_grad_fn", None)):
            if not hasattr(self, k):
                object.__setattr__(self, k, default)
        if not hasattr(self, "_vc"):
            self._vc = [0]
        self._viewof = None

    # -- the data ------------------------------------------------------------
    def _value(self) -> np.ndarray:
        return self._data

    @property
    def data(self) -> "Tensor":
        """The values as a tensor outside the graph, sharing memory (``p.data -= ...`` works)."""
        return const(self._data)

    @data.setter
    def data(self, value: Any) -> None:
        if isinstance(value, Tensor):
            value = value._data
        arr = to_ndarray(value, "data")
        if self.requires_grad and arr.dtype not in FLOATS:
            raise DtypeError(
                f"data of a tensor that requires grad must be float32 or float64; got {arr.dtype}"
            )
        self._data = arr
        self._vc[0] += 1

    @property
    def grad(self) -> Optional["Tensor"]:
        """The accumulated gradient as a tensor (None until a backward pass reaches it)."""
        g = self._grad
        if g is None:
            return None
        v = self._gview
        if v is None or v._data is not g:
            v = self._gview = const(g)
        return v

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = self._gview = None
            return
        arr = value._data if isinstance(value, Tensor) else to_ndarray(value, "grad")
        if arr.shape != self._data.shape:
            raise ShapeError(
                f"assigned grad has data of a different size: {arr.shape} for a "
                f"tensor of shape {self._data.shape}"
            )
        if arr.dtype != self._data.dtype:
            raise DtypeError(
                f"assigned grad has data of a different type: {arr.dtype} for a "
                f"tensor of {self._data.dtype}"
            )
        self._grad = arr
        self._gview = value if isinstance(value, Tensor) else None

    @property
    def grad_fn(self) -> Optional[Node]:
        """The node that produced this tensor; None for leaves and graph-less tensors."""
        sync_view(self)
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        """True when the tensor was not produced by a recorded operation."""
        return self._grad_fn is None

    @property
    def shape(self) -> Size:
        """The shape, a :class:`~fastdense._tensor.size.Size` (``torch.Size``)."""
        return shape_of(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (``fastdense.torch.float32`` is ``np.dtype("float32")``)."""
        return self._data.dtype

    @property
    def device(self):
        """Always the CPU."""
        return CPU

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
        """The shape (a ``torch.Size``), or its length along ``dim``."""
        return shape_of(self._data.shape) if dim is None else self._data.shape[dim]

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
            raise RuntimeError(f"a Tensor with {arr.size} elements cannot be converted to Scalar")
        return arr.reshape(-1)[0].item()

    def __bool__(self) -> bool:
        arr = self._data
        if arr.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(arr.reshape(-1)[0])

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __format__(self, spec: str) -> str:
        # f"{loss:.5f}" on a one-element tensor formats its value, as in PyTorch
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    if TYPE_CHECKING:
        # for type checkers only: most methods are attached by the op tables
        # (fastdense._tensor.ops.install). Not defined at run time: a class
        # with __getattr__ loses CPython's fast attribute access.
        def __getattr__(self, name: str) -> Any: ...

    def detach(self) -> "Tensor":
        """A tensor sharing the values and their version counter (an in-place change of
        either is seen by autograd through both), without a graph and not requiring grad."""
        t = const(self._data)
        t._vc = self._vc
        return t

    def clone(self, memory_format: Any = None) -> "Tensor":
        """A copy of the values (with a graph edge when self requires grad)."""
        return result(self._data.copy(), "CloneBackward0", (self,), lambda g: ((self, g),))

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (leaves only, as in PyTorch); returns self."""
        if not requires_grad and self._grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables.")
        if requires_grad and self.dtype not in FLOATS:
            raise DtypeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self) -> str:
        # PyTorch's text (fastdense._tensor.printing): what a script prints is what it printed
        fn = self._grad_fn
        return tensor_text(self._data, None if fn is None else fn.name, self.requires_grad)

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
        sync_view(self)
        if self._grad_fn is None and not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a "
                "grad_fn: this tensor has no autograd graph (was it computed under "
                "fastdense.no_grad(), from inputs that do not require grad, or "
                "detached?)"
            )
        shape, dtype = self._data.shape, self._data.dtype
        if gradient is None:
            if math.prod(shape) != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            g = _ONES.get(dtype) if not shape else None  # (a loss: the usual root)
            if g is None:
                g = np.ones(shape, dtype=dtype)
        else:
            if isinstance(gradient, Tensor):
                gradient = gradient._data
            g = np.asarray(to_ndarray(gradient, "gradient"), dtype=dtype)
            if g.shape != shape:
                raise ShapeError(
                    f"Mismatch in shape: grad_output has a shape of {g.shape} and "
                    f"output has a shape of {self.shape}."
                )
        if self._grad_fn is None:  # a leaf that requires grad
            accumulate_leaf(self, g)
            return
        run_backward(self, g, retain_graph)

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
        dtype = to_dtype(positional, kwargs)  # (unknown keywords raise here first)
        check_memory_format(memory_format)
        return self._cast(self._data.dtype if dtype is None else _dt.resolve(dtype), copy)

    def _cast(self, dtype: np.dtype, copy: bool = False) -> "Tensor":
        x = self._data
        if x.dtype == dtype and not copy:
            return self
        return result(
            x.astype(dtype), "ToCopyBackward0", (self,), lambda g: ((self, g.astype(x.dtype)),)
        )

    def type(self, dtype=None, non_blocking: bool = False):
        """The legacy type's name (``"torch.FloatTensor"``), or this tensor in ``dtype``: a
        dtype, a legacy tensor class (``torch.LongTensor``) or its name. ``self`` if it
        already has that dtype."""
        if dtype is None:
            return f"torch.{_dt.TENSOR_TYPE_NAMES.get(self.dtype, 'Float')}Tensor"
        legacy = getattr(dtype, "_dtype", None)  # torch.FloatTensor and the other classes
        return self._cast(legacy if isinstance(legacy, np.dtype) else _dt.resolve(dtype))

    def float(self, memory_format=None) -> "Tensor":
        """``to(float32)``."""
        return self._cast(_dt.float32)

    def double(self, memory_format=None) -> "Tensor":
        """``to(float64)``."""
        return self._cast(_dt.float64)

    def long(self, memory_format=None) -> "Tensor":
        """``to(int64)`` (truncating toward zero)."""
        return self._cast(_dt.int64)

    def int(self, memory_format=None) -> "Tensor":
        """``to(int32)``."""
        return self._cast(np.dtype(np.int32))

    def bool(self, memory_format=None) -> "Tensor":
        """``to(bool)``."""
        return self._cast(_dt.bool_)

    def half(self, memory_format=None) -> "Tensor":
        """``to(float16)``."""
        return self._cast(np.dtype(np.float16))

    def short(self, memory_format=None) -> "Tensor":
        """``to(int16)``."""
        return self._cast(np.dtype(np.int16))

    def char(self, memory_format=None) -> "Tensor":
        """``to(int8)``."""
        return self._cast(np.dtype(np.int8))

    def byte(self, memory_format=None) -> "Tensor":
        """``to(uint8)``."""
        return self._cast(np.dtype(np.uint8))

    def bfloat16(self, memory_format=None) -> "Tensor":
        """Raises: fastdense has no bfloat16 arithmetic (see :func:`fastdense._dtypes.resolve`)."""
        return self._cast(_dt.resolve("bfloat16"))

    def type_as(self, other: "Tensor") -> "Tensor":
        """``to(other.dtype)``."""
        return self._cast(other.dtype)

    def element_size(self) -> "builtins.int":
        """Bytes per element."""
        return self._data.itemsize

    def is_contiguous(self, memory_format=None) -> "builtins.bool":
        """True: a fastdense tensor is dense (a non-contiguous view reports False)."""
        return builtins.bool(self._data.flags.c_contiguous)

    @property
    def is_sparse(self) -> "builtins.bool":
        """False: fastdense tensors are dense."""
        return False

    @property
    def layout(self) -> str:
        """``torch.strided``, the only layout."""
        return "torch.strided"

    def is_complex(self) -> "builtins.bool":
        """False: fastdense tensors are real."""
        return False

    def get_device(self) -> "builtins.int":
        """-1, the CPU."""
        return -1

    def detach_(self) -> "Tensor":
        """Detach in place: no graph, no grad requirement."""
        self._grad_fn = None
        self.requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Raises for a non-leaf: fastdense keeps gradients of leaves only."""
        if self._grad_fn is not None:
            raise NotImplementedError(
                "Tensor.retain_grad() on a non-leaf tensor is not "
                "implemented by fastdense (gradients reach leaves only)"
            )

    def cpu(self) -> "Tensor":
        """Self (fastdense runs on the CPU)."""
        return self

    def cuda(self, *args, **kwargs) -> "Tensor":
        """Raises: fastdense runs on the CPU only."""
        check_device("cuda")
        return self  # pragma: no cover

    def contiguous(self, memory_format=None) -> "Tensor":
        """A C-contiguous tensor with the same values (``memory_format`` as in ``to``)."""
        check_memory_format(memory_format)
        if self._data.flags.c_contiguous:
            return self
        x = self._data
        return result(np.ascontiguousarray(x), "CloneBackward0", (self,), lambda g: ((self, g),))

    def is_floating_point(self) -> "builtins.bool":
        """Whether the dtype is float32 or float64."""
        return self._data.dtype.kind == "f"


def tensor(
    data: Any, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False
) -> Tensor:
    """A new tensor holding a copy of ``data`` (``torch.tensor``).

    Python floats give the default float dtype (float32 unless
    ``set_default_dtype`` changed it), Python ints int64, bools bool
    (PyTorch's defaults); NumPy arrays and torch tensors keep their dtype.
    """
    if device is not None:
        check_device(device)
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, (np.ndarray, np.generic)) or hasattr(data, "detach"):
        arr = np.array(to_ndarray(data, "data"), copy=True)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d._data if isinstance(d, Tensor) else d for d in data]
        arr = np.array(to_ndarray(data, "data"), copy=True)
        if arr.dtype.kind == "f":
            arr = arr.astype(_dt.DEFAULT[2])
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    if dtype is not None:
        arr = arr.astype(_dt.resolve(dtype))
    t = Tensor(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t
