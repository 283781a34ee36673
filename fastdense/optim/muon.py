"""Muon (``torch.optim.Muon``): PyTorch's rule, NumPy on each matrix parameter.

PyTorch orthogonalizes the momentum in bfloat16 (Newton-Schulz iterations).
NumPy has no bfloat16 products, so each bfloat16 result PyTorch forms (the
cast, the norm, the division, each product) is emulated here: computed in
float32, then rounded to the nearest bfloat16 (ties to even), kept in a
float32 array. Products accumulate in float32 as PyTorch's CPU kernels do;
the order of the sums differs, so results agree to bfloat16's precision, not
bit for bit.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Optional, Tuple

import numpy as np

from .adamax import _lerp
from .optimizer import Optimizer, _scalar

__all__ = ["Muon"]


def _bf16(a: Any) -> np.ndarray:
    """a rounded to bfloat16 (round to nearest, ties to even), as a float32 array."""
    a32 = np.array(a, dtype=np.float32, order="C")
    u = a32.view(np.uint32)
    # add half an ulp of bfloat16 (minus one when the kept last bit is even), then truncate
    rounded = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) & np.uint32(
        0xFFFF0000
    )
    return np.where(np.isnan(a32), a32, rounded.view(np.float32))


def _orthogonalize(
    g: np.ndarray, coefficients: Tuple[float, float, float], steps: int, eps: float
) -> np.ndarray:
    """PyTorch's quintic Newton-Schulz iteration towards ``U V^T`` of g (in bfloat16)."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (float(v) for v in coefficients)
    x = _bf16(g)
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    norm = _bf16(max(float(_bf16(np.linalg.norm(x.astype(np.float32)))), eps))
    x = _bf16(x / norm)
    for _ in range(steps):
        gram = _bf16(x @ x.T)
        update = _bf16(b * gram + c * (gram @ gram))
        x = _bf16(a * x + update @ x)
    return x.T if tall else x


def _adjusted_lr(lr: float, adjust_lr_fn: Optional[str], shape: Tuple[int, ...]) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr


class Muon(Optimizer):
    """Muon, momentum orthogonalized by Newton-Schulz (``torch.optim.Muon``), PyTorch's rule.

    ``B = momentum B + (1 - momentum) g``; the update ``O`` is the
    orthogonalized ``B`` (or, with Nesterov, of ``g + momentum (B - g)``);
    ``p *= 1 - lr * wd``; ``p -= lr' * O`` with ``lr' = lr sqrt(max(1, rows / cols))``
    (``adjust_lr_fn="original"``) or ``0.2 lr sqrt(max(rows, cols))``
    (``"match_rms_adamw"``). For 2-D parameters only, as in PyTorch.
    State: ``momentum_buffer``.

    Parameters
    ----------
    params : iterable of 2-D Parameters or of dicts
    lr : float or one-element Tensor, default=1e-3
    weight_decay : float, default=0.1
    momentum : float, default=0.95
    nesterov : bool, default=True
    ns_coefficients : (float, float, float), default=(3.4445, -4.775, 2.0315)
    eps : float, default=1e-7
    ns_steps : int, default=5
    adjust_lr_fn : {None, "original", "match_rms_adamw"}, default=None
    """

    def __init__(
        self,
        params: Iterable,
        lr: Any = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: Tuple[float, float, float] = (3.4445, -4.775, 2.0315),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: Optional[str] = None,
    ) -> None:
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        super().__init__(
            params,
            dict(
                lr=lr,
                weight_decay=weight_decay,
                momentum=momentum,
                nesterov=nesterov,
                ns_coefficients=ns_coefficients,
                eps=eps,
                ns_steps=ns_steps,
                adjust_lr_fn=adjust_lr_fn,
            ),
        )
        for group in self.param_groups:
            for p in group["params"]:
                if p._data.ndim != 2:
                    raise ValueError(
                        "Muon only supports 2D parameters whereas we found a "
                        f"parameter with size: {tuple(p._data.shape)}"
                    )

    def _new_state(self, p, group: Dict[str, Any]) -> Dict[str, Any]:
        return {"momentum_buffer": np.zeros_like(p._data)}

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, wd = _scalar(group["lr"]), float(group["weight_decay"])
        momentum, nesterov = float(group["momentum"]), bool(group["nesterov"])
        for g, x, st in self._states(group):
            if g.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            buf = st["momentum_buffer"]
            _lerp(buf, g, 1 - momentum)
            target = g + momentum * (buf - g) if nesterov else buf
            update = _orthogonalize(
                target, group["ns_coefficients"], int(group["ns_steps"]), float(group["eps"])
            )
            step = _adjusted_lr(lr, group["adjust_lr_fn"], x.shape)
            x *= 1 - lr * wd
            x -= (step * update).astype(x.dtype, copy=False)
