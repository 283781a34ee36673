"""The command line's model files: a fitted estimator (any of the three) plus its input preprocessing.

One safetensors file (no pickle) in :func:`fastdense.save`'s estimator format,
so it is also a :func:`fastdense.load`-able estimator, with two extra entries
for the standardization the CLI applied (``preprocess.mean``,
``preprocess.scale``; absent with ``--no-scale``) and, as string metadata, the
input column names, the one-hot categories and the target column's name, so
that ``fastdense predict`` can apply the same preprocessing to a new CSV.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..estimators import DenseBinaryClassifier
from .container import load_arrays, parse_json, save_arrays
from .estimator_file import CLI_FORMAT as FORMAT
from .estimator_file import CLI_PREPROCESS as _PREPROCESS
from .estimator_file import KINDS, estimator_arrays, estimator_from, read_estimator

__all__ = ["save_model", "load_model"]


def save_model(
    clf: DenseBinaryClassifier,
    path: "str | os.PathLike[str]",
    *,
    mean: Optional[np.ndarray] = None,
    scale: Optional[np.ndarray] = None,
    info: Optional[Dict[str, Any]] = None,
) -> None:
    """Write a fitted estimator (and the standardization applied before it) to `path`.

    `info` is JSON-able metadata for the CLI (input columns, one-hot
    categories, target name).
    """
    arrays, meta = estimator_arrays(clf)
    if mean is not None and scale is not None:
        arrays["preprocess.mean"] = np.asarray(mean, dtype=np.float64)
        arrays["preprocess.scale"] = np.asarray(scale, dtype=np.float64)
    save_arrays(arrays, path, metadata=dict(meta, format=FORMAT, info=json.dumps(info or {})))


def load_model(path: "str | os.PathLike[str]") -> Tuple[DenseBinaryClassifier, Dict[str, Any]]:
    """Read a file written by :func:`save_model`.

    Returns
    -------
    clf : DenseBinaryClassifier
        Fitted: predict / predict_proba / decision_function work.
    extra : dict
        ``mean`` and ``scale`` (arrays or None) and ``info`` (the CLI's metadata).

    Raises
    ------
    ValueError
        If the file is not a safetensors file written by the fastdense CLI.
    """
    arrays, meta = load_arrays(path)
    if meta.get("format") != FORMAT:
        saved_by_python = meta.get("format") is None and "fastdense_kind" in meta
        raise ValueError(
            f"{os.fspath(path)!r} is not a fastdense command-line model file "
            + (
                "(it was saved by fastdense.save: an estimator without the input columns "
                "and scaling the command line needs; load it in Python with fastdense.load, "
                "or train one with `fastdense train`)"
                if saved_by_python
                else f"(format {meta.get('format')!r}; expected {FORMAT!r})"
            )
        )
    clf, extra = read_estimator(_read, arrays, meta, path)
    return clf, extra


def _read(arrays, meta):
    """The estimator and the CLI's preprocessing, each entry checked (ValueError)."""
    clf = estimator_from(arrays, meta, extra_arrays=_PREPROCESS, kinds=KINDS)
    info = parse_json(meta.get("info", "{}"), "its 'info' metadata")
    if not isinstance(info, dict):
        raise ValueError("its 'info' metadata must be a JSON object")
    columns = info.get("columns", [])
    one_hot = info.get("one_hot", {})
    if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        raise ValueError("its input columns must be a list of column names")
    if not (
        isinstance(one_hot, dict)
        and all(
            k in columns and isinstance(v, list) and v and all(isinstance(c, str) for c in v)
            for k, v in one_hot.items()
        )
    ):
        raise ValueError("its one-hot categories must map input columns to lists of names")
    check_fill(info.get("impute", {}), columns, one_hot)
    width = sum(len(one_hot[c]) if c in one_hot else 1 for c in columns)
    if columns and width != clf.n_features_in_:
        raise ValueError(
            f"its {len(columns)} input columns expand to {width} features, but "
            f"the network takes {clf.n_features_in_}"
        )
    present = [k for k in _PREPROCESS if k in arrays]
    if present and len(present) != 2:
        raise ValueError(f"it has {present} without its pair")
    mean = scale = None
    if present:
        mean, scale = (np.array(arrays[k]) for k in _PREPROCESS)
        for name, arr in zip(_PREPROCESS, (mean, scale)):
            if arr.dtype != np.float64 or arr.shape != (clf.n_features_in_,):
                raise ValueError(
                    f"{name} has shape {arr.shape} and dtype {arr.dtype}; "
                    f"expected ({clf.n_features_in_},) float64"
                )
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("its standardization must be finite, with scales > 0")
    return clf, {"mean": mean, "scale": scale, "info": info}


def check_fill(fill: Any, columns: Sequence[str], categories: Dict[str, List[str]]) -> None:
    """``--impute``'s fill values of a model file, checked (the file is untrusted input).

    A mapping from input columns to a finite number (numeric columns) or one of
    the column's categories (one-hot columns); ValueError otherwise.
    """
    if not isinstance(fill, dict):
        raise ValueError("its 'impute' metadata must map input columns to values")
    for c, v in fill.items():
        if c not in columns:
            raise ValueError(f"its 'impute' metadata names {c!r}, not an input column")
        if c in categories:
            if not (isinstance(v, str) and v in categories[c]):
                raise ValueError(f"its fill value for {c!r} must be one of its categories")
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"its fill value for {c!r} must be a finite number")
