"""``Flatten`` and ``Unflatten`` (``torch.nn.modules.flatten``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor, _const
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` (``torch.nn.Flatten``)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, input: Tensor) -> Tensor:
        return _as_tensor(input).flatten(self.start_dim, self.end_dim)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else _const(np.asarray(x))


class Unflatten(Module):
    """Expand dimension ``dim`` into ``unflattened_size`` (``torch.nn.Unflatten``).

    ``unflattened_size`` is a tuple or list of ints (one may be -1).
    """

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        if isinstance(dim, str):
            raise NotImplementedError(
                "fastdense tensors have no named dimensions: Unflatten takes an int dim"
            )
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(s, (int, np.integer)) for s in unflattened_size
        ):
            raise TypeError(
                "unflattened_size must be tuple of ints, but found type "
                f"{type(unflattened_size).__name__}"
            )
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, input: Any) -> Tensor:
        x = _as_tensor(input)
        d = self.dim % x.ndim if x.ndim else 0
        return x.reshape(*x.shape[:d], *self.unflattened_size, *x.shape[d + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
