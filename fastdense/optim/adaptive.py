"""RMSprop and Adagrad with PyTorch's rules (``torch.optim``'s single-tensor paths).

One kernel call per parameter (``_kernels.torch_rmsprop``/``torch_adagrad``),
in place on the parameter arrays, with PyTorch's order of operations; the
state buffers have PyTorch's names.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .. import _kernels
from .optimizer import Optimizer, _check, _state_buffer, _with_grads

_EMPTY: Dict[np.dtype, np.ndarray] = {np.dtype(np.float32): np.empty(0, np.float32),
                                      np.dtype(np.float64): np.empty(0, np.float64)}

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
        for p, g, flat in _with_grads(group["params"]):
            st = self.state[p]
            if not st:
                st["step"] = 0.0
                st["square_avg"] = np.zeros(p._data.shape, dtype=flat.dtype)
                if momentum > 0:
                    st["momentum_buffer"] = np.zeros(p._data.shape, dtype=flat.dtype)
                if group["centered"]:
                    st["grad_avg"] = np.zeros(p._data.shape, dtype=flat.dtype)
            bufs = [_state_buffer(p, st, key) for key in ("square_avg", "grad_avg",
                                                           "momentum_buffer")]
            for key, b, needed in zip(("square_avg", "grad_avg", "momentum_buffer"), bufs,
                                      (True, group["centered"], momentum > 0)):
                if needed and b is None:  # (e.g. momentum turned on after the first step)
                    raise KeyError(f"{key!r}: RMSprop's state lacks it (PyTorch raises too)")
            st["step"] = float(st["step"]) + 1.0
            empty = _EMPTY[flat.dtype]
            v, m, buf = (empty if b is None else b.reshape(-1) for b in bufs)
            _kernels.torch_rmsprop(flat, g, v, m if group["centered"] else empty,
                                   buf if momentum > 0 else empty, lr, alpha, eps, wd,
                                   momentum, bool(group["maximize"]))


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
        for p, g, flat in _with_grads(group["params"]):
            st = self.state[p]
            total = _state_buffer(p, st, "sum")
            if total is None:
                raise RuntimeError("Adagrad state 'sum' is missing (was the state edited?)")
            st["step"] = float(st["step"]) + 1.0
            clr = lr / (1 + (st["step"] - 1) * lr_decay)
            _kernels.torch_adagrad(flat, g, total.reshape(-1), clr, eps, wd,
                                   bool(group["maximize"]))
