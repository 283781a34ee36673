"""Adafactor (``torch.optim.Adafactor``): PyTorch's rule, NumPy on each parameter's array."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Optional

import numpy as np

from .adamax import _lerp
from .optimizer import Optimizer, _check_flags, _scalar

__all__ = ["Adafactor"]


def _rms(a: np.ndarray) -> float:
    """The root mean square of a, as a Python float (``a.norm() / sqrt(a.numel())``)."""
    return float(np.linalg.norm(a.reshape(-1))) / math.sqrt(max(a.size, 1))


class Adafactor(Optimizer):
    """Adafactor (``torch.optim.Adafactor``), PyTorch's rule.

    The second moment of a matrix (and of each matrix in the last two
    dimensions of a larger tensor) is kept factored: a row and a column
    mean of ``g^2``, each followed with weight ``t^beta2_decay``; their
    outer product over the mean of the rows estimates it. Vectors keep the
    full ``v``. ``update = g / sqrt(max(v_hat, eps1^2))``, scaled down to an
    RMS of at most ``d``; ``p *= 1 - lr * wd``;
    ``p -= max(eps2, rms(p)) * min(lr, 1 / sqrt(t)) * update``.
    State: ``step``, ``row_var`` and ``col_var`` (tensors of 2 or more
    dimensions) or ``variance``.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float or one-element Tensor, default=1e-2
    beta2_decay : float, default=-0.8
    eps : (float or None, float), default=(None, 1e-3)
        ``eps1`` (None: the machine epsilon of the parameters' dtype) and ``eps2``.
    d : float, default=1.0
        The clipping threshold of the update's RMS.
    weight_decay : float, default=0.0
    foreach : bool, optional
        Accepted (same math).
    maximize : bool, default=False
    """

    _free_shape_state = ("row_var", "col_var")

    def __init__(
        self,
        params: Iterable,
        lr: Any = 1e-2,
        beta2_decay: float = -0.8,
        eps=(None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        _check_flags(foreach)
        super().__init__(
            params,
            dict(
                lr=lr,
                beta2_decay=beta2_decay,
                eps=eps,
                d=d,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
            ),
        )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        x = p._data
        if x.ndim > 1:
            return {
                "step": 0.0,
                "row_var": np.zeros(x.shape[:-1] + (1,), dtype=x.dtype),
                "col_var": np.zeros(x.shape[:-2] + (1, x.shape[-1]), dtype=x.dtype),
            }
        return {"step": 0.0, "variance": np.zeros_like(x)}

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, wd, d = _scalar(group["lr"]), float(group["weight_decay"]), float(group["d"])
        decay = float(group["beta2_decay"])
        eps1, eps2 = group["eps"]
        for g, x, st in self._states(group):
            if eps1 is None:  # PyTorch takes it from the first parameter it updates
                eps1 = float(np.finfo(x.dtype).eps)
            step = st["step"] = float(st["step"]) + 1.0
            weight = step**decay
            rho = min(lr, 1 / step**0.5)
            alpha = max(float(eps2), _rms(x)) * rho
            if wd != 0:
                x *= 1 - lr * wd
            if x.ndim > 1:
                row, col = st["row_var"], st["col_var"]
                for name, buf, shape in (
                    ("row_var", row, x.shape[:-1] + (1,)),
                    ("col_var", col, x.shape[:-2] + (1, x.shape[-1])),
                ):
                    if (
                        not isinstance(buf, np.ndarray)
                        or buf.shape != shape
                        or buf.dtype != x.dtype
                        or not buf.flags.writeable
                    ):
                        raise RuntimeError(
                            f"Adafactor state {name!r} must be an array of "
                            f"shape {shape} and dtype {x.dtype}"
                        )
                g2 = g * g
                _lerp(row, g2.mean(axis=-1, keepdims=True), weight)
                _lerp(col, g2.mean(axis=-2, keepdims=True), weight)
                v_hat = row @ col
                v_hat /= np.maximum(row.mean(axis=-2, keepdims=True), eps1)
            else:
                v = st["variance"]
                _lerp(v, g * g, weight)
                v_hat = v.copy()
            update = 1 / np.sqrt(np.maximum(v_hat, eps1 * eps1))
            update *= g
            denom = max(1.0, _rms(update) / d)
            x -= (alpha / denom) * update
