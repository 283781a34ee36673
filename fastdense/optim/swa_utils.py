"""Stochastic weight averaging and EMA (``torch.optim.swa_utils``), with PyTorch's formulas.

:class:`AveragedModel` keeps a copy of a model whose parameters (and, with
``use_buffers``, buffers) are running averages of the model's: an equal
average (SWA) by default, or any ``avg_fn``/``multi_avg_fn`` such as the
exponential moving average of :func:`get_ema_multi_avg_fn`. :class:`SWALR`
anneals each group's learning rate to ``swa_lr``; :func:`update_bn`
recomputes BatchNorm statistics with one pass over a loader.

The default average is PyTorch's CPU formula ``a + (m - a) / (n + 1)``; the
averaging functions receive fastdense tensors that share memory with the
averaged parameters and buffers (so in-place updates such as ``lerp_`` land
in them) and ``n_averaged`` as a 0-d int64 tensor, as PyTorch passes them.
"""

from __future__ import annotations

import itertools
import math
from copy import deepcopy
from typing import Any, Callable, Iterable, List, Optional

import numpy as np

from .._tensor.device import check_device
from .._tensor.extend import const
from .._tensor.grad_mode import no_grad
from .._tensor.tensor import Tensor
from ..nn.module import Module
from ..nn.normalization import BatchNorm1d
from .lr_scheduler import LRScheduler, _per_group, _warn_outside_step
from .optimizer import Optimizer

__all__ = [
    "AveragedModel",
    "SWALR",
    "update_bn",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """In-place EMA of lists of tensors: ``ema = decay ema + (1 - decay) model`` (as a lerp).

    Float tensors take ``ema.lerp_(model, 1 - decay)``; others are replaced by
    ``ema * decay + model * (1 - decay)`` cast back to their dtype, as PyTorch.
    """
    _check_decay(decay)

    def ema_update(ema_param_list: List[Tensor], current_param_list: List[Tensor], _: Any):
        with no_grad():
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                if p_ema.dtype.kind == "f":
                    p_ema.lerp_(p_model, 1 - decay)
                else:
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """In-place equal average of lists of tensors: ``a += (m - a) / (n + 1)`` (a lerp for floats)."""

    def swa_update(
        averaged_param_list: List[Tensor], current_param_list: List[Tensor], num_averaged: Any
    ):
        with no_grad():
            # (a tensor n_averaged gives a weight in the default dtype, float32, as in PyTorch)
            w = 1 / (num_averaged + 1)
            w = float(w.item()) if isinstance(w, Tensor) else w
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                if p_avg.dtype.kind == "f":
                    p_avg.lerp_(p_model, w)
                elif isinstance(num_averaged, Tensor):  # PyTorch's foreach addcdiv refuses ints
                    raise RuntimeError(
                        "Integer division with addcdiv is no longer supported (an integer "
                        "buffer averaged by get_swa_multi_avg_fn)"
                    )
                else:
                    raise RuntimeError(
                        "For integral input tensors, argument alpha must not be a floating "
                        "point number (an integer buffer averaged by get_swa_multi_avg_fn)"
                    )

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """EMA of one tensor: returns ``decay * ema + (1 - decay) * model``."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """Equal average of one tensor: returns ``a + (m - a) / (n + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose weights are running averages (``torch.optim.swa_utils``).

    Parameters
    ----------
    model : Module
        Deep-copied into ``self.module``.
    device : None or "cpu"
    avg_fn : callable, optional
        ``avg_fn(averaged, current, n_averaged) -> new averaged``, per tensor.
    multi_avg_fn : callable, optional
        ``multi_avg_fn(averaged_list, current_list, n_averaged)``, in place, per
        group of tensors of one dtype. Only one of ``avg_fn`` and ``multi_avg_fn``.
        Neither: the equal average (SWA).
    use_buffers : bool, default=False
        Average the buffers too (else they are copied from ``model`` at each update).

    Attributes
    ----------
    n_averaged : Tensor, a 0-d int64 buffer
        How many models were averaged (saved in ``state_dict``).
    """

    n_averaged: Tensor

    def __init__(
        self,
        model: Module,
        device: Any = None,
        avg_fn: Optional[Callable] = None,
        multi_avg_fn: Optional[Callable] = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if device is not None:
            check_device(device)
        self.module = deepcopy(model)
        self.register_buffer("n_averaged", np.array(0, dtype=np.int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the averages (the first call copies them)."""
        mine: Iterable[Any]
        theirs: Iterable[Any]
        if self.use_buffers:
            mine = itertools.chain(self.module.parameters(), self.module.buffers())
            theirs = itertools.chain(model.parameters(), model.buffers())
        else:
            mine, theirs = self.parameters(), model.parameters()
        pairs = [(a.detach(), m.detach()) for a, m in zip(mine, theirs)]  # (share memory)
        n = int(self.n_averaged._data)
        with no_grad():
            if n == 0:
                for a, m in pairs:
                    a.copy_(m)
            else:
                n_t = const(np.array(n, dtype=np.int64))
                if self.avg_fn is not None:
                    for a, m in pairs:
                        a.copy_(self.avg_fn(a, m, n_t))
                elif self.multi_avg_fn is not None:
                    groups: dict = {}  # one call per dtype, in first-seen order (as PyTorch)
                    for a, m in pairs:
                        groups.setdefault(a.dtype, ([], []))
                        groups[a.dtype][0].append(a)
                        groups[a.dtype][1].append(m)
                    for a_list, m_list in groups.values():
                        self.multi_avg_fn(a_list, m_list, n_t)
                else:  # PyTorch's CPU path: the single-tensor SWA formula
                    swa = get_swa_avg_fn()
                    for a, m in pairs:
                        a.copy_(swa(a, m, n_t))
            if not self.use_buffers:
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    np.copyto(b_avg._data, b_model._data, casting="unsafe")
        self.n_averaged._data[...] = n + 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` with one pass over ``loader``.

    Each batch is a tensor or a list/tuple whose first element is the input;
    the statistics are reset and accumulated as a cumulative average
    (``momentum=None``) in training mode, then the momenta and the mode are
    restored, as ``torch.optim.swa_utils.update_bn``.
    """
    if device is not None:
        check_device(device)
    momenta = {}
    for module in model.modules():
        if isinstance(module, BatchNorm1d):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            model(input)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's learning rate to ``swa_lr`` over ``anneal_epochs`` epochs, then hold
    it (``torch.optim.swa_utils.SWALR``), PyTorch's recursive formula.

    Parameters
    ----------
    optimizer : Optimizer
    swa_lr : float or list of floats (one per group)
    anneal_epochs : int, default=10
    anneal_strategy : {"cos", "linear"}, default="cos"
    last_epoch : int, default=-1
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: Any,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        groups = optimizer.param_groups
        swa_lrs = _per_group("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> List[Any]:
        """The next lrs: from each group's current lr towards its ``swa_lr``."""
        _warn_outside_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]

    def state_dict(self) -> dict:
        """Everything but the optimizer and the annealing function."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from :meth:`state_dict` (the annealing function from its name)."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
