"""More PyTorch modules: containers, normalisation, the other activations, regression losses.

These are written with tensor operations (``fastdense.autograd``), so their
gradients come from the recorded graph; PyTorch's formulas and defaults.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Optional

import numpy as np

from .. import _dtypes as _dt
from ..autograd import Parameter, Tensor, _const, check_device
from . import functional as F
from .modules import Module, _Loss

__all__ = ["ModuleList", "ModuleDict", "BatchNorm1d", "LayerNorm", "Flatten", "GELU",
           "SiLU", "ELU", "Softplus", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "Softmax", "LogSoftmax", "CrossEntropyLoss", "NLLLoss"]


class ModuleList(Module):
    """A list of modules, registered as children "0", "1", ... (``torch.nn.ModuleList``)."""

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            return ModuleList([self._modules[k] for k in keys[idx]])
        return self._modules[keys[idx]]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(list(self._modules)[idx], module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "ModuleList":
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        """Append each of ``modules``; returns self."""
        for m in modules:
            self.append(m)
        return self

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over it in yours")


class ModuleDict(Module):
    """A dict of modules, registered under their keys (``torch.nn.ModuleDict``)."""

    def __init__(self, modules: Optional[Any] = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        """The names."""
        return self._modules.keys()

    def values(self):
        """The modules."""
        return self._modules.values()

    def items(self):
        """``(name, module)`` pairs."""
        return self._modules.items()

    def update(self, modules) -> None:
        """Add the modules of a mapping or of ``(name, module)`` pairs."""
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self.add_module(k, m)


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` (``torch.nn.Flatten``)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return _as_tensor(input).flatten(self.start_dim, self.end_dim)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _const(np.asarray(x))


class BatchNorm1d(Module):
    """Batch normalisation over the batch dimension (``torch.nn.BatchNorm1d``).

    In training mode each feature is normalised with the batch mean and the
    biased batch variance, and the running statistics are updated with the
    unbiased variance (``momentum`` 0.1, or a cumulative average when None);
    in eval mode the running statistics are used. Input (N, C) or (N, C, L).
    """

    running_mean: np.ndarray  # buffers
    running_var: np.ndarray
    num_batches_tracked: np.ndarray

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        if device is not None:
            check_device(device)
        dt = _dt.float32 if dtype is None else _dt.resolve(dtype)
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            self.bias = Parameter(np.zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input: Any) -> Tensor:
        x = _as_tensor(input)
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"running_mean should contain {x.shape[1]} elements not "
                             f"{self.num_features}")
        axes = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = x.numel() // self.num_features
            if n == 1:
                raise ValueError("Expected more than 1 value per channel when training, got "
                                 f"input size {list(x.shape)}")
            if n == 0:  # PyTorch: an empty output, the statistics kept, the batch counted
                if self.training and self.track_running_stats:
                    self.num_batches_tracked += 1
                out = x * 1
                if self.affine:
                    out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
                return out
            mean = x.mean(axes, keepdim=True)
            d = x - mean
            var = (d * d).mean(axes, keepdim=True)
            if self.training and self.track_running_stats:
                self._update_stats(mean, var, n)
            out = d / (var + self.eps).sqrt()
        else:
            rm = _const(self.running_mean.reshape(shape))
            rv = _const(self.running_var.reshape(shape))
            out = (x - rm) / (rv + self.eps).sqrt()
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out

    def _update_stats(self, mean: Tensor, var: Tensor, n: int) -> None:
        self.num_batches_tracked += 1
        m = self.momentum
        if m is None:
            m = 1.0 / float(self.num_batches_tracked)
        bm = np.asarray(mean._data).reshape(-1)
        bv = np.asarray(var._data).reshape(-1) * (n / (n - 1))
        rm, rv = self.running_mean, self.running_var
        rm[...] = (1 - m) * rm + m * bm
        rv[...] = (1 - m) * rv + m * bv

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, count 0."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Normalise over the last dimensions (``torch.nn.LayerNorm``), biased variance."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if device is not None:
            check_device(device)
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = elementwise_affine
        dt = _dt.float32 if dtype is None else _dt.resolve(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Any) -> Tensor:
        x = _as_tensor(input)
        k = len(self.normalized_shape)
        if tuple(x.shape[-k:]) != self.normalized_shape:
            raise ValueError(f"Given normalized_shape={list(self.normalized_shape)}, expected "
                             f"input with shape [*, {', '.join(map(str, self.normalized_shape))}],"
                             f" but got input of size{list(x.shape)}")
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axes, keepdim=True)
        d = x - mean
        var = (d * d).mean(axes, keepdim=True)
        out = d / (var + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


# ------------------------------------------------------------ more activations

class GELU(Module):
    """``x * Phi(x)`` (``torch.nn.GELU``; ``approximate="tanh"`` supported)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise RuntimeError("approximate argument must be either none or tanh.")
        self.approximate = approximate

    def forward(self, input: Any) -> Tensor:
        return F.gelu(input, approximate=self.approximate)


class SiLU(Module):
    """``x * sigmoid(x)`` (``torch.nn.SiLU``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: Any) -> Tensor:
        return F.silu(input)


class ELU(Module):
    """``x`` if positive, else ``alpha * (exp(x) - 1)`` (``torch.nn.ELU``)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, input: Any) -> Tensor:
        return F.elu(input, self.alpha)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold`` (``torch.nn.Softplus``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, input: Any) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)


# ------------------------------------------------------------ regression losses

class MSELoss(_Loss):
    """Mean squared error (``torch.nn.MSELoss``)."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error (``torch.nn.L1Loss``)."""

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1 (``torch.nn.SmoothL1Loss``): quadratic below ``beta``, linear above."""

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = float(beta)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Huber loss (``torch.nn.HuberLoss``): ``beta`` times smooth L1 with ``beta = delta``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(None, None, reduction)
        self.delta = float(delta)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


# ------------------------------------------------------------------ multi-class

class _SoftmaxModule(Module):
    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxModule):
    """``exp(x) / sum(exp(x))`` along ``dim`` (``torch.nn.Softmax``).

    ``dim=None`` picks PyTorch's implicit dimension, with its warning.
    """

    def forward(self, input: Any) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)


class LogSoftmax(_SoftmaxModule):
    """``log(softmax(x))`` along ``dim``, without overflow (``torch.nn.LogSoftmax``)."""

    def forward(self, input: Any) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)


class _WeightedLoss(_Loss):
    weight: Optional[np.ndarray]  # a buffer, as in PyTorch

    def __init__(self, weight: Any = None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Log-softmax + negative log-likelihood from logits (``torch.nn.CrossEntropyLoss``).

    Parameters
    ----------
    weight : array-like of shape (C,), optional
        Per-class weight.
    ignore_index : int, default=-100
        An index target to skip (index targets only).
    reduction : {"mean", "sum", "none"}, default="mean"
    label_smoothing : float in [0, 1], default=0.0

    See Also
    --------
    fastdense.nn.functional.cross_entropy : the definition, targets and shapes.
    """

    def __init__(self, weight: Any = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (``torch.nn.NLLLoss``).

    Parameters as :class:`CrossEntropyLoss` (no label smoothing); the input
    is typically ``LogSoftmax``'s output.
    """

    def __init__(self, weight: Any = None, size_average=None, ignore_index: int = -100,
                 reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = int(ignore_index)

    def forward(self, input: Any, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)
