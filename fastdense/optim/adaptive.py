"""RMSprop and Adagrad with PyTorch's rules (``torch.optim``'s single-tensor paths).

Computed with NumPy in place on the parameter arrays (fastdense has no fused
kernel for them yet); the state buffers have PyTorch's names.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .optimizer import Optimizer, _check, _flat_grad, _flat_param, _state_buffer

__all__ = ["RMSprop", "Adagrad"]


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

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False, foreach: Optional[bool] = None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        _check(0.0 <= lr, f"Invalid learning rate: {lr}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        wd, momentum = float(group["weight_decay"]), float(group["momentum"])
        for p in group["params"]:
            g = _flat_grad(p)
            if g is None:
                continue
            flat = _flat_param(p)
            t = flat.dtype.type
            if group["maximize"]:
                g = -g
            if wd != 0:
                g = g + t(wd) * flat
            st = self.state[p]
            if not st:
                st["step"] = 0.0
                st["square_avg"] = np.zeros(p._data.shape, dtype=flat.dtype)
                if momentum > 0:
                    st["momentum_buffer"] = np.zeros(p._data.shape, dtype=flat.dtype)
                if group["centered"]:
                    st["grad_avg"] = np.zeros(p._data.shape, dtype=flat.dtype)
            for key in ("square_avg", "momentum_buffer", "grad_avg"):
                _state_buffer(p, st, key)
            st["step"] = float(st["step"]) + 1.0
            v = st["square_avg"].reshape(-1)
            v *= t(alpha)
            v += t(1 - alpha) * g * g
            if group["centered"]:
                m = st["grad_avg"].reshape(-1)
                m += (g - m) * t(1 - alpha)
                avg = np.sqrt(v - m * m) + t(eps)
            else:
                avg = np.sqrt(v) + t(eps)
            if momentum > 0:
                buf = st["momentum_buffer"].reshape(-1)
                buf *= t(momentum)
                buf += g / avg
                flat -= t(lr) * buf
            else:
                flat -= t(lr) * (g / avg)


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``), PyTorch's rule.

    ``s += g^2``; ``p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float, default=1e-2
    lr_decay, weight_decay, initial_accumulator_value : float, default=0
    eps : float, default=1e-10
    maximize : bool, default=False
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: Optional[bool] = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        _check(0.0 <= lr, f"Invalid learning rate: {lr}")
        _check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= initial_accumulator_value,
               f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0.0, "sum": np.full(
                    p._data.shape, group["initial_accumulator_value"], dtype=p._data.dtype)}

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
        wd, eps = float(group["weight_decay"]), float(group["eps"])
        for p in group["params"]:
            g = _flat_grad(p)
            if g is None:
                continue
            flat = _flat_param(p)
            t = flat.dtype.type
            if group["maximize"]:
                g = -g
            st = self.state[p]
            _state_buffer(p, st, "sum")
            st["step"] = float(st["step"]) + 1.0
            if wd != 0:
                g = g + t(wd) * flat
            clr = lr / (1 + (st["step"] - 1) * lr_decay)
            s = st["sum"].reshape(-1)
            s += g * g
            flat -= t(clr) * (g / (np.sqrt(s) + t(eps)))
