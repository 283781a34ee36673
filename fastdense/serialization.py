"""Saving and loading models as safetensors files: no pickle, so no code runs on load.

A file holds named arrays plus string metadata (safetensors' format: an
8-byte little-endian header length, a JSON header, then the raw data). Writes
are atomic: the data goes to a temporary file in the target's folder, is
flushed to disk, then renamed over the target, so a crash mid-save never
leaves a half-written model under the final name.
"""

import json
import math
import os
import struct
import tempfile
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from ._version import __version__

__all__ = ["save", "load", "save_arrays", "load_arrays", "check_safetensors_header"]

_DTYPES = {"F16", "F32", "F64", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64",
           "BOOL", "BF16"}
_MAX_HEADER = 100 * 1024 * 1024


def _require_safetensors():
    try:
        from safetensors import numpy as st_numpy
    except ImportError as exc:  # pragma: no cover - safetensors is a dependency
        raise ImportError(
            "saving and loading models needs the 'safetensors' package: pip install safetensors"
        ) from exc
    return st_numpy


def save_arrays(arrays, path, metadata=None):
    """Write a mapping of name -> array to `path` in safetensors format, atomically.

    Parameters
    ----------
    arrays : mapping of str to array-like
        Numeric arrays; they are written C-contiguous.
    path : str or os.PathLike
        Target file; replaced only once the new file is complete.
    metadata : mapping of str to str, optional
        Stored in the header; the fastdense version is added.
    """
    st_numpy = _require_safetensors()
    tensors = OrderedDict()
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"array names must be strings; got {name!r}")
        arr = np.ascontiguousarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name!r} is not a numeric array (dtype {arr.dtype})")
        tensors[name] = arr
    # safetensors orders the data its own way; the mapping's order is kept here
    meta = {"fastdense_version": __version__, "fastdense_keys": json.dumps(list(tensors))}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("metadata must map strings to strings")
        meta[key] = value
    data = st_numpy.save(tensors, metadata=meta)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".fastdense-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def check_safetensors_header(blob, source="file"):
    """Validate a safetensors byte string; return its parsed JSON header.

    Raises ValueError naming what is wrong (truncated, bad header length,
    malformed JSON, unknown dtype, offsets outside the data, overlapping or
    size-inconsistent tensors) before any array is built.
    """
    if len(blob) < 8:
        raise ValueError(f"{source} is not a safetensors file: {len(blob)} bytes, truncated")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(_MAX_HEADER, len(blob) - 8):
        raise ValueError(
            f"{source} is not a valid safetensors file: header length {n} exceeds the "
            f"file ({len(blob)} bytes); truncated or corrupt"
        )
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{source} has a malformed safetensors header: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{source} has a malformed safetensors header: not a JSON object")
    data_size = len(blob) - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in info.items()
            ):
                raise ValueError(f"{source}: __metadata__ must map strings to strings")
            continue
        try:
            dtype, shape, (start, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{source}: entry {name!r} lacks dtype/shape/data_offsets") from None
        if dtype not in _DTYPES:
            raise ValueError(f"{source}: entry {name!r} has unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise ValueError(f"{source}: entry {name!r} has an invalid shape {shape!r}")
        itemsize = 2 if dtype in ("F16", "BF16", "I16", "U16") else (
            1 if dtype in ("I8", "U8", "BOOL") else (4 if dtype in ("F32", "I32", "U32") else 8))
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= data_size):
            raise ValueError(
                f"{source}: entry {name!r} points outside the data ({start}..{end} of "
                f"{data_size} bytes); truncated or corrupt"
            )
        if end - start != itemsize * math.prod(shape):  # Python ints: no overflow
            raise ValueError(f"{source}: entry {name!r}: its byte size does not match its shape")
        spans.append((start, end))
    spans.sort()
    for (_, end_a), (start_b, _) in zip(spans, spans[1:]):
        if start_b < end_a:
            raise ValueError(f"{source}: tensors overlap in the data section; corrupt file")
    return header


def load_arrays(path):
    """Read a safetensors file written by :func:`save_arrays` (or by PyTorch's safetensors).

    Returns
    -------
    arrays : OrderedDict of str to ndarray
        In the order of the file's data.
    metadata : dict of str to str
    """
    st_numpy = _require_safetensors()
    path = os.fspath(path)
    with open(path, "rb") as f:
        blob = f.read()
    header = check_safetensors_header(blob, source=repr(path))
    try:
        arrays = st_numpy.load(blob)
    except Exception as exc:  # safetensors' own checks, as a clear ValueError
        raise ValueError(f"{path!r} is not a valid safetensors file: {exc}") from None
    metadata = dict(header.get("__metadata__", {}))
    order = sorted(arrays, key=lambda k: header[k]["data_offsets"][0])
    try:
        saved_order = json.loads(metadata.get("fastdense_keys", "null"))
    except json.JSONDecodeError:
        saved_order = None
    if isinstance(saved_order, list) and sorted(saved_order) == sorted(arrays):
        order = saved_order
    return OrderedDict((k, arrays[k]) for k in order), metadata


# ------------------------------------------------------- fastdense.save / load

_KIND = "fastdense_kind"


def save(obj, path):
    """Save a model to `path` in the safetensors format (no pickle), atomically.

    Parameters
    ----------
    obj : fastdense.nn.Module, fitted estimator, or mapping of str to array
        A module is saved as its ``state_dict()`` (PyTorch's names, readable by
        ``safetensors.torch.load_file`` and loadable into the equivalent
        ``torch.nn`` model). A fitted ``DenseBinaryClassifier``,
        ``DenseClassifier`` (binary, multi-class or multilabel) or
        ``DenseRegressor`` is saved as its weights plus its parameters,
        classes and fitted attributes in the header, and the optimizer state,
        so that :func:`load` returns a working estimator whose
        ``partial_fit`` / warm-started ``fit`` continue exactly as the
        original's would. Arrays (NumPy, fastdense or
        PyTorch CPU tensors) are saved as they are.
    path : str or os.PathLike
        The target file; an existing one is replaced only once the new file
        is complete on disk.

    Examples
    --------
    >>> import fastdense as fd, tempfile, os
    >>> model = fd.nn.Linear(3, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> fd.save(model, path)
    >>> list(fd.load(path))
    ['weight', 'bias']
    """
    from ._estimator_file import estimator_arrays
    from .nn import Module

    if isinstance(obj, Module):
        arrays = OrderedDict((k, np.asarray(v)) for k, v in obj.state_dict().items())
        meta = {_KIND: "state_dict", "module": type(obj).__name__}
    elif _is_estimator(obj):
        arrays, meta = estimator_arrays(obj)
    elif isinstance(obj, Mapping):
        arrays = OrderedDict((k, _as_array(k, v)) for k, v in obj.items())
        meta = {_KIND: "arrays"}
    else:
        raise TypeError(
            "fastdense.save stores an nn.Module, a fitted DenseBinaryClassifier, "
            "DenseClassifier or DenseRegressor, or a mapping of names to arrays; got "
            f"{type(obj).__name__} (pickle or joblib store anything, but loading a pickle "
            "can run code)"
        )
    save_arrays(arrays, path, metadata=meta)


def _is_estimator(obj):
    """A fastdense estimator, without importing scikit-learn for anything else."""
    import sys

    if "sklearn" not in sys.modules:  # no estimator exists before scikit-learn is imported
        return False
    from ._estimator_file import KINDS
    import fastdense

    return isinstance(obj, tuple(getattr(fastdense, kind) for kind in KINDS))


def _as_array(name, value):
    from ._validation import to_ndarray

    if hasattr(value, "_value"):  # a fastdense Tensor
        value = value._value()
    return to_ndarray(value, f"arrays[{name!r}]")


def load(path):
    """Load what :func:`save` wrote (or any safetensors file), without pickle.

    A model file is treated as untrusted input: no code runs, the header is
    checked before any array is built, an estimator is read through a
    whitelist of typed, range-checked entries and its network is proven
    consistent before it is returned (see "Threat model" in
    ``docs/reliability.md``). A valid file with bad weights still predicts
    badly: the file is not signed. Unlike this, ``pickle.load`` /
    ``joblib.load`` of an estimator run code named by the file: load pickles
    only from sources you trust.

    Parameters
    ----------
    path : str or os.PathLike
        A safetensors file.

    Returns
    -------
    DenseBinaryClassifier, DenseClassifier or DenseRegressor
        For a saved estimator (fitted, ready to predict and to continue training).
    OrderedDict of str to ndarray
        Otherwise: the saved state_dict (for ``module.load_state_dict``) or
        arrays, in the saved order.

    Raises
    ------
    ValueError
        The file is truncated, malformed or inconsistent (every such failure is a
        ValueError naming the entry; never a KeyError or a crash).
    OSError
        The file cannot be read.

    Warns
    -----
    VersionWarning
        The file was written by another fastdense version.
    UserWarning
        The file has entries this version does not know; they are ignored.
    """
    arrays, meta = load_arrays(path)
    if "fastdense_version" in meta:
        from ._validation import warn_if_other_version

        warn_if_other_version(meta["fastdense_version"], repr(os.fspath(path)))
    from ._estimator_file import KINDS

    if meta.get(_KIND) in KINDS:
        from ._estimator_file import CLI_FORMAT, CLI_PREPROCESS, estimator_from

        extra = CLI_PREPROCESS if meta.get("format") == CLI_FORMAT else ()
        return read_estimator(estimator_from, arrays, meta, path, extra_arrays=extra)
    return arrays


def read_estimator(reader, arrays, meta, path, **kwargs):
    """`reader(arrays, meta, **kwargs)`, every failure a ValueError naming the file.

    The readers check each entry explicitly; this also turns a lookup error
    that slipped past them into the same clear ValueError, never a KeyError.
    """
    try:
        return reader(arrays, meta, **kwargs)
    except (KeyError, TypeError, IndexError, AttributeError, OverflowError,
            ValueError) as exc:
        raise ValueError(
            f"{os.fspath(path)!r} holds a damaged or invalid fastdense model: {exc}"
        ) from None
