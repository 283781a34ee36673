"""Every graph-recording op beside its backward formula, in tables where ops share a shape.

Forward on NumPy (and the compiled activation kernels where they exist),
backward by formula. The families:

- binary element-wise ops with broadcasting and PyTorch's type promotion
  (:data:`BINARY`: forward, the two partial gradients, the saved operands);
- unary element-wise ops (:data:`UNARY`: forward, gradient, output kind);
- reductions with ``dim``/``keepdim`` (sum, mean, prod, amax, var, norm, ...);
- data movement (shape ops, indexing, gathers and scatters): one rule for all
  of them, :func:`movement` — the op runs on an array of *positions*, so its
  output says where every value came from, and the backward pass sums the
  gradient back to those positions; ops need no backward of their own;
- comparisons and logical ops (bool results, no graph);
- in-place forms ``x.op_()`` and ``out=``, from the out-of-place op: a
  tensor in a graph is updated and takes the new node, its saved inputs get
  a new version (so a node that saved the old values refuses to run).

:func:`install` puts them on :class:`~fastdense._tensor.tensor.Tensor`.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .. import _dtypes as _dt
from .. import _kernels
from .._validation import to_ndarray
from .grad_mode import grad_mode
from .graph import ShapeError
from .size import shape_of
from .tensor import (
    CAT_NAME,
    VIEW_INPLACE,
    Tensor,
    check_leaf_inplace,
    const,
    named,
    operand,
    result,
    tensor_or_const,
    unbroadcast,
    view_result,
)

__all__ = [
    "kernel_activation",
    "select_backward",
    "maximum",
    "minimum",
    "matmul",
    "movement",
    "softmax",
    "log_softmax",
    "install",
    "BINARY",
    "UNARY",
]


# ------------------------------------------------------------------ helpers


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else const(to_ndarray(x, "input"))


def _axis(dim: Any, ndim: int) -> int:
    n = builtins.max(ndim, 1)
    if not -n <= int(dim) < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return int(dim) % n


def _dims(dim: Any, ndim: int) -> Optional[tuple]:
    """None (all), or the normalised tuple of reduced axes ([] and () mean all, as PyTorch)."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        return tuple(sorted(_axis(d, ndim) for d in dim)) if ndim else None
    return (_axis(dim, ndim),) if ndim else None


def _expand_back(g: np.ndarray, axes: Optional[tuple], keepdim: bool, shape: tuple) -> np.ndarray:
    """g of a reduction over `axes`, put back in the input's shape by broadcasting."""
    if axes is not None and not keepdim:
        g = np.expand_dims(g, axes)
    elif axes is None and not keepdim:
        g = np.reshape(g, (1,) * len(shape))
    return np.broadcast_to(g, shape)


def _float_of(x: np.ndarray) -> np.ndarray:
    return x if x.dtype.kind == "f" else x.astype(_dt.DEFAULT[2])


def _real(t: Tensor) -> Tensor:
    """A float tensor for ops that compute in floats (integers promote to the default float)."""
    return t if t._data.dtype.kind == "f" else t._cast(_dt.DEFAULT[2])


# ------------------------------------------------------------------ binary ops


def _ge_half(x, y):  # maximum's split of the gradient: all to the larger, half each on ties
    return np.where(x == y, 0.5, (x > y).astype(np.float64))


# name: (node name, forward(x, y), grads(g, x, y, out) or None, result kind, saved operands)
# saved operands (what the backward reads, as PyTorch saves them): "" none, "x"/"y"/"xy";
# "mul": x when y requires grad and y when x does; "div": y, and x when y requires grad
# result kind: "same" promoted dtype, "float" integers compute in the default float,
# "bool" a comparison or logical op, "int" integer/bool operands only
BINARY: Dict[str, Tuple[str, Callable, Optional[Callable], str, str]] = {
    "add": ("AddBackward0", np.add, lambda g, x, y, o: (g, g), "same", ""),
    "sub": ("SubBackward0", np.subtract, lambda g, x, y, o: (g, -g), "same", ""),
    "mul": ("MulBackward0", np.multiply, lambda g, x, y, o: (g * y, g * x), "same", "mul"),
    "div": (
        "DivBackward0",
        np.true_divide,
        lambda g, x, y, o: (g / y, -g * x / (y * y)),
        "float",
        "div",
    ),
    "pow": (
        "PowBackward0",
        np.power,
        lambda g, x, y, o: (
            g * np.where(y == 0, 0, y * np.power(x, y - 1)),
            g * np.where((x == 0) & (y >= 0), 0, o * np.log(x)),
        ),
        "same",
        "xy",
    ),
    "float_power": (
        "PowBackward1",
        np.power,
        lambda g, x, y, o: (
            g * np.where(y == 0, 0, y * np.power(x, y - 1)),
            g * np.where((x == 0) & (y >= 0), 0, o * np.log(x)),
        ),
        "float64",
        "xy",
    ),
    "atan2": (
        "Atan2Backward0",
        np.arctan2,
        lambda g, x, y, o: (g * y / (x * x + y * y), -g * x / (x * x + y * y)),
        "float",
        "xy",
    ),
    "hypot": ("HypotBackward0", np.hypot, lambda g, x, y, o: (g * x / o, g * y / o), "float", "xy"),
    "copysign": (
        "CopysignBackward0",
        np.copysign,
        lambda g, x, y, o: (g * np.where(x == 0, 0, o / np.where(x == 0, 1, x)), g * 0),
        "float",
        "xy",
    ),
    "fmod": ("FmodBackward0", np.fmod, lambda g, x, y, o: (g, -g * np.trunc(x / y)), "same", "xy"),
    "remainder": (
        "RemainderBackward0",
        np.remainder,
        lambda g, x, y, o: (g, -g * np.floor(x / y)),
        "same",
        "xy",
    ),
    "floor_divide": ("FloorDivideBackward0", np.floor_divide, None, "same", ""),
    "maximum": (
        "MaximumBackward0",
        np.maximum,
        lambda g, x, y, o: (g * _ge_half(x, y), g * _ge_half(y, x)),
        "same",
        "xy",
    ),
    "minimum": (
        "MinimumBackward0",
        np.minimum,
        lambda g, x, y, o: (g * _ge_half(y, x), g * _ge_half(x, y)),
        "same",
        "xy",
    ),
    "fmax": (
        "FmaxBackward0",
        np.fmax,
        lambda g, x, y, o: (g * ((x >= y) | np.isnan(y)), g * ~((x >= y) | np.isnan(y))),
        "same",
        "xy",
    ),
    "fmin": (
        "FminBackward0",
        np.fmin,
        lambda g, x, y, o: (g * ((x <= y) | np.isnan(y)), g * ~((x <= y) | np.isnan(y))),
        "same",
        "xy",
    ),
    "logaddexp": (
        "LogaddexpBackward0",
        np.logaddexp,
        lambda g, x, y, o: (g * np.exp(x - o), g * np.exp(y - o)),
        "float",
        "xy",
    ),
    "logaddexp2": (
        "Logaddexp2Backward0",
        np.logaddexp2,
        lambda g, x, y, o: (g * np.exp2(x - o), g * np.exp2(y - o)),
        "float",
        "xy",
    ),
    "xlogy": (
        "XlogyBackward0",
        lambda x, y: np.where((x == 0) & ~np.isnan(y), 0, x * np.log(y)),
        lambda g, x, y, o: (g * np.where((x == 0) & ~np.isnan(y), 0, np.log(y)), g * x / y),
        "float",
        "xy",
    ),
    "ldexp": (
        "LdexpBackward0",
        lambda x, y: x * np.exp2(y),
        lambda g, x, y, o: (g * np.exp2(y), g * o * math.log(2)),
        "float",
        "xy",
    ),
    "nextafter": ("NextafterBackward0", np.nextafter, lambda g, x, y, o: (g, g * 0), "float", ""),
    "heaviside": ("HeavisideBackward0", np.heaviside, None, "same", ""),
    "eq": ("", np.equal, None, "bool", ""),
    "ne": ("", np.not_equal, None, "bool", ""),
    "lt": ("", np.less, None, "bool", ""),
    "le": ("", np.less_equal, None, "bool", ""),
    "gt": ("", np.greater, None, "bool", ""),
    "ge": ("", np.greater_equal, None, "bool", ""),
    "logical_and": ("", lambda x, y: np.logical_and(x != 0, y != 0), None, "logical", ""),
    "logical_or": ("", lambda x, y: np.logical_or(x != 0, y != 0), None, "logical", ""),
    "logical_xor": ("", lambda x, y: np.logical_xor(x != 0, y != 0), None, "logical", ""),
    "bitwise_and": ("", np.bitwise_and, None, "int", ""),
    "bitwise_or": ("", np.bitwise_or, None, "int", ""),
    "bitwise_xor": ("", np.bitwise_xor, None, "int", ""),
    "bitwise_left_shift": ("", np.left_shift, None, "int", ""),
    "bitwise_right_shift": ("", np.right_shift, None, "int", ""),
    "gcd": ("", np.gcd, None, "int", ""),
    "lcm": ("", np.lcm, None, "int", ""),
}
BINARY["true_divide"] = BINARY["div"]
BINARY["multiply"], BINARY["subtract"], BINARY["divide"] = (
    BINARY["mul"],
    BINARY["sub"],
    BINARY["div"],
)
BINARY["greater"], BINARY["less"], BINARY["greater_equal"], BINARY["less_equal"] = (
    BINARY["gt"],
    BINARY["lt"],
    BINARY["ge"],
    BINARY["le"],
)
BINARY["not_equal"] = BINARY["ne"]
BINARY["clamp_min"], BINARY["clamp_max"] = BINARY["maximum"], BINARY["minimum"]


def binary(a: Any, b: Any, name: str, reverse: bool = False) -> Tensor:
    """``a (op) b`` for a BINARY op, with broadcasting, PyTorch's promotion and a graph edge."""
    node, fwd, grads, kind, saved = BINARY[name]
    self = a if isinstance(a, Tensor) else _t(a)
    x = self._data
    xdt = x.dtype
    # the operand: a tensor, a Python number (kept as one: NumPy then keeps the tensor's
    # float dtype, as PyTorch's promotion does), or anything array-like
    y: Any
    if isinstance(b, Tensor):
        y, ot = b._data, b
        py = _dt.ZERO_DIM if y.ndim == 0 else _dt.DIM
        ydt = y.dtype
    elif (type(b) is float or type(b) is int) and xdt.kind == "f":
        y, ot, py, ydt = b, None, _dt.SCALAR, None
    else:
        y, py, ot = operand(b)
        ydt = y.dtype
    if ydt is None or (ydt == xdt and (x.ndim or not py)):
        dt = xdt  # the common case: no promotion to work out
    else:
        dt = _dt.promote(((xdt, _dt.ZERO_DIM if x.ndim == 0 else _dt.DIM), (ydt, py)))
    if name == "sub" and (xdt == np.bool_ or (ydt == np.bool_ and ot is not None)):
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not "
            "supported. If you are trying to invert a mask, use the `~` or "
            "`logical_not()` operator instead."
        )
    if kind == "float" and dt.kind != "f":
        dt = _dt.DEFAULT[2]
    elif kind == "float64":
        dt = _dt.float64
    elif kind == "int" and dt.kind == "f":
        raise RuntimeError(f"\"{name}_cpu\" not implemented for '{CAT_NAME[2]}'")
    if name == "pow" and dt.kind in "iu" and (np.asarray(y) < 0).any() and not reverse:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    xa = x if xdt == dt else x.astype(dt)
    ya = y if ydt is None or ydt == dt else y.astype(dt)
    if reverse:
        xa, ya, x, y = ya, xa, y, x
    with np.errstate(all="ignore"):
        out = np.asarray(fwd(xa, ya))
    if kind in ("bool", "logical"):
        return const(out.astype(np.bool_, copy=False))
    if out.dtype != dt:
        out = out.astype(dt)
    a_t, b_t = (ot, self) if reverse else (self, ot)
    if (
        grads is None
        or dt.kind != "f"
        or not grad_mode.enabled
        or not (self.requires_grad or (ot is not None and ot.requires_grad))
    ):
        return const(out)
    ins: Tuple[Tensor, ...] = (self,) if ot is None else (self, ot) if not reverse else (ot, self)

    def backward(g):
        with np.errstate(all="ignore"):
            ga, gb = grads(g, xa, ya, out)
        res = []
        if a_t is not None and a_t.requires_grad:
            res.append(
                (
                    a_t,
                    unbroadcast(np.asarray(ga), a_t._data.shape).astype(
                        a_t._data.dtype, copy=False
                    ),
                )
            )
        if b_t is not None and b_t.requires_grad:
            res.append(
                (
                    b_t,
                    unbroadcast(np.asarray(gb), b_t._data.shape).astype(
                        b_t._data.dtype, copy=False
                    ),
                )
            )
        return res

    if not saved:
        keep: tuple = ()
    elif saved == "xy":
        keep = ins
    elif saved == "mul" or saved == "div":
        a_g = a_t is not None and a_t.requires_grad
        b_g = b_t is not None and b_t.requires_grad
        keep = tuple(
            t for t, s in ((a_t, b_g), (b_t, a_g or saved == "div")) if t is not None and s
        )
    else:
        keep = tuple(t for t, s in ((a_t, "x"), (b_t, "y")) if t is not None and s in saved)
    return result(out, node, ins, backward, keep)


def select_backward(a: Tensor, b: Tensor, mask: np.ndarray) -> Callable:
    """The backward of a result that is `a` where `mask` holds and `b` elsewhere (broadcast)."""

    def backward(g):
        res = []
        for t, m in ((a, mask), (b, ~mask)):
            if t.requires_grad:
                res.append((t, unbroadcast(g * m, t._data.shape).astype(t._data.dtype, copy=False)))
        return res

    return backward


def maximum(a: Any, b: Any) -> Tensor:
    """Element-wise maximum (NaN propagates; ties split the gradient, as PyTorch)."""
    return binary(a, b, "maximum")


def minimum(a: Any, b: Any) -> Tensor:
    """Element-wise minimum."""
    return binary(a, b, "minimum")


# ------------------------------------------------------------------- unary ops


def _sp():
    import scipy.special as sp  # (SciPy is a dependency; imported on first use)

    return sp


_LN2, _LN10 = math.log(2.0), math.log(10.0)

# name: (node name, forward(x), grad(g, x, out) or None, result kind)
# result kind: "float" integers compute in the default float; "keep" the input's dtype;
# "bool" a test (no graph)
UNARY: Dict[str, Tuple[str, Callable, Optional[Callable], str]] = {
    "exp": ("ExpBackward0", np.exp, lambda g, x, o: g * o, "float"),
    "exp2": ("Exp2Backward0", np.exp2, lambda g, x, o: g * o * _LN2, "float"),
    "expm1": ("Expm1Backward0", np.expm1, lambda g, x, o: g * (o + 1), "float"),
    "log": ("LogBackward0", np.log, lambda g, x, o: g / x, "float"),
    "log2": ("Log2Backward0", np.log2, lambda g, x, o: g / (x * _LN2), "float"),
    "log10": ("Log10Backward0", np.log10, lambda g, x, o: g / (x * _LN10), "float"),
    "log1p": ("Log1PBackward0", np.log1p, lambda g, x, o: g / (1 + x), "float"),
    "sqrt": ("SqrtBackward0", np.sqrt, lambda g, x, o: g / (2 * o), "float"),
    "rsqrt": (
        "RsqrtBackward0",
        lambda x: 1 / np.sqrt(x),
        lambda g, x, o: -0.5 * g * o * o * o,
        "float",
    ),
    "sin": ("SinBackward0", np.sin, lambda g, x, o: g * np.cos(x), "float"),
    "cos": ("CosBackward0", np.cos, lambda g, x, o: -g * np.sin(x), "float"),
    "tan": ("TanBackward0", np.tan, lambda g, x, o: g * (1 + o * o), "float"),
    "asin": ("AsinBackward0", np.arcsin, lambda g, x, o: g / np.sqrt(1 - x * x), "float"),
    "acos": ("AcosBackward0", np.arccos, lambda g, x, o: -g / np.sqrt(1 - x * x), "float"),
    "atan": ("AtanBackward0", np.arctan, lambda g, x, o: g / (1 + x * x), "float"),
    "sinh": ("SinhBackward0", np.sinh, lambda g, x, o: g * np.cosh(x), "float"),
    "cosh": ("CoshBackward0", np.cosh, lambda g, x, o: g * np.sinh(x), "float"),
    "asinh": ("AsinhBackward0", np.arcsinh, lambda g, x, o: g / np.sqrt(x * x + 1), "float"),
    "acosh": (
        "AcoshBackward0",
        np.arccosh,
        lambda g, x, o: g / (np.sqrt(x - 1) * np.sqrt(x + 1)),
        "float",
    ),
    "atanh": ("AtanhBackward0", np.arctanh, lambda g, x, o: g / (1 - x * x), "float"),
    "reciprocal": ("ReciprocalBackward0", lambda x: 1 / x, lambda g, x, o: -g * o * o, "float"),
    "sinc": (
        "SincBackward0",
        np.sinc,
        lambda g, x, o: (
            g * np.where(x == 0, 0, (np.cos(np.pi * x) - np.sinc(x)) / np.where(x == 0, 1, x))
        ),
        "float",
    ),
    "deg2rad": ("Deg2RadBackward0", np.deg2rad, lambda g, x, o: g * (np.pi / 180), "float"),
    "rad2deg": ("Rad2DegBackward0", np.rad2deg, lambda g, x, o: g * (180 / np.pi), "float"),
    "erf": (
        "ErfBackward0",
        lambda x: _sp().erf(x),
        lambda g, x, o: g * (2 / math.sqrt(math.pi)) * np.exp(-x * x),
        "float",
    ),
    "erfc": (
        "ErfcBackward0",
        lambda x: _sp().erfc(x),
        lambda g, x, o: -g * (2 / math.sqrt(math.pi)) * np.exp(-x * x),
        "float",
    ),
    "erfinv": (
        "ErfinvBackward0",
        lambda x: _sp().erfinv(x),
        lambda g, x, o: g * (math.sqrt(math.pi) / 2) * np.exp(_sp().erfinv(x) ** 2),
        "float",
    ),
    "lgamma": (
        "LgammaBackward0",
        lambda x: _sp().gammaln(x),
        lambda g, x, o: g * _sp().digamma(x),
        "float",
    ),
    "digamma": (
        "DigammaBackward0",
        lambda x: _sp().digamma(x),
        lambda g, x, o: g * _sp().polygamma(1, x),
        "float",
    ),
    "i0": ("I0Backward0", lambda x: _sp().i0(x), lambda g, x, o: g * _sp().i1(x), "float"),
    "sigmoid": (
        "SigmoidBackward0",
        lambda x: _sp().expit(x),
        lambda g, x, o: g * o * (1 - o),
        "float",
    ),
    "abs": ("AbsBackward0", np.abs, lambda g, x, o: g * np.nan_to_num(np.sign(x), nan=0.0), "keep"),
    "neg": ("NegBackward0", np.negative, lambda g, x, o: -g, "keep"),
    "sign": ("SignBackward0", np.sign, lambda g, x, o: g * 0, "keep"),
    "floor": ("FloorBackward0", np.floor, lambda g, x, o: g * 0, "keep"),
    "ceil": ("CeilBackward0", np.ceil, lambda g, x, o: g * 0, "keep"),
    "trunc": ("TruncBackward0", np.trunc, lambda g, x, o: g * 0, "keep"),
    "frac": ("FracBackward0", lambda x: x - np.trunc(x), lambda g, x, o: g, "keep"),
    "square": ("PowBackward0", np.square, lambda g, x, o: 2 * g * x, "keep"),
    "positive": ("AliasBackward0", lambda x: x.copy(), lambda g, x, o: g, "keep"),
    "isnan": ("", np.isnan, None, "bool"),
    "isinf": ("", np.isinf, None, "bool"),
    "isfinite": ("", np.isfinite, None, "bool"),
    "isposinf": ("", np.isposinf, None, "bool"),
    "isneginf": ("", np.isneginf, None, "bool"),
    "signbit": ("", np.signbit, None, "bool"),
    "logical_not": ("", lambda x: x == 0, None, "bool"),
}
UNARY["arcsin"], UNARY["arccos"], UNARY["arctan"] = UNARY["asin"], UNARY["acos"], UNARY["atan"]
UNARY["arcsinh"], UNARY["arccosh"], UNARY["arctanh"] = (
    UNARY["asinh"],
    UNARY["acosh"],
    UNARY["atanh"],
)
UNARY["negative"], UNARY["fix"] = UNARY["neg"], UNARY["trunc"]
UNARY["special_erf"] = UNARY["erf"]


# the ops whose gradient reads their output (PyTorch saves their result): modifying that
# output in place before the backward pass raises. (The others read only their input.)
_SAVES_RESULT = frozenset(["exp", "exp2", "expm1", "sqrt", "rsqrt", "tan", "reciprocal", "sigmoid"])


def unary(a: Any, name: str) -> Tensor:
    """A UNARY op on a tensor, with its graph edge."""
    node, fwd, grad, kind = UNARY[name]
    self = _t(a)
    x = self._data
    if kind == "float" and x.dtype.kind != "f":
        x = x.astype(_dt.DEFAULT[2])
    elif kind == "keep" and x.dtype == np.bool_ and name in ("neg", "abs", "sign", "square"):
        if name == "neg":
            raise RuntimeError(
                "Negation, the `-` operator, on a bool tensor is not supported. "
                "If you are trying to invert a mask, use the `~` or "
                "`logical_not()` operator instead."
            )
        x = x.astype(np.int64) if name == "square" else x
    if kind == "keep" and x.dtype.kind in "iub" and name in ("floor", "ceil", "trunc"):
        return result(x.copy(), node, (self,), lambda g: ((self, g * 0),), ())
    with np.errstate(all="ignore"):
        out = np.asarray(fwd(x))
    if kind == "bool":
        return const(out.astype(np.bool_, copy=False))
    if out.dtype != x.dtype:
        out = out.astype(x.dtype)
    if grad is None or out.dtype.kind != "f":
        return const(out)

    def backward(g):
        with np.errstate(all="ignore"):
            return ((self, np.asarray(grad(g, x, out)).astype(x.dtype, copy=False)),)

    return result(out, node, (self,), backward, saves_output=name in _SAVES_RESULT)


def kernel_activation(input: Any, code: int, slope: float, name: str) -> Tensor:
    """An activation by the compiled kernel, forward and backward (float32/float64)."""
    x = tensor_or_const(input)
    xd = x._data
    if xd.dtype not in (np.float32, np.float64):
        xd = xd.astype(np.float32)
    # (np.ascontiguousarray would turn a 0-d input into shape (1,))
    src = xd if xd.flags.c_contiguous else np.ascontiguousarray(xd)
    out = np.empty(xd.shape, dtype=src.dtype)
    _kernels.activation_forward(src.reshape(-1), out.reshape(-1), code, slope)

    # The kernels take g' from the output. LeakyReLU's (slope >= 0) follows from the sign of
    # the input as well, which PyTorch saves instead of the result: it reads the input.
    leaky = code == _kernels.ACTIVATIONS["leaky_relu"]
    fprime = src if leaky else out

    def backward(g):
        g = np.ascontiguousarray(g, dtype=out.dtype)
        dz = np.empty(out.shape, dtype=out.dtype)
        _kernels.activation_backward(g.reshape(-1), fprime.reshape(-1), dz.reshape(-1), code, slope)
        return ((x, dz),)

    return result(out, name, (x,), backward, saves_output=not leaky)


# ------------------------------------------------------------------ data movement


def movement(tensors: Sequence[Any], f: Callable, name: str, dtype: Any = None) -> Any:
    """An op that only moves, copies or drops values, with its backward derived.

    ``f`` receives, for each input, an int64 array of the input's shape holding
    the *positions* of its values in the concatenation of all inputs, and
    returns the output (or a tuple/list of outputs) built from those positions
    by NumPy indexing, reshaping, flipping, ... The values are then gathered
    from those positions, and the gradient of each output is summed back onto
    the positions it came from (``np.bincount``): the adjoint of any gather.
    """
    ts = [_t(t) for t in tensors]
    dt = (
        _dt.resolve(dtype)
        if dtype is not None
        else (
            ts[0]._data.dtype
            if len(ts) == 1
            else _dt.promote(
                [(t._data.dtype, _dt.DIM if t._data.ndim else _dt.ZERO_DIM) for t in ts]
            )
        )
    )
    sizes = [t._data.size for t in ts]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    total = int(offsets[-1])
    pos = [
        np.arange(offsets[i], offsets[i + 1], dtype=np.int64).reshape(t._data.shape)
        for i, t in enumerate(ts)
    ]
    where = f(*pos)
    flat = (
        np.concatenate([t._data.astype(dt, copy=False).reshape(-1) for t in ts])
        if len(ts) > 1
        else ts[0]._data.astype(dt, copy=False).reshape(-1)
    )

    def one(p):
        p = np.asarray(p, dtype=np.int64)
        data = flat[p] if total else np.zeros(p.shape, dtype=dt)

        def backward(g):
            gf = np.bincount(
                p.reshape(-1), weights=np.asarray(g, dtype=np.float64).reshape(-1), minlength=total
            )
            return [
                (t, gf[offsets[i] : offsets[i + 1]].reshape(t._data.shape).astype(t._data.dtype))
                for i, t in enumerate(ts)
                if t.requires_grad
            ]

        return result(data, name, ts, backward, ())

    if isinstance(where, (tuple, list)):
        return (
            type(where)(one(p) for p in where)
            if type(where) in (tuple, list)
            else tuple(one(p) for p in where)
        )
    return one(where)


def _index(i: Any) -> Any:
    if isinstance(i, Tensor):
        return i._data
    if isinstance(i, tuple):
        return tuple(_index(j) for j in i)
    if isinstance(i, list) and any(isinstance(j, Tensor) for j in i):
        return [_index(j) for j in i]
    return i


def _sizes(args: Sequence) -> tuple:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(int(s) for s in args[0])
    return tuple(int(s) for s in args)


def _long(x: Any) -> np.ndarray:
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    return a.astype(np.int64, copy=False)


def _check_index(idx: np.ndarray, n: int, what: str = "index") -> None:
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{what} out of range: values must be in [{-n}, {n - 1}]")


def _scalar_tensor(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return const(np.asarray(value, dtype=like._data.dtype))


class _Values(tuple):
    """The pair sort/topk/max/... return (PyTorch's ``torch.return_types.<op>``): a tuple
    whose items are also named (``values``/``indices``; ``min``/``max`` of aminmax,
    ``mantissa``/``exponent`` of frexp) and that prints as PyTorch's."""

    op: str
    fields: Tuple[str, str]

    def __new__(cls, items: Any, op: str, fields: Tuple[str, str] = ("values", "indices")):
        out = tuple.__new__(cls, items)
        out.op, out.fields = op, fields
        return out

    def __getnewargs__(self):  # pickling and copying keep the name
        return (tuple(self), self.op, self.fields)

    def __getattr__(self, name: str) -> Any:
        if name in ("op", "fields"):  # (during unpickling, before __new__ set them)
            raise AttributeError(name)
        if name in self.fields:
            return self[self.fields.index(name)]
        raise AttributeError(f"'torch.return_types.{self.op}' object has no attribute '{name}'")

    def __repr__(self) -> str:
        items = ",\n".join(f"{k}={v!r}" for k, v in zip(self.fields, self))
        return f"torch.return_types.{self.op}(\n{items})"


def _of_scalar(self: Tensor, op: str) -> _Values:
    """What a (values, indices) op along a dimension gives for a 0-d tensor: a copy of it
    and index 0."""
    return _Values((self.clone(), const(np.zeros((), np.int64))), op)


def _along(x: Tensor, idx: np.ndarray, axis: int, name: str) -> Tensor:
    """x's values at `idx` along `axis` (np.take_along_axis), with its gradient."""
    return movement([x], lambda p: np.take_along_axis(p, idx, axis), name)


def _sort_idx(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    # NaN sorts as the largest value, as PyTorch; stable so ties keep their order
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    rev = np.flip(x, axis)
    idx = np.argsort(rev, axis=axis, kind="stable")
    return np.flip(n - 1 - idx, axis)


# ------------------------------------------------------------------ reductions


def _reduce(self: Tensor, dim, keepdim, fwd, grad, name, float_only=True, dtype=None):
    """A reduction over `dim` (None: all): out = fwd(x, axes, keepdims=True)."""
    x = self._data
    if dtype is not None:
        x = x.astype(_dt.resolve(dtype))
    elif float_only and x.dtype.kind != "f":
        raise RuntimeError(
            f"{name}(): input dtype should be floating point; got {CAT_NAME[_dt.category(x.dtype)]}"
        )
    axes = _dims(dim, x.ndim)
    with np.errstate(all="ignore"):
        full = np.asarray(fwd(x, axes))  # keepdims shape
    out = (
        full
        if keepdim or not x.ndim
        else (full.reshape(()) if axes is None else np.squeeze(full, axes))
    )
    if axes is None and not keepdim:
        out = full.reshape(())
    if out.dtype != x.dtype and x.dtype.kind == "f":
        out = out.astype(x.dtype)

    def backward(g):
        gk = g if keepdim else (np.reshape(g, full.shape))
        with np.errstate(all="ignore"):
            return (
                (
                    self,
                    np.broadcast_to(np.asarray(grad(gk, x, full, axes)), x.shape).astype(
                        x.dtype, copy=False
                    ),
                ),
            )

    return result(np.asarray(out), name, (self,), backward)


def _count(x, axes):
    return x.size if axes is None else math.prod(x.shape[a] for a in axes)


def _prod_others(x: np.ndarray, axes) -> np.ndarray:
    """Product of all other elements of each slice (correct with zeros)."""
    if x.size == 0:
        return np.zeros_like(x)
    if axes is None:
        flat = x.reshape(-1)
        left = np.concatenate([[1], np.cumprod(flat)[:-1]]).astype(x.dtype)
        right = np.concatenate([np.cumprod(flat[::-1])[:-1][::-1], [1]]).astype(x.dtype)
        return (left * right).reshape(x.shape)
    a = axes[0]
    if len(axes) > 1:  # merge the reduced axes at the end, then one axis
        moved = np.moveaxis(x, axes, range(-len(axes), 0))
        merged = moved.reshape(moved.shape[: -len(axes)] + (-1,))
        res = _prod_others(merged, (merged.ndim - 1,))
        return np.moveaxis(res.reshape(moved.shape), range(-len(axes), 0), axes)
    ones = np.ones_like(np.take(x, [0], axis=a))
    left = (
        np.concatenate([ones, np.cumprod(x, axis=a).take(range(x.shape[a] - 1), axis=a)], axis=a)
        if x.shape[a]
        else x
    )
    rc = np.flip(np.cumprod(np.flip(x, a), axis=a), a)
    right = (
        np.concatenate([rc.take(range(1, x.shape[a]), axis=a), ones], axis=a) if x.shape[a] else x
    )
    return left * right


def _even(x: np.ndarray, full: np.ndarray) -> np.ndarray:
    """The gradient weights of amax/amin: evenly split among the elements equal to the result."""
    hit = (x == full) | (np.isnan(x) & np.isnan(full))
    return hit / hit.sum(
        axis=tuple(i for i in range(x.ndim) if full.shape[i] == 1 and x.shape[i] != 1) or None,
        keepdims=True,
    )


def _var_args(dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(unbiased) as PyTorch's first overload
        dim, unbiased = None, dim
    c = (1 if unbiased else 0) if correction is None else correction
    return dim, c, keepdim


def _var(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
    dim, c, keepdim = _var_args(dim, unbiased, keepdim, correction)
    if self._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")

    def fwd(x, axes):
        d = x - x.mean(axis=axes, keepdims=True)
        return (d * d).sum(axis=axes, keepdims=True) / builtins.max(_count(x, axes) - c, 0)

    def grad(g, x, full, axes):
        n = builtins.max(_count(x, axes) - c, 0)
        return g * 2 * (x - x.mean(axis=axes, keepdims=True)) / n

    return _reduce(self, dim, keepdim, fwd, grad, "VarBackward0")


def _std(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
    dim, c, keepdim = _var_args(dim, unbiased, keepdim, correction)
    if self._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")

    def fwd(x, axes):
        d = x - x.mean(axis=axes, keepdims=True)
        return np.sqrt((d * d).sum(axis=axes, keepdims=True) / builtins.max(_count(x, axes) - c, 0))

    def grad(g, x, full, axes):
        n = builtins.max(_count(x, axes) - c, 0)
        return np.where(full == 0, 0, g * (x - x.mean(axis=axes, keepdims=True)) / (n * full))

    return _reduce(self, dim, keepdim, fwd, grad, "StdBackward0")


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over `dim` (all elements by default): 2/'fro', inf, -inf, 0, any p."""
    if p == "nuc":
        return _nuclear(self, dim, keepdim)
    if isinstance(p, str) and p not in ("fro",):
        raise NotImplementedError(
            f"norm(p={p!r}) (matrix norms) is not implemented by "
            "fastdense: see docs/pytorch_api.md (linalg)"
        )
    p = 2.0 if p in ("fro", None) else float(p)
    t = self if dtype is None else self._cast(_dt.resolve(dtype))
    if t._data.dtype.kind != "f":
        raise RuntimeError("linalg.vector_norm: Expected a floating point tensor as input")

    def fwd(x, axes):
        a = np.abs(x)
        if p == math.inf:
            return a.max(axis=axes, keepdims=True, initial=0)
        if p == -math.inf:
            return a.min(axis=axes, keepdims=True)
        if p == 0:
            return (a != 0).sum(axis=axes, keepdims=True).astype(x.dtype)
        if p == 2:
            return np.sqrt((x * x).sum(axis=axes, keepdims=True))
        return (a**p).sum(axis=axes, keepdims=True) ** (1 / p)

    def grad(g, x, full, axes):
        s = np.sign(x)
        if p in (math.inf, -math.inf):
            return g * s * _even(np.abs(x), full)
        if p == 0:
            return g * 0
        if p == 2:
            return np.where(full == 0, 0, g * x / full)
        if p == 1:
            return g * s
        return np.where(full == 0, 0, g * s * np.abs(x) ** (p - 1) / full ** (p - 1))

    return _reduce(t, dim, keepdim, fwd, grad, "LinalgVectorNormBackward0")


def _nuclear(self, dim, keepdim):
    """The sum of singular values of the matrices over `dim` (the last two by default)."""
    x = self._data
    d = (x.ndim - 2, x.ndim - 1) if dim is None else tuple(_axis(i, x.ndim) for i in dim)
    xm = np.moveaxis(x, d, (-2, -1))
    u, sv, vt = np.linalg.svd(xm, full_matrices=False)
    out = sv.sum(-1).astype(x.dtype)
    if keepdim:
        out = np.expand_dims(out, d)

    def backward(g):
        gg = g if not keepdim else np.squeeze(g, d)
        gm = gg[..., None, None] * (u @ vt)
        return ((self, np.moveaxis(gm, (-2, -1), d).astype(x.dtype)),)

    return result(np.asarray(out), "LinalgMatrixNormBackward0", (self,), backward)


def _logsumexp(self, dim, keepdim=False):
    t = _real(self)

    def fwd(x, axes):
        m = x.max(axis=axes, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        return np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m

    return _reduce(
        t, dim, keepdim, fwd, lambda g, x, full, axes: g * np.exp(x - full), "LogsumexpBackward0"
    )


def _prod(self, dim=None, keepdim=False, dtype=None):
    x = self._data
    if dtype is None and x.dtype.kind in "biu":
        return const(
            np.asarray(
                x.prod(
                    axis=None if dim is None else _axis(dim, x.ndim),
                    keepdims=keepdim,
                    dtype=np.int64,
                )
            )
        )
    return _reduce(
        self,
        None if dim is None else (dim,) if not isinstance(dim, tuple) else dim,
        keepdim,
        lambda x, axes: x.prod(axis=axes, keepdims=True),
        lambda g, x, full, axes: g * _prod_others(x, axes),
        "ProdBackward0" if dim is None else "ProdBackward1",
        dtype=dtype,
    )


def _amax(self, dim=(), keepdim=False):
    return _reduce(
        self,
        dim,
        keepdim,
        lambda x, axes: np.max(x, axis=axes, keepdims=True),
        lambda g, x, full, axes: g * _even(x, full),
        "AmaxBackward0",
        float_only=False,
    )


def _amin(self, dim=(), keepdim=False):
    return _reduce(
        self,
        dim,
        keepdim,
        lambda x, axes: np.min(x, axis=axes, keepdims=True),
        lambda g, x, full, axes: g * _even(x, full),
        "AminBackward0",
        float_only=False,
    )


def _nansum(self, dim=None, keepdim=False, dtype=None):
    return _reduce(
        self,
        dim,
        keepdim,
        lambda x, axes: np.nansum(x, axis=axes, keepdims=True),
        lambda g, x, full, axes: g * ~np.isnan(x),
        "NansumBackward0",
        float_only=False,
        dtype=dtype,
    )


def _nanmean(self, dim=None, keepdim=False, dtype=None):
    def grad(g, x, full, axes):
        ok = ~np.isnan(x)
        return g * ok / ok.sum(axis=axes, keepdims=True)

    return _reduce(
        self,
        dim,
        keepdim,
        lambda x, axes: np.nanmean(x, axis=axes, keepdims=True),
        grad,
        "NanmeanBackward0",
        dtype=dtype,
    )


def _count_nonzero(self, dim=None):
    x = self._data
    axes = _dims(dim, x.ndim)
    return const(np.asarray(np.count_nonzero(x, axis=axes), dtype=np.int64))


def _scan(self, dim, fwd, name, dtype=None):
    x = self._data
    if dtype is not None:
        t = self._cast(_dt.resolve(dtype))
    elif x.dtype.kind in "biu":
        t = self._cast(_dt.int64)
    else:
        t = self
    return t, _axis(dim, x.ndim)


def _cumsum(self, dim, dtype=None):
    t, a = _scan(self, dim, None, "cumsum", dtype)
    x = t._data
    out = np.cumsum(x, axis=a) if x.ndim else x.copy()

    def backward(g):
        return ((t, np.flip(np.cumsum(np.flip(g, a), axis=a), a) if g.ndim else g),)

    return result(np.asarray(out), "CumsumBackward0", (t,), backward, ())


def _cumprod(self, dim, dtype=None):
    t, a = _scan(self, dim, None, "cumprod", dtype)
    x = t._data
    out = np.cumprod(x, axis=a) if x.ndim else x.copy()

    def backward(g):
        if not x.ndim:
            return ((t, g),)
        n = x.shape[a]
        gx = np.zeros(x.shape, dtype=np.result_type(x, g))
        for i in range(n):  # d out_j / d x_i = prod_{k <= j, k != i} x_k for j >= i
            xi = x.copy()
            np.moveaxis(xi, a, 0)[i] = 1
            part = np.cumprod(xi, axis=a)
            sl = [builtins.slice(None)] * x.ndim
            sl[a] = builtins.slice(i, None)
            contrib = (np.asarray(g)[tuple(sl)] * part[tuple(sl)]).sum(axis=a)
            np.moveaxis(gx, a, 0)[i] = contrib
        return ((t, gx.astype(x.dtype, copy=False)),)

    return result(np.asarray(out), "CumprodBackward0", (t,), backward)


def _logcumsumexp(self, dim):
    t = _real(self)
    x = t._data
    a = _axis(dim, x.ndim)
    if not x.ndim:
        return t.clone()
    with np.errstate(all="ignore"):
        out = np.logaddexp.accumulate(x, axis=a)

    def backward(g):
        with np.errstate(all="ignore"):
            # d out_j / d x_i = exp(x_i - out_j) for i <= j
            xm, om, gm = (np.moveaxis(v, a, -1) for v in (x, out, g))
            n = xm.shape[-1]
            w = np.exp(xm[..., :, None].astype(np.float64) - om[..., None, :])
            w = np.where(np.triu(np.ones((n, n), bool)), w, 0)
            gx = (w * gm[..., None, :].astype(np.float64)).sum(-1)
            return ((t, np.moveaxis(gx, -1, a).astype(x.dtype)),)

    return result(out, "LogcumsumexpBackward0", (t,), backward)


def _cum_extreme(self, dim, better, name):
    x = self._data
    a = _axis(dim, x.ndim)
    if not x.ndim:
        return _of_scalar(self, name[:6].lower())
    xm = np.moveaxis(x, a, 0)
    idx = np.zeros(xm.shape, dtype=np.int64)
    best = xm[0].copy() if xm.shape[0] else xm[:0]
    for i in range(1, xm.shape[0]):
        v = xm[i]
        take = better(v, best) | (v == best) | np.isnan(v)
        take &= ~(np.isnan(best) & ~np.isnan(v))
        best = np.where(take, v, best)
        idx[i] = np.where(take, i, idx[i - 1])
    idx = np.moveaxis(idx, 0, a)
    return _Values((_along(self, idx, a, name), const(idx)), name[:6].lower())  # cummax/cummin


def _median(self, dim=None, keepdim=False, ignore_nan=False):
    x = self._data
    if dim is None:
        flat = self.reshape(-1)
        fx = flat._data
        n = fx.size - (int(np.isnan(fx).sum()) if ignore_nan and fx.dtype.kind == "f" else 0)
        order = _sort_idx(fx, 0, False)
        if not ignore_nan and fx.dtype.kind == "f" and np.isnan(fx).any():
            k = int(np.argmax(np.isnan(fx)))
        else:
            k = int(order[builtins.max((n - 1) // 2, 0)]) if fx.size else 0
        return movement([flat], lambda p: p[k], "MedianBackward0")
    a = _axis(dim, x.ndim)
    if not x.ndim:
        return _of_scalar(self, "nanmedian" if ignore_nan else "median")
    order = _sort_idx(x, a, False)
    if ignore_nan and x.dtype.kind == "f":
        n = (~np.isnan(x)).sum(axis=a, keepdims=True)
    else:
        n = np.full(np.take(x, [0], axis=a).shape, x.shape[a])
    k = np.maximum((n - 1) // 2, 0)
    idx = np.take_along_axis(order, k, a)
    if not ignore_nan and x.dtype.kind == "f":
        nan = np.isnan(x)
        idx = np.where(
            nan.any(axis=a, keepdims=True),
            np.argmax(nan, axis=a)[..., None].swapaxes(-1, a)
            if False
            else np.expand_dims(np.argmax(nan, axis=a), a),
            idx,
        )
    vals = _along(self, idx, a, "MedianBackward1")
    if not keepdim:
        vals, idx = vals.squeeze(a), np.squeeze(idx, a)
    return _Values((vals, const(idx.astype(np.int64))), "nanmedian" if ignore_nan else "median")


def _sort(self, dim=-1, descending=False, stable=False):
    x = self._data
    if isinstance(dim, bool):  # sort(stable) overloads are keywords; a bool here is descending
        dim, descending = -1, dim
    if not x.ndim:
        return _of_scalar(self, "sort")
    a = _axis(dim, x.ndim)
    idx = _sort_idx(x, a, descending)
    return _Values((_along(self, idx, a, "SortBackward0"), const(idx)), "sort")


def _argsort(self, dim=-1, descending=False, stable=False):
    x = self._data
    if not x.ndim:
        return const(np.zeros((), np.int64))
    return const(_sort_idx(x, _axis(dim, x.ndim), descending))


def _topk(self, k, dim=-1, largest=True, sorted=True):
    x = self._data
    if not x.ndim:
        return _of_scalar(self, "topk")
    a = _axis(dim, x.ndim)
    if not 0 <= k <= x.shape[a]:
        raise RuntimeError("selected index k out of range")
    idx = np.take(_sort_idx(x, a, largest), range(k), axis=a)
    return _Values((_along(self, idx, a, "TopkBackward0"), const(idx)), "topk")


def _kthvalue(self, k, dim=-1, keepdim=False):
    x = self._data
    if not x.ndim:
        return _of_scalar(self, "kthvalue")
    a = _axis(dim, x.ndim)
    idx = np.take(_sort_idx(x, a, False), [k - 1], axis=a)
    vals = _along(self, idx, a, "KthvalueBackward0")
    if not keepdim:
        vals, idx = vals.squeeze(a), np.squeeze(idx, a)
    return _Values((vals, const(idx)), "kthvalue")


def _quantile(self, q, dim=None, keepdim=False, *, interpolation="linear", ignore_nan=False):
    if self._data.ndim == 0:
        r = _quantile(
            self.reshape(1), q, 0, keepdim, interpolation=interpolation, ignore_nan=ignore_nan
        )
        return r.reshape(r.shape[:-1] if keepdim and r.ndim else r.shape)
    t = self if dim is not None else self.reshape(-1)
    x = t._data
    a = 0 if dim is None else _axis(dim, x.ndim)
    qa = q._data if isinstance(q, Tensor) else np.asarray(q, dtype=x.dtype)
    if x.dtype.kind != "f":
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if qa.size and (qa.min() < 0 or qa.max() > 1):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    order = _sort_idx(x, a, False)
    n = x.shape[a]
    cnt = (
        (~np.isnan(x)).sum(axis=a, keepdims=True)
        if ignore_nan
        else np.full(np.take(x, [0], axis=a).shape, n)
    )
    qs = np.atleast_1d(qa).astype(np.float64)
    outs = []
    for qq in qs:
        rank = qq * (cnt - 1)
        lo = np.clip(np.floor(rank), 0, builtins.max(n - 1, 0)).astype(np.int64)
        hi = np.clip(np.ceil(rank), 0, builtins.max(n - 1, 0)).astype(np.int64)
        frac = rank - lo
        if interpolation == "lower":
            hi, frac = lo, frac * 0
        elif interpolation == "higher":
            lo, frac = hi, frac * 0
        elif interpolation == "nearest":
            near = np.round(rank).astype(np.int64)  # (half to even, as PyTorch)
            lo = hi = near
            frac = frac * 0
        elif interpolation == "midpoint":
            frac = np.where(hi > lo, 0.5, 0.0)
        wl = _along(t, np.take_along_axis(order, lo, a), a, "QuantileBackward0")
        wh = _along(t, np.take_along_axis(order, hi, a), a, "QuantileBackward0")
        fr = const(frac.astype(x.dtype))
        v = wl + (wh - wl) * fr
        nanrow = (cnt == 0) if ignore_nan else np.isnan(x).any(axis=a, keepdims=True)
        if nanrow.any():
            v = where(const(nanrow), const(np.asarray(np.nan, x.dtype)), v)
        outs.append(v if keepdim else v.squeeze(a))
    if dim is None and keepdim:
        outs = [o.reshape((1,) * self._data.ndim) for o in outs]
    if qa.ndim == 0:
        return outs[0]
    from . import ops as _ops  # (stack is defined below)

    return _ops.stack(outs, 0)


# ---------------------------------------------------------------- softmax family


def _softmax_axis(x: np.ndarray, dim: Any) -> int:
    return _axis(dim, x.ndim)


def log_softmax(input: Any, dim: int, dtype: Any = None) -> Tensor:
    """``x - log(sum(exp(x), dim))`` without overflow, with its gradient."""
    x = _real(_t(input))
    if dtype is not None:
        x = x._cast(_dt.resolve(dtype))
    xd = x._data
    if xd.ndim == 0:
        out = np.zeros_like(xd) if np.isfinite(xd) else xd - xd
        return result(out, "LogSoftmaxBackward0", (x,), lambda g: ((x, g * 0),))
    a = _softmax_axis(xd, dim)
    with np.errstate(all="ignore"):
        m = xd.max(axis=a, keepdims=True) if xd.shape[a] else 0
        tmp = xd - m
        out = tmp - np.log(np.sum(np.exp(tmp), axis=a, keepdims=True))

    def backward(g):
        return ((x, g - np.exp(out) * np.sum(g, axis=a, keepdims=True)),)

    return result(np.asarray(out), "LogSoftmaxBackward0", (x,), backward, (), saves_output=True)


def softmax(input: Any, dim: int, dtype: Any = None) -> Tensor:
    """``exp(x - max) / sum(exp(x - max))`` along ``dim``, with its gradient."""
    x = _real(_t(input))
    if dtype is not None:
        x = x._cast(_dt.resolve(dtype))
    xd = x._data
    if xd.ndim == 0:
        return result(np.exp(xd - xd), "SoftmaxBackward0", (x,), lambda g: ((x, g * 0),))
    a = _softmax_axis(xd, dim)
    with np.errstate(all="ignore"):
        e = np.exp(xd - (xd.max(axis=a, keepdims=True) if xd.shape[a] else 0))
        out = e / np.sum(e, axis=a, keepdims=True)

    def backward(g):
        return ((x, out * (g - np.sum(g * out, axis=a, keepdims=True))),)

    return result(np.asarray(out), "SoftmaxBackward0", (x,), backward, (), saves_output=True)


# ------------------------------------------------------------------ shape ops


def _permute(self, *dims, **kw):
    d = _sizes(dims) if dims else _sizes((kw["dims"],))
    x = self._data
    d = tuple(_axis(i, x.ndim) for i in d) if x.ndim else ()
    inv = tuple(np.argsort(d)) if d else ()
    return view_result(
        np.transpose(x, d) if d else x[...],
        "PermuteBackward0",
        self,
        lambda g: ((self, np.transpose(g, inv) if inv else g),),
        True,
    )


def _expand(self, *sizes):
    s = _sizes(sizes)
    x = self._data
    lead = len(s) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(s)}) must be greater or "
            f"equal to the number of dimensions in the tensor ({x.ndim})"
        )
    shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(s))
    try:
        out = np.broadcast_to(x, shape)
    except ValueError:
        raise RuntimeError(
            f"The expanded size of the tensor ({list(shape)}) must match the existing size "
            f"({list(x.shape)}) at a non-singleton dimension"
        ) from None
    if not any(st == 0 and n > 1 for st, n in zip(out.strides, out.shape)):
        # no element seen twice: writable, as PyTorch's expand (broadcast_to is read-only;
        # in-place writes through a view that repeats elements raise, as in PyTorch)
        out = np.lib.stride_tricks.as_strided(x, shape, out.strides)
    return view_result(
        out, "ExpandBackward0", self, lambda g: ((self, unbroadcast(g, x.shape)),), True
    )


def _repeat(self, *sizes):
    s = _sizes(sizes)
    x = self._data
    if len(s) < x.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number "
            "of dimensions of tensor"
        )
    return movement(
        [self],
        lambda p: np.tile(p.reshape((1,) * (len(s) - p.ndim) + p.shape), s),
        "RepeatBackward0",
    )


def _flip(self, *dims, **kw):
    d = _sizes(dims) if dims else _sizes((kw["dims"],))
    x = self._data
    return movement(
        [self],
        lambda p: np.flip(p, tuple(_axis(i, x.ndim) for i in d)) if x.ndim else p.copy(),
        "FlipBackward0",
    )


def _roll(self, shifts, dims=None):
    x = self._data
    if dims is None:
        return movement(
            [self], lambda p: np.roll(p.reshape(-1), shifts).reshape(x.shape), "RollBackward0"
        )
    return movement([self], lambda p: np.roll(p, shifts, dims), "RollBackward0")


def _narrow(self, dim, start, length):
    x = self._data
    a = _axis(dim, x.ndim)
    start = int(start) % builtins.max(x.shape[a], 1) if int(start) < 0 else int(start)
    if start + length > x.shape[a]:
        raise RuntimeError(
            f"start ({start}) + length ({length}) exceeds dimension size ({x.shape[a]})."
        )
    return _view_at(
        self,
        (builtins.slice(None),) * a + (builtins.slice(start, start + length),),
        "SliceBackward0",
    )


def _select(self, dim, index):
    x = self._data
    a = _axis(dim, x.ndim)
    i = int(index)
    if not -x.shape[a] <= i < x.shape[a]:
        raise IndexError(
            f"select(): index {i} out of range for tensor of size {list(x.shape)} at dimension {a}"
        )
    return _view_at(self, (builtins.slice(None),) * a + (i, Ellipsis), "SelectBackward0")


def _unbind(self, dim=0):
    x = self._data
    a = _axis(dim, x.ndim)
    lead = (builtins.slice(None),) * a
    return tuple(_view_at(self, lead + (i, Ellipsis), "UnbindBackward0") for i in range(x.shape[a]))


def _split(self, split_size_or_sections, dim=0):
    x = self._data
    a = _axis(dim, x.ndim)
    n = x.shape[a]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} "
                f"(input tensor's size at dimension {a}), but got "
                f"split_sizes={sizes}"
            )
    else:
        k = int(split_size_or_sections)
        sizes = [builtins.min(k, n - i) for i in range(0, n, k)] if k else [0]
        if n == 0:
            sizes = [0]
    return _pieces(self, a, np.cumsum([0] + sizes).tolist(), "SplitBackward0")


def _chunk(self, chunks, dim=0):
    x = self._data
    a = _axis(dim, x.ndim)
    n = x.shape[a]
    k = -(-n // int(chunks)) if n else 1
    return _split(self, k, a) if n else tuple(_split(self, [0], a))


def _tensor_split(self, indices_or_sections, dim=0):
    x = self._data
    a = _axis(dim, x.ndim)
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios._data.tolist()
    n = x.shape[a]
    if isinstance(ios, (list, tuple)):
        bounds = [0] + [int(i) for i in ios] + [n]
    else:  # k sections: the first n % k one longer (NumPy's array_split, PyTorch's rule)
        k = int(ios)
        if k <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {k}")
        each, extra = divmod(n, k)
        bounds = np.cumsum([0] + [each + 1] * extra + [each] * (k - extra)).tolist()
    return _pieces(self, a, bounds, "SliceBackward0")


def _diag(self, diagonal=0):
    x = self._data
    if x.ndim not in (1, 2):
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + f"{x.ndim}D")
    if x.ndim == 1:
        z = const(np.zeros((), dtype=x.dtype))
        n = x.shape[0] + builtins.abs(diagonal)

        def f(p, zp):
            out = np.full((n, n), zp)
            idx = np.arange(x.shape[0])
            r, c = (idx, idx + diagonal) if diagonal >= 0 else (idx - diagonal, idx)
            out[r, c] = p
            return out

        return movement([self, z], f, "DiagEmbedBackward0")
    return _diagonal(self, diagonal)


def _diagonal_of(x: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """The diagonal of x as a view (writable when x is, as PyTorch's; NumPy's is read-only)."""
    lead = (builtins.slice(None),) * (d2 if offset >= 0 else d1)
    sub = x[lead + (builtins.slice(builtins.abs(offset), None),)]
    d = np.diagonal(sub, 0, d1, d2)
    return np.lib.stride_tricks.as_strided(sub, d.shape, d.strides)


def _diagonal(self, offset=0, dim1=0, dim2=1):
    x = self._data
    offset = int(offset)
    d1, d2 = _axis(dim1, x.ndim), _axis(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")

    def backward(g):
        full = np.zeros(x.shape, dtype=x.dtype)
        _diagonal_of(full, offset, d1, d2)[...] = g
        return ((self, full),)

    return view_result(_diagonal_of(x, offset, d1, d2), "DiagonalBackward0", self, backward, True)


def _diag_embed(self, offset=0, dim1=-2, dim2=-1):
    x = self._data
    z = const(np.zeros((), dtype=x.dtype))
    n = x.shape[-1] + builtins.abs(offset)
    nd = x.ndim + 1
    d1, d2 = _axis(dim1, nd), _axis(dim2, nd)

    def f(p, zp):
        out = np.full(x.shape[:-1] + (n, n), zp)
        idx = np.arange(x.shape[-1])
        r, c = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
        out[..., r, c] = p
        rest = [i for i in range(nd) if i not in (d1, d2)]
        perm = [0] * nd
        for src, dst in zip(rest + [d1, d2], range(nd)):
            perm[src] = dst
        return np.transpose(out, perm)

    return movement([self, z], f, "DiagEmbedBackward0")


def _tri(self, diagonal, upper):
    x = self._data
    if x.ndim < 2:
        raise RuntimeError(
            f"{'triu' if upper else 'tril'}: input tensor must have at least 2 dimensions"
        )
    m = np.ones(x.shape[-2:], dtype=bool)
    keep = np.triu(m, diagonal) if upper else np.tril(m, diagonal)
    out = np.where(keep, x, np.zeros((), x.dtype))
    return result(
        out,
        "TriuBackward0" if upper else "TrilBackward0",
        (self,),
        lambda g: ((self, np.where(keep, g, 0).astype(x.dtype, copy=False)),),
        (),
    )


def _unflatten(self, dim, sizes):
    x = self._data
    a = _axis(dim, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    if -1 in sizes:
        known = math.prod(s for s in sizes if s != -1)
        sizes = tuple(x.shape[a] // known if s == -1 else s for s in sizes)
    return self.reshape(x.shape[:a] + sizes + x.shape[a + 1 :])


def _movedim(self, source, destination):
    x = self._data
    out = np.moveaxis(x, source, destination)
    return view_result(
        out,
        "PermuteBackward0",
        self,
        lambda g: ((self, np.moveaxis(g, destination, source)),),
        True,
    )


def _repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
    if repeats is None:  # torch.repeat_interleave(repeats): indices repeated
        r = _long(self)
        return const(np.repeat(np.arange(r.size, dtype=np.int64), r))
    r = _long(repeats) if isinstance(repeats, Tensor) else int(repeats)
    if dim is None:
        return movement([self], lambda p: np.repeat(p.reshape(-1), r), "RepeatInterleaveBackward0")
    return movement(
        [self], lambda p: np.repeat(p, r, axis=_axis(dim, p.ndim)), "RepeatInterleaveBackward0"
    )


def _squeeze(self, dim=None):
    x = self._data
    if dim is None:
        out = x.squeeze()
    else:
        ds = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = tuple(a for a in (_axis(d, x.ndim) for d in ds) if x.ndim and x.shape[a] == 1)
        out = x.squeeze(axes) if axes else x[...]
    return view_result(out, "SqueezeBackward0", self, lambda g: ((self, g.reshape(x.shape)),), True)


def _unsqueeze(self, dim):
    x = self._data
    out = np.expand_dims(x, _axis(dim, x.ndim + 1))
    return view_result(
        out, "UnsqueezeBackward0", self, lambda g: ((self, g.reshape(x.shape)),), True
    )


def _atleast(self, n):
    x = self._data
    if x.ndim >= n:
        return self
    shape = {1: (1,), 2: (1, -1), 3: (1, -1, 1)}[n] if x.ndim else (1,) * n
    if x.ndim == 1 and n == 3:
        shape = (1, x.shape[0], 1)
    elif x.ndim == 2 and n == 3:
        shape = x.shape + (1,)
    elif x.ndim == 1 and n == 2:
        shape = (1, x.shape[0])
    return self.reshape(shape)


# ---------------------------------------------------------------- indexing


def _gather(self, dim, index, *, sparse_grad=False):
    x = self._data
    idx = _long(index)
    a = _axis(dim, x.ndim)
    if x.ndim:
        _check_index(idx, x.shape[a])
    if idx.size == 0:  # nothing gathered: any index shape, as in PyTorch
        return movement([self], lambda p: p.reshape(-1)[:0].reshape(idx.shape), "GatherBackward0")
    if builtins.max(idx.ndim, 1) != builtins.max(x.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if idx.ndim != x.ndim:  # a 0-d index or input counts as 1-d, as in PyTorch
        return movement(
            [self], lambda p: p.reshape(-1)[idx.reshape(-1)].reshape(idx.shape), "GatherBackward0"
        )
    if not x.ndim:
        return movement([self], lambda p: np.broadcast_to(p, idx.shape).copy(), "GatherBackward0")
    sl = tuple(builtins.slice(0, n) for n in idx.shape)

    def f(p):
        pp = p[
            tuple(
                builtins.slice(0, n) if i != a else builtins.slice(None)
                for i, n in enumerate(idx.shape)
            )
        ]
        return np.take_along_axis(pp, idx, a)

    del sl
    return movement([self], f, "GatherBackward0")


def _index_select(self, dim, index):
    x = self._data
    idx = _long(index).reshape(-1)
    if not x.ndim:
        _check_index(idx, 1)
        return movement([self], lambda p: p.copy(), "IndexSelectBackward0")
    a = _axis(dim, x.ndim)
    _check_index(idx, x.shape[a])
    return movement([self], lambda p: np.take(p, idx, axis=a), "IndexSelectBackward0")


def _take(self, index):
    idx = _long(index)
    _check_index(idx, self._data.size)
    return movement([self], lambda p: p.reshape(-1)[idx], "TakeBackward0")


def _take_along_dim(self, indices, dim=None):
    idx = _long(indices)
    if dim is None:
        return movement([self], lambda p: p.reshape(-1)[idx.reshape(-1)], "TakeAlongDimBackward0")
    x = self._data
    a = _axis(dim, x.ndim)
    shape = np.broadcast_shapes(
        tuple(1 if i == a else n for i, n in enumerate(x.shape)),
        tuple(1 if i == a else n for i, n in enumerate(idx.shape)),
    )
    xs = tuple(x.shape[a] if i == a else n for i, n in enumerate(shape))
    ix = tuple(idx.shape[a] if i == a else n for i, n in enumerate(shape))
    return movement(
        [self],
        lambda p: np.take_along_axis(np.broadcast_to(p, xs), np.broadcast_to(idx, ix), a),
        "TakeAlongDimBackward0",
    )


def _masked_select(self, mask):
    m = _long(mask).astype(bool) if not isinstance(mask, Tensor) else mask._data.astype(bool)
    shape = np.broadcast_shapes(self._data.shape, m.shape)
    return movement(
        [self],
        lambda p: np.broadcast_to(p, shape)[np.broadcast_to(m, shape)],
        "MaskedSelectBackward0",
    )


def _masked_fill_fixed(self, mask, value):
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype {m.dtype}"
        )
    v = _scalar_tensor(value, self)
    if v._data.ndim:
        raise RuntimeError(
            "masked_fill_ only supports a 0-dimensional value tensor, but got "
            f"tensor with {v._data.ndim} dimension(s)."
        )
    return movement(
        [self, v], lambda p, vp: np.where(m, vp, p), "MaskedFillBackward0", dtype=self._data.dtype
    )


def _index_fill(self, dim, index, value):
    x = self._data
    v = _scalar_tensor(value, self)
    idx = _long(index).reshape(-1)
    a = _axis(dim, x.ndim)

    def f(p, vp):
        out = p.copy()
        if x.ndim:
            sl = [builtins.slice(None)] * x.ndim
            sl[a] = idx
            out[tuple(sl)] = vp
        else:
            out[...] = vp
        return out

    return movement([self, v], f, "IndexFillBackward0", dtype=x.dtype)


def _scatter(self, dim, index, src=None, value=None, *, reduce=None):
    if src is None:
        src = value
    x = self._data
    idx = _long(index)
    a = _axis(dim, x.ndim)
    if reduce is not None:
        return _scatter_reduce(self, dim, index, src, {"add": "sum", "multiply": "prod"}[reduce])
    s = src if isinstance(src, Tensor) else _scalar_tensor(src, self)

    def f(p, sp):
        out = p.copy()
        sb = (
            np.broadcast_to(sp, idx.shape)
            if sp.ndim == 0
            else sp[tuple(builtins.slice(0, n) for n in idx.shape)]
        )
        if x.ndim and idx.size:
            dest = list(np.indices(idx.shape))
            dest[a] = idx
            out[tuple(dest)] = sb
        elif idx.size:
            out[...] = sb.reshape(-1)[-1]
        return out

    return movement([self, s], f, "ScatterBackward0", dtype=x.dtype)


def _scatter_add(self, dim, index, src):
    return _scatter_reduce(self, dim, index, src, "sum")


def _scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
    x = self._data
    idx = _long(index)
    a = _axis(dim, x.ndim)
    s = src if isinstance(src, Tensor) else _scalar_tensor(src, self)
    sd = (
        s._data[tuple(builtins.slice(0, n) for n in idx.shape)]
        if s._data.ndim
        else np.broadcast_to(s._data, idx.shape)
    )
    # the destination of every source element
    grid = np.indices(idx.shape) if idx.ndim else np.zeros((0,), np.int64)
    dest = list(grid) if idx.ndim else []
    if idx.ndim:
        dest[a] = idx
    dest_t = tuple(dest) if idx.ndim else ()
    if reduce == "sum":
        out = x.copy() if include_self else np.where(_hit(x.shape, dest_t), 0, x)
        np.add.at(out, dest_t, sd)

        def backward(g):
            res = []
            if self.requires_grad:
                gx = g if include_self else np.where(_hit(x.shape, dest_t), 0, g)
                res.append((self, gx.astype(x.dtype)))
            if s.requires_grad:
                gs = np.zeros(s._data.shape, dtype=s._data.dtype)
                gs[tuple(builtins.slice(0, n) for n in idx.shape)] = g[dest_t]
                res.append((s, gs))
            return res

        return result(out, "ScatterAddBackward0", (self, s), backward, ())
    if reduce in ("amax", "amin", "prod", "mean"):
        return _scatter_other(self, s, sd, dest_t, reduce, include_self)
    raise RuntimeError(
        f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
    )


def _scatter_other(self, s, sd, dest, reduce, include_self):
    """scatter_reduce with amax/amin/mean/prod: forward by ufunc.at, gradients per PyTorch
    (amax/amin split evenly among the contributors equal to the result)."""
    x = self._data
    hit = _hit(x.shape, dest)
    own = np.ones(x.shape, bool) if include_self else ~hit  # does self contribute here?
    if reduce in ("amax", "amin"):
        uf = np.maximum if reduce == "amax" else np.minimum
        fill = (
            (-np.inf if reduce == "amax" else np.inf)
            if x.dtype.kind == "f"
            else (np.iinfo(x.dtype).min if reduce == "amax" else np.iinfo(x.dtype).max)
        )
        out = np.where(own, x, fill).astype(x.dtype)
        uf.at(out, dest, sd)
    elif reduce == "mean":
        tot = np.where(own, x, 0).astype(x.dtype)
        np.add.at(tot, dest, sd)
        cnt = own.astype(np.int64)
        np.add.at(cnt, dest, 1)
        out = tot / np.maximum(cnt, 1) if x.dtype.kind == "f" else tot // np.maximum(cnt, 1)
        out = out.astype(x.dtype)
    else:
        out = np.where(own, x, 1).astype(x.dtype)
        np.multiply.at(out, dest, sd)

    def backward(g):
        res = []
        if reduce in ("amax", "amin"):
            sel_x = own & (x == out)
            sel_s = sd == out[dest]
            cnt = sel_x.astype(np.float64)
            np.add.at(cnt, dest, sel_s)
            cnt = np.maximum(cnt, 1)
            gx, gs = g * sel_x / cnt, g[dest] * sel_s / cnt[dest]
        elif reduce == "mean":
            c = own.astype(np.float64)
            np.add.at(c, dest, 1)
            c = np.maximum(c, 1)
            gx, gs = g * own / c, g[dest] / c[dest]
        else:  # prod: each contributor's gradient is the product of the others
            flat_dest = (
                np.ravel_multi_index(dest, x.shape) if x.ndim else np.zeros(sd.shape, np.int64)
            )
            gx = np.zeros(x.shape, np.float64)
            gs = np.zeros(sd.shape, np.float64)
            groups: Dict[int, list] = {}
            for k, d in enumerate(flat_dest.reshape(-1)):
                groups.setdefault(int(d), []).append(k)
            xf, sf, gf = x.reshape(-1), sd.reshape(-1), np.asarray(g).reshape(-1)
            gsf, gxf = gs.reshape(-1), gx.reshape(-1)
            for d in range(x.size):
                members = [("s", k) for k in groups.get(d, [])]
                if own.reshape(-1)[d]:
                    members.append(("x", d))
                vals = [sf[k] if w == "s" else xf[k] for w, k in members]
                for j, (w, k) in enumerate(members):
                    other = math.prod(v for i, v in enumerate(vals) if i != j)
                    if w == "s":
                        gsf[k] = gf[d] * other
                    else:
                        gxf[d] = gf[d] * other
        if self.requires_grad:
            res.append((self, np.asarray(gx).astype(x.dtype)))
        if s.requires_grad:
            full = np.zeros(s._data.shape, dtype=s._data.dtype)
            full[tuple(builtins.slice(0, n) for n in sd.shape)] = gs
            res.append((s, full))
        return res

    return result(np.asarray(out), "ScatterReduceBackward0", (self, s), backward)


def _hit(shape, dest):
    m = np.zeros(shape, dtype=bool)
    if dest:
        m[dest] = True
    return m


def _index_add(self, dim, index, source, *, alpha=1):
    x = self._data
    idx = _long(index).reshape(-1)
    a = _axis(dim, x.ndim)
    s = source if isinstance(source, Tensor) else const(np.asarray(source))
    if alpha != 1:
        s = s * alpha
    sd = s._data
    out = x.copy()
    if x.ndim:
        np.add.at(
            np.moveaxis(out, a, 0),
            idx,
            np.moveaxis(sd.reshape(sd.shape if sd.ndim else (1,)), a if sd.ndim else 0, 0),
        )
    else:
        out = out + sd.reshape(()) if sd.size else out

    def backward(g):
        res = []
        if self.requires_grad:
            res.append((self, g))
        if s.requires_grad:
            gs = np.take(g, idx, axis=a) if x.ndim else np.broadcast_to(g, sd.shape)
            res.append((s, np.asarray(gs).reshape(sd.shape).astype(sd.dtype)))
        return res

    return result(np.asarray(out), "IndexAddBackward0", (self, s), backward, ())


def _index_copy(self, dim, index, source):
    x = self._data
    idx = _long(index).reshape(-1)
    a = _axis(dim, x.ndim)

    def f(p, sp):
        out = p.copy()
        if x.ndim:
            sl = [builtins.slice(None)] * x.ndim
            sl[a] = idx
            out[tuple(sl)] = sp
        else:
            out[...] = sp.reshape(())
        return out

    return movement([self, _t(source)], f, "IndexCopyBackward0", dtype=x.dtype)


def _index_put(self, indices, values, accumulate=False):
    ind = tuple(_index(i) for i in indices)
    v = _scalar_tensor(values, self)
    if accumulate:
        out_x = self._data.copy()
        np.add.at(out_x, ind, np.broadcast_to(v._data, out_x[ind].shape))

        def backward(g):
            res = []
            if self.requires_grad:
                res.append((self, g))
            if v.requires_grad:
                res.append((v, unbroadcast(g[ind], v._data.shape).astype(v._data.dtype)))
            return res

        return result(out_x, "IndexPutBackward0", (self, v), backward, ())

    def f(p, vp):
        out = p.copy()
        out[ind] = vp
        return out

    return movement([self, v], f, "IndexPutBackward0", dtype=self._data.dtype)


def _put(self, index, source, accumulate=False):
    x = self._data
    idx = _long(index).reshape(-1)
    flat = self.reshape(-1)
    return _index_put(flat, (idx,), _t(source).reshape(-1), accumulate).reshape(x.shape)


def _masked_scatter(self, mask, source):
    m = mask._data.astype(bool)
    shape = np.broadcast_shapes(self._data.shape, m.shape)
    mb = np.broadcast_to(m, shape)
    n = int(mb.sum())

    def f(p, sp):
        out = np.broadcast_to(p, shape).copy()
        out[mb] = sp.reshape(-1)[:n]
        return out

    return movement([self, _t(source)], f, "MaskedScatterBackward0", dtype=self._data.dtype)


def _slice_scatter(self, src, dim=0, start=None, end=None, step=1):
    a = _axis(dim, self._data.ndim)

    def f(p, sp):
        out = p.copy()
        sl = [builtins.slice(None)] * p.ndim
        sl[a] = builtins.slice(start, end, step)
        out[tuple(sl)] = sp
        return out

    return movement([self, _t(src)], f, "SliceScatterBackward0", dtype=self._data.dtype)


def _slice(self, dim=0, start=None, end=None, step=1):
    """Every ``step``-th entry of ``[start, end)`` along ``dim`` (``aten.slice``)."""
    if int(step) <= 0:
        raise RuntimeError("slice step must be positive")
    a = _axis(dim, self._data.ndim)

    def f(p):
        sl = [builtins.slice(None)] * p.ndim
        sl[a] = builtins.slice(start, end, int(step))
        return p[tuple(sl)]

    return movement([self], f, "SliceBackward0")


def _select_scatter(self, src, dim, index):
    a = _axis(dim, self._data.ndim)

    def f(p, sp):
        out = p.copy()
        sl = [builtins.slice(None)] * p.ndim
        sl[a] = index
        out[tuple(sl)] = sp
        return out

    return movement([self, _t(src)], f, "SelectScatterBackward0", dtype=self._data.dtype)


def _diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
    def f(p, sp):
        out = p.copy()
        d = np.diagonal(out, offset, dim1, dim2)
        d.setflags(write=True)
        d[...] = sp
        return out

    return movement([self, _t(src)], f, "DiagonalScatterBackward0", dtype=self._data.dtype)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition``, else ``other``, with PyTorch's promotion and gradients."""
    c = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        return tuple(const(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(c)))
    keep = c.astype(np.bool_)
    x, xp, _ = operand(input)
    y, yp, _ = operand(other)
    dt = _dt.promote(((x.dtype, xp), (y.dtype, yp)))
    xt = input if isinstance(input, Tensor) else const(np.asarray(x, dtype=dt))
    yt = other if isinstance(other, Tensor) else const(np.asarray(y, dtype=dt))
    return movement([xt, yt], lambda p, q: np.where(keep, p, q), "WhereBackward0", dtype=dt)


def _view_at(self: Tensor, index: Any, name: str, out: Optional[np.ndarray] = None) -> Tensor:
    """``self._data[index]`` (a basic index: slices, ints, None, Ellipsis) as a view of
    self, its backward assigning the gradient into place; ``out``: that view, if the
    caller has it already."""
    x = self._data

    def backward(g):
        full = np.zeros(x.shape, dtype=x.dtype)
        full[index] = g
        return ((self, full),)

    return view_result(x[index] if out is None else out, name, self, backward, True)


def _pieces(self: Tensor, a: int, bounds: Sequence[int], name: str) -> tuple:
    """Views of self between consecutive ``bounds`` along axis ``a`` (split, chunk, ...)."""
    lead = (builtins.slice(None),) * a
    return tuple(
        _view_at(self, lead + (builtins.slice(lo, hi),), name)
        for lo, hi in zip(bounds[:-1], bounds[1:])
    )


def _getitem(self, index):
    x = self._data
    index = _index(index)
    out = x[index]
    if (
        isinstance(index, (int, np.integer, builtins.slice))
        or index is None
        or index is Ellipsis
        or (
            isinstance(index, tuple)
            and all(
                isinstance(i, (int, np.integer, builtins.slice)) or i is None or i is Ellipsis
                for i in index
            )
        )
    ):
        if type(out) is not np.ndarray:  # one element: NumPy gives a scalar, PyTorch a view
            out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return _view_at(self, index, "SliceBackward0", out)

    def backward_adv(g):
        full = np.zeros(x.shape, dtype=x.dtype)
        np.add.at(full, index, g)
        return ((self, full),)

    return result(np.asarray(out), "IndexBackward0", (self,), backward_adv, ())


def _setitem_op(self, index, value):
    ind = _index(index)
    v = _scalar_tensor(value, self)

    def f(p, vp):
        out = p.copy()
        out[ind] = vp
        return out

    return movement([self, v], f, "CopySlices", dtype=self._data.dtype)


# ------------------------------------------------------------------ products


def matmul(a: Any, b: Any) -> Tensor:
    """The matrix product of N-D tensors (batched, broadcast), with its gradient."""
    a = _t(a)
    b = tensor_or_const(b, a.dtype) if not isinstance(b, Tensor) else b
    x, y = a._data, b._data
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {x.dtype} != {y.dtype}"
        )
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D")
    try:
        out = np.asarray(np.matmul(x, y))
    except ValueError as exc:
        raise ShapeError(f"mat1 and mat2 shapes cannot be multiplied: {exc}") from None

    def backward(g):
        x2 = x if x.ndim > 1 else x[None, :]
        y2 = y if y.ndim > 1 else y[:, None]
        g2 = g.reshape(
            np.broadcast_shapes(x2.shape[:-2], y2.shape[:-2]) + (x2.shape[-2], y2.shape[-1])
        )
        res = []
        if a.requires_grad:
            ga = np.matmul(g2, np.swapaxes(y2, -1, -2))
            res.append((a, unbroadcast(ga, x2.shape).reshape(x.shape)))
        if b.requires_grad:
            gb = np.matmul(np.swapaxes(x2, -1, -2), g2)
            res.append((b, unbroadcast(gb, y2.shape).reshape(y.shape)))
        return res

    return result(out, "MmBackward0", (a, b), backward)


def _need(x: Tensor, n: int, name: str) -> None:
    if x._data.ndim != n:
        raise RuntimeError(f"{name}: expected a {n}D tensor, got {x._data.ndim}D")


def _mm(self, mat2):
    _need(self, 2, "mm")
    _need(_t(mat2), 2, "mm")
    return matmul(self, mat2)


def _bmm(self, mat2):
    _need(self, 3, "bmm")
    _need(_t(mat2), 3, "bmm")
    return named(matmul(self, mat2), "BmmBackward0")


def _mv(self, vec):
    _need(self, 2, "mv")
    _need(_t(vec), 1, "mv")
    return named(matmul(self, vec), "MvBackward0")


def _dot(self, other):
    _need(self, 1, "dot")
    _need(_t(other), 1, "dot")
    return named(matmul(self, other), "DotBackward0")


def _outer(self, vec2):
    return self.reshape(-1, 1) * _t(vec2).reshape(1, -1)


def _inner(self, other):
    o = _t(other)
    if self._data.ndim == 0 or o._data.ndim == 0:
        return self * o
    return matmul(self, o.transpose(-1, -2) if o._data.ndim > 1 else o)


def _scaled(t: Tensor, c: Any) -> Any:
    return t if c == 1 else t * c


def _addmm(self, mat1, mat2, *, beta=1, alpha=1):
    prod = _scaled(_mm(_t(mat1), mat2), alpha)
    return named(prod if beta == 0 else _scaled(self, beta) + prod, "AddmmBackward0")


def _addmv(self, mat, vec, *, beta=1, alpha=1):
    prod = _scaled(_mv(_t(mat), vec), alpha)
    return prod if beta == 0 else _scaled(self, beta) + prod


def _addr(self, vec1, vec2, *, beta=1, alpha=1):
    prod = _scaled(_outer(_t(vec1), vec2), alpha)
    return prod if beta == 0 else _scaled(self, beta) + prod


def _baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
    prod = _scaled(_bmm(_t(batch1), batch2), alpha)
    return prod if beta == 0 else _scaled(self, beta) + prod


def _addbmm(self, batch1, batch2, *, beta=1, alpha=1):
    prod = _scaled(_bmm(_t(batch1), batch2).sum(0), alpha)
    return prod if beta == 0 else _scaled(self, beta) + prod


def _addcmul(self, tensor1, tensor2, *, value=1):
    return self + _scaled(_t(tensor1) * tensor2, value)


def _addcdiv(self, tensor1, tensor2, *, value=1):
    return self + _scaled(_t(tensor1) / tensor2, value)


def _lerp(self, end, weight):
    return self + (_t(end) - self) * weight


def _trace(self):
    _need(self, 2, "trace")
    return _diagonal(self).sum()


def _kron(self, other):
    o = _t(other)
    x, y = self._data, o._data
    nd = builtins.max(x.ndim, y.ndim)
    a = self.reshape((1,) * (nd - x.ndim) + x.shape)
    b = o.reshape((1,) * (nd - y.ndim) + y.shape)
    ia = a.reshape(tuple(v for n in a.shape for v in (n, 1)))
    ib = b.reshape(tuple(v for n in b.shape for v in (1, n)))
    return (ia * ib).reshape(tuple(m * n for m, n in zip(a.shape, b.shape)))


def _cross(self, other, dim=None):
    o = _t(other)
    x = self._data
    if dim is None:
        dim = next(i for i, n in enumerate(np.broadcast_shapes(x.shape, o._data.shape)) if n == 3)
    a = _axis(dim, x.ndim)

    def comp(t, i):
        return _select(t, a, i).unsqueeze(a)

    a0, a1, a2 = (comp(self, i) for i in range(3))
    b0, b1, b2 = (comp(o, i) for i in range(3))
    return cat([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], a)


def _dist(self, other, p=2):
    return _norm(self - other, p)


def _diff(self, n=1, dim=-1, prepend=None, append=None):
    t = self
    a = _axis(dim, t._data.ndim)
    if prepend is not None or append is not None:
        parts = (
            ([_t(prepend)] if prepend is not None else [])
            + [t]
            + ([_t(append)] if append is not None else [])
        )
        t = cat(parts, a)
    for _ in range(n):
        m = t._data.shape[a]
        if t._data.dtype == np.bool_:
            t = binary(_narrow(t, a, 1, m - 1), _narrow(t, a, 0, m - 1), "logical_xor")
        else:
            t = _narrow(t, a, 1, builtins.max(m - 1, 0)) - _narrow(t, a, 0, builtins.max(m - 1, 0))
    return t


# ------------------------------------------------------------ combining


def cat(tensors: Sequence, dim: int = 0) -> Tensor:
    """Concatenate along ``dim`` (PyTorch's promotion of the dtypes)."""
    ts = [_t(t) for t in tensors]
    if not ts:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    # PyTorch skips legacy empty 1-D tensors of shape (0,)
    keep = [t for t in ts if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or ts[:1]
    dt = _dt.promote([(t._data.dtype, _dt.DIM) for t in ts])
    a = _axis(dim, keep[0]._data.ndim)
    arrs = [t._data.astype(dt, copy=False) for t in keep]
    out = np.concatenate(arrs, axis=a)
    bounds = np.cumsum([x.shape[a] for x in arrs])[:-1]

    def backward(g):
        parts = np.split(g, bounds, axis=a)
        return [
            (t, p.astype(t._data.dtype, copy=False)) for t, p in zip(keep, parts) if t.requires_grad
        ]

    return result(out, "CatBackward0", tuple(keep), backward, ())


def stack(tensors: Sequence, dim: int = 0) -> Tensor:
    """Stack along a new dimension ``dim``."""
    ts = [_t(t) for t in tensors]
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    a = _axis(dim, ts[0]._data.ndim + 1)
    return named(cat([t.unsqueeze(a) for t in ts], a), "StackBackward0")


def hstack(tensors: Sequence) -> Tensor:
    ts = [_atleast(_t(t), 1) for t in tensors]
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1)


def vstack(tensors: Sequence) -> Tensor:
    return cat([_atleast(_t(t), 2) for t in tensors], 0)


def dstack(tensors: Sequence) -> Tensor:
    return cat([_atleast(_t(t), 3) for t in tensors], 2)


def column_stack(tensors: Sequence) -> Tensor:
    ts = [_t(t) for t in tensors]
    return cat([t.reshape(-1, 1) if t._data.ndim < 2 else t for t in ts], 1)


def broadcast_tensors(*tensors):
    ts = [
        _t(t)
        for t in (
            tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
        )
    ]
    shape = np.broadcast_shapes(*(t._data.shape for t in ts))
    return tuple(_expand(t, shape) for t in ts)


def block_diag(*tensors):
    ts = [_t(t) for t in tensors]
    ts = [
        t.reshape(1, -1) if t._data.ndim == 1 else t.reshape(1, 1) if t._data.ndim == 0 else t
        for t in ts
    ]
    dt = _dt.promote([(t._data.dtype, _dt.DIM) for t in ts])
    rows = builtins.sum(t._data.shape[0] for t in ts)
    cols = builtins.sum(t._data.shape[1] for t in ts)
    z = const(np.zeros((), dtype=dt))

    def f(*ps):
        *blocks, zp = ps
        out = np.full((rows, cols), zp)
        r = c = 0
        for b in blocks:
            out[r : r + b.shape[0], c : c + b.shape[1]] = b
            r, c = r + b.shape[0], c + b.shape[1]
        return out

    return movement(ts + [z], f, "BlockDiagBackward0", dtype=dt)


def cartesian_prod(*tensors):
    ts = [_t(t) for t in tensors]
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def meshgrid(*tensors, indexing="ij"):
    ts = [
        _t(t)
        for t in (
            tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
        )
    ]
    shape = tuple(t._data.size for t in ts)
    if indexing == "xy" and len(ts) >= 2:
        shape = (shape[1], shape[0]) + shape[2:]
    out = []
    for i, t in enumerate(ts):
        s = [1] * len(ts)
        j = i
        if indexing == "xy" and len(ts) >= 2 and i < 2:
            j = 1 - i
        s[j] = -1
        out.append(_expand(t.reshape(s), shape))
    return tuple(out)


# ------------------------------------------------------------ misc element-wise


def _clamp(self, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    out = self
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is not None:
            out = binary(out, min, "maximum")
        if max is not None:
            out = binary(out, max, "minimum")
        return out
    lo = -np.inf if min is None else min
    hi = np.inf if max is None else max
    x = self._data
    dt = _dt.promote(
        [(x.dtype, _dt.DIM)]
        + [(_dt.scalar_dtype(v), _dt.SCALAR) for v in (min, max) if v is not None]
    )
    xa = x.astype(dt, copy=False)
    o = np.asarray(np.minimum(np.maximum(xa, lo), hi).astype(dt, copy=False))
    if min is not None and max is not None and min > max:
        o = np.full_like(o, max)
    mask = (xa >= lo) & (xa <= hi)
    return result(o, "ClampBackward1", (self,), lambda g: ((self, g * mask),), ())


def _nan_to_num(self, nan=0.0, posinf=None, neginf=None):
    x = self._data
    if x.dtype.kind != "f":
        return self.clone()
    out = np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
    keep = np.isfinite(x)
    return result(out, "NanToNumBackward0", (self,), lambda g: ((self, g * keep),), ())


def _logit(self, eps=None):
    t = _real(self)
    x = t._data
    xc = x if eps is None else np.clip(x, eps, 1 - eps)
    with np.errstate(all="ignore"):
        out = np.log(xc / (1 - xc))

    def backward(g):
        with np.errstate(all="ignore"):
            d = g / (x * (1 - x))
            if eps is not None:
                d = np.where((x < eps) | (x > 1 - eps), 0, d)
            return ((t, d.astype(x.dtype)),)

    return result(out.astype(x.dtype), "LogitBackward0", (t,), backward)


def _round(self, *, decimals=0):
    x = self._data
    if x.dtype.kind != "f":
        return self.clone()
    out = np.round(x, decimals)
    return result(out, "RoundBackward0", (self,), lambda g: ((self, g * 0),), ())


def _polygamma(n, input):
    t = _real(_t(input))
    x = t._data
    out = _sp().polygamma(n, x).astype(x.dtype)
    return result(
        out,
        "PolygammaBackward0",
        (t,),
        lambda g: ((t, (g * _sp().polygamma(n + 1, x)).astype(x.dtype)),),
    )


def _mvlgamma(self, p):
    t = _real(self)
    x = t._data
    out = (
        _sp().multigammaln(x, p)
        if x.ndim == 0
        else np.vectorize(lambda v: _sp().multigammaln(v, p))(x)
    )
    out = np.asarray(out, dtype=x.dtype)

    def backward(g):
        d = builtins.sum(_sp().digamma(x - j / 2.0) for j in range(p))
        return ((t, (g * d).astype(x.dtype)),)

    return result(out, "MvlgammaBackward0", (t,), backward)


def _frexp(self):
    m, e = np.frexp(self._data)
    scale = np.exp2(-e.astype(self._data.dtype))
    mant = result(m, "FrexpBackward0", (self,), lambda g: ((self, g * scale),), ())
    return _Values((mant, const(e.astype(np.int32))), "frexp", ("mantissa", "exponent"))


def _bincount(self, weights=None, minlength=0):
    x = _long(self)
    if x.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    w = (
        None
        if weights is None
        else (weights._data if isinstance(weights, Tensor) else np.asarray(weights))
    )
    out = np.bincount(x, weights=w, minlength=minlength)
    if w is not None and w.dtype == np.float32:
        out = out.astype(np.float32)
    return const(out if w is not None else out.astype(np.int64))


def _isin(elements, test_elements, *, assume_unique=False, invert=False):
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    te = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return const(np.isin(e, te, invert=invert))


def _bucketize(input, boundaries, *, out_int32=False, right=False):
    x = input._data if isinstance(input, Tensor) else np.asarray(input)
    b = boundaries._data
    out = np.searchsorted(b, x, side="right" if right else "left")
    return const(np.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def _searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    s = sorted_sequence._data
    x = input._data if isinstance(input, Tensor) else np.asarray(input)
    sd = "right" if (right or side == "right") else "left"
    if sorter is not None:
        s = np.take_along_axis(s, _long(sorter), -1)
    if s.ndim <= 1:
        out = np.searchsorted(s, x, side=sd)
    else:
        out = np.stack(
            [
                np.searchsorted(sr, xr, side=sd)
                for sr, xr in zip(s.reshape(-1, s.shape[-1]), x.reshape(-1, x.shape[-1]))
            ]
        ).reshape(x.shape)
    return const(np.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def _histc(self, bins=100, min=0, max=0):
    x = self._data
    lo, hi = (float(min), float(max))
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    h, _ = np.histogram(x, bins=bins, range=(lo, hi))
    return const(h.astype(x.dtype))


def _aminmax(self, *, dim=None, keepdim=False):
    return _Values(
        (
            _amin(self, () if dim is None else dim, keepdim),
            _amax(self, () if dim is None else dim, keepdim),
        ),
        "aminmax",
        ("min", "max"),
    )


def _var_mean(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
    d, c, k = _var_args(dim, unbiased, keepdim, correction)
    return (_var(self, d, keepdim=k, correction=c), self.mean(d, k))


def _std_mean(self, dim=None, unbiased=True, keepdim=False, *, correction=None):
    d, c, k = _var_args(dim, unbiased, keepdim, correction)
    return (_std(self, d, keepdim=k, correction=c), self.mean(d, k))


def _cov(self, *, correction=1, fweights=None, aweights=None):
    x = self if self._data.ndim == 2 else self.reshape(1, -1)
    x = _real(x)
    n = x._data.shape[1]
    if fweights is None and aweights is None:
        d = x - x.mean(1, keepdim=True)
        c = matmul(d, d.transpose(0, 1)) / builtins.max(n - correction, 0)
        return c.reshape(()) if c._data.shape == (1, 1) else c  # one variable: 0-d
    w = None
    if fweights is not None:
        w = (
            _t(fweights)._cast(x._data.dtype)
            if _t(fweights)._data.dtype.kind != "f"
            else _t(fweights)
        )
    if aweights is not None:
        aw = _t(aweights)
        w = aw if w is None else w * aw
    assert w is not None
    wsum = w.sum()
    avg = (x * w).sum(1, keepdim=True) / wsum
    if correction == 0:
        norm = wsum
    elif aweights is None:
        norm = wsum - correction
    else:
        norm = wsum - correction * (w * _t(aweights)).sum() / wsum
    d = x - avg
    c = matmul(d * w, d.transpose(0, 1)) / norm
    return c.reshape(()) if c._data.shape == (1, 1) else c


def _corrcoef(self):
    c = _cov(self)
    if c._data.ndim == 0 or c._data.shape == (1, 1):  # one variable: a 0-d result, as PyTorch
        c = c.reshape(())
        return c / c
    dg = _diagonal(c).sqrt()
    return c / dg.reshape(-1, 1) / dg.reshape(1, -1)


def _trapezoid(y, x=None, *, dx=None, dim=-1):
    y = _t(y)
    a = _axis(dim, y._data.ndim)
    m = y._data.shape[a]
    left, right = _narrow(y, a, 0, builtins.max(m - 1, 0)), _narrow(y, a, 1, builtins.max(m - 1, 0))
    if x is not None and isinstance(x, Tensor):
        dxs = _diff(x, dim=a if x._data.ndim == y._data.ndim else -1)
        return ((left + right) * dxs).sum(a) / 2
    step = 1 if dx is None else dx if x is None else x
    return (left + right).sum(a) * (step / 2)


def _cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    y = _t(y)
    a = _axis(dim, y._data.ndim)
    m = y._data.shape[a]
    left, right = _narrow(y, a, 0, builtins.max(m - 1, 0)), _narrow(y, a, 1, builtins.max(m - 1, 0))
    if x is not None and isinstance(x, Tensor):
        dxs = _diff(x, dim=a if x._data.ndim == y._data.ndim else -1)
        return _cumsum((left + right) * dxs / 2, a)
    step = 1 if dx is None else dx if x is None else x
    return _cumsum((left + right) * (step / 2), a)


def _renorm(self, p, dim, maxnorm):
    a = _axis(dim, self._data.ndim)
    others = tuple(i for i in range(self._data.ndim) if i != a)
    norms = _norm(self, p, others, keepdim=True)
    nd = norms._data
    factor = np.where(nd > maxnorm, maxnorm / (nd + 1e-7), 1.0).astype(self._data.dtype)
    scale = where(
        const(nd > maxnorm),
        const(np.asarray(maxnorm, nd.dtype)) / (norms + 1e-7),
        const(np.ones((), nd.dtype)),
    )
    del factor
    return self * scale


def _cdist(x1, x2, p=2.0, compute_mode=None):
    a, b = _t(x1), _t(x2)
    d = a.unsqueeze(-2) - b.unsqueeze(-3)
    return _norm(d, p, -1)


def _combinations(self, r=2, with_replacement=False):
    import itertools

    n = self._data.shape[0]
    it = (itertools.combinations_with_replacement if with_replacement else itertools.combinations)(
        range(n), r
    )
    idx = np.array(list(it), dtype=np.int64).reshape(-1, r)
    return movement([self], lambda p: p[idx], "IndexBackward0")


def _tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    r, c = np.tril_indices(row, offset, col)
    return const(np.stack([r, c]).astype(np.int64))


def _triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    r, c = np.triu_indices(row, offset, col)
    return const(np.stack([r, c]).astype(np.int64))


def _einsum(equation, *operands):
    ops_ = [
        _t(o)
        for o in (
            operands[0]
            if len(operands) == 1 and isinstance(operands[0], (list, tuple))
            else operands
        )
    ]
    eq = equation.replace(" ", "")
    if "..." in eq:
        eq, ops_ = _einsum_ellipsis(eq, ops_)
    lhs, _, rhs = eq.partition("->")
    ins = lhs.split(",")
    if not _:
        letters = sorted(c for c in set(lhs.replace(",", "")) if lhs.count(c) == 1)
        rhs = "".join(letters)
    arrs = [o._data for o in ops_]
    out = np.asarray(np.einsum(f"{lhs}->{rhs}", *arrs))

    def backward(g):
        res = []
        for i, t in enumerate(ops_):
            if not t.requires_grad:
                continue
            others = [s for j, s in enumerate(ins) if j != i]
            oarr = [arrs[j] for j in range(len(arrs)) if j != i]
            target = ins[i]
            uniq = "".join(dict.fromkeys(target))
            avail = set(rhs) | set("".join(others))
            kept = "".join(c for c in uniq if c in avail)
            gi = np.einsum(",".join([rhs] + others) + "->" + kept, g, *oarr)
            if kept != uniq:  # letters summed away in the forward: the gradient is constant
                sizes = {c: n for c, n in zip(target, t._data.shape)}
                gi = np.broadcast_to(
                    gi.reshape([sizes[c] if c in kept else 1 for c in uniq]),
                    [sizes[c] for c in uniq],
                )
            if uniq != target:  # a repeated index: the gradient lands on the diagonal
                full = np.zeros(t._data.shape, dtype=t._data.dtype)
                idx = tuple(np.indices(gi.shape)[uniq.index(c)] for c in target)
                np.add.at(full, idx, gi)
                gi = full
            else:
                shape = t._data.shape
                gi = np.broadcast_to(gi, shape)
            res.append((t, np.asarray(gi, dtype=t._data.dtype)))
        return res

    return result(out, "EinsumBackward0", tuple(ops_), backward)


def _einsum_ellipsis(eq: str, ops_: list) -> Tuple[str, list]:
    """The equation with '...' spelled out in unused letters, and the operands broadcast
    over those dimensions (so that explicit letters, which do not broadcast, can name them)."""
    import string

    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    counts = [o._data.ndim - (len(sub) - 3) if "..." in sub else 0 for sub, o in zip(ins, ops_)]
    m = builtins.max(counts)
    free = [c for c in string.ascii_uppercase + string.ascii_lowercase if c not in eq][:m]
    shapes = []
    for sub, o, k in zip(ins, ops_, counts):
        if "..." in sub:
            i = sub.index("...")
            shapes.append(o._data.shape[i : i + k])
    full = np.broadcast_shapes(*shapes)
    new_ins, new_ops = [], []
    for sub, o, k in zip(ins, ops_, counts):
        if "..." not in sub:
            new_ins.append(sub)
            new_ops.append(o)
            continue
        i = sub.index("...")
        letters = "".join(free[m - k :])
        shape = o._data.shape[:i] + tuple(full[m - k :]) + o._data.shape[i + k :]
        new_ops.append(o if shape == o._data.shape else _expand(o, shape))
        new_ins.append(sub.replace("...", letters))
    if arrow:
        out = rhs.replace("...", "".join(free))
    else:
        out = "".join(free) + "".join(
            sorted(c for c in set(lhs) if c.isalpha() and lhs.replace(",", "").count(c) == 1)
        )
    return ",".join(new_ins) + "->" + out, new_ops


def _tensordot(a, b, dims=2):
    a, b = _t(a), _t(b)
    if isinstance(dims, int):
        da = list(range(a._data.ndim - dims, a._data.ndim))
        db = list(range(dims))
    else:
        da, db = (
            [int(d) for d in np.atleast_1d(dims[0])],
            [int(d) for d in np.atleast_1d(dims[1])],
        )
    # a contracted pair of a size-1 and a size-n dimension: the size-1 side is broadcast
    # to n first, as PyTorch does (its gradient then sums back over those n)
    sa, sb = list(a._data.shape), list(b._data.shape)
    for i, j in zip(da, db):
        if sa[i] == 1 and sb[j] != 1:
            sa[i] = sb[j]
        elif sb[j] == 1 and sa[i] != 1:
            sb[j] = sa[i]
    if tuple(sa) != a._data.shape:
        a = _expand(a, *sa)
    if tuple(sb) != b._data.shape:
        b = _expand(b, *sb)
    letters = "abcdefghijklmnopqrstuvwxyz"
    la = list(letters[: a._data.ndim])
    lb = list(letters[a._data.ndim : a._data.ndim + b._data.ndim])
    for i, j in zip(da, db):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in [d % a._data.ndim for d in da]] + [
        c for j, c in enumerate(lb) if j not in [d % b._data.ndim for d in db]
    ]
    return _einsum(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", a, b)


# ---------------------------------------------------------------- in place and out=


def _snapshot(t: Tensor) -> Tensor:
    """A copy of t's values that keeps t's place in the graph (what an in-place op reads)."""
    s = const(t._data.copy())
    s._grad_fn = t._grad_fn
    s.requires_grad = t.requires_grad
    return s


def _any_grad(args, kwargs) -> bool:
    return any(
        isinstance(a, Tensor) and a.requires_grad for a in tuple(args) + tuple(kwargs.values())
    )


def write_into(self: Tensor, out: Tensor, name: str) -> Tensor:
    """Store `out` into `self` in place (PyTorch's casting rule), adopting out's graph."""
    x, o = self._data, out._data
    if _dt.category(o.dtype) > _dt.category(x.dtype):
        raise RuntimeError(
            f"result type {CAT_NAME[_dt.category(o.dtype)]} can't be cast to the desired "
            f"output type {CAT_NAME[_dt.category(x.dtype)]}"
        )
    if np.broadcast_shapes(o.shape, x.shape) != x.shape:
        raise RuntimeError(
            f"output with shape {list(x.shape)} doesn't match the broadcast "
            f"shape {list(np.broadcast_shapes(o.shape, x.shape))}"
        )
    if not x.flags.writeable:
        raise ValueError("the tensor's values are read-only (a read-only NumPy array)")
    if out._grad_fn is not None and self._viewof is not None:
        raise NotImplementedError(
            VIEW_INPLACE.format(what=f"{name}_ of a value that requires grad")
        )
    np.copyto(x, o, casting="unsafe")
    self._vc[0] += 1
    if out._grad_fn is not None:
        if o.shape != x.shape:
            node = out._grad_fn
            src_shape = o.shape
            out = result(
                x, "ExpandBackward0", (out,), lambda g: ((out, unbroadcast(g, src_shape)),), ()
            )
            del node
        new_node = self._grad_fn = out._grad_fn
        if new_node is not None and new_node.output is not None:
            new_node.output = (self._vc, self._vc[0], x)  # its saved result is self now
        self.requires_grad = True
    return self


def inplace(fn: Callable, name: str) -> Callable:
    """The in-place method ``x.op_(...)`` of the out-of-place op ``fn``."""

    def method(self, *args, **kwargs):
        check_leaf_inplace(self)
        src = self
        if grad_mode.enabled and (self.requires_grad or _any_grad(args, kwargs)):
            src = _snapshot(self)
        return write_into(self, fn(src, *args, **kwargs), name)

    method.__name__ = name + "_"
    method.__doc__ = f"In-place :meth:`{name}` (updates and returns self)."
    return method


def with_out(fn: Callable) -> Callable:
    """``fn`` with PyTorch's ``out=`` keyword (resized to the result, as PyTorch)."""

    def wrapper(*args, out=None, **kwargs):
        res = fn(*args, **kwargs)
        if out is None:
            return res
        if isinstance(out, (tuple, list)):
            for o, r in zip(out, res):
                _store_out(o, r)
            return out
        return _store_out(out, res)

    wrapper.__name__ = getattr(fn, "__name__", "op")
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _store_out(o: Tensor, r: Any) -> Tensor:
    r = _t(r)
    if o.requires_grad and grad_mode.enabled:
        raise RuntimeError(
            f"{r._grad_fn.name if r._grad_fn else 'op'}(): functions with out=... "
            "arguments don't support automatic differentiation, but one of the "
            "arguments requires grad."
        )
    if r._data.dtype != o._data.dtype and _dt.category(r._data.dtype) > _dt.category(o._data.dtype):
        raise RuntimeError(
            f"result type {CAT_NAME[_dt.category(r._data.dtype)]} can't be cast "
            f"to the desired output type {CAT_NAME[_dt.category(o._data.dtype)]}"
        )
    o._data = (
        r._data.astype(o._data.dtype, copy=True) if o._data.shape != r._data.shape else o._data
    )
    np.copyto(o._data, r._data, casting="unsafe")
    o._vc[0] += 1
    return o


# ------------------------------------------------------------ views (share memory)


def _reshape(self, *shape):
    """The values in another shape (a view when NumPy can make one, as PyTorch)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    x = self._data
    out = x.reshape(tuple(int(s) for s in shape))
    return view_result(out, "ViewBackward0", self, lambda g: ((self, g.reshape(x.shape)),))


def _view_as(self, other):
    """``reshape(other.shape)``."""
    return self.reshape(other.shape)


def _flatten(self, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` into one."""
    s = self._data.shape
    if not s:
        return self.reshape(1)
    a, b = _axis(start_dim, len(s)), _axis(end_dim, len(s))
    return self.reshape(s[:a] + (math.prod(s[a : b + 1]),) + s[b + 1 :])


def _transpose(self, dim0, dim1):
    """Swap two dimensions (a view)."""
    x = self._data
    if not x.ndim:
        return self.reshape(())
    a, b = _axis(dim0, x.ndim), _axis(dim1, x.ndim)
    return view_result(
        np.swapaxes(x, a, b),
        "TransposeBackward0",
        self,
        lambda g: ((self, np.swapaxes(g, a, b)),),
        True,
    )


def _tt(self):
    """Transpose of a tensor of at most 2 dimensions."""
    if self._data.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D"
        )
    return self if self._data.ndim < 2 else named(_transpose(self, 0, 1), "TBackward0")


# ---------------------------------------------------------------- the method table


def _binary_method(name: str, reverse: bool = False) -> Callable:
    def method(self, other, *, alpha=None):
        if alpha is not None and alpha != 1:
            other = binary(other, alpha, "mul")
        return binary(self, other, name, reverse)

    method.__name__ = name
    method.__doc__ = f"``{name}`` element-wise, with broadcasting and PyTorch's promotion."
    return method


def _div(self, other, *, rounding_mode=None):
    if rounding_mode is None:
        return binary(self, other, "div")
    if rounding_mode in ("floor", "trunc"):
        x, px, _ = operand(self)
        y, py, ot = operand(other)
        kind = _dt.promote(((x.dtype, px), (y.dtype, py)))
        with np.errstate(all="ignore"):
            if kind.kind == "f":
                q = np.true_divide(x.astype(kind), y.astype(kind))
                out = np.floor(q) if rounding_mode == "floor" else np.trunc(q)
            else:
                if (y == 0).any():
                    raise RuntimeError("ZeroDivisionError")
                out = (
                    np.floor_divide(x, y)
                    if rounding_mode == "floor"
                    else (np.trunc(np.true_divide(x, y)))
                )
        ins = tuple(t for t in (self, ot) if t is not None)
        return result(
            np.asarray(out).astype(kind),
            "DivBackward2",
            ins,
            lambda g: [(t, np.zeros(t._data.shape, t._data.dtype)) for t in ins if t.requires_grad],
            (),
        )
    raise RuntimeError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
        f"found '{rounding_mode}'"
    )


def _unary_method(name: str) -> Callable:
    def method(self):
        return unary(self, name)

    method.__name__ = name
    method.__doc__ = f"``{name}`` element-wise (see :data:`fastdense._tensor.ops.UNARY`)."
    return method


def _sum(self, dim=None, keepdim=False, dtype=None):
    """Sum of the elements (over ``dim`` if given); integers and bools give int64."""
    x = self._data
    axes = _dims(dim, x.ndim)
    odt = (
        _dt.resolve(dtype) if dtype is not None else (x.dtype if x.dtype.kind == "f" else _dt.int64)
    )
    out = np.asarray(x.sum(axis=axes, keepdims=keepdim, dtype=odt))

    def backward(g):
        return ((self, _expand_back(g, axes, keepdim, x.shape).astype(x.dtype, copy=False)),)

    # (PyTorch's overloads: sum() is SumBackward0, sum(dim) SumBackward1)
    return result(out, "SumBackward0" if dim is None else "SumBackward1", (self,), backward, ())


def _mean(self, dim=None, keepdim=False, *, dtype=None):
    """Mean of the elements (over ``dim`` if given); float tensors only, as in PyTorch."""
    t = self if dtype is None else self._cast(_dt.resolve(dtype))
    x = t._data
    if x.dtype.kind != "f":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a "
            f"floating point or complex dtype. Got: {CAT_NAME[_dt.category(x.dtype)]}"
        )
    axes = _dims(dim, x.ndim)
    with np.errstate(all="ignore"):
        if x.size == 0:
            out = np.asarray(np.sum(x, axis=axes, keepdims=keepdim) * np.nan, dtype=x.dtype)
        else:
            out = np.asarray(x.mean(axis=axes, keepdims=keepdim), dtype=x.dtype)
    count = x.size // builtins.max(out.size, 1) if x.size else 0

    def backward(g):
        if not count:
            return ((t, np.zeros(x.shape, dtype=x.dtype)),)
        return ((t, (_expand_back(g, axes, keepdim, x.shape) / count).astype(x.dtype)),)

    return result(out, "MeanBackward0" if dim is None else "MeanBackward1", (t,), backward, ())


def _max(self, dim=None, keepdim=False):
    """The largest element (gradient split among ties), ``(values, indices)`` along ``dim``,
    or the element-wise maximum with a tensor."""
    if isinstance(dim, Tensor):
        return maximum(self, dim)
    if dim is None:
        if self._data.size == 0:
            raise RuntimeError(
                "max(): Expected reduction dim to be specified for input.numel() "
                "== 0. Specify the reduction dim with the 'dim' argument."
            )
        return named(_amax(self), "MaxBackward1")
    return _dim_extreme(self, dim, keepdim, True)


def _min(self, dim=None, keepdim=False):
    """The smallest element, ``(values, indices)`` along ``dim``, or the element-wise minimum."""
    if isinstance(dim, Tensor):
        return minimum(self, dim)
    if dim is None:
        if self._data.size == 0:
            raise RuntimeError(
                "min(): Expected reduction dim to be specified for input.numel() "
                "== 0. Specify the reduction dim with the 'dim' argument."
            )
        return named(_amin(self), "MinBackward1")
    return _dim_extreme(self, dim, keepdim, False)


def _nan_arg(x: np.ndarray, axis: int, largest: bool) -> np.ndarray:
    """argmax/argmin where a NaN counts as the extreme (PyTorch's propagation)."""
    idx = np.argmax(x, axis=axis) if largest else np.argmin(x, axis=axis)
    if x.dtype.kind == "f":
        nan = np.isnan(x)
        if nan.any():
            idx = np.where(nan.any(axis=axis), np.argmax(nan, axis=axis), idx)
    return idx


def _dim_extreme(self, dim, keepdim, largest):
    x = self._data
    if not x.ndim:
        _axis(dim, 0)
        return _of_scalar(self, "max" if largest else "min")
    a = _axis(dim, x.ndim)
    if x.shape[a] == 0:
        raise IndexError(
            f"{'max' if largest else 'min'}(): Expected reduction dim {a} to have non-zero size."
        )
    idx = np.expand_dims(_nan_arg(x, a, largest), a)
    vals = _along(self, idx, a, "MaxBackward0" if largest else "MinBackward0")
    if not keepdim:
        vals = named(vals.squeeze(a), "MaxBackward0" if largest else "MinBackward0")
        idx = np.squeeze(idx, a)
    return _Values((vals, const(idx.astype(np.int64))), "max" if largest else "min")


def _arg_extreme(self, dim, keepdim, largest):
    x = self._data
    if dim is None:
        if x.size == 0:
            raise IndexError(
                f"{'argmax' if largest else 'argmin'}(): Expected reduction dim "
                "to be specified for input.numel() == 0."
            )
        i = const(np.asarray(_nan_arg(x.reshape(-1), 0, largest), dtype=np.int64))
        return i.reshape((1,) * x.ndim) if keepdim else i
    if not x.ndim:
        return const(np.zeros((), np.int64))
    a = _axis(dim, x.ndim)
    if x.shape[a] == 0:
        raise IndexError(
            f"{'argmax' if largest else 'argmin'}(): Expected reduction dim {a} "
            "to have non-zero size."
        )
    idx = _nan_arg(x, a, largest).astype(np.int64)
    return const(np.expand_dims(idx, a) if keepdim else idx)


def _all(self, dim=None, keepdim=False, **numpy_kwargs):
    dim = numpy_kwargs.get("axis", dim)  # (np.all(tensor) passes axis=)
    x = self._data
    return const(np.asarray(np.all(x, axis=_dims(dim, x.ndim), keepdims=keepdim)))


def _any(self, dim=None, keepdim=False, **numpy_kwargs):
    dim = numpy_kwargs.get("axis", dim)
    x = self._data
    return const(np.asarray(np.any(x, axis=_dims(dim, x.ndim), keepdims=keepdim)))


def _new(self, arr) -> Tensor:
    return const(arr)


def _new_full(
    self,
    size,
    fill_value,
    *,
    dtype=None,
    device=None,
    requires_grad=False,
    layout=None,
    pin_memory=False,
):
    t = const(
        np.full(
            tuple(size), fill_value, dtype=self._data.dtype if dtype is None else _dt.resolve(dtype)
        )
    )
    return t.requires_grad_(True) if requires_grad else t


def _new_zeros(
    self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False
):
    return _new_full(self, _sizes(size), 0, dtype=dtype, requires_grad=requires_grad)


def _new_ones(
    self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False
):
    return _new_full(self, _sizes(size), 1, dtype=dtype, requires_grad=requires_grad)


def _new_empty(
    self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False
):
    return _new_full(self, _sizes(size), 0, dtype=dtype, requires_grad=requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    arr = np.array(
        data._data if isinstance(data, Tensor) else data,
        dtype=self._data.dtype if dtype is None else _dt.resolve(dtype),
    )
    t = const(arr)
    return t.requires_grad_(True) if requires_grad else t


def _fill(self, value):
    v = _scalar_tensor(value, self)
    return movement(
        [self, v],
        lambda p, vp: np.broadcast_to(vp, p.shape).copy(),
        "FillBackward0",
        dtype=self._data.dtype,
    )


def _zero(self):
    return _fill(self, 0)


def _copy(self, src, non_blocking=False):
    s = _t(src)
    shape = self._data.shape
    return movement(
        [self, s],
        lambda p, sp: np.broadcast_to(sp, shape).copy(),
        "CopyBackwards",
        dtype=self._data.dtype,
    )


def _random_fill(name):
    def method(self, *args, generator=None, **kwargs):
        from .._random import default_generator

        check_leaf_inplace(self)
        g = default_generator() if generator is None else generator._rng
        x = self._data
        if name == "normal_":
            mean, std = (list(args) + [0.0, 1.0][len(args) :])[:2]
            mean, std = kwargs.get("mean", mean), kwargs.get("std", std)
            vals = g.normal(mean, std, x.shape)
        elif name == "uniform_":
            a, b = (list(args) + [0.0, 1.0][len(args) :])[:2]
            a, b = kwargs.get("from", kwargs.get("a", a)), kwargs.get("to", kwargs.get("b", b))
            vals = g.uniform(a, b, x.shape)
        elif name == "bernoulli_":
            p = args[0] if args else kwargs.get("p", 0.5)
            p = p._data if isinstance(p, Tensor) else p
            vals = g.random(x.shape) < p
        elif name == "exponential_":
            lam = args[0] if args else kwargs.get("lambd", 1.0)
            vals = g.exponential(1.0 / lam, x.shape)
        elif name == "random_":
            lo, hi = (0, args[0]) if len(args) == 1 else (args if args else (0, 2**24))
            vals = g.integers(lo, hi, x.shape)
        else:
            raise AssertionError(name)
        np.copyto(x, vals, casting="unsafe")
        self._vc[0] += 1
        return self

    method.__name__ = name
    method.__doc__ = f"Fill in place with random draws ({name[:-1]}; fastdense's stream)."
    return method


def _bernoulli(self, p=None, *, generator=None):
    from .._random import default_generator

    g = default_generator() if generator is None else generator._rng
    prob = self._data if p is None else p
    return const((g.random(self._data.shape) < prob).astype(self._data.dtype))


def _view(self, *shape):
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer)):
        return _view_dtype(self, _dt.resolve(shape[0]))
    return self.reshape(*shape)


def _view_dtype(self: Tensor, dtype: np.dtype) -> Tensor:
    """``view(dtype)``: the same bytes read as ``dtype`` (not a cast), sharing the values
    and the version counter; outside the graph, as in PyTorch (the same dtype: a view)."""
    x = self._data
    if dtype == x.dtype:
        return self.reshape(x.shape)
    try:
        out = x.view(dtype)
    except ValueError as exc:
        raise RuntimeError(f"view(dtype): {exc}") from None
    t = const(out)
    t._vc = self._vc
    return t


def _expand_as(self, other):
    return _expand(self, other.shape)


def _reshape_as(self, other):
    return self.reshape(other.shape)


def _swap(self, dim0, dim1):
    return self.transpose(dim0, dim1)


def _mT(self):
    return self.transpose(-2, -1)


def _ravel(self):
    return self.reshape(-1)


def _clone(self, *, memory_format=None):
    from .tensor import check_memory_format

    check_memory_format(memory_format)
    x = self._data
    return result(x.copy(), "CloneBackward0", (self,), lambda g: ((self, g),), ())


def _apply_(self, fn):
    x = self._data
    np.copyto(x, np.vectorize(fn)(x), casting="unsafe")
    self._vc[0] += 1
    return self


def _softmax_m(self, dim, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    return softmax(self, dim, dtype)


def _log_softmax_m(self, dim, dtype=None):
    """``log(softmax(x))`` along ``dim``, without overflow."""
    return log_softmax(self, dim, dtype)


def _rsub(self, other, *, alpha=1):
    return binary(
        other if alpha == 1 else binary(other, 1, "mul"),
        self if alpha == 1 else binary(self, alpha, "mul"),
        "sub",
    )


# method name -> function(self, ...); every entry also gets a torch.<name> function form
METHODS: Dict[str, Callable] = {
    "reshape": _reshape,
    "view_as": _view_as,
    "flatten": _flatten,
    "transpose": _transpose,
    "t": _tt,
    "sum": _sum,
    "mean": _mean,
    "max": _max,
    "min": _min,
    "argmax": lambda self, dim=None, keepdim=False: _arg_extreme(self, dim, keepdim, True),
    "argmin": lambda self, dim=None, keepdim=False: _arg_extreme(self, dim, keepdim, False),
    "all": _all,
    "any": _any,
    "prod": _prod,
    "amax": _amax,
    "amin": _amin,
    "aminmax": _aminmax,
    "var": _var,
    "std": _std,
    "var_mean": _var_mean,
    "std_mean": _std_mean,
    "norm": _norm,
    "logsumexp": _logsumexp,
    "nansum": _nansum,
    "nanmean": _nanmean,
    "count_nonzero": _count_nonzero,
    "cumsum": _cumsum,
    "cumprod": _cumprod,
    "logcumsumexp": _logcumsumexp,
    "cummax": lambda self, dim: _cum_extreme(self, dim, np.greater, "CummaxBackward0"),
    "cummin": lambda self, dim: _cum_extreme(self, dim, np.less, "CumminBackward0"),
    "median": lambda self, dim=None, keepdim=False: _median(self, dim, keepdim),
    "nanmedian": lambda self, dim=None, keepdim=False: _median(self, dim, keepdim, True),
    "quantile": _quantile,
    "nanquantile": lambda self, q, dim=None, keepdim=False, *, interpolation="linear": _quantile(
        self, q, dim, keepdim, interpolation=interpolation, ignore_nan=True
    ),
    "sort": _sort,
    "argsort": _argsort,
    "msort": lambda self: _sort(self, 0)[0],
    "topk": _topk,
    "kthvalue": _kthvalue,
    "softmax": _softmax_m,
    "log_softmax": _log_softmax_m,
    "permute": _permute,
    "expand": _expand,
    "expand_as": _expand_as,
    "repeat": _repeat,
    "tile": lambda self, *dims: _repeat(
        self, (1,) * builtins.max(0, self._data.ndim - len(_sizes(dims))) + _sizes(dims)
    ),
    "flip": _flip,
    "fliplr": lambda self: _flip(self, 1),
    "flipud": lambda self: _flip(self, 0),
    "roll": _roll,
    "narrow": _narrow,
    "narrow_copy": lambda self, *a, **k: _narrow(self, *a, **k).clone(),
    "select": _select,
    "unbind": _unbind,
    "split": _split,
    "split_with_sizes": _split,
    "chunk": _chunk,
    "unsafe_chunk": _chunk,
    "unsafe_split": _split,
    "tensor_split": _tensor_split,
    "hsplit": lambda self, s: _tensor_split(self, s, 1 if self._data.ndim > 1 else 0),
    "vsplit": lambda self, s: _tensor_split(self, s, 0),
    "dsplit": lambda self, s: _tensor_split(self, s, 2),
    "diag": _diag,
    "diagonal": _diagonal,
    "diag_embed": _diag_embed,
    "diagflat": lambda self, offset=0: _diag(self.reshape(-1), offset),
    "triu": lambda self, diagonal=0: _tri(self, diagonal, True),
    "tril": lambda self, diagonal=0: _tri(self, diagonal, False),
    "unflatten": _unflatten,
    "movedim": _movedim,
    "moveaxis": _movedim,
    "repeat_interleave": _repeat_interleave,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "ravel": _ravel,
    "reshape_as": _reshape_as,
    "swapaxes": _swap,
    "swapdims": _swap,
    "broadcast_to": _expand,
    "gather": _gather,
    "index_select": _index_select,
    "take": _take,
    "take_along_dim": _take_along_dim,
    "masked_select": _masked_select,
    "masked_fill": _masked_fill_fixed,
    "index_fill": _index_fill,
    "scatter": _scatter,
    "scatter_add": _scatter_add,
    "scatter_reduce": _scatter_reduce,
    "index_add": _index_add,
    "index_copy": _index_copy,
    "index_put": _index_put,
    "put": _put,
    "masked_scatter": _masked_scatter,
    "slice_scatter": _slice_scatter,
    "select_scatter": _select_scatter,
    "diagonal_scatter": _diagonal_scatter,
    "matmul": matmul,
    "mm": _mm,
    "bmm": _bmm,
    "mv": _mv,
    "dot": _dot,
    "inner": _inner,
    "outer": _outer,
    "ger": _outer,
    "addmm": _addmm,
    "addmv": _addmv,
    "addr": _addr,
    "baddbmm": _baddbmm,
    "addbmm": _addbmm,
    "addcmul": _addcmul,
    "addcdiv": _addcdiv,
    "lerp": _lerp,
    "trace": _trace,
    "kron": _kron,
    "cross": _cross,
    "dist": _dist,
    "diff": _diff,
    "clamp": _clamp,
    "clip": _clamp,
    "nan_to_num": _nan_to_num,
    "logit": _logit,
    "round": _round,
    "mvlgamma": _mvlgamma,
    "frexp": _frexp,
    "bincount": _bincount,
    "histc": _histc,
    "renorm": _renorm,
    "cov": _cov,
    "corrcoef": _corrcoef,
    "div": _div,
    "divide": _div,
    "true_divide": _div,
    "rsub": _rsub,
    "new_full": _new_full,
    "new_zeros": _new_zeros,
    "new_ones": _new_ones,
    "new_empty": _new_empty,
    "new_tensor": _new_tensor,
    "fill": _fill,
    "zero": _zero,
    "copy": _copy,
    "view": _view,
    "clone": _clone,
    "relu": lambda self: kernel_activation(
        self, _kernels.ACTIVATIONS["relu"], 0.0, "ReluBackward0"
    ),
    "tanh": lambda self: kernel_activation(
        self, _kernels.ACTIVATIONS["tanh"], 0.0, "TanhBackward0"
    ),
    "sigmoid": lambda self: kernel_activation(
        self, _kernels.ACTIVATIONS["sigmoid"], 0.0, "SigmoidBackward0"
    ),
    "nonzero": lambda self, *, as_tuple=False: where(self) if as_tuple else _argwhere(self),
    "argwhere": lambda self: _argwhere(self),
    "combinations": _combinations,
    "bernoulli": _bernoulli,
    "isclose": lambda self, other, rtol=1e-05, atol=1e-08, equal_nan=False: const(
        np.isclose(self._data, _t(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    ),
    "allclose": lambda self, other, rtol=1e-05, atol=1e-08, equal_nan=False: builtins.bool(
        np.allclose(self._data, _t(other)._data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    ),
    "equal": lambda self, other: builtins.bool(
        self._data.shape == _t(other)._data.shape and np.array_equal(self._data, _t(other)._data)
    ),
    "isreal": lambda self: const(np.ones(self._data.shape, bool)),
    "sum_to_size": lambda self, *size: _sum_to_size(self, _sizes(size)),
}
for _n in BINARY:
    if _n not in METHODS:
        METHODS[_n] = _binary_method(_n)
for _n in UNARY:
    if _n not in METHODS:
        METHODS[_n] = _unary_method(_n)
METHODS["bitwise_not"] = lambda self: (
    const(np.invert(self._data)) if self._data.dtype.kind != "f" else _raise_bitwise()
)


def _raise_bitwise():
    raise TypeError("bitwise_not is only supported for integer and boolean tensors")


def _argwhere(self):
    x = self._data
    if x.ndim == 0:
        return const(np.zeros((int(builtins.bool(x)), 0), dtype=np.int64))
    return const(np.argwhere(x).astype(np.int64))


def _atleast_all(ts, n):
    """atleast_nd of one tensor, or a tuple for several (or a sequence of) tensors."""
    if len(ts) == 1 and isinstance(ts[0], (list, tuple)):
        return tuple(_atleast(_t(t), n) for t in ts[0])
    if len(ts) == 1:
        return _atleast(_t(ts[0]), n)
    return tuple(_atleast(_t(t), n) for t in ts)


def _sum_to_size(self, size):
    x = self._data
    return result(
        unbroadcast(x, tuple(size)).reshape(size),
        "SumToSizeBackward0",
        (self,),
        lambda g: ((self, np.broadcast_to(g, x.shape)),),
        (),
    )


# torch.<name> functions that are not tensor methods
FUNCTIONS: Dict[str, Callable] = {
    "cat": cat,
    "concat": cat,
    "concatenate": cat,
    "stack": stack,
    "hstack": hstack,
    "vstack": vstack,
    "row_stack": vstack,
    "dstack": dstack,
    "column_stack": column_stack,
    "where": where,
    "broadcast_tensors": broadcast_tensors,
    "block_diag": block_diag,
    "cartesian_prod": cartesian_prod,
    "meshgrid": meshgrid,
    "polygamma": _polygamma,
    "isin": _isin,
    "bucketize": _bucketize,
    "searchsorted": _searchsorted,
    "trapezoid": _trapezoid,
    "trapz": _trapezoid,
    "cumulative_trapezoid": _cumulative_trapezoid,
    "cdist": _cdist,
    "tril_indices": _tril_indices,
    "triu_indices": _triu_indices,
    "einsum": _einsum,
    "tensordot": _tensordot,
    "slice_copy": _slice,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "maximum": maximum,
    "minimum": minimum,
    "matmul": matmul,
    "broadcast_shapes": lambda *shapes: shape_of(np.broadcast_shapes(*shapes)),
    "atleast_1d": lambda *ts: _atleast_all(ts, 1),
    "atleast_2d": lambda *ts: _atleast_all(ts, 2),
    "atleast_3d": lambda *ts: _atleast_all(ts, 3),
}

for _n in (
    "alias",
    "diagonal",
    "expand",
    "permute",
    "squeeze",
    "t",
    "transpose",
    "unbind",
    "unsqueeze",
    "view",
    "split_with_sizes",
    "narrow",
    "unfold",
):
    if _n in METHODS or _n in ("expand", "view", "alias"):
        FUNCTIONS[_n + "_copy"] = (
            lambda name: lambda input, *a, **k: _copied(getattr(_t(input), name)(*a, **k))
        )(_n if _n != "alias" else "clone")


def _copied(res):
    if isinstance(res, Tensor):
        return res.clone() if res._data.base is not None else res
    return type(res)(_copied(r) for r in res)


def _unravel_index(indices, shape):
    idx = _long(indices)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if idx.size and (idx.min() < -math.prod(shape) or idx.max() >= math.prod(shape)):
        raise RuntimeError("index out of bounds")
    return tuple(
        const(np.asarray(a, dtype=np.int64))
        for a in np.unravel_index(idx % builtins.max(math.prod(shape), 1), shape)
    )


FUNCTIONS["unravel_index"] = _unravel_index


def _mode(self, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest among ties) and the index of its
    last occurrence, as PyTorch."""
    x = self._data
    if not x.ndim:
        return _of_scalar(self, "mode")
    a = _axis(dim, x.ndim)
    xm = np.moveaxis(x, a, -1)
    rows = xm.reshape(-1, xm.shape[-1])
    idx = np.zeros(rows.shape[0], dtype=np.int64)
    for r, row in enumerate(rows):
        vals, counts = np.unique(row, return_counts=True)  # sorted: ties pick the smallest
        v = vals[np.argmax(counts)]
        idx[r] = np.flatnonzero((row == v) | (np.isnan(row) & np.isnan(v)))[-1]
    idx = np.moveaxis(idx.reshape(xm.shape[:-1] + (1,)), -1, a)
    vals_t = _along(self, idx, a, "ModeBackward0")
    if not keepdim:
        vals_t, idx = vals_t.squeeze(a), np.squeeze(idx, a)
    return _Values((vals_t, const(idx)), "mode")


def _index_reduce(self, dim, index, source, reduce, *, include_self=True):
    """index_reduce as a scatter_reduce: the index repeated along the other dimensions."""
    if not self._data.ndim:  # a 0-d tensor reduces as a 1-element one
        return _index_reduce(
            self.reshape(1), 0, index, _t(source).reshape(1), reduce, include_self=include_self
        ).reshape(())
    src = _t(source)
    a = _axis(dim, self._data.ndim)
    idx = _long(index).reshape(-1)
    shape = [1] * src._data.ndim
    shape[a] = idx.size
    full = np.ascontiguousarray(np.broadcast_to(idx.reshape(shape), src._data.shape))
    return _scatter_reduce(self, a, full, src, reduce, include_self=include_self)


def _gradient(input, *, spacing=None, dim=None, edge_order=1):
    """Central differences inside, one-sided at the edges (``torch.gradient``), built from
    tensor ops so the backward pass comes with them. Uniform spacings only."""
    x = _real(_t(input))
    nd = x._data.ndim
    dims = (
        list(range(nd))
        if dim is None
        else ([_axis(dim, nd)] if isinstance(dim, int) else [_axis(d, nd) for d in dim])
    )
    spacing = 1 if spacing is None else spacing
    sp = spacing if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    if len(sp) == 1 and len(dims) > 1:
        sp = list(sp) * len(dims)
    outs = []
    for d, h in zip(dims, sp):
        if isinstance(h, Tensor):
            if h._data.ndim:
                raise NotImplementedError(
                    "torch.gradient with coordinate tensors is not "
                    "implemented by fastdense (uniform spacing only)"
                )
            h = float(h.item())
        n = x._data.shape[d]
        if n < edge_order + 1:
            raise RuntimeError(
                "torch.gradient expected each dimension size to be at least edge_order+1"
            )
        mid = (_narrow(x, d, 2, n - 2) - _narrow(x, d, 0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (_narrow(x, d, 1, 1) - _narrow(x, d, 0, 1)) / h
            last = (_narrow(x, d, n - 1, 1) - _narrow(x, d, n - 2, 1)) / h
        else:
            first = (_narrow(x, d, 0, 1) * -3 + _narrow(x, d, 1, 1) * 4 - _narrow(x, d, 2, 1)) / (
                2 * h
            )
            last = (
                _narrow(x, d, n - 1, 1) * 3 - _narrow(x, d, n - 2, 1) * 4 + _narrow(x, d, n - 3, 1)
            ) / (2 * h)
        outs.append(cat([first, mid, last], d))
    return tuple(outs)


METHODS["mode"] = _mode
METHODS["index_reduce"] = _index_reduce
FUNCTIONS["gradient"] = _gradient


def _igamma(self, other):
    a, x = _real(_t(self)), _t(other)
    out = _sp().gammainc(a._data, x._data.astype(a._data.dtype))
    xd = x._data.astype(a._data.dtype)

    def backward(g):
        # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a); PyTorch has no gradient for a either
        with np.errstate(all="ignore"):
            d = np.exp((a._data - 1) * np.log(xd) - xd - _sp().gammaln(a._data))
        return (
            [(x, unbroadcast(g * d, x._data.shape).astype(x._data.dtype))]
            if x.requires_grad
            else []
        )

    return result(np.asarray(out, dtype=a._data.dtype), "IgammaBackward0", (a, x), backward)


def _igammac(self, other):
    return 1 - _igamma(self, other)


METHODS["igamma"], METHODS["igammac"] = _igamma, _igammac
FUNCTIONS["gammainc"], FUNCTIONS["gammaincc"] = _igamma, _igammac

# in-place forms x.op_(): every element-wise op, the fills and the in-place shape ops
INPLACE = (
    [n for n in BINARY if BINARY[n][3] != "bool" or n in ("eq", "ne", "lt", "le", "gt", "ge")]
    + [n for n in UNARY if UNARY[n][3] != "bool" or n == "logical_not"]
    + [
        "clamp",
        "clip",
        "nan_to_num",
        "logit",
        "round",
        "masked_fill",
        "index_fill",
        "scatter",
        "scatter_add",
        "scatter_reduce",
        "index_add",
        "index_copy",
        "index_put",
        "put",
        "masked_scatter",
        "fill",
        "zero",
        "copy",
        "addmm",
        "addmv",
        "addr",
        "baddbmm",
        "addbmm",
        "addcmul",
        "addcdiv",
        "lerp",
        "cumsum",
        "cumprod",
        "tril",
        "index_reduce",
        "triu",
        "renorm",
        "relu",
        "sigmoid",
        "tanh",
        "div",
        "true_divide",
        "squeeze",
        "unsqueeze",
        "mvlgamma",
        "sub",
        "add",
        "mul",
    ]
)


def _comparison_inplace(name: str) -> Callable:
    def method(self, other):
        res = binary(self, other, name)
        return write_into(self, const(res._data.astype(self._data.dtype)), name)

    return method


def install() -> None:
    """Put every op on Tensor: methods, in-place forms, operators."""
    for name, fn in METHODS.items():
        setattr(Tensor, name, fn)
    for name in INPLACE:
        if name in ("eq", "ne", "lt", "le", "gt", "ge"):
            setattr(Tensor, name + "_", _comparison_inplace(name))
        else:
            setattr(Tensor, name + "_", inplace(METHODS[name], name))
    for name in ("normal_", "uniform_", "bernoulli_", "exponential_", "random_"):
        setattr(Tensor, name, _random_fill(name))
    setattr(Tensor, "fill_", inplace(_fill, "fill"))
    setattr(Tensor, "zero_", inplace(_zero, "zero"))
    setattr(Tensor, "copy_", inplace(_copy, "copy"))
    setattr(Tensor, "apply_", _apply_)
    ops = {
        "__add__": "add",
        "__sub__": "sub",
        "__mul__": "mul",
        "__truediv__": "div",
        "__pow__": "pow",
        "__floordiv__": "floor_divide",
        "__mod__": "remainder",
        "__and__": "bitwise_and",
        "__or__": "bitwise_or",
        "__xor__": "bitwise_xor",
        "__lshift__": "bitwise_left_shift",
        "__rshift__": "bitwise_right_shift",
        "__lt__": "lt",
        "__le__": "le",
        "__gt__": "gt",
        "__ge__": "ge",
        "__eq__": "eq",
        "__ne__": "ne",
    }
    for dunder, name in ops.items():
        setattr(Tensor, dunder, _op(name))
        if not name.startswith(("l", "g", "e", "n")) or name == "bitwise_left_shift":
            setattr(Tensor, "__r" + dunder[2:], _op(name, True))
    for dunder in (
        "__iadd__",
        "__isub__",
        "__imul__",
        "__itruediv__",
        "__ipow__",
        "__ifloordiv__",
        "__imod__",
        "__iand__",
        "__ior__",
        "__ixor__",
    ):
        name = ops["__" + dunder[3:]]
        setattr(Tensor, dunder, inplace(_binary_method(name), name))
    setattr(Tensor, "__neg__", METHODS["neg"])
    setattr(Tensor, "__abs__", METHODS["abs"])
    setattr(Tensor, "__invert__", METHODS["bitwise_not"])
    setattr(Tensor, "__pos__", lambda self: self)
    setattr(Tensor, "__matmul__", matmul)
    setattr(Tensor, "__rmatmul__", lambda self, other: matmul(tensor_or_const(other), self))
    setattr(Tensor, "__getitem__", _getitem)
    setattr(Tensor, "__setitem__", _setitem)
    setattr(Tensor, "T", property(lambda self: _permute(self, tuple(range(self._data.ndim))[::-1])))
    setattr(Tensor, "mT", property(_mT))
    setattr(Tensor, "H", property(lambda self: _permute(self, tuple(range(self._data.ndim))[::-1])))
    setattr(Tensor, "mH", property(_mT))
    setattr(Tensor, "adjoint", _mT)
    setattr(Tensor, "absolute", METHODS["abs"])
    setattr(Tensor, "absolute_", getattr(Tensor, "abs_"))


def _op(name: str, reverse: bool = False) -> Callable:
    def method(self, other):
        if name in ("eq", "ne") and not isinstance(
            other, (Tensor, int, float, bool, np.ndarray, np.number, list, tuple)
        ):
            return NotImplemented
        return binary(self, other, name, reverse)

    return method


def _setitem(self, index, value) -> None:
    check_leaf_inplace(self)
    if grad_mode.enabled and (
        self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
    ):
        write_into(self, _setitem_op(_snapshot(self), index, value), "setitem")
        return
    ind = _index(index)
    v = value._data if isinstance(value, Tensor) else value
    self._data[ind] = v
    self._vc[0] += 1
