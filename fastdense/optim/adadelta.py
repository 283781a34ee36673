"""Adadelta (``torch.optim.Adadelta``): PyTorch's rule, NumPy on each parameter's array."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .optimizer import Optimizer, _check, _check_flags, _check_lr, _scalar, _with_weight_decay

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (``torch.optim.Adadelta``), PyTorch's rule.

    ``v = rho v + (1 - rho) g^2``; ``delta = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho u + (1 - rho) delta^2``; ``p -= lr * delta`` (``g`` includes
    ``weight_decay * p``, negated first if ``maximize``). State: ``step``,
    ``square_avg`` (v), ``acc_delta`` (u).

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float or one-element Tensor, default=1.0
    rho : float, default=0.9
    eps : float, default=1e-6
    weight_decay : float, default=0
    foreach : bool, optional
        Accepted (one implementation here; same math).
    capturable, differentiable : bool, default=False
        Only False (see :func:`fastdense.optim.optimizer._check_flags`).
    maximize : bool, default=False
    """

    def __init__(
        self,
        params: Iterable,
        lr: Any = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: Optional[bool] = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check_flags(foreach, None, capturable, differentiable)
        super().__init__(
            params,
            dict(
                lr=lr,
                rho=rho,
                eps=eps,
                weight_decay=weight_decay,
                maximize=maximize,
                capturable=capturable,
                foreach=foreach,
                differentiable=differentiable,
            ),
        )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "step": 0.0,
            "square_avg": np.zeros_like(p._data),
            "acc_delta": np.zeros_like(p._data),
        }

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, rho, eps = _scalar(group["lr"]), float(group["rho"]), float(group["eps"])
        wd = float(group["weight_decay"])
        for g, x, st in self._states(group):
            st["step"] = float(st["step"]) + 1.0
            g = _with_weight_decay(g, x, lr, wd)
            v, u = st["square_avg"], st["acc_delta"]
            v *= rho
            v += (1 - rho) * (g * g)
            delta = np.sqrt(u + eps)
            delta /= np.sqrt(v + eps)
            delta *= g
            u *= rho
            u += (1 - rho) * (delta * delta)
            x -= lr * delta
