"""``torch.nn.utils``: gradient clipping (PyTorch's formulas, in place on ``.grad``) and
the flattening of parameters to one vector and back."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..autograd import Tensor, _const, _result

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _with_grads(parameters: Any):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p for p in parameters if p._grad is not None]


def clip_grad_norm_(
    parameters: Iterable,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach=None,
) -> Tensor:
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
        total = np.max(
            np.asarray([np.abs(p._grad).max() if p._grad.size else 0 for p in params], dtype=dtype)
        )
    else:
        norms = np.asarray(
            [
                np.sum(np.abs(p._grad.astype(dtype, copy=False)) ** norm_type) ** (1.0 / norm_type)
                for p in params
            ],
            dtype=dtype,
        )
        total = np.sum(norms**norm_type) ** (1.0 / norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
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
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place.

    Parameters without a gradient are skipped, as in PyTorch.
    """
    c = float(clip_value)
    for p in _with_grads(parameters):
        g = p._grad
        if g.flags.writeable:
            np.clip(g, -c, c, out=g)
        else:
            p._grad = np.clip(g, -c, c)


def _parameter_list(parameters: Any, what: str) -> list:
    if isinstance(parameters, Tensor):
        raise TypeError(
            f"expected an iterable of tensors for {what}; got a Tensor "
            "(pass [tensor] or model.parameters())"
        )
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected fastdense Tensors in {what}; got {type(p).__name__}")
    return params


def parameters_to_vector(parameters: Iterable) -> Tensor:
    """The parameters flattened and concatenated into one 1-D tensor (``torch.nn.utils``).

    A copy; gradients flow back to the parameters through it (one graph node,
    as PyTorch's ``cat``).

    Parameters
    ----------
    parameters : iterable of Tensor
        E.g. ``model.parameters()``; all of one dtype.

    Returns
    -------
    Tensor of shape (total number of elements,)
    """
    params = _parameter_list(parameters, "parameters")
    if not params:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    dtypes = {p._data.dtype for p in params}
    if len(dtypes) > 1:
        raise TypeError(
            f"parameters_to_vector: the parameters have several dtypes "
            f"({sorted(str(d) for d in dtypes)}); cast the model to one first"
        )
    sizes = [p._data.size for p in params]
    out = np.concatenate([p._data.reshape(-1) for p in params])
    cuts = np.cumsum(sizes)[:-1]

    def backward(g):
        return [(p, gp.reshape(p.shape)) for p, gp in zip(params, np.split(g, cuts))]

    return _result(out, "CatBackward0", params, backward)


def vector_to_parameters(vec: Any, parameters: Iterable) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' data, in place.

    As PyTorch, the parameters' values change (their ``data`` is replaced) and no
    graph is recorded.

    Raises
    ------
    TypeError
        ``vec`` is not a Tensor (PyTorch's message).
    RuntimeError
        ``vec`` has a different number of elements than the parameters together.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = _parameter_list(parameters, "parameters")
    data = vec._value().reshape(-1)
    total = sum(p._data.size for p in params)
    if data.size != total:
        raise RuntimeError(
            f"shape '[{total}]' is invalid for input of size {data.size}: the "
            f"vector has {data.size} elements, the parameters {total}"
        )
    start = 0
    for p in params:
        n = p._data.size
        p._data[...] = data[start : start + n].reshape(p._data.shape)
        p._vc[0] += 1
        start += n
