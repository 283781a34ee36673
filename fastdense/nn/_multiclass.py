"""Softmax, log-softmax and the multi-class losses (``cross_entropy``, ``nll_loss``).

PyTorch's definitions, computed in NumPy in the input's dtype with PyTorch's
order of operations (the max is subtracted before ``exp``, so nothing
overflows), each recorded as one graph node whose backward is the closed
form:

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

import warnings
from typing import Any, Optional, Tuple

import numpy as np

from .._validation import to_ndarray
from ..autograd import Tensor, _const, _float_array, _grad_mode, _result
from ._reduction import reduction_name

__all__ = ["softmax", "log_softmax", "cross_entropy", "nll_loss", "one_hot"]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))  # PyTorch's Long and Byte


def _float_input(input: Any, what: str) -> Tensor:
    """input as a float32/float64 tensor; integer and bool tensors raise as in PyTorch."""
    x = input if isinstance(input, Tensor) else _const(_float_array(input))
    if x._data.dtype not in (_F32, _F64):
        name = {"b": "Bool", "i": "Long", "u": "Byte"}.get(x._data.dtype.kind, str(x.dtype))
        raise NotImplementedError(f'"{what}" not implemented for \'{name}\'')
    return x


def _axis(dim: int, ndim: int) -> int:
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int; got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    return 0 if ndim == 0 else int(dim) % ndim


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's implicit choice of dim (with its deprecation warning)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                  "call to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _log_softmax_array(xd: np.ndarray, axis: int) -> np.ndarray:
    if xd.ndim == 0:
        return np.zeros_like(xd) if np.isfinite(xd) else xd - xd
    if xd.shape[axis] == 0:
        return np.empty_like(xd)
    with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf is NaN, as in PyTorch
        tmp = xd - np.max(xd, axis=axis, keepdims=True)
        return tmp - np.log(np.sum(np.exp(tmp), axis=axis, keepdims=True))


def _softmax_input(input: Any, dim: Optional[int], dtype: Any, name: str,
                   stacklevel: int) -> Tuple[Tensor, np.ndarray, int]:
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


def log_softmax(input: Any, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
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

    return _result(out, "LogSoftmaxBackward0", (x,), backward)


def softmax(input: Any, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
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

    return _result(out, "SoftmaxBackward0", (x,), backward)


# ------------------------------------------------------------------- the losses

def _rows(xd: np.ndarray) -> Tuple[np.ndarray, int]:
    """The input as (rows, C) with classes last; the class axis of the input."""
    if xd.ndim == 0:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], "
                         "but got 1)")
    cdim = 0 if xd.ndim == 1 else 1
    moved = np.moveaxis(xd, cdim, -1)
    return moved.reshape(-1, xd.shape[cdim]), cdim


def _constant(value: Any, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        if value.requires_grad and _grad_mode.enabled:
            raise RuntimeError(f"fastdense does not compute gradients with respect to the "
                               f"loss {name}; pass {name}.detach()")
        return value._data
    return value if type(value) is np.ndarray else to_ndarray(value, name)


def _class_weight(weight: Any, n_classes: int, dtype: np.dtype) -> Optional[np.ndarray]:
    if weight is None:
        return None
    w = _constant(weight, "weight")
    if w.shape != (n_classes,):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} "
                           f"classes or no classes but got weight tensor of shape: "
                           f"{list(w.shape)}")
    if w.dtype != dtype:
        raise RuntimeError(f"expected scalar type {_NAMES.get(dtype, dtype)} but found "
                           f"{_NAMES.get(w.dtype, w.dtype)}")
    return w


_NAMES = {_F32: "Float", _F64: "Double"}
_TORCH_KIND = {"i": "Long", "u": "Byte", "b": "Bool"}


def _index_target(target: np.ndarray, xd: np.ndarray, cdim: int, n_classes: int,
                  ignore_index: int) -> Tuple[np.ndarray, np.ndarray]:
    """(class indices as a flat int64 array with ignored rows at 0, mask of kept rows)."""
    if target.dtype not in _INDEX_DTYPES:
        name = {"f": "Float" if target.dtype == _F32 else "Double", "b": "Bool",
                "i": "Int"}.get(target.dtype.kind, str(target.dtype))
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {name}")
    want = xd.shape[:cdim] + xd.shape[cdim + 1:]
    if target.shape != want:
        if xd.ndim >= 2 and target.ndim >= 1 and target.shape[0] != xd.shape[0]:
            raise ValueError(f"Expected input batch_size ({xd.shape[0]}) to match target "
                             f"batch_size ({target.shape[0]}).")
        raise RuntimeError(f"expected target of shape {list(want)} for input of shape "
                           f"{list(xd.shape)}, got {list(target.shape)}")
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
    out_shape = xd.shape[:cdim] + xd.shape[cdim + 1:]
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
                (eps / n_classes) * (np.ones(n_classes, dtype) if w is None else w))
        with np.errstate(invalid="ignore"):
            if log_probs_given:
                dz = -tw
            else:
                dz = np.exp(logp) * tw.sum(1, keepdims=True) - tw
            dz = (dz * gi[:, None]).astype(dtype, copy=False)
        return ((x, _restore(dz, xd.shape, cdim)),)

    return _result(out, "NllLossBackward0" if log_probs_given else "CrossEntropyLossBackward0",
                   (x,), backward)


def _restore(d2: np.ndarray, shape: tuple, cdim: int) -> np.ndarray:
    moved = shape[:cdim] + shape[cdim + 1:] + (shape[cdim],)
    return np.ascontiguousarray(np.moveaxis(d2.reshape(moved), -1, cdim))


def _prob_loss(x, z2, cdim, target, w, eps, reduction):
    """Cross-entropy of class probabilities (a target of the input's shape)."""
    xd = x._data
    dtype = np.result_type(xd.dtype, target.dtype)
    n_classes = z2.shape[1]
    tz, _ = _rows(target)
    tz = tz.astype(dtype, copy=False)
    if eps > 0:
        tz = tz * (1 - eps) + eps / n_classes
    tw = tz if w is None else tz * w
    logp = _log_softmax_array(z2.astype(dtype, copy=False), 1)
    per = -(logp * tw).sum(1)
    if reduction == "none":
        out = per.reshape(xd.shape[:cdim] + xd.shape[cdim + 1:])
        scale = 1.0
    else:
        total = -(logp * tw).sum()
        scale = 1.0
        if reduction == "mean":
            scale = float(z2.shape[0])
            total = total / scale if scale else np.asarray(np.nan, dtype)
        out = np.asarray(total, dtype=dtype)

    def backward(g):
        gi = np.reshape(g, -1) if reduction == "none" else np.full(z2.shape[0], g / scale if scale else 0)
        dz = (np.exp(logp) * tw.sum(1, keepdims=True) - tw) * gi[:, None]
        return ((x, _restore(dz.astype(xd.dtype, copy=False), xd.shape, cdim)),)

    return _result(out, "CrossEntropyLossBackward0", (x,), backward)


def cross_entropy(input: Any, target: Any, weight: Any = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
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
    reduction = reduction_name(size_average, reduce, reduction)
    eps = float(label_smoothing)
    if eps > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {eps}")
    x = _float_input(input, "log_softmax_lastdim_kernel_impl")
    xd = x._data
    z2, cdim = _rows(xd)
    td = _constant(target, "target")
    if td.shape == xd.shape:  # PyTorch's rule: the input's shape means probabilities
        if td.dtype.kind != "f":
            raise RuntimeError("Expected floating point type for target with class "
                               f"probabilities, got {_TORCH_KIND.get(td.dtype.kind, td.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        w = _class_weight(weight, z2.shape[1], np.result_type(xd.dtype, td.dtype))
        return _prob_loss(x, z2, cdim, td, w, eps, reduction)
    w = _class_weight(weight, z2.shape[1], xd.dtype)
    t, keep = _index_target(td, xd, cdim, z2.shape[1], ignore_index)
    return _index_loss(x, z2, cdim, t, keep, w, max(eps, 0.0), reduction, False)


def nll_loss(input: Any, target: Any, weight: Any = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (``F.nll_loss``).

    Row i's loss is ``-weight[y_i] * input[i, y_i]``; "mean" divides by the
    summed weight of the rows kept. ``input`` is typically ``log_softmax``'s
    output; arguments as in :func:`cross_entropy` (index targets only).
    """
    reduction = reduction_name(size_average, reduce, reduction)
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
