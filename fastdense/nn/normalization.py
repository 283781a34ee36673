"""Normalisation layers: ``BatchNorm1d``, ``LayerNorm``, ``GroupNorm``, ``RMSNorm``.

PyTorch's parameters, buffers, defaults and formulas; each forward is one
graph node of :mod:`fastdense.nn.functional` with its closed-form backward.
Running statistics are NumPy buffers updated in place in training mode.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..autograd import Parameter, Tensor
from . import functional as F
from .module import Module, _factory_dtype

__all__ = ["BatchNorm1d", "LayerNorm", "GroupNorm", "RMSNorm"]


def _affine_parameters(
    module: Module, shape: tuple, dt: np.dtype, weight: bool, bias: bool
) -> None:
    """weight (ones) and bias (zeros) of ``shape``, or None placeholders."""
    if weight:
        module.weight = Parameter(np.ones(shape, dtype=dt))
    else:
        module.register_parameter("weight", None)
    if weight and bias:
        module.bias = Parameter(np.zeros(shape, dtype=dt))
    else:
        module.register_parameter("bias", None)


class BatchNorm1d(Module):
    """Batch normalisation over the batch dimension (``torch.nn.BatchNorm1d``).

    In training mode each feature is normalised with the batch mean and the
    biased batch variance, and the running statistics are updated with the
    unbiased variance (``momentum`` 0.1, or a cumulative average when None);
    in eval mode the running statistics are used. Input (N, C) or (N, C, L).

    Parameters
    ----------
    num_features : int
    eps : float, default=1e-5
    momentum : float or None, default=0.1
    affine : bool, default=True
        Learn ``weight`` (ones) and, with ``bias=True``, ``bias`` (zeros).
    track_running_stats : bool, default=True
    bias : bool, default=True
        PyTorch's switch for the affine shift alone.
    """

    weight: Optional[Parameter]
    bias: Optional[Parameter]
    running_mean: Optional[Tensor]  # buffers
    running_var: Optional[Tensor]
    num_batches_tracked: Optional[Tensor]

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype)
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, (self.num_features,), dt, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dt))
            self.register_buffer("running_var", np.ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input: Any) -> Tensor:
        shape = tuple(input.shape) if hasattr(input, "shape") else np.shape(input)
        if len(shape) not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {len(shape)}D input)")
        if shape[1] != self.num_features:
            raise ValueError(
                f"running_mean should contain {shape[1]} elements not {self.num_features}"
            )
        momentum = 0.0 if self.momentum is None else self.momentum
        count = self.num_batches_tracked
        if self.training and count is not None:
            count._data += 1  # (in place: the buffer itself)
            if self.momentum is None:  # the cumulative moving average
                momentum = 1.0 / float(count._data)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if use_running else None,
            self.running_var if use_running else None,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            momentum,
            self.eps,
        )

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, count 0."""
        if self.track_running_stats:
            self.running_mean._data[...] = 0  # type: ignore[union-attr]
            self.running_var._data[...] = 1  # type: ignore[union-attr]
            self.num_batches_tracked._data[...] = 0  # type: ignore[union-attr]

    def reset_parameters(self) -> None:
        """Running statistics reset; weight ones, bias zeros."""
        self.reset_running_stats()
        for p, v in ((self.weight, 1), (self.bias, 0)):
            if p is not None:
                p._data[...] = v
                p._vc[0] += 1

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class LayerNorm(Module):
    """Normalise over the last dimensions (``torch.nn.LayerNorm``), biased variance.

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float, default=1e-5
    elementwise_affine : bool, default=True
        Learn ``weight`` (ones) and, with ``bias=True``, ``bias`` (zeros) of that shape.
    bias : bool, default=True
    """

    weight: Optional[Parameter]
    bias: Optional[Parameter]

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype)
        self.normalized_shape = F._shape_tuple(normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, dt, elementwise_affine, bias)

    def forward(self, input: Any) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Normalise groups of channels of each sample (``torch.nn.GroupNorm``).

    Parameters
    ----------
    num_groups : int
        Must divide ``num_channels``.
    num_channels : int
    eps : float, default=1e-5
    affine : bool, default=True
        Learn a per-channel ``weight`` (ones) and, with ``bias=True``, ``bias`` (zeros).
    bias : bool, default=True
    """

    weight: Optional[Parameter]
    bias: Optional[Parameter]

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        dt = _factory_dtype(device, dtype)
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), affine
        _affine_parameters(self, (self.num_channels,), dt, affine, bias)

    def forward(self, input: Any) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last dimensions (``torch.nn.RMSNorm``).

    ``eps=None`` uses the machine epsilon of the input's dtype, as PyTorch.
    """

    weight: Optional[Parameter]

    def __init__(
        self,
        normalized_shape,
        eps: Optional[float] = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        dt = _factory_dtype(device, dtype)
        self.normalized_shape = F._shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, dt, elementwise_affine, False)

    def forward(self, input: Any) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
