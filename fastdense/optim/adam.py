"""Adam (``torch.optim.Adam``): PyTorch's rule, one kernel call per parameter group and dtype."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Optional

import numpy as np

from .. import _kernels
from ..autograd import Tensor
from .optimizer import (
    Optimizer,
    _check_flags,
    _check_lr,
    _check_moments,
    _grad_and_data,
    _scalar,
    _state_buffers,
)

__all__ = ["Adam"]


_MOMENTS = ("exp_avg", "exp_avg_sq")
_MOMENTS_AMSGRAD = (*_MOMENTS, "max_exp_avg_sq")


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``), PyTorch's rule; ``AdamW`` with ``decoupled_weight_decay``.

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``
    (``max(v)`` over steps with ``amsgrad``). Weight decay adds ``wd * p`` to
    g, or (decoupled) multiplies p by ``1 - lr * wd`` first.

    Parameters
    ----------
    params : iterable of Parameter or of dicts
    lr : float, default=1e-3
    betas : (float, float), default=(0.9, 0.999)
    eps : float, default=1e-8
    weight_decay : float, default=0
    amsgrad, maximize : bool, default=False
    decoupled_weight_decay : bool, default=False
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_lr(lr)
        _check_flags(foreach, fused, capturable, differentiable)
        if foreach and isinstance(lr, Tensor):
            raise ValueError(
                "lr as a Tensor is not supported for capturable=False and foreach=True"
            )
        if isinstance(betas[0], Tensor) != isinstance(betas[1], Tensor):
            raise ValueError("betas must be either both floats or both Tensors")
        if foreach and isinstance(betas[0], Tensor):
            raise ValueError(
                "betas[0] as a Tensor is not supported for capturable=False and foreach=True"
            )
        _check_moments(betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: Dict[str, Any]) -> None:
        lr, (beta1, beta2) = group["lr"], group["betas"]
        if not (type(lr) is float and type(beta1) is float and type(beta2) is float):
            lr, beta1, beta2 = _scalar(lr), _scalar(beta1), _scalar(beta2)  # (tensors, ints)
        eps, wd = float(group["eps"]), float(group["weight_decay"])
        amsgrad, maximize = bool(group["amsgrad"]), bool(group["maximize"])
        if group.get("decoupled_weight_decay", False):
            coupled, decay = 0.0, 1.0 - lr * wd
        else:
            coupled, decay = wd, 1.0
        state = self.state
        lists: Dict[Any, tuple] = {}  # dtype -> (params, grads, m, v, v_max, sizes, bc2s)
        scalars: Dict[float, tuple] = {}
        for p in group["params"]:
            g = p._grad
            if g is None:
                continue
            pd = p._data
            if not (  # already what _grad_and_data gives? (inline: runs every step)
                type(g) is np.ndarray
                and g.dtype == pd.dtype
                and g.shape == pd.shape
                and g.flags.c_contiguous
                and pd.flags.carray
            ):
                g, pd = _grad_and_data(p)
            p._vc[0] += 1  # the kernel updates pd in place
            st = state[p]
            if not st:
                st["step"] = 0.0
                st["exp_avg"] = np.zeros_like(p._data)
                st["exp_avg_sq"] = np.zeros_like(p._data)
                if amsgrad:
                    st["max_exp_avg_sq"] = np.zeros_like(p._data)
            elif amsgrad and st.get("max_exp_avg_sq") is None:
                st["max_exp_avg_sq"] = np.zeros_like(p._data)
            _state_buffers(p, st, _MOMENTS_AMSGRAD if amsgrad else _MOMENTS)  # what it writes
            if "exp_avg" not in st or "exp_avg_sq" not in st:
                raise RuntimeError("Adam state of a parameter lacks exp_avg/exp_avg_sq")
            try:
                prev_step = float(st["step"])
            except (TypeError, ValueError, KeyError):
                raise TypeError(
                    f"optimizer state 'step' must be a number; got {st.get('step')!r}"
                ) from None
            step = st["step"] = prev_step + 1.0
            sc = scalars.get(step)
            if sc is None:  # Python doubles, as PyTorch computes them
                sc = scalars[step] = (lr / (1.0 - beta1**step), math.sqrt(1.0 - beta2**step))
            lst = lists.get(pd.dtype)
            if lst is None:
                lst = lists[pd.dtype] = ([], [], [], [], [], [], [])
            lst[0].append(pd)
            lst[1].append(g)
            lst[2].append(st["exp_avg"])
            lst[3].append(st["exp_avg_sq"])
            if amsgrad:
                lst[4].append(st["max_exp_avg_sq"])
            lst[5].append(sc[0])
            lst[6].append(sc[1])
        for ps, gs, ms, vs, vms, sizes, bc2s in lists.values():
            _kernels.torch_adam_multi(
                ps,
                gs,
                ms,
                vs,
                vms,
                sizes,
                bc2s,
                beta1,
                beta2,
                eps,
                coupled,
                decay,
                amsgrad,
                maximize,
            )
