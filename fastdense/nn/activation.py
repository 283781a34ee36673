"""Activation modules (``torch.nn.modules.activation``).

Each is a thin shell over its function in :mod:`fastdense.nn.functional`,
with PyTorch's constructor arguments, defaults and ``extra_repr``. ``ReLU``,
``LeakyReLU`` (slope >= 0), ``Tanh`` and ``Sigmoid`` after a ``Linear`` in a
``Sequential`` run fused with it in one kernel (see ``container.py``).
``inplace=True`` overwrites the input tensor, as PyTorch's in-place forms do
(its version is bumped; a leaf that requires grad raises outside ``no_grad``).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ..autograd import Parameter, Tensor
from . import functional as F
from .module import Module, _factory_dtype

__all__ = [
    "ReLU",
    "ReLU6",
    "LeakyReLU",
    "PReLU",
    "RReLU",
    "ELU",
    "CELU",
    "SELU",
    "GELU",
    "SiLU",
    "Mish",
    "Hardswish",
    "Hardsigmoid",
    "Hardtanh",
    "Softplus",
    "Softshrink",
    "Hardshrink",
    "Tanhshrink",
    "Threshold",
    "LogSigmoid",
    "Softsign",
    "Tanh",
    "Sigmoid",
    "GLU",
    "Softmax",
    "Softmin",
    "LogSoftmax",
    "Softmax2d",
]


def _inplace(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


class ReLU(Module):
    """``max(x, 0)`` (``torch.nn.ReLU``); fuses into a preceding ``Linear``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x`` (``torch.nn.LeakyReLU``).

    Fuses into a preceding ``Linear`` when the slope is finite and >= 0.
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = float(negative_slope)
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Tanh(Module):
    """Hyperbolic tangent (``torch.nn.Tanh``); fuses into a preceding ``Linear``."""

    def forward(self, input: Any) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """Logistic sigmoid (``torch.nn.Sigmoid``); fuses into a preceding ``Linear``."""

    def forward(self, input: Any) -> Tensor:
        return F.sigmoid(input)


class _Parameterless(Module):
    """An activation without arguments: ``forward`` is ``_fn(input)``."""

    _fn: Any = None

    def forward(self, input: Any) -> Tensor:
        return type(self)._fn(input)


class _Inplace(_Parameterless):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Any) -> Tensor:
        return type(self)._fn(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class ReLU6(Module):
    """``min(max(x, 0), 6)`` (``torch.nn.ReLU6``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.min_val, self.max_val, self.inplace = 0.0, 6.0, inplace

    def forward(self, input: Any) -> Tensor:
        return F.relu6(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace)


class Hardtanh(Module):
    """``clamp(x, min_val, max_val)`` (``torch.nn.Hardtanh``)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError("min_val cannot be greater than max_val")
        self.min_val, self.max_val, self.inplace = float(min_val), float(max_val), inplace

    def forward(self, input: Any) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (
            ", inplace=True" if self.inplace else ""
        )


class PReLU(Module):
    """``x`` where positive, else ``weight * x``: a learned slope (``torch.nn.PReLU``).

    Parameters
    ----------
    num_parameters : int, default=1
        1 (one slope) or the number of channels (dimension 1 of the input).
    init : float, default=0.25
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.num_parameters, self.init = int(num_parameters), float(init)
        self.weight = Parameter(
            np.full(self.num_parameters, self.init, dtype=_factory_dtype(device, dtype))
        )

    def reset_parameters(self) -> None:
        """Every slope back to ``init``."""
        self.weight._data[...] = self.init
        self.weight._vc[0] += 1

    def forward(self, input: Any) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU (``torch.nn.RReLU``; see :func:`fastdense.nn.functional.rrelu`).

    Training mode draws a slope per non-positive element uniformly from
    ``[lower, upper)`` with fastdense's generator; eval mode is exact
    (``leaky_relu`` with slope ``(lower + upper) / 2``).
    """

    def __init__(
        self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False
    ) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = float(lower), float(upper), inplace

    def forward(self, input: Any) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (
            ", inplace=True" if self.inplace else ""
        )


class ELU(Module):
    """``x`` if positive, else ``alpha * (exp(x) - 1)`` (``torch.nn.ELU``)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = float(alpha), inplace

    def forward(self, input: Any) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (``torch.nn.CELU``)."""

    def forward(self, input: Any) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)


class SELU(_Inplace):
    """Scaled ELU with the self-normalising constants (``torch.nn.SELU``)."""

    _fn = F.selu


class GELU(Module):
    """``x * Phi(x)`` (``torch.nn.GELU``); ``approximate="tanh"`` is PyTorch's tanh form."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise RuntimeError("approximate argument must be either none or tanh.")
        self.approximate = approximate

    def forward(self, input: Any) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Inplace):
    """``x * sigmoid(x)`` (``torch.nn.SiLU``)."""

    _fn = F.silu


class Mish(_Inplace):
    """``x * tanh(softplus(x))`` (``torch.nn.Mish``)."""

    _fn = F.mish


class Hardswish(_Inplace):
    """``x * relu6(x + 3) / 6`` (``torch.nn.Hardswish``)."""

    _fn = F.hardswish

    def extra_repr(self) -> str:
        return ""  # (PyTorch's repr does not show inplace here)


class Hardsigmoid(_Inplace):
    """``relu6(x + 3) / 6`` (``torch.nn.Hardsigmoid``)."""

    _fn = F.hardsigmoid

    def extra_repr(self) -> str:
        return ""  # (PyTorch's repr does not show inplace here)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear above ``threshold`` (``torch.nn.Softplus``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, input: Any) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softshrink(Module):
    """Soft thresholding by ``lambd`` (``torch.nn.Softshrink``)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = float(lambd)

    def forward(self, input: Any) -> Tensor:
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Softshrink):
    """``x`` where ``|x| > lambd``, else 0 (``torch.nn.Hardshrink``)."""

    def forward(self, input: Any) -> Tensor:
        return F.hardshrink(input, self.lambd)


class Tanhshrink(_Parameterless):
    """``x - tanh(x)`` (``torch.nn.Tanhshrink``)."""

    _fn = F.tanhshrink


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value`` (``torch.nn.Threshold``)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = float(threshold), float(value), inplace

    def forward(self, input: Any) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (
            ", inplace=True" if self.inplace else ""
        )


class LogSigmoid(_Parameterless):
    """``log(sigmoid(x))`` without overflow (``torch.nn.LogSigmoid``)."""

    _fn = F.logsigmoid


class Softsign(_Parameterless):
    """``x / (1 + |x|)`` (``torch.nn.Softsign``)."""

    _fn = F.softsign


class GLU(Module):
    """``a * sigmoid(b)`` of the halves of the input along ``dim`` (``torch.nn.GLU``)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Any) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


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


class Softmin(_SoftmaxModule):
    """``softmax(-x)`` along ``dim`` (``torch.nn.Softmin``)."""

    def forward(self, input: Any) -> Tensor:
        return F.softmin(input, self.dim, _stacklevel=5)


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input (``torch.nn.Softmax2d``)."""

    def forward(self, input: Any) -> Tensor:
        ndim = input.ndim if hasattr(input, "ndim") else np.ndim(input)
        if ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {ndim}D instead")
        return F.softmax(input, -3)
