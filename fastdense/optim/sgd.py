"""SGD with momentum (``torch.optim.SGD``): PyTorch's rule, one kernel call per parameter."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .. import _kernels
from .optimizer import (
    _EMPTY,
    Optimizer,
    _check,
    _check_flags,
    _check_lr,
    _scalar,
    _state_buffer,
    _with_grads,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with momentum (``torch.optim.SGD``), PyTorch's rule.

    ``g = grad + weight_decay * p`` (negated first if ``maximize``); with
    momentum ``buf = g`` on the first step, then
    ``buf = momentum * buf + (1 - dampening) * g``, and ``g = g + momentum * buf``
    (Nesterov) or ``g = buf``; ``p -= lr * g``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float, default=1e-3
    momentum, dampening, weight_decay : float, default=0
    nesterov : bool, default=False
        Requires ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default=False
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: Optional[bool] = None,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        _check_lr(lr)
        _check_flags(foreach, fused, False, differentiable)
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _check(
            not nesterov or (momentum > 0 and dampening == 0),
            "Nesterov momentum requires a momentum and zero dampening",
        )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            foreach=foreach,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, momentum = _scalar(group["lr"]), float(group["momentum"])
        dampening, wd = float(group["dampening"]), float(group["weight_decay"])
        nesterov, maximize = bool(group["nesterov"]), bool(group["maximize"])
        state = self.state
        for p, g, flat in _with_grads(group["params"]):
            if momentum != 0:
                st = state[p]
                buf = _state_buffer(p, st, "momentum_buffer")
                first = buf is None
                if first:
                    buf = st["momentum_buffer"] = np.empty_like(p._data)
                _kernels.torch_sgd(
                    flat,
                    g,
                    buf.reshape(-1),  # type: ignore[union-attr]
                    lr,
                    momentum,
                    dampening,
                    wd,
                    nesterov,
                    maximize,
                    first,
                )
            else:
                _kernels.torch_sgd(
                    flat, g, _EMPTY[flat.dtype], lr, 0.0, dampening, wd, nesterov, maximize, False
                )
