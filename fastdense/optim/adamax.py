"""Adamax (``torch.optim.Adamax``): PyTorch's rule, NumPy on each parameter's array."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .optimizer import (
    Optimizer,
    _check_flags,
    _check_lr,
    _check_moments,
    _scalar,
    _with_weight_decay,
)

__all__ = ["Adamax"]


def _lerp(a: np.ndarray, b: np.ndarray, w: float) -> None:
    """``a += w * (b - a)`` in place (``torch.lerp_``)."""
    a += w * (b - a)


class Adamax(Optimizer):
    """Adamax, Adam with the infinity norm (``torch.optim.Adamax``), PyTorch's rule.

    ``m = beta1 m + (1 - beta1) g``; ``u = max(beta2 u, |g| + eps)``;
    ``p -= lr / (1 - beta1^t) * m / u``. State: ``step``, ``exp_avg`` (m),
    ``exp_inf`` (u).

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float or one-element Tensor, default=2e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0
    foreach : bool, optional
        Accepted (same math).
    maximize : bool, default=False
    differentiable, capturable : bool, default=False
        Only False.
    """

    def __init__(
        self,
        params: Iterable,
        lr: Any = 2e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: Optional[bool] = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
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
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        return {"step": 0.0, "exp_avg": np.zeros_like(p._data), "exp_inf": np.zeros_like(p._data)}

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, eps, wd = _scalar(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        for g, x, st in self._states(group):
            step = st["step"] = float(st["step"]) + 1.0
            g = _with_weight_decay(g, x, lr, wd)
            m, u = st["exp_avg"], st["exp_inf"]
            _lerp(m, g, 1 - beta1)
            u *= beta2
            np.maximum(u, np.abs(g) + eps, out=u)
            clr = lr / (1 - beta1**step)
            x -= clr * (m / u)
