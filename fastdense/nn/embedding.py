"""``Embedding`` and ``EmbeddingBag`` (``torch.nn.modules.sparse``), with dense gradients."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._random import default_generator
from ..autograd import Parameter, Tensor, _float_array
from . import functional as F
from .module import Module, _factory_dtype

__all__ = ["Embedding", "EmbeddingBag"]


def _padding(padding_idx: Optional[int], n: int, name: str) -> Optional[int]:
    """padding_idx in [0, n), negative ones counted from the end (PyTorch's AssertionError)."""
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise AssertionError(f"{name} must be within num_embeddings")
    return padding_idx % n


def _normal_reset(weight: Parameter, padding_idx: Optional[int]) -> None:
    weight._data[...] = default_generator().standard_normal(weight._data.shape)
    if padding_idx is not None:
        weight._data[padding_idx] = 0
    weight._vc[0] += 1


class Embedding(Module):
    """A lookup table of ``num_embeddings`` rows of size ``embedding_dim`` (``torch.nn.Embedding``).

    The weight is drawn from N(0, 1) (row ``padding_idx`` zero, and its gradient
    too). ``sparse=True`` raises NotImplementedError: gradients are dense.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: Optional[int] = None,
        max_norm: Optional[float] = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError(
                "fastdense does not implement sparse gradients "
                "(Embedding(sparse=True)); use sparse=False"
            )
        dt = _factory_dtype(device, dtype)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        padding_idx = _padding(padding_idx, self.num_embeddings, "Padding_idx")
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(
                np.empty((self.num_embeddings, self.embedding_dim), dt), requires_grad=not _freeze
            )
            self.reset_parameters()
        else:
            w = _float_array(_weight)
            if w.shape != (self.num_embeddings, self.embedding_dim):
                raise AssertionError(
                    "Shape of weight does not match num_embeddings and embedding_dim"
                )
            self.weight = Parameter(w, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """N(0, 1) from fastdense's generator; the padding row zero."""
        _normal_reset(self.weight, self.padding_idx)

    def forward(self, input: Any) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Any,
        freeze: bool = True,
        padding_idx: Optional[int] = None,
        max_norm: Optional[float] = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> "Embedding":
        """An Embedding holding a copy of the 2-D ``embeddings`` (frozen by default)."""
        w = np.array(_float_array(embeddings), copy=True)
        if w.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        return cls(
            w.shape[0],
            w.shape[1],
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=w,
            _freeze=freeze,
        )


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (``torch.nn.EmbeddingBag``).

    See :func:`fastdense.nn.functional.embedding_bag` for the bags and offsets.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: Optional[float] = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Any = None,
        include_last_offset: bool = False,
        padding_idx: Optional[int] = None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if sparse:
            raise NotImplementedError(
                "fastdense does not implement sparse gradients "
                "(EmbeddingBag(sparse=True)); use sparse=False"
            )
        dt = _factory_dtype(device, dtype)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        padding_idx = _padding(padding_idx, self.num_embeddings, "padding_idx")
        self.max_norm, self.norm_type, self.scale_grad_by_freq = (
            max_norm,
            norm_type,
            scale_grad_by_freq,
        )
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dt))
            self.reset_parameters()
        else:
            self.weight = Parameter(_float_array(_weight))

    def reset_parameters(self) -> None:
        """N(0, 1) from fastdense's generator; the padding row zero."""
        _normal_reset(self.weight, self.padding_idx)

    def forward(self, input: Any, offsets: Any = None, per_sample_weights: Any = None) -> Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
