"""Functional forms of fastdense's layers and losses (``torch.nn.functional``).

Every function accepts :class:`fastdense.Tensor` objects, NumPy arrays or
anything array-like (PyTorch CPU tensors included) and returns a Tensor that
carries an autograd graph when an input requires gradients. The arithmetic
is done by the compiled kernels; this module checks, allocates and records.

Values are eager. ``Sequential`` fuses a ``Linear`` and the activation
module after it into one kernel call forward and one backward
(:func:`_fused_linear`), where the intermediate output is never visible.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional

import numpy as np

from .. import _kernels
from .._random import default_generator
from .._validation import MAX_BLAS_DIM, to_ndarray
from ..autograd import (
    DtypeError,
    Node,
    ShapeError,
    Tensor,
    _accumulate_leaf,
    _float_array,
    _grad_mode,
    _result,
    _const,
    _tensor_or_const,
    kernel_activation,
)
from ._multiclass import cross_entropy, log_softmax, nll_loss, one_hot, softmax
from ._reduction import reduction_name as _reduction

__all__ = [
    "silu", "elu", "softplus", "gelu", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "linear",
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "dropout",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "softmax",
    "log_softmax",
    "cross_entropy",
    "nll_loss",
    "one_hot",
]

_ACT = _kernels.ACTIVATIONS
_IDENTITY = _ACT["identity"]
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_EMPTY1: Dict[np.dtype, np.ndarray] = {_F32: np.empty(0, _F32), _F64: np.empty(0, _F64)}
_EMPTY2: Dict[np.dtype, np.ndarray] = {_F32: np.empty((0, 0), _F32), _F64: np.empty((0, 0), _F64)}
_NODE_NAMES = {
    _ACT["identity"]: "AddmmBackward0",
    _ACT["relu"]: "FusedLinearReluBackward",
    _ACT["leaky_relu"]: "FusedLinearLeakyReluBackward",
    _ACT["tanh"]: "FusedLinearTanhBackward",
    _ACT["sigmoid"]: "FusedLinearSigmoidBackward",
}


# ----------------------------------------------------------------------- linear

def _usable_grad(t: Tensor) -> Optional[np.ndarray]:
    """t._grad when the kernel may accumulate into it directly, else None."""
    g = t._grad
    if (t.requires_grad and t._grad_fn is None and type(g) is np.ndarray
            and g.dtype == t._data.dtype and g.shape == t._data.shape
            and g.flags.c_contiguous and g.flags.writeable):
        return g
    return None


def _dense_backward(g, x, W, b, a, code, slope):
    """Gradients of one (fused) dense layer: one kernel call, straight into leaf grads."""
    Wd = W._data
    dtype = Wd.dtype
    if g.dtype != dtype or not g.flags.c_contiguous:
        g = np.ascontiguousarray(g, dtype=dtype)
    if a is None:
        a = g  # identity: g' = 1 does not read a
    xd = x._data
    need_x = x.requires_grad
    dx = np.empty(xd.shape, dtype=dtype) if need_x else _EMPTY2[dtype]
    dz = np.empty(g.shape, dtype=dtype)
    res = []
    gW = _usable_grad(W)
    gb = None if b is None else _usable_grad(b)
    if gW is not None and (b is None or gb is not None):
        _kernels.dense_backward(g, xd, Wd, a, dz, gW, _EMPTY1[dtype] if b is None else gb,
                                dx, code, slope, True)
    else:
        dW = np.empty(Wd.shape, dtype=dtype)
        db = _EMPTY1[dtype] if b is None else np.empty(Wd.shape[0], dtype=dtype)
        _kernels.dense_backward(g, xd, Wd, a, dz, dW, db, dx, code, slope, False)
        for t, gt in ((W, dW), (b, db)):
            if t is None or not t.requires_grad:
                continue
            if t._grad_fn is not None:
                res.append((t, gt))
            elif t._grad is None:
                t._grad = gt if t._data.dtype == dtype else gt.astype(t._data.dtype)
            else:
                _accumulate_leaf(t, gt)
    if need_x:
        res.append((x, dx))
    return res


def _prep_input(x: Any, dtype: np.dtype) -> Tensor:
    """The layer input as a tensor of the weight's dtype with C-contiguous data.

    A fastdense Tensor of another dtype raises RuntimeError, as PyTorch does;
    NumPy arrays and lists (which PyTorch's layers do not take) are converted.
    """
    if isinstance(x, Tensor):
        d = x._data
        if d.dtype != dtype:
            raise DtypeError(
                f"mat1 and mat2 must have the same dtype, but got {_TORCH_NAME.get(d.dtype, d.dtype)} "
                f"and {_TORCH_NAME.get(dtype, dtype)} (convert with .float() or .double(), "
                "or the model with .to(dtype))"
            )
        if not d.flags.c_contiguous:
            return _result(np.ascontiguousarray(d), "CloneBackward0", (x,),
                           lambda g: ((x, g),))
        return x
    arr = x if type(x) is np.ndarray else to_ndarray(x, "input")
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        if arr.dtype.kind not in "biuf":  # complex/str: TypeError, never a silent cast
            arr = to_ndarray(arr, "input")
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return _const(arr)


_TORCH_NAME = {np.dtype(np.float32): "Float", np.dtype(np.float64): "Double",
               np.dtype(np.int64): "Long", np.dtype(np.bool_): "Bool"}


def _check_blas_shape(shape, name: str) -> None:
    for axis, size in enumerate(shape):
        if size > MAX_BLAS_DIM:
            raise ShapeError(
                f"{name}.shape[{axis}] = {size} exceeds {MAX_BLAS_DIM}, the largest "
                "size BLAS accepts; split the batch"
            )


def _fused_linear(input: Any, weight: Any, bias: Any, code: int, slope: float) -> Tensor:
    """``g(input @ weight.T + bias)`` by one kernel call forward and one backward.

    ``linear`` is this with the identity; ``Sequential`` calls it directly for
    a ``Linear`` followed by an activation module, where the intermediate
    output is never visible.
    """
    W = weight if isinstance(weight, Tensor) else _const(_float_array(weight))
    Wd = W._data
    dtype = Wd.dtype
    if Wd.ndim != 2:
        raise ShapeError(f"weight must be 2-D (out_features, in_features); got {Wd.shape}")
    # BLAS takes 32-bit sizes: reject before any copy, allocation or BLAS call
    _check_blas_shape(Wd.shape, "weight")
    _check_blas_shape(getattr(input, "shape", ()), "input")
    if not Wd.flags.c_contiguous:
        W = _prep_input(W, dtype)
    b = None
    if bias is not None:
        b = bias if isinstance(bias, Tensor) else _const(_float_array(bias))
        bd = b._data
        if bd.shape != (Wd.shape[0],):
            raise ShapeError(
                f"bias must have shape (out_features,) = ({Wd.shape[0]},); got {bd.shape}"
            )
        if bd.dtype != dtype:
            raise DtypeError(f"bias dtype {bd.dtype} differs from weight dtype {dtype}")
        if not bd.flags.c_contiguous:
            b = _prep_input(b, dtype)
    x = _prep_input(input, dtype)
    xs = x.shape
    if len(xs) == 1 and xs[0] == Wd.shape[1]:
        return _fused_linear(x.reshape(1, -1), W, b, code, slope).reshape(-1)
    if len(xs) > 2 and xs[-1] == Wd.shape[1]:  # (*, in_features), as PyTorch: rows of one product
        return _fused_linear(x.reshape(-1, xs[-1]), W, b, code, slope).reshape(
            xs[:-1] + (Wd.shape[0],))
    if len(xs) != 2 or xs[1] != Wd.shape[1]:
        rows = xs[0] if len(xs) == 2 else "?"
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{xs[-1] if xs else 0} and "
            f"{Wd.shape[1]}x{Wd.shape[0]}): input must have shape (m, {Wd.shape[1]}); "
            f"got {xs}"
        )
    out = np.empty((xs[0], Wd.shape[0]), dtype=dtype)
    _kernels.dense_forward(x._data, Wd, _EMPTY1[dtype] if b is None else b._data,
                           out, code, slope)
    res = _const(out)
    if _grad_mode.enabled and (x.requires_grad or W.requires_grad
                               or (b is not None and b.requires_grad)):
        a = None if code == _IDENTITY else out

        def backward(g):
            return _dense_backward(g, x, W, b, a, code, slope)

        res._grad_fn = Node(_NODE_NAMES[code], (x, W) if b is None else (x, W, b), backward)
        res.requires_grad = True
    return res


def linear(input: Any, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias`` (``torch.nn.functional.linear``), computed now.

    Parameters
    ----------
    input : Tensor or array-like of shape (m, in_features) or (in_features,)
        A Tensor must have the weight's dtype (RuntimeError otherwise, as in
        PyTorch); NumPy arrays are converted to it.
    weight : Tensor of shape (out_features, in_features)
    bias : Tensor of shape (out_features,), optional

    Returns
    -------
    Tensor of shape (m, out_features) (or (out_features,) for 1-D input).
    """
    return _fused_linear(input, weight, bias, _IDENTITY, 0.0)


# ------------------------------------------------------------------ activations

def _activation(input: Any, code: int, slope: float, name: str) -> Tensor:
    return kernel_activation(input, code, slope, name)


def relu(input: Any, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` element-wise (``inplace`` is accepted and ignored)."""
    return _activation(input, _ACT["relu"], 0.0, "ReluBackward0")


def _kernel_slope(negative_slope: float) -> bool:
    """Whether the kernels (which take g' from the output) compute this LeakyReLU."""
    return math.isfinite(negative_slope) and negative_slope >= 0


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input`` (``F.leaky_relu``).

    A finite slope >= 0 runs in the activation kernel (its gradient from the
    output); any other slope is computed from the input, as PyTorch does:
    the gradient is 1 where ``input > 0``, else ``negative_slope``.
    """
    slope = float(negative_slope)
    if _kernel_slope(slope):
        return _activation(input, _ACT["leaky_relu"], slope, "LeakyReluBackward0")
    x = _t(input)
    xd = x._data
    pos = xd > 0
    out = np.where(pos, xd, xd * xd.dtype.type(slope))
    return _result(out, "LeakyReluBackward0", (x,),
                   lambda g: ((x, np.where(pos, g, g * xd.dtype.type(slope))),))


def tanh(input: Any) -> Tensor:
    """Hyperbolic tangent element-wise."""
    return _activation(input, _ACT["tanh"], 0.0, "TanhBackward0")


def sigmoid(input: Any) -> Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-input))`` element-wise, without overflow."""
    return _activation(input, _ACT["sigmoid"], 0.0, "SigmoidBackward0")


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``.

    Identity when ``training`` is False or ``p == 0``. The mask comes from the
    generator seeded by :func:`fastdense.manual_seed` (not PyTorch's stream).
    """
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    x = _tensor_or_const(input)
    if not training or p == 0.0:
        return x
    xd = x._value()
    if p == 1.0:
        scale = np.zeros(xd.shape, dtype=xd.dtype)
    else:
        keep = default_generator().random(xd.shape) < (1.0 - p)
        scale = keep.astype(xd.dtype) * xd.dtype.type(1.0 / (1.0 - p))
    return _result(xd * scale, "NativeDropoutBackward0", (x,), lambda g: ((x, g * scale),))


# ----------------------------------------------------------------------- losses

def _loss_operands(input, target):
    """(input tensor, its contiguous data, target data of the same shape and dtype)."""
    x = input if isinstance(input, Tensor) else _const(_float_array(input))
    xd = x._value()
    if xd.dtype not in (_F32, _F64):
        x = x.to(np.float32)
        xd = x._value()
    if isinstance(target, Tensor):
        if target.requires_grad and _grad_mode.enabled:
            raise RuntimeError(
                "fastdense does not compute gradients with respect to the loss target; "
                "pass target.detach()"
            )
        td = target._value()
    else:
        td = target if type(target) is np.ndarray else to_ndarray(target, "target")
    if td.dtype.kind not in "biuf":  # complex/str targets: TypeError, never a silent cast
        td = to_ndarray(td, "target")
    if td.shape != xd.shape:
        raise ShapeError(
            f"Target size ({tuple(td.shape)}) must be the same as input size "
            f"({tuple(xd.shape)}); e.g. reshape a (m,) target with y.reshape(-1, 1) "
            f"or squeeze the (m, 1) output with out.squeeze(1)"
        )
    if td.dtype != xd.dtype or not td.flags.c_contiguous:
        td = np.ascontiguousarray(td, dtype=xd.dtype)
    if not xd.flags.c_contiguous:
        xd = np.ascontiguousarray(xd)
    return x, xd, td


def _flat_weight(weight, shape, dtype, name):
    """weight broadcast to ``shape``, flat and contiguous (empty when None)."""
    if weight is None:
        return _EMPTY1[dtype]
    w = weight._value() if isinstance(weight, Tensor) else to_ndarray(weight, name)
    try:
        w = np.broadcast_to(w, shape)
    except ValueError:
        raise ShapeError(
            f"{name} of shape {w.shape} cannot be broadcast to the input shape {shape}"
        ) from None
    return np.ascontiguousarray(w, dtype=dtype).reshape(-1)


def _loss_result(x, total, dz, per, shape, n, reduction, name):
    dtype = dz.dtype
    if reduction == "none":
        out = per.reshape(shape)

        def backward(g):
            return ((x, dz * g),)
    else:
        if reduction == "mean":
            total = total / n if n else float("nan")
        out = np.asarray(total, dtype=dtype)

        def backward(g):
            return ((x, dz if g == 1 else dz * g),)

    return _result(out, name, (x,), backward)


def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any = None, size_average=None, reduce=None,
    reduction: str = "mean", pos_weight: Any = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy from logits, PyTorch's definition.

    Per element, with ``p = pos_weight`` broadcast along the last dimension
    and ``w = weight`` broadcast to the input's shape::

        l = w * ((1 - y) z + (1 + (p - 1) y) log(1 + exp(-z)))

    "mean" divides the sum by the number of elements (not by the weight sum).

    Parameters
    ----------
    input : Tensor or array-like
        Logits.
    target : array-like of the same shape as input
        Targets in [0, 1]. A shape mismatch raises ValueError, as PyTorch does.
    weight : array-like, optional
        Rescaling weight broadcast to the input's shape.
    reduction : {"mean", "sum", "none"}, default="mean"
    pos_weight : array-like of shape (input.shape[-1],) or (1,), optional
        Weight of the positive term per class (last dimension).

    Returns
    -------
    Tensor
        0-d for "mean"/"sum", else of the input's shape.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x, xd, td = _loss_operands(input, target)
    shape, dtype, n = xd.shape, xd.dtype, xd.size
    cols = shape[-1] if shape else 1
    rows = math.prod(shape[:-1]) if shape else 1
    w = _flat_weight(weight, shape, dtype, "weight")
    if pos_weight is None:
        pw = _EMPTY1[dtype]
    else:
        pwa = pos_weight._value() if isinstance(pos_weight, Tensor) else to_ndarray(
            pos_weight, "pos_weight")
        if pwa.size == 1 and pwa.ndim <= 1:
            pwa = np.full(cols, pwa.reshape(-1)[0])
        if pwa.shape != (cols,):
            raise ShapeError(
                f"pos_weight must have shape ({cols},) (one weight per class along the "
                f"input's last dimension) or (1,); got {pwa.shape}"
            )
        pw = np.ascontiguousarray(pwa, dtype=dtype)
    scale = 1.0 / n if reduction == "mean" and n else 1.0
    dz = np.empty(shape, dtype=dtype)
    per = np.empty(n if reduction == "none" else 0, dtype=dtype)
    total = _kernels.bce_with_logits(xd.reshape(rows, cols), td.reshape(rows, cols), w, pw,
                                     dz.reshape(rows, cols), per, scale)
    return _loss_result(x, total, dz, per, shape, n, reduction,
                        "BinaryCrossEntropyWithLogitsBackward0")


def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, size_average=None, reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities, PyTorch's definition (``BCELoss``).

    Per element ``l = -w (y max(log p, -100) + (1 - y) max(log(1 - p), -100))``;
    the gradient is ``w (p - y) / max(p (1 - p), 1e-12)``. Inputs and targets
    must lie in [0, 1] (RuntimeError otherwise, as in PyTorch).

    Parameters
    ----------
    input : Tensor or array-like
        Probabilities.
    target : array-like of the same shape
    weight : array-like, optional
        Broadcast to the input's shape.
    reduction : {"mean", "sum", "none"}, default="mean"

    Returns
    -------
    Tensor
    """
    reduction = _reduction(size_average, reduce, reduction)
    x, xd, td = _loss_operands(input, target)
    if xd.size and not (xd.min() >= 0 and xd.max() <= 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if td.size and not (td.min() >= 0 and td.max() <= 1):
        raise RuntimeError("all elements of target should be between 0 and 1")
    shape, dtype, n = xd.shape, xd.dtype, xd.size
    w = _flat_weight(weight, shape, dtype, "weight")
    scale = 1.0 / n if reduction == "mean" and n else 1.0
    dz = np.empty(shape, dtype=dtype)
    per = np.empty(n if reduction == "none" else 0, dtype=dtype)
    total = _kernels.bce_probs(xd.reshape(-1), td.reshape(-1), w, dz.reshape(-1), per, scale)
    return _loss_result(x, total, dz, per, shape, n, reduction, "BinaryCrossEntropyBackward0")


# --------------------------------------------- more activations, regression losses
# (tensor operations: the gradients come from the recorded graph)

def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _const(_float_array(x))


def silu(input: Any, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    x = _t(input)
    return x * sigmoid(x)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)``."""
    x = _t(input)
    return relu(x) + (x.clamp(max=0).exp() - 1) * alpha


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` where ``beta x > threshold``."""
    x = _t(input)
    bx = x * beta
    big = (bx > threshold)._data
    safe = _const(np.where(big, 0, 1).astype(x.dtype))
    soft = ((bx * safe).clamp(max=threshold).exp() + 1).log() / beta
    return soft * safe + x * _const(big.astype(x.dtype))


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (the normal CDF), or PyTorch's tanh approximation."""
    x = _t(input)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1)
    return x * _normal_cdf(x)


def _normal_cdf(x: Tensor) -> Tensor:
    from scipy.special import erf

    xd = x._data
    out = np.asarray(0.5 * (1.0 + erf(xd / math.sqrt(2.0)))).astype(xd.dtype)
    pdf = np.exp(-0.5 * xd * xd) / math.sqrt(2.0 * math.pi)
    return _result(out, "ErfBackward0", (x,), lambda g: ((x, (g * pdf).astype(xd.dtype)),))


def _regression_operands(input: Any, target: Any):
    x = _t(input)
    if isinstance(target, Tensor):
        y = target
    else:
        y = _const(np.asarray(to_ndarray(target, "target"), dtype=x.dtype))
    if x.shape != y.shape:
        import warnings

        warnings.warn(
            f"Using a target size ({tuple(y.shape)}) that is different to the input size "
            f"({tuple(x.shape)}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3)
    return x, y


def _reduce(per: Tensor, reduction: str) -> Tensor:
    reduction = _reduction(None, None, reduction)
    if reduction == "mean":
        return per.mean()
    if reduction == "sum":
        return per.sum()
    return per


def mse_loss(input: Any, target: Any, size_average=None, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Squared error ``(x - y) ** 2``, reduced."""
    x, y = _regression_operands(input, target)
    d = x - y
    return _reduce(d * d, _reduction(size_average, reduce, reduction))


def l1_loss(input: Any, target: Any, size_average=None, reduce=None,
            reduction: str = "mean") -> Tensor:
    """Absolute error ``|x - y|``, reduced."""
    x, y = _regression_operands(input, target)
    return _reduce((x - y).abs(), _reduction(size_average, reduce, reduction))


def smooth_l1_loss(input: Any, target: Any, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, reduced."""
    x, y = _regression_operands(input, target)
    d = (x - y).abs()
    if beta == 0:
        return _reduce(d, _reduction(size_average, reduce, reduction))
    small = _const((d < beta)._data.astype(d.dtype))
    per = d * d * (0.5 / beta) * small + (d - 0.5 * beta) * (1 - small)
    return _reduce(per, _reduction(size_average, reduce, reduction))


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, reduced."""
    x, y = _regression_operands(input, target)
    d = (x - y).abs()
    small = _const((d < delta)._data.astype(d.dtype))
    per = d * d * 0.5 * small + (d - 0.5 * delta) * delta * (1 - small)
    return _reduce(per, reduction)
