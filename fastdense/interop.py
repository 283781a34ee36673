"""Move models and weights between fastdense and PyTorch (PyTorch is imported only here, on call).

:func:`from_torch` builds the fastdense equivalent of a PyTorch model made of
the supported layers, with the same weights; :func:`to_torch` does the
reverse. Both copy the values. ``to_torch`` also converts a state dict
(model or optimizer) of NumPy arrays to one of torch tensors, which
``torch.nn.Module.load_state_dict`` and ``torch.optim.Optimizer.load_state_dict``
accept.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from . import _activations, nn
from .autograd import Tensor

__all__ = ["from_torch", "to_torch"]


def _batch_norm_dtype(module: Any, torch: Any) -> Any:
    """A torch BatchNorm1d's floating dtype (of its weight, or its running mean)."""
    for t in (module.weight, module.running_mean):
        if t is not None:
            return t.dtype
    return torch.get_default_dtype()


def _activation(module: Any, source: Any, target: Any) -> Any:
    """The `target` library's module for an activation module of `source` (torch.nn or
    fastdense.nn) the registry knows, with its constructor arguments; None otherwise."""
    entry = _activations.by_module(type(module).__name__)
    if entry is None or type(module) is not getattr(source, entry.module, None):
        return None
    return getattr(target, entry.module)(**{k: getattr(module, k) for k in entry.module_args})


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("this function needs PyTorch (pip install torch)") from exc
    return torch


def _np_dtype(torch_dtype) -> np.dtype:
    name = str(torch_dtype).replace("torch.", "")
    if name not in ("float32", "float64"):
        raise TypeError(f"only float32 and float64 models are supported; got {torch_dtype}")
    return np.dtype(name)


def from_torch(module: Any) -> "nn.Module":
    """The fastdense model equivalent to a PyTorch module, with copied weights.

    Supported: ``Sequential`` (nested too), ``Linear``, the activation modules
    of the registry (``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``,
    ``Identity``, ``GELU``, ``SiLU``, ``ELU``, ``Softplus``: see
    ``fastdense._activations``), ``Dropout``, ``BatchNorm1d``,
    ``BCEWithLogitsLoss`` and ``BCELoss``. The training/eval mode is carried over.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    fastdense.nn.Module

    Raises
    ------
    TypeError
        For a layer fastdense has no equivalent of (e.g. a custom ``forward``).
    """
    torch = _torch()
    tnn = torch.nn
    name = type(module).__name__
    out: nn.Module
    if isinstance(module, tnn.Sequential):
        out = nn.Sequential(
            OrderedDict((key, from_torch(child)) for key, child in module.named_children())
        )
    elif isinstance(module, tnn.Linear):
        out = nn.Linear(
            module.in_features,
            module.out_features,
            bias=module.bias is not None,
            dtype=_np_dtype(module.weight.dtype),
        )
        out.load_state_dict(module.state_dict())
    elif (activation := _activation(module, tnn, nn)) is not None:
        out = activation
    elif isinstance(module, tnn.Dropout):
        out = nn.Dropout(module.p)
    elif type(module) is tnn.BatchNorm1d:
        out = nn.BatchNorm1d(
            module.num_features,
            module.eps,
            module.momentum,
            module.affine,
            module.track_running_stats,
            dtype=_np_dtype(_batch_norm_dtype(module, torch)),
        )
        out.load_state_dict(module.state_dict())
    elif isinstance(module, tnn.BCEWithLogitsLoss):
        out = nn.BCEWithLogitsLoss(
            module.weight, reduction=module.reduction, pos_weight=module.pos_weight
        )
    elif isinstance(module, tnn.BCELoss):
        out = nn.BCELoss(module.weight, reduction=module.reduction)
    else:
        raise TypeError(
            f"from_torch: no fastdense equivalent for {name}; supported are Sequential, "
            f"Linear, {', '.join(a.module for a in _activations.REGISTRY)}, Dropout, "
            "BatchNorm1d and the BCE losses"
        )
    return out.train(bool(module.training))


def _to_tensor(value: Any, torch):
    if isinstance(value, Tensor):  # a fastdense state_dict's values
        value = value._data
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    if isinstance(value, dict):
        return (
            type(value)((k, _to_tensor(v, torch)) for k, v in value.items())
            if isinstance(value, OrderedDict)
            else {k: _to_tensor(v, torch) for k, v in value.items()}
        )
    if isinstance(value, list):
        return [_to_tensor(v, torch) for v in value]
    return value


def to_torch(obj: Any):
    """The PyTorch equivalent of a fastdense model, or a state dict with torch tensors.

    Parameters
    ----------
    obj : fastdense.nn.Module or dict
        A model made of the layers :func:`from_torch` supports, or a model or
        optimizer ``state_dict()`` (NumPy arrays become torch tensors; optimizer
        ``step`` counts become tensors when torch's optimizer loads them).

    Returns
    -------
    torch.nn.Module or dict
    """
    torch = _torch()
    tnn = torch.nn
    if isinstance(obj, dict):
        return _to_tensor(obj, torch)
    if not isinstance(obj, nn.Module):
        raise TypeError(f"to_torch expects a fastdense Module or a state dict; got {type(obj)}")
    name = type(obj).__name__
    if isinstance(obj, nn.Sequential):
        out = tnn.Sequential(OrderedDict((k, to_torch(c)) for k, c in obj.named_children()))
    elif isinstance(obj, nn.Linear):
        dtype = getattr(torch, str(obj.weight.dtype))
        out = tnn.Linear(obj.in_features, obj.out_features, bias=obj.bias is not None, dtype=dtype)
        out.load_state_dict(_to_tensor(obj.state_dict(), torch))
    elif (activation := _activation(obj, nn, tnn)) is not None:
        out = activation
    elif isinstance(obj, nn.Dropout):
        out = tnn.Dropout(obj.p)
    elif type(obj) is nn.BatchNorm1d:
        state = obj.state_dict()
        dtype = getattr(
            torch,
            str(
                next(
                    v for v in state.values() if np.asarray(getattr(v, "_data", v)).ndim == 1
                ).dtype
            ),
        )
        out = tnn.BatchNorm1d(
            obj.num_features,
            obj.eps,
            obj.momentum,
            obj.affine,
            obj.track_running_stats,
            dtype=dtype,
        )
        out.load_state_dict(_to_tensor(state, torch))
    elif isinstance(obj, nn.BCEWithLogitsLoss):
        w, pw = (
            None if a is None else torch.from_numpy(np.array(a._data, copy=True))
            for a in (obj.weight, obj.pos_weight)
        )
        out = tnn.BCEWithLogitsLoss(w, reduction=obj.reduction, pos_weight=pw)
    elif isinstance(obj, nn.BCELoss):
        w = None if obj.weight is None else torch.from_numpy(np.array(obj.weight._data, copy=True))
        out = tnn.BCELoss(w, reduction=obj.reduction)
    else:
        raise TypeError(f"to_torch: no PyTorch equivalent for {name}")
    return out.train(obj.training)
