"""What fastdense leaves out of PyTorch's operator surface on purpose, by family.

docs/pytorch_api.md publishes the same families with their reasons (the
coverage table's exclusion list). A user who reaches one of these names on a
tensor or in ``fastdense.torch`` gets a NotImplementedError naming the op and
its family instead of an AttributeError.
"""

from __future__ import annotations

from typing import Dict

from .tensor import Tensor

__all__ = ["FAMILIES", "family_of", "excluded_error", "install"]

FAMILIES: Dict[str, str] = {
    "fft": "fft stft istft",
    "linalg decompositions and solvers": (
        "linalg cholesky cholesky_inverse cholesky_solve lu lu_solve lu_unpack qr svd "
        "svd_lowrank pca_lowrank geqrf ormqr triangular_solve pinverse matrix_exp logdet det "
        "slogdet inverse matrix_power eig symeig lstsq orgqr householder_product"
    ),
    "special functions": "special i0e i1 i1e igamma igammac zeta xlog1py entr ndtr ndtri",
    "sparse": (
        "sparse to_sparse to_sparse_csr to_sparse_csc to_sparse_bsr to_sparse_bsc "
        "to_dense coalesce is_coalesced indices values crow_indices col_indices "
        "sparse_mask sparse_dim dense_dim sparse_coo_tensor sparse_csr_tensor "
        "_nnz"
    ),
    "complex numbers": (
        "real imag angle conj conj_physical resolve_conj resolve_neg "
        "view_as_complex view_as_real polar complex sgn is_conj is_neg vdot "
        "cfloat cdouble chalf"
    ),
    "convolution, pooling, image": (
        "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d "
        "max_pool1d max_pool2d max_pool3d avg_pool1d adaptive_avg_pool1d "
        "adaptive_max_pool1d pixel_shuffle pixel_unshuffle channel_shuffle unfold "
        "grid_sampler affine_grid_generator rot90 constant_pad_nd"
    ),
    "signal": "signal bartlett_window blackman_window hamming_window hann_window kaiser_window",
    "quantization": (
        "quantize_per_tensor quantize_per_channel dequantize q_scale q_zero_point "
        "int_repr is_quantized qscheme"
    ),
    "masked tensors": "masked",
    "strides and storage": (
        "as_strided as_strided_ as_strided_scatter stride storage "
        "storage_offset untyped_storage set_ data_ptr pin_memory "
        "is_pinned share_memory_ is_shared"
    ),
}

_INDEX = {name: fam for fam, names in FAMILIES.items() for name in names.split()}


def family_of(name: str):
    """The excluded family of a torch name, or None."""
    return _INDEX.get(name)


def excluded_error(qualified_name: str, family: str) -> NotImplementedError:
    """The error for reaching an excluded name (``torch.fft``, ``Tensor.stride``, ...)."""
    return NotImplementedError(
        f"{qualified_name} is not implemented by fastdense: it belongs to the excluded "
        f"family '{family}' (see the exclusion list in docs/pytorch_api.md)"
    )


class _Excluded:
    """A torch.Tensor attribute left out on purpose, as a class attribute of Tensor.

    Reading it from a tensor raises NotImplementedError naming it and its
    family; from the class it is this marker. (A class attribute rather than a
    ``Tensor.__getattr__`` fallback: a class with ``__getattr__`` loses
    CPython's fast attribute access for every attribute, which the engine's
    hot paths read several times per op.)
    """

    __slots__ = ("name", "family")

    def __init__(self, name: str, family: str):
        self.name, self.family = name, family

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        raise excluded_error(f"Tensor.{self.name}", self.family)


def install() -> None:
    """Give Tensor an attribute for each excluded name it does not define, which
    raises NotImplementedError on a tensor."""
    for name, family in _INDEX.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, _Excluded(name, family))
