"""Linear layers: ``Identity``, ``Linear``, ``Bilinear`` (``torch.nn.modules.linear``)."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .._random import default_generator
from .._tensor.parameter import UninitializedParameter
from .._validation import MAX_BLAS_DIM
from ..autograd import Parameter, Tensor
from . import functional as F
from .lazy import LazyModuleMixin
from .module import Module, _factory_dtype

__all__ = ["Identity", "Linear", "LazyLinear", "Bilinear"]


def _uniform_reset(weight: Parameter, bias: Optional[Parameter], fan_in: int) -> None:
    """weight and bias uniform in ``±1/sqrt(fan_in)`` (PyTorch's default for both layers)."""
    gen = default_generator()
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    for p in (weight, bias):
        if p is not None:
            p._data[...] = gen.uniform(-bound, bound, size=p._data.shape)
            p._vc[0] += 1


def _weight_and_bias(module: Module, shape: tuple, bias: bool, dt: np.dtype) -> None:
    """Register ``weight`` of ``shape`` and ``bias`` (or None), then draw them."""
    module.weight = Parameter(np.empty(shape, dtype=dt))
    if bias:
        module.bias = Parameter(np.empty(shape[0], dtype=dt))
    else:
        module.register_parameter("bias", None)
    module.reset_parameters()  # type: ignore[attr-defined]


def _check_features(**sizes: Any) -> None:
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {v!r}")
        if v > MAX_BLAS_DIM:
            raise ValueError(f"{name} = {v} exceeds {MAX_BLAS_DIM}, the largest size BLAS accepts")


class Linear(Module):
    """``y = x @ weight.T + bias`` (``torch.nn.Linear``).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default=True
    device : None or "cpu"
    dtype : float32 (default, as PyTorch) or float64

    Attributes
    ----------
    weight : Parameter of shape (out_features, in_features)
    bias : Parameter of shape (out_features,) or None
        Both initialised uniformly in ``[-1/sqrt(in_features), 1/sqrt(in_features)]``
        (PyTorch's kaiming_uniform with a = sqrt(5)) from the generator seeded
        by :func:`fastdense.manual_seed`.

    Notes
    -----
    Input of shape (*, in_features): the leading dimensions are the rows of one
    product. Followed by an activation (``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``),
    the layer and the activation run as one fused kernel, forward and backward.
    """

    weight: Parameter
    bias: Optional[Parameter]

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        _check_features(in_features=in_features, out_features=out_features)
        dt = _factory_dtype(device, dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        _weight_and_bias(self, (self.out_features, self.in_features), bias, dt)

    def reset_parameters(self) -> None:
        """Draw weight and bias uniformly in ``±1/sqrt(in_features)`` (PyTorch's default)."""
        _uniform_reset(self.weight, self.bias, self.in_features)

    def forward(self, input: Any) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class LazyLinear(LazyModuleMixin, Linear):
    """A :class:`Linear` whose ``in_features`` the first input gives (``torch.nn.LazyLinear``).

    Until the first forward, ``weight`` and ``bias`` are
    :class:`~fastdense.nn.UninitializedParameter` objects and ``in_features``
    is 0; the first forward sets ``in_features = input.shape[-1]``,
    materializes both in place, draws them as :class:`Linear` does, and the
    module becomes a :class:`Linear`. An optimizer may be built before that
    (it holds the same objects). ``state_dict()`` holds the uninitialized
    parameters; ``load_state_dict`` into an uninitialized module takes the
    loaded shapes (``in_features`` then stays 0, as in PyTorch). Anything
    that reads their values before (an op, ``.shape``, ``nn.init``) raises
    PyTorch's errors.

    Parameters
    ----------
    out_features : int
    bias : bool, default=True
    device : None or "cpu"
    dtype : float32 (default) or float64
    """

    cls_to_become = Linear
    weight: UninitializedParameter  # type: ignore[assignment]
    bias: Optional[UninitializedParameter]  # type: ignore[assignment]

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        Module.__init__(self)
        _check_features(out_features=out_features)
        dt = _factory_dtype(device, dtype)
        self.in_features = 0
        self.out_features = int(out_features)
        self.weight = UninitializedParameter(dtype=dt)
        if bias:
            self.bias = UninitializedParameter(dtype=dt)
        else:
            self.register_parameter("bias", None)
        self._lazy_init()

    def reset_parameters(self) -> None:
        """Draw the parameters once they are initialized (a no-op before, as in PyTorch)."""
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Any, *args: Any) -> None:
        """Materialize ``weight`` (out_features, input.shape[-1]) and ``bias``, then draw them."""
        if self.has_uninitialized_params():
            shape = np.shape(input._data if isinstance(input, Tensor) else input)
            if not shape:
                raise RuntimeError("LazyLinear: the input needs at least 1 dimension")
            _check_features(in_features=int(shape[-1]))
            self.in_features = int(shape[-1])
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()


class Identity(Module):
    """Returns its input unchanged (``torch.nn.Identity``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Bilinear(Module):
    """``y = x1 @ weight[o] @ x2 + bias[o]`` for each output ``o`` (``torch.nn.Bilinear``).

    Parameters
    ----------
    in1_features, in2_features, out_features : int
    bias : bool, default=True
    device : None or "cpu"
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter of shape (out_features, in1_features, in2_features)
    bias : Parameter of shape (out_features,) or None
        Both uniform in ``±1/sqrt(in1_features)``, as PyTorch.
    """

    weight: Parameter
    bias: Optional[Parameter]

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        _check_features(
            in1_features=in1_features, in2_features=in2_features, out_features=out_features
        )
        dt = _factory_dtype(device, dtype)
        self.in1_features, self.in2_features = int(in1_features), int(in2_features)
        self.out_features = int(out_features)
        _weight_and_bias(self, (self.out_features, self.in1_features, self.in2_features), bias, dt)

    def reset_parameters(self) -> None:
        """Uniform in ``±1/sqrt(in1_features)`` (PyTorch's default)."""
        _uniform_reset(self.weight, self.bias, self.in1_features)

    def forward(self, input1: Any, input2: Any) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
