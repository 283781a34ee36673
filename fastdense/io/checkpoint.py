"""``torch.save``/``torch.load`` for checkpoints, as safetensors files (no pickle).

A checkpoint is a tree of dicts, lists and tuples whose leaves are tensors
(they load as fastdense tensors), NumPy arrays (they load as arrays),
numbers, strings, booleans or None (a ``state_dict``, an
optimizer's ``state_dict``, ``{"epoch": 3, "model": ..., "optimizer": ...}``).
The arrays go into the file's tensors; the tree, with each array replaced by
its key, goes into the header as JSON. Loading reads the JSON through this
whitelist of types: nothing in the file names code to run. The tree's JSON is
parsed with a nesting limit (:data:`MAX_TREE_DEPTH`), so walking it cannot
recurse without bound. ``fastdense.torch.save`` / ``load`` call these.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import numpy as np

from ..autograd import Tensor, _const
from .container import MAX_JSON_DEPTH, load_arrays, parse_json, save_arrays

_TREE = "fastdense_checkpoint"
#: the deepest JSON nesting of a checkpoint's tree (each container level is two JSON levels)
MAX_TREE_DEPTH = 2 * MAX_JSON_DEPTH


def _encode(obj: Any, arrays: Dict[str, np.ndarray]) -> Any:
    kind = "array"
    if isinstance(obj, Tensor):
        obj, kind = obj._data, "tensor"
    if hasattr(obj, "detach") and hasattr(obj, "numpy"):  # a torch tensor
        obj, kind = obj.detach().cpu().numpy(), "tensor"
    if isinstance(obj, np.ndarray):
        key = str(len(arrays))
        arrays[key] = obj
        # (safetensors' writer stores a 0-d array as shape (1,))
        return {f"__{kind}0d__" if obj.ndim == 0 else f"__{kind}__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {
            "__list__" if isinstance(obj, list) else "__tuple__": [_encode(v, arrays) for v in obj]
        }
    raise TypeError(
        f"fastdense.torch.save writes tensors, arrays, numbers, strings and dicts/lists of "
        f"them (a state_dict); got {type(obj).__name__}, which would need pickle"
    )


def _decode(node: Any, arrays: Dict[str, np.ndarray]) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):  # only inside the tagged containers below
        raise ValueError("malformed checkpoint")
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError("malformed checkpoint")
    ((tag, value),) = node.items()
    if tag in ("__array__", "__tensor__"):
        arr = arrays[str(value)].copy()
        return arr if tag == "__array__" else _const(arr)
    if tag in ("__array0d__", "__tensor0d__"):
        arr = arrays[str(value)].reshape(()).copy()
        return arr if tag == "__array0d__" else _const(arr)
    if tag == "__float__":
        return float(value)
    if tag in ("__list__", "__tuple__"):
        items = [_decode(v, arrays) for v in value]
        return items if tag == "__list__" else tuple(items)
    if tag == "__dict__":
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value}
    raise ValueError(f"malformed checkpoint: unknown tag {tag!r}")


def save(obj: Any, path: Any) -> None:
    """Write ``obj`` (a state_dict or a tree of them) to ``path``."""
    arrays: Dict[str, np.ndarray] = {}
    tree = _encode(obj, arrays)
    save_arrays(arrays, path, metadata={_TREE: json.dumps(tree)})


def load(path: Any) -> Any:
    """Read what :func:`save` wrote."""
    arrays, meta = load_arrays(path)
    if _TREE not in meta:
        return dict(arrays)  # a plain safetensors file: its arrays
    tree = parse_json(meta[_TREE], "the checkpoint's tree", max_depth=MAX_TREE_DEPTH)
    try:
        return _decode(tree, dict(arrays))
    except (KeyError, TypeError, AttributeError, IndexError, OverflowError):
        raise ValueError("malformed checkpoint") from None
