"""RAdam (``torch.optim.RAdam``): PyTorch's rule, NumPy on each parameter's array."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Optional

import numpy as np

from .adamax import _lerp
from .optimizer import (
    Optimizer,
    _check_flags,
    _check_lr,
    _check_moments,
    _scalar,
    _with_weight_decay,
)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Rectified Adam (``torch.optim.RAdam``), PyTorch's rule.

    ``m``, ``v`` as in Adam; with ``rho_inf = 2 / (1 - beta2) - 1`` and
    ``rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)``: while ``rho_t <= 5``
    ``p -= lr * m / (1 - beta1^t)`` (momentum only); after,
    ``p -= lr * m / (1 - beta1^t) * r_t * sqrt(1 - beta2^t) / (sqrt(v) + eps)``
    with the rectification
    ``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``.
    State: ``step``, ``exp_avg``, ``exp_avg_sq``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float or one-element Tensor, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0
    decoupled_weight_decay : bool, default=False
        Multiply p by ``1 - lr * wd`` instead of adding ``wd * p`` to g.
    foreach : bool, optional
        Accepted (same math).
    maximize : bool, default=False
    capturable, differentiable : bool, default=False
        Only False.
    """

    def __init__(
        self,
        params: Iterable,
        lr: Any = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_moments(betas, eps, weight_decay)
        _check_flags(foreach, None, capturable, differentiable)
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                decoupled_weight_decay=decoupled_weight_decay,
                differentiable=differentiable,
            ),
        )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "step": 0.0,
            "exp_avg": np.zeros_like(p._data),
            "exp_avg_sq": np.zeros_like(p._data),
        }

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, eps, wd = _scalar(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        decoupled = bool(group.get("decoupled_weight_decay", False))
        rho_inf = 2 / (1 - beta2) - 1
        for g, x, st in self._states(group):
            step = st["step"] = float(st["step"]) + 1.0
            g = _with_weight_decay(g, x, lr, wd, decoupled)
            m, v = st["exp_avg"], st["exp_avg_sq"]
            _lerp(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * (g * g)
            bc1, bc2 = 1 - beta1**step, 1 - beta2**step
            m_hat = m / bc1
            rho_t = rho_inf - 2 * step * (beta2**step) / bc2
            if rho_t > 5.0:
                rect = math.sqrt(
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                )
                adaptive = bc2**0.5 / (np.sqrt(v) + eps)
                x -= m_hat * lr * adaptive * rect
            else:
                x -= m_hat * lr
