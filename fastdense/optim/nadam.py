"""NAdam (``torch.optim.NAdam``): PyTorch's rule, NumPy on each parameter's array."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .adamax import _lerp
from .asgd import _f32
from .optimizer import (
    Optimizer,
    _check,
    _check_flags,
    _check_lr,
    _check_moments,
    _scalar,
    _with_weight_decay,
)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam with Nesterov momentum (``torch.optim.NAdam``), PyTorch's rule.

    With ``mu_t = beta1 (1 - 0.5 * 0.96^(t * momentum_decay))`` and
    ``mu_product`` their running product: ``m`` and ``v`` as in Adam, then
    ``p -= lr (1 - mu_t) / (1 - prod_t) * g / d + lr mu_{t+1} / (1 - prod_t mu_{t+1}) * m / d``
    with ``d = sqrt(v / (1 - beta2^t)) + eps``. Weight decay is added to g, or
    (``decoupled_weight_decay``) multiplies p by ``1 - lr * wd`` first.
    State: ``step``, ``mu_product`` (a float, rounded to float32 as PyTorch
    stores it), ``exp_avg``, ``exp_avg_sq``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float or one-element Tensor, default=2e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0
    momentum_decay : float, default=4e-3
    decoupled_weight_decay : bool, default=False
    foreach : bool, optional
        Accepted (same math).
    maximize : bool, default=False
    capturable, differentiable : bool, default=False
        Only False.
    """

    _scalar_state = ("step", "mu_product")

    def __init__(
        self,
        params: Iterable,
        lr: Any = 2e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_moments(betas, eps, weight_decay)
        _check(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        _check_flags(foreach, None, capturable, differentiable)
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
            ),
        )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "step": 0.0,
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(p._data),
            "exp_avg_sq": np.zeros_like(p._data),
        }

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, eps, wd = _scalar(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        psi = float(group["momentum_decay"])
        decoupled = bool(group.get("decoupled_weight_decay", False))
        for g, x, st in self._states(group):
            step = st["step"] = float(st["step"]) + 1.0
            bc2 = 1 - beta2**step
            g = _with_weight_decay(g, x, lr, wd, decoupled)
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
            # PyTorch multiplies its float32 tensor by mu cast to float32
            prod = st["mu_product"] = _f32(float(st["mu_product"]) * _f32(mu))
            m, v = st["exp_avg"], st["exp_avg_sq"]
            _lerp(m, g, 1 - beta1)
            v *= beta2
            v += (1 - beta2) * (g * g)
            denom = np.sqrt(v / bc2)
            denom += eps
            x += (-lr * (1.0 - mu) / (1.0 - prod)) * (g / denom)
            x += (-lr * mu_next / (1.0 - prod * mu_next)) * (m / denom)
