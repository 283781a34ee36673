"""The safetensors container: named arrays plus string metadata, written atomically, read within bounds.

A file is safetensors' format: an 8-byte little-endian header length, a JSON
header (each array's dtype, shape and byte range, plus ``__metadata__``, a
map of strings to strings), then the raw data. Reading treats the file as
untrusted input and bounds everything it can make us allocate or loop over
(``docs/reliability.md``, "Bounds on a file"):

- only a regular file is read (not ``/dev/zero``, a FIFO or a directory), and
  only the bytes the header declares: the header length is checked against
  :data:`MAX_HEADER` and the file's size before the header is read, and the
  header's byte ranges must cover the data exactly, so no array is larger
  than the file;
- JSON (the header and the metadata values fastdense stores as JSON) is
  parsed with a nesting limit (:func:`parse_json`), never into a
  RecursionError;
- at most :data:`MAX_NDIM` dimensions per array.

Every failure is a ValueError (malformed content) or an OSError (the file
cannot be read).
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from .._version import __version__
from ._files import atomic_write, open_regular

__all__ = [
    "save_arrays",
    "load_arrays",
    "check_safetensors_header",
    "parse_json",
    "MAX_HEADER",
    "MAX_JSON_DEPTH",
    "MAX_NDIM",
]

_ITEMSIZE = {
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}
#: the largest header read (safetensors' own limit): bounds the metadata's length
MAX_HEADER = 100 * 1024 * 1024
#: the deepest JSON nesting accepted in a header or a metadata value
MAX_JSON_DEPTH = 64
#: the most dimensions an array in a file may have
MAX_NDIM = 32

# a JSON string (escapes included) or a bracket: what the nesting scan looks at
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def parse_json(text: "str | bytes", what: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads(text)`` with its nesting depth limited; ValueError for anything malformed.

    The depth is measured before parsing (a regular-expression scan that
    skips strings), so deeply nested input is a ValueError naming `what`,
    never a RecursionError from the parser or from code walking the result.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{what} is not UTF-8: {exc}") from None
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise ValueError(
                    f"{what} nests deeper than {max_depth} levels; a fastdense "
                    "file never does (corrupt or hostile)"
                )
        elif token in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:  # pragma: no cover - the scan above bounds the depth
        raise ValueError(f"{what} nests too deeply") from None


def _require_safetensors():
    try:
        from safetensors import numpy as st_numpy
    except ImportError as exc:  # pragma: no cover - safetensors is a dependency
        raise ImportError(
            "saving and loading models needs the 'safetensors' package: pip install safetensors"
        ) from exc
    return st_numpy


def save_arrays(
    arrays: Mapping[str, Any],
    path: "str | os.PathLike[str]",
    metadata: Optional[Mapping[str, str]] = None,
) -> None:
    """Write a mapping of name -> array to `path` in safetensors format, atomically.

    Parameters
    ----------
    arrays : mapping of str to array-like
        Numeric arrays; they are written C-contiguous.
    path : str, os.PathLike or binary file object
        Target file; replaced only once the new file is complete (see
        :func:`fastdense.io.atomic_write`: an existing file's mode is kept, a
        symlink is written through). A file object (anything with ``write``,
        such as ``io.BytesIO`` or a file opened ``"wb"``) gets the bytes written
        into it, at its position, as ``torch.save`` does.
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
    blob = st_numpy.save(tensors, metadata=meta)
    if hasattr(path, "write"):
        path.write(blob)  # type: ignore[union-attr]
    else:
        atomic_write(path, blob)


def check_safetensors_header(blob: bytes, source: str = "file") -> Dict[str, Any]:
    """Validate a safetensors byte string; return its parsed JSON header.

    Raises ValueError naming what is wrong (truncated, bad header length,
    malformed or too deeply nested JSON, unknown dtype, offsets outside the
    data, data not covered exactly, overlapping or size-inconsistent tensors)
    before any array is built.
    """
    if len(blob) < 8:
        raise ValueError(f"{source} is not a safetensors file: {len(blob)} bytes, truncated")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(MAX_HEADER, len(blob) - 8):
        raise ValueError(
            f"{source} is not a valid safetensors file: header length {n} exceeds the "
            f"file ({len(blob)} bytes) or {MAX_HEADER} bytes; truncated or corrupt"
        )
    header = parse_json(blob[8 : 8 + n], f"{source} has a malformed safetensors header: it")
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
        if not isinstance(dtype, str) or dtype not in _ITEMSIZE:
            raise ValueError(f"{source}: entry {name!r} has unknown dtype {dtype!r}")
        if not (
            isinstance(shape, list)
            and len(shape) <= MAX_NDIM
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise ValueError(
                f"{source}: entry {name!r} has an invalid shape (at most "
                f"{MAX_NDIM} non-negative sizes)"
            )
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= data_size):
            raise ValueError(
                f"{source}: entry {name!r} points outside the data ({start}..{end} of "
                f"{data_size} bytes); truncated or corrupt"
            )
        if end - start != _ITEMSIZE[dtype] * math.prod(shape):  # Python ints: no overflow
            raise ValueError(f"{source}: entry {name!r}: its byte size does not match its shape")
        spans.append((start, end))
    spans.sort()
    for (_, end_a), (start_b, _) in zip(spans, spans[1:]):
        if start_b < end_a:
            raise ValueError(f"{source}: tensors overlap in the data section; corrupt file")
    covered = sum(end - start for start, end in spans)
    if covered != data_size:
        raise ValueError(
            f"{source}: its arrays cover {covered} of the {data_size} data bytes "
            "(safetensors' data is exactly its arrays); truncated or corrupt"
        )
    return header


def _read_declared(path: str) -> bytes:
    """A regular file's bytes: its header length first, checked against the file's size.

    Nothing is read beyond the size the file had when opened (a file growing
    meanwhile is not followed), and a header longer than the file or than
    :data:`MAX_HEADER` is refused before it is read.
    """
    f, size = open_regular(path)
    with f:
        return _read_stream(f, repr(path), size)


def _read_stream(f: Any, source: str, size: Optional[int] = None) -> bytes:
    """A binary file object's bytes from its position: the header length first, refused
    before the rest is read when it exceeds :data:`MAX_HEADER` or, ``size`` (the file's
    size, when known) given, the file; then up to ``size`` bytes, else to the end."""
    head = f.read(8)
    if not isinstance(head, bytes):
        raise TypeError(
            f"{source} must be opened in binary mode (read() gave {type(head).__name__})"
        )
    if len(head) == 8:
        (n,) = struct.unpack("<Q", head)
        if n > (MAX_HEADER if size is None else min(MAX_HEADER, size - 8)):
            file = "" if size is None else f"the file ({size} bytes) or "
            raise ValueError(
                f"{source} is not a valid safetensors file: header length {n} exceeds "
                f"{file}{MAX_HEADER} bytes; truncated or corrupt"
            )
        head += f.read() if size is None else f.read(size - 8)
    return head


def load_arrays(
    path: Any,
) -> Tuple["OrderedDict[str, np.ndarray]", Dict[str, str]]:
    """Read a safetensors file written by :func:`save_arrays` (or by PyTorch's safetensors).

    ``path`` is a str, an os.PathLike or a binary file object (anything with
    ``read``), read from its position to its end, as ``torch.load`` takes one.

    Returns
    -------
    arrays : OrderedDict of str to ndarray
        In the saved order (else the order of the file's data).
    metadata : dict of str to str

    Raises
    ------
    ValueError
        Not a regular file, or malformed, truncated or out of bounds.
    OSError
        The file cannot be opened or read.
    """
    st_numpy = _require_safetensors()
    if hasattr(path, "read"):
        source = repr(getattr(path, "name", "the file object"))
        blob = _read_stream(path, source)
    else:
        path = os.fspath(path)
        source = repr(path)
        blob = _read_declared(path)
    header = check_safetensors_header(blob, source=source)
    try:
        arrays = st_numpy.load(blob)
    except Exception as exc:  # safetensors' own checks, as a clear ValueError
        raise ValueError(f"{source} is not a valid safetensors file: {exc}") from None
    metadata = dict(header.get("__metadata__", {}))
    order = sorted(arrays, key=lambda k: header[k]["data_offsets"][0])
    try:
        saved_order = parse_json(metadata.get("fastdense_keys", "null"), "fastdense_keys")
    except ValueError:
        saved_order = None
    if (
        isinstance(saved_order, list)
        and all(isinstance(k, str) for k in saved_order)
        and sorted(saved_order) == sorted(arrays)
    ):
        order = saved_order
    return OrderedDict((k, arrays[k]) for k in order), metadata
