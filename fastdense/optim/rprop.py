"""Rprop (``torch.optim.Rprop``): PyTorch's rule, NumPy on each parameter's array."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional

import numpy as np

from .optimizer import Optimizer, _check, _check_flags, _check_lr, _scalar

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Resilient backpropagation (``torch.optim.Rprop``), PyTorch's rule.

    Each element has its own step size: multiplied by ``etas[1]`` when the
    gradient kept its sign since the last step, by ``etas[0]`` when it
    flipped (and that element's gradient is then taken as 0: no move, and no
    flip next time), clamped to ``step_sizes``; ``p -= sign(g) * step_size``.
    State: ``step``, ``prev`` (the last gradient used), ``step_size``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float or one-element Tensor, default=1e-2
        The initial step size.
    etas : (float, float), default=(0.5, 1.2)
    step_sizes : (float, float), default=(1e-6, 50)
    capturable, differentiable : bool, default=False
        Only False.
    foreach : bool, optional
        Accepted (same math).
    maximize : bool, default=False
    """

    def __init__(
        self,
        params: Iterable,
        lr: Any = 1e-2,
        etas=(0.5, 1.2),
        step_sizes=(1e-6, 50),
        *,
        capturable: bool = False,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_lr(lr)
        _check(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        _check_flags(foreach, None, capturable, differentiable)
        super().__init__(
            params,
            dict(
                lr=lr,
                etas=etas,
                step_sizes=step_sizes,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        return {
            "step": 0.0,
            "prev": np.zeros_like(p._data),
            "step_size": np.full_like(p._data, _scalar(group["lr"])),
        }

    def _update_group(self, group: Dict[str, Any]) -> None:
        etaminus, etaplus = (float(e) for e in group["etas"])
        lo, hi = (float(s) for s in group["step_sizes"])
        for g, x, st in self._states(group):
            st["step"] = float(st["step"]) + 1.0
            prev, size = st["prev"], st["step_size"]
            s = np.sign(g * prev)
            factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0)).astype(x.dtype)
            size *= factor
            np.clip(size, lo, hi, out=size)
            g = np.where(s < 0, 0, g).astype(x.dtype, copy=False)
            x -= np.sign(g) * size
            prev[...] = g
