"""Dropout modules (``torch.nn.modules.dropout``).

``Dropout``, ``Dropout1d``, ``Dropout2d``, ``Dropout3d``, ``AlphaDropout`` and
``FeatureAlphaDropout``.

Active in training mode only; the masks come from the generator seeded by
:func:`fastdense.manual_seed` (PyTorch's distributions, not its stream of
draws), so a seeded run repeats itself but does not draw PyTorch's masks.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Randomly zero elements with probability ``p`` in training mode (``torch.nn.Dropout``).

    The survivors are scaled by ``1 / (1 - p)``; identity in eval mode. The
    mask comes from the generator seeded by :func:`fastdense.manual_seed`.
    """

    def forward(self, input: Any) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input in training (``torch.nn.Dropout1d``)."""

    def forward(self, input: Any) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) input in training (``torch.nn.Dropout2d``).

    PyTorch's input rules and warnings: a 3-D input is taken as (N, C, L),
    other ranks warn (see :func:`fastdense.nn.functional.dropout2d`).
    """

    def forward(self, input: Any) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input in training
    (``torch.nn.Dropout3d``)."""

    def forward(self, input: Any) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU's self-normalisation (``torch.nn.AlphaDropout``)."""

    def forward(self, input: Any) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """:class:`AlphaDropout` of whole channels (``torch.nn.FeatureAlphaDropout``)."""

    def forward(self, input: Any) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training, self.inplace)
