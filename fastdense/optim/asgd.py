"""Averaged SGD (``torch.optim.ASGD``): PyTorch's rule, NumPy on each parameter's array."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .optimizer import Optimizer, _check, _check_flags, _check_lr, _scalar, _with_weight_decay

__all__ = ["ASGD"]


def _f32(value: float) -> float:
    """value rounded to float32: PyTorch keeps ASGD's ``eta``/``mu`` (and NAdam's
    ``mu_product``) in 0-d tensors of the default scalar dtype, float32."""
    return float(np.float32(value))


class ASGD(Optimizer):
    """Averaged stochastic gradient descent (``torch.optim.ASGD``), PyTorch's rule.

    ``p *= 1 - lambd * eta``; ``p -= eta * g``; the average ``ax`` follows p
    (``ax += mu (p - ax)``, or ``ax = p`` while ``mu == 1``); then
    ``eta = lr / (1 + lambd lr t)^alpha`` and ``mu = 1 / max(1, t - t0)``.
    State: ``step``, ``eta``, ``mu`` (floats, rounded to float32 as PyTorch
    stores them), ``ax``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float or one-element Tensor, default=1e-2
    lambd : float, default=1e-4
    alpha : float, default=0.75
    t0 : float, default=1e6
    weight_decay : float, default=0
    foreach : bool, optional
        Accepted (same math).
    maximize : bool, default=False
    differentiable, capturable : bool, default=False
        Only False.
    """

    _scalar_state = ("step", "eta", "mu")

    def __init__(
        self,
        params: Iterable,
        lr: Any = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check_flags(foreach, None, capturable, differentiable)
        super().__init__(
            params,
            dict(
                lr=lr,
                lambd=lambd,
                alpha=alpha,
                t0=t0,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "step": 0.0,
            "eta": _f32(_scalar(group["lr"])),
            "mu": 1.0,
            "ax": np.zeros_like(p._data),
        }

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, lambd = _scalar(group["lr"]), float(group["lambd"])
        alpha, t0, wd = float(group["alpha"]), float(group["t0"]), float(group["weight_decay"])
        for g, x, st in self._states(group):
            step = st["step"] = float(st["step"]) + 1.0
            g = _with_weight_decay(g, x, lr, wd)
            eta = float(st["eta"])
            x *= 1 - lambd * eta
            x -= eta * g
            ax = st["ax"]
            if float(st["mu"]) != 1:
                ax += (x - ax) * np.asarray(st["mu"], dtype=x.dtype)
            else:
                ax[...] = x
            st["eta"] = _f32(lr / ((1 + lambd * lr * step) ** alpha))
            st["mu"] = _f32(1 / max(1, step - t0))
