"""Adagrad (``torch.optim.Adagrad``): PyTorch's rule, one kernel call per parameter."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .. import _kernels
from .optimizer import (
    Optimizer,
    _check,
    _check_flags,
    _check_lr,
    _scalar,
    _state_buffer,
    _with_grads,
)

__all__ = ["Adagrad"]


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

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: Optional[bool] = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        _check_lr(lr)
        _check_flags(foreach, fused, False, differentiable)
        _check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(
            0.0 <= initial_accumulator_value,
            f"Invalid initial_accumulator_value value: {initial_accumulator_value}",
        )
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {
                    "step": 0.0,
                    "sum": np.full(
                        p._data.shape, group["initial_accumulator_value"], dtype=p._data.dtype
                    ),
                }

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, lr_decay = _scalar(group["lr"]), float(group["lr_decay"])
        wd, eps = float(group["weight_decay"]), float(group["eps"])
        for p, g, flat in _with_grads(group["params"]):
            st = self.state[p]
            total = _state_buffer(p, st, "sum")
            if total is None:
                raise RuntimeError("Adagrad state 'sum' is missing (was the state edited?)")
            st["step"] = float(st["step"]) + 1.0
            clr = lr / (1 + (st["step"] - 1) * lr_decay)
            _kernels.torch_adagrad(
                flat, g, total.reshape(-1), clr, eps, wd, bool(group["maximize"])
            )
