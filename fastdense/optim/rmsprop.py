"""RMSprop (``torch.optim.RMSprop``): PyTorch's rule, one kernel call per parameter."""

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

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``), PyTorch's rule.

    ``v = alpha v + (1 - alpha) g^2``; centered: ``avg = sqrt(v - m^2)`` with
    ``m = alpha m + (1 - alpha) g``, else ``avg = sqrt(v)``; then
    ``p -= lr * g / (avg + eps)`` (through a momentum buffer if ``momentum``).

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float, default=1e-2
    alpha : float, default=0.99
    eps : float, default=1e-8
    weight_decay, momentum : float, default=0
    centered, maximize : bool, default=False
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_flags(foreach, None, capturable, differentiable)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, alpha, eps = _scalar(group["lr"]), float(group["alpha"]), float(group["eps"])
        wd, momentum = float(group["weight_decay"]), float(group["momentum"])
        for p, g, flat in _with_grads(group["params"]):
            st = self.state[p]
            if not st:
                st["step"] = 0.0
                st["square_avg"] = np.zeros(p._data.shape, dtype=flat.dtype)
                if momentum > 0:
                    st["momentum_buffer"] = np.zeros(p._data.shape, dtype=flat.dtype)
                if group["centered"]:
                    st["grad_avg"] = np.zeros(p._data.shape, dtype=flat.dtype)
            bufs = [
                _state_buffer(p, st, key) for key in ("square_avg", "grad_avg", "momentum_buffer")
            ]
            for key, b, needed in zip(
                ("square_avg", "grad_avg", "momentum_buffer"),
                bufs,
                (True, group["centered"], momentum > 0),
            ):
                if needed and b is None:  # (e.g. momentum turned on after the first step)
                    raise KeyError(f"{key!r}: RMSprop's state lacks it (PyTorch raises too)")
            st["step"] = float(st["step"]) + 1.0
            empty = _EMPTY[flat.dtype]
            v, m, buf = (empty if b is None else b.reshape(-1) for b in bufs)
            _kernels.torch_rmsprop(
                flat,
                g,
                v,
                m if group["centered"] else empty,
                buf if momentum > 0 else empty,
                lr,
                alpha,
                eps,
                wd,
                momentum,
                bool(group["maximize"]),
            )
