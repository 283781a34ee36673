"""Functional forms of the layers and losses (``torch.nn.functional``).

Every function accepts :class:`fastdense.Tensor` objects, NumPy arrays or
anything array-like (PyTorch CPU tensors included) and returns a Tensor that
carries an autograd graph when an input requires gradients. Values are eager.

Each op is one graph node, its forward and its closed-form backward side by
side: ``linear``, the four kernel activations and the BCE losses run in the
compiled kernels; the others compute on NumPy in the input's dtype with
PyTorch's formulas (its order of operations where it matters: the max is
subtracted before ``exp``; logs of sigmoids are taken as softplus).
``Sequential`` fuses a ``Linear`` and the activation module after it into one
kernel call forward and one backward (:func:`_fused_linear`), where the
intermediate output is never visible.

The multi-class losses:

    log_softmax:   dx = g - softmax(x) * sum(g)                (along dim)
    softmax:       dx = s * (g - sum(g * s))                   (along dim)
    cross-entropy: dz[i, c] = scale_i * (S_i * p[i, c] - T[i, c])

where row i's loss is ``-sum_c T[i, c] log p[i, c]`` and ``S_i = sum_c T[i, c]``:
for a class-index target ``T = (1 - eps) w[y] onehot(y) + (eps / C) w``
(zero on ignored rows), for a probability target
``T = w * ((1 - eps) t + eps / C)``. "mean" divides by the sum of ``w[y]``
over the rows kept (index targets) or by the number of rows (probabilities).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .. import _kernels
from .._random import default_generator
from .._tensor.extend import named as _named
from .._tensor.ops import inplace as _engine_inplace
from .._tensor.ops import with_out as _with_out
from .._validation import MAX_BLAS_DIM, to_ndarray
from ..autograd import (
    DtypeError,
    Node,
    ShapeError,
    Tensor,
    _accumulate_leaf,
    _const,
    _float_array,
    _grad_mode,
    _result,
    _tensor_or_const,
    _unbroadcast,
    kernel_activation,
)
from ._reduction import reduction_name as _reduction

__all__ = [
    # linear
    "linear",
    "bilinear",
    # activations
    "relu",
    "relu6",
    "leaky_relu",
    "prelu",
    "rrelu",
    "elu",
    "celu",
    "selu",
    "gelu",
    "silu",
    "mish",
    "hardswish",
    "hardsigmoid",
    "hardtanh",
    "softplus",
    "softshrink",
    "hardshrink",
    "tanhshrink",
    "threshold",
    "logsigmoid",
    "softsign",
    "tanh",
    "sigmoid",
    "glu",
    "softmax",
    "softmin",
    "log_softmax",
    # normalization, dropout, embedding
    "batch_norm",
    "layer_norm",
    "group_norm",
    "rms_norm",
    "dropout",
    "alpha_dropout",
    "feature_alpha_dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "embedding",
    "embedding_bag",
    "one_hot",
    # losses
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "margin_ranking_loss",
    "cosine_embedding_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    # distances
    "pairwise_distance",
    "pdist",
    "cosine_similarity",
    "normalize",
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
    if (
        t.requires_grad
        and t._grad_fn is None
        and type(g) is np.ndarray
        and g.dtype == t._data.dtype
        and g.shape == t._data.shape
        and g.flags.c_contiguous
        and g.flags.writeable
    ):
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
        _kernels.dense_backward(
            g, xd, Wd, a, dz, gW, _EMPTY1[dtype] if b is None else gb, dx, code, slope, True
        )
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
            return _result(np.ascontiguousarray(d), "CloneBackward0", (x,), lambda g: ((x, g),))
        return x
    arr = x if type(x) is np.ndarray else to_ndarray(x, "input")
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        if arr.dtype.kind not in "biuf":  # complex/str: TypeError, never a silent cast
            arr = to_ndarray(arr, "input")
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return _const(arr)


_TORCH_NAME = {
    np.dtype(np.float32): "Float",
    np.dtype(np.float64): "Double",
    np.dtype(np.int64): "Long",
    np.dtype(np.bool_): "Bool",
}


def _check_blas_shape(shape, name: str) -> None:
    if not shape or max(shape) <= MAX_BLAS_DIM:  # every call checks: the short way first
        return
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
    # BLAS takes 32-bit sizes: reject before any copy, allocation or BLAS call (one max()
    # over both shapes on the hot path; a tensor's array shape: its .shape builds a
    # torch.Size on every call)
    ishape = input._data.shape if type(input) is Tensor else tuple(getattr(input, "shape", ()))
    if max(Wd.shape + ishape) > MAX_BLAS_DIM:
        _check_blas_shape(Wd.shape, "weight")
        _check_blas_shape(ishape, "input")
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
    if type(input) is Tensor and input._data.dtype == dtype and input._data.flags.c_contiguous:
        x = input  # (what _prep_input returns for it, without the call)
    else:
        x = _prep_input(input, dtype)
    xs = x._data.shape
    if len(xs) == 1 and xs[0] == Wd.shape[1]:
        return _fused_linear(x.reshape(1, -1), W, b, code, slope).reshape(-1)
    if len(xs) > 2 and xs[-1] == Wd.shape[1]:  # (*, in_features): the rows of one product
        rows = _fused_linear(x.reshape(-1, xs[-1]), W, b, code, slope)
        return rows.reshape(*xs[:-1], Wd.shape[0])
    if len(xs) != 2 or xs[1] != Wd.shape[1]:
        nrows = xs[0] if len(xs) == 2 else "?"
        raise ShapeError(
            f"mat1 and mat2 shapes cannot be multiplied ({nrows}x{xs[-1] if xs else 0} and "
            f"{Wd.shape[1]}x{Wd.shape[0]}): input must have shape (m, {Wd.shape[1]}); "
            f"got {x.shape}"
        )
    out = np.empty((xs[0], Wd.shape[0]), dtype=dtype)
    _kernels.dense_forward(x._data, Wd, _EMPTY1[dtype] if b is None else b._data, out, code, slope)
    res = _const(out)
    if _grad_mode.enabled and (
        x.requires_grad or W.requires_grad or (b is not None and b.requires_grad)
    ):
        a = None if code == _IDENTITY else out

        def backward(g):
            return _dense_backward(g, x, W, b, a, code, slope)

        # saved as PyTorch's addmm saves them: x for W's gradient, W for x's (never b)
        xg, Wg = x.requires_grad, W.requires_grad
        saved = (x, W) if xg and Wg else (x,) if Wg else (W,)
        node = Node(_NODE_NAMES[code], (x, W) if b is None else (x, W, b), backward, saved)
        if a is not None:  # the backward reads the activation's output: changing it raises
            node.output = (res._vc, 0, out)  # (res is new: version 0)
        res._grad_fn = node
        res.requires_grad = True
    return res


def linear(input: Any, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias`` (``torch.nn.functional.linear``), computed now.

    Parameters
    ----------
    input : Tensor or array-like of shape (*, in_features)
        A Tensor must have the weight's dtype (RuntimeError otherwise, as in
        PyTorch); NumPy arrays are converted to it.
    weight : Tensor of shape (out_features, in_features)
    bias : Tensor of shape (out_features,), optional

    Returns
    -------
    Tensor of shape (*, out_features).
    """
    return _fused_linear(input, weight, bias, _IDENTITY, 0.0)


# ------------------------------------------------------------------ activations


def _activation(input: Any, code: int, slope: float, name: str) -> Tensor:
    return kernel_activation(input, code, slope, name)


# the in-place activations whose PyTorch backward reads their result (relu_, elu_, ...):
# modifying the tensor again before the backward pass raises, as there
_INPLACE_SAVES_RESULT = frozenset(["relu", "leaky_relu", "elu", "celu", "selu", "rrelu"])


def _in_place(fn: Callable, input: Any, name: str, *args: Any) -> Tensor:
    """``fn(input, *args)`` written into ``input`` (``inplace=True``): PyTorch's ``op_``.

    The input tensor is modified and returned, its version bumped, and it
    takes the op's node (the engine's in-place rule); a leaf that requires
    grad raises PyTorch's RuntimeError outside ``no_grad``. A NumPy array or
    list is not a tensor to modify: the result is computed out of place.
    """
    if not isinstance(input, Tensor):
        return fn(input, *args)
    out = _engine_inplace(lambda src: fn(src, *args), name)(input)
    node = out._grad_fn
    if name in _INPLACE_SAVES_RESULT and node is not None:
        node.output = (out._vc, out._vc[0], out._data)
    return out


def relu(input: Any, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` element-wise; ``inplace=True`` overwrites ``input`` (``F.relu``)."""
    if inplace:
        return _in_place(relu, input, "relu")
    return _activation(input, _ACT["relu"], 0.0, "ReluBackward0")


def _kernel_slope(negative_slope: float) -> bool:
    """Whether the kernels (which take g' from the output) compute this LeakyReLU."""
    return math.isfinite(negative_slope) and negative_slope >= 0


def _no_inplace_negative_slope(g: Any) -> Any:
    raise RuntimeError(
        "In-place leakyReLu backward calculation is triggered with a negative slope which is "
        "not supported. This is caused by calling in-place forward function with a negative "
        "slope, please call out-of-place version instead."
    )


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``negative_slope * input`` (``F.leaky_relu``).

    A finite slope >= 0 runs in the activation kernel; any other slope is
    computed with NumPy. The gradient is 1 where ``input > 0``, else
    ``negative_slope`` (from the input, as PyTorch saves it). ``inplace=True``
    overwrites ``input``; its backward refuses a negative slope, as PyTorch's.
    """
    if inplace:
        res = _in_place(leaky_relu, input, "leaky_relu", negative_slope)
        if float(negative_slope) < 0 and res._grad_fn is not None:
            res._grad_fn._backward = _no_inplace_negative_slope
        return res
    slope = float(negative_slope)
    if _kernel_slope(slope):
        return _activation(input, _ACT["leaky_relu"], slope, "LeakyReluBackward0")
    x = _t(input)
    xd = x._data
    pos = xd > 0
    out = np.where(pos, xd, xd * xd.dtype.type(slope))
    return _result(
        out,
        "LeakyReluBackward0",
        (x,),
        lambda g: ((x, np.where(pos, g, g * xd.dtype.type(slope))),),
    )


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
    if inplace:
        return _in_place(dropout, input, "dropout", p, training)
    xd = x._value()
    if p == 1.0:
        scale = np.zeros(xd.shape, dtype=xd.dtype)
    else:
        keep = default_generator().random(xd.shape) < (1.0 - p)
        scale = keep.astype(xd.dtype) * xd.dtype.type(1.0 / (1.0 - p))
    return _result(xd * scale, "MulBackward0", (x,), lambda g: ((x, g * scale),))


# ----------------------------------------------------------------------- losses


def _loss_operands(input, target):
    """(input tensor, its contiguous data, target data of the same shape and dtype, the
    target tensor when it requires a gradient else None)."""
    x = input if isinstance(input, Tensor) else _const(_float_array(input))
    xd = x._value()
    if xd.dtype not in (_F32, _F64):
        x = x.to(np.float32)
        xd = x._value()
    y = None
    if isinstance(target, Tensor):
        if target.requires_grad and _grad_mode.enabled:
            if target._data.dtype.kind != "f":
                raise RuntimeError("only floating-point targets can require gradients")
            y = target
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
    return x, xd, td, y


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


def _loss_result(x, total, dz, per, shape, n, reduction, name, y=None, dy=None):
    """The loss tensor; its gradient ``dz * g`` for the input and, when the target ``y``
    requires one, ``dy * g`` for the target (dz and dy already carry "mean"'s 1/n)."""
    dtype = dz.dtype
    if reduction == "none":
        out = per.reshape(shape)
    else:
        if reduction == "mean":
            total = total / n if n else float("nan")
        out = np.asarray(total, dtype=dtype)

    def backward(g):
        grads = [(x, dz if reduction != "none" and g == 1 else dz * g)]
        if y is not None:
            grads.append((y, np.asarray(dy * g, dtype=y._data.dtype)))
        return grads

    return _result(out, name, (x,) if y is None else (x, y), backward)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Tensor:
    """Sigmoid + binary cross-entropy from logits, PyTorch's definition.

    Per element, with ``p = pos_weight`` broadcast to the input's shape
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
    pos_weight : array-like broadcastable to the input's shape, optional
        Weight of the positive term: per class (shape ``(C,)`` along the last
        dimension, or ``(1,)``), or per element of any shape that broadcasts to
        the input's without growing it, as in PyTorch.

    Returns
    -------
    Tensor
        0-d for "mean"/"sum", else of the input's shape.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x, xd, td, y = _loss_operands(input, target)
    shape, dtype, n = xd.shape, xd.dtype, xd.size
    cols = shape[-1] if shape else 1
    rows = math.prod(shape[:-1]) if shape else 1
    w = _EMPTY1[dtype] if weight is None else _flat_weight(weight, shape, dtype, "weight")
    if pos_weight is None:
        pw = _EMPTY1[dtype]
    else:
        pwa = (
            pos_weight._value()
            if isinstance(pos_weight, Tensor)
            else to_ndarray(pos_weight, "pos_weight")
        )
        try:  # broadcast to the input's shape, as PyTorch (which never grows the input)
            ok = np.broadcast_shapes(pwa.shape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ShapeError(
                f"pos_weight of shape {tuple(pwa.shape)} cannot be broadcast to the input "
                f"shape {tuple(shape)}"
            )
        if pwa.ndim <= 1:  # one weight per class (last dimension): the kernel's form
            pw = np.ascontiguousarray(np.broadcast_to(pwa, (cols,)), dtype=dtype)
        else:  # varies along other dimensions too: one weight per element, the input as
            # a single row (the loss is element-wise, so its rows are only a layout)
            rows, cols = 1, n
            pw = np.ascontiguousarray(np.broadcast_to(pwa, shape), dtype=dtype).reshape(-1)
    scale = 1.0 / n if reduction == "mean" and n else 1.0
    dz = np.empty(shape, dtype=dtype)
    per = np.empty(n if reduction == "none" else 0, dtype=dtype)
    total = _kernels.bce_with_logits(
        xd.reshape(rows, cols), td.reshape(rows, cols), w, pw, dz.reshape(rows, cols), per, scale
    )
    dy = None
    if y is not None:  # dl/dy = w ((1 - p) log sigmoid(z) - z)
        dy = -xd
        if pos_weight is not None:
            pwb = pw.reshape(shape) if pw.size == n else pw  # (per class: broadcasts)
            dy = dy + (1 - pwb) * -_softplus_array(-xd)
        if weight is not None:
            dy = dy * w.reshape(shape)
        dy = dy * scale
    return _loss_result(
        x, total, dz, per, shape, n, reduction, "BinaryCrossEntropyWithLogitsBackward0", y, dy
    )


def binary_cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average=None,
    reduce=None,
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
    x, xd, td, y = _loss_operands(input, target)
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
    dy = None
    if y is not None:  # dl/dy = -w logit(p), unclamped (PyTorch's formula)
        with np.errstate(divide="ignore"):
            dy = -np.log(xd / (1 - xd))
        if weight is not None:
            dy = dy * w.reshape(shape)
        dy = dy * scale
    return _loss_result(
        x, total, dz, per, shape, n, reduction, "BinaryCrossEntropyBackward0", y, dy
    )


# ================================================================ multi-class

_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))  # PyTorch's Long and Byte


def _float_input(input: Any, what: str) -> Tensor:
    """input as a float32/float64 tensor; integer and bool tensors raise as in PyTorch."""
    x = input if isinstance(input, Tensor) else _const(_float_array(input))
    if x._data.dtype not in (_F32, _F64):
        name = {"b": "Bool", "i": "Long", "u": "Byte"}.get(x._data.dtype.kind, str(x.dtype))
        raise NotImplementedError(f"\"{what}\" not implemented for '{name}'")
    return x


def _axis(dim: int, ndim: int) -> int:
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int; got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return 0 if ndim == 0 else int(dim) % ndim


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's implicit choice of dim (with its deprecation warning)."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the "
        "call to include dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _log_softmax_array(xd: np.ndarray, axis: int) -> np.ndarray:
    if xd.ndim == 0:
        return np.zeros_like(xd) if np.isfinite(xd) else xd - xd
    if xd.shape[axis] == 0:
        return np.empty_like(xd)
    with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf is NaN, as in PyTorch
        tmp = xd - np.max(xd, axis=axis, keepdims=True)
        return tmp - np.log(np.sum(np.exp(tmp), axis=axis, keepdims=True))


def _softmax_input(
    input: Any, dim: Optional[int], dtype: Any, name: str, stacklevel: int
) -> Tuple[Tensor, np.ndarray, int]:
    """(input as a float tensor cast to dtype, its data, the axis) for (log_)softmax."""
    x = _float_input(input, f"{name}_lastdim_kernel_impl")
    if dtype is not None:
        from .. import _dtypes

        dt = _dtypes.resolve(dtype)
        x = x if dt == x._data.dtype else x.to(dt)
    xd = x._data
    if dim is None:
        dim = _softmax_dim(name, xd.ndim, stacklevel + 1)
    return x, xd, _axis(dim, xd.ndim)


def log_softmax(
    input: Any, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``x - log(sum(exp(x), dim))``, computed without overflow (``F.log_softmax``).

    Parameters
    ----------
    input : Tensor or array-like (float32 or float64)
    dim : int
        The dimension that sums to one after ``exp``. None picks PyTorch's
        implicit dimension with its deprecation warning.
    dtype : dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the input's shape.
    """
    x, xd, axis = _softmax_input(input, dim, dtype, "log_softmax", _stacklevel)
    out = _log_softmax_array(xd, axis)

    def backward(g):
        if out.ndim == 0:
            return ((x, g * 0),)
        return ((x, g - np.exp(out) * np.sum(g, axis=axis, keepdims=True)),)

    return _result(out, "LogSoftmaxBackward0", (x,), backward, (), saves_output=True)


def softmax(
    input: Any, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``exp(x - max) / sum(exp(x - max))`` along ``dim`` (``F.softmax``).

    Parameters
    ----------
    input : Tensor or array-like (float32 or float64)
    dim : int
        None picks PyTorch's implicit dimension with its deprecation warning.
    dtype : dtype, optional
        Cast the input to it first.

    Returns
    -------
    Tensor of the input's shape, summing to one along ``dim``.
    """
    x, xd, axis = _softmax_input(input, dim, dtype, "softmax", _stacklevel)
    if xd.ndim == 0:
        out = np.exp(xd - xd)
    elif xd.shape[axis] == 0:
        out = np.empty_like(xd)
    else:
        with np.errstate(invalid="ignore"):
            e = np.exp(xd - np.max(xd, axis=axis, keepdims=True))
            out = e / np.sum(e, axis=axis, keepdims=True)

    def backward(g):
        if out.ndim == 0:
            return ((x, g * 0),)
        return ((x, out * (g - np.sum(g * out, axis=axis, keepdims=True))),)

    return _result(out, "SoftmaxBackward0", (x,), backward, (), saves_output=True)


# ------------------------------------------------------------------- the losses


def _rows(xd: np.ndarray) -> Tuple[np.ndarray, int]:
    """The input as (rows, C) with classes last; the class axis of the input."""
    if xd.ndim == 0:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    cdim = 0 if xd.ndim == 1 else 1
    moved = np.moveaxis(xd, cdim, -1)
    return moved.reshape(-1, xd.shape[cdim]), cdim


def _constant(value: Any, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        if value.requires_grad and _grad_mode.enabled:
            raise RuntimeError(
                f"fastdense does not compute gradients with respect to the "
                f"loss {name}; pass {name}.detach()"
            )
        return value._data
    return value if type(value) is np.ndarray else to_ndarray(value, name)


def _class_weight(weight: Any, n_classes: int, dtype: np.dtype) -> Optional[np.ndarray]:
    if weight is None:
        return None
    w = _constant(weight, "weight")
    if w.shape != (n_classes,):
        raise RuntimeError(
            f"weight tensor should be defined either for all {n_classes} "
            f"classes or no classes but got weight tensor of shape: "
            f"{list(w.shape)}"
        )
    if w.dtype != dtype:
        raise RuntimeError(
            f"expected scalar type {_NAMES.get(dtype, dtype)} but found "
            f"{_NAMES.get(w.dtype, w.dtype)}"
        )
    return w


_NAMES = {_F32: "Float", _F64: "Double"}
_TORCH_KIND = {"i": "Long", "u": "Byte", "b": "Bool"}


def _index_target(
    target: np.ndarray, xd: np.ndarray, cdim: int, n_classes: int, ignore_index: int
) -> Tuple[np.ndarray, np.ndarray]:
    """(class indices as a flat int64 array with ignored rows at 0, mask of kept rows)."""
    if target.dtype not in _INDEX_DTYPES:
        name = {"f": "Float" if target.dtype == _F32 else "Double", "b": "Bool", "i": "Int"}.get(
            target.dtype.kind, str(target.dtype)
        )
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {name}")
    want = xd.shape[:cdim] + xd.shape[cdim + 1 :]
    if target.shape != want:
        if xd.ndim >= 2 and target.ndim >= 1 and target.shape[0] != xd.shape[0]:
            raise ValueError(
                f"Expected input batch_size ({xd.shape[0]}) to match target "
                f"batch_size ({target.shape[0]})."
            )
        raise RuntimeError(
            f"expected target of shape {list(want)} for input of shape "
            f"{list(xd.shape)}, got {list(target.shape)}"
        )
    t = target.astype(np.int64).reshape(-1)
    keep = t != ignore_index
    bad = keep & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    return np.where(keep, t, 0), keep


def _index_loss(x, z2, cdim, t, keep, w, eps, reduction, log_probs_given):
    """Cross-entropy (or NLL) of class indices: value and recorded backward."""
    xd = x._data
    dtype = xd.dtype
    m, n_classes = z2.shape
    logp = z2 if log_probs_given else _log_softmax_array(z2, 1)
    rows = np.arange(m)
    wy = np.where(keep, 1, 0).astype(dtype) if w is None else np.where(keep, w[t], 0).astype(dtype)
    nll = np.where(keep, -logp[rows, t], 0).astype(dtype) * wy
    smooth = None
    if eps > 0:
        smooth = -(logp.sum(1) if w is None else (logp * w).sum(1))
        smooth = np.where(keep, smooth, 0).astype(dtype)
    out_shape = xd.shape[:cdim] + xd.shape[cdim + 1 :]
    if reduction == "none":
        out = nll if smooth is None else (1 - eps) * nll + smooth * (eps / n_classes)
        out = np.asarray(out, dtype=dtype).reshape(out_shape)
        scale = None
    else:
        denom = wy.sum() if reduction == "mean" else dtype.type(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = nll.sum() / denom
            if smooth is not None:
                total = (1 - eps) * total + (smooth.sum() / denom) * (eps / n_classes)
        out = np.asarray(total, dtype=dtype)
        scale = denom

    def backward(g):
        # per row: dz = scale_i * (S_i p - T), T = (1 - eps) w[y] onehot(y) + (eps / C) w
        if reduction == "none":
            gi = np.reshape(g, -1)
        else:  # no row kept: the loss is NaN and, as in PyTorch, the gradient 0
            gi = np.reshape(g, (1,)) / scale if scale else np.zeros(1, dtype)
        tw = np.zeros((m, n_classes), dtype=dtype)
        tw[rows, t] = (1 - eps) * wy if eps > 0 else wy
        if eps > 0:
            tw += np.where(keep, 1, 0)[:, None].astype(dtype) * (
                (eps / n_classes) * (np.ones(n_classes, dtype) if w is None else w)
            )
        with np.errstate(invalid="ignore"):
            if log_probs_given:
                dz = -tw
            else:
                dz = np.exp(logp) * tw.sum(1, keepdims=True) - tw
            dz = (dz * gi[:, None]).astype(dtype, copy=False)
        return ((x, _restore(dz, xd.shape, cdim)),)

    # (PyTorch's cross_entropy is log_softmax + nll_loss: its last node is nll_loss's)
    return _result(out, "NllLossBackward0", (x,), backward)


def _restore(d2: np.ndarray, shape: tuple, cdim: int) -> np.ndarray:
    moved = shape[:cdim] + shape[cdim + 1 :] + (shape[cdim],)
    return np.ascontiguousarray(np.moveaxis(d2.reshape(moved), -1, cdim))


def _prob_loss(x, z2, cdim, target, w, eps, reduction):
    """Cross-entropy of class probabilities (a target of the input's shape).

    Differentiable in the target too: ``d loss / d t[c] = -(1 - eps) w[c] log p[c]``.
    """
    xd = x._data
    td = target._data
    dtype = np.result_type(xd.dtype, td.dtype)
    n_classes = z2.shape[1]
    tz, _ = _rows(td)
    tz = tz.astype(dtype, copy=False)
    if eps > 0:
        tz = tz * (1 - eps) + eps / n_classes
    tw = tz if w is None else tz * w
    logp = _log_softmax_array(z2.astype(dtype, copy=False), 1)
    per = -(logp * tw).sum(1)
    if reduction == "none":
        out = per.reshape(xd.shape[:cdim] + xd.shape[cdim + 1 :])
        scale = 1.0
    else:
        total = -(logp * tw).sum()
        scale = 1.0
        if reduction == "mean":
            scale = float(z2.shape[0])
            total = total / scale if scale else np.asarray(np.nan, dtype)
        out = np.asarray(total, dtype=dtype)

    def backward(g):
        gi = (
            np.reshape(g, -1)
            if reduction == "none"
            else np.full(z2.shape[0], g / scale if scale else 0)
        )
        res = []
        if x.requires_grad:
            dz = (np.exp(logp) * tw.sum(1, keepdims=True) - tw) * gi[:, None]
            res.append((x, _restore(dz.astype(xd.dtype, copy=False), xd.shape, cdim)))
        if target.requires_grad:
            dt = -(1 - eps) * logp * (1 if w is None else w) * gi[:, None]
            res.append((target, _restore(dt.astype(td.dtype, copy=False), td.shape, cdim)))
        return res

    return _result(out, "NllLossBackward0", (x, target), backward)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Log-softmax + negative log-likelihood from logits (``F.cross_entropy``).

    Parameters
    ----------
    input : Tensor of shape (C,), (N, C) or (N, C, d1, ...)
        Logits (float32 or float64); classes along dimension 1 (0 for 1-D).
    target : Tensor
        Class indices (int64, or uint8), of the input's shape without the
        class dimension; or class probabilities of the input's shape.
    weight : Tensor of shape (C,), optional
        Per-class weight, of the input's dtype.
    ignore_index : int, default=-100
        Rows whose index target equals it add nothing and do not count in
        the mean (index targets only; a probability target with
        ``ignore_index >= 0`` raises RuntimeError, as in PyTorch).
    reduction : {"mean", "sum", "none"}, default="mean"
        "mean" divides by the summed weight of the rows kept (index targets)
        or by the number of rows (probabilities); no row left gives NaN.
    label_smoothing : float in [0, 1], default=0.0
        Mix of the target with the uniform distribution over classes.

    Returns
    -------
    Tensor
        0-d for "mean"/"sum", else of the target's (index) shape.
    """
    reduction = _reduction(size_average, reduce, reduction)
    eps = float(label_smoothing)
    if eps > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {eps}")
    x = _float_input(input, "log_softmax_lastdim_kernel_impl")
    xd = x._data
    z2, cdim = _rows(xd)
    tt = target if isinstance(target, Tensor) else _const(to_ndarray(target, "target"))
    td = tt._data
    if td.shape == xd.shape:  # PyTorch's rule: the input's shape means probabilities
        if td.dtype.kind != "f":
            raise RuntimeError(
                "Expected floating point type for target with class "
                f"probabilities, got {_TORCH_KIND.get(td.dtype.kind, td.dtype)}"
            )
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        w = _class_weight(weight, z2.shape[1], np.result_type(xd.dtype, td.dtype))
        return _prob_loss(x, z2, cdim, tt, w, eps, reduction)
    w = _class_weight(weight, z2.shape[1], xd.dtype)
    t, keep = _index_target(_constant(target, "target"), xd, cdim, z2.shape[1], ignore_index)
    return _index_loss(x, z2, cdim, t, keep, w, max(eps, 0.0), reduction, False)


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of log-probabilities (``F.nll_loss``).

    Row i's loss is ``-weight[y_i] * input[i, y_i]``; "mean" divides by the
    summed weight of the rows kept. ``input`` is typically ``log_softmax``'s
    output; arguments as in :func:`cross_entropy` (index targets only).
    """
    reduction = _reduction(size_average, reduce, reduction)
    x = _float_input(input, "nll_loss_forward_reduce_cuda_kernel_2d_index")
    xd = x._data
    z2, cdim = _rows(xd)
    w = _class_weight(weight, z2.shape[1], xd.dtype)
    t, keep = _index_target(_constant(target, "target"), xd, cdim, z2.shape[1], ignore_index)
    return _index_loss(x, z2, cdim, t, keep, w, 0.0, reduction, True)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows (``F.one_hot``): int64, shape ``tensor.shape + (C,)``.

    Parameters
    ----------
    tensor : int64 Tensor of class indices
    num_classes : int, default=-1
        -1 takes ``max + 1`` (RuntimeError on an empty tensor, as PyTorch).

    Raises
    ------
    RuntimeError
        As PyTorch: not int64, a negative index, or one >= ``num_classes``.
    """
    t = tensor._data if isinstance(tensor, Tensor) else to_ndarray(tensor, "tensor")
    if t.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if t.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if t.size and t.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(t.shape + (int(num_classes),), dtype=np.int64)
    np.put_along_axis(out, t[..., None], 1, axis=-1)
    return _const(out)


# ------------------------------------------------------------ regression losses
# (tensor operations: the gradients come from the recorded graph)


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _const(_float_array(x))


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
            "broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
    return x, y


def _reduce(per: Tensor, reduction: str) -> Tensor:
    reduction = _reduction(None, None, reduction)
    if reduction == "mean":
        return per.mean()
    if reduction == "sum":
        return per.sum()
    return per


def mse_loss(
    input: Any, target: Any, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Squared error ``(x - y) ** 2``, reduced."""
    x, y = _regression_operands(input, target)
    d = x - y
    return _named(_reduce(d * d, _reduction(size_average, reduce, reduction)), "MseLossBackward0")


def l1_loss(
    input: Any, target: Any, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Absolute error ``|x - y|``, reduced."""
    x, y = _regression_operands(input, target)
    return _reduce((x - y).abs(), _reduction(size_average, reduce, reduction))


def smooth_l1_loss(
    input: Any,
    target: Any,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, reduced."""
    x, y = _regression_operands(input, target)
    d = (x - y).abs()
    if beta == 0:
        return _reduce(d, _reduction(size_average, reduce, reduction))
    small = _const((d < beta)._data.astype(d.dtype))
    per = d * d * (0.5 / beta) * small + (d - 0.5 * beta) * (1 - small)
    return _named(
        _reduce(per, _reduction(size_average, reduce, reduction)), "SmoothL1LossBackward0"
    )


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d^2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``, reduced."""
    x, y = _regression_operands(input, target)
    d = (x - y).abs()
    small = _const((d < delta)._data.astype(d.dtype))
    per = d * d * 0.5 * small + (d - 0.5 * delta) * delta * (1 - small)
    return _named(_reduce(per, reduction), "HuberLossBackward0")


# ================================================================ element-wise ops
# Each op below is one graph node: the forward on NumPy in the input's dtype and,
# beside it, the closed-form derivative (from the input x, the output y, or both),
# as PyTorch's derivatives.yaml writes it (the subgradient PyTorch picks at kinks).


def _float_t(input: Any) -> Tensor:
    """input as a float32/float64 tensor (integer and bool data become float32)."""
    x = input if isinstance(input, Tensor) else _const(_float_array(input))
    if x._data.dtype not in (_F32, _F64):
        x = x.to(np.float32)
    return x


def _pointwise(input: Any, forward: Callable, derivative: Callable, name: str) -> Tensor:
    """``forward(x)`` element-wise, with backward ``g * derivative(x, y)``."""
    x = _float_t(input)
    xd = x._value()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = np.asarray(forward(xd), dtype=xd.dtype)

    def backward(g):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return ((x, np.asarray(g * derivative(xd, out), dtype=xd.dtype)),)

    return _result(out, name, (x,), backward)


def _num(value: Any, name: str) -> float:
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {type(value).__name__}")
    return float(value)


def hardtanh(
    input: Any, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """``clamp(x, min_val, max_val)``; gradient 1 strictly inside, else 0 (``F.hardtanh``)."""
    lo, hi = _num(min_val, "min_val"), _num(max_val, "max_val")
    if lo > hi:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return _in_place(hardtanh, input, "hardtanh", lo, hi)
    return _pointwise(
        input, lambda x: np.clip(x, lo, hi), lambda x, y: (x > lo) & (x < hi), "HardtanhBackward0"
    )


def relu6(input: Any, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` (``F.relu6``)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, else ``alpha * (exp(x) - 1)`` (``F.elu``)."""
    a = _num(alpha, "alpha")
    if inplace:
        return _in_place(elu, input, "elu", a)
    return _pointwise(
        input,
        lambda x: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
        lambda x, y: np.where(x > 0, 1, a * np.exp(np.minimum(x, 0))),
        "EluBackward0",
    )


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (``F.celu``)."""
    a = _num(alpha, "alpha")
    if inplace:
        return _in_place(celu, input, "celu", a)
    if a == 0:
        raise RuntimeError("ZeroDivisionError")
    return _pointwise(
        input,
        lambda x: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0) / a)),
        lambda x, y: np.where(x > 0, 1, np.exp(np.minimum(x, 0) / a)),
        "EluBackward0",
    )


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Any, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants (``F.selu``)."""
    if inplace:
        return _in_place(selu, input, "selu")
    a, s = _SELU_ALPHA, _SELU_SCALE
    return _pointwise(
        input,
        lambda x: s * np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
        lambda x, y: s * np.where(x > 0, 1, a * np.exp(np.minimum(x, 0))),
        "EluBackward0",
    )


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def silu(input: Any, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (``F.silu``)."""
    if inplace:
        return _in_place(silu, input, "silu")

    def d(x, y):
        s = _sigmoid_array(x)
        return s * (1 + x * (1 - s))

    return _pointwise(input, lambda x: x * _sigmoid_array(x), d, "SiluBackward0")


def _softplus_array(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def mish(input: Any, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (``F.mish``)."""
    if inplace:
        return _in_place(mish, input, "mish")

    def d(x, y):
        t = np.tanh(_softplus_array(x))
        return t + x * _sigmoid_array(x) * (1 - t * t)

    return _pointwise(input, lambda x: x * np.tanh(_softplus_array(x)), d, "MishBackward0")


def hardswish(input: Any, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6`` (``F.hardswish``)."""
    if inplace:
        return _in_place(hardswish, input, "hardswish")
    return _pointwise(
        input,
        lambda x: x * np.clip(x + 3, 0, 6) / 6,
        lambda x, y: np.where(x < -3, 0, np.where(x <= 3, x / 3 + 0.5, 1)),
        "HardswishBackward0",
    )


def hardsigmoid(input: Any, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6`` (``F.hardsigmoid``)."""
    if inplace:
        return _in_place(hardsigmoid, input, "hardsigmoid")
    return _pointwise(
        input,
        lambda x: np.clip(x + 3, 0, 6) / 6,
        lambda x, y: np.where((x > -3) & (x < 3), 1 / 6, 0),
        "HardsigmoidBackward0",
    )


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` where ``beta x > threshold`` (``F.softplus``)."""
    b, th = _num(beta, "beta"), _num(threshold, "threshold")

    def d(x, y):
        return np.where(x * b > th, 1, _sigmoid_array(x * b))

    return _pointwise(
        input, lambda x: np.where(x * b > th, x, _softplus_array(x * b) / b), d, "SoftplusBackward0"
    )


def softshrink(input: Any, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0 (``F.softshrink``)."""
    lam = _num(lambd, "lambd")
    if lam < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lam}.")
    return _pointwise(
        input,
        lambda x: np.where(x > lam, x - lam, np.where(x < -lam, x + lam, 0)),
        lambda x, y: (x < -lam) | (x > lam),
        "SoftshrinkBackward0",
    )


def hardshrink(input: Any, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0 (``F.hardshrink``)."""
    lam = _num(lambd, "lambd")
    return _pointwise(
        input,
        lambda x: np.where((x < -lam) | (x > lam), x, 0),
        lambda x, y: (x < -lam) | (x > lam),
        "HardshrinkBackward0",
    )


def tanhshrink(input: Any) -> Tensor:
    """``x - tanh(x)`` (``F.tanhshrink``)."""
    return _pointwise(
        input, lambda x: x - np.tanh(x), lambda x, y: np.tanh(x) ** 2, "TanhshrinkBackward0"
    )


def _threshold(input: Any, th: float, v: float) -> Tensor:
    return threshold(input, th, v)


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value`` (``F.threshold``)."""
    th, v = _num(threshold, "threshold"), _num(value, "value")
    if inplace:
        return _in_place(_threshold, input, "threshold", th, v)
    return _pointwise(
        input, lambda x: np.where(x > th, x, v), lambda x, y: x > th, "ThresholdBackward0"
    )


def logsigmoid(input: Any) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, without overflow (``F.logsigmoid``)."""
    return _pointwise(
        input,
        lambda x: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
        lambda x, y: _sigmoid_array(-x),
        "LogSigmoidBackward0",
    )


def softsign(input: Any) -> Tensor:
    """``x / (1 + |x|)`` (``F.softsign``)."""
    return _pointwise(
        input,
        lambda x: x / (1 + np.abs(x)),
        lambda x, y: 1 / (1 + np.abs(x)) ** 2,
        "SoftsignBackward0",
    )


def gelu(input: Any, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` with the normal CDF ``Phi``, or PyTorch's tanh approximation (``F.gelu``)."""
    if approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)

        def fwd(x):
            return 0.5 * x * (1 + np.tanh(k * (x + 0.044715 * x**3)))

        def d(x, y):
            t = np.tanh(k * (x + 0.044715 * x**3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)

        return _pointwise(input, fwd, d, "GeluBackward0")
    if approximate != "none":
        raise RuntimeError("approximate argument must be either none or tanh.")
    from scipy.special import ndtr  # the normal CDF, exact in the tails

    return _pointwise(
        input,
        lambda x: x * ndtr(x),
        lambda x, y: ndtr(x) + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi),
        "GeluBackward0",
    )


def prelu(input: Any, weight: Any) -> Tensor:
    """``x`` where positive, else ``weight * x``, one slope per channel (dim 1) (``F.prelu``)."""
    x = _float_t(input)
    w = _float_t(weight)
    xd, wd = x._value(), w._value()
    n = wd.size
    if n != 1 and (xd.ndim < 2 or xd.shape[1] != n):
        channels = xd.shape[1] if xd.ndim >= 2 else 1
        raise RuntimeError(
            f"Mismatch of parameter numbers and input channel size. Found "
            f"parameter numbers = {n} and channel size = {channels}."
        )
    shape = (1, n) + (1,) * (xd.ndim - 2) if n != 1 and xd.ndim >= 2 else ()
    wb = wd.reshape(shape) if shape else wd.reshape(())
    pos = xd > 0
    out = np.where(pos, xd, wb * xd).astype(xd.dtype, copy=False)

    def backward(g):
        gw = np.where(pos, 0, xd * g)
        gw = gw.sum() if n == 1 else gw.sum(axis=tuple(i for i in range(xd.ndim) if i != 1))
        return (
            (x, np.where(pos, g, wb * g).astype(xd.dtype, copy=False)),
            (w, np.asarray(gw, dtype=wd.dtype).reshape(wd.shape)),
        )

    return _result(out, "PreluKernelBackward0", (x, w), backward)


def rrelu(
    input: Any,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky ReLU (``F.rrelu``).

    In training each element ``x <= 0`` is multiplied by its own slope drawn
    uniformly from ``[lower, upper)`` by the generator seeded with
    :func:`fastdense.manual_seed` (PyTorch's distribution; not its stream of
    draws); the gradient is that slope. Otherwise it is ``leaky_relu`` with
    slope ``(lower + upper) / 2``, exactly as PyTorch computes it.
    """
    lo, hi = _num(lower, "lower"), _num(upper, "upper")
    if lo > hi:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if inplace:
        return _in_place(rrelu, input, "rrelu", lo, hi, training)
    if not training:
        return leaky_relu(input, (lo + hi) / 2)
    x = _float_t(input)
    xd = x._value()
    slopes = default_generator().uniform(lo, hi, size=xd.shape)
    noise = np.where(xd <= 0, slopes, 1).astype(xd.dtype)
    return _result(xd * noise, "RreluWithNoiseBackward0", (x,), lambda g: ((x, g * noise),))


def glu(input: Any, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)`` for the two halves ``a, b`` of ``input`` along ``dim`` (``F.glu``)."""
    x = _float_t(input)
    xd = x._value()
    if xd.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    axis = _axis(dim, xd.ndim)
    n = xd.shape[axis]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {axis} is size {n}")
    a, b = np.split(xd, 2, axis=axis)
    s = _sigmoid_array(b)

    def backward(g):
        return ((x, np.concatenate([g * s, g * a * s * (1 - s)], axis=axis).astype(xd.dtype)),)

    return _result((a * s).astype(xd.dtype, copy=False), "GluBackward0", (x,), backward)


def softmin(
    input: Any, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``softmax(-x, dim)`` (``F.softmin``)."""
    x = _float_input(input, "softmax_lastdim_kernel_impl")
    if dim is None:
        dim = _softmax_dim("softmin", x.ndim, _stacklevel)
    return softmax(-x, dim, dtype=dtype)


# ================================================================== normalization


def _normalize(xd: np.ndarray, axes: tuple, eps: float):
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance), and 1 / sqrt(var + eps)."""
    mean = xd.mean(axis=axes, keepdims=True)
    d = xd - mean
    rstd = 1 / np.sqrt((d * d).mean(axis=axes, keepdims=True) + eps)
    return d * rstd, rstd


def _normalize_backward(gxhat: np.ndarray, xhat: np.ndarray, rstd: np.ndarray, axes: tuple):
    """dx of ``xhat = (x - mean(x)) * rstd`` for the upstream gradient ``gxhat``."""
    return rstd * (
        gxhat
        - gxhat.mean(axis=axes, keepdims=True)
        - xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
    )


def _affine(
    x: Tensor,
    xhat: np.ndarray,
    dx: Callable,
    weight: Any,
    bias: Any,
    wshape: tuple,
    red_axes: tuple,
    name: str,
) -> Tensor:
    """``xhat * weight + bias`` as one node whose backward reaches x, weight and bias.

    ``dx(gxhat)`` maps the gradient of ``xhat`` to that of ``x``; ``wshape``
    is the broadcast shape of the affine parameters and ``red_axes`` the axes
    their gradients sum over.
    """
    dtype = x._data.dtype
    w = None if weight is None else _float_t(weight)
    b = None if bias is None else _float_t(bias)
    wb = None if w is None else w._value().reshape(wshape)
    out = xhat if wb is None else xhat * wb
    if b is not None:
        out = out + b._value().reshape(wshape)
    out = np.asarray(out, dtype=dtype)

    def backward(g):
        res = []
        if x.requires_grad:
            res.append((x, np.asarray(dx(g if wb is None else g * wb), dtype=dtype)))
        if w is not None and w.requires_grad:
            res.append((w, (g * xhat).sum(axis=red_axes).reshape(w.shape).astype(w.dtype)))
        if b is not None and b.requires_grad:
            res.append((b, g.sum(axis=red_axes).reshape(b.shape).astype(b.dtype)))
        return res

    return _result(out, name, [t for t in (x, w, b) if t is not None], backward)


def _shape_tuple(normalized_shape: Any) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def _check_normalized(xd: np.ndarray, shape: tuple) -> None:
    k = len(shape)
    if k == 0 or xd.ndim < k or tuple(xd.shape[-k:]) != shape:
        raise ShapeError(
            f"Given normalized_shape={list(shape)}, expected input with shape "
            f"[*, {', '.join(map(str, shape))}], but got input of size"
            f"{list(xd.shape)}"
        )


def layer_norm(
    input: Any, normalized_shape: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dimensions (``F.layer_norm``).

    ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance;
    one graph node, its backward the closed form
    ``dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))`` with ``gw = g * weight``.
    """
    x = _float_t(input)
    shape = _shape_tuple(normalized_shape)
    xd = x._value()
    _check_normalized(xd, shape)
    axes = tuple(range(xd.ndim - len(shape), xd.ndim))
    lead = tuple(range(xd.ndim - len(shape)))
    if xd.size == 0:
        return _affine(
            x, xd.copy(), lambda gx: gx, weight, bias, shape, lead, "NativeLayerNormBackward0"
        )
    xhat, rstd = _normalize(xd, axes, eps)
    return _affine(
        x,
        xhat,
        lambda gx: _normalize_backward(gx, xhat, rstd, axes),
        weight,
        bias,
        shape,
        lead,
        "NativeLayerNormBackward0",
    )


def rms_norm(
    input: Any, normalized_shape: Any, weight: Any = None, eps: Optional[float] = None
) -> Tensor:
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last dimensions (``F.rms_norm``).

    ``eps=None`` takes the machine epsilon of the input's dtype, as PyTorch.
    """
    x = _float_t(input)
    shape = _shape_tuple(normalized_shape)
    xd = x._value()
    _check_normalized(xd, shape)
    e = float(np.finfo(xd.dtype).eps) if eps is None else float(eps)
    axes = tuple(range(xd.ndim - len(shape), xd.ndim))
    lead = tuple(range(xd.ndim - len(shape)))
    rstd = (
        1 / np.sqrt((xd * xd).mean(axis=axes, keepdims=True) + e) if xd.size else np.ones_like(xd)
    )
    xhat = xd * rstd
    w = None if weight is None else _float_t(weight)
    wb = None if w is None else w._value()
    out = np.asarray(xhat if wb is None else xhat * wb, dtype=xd.dtype)

    def backward(g):
        res = []
        gy = g if wb is None else g * wb
        if x.requires_grad:
            dx = rstd * (gy - xhat * (gy * xhat).mean(axis=axes, keepdims=True))
            res.append((x, dx.astype(xd.dtype, copy=False)))
        if w is not None and w.requires_grad:
            res.append((w, (g * xhat).sum(axis=lead).astype(w.dtype)))
        return res

    return _result(out, "RmsNormBackward0", [t for t in (x, w) if t is not None], backward)


def group_norm(
    input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups (``F.group_norm``).

    Input (N, C, *); the mean and biased variance of each group of ``C / num_groups``
    channels (over all their positions); ``weight`` and ``bias`` per channel.
    """
    x = _float_t(input)
    xd = x._value()
    if xd.ndim < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {xd.ndim}"
        )
    n, c = xd.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by "
            f"num_groups, but got input of shape {list(xd.shape)} and "
            f"num_groups={num_groups}"
        )
    grouped = xd.reshape(n, num_groups, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xhat, rstd = _normalize(grouped, (2,), eps)

    def dx(gxhat):
        return _normalize_backward(gxhat.reshape(grouped.shape), xhat, rstd, (2,)).reshape(xd.shape)

    return _affine(
        x,
        xhat.reshape(xd.shape),
        dx,
        weight,
        bias,
        (1, c) + (1,) * (xd.ndim - 2),
        (0,) + tuple(range(2, xd.ndim)),
        "NativeGroupNormBackward0",
    )


def batch_norm(
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over the batch (and length) dimensions (``F.batch_norm``).

    In training the batch mean and biased variance normalise each channel
    (dim 1) and the running statistics (NumPy arrays, updated in place) move by
    ``momentum`` towards the batch mean and unbiased variance; otherwise the
    running statistics normalise.
    """
    x = _float_t(input)
    xd = x._value()
    if xd.ndim < 2:
        if xd.size == 0:  # PyTorch: an empty 1-D input has no channel and gives itself
            return _result(xd.copy(), "NativeBatchNormBackward0", (x,), lambda g: ((x, g),))
        raise ValueError(f"expected 2D or 3D input (got {xd.ndim}D input)")
    c = xd.shape[1]
    axes = (0,) + tuple(range(2, xd.ndim))
    wshape = (1, c) + (1,) * (xd.ndim - 2)
    n = xd.size // c if c else 0
    rm = None if running_mean is None else _buffer_data(running_mean)
    rv = None if running_var is None else _buffer_data(running_var)
    if training:
        if n == 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got "
                f"input size {list(xd.shape)}"
            )
        if n == 0:  # an empty batch: an empty output, the statistics kept
            return _affine(
                x, xd.copy(), lambda gx: gx, weight, bias, wshape, axes, "NativeBatchNormBackward0"
            )
        else:
            xhat, rstd = _normalize(xd, axes, eps)
            if rm is not None and rv is not None:
                m = float(momentum)
                rm[...] = (1 - m) * rm + m * xd.mean(axis=axes)
                rv[...] = (1 - m) * rv + m * xd.var(axis=axes) * (n / (n - 1))
        return _affine(
            x,
            xhat,
            lambda gx: _normalize_backward(gx, xhat, rstd, axes),
            weight,
            bias,
            wshape,
            axes,
            "NativeBatchNormBackward0",
        )
    if rm is None or rv is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    rstd = (1 / np.sqrt(rv + eps)).reshape(wshape).astype(xd.dtype)
    xhat = (xd - rm.reshape(wshape)) * rstd
    return _affine(
        x, xhat, lambda gx: gx * rstd, weight, bias, wshape, axes, "NativeBatchNormBackward0"
    )


def _buffer_data(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else value


# ==================================================================== dropouts


def _check_p(p: Any) -> float:
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return p


def _masked(x: Tensor, noise: np.ndarray, shift: Any, name: str) -> Tensor:
    """``x * noise + shift`` with backward ``g * noise`` (noise broadcast to x)."""
    xd = x._value()
    out = np.asarray(xd * noise + shift, dtype=xd.dtype)
    return _result(out, name, (x,), lambda g: ((x, np.asarray(g * noise, dtype=xd.dtype)),))


def _alpha_dropout(input: Any, p: float, training: bool, feature: bool) -> Tensor:
    p = _check_p(p)
    x = _tensor_or_const(input)
    if p == 0 or not training or x.numel() == 0:
        return x
    xd = x._value()
    if p == 1:
        return _masked(x, np.zeros((), xd.dtype), 0, "MulBackward0")
    if feature and xd.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = (xd.shape[:2] + (1,) * (xd.ndim - 2)) if feature else xd.shape
    keep = (default_generator().random(shape) < 1 - p).astype(xd.dtype)
    alpha = 1.7580993408473766  # -SELU's negative saturation value
    a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    shift = ((keep - 1) * (alpha * a) + alpha * a * p).astype(xd.dtype)
    return _masked(x, keep * xd.dtype.type(a), shift, "MulBackward0")


def alpha_dropout(
    input: Any, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout that keeps SELU's mean and variance (``F.alpha_dropout``).

    Dropped elements take SELU's saturation value, then all are rescaled by
    PyTorch's affine map; the mask comes from fastdense's generator.
    """
    if inplace and training and p > 0:
        return _in_place(_alpha_dropout, input, "alpha_dropout", p, training, False)
    return _alpha_dropout(input, p, training, False)


def feature_alpha_dropout(
    input: Any, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """:func:`alpha_dropout` of whole channels (dim 1) (``F.feature_alpha_dropout``)."""
    if inplace and training and p > 0:
        return _in_place(_alpha_dropout, input, "feature_alpha_dropout", p, training, True)
    return _alpha_dropout(input, p, training, True)


def _feature_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Zero whole channels (dim 1) of an (N, C, *) input, scale the rest by ``1 / (1 - p)``:
    one draw per (sample, channel), as PyTorch's ``feature_dropout``."""
    if not training or p == 0 or x.numel() == 0:
        return x
    xd = x._value()
    if xd.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1:
        return _masked(x, np.zeros((), xd.dtype), 0, "MulBackward0")
    shape = xd.shape[:2] + (1,) * (xd.ndim - 2)
    keep = (default_generator().random(shape) < 1 - p).astype(xd.dtype)
    return _masked(x, keep * xd.dtype.type(1 / (1 - p)), 0, "MulBackward0")


def _unbatched_feature_dropout(x: Tensor, p: float, training: bool, batched: bool) -> Tensor:
    """:func:`_feature_dropout` of an input without its batch dimension (added, then removed)."""
    if batched:
        return _feature_dropout(x, p, training)
    out = _feature_dropout(x.unsqueeze(0), p, training)
    return out.squeeze(0)


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input, scale the rest (``F.dropout1d``)."""
    p = _check_p(p)
    x = _tensor_or_const(input)
    if x.ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {x.ndim}D "
            "input. Note that dropout1d exists to provide channel-wise "
            "dropout on inputs with 1 spatial dimension, a channel dimension, "
            "and an optional batch dimension (i.e. 2D or 3D inputs)."
        )
    if inplace and training and p > 0:
        return _in_place(_unbatched_feature_dropout, x, "dropout1d", p, training, x.ndim == 3)
    return _unbatched_feature_dropout(x, p, training, x.ndim == 3)


def _feature_dropout_warning(name: str, ndim: int, spatial: int) -> None:
    lo, hi = spatial + 1, spatial + 2
    if ndim not in (lo, hi):
        warnings.warn(
            f"{name}: Received a {ndim}-D input to {name}, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that "
            f"{name} exists to provide channel-wise dropout on inputs with {spatial} "
            "spatial dimensions, a channel dimension, and an optional batch dimension "
            f"(i.e. {lo}D or {hi}D inputs).",
            stacklevel=3,
        )


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input, scale the rest (``F.dropout2d``).

    As PyTorch: any other number of dimensions warns (deprecated there) and
    drops channels of dim 1; a 3-D input is taken as (N, C, L) with a warning.
    """
    p = _check_p(p)
    x = _tensor_or_const(input)
    _feature_dropout_warning("dropout2d", x.ndim, 2)
    if x.ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    if inplace and training and p > 0:
        return _in_place(_feature_dropout, x, "dropout2d", p, training)
    return _feature_dropout(x, p, training)


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input (``F.dropout3d``).

    As PyTorch: any other number of dimensions warns (deprecated there) and is
    treated as unbatched (a batch dimension added, then removed).
    """
    p = _check_p(p)
    x = _tensor_or_const(input)
    _feature_dropout_warning("dropout3d", x.ndim, 3)
    if inplace and training and p > 0:
        return _in_place(_unbatched_feature_dropout, x, "dropout3d", p, training, x.ndim == 5)
    return _unbatched_feature_dropout(x, p, training, x.ndim == 5)


# ==================================================================== embeddings


def _indices(input: Any, name: str = "input") -> np.ndarray:
    idx = input._data if isinstance(input, Tensor) else to_ndarray(input, name)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"Expected tensor for argument #1 'indices' to have one of the "
            f"following scalar types: Long, Int; but got {idx.dtype} instead"
        )
    return idx.astype(np.int64, copy=False)


def _renorm_rows(w: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: rows used whose norm exceeds max_norm, rescaled in place."""
    rows = np.unique(idx)
    wd = w._data
    norms = np.linalg.norm(wd[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        wd[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(wd.dtype)
        w._vc[0] += 1


def _padding_index(padding_idx: Optional[int], n: int) -> Optional[int]:
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise ValueError("Padding_idx must be within num_embeddings")
    return padding_idx % n


def embedding(
    input: Any,
    weight: Any,
    padding_idx: Optional[int] = None,
    max_norm: Optional[float] = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input`` (``F.embedding``).

    The gradient of row ``padding_idx`` stays zero; ``scale_grad_by_freq``
    divides each row's gradient by the row's count in the batch; ``max_norm``
    renormalises the rows used, in place, before the lookup (as PyTorch).
    """
    if sparse:
        raise NotImplementedError(
            "fastdense does not implement sparse gradients "
            "(embedding(..., sparse=True)); use sparse=False"
        )
    w = _float_t(weight)
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    idx = _indices(input)
    n = w.shape[0]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError("index out of range in self")
    idx = idx % n if idx.size else idx
    pad = _padding_index(padding_idx, n)
    if max_norm is not None:
        _renorm_rows(w, idx, float(max_norm), float(norm_type))
    wd = w._data
    out = wd[idx]

    def backward(g):
        flat, gf = idx.reshape(-1), g.reshape(-1, wd.shape[1])
        if scale_grad_by_freq:
            counts = np.bincount(flat, minlength=n)
            gf = gf / counts[flat][:, None]
        if pad is not None:
            gf = np.where((flat == pad)[:, None], 0, gf)
        dw = np.zeros_like(wd)
        np.add.at(dw, flat, gf)
        return ((w, dw),)

    return _result(out, "EmbeddingBackward0", (w,), backward)


def embedding_bag(
    input: Any,
    weight: Any,
    offsets: Any = None,
    max_norm: Optional[float] = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Any = None,
    include_last_offset: bool = False,
    padding_idx: Optional[int] = None,
) -> Tensor:
    """Sums, means or maxima of bags of embedding rows (``F.embedding_bag``).

    ``input`` is 2-D (each row a bag) or 1-D with ``offsets`` (bag starts).
    Entries equal to ``padding_idx`` are left out (and not counted by "mean");
    an empty bag gives zeros. ``per_sample_weights`` (mode "sum" only) scale
    each entry.
    """
    if sparse:
        raise NotImplementedError(
            "fastdense does not implement sparse gradients "
            "(embedding_bag(..., sparse=True)); use sparse=False"
        )
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    w = _float_t(weight)
    wd = w._data
    n, dim = wd.shape
    idx = _indices(input)
    psw = None if per_sample_weights is None else _float_t(per_sample_weights)
    if psw is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. "
            f"per_sample_weights is only supported for mode='sum' "
            f"(got mode='{mode}'). Please open a feature request on "
            "GitHub."
        )
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is "
                "treated is a mini-batch of fixed length sequences. However, "
                f"found offsets of type {type(offsets).__name__}"
            )
        starts = (
            np.arange(0, idx.size, idx.shape[1])
            if idx.shape[1]
            else np.zeros(idx.shape[0], np.int64)
        )
        flat = idx.reshape(-1)
        ends = np.append(starts[1:], flat.size) if idx.shape[1] else starts
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        off = _indices(offsets, "offsets")
        if off.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        flat = idx
        if include_last_offset:
            starts, ends = off[:-1], off[1:]
        else:
            starts, ends = off, np.append(off[1:], flat.size)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if flat.size and (flat.min() < 0 or flat.max() >= n):
        raise IndexError("index out of range in self")
    pad = _padding_index(padding_idx, n)
    if max_norm is not None:
        _renorm_rows(w, flat, float(max_norm), float(norm_type))
        wd = w._data
    keep = np.ones(flat.size, bool) if pad is None else flat != pad
    sw = None if psw is None else psw._value().reshape(-1)
    out = np.zeros((len(starts), dim), wd.dtype)
    argmax = np.full((len(starts), dim), -1, np.int64)
    counts = np.zeros(len(starts), wd.dtype)
    for i, (s, e) in enumerate(zip(starts, ends)):
        pos = np.arange(s, e)[keep[s:e]]
        if pos.size == 0:
            continue
        rows = wd[flat[pos]]
        counts[i] = pos.size
        if mode == "max":
            k = rows.argmax(axis=0)
            out[i] = rows[k, np.arange(dim)]
            argmax[i] = pos[k]
        else:
            out[i] = (rows if sw is None else rows * sw[pos][:, None]).sum(axis=0)
            if mode == "mean":
                out[i] /= pos.size
    inputs = [w] if psw is None else [w, psw]

    def backward(g):
        dw = np.zeros_like(wd)
        dsw = None if psw is None else np.zeros(flat.size, wd.dtype)
        freq = np.bincount(flat, minlength=n) if scale_grad_by_freq else None
        for i, (s, e) in enumerate(zip(starts, ends)):
            if mode == "max":
                for j in range(dim):
                    if argmax[i, j] >= 0:
                        r = flat[argmax[i, j]]
                        dw[r, j] += g[i, j] / (freq[r] if freq is not None else 1)
                continue
            pos = np.arange(s, e)[keep[s:e]]
            if pos.size == 0:
                continue
            gi = g[i] / (pos.size if mode == "mean" else 1)
            scale = np.ones(pos.size, wd.dtype) if sw is None else sw[pos]
            if freq is not None:
                scale = scale / freq[flat[pos]]
            np.add.at(dw, flat[pos], scale[:, None] * gi)
            if dsw is not None:
                dsw[pos] = wd[flat[pos]] @ g[i]
        res = [(w, dw)]
        if psw is not None:
            res.append((psw, dsw.reshape(psw.shape)))
        return res

    return _result(out, "EmbeddingBagBackward0", inputs, backward)


# ==================================================================== bilinear


def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Tensor:
    """``y[..., o] = x1 @ weight[o] @ x2 + bias[o]`` (``F.bilinear``)."""
    x1, x2, w = _float_t(input1), _float_t(input2), _float_t(weight)
    b = None if bias is None else _float_t(bias)
    a, c, wd = x1._value(), x2._value(), w._value()
    if (
        wd.ndim != 3
        or a.shape[-1:] != wd.shape[1:2]
        or c.shape[-1:] != wd.shape[2:3]
        or a.shape[:-1] != c.shape[:-1]
    ):
        raise ShapeError(
            f"bilinear: input1 {tuple(a.shape)}, input2 {tuple(c.shape)} and "
            f"weight {tuple(wd.shape)} do not match: expected (*, in1), (*, in2) "
            "and (out, in1, in2)"
        )
    out = np.einsum("...i,oij,...j->...o", a, wd, c, optimize=True)
    if b is not None:
        out = out + b._value()
    out = np.asarray(out, dtype=wd.dtype)

    def backward(g):
        res = []
        if x1.requires_grad:
            res.append((x1, np.einsum("...o,oij,...j->...i", g, wd, c, optimize=True)))
        if x2.requires_grad:
            res.append((x2, np.einsum("...o,oij,...i->...j", g, wd, a, optimize=True)))
        if w.requires_grad:
            res.append((w, np.einsum("...o,...i,...j->oij", g, a, c, optimize=True)))
        if b is not None and b.requires_grad:
            res.append((b, g.reshape(-1, wd.shape[0]).sum(axis=0)))
        return res

    return _result(out, "BilinearBackward0", [t for t in (x1, x2, w, b) if t is not None], backward)


# ======================================================================= losses
# Each loss below is one graph node: per-element (or per-row) terms and their
# derivatives with respect to every differentiable operand, then the reduction.


def _operand_as(value: Any, dtype: np.dtype, name: str) -> Tensor:
    """An operand of a loss as a tensor of ``dtype`` (a float tensor keeps its graph)."""
    if isinstance(value, Tensor):
        if value._data.dtype == dtype:
            return value
        if value._data.dtype.kind == "f":
            return value.to(dtype)
        return _const(value._data.astype(dtype))
    return _const(np.asarray(to_ndarray(value, name), dtype=dtype))


def _reduce_array(per: np.ndarray, reduction: str) -> np.ndarray:
    """``per`` summed, averaged (NaN when empty, as PyTorch) or kept."""
    if reduction == "none":
        return per
    n = per.size
    total = per.sum() if reduction == "sum" else (per.sum() / n if n else np.nan)
    return np.asarray(total, dtype=per.dtype)


def _grad_scale(g: Any, reduction: str, n: int, rows: bool = False) -> Any:
    """The upstream gradient of a reduced loss as a factor of each term's derivative."""
    if reduction == "none":
        return np.asarray(g)[..., None] if rows else g
    return g / n if reduction == "mean" and n else g


def _reduced_loss(per: np.ndarray, terms: list, reduction: str, name: str) -> Tensor:
    """``per`` reduced, with backward ``g * d`` for each ``(tensor, d)`` in ``terms``.

    Each ``d`` is the derivative of ``per`` with respect to that tensor,
    broadcast to ``per``'s shape; it is summed back to the tensor's shape.
    """
    out = _reduce_array(per, reduction)

    def backward(g):
        scale = _grad_scale(g, reduction, per.size)
        res = []
        for t, d in terms:
            if t.requires_grad:
                gt = np.asarray(np.broadcast_to(d * scale, per.shape), dtype=t._data.dtype)
                res.append((t, _unbroadcast(gt, t.shape)))
        return res

    return _result(out, name, [t for t, _ in terms], backward)


def kl_div(
    input: Any,
    target: Any,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence of log-probabilities ``input`` from ``target`` (``F.kl_div``).

    Per element ``target * (log(target) - input)`` (0 where ``target`` is 0,
    NaN where it is negative, as PyTorch's ``xlogy``),
    or ``exp(target) * (target - input)`` with ``log_target``. "batchmean"
    divides the sum by the batch size (the mathematical KL divergence);
    "mean" by the number of elements, with PyTorch's warning.
    """
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the "
            "support size.'batchmean' divides only by the batch size, and aligns with "
            "the KL div math definition.'mean' will be changed to behave the same as "
            "'batchmean' in the next major release.",
            UserWarning,
            stacklevel=2,
        )
    elif reduction != "batchmean":
        reduction = _reduction(None, None, reduction)
    x = _float_t(input)
    xd = x._value()
    t = _operand_as(target, xd.dtype, "target")
    td = t._value()
    with np.errstate(divide="ignore", invalid="ignore"):
        if log_target:
            et = np.exp(td)
            per = et * (td - xd)
            dt = et * (td - xd + 1)
            dx = -et
        else:
            # PyTorch's xlogy(t, t) - t * x: 0 where t == 0, NaN where t < 0
            logt = np.log(td)
            per = np.where(td == 0, 0, td * logt) - td * xd
            dt = np.where(td != 0, logt, 0) + td / td - xd
            dx = -td
    per = np.asarray(per, dtype=xd.dtype)
    if reduction == "batchmean":
        out = _reduced_loss(per, [(x, dx), (t, dt)], "sum", "KlDivBackward0")
        return out / xd.shape[0] if xd.ndim else out
    return _reduced_loss(per, [(x, dx), (t, dt)], reduction, "KlDivBackward0")


def poisson_nll_loss(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson target (``F.poisson_nll_loss``).

    ``exp(x) - y x`` with ``log_input``, else ``x - y log(x + eps)``; ``full``
    adds Stirling's term ``y log y - y + log(2 pi y) / 2`` where ``y > 1``.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x = _float_t(input)
    xd = x._value()
    t = _operand_as(target, xd.dtype, "target")
    td = t._value()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if log_input:
            ex = np.exp(xd)
            per, dx, dt = ex - td * xd, ex - td, -xd
        else:
            lx = np.log(xd + eps)
            per, dx, dt = xd - td * lx, 1 - td / (xd + eps), -lx
        if full:
            big = td > 1
            lt = np.log(np.where(big, td, 1))
            per = per + np.where(
                big, td * lt - td + 0.5 * np.log(2 * np.pi * np.where(big, td, 1)), 0
            )
            dt = dt + np.where(big, lt + 0.5 / np.where(big, td, 1), 0)
    return _reduced_loss(
        np.asarray(per, xd.dtype), [(x, dx), (t, dt)], reduction, "PoissonNllLossBackward0"
    )


def gaussian_nll_loss(
    input: Any,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Gaussian target (``F.gaussian_nll_loss``).

    ``(log(max(var, eps)) + (x - y)**2 / max(var, eps)) / 2`` (+ ``log(2 pi) / 2``
    with ``full``); ``var`` of the input's shape, or one dimension short, or
    with one dimension of size 1 (homoscedastic); the clamp passes the
    gradient through unchanged, as in PyTorch.
    """
    x = _float_t(input)
    xd = x._value()
    t = _operand_as(target, xd.dtype, "target")
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        v = _const(np.full(xd.shape, var, dtype=xd.dtype))
    else:
        v = _operand_as(var, xd.dtype, "var")
        if (v._value() < 0).any():
            raise ValueError("var has negative entry/entries")
    vshape = v.shape
    if vshape != xd.shape:
        if xd.shape[:-1] == vshape:
            vshape = vshape + (1,)
        elif not (
            xd.ndim == len(vshape) and sum(b for a, b in zip(xd.shape, vshape) if a != b) == 1
        ):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if vshape != v.shape:  # one dimension short: a trailing 1 (the graph reshapes it back)
        v = v.reshape(*vshape)
    vd = np.maximum(v._value(), eps)
    diff = xd - t._value()
    per = 0.5 * (np.log(vd) + diff * diff / vd)
    if full:
        per = per + 0.5 * math.log(2 * math.pi)
    dvar = 0.5 * (1 / vd - diff * diff / (vd * vd))
    return _reduced_loss(
        np.asarray(per, xd.dtype),
        [(x, diff / vd), (t, -diff / vd), (v, dvar)],
        reduction,
        "GaussianNllLossBackward0",
    )


def hinge_embedding_loss(
    input: Any,
    target: Any,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``x`` where ``y == 1``, ``max(0, margin - x)`` where ``y == -1``.

    ``F.hinge_embedding_loss``.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x = _float_t(input)
    xd = x._value()
    td = _operand_as(target, xd.dtype, "target")._value()
    m = float(margin)
    room = m - xd
    per = np.where(td != 1, np.maximum(room, 0), 0) + np.where(td != -1, xd, 0)
    dx = np.where(td != -1, 1, 0) - np.where((td != 1) & (room >= 0), 1, 0)
    return _reduced_loss(
        np.asarray(per, xd.dtype), [(x, dx)], reduction, "HingeEmbeddingLossBackward0"
    )


def soft_margin_loss(
    input: Any, target: Any, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``log(1 + exp(-y x))`` (``F.soft_margin_loss``)."""
    reduction = _reduction(size_average, reduce, reduction)
    x = _float_t(input)
    xd = x._value()
    t = _operand_as(target, xd.dtype, "target")
    td = t._value()
    z = -td * xd
    per = _softplus_array(z)
    s = _sigmoid_array(z)
    return _reduced_loss(
        np.asarray(per, xd.dtype),
        [(x, -td * s), (t, -xd * s)],
        reduction,
        "SoftMarginLossBackward0",
    )


def margin_ranking_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, -y (x1 - x2) + margin)`` (``F.margin_ranking_loss``)."""
    reduction = _reduction(size_average, reduce, reduction)
    x1 = _float_t(input1)
    dtype = x1._data.dtype
    x2 = _operand_as(input2, dtype, "input2")
    y = _operand_as(target, dtype, "target")
    if not x1.ndim == x2.ndim == y.ndim:
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension "
            f"but got sizes: input1: {list(x1.shape)}, input2: "
            f"{list(x2.shape)}, target: {list(y.shape)} "
        )
    a, b, yd = x1._value(), x2._value(), y._value()
    z = -yd * (a - b) + float(margin)
    on = (z >= 0).astype(dtype)
    per = np.asarray(np.maximum(z, 0), dtype)
    return _reduced_loss(
        per,
        [(x1, -yd * on), (x2, yd * on), (y, -(a - b) * on)],
        reduction,
        "MarginRankingLossBackward0",
    )


def cosine_embedding_loss(
    input1: Any,
    input2: Any,
    target: Any,
    margin: float = 0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``1 - cos(x1, x2)`` where ``y == 1``, ``max(0, cos - margin)`` where ``y == -1``.

    The cosine along the last dimension of (N, D) or (D,) inputs, with
    PyTorch's ``1e-12`` added to each squared norm (``F.cosine_embedding_loss``).
    """
    reduction = _reduction(size_average, reduce, reduction)
    x1 = _float_t(input1)
    dtype = x1._data.dtype
    x2 = _operand_as(input2, dtype, "input2")
    a, b = x1._value(), x2._value()
    yd = _operand_as(target, dtype, "target")._value()
    if a.ndim not in (1, 2) or a.shape != b.shape or yd.ndim != a.ndim - 1:
        raise RuntimeError(
            f"cosine_embedding_loss: expected inputs of the same shape (N, D) "
            f"or (D,) and a target (N,) or (); got {list(a.shape)}, "
            f"{list(b.shape)} and {list(yd.shape)}"
        )
    prod = (a * b).sum(-1)
    m1 = (a * a).sum(-1) + 1e-12
    m2 = (b * b).sum(-1) + 1e-12
    denom = np.sqrt(m1 * m2)
    cos = prod / denom
    neg = cos - float(margin)
    per = np.where(yd == 1, 1 - cos, 0) + np.where(yd == -1, np.maximum(neg, 0), 0)
    dcos = (np.where(yd == 1, -1, 0) + np.where((yd == -1) & (neg >= 0), 1, 0))[..., None]
    c = cos[..., None]
    d1 = dcos * (b / denom[..., None] - c * a / m1[..., None])
    d2 = dcos * (a / denom[..., None] - c * b / m2[..., None])
    per = np.asarray(per, dtype)
    out = _reduce_array(per, reduction)

    def backward(g):
        scale = _grad_scale(g, reduction, per.size, rows=True)
        return [
            (t, np.asarray(d * scale, dtype)) for t, d in ((x1, d1), (x2, d2)) if t.requires_grad
        ]

    return _result(out, "CosineEmbeddingLossBackward0", (x1, x2), backward)


def _per_sample(
    per: np.ndarray,
    d: np.ndarray,
    x: Tensor,
    reduction: str,
    name: str,
    y: Optional[Tensor] = None,
    dy: Optional[np.ndarray] = None,
) -> Tensor:
    """A loss with one value per sample ``per`` and its input gradient rows ``d`` (and
    ``dy``, the rows of its gradient with respect to a target ``y`` that requires one)."""
    dtype = x._data.dtype
    per = np.asarray(per, dtype)
    out = _reduce_array(per, reduction)

    def backward(g):
        scale = _grad_scale(g, reduction, per.size, rows=True)
        res = [(x, np.asarray(d * scale, dtype).reshape(x.shape))]
        if y is not None:
            res.append((y, np.asarray(dy * scale, y._data.dtype).reshape(y.shape)))
        return res

    return _result(out, name, (x,) if y is None else (x, y), backward)


def multi_margin_loss(
    input: Any,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss (``F.multi_margin_loss``).

    Sample i: ``sum_{j != y} w[y] max(0, margin - x[y] + x[j]) ** p / C``, p 1 or 2.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = _float_t(input)
    xd = x._value()
    if xd.ndim > 2:
        raise RuntimeError(
            f"Expected non-empty vector or matrix with optional 0-dim batch size,"
            f" but got: {list(xd.shape)}"
        )
    x2 = xd.reshape(-1, xd.shape[-1]) if xd.ndim else xd.reshape(1, 1)
    m, c = x2.shape
    y = _indices(target, "target").reshape(-1)
    if y.size != m:
        raise RuntimeError(
            f"inconsistent target size, expected {m} but got {list(np.shape(target))}"
        )
    if y.size and (y.min() < 0 or y.max() >= c):
        raise IndexError("target out of range")
    w = None if weight is None else _constant(weight, "weight").astype(xd.dtype).reshape(-1)
    rows = np.arange(m)
    z = float(margin) - x2[rows, y][:, None] + x2
    z[rows, y] = 0
    on = z > 0
    wy = np.ones(m, xd.dtype) if w is None else w[y]
    per = (np.where(on, z**p, 0).sum(1) * wy) / c
    d = np.where(on, 1 if p == 1 else 2 * z, 0) * (wy / c)[:, None]
    d[rows, y] = -d.sum(1)
    if xd.ndim < 2:
        per = per.reshape(())
    return _per_sample(
        per, d if xd.ndim == 2 else d.reshape(xd.shape), x, reduction, "MultiMarginLossBackward0"
    )


def multilabel_margin_loss(
    input: Any, target: Any, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Multi-label hinge loss (``F.multilabel_margin_loss``).

    ``target`` holds each sample's class indices, ended by the first -1;
    sample i: ``sum_{j in targets, k not in targets} max(0, 1 - (x[j] - x[k])) / C``.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x = _float_t(input)
    xd = x._value()
    y = _indices(target, "target")
    if xd.ndim > 2 or y.shape != xd.shape:
        raise RuntimeError(
            f"inconsistent target size: {list(y.shape)} for input of size: {list(xd.shape)}"
        )
    x2 = xd.reshape(-1, xd.shape[-1]) if xd.ndim else xd.reshape(1, 1)
    y2 = y.reshape(x2.shape)
    m, c = x2.shape
    per = np.zeros(m, xd.dtype)
    d = np.zeros_like(x2)
    for i in range(m):
        labels = []
        for v in y2[i]:
            if v < 0:
                break
            if v >= c:
                raise IndexError("target out of range")
            labels.append(int(v))
        is_target = np.zeros(c, bool)
        is_target[labels] = True
        for j in labels:
            z = 1 - (x2[i, j] - x2[i])
            on = (z > 0) & ~is_target
            per[i] += z[on].sum() / c
            d[i, on] += 1 / c
            d[i, j] -= on.sum() / c
    return _per_sample(
        per if xd.ndim == 2 else per.reshape(()), d, x, reduction, "MultilabelMarginLossBackward0"
    )


def multilabel_soft_margin_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Binary cross-entropy of each label, averaged over the labels.

    ``F.multilabel_soft_margin_loss``; ``weight`` per label.
    """
    reduction = _reduction(size_average, reduce, reduction)
    x = _float_t(input)
    xd = x._value()
    y = None  # the target when it requires a gradient (PyTorch differentiates it)
    if isinstance(target, Tensor) and target.requires_grad and _grad_mode.enabled:
        y = target
        td = target._data.astype(xd.dtype, copy=False)
    else:
        td = _constant(target, "target").astype(xd.dtype, copy=False)
    c = xd.shape[-1] if xd.ndim else 1
    per = -(td * (-_softplus_array(-xd)) + (1 - td) * (-_softplus_array(xd)))
    d = _sigmoid_array(xd) - td
    w = None if weight is None else _constant(weight, "weight").astype(xd.dtype)
    if w is not None:
        per, d = per * w, d * w
    dy = None  # the target's gradient rows, only when it requires one
    if y is not None:  # d/dy of y log s(x) + (1 - y) log s(-x), negated: log s(x) - log s(-x) = x
        dy = (-xd if w is None else -xd * w) / c
    per = per.sum(-1) / c if xd.ndim else per / c
    return _per_sample(per, d / c, x, reduction, "MultilabelSoftMarginLossBackward0", y, dy)


def _pairwise_distance(a: np.ndarray, b: np.ndarray, p: float, eps: float):
    """(``||a - b + eps||_p`` along the last dim, its gradient with respect to a)."""
    u = a - b + eps
    if p == 2:
        dist = np.sqrt((u * u).sum(-1))
        grad = u / np.where(dist == 0, 1, dist)[..., None]
    else:
        dist = (np.abs(u) ** p).sum(-1) ** (1 / p)
        safe = np.where(dist == 0, 1, dist)[..., None]
        grad = np.sign(u) * np.abs(u) ** (p - 1) / safe ** (p - 1)
    return dist, grad


def triplet_margin_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)``, ``d`` the p-norm distance (``F.triplet_margin_loss``).

    ``d(x, y) = ||x - y + eps||_p`` along the last dimension; ``swap`` uses
    ``min(d(a, n), d(p, n))`` for the negative distance.
    """
    reduction = _reduction(size_average, reduce, reduction)
    ta = _float_t(anchor)
    dtype = ta._data.dtype
    tp, tn = _operand_as(positive, dtype, "positive"), _operand_as(negative, dtype, "negative")
    a, pos, neg = ta._value(), tp._value(), tn._value()
    if not a.ndim == pos.ndim == neg.ndim:
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the "
            f"same number of dimensions, but got: anchor {a.ndim}D, positive "
            f"{pos.ndim}D, and negative {neg.ndim}D inputs"
        )
    p = float(p)
    d_ap, g_ap = _pairwise_distance(a, pos, p, eps)
    d_an, g_an = _pairwise_distance(a, neg, p, eps)
    use_pn = np.zeros(d_an.shape, bool)
    g_pn = np.zeros_like(g_an)
    if swap:
        d_pn, g_pn = _pairwise_distance(pos, neg, p, eps)
        use_pn = d_pn < d_an
        d_an = np.where(use_pn, d_pn, d_an)
    z = float(margin) + d_ap - d_an
    on = (z >= 0)[..., None]
    per = np.asarray(np.maximum(z, 0), dtype)
    k = use_pn[..., None]
    da = on * (g_ap - np.where(k, 0, g_an))
    dp = on * (-g_ap - np.where(k, g_pn, 0))
    dn = on * (np.where(k, g_pn, g_an))
    out = _reduce_array(per, reduction)

    def backward(g):
        scale = _grad_scale(g, reduction, per.size, rows=True)
        return [
            (
                t,
                _unbroadcast(
                    np.asarray(
                        np.broadcast_to(d * scale, np.broadcast_shapes(d.shape, t.shape)), dtype
                    ),
                    t.shape,
                ),
            )
            for t, d in ((ta, da), (tp, dp), (tn, dn))
            if t.requires_grad
        ]

    return _result(out, "TripletMarginLossBackward0", (ta, tp, tn), backward)


# ================================================================ distances
# Composed from the engine's graph ops (norm, sub, div, clamp): each gradient is
# the chain of those ops' formulas, as PyTorch composes them in ATen.


def _float_pair(x1: Any, x2: Any) -> Tuple[Tensor, Tensor]:
    a = _float_t(x1)
    b = x2 if isinstance(x2, Tensor) else _operand_as(x2, a._data.dtype, "x2")
    return a, b


def pairwise_distance(
    x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dimension (``F.pairwise_distance``).

    ``x1`` and ``x2`` broadcast; the last dimension is that of the one with more
    dimensions (a 0-d result for two vectors).
    """
    a, b = _float_pair(x1, x2)
    dim = max(a._data.ndim, b._data.ndim) - 1
    return ((a - b) + eps).norm(p, dim=dim if dim >= 0 else None, keepdim=keepdim)


def pdist(input: Any, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of a 2-D ``input`` (``F.pdist``).

    Row pairs ``(i, j)`` with ``i < j`` in row-major order: ``N (N - 1) / 2``
    values for ``N`` rows. ``p`` must be non-negative.
    """
    x = _float_t(input)
    if x._data.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x._data.ndim}D")
    if float(p) < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = np.triu_indices(x._data.shape[0], 1)
    return (x[i] - x[j]).norm(float(p), dim=1)


def _value_clamped(t: Tensor, low: float) -> Tensor:
    """``t`` with its values raised to ``low``, its gradient that of ``t`` unchanged
    (PyTorch clamps the norms of cosine_similarity in place, outside autograd)."""
    return _result(
        np.maximum(t._data, np.asarray(low, t._data.dtype)),
        "CloneBackward0",
        (t,),
        lambda g: ((t, g),),
    )


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 * x2) / (max(||x1||, eps) max(||x2||, eps))`` along ``dim`` (broadcast).

    Each operand is divided by its own clamped norm before the product, as
    PyTorch does (no overflow of ``||x1|| ||x2||``); the clamp changes the
    norms' values but not their gradients, as in PyTorch.
    """
    a, b = _float_pair(x1, x2)
    shape = np.broadcast_shapes(a._data.shape, b._data.shape)
    a, b = a.expand(*shape), b.expand(*shape)
    if not shape:
        a, b, dim = a.reshape(1), b.reshape(1), 0
    na = _value_clamped(a.norm(2, dim=dim, keepdim=True), eps)
    nb = _value_clamped(b.norm(2, dim=dim, keepdim=True), eps)
    out = ((a / na) * (b / nb)).sum(dim)
    return out.reshape(()) if not shape else out


def normalize(
    input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Any = None
) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim`` (``F.normalize``)."""
    x = _float_t(input)
    denom = x.norm(p, dim=dim, keepdim=True).clamp_min(eps).expand_as(x)
    return _with_out(lambda a, b: a.div(b))(x, denom, out=out)


def triplet_margin_with_distance_loss(
    anchor: Any,
    positive: Any,
    negative: Any,
    *,
    distance_function: Optional[Callable] = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with any distance ``d``
    (``F.triplet_margin_with_distance_loss``; ``d`` is :func:`pairwise_distance` by default).

    ``swap`` uses ``min(d(a, n), d(p, n))`` for the negative distance.
    """
    if margin <= 0:
        raise ValueError(
            f"triplet_margin_with_distance_loss: expected margin to be greater than 0, "
            f"got {margin} instead"
        )
    reduction = _reduction(None, None, reduction)
    a, pos, neg = _float_t(anchor), _float_t(positive), _float_t(negative)
    if not a._data.ndim == pos._data.ndim == neg._data.ndim:
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {a._data.ndim}D, positive "
            f"{pos._data.ndim}D, and negative {neg._data.ndim}D inputs"
        )
    d = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = _float_t(d(a, pos)), _float_t(d(a, neg))
    if swap:
        d_neg = d_neg.minimum(_float_t(d(pos, neg)))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)
