"""Input checking shared by the Python layers: the boundary in front of the kernels."""

import numbers
import warnings

import numpy as np

from . import _version

# BLAS takes 32-bit ints for sizes and leading dimensions.
MAX_BLAS_DIM = 2**31 - 1

_ACCEPTED_KINDS = "biuf"  # bool, signed and unsigned ints, floats


def _kind_name(dtype):
    return f"dtype {dtype}"


def to_ndarray(x, name):
    """`x` as an ndarray of a numeric (bool, int, float) dtype, else TypeError."""
    if type(x) is np.ndarray and x.dtype.kind in _ACCEPTED_KINDS:
        return x  # the common case, kept cheap
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):
        x = x.detach().cpu().numpy()  # a torch tensor
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be numeric; got an object array that is not") from None
    if arr.dtype.kind not in _ACCEPTED_KINDS:
        raise TypeError(
            f"{name} must be a real numeric array (bool, int or float); got {_kind_name(arr.dtype)}"
        )
    return arr


def common_float_dtype(*arrays):
    """float32 if every given array is float32, else float64 (the kernel dtypes)."""
    present = [a for a in arrays if a is not None]
    if present and all(a.dtype == np.float32 for a in present):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def check_ndim(arr, name, ndim, shape_doc):
    if arr.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D array of shape {shape_doc}; got shape {arr.shape}"
        )


def check_blas_dims(arr, name):
    """Every dimension of `arr` must fit BLAS's 32-bit size arguments."""
    if arr.ndim == 0 or max(arr.shape) <= MAX_BLAS_DIM:
        return
    for axis, size in enumerate(arr.shape):
        if size > MAX_BLAS_DIM:
            raise ValueError(
                f"{name}.shape[{axis}] = {size} exceeds {MAX_BLAS_DIM}, the largest "
                "size BLAS accepts"
            )


def as_contiguous(arr, dtype):
    """C-contiguous array of `dtype`; no copy when `arr` already is one."""
    return np.ascontiguousarray(arr, dtype=dtype)


def check_out(out, name, shape, dtype):
    """An output buffer: an ndarray of exactly this shape and dtype, C-contiguous, writable."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray; got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {out.shape}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}; got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writable")
    return out


def check_real(value, name, *, low=None, high=None, low_open=False):
    """A finite real scalar within [low, high] (or (low, high] with low_open)."""
    if type(value) is float and low is None and high is None and value - value == 0:
        return value  # finite float, no bounds: the common case, kept cheap
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    if low is not None and (value <= low if low_open else value < low):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{name} must be {bound}; got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}; got {value!r}")
    return value


class VersionWarning(UserWarning):
    """An object or file saved by another fastdense version was loaded."""


def warn_if_other_version(saved, what):
    """Warn (VersionWarning) when `saved`, the fastdense version that wrote `what`, differs.

    None means the object predates version recording (an older fastdense).
    """
    current = _version.__version__
    if saved == current:
        return
    warnings.warn(
        f"Loading {what} saved with fastdense {saved or '(unknown, older)'} into "
        f"fastdense {current}. It may not load correctly or give the same results; "
        f"re-save it with this version (or use fastdense {saved or 'the old version'}).",
        VersionWarning,
        stacklevel=3,
    )
