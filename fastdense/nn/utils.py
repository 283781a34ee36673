"""Gradient clipping (``torch.nn.utils``): PyTorch's formulas, in place on ``.grad``."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..autograd import Tensor, _const

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters: Any):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p._grad is not None]


def clip_grad_norm_(parameters: Iterable, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients so that their joint norm is at most ``max_norm``.

    The norm of all gradients together (as if concatenated) is computed; each
    gradient is multiplied by ``min(1, max_norm / (norm + 1e-6))``.

    Returns
    -------
    Tensor
        The total norm before clipping (0-d).
    """
    params = _with_grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not params:
        return _const(np.asarray(0.0, dtype=np.float32))
    dtype = params[0]._grad.dtype
    if norm_type == float("inf"):
        total = np.max(np.asarray([np.abs(p._grad).max() if p._grad.size else 0
                                   for p in params], dtype=dtype))
    else:
        norms = np.asarray([np.sum(np.abs(p._grad.astype(dtype, copy=False)) ** norm_type)
                            ** (1.0 / norm_type) for p in params], dtype=dtype)
        total = np.sum(norms ** norm_type) ** (1.0 / norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = dtype.type(max_norm) / (total + dtype.type(1e-6))
    coef = min(coef, dtype.type(1.0)) if np.isfinite(coef) else coef
    for p in params:
        g = p._grad
        if g.flags.writeable:
            np.multiply(g, g.dtype.type(coef), out=g)
        else:
            p._grad = g * g.dtype.type(coef)
    return _const(total)


def clip_grad_value_(parameters: Iterable, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    c = float(clip_value)
    for p in _with_grads(parameters):
        g = p._grad
        if g.flags.writeable:
            np.clip(g, -c, c, out=g)
        else:
            p._grad = np.clip(g, -c, c)
