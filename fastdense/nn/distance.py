"""``PairwiseDistance`` and ``CosineSimilarity`` (``torch.nn.modules.distance``).

Shells over :func:`fastdense.nn.functional.pairwise_distance` and
:func:`fastdense.nn.functional.cosine_similarity`, with PyTorch's attribute
names (``norm``, ``eps``, ``keepdim``; ``dim``, ``eps``).
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from . import functional as F
from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    """``||x1 - x2 + eps||_p`` along the last dimension (``torch.nn.PairwiseDistance``)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim``
    (``torch.nn.CosineSimilarity``)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Any, x2: Any) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
