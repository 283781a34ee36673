"""Devices: fastdense computes on the CPU; every other device is named and refused.

``device`` is ``torch.device``'s counterpart (creating ``device("cuda")``
works, using it raises :class:`DeviceUnavailableError`); :func:`check_device`
is the one test every ``device=``/``.to(...)`` argument goes through, and
:func:`to_dtype` reads the arguments of ``Tensor.to``/``Module.to``.
"""

from __future__ import annotations

import builtins
from typing import Any, Dict, Optional, Sequence

import numpy as np

from .. import _dtypes as _dt

__all__ = [
    "DeviceUnavailableError",
    "DEVICE_TYPES",
    "device",
    "check_device",
    "to_dtype",
    "resolve_float_dtype",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class DeviceUnavailableError(AssertionError, RuntimeError):
    """A device other than the CPU was asked for.

    An AssertionError (what a CPU build of PyTorch raises for CUDA) and a
    RuntimeError (what a CUDA build without a GPU raises).
    """


DEVICE_TYPES = (
    "cpu",
    "cuda",
    "ipu",
    "xpu",
    "mkldnn",
    "opengl",
    "opencl",
    "ideep",
    "hip",
    "ve",
    "fpga",
    "maia",
    "xla",
    "lazy",
    "vulkan",
    "mps",
    "meta",
    "hpu",
    "mtia",
    "privateuseone",
)


def check_device(device: Any) -> str:
    """The device type of ``device`` if it is the CPU; else PyTorch's kind of error."""
    if isinstance(device, int) and not isinstance(device, bool):
        device = f"cuda:{device}"
    name = str(getattr(device, "type", device))
    kind = name.split(":")[0]
    if kind not in DEVICE_TYPES:
        raise RuntimeError(
            "Expected one of "
            + ", ".join(DEVICE_TYPES)
            + f" device type at start of device string: {name}"
        )
    if kind != "cpu":
        raise DeviceUnavailableError(
            f"fastdense runs on the CPU only: device {name!r} is not available"
        )
    return kind


class device:
    """A device (``torch.device``): only ``device("cpu")`` can hold tensors.

    Creating ``device("cuda")`` works, as in PyTorch; using it (``.to(dev)``)
    raises :class:`DeviceUnavailableError`. An unknown type raises RuntimeError.
    """

    def __init__(self, type: Any, index: Optional[int] = None) -> None:  # noqa: A002
        name = str(getattr(type, "type", type)) if not isinstance(type, device) else str(type)
        kind, _, idx = name.partition(":")
        try:
            check_device(kind)
        except DeviceUnavailableError:
            pass
        self.type = kind
        self.index = builtins.int(idx) if idx else index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return (
            f"device(type='{self.type}')"
            if self.index is None
            else f"device(type='{self.type}', index={self.index})"
        )

    def __eq__(self, other: Any) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


CPU = device("cpu")


def _is_dtype_name(s: str) -> bool:
    try:
        _dt.resolve(s)
        return True
    except TypeError:
        return False


def _is_device_like(x: Any) -> bool:
    if isinstance(x, str):
        return x.split(":")[0] in DEVICE_TYPES or not _is_dtype_name(x)
    return (
        isinstance(x, device)
        or type(x).__name__ == "device"
        or (isinstance(x, int) and not isinstance(x, bool))
    )


def to_dtype(args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
    """The dtype that ``to(*args, **kwargs)`` asks for (None: keep it).

    Positional arguments are devices, dtypes or a tensor (its dtype), in any
    order, as PyTorch's ``Tensor.to`` and ``Module.to`` take them; the
    keywords ``dtype``, ``device`` and ``non_blocking`` (no effect on the CPU)
    are taken from `kwargs`, and any keyword left is a TypeError. Any device
    but the CPU raises (:func:`check_device`).
    """
    dtype, dev = kwargs.pop("dtype", None), kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if _is_device_like(a):
            dev = a
        elif hasattr(a, "_data") and hasattr(a, "dtype"):  # a tensor: its dtype
            dtype = a.dtype
        else:
            dtype = a
    if dev is not None:
        check_device(dev)
    return dtype


def resolve_float_dtype(dtype: Any) -> np.dtype:
    """A NumPy float dtype from a NumPy dtype, a name, or a torch dtype."""
    dt = _dt.resolve(dtype)
    if dt not in _FLOATS:
        raise TypeError(f"dtype must be float32 or float64; got {dtype!r}")
    return dt
